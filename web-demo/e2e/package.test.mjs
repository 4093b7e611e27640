// The npm package as a portal gets it: `npm pack web-demo/dist`, installed from the tarball
// into a scratch app, imported under Node 20, and `check()` must give the CLI's report
// (`preflight check --format json`) for a folder's files as bytes, as streams, as a ZIP, and
// for a Watershed file with its target file's text. A TypeScript consumer type-checks
// against the package's declarations (`tsc --noEmit`). A page using `preflight-check/element`
// is bundled with esbuild and with Vite (pinned in package-lock.json), served on 127.0.0.1
// from the bundler's output alone, and in headless Chromium the example bundle, chosen as a
// folder and dropped as files, must give `preflight-report`s whose report is deep-equal to
// the CLI's.
//   node --test web-demo/e2e/package.test.mjs      (after bash web-demo/build.sh)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { CHROMIUM, artifacts, browser, check, cliReport, demoDir, root } from "./harness.mjs";

let app;

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs a module in the scratch app (so `preflight-check` resolves to the installed tarball). */
function inApp(name, source) {
  writeFileSync(join(app, name), source);
  return JSON.parse(run("node", [name], app));
}

before(() => {
  app = mkdtempSync(join(tmpdir(), "preflight-portal-"));
  const packed = JSON.parse(run("npm", ["pack", join(demoDir, "dist"), "--json", "--pack-destination", app], app));
  const tarball = join(app, packed[0].filename);
  const listed = packed[0].files.map((f) => f.path).sort();
  console.log(`# ${packed[0].filename}: ${packed[0].size} bytes packed, ${packed[0].unpackedSize} unpacked: ${listed.join(", ")}`);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "portal", private: true, type: "module" }));
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], app);
});

after(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

const example = join(root, "examples", "canvas");

test("check() on bytes gives the CLI's report", () => {
  const report = inApp(
    "bytes.mjs",
    `import { readFileSync, readdirSync } from "node:fs";
     import { check } from "preflight-check";
     const dir = ${JSON.stringify(example)};
     const files = readdirSync(dir).map((n) => ({ path: n, bytes: readFileSync(dir + "/" + n) }));
     console.log(JSON.stringify(await check("canvas", files)));`,
  );
  assert.deepEqual(report, cliReport("examples/canvas"));
});

test("check() on streams, read once, gives the CLI's report", () => {
  const report = inApp(
    "streams.mjs",
    `import { createReadStream, readdirSync } from "node:fs";
     import { Readable } from "node:stream";
     import { check } from "preflight-check";
     const dir = ${JSON.stringify(example)};
     const files = readdirSync(dir).map((n) => ({
       path: n,
       stream: Readable.toWeb(createReadStream(dir + "/" + n, { highWaterMark: 997 })),
     }));
     console.log(JSON.stringify(await check("auto", files)));`,
  );
  assert.deepEqual(report, cliReport("examples/canvas"));
});

test("check() expands a ZIP as the CLI does", () => {
  const zip = join(app, "bundle.zip");
  run("zip", ["-q", "-r", zip, "."], example);
  const report = inApp(
    "zip.mjs",
    `import { readFileSync } from "node:fs";
     import { check } from "preflight-check";
     console.log(JSON.stringify(await check("canvas", [{ path: "bundle.zip", bytes: readFileSync(${JSON.stringify(zip)}) }])));`,
  );
  assert.deepEqual(report, cliReport(zip));
});

test("check() takes a target file's text: a Watershed file with its template's target", () => {
  const target = join(app, "watershed-target.json");
  run("cargo", ["run", "-q", "-p", "host-cli", "--", "target", "from-watershed", "examples/watershed/template.json", "-o", target], root);
  const dir = join(root, "examples", "watershed");
  const csvs = readdirSync(dir).filter((n) => n.endsWith(".csv"));
  const report = inApp(
    "watershed.mjs",
    `import { readFileSync } from "node:fs";
     import { check } from "preflight-check";
     const text = readFileSync(${JSON.stringify(target)}, "utf8");
     const files = ${JSON.stringify(csvs)}.map((n) => ({ path: n, bytes: readFileSync(${JSON.stringify(dir)} + "/" + n) }));
     console.log(JSON.stringify(await check(text, files)));`,
  );
  assert.deepEqual(report, cliReport("--target-file", target, ...csvs.map((n) => join(dir, n))));
});

test("diff() gives the CLI's diff: a removed user and a changed enrollment", () => {
  const old = mkdtempSync(join(tmpdir(), "pf-diff-old-"));
  const neu = mkdtempSync(join(tmpdir(), "pf-diff-new-"));
  for (const n of readdirSync(example)) {
    let text = readFileSync(join(example, n), "utf8");
    writeFileSync(join(old, n), text);
    if (n === "users.csv") text = text.trimEnd().split("\n").slice(0, -1).join("\n") + "\n";
    if (n === "enrollments.csv") text = text.replace(",active", ",deleted");
    writeFileSync(join(neu, n), text);
  }
  const got = inApp(
    "diff.mjs",
    `import { readFileSync, readdirSync } from "node:fs";
     import { diff } from "preflight-check";
     const read = (dir) => readdirSync(dir).map((n) => ({ path: n, bytes: readFileSync(dir + "/" + n) }));
     const r = await diff("canvas", read(${JSON.stringify(old)}), read(${JSON.stringify(neu)}),
       { oldName: ${JSON.stringify(old)}, newName: ${JSON.stringify(neu)} });
     console.log(JSON.stringify(r));`,
  );
  const cli = spawnSync("cargo", ["run", "-q", "-p", "host-cli", "--", "diff", "--format", "json", old, neu], {
    cwd: root,
    encoding: "utf8",
  });
  assert.equal(cli.status, 1, cli.stderr);
  assert.deepEqual(got, JSON.parse(cli.stdout));
  const users = got.kinds.find((k) => k.kind === "users");
  assert.equal(users.removed, 1);
  assert.ok(got.changes.some((c) => c.kind === "enrollments" && c.change === "changed" && c.columns.includes("status")));
  rmSync(old, { recursive: true });
  rmSync(neu, { recursive: true });
});

test("a TypeScript consumer type-checks against the package", () => {
  const tsc = join(demoDir, "node_modules", ".bin", "tsc");
  assert.ok(statSync(tsc).isFile(), "typescript is pinned in web-demo/package-lock.json");
  writeFileSync(
    join(app, "consumer.ts"),
    `import { check, type Report, type Finding } from "preflight-check";
     import "preflight-check/element";
     async function main(): Promise<number> {
       const report: Report = await check("canvas", [{ path: "users.csv", bytes: new Uint8Array() }], { maxPerCode: 10 });
       const first: Finding | undefined = report.files[0]?.findings[0];
       const el = document.createElement("preflight-check");
       el.addEventListener("preflight-report", (e) => console.log(e.detail.report.summary.errors));
       return report.summary.errors + (first?.row ?? 0);
     }
     void main();
     // @ts-expect-error: the target is a name or a target file, not a number
     void check(42, []);`,
  );
  // The report types are generated from the Rust types: the CLI's JSON report, as a literal,
  // must be a Report (excess-property checks catch a field the types lack, assignability one
  // they have and the JSON does not), and the names are exactly the JSON's.
  writeFileSync(
    join(app, "report-types.ts"),
    `import type { Report, FileReport, Finding, Severity, Summary, Omitted } from "preflight-check";
     export const cli: Report = ${JSON.stringify(cliReport("examples/canvas"))};
     const file: FileReport = cli.files[0]!;
     const finding: Finding | undefined = file.findings[0];
     const severity: Severity | undefined = finding?.severity;
     const summary: Summary = cli.summary;
     const omitted: Omitted[] = [...cli.omitted, ...file.omitted];
     const lineEnding: string | null = file.line_ending;
     const column: number | null | undefined = finding?.column_number;
     export const used = [severity, summary.rows, omitted.length, lineEnding, column, file.bom, file.header.length];
     // @ts-expect-error: a severity is "error", "warning" or "info"
     export const wrong: Severity = "fatal";
     // @ts-expect-error: the field is \`errors\`
     export const misnamed = cli.summary.error;
     // @ts-expect-error: every field of a finding is present (null when absent)
     export const partial: Finding = { code: "x", severity: "error", message: "m" };`,
  );
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022", "dom", "esnext.disposable"], skipLibCheck: false },
      files: ["consumer.ts", "report-types.ts"],
    }),
  );
  run(tsc, ["-p", "tsconfig.json"], app);
});

test("the tarball carries the wasm, the Worker and the types, nothing else", () => {
  const dist = join(demoDir, "dist");
  const pkg = JSON.parse(readFileSync(join(dist, "package.json"), "utf8"));
  assert.equal(pkg.name, "preflight-check");
  assert.equal(pkg.type, "module");
  for (const key of [".", "./element", "./worker"]) {
    assert.ok(statSync(join(dist, pkg.exports[key].types)).isFile(), key);
    assert.ok(statSync(join(dist, pkg.exports[key].default)).isFile(), key);
  }
  const installed = join(app, "node_modules", "preflight-check");
  assert.ok(statSync(join(installed, "pkg", "validator_wasm_bg.wasm")).size > 100_000);
});

// ---- Bundlers: the element in a portal's page, bundled as a portal would, in Chromium ----

// The portal's page: registers the element, as the package README shows.
const PAGE_JS = `import "preflight-check/element";
const el = document.createElement("preflight-check");
el.setAttribute("target", "canvas");
document.body.append(el);
`;
const pageHtml = (script) =>
  `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>portal</title></head>` +
  `<body><script type="module" src="${script}"></script></body></html>\n`;

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };

/** A static server for `dir` only, on a free loopback port; records the paths served. */
async function serveDir(dir) {
  const served = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(dir, path.endsWith("/") ? path + "index.html" : path));
    let body;
    try {
      if (!file.startsWith(dir + sep)) throw new Error("outside");
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    served.push(path);
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, served, close: () => new Promise((ok) => server.close(ok)) };
}

function haveChromium() {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
const noChromium = !haveChromium() && process.env.PREFLIGHT_FULL !== "1" && `${CHROMIUM} is missing (PREFLIGHT_FULL=1 makes this a failure)`;
if (noChromium) console.log(`# skipping the bundler tests: ${noChromium}`);

/** Serves `out`, opens it in Chromium, checks examples/canvas as a folder; returns what the page reported. */
async function checkInChromium(out, name) {
  const server = await serveDir(out);
  const b = await browser();
  try {
    await b.page.goto(server.url);
    const ready = await b.page.evaluate(() => customElements.whenDefined("preflight-check").then(() => document.querySelector("preflight-check").ready));
    assert.ok(ready.targets.includes("canvas"), JSON.stringify(ready));
    const { report, target } = await check(b.page, "folder", example);
    // The same files dropped on the drop zone (a DataTransfer, as a drag from the desktop).
    const files = Object.fromEntries(readdirSync(example).map((n) => [n, readFileSync(join(example, n), "utf8")]));
    const dropped = await b.page.evaluate(async (files) => {
      const el = document.querySelector("preflight-check");
      const got = new Promise((ok) => el.addEventListener("preflight-report", (e) => ok(e.detail.report), { once: true }));
      const dt = new DataTransfer();
      for (const [n, text] of Object.entries(files)) dt.items.add(new File([text], n, { type: "text/csv" }));
      el.shadowRoot.querySelector(".drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      return got;
    }, files);
    await b.page.screenshot({ path: join(artifacts, `package-${name}.png`), fullPage: true });
    return { report, dropped, target, served: server.served, errors: b.errors };
  } finally {
    await b.close();
    await server.close();
  }
}

/** Every file under `dir`, relative, with its size. */
function listOut(dir, prefix = "") {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listOut(dir, join(prefix, e.name)) : [[join(prefix, e.name), statSync(join(dir, prefix, e.name)).size]],
  );
}

function assertBundledPage(name, out, got) {
  const files = listOut(out);
  console.log(`# ${name}: ${files.map(([f, n]) => `${f} ${n}`).join(", ")}`);
  // The page ran from the bundler's output only (the server serves nothing else): the
  // Worker and the .wasm were emitted by the bundler and fetched from there.
  const wasm = files.filter(([f]) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `${name} emitted one .wasm`);
  assert.ok(got.served.includes("/" + wasm[0][0].split(sep).join("/")), `the page fetched ${wasm[0][0]}: ${got.served.join(" ")}`);
  assert.ok(got.served.filter((p) => p.endsWith(".js")).length >= 2, `page script and Worker: ${got.served.join(" ")}`);
  assert.equal(got.target, "canvas");
  const expected = cliReport("examples/canvas");
  assert.deepEqual(got.report, expected, "examples/canvas chosen as a folder");
  assert.deepEqual(got.dropped, expected, "examples/canvas's files dropped");
  assert.deepEqual(got.errors, []);
}

test("esbuild bundles the element; in Chromium its report is the CLI's", { skip: noChromium }, async () => {
  const { build } = await import("esbuild");
  const src = join(app, "esbuild-src");
  const out = join(app, "esbuild-out");
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "page.js"), PAGE_JS);
  // The package README's recipe: esbuild does not follow `new URL(..., import.meta.url)`, so
  // the Worker and the .wasm are entry points of their own, written where those URLs point
  // (beside the page's bundle), and `.wasm` is copied as it is.
  await build({
    absWorkingDir: app,
    entryPoints: {
      page: "./esbuild-src/page.js",
      "preflight-worker": "preflight-check/worker",
      "pkg/validator_wasm_bg": "preflight-check/wasm",
    },
    bundle: true,
    format: "esm",
    outdir: out,
    loader: { ".wasm": "copy" },
    logLevel: "warning",
  });
  writeFileSync(join(out, "index.html"), pageHtml("./page.js"));
  assertBundledPage("esbuild", out, await checkInChromium(out, "esbuild"));
});

test("Vite bundles the element without configuration; in Chromium its report is the CLI's", { skip: noChromium }, async () => {
  const { build } = await import("vite");
  const src = join(app, "vite-src");
  const out = join(app, "vite-out");
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "page.js"), PAGE_JS);
  writeFileSync(join(src, "index.html"), pageHtml("./page.js"));
  // No vite.config: what `vite build` does in a fresh app.
  await build({ root: src, configFile: false, logLevel: "warn", build: { outDir: out, emptyOutDir: true } });
  assertBundledPage("vite", out, await checkInChromium(out, "vite"));
});
