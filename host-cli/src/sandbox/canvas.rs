//! Emulated Canvas SIS imports API (seed 003, formats.md §1.6), Bearer token on every call.
//!
//! - `POST /api/v1/accounts/{self|1}/sis_imports(.json)`: multipart with part `attachment`
//!   (a ZIP or one CSV); options from the query or form fields, refused as Canvas's
//!   controller refuses them (`Missing attachment`, `SIS imports can only be executed on
//!   root accounts`, `change_threshold is required to use multi term_batch mode.`,
//!   `Invalid diffing_drop_status`, unknown `batch_mode_term_id`). → SisImport, `created`.
//! - `GET …/sis_imports/{id}`: created → importing (progress rising) over `steps` calls →
//!   imported / imported_with_messages / failed_with_messages, decided by the core's
//!   findings on the upload (errors and warnings become `processing_errors` /
//!   `processing_warnings`, each capped at 24 plus `and N more … that were not included`;
//!   a file-level error is a failure, as in `sis_batch.rb`).
//! - `GET …/sis_imports/{id}/sis_import_errors?per_page&page`: every message with its row,
//!   paginated with a `Link` header. `GET …/sis_imports`: `{"sis_imports": […]}`, newest
//!   first. `PUT …/sis_imports/{id}/abort`: aborted unless already finished.

use serde_json::{Value, json};
use validator_core::{Finding, Severity};

use super::{Ctx, Emulator, Req, Resp, unzip};

/// The cap Canvas puts on `processing_errors` / `processing_warnings`.
const CAP: usize = 24;

#[derive(Debug)]
struct Import {
    id: u64,
    created_at: String,
    polls: u32,
    aborted: bool,
    attachment: (String, u64),
    errors: Vec<(String, String, Option<u64>)>,
    warnings: Vec<(String, String, Option<u64>)>,
    failure: bool,
    options: Vec<(String, String)>,
    batches: Vec<String>,
}

/// The emulator's state.
#[derive(Debug, Default)]
pub struct Canvas {
    imports: Vec<Import>,
}

fn error(status: u16, message: &str) -> Resp {
    Resp::json(status, &json!({"errors": [{"message": message}]}))
}

fn now_iso() -> String {
    crate::platforms::canvas::iso(crate::journal::now())
}

impl Canvas {
    fn create(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let parts = req.multipart().unwrap_or_default();
        let Some(att) = parts.iter().find(|p| p.name == "attachment") else {
            return error(400, "Missing attachment");
        };
        // Options: query string, then non-file form fields (Rails merges both).
        let mut options: Vec<(String, String)> = req.query.clone();
        for p in &parts {
            if p.file_name.is_none() {
                options.push((
                    p.name.clone(),
                    String::from_utf8_lossy(&p.data).into_owned(),
                ));
            }
        }
        let opt = |k: &str| {
            options
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        let truthy = |k: &str| matches!(opt(k), Some("true" | "1"));
        if let Some(t) = opt("import_type")
            && t != "instructure_csv"
        {
            return error(400, &format!("Unsupported import_type {t}"));
        }
        if truthy("multi_term_batch_mode") && opt("change_threshold").is_none() {
            return error(
                400,
                "change_threshold is required to use multi term_batch mode.",
            );
        }
        if let Some(s) = opt("diffing_drop_status")
            && !["deleted", "completed", "inactive"].contains(&s)
        {
            return error(400, "Invalid diffing_drop_status");
        }
        let name = att.file_name.clone().unwrap_or_else(|| "upload".into());
        let files = if att.data.starts_with(b"PK") {
            match unzip(&att.data) {
                Ok(f) => f,
                Err(why) => return error(400, &format!("Invalid or corrupt zip file ({why})")),
            }
        } else {
            vec![(name.clone(), att.data.clone())]
        };
        if truthy("batch_mode") && !truthy("multi_term_batch_mode") {
            let term = opt("batch_mode_term_id").unwrap_or("");
            if !term_known(term, &files) {
                return error(
                    400,
                    "Batch mode specified, but the given batch_mode_term_id cannot be found.",
                );
            }
        }
        let report = ctx.check(&files);
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut failure = false;
        let mut batches = Vec::new();
        for f in &report.files {
            if let Some(k) = &f.kind {
                batches.push(k.clone());
            }
            for x in &f.findings {
                let entry = (f.path.clone(), canvas_text(x), x.row);
                match x.severity {
                    Severity::Error => {
                        failure |= x.row.is_none();
                        errors.push(entry);
                    }
                    Severity::Warning => warnings.push(entry),
                    Severity::Info => {}
                }
            }
        }
        for x in &report.findings {
            if x.severity == Severity::Error {
                failure = true;
                errors.push((x.file.clone().unwrap_or_default(), canvas_text(x), x.row));
            }
        }
        let id = 6_670_997 + self.imports.len() as u64;
        self.imports.push(Import {
            id,
            created_at: now_iso(),
            polls: 0,
            aborted: false,
            attachment: (name, att.data.len() as u64),
            errors,
            warnings,
            failure,
            options,
            batches,
        });
        let i = self.imports.last().map(|i| object(i, ctx));
        Resp::json(200, &i.unwrap_or(Value::Null))
    }

    fn find(&mut self, id: &str) -> Option<&mut Import> {
        self.imports.iter_mut().find(|i| i.id.to_string() == id)
    }
}

/// Whether a batch-mode term exists: defined in the upload's terms, or given as Canvas's
/// `sis_term_id:` form (an existing term the sandbox takes on trust).
fn term_known(term: &str, files: &[(String, Vec<u8>)]) -> bool {
    if term.is_empty() {
        return false;
    }
    if term.starts_with("sis_term_id:") || term.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    files.iter().any(|(_, bytes)| {
        let text = String::from_utf8_lossy(bytes);
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("");
        header.contains("term_id")
            && header.contains("status")
            && lines.any(|l| l.split(',').next() == Some(term))
    })
}

/// The text Canvas would show: its own wording when the target knows it.
fn canvas_text(f: &Finding) -> String {
    f.platform_message
        .clone()
        .unwrap_or_else(|| f.message.clone())
}

/// The workflow state after `polls` status calls.
fn state(i: &Import, steps: u32) -> (&'static str, u32) {
    if i.aborted {
        return ("aborted", 100);
    }
    if i.polls == 0 {
        return ("created", 0);
    }
    if i.polls < steps {
        return ("importing", 100 * i.polls / steps);
    }
    let state = if i.failure {
        "failed_with_messages"
    } else if !i.errors.is_empty() || !i.warnings.is_empty() {
        "imported_with_messages"
    } else {
        "imported"
    };
    (state, 100)
}

fn capped(list: &[(String, String, Option<u64>)], noun: &str) -> Value {
    let mut out: Vec<Value> = list
        .iter()
        .take(CAP)
        .map(|(f, m, _)| json!([f, m]))
        .collect();
    if list.len() > CAP {
        out.push(json!([
            "",
            format!(
                "and {} more {noun} that were not included",
                list.len() - CAP
            )
        ]));
    }
    Value::Array(out)
}

fn object(i: &Import, ctx: &Ctx<'_>) -> Value {
    let (state, progress) = state(i, ctx.steps);
    let done = progress == 100;
    let mut v = json!({
        "id": i.id,
        "created_at": i.created_at,
        "updated_at": i.created_at,
        "ended_at": if done { Value::String(i.created_at.clone()) } else { Value::Null },
        "workflow_state": state,
        "progress": progress,
        "data": {
            "import_type": "instructure_csv",
            "supplied_batches": i.batches,
            "counts": {
                "error_count": if done { i.errors.len() } else { 0 },
                "warning_count": if done { i.warnings.len() } else { 0 },
            },
        },
        "csv_attachments": [{"display_name": i.attachment.0, "size": i.attachment.1}],
        "processing_errors": if done { capped(&i.errors, "errors") } else { json!([]) },
        "processing_warnings": if done { capped(&i.warnings, "warnings") } else { json!([]) },
    });
    for (k, val) in &i.options {
        if k != "import_type" {
            v[k.as_str()] = Value::String(val.clone());
        }
    }
    v
}

impl Emulator for Canvas {
    fn handle(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        if !ctx.secret_ok(req.bearer()) {
            return error(401, "Invalid access token.");
        }
        let seg = req.segments();
        let [
            "api",
            "v1",
            "accounts",
            account,
            "sis_imports" | "sis_imports.json",
            rest @ ..,
        ] = seg.as_slice()
        else {
            return Resp::not_found();
        };
        if !matches!(*account, "self" | "1") {
            return error(400, "SIS imports can only be executed on root accounts");
        }
        match (req.method.as_str(), rest) {
            ("POST", []) => self.create(req, ctx),
            ("GET", []) => {
                let mut list: Vec<Value> = self.imports.iter().map(|i| object(i, ctx)).collect();
                list.reverse();
                Resp::json(200, &json!({"sis_imports": list}))
            }
            ("GET", [id]) => match self.find(id) {
                Some(i) => {
                    i.polls += 1;
                    let v = object(i, ctx);
                    Resp::json(200, &v)
                }
                None => error(404, "The specified resource does not exist."),
            },
            ("PUT", [id, "abort"]) => match self.find(id) {
                Some(i) => {
                    if state(i, ctx.steps).1 < 100 {
                        i.aborted = true;
                    }
                    let v = object(i, ctx);
                    Resp::json(200, &v)
                }
                None => error(404, "The specified resource does not exist."),
            },
            ("GET", [id, "sis_import_errors"]) => {
                let per_page: usize = req
                    .query("per_page")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(10)
                    .clamp(1, 100);
                let page: usize = req
                    .query("page")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1)
                    .max(1);
                let Some(i) = self.imports.iter().find(|i| i.id.to_string() == *id) else {
                    return error(404, "The specified resource does not exist.");
                };
                let all: Vec<Value> = i
                    .errors
                    .iter()
                    .chain(&i.warnings)
                    .map(|(f, m, r)| {
                        json!({"sis_import_id": i.id, "file": f, "message": m, "row": r})
                    })
                    .collect();
                let items: Vec<Value> = all
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .cloned()
                    .collect();
                let mut resp = Resp::json(200, &json!({"sis_import_errors": items}));
                if page * per_page < all.len() {
                    resp.headers.push((
                        "Link".into(),
                        format!(
                            "<{}{}?page={}&per_page={per_page}>; rel=\"next\"",
                            ctx.base,
                            req.path,
                            page + 1
                        ),
                    ));
                }
                resp
            }
            _ => Resp::not_found(),
        }
    }

    fn is_upload(&self, req: &Req) -> bool {
        req.method == "POST"
            && (req.path.ends_with("/sis_imports.json") || req.path.ends_with("/sis_imports"))
    }
}
