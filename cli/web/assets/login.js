// The log-in page: POST /api/login as JSON, then the Overview. Every message
// is set with textContent.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const button = document.getElementById("login-button");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      const res = await fetch("/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({
          name: document.getElementById("name").value,
          password: document.getElementById("password").value,
        }),
      });
      if (res.ok) {
        const body = await res.json();
        // With two-factor log-in the password was step one: the code next.
        window.location.assign(body.second_step === "totp" ? "/login/code" : "/");
        return;
      }
      let message = "Log-in failed (" + res.status + ")";
      try {
        const body = await res.json();
        if (body && typeof body.error === "string") message = body.error;
      } catch (e) { /* not JSON */ }
      if (res.status === 429) {
        const wait = res.headers.get("Retry-After");
        if (wait) message = "Too many failed log-ins: try again in " + wait + " s.";
      }
      error.textContent = message;
    } catch (e) {
      error.textContent = "The Shoebox web server does not answer: " + e.message;
    } finally {
      button.disabled = false;
    }
  });
});
