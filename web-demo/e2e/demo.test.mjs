// End-to-end tests of the demo page in headless Chromium: the example bundle as a folder,
// loose files and a ZIP; kinds and findings shown; report deep-equal to the CLI's JSON;
// the error CSV (Excel-safe); the bundle download (the CLI's bytes); 100,000 findings in the
// virtualised table; a screenshot.
//   node --test web-demo/e2e/demo.test.mjs      (after bash web-demo/build.sh)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { allFindings, artifacts, check, cliReport, demoSuite, longestTask, root, shownFindings } from "./harness.mjs";

const example = join(root, "examples", "canvas");
const suite = demoSuite("preflight-e2e-data-");

test("the page loads the package in a Worker and lists the built-in targets", async () => {
  const values = await suite.b.page.locator("#target option").evaluateAll((os) => os.map((o) => o.value));
  assert.ok(values.includes("canvas") && values.includes("auto"), values.join());
  // One built-in target: chosen outright; several: "auto" (the folder test checks it picks canvas).
  const want = values.length === 2 ? "canvas" : "auto";
  assert.equal(await suite.b.page.locator("#target").inputValue(), want);
  assert.equal(await suite.b.page.locator("preflight-check").getAttribute("target"), want);
});

test("a folder: kinds and findings shown, report deep-equal to the CLI's JSON", async () => {
  const expected = cliReport("examples/canvas");
  const { report, target, stats } = await check(suite.b.page, "folder", example);
  assert.equal(target, "canvas");
  assert.deepEqual(report, expected);
  const page = suite.b.page;
  // Per-file table: path and detected kind, in the report's (processing) order.
  const files = await page.locator("preflight-check .files tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent, tr.cells[2].textContent]),
  );
  assert.deepEqual(files, expected.files.map((f) => [f.path, f.kind ?? "unrecognised", String(f.rows)]));
  // Findings table: every finding, in order, with severity, file, row, column and code.
  const shown = await shownFindings(page);
  const want = allFindings(expected).map((f) => [f.severity, f.file ?? "(bundle)", String(f.row ?? ""), f.column ?? "", f.code]);
  assert.deepEqual(shown.map((r) => r.slice(0, 5)), want);
  assert.ok(shown.every((r, i) => r[5].startsWith(allFindings(expected)[i].message)));
  const totals = await page.locator("preflight-check .totals").textContent();
  assert.match(totals, new RegExp(`${expected.summary.errors} errors, ${expected.summary.warnings} warnings`));
  // The bundle button is offered only when the package has Session.prototype.bundle.
  const canBundle = await page.evaluate(async () => (await document.querySelector("preflight-check").ready).bundle);
  assert.equal(await page.locator('preflight-check button[name="bundle"]').isVisible(), canBundle);
  await page.screenshot({ path: join(artifacts, "demo-example.png"), fullPage: true });
  console.log(`# example bundle: ${stats.bytes} bytes in ${stats.ms.toFixed(0)} ms; screenshot target/e2e-artifacts/demo-example.png`);
  assert.deepEqual(suite.b.errors, []);
});

test("the error CSV lists every finding and is Excel-safe", async () => {
  const page = suite.b.page;
  // A value that Excel would run as a formula.
  const dir = join(suite.tmp, "formula");
  spawnSync("mkdir", ["-p", dir]);
  writeFileSync(join(dir, "users.csv"), "user_id,login_id,status\nu1,l1,=HYPERLINK(\"http://x\")\nu2,l2,@SUM(1)\nu3,l3,-1\n");
  const { report } = await check(page, "files", join(dir, "users.csv"));
  assert.deepEqual(report, cliReport(join(dir, "users.csv")));
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.locator('preflight-check button[name="csv"]').click(),
  ]);
  assert.equal(download.suggestedFilename(), "preflight-errors.csv");
  const text = readFileSync(await download.path(), "utf8");
  assert.ok(text.startsWith("\uFEFFfile,row,line,column,column_number,severity,code,value,message,platform_message\r\n"));
  const lines = text.slice(1).trimEnd().split("\r\n");
  assert.equal(lines.length, 1 + allFindings(report).length);
  const values = allFindings(report).map((f) => f.value);
  assert.ok(values.includes('=HYPERLINK("http://x")') && values.includes("@SUM(1)") && values.includes("-1"));
  assert.ok(text.includes(`"'=HYPERLINK(""http://x"")"`), text);
  assert.ok(text.includes(",'@SUM(1),") && text.includes(",'-1,"), text);
  // No cell starts with a formula character unless prefixed.
  for (const line of lines) for (const cell of line.split(",")) assert.ok(!/^"?[=+@]/.test(cell), cell);
  writeFileSync(join(artifacts, "demo-errors.csv"), text);
});

test("loose files and a ZIP (with skipped entries) give the CLI's report", async () => {
  const page = suite.b.page;
  const names = readdirSync(example).filter((n) => n.endsWith(".csv"));
  const loose = await check(page, "files", names.map((n) => join(example, n)));
  assert.deepEqual(loose.report, cliReport(...names.map((n) => join("examples", "canvas", n))));
  // A ZIP as users make them: a top folder, Finder debris, a stray non-CSV file, deflated.
  const zip = join(suite.tmp, "bundle.zip");
  const py = `
import sys, zipfile, os
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for n in sorted(os.listdir(src)):
        z.write(os.path.join(src, n), "canvas/" + n)
    z.writestr("canvas/readme.txt", "notes")
    z.writestr("__MACOSX/canvas/._users.csv", "junk")
    z.writestr("canvas/stored.csv", "term_id,name,status\\nT9,Stored,active\\n", compress_type=zipfile.ZIP_STORED)
`;
  const made = spawnSync("python3", ["-c", py, example, zip], { encoding: "utf8" });
  assert.equal(made.status, 0, made.stderr);
  const zipped = await check(page, "files", zip);
  assert.deepEqual(zipped.report, cliReport(zip));
  assert.ok(zipped.report.findings.some((f) => f.code === "file.unknown_type" && f.file === "canvas/readme.txt"));
  assert.equal(zipped.report.files.length, 7);
  await page.screenshot({ path: join(artifacts, "demo-zip.png"), fullPage: true });
});

test("download bundle: the CLI's ZIP byte for byte, and the rejected rows", async () => {
  const page = suite.b.page;
  await check(page, "folder", example);
  const ts = "2025-01-31T08:00:00";
  const zip = join(suite.tmp, "cli-bundle.zip");
  const made = spawnSync(
    "cargo",
    ["run", "-q", "-p", "host-cli", "--", "bundle", "--drop-invalid", "--timestamp", ts, "-o", zip, example],
    { cwd: root, encoding: "utf8" },
  );
  assert.equal(made.status, 0, made.stderr);
  // The button (the demo element has drop-invalid): the ZIP, then the rejects, downloaded.
  await page.evaluate(() => {
    const el = document.querySelector("preflight-check");
    window.__bundled = new Promise((ok) =>
      el.addEventListener("preflight-bundle", (e) => ok({ format: e.detail.format, summary: e.detail.summary, rejects: e.detail.rejects }), { once: true }),
    );
  });
  const downloads = [];
  const two = new Promise((ok) => page.on("download", (d) => downloads.push(d) === 2 && ok()));
  await page.locator('preflight-check button[name="bundle"]').click();
  const detail = await page.evaluate(() => window.__bundled);
  await two;
  assert.equal(detail.format, "zip");
  assert.deepEqual(detail.summary.entries.map((e) => e.name), ["accounts.csv", "terms.csv", "courses.csv", "sections.csv", "users.csv", "enrollments.csv"]);
  assert.deepEqual(downloads.map((d) => d.suggestedFilename()), ["preflight-bundle.zip", "preflight-bundle.rejected.csv"]);
  assert.equal(readFileSync(await downloads[1].path(), "utf8"), readFileSync(join(suite.tmp, "cli-bundle.rejected.csv"), "utf8"));
  const listed = spawnSync("python3", ["-c", "import sys, zipfile; print(*zipfile.ZipFile(sys.argv[1]).namelist())", await downloads[0].path()], { encoding: "utf8" });
  assert.equal(listed.stdout.trim(), detail.summary.entries.map((e) => e.name).join(" "));
  // With the CLI's timestamp, the browser's bundle is the CLI's file, byte for byte.
  const bytes = await page.evaluate(async (timestamp) => {
    const el = document.querySelector("preflight-check");
    return Array.from(await el.bundle({ dropInvalid: true, timestamp }));
  }, ts);
  assert.ok(Buffer.from(bytes).equals(readFileSync(zip)), "browser bundle differs from preflight bundle's");
  writeFileSync(join(artifacts, "demo-bundle.zip"), Buffer.from(bytes));
});

test("dropping files on the drop zone checks them", async () => {
  const page = suite.b.page;
  const files = Object.fromEntries(
    readdirSync(example).map((n) => [n, readFileSync(join(example, n), "utf8")]),
  );
  const result = await page.evaluate(async (files) => {
    const el = document.querySelector("preflight-check");
    const got = new Promise((ok) => el.addEventListener("preflight-report", (e) => ok(e.detail.report), { once: true }));
    const dt = new DataTransfer();
    for (const [name, text] of Object.entries(files)) dt.items.add(new File([text], name, { type: "text/csv" }));
    const zone = el.shadowRoot.querySelector(".drop");
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
    const over = zone.classList.contains("over");
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    return { over, report: await got };
  }, files);
  assert.ok(result.over);
  assert.deepEqual(result.report, cliReport("examples/canvas"));
});

test("100,000 findings: the virtualised table stays responsive", async () => {
  const page = suite.b.page;
  const n = 100_000;
  const dir = join(suite.tmp, "many");
  spawnSync("mkdir", ["-p", dir]);
  let csv = "user_id,login_id,status\n";
  for (let i = 0; i < n; i++) csv += `u${i},l${i},bogus\n`;
  writeFileSync(join(dir, "users.csv"), csv);
  await page.evaluate(() => document.querySelector("preflight-check").setAttribute("max-per-code", "1000000"));
  await page.evaluate(() => (window.__longTasks.length = 0));
  const t0 = Date.now();
  const { findings, summary, stats } = await check(page, "files", join(dir, "users.csv"), { full: false });
  assert.equal(findings, n);
  assert.equal(summary.errors, n);
  const rendered = await page.evaluate(async () => {
    const root = document.querySelector("preflight-check").shadowRoot;
    const vp = root.querySelector(".viewport");
    const frame = () => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    const t = performance.now();
    await frame();
    const inDom = root.querySelectorAll(".rows .row").length;
    for (let k = 0; k < 50; k++) {
      vp.scrollTop = Math.random() * vp.scrollHeight;
      await frame();
    }
    vp.scrollTop = vp.scrollHeight;
    await frame();
    const last = [...root.querySelectorAll(".rows .row")].pop();
    return { inDom, lastIndex: Number(last.dataset.index), lastRow: last.children[2].textContent, ms: performance.now() - t };
  });
  const longest = await longestTask(page);
  console.log(
    `# 100,000 findings: checked in the Worker in ${stats.ms.toFixed(0)} ms, shown ${Date.now() - t0} ms after choosing the file; ${rendered.inDom} rows in the DOM; ` +
      `50 random scrolls in ${rendered.ms.toFixed(0)} ms; longest main-thread task ${longest.toFixed(0)} ms`,
  );
  assert.ok(rendered.inDom < 100, `${rendered.inDom} rows rendered`);
  assert.equal(rendered.lastIndex, n - 1);
  assert.equal(rendered.lastRow, String(n + 1));
  assert.ok(longest < 1000, `main thread blocked ${longest} ms`);
  await page.screenshot({ path: join(artifacts, "demo-100k.png") });
  await page.evaluate(() => document.querySelector("preflight-check").removeAttribute("max-per-code"));
});

test("a record over the limit: located finding, and the Worker stops reading the file", async () => {
  const page = suite.b.page;
  const dir = join(suite.tmp, "huge-record");
  spawnSync("mkdir", ["-p", dir]);
  // Row 2 holds a 17 MiB cell (the limit is 16 MiB); 32 MiB of ordinary rows follow.
  const path = join(dir, "users.csv");
  const row = "u1,l1,active\n";
  writeFileSync(path, "user_id,login_id,status\nu0," + "x".repeat(17 << 20) + ",active\n" + row.repeat((32 << 20) / row.length));
  const size = readFileSync(path).length;
  const { report, stats } = await check(page, "files", path);
  const f = allFindings(report).find((f) => f.code === "csv.record_too_large");
  assert.ok(f, JSON.stringify(report.summary));
  assert.equal(f.row, 2);
  // Without wants() the Worker pushed every byte; now it stops a few chunks past the limit.
  assert.ok(stats.bytes < size - (24 << 20), `read ${stats.bytes} of ${size} bytes`);
  assert.deepEqual(suite.b.errors, []);
});

test("a Watershed file with its target file (targetFile property): the CLI's report", async () => {
  const page = suite.b.page;
  const target = join(suite.tmp, "watershed-target.json");
  spawnSync("cargo", ["run", "-q", "-p", "host-cli", "--", "target", "from-watershed", "examples/watershed/template.json", "-o", target], { cwd: root });
  const dir = join(root, "examples", "watershed");
  const csvs = readdirSync(dir).filter((n) => n.endsWith(".csv")).map((n) => join(dir, n));
  await page.evaluate((text) => (document.querySelector("preflight-check").targetFile = text), readFileSync(target, "utf8"));
  try {
    const { report, target: name } = await check(page, "files", csvs);
    assert.deepEqual(report, cliReport("--target-file", target, ...csvs));
    assert.equal(name, report.target);
    await page.screenshot({ path: join(artifacts, "demo-watershed.png"), fullPage: true });
  } finally {
    await page.evaluate(() => (document.querySelector("preflight-check").targetFile = null));
  }
});

test("Cancel stops a check; the next check works", async () => {
  const page = suite.b.page;
  const path = join(suite.tmp, "slow.csv");
  const row = "u1,l1,active\n";
  writeFileSync(path, "user_id,login_id,status\n" + row.repeat((64 << 20) / row.length));
  const outcome = page.evaluate(
    () =>
      new Promise((ok) => {
        const el = document.querySelector("preflight-check");
        el.addEventListener("preflight-progress", () => el.shadowRoot.querySelector('button[name="cancel"]').click(), { once: true });
        el.addEventListener("preflight-error", (e) => ok(e.detail), { once: true });
        el.addEventListener("preflight-report", () => ok({ finished: true }), { once: true });
      }),
  );
  await page.locator("preflight-check input[name=files]").setInputFiles(path);
  assert.deepEqual(await outcome, { message: "cancelled", cancelled: true });
  assert.equal(await page.locator('preflight-check button[name="cancel"]').isVisible(), false);
  const { report } = await check(page, "folder", example);
  assert.deepEqual(report, cliReport("examples/canvas"));
});
