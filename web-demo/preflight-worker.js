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
//   With `pageSize: n` in "check", the findings come first, n at a time, each page its own
//   message (a 100,000-finding report in one message blocks the page's main thread for
//   hundreds of milliseconds while it is deserialised), and the report follows with
//   `paged: true` and empty `findings` arrays, to be filled from the pages in order:
//   ← {type: "findings", id, file: index in report.files | -1 (the bundle's), findings}
//   The edits' re-checks ("edit", "undo") page the same way.
//   ← {type: "bundle", id, bytes: Uint8Array (transferred), format: "zip" | "csv",
//       summary: {entries, changes, rejected}, rejects: string | null (Excel-safe CSV)}
//   ← {type: "error", id, message}
//
// The preview (what the element shows for one finding, and cell edits):
//   → {type: "lines", id, path, line, columnNumber?, context?}   the file's lines around
//       `line` (context lines before and after, default 2), read from the file itself
//       (Blob.slice from a sparse line index: a 300 MB file is never sent or held whole)
//   ← {type: "lines", id, path, lines: [{n, text} | {n, before, cell, after}], cell:
//       {value, quoted, multiline, editable, reason?} | null, unsupported?: string}
//   → {type: "edit", id, path, line, row, columnNumber, column, value}   replaces that cell
//       (the file's bytes are spliced: Blob parts, nothing copied) and re-checks the bundle
//   → {type: "undo", id, index}   drops edit `index` and re-checks
//   ← {type: "row", id, path, row, line, findings, ms}   first: the edited row checked at
//       once in the core (its own rules; Session.recheckRow), then
//   ← {type: "report", ...as above, edits: [{path, row, line, column, columnNumber, old, new}]}
//   → {type: "corrected", id}   ← {type: "corrected", id, files: [{path, blob}]} (Blobs are
//       handles: the bytes stay on disk or in the Blob store, never copied to the page)
// "bundle" bundles the edited files. An edit is checked twice: at once, the row alone in
// the core (the rules that read only the row), then the whole bundle again in this Worker,
// for what needs other rows (ids, claims, references): that report is exactly the CLI's on
// the corrected files, which is what the corrected files and the bundle are.
//
// Paths, skipped files and file order follow the CLI (host-cli/src/input.rs), so the report
// is deep-equal to `preflight check --format json` on the same files.

import { Session, collect, feed, newSession, plan, ready, targetFromText, targets, zipTime } from "./preflight-api.js";

// No top-level await: bundlers build Workers as classic scripts by default (Vite's
// `worker.format` is "iife"), where it is a syntax error. Messages wait in `queue` until the
// module is loaded.
let wasm = null; // wasm-bindgen's exports (its `memory`), once loaded
const hasBundle = typeof Session.prototype.bundle === "function";
// The last check: {target, maxPerCode, files (original sources), skipped, options}, for
// bundle(), the preview and edits.
let last = null;
// Per path of the last check: {encoding, delimiter, lineEnding} from its report.
let info = new Map();
// Cell edits of the last check's files, one per cell, in the order made.
let edits = [];
// Per path: the edited file (a Blob of the original's slices and the new cells).
let edited = new Map();
// Per Blob: its sparse line index (see LineIndex).
let indexes = new WeakMap();
// ZIP entries have no Blob to slice: read once into one when the preview needs it.
let entryBlobs = new Map();

async function check(msg) {
  const { id } = msg;
  // A target file's text (TOML, JSON, Table Schema) becomes the target object here.
  const target = msg.targetText != null ? targetFromText(msg.targetText) : msg.target;
  const options = msg.params ? { params: msg.params } : {};
  const started = performance.now();
  const { files, skipped } = await collect(msg.inputs);
  const planned = await plan(target, msg.maxPerCode, files, options);
  const job = { target: target === "auto" ? planned.target : target, maxPerCode: msg.maxPerCode, files: planned.files, skipped, options, pageSize: msg.pageSize };
  const name = typeof target === "object" ? target.name : planned.target;
  last = null;
  edits = [];
  edited = new Map();
  entryBlobs = new Map();
  indexes = new WeakMap();
  const report = await run(job, id, started, name);
  last = { ...job, name };
  return report;
}

/** Checks a job (with the edited files in place of the originals) and posts the report. */
async function run(job, id, started, name) {
  const totalBytes = job.files.reduce((n, f) => n + f.size, 0);
  const session = await feed(job, (s, file) => {
    const wasmMemory = wasm.memory.buffer.byteLength;
    postMessage({ type: "progress", id, ...s.progress(), totalBytes, file, wasmMemory });
  });
  const p = session.progress();
  const wasmMemory = wasm.memory.buffer.byteLength;
  postMessage({ type: "progress", id, ...p, totalBytes, file: null, wasmMemory });
  const report = session.finish();
  session.free();
  info = new Map(
    report.files.map((f) => [f.path, { encoding: f.encoding, delimiter: f.delimiter, lineEnding: f.line_ending }]),
  );
  const ms = performance.now() - started;
  const paged = job.pageSize > 0;
  if (paged) {
    sendPages(id, -1, report.findings, job.pageSize);
    report.findings = [];
    report.files.forEach((f, i) => {
      sendPages(id, i, f.findings, job.pageSize);
      f.findings = [];
    });
  }
  postMessage({
    type: "report", id, report, target: name, paged,
    stats: { ms, bytes: p.bytes, wasmMemory: wasm.memory.buffer.byteLength },
    edits: edits.map(({ at, ...e }) => e),
  });
}

/** Posts `findings` (of `report.files[file]`, or the bundle's when -1) `size` at a time. */
function sendPages(id, file, findings, size) {
  for (let at = 0; at < findings.length; at += size) {
    postMessage({ type: "findings", id, file, findings: findings.slice(at, at + size) });
  }
}

/** The last check's job with every edited file replaced by its edited Blob. */
function current() {
  const files = last.files.map((f) =>
    edited.has(f.path) ? { ...f, size: edited.get(f.path).size, open: async () => edited.get(f.path).stream() } : f,
  );
  return { ...last, files };
}

// The bundle: a fresh session in bundle mode (it keeps the pushed bytes) is fed exactly as
// for the check, then `bundle()` checks, plans and writes the ZIP (or the single CSV) in the
// core. The kept input is freed with the session. Same files, options and timestamp: the
// same bytes as `preflight bundle`.
async function bundle(msg) {
  if (!hasBundle) throw new Error("this build of the validator cannot make bundles");
  if (!last) throw new Error("check some files first");
  const job = current();
  const session = await feed(job, null, true);
  try {
    const newest = Math.max(...job.files.map((f) => f.modified ?? 0));
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

// ---- The preview: lines of a file, and cell edits ----------------------------------------

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
/** Lines between two checkpoints of a line index. */
const STEP = 1024;
/** Bytes read from a Blob at a time. */
const READ = 256 * 1024;
/** A record longer than this is not located (shown as plain lines, not editable). */
const MAX_RECORD = 4 << 20;
/** Characters of a line shown; a cell's line is cut around the cell. */
const SHOW = 400;

/** The original bytes of a file as a Blob: the File itself, or a ZIP entry read once. */
async function originalBlob(path) {
  const f = last?.files.find((x) => x.path === path);
  if (!f) throw new Error(`${path} is not a file of the last check`);
  if (f.blob) return f.blob;
  if (!entryBlobs.has(path)) {
    const parts = [];
    const reader = (await f.open()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    entryBlobs.set(path, new Blob(parts));
  }
  return entryBlobs.get(path);
}

/**
 * Byte offsets of every STEP-th line of a Blob, learnt as far as it has been read: finding
 * line n reads from the checkpoint before it, so a click near the end of a 300 MB file
 * scans it once, and later clicks only the few kilobytes past a checkpoint.
 */
class LineIndex {
  constructor(blob, brk) {
    this.blob = blob;
    this.brk = brk; // the byte that ends a line: LF (LF and CRLF files) or CR
    this.marks = [0]; // marks[k]: offset of line k * STEP + 1
  }

  /** Offset where line `n` (1-based) starts, or -1 past the end. */
  async offsetOf(n) {
    let k = Math.min(Math.floor((n - 1) / STEP), this.marks.length - 1);
    let line = k * STEP + 1;
    let at = this.marks[k];
    while (line < n) {
      if (at >= this.blob.size) return -1;
      const buf = new Uint8Array(await this.blob.slice(at, at + READ).arrayBuffer());
      let i = 0;
      while (line < n) {
        const j = buf.indexOf(this.brk, i);
        if (j < 0) break;
        line++;
        i = j + 1;
        if ((line - 1) % STEP === 0 && (line - 1) / STEP === this.marks.length) this.marks.push(at + i);
      }
      at += line < n ? buf.length : i;
    }
    return at <= this.blob.size ? at : -1;
  }
}

function lineIndex(blob, path) {
  if (!indexes.has(blob)) indexes.set(blob, new LineIndex(blob, info.get(path)?.lineEnding === "CR" ? CR : LF));
  return indexes.get(blob);
}

/** Bytes from `start` up to `max` bytes or the end of `lines` lines (with their breaks). */
async function readLines(blob, start, lines, brk, max) {
  const parts = [];
  let got = 0;
  let n = 0;
  let at = start;
  while (n < lines && got < max && at < blob.size) {
    const buf = new Uint8Array(await blob.slice(at, at + READ).arrayBuffer());
    let i = 0;
    while (n < lines) {
      const j = buf.indexOf(brk, i);
      if (j < 0) {
        i = buf.length;
        break;
      }
      n++;
      i = j + 1;
    }
    parts.push(buf.subarray(0, i));
    got += i;
    at += i;
  }
  const out = new Uint8Array(got);
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

/**
 * The record starting at `start` (its bytes, up to an unquoted line break) split into
 * cells: [{start, end}] byte ranges relative to `start`, quotes included. null when it is
 * longer than MAX_RECORD.
 */
async function recordAt(blob, start, delim) {
  const chunks = [];
  let inQuotes = false;
  const cells = [];
  let cell = 0;
  let at = start;
  for (;;) {
    if (at - start > MAX_RECORD) return null;
    const buf = new Uint8Array(await blob.slice(at, at + READ).arrayBuffer());
    if (!buf.length) break;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      const off = at - start + i;
      if (b === QUOTE) inQuotes = !inQuotes;
      else if (!inQuotes && b === delim) {
        cells.push({ start: cell, end: off });
        cell = off + 1;
      } else if (!inQuotes && (b === LF || b === CR)) {
        chunks.push(buf.subarray(0, i));
        cells.push({ start: cell, end: off });
        return { bytes: concat(chunks), cells };
      }
    }
    chunks.push(buf);
    at += buf.length;
  }
  const bytes = concat(chunks);
  cells.push({ start: cell, end: bytes.length });
  return { bytes, cells };
}

function concat(parts) {
  const n = parts.reduce((k, p) => k + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** A cell's raw bytes as its value: surrounding quotes removed, "" read as ". */
function unquote(raw) {
  const s = utf8.decode(raw);
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return { value: s.slice(1, -1).replace(/""/g, '"'), quoted: true };
  return { value: s, quoted: false };
}

function cut(text, keepEnd) {
  if (text.length <= SHOW) return text;
  return keepEnd ? "…" + text.slice(-SHOW) : text.slice(0, SHOW) + "…";
}

/** Where the preview can read a file: its encoding must be byte-compatible with ASCII. */
function unsupported(path) {
  const i = info.get(path);
  if (!i) return `${path} has no lines to show`;
  if (!/^utf-8$/i.test(i.encoding)) return `${path} is ${i.encoding}: lines are shown for UTF-8 files only`;
  if ([...i.delimiter].length !== 1 || i.delimiter.charCodeAt(0) > 0x7f) return `${path}: unusual delimiter`;
  return null;
}

/** The file as the report sees it now: the edited Blob, else the original. */
async function currentBlob(path) {
  return edited.get(path) ?? (await originalBlob(path));
}

async function lines(msg) {
  if (!last) throw new Error("check some files first");
  const { path, line } = msg;
  const why = unsupported(path);
  if (why) return postMessage({ type: "lines", id: msg.id, path, lines: [], cell: null, unsupported: why });
  const context = Math.min(Math.max(msg.context ?? 2, 0), 10);
  const blob = await currentBlob(path);
  const idx = lineIndex(blob, path);
  const first = Math.max(1, line - context);
  const start = await idx.offsetOf(first);
  if (start < 0) return postMessage({ type: "lines", id: msg.id, path, lines: [], cell: null, unsupported: `line ${line} is past the end of ${path}` });
  const delim = info.get(path).delimiter.charCodeAt(0);
  // The lines before the finding's, then its record (which may span lines), then after.
  const recStart = await idx.offsetOf(line);
  const rec = recStart < 0 ? null : await recordAt(blob, recStart, delim);
  const out = [];
  let n = first;
  if (recStart > start && recStart - start <= MAX_RECORD) {
    const before = new Uint8Array(await blob.slice(start, recStart).arrayBuffer());
    for (const t of splitLines(utf8.decode(before))) out.push({ n: n++, text: cut(t, false) });
  }
  n = line;
  let cell = null;
  let recEnd = recStart;
  if (rec) {
    recEnd = recStart + rec.bytes.length;
    const span = msg.columnNumber ? rec.cells[msg.columnNumber - 1] : null;
    if (span) {
      const raw = rec.bytes.subarray(span.start, span.end);
      const { value, quoted } = unquote(raw);
      const multiline = raw.includes(LF) || raw.includes(CR);
      cell = { value, quoted, multiline, editable: !multiline && line > 1 };
      if (multiline) cell.reason = "the cell spans several lines: edit it in the file";
      else if (line === 1) cell.reason = "header cells are not edited here";
      // The record's lines, the cell's part of each marked.
      const pre = splitLines(utf8.decode(rec.bytes.subarray(0, span.start)));
      const mid = splitLines(utf8.decode(raw));
      const post = splitLines(utf8.decode(rec.bytes.subarray(span.end)));
      const recLines = [];
      pre.forEach((t, k) => (k < pre.length - 1 ? recLines.push({ text: t }) : recLines.push({ before: t, cell: "", after: "" })));
      mid.forEach((t, k) => {
        if (k > 0) recLines.push({ before: "", cell: "", after: "" });
        recLines[recLines.length - 1].cell = t;
      });
      post.forEach((t, k) => {
        if (k > 0) recLines.push({ text: t });
        else {
          const l = recLines[recLines.length - 1];
          l.after = t;
        }
      });
      for (const l of recLines) {
        if ("cell" in l) out.push({ n: n++, before: cut(l.before, true), cell: cut(l.cell, false), after: cut(l.after, false) });
        else out.push({ n: n++, text: cut(l.text, false) });
      }
    } else {
      // No cell (a row-level finding): the record's lines, the first one marked whole.
      splitLines(utf8.decode(rec.bytes)).forEach((t, k) =>
        out.push(k === 0 ? { n: n++, before: "", cell: cut(t, false), after: "" } : { n: n++, text: cut(t, false) }),
      );
    }
  }
  // Past the record: its line break, then `context` lines.
  if (rec) {
    const brkLen = await lineBreakAt(blob, recEnd);
    const after = await readLines(blob, recEnd + brkLen, context, idx.brk, MAX_RECORD);
    if (after.length) for (const t of splitLines(utf8.decode(after))) out.push({ n: n++, text: cut(t, false) });
  }
  postMessage({ type: "lines", id: msg.id, path, lines: out, cell });
}

async function lineBreakAt(blob, at) {
  const b = new Uint8Array(await blob.slice(at, at + 2).arrayBuffer());
  if (b[0] === CR && b[1] === LF) return 2;
  return b[0] === CR || b[0] === LF ? 1 : 0;
}

/** Text as lines, without their breaks and without an empty last one. */
function splitLines(text) {
  const parts = text.split(/\r\n|\n|\r/);
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  return parts.map((t) => t.replace(/^\uFEFF/, ""));
}

/** A value as a cell: quoted when it was, or when it holds the delimiter, a quote or a break. */
function encodeCell(value, quoted, delimiter) {
  if (quoted || value.includes(delimiter) || /["\r\n]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** Locates the cell of an edit in the original file: {start, end, old, quoted} (bytes). */
async function locate(path, line, columnNumber) {
  const blob = await originalBlob(path);
  const start = await lineIndex(blob, path).offsetOf(line);
  if (start < 0) throw new Error(`line ${line} is past the end of ${path}`);
  const rec = await recordAt(blob, start, info.get(path).delimiter.charCodeAt(0));
  if (!rec) throw new Error(`the record on line ${line} of ${path} is too long to edit here`);
  const span = rec.cells[columnNumber - 1];
  if (!span) throw new Error(`line ${line} of ${path} has no column ${columnNumber}`);
  const raw = rec.bytes.subarray(span.start, span.end);
  if (raw.includes(LF) || raw.includes(CR)) throw new Error("the cell spans several lines: edit it in the file");
  return { start: start + span.start, end: start + span.end, ...unquote(raw) };
}

/** Rebuilds the edited Blob of `path` from its original and its edits (slices, no copy). */
async function rebuild(path) {
  const mine = edits.filter((e) => e.path === path).sort((a, b) => a.at.start - b.at.start);
  if (!mine.length) return edited.delete(path);
  const blob = await originalBlob(path);
  const delimiter = info.get(path)?.delimiter ?? ",";
  const parts = [];
  let at = 0;
  for (const e of mine) {
    parts.push(blob.slice(at, e.at.start), encoder.encode(encodeCell(e.new, e.at.quoted, delimiter)));
    at = e.at.end;
  }
  parts.push(blob.slice(at));
  edited.set(path, new Blob(parts));
}

async function edit(msg) {
  if (!last) throw new Error("check some files first");
  const { path, line, row, columnNumber, column } = msg;
  const why = unsupported(path);
  if (why) throw new Error(why);
  if (!(line > 1 && columnNumber >= 1)) throw new Error("only data cells can be edited");
  const value = String(msg.value);
  if (/[\r\n]/.test(value)) throw new Error("a value cannot hold a line break here");
  // Edits are kept against the original file (line numbers do not move: no edit adds or
  // removes a line break), one per cell: editing a cell again replaces its edit.
  const at = await locate(path, line, columnNumber);
  const same = edits.findIndex((e) => e.path === path && e.at.start === at.start);
  const entry = { path, row, line, column: column ?? null, columnNumber, old: at.value, new: value, at };
  if (same >= 0) edits[same] = entry;
  else edits.push(entry);
  if (value === at.value) edits = edits.filter((e) => e !== entry);
  await rebuild(path);
  await recheckRow(msg.id, path, row, line);
  await run(current(), msg.id, performance.now(), last.name);
}

/**
 * The edited row checked at once by the core (Session.recheckRow: the rules that read only
 * the row, at the cost of one row) in a light session that has read the file's first
 * 64 KiB (its header and sniffing sample, as the check read them). Posted before the
 * bundle's re-check, which adds what needs other rows (ids, references).
 */
async function recheckRow(id, path, row, line) {
  if (typeof Session.prototype.recheckRow !== "function") return;
  const started = performance.now();
  const blob = await currentBlob(path);
  const start = await lineIndex(blob, path).offsetOf(line);
  const rec = start < 0 ? null : await recordAt(blob, start, info.get(path).delimiter.charCodeAt(0));
  if (!rec) return;
  const session = newSession(last.target, last.maxPerCode, false, last.options);
  try {
    session.push(path, new Uint8Array(await blob.slice(0, 64 * 1024).arrayBuffer()));
    session.finishFile(path);
    const findings = session.recheckRow(path, row, line, rec.bytes);
    if (findings) postMessage({ type: "row", id, path, row, line, findings, ms: performance.now() - started });
  } finally {
    session.free();
  }
}

async function undo(msg) {
  if (!last) throw new Error("check some files first");
  const e = edits[msg.index];
  if (!e) throw new Error(`no edit ${msg.index}`);
  edits.splice(msg.index, 1);
  await rebuild(e.path);
  await run(current(), msg.id, performance.now(), last.name);
}

async function corrected(msg) {
  const files = [...edited.entries()].map(([path, blob]) => ({ path, blob }));
  postMessage({ type: "corrected", id: msg.id, files });
}

const handlers = { check, bundle, lines, edit, undo, corrected };
let queue = Promise.resolve();
self.onmessage = (ev) => {
  const msg = ev.data;
  const run = handlers[msg.type];
  if (!run) return;
  queue = queue.then(() =>
    loaded
      .then(() => run(msg))
      .catch((e) => postMessage({ type: "error", id: msg.id, message: String(e?.message ?? e) })),
  );
};
