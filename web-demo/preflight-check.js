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

const ROW = 28; // px per findings row (fixed: the table is virtualised)
const OVERSCAN = 10;

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
.viewport { height: 24rem; overflow-y: auto; position: relative; border-bottom: 1px solid #ccc; contain: strict; }
.spacer { position: relative; }
.rows { position: absolute; left: 0; right: 0; top: 0; will-change: transform; }
.row { height: ${ROW}px; line-height: ${ROW}px; border-bottom: 1px solid #eee; }
.error .sev { color: #b00020; font-weight: 600; } .warning .sev { color: #8a5a00; } .info .sev { color: #555; }
.empty { padding: .6rem; color: #555; }
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
<div class="actions" part="actions" hidden>
  <label>Show <select name="severity"><option value="">all findings</option><option value="error">errors</option>
    <option value="warning">warnings</option><option value="info">infos</option></select></label>
  <span class="count"></span>
  <button type="button" name="csv">Download error CSV</button>
  <button type="button" name="bundle" hidden>Download bundle</button>
</div>
<div class="findings" part="findings" hidden role="table" aria-label="findings">
  <div class="grid head" role="row"><span role="columnheader">severity</span><span role="columnheader">file</span>
    <span role="columnheader">row</span><span role="columnheader">column</span><span role="columnheader">code</span>
    <span role="columnheader">message</span></div>
  <div class="viewport" tabindex="0"><div class="spacer"><div class="rows" role="rowgroup"></div></div></div>
</div>
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
  #seq = 0;
  #findings = [];
  #shown = [];
  #report = null;
  #canBundle = false;
  #frame = 0;
  #params = null;
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
    this.$('select[name="severity"]').addEventListener("change", () => this.#filter());
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
      const msg = { type: "check", target, maxPerCode, inputs, params: this.params ?? undefined };
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

  #show(report, m) {
    this.#report = report;
    this.#findings = allFindings(report);
    const s = report.summary;
    const secs = m.stats.ms / 1000;
    this.#status(
      `Checked ${nf.format(s.files)} files (${nf.format(Math.round(m.stats.bytes / 1e6))} MB) in ${secs.toFixed(1)} s against ${m.target}.`,
    );
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
        f.delimiter === "\t" ? "tab" : f.delimiter, f.line_ending ?? "", count("error"), count("warning"),
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
    this.$(".viewport").scrollTop = 0;
    this.#filter();
  }

  #filter() {
    const sev = this.$('select[name="severity"]').value;
    this.#shown = sev ? this.#findings.filter((f) => f.severity === sev) : this.#findings;
    this.$(".count").textContent = `${nf.format(this.#shown.length)} findings listed`;
    this.$(".spacer").style.height = `${Math.max(this.#shown.length * ROW, 1)}px`;
    this.$(".viewport").scrollTop = 0;
    this.#render();
  }

  #schedule() {
    if (!this.#frame) this.#frame = requestAnimationFrame(() => ((this.#frame = 0), this.#render()));
  }

  /** Renders only the rows in view (plus a few), so 100,000 findings cost what 30 do. */
  #render() {
    const vp = this.$(".viewport");
    const rows = this.$(".rows");
    const list = this.#shown;
    if (!list.length) {
      rows.style.transform = "";
      rows.innerHTML = `<div class="empty">No findings.</div>`;
      return;
    }
    const first = Math.max(0, Math.floor(vp.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(list.length, Math.ceil((vp.scrollTop + vp.clientHeight) / ROW) + OVERSCAN);
    rows.style.transform = `translateY(${first * ROW}px)`;
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const f = list[i];
      const div = document.createElement("div");
      div.className = `grid row ${f.severity}`;
      div.setAttribute("role", "row");
      div.dataset.index = i;
      const text = f.platform_message ? `${f.message} — ${f.platform_message}` : f.message;
      const cells = [f.severity, f.file ?? "(bundle)", f.row ?? "", f.column ?? "", f.code, text];
      cells.forEach((v, c) => {
        const span = document.createElement("span");
        span.setAttribute("role", "cell");
        span.textContent = v;
        if (c === 0) span.className = "sev";
        if (c === 5 || c === 1) span.title = String(v);
        div.append(span);
      });
      frag.append(div);
    }
    rows.replaceChildren(frag);
  }
}

if (!customElements.get("preflight-check")) customElements.define("preflight-check", PreflightCheck);
