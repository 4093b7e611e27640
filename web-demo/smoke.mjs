// Node smoke test of the ES module: validates a folder of CSVs through the wasm Session,
// in 64 KiB chunks, and (with a second argument) checks the report is deep-equal to the
// CLI's `--format json` output for the same folder.
//   node web-demo/smoke.mjs DIR [cli-report.json]
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { deepStrictEqual } from "node:assert";
import init, { Session, targets } from "./pkg/validator_wasm.js";

const [dir, expectedPath] = process.argv.slice(2);
const wasm = readFileSync(new URL("./pkg/validator_wasm_bg.wasm", import.meta.url));
await init({ module_or_path: wasm });

function walk(d, out = []) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.toLowerCase().endsWith(".csv")) out.push(p);
  }
  return out;
}

if (!targets().includes("canvas")) throw new Error("canvas target missing");
const session = new Session("canvas");
const files = walk(dir)
  .map((p) => [relative(dir, p).split(sep).join("/"), p])
  .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
for (const [rel, p] of files) {
  const bytes = readFileSync(p);
  for (let i = 0; i < bytes.length; i += 65536) session.push(rel, bytes.subarray(i, i + 65536));
  session.finishFile(rel);
}
const progress = session.progress();
const report = session.finish();
console.log(
  `node: ${report.files.length} files, ${progress.rows} rows, ` +
    `${report.summary.errors} errors, ${report.summary.warnings} warnings`,
);
let threw = false;
try {
  session.push("x.csv", new Uint8Array([1]));
} catch (e) {
  threw = e instanceof Error;
}
if (!threw) throw new Error("push after finish must throw an Error");
if (expectedPath) {
  deepStrictEqual(report, JSON.parse(readFileSync(expectedPath, "utf8")));
  console.log("node report is deep-equal to the CLI's JSON");
}
