// The Destinations page (admin): GET /api/destinations; pause and resume
// with POST /api/destinations/pause.
"use strict";

async function refresh() {
  const d = await SB.get("/api/destinations");
  const rows = d.destinations.map((x) => {
    const paused = x.paused_unix_ms > 0;
    const action = SB.button(paused ? "Resume" : "Pause", async () => {
      try {
        await SB.post("/api/destinations/pause", { name: x.name, paused: !paused });
        await refresh();
      } catch (e) { SB.banner(e.message); }
    }, (paused ? "Resume " : "Pause ") + x.name);
    return SB.row([
      x.name, x.kind,
      paused ? { text: "paused since " + SB.when(x.paused_unix_ms), cls: "warn" }
        : (x.health ? { text: x.health, cls: "bad" } : { text: "healthy", cls: "ok" }),
      SB.when(x.last_verified_unix_ms),
      { text: SB.count(x.pending_files + x.in_flight_files), cls: "num" },
      { text: SB.count(x.delivered_files) + " (" + SB.bytes(x.delivered_bytes) + ")", cls: "num" },
      { text: SB.count(x.failed_files), cls: "num" },
      { text: SB.count(x.dead_files), cls: x.dead_files ? "num bad" : "num" },
      x.oldest_pending_unix_ms ? "since " + SB.when(x.oldest_pending_unix_ms) + ": " + x.oldest_pending_reason : "–",
      action,
    ]);
  });
  document.querySelector("#destinations tbody").replaceChildren(...rows);
}

document.addEventListener("DOMContentLoaded", () => {
  SB.start(refresh).catch((e) => SB.banner("Could not load the destinations: " + e.message));
});
