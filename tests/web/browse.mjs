// The Browse page in Debian's chromium (issue 22), started by
// tests/web/web_dashboard_test.sh after pages.mjs (tablet is enrolled then)
// and before dashboard.mjs. Environment as pages.mjs, plus SB_WORK (a
// scratch directory for the downloaded zip).
//
// Checks: phone's folder and its 2024 subfolder as the page lists them; a
// file's versions with "nas: delivered"; one file downloaded through the
// page's link equals the source byte for byte, with its Content-Disposition;
// the folder's zip, unzipped with Python's zipfile, equals the source files;
// after IMG_1.jpg changes, the tree as of the earlier time shows the old
// SHA-256 and that version downloads as the old bytes; a member gets 403 for
// another member's device at the HTTP API and sees only its own device;
// axe-core on the page.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.SB_TOOLS, "node_modules", "x.js"));
const puppeteer = require("puppeteer-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.SB_URL;
const shots = process.env.SB_SHOTS;
const src = process.env.SB_SRC;
let step = "start";
function check(cond, what) {
  if (!cond) throw new Error(`${step}: ${what}`);
  console.log(`ok - ${step}: ${what}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = (s) => Buffer.from(s, "utf8").toString("hex");
const sha = (b) => createHash("sha256").update(b).digest("hex");

async function axeCheck(page, name) {
  await page.evaluate(axeSource);
  // eslint-disable-next-line no-undef
  const result = await page.evaluate(async () => await axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) {
    console.log(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`);
  }
  check(bad.length === 0, `axe-core finds no serious or critical violation on ${name}`);
}

async function login(page, name, password) {
  await page.goto(base + "/login", { waitUntil: "load" });
  await page.type("#name", name);
  await page.type("#password", password);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#login-button")]);
}

// GET in the page (its session cookie): status, headers and the body.
async function fetchIn(page, url) {
  return page.evaluate(async (u) => {
    const r = await fetch(u);
    const buf = new Uint8Array(await r.arrayBuffer());
    let bin = "";
    for (let i = 0; i < buf.length; i += 8192) bin += String.fromCharCode(...buf.subarray(i, i + 8192));
    return { status: r.status, disposition: r.headers.get("content-disposition"), body: btoa(bin) };
  }, url).then((r) => Object.assign(r, { body: Buffer.from(r.body, "base64") }));
}

async function rowText(page, name) {
  return page.evaluate((n) => {
    for (const tr of document.querySelectorAll("#tree tbody tr")) {
      if (tr.cells[0].textContent === n) return [...tr.cells].map((c) => c.textContent);
    }
    return null;
  }, name);
}

async function openFolder(page, name) {
  await page.waitForFunction((n) => [...document.querySelectorAll("#tree tbody button")]
    .some((b) => b.textContent === n + "/"), { timeout: 15000 }, name);
  await page.evaluate((n) => [...document.querySelectorAll("#tree tbody button")]
    .find((b) => b.textContent === n + "/").click(), name);
  await page.waitForFunction(() => document.getElementById("tree-status").textContent.includes("entries"),
    { timeout: 15000 });
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", `--ignore-certificate-errors-spki-list=${process.env.SB_SPKI}`,
      "--disable-dev-shm-usage"],
  });
  const pageErrors = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    step = "browse";
    await login(page, "ana", process.env.SB_ADMIN_PW);
    await page.goto(base + "/browse?device=phone", { waitUntil: "load" });
    await page.waitForFunction(() => window.__shoebox && window.__shoebox.renders > 0, { timeout: 30000 });
    const devices = await page.$$eval("#device option", (o) => o.map((x) => x.value));
    check(devices.includes("phone") && devices.includes("tablet"), `the admin picks among ${devices}`);
    const folder = hex(src);
    const folders = await page.$$eval("#folder option", (o) => o.map((x) => x.value));
    check(folders.includes(folder), "phone's watched folder is offered");
    await page.select("#folder", folder);
    await page.click("#browse-form button[type=submit]");
    await openFolder(page, "2024");
    const img1 = await rowText(page, "IMG_1.jpg");
    const clip = await rowText(page, "clip.mov");
    check(img1 !== null && clip !== null, "2024 lists IMG_1.jpg and clip.mov");
    const oldBytes = readFileSync(path.join(src, "2024", "IMG_1.jpg"));
    check(img1[3] === sha(oldBytes).slice(0, 16), "the row shows the SHA-256 prefix of the source");
    check(img1[4].includes("nas: delivered"), `where are my copies: ${img1[4]}`);
    await page.screenshot({ path: path.join(shots, "browse.png"), fullPage: true });
    await axeCheck(page, "Browse");

    step = "versions";
    await page.evaluate(() => [...document.querySelectorAll("#tree tbody button")]
      .find((b) => b.getAttribute("aria-label") === "Versions of IMG_1.jpg").click());
    await page.waitForSelector("#versions-section:not([hidden])");
    const vrows = await page.$$eval("#versions tbody tr", (r) => r.map((x) => x.textContent));
    check(vrows.length === 1 && vrows[0].includes("nas: delivered"), `one version, delivered: ${vrows}`);
    await axeCheck(page, "Browse with versions");

    step = "download one file";
    const oldHref = await page.$eval("#versions tbody a", (a) => a.getAttribute("href"));
    let got = await fetchIn(page, oldHref);
    check(got.status === 200 && got.body.equals(oldBytes), "the version link gives the source's bytes");
    check(got.disposition === 'attachment; filename="IMG_1.jpg"', `Content-Disposition: ${got.disposition}`);
    const q = (p, extra) => "device=phone&folder=" + folder + "&path=" + hex(p) + (extra || "");
    const clipList = await page.evaluate(async (u) => (await fetch(u)).json(),
      "/api/browse/versions?" + q("2024/clip.mov"));
    got = await fetchIn(page, "/api/browse/file?" + q("2024/clip.mov", "&version=" + clipList.versions[0].version_id));
    check(got.body.equals(readFileSync(path.join(src, "2024", "clip.mov"))), "a 2 MiB video downloads byte for byte");

    step = "download a zip";
    const zipHref = await page.$eval("#zip", (a) => a.getAttribute("href"));
    got = await fetchIn(page, zipHref);
    check(got.status === 200 && got.disposition === 'attachment; filename="2024.zip"', `zip answer ${got.status} ${got.disposition}`);
    const zipFile = path.join(process.env.SB_WORK, "2024.zip");
    writeFileSync(zipFile, got.body);
    const py = `
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
src = sys.argv[2]
names = sorted(z.namelist())
want = sorted("2024/" + f for f in os.listdir(os.path.join(src, "2024")))
assert names == want, (names, want)
for n in names:
    info = z.getinfo(n)
    assert info.compress_type == zipfile.ZIP_STORED, n
    assert z.read(n) == open(os.path.join(src, n), "rb").read(), n
print(len(names))`;
    const n = execFileSync("python3", ["-c", py, zipFile, src], { encoding: "utf8" }).trim();
    check(n === "6", `Python's zipfile reads the 6 files, stored, byte for byte (${n})`);

    step = "as of an earlier time";
    await sleep(2000);
    const before = Date.now();
    await sleep(2000);
    const newBytes = Buffer.concat([oldBytes, Buffer.from("a changed photo")]);
    writeFileSync(path.join(src, "2024", "IMG_1.jpg"), newBytes);
    let versions = [];
    for (let i = 0; i < 120; i++) {
      versions = (await page.evaluate(async (u) => (await fetch(u)).json(),
        "/api/browse/versions?" + q("2024/IMG_1.jpg"))).versions;
      if (versions.length === 2 && versions[0].copies.some((c) => c.state === "delivered")) break;
      await sleep(500);
    }
    check(versions.length === 2 && versions[0].sha256 === sha(newBytes).slice(0, 16),
      "the change is a second version, delivered");
    // The page as of `before` (local time in the picker).
    const local = new Date(before - new Date(before).getTimezoneOffset() * 60000).toISOString().slice(0, 19);
    await page.$eval("#at", (e, v) => { e.value = v; }, local);
    await page.click("#browse-form button[type=submit]");
    await openFolder(page, "2024");
    const asOf = await rowText(page, "IMG_1.jpg");
    check(asOf[3] === sha(oldBytes).slice(0, 16), "as of the earlier time the tree shows the old SHA-256");
    await page.click("#now");
    await openFolder(page, "2024");
    check((await rowText(page, "IMG_1.jpg"))[3] === sha(newBytes).slice(0, 16), "now it shows the new one");
    got = await fetchIn(page, "/api/browse/file?" + q("2024/IMG_1.jpg", "&version=" + versions[1].version_id));
    check(got.body.equals(oldBytes), "the older version downloads as the old bytes");
    got = await fetchIn(page, "/api/browse/zip?" + q("2024", "&at=" + before));
    writeFileSync(zipFile, got.body);
    const old = execFileSync("python3", ["-c",
      "import sys, zipfile, hashlib; print(hashlib.sha256(zipfile.ZipFile(sys.argv[1]).read('2024/IMG_1.jpg')).hexdigest())",
      zipFile], { encoding: "utf8" }).trim();
    check(old === sha(oldBytes), "the zip as of the earlier time holds the old IMG_1.jpg");

    step = "member";
    const ctx = await browser.createBrowserContext();
    const mpage = await ctx.newPage();
    mpage.on("pageerror", (e) => pageErrors.push(String(e)));
    await login(mpage, "ben", process.env.SB_MEMBER_PW);
    await mpage.goto(base + "/browse", { waitUntil: "load" });
    await mpage.waitForFunction(() => window.__shoebox && window.__shoebox.renders > 0, { timeout: 30000 });
    const mine = await mpage.$$eval("#device option", (o) => o.map((x) => x.value));
    check(mine.length === 1 && mine[0] === "phone", `ben picks only phone: ${mine}`);
    const tabletFolder = hex(path.join(path.dirname(src), "src2"));
    const refused = await mpage.evaluate(async (f) => {
      const out = {};
      for (const r of ["list", "versions", "zip"]) {
        out[r] = (await fetch(`/api/browse/${r}?device=tablet&folder=${f}&path=`)).status;
      }
      out.file = (await fetch(`/api/browse/file?device=tablet&folder=${f}&path=61&version=1`)).status;
      out.own = (await fetch(`/api/browse/list?device=phone&folder=${f}&path=`)).status;
      return out;
    }, tabletFolder);
    check(refused.list === 403 && refused.versions === 403 && refused.zip === 403 && refused.file === 403,
      `another member's device is 403 at the API: ${JSON.stringify(refused)}`);
    await mpage.screenshot({ path: path.join(shots, "browse-member.png"), fullPage: true });
    await ctx.close();

    step = "page errors";
    check(pageErrors.length === 0, `no script error in the page (${pageErrors.join("; ")})`);
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("browse.mjs: PASS"), (e) => {
  console.error("browse.mjs: FAIL: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
