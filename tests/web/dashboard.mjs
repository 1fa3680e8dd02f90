// The web dashboard in Debian's chromium (issue 22), started by
// tests/web/web_dashboard_test.sh with the stack running. Environment:
// SB_URL (https://127.0.0.1:PORT), SB_SPKI (base64 SHA-256 of the server
// certificate's public key: the only certificate chromium accepts),
// SB_ADMIN_PW, SB_MEMBER_PW, SB_SHOTS (screenshot directory), SB_CLI (the
// shoebox binary), SB_SRC (the watched folder), SB_XSS (the injected
// folder name), SB_TOOLS (where puppeteer-core and axe-core are installed);
// NODE_EXTRA_CA_CERTS is the coordinator's CA, so Node's fetch checks the
// certificate too.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.SB_TOOLS, "node_modules", "x.js"));
const puppeteer = require("puppeteer-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.SB_URL;
const shots = process.env.SB_SHOTS;
let step = "start";
function check(cond, what) {
  if (!cond) throw new Error(`${step}: ${what}`);
  console.log(`ok - ${step}: ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name), fullPage: true });
}

// The numbers of `shoebox status --json`, as the Overview buckets them.
function statusCopies() {
  const s = JSON.parse(execFileSync(process.env.SB_CLI, ["status", "--json"], { encoding: "utf8" }));
  return {
    none: s.files_with_no_copy,
    one: s.files_with_1_copy - s.files_with_2_copies,
    two: s.files_with_2_copies - s.files_with_3_copies,
    three: s.files_with_3_copies,
  };
}

async function pageCopies(page) {
  return page.evaluate(() => {
    const n = (id) => Number(document.getElementById(id).textContent.replace(/,/g, ""));
    return { none: n("copies-none"), one: n("copies-one"), two: n("copies-two"), three: n("copies-three") };
  });
}

async function axeCheck(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) {
    console.log(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`);
  }
  check(bad.length === 0, `axe-core finds no serious or critical violation on ${name} ` +
    `(${result.violations.length} minor ones: ${result.violations.map((v) => v.id).join(", ") || "none"})`);
}

async function main() {
  // --- without a session, over Node's fetch (certificate checked against the CA) ---
  step = "no session";
  for (const p of ["/api/overview", "/api/session", "/api/events"]) {
    const r = await fetch(base + p);
    check(r.status === 401, `GET ${p} answers 401`);
  }
  const root = await fetch(base + "/", { redirect: "manual" });
  check(root.status === 303 && root.headers.get("location") === "/login", "GET / redirects to /login");

  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", `--ignore-certificate-errors-spki-list=${process.env.SB_SPKI}`,
      "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("dialog", async (d) => { pageErrors.push("dialog: " + d.message()); await d.dismiss(); });

    // --- log-in page ---
    step = "log-in page";
    await page.goto(base + "/", { waitUntil: "load" });
    check(new URL(page.url()).pathname === "/login", "the browser lands on /login");
    await shot(page, "login.png");
    await axeCheck(page, "the log-in page");

    step = "wrong password";
    await page.type("#name", "ana");
    await page.type("#password", "not-the-password");
    await page.click("#login-button");
    await page.waitForFunction(() => document.getElementById("login-error").textContent !== "");
    check(new URL(page.url()).pathname === "/login", "a wrong password stays on /login with a message");

    step = "log in";
    await page.$eval("#password", (e) => { e.value = ""; });
    await page.type("#password", process.env.SB_ADMIN_PW);
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#login-button")]);
    check(new URL(page.url()).pathname === "/", "the right password opens the Overview");
    const cookies = await page.cookies();
    const session = cookies.find((c) => c.name === "__Host-shoebox");
    check(session && session.httpOnly && session.secure && session.sameSite === "Strict",
      "the session cookie is HttpOnly, Secure, SameSite=Strict");
    await page.waitForFunction(() => window.__shoebox && window.__shoebox.renders > 0, { timeout: 30000 });

    // --- the numbers equal `shoebox status --json` ---
    step = "overview numbers";
    const want = statusCopies();
    const got = await pageCopies(page);
    check(JSON.stringify(got) === JSON.stringify(want),
      `copies on the page ${JSON.stringify(got)} equal shoebox status --json ${JSON.stringify(want)}`);
    const destText = await page.$eval("#destinations tbody", (e) => e.textContent);
    check(destText.includes("nas"), "the destination nas is listed with its bytes");
    const devText = await page.$eval("#devices tbody", (e) => e.textContent);
    check(devText.includes("phone"), "the device phone is listed");

    // --- device-chosen markup stays text ---
    step = "injection";
    await page.waitForFunction((x) => document.getElementById("problems").textContent.includes(x),
      { timeout: 60000 }, process.env.SB_XSS);
    const xss = await page.evaluate(() => ({
      fired: window.__xss !== undefined,
      imgs: document.querySelectorAll("img").length,
    }));
    check(!xss.fired && xss.imgs === 0,
      "the folder named <img src=x onerror=...> is shown as text: no element made, nothing ran");
    await shot(page, "overview.png");
    await axeCheck(page, "the Overview");

    // --- a live update without reloading ---
    step = "live update";
    await page.evaluate(() => { window.__marker = "same page"; });
    // The earlier browser tests (pages, browse, deleted) leave files of their
    // own in any state: wait for the new file to be counted and to have its
    // two copies, whatever the others do.
    const before = await page.evaluate(() => window.__shoebox.last.copies.total);
    const before2 = await page.evaluate(() => window.__shoebox.last.copies.at_least_2);
    const rendersBefore = await page.evaluate(() => window.__shoebox.renders);
    writeFileSync(path.join(process.env.SB_SRC, "new-photo.jpg"), randomBytes(300 * 1024));
    await page.waitForFunction((n, n2) => window.__shoebox.last.copies.total > n &&
      window.__shoebox.last.copies.at_least_2 > n2,
    { timeout: 180000, polling: 250 }, before, before2);
    const after = await page.evaluate(() => ({
      marker: window.__marker, renders: window.__shoebox.renders,
      total: window.__shoebox.last.copies.total,
      shown: document.getElementById("copies-summary").textContent,
    }));
    check(after.marker === "same page" && after.renders > rendersBefore,
      `the page updated itself (${rendersBefore} -> ${after.renders} renders, no reload)`);
    check(after.shown.startsWith(String(after.total)),
      `the new file is on the page: "${after.shown}"`);
    const again = await pageCopies(page);
    const wantAgain = statusCopies();
    check(JSON.stringify(again) === JSON.stringify(wantAgain),
      `after the delivery the page ${JSON.stringify(again)} still equals status --json ${JSON.stringify(wantAgain)}`);
    await shot(page, "overview-live.png");

    // --- CSRF: the browser's own session, without the token ---
    step = "csrf";
    const csrf = await page.evaluate(async () => {
      const r = await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
      const s = await fetch("/api/session", { credentials: "same-origin" });
      return { logout: r.status, still: s.status };
    });
    check(csrf.logout === 403 && csrf.still === 200, "POST without X-CSRF-Token is refused (403), the session lives on");

    // --- a member sees only its own device ---
    step = "member";
    const ctx = await browser.createBrowserContext();
    const mpage = await ctx.newPage();
    await mpage.goto(base + "/login", { waitUntil: "load" });
    await mpage.type("#name", "ben");
    await mpage.type("#password", process.env.SB_MEMBER_PW);
    await Promise.all([mpage.waitForNavigation({ waitUntil: "load" }), mpage.click("#login-button")]);
    await mpage.waitForFunction(() => window.__shoebox && window.__shoebox.renders > 0, { timeout: 30000 });
    const member = await mpage.evaluate(() => ({
      copiesHidden: document.getElementById("copies-section").hidden,
      destinationsHidden: document.getElementById("destinations-section").hidden,
      devices: document.querySelector("#devices tbody").textContent,
    }));
    check(member.copiesHidden && member.destinationsHidden && member.devices.includes("phone"),
      "a member sees its device, not the library-wide numbers");
    await shot(mpage, "overview-member.png");
    await ctx.close();

    // --- log out ---
    step = "log out";
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#logout")]);
    check(new URL(page.url()).pathname === "/login", "Log out returns to /login");
    const gone = await page.evaluate(async () => (await fetch("/api/overview")).status);
    check(gone === 401, "after log-out /api/overview answers 401");

    step = "page errors";
    check(pageErrors.length === 0, `no script error or dialog in the pages (${pageErrors.join("; ")})`);
  } finally {
    await browser.close();
  }

  // --- the log-in limit (last: it blocks this address for a minute) ---
  step = "rate limit";
  const attempt = (pw) => fetch(base + "/api/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: "ana", password: pw }),
  });
  // The browser's wrong password above still counts if it was made less
  // than a minute ago: then four more reach the limit, else five.
  let fails = 0;
  let status = 0;
  while ((status = (await attempt("wrong-" + fails)).status) === 401 && fails < 10) fails++;
  check(status === 429 && (fails === 4 || fails === 5),
    `${fails} wrong passwords answer 401, the next attempt 429`);
  const limited = await attempt(process.env.SB_ADMIN_PW);
  const retry = Number(limited.headers.get("retry-after"));
  check(limited.status === 429 && retry >= 1 && retry <= 60,
    `the sixth attempt in a minute is refused with 429, Retry-After ${retry}`);
}

main().then(() => console.log("dashboard.mjs: PASS"), (e) => {
  console.error("dashboard.mjs: FAIL: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
