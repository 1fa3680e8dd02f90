// What the two log-in steps share: submit a form as JSON, show the server's
// error (with the wait a 429 asks for) with textContent, and go on.
"use strict";

// ids: {form, error, button}; url: where to POST; body(): the JSON to send;
// tooMany: the 429 message's start; next(body): where to go on success.
function wireLoginForm(ids, url, body, tooMany, next) {
  const form = document.getElementById(ids.form);
  const error = document.getElementById(ids.error);
  const button = document.getElementById(ids.button);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(body()),
      });
      let json = null;
      try {
        json = await res.json();
      } catch (e) { /* not JSON */ }
      if (res.ok) {
        window.location.assign(next(json || {}));
        return;
      }
      let message = "Log-in failed (" + res.status + ")";
      if (json && typeof json.error === "string") message = json.error;
      if (res.status === 429) {
        const wait = res.headers.get("Retry-After");
        if (wait) message = tooMany + ": try again in " + wait + " s.";
      }
      error.textContent = message;
    } catch (e) {
      error.textContent = "The Shoebox web server does not answer: " + e.message;
    } finally {
      button.disabled = false;
    }
  });
}
