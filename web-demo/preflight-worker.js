// Preflight's Worker: checks files off the main thread. Every file is streamed
// (File.stream(), or a ZIP entry through DecompressionStream) into the wasm Session chunk by
// chunk, so no file is ever held whole: files over 2 GB work, memory stays flat.
//
// Protocol (module worker: new Worker(url, {type: "module"})):
//   → {type: "check", id, target: "canvas" | "auto" | targetFileObject, targetText?, params?,
//       maxPerCode?, inputs}   (targetText: a target file's text, TOML/JSON/Table Schema,
//       used instead of target; params: host parameters, e.g. {location_type: "district"})
//       inputs: [{type: "file", file, name?}            a file chosen on its own (CSV whatever
//                                                        its extension, unless it is a ZIP)
//                {type: "tree", name, files: [{path, file}]}  a folder (paths relative to it)
//                {type: "zip", file}]                    a ZIP (forced; "file" inputs are sniffed)
//   → {type: "bundle", id, dropInvalid?, timestamp?}   builds the bundle of the last check
//       (timestamp "YYYY-MM-DDTHH:MM:SS" of the ZIP entries; default: the newest input's
//       lastModified, as `preflight bundle` takes the newest input's mtime)
//   ← {type: "ready", targets, bundle: boolean}
//   ← {type: "progress", id, bytes, totalBytes, rows, files, file, wasmMemory}
//   ← {type: "report", id, report, target, stats: {ms, bytes, wasmMemory}}
//   ← {type: "bundle", id, bytes: Uint8Array (transferred), format: "zip" | "csv",
//       summary: {entries, changes, rejected}, rejects: string | null (Excel-safe CSV)}
//   ← {type: "error", id, message}
//
// Paths, skipped files and file order follow the CLI (host-cli/src/input.rs), so the report
// is deep-equal to `preflight check --format json` on the same files.

import { Session, collect, feed, plan, ready, targetFromText, targets, zipTime } from "./preflight-api.js";

// No top-level await: bundlers build Workers as classic scripts by default (Vite's
// `worker.format` is "iife"), where it is a syntax error. Messages wait in `queue` until the
// module is loaded.
let wasm = null; // wasm-bindgen's exports (its `memory`), once loaded
const hasBundle = typeof Session.prototype.bundle === "function";
let last = null; // {target, maxPerCode, files, skipped, modified} of the last check, for bundle()

async function check(msg) {
  const started = performance.now();
  const { id } = msg;
  // A target file's text (TOML, JSON, Table Schema) becomes the target object here.
  const target = msg.targetText != null ? targetFromText(msg.targetText) : msg.target;
  const options = msg.params ? { params: msg.params } : {};
  const { files, skipped } = await collect(msg.inputs);
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  const planned = await plan(target, msg.maxPerCode, files, options);
  const job = { target: target === "auto" ? planned.target : target, maxPerCode: msg.maxPerCode, files: planned.files, skipped, options };
  const session = await feed(job, (s, file) => {
    const wasmMemory = wasm.memory.buffer.byteLength;
    postMessage({ type: "progress", id, ...s.progress(), totalBytes, file, wasmMemory });
  });
  const p = session.progress();
  const wasmMemory = wasm.memory.buffer.byteLength;
  postMessage({ type: "progress", id, ...p, totalBytes, file: null, wasmMemory });
  const report = session.finish();
  session.free();
  last = job;
  const ms = performance.now() - started;
  postMessage({
    type: "report", id, report, target: typeof target === "object" ? target.name : planned.target,
    stats: { ms, bytes: p.bytes, wasmMemory: wasm.memory.buffer.byteLength },
  });
}

// The bundle: a fresh session in bundle mode (it keeps the pushed bytes) is fed exactly as
// for the check, then `bundle()` checks, plans and writes the ZIP (or the single CSV) in the
// core. The kept input is freed with the session. Same files, options and timestamp: the
// same bytes as `preflight bundle`.
async function bundle(msg) {
  if (!hasBundle) throw new Error("this build of the validator cannot make bundles");
  if (!last) throw new Error("check some files first");
  const session = await feed(last, null, true);
  try {
    const newest = Math.max(...last.files.map((f) => f.modified ?? 0));
    const timestamp = msg.timestamp ?? zipTime(newest);
    const bytes = session.bundle({ dropInvalid: !!msg.dropInvalid, ...(timestamp ? { timestamp } : {}) });
    const summary = session.bundleSummary();
    const rejects = session.rejectsCsv() ?? null;
    postMessage({ type: "bundle", id: msg.id, bytes, format: summary.format, summary, rejects }, [bytes.buffer]);
  } finally {
    session.free();
  }
}

const loaded = ready().then(
  (exports) => {
    wasm = exports;
    postMessage({ type: "ready", targets: targets(), bundle: hasBundle });
  },
  (e) => {
    // Thrown outside the promise so that it reaches the page as the Worker's `error` event.
    setTimeout(() => {
      throw e;
    });
    throw e;
  },
);
loaded.catch(() => {}); // reported above; messages are answered with it below

let queue = Promise.resolve();
self.onmessage = (ev) => {
  const msg = ev.data;
  const run = msg.type === "check" ? check : msg.type === "bundle" ? bundle : null;
  if (!run) return;
  queue = queue.then(() =>
    loaded
      .then(() => run(msg))
      .catch((e) => postMessage({ type: "error", id: msg.id, message: String(e?.message ?? e) })),
  );
};
