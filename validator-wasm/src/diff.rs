//! `Diff`: what an upload changes, for portals (`validator_core::diff` with the same push
//! protocol as `Session`, plus `endSide()`).

use wasm_bindgen::prelude::*;

use crate::{js_err, parse_json, target_of, to_js};

#[wasm_bindgen(typescript_custom_section)]
const TS_DIFF: &str = r#"
/** Which bundle `Diff` expects next. */
export type DiffSide = "old" | "new" | "old_again" | "done";

/** Settings of `new Diff()`. */
export interface DiffOptions {
  /** Changes listed per kind (the counts stay exact). Default 100, as the CLI. */
  maxChanges?: number;
  /** Names of the two bundles in the report. Default "old" and "new". */
  oldName?: string;
  newName?: string;
  /** Canvas: count what batch mode for this term (the files' `term_id`) would delete. */
  batchTerm?: string;
  /** Host parameters, as `SessionOptions.params`. */
  params?: Record<string, string>;
}

/** Counts of one kind. */
export interface DiffKind { kind: string; added: number; removed: number; changed: number; unchanged: number }

/** One listed change: `key` holds the identity columns; `old`/`new` the non-blank values. */
export interface DiffChange {
  kind: string;
  change: "added" | "removed" | "changed";
  key: Record<string, string>;
  columns: string[];
  old: Record<string, string>;
  new: Record<string, string>;
}

/** The result of `Diff.finish()`: the JSON of `preflight diff --format json`. */
export interface DiffReport {
  version: number;
  target: string;
  old: string;
  new: string;
  kinds: DiffKind[];
  changes: DiffChange[];
  /** With `batchTerm`: the old rows in the term and how many the new bundle drops. */
  scope?: Array<{ kind: string; in_scope: number; removed: number }>;
}
"#;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsDiffOptions {
    max_changes: Option<usize>,
    old_name: Option<String>,
    new_name: Option<String>,
    batch_term: Option<String>,
    params: Option<std::collections::BTreeMap<String, String>>,
}

/// Two bundles compared row by row. Push every file of the bundle `side` names, call
/// `endSide()`, and repeat until it returns `"done"`; then `finish()`. `"old_again"` asks
/// for the old bundle once more (for the values of the listed changes).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Diff {
    inner: Option<validator_core::diff::Diff>,
}

fn side_name(s: validator_core::diff::Side) -> &'static str {
    use validator_core::diff::Side;
    match s {
        Side::Old => "old",
        Side::New => "new",
        Side::OldAgain => "old_again",
        Side::Done => "done",
    }
}

#[wasm_bindgen]
impl Diff {
    /// `target`: a built-in name or a target-file object; `options`: `DiffOptions`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | TargetFile")] target: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "DiffOptions")] options: JsValue,
    ) -> Result<Diff, JsError> {
        let target = target_of(target)?;
        let o: JsDiffOptions = parse_json(&options, "options")?;
        let mut options = validator_core::diff::DiffOptions::default();
        if let Some(n) = o.max_changes {
            options.max_changes = n;
        }
        if let Some(n) = o.old_name {
            options.old_name = n;
        }
        if let Some(n) = o.new_name {
            options.new_name = n;
        }
        if let Some(p) = o.params {
            options.session.params = p;
        }
        if let Some(term) = o.batch_term {
            options.scope = Some(
                validator_core::targets::canvas_batch_scope(&target, &term).ok_or_else(|| {
                    js_err("batchTerm needs a Canvas target (courses, sections, enrollments)")
                })?,
            );
        }
        let inner = validator_core::diff::Diff::new(target, options).map_err(js_err)?;
        Ok(Diff { inner: Some(inner) })
    }

    fn diff(&mut self) -> Result<&mut validator_core::diff::Diff, JsError> {
        self.inner
            .as_mut()
            .ok_or_else(|| js_err("this diff is finished"))
    }

    /// The bundle to push now.
    #[wasm_bindgen(getter, unchecked_return_type = "DiffSide")]
    pub fn side(&self) -> String {
        self.inner
            .as_ref()
            .map_or("done", |d| side_name(d.side()))
            .to_owned()
    }

    /// Feeds the next chunk of the file at `path` of the current side's bundle.
    pub fn push(
        &mut self,
        path: &str,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] chunk: &[u8],
    ) -> Result<(), JsError> {
        self.diff()?.push(path, chunk).map_err(js_err)
    }

    /// Whether the file at `path` still needs bytes.
    pub fn wants(&self, path: &str) -> bool {
        self.inner.as_ref().is_some_and(|d| d.wants(path))
    }

    /// Ends the file at `path`.
    #[wasm_bindgen(js_name = finishFile)]
    pub fn finish_file(&mut self, path: &str) -> Result<(), JsError> {
        self.diff()?.finish_file(path).map_err(js_err)
    }

    /// Ends the current side; returns the next.
    #[wasm_bindgen(js_name = endSide, unchecked_return_type = "DiffSide")]
    pub fn end_side(&mut self) -> Result<String, JsError> {
        Ok(side_name(self.diff()?.end_side()).to_owned())
    }

    /// The report. The diff cannot be used afterwards.
    #[wasm_bindgen(unchecked_return_type = "DiffReport")]
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        let d = self
            .inner
            .take()
            .ok_or_else(|| js_err("this diff is finished"))?;
        to_js(&d.finish())
    }
}
