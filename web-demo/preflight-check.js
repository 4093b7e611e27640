// <preflight-check target="canvas">: drop CSV files, a folder or a ZIP; they are checked in
// a Worker (nothing is uploaded) and the report is shown: summary, per-file table and a
// virtualised findings table (100,000 rows scroll smoothly), with "Download error CSV" and,
// when the package can build one, "Download bundle". One script tag embeds it:
//
//   <script type="module" src="/preflight/preflight-check.js"></script>
//   <preflight-check target="canvas"></preflight-check>
//
// Attributes: target ("canvas", another built-in name, or "auto"), target-file (URL of a
// target file, TOML/JSON or a Table Schema: Watershed, Encoura and custom layouts; the
// targetFile property takes its text or object instead), params (host parameters,
// `location_type=district`; or the params property, an object), max-per-code (findings
// kept per code and file; default 100 as in the CLI), drop-invalid (the bundle keeps only
// valid rows, the rejected ones are downloaded as preflight-bundle.rejected.csv; without it
// a bundle with errors is refused, as `preflight bundle` without --drop-invalid), worker
// (URL of preflight-worker.js; default: next to this file).
// Events (bubbling, composed): preflight-ready {targets, bundle}, preflight-progress
// {bytes, totalBytes, rows, files, file}, preflight-report {report, target, stats},
// preflight-bundle {bytes, blob, format, summary, rejects}, preflight-error {message}.
// API: el.check(inputs) (see preflight-worker.js for inputs), el.checkFiles(fileList),
// el.report, el.findings, el.errorCsv(), el.ready (a Promise), el.cancel() (also the Cancel
// button shown while checking; the Worker ends, and ends too when the element is removed).
// The preview (README "The preview"): select a finding (click, arrows or j/k, Enter) to see
// its lines with the cell marked and the platform's words; filter by file, severity and
// code, group by code; edit a flagged cell (re-checked at once), undo, download the
// corrected files. API: el.select(position, {open}), el.selectedFinding, el.edit(finding,
// value), el.undo(index), el.edits, el.downloadCorrected().

const ROW = 28; // px per findings row (fixed: the table is virtualised)
const OVERSCAN = 10;
// Findings per message from the Worker: a page deserialises in a few milliseconds.
const PAGE = 2000;

const STYLE = `
:host { display: block; font: 14px/1.4 system-ui, sans-serif; color: #1a1a1a; }
.drop { border: 2px dashed #8a8a8a; border-radius: 8px; padding: 1.2rem; text-align: center; background: #fafafa; }
.drop.over { border-color: #0b57d0; background: #eef3fd; }
.drop p { margin: 0 0 .6rem; }
button, .pick { font: inherit; padding: .3rem .8rem; border: 1px solid #666; border-radius: 4px; background: #fff; cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
.pick input { display: none; }
.status { margin: .8rem 0; min-height: 1.4em; }
progress { width: 100%; }
.summary table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
.summary td, .summary th { border-bottom: 1px solid #ddd; padding: .2rem .5rem; text-align: left; }
.summary td.num, .summary th.num { text-align: right; font-variant-numeric: tabular-nums; }
.actions { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin: .6rem 0; }
.grid { display: grid; grid-template-columns: 5.5rem 11rem 4.5rem 9rem 10rem 1fr; }
.grid > span { overflow: hidden; white-space: nowrap; text-overflow: ellipsis; padding: 0 .4rem; }
.head { font-weight: 600; border-bottom: 2px solid #999; height: ${ROW}px; line-height: ${ROW}px; }
.viewport { height: ${14 * ROW}px; overflow-y: auto; position: relative; border-bottom: 1px solid #ccc; contain: strict; }
.spacer { position: relative; }
.rows { position: absolute; left: 0; right: 0; top: 0; will-change: transform; }
.row { height: ${ROW}px; line-height: ${ROW}px; border-bottom: 1px solid #eee; }
/* Exactly ROW px per row, border included: the virtual list places rows at index × ROW. */
.row, .group { box-sizing: border-box; }
.error .sev { color: #b00020; font-weight: 600; } .warning .sev { color: #8a5a00; } .info .sev { color: #555; }
.empty { padding: .6rem; color: #555; }
.findings:focus { outline: none; }
.findings:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.row { cursor: pointer; }
.row:hover { background: #f3f6fb; }
.row[aria-selected="true"] { background: #dbe7fd; box-shadow: inset 3px 0 0 #0b57d0; }
.findings:focus-visible .row[aria-selected="true"] { outline: 2px solid #0b57d0; outline-offset: -2px; }
.group { height: ${ROW}px; line-height: ${ROW}px; background: #f1f1f1; font-weight: 600; padding: 0 .4rem; border-bottom: 1px solid #ddd; }
.group .n { font-weight: 400; color: #444; margin-left: .5rem; }
.detail { border: 1px solid #bbb; border-radius: 6px; padding: .6rem .8rem; margin: .8rem 0; background: #fcfcfc; }
.detail:focus-visible { outline: 3px solid #0b57d0; }
.detail h3 { font-size: 1rem; margin: 0 0 .3rem; }
.detail h3 .code { font-family: ui-monospace, monospace; font-weight: 600; }
.detail .where { color: #444; margin: 0 0 .4rem; }
.detail .platform { border-left: 3px solid #8a8a8a; padding: .2rem .6rem; margin: .4rem 0; background: #f3f3f3; }
.snippet { font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; background: #fff; border: 1px solid #ddd;
  border-radius: 4px; margin: .4rem 0; padding: .3rem 0; overflow-x: auto; }
.snippet .ln { display: grid; grid-template-columns: 4.5rem 1fr; white-space: pre; }
.snippet .n { text-align: right; padding-right: .8rem; color: #777; user-select: none; }
.snippet .ln.at { background: #fff4f4; }
.snippet mark { background: #ffd7d7; color: #7a0016; outline: 1px solid #b00020; border-radius: 2px; }
.warning-detail .snippet mark { background: #ffeab8; color: #5a3b00; outline-color: #8a5a00; }
.info-detail .snippet mark { background: #e4e4e4; color: #222; outline-color: #777; }
.edit { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: .5rem 0 0; }
.edit input { font: 13px ui-monospace, monospace; padding: .25rem .4rem; min-width: 16rem; }
.note { color: #444; }
.edits table { border-collapse: collapse; margin: .3rem 0; }
.edits td, .edits th { border-bottom: 1px solid #ddd; padding: .2rem .5rem; text-align: left; }
.edits code { background: #f3f3f3; padding: 0 .2rem; }
button:focus-visible, select:focus-visible, input:focus-visible { outline: 3px solid #0b57d0; outline-offset: 1px; }
[hidden] { display: none !important; }
`;

const TEMPLATE = `
<style>${STYLE}</style>
<div class="drop" part="dropzone">
  <p>Drop CSV files, a folder or a ZIP here: they are checked in this browser, nothing is uploaded.</p>
  <label class="pick">Choose files…<input type="file" name="files" multiple accept=".csv,.zip,text/csv,application/zip"></label>
  <label class="pick">Choose a folder…<input type="file" name="folder" webkitdirectory></label>
</div>
<div class="status" part="status" role="status" aria-live="polite"></div>
<progress hidden max="1" value="0"></progress> <button type="button" name="cancel" hidden>Cancel</button>
<div class="summary" part="summary" hidden>
  <p class="totals"></p>
  <table class="files"><thead><tr><th>file</th><th>kind</th><th class="num">rows</th><th class="num">bytes</th>
    <th>encoding</th><th>delimiter</th><th>line ending</th><th class="num">errors</th><th class="num">warnings</th></tr></thead><tbody></tbody></table>
</div>
<div class="actions" part="actions" hidden role="toolbar" aria-label="filter findings">
  <label>File <select name="file"><option value="">all files</option></select></label>
  <label>Show <select name="severity"><option value="">all findings</option><option value="error">errors</option>
    <option value="warning">warnings</option><option value="info">infos</option></select></label>
  <label>Code <select name="code"><option value="">all codes</option></select></label>
  <label><input type="checkbox" name="group"> Group by code</label>
  <span class="count" aria-live="polite"></span>
  <button type="button" name="csv">Download error CSV</button>
  <button type="button" name="bundle" hidden>Download bundle</button>
  <button type="button" name="corrected" hidden>Download corrected files</button>
</div>
<div class="findings" part="findings" hidden role="grid" aria-label="findings (arrow keys or j/k to move, Enter to show the lines)" tabindex="0">
  <div class="grid head" role="row"><span role="columnheader">severity</span><span role="columnheader">file</span>
    <span role="columnheader">row</span><span role="columnheader">column</span><span role="columnheader">code</span>
    <span role="columnheader">message</span></div>
  <div class="viewport"><div class="spacer"><div class="rows" role="rowgroup"></div></div></div>
</div>
<section class="detail" part="detail" hidden role="region" aria-label="finding details" tabindex="-1">
  <h3><span class="sev"></span> <span class="code"></span>: <span class="message"></span></h3>
  <p class="where"></p>
  <p class="platform" hidden></p>
  <div class="snippet" role="figure" aria-label="the file's lines around the finding"></div>
  <p class="note" hidden></p>
  <form class="edit" hidden>
    <label>New value for <span class="cellname"></span> <input name="value" autocomplete="off" spellcheck="false"></label>
    <button type="submit" name="apply">Apply and re-check</button>
  </form>
</section>
<section class="edits" part="edits" hidden aria-label="edits">
  <h3>Edits</h3>
  <table><thead><tr><th>file</th><th>row</th><th>column</th><th>old → new</th><th></th></tr></thead><tbody></tbody></table>
</section>
`;

/** CSV text of findings, safe to open in Excel: formula-like cells are prefixed with '. */
export function findingsCsv(findings) {
  const cols = ["file", "row", "line", "column", "column_number", "severity", "code", "value", "message", "platform_message"];
  const cell = (v) => {
    let s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [cols.join(",")];
  for (const f of findings) lines.push(cols.map((c) => cell(f[c])).join(","));
  return "\uFEFF" + lines.join("\r\n") + "\r\n";
}

/** Every finding of a report, bundle-level first, then file by file (the report's order). */
export function allFindings(report) {
  return [...report.findings, ...report.files.flatMap((f) => f.findings)];
}

const SEVS = { error: 1, warning: 2, info: 3 };

/**
 * The findings as the table lists them (bundle-level first, then file by file) and, per
 * finding, small integers for its severity, file and code, so that filtering and grouping
 * 100,000 findings is a pass over typed arrays. Built as the Worker's pages arrive: no
 * single task indexes a whole large report.
 */
class FindingIndex {
  all = [];
  #sev = [];
  #file = [];
  #code = [];
  #files = new Map();
  #codes = new Map();

  add(findings) {
    for (const f of findings) {
      this.all.push(f);
      this.#sev.push(SEVS[f.severity] ?? 0);
      const p = f.file ?? "";
      let k = this.#files.get(p);
      if (k === undefined) this.#files.set(p, (k = this.#files.size));
      this.#file.push(k);
      let c = this.#codes.get(f.code);
      if (c === undefined) this.#codes.set(f.code, (c = this.#codes.size));
      this.#code.push(c);
    }
    return this;
  }

  /** The typed arrays and tables the filters read. */
  keys() {
    const names = [...this.#codes.keys()];
    // Rank of each code in alphabetical order: the groups' order.
    const rank = new Int32Array(names.length);
    [...names.keys()].sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0)).forEach((c, r) => (rank[c] = r));
    return {
      sev: Uint8Array.from(this.#sev), file: Int32Array.from(this.#file), code: Int32Array.from(this.#code),
      files: this.#files, codes: this.#codes, names, rank, sevs: SEVS,
    };
  }
}

function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

/** Reads a dropped directory entry into {path, file} pairs (all levels). */
async function readTree(dir, prefix = "") {
  const out = [];
  const reader = dir.createReader();
  for (;;) {
    const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) break;
    for (const e of batch) {
      const path = prefix + e.name;
      if (e.isDirectory) out.push(...(await readTree(e, path + "/")));
      else out.push({ path, file: await new Promise((ok, fail) => e.file(ok, fail)) });
    }
  }
  return out;
}

const nf = new Intl.NumberFormat("en");

export class PreflightCheck extends HTMLElement {
  static observedAttributes = ["target"];

  #worker = null;
  #ready = null;
  #pending = new Map();
  /** Paged reports not complete yet: request id → {index, byFile: file index → findings}. */
  #pages = new Map();
  #seq = 0;
  #findings = [];
  #report = null;
  #canBundle = false;
  #frame = 0;
  #params = null;
  /** What the table lists: finding indices (>= 0) and group headers (-(group + 1)). */
  #items = [];
  #groups = [];
  #keys = null;
  /** Position in #items of the selected finding, or -1. */
  #sel = -1;
  #target = "";
  #edits = [];
  #detailSeq = 0;
  /** A target file (text or object) used instead of the `target` attribute. */
  targetFile = null;

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = TEMPLATE;
    this.$ = (sel) => root.querySelector(sel);
  }

  /** Resolves with {targets, bundle} once the Worker has loaded the wasm package. */
  get ready() {
    this.#start();
    return this.#ready;
  }
  get report() {
    return this.#report;
  }
  get findings() {
    return this.#findings;
  }

  connectedCallback() {
    this.#start();
    const drop = this.$(".drop");
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      this.#onDrop(e.dataTransfer);
    });
    this.$('input[name="files"]').addEventListener("change", (e) => {
      const files = [...e.target.files];
      e.target.value = "";
      if (files.length) this.checkFiles(files);
    });
    this.$('input[name="folder"]').addEventListener("change", (e) => {
      const files = [...e.target.files];
      e.target.value = "";
      if (files.length) this.checkFiles(files);
    });
    for (const name of ["severity", "file", "code"]) this.$(`select[name="${name}"]`).addEventListener("change", () => this.#filter());
    this.$('input[name="group"]').addEventListener("change", () => this.#filter());
    const grid = this.$(".findings");
    grid.addEventListener("keydown", (e) => this.#onKey(e));
    this.$(".rows").addEventListener("click", (e) => {
      const row = e.target.closest(".row");
      if (!row) return;
      grid.focus({ preventScroll: true });
      this.select(Number(row.dataset.index), { open: true });
    });
    this.$(".edit").addEventListener("submit", (e) => {
      e.preventDefault();
      const f = this.selectedFinding;
      if (f) this.edit(f, this.$('.edit input[name="value"]').value).catch(() => {});
    });
    this.$('button[name="corrected"]').addEventListener("click", () => this.downloadCorrected().catch(() => {}));
    this.$(".edits tbody").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-undo]");
      if (b) this.undo(Number(b.dataset.undo)).catch(() => {});
    });
    this.$('button[name="csv"]').addEventListener("click", () =>
      download(new Blob([this.errorCsv()], { type: "text/csv;charset=utf-8" }), "preflight-errors.csv"),
    );
    this.$('button[name="bundle"]').addEventListener("click", () => this.bundle().catch(() => {}));
    this.$('button[name="cancel"]').addEventListener("click", () => this.cancel());
    this.$(".viewport").addEventListener("scroll", () => this.#schedule(), { passive: true });
  }

  #start() {
    if (this.#worker) return;
    // Spelled `new Worker(new URL("...", import.meta.url), ...)` in one expression: the form
    // bundlers (Vite, webpack 5) recognise, so they bundle the Worker and its .wasm.
    const custom = this.getAttribute("worker");
    this.#worker = custom
      ? new Worker(custom, { type: "module" })
      : new Worker(new URL("./preflight-worker.js", import.meta.url), { type: "module" });
    this.#ready = new Promise((ok, fail) => {
      this.#worker.onerror = (e) => {
        const message = `the validator could not start: ${e.message || "worker error"}`;
        this.#status(message);
        this.#emit("preflight-error", { message });
        fail(new Error(message));
      };
      this.#worker.onmessage = (e) => {
        if (e.data.type === "ready") {
          this.#canBundle = e.data.bundle;
          this.#worker.onmessage = (m) => this.#onMessage(m.data);
          this.#emit("preflight-ready", { targets: e.data.targets, bundle: e.data.bundle });
          ok({ targets: e.data.targets, bundle: e.data.bundle });
        }
      };
    });
    this.#ready.catch(() => {});
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #status(text) {
    this.$(".status").textContent = text;
  }

  #request(msg) {
    const id = ++this.#seq;
    return new Promise((ok, fail) => {
      this.#pending.set(id, { ok, fail });
      this.#worker.postMessage({ ...msg, id });
    });
  }

  #onMessage(m) {
    const p = this.#pending.get(m.id);
    if (m.type === "progress") {
      const bar = this.$("progress");
      bar.hidden = false;
      bar.value = m.totalBytes ? m.bytes / m.totalBytes : 0;
      this.#status(
        `Checking${m.file ? ` ${m.file}` : ""}: ${nf.format(Math.round(m.bytes / 1e6))} of ${nf.format(Math.round(m.totalBytes / 1e6))} MB, ${nf.format(m.rows)} rows`,
      );
      this.#emit("preflight-progress", m);
      return;
    }
    if (m.type === "row") {
      this.#rowChecked(m);
      return;
    }
    if (m.type === "findings") {
      // A page of a paged report: each arrives as its own task, so no single message of
      // 100,000 findings holds the main thread while it is deserialised.
      // They come in the table's order (the bundle's, then file by file) and are indexed
      // as they come.
      let got = this.#pages.get(m.id);
      if (!got) this.#pages.set(m.id, (got = { index: new FindingIndex(), byFile: new Map() }));
      let list = got.byFile.get(m.file);
      if (!list) got.byFile.set(m.file, (list = []));
      for (const f of m.findings) list.push(f);
      got.index.add(m.findings);
      return;
    }
    if (m.type === "report" && m.paged) {
      const got = this.#pages.get(m.id) ?? { index: new FindingIndex(), byFile: new Map() };
      this.#pages.delete(m.id);
      m.report.findings = got.byFile.get(-1) ?? [];
      m.report.files.forEach((f, i) => (f.findings = got.byFile.get(i) ?? []));
      m.index = got.index;
    }
    if (!p) return;
    this.#pending.delete(m.id);
    if (m.type === "error") p.fail(new Error(m.message));
    else p.ok(m);
  }

  /** Checks a FileList or File[]: loose files, or a folder pick (webkitRelativePath). */
  checkFiles(files) {
    const inputs = [];
    const trees = new Map();
    for (const file of files) {
      const rel = file.webkitRelativePath;
      if (rel && rel.includes("/")) {
        const [top, ...rest] = rel.split("/");
        if (!trees.has(top)) trees.set(top, { type: "tree", name: top, files: [] });
        trees.get(top).files.push({ path: rest.join("/"), file });
      } else {
        inputs.push({ type: "file", file });
      }
    }
    return this.check([...inputs, ...trees.values()]);
  }

  async #onDrop(dt) {
    // Entries must be taken synchronously, before the first await.
    const items = [...(dt.items ?? [])].map((i) => (i.kind === "file" ? i.webkitGetAsEntry?.() ?? i.getAsFile() : null));
    const inputs = [];
    for (const it of items) {
      if (!it) continue;
      if (it instanceof File) inputs.push({ type: "file", file: it });
      else if (it.isDirectory) inputs.push({ type: "tree", name: it.name, files: await readTree(it) });
      else inputs.push({ type: "file", file: await new Promise((ok, fail) => it.file(ok, fail)) });
    }
    if (!inputs.length && dt.files?.length) return this.checkFiles(dt.files);
    if (inputs.length) return this.check(inputs);
  }

  /** Checks inputs ([{type: "file"|"tree"|"zip", ...}], see preflight-worker.js). */
  async check(inputs) {
    await this.ready;
    const target = this.getAttribute("target") || "canvas";
    const maxPerCode = Number(this.getAttribute("max-per-code")) || undefined;
    this.#status("Reading…");
    this.$('button[name="bundle"]').disabled = true;
    this.$('button[name="cancel"]').hidden = false;
    try {
      const targetFile = await this.#targetFile();
      const msg = { type: "check", target, maxPerCode, inputs, params: this.params ?? undefined, pageSize: PAGE };
      if (typeof targetFile === "string") msg.targetText = targetFile;
      else if (targetFile) msg.target = targetFile;
      const m = await this.#request(msg);
      this.$("progress").hidden = true;
      this.#show(m.report, m);
      this.#emit("preflight-report", { report: m.report, target: m.target, stats: m.stats });
      return m.report;
    } catch (e) {
      this.$("progress").hidden = true;
      this.#status(e.cancelled ? "Cancelled." : `Could not check these files: ${e.message}`);
      this.#emit("preflight-error", { message: e.message, cancelled: !!e.cancelled });
      throw e;
    } finally {
      this.$('button[name="cancel"]').hidden = true;
    }
  }

  /**
   * The target file: the `targetFile` property (a target file's text, TOML/JSON/Table
   * Schema, or a target-file object), else the `target-file` attribute (a URL, fetched).
   */
  async #targetFile() {
    if (this.targetFile != null) return this.targetFile;
    const url = this.getAttribute("target-file");
    if (!url) return null;
    const r = await fetch(new URL(url, document.baseURI));
    if (!r.ok) throw new Error(`target file ${url}: HTTP ${r.status}`);
    return r.text();
  }

  /** Host parameters: the `params` property, else the `params` attribute (`k=v&k=v`). */
  get params() {
    if (this.#params) return this.#params;
    const attr = this.getAttribute("params");
    return attr ? Object.fromEntries(new URLSearchParams(attr)) : null;
  }
  set params(value) {
    this.#params = value;
  }

  /** Stops the running check or bundle: the Worker is ended (and restarted on next use). */
  cancel() {
    if (!this.#worker) return;
    this.#worker.terminate();
    this.#worker = null;
    const cancelled = Object.assign(new Error("cancelled"), { cancelled: true });
    for (const p of this.#pending.values()) p.fail(cancelled);
    this.#pending.clear();
    this.#pages.clear();
    this.$("progress").hidden = true;
  }

  disconnectedCallback() {
    // A removed element leaves no Worker (and no wasm memory) behind.
    this.cancel();
  }

  /**
   * Builds the bundle of the last check (when the package supports it) and downloads it;
   * options {dropInvalid, timestamp} (default: the drop-invalid attribute, and the newest
   * input's modification time). The bundle is a ZIP, or one CSV for single-file platforms.
   */
  async bundle(options = {}) {
    const button = this.$('button[name="bundle"]');
    button.disabled = true;
    try {
      const dropInvalid = options.dropInvalid ?? this.hasAttribute("drop-invalid");
      const m = await this.#request({ type: "bundle", dropInvalid, timestamp: options.timestamp });
      const zip = m.format === "zip";
      const blob = new Blob([m.bytes], { type: zip ? "application/zip" : "text/csv;charset=utf-8" });
      const rejects = m.rejects ?? null;
      this.#emit("preflight-bundle", { bytes: m.bytes, blob, format: m.format, summary: m.summary, rejects });
      download(blob, zip ? "preflight-bundle.zip" : "preflight-bundle.csv");
      if (rejects) {
        download(new Blob([rejects], { type: "text/csv;charset=utf-8" }), "preflight-bundle.rejected.csv");
      }
      const rows = m.summary.entries.reduce((n, e) => n + e.rows, 0);
      this.#status(
        `Bundle: ${m.summary.entries.length} file(s), ${nf.format(rows)} rows` +
          (m.summary.rejected ? `; ${nf.format(m.summary.rejected)} rejected rows in preflight-bundle.rejected.csv` : ""),
      );
      return m.bytes;
    } catch (e) {
      this.#status(`Could not build the bundle: ${e.message}`);
      this.#emit("preflight-error", { message: e.message });
      throw e;
    } finally {
      button.disabled = false;
    }
  }

  /** The findings of the last report as Excel-safe CSV text. */
  errorCsv() {
    return findingsCsv(this.#findings);
  }

  #show(report, m, keep = false) {
    this.#report = report;
    // A paged report comes indexed (#onMessage); a whole one is indexed here.
    const index = m.index ?? new FindingIndex().add(allFindings(report));
    this.#findings = index.all;
    this.#keys = index.keys();
    this.#target = m.target;
    this.#edits = m.edits ?? [];
    this.#sel = -1;
    const s = report.summary;
    const secs = m.stats.ms / 1000;
    this.#status(
      `${keep ? "Re-checked" : "Checked"} ${nf.format(s.files)} files (${nf.format(Math.round(m.stats.bytes / 1e6))} MB) in ${secs.toFixed(1)} s against ${m.target}.`,
    );
    this.#options(report);
    this.#showEdits();
    if (!keep) this.$(".detail").hidden = true;
    const omitted = [...report.omitted, ...report.files.flatMap((f) => f.omitted)].reduce((n, o) => n + o.omitted, 0);
    this.$(".totals").textContent =
      `${nf.format(s.files)} files, ${nf.format(s.rows)} rows: ${nf.format(s.errors)} errors, ` +
      `${nf.format(s.warnings)} warnings, ${nf.format(s.infos)} infos` +
      (omitted ? ` (${nf.format(omitted)} findings over the per-code cap are counted but not listed)` : "");
    const body = this.$(".files tbody");
    body.replaceChildren();
    for (const f of report.files) {
      const tr = body.insertRow();
      tr.dataset.path = f.path;
      const count = (sev) => f.findings.filter((x) => x.severity === sev).length + 0;
      const cells = [
        f.path, f.kind ?? "unrecognised", nf.format(f.rows), nf.format(f.bytes), f.encoding + (f.bom ? " (BOM)" : ""),
        f.delimiter === "\t" ? "tab" : f.delimiter, f.line_ending ?? "", nf.format(count("error")), nf.format(count("warning")),
      ];
      cells.forEach((v, i) => {
        const td = tr.insertCell();
        td.textContent = v;
        if ([2, 3, 7, 8].includes(i)) td.className = "num";
        if (i === 1) td.className = "kind";
      });
    }
    this.$(".summary").hidden = false;
    this.$(".actions").hidden = false;
    this.$(".findings").hidden = false;
    const bundleButton = this.$('button[name="bundle"]');
    bundleButton.hidden = !this.#canBundle;
    bundleButton.disabled = !this.#canBundle;
    if (!keep) this.$(".viewport").scrollTop = 0;
    this.#filter(keep);
  }

  /** The file and code filters' options for a report (a kept choice stays chosen). */
  #options(report) {
    const fill = (select, first, values) => {
      const was = select.value;
      select.replaceChildren(new Option(first, ""), ...values.map(([v, label]) => new Option(label, v)));
      select.value = values.some(([v]) => v === was) ? was : "";
    };
    fill(this.$('select[name="file"]'), "all files", report.files.filter((f) => f.findings.length).map((f) => [f.path, f.path]));
    const k = this.#keys;
    const per = new Int32Array(k.names.length);
    for (let i = 0; i < k.code.length; i++) per[k.code[i]]++;
    const counts = new Map(k.names.map((c, i) => [c, per[i]]));
    const codes = [...counts.keys()].sort();
    fill(this.$('select[name="code"]'), "all codes", codes.map((c) => [c, `${c} (${nf.format(counts.get(c))})`]));
  }

  /** The selected finding, if any. */
  get selectedFinding() {
    const i = this.#items[this.#sel];
    return i >= 0 ? this.#findings[i] : null;
  }

  /** The edits made since the last check: [{path, row, line, column, columnNumber, old, new}]. */
  get edits() {
    return this.#edits;
  }

  #onKey(e) {
    const items = this.#items;
    if (!items.length) return;
    const page = Math.max(1, Math.floor(this.$(".viewport").clientHeight / ROW) - 1);
    const step = (from, dir) => {
      for (let i = from + dir; i >= 0 && i < items.length; i += dir) if (items[i] >= 0) return i;
      return from;
    };
    let to = null;
    switch (e.key) {
      case "ArrowDown": case "j": to = step(this.#sel, 1); break;
      case "ArrowUp": case "k": to = this.#sel < 0 ? step(-1, 1) : step(this.#sel, -1); break;
      case "PageDown": to = step(Math.min(items.length - 1, Math.max(this.#sel, 0) + page) - 1, 1); break;
      case "PageUp": to = step(Math.max(0, this.#sel - page) + 1, -1); break;
      case "Home": to = step(-1, 1); break;
      case "End": to = step(items.length, -1); break;
      case "Enter": case " ":
        if (this.#sel >= 0) this.#open(this.#findings[items[this.#sel]]);
        e.preventDefault();
        return;
      case "Escape": this.$(".detail").hidden = true; return;
      default: return;
    }
    e.preventDefault();
    if (to !== null && to >= 0) this.select(to);
  }

  /**
   * Selects the finding at position `pos` of the list as shown (filters and groups
   * applied), scrolls it into view and, with {open: true}, shows its lines.
   */
  select(pos, { open = false } = {}) {
    const i = this.#items[pos];
    if (!(i >= 0)) return;
    this.#sel = pos;
    const vp = this.$(".viewport");
    const top = pos * ROW;
    if (top < vp.scrollTop) vp.scrollTop = top;
    else if (top + ROW > vp.scrollTop + vp.clientHeight) vp.scrollTop = top + ROW - vp.clientHeight;
    this.#render();
    if (open) return this.#open(this.#findings[i]);
  }

  /** Shows a finding: full message, the platform's words, its lines with the cell marked. */
  async #open(f) {
    const panel = this.$(".detail");
    const seq = ++this.#detailSeq;
    panel.hidden = false;
    panel.className = `detail ${f.severity}-detail`;
    panel.querySelector("h3 .sev").textContent = f.severity;
    panel.querySelector("h3 .sev").className = `sev ${f.severity}`;
    panel.querySelector("h3 .code").textContent = f.code;
    panel.querySelector("h3 .message").textContent = f.message;
    const where = [f.file ?? "the bundle", f.row != null ? `row ${f.row}` : null, f.line != null ? `line ${f.line}` : null,
      f.column ? `column ${f.column}${f.column_number ? ` (${f.column_number})` : ""}` : null].filter(Boolean).join(", ");
    panel.querySelector(".where").textContent = where + (f.value != null && f.value !== "" ? `; value “${f.value}”` : "");
    const platform = panel.querySelector(".platform");
    platform.hidden = !f.platform_message || f.platform_message === f.message;
    platform.textContent = platform.hidden ? "" : `${titleOf(this.#target)} says: ${f.platform_message}`;
    const snippet = panel.querySelector(".snippet");
    const note = panel.querySelector(".note");
    const form = panel.querySelector(".edit");
    form.hidden = true;
    note.hidden = true;
    snippet.hidden = true;
    if (!f.file || f.line == null) {
      note.hidden = false;
      note.textContent = f.file ? "This finding is about the whole file." : "This finding is about the bundle.";
      return;
    }
    snippet.hidden = false;
    snippet.textContent = "Reading the lines…";
    let m;
    try {
      m = await this.#request({ type: "lines", path: f.file, line: f.line, columnNumber: f.column_number ?? undefined, context: 2 });
    } catch (e) {
      if (seq === this.#detailSeq) snippet.textContent = `Could not read the lines: ${e.message}`;
      return;
    }
    if (seq !== this.#detailSeq) return;
    if (m.unsupported) {
      snippet.textContent = m.unsupported;
      return;
    }
    snippet.replaceChildren(...m.lines.map((l) => snippetLine(l, f)));
    snippet.setAttribute("aria-label", `${f.file}, lines ${m.lines[0]?.n ?? f.line} to ${m.lines.at(-1)?.n ?? f.line}`);
    if (m.cell && f.column_number && f.row > 1) {
      if (m.cell.editable) {
        form.hidden = false;
        form.querySelector(".cellname").textContent = `${f.column ?? `column ${f.column_number}`} (row ${f.row})`;
        const input = form.querySelector("input");
        input.value = m.cell.value;
        input.setAttribute("aria-label", `new value for ${f.column ?? `column ${f.column_number}`} on row ${f.row} of ${f.file}`);
      } else if (m.cell.reason) {
        note.hidden = false;
        note.textContent = `Not editable here: ${m.cell.reason}.`;
      }
    }
  }

  /**
   * Replaces the cell of finding `f` with `value` and re-checks (the Worker re-runs the
   * bundle's check with the edited file); resolves to the new report.
   */
  async edit(f, value) {
    const m = await this.#recheck({
      type: "edit", path: f.file, line: f.line, row: f.row, columnNumber: f.column_number, column: f.column, value,
    }, `Re-checking after the edit of row ${f.row}…`);
    const left = this.#items.findIndex((i) => i >= 0 && this.#findings[i].file === f.file && this.#findings[i].row === f.row);
    if (left >= 0) {
      await this.select(left, { open: true });
    } else {
      // Nothing left on the row: its lines as they are now, and a note saying so.
      await this.#open({ ...f, severity: "info", code: f.code, message: `fixed: no findings left on row ${f.row} of ${f.file}`, platform_message: null, value });
      this.$(".detail h3 .sev").textContent = "re-checked";
      this.$(".detail .edit").hidden = true;
    }
    return m.report;
  }

  /** The core's one-row re-check of an edit, before the bundle's: shown in the details. */
  #rowChecked(m) {
    const n = m.findings.length;
    const note = this.$(".detail .note");
    note.hidden = false;
    note.textContent =
      `Row ${m.row} re-checked at once (${m.ms.toFixed(0)} ms): ` +
      (n ? `${n} finding(s) from its own rules: ${m.findings.map((f) => f.code).join(", ")}` : "its own rules pass") +
      "; re-checking the bundle for ids and references…";
    this.#emit("preflight-row", { path: m.path, row: m.row, line: m.line, findings: m.findings, ms: m.ms });
  }

  /** Undoes edit `index` of `el.edits` and re-checks. */
  async undo(index) {
    const e = this.#edits[index];
    const m = await this.#recheck({ type: "undo", index }, e ? `Re-checking without the edit of row ${e.row}…` : "Re-checking…");
    this.$(".detail").hidden = true;
    return m.report;
  }

  async #recheck(msg, text) {
    this.#status(text);
    try {
      const m = await this.#request(msg);
      this.$("progress").hidden = true;
      this.#show(m.report, m, true);
      this.#emit("preflight-report", { report: m.report, target: m.target, stats: m.stats, edits: m.edits });
      return m;
    } catch (e) {
      this.$("progress").hidden = true;
      this.#status(`Could not apply the edit: ${e.message}`);
      this.#emit("preflight-error", { message: e.message });
      throw e;
    }
  }

  /** Downloads every edited file (its edits applied); resolves to [{path, blob}]. */
  async downloadCorrected() {
    const m = await this.#request({ type: "corrected" });
    for (const f of m.files) download(f.blob, f.path.split("/").pop());
    return m.files;
  }

  #showEdits() {
    const edits = this.#edits;
    this.$(".edits").hidden = !edits.length;
    this.$('button[name="corrected"]').hidden = !edits.length;
    const body = this.$(".edits tbody");
    body.replaceChildren();
    edits.forEach((e, k) => {
      const tr = body.insertRow();
      const column = e.column ?? `column ${e.columnNumber}`;
      for (const v of [e.path, nf.format(e.row), column]) tr.insertCell().textContent = v;
      const change = tr.insertCell();
      const o = document.createElement("code");
      o.textContent = e.old;
      const n = document.createElement("code");
      n.textContent = e.new;
      change.append(o, " → ", n);
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Undo";
      b.dataset.undo = k;
      b.setAttribute("aria-label", `Undo the edit of ${column} on row ${e.row} of ${e.path}`);
      tr.insertCell().append(b);
    });
  }

  /** Applies the file, severity and code filters, and groups by code when asked. O(n). */
  #filter(keep = false) {
    const k = this.#keys;
    const all = this.#findings;
    const sevWant = k.sevs[this.$('select[name="severity"]').value] ?? 0;
    const fileName = this.$('select[name="file"]').value;
    const fileWant = fileName ? k.files.get(fileName) ?? -2 : -1;
    const codeName = this.$('select[name="code"]').value;
    const codeWant = codeName ? k.codes.get(codeName) ?? -2 : -1;
    const group = this.$('input[name="group"]').checked;
    const picked = new Int32Array(all.length);
    let m = 0;
    for (let i = 0; i < all.length; i++) {
      if ((!sevWant || k.sev[i] === sevWant) && (fileWant === -1 || k.file[i] === fileWant) && (codeWant === -1 || k.code[i] === codeWant)) {
        picked[m++] = i;
      }
    }
    this.#groups = [];
    if (group) {
      // A counting sort by code rank: stable (report order within a code), O(n).
      const groups = k.names.length;
      const count = new Int32Array(groups);
      for (let j = 0; j < m; j++) count[k.rank[k.code[picked[j]]]]++;
      const start = new Int32Array(groups);
      let at = 0;
      for (let r = 0; r < groups; r++) {
        if (!count[r]) continue;
        this.#groups.push({ code: "", count: count[r] });
        start[r] = at + 1;
        at += 1 + count[r];
      }
      const items = new Int32Array(at);
      const byRank = new Array(groups);
      k.rank.forEach((r, c) => (byRank[r] = k.names[c]));
      let g = 0;
      for (let r = 0; r < groups; r++) {
        if (!count[r]) continue;
        this.#groups[g].code = byRank[r];
        items[start[r] - 1] = -(++g);
      }
      for (let j = 0; j < m; j++) {
        const i = picked[j];
        items[start[k.rank[k.code[i]]]++] = i;
      }
      this.#items = items;
    } else {
      this.#items = picked.subarray(0, m);
    }
    this.#sel = -1;
    this.$(".findings").removeAttribute("aria-activedescendant");
    this.$(".findings").setAttribute("aria-rowcount", String(this.#items.length + 1));
    this.$(".count").textContent =
      `${nf.format(m)} findings listed` + (group ? ` in ${nf.format(this.#groups.length)} codes` : "");
    this.$(".spacer").style.height = `${Math.max(this.#items.length * ROW, 1)}px`;
    // As tall as the list, up to 14 rows: a short list keeps the details close below it.
    this.$(".viewport").style.height = `${Math.min(Math.max(this.#items.length, 2), 14) * ROW}px`;
    if (!keep) this.$(".viewport").scrollTop = 0;
    this.#render();
  }

  #schedule() {
    if (!this.#frame) this.#frame = requestAnimationFrame(() => ((this.#frame = 0), this.#render()));
  }

  /** Renders only the rows in view (plus a few), so 100,000 findings cost what 30 do. */
  #render() {
    const vp = this.$(".viewport");
    const rows = this.$(".rows");
    const grid = this.$(".findings");
    const items = this.#items;
    if (!items.length) {
      rows.style.transform = "";
      rows.innerHTML = `<div class="empty">No findings.</div>`;
      return;
    }
    const first = Math.max(0, Math.floor(vp.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(items.length, Math.ceil((vp.scrollTop + vp.clientHeight) / ROW) + OVERSCAN);
    rows.style.transform = `translateY(${first * ROW}px)`;
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const item = items[i];
      const div = document.createElement("div");
      div.setAttribute("role", "row");
      div.setAttribute("aria-rowindex", String(i + 2));
      if (item < 0) {
        const g = this.#groups[-item - 1];
        div.className = "group";
        const cell = document.createElement("span");
        cell.setAttribute("role", "rowheader");
        cell.setAttribute("aria-colspan", "6");
        cell.textContent = g.code;
        const n = document.createElement("span");
        n.className = "n";
        n.textContent = `${nf.format(g.count)} ${g.count === 1 ? "finding" : "findings"}`;
        cell.append(n);
        div.append(cell);
        frag.append(div);
        continue;
      }
      const f = this.#findings[item];
      div.className = `grid row ${f.severity}`;
      div.id = `pf-item-${i}`;
      div.dataset.index = i;
      div.setAttribute("aria-selected", String(i === this.#sel));
      const text = f.platform_message ? `${f.message} — ${f.platform_message}` : f.message;
      const cells = [f.severity, f.file ?? "(bundle)", f.row ?? "", f.column ?? "", f.code, text];
      cells.forEach((v, c) => {
        const span = document.createElement("span");
        span.setAttribute("role", "gridcell");
        span.textContent = v;
        if (c === 0) span.className = "sev";
        if (c === 5 || c === 1) span.title = String(v);
        div.append(span);
      });
      frag.append(div);
    }
    rows.replaceChildren(frag);
    if (this.#sel >= first && this.#sel < last) grid.setAttribute("aria-activedescendant", `pf-item-${this.#sel}`);
    else grid.removeAttribute("aria-activedescendant");
  }
}

/** One line of a snippet: its number, and the cell marked when the line holds it. */
function snippetLine(l, f) {
  const div = document.createElement("div");
  div.className = "ln";
  const n = document.createElement("span");
  n.className = "n";
  n.textContent = String(l.n);
  const code = document.createElement("code");
  if ("cell" in l) {
    div.classList.add("at");
    const mark = document.createElement("mark");
    mark.textContent = l.cell || " ";
    mark.title = f.column ? `row ${f.row}, ${f.column}` : `row ${f.row ?? ""}`;
    code.append(l.before, mark, l.after);
  } else {
    code.textContent = l.text;
  }
  div.append(n, code);
  return div;
}

/** The platform's name for "X says: ..." (the target's name when it is not a built-in). */
function titleOf(target) {
  return { canvas: "Canvas", watermark: "Watermark", sunbird: "Sunbird", oneroster: "OneRoster" }[target] ?? target;
}

if (!customElements.get("preflight-check")) customElements.define("preflight-check", PreflightCheck);
