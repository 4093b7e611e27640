// Preflight's Worker: checks files off the main thread. Every file is streamed
// (File.stream(), or a ZIP entry through DecompressionStream) into the wasm Session chunk by
// chunk, so no file is ever held whole: files over 2 GB work, memory stays flat.
//
// Protocol (module worker: new Worker(url, {type: "module"})):
//   → {type: "check", id, target: "canvas" | "auto" | targetFileObject, maxPerCode?, inputs}
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

import init, { Session, targets } from "./pkg/validator_wasm.js";
import { listZip, openEntry, looksLikeZip } from "./zip-reader.js";

const PREFIX = 64 * 1024;
const PROGRESS_MS = 100;

const wasm = await init();
const hasBundle = typeof Session.prototype.bundle === "function";
let last = null; // {target, maxPerCode, files, skipped, modified} of the last check, for bundle()

// Canvas skips these when it unpacks an upload (host-cli's `ignored`).
export function ignored(rel) {
  const lower = rel.toLowerCase();
  return (
    lower.includes("__macosx") ||
    lower.includes("desktop db") ||
    lower.includes("desktop df") ||
    rel.split("/").some((c) => c.startsWith("."))
  );
}

export function isCsv(rel) {
  const name = rel.split("/").pop();
  const dot = name.lastIndexOf(".");
  return dot > 0 && name.slice(dot + 1).toLowerCase() === "csv";
}

/** Expands the inputs into CSV sources ({rel, arg, open, size}) and skipped paths. */
async function collect(inputs) {
  const found = []; // {arg, rel, source|null}
  const prefixes = []; // per arg: {file: name} | {tree: name}
  for (const [arg, input] of inputs.entries()) {
    if (input.type === "file" && !(await looksLikeZip(input.file))) {
      const name = input.name ?? input.file.name;
      found.push({ arg, rel: name, source: fileSource(input.file) });
      prefixes.push({ file: name });
    } else if (input.type === "tree") {
      const files = [...input.files].sort((a, b) => cmp(a.path, b.path));
      for (const f of files) {
        const rel = f.path.replace(/\\/g, "/").replace(/^\/+/, "");
        if (!rel || ignored(rel)) continue;
        found.push({ arg, rel, source: isCsv(rel) ? fileSource(f.file) : null });
      }
      prefixes.push({ tree: input.name });
    } else {
      const zip = input.file;
      for (const entry of await listZip(zip)) {
        const rel = entry.name.replace(/\\/g, "/").replace(/^\/+/, "");
        if (!rel || rel.endsWith("/") || ignored(rel)) continue;
        const source = isCsv(rel)
          ? { size: entry.size, modified: zip.lastModified, open: () => openEntry(zip, entry) }
          : null;
        found.push({ arg, rel, source });
      }
      prefixes.push({ tree: zip.name.replace(/\.zip$/i, "") || zip.name });
    }
  }
  const paths = uniquePaths(found, prefixes);
  const files = [];
  const skipped = [];
  found.forEach((f, i) => (f.source ? files.push({ path: paths[i], ...f.source }) : skipped.push(paths[i])));
  return { files, skipped };
}

function fileSource(file) {
  return { size: file.size, modified: file.lastModified, open: async () => file.stream() };
}

/** Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS` (UTC), the ZIP entries' time;
 * undefined before 1980 (the core's default, 1980-01-01, then applies, as in the CLI). */
function zipTime(ms) {
  if (!Number.isFinite(ms) || ms < Date.UTC(1980, 0, 1)) return undefined;
  return new Date(Math.min(ms, Date.UTC(2107, 11, 31, 23, 59, 58))).toISOString().slice(0, 19);
}

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Report paths: relative paths, prefixed by their folder or ZIP name only on a clash. */
function uniquePaths(found, prefixes) {
  const candidate = (f, level) => {
    const p = prefixes[f.arg];
    if (level === 0) return f.rel;
    if (p.file !== undefined) return `${p.file}#${f.arg + 1}`;
    if (level === 1) return `${p.tree}/${f.rel}`;
    return `${p.tree}/${f.rel}#${f.arg + 1}`;
  };
  const levels = found.map(() => 0);
  const paths = found.map((f) => candidate(f, 0));
  for (let round = 0; round < 3; round++) {
    const args = new Map();
    found.forEach((f, i) => {
      if (!args.has(paths[i])) args.set(paths[i], new Set());
      args.get(paths[i]).add(f.arg);
    });
    const clash = paths.map((p) => args.get(p).size > 1);
    if (!clash.includes(true)) break;
    found.forEach((f, i) => {
      if (clash[i]) paths[i] = candidate(f, ++levels[i]);
    });
  }
  return paths;
}

/** Up to PREFIX bytes from the start of a source (the stream is cancelled after). */
async function prefixOf(source) {
  const reader = (await source.open()).getReader();
  const parts = [];
  let n = 0;
  while (n < PREFIX) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.length;
  }
  reader.cancel().catch(() => {});
  const out = new Uint8Array(Math.min(n, PREFIX));
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p.length, out.length - at);
    out.set(p.subarray(0, take), at);
    at += take;
    if (at === out.length) break;
  }
  return out;
}

function newSession(target, maxPerCode, bundle = false) {
  const options = {};
  if (maxPerCode) options.maxPerCode = maxPerCode;
  // Bundle mode keeps every pushed byte in wasm memory (the core's second pass replays them).
  if (bundle) options.bundle = true;
  return new Session(target, options);
}

/**
 * Chooses the target ("auto": the built-in one that recognises most files) and orders the
 * files as the platform processes them (kind order, unknown last, then path), like the CLI.
 */
async function plan(target, maxPerCode, files) {
  const names = target === "auto" ? targets() : [target];
  const probes = names.map((t) => newSession(t, maxPerCode));
  const kinds = probes.map((s) => s.kinds());
  const ranks = names.map(() => []);
  for (const f of files) {
    const prefix = await prefixOf(f);
    probes.forEach((s, t) => {
      const k = s.kindOfPrefix(prefix);
      const r = k === undefined ? -1 : kinds[t].indexOf(k);
      ranks[t].push(r < 0 ? Infinity : r);
    });
  }
  probes.forEach((s) => s.free());
  let best = 0;
  const known = ranks.map((r) => r.filter((x) => x !== Infinity).length);
  known.forEach((k, t) => (k > known[best] ? (best = t) : 0));
  const order = files.map((f, i) => [ranks[best][i], f.path, f]);
  order.sort((a, b) => a[0] - b[0] || cmp(a[1], b[1]) || 0);
  return { target: names[best], files: order.map((x) => x[2]) };
}

/** Streams every file into a session; returns the session (not finished). */
async function feed(id, job, onProgress, bundle = false) {
  const session = newSession(job.target, job.maxPerCode, bundle);
  for (const path of job.skipped) session.skipFile(path);
  let lastPost = 0;
  for (const f of job.files) {
    const reader = (await f.open()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      session.push(f.path, value);
      // Past a record over a limit the core reads nothing more of this file: stop reading
      // it (a 10 GiB line is not streamed through the tab for nothing).
      if (!session.wants(f.path)) {
        reader.cancel().catch(() => {});
        break;
      }
      const now = performance.now();
      if (onProgress && now - lastPost >= PROGRESS_MS) {
        lastPost = now;
        onProgress(session, f.path);
      }
    }
    session.finishFile(f.path);
  }
  return session;
}

async function check(msg) {
  const started = performance.now();
  const { id } = msg;
  const { files, skipped } = await collect(msg.inputs);
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  const planned = await plan(msg.target, msg.maxPerCode, files);
  const job = { target: msg.target === "auto" ? planned.target : msg.target, maxPerCode: msg.maxPerCode, files: planned.files, skipped };
  const session = await feed(id, job, (s, file) => {
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
    type: "report", id, report, target: planned.target,
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
  const session = await feed(msg.id, last, null, true);
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

let queue = Promise.resolve();
self.onmessage = (ev) => {
  const msg = ev.data;
  const run = msg.type === "check" ? check : msg.type === "bundle" ? bundle : null;
  if (!run) return;
  queue = queue.then(() =>
    run(msg).catch((e) => postMessage({ type: "error", id: msg.id, message: String(e?.message ?? e) })),
  );
};

postMessage({ type: "ready", targets: targets(), bundle: hasBundle });
