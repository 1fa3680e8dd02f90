// The log-in page: POST /api/login as JSON, then the Overview (or the
// second step when two-factor log-in is on). See login-form.js.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  wireLoginForm(
    { form: "login-form", error: "login-error", button: "login-button" },
    "/api/login",
    () => ({
      name: document.getElementById("name").value,
      password: document.getElementById("password").value,
    }),
    "Too many failed log-ins",
    // With two-factor log-in the password was step one: the code next.
    (body) => (body.second_step === "totp" ? "/login/code" : "/"));
});
