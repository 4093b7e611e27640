// Shared set-up for the browser tests: a static server for web-demo/ on a free loopback
// port (python3 -m http.server, as the README documents) and headless Debian Chromium
// driven by playwright-core, with a fresh profile and no background network traffic.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { after, before } from "node:test";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const demoDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const root = dirname(demoDir);
export const artifacts = join(root, "target", "e2e-artifacts");
mkdirSync(artifacts, { recursive: true });

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--metrics-recording-only",
  "--no-default-browser-check",
  // Exposes performance.memory with real (unbucketed) figures, for the heap numbers.
  "--enable-precise-memory-info",
];

/** Serves web-demo/ on 127.0.0.1 at a free port. */
export async function serve() {
  const proc = spawn("python3", ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", demoDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const port = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`http.server did not start: ${out}`)), 10_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    });
    proc.on("exit", (code) => fail(new Error(`http.server exited ${code}: ${out}`)));
  });
  proc.stderr.resume();
  return { url: `http://127.0.0.1:${port}/`, close: () => proc.kill() };
}

/** Headless Chromium with a fresh user-data-dir; returns {context, page, close}. */
export async function browser() {
  const profile = mkdtempSync(join(tmpdir(), "preflight-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Records main-thread long tasks from the first script on. Call before page.goto. */
export async function watchLongTasks(page) {
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: "longtask", buffered: true });
  });
}

export async function longestTask(page) {
  return page.evaluate(() => Math.max(0, ...window.__longTasks));
}

// The CLI: PREFLIGHT_BIN, else the debug build when there is one (`cargo test` makes it),
// else `cargo run`.
const debugBin = join(root, "target", "debug", "preflight");
const cli = process.env.PREFLIGHT_BIN
  ? [process.env.PREFLIGHT_BIN]
  : existsSync(debugBin)
    ? [debugBin]
    : ["cargo", "run", "-q", "-p", "host-cli", "--"];

/** Runs `preflight ...args` from the repository root (spawnSync's result, text output). */
export function preflight(...args) {
  return spawnSync(cli[0], [...cli.slice(1), ...args], { cwd: root, encoding: "utf8", maxBuffer: 1 << 30 });
}

/** The CLI's JSON report for the given paths (exit 1 = errors found, which is expected). */
export function cliReport(...paths) {
  const r = preflight("check", "--format", "json", ...paths);
  if (r.status !== 0 && r.status !== 1) throw new Error(`preflight check exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Every finding of a report, bundle-level first, then file by file (the report's order). */
export function allFindings(report) {
  return [...report.findings, ...report.files.flatMap((f) => f.findings)];
}

/**
 * Registers the suite's set-up and tear-down: a scratch folder (`tmp`, named after
 * `prefix`), the static server, Chromium with long tasks watched, and the demo page open.
 * The returned object's fields are set once `before` has run.
 */
export function demoSuite(prefix) {
  const s = { server: null, b: null, tmp: null };
  before(async () => {
    s.tmp = mkdtempSync(join(tmpdir(), prefix));
    s.server = await serve();
    s.b = await browser();
    await watchLongTasks(s.b.page);
    await openDemo(s.b.page, s.server.url);
  });
  after(async () => {
    await s.b?.close();
    s.server?.close();
    if (s.tmp) rmSync(s.tmp, { recursive: true, force: true });
  });
  return s;
}

/** Opens the demo page and waits until the element's Worker is ready. */
export async function openDemo(page, url) {
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
}

/**
 * Chooses files on one of the element's inputs ("files" or "folder") and waits for its
 * report. With `full: false` only the summary crosses back to Node (serialising a report
 * of 100,000 findings would itself block the page's main thread).
 */
export async function check(page, input, paths, { full = true } = {}) {
  const done = page.evaluate(
    (full) =>
      new Promise((ok, fail) => {
        const el = document.querySelector("preflight-check");
        el.addEventListener(
          "preflight-report",
          (e) => {
            const { report, target, stats } = e.detail;
            const findings = report.findings.length + report.files.reduce((n, f) => n + f.findings.length, 0);
            ok(full ? { report, target, stats, findings } : { summary: report.summary, target, stats, findings });
          },
          { once: true },
        );
        el.addEventListener("preflight-error", (e) => fail(new Error(e.detail.message)), { once: true });
      }),
    full,
  );
  await page.locator(`preflight-check input[name=${input}]`).setInputFiles(paths);
  return done;
}

/** The findings table as shown: scrolls the virtualised viewport and collects every row. */
export async function shownFindings(page) {
  return page.evaluate(async () => {
    const root = document.querySelector("preflight-check").shadowRoot;
    const vp = root.querySelector(".viewport");
    const rows = new Map();
    const frame = () => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    for (let top = 0; ; top += vp.clientHeight) {
      vp.scrollTop = top;
      await frame();
      for (const r of root.querySelectorAll(".rows .row")) {
        rows.set(Number(r.dataset.index), [...r.children].map((c) => c.textContent));
      }
      if (top + vp.clientHeight >= vp.scrollHeight) break;
    }
    vp.scrollTop = 0;
    return [...rows.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  });
}
