// The Activity page (admin): the audit log, newest first, one page at a
// time (GET /api/activity?before=ID).
"use strict";

const pages = { stack: [0], next: 0 };

async function refresh() {
  const d = await SB.get("/api/activity?before=" + pages.stack[pages.stack.length - 1]);
  pages.next = d.next_before;
  const rows = d.entries.map((e) => SB.row([
    new Date(e.unix_ms).toLocaleString("en-GB"),
    e.actor_kind + " " + e.actor,
    e.action + (e.count > 1 ? " ×" + e.count : ""),
    e.target || "–",
    e.allowed ? { text: "allowed", cls: "ok" } : { text: "refused", cls: "bad" },
    e.detail || "–",
  ]));
  document.querySelector("#activity tbody").replaceChildren(...rows);
  document.getElementById("next-page").disabled = !pages.next;
  document.getElementById("prev-page").disabled = pages.stack.length <= 1;
  document.getElementById("page-number").textContent = "Page " + pages.stack.length;
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("next-page").addEventListener("click", () => {
    if (!pages.next) return;
    pages.stack.push(pages.next);
    refresh().catch((e) => SB.banner(e.message));
  });
  document.getElementById("prev-page").addEventListener("click", () => {
    if (pages.stack.length > 1) pages.stack.pop();
    refresh().catch((e) => SB.banner(e.message));
  });
  SB.start(refresh).catch((e) => SB.banner("Could not load the activity: " + e.message));
});
