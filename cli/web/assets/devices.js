// The Devices page: GET /api/devices (a member gets only its own), enroll a
// device (admin): POST /api/devices/enroll shows the token and the command.
"use strict";

async function refresh() {
  const d = await SB.get("/api/devices");
  document.getElementById("enroll-section").hidden = !d.can_enroll;
  const rows = d.devices.map((x) => SB.row([
    x.name + (x.revoked ? " (revoked)" : ""),
    SB.when(x.last_seen_unix_ms),
    { text: SB.count(x.files), cls: "num" }, { text: SB.bytes(x.bytes), cls: "num" },
    { text: SB.count(x.pending_uploads) + " (" + SB.bytes(x.pending_upload_bytes) + ")", cls: "num" },
    { text: x.upload_rate_bps ? SB.bytes(x.upload_rate_bps) + "/s" : "–", cls: "num" },
    x.folders.length ? x.folders.join(", ") : "none yet",
  ]));
  if (rows.length === 0) {
    const tr = SB.row(["No device yet."]);
    tr.firstChild.colSpan = 7;
    rows.push(tr);
  }
  document.querySelector("#devices tbody").replaceChildren(...rows);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("enroll-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = document.getElementById("enroll-result");
    const err = document.getElementById("enroll-error");
    err.textContent = "";
    out.hidden = true;
    try {
      const r = await SB.post("/api/devices/enroll", { device: document.getElementById("enroll-name").value });
      document.getElementById("enroll-token").textContent = r.token;
      document.getElementById("enroll-command").textContent = r.command;
      document.getElementById("enroll-expires").textContent = SB.when(r.expires_unix_ms).split(" (")[0];
      out.hidden = false;
    } catch (e) {
      err.textContent = e.message;
    }
  });
  SB.start(refresh).catch((e) => SB.banner("Could not load the devices: " + e.message));
});
