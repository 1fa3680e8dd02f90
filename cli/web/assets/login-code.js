// The second log-in step: POST /api/login/code {"code"} as JSON (the
// password step left a short-lived cookie), then the Overview. See
// login-form.js.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  wireLoginForm(
    { form: "code-form", error: "code-error", button: "code-button" },
    "/api/login/code",
    () => ({ code: document.getElementById("code").value }),
    "Too many wrong codes",
    () => "/");
});
