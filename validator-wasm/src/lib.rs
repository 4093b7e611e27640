//! WebAssembly bindings of the validator core, for browsers and portals.
//!
//! JS contract (add freely, do not rename): `new Session(target)` with a built-in target
//! name (`"canvas"`) or a target-file object; `push(path, chunk)` any number of times per
//! file; `finishFile(path)`; `finish()` returns the report as a plain object deep-equal to
//! `preflight check --format json`; `progress()`; `targets()`. Usage errors throw JS
//! `Error`s; findings never do.
//!
//! The report crosses the boundary as JSON text parsed by `JSON.parse`, so numbers and
//! field names are exactly those of the CLI's JSON.
//!
//! Bundling (`bundle()` returns what the platform accepts, built by the core): a session
//! created with `{bundle: true}` also keeps every pushed byte in wasm memory, because the
//! core bundles in two passes (check, then stream each planned file again through
//! `validator_core::bundle::Bundler`) and a JS caller's streams cannot be replayed. **Bundle
//! mode holds the whole input**: wasm memory grows by the total size of the files pushed
//! (stored as the pushed chunks, coalesced to 64 KiB, so no reallocation doubles it), plus
//! the bundle being written, until the session is freed; a plain session's memory does not
//! grow with file size. Hosts with very large files should bundle natively (`preflight
//! bundle`), or keep bundle mode for what fits. `bundle({dropInvalid, timestamp})` then
//! returns the ZIP (or, for single-CSV platforms, the CSV) as a `Uint8Array`, byte-identical
//! to `preflight bundle [--drop-invalid] --timestamp T` for the same files; a refused
//! bundle throws an `Error` listing the reasons; `rejectsCsv()` and `bundleSummary()` give
//! the rejected rows and what was written and changed.
//!
//! Additions for hosts that order and collect files themselves (the browser Worker):
//! `new Session(target, {maxPerCode})`, `kinds()`, `kindOfPrefix(bytes)` (processing order,
//! as the CLI sorts files), `skipFile(path)` (a non-CSV file the platform skips, reported as
//! the CLI reports it) and `targetName`. TypeScript types for all of it are in the custom
//! sections below and end up in the package's `.d.ts`; the report's are generated from the
//! core's types (`src/report.d.ts`).

use wasm_bindgen::prelude::*;

/// The C ABI (`pf_*` exports) for hosts without JavaScript, e.g. wasmtime. wasm32 only:
/// it packs 32-bit pointers into `u64` results.
#[cfg(target_arch = "wasm32")]
pub mod cabi;
mod diff;
mod reading;
pub use diff::Diff;
use reading::Readings;

// The report's types (`Report`, `FileReport`, `Finding`, `Severity`, `Summary`, `Omitted`),
// generated from validator-core's Rust types by ts-rs; tests/report_types.rs fails if this
// file is not what they generate.
#[wasm_bindgen(typescript_custom_section)]
const REPORT_TS_TYPES: &str = include_str!("report.d.ts");

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Bytes pushed, rows checked and files started so far. The rows of the last MiB pushed of a file are counted once checked: at the latest when another file is pushed or the file is finished. */
export interface Progress {
  bytes: number;
  rows: number;
  files: number;
}

/** Session settings. */
export interface SessionOptions {
  /** Findings kept per code and file (totals stay exact). Default 100, as the CLI. */
  maxPerCode?: number;
  /** Host parameters of kinds that need them, e.g. `{location_type: "district"}`. */
  params?: Record<string, string>;
  /** Longest record in bytes (after decoding to UTF-8, line break not counted); a longer one
   * is an error at its row and the rest of its file is not read (`wants(path)` turns false).
   * Default 16777216 (16 MiB), as the CLI's `--max-record-bytes`. */
  maxRecordBytes?: number;
  /** Most cells in a record (header included); more is an error at that row and the rest of
   * the file is not read. Default 10000, as the CLI's `--max-columns`. */
  maxColumns?: number;
  /** Keep every pushed byte, and every rejected row's number, so that `bundle()` can write
   * the bundle. The session then holds the whole input in wasm memory. Default false. */
  bundle?: boolean;
}

/** Settings of `bundle()`. */
export interface BundleOptions {
  /** Write only the valid rows; the rejected ones go to `rejectsCsv()` (as `--drop-invalid`). */
  dropInvalid?: boolean;
  /** Timestamp of every ZIP entry, `YYYY-MM-DDTHH:MM:SS` (1980–2107); default 1980-01-01T00:00:00. */
  timestamp?: string;
}

/** What the last `bundle()` wrote and changed (as `preflight bundle` prints it). */
export interface BundleSummary {
  /** Bundle format: "zip", or "csv" for single-CSV platforms. */
  format: "zip" | "csv";
  entries: Array<{ name: string; source: string; rows: number; rejected: number }>;
  changes: string[];
  /** Rows written to `rejectsCsv()`. */
  rejected: number;
}

/** A target file (the JSON form of validator_core::schema::Target). */
export interface TargetFile {
  name: string;
  title?: string;
  description?: string;
  kinds: Array<{ name: string; columns: string[]; detect: unknown; rules?: unknown[]; [k: string]: unknown }>;
  [k: string]: unknown;
}
"#;

/// Settings a JS host may pass as the constructor's second argument.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsOptions {
    max_per_code: Option<u64>,
    /// Host parameters, e.g. `{"location_type": "district"}` (as `preflight --location-type`).
    params: Option<std::collections::BTreeMap<String, String>>,
    max_record_bytes: Option<u64>,
    max_columns: Option<u64>,
    /// Keep the pushed bytes for `bundle()`.
    bundle: Option<bool>,
}

/// Settings of `bundle()`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsBundleOptions {
    drop_invalid: Option<bool>,
    timestamp: Option<String>,
}

/// Chunks are coalesced up to this size when kept for `bundle()`.
const KEEP_CHUNK: usize = 64 * 1024;

/// A validation session (one bundle).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Session {
    inner: Option<validator_core::Session>,
    /// The files pushed and not finished, each read as `preflight check` reads.
    reading: Readings,
    /// Bundle mode: each file's bytes as pushed (path, chunks), in first-push order.
    kept: Option<Vec<(String, Vec<Vec<u8>>)>>,
    /// The rejected rows of the last `bundle()` (with `dropInvalid`), when there are any.
    rejects: Option<Vec<u8>>,
    /// What the last `bundle()` wrote, as JSON.
    summary: Option<serde_json::Value>,
}

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The error of a call on a session after `finish()` or `bundle()`.
fn finished() -> JsError {
    js_err("this session is finished")
}

/// The session in `inner`, unless it was finished.
fn open(
    inner: &mut Option<validator_core::Session>,
) -> Result<&mut validator_core::Session, JsError> {
    inner.as_mut().ok_or_else(finished)
}

#[wasm_bindgen]
impl Session {
    /// `target`: a built-in target name, or a target-file object; `options`:
    /// `{maxPerCode, params}` (optional).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | TargetFile")] target: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SessionOptions")] options: JsValue,
    ) -> Result<Session, JsError> {
        let target = target_of(target)?;
        let options: JsOptions = parse_json(&options, "options")?;
        let mut core_options = validator_core::Options::default();
        if let Some(n) = options.max_per_code {
            core_options.max_findings_per_code = n;
        }
        if let Some(p) = options.params {
            core_options.params = p;
        }
        if let Some(n) = options.max_record_bytes {
            core_options.max_record_bytes = n;
        }
        if let Some(n) = options.max_columns {
            core_options.max_columns = n;
        }
        // Every rejected row's number is needed only to write a bundle without them. A check
        // alone keeps none, as `preflight check` does: the memory of a delta upload then grows
        // with the distinct values it references, not with its rows (the report is the same).
        let bundle = options.bundle.unwrap_or(false);
        core_options.row_verdicts = bundle;
        let inner = validator_core::Session::with_options(target, core_options).map_err(js_err)?;
        Ok(Session {
            inner: Some(inner),
            reading: Readings::default(),
            kept: bundle.then(Vec::new),
            rejects: None,
            summary: None,
        })
    }

    /// The session, once every byte pushed has been checked.
    fn checked(&mut self) -> Result<&mut validator_core::Session, JsError> {
        let s = open(&mut self.inner)?;
        self.reading.check(s).map_err(js_err)?;
        Ok(s)
    }

    /// The session with every file ended (those not ended by `finishFile`, in the order
    /// they were first pushed, as the core ends them), taken: for `finish()`, `bundle()`.
    fn take_finished(&mut self) -> Result<validator_core::Session, JsError> {
        let mut s = self.inner.take().ok_or_else(finished)?;
        self.reading.finish_all(&mut s).map_err(js_err)?;
        Ok(s)
    }

    /// Feeds the next chunk of the file at `path`.
    pub fn push(
        &mut self,
        path: &str,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] chunk: &[u8],
    ) -> Result<(), JsError> {
        let s = open(&mut self.inner)?;
        // Past a record over a limit, nothing more of the file is read, nor kept.
        let wanted = self.reading.push(s, path, chunk).map_err(js_err)?;
        if wanted && let Some(kept) = &mut self.kept {
            keep(kept, path, chunk);
        }
        Ok(())
    }

    /// Says that the file at `path` will be about `bytes` long (a `File`'s `size`, a ZIP
    /// entry's uncompressed size), before or while it is pushed: the session then sizes
    /// the tables its rows fill once, instead of rebuilding them larger as they fill. Only
    /// a hint: a wrong one costs time or memory, never a different report.
    #[wasm_bindgen(js_name = sizeHint)]
    pub fn size_hint(&mut self, path: &str, bytes: f64) -> Result<(), JsError> {
        // `as` saturates: NaN and negatives are 0, huge values u64::MAX.
        open(&mut self.inner)?.size_hint(path, bytes as u64);
        Ok(())
    }

    /// Whether the file at `path` still needs bytes: false once a record of it went over
    /// a limit (`maxRecordBytes`, `maxColumns`); a host then stops reading that file.
    pub fn wants(&mut self, path: &str) -> Result<bool, JsError> {
        let s = self.inner.as_ref().ok_or_else(finished)?;
        Ok(self.reading.wants(s, path))
    }

    /// `[bytes, ids]`: the heap bytes of the cross-file index (ids, their rows, pending
    /// references) and the distinct ids in it, before `finish()`. For benches (what an id
    /// costs in wasm), so not in the TypeScript types.
    #[wasm_bindgen(js_name = indexHeap, skip_typescript)]
    pub fn index_heap(&mut self) -> Result<Vec<f64>, JsError> {
        let (bytes, ids) = self.checked()?.index_heap();
        Ok(vec![bytes as f64, ids as f64])
    }

    /// Ends the file at `path`.
    #[wasm_bindgen(js_name = finishFile)]
    pub fn finish_file(&mut self, path: &str) -> Result<(), JsError> {
        let s = open(&mut self.inner)?;
        self.reading.finish_file(s, path).map_err(js_err)
    }

    /// The target's name, e.g. `"canvas"`.
    #[wasm_bindgen(getter, js_name = targetName)]
    pub fn target_name(&mut self) -> Result<String, JsError> {
        Ok(open(&mut self.inner)?.target().name.clone())
    }

    /// The target's file kinds, in its detection and processing order.
    pub fn kinds(&mut self) -> Result<Vec<String>, JsError> {
        Ok(open(&mut self.inner)?
            .target()
            .kinds
            .iter()
            .map(|k| k.name.clone())
            .collect())
    }

    /// The kind a file's first bytes (e.g. its first 64 KiB) would be detected as, or
    /// `undefined`. Hosts push files in the kinds' order, as the CLI does, so that fewer
    /// cross-file references wait for `finish()`; the report is the same in any order.
    #[wasm_bindgen(js_name = kindOfPrefix)]
    pub fn kind_of_prefix(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] prefix: &[u8],
    ) -> Result<Option<String>, JsError> {
        // The session's compiled target: no compile per file.
        Ok(open(&mut self.inner)?.checker().kind_of_prefix(prefix))
    }

    /// Checks one edited record (UTF-8, no line break) as data row `row`, starting on
    /// physical line `line`, of a file this session has read (at least its header): the
    /// rules that read only the row run, in the core, at the cost of one row; uniqueness
    /// and references need the bundle (check it again for them). Returns the row's
    /// findings, or `undefined` when the file was not read, has no kind, or `row` is the
    /// header. The session and its report are not changed.
    #[wasm_bindgen(js_name = recheckRow, unchecked_return_type = "Finding[] | undefined")]
    pub fn recheck_row(
        &mut self,
        path: &str,
        row: u32,
        line: u32,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] record: &[u8],
    ) -> Result<JsValue, JsError> {
        let found = self
            .checked()?
            .recheck_row(path, u64::from(row), u64::from(line), record)
            .map_err(js_err)?;
        match found {
            Some(f) => to_js(&f),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Records a file the platform skips because it is not a `.csv` (e.g. a `.txt` in a
    /// folder or ZIP), with the same warning the CLI gives.
    #[wasm_bindgen(js_name = skipFile)]
    pub fn skip_file(&mut self, path: &str) -> Result<(), JsError> {
        let s = self.checked()?;
        let target = s.target();
        let message = format!("not a .csv file; {} skips it", target.title());
        let platform_message = target.platform_messages.get("file.unknown_type").cloned();
        s.add_finding(validator_core::Finding {
            code: "file.unknown_type".into(),
            severity: validator_core::Severity::Warning,
            file: Some(path.to_owned()),
            row: None,
            line: None,
            column: None,
            column_number: None,
            value: None,
            message,
            platform_message,
        });
        Ok(())
    }

    /// Bytes pushed, rows checked and files started so far: `{bytes, rows, files}`. The
    /// rows of a file's last MiB pushed are counted once they are checked: at the latest
    /// when the next file is pushed or the file is finished.
    #[wasm_bindgen(unchecked_return_type = "Progress")]
    pub fn progress(&mut self) -> Result<JsValue, JsError> {
        let unchecked = self.reading.unchecked();
        let mut p = open(&mut self.inner)?.progress();
        p.bytes += unchecked;
        to_js(&p)
    }

    /// Ends the bundle and returns the report. The session cannot be used afterwards.
    #[wasm_bindgen(unchecked_return_type = "Report")]
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        let s = self.take_finished()?;
        to_js(&s.finish())
    }

    /// Ends the bundle and writes what the platform accepts (needs `{bundle: true}` at
    /// construction): a ZIP, entries in processing order with canonical names, or the single
    /// CSV of a one-file platform. `options`: `{dropInvalid, timestamp}`. Throws an `Error`
    /// listing why when the bundle is refused (errors without `dropInvalid`). The session
    /// cannot be used afterwards, except for `rejectsCsv()` and `bundleSummary()`.
    #[wasm_bindgen(unchecked_return_type = "Uint8Array")]
    pub fn bundle(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "BundleOptions")] options: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        use validator_core::bundle::{BundleOptions, Bundler, plan};
        use validator_core::schema::BundleFormat;
        let options: JsBundleOptions = if options.is_undefined() || options.is_null() {
            JsBundleOptions::default()
        } else {
            let text = js_sys::JSON::stringify(&options)
                .map_err(|_| js_err("bundle options must be an object"))?
                .as_string()
                .unwrap_or_default();
            serde_json::from_str(&text)
                .map_err(|e| js_err(format!("invalid bundle options: {e}")))?
        };
        let timestamp = match &options.timestamp {
            None => validator_core::bundle::Timestamp::default(),
            Some(t) => validator_core::bundle::Timestamp::parse(t).ok_or_else(|| {
                js_err(format!(
                    "timestamp '{t}' is not YYYY-MM-DDTHH:MM:SS between 1980 and 2107"
                ))
            })?,
        };
        if self.inner.is_none() {
            return Err(finished());
        }
        let Some(kept) = self.kept.take() else {
            return Err(js_err(
                "bundle() needs the pushed bytes: create the session with {bundle: true}",
            ));
        };
        let s = self.take_finished()?;
        let drop_invalid = options.drop_invalid.unwrap_or(false);
        let target = s.target().clone();
        let (report, verdicts) = s.finish_with_verdicts();
        let plan = plan(&target, &report, &verdicts, drop_invalid);
        if !plan.blocking.is_empty() {
            let mut msg = format!(
                "bundle refused ({} errors; nothing written):",
                report.summary.errors
            );
            for why in &plan.blocking {
                msg.push_str("\n  - ");
                msg.push_str(why);
            }
            return Err(js_err(msg));
        }
        if target.bundle.format == BundleFormat::Csv
            && plan.entries.iter().all(|e| e.rejected.is_some())
        {
            return Err(js_err("nothing to bundle: no valid file"));
        }
        let bundle_options = BundleOptions {
            drop_invalid,
            timestamp,
        };
        let rejects = drop_invalid.then(Vec::new);
        let mut bundler = Bundler::new(
            &target,
            &plan,
            &report,
            &verdicts,
            bundle_options,
            Vec::new(),
            rejects,
        )
        .map_err(js_err)?;
        for entry in &plan.entries {
            let Some((_, chunks)) = kept.iter().find(|(p, _)| *p == entry.source) else {
                continue;
            };
            bundler.begin(&entry.source).map_err(js_err)?;
            for chunk in chunks {
                bundler.push(chunk).map_err(js_err)?;
            }
            bundler.end().map_err(js_err)?;
        }
        drop(kept);
        let (bytes, rejects, summary) = bundler.finish().map_err(js_err)?;
        self.rejects = rejects.filter(|_| summary.rejected > 0);
        self.summary = Some(serde_json::json!({
            "format": match target.bundle.format {
                BundleFormat::Zip => "zip",
                BundleFormat::Csv => "csv",
            },
            "entries": summary.entries.iter().map(|e| serde_json::json!({
                "name": e.name, "source": e.source, "rows": e.rows, "rejected": e.rejected,
            })).collect::<Vec<_>>(),
            "changes": summary.changes,
            "rejected": summary.rejected,
        }));
        Ok(bytes)
    }

    /// The rejected rows of the last `bundle({dropInvalid: true})` as Excel-safe CSV (the
    /// CLI's `<OUT stem>.rejected.csv`), or `undefined` when no row was rejected.
    #[wasm_bindgen(js_name = rejectsCsv)]
    pub fn rejects_csv(&self) -> Option<String> {
        self.rejects
            .as_ref()
            .map(|r| String::from_utf8_lossy(r).into_owned())
    }

    /// What the last `bundle()` wrote and changed, or `undefined` before it.
    #[wasm_bindgen(js_name = bundleSummary, unchecked_return_type = "BundleSummary | undefined")]
    pub fn bundle_summary(&self) -> Result<JsValue, JsError> {
        match &self.summary {
            Some(v) => to_js(v),
            None => Ok(JsValue::UNDEFINED),
        }
    }
}

/// Appends a pushed chunk to the file's kept bytes, coalescing small chunks.
fn keep(kept: &mut Vec<(String, Vec<Vec<u8>>)>, path: &str, chunk: &[u8]) {
    let i = match kept.iter().rposition(|(p, _)| p == path) {
        Some(i) => i,
        None => {
            kept.push((path.to_owned(), Vec::new()));
            kept.len() - 1
        }
    };
    let chunks = &mut kept[i].1;
    match chunks.last_mut() {
        Some(last) if last.len() + chunk.len() <= KEEP_CHUNK => last.extend_from_slice(chunk),
        _ => chunks.push(chunk.to_vec()),
    }
}

/// A built-in target by name, or a target-file object.
pub(crate) fn target_of(target: JsValue) -> Result<validator_core::Target, JsError> {
    if let Some(name) = target.as_string() {
        return validator_core::targets::builtin(&name)
            .ok_or_else(|| js_err(validator_core::Error::UnknownTarget(name)));
    }
    let text = js_sys::JSON::stringify(&target)
        .map_err(|_| js_err("target must be a name or a target-file object"))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| js_err(format!("invalid target file: {e}")))
}

/// An optional options object (`undefined`/`null`: the defaults).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned + Default>(
    v: &JsValue,
    what: &str,
) -> Result<T, JsError> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    let text = js_sys::JSON::stringify(v)
        .map_err(|_| js_err(format!("{what} must be an object")))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| js_err(format!("invalid {what}: {e}")))
}

pub(crate) fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(v).map_err(js_err)?;
    js_sys::JSON::parse(&text).map_err(|_| js_err("report is not valid JSON"))
}

/// Names of the built-in targets.
#[wasm_bindgen]
pub fn targets() -> Vec<String> {
    validator_core::targets::NAMES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// A target file's text as the target-file object `new Session()` takes: a Preflight target
/// in JSON (e.g. from `preflight target from-watershed`) or TOML (e.g. an Encoura layout),
/// or a Frictionless Table Schema / Data Package (imported as `preflight --target-file`
/// imports it). Throws an `Error` saying what is wrong, also for a target that does not
/// compile.
#[wasm_bindgen(js_name = targetFromText, unchecked_return_type = "TargetFile")]
pub fn target_from_text(text: &str) -> Result<JsValue, JsError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let target: validator_core::Target = if text.trim_start().starts_with('{') {
        if validator_core::import::is_table_schema(text) {
            validator_core::import::table_schema(text)
                .map_err(|e| js_err(format!("invalid Table Schema: {e}")))?
                .target
        } else {
            serde_json::from_str(text).map_err(|e| js_err(format!("invalid target file: {e}")))?
        }
    } else {
        // Through a JSON value: the Target deserializer is then instantiated once (for
        // serde_json), not again for toml, which keeps the .wasm smaller.
        let value: serde_json::Value =
            toml::from_str(text).map_err(|e| js_err(format!("invalid target file (TOML): {e}")))?;
        serde_json::from_value(value).map_err(|e| js_err(format!("invalid target file: {e}")))?
    };
    validator_core::Session::new(target.clone()).map_err(js_err)?;
    to_js(&target)
}
