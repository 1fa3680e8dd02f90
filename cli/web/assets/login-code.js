// The second log-in step: POST /api/login/code {"code"} as JSON (the
// password step left a short-lived cookie), then the Overview. Every
// message is set with textContent.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("code-form");
  const error = document.getElementById("code-error");
  const button = document.getElementById("code-button");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      const res = await fetch("/api/login/code", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ code: document.getElementById("code").value }),
      });
      if (res.ok) {
        window.location.assign("/");
        return;
      }
      let message = "Log-in failed (" + res.status + ")";
      try {
        const body = await res.json();
        if (body && typeof body.error === "string") message = body.error;
      } catch (e) { /* not JSON */ }
      if (res.status === 429) {
        const wait = res.headers.get("Retry-After");
        if (wait) message = "Too many wrong codes: try again in " + wait + " s.";
      }
      error.textContent = message;
    } catch (e) {
      error.textContent = "The Shoebox web server does not answer: " + e.message;
    } finally {
      button.disabled = false;
    }
  });
});
