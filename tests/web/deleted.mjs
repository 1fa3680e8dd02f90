// The Recently deleted page (issue 22) in Debian's chromium, started by
// tests/web/web_dashboard_test.sh after pages.mjs (the second device,
// "tablet", runs by then). Environment as pages.mjs, plus SB_SRC2 (tablet's
// watched folder).
//
// Checks: a photo deleted in the phone agent's real folder and a file
// deleted on the tablet appear on the admin's page (newest first, days
// left); clicking Restore brings the photo back on disk with the same
// bytes and the row says where; axe-core on the page; the member ben
// (bound to phone) neither sees the tablet's file (page and API) nor can
// restore it (HTTP 403), and a POST without the CSRF header is refused.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.SB_TOOLS, "node_modules", "x.js"));
const puppeteer = require("puppeteer-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.SB_URL;
const shots = process.env.SB_SHOTS;
const cli = (...args) => execFileSync(process.env.SB_CLI, args, { encoding: "utf8" });
let step = "start";
function check(cond, what) {
  if (!cond) throw new Error(`${step}: ${what}`);
  console.log(`ok - ${step}: ${what}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, seconds) {
  for (let i = 0; i < seconds * 2; i++) {
    if (await fn()) return;
    await sleep(500);
  }
  throw new Error(`${step}: timed out waiting for ${what}`);
}

async function login(page, name, password) {
  await page.goto(base + "/login", { waitUntil: "load" });
  await page.type("#name", name);
  await page.type("#password", password);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#login-button")]);
}
async function open(page) {
  await page.goto(base + "/deleted", { waitUntil: "load" });
  await page.waitForFunction(() => window.__shoebox && window.__shoebox.renders > 0, { timeout: 30000 });
}
const tableText = (page) => page.$eval("#deleted tbody", (e) => e.textContent);

async function main() {
  // The files: one photo of phone's, one new file of tablet's.
  step = "setup";
  const photo = path.join(process.env.SB_SRC, "2024", "IMG_3.jpg");
  const original = readFileSync(photo);
  const secret = path.join(process.env.SB_SRC2, "tablet-secret.jpg");
  writeFileSync(secret, randomBytes(50000));
  // A second file stays: an emptied folder looks unmounted to the agent,
  // which then reports no deletion.
  writeFileSync(path.join(process.env.SB_SRC2, "tablet-keep.jpg"), randomBytes(20000));
  await until("the tablet's files in the catalog", () => {
    const v = cli("versions", "tablet");
    return v.includes("tablet-secret.jpg") && v.includes("tablet-keep.jpg");
  }, 60);
  unlinkSync(secret);
  unlinkSync(photo);
  check(!existsSync(photo), "IMG_3.jpg is deleted in the phone's folder");

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
    step = "admin";
    await login(page, "ana", process.env.SB_ADMIN_PW);
    await open(page);
    // The agents report the deletions within seconds; the page reloads its
    // rows on each live update, and a reload here covers a quiet stream.
    await until("both deletions on the page", async () => {
      const t = await tableText(page);
      if (t.includes("2024/IMG_3.jpg") && t.includes("tablet-secret.jpg")) return true;
      await open(page);
      return false;
    }, 90);
    check(true, "the phone's and the tablet's deleted files are listed");
    const api = await page.evaluate(async () => (await fetch("/api/deleted")).json());
    const row = api.files.find((f) => f.path === "2024/IMG_3.jpg");
    check(row && row.device === "phone" && row.size === original.length && row.days_left >= 89,
      `the row has device, size and days left: ${JSON.stringify(row)}`);
    check(api.files[0].deleted_unix_ms >= api.files[api.files.length - 1].deleted_unix_ms, "newest first");
    const tabletRow = api.files.find((f) => f.device === "tablet");
    await page.evaluate(axeSource);
    // eslint-disable-next-line no-undef
    const axeResult = await page.evaluate(async () => await axe.run(document, { resultTypes: ["violations"] }));
    const bad = axeResult.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    for (const v of bad) console.log(`axe: ${v.impact} ${v.id}: ${v.help}`);
    check(bad.length === 0, "axe-core finds no serious or critical violation on Recently deleted");
    await page.screenshot({ path: path.join(shots, "deleted.png"), fullPage: true });

    step = "csrf";
    const noCsrf = await page.evaluate(async (f) => (await fetch("/api/deleted/restore", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ device: f.device_name, folder_hex: f.folder_hex, path_hex: f.path_hex, version_id: f.version_id }),
    })).status, row);
    check(noCsrf === 403, `a restore without the CSRF header is refused (${noCsrf})`);

    step = "restore";
    const button = await page.$('button[aria-label="Restore 2024/IMG_3.jpg on phone"]');
    check(button !== null, "the row has a Restore button");
    await button.click();
    // The agent takes it with its next heartbeat (within 30 s).
    await until("the page to say restored", async () =>
      (await page.$eval("#restored", (e) => e.textContent)).includes("2024/IMG_3.jpg restored as 2024/IMG_3.jpg"), 90);
    check(existsSync(photo), "IMG_3.jpg is back in the phone's folder");
    check(readFileSync(photo).equals(original), "with the same bytes");
    await page.screenshot({ path: path.join(shots, "deleted-restored.png"), fullPage: true });

    step = "member";
    const ctx = await browser.createBrowserContext();
    const mpage = await ctx.newPage();
    mpage.on("pageerror", (e) => pageErrors.push(String(e)));
    await login(mpage, "ben", process.env.SB_MEMBER_PW);
    await open(mpage);
    check(!(await tableText(mpage)).includes("tablet-secret.jpg"), "ben's page does not list the tablet's file");
    const mine = await mpage.evaluate(async () => (await fetch("/api/deleted")).json());
    check(mine.files.every((f) => f.device === "phone"), "ben's API answer holds only phone's files");
    const refused = await mpage.evaluate(async (f) => (await fetch("/api/deleted/restore", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": window.__shoebox.csrf },
      body: JSON.stringify({ device: f.device_name, folder_hex: f.folder_hex, path_hex: f.path_hex, version_id: f.version_id }),
    })).status, tabletRow);
    check(refused === 403, `ben's restore of the tablet's file is refused with 403 (${refused})`);
    await ctx.close();
    check(!existsSync(secret), "the tablet's file was not restored");

    step = "page errors";
    check(pageErrors.length === 0, `no script error in the page (${pageErrors.join("; ")})`);
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("deleted.mjs: PASS"), (e) => {
  console.error("deleted.mjs: FAIL: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
