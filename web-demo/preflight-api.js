// Preflight's JS API: the validator (WebAssembly) with the CLI's way of reading inputs, for
// browsers, Web Workers and Node 20. The Worker (preflight-worker.js) and the package's main
// entry both use it, so a report made here is deep-equal to `preflight check --format json`
// on the same files: same paths, same skipped files, same processing order.
//
//   import { check } from "preflight-check";
//   const report = await check("canvas", [{ path: "users.csv", bytes }]);
//
// The .wasm is found with `new URL(..., import.meta.url)`, which Vite and webpack 5 follow
// (they copy it; esbuild needs it as an entry point, see the package README); under Node it
// is read from the package folder.

import init, { Diff, Session, targetFromText, targets } from "./pkg/validator_wasm.js";
import { listZip, openEntry, looksLikeZip } from "./zip-reader.js";

export { Diff, Session, targetFromText, targets };

const PREFIX = 64 * 1024;
const PROGRESS_MS = 100;

let initialised = null;

/**
 * Loads the WebAssembly module once; resolves to wasm-bindgen's exports (its `memory`).
 * Every other call here awaits it; call it yourself only to load early.
 */
export function ready() {
  initialised ??= (async () => {
    const url = new URL("./pkg/validator_wasm_bg.wasm", import.meta.url);
    if (url.protocol === "file:" && typeof process === "object" && process.versions?.node) {
      // Node's fetch() does not read file: URLs. The specifier is not a literal so that
      // bundlers targeting browsers (esbuild, Vite) leave this Node-only import alone.
      const fsModule = "node:fs/promises";
      const { readFile } = await import(/* @vite-ignore */ fsModule);
      return init({ module_or_path: await readFile(url) });
    }
    return init({ module_or_path: url });
  })();
  return initialised;
}

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
export async function collect(inputs) {
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
  // blob: for reading part of the file again (the element's preview of a finding's lines).
  return { size: file.size, modified: file.lastModified, open: async () => file.stream(), blob: file };
}

/** Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS` (UTC), the ZIP entries' time;
 * undefined before 1980 (the core's default, 1980-01-01, then applies, as in the CLI). */
export function zipTime(ms) {
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

export function newSession(target, maxPerCode, bundle = false, extra = {}) {
  const options = { ...extra };
  if (maxPerCode) options.maxPerCode = maxPerCode;
  // Bundle mode keeps every pushed byte in wasm memory (the core's second pass replays them).
  if (bundle) options.bundle = true;
  return new Session(target, options);
}

/**
 * Chooses the target ("auto": the built-in one that recognises most files) and orders the
 * files as the platform processes them (kind order, unknown last, then path), like the CLI.
 */
export async function plan(target, maxPerCode, files, extra = {}) {
  const names = target === "auto" ? targets() : [target];
  const probes = names.map((t) => newSession(t, maxPerCode, false, extra));
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
export async function feed(job, onProgress, bundle = false) {
  const session = newSession(job.target, job.maxPerCode, bundle, job.options);
  for (const path of job.skipped) session.skipFile(path);
  let lastPost = 0;
  for (const f of job.files) {
    await pump(f, session, () => {
      const now = performance.now();
      if (onProgress && now - lastPost >= PROGRESS_MS) {
        lastPost = now;
        onProgress(session, f.path);
      }
    });
  }
  return session;
}

/**
 * Streams file `f` into `into` (a Session or a Diff) chunk by chunk, calling `after()` after
 * each chunk, then ends the file.
 */
async function pump(f, into, after = () => {}) {
  // The file's size lets the core size its tables once (a hint: it changes no finding).
  // A stream of unknown length says 0: no hint.
  if (f.size > 0 && into.sizeHint) into.sizeHint(f.path, f.size);
  const reader = (await f.open()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    into.push(f.path, value);
    // Past a record over a limit the core reads nothing more of this file: stop reading
    // it (a 10 GiB line is not streamed through the tab for nothing).
    if (!into.wants(f.path)) {
      reader.cancel().catch(() => {});
      break;
    }
    after();
  }
  into.finishFile(f.path);
}


/**
 * Checks files as `preflight check --format json` does and resolves to the same report.
 *
 * - `target`: a built-in name (`"canvas"`, ...), `"auto"`, a target-file object, or a target
 *   file's text (Preflight JSON or TOML, a Table Schema or Data Package).
 * - `files`: `{path, bytes}` (Uint8Array), `File`s (path: `webkitRelativePath`, else the
 *   name) or `{path, stream}` (a ReadableStream, read once). Paths are relative, as inside
 *   the folder given to the CLI; a `.zip` is expanded as the CLI expands a ZIP argument.
 * - `options`: `{maxPerCode, params, maxRecordBytes, maxColumns, onProgress}`.
 */
export async function check(target, files, options = {}) {
  await ready();
  const { maxPerCode, onProgress, ...extra } = options;
  if (typeof target === "string" && target !== "auto" && !targets().includes(target)) {
    target = targetFromText(target);
  }
  const { files: sources, skipped } = await gather(files);
  const planned = await plan(target, maxPerCode, sources, extra);
  const job = { target: target === "auto" ? planned.target : target, maxPerCode, files: planned.files, skipped, options: extra };
  const session = await feed(job, onProgress ? (s, file) => onProgress({ ...s.progress(), file }) : null);
  try {
    return session.finish();
  } finally {
    session.free();
  }
}

/** check()'s file forms, read as the CLI reads its arguments: `{files, skipped}`. */
async function gather(files) {
  const inputs = [];
  const tree = { type: "tree", name: "", files: [] };
  for (const f of files) {
    const { path, file, zip } = await asInput(f);
    if (zip) inputs.push({ type: "zip", file });
    else tree.files.push({ path, file });
  }
  if (tree.files.length) inputs.unshift(tree);
  return collect(inputs);
}

/**
 * What uploading `newFiles` changes compared with `oldFiles`, as `preflight diff --format
 * json OLD NEW` says it: rows added, removed and changed per kind, with the platform's row
 * identity, and the first changes. Files as for check(); the old files are read twice (for
 * the values of the listed changes), so they must be bytes or `File`s, not streams.
 * - `target`: as for check() ("auto" looks at the new files).
 * - `options`: `{maxChanges, oldName, newName, batchTerm, params}`.
 */
export async function diff(target, oldFiles, newFiles, options = {}) {
  await ready();
  const { params, ...rest } = options;
  if (typeof target === "string" && target !== "auto" && !targets().includes(target)) {
    target = targetFromText(target);
  }
  const extra = params ? { params } : {};
  const newPlan = await plan(target, 0, (await gather(newFiles)).files, extra);
  target = target === "auto" ? newPlan.target : target;
  const oldPlan = await plan(target, 0, (await gather(oldFiles)).files, extra);
  const d = new Diff(target, { ...rest, ...extra });
  try {
    for (let side = d.side; side !== "done"; side = d.endSide()) {
      for (const f of side === "new" ? newPlan.files : oldPlan.files) await pump(f, d);
    }
    return d.finish();
  } finally {
    d.free();
  }
}

const ZIP_MAGIC = [0x50, 0x4b];

/** One of check()'s file forms as a File-like object ({name, size, lastModified, stream()}). */
async function asInput(f) {
  if (typeof File !== "undefined" && f instanceof File) {
    const path = f.webkitRelativePath || f.name;
    return { path, file: f, zip: /\.zip$/i.test(path) && (await looksLikeZip(f)) };
  }
  if (!f || typeof f.path !== "string") throw new TypeError("each file is {path, bytes}, a File, or {path, stream}");
  if (f.bytes instanceof Uint8Array) {
    const zip = /\.zip$/i.test(f.path) && f.bytes[0] === ZIP_MAGIC[0] && f.bytes[1] === ZIP_MAGIC[1];
    if (zip) return { path: f.path, zip, file: new File([f.bytes], f.path.split("/").pop()) };
    return { path: f.path, zip, file: bytesFile(f.bytes) };
  }
  if (f.stream && typeof f.stream.getReader === "function") {
    if (/\.zip$/i.test(f.path)) {
      // A ZIP is read from its end (the central directory): gathered first.
      const chunks = [];
      for (const r = f.stream.getReader(); ; ) {
        const { done, value } = await r.read();
        if (done) break;
        chunks.push(value);
      }
      return { path: f.path, zip: true, file: new File(chunks, f.path.split("/").pop()) };
    }
    return { path: f.path, zip: false, file: onceFile(f.stream) };
  }
  throw new TypeError(`${f.path}: give bytes (a Uint8Array) or a stream (a ReadableStream)`);
}

/** Bytes as a File-like object whose stream() yields 64 KiB views (no copy). */
function bytesFile(bytes) {
  return {
    size: bytes.length,
    lastModified: 0,
    stream: () => {
      let at = 0;
      return new ReadableStream({
        pull(ctrl) {
          if (at >= bytes.length) return ctrl.close();
          ctrl.enqueue(bytes.subarray(at, at + PREFIX));
          at += PREFIX;
        },
      });
    },
  };
}

/**
 * A stream read once, as a File-like object: the first stream() (the kind-detection prefix)
 * keeps what it reads, the second replays it and goes on with the rest, so nothing is read
 * twice and only the prefix is held.
 */
function onceFile(stream) {
  const reader = stream.getReader();
  let kept = [];
  let opened = 0;
  return {
    size: 0,
    lastModified: 0,
    stream: () => {
      const first = opened++ === 0;
      if (opened > 2) throw new Error("a stream input can be checked once");
      return new ReadableStream({
        async pull(ctrl) {
          if (!first && kept.length) return ctrl.enqueue(kept.shift());
          const { done, value } = await reader.read();
          if (done) return ctrl.close();
          if (first) kept.push(value);
          ctrl.enqueue(value);
        },
        cancel() {
          // The prefix pass stops early: the rest is read by the next pass.
          if (!first) reader.cancel().catch(() => {});
        },
      });
    },
  };
}
