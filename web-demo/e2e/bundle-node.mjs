// The bundle under Node is the CLI's bundle, byte for byte: pushes a folder's CSV files
// into a bundle-mode Session (64 KiB chunks, the CLI's processing order), calls
// bundle({dropInvalid: true, timestamp}) and compares the bytes with the ZIP (or CSV) and
// rejects file `preflight bundle --drop-invalid --timestamp T` wrote for the same folder.
//   node web-demo/e2e/bundle-node.mjs DIR TIMESTAMP CLI_OUT CLI_REJECTS [TARGET.json]
// CLI_REJECTS may not exist (no row rejected); TARGET.json is a target file in JSON
// (default: canvas). Run by tests/run-all.sh after web-demo/build.sh.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import init, { Session } from "../pkg/validator_wasm.js";

const [dir, timestamp, cliOut, cliRejects, targetFile] = process.argv.slice(2);
if (!cliRejects) {
  console.error("usage: node bundle-node.mjs DIR TIMESTAMP CLI_OUT CLI_REJECTS [TARGET.json]");
  process.exit(2);
}
await init({ module_or_path: readFileSync(new URL("../pkg/validator_wasm_bg.wasm", import.meta.url)) });

function walk(d, out = []) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.toLowerCase().endsWith(".csv")) out.push(p);
  }
  return out;
}

const target = targetFile ? JSON.parse(readFileSync(targetFile, "utf8")) : "canvas";
const session = new Session(target, { bundle: true });
// Processing order, as the CLI and the Worker push files: kind order, unknown last, path.
const kinds = session.kinds();
const files = walk(dir).map((p) => {
  const rel = relative(dir, p).split(sep).join("/");
  const bytes = readFileSync(p);
  const kind = session.kindOfPrefix(bytes.subarray(0, 65536));
  const rank = kind === undefined ? Infinity : kinds.indexOf(kind);
  return { rel, bytes, rank };
});
files.sort((a, b) => a.rank - b.rank || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
for (const f of files) {
  for (let i = 0; i < f.bytes.length; i += 65536) session.push(f.rel, f.bytes.subarray(i, i + 65536));
  session.finishFile(f.rel);
}
const bytes = session.bundle({ dropInvalid: true, timestamp });
const summary = session.bundleSummary();
const rejects = session.rejectsCsv();
session.free();

const fail = (msg) => {
  console.error(`bundle-node: ${msg}`);
  process.exit(1);
};
const want = readFileSync(cliOut);
if (Buffer.compare(Buffer.from(bytes), want) !== 0) {
  const at = [...want].findIndex((b, i) => b !== bytes[i]);
  fail(`${dir}: Node's bundle (${bytes.length} bytes) differs from ${cliOut} (${want.length} bytes) at byte ${at}`);
}
const wantRejects = existsSync(cliRejects) ? readFileSync(cliRejects, "utf8") : undefined;
if (rejects !== wantRejects) fail(`${dir}: rejects differ from ${cliRejects}`);
console.log(
  `node: ${summary.format} bundle of ${dir} (${summary.entries.map((e) => e.name).join(", ")}; ` +
    `${summary.rejected} rejected rows) is byte-identical to the CLI's (${bytes.length} bytes)`,
);
