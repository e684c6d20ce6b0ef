// A link opened from another site (chat, e-mail) arrives without the SameSite=Strict session
// cookie and lands here; this same-site request carries it, so a signed-in user goes on.
"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("login-form");
  if (!form) return;
  try {
    const resp = await fetch("/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await resp.json();
    const next = form.dataset.next || "/search";
    if (body.signed_in && next.startsWith("/") && !next.startsWith("//")) location.replace(next);
  } catch (e) { /* stay on the form */ }
});
