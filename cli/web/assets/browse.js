// The Browse page: a device's tree as of a time, one folder level at a
// time (GET /api/browse/list, paged: "Load more" or scrolling to the end
// asks for the next page), a file's versions with where their copies are,
// and downloads of one version or of a folder as a zip. Paths travel as the
// catalog's raw bytes in hex; what the page shows is the server's printable
// form, always set with textContent.
"use strict";

const B = { devices: [], device: "", folder: "", path: "", crumbs: [], after: 0,
            loading: false, seen: new Set() };

function atMs() {
  const v = document.getElementById("at").value;
  return v ? new Date(v).getTime() : 0;
}

function query(extra) {
  const q = new URLSearchParams(Object.assign({ device: B.device, folder: B.folder, path: B.path,
                                                at: String(atMs()) }, extra || {}));
  return q.toString();
}

function copiesText(copies) {
  if (!copies.length) return "no destination yet";
  return copies.map((c) => c.destination + ": " + c.state +
    (c.finished_unix_ms ? " " + new Date(c.finished_unix_ms).toLocaleString("en-GB") : "")).join("; ");
}

function link(text, href, label) {
  const a = SB.el("a", text);
  a.href = href;
  if (label) a.setAttribute("aria-label", label);
  return a;
}

async function showVersions(file) {
  const d = await SB.get("/api/browse/versions?" + query({ path: file.path }));
  const rows = d.versions.map((v) => SB.row([
    new Date(v.created_unix_ms).toLocaleString("en-GB") + (v.deleted_unix_ms ? " (deleted " +
      new Date(v.deleted_unix_ms).toLocaleString("en-GB") + ")" : ""),
    { text: SB.bytes(v.size), cls: "num" },
    v.sha256,
    copiesText(v.copies),
    link("Download", "/api/browse/file?" + query({ path: file.path, version: String(v.version_id) }),
      "Download " + file.name + " as of " + new Date(v.created_unix_ms).toLocaleString("en-GB")),
  ]));
  document.querySelector("#versions tbody").replaceChildren(...rows);
  document.getElementById("versions-title").textContent = "Versions of " + file.name;
  document.getElementById("versions-section").hidden = false;
}

function renderCrumbs() {
  const nav = document.getElementById("crumbs");
  const parts = [];
  const root = SB.button(B.folderName || "folder", () => openPath("", []));
  parts.push(root);
  B.crumbs.forEach((c, i) => {
    parts.push(document.createTextNode(" / "));
    parts.push(SB.button(c.name, () => openPath(c.path, B.crumbs.slice(0, i + 1))));
  });
  nav.replaceChildren(...parts);
  document.getElementById("zip").href = "/api/browse/zip?" + query();
}

async function loadPage() {
  if (B.loading || B.after < 0) return;
  B.loading = true;
  const status = document.getElementById("tree-status");
  status.textContent = "Loading…";
  try {
    const d = await SB.get("/api/browse/list?" + query({ after: String(B.after) }));
    const body = document.querySelector("#tree tbody");
    for (const f of d.folders) {
      if (B.seen.has("d" + f.path)) continue;
      B.seen.add("d" + f.path);
      body.append(SB.row([
        SB.button(f.name + "/", () => openPath(f.path, B.crumbs.concat([f])), "Open folder " + f.name),
        "", "", "", "", "",
      ]));
    }
    for (const f of d.files) {
      body.append(SB.row([
        f.name, { text: SB.bytes(f.size), cls: "num" },
        new Date(f.mtime_unix_ms).toLocaleString("en-GB"), f.sha256, copiesText(f.copies),
        SB.button("Versions", () => showVersions(f).catch((e) => SB.banner(e.message)),
          "Versions of " + f.name),
      ]));
    }
    B.after = d.next_after ? d.next_after : -1;
    document.getElementById("more").disabled = B.after < 0;
    status.textContent = body.children.length + " entries" + (B.after < 0 ? "" : ", more to load");
  } finally {
    B.loading = false;
  }
  // Until the list fills the window: a page can hold nothing new at this
  // level (the files of a subfolder already listed), and the observer only
  // fires when the button comes into view, not while it stays there.
  const r = document.getElementById("more").getBoundingClientRect();
  if (B.after > 0 && r.top < window.innerHeight) await loadPage();
}

async function openPath(path, crumbs) {
  B.path = path;
  B.crumbs = crumbs;
  B.after = 0;
  B.seen = new Set();
  document.querySelector("#tree tbody").replaceChildren();
  document.getElementById("versions-section").hidden = true;
  renderCrumbs();
  await loadPage();
}

function chooseDevice() {
  B.device = document.getElementById("device").value;
  const dev = B.devices.find((d) => d.name === B.device);
  const sel = document.getElementById("folder");
  sel.replaceChildren(...(dev ? dev.folders : []).map((f) => {
    const o = SB.el("option", f.name);
    o.value = f.folder;
    return o;
  }));
}

async function show() {
  B.folder = document.getElementById("folder").value;
  const opt = document.getElementById("folder").selectedOptions[0];
  B.folderName = opt ? opt.textContent : "";
  if (!B.device || !B.folder) {
    document.getElementById("tree-status").textContent = "This device has no backed-up folder yet.";
    return;
  }
  await openPath("", []);
}

let started = false;
async function init() {
  if (started) return;  // live updates do not reset what the user is browsing
  started = true;
  const d = await SB.get("/api/browse/devices");
  B.devices = d.devices;
  document.getElementById("device").replaceChildren(...d.devices.map((x) => {
    const o = SB.el("option", x.name);
    o.value = x.name;
    return o;
  }));
  const want = new URLSearchParams(window.location.search).get("device");
  if (want && d.devices.some((x) => x.name === want)) document.getElementById("device").value = want;
  chooseDevice();
  await show();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("device").addEventListener("change", () => {
    chooseDevice();
    show().catch((e) => SB.banner(e.message));
  });
  document.getElementById("browse-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    show().catch((e) => SB.banner(e.message));
  });
  document.getElementById("now").addEventListener("click", () => {
    document.getElementById("at").value = "";
    show().catch((e) => SB.banner(e.message));
  });
  document.getElementById("more").addEventListener("click", () => loadPage().catch((e) => SB.banner(e.message)));
  // Scrolling to the end of the list loads the next page.
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && B.after > 0) loadPage().catch((e) => SB.banner(e.message));
  }).observe(document.getElementById("more"));
  SB.start(init).catch((e) => SB.banner("Could not load the devices: " + e.message));
});
