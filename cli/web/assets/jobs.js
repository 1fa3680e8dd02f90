// The Jobs page (admin): GET /api/jobs one page at a time (keyset: the last
// job ID of the page asks for the next), filtered by state and destination;
// cancel, retry and prioritize with POST /api/jobs/{cancel,retry,priority}.
"use strict";

const pages = { stack: [0], next: 0 };

function query() {
  const p = new URLSearchParams();
  const s = document.getElementById("filter-state").value;
  const d = document.getElementById("filter-destination").value.trim();
  if (s) p.set("state", s);
  if (d) p.set("destination", d);
  p.set("after", String(pages.stack[pages.stack.length - 1]));
  return "/api/jobs?" + p.toString();
}

async function act(action, id, extra) {
  try {
    const r = await SB.post("/api/jobs/" + action, Object.assign({ job_ids: [id] }, extra || {}));
    document.getElementById("jobs-status").textContent =
      action + ": " + r.affected + " job" + (r.affected === 1 ? "" : "s") + " changed (job " + id + ")";
    await refresh();
  } catch (e) { SB.banner(e.message); }
}

async function refresh() {
  const d = await SB.get(query());
  pages.next = d.next_after;
  const rows = d.jobs.map((j) => {
    const actions = document.createElement("span");
    actions.className = "actions";
    const open = j.state !== "done" && j.state !== "cancelled";
    if (open) actions.append(SB.button("Cancel", () => act("cancel", j.job_id), "Cancel job " + j.job_id));
    if (j.state === "dead" || j.state === "retrying" || j.state === "cancelled") {
      actions.append(SB.button("Retry", () => act("retry", j.job_id), "Retry job " + j.job_id));
    }
    if (open) {
      actions.append(SB.button("Prioritize", () => act("priority", j.job_id, { priority: 100 }),
        "Prioritize job " + j.job_id));
    }
    return SB.row([
      { text: String(j.job_id), cls: "num" }, j.kind, j.state, j.destination,
      j.device ? j.device + ":" + j.path : "–",
      { text: String(j.attempts), cls: "num" },
      j.last_error || "–", j.waiting_reason || "–", actions,
    ]);
  });
  if (rows.length === 0) {
    const tr = SB.row(["No job matches."]);
    tr.firstChild.colSpan = 9;
    rows.push(tr);
  }
  document.querySelector("#jobs tbody").replaceChildren(...rows);
  document.getElementById("next-page").disabled = !pages.next;
  document.getElementById("prev-page").disabled = pages.stack.length <= 1;
  document.getElementById("page-number").textContent = "Page " + pages.stack.length;
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("filter-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    pages.stack = [0];
    refresh().catch((e) => SB.banner(e.message));
  });
  document.getElementById("next-page").addEventListener("click", () => {
    if (!pages.next) return;
    pages.stack.push(pages.next);
    refresh().catch((e) => SB.banner(e.message));
  });
  document.getElementById("prev-page").addEventListener("click", () => {
    if (pages.stack.length > 1) pages.stack.pop();
    refresh().catch((e) => SB.banner(e.message));
  });
  SB.start(refresh).catch((e) => SB.banner("Could not load the jobs: " + e.message));
});
