// The dashboard's second slice in Debian's chromium (issue 22), started by
// tests/web/web_dashboard_test.sh before dashboard.mjs (whose log-in limit
// check blocks this address for a minute). Environment as dashboard.mjs,
// plus SB_AGENT (the shoebox-agent binary) and SB_AGENT2_CONF (the
// configuration of a second device, "tablet", enrolled here with the token
// the Devices page shows) and SB_AGENT2_PID (where its pid goes).
//
// Checks: Devices, Destinations, Jobs and Activity load with the stack's
// data (a screenshot each, axe-core on each); "Enroll a device" gives a
// token that really enrolls a second agent; pause a destination, a new
// file's job waits, cancel it and retry it on the Jobs page, resume and it
// is delivered; every new POST without the CSRF header is refused; a member
// sees only its device (the page and another device's URL); two-factor
// log-in with a code computed here from the key `shoebox web user totp
// enable` printed, and the same code refused a second time.
import { execFileSync, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
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

// RFC 6238 with SHA-1, 6 digits, 30 s, from a Base32 key (RFC 4648).
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const c of text.replace(/[= ]/g, "").toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
  }
  return Buffer.from(out);
}
function totp(key, unixSeconds) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac("sha1", key).update(msg).digest();
  const off = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, "0");
}

async function login(page, name, password) {
  await page.goto(base + "/login", { waitUntil: "load" });
  await page.type("#name", name);
  await page.type("#password", password);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#login-button")]);
}

async function open(page, route, name) {
  await page.goto(base + route, { waitUntil: "load" });
  await page.waitForFunction(() => window.__shoebox && window.__shoebox.renders > 0, { timeout: 30000 });
  const banner = await page.$eval("#banner", (e) => (e.hidden ? "" : e.textContent));
  check(banner === "", `${name} loads without an error banner`);
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
    page.on("dialog", async (d) => { pageErrors.push("dialog: " + d.message()); await d.dismiss(); });
    step = "admin log-in";
    await login(page, "ana", process.env.SB_ADMIN_PW);
    check(new URL(page.url()).pathname === "/", "ana is on the Overview");

    // --- Devices, and enrolling a second device with the page's token ---
    step = "devices";
    await open(page, "/devices", "Devices");
    let text = await page.$eval("#devices tbody", (e) => e.textContent);
    check(text.includes("phone") && text.includes(process.env.SB_SRC), "phone is listed with its watched folder");
    await page.type("#enroll-name", "tablet");
    await page.click("#enroll-form button[type=submit]");
    await page.waitForSelector("#enroll-result:not([hidden])", { timeout: 15000 });
    const token = await page.$eval("#enroll-token", (e) => e.textContent);
    const command = await page.$eval("#enroll-command", (e) => e.textContent);
    check(token.length > 20 && command.startsWith("shoebox-agent enroll --coordinator "),
      `the page shows a token and the command: ${command}`);
    await page.screenshot({ path: path.join(shots, "devices-enroll.png"), fullPage: true });
    execFileSync(process.env.SB_AGENT, ["--config", process.env.SB_AGENT2_CONF, "enroll", "--token", "-"],
      { input: token + "\n", encoding: "utf8" });
    // The device is listed once its agent said hello: run it (the shell's
    // cleanup stops it by its pid file).
    const agent2 = spawn(process.env.SB_AGENT, ["--config", process.env.SB_AGENT2_CONF, "run", "--no-progress"],
      { stdio: "ignore", detached: true });
    writeFileSync(process.env.SB_AGENT2_PID, String(agent2.pid));
    agent2.unref();
    await page.reload({ waitUntil: "load" });
    await page.waitForFunction(() => document.querySelector("#devices tbody").textContent.includes("tablet"),
      { timeout: 30000 });
    check(true, "the token enrolled a second agent, tablet, now listed");
    await page.screenshot({ path: path.join(shots, "devices.png"), fullPage: true });
    await axeCheck(page, "Devices");

    // --- Destinations: pause nas ---
    step = "destinations";
    await open(page, "/destinations", "Destinations");
    text = await page.$eval("#destinations tbody", (e) => e.textContent);
    check(text.includes("nas") && text.includes("healthy"), "nas is listed, healthy");
    await page.screenshot({ path: path.join(shots, "destinations.png"), fullPage: true });
    await axeCheck(page, "Destinations");
    await page.click("button[aria-label='Pause nas']");
    await page.waitForSelector("button[aria-label='Resume nas']", { timeout: 15000 });
    check(true, "Pause turns into Resume: nas is paused");

    // --- a new file's job waits; cancel and retry it on the Jobs page ---
    step = "jobs";
    // Its name is markup: the Jobs page must show it as text.
    const pausedName = "paused-<img src=x onerror=window.__xss=2>.jpg";
    writeFileSync(path.join(process.env.SB_SRC, pausedName), randomBytes(200 * 1024));
    await open(page, "/jobs", "Jobs");
    await page.select("#filter-state", "queued");
    let jobId = 0;
    for (let i = 0; i < 240 && !jobId; i++) {
      await page.click("#filter-form button[type=submit]");
      await sleep(500);
      jobId = await page.evaluate((name) => {
        for (const tr of document.querySelectorAll("#jobs tbody tr")) {
          if (tr.textContent.includes(name)) return Number(tr.cells[0].textContent);
        }
        return 0;
      }, pausedName);
    }
    check(jobId > 0, `the new file's job ${jobId} waits while nas is paused`);
    const xss = await page.evaluate(() => ({ fired: window.__xss !== undefined,
      imgs: document.querySelectorAll("img").length }));
    check(!xss.fired && xss.imgs === 0, "the file named <img ... onerror=...> is listed as text, nothing ran");
    const why = await page.evaluate((id) => [...document.querySelectorAll("#jobs tbody tr")]
      .find((tr) => tr.cells[0].textContent === String(id)).cells[7].textContent, jobId);
    check(why.length > 1, `the page says why it waits: ${why}`);
    await page.screenshot({ path: path.join(shots, "jobs.png"), fullPage: true });
    await axeCheck(page, "Jobs");
    await page.click(`button[aria-label='Cancel job ${jobId}']`);
    await page.waitForFunction(() => document.getElementById("jobs-status").textContent.startsWith("cancel: 1 job"));
    await page.select("#filter-state", "cancelled");
    await page.click("#filter-form button[type=submit]");
    await page.waitForSelector(`button[aria-label='Retry job ${jobId}']`, { timeout: 15000 });
    check(true, `job ${jobId} is cancelled and offers Retry`);
    await page.click(`button[aria-label='Retry job ${jobId}']`);
    await page.waitForFunction(() => document.getElementById("jobs-status").textContent.startsWith("retry: 1 job"));
    const retried = cli("jobs", "--state", "queued", "--all");
    check(new RegExp(`^\\s*${jobId}\\s`, "m").test(retried), `job ${jobId} is queued again (shoebox jobs)`);

    // --- resume; the file is delivered ---
    step = "resume";
    await open(page, "/destinations", "Destinations");
    // A live update can re-render the table between finding the button and
    // clicking it (the node is gone): click inside the page, again if needed
    // (resuming twice is harmless).
    for (let i = 0; i < 30 && !(await page.$("button[aria-label='Pause nas']")); i++) {
      await page.evaluate(() => {
        const b = document.querySelector("button[aria-label='Resume nas']");
        if (b) b.click();
      });
      await sleep(500);
    }
    await page.waitForSelector("button[aria-label='Pause nas']", { timeout: 15000 });
    let done = false;
    for (let i = 0; i < 360 && !done; i++) {
      const r = await page.evaluate(async (id) => {
        const j = await (await fetch("/api/jobs?state=done&after=" + (id - 1))).json();
        return j.jobs.length > 0 && j.jobs[0].job_id === id;
      }, jobId);
      done = r;
      if (!done) await sleep(500);
    }
    check(done, `after Resume job ${jobId} is done`);

    // --- CSRF on every new POST ---
    step = "csrf";
    const refused = await page.evaluate(async () => {
      const out = {};
      for (const p of ["/api/devices/enroll", "/api/destinations/pause", "/api/jobs/cancel",
        "/api/jobs/retry", "/api/jobs/priority"]) {
        const r = await fetch(p, { method: "POST", headers: { "Content-Type": "application/json" },
          body: "{}", credentials: "same-origin" });
        out[p] = r.status;
      }
      return out;
    });
    check(Object.values(refused).every((s) => s === 403), `each POST without X-CSRF-Token is 403: ${JSON.stringify(refused)}`);

    // --- Activity: the actions above are in the audit log ---
    step = "activity";
    await open(page, "/activity", "Activity");
    text = await page.$eval("#activity tbody", (e) => e.textContent);
    for (const a of ["WebEnrollDevice", "WebPauseDestination", "WebCancelJobs", "WebRetryJobs", "WebResumeDestination"]) {
      check(text.includes(a), `the audit log shows ${a}`);
    }
    await page.screenshot({ path: path.join(shots, "activity.png"), fullPage: true });
    await axeCheck(page, "Activity");
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#logout")]);

    // --- a member sees only its own device ---
    step = "member";
    const ctx = await browser.createBrowserContext();
    const mpage = await ctx.newPage();
    await login(mpage, "ben", process.env.SB_MEMBER_PW);
    await open(mpage, "/devices", "Devices (member)");
    text = await mpage.$eval("#devices tbody", (e) => e.textContent);
    check(text.includes("phone") && !text.includes("tablet"), "ben's Devices page lists phone, not tablet");
    const hidden = await mpage.evaluate(() => [...document.querySelectorAll("nav a.admin")].every((a) => a.hidden));
    check(hidden, "the admin pages are not in a member's navigation bar");
    const direct = await mpage.evaluate(async () => ({
      tablet: (await fetch("/api/devices/tablet")).status,
      phone: (await fetch("/api/devices/phone")).status,
      jobs: (await fetch("/api/jobs")).status,
    }));
    check(direct.tablet === 404 && direct.phone === 200 && direct.jobs === 403,
      `another device by URL is 404, its own 200, the jobs 403: ${JSON.stringify(direct)}`);
    await mpage.screenshot({ path: path.join(shots, "devices-member.png"), fullPage: true });
    await ctx.close();

    // --- two-factor log-in ---
    step = "totp";
    const out = cli("web", "user", "totp", "enable", "ana");
    const key = base32(/key: ([A-Z2-7]+)/.exec(out)[1]);
    check(/uri: otpauth:\/\/totp\/Shoebox:ana\?secret=/.test(out), "totp enable prints the key and the otpauth URI");
    // Not at the very end of a step: the code must still be good when it arrives.
    while (Date.now() / 1000 % 30 > 25) await sleep(500);
    await login(page, "ana", process.env.SB_ADMIN_PW);
    check(new URL(page.url()).pathname === "/login/code", "after the password the browser asks for the code");
    await page.screenshot({ path: path.join(shots, "login-code.png"), fullPage: true });
    await axeCheck(page, "the code page");
    const code = totp(key, Date.now() / 1000);
    await page.type("#code", code);
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#code-button")]);
    check(new URL(page.url()).pathname === "/", "the computed code logs ana in");
    // Log out only once the page's script holds the session (it adds the
    // button's handler then): on a loaded machine the click came first.
    await page.waitForFunction(() => window.__shoebox && window.__shoebox.csrf !== "", { timeout: 30000 });
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#logout")]);
    await login(page, "ana", process.env.SB_ADMIN_PW);
    await page.type("#code", code);
    await page.click("#code-button");
    await page.waitForFunction(() => document.getElementById("code-error").textContent !== "");
    check(new URL(page.url()).pathname === "/login/code", "the same code a second time is refused");
    cli("web", "user", "totp", "disable", "ana");

    step = "page errors";
    check(pageErrors.length === 0, `no script error or dialog in the pages (${pageErrors.join("; ")})`);
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("pages.mjs: PASS"), (e) => {
  console.error("pages.mjs: FAIL: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
