// The Overview page: GET /api/session and /api/overview, then live updates
// from the server-sent events of /api/events (a new `overview` event when
// the coordinator's status changed). Every value is set with textContent or
// SVG attributes, never parsed as HTML: names and messages come from
// devices and services.
"use strict";

const state = { csrf: "", renders: 0, last: null };
window.__shoebox = state;  // read by the browser test

const SVG = "http://www.w3.org/2000/svg";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = Number(n) || 0;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return (u === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[u];
}

function count(n) { return (Number(n) || 0).toLocaleString("en"); }

function when(ms) {
  if (!ms) return "never";
  const ago = Math.max(0, Date.now() - ms) / 1000;
  let rel;
  if (ago < 90) rel = Math.round(ago) + " s ago";
  else if (ago < 5400) rel = Math.round(ago / 60) + " min ago";
  else if (ago < 129600) rel = Math.round(ago / 3600) + " h ago";
  else rel = Math.round(ago / 86400) + " days ago";
  return new Date(ms).toLocaleString("en-GB") + " (" + rel + ")";
}

function showBanner(text) {
  const b = document.getElementById("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

function renderChart(c) {
  const box = document.getElementById("copies-chart");
  const bars = [
    ["No copy", c.none, "c0"], ["1 copy", c.one, "c1"],
    ["2 copies", c.two, "c2"], ["3 or more", c.three_plus, "c3"],
  ];
  const max = Math.max(1, ...bars.map((b) => Number(b[1]) || 0));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 600 " + (bars.length * 40 + 10));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", bars.map((b) => b[0] + ": " + count(b[1]) + " files").join(", "));
  bars.forEach((b, i) => {
    const y = 10 + i * 40;
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", "0"); label.setAttribute("y", String(y + 20));
    label.textContent = b[0];
    const rect = document.createElementNS(SVG, "rect");
    const w = Math.round(((Number(b[1]) || 0) / max) * 400);
    rect.setAttribute("x", "100"); rect.setAttribute("y", String(y + 4));
    rect.setAttribute("height", "24"); rect.setAttribute("width", String(Math.max(w, 1)));
    rect.setAttribute("class", b[2]);  // a class, not a style attribute: the CSP allows no inline style
    const value = document.createElementNS(SVG, "text");
    value.setAttribute("x", String(108 + w)); value.setAttribute("y", String(y + 20));
    value.textContent = count(b[1]);
    svg.append(label, rect, value);
  });
  box.replaceChildren(svg);
}

function row(cells) {
  const tr = document.createElement("tr");
  cells.forEach((c) => {
    const td = el("td", c.text !== undefined ? c.text : c, c.cls);
    tr.append(td);
  });
  return tr;
}

function render(o) {
  state.last = o;
  state.renders++;
  const admin = o.scope === "admin";
  for (const id of ["copies-section", "problems-section", "destinations-section", "store-section"]) {
    document.getElementById(id).hidden = !admin;
  }
  if (admin) {
    const c = o.copies;
    document.getElementById("copies-none").textContent = count(c.none);
    document.getElementById("copies-one").textContent = count(c.one);
    document.getElementById("copies-two").textContent = count(c.two);
    document.getElementById("copies-three").textContent = count(c.three_plus);
    document.getElementById("copies-summary").textContent =
      count(c.total) + " files; " + count(c.at_least_2) + " of them have two or more good copies.";
    renderChart(c);

    const problems = document.getElementById("problems");
    const items = o.problems.map((p) => el("li", p.message));
    if (items.length === 0) items.push(el("li", "Nothing needs you.", "none"));
    problems.replaceChildren(...items);

    document.querySelector("#destinations tbody").replaceChildren(...o.destinations.map((d) => row([
      d.name, d.kind,
      { text: count(d.delivered_files), cls: "num" }, { text: bytes(d.delivered_bytes), cls: "num" },
      { text: count(d.pending_files + d.in_flight_files), cls: "num" },
      { text: count(d.failed_files), cls: "num" },
      { text: count(d.dead_files), cls: d.dead_files ? "num bad" : "num" },
      when(d.last_verified_unix_ms),
    ])));

    const s = o.store;
    document.getElementById("store").textContent =
      count(s.chunks) + " chunks, " + bytes(s.chunk_bytes) + " of data (" + bytes(s.stored_bytes) +
      " stored); " + count(s.duplicate_files) + " duplicate files stored once. Last verify: " +
      when(s.last_verify_unix_ms) + "; " + count(s.damaged_chunks) + " damaged chunks.";
  }
  document.querySelector("#devices tbody").replaceChildren(...o.devices.map((d) => row([
    d.name, when(d.last_seen_unix_ms),
    { text: count(d.files), cls: "num" }, { text: bytes(d.bytes), cls: "num" },
    { text: count(d.pending_uploads), cls: "num" },
    { text: count(d.deliveries.pending_files + d.deliveries.in_flight_files + d.deliveries.failed_files), cls: "num" },
  ])));
}

function live(text) { document.getElementById("live").textContent = text; }

async function api(path, options) {
  const res = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  if (res.status === 401) {
    window.location.assign("/login");
    throw new Error("not logged in");
  }
  return res;
}

function listen() {
  const es = new EventSource("/api/events");
  es.addEventListener("overview", (ev) => {
    showBanner("");
    render(JSON.parse(ev.data));
    live("Live · updated " + new Date().toLocaleTimeString("en-GB"));
  });
  es.addEventListener("unavailable", (ev) => {
    const d = JSON.parse(ev.data);
    showBanner("The coordinator does not answer: " + d.error);
    live("Coordinator unreachable");
  });
  es.addEventListener("logout", () => { es.close(); window.location.assign("/login"); });
  es.onerror = async () => {
    live("Reconnecting…");
    if (es.readyState === EventSource.CLOSED) {
      // Closed for good (401): the session ended.
      await api("/api/session").catch(() => {});
    }
  };
}

async function start() {
  const s = await (await api("/api/session")).json();
  state.csrf = s.csrf;
  document.getElementById("account").textContent = s.account + " (" + s.role + ")";
  if (s.role !== "admin") {
    for (const a of document.querySelectorAll("nav a.admin")) a.hidden = true;
  }
  document.getElementById("logout").addEventListener("click", async () => {
    await api("/api/logout", { method: "POST", headers: { "X-CSRF-Token": state.csrf } });
    window.location.assign("/login");
  });
  const res = await api("/api/overview");
  const body = await res.json();
  if (res.ok) render(body);
  else showBanner("The coordinator does not answer: " + body.error);
  listen();
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch((e) => showBanner("Could not load the overview: " + e.message));
});
