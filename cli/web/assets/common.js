// Shared by the pages after the Overview (Devices, Destinations, Jobs,
// Activity): the session, the navigation bar, requests with the CSRF
// header, formatting, and the live-update stream. Every value is set with
// textContent, never parsed as HTML: names, paths and messages come from
// devices and services.
"use strict";

const SB = {
  session: null,
  el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  },
  bytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let v = Number(n) || 0;
    let u = 0;
    while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
    return (u === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[u];
  },
  count(n) { return (Number(n) || 0).toLocaleString("en"); },
  when(ms) {
    if (!ms) return "never";
    const ago = Math.max(0, Date.now() - ms) / 1000;
    let rel;
    if (ago < 90) rel = Math.round(ago) + " s ago";
    else if (ago < 5400) rel = Math.round(ago / 60) + " min ago";
    else if (ago < 129600) rel = Math.round(ago / 3600) + " h ago";
    else rel = Math.round(ago / 86400) + " days ago";
    return new Date(ms).toLocaleString("en-GB") + " (" + rel + ")";
  },
  banner(text) {
    const b = document.getElementById("banner");
    b.textContent = text || "";
    b.hidden = !text;
  },
  // A table row; each cell is text or {text, cls} or a DOM node.
  row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      if (c instanceof Node) {
        const td = document.createElement("td");
        td.append(c);
        tr.append(td);
      } else {
        tr.append(SB.el("td", c !== null && typeof c === "object" ? c.text : c,
          c !== null && typeof c === "object" ? c.cls : undefined));
      }
    }
    return tr;
  },
  button(text, onClick, label) {
    const b = SB.el("button", text);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  },
  async api(path, options) {
    const res = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
    if (res.status === 401) {
      window.location.assign("/login");
      throw new Error("not logged in");
    }
    return res;
  },
  // GET as JSON; a failure shows the server's error in the banner.
  async get(path) {
    const res = await SB.api(path);
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || ("HTTP " + res.status));
    return body;
  },
  // POST JSON with the session's CSRF token.
  async post(path, data) {
    const res = await SB.api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": SB.session.csrf },
      body: JSON.stringify(data || {}),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || ("HTTP " + res.status));
    return body;
  },
  // Loads the session, fills the header, hides admin links from members,
  // and calls refresh() now and whenever the live-update stream says the
  // coordinator's status changed.
  async start(refresh) {
    SB.session = await SB.get("/api/session");
    window.__shoebox = { csrf: SB.session.csrf, renders: 0 };
    document.getElementById("account").textContent = SB.session.account + " (" + SB.session.role + ")";
    if (SB.session.role !== "admin") {
      for (const a of document.querySelectorAll("nav a.admin")) a.hidden = true;
    }
    document.getElementById("logout").addEventListener("click", async () => {
      await SB.post("/api/logout").catch(() => {});
      window.location.assign("/login");
    });
    const run = async () => {
      try {
        await refresh();
        window.__shoebox.renders++;
      } catch (e) {
        SB.banner(e.message);
      }
    };
    await run();
    const es = new EventSource("/api/events");
    const live = document.getElementById("live");
    es.addEventListener("overview", () => {
      live.textContent = "Live · updated " + new Date().toLocaleTimeString("en-GB");
      run();
    });
    es.addEventListener("unavailable", (ev) => {
      SB.banner("The coordinator does not answer: " + JSON.parse(ev.data).error);
      live.textContent = "Coordinator unreachable";
    });
    es.addEventListener("logout", () => { es.close(); window.location.assign("/login"); });
    es.onerror = () => { live.textContent = "Reconnecting…"; };
  },
};
window.SB = SB;
