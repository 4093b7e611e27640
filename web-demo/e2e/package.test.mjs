// The npm package as a portal gets it: `npm pack web-demo/dist`, installed from the tarball
// into a scratch app, imported under Node 20, and `check()` must give the CLI's report
// (`preflight check --format json`) for a folder's files as bytes, as streams, as a ZIP, and
// for a Watershed file with its target file's text. A TypeScript consumer type-checks
// against the package's declarations (`tsc --noEmit`).
//   node --test web-demo/e2e/package.test.mjs      (after bash web-demo/build.sh)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliReport, demoDir, root } from "./harness.mjs";

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
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022", "dom", "esnext.disposable"], skipLibCheck: false },
      files: ["consumer.ts"],
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
