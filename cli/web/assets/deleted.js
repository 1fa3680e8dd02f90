// The Recently deleted page: GET /api/deleted (a member gets only its own
// devices' files), one Restore button per row (POST /api/deleted/restore
// with the CSRF token), and the request's state (pending, sent, done,
// failed, expired) followed until it finishes.
"use strict";

const pages = [];  // cursors of the pages shown: [{us, id}]
const open = new Map();  // request id → its row's state cell
let timer = null;

function stateText(r) {
  if (!r) return "";
  switch (r.state) {
    case "pending": return "Waiting for the device to connect";
    case "sent": return "Restoring on the device…";
    case "done": return "Restored as " + r.restored_path;
    case "failed": return "Failed: " + r.reason;
    case "expired": return "Expired: " + r.reason;
    default: return r.state;
  }
}

function restoreCell(f) {
  const td = document.createElement("td");
  const state = SB.el("span", stateText(f.restore), "restore-state");
  state.setAttribute("role", "status");
  const active = f.restore && (f.restore.state === "pending" || f.restore.state === "sent");
  const b = SB.button("Restore", async () => {
    b.disabled = true;
    try {
      const r = await SB.post("/api/deleted/restore", {
        device: f.device_name, folder_hex: f.folder_hex, path_hex: f.path_hex, version_id: f.version_id,
      });
      state.textContent = stateText(r);
      if (r.state === "pending" || r.state === "sent") track(r.id, state, b, f);
      else b.disabled = false;
    } catch (e) {
      state.textContent = "Failed: " + e.message;
      b.disabled = false;
    }
  }, "Restore " + f.path + " on " + f.device);
  b.disabled = Boolean(active);
  if (active) track(f.restore.id, state, b, f);
  td.append(b, " ", state);
  return td;
}

// A file back at its path leaves the list; what was restored stays here.
function finished(f, r) {
  if (r.state !== "done") return;
  const list = document.getElementById("restored");
  list.append(SB.el("li", f.device + ": " + f.folder + "/" + f.path + " restored as " + r.restored_path));
  document.getElementById("restored-section").hidden = false;
}

function track(id, cell, button, f) {
  open.set(id, { cell, button, f });
  if (!timer) timer = setInterval(poll, 2000);
}

async function poll() {
  if (open.size === 0) {
    clearInterval(timer);
    timer = null;
    return;
  }
  try {
    const r = await SB.get("/api/restores?ids=" + [...open.keys()].join(","));
    for (const q of r.requests) {
      const t = open.get(q.id);
      if (!t) continue;
      t.cell.textContent = stateText(q);
      if (q.state !== "pending" && q.state !== "sent") {
        t.button.disabled = q.state === "done";
        finished(t.f, q);
        open.delete(q.id);
      }
    }
  } catch (e) {
    SB.banner(e.message);
  }
}

async function load(cursor) {
  const q = cursor ? "?before_us=" + cursor.us + "&before_id=" + cursor.id : "";
  return SB.get("/api/deleted" + q);
}

async function refresh() {
  // The pages shown so far, again (live updates keep their rows current).
  // Requests being followed stay followed: a file restored at its path
  // leaves the list, and its outcome goes to "Restored while this page was
  // open".
  const rows = [];
  let next = null;
  for (let i = 0; i <= pages.length; i++) {
    const d = await load(i === 0 ? null : pages[i - 1]);
    for (const f of d.files) {
      rows.push(SB.row([
        f.device, f.folder + "/" + f.path, SB.when(f.deleted_unix_ms),
        { text: SB.bytes(f.size), cls: "num" }, new Date(f.mtime_unix_ms).toLocaleString("en-GB"),
        { text: String(f.days_left), cls: "num" },
      ]));
      rows[rows.length - 1].append(restoreCell(f));
    }
    next = d.next_before_id ? { us: d.next_before_us, id: d.next_before_id } : null;
    if (!next) break;
  }
  if (rows.length === 0) {
    const tr = SB.row(["Nothing was deleted within the retention period."]);
    tr.firstChild.colSpan = 7;
    rows.push(tr);
  }
  document.querySelector("#deleted tbody").replaceChildren(...rows);
  const more = document.getElementById("more");
  more.hidden = !next;
  more.onclick = () => { if (next) { pages.push(next); refresh().catch((e) => SB.banner(e.message)); } };
}

document.addEventListener("DOMContentLoaded", () => {
  SB.start(refresh).catch((e) => SB.banner("Could not load the deleted files: " + e.message));
});
