// Throughput of web-demo/pkg under Node, for comparison with `preflight check` (native and
// `--engine wasm`) on the same files: streams each file in 64 KiB chunks, in the order given
// (pass them in processing order, as the CLI pushes them), and prints the report JSON on
// stdout and the timing on stderr.
//
//   node web-demo/e2e/conformance-bench.mjs DIR FILE...      (FILE relative to DIR)
import { openSync, readSync, closeSync, readFileSync, fstatSync } from "node:fs";
import { join } from "node:path";
import init, { Session } from "../pkg/validator_wasm.js";

const [dir, ...files] = process.argv.slice(2);
if (!dir || files.length === 0) {
  console.error("usage: node web-demo/e2e/conformance-bench.mjs DIR FILE...");
  process.exit(2);
}
await init({ module_or_path: readFileSync(new URL("../pkg/validator_wasm_bg.wasm", import.meta.url)) });
const t0 = performance.now();
const session = new Session("canvas");
const buf = new Uint8Array(65536);
let bytes = 0;
for (const rel of files) {
  const fd = openSync(join(dir, rel), "r");
  // As the CLI and the page do: the file's size, so that the core sizes its tables once.
  session.sizeHint(rel, fstatSync(fd).size);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    session.push(rel, buf.subarray(0, n));
    bytes += n;
  }
  closeSync(fd);
  session.finishFile(rel);
}
// What the index costs per id in wasm (4-byte pointers), read before finish() frees it.
const [indexBytes, ids] = session.indexHeap();
const report = session.finish();
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
console.error(
  `node: ${bytes} bytes in ${ms.toFixed(0)} ms = ${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`,
);
console.error(
  `index: ${ids} distinct ids, ${(indexBytes / 1048576).toFixed(1)} MiB, ${(indexBytes / Math.max(ids, 1)).toFixed(1)} bytes per id`,
);
