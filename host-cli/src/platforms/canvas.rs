//! Canvas LMS SIS imports (seed 003, formats.md §1.6), with `Authorization: Bearer <token>`
//! on every call.
//!
//! 1. `POST {base}/api/v1/accounts/{account_id}/sis_imports.json?import_type=instructure_csv
//!    [&batch_mode=…&batch_mode_term_id=…&override_sis_stickiness=…&change_threshold=…]`,
//!    `multipart/form-data` with the bundle in part `attachment` (application/zip) →
//!    the SisImport object; its `id` is the import id (`workflow_state` created).
//!    The options are the profile's `[profiles.NAME.options]` table, checked here with the
//!    rules Canvas's controller applies (so a bad combination fails before the upload).
//! 2. `GET {base}/api/v1/accounts/{account_id}/sis_imports/{id}` → `workflow_state`
//!    (initializing, created → queued; importing, cleanup_batch, restoring → running;
//!    imported → succeeded; imported_with_messages → succeeded when Canvas counts no
//!    errors, else failed (rows were skipped); aborted, failed, failed_with_messages,
//!    partially_restored, restored → failed), `progress`, `processing_errors`,
//!    `processing_warnings` (each capped at 24 entries by Canvas).
//! 3. When the import ended with messages: `GET …/sis_imports/{id}/sis_import_errors?per_page=100`
//!    (following `Link: <…>; rel="next"`), items `{file, message, row}` with the row
//!    counted from the header = 1: every message with its row, not just the first 24. An item
//!    is an error when its `[file, message]` is among `processing_errors`, else a warning.
//!
//! `imports list`: `GET …/sis_imports?per_page=100`; `imports abort ID`:
//! `PUT …/sis_imports/{id}/abort`. A lost upload answer is recovered from the list: the one
//! import created since the upload started whose attachment has the same name and size.

use serde::Deserialize;
use serde_json::Value;
use validator_core::Severity;

use super::{Listed, Phase, Platform, Problem, Status, Upload, base_url};
use crate::config::Loaded;
use crate::error::{Error, Failure};
use crate::http::{Body, Http, Request, Response, encode, origin};
use crate::multipart::Form;
use crate::secrets::Secret;

/// Import options Canvas takes with an upload, and what each value must be.
const OPTIONS: &[(&str, Kind)] = &[
    ("batch_mode", Kind::Bool),
    ("batch_mode_term_id", Kind::Text),
    ("multi_term_batch_mode", Kind::Bool),
    ("skip_deletes", Kind::Bool),
    ("override_sis_stickiness", Kind::Bool),
    ("add_sis_stickiness", Kind::Bool),
    ("clear_sis_stickiness", Kind::Bool),
    ("update_sis_id_if_login_claimed", Kind::Bool),
    ("diffing_data_set_identifier", Kind::Text),
    ("diffing_remaster_data_set", Kind::Bool),
    (
        "diffing_drop_status",
        Kind::OneOf(&["deleted", "completed", "inactive"]),
    ),
    (
        "diffing_user_remove_status",
        Kind::OneOf(&["deleted", "suspended"]),
    ),
    (
        "batch_mode_enrollment_drop_status",
        Kind::OneOf(&["deleted", "completed", "inactive"]),
    ),
    ("change_threshold", Kind::Percent),
    ("diff_row_count_threshold", Kind::Count),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    Text,
    OneOf(&'static [&'static str]),
    Percent,
    Count,
}

/// The Canvas flow.
#[derive(Debug)]
pub struct Canvas {
    http: Http,
    base: String,
    account: String,
    token: Secret,
    options: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub(super) struct SisImport {
    id: Value,
    #[serde(default)]
    workflow_state: String,
    #[serde(default)]
    progress: Option<f64>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    processing_errors: Option<Vec<Vec<String>>>,
    #[serde(default)]
    processing_warnings: Option<Vec<Vec<String>>>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    csv_attachments: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct ImportError {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    row: Option<u64>,
}

impl Canvas {
    /// From a profile: `base_url` (the institution's Canvas host: required), `token_env`,
    /// `account_id` (default `self`), `options`.
    pub fn new(profile: &Loaded, http: Http) -> Result<Canvas, Error> {
        let p = &profile.profile;
        let base = profile.need("base_url", &p.base_url)?;
        let options = check_options(profile)?;
        Ok(Canvas {
            http,
            base: base_url(profile, base),
            account: p.account_id.clone().unwrap_or_else(|| "self".into()),
            token: profile.secret("token_env", &p.token_env)?,
            options,
        })
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/api/v1/accounts/{}/sis_imports{rest}",
            self.base,
            encode(&self.account)
        )
    }

    fn send(&self, req: Request) -> Result<Response, Error> {
        let resp = self.http.send(&req.bearer(&self.token))?;
        if resp.ok() {
            return Ok(resp);
        }
        // Canvas's messages ("Invalid access token.", "SIS imports can only be executed on
        // root accounts") say what is wrong better than the status alone.
        let reason = resp
            .json::<Value>()
            .ok()
            .and_then(|v| canvas_message(&v))
            .unwrap_or_else(|| crate::http::snippet(&resp.body));
        Err(Error::Http {
            what: match resp.error() {
                Error::Http { what, .. } => what,
                other => other.to_string(),
            },
            failure: Failure::Status(resp.status),
            reason: format!("HTTP {}: {reason}", resp.status),
        })
    }

    fn get(&self, id: &str) -> Result<SisImport, Error> {
        self.send(Request::get(self.url(&format!("/{}", encode(id)))).what("status request"))?
            .json()
    }

    /// Every `sis_import_errors` item, following the `Link` header's `next`.
    fn errors(&self, id: &str) -> Result<Vec<ImportError>, Error> {
        let mut url = self.url(&format!("/{}/sis_import_errors", encode(id)));
        let mut req = Request::get(url.clone()).query("per_page", "100");
        let mut all = Vec::new();
        // A server that keeps answering "next" must not keep us here forever.
        for _ in 0..1000 {
            let resp = self.send(req.what("errors request"))?;
            let v: Value = resp.json()?;
            let items = match v {
                Value::Array(items) => items,
                Value::Object(mut m) => match m.remove("sis_import_errors") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            for item in items {
                if let Ok(e) = serde_json::from_value::<ImportError>(item) {
                    all.push(e);
                }
            }
            let next = resp
                .header("link")
                .and_then(next_link)
                .map(|n| crate::http::resolve(&url, &n).unwrap_or(n));
            match next {
                Some(next) if next != url => {
                    // The token goes to base_url's origin only, whatever the header names.
                    let (to, home) = (origin(&next), origin(&self.base));
                    if to.is_none() || to != home {
                        return Err(Error::Http {
                            what: "errors request".into(),
                            failure: Failure::BadResponse,
                            reason: format!(
                                "Canvas's `Link: rel=\"next\"` points to {}, not to {}; not followed (the token is only sent to base_url's origin)",
                                to.as_deref().unwrap_or("an unusable URL"),
                                home.as_deref().unwrap_or("?")
                            ),
                        });
                    }
                    url = next.clone();
                    req = Request::get(next);
                }
                _ => return Ok(all),
            }
        }
        Ok(all)
    }

    /// Every message of a finished import, with its severity: an item is an error when its
    /// `[file, message]` is among `processing_errors`, a warning when among
    /// `processing_warnings`; past Canvas's 24-entry cap of those lists, the counts decide
    /// (all errors when no warnings are left to place, and the other way round; an error
    /// when both are, the safer reading).
    fn problems(&self, id: &str, i: &SisImport) -> Result<Vec<Problem>, Error> {
        let errors = i.processing_errors.clone().unwrap_or_default();
        let warnings = i.processing_warnings.clone().unwrap_or_default();
        let listed = |list: &[Vec<String>], file: &Option<String>, msg: &str| {
            list.iter().any(|e| {
                e.get(1).is_some_and(|m| m == msg)
                    && file
                        .as_deref()
                        .is_none_or(|f| e.first().is_some_and(|x| x == f))
            })
        };
        let count = |key: &str| {
            i.data
                .as_ref()
                .and_then(|d| d.pointer(&format!("/counts/{key}")))
                .and_then(Value::as_u64)
        };
        let items = self.errors(id)?;
        if items.is_empty() {
            // No errors endpoint data: the (capped) lists on the import are all there is.
            let mut out = Vec::new();
            for (list, severity) in [(&errors, Severity::Error), (&warnings, Severity::Warning)] {
                for pair in list {
                    out.push(Problem {
                        file: pair.first().filter(|f| !f.is_empty()).cloned(),
                        row: None,
                        severity,
                        message: pair.get(1).cloned().unwrap_or_default(),
                    });
                }
            }
            return Ok(out);
        }
        let mut known: Vec<Option<Severity>> = items
            .iter()
            .map(|e| {
                if listed(&errors, &e.file, &e.message) {
                    Some(Severity::Error)
                } else if listed(&warnings, &e.file, &e.message) {
                    Some(Severity::Warning)
                } else {
                    None
                }
            })
            .collect();
        let placed = |s: Severity, k: &[Option<Severity>]| {
            k.iter().filter(|x| **x == Some(s)).count() as u64
        };
        let errors_left =
            count("error_count").map(|n| n.saturating_sub(placed(Severity::Error, &known)));
        let warnings_left =
            count("warning_count").map(|n| n.saturating_sub(placed(Severity::Warning, &known)));
        let rest = match (errors_left, warnings_left) {
            (Some(0), Some(w)) if w > 0 => Severity::Warning,
            _ => Severity::Error,
        };
        for k in &mut known {
            k.get_or_insert(rest);
        }
        Ok(items
            .into_iter()
            .zip(known)
            .map(|(e, severity)| Problem {
                file: e.file.filter(|f| !f.is_empty()),
                row: e.row,
                severity: severity.unwrap_or(rest),
                message: e.message,
            })
            .collect())
    }

    /// Lists imports (`GET …/sis_imports`), newest first as Canvas returns them.
    pub fn list(&mut self) -> Result<Vec<Listed>, Error> {
        Ok(self
            .list_raw()?
            .into_iter()
            .map(|i| Listed {
                id: super::id_string(&i.id).unwrap_or_default(),
                state: i.workflow_state.clone(),
                created: i.created_at.clone().unwrap_or_default(),
                file: attachment(&i).map(|(n, _)| n).unwrap_or_default(),
            })
            .collect())
    }

    fn list_raw(&self) -> Result<Vec<SisImport>, Error> {
        let v: Value = self
            .send(
                Request::get(self.url(""))
                    .query("per_page", "100")
                    .what("list request"),
            )?
            .json()?;
        let items = match v {
            Value::Object(mut m) => match m.remove("sis_imports") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
            Value::Array(a) => a,
            _ => Vec::new(),
        };
        Ok(items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect())
    }

    /// Aborts an import (`PUT …/sis_imports/{id}/abort`) and returns its new status.
    pub fn abort(&mut self, id: &str) -> Result<Status, Error> {
        let i: SisImport = self
            .send(Request::put(self.url(&format!("/{}/abort", encode(id)))).what("abort request"))?
            .json()?;
        Ok(status_of(id, &i, Vec::new()))
    }
}

impl Platform for Canvas {
    fn submit(&mut self, upload: &Upload) -> Result<String, Error> {
        let form = Form::new().file(
            "attachment",
            upload.path.clone(),
            &upload.file_name,
            "application/zip",
        );
        let mut req = Request::post(self.url(".json"))
            .query("import_type", "instructure_csv")
            .what("upload")
            .long()
            .body(Body::Multipart(form));
        for (k, v) in &self.options {
            req = req.query(k, v);
        }
        let created: SisImport = self.send(req)?.json()?;
        super::id_string(&created.id)
            .ok_or_else(|| Error::Platform("Canvas answered the upload without an id".into()))
    }

    fn status(&mut self, id: &str) -> Result<Status, Error> {
        let i = self.get(id)?;
        let mut problems = Vec::new();
        let with_messages = i.workflow_state.ends_with("_with_messages");
        if with_messages {
            problems = self.problems(id, &i)?;
        }
        Ok(status_of(id, &i, problems))
    }

    fn recover(&mut self, upload: &Upload, since: u64) -> Result<Option<String>, Error> {
        let since = iso(since);
        let candidates: Vec<SisImport> = self
            .list_raw()?
            .into_iter()
            .filter(|i| {
                i.created_at
                    .as_deref()
                    .is_some_and(|c| c.ends_with('Z') && c >= since.as_str())
            })
            .filter(|i| {
                attachment(i).is_none_or(|(name, size)| {
                    name == upload.file_name && size.is_none_or(|s| s == upload.bytes)
                })
            })
            .collect();
        // Two candidates cannot be told apart: a person must decide.
        Ok(match candidates.as_slice() {
            [one] => super::id_string(&one.id),
            _ => None,
        })
    }

    fn can_recover(&self) -> bool {
        true
    }

    fn describe(&self, upload: &Upload) -> Vec<String> {
        let mut q = String::from("?import_type=instructure_csv");
        for (k, v) in &self.options {
            q.push_str(&format!("&{}={}", encode(k), encode(v)));
        }
        vec![
            format!(
                "POST {}{q} (multipart: attachment={}, {} bytes; Authorization: Bearer)",
                self.url(".json"),
                upload.file_name,
                upload.bytes
            ),
            format!("GET {} (Authorization: Bearer)", self.url("/{id}")),
            format!(
                "GET {}?per_page=100 when it ends with messages (Authorization: Bearer)",
                self.url("/{id}/sis_import_errors")
            ),
        ]
    }
}

pub(super) fn status_of(id: &str, i: &SisImport, problems: Vec<Problem>) -> Status {
    let errors = i
        .data
        .as_ref()
        .and_then(|d| d.pointer("/counts/error_count"))
        .and_then(Value::as_u64)
        .unwrap_or_else(|| i.processing_errors.as_ref().map_or(0, |e| e.len() as u64));
    let phase = match i.workflow_state.as_str() {
        "initializing" | "created" => Phase::Queued,
        "importing" | "cleanup_batch" | "restoring" => Phase::Running,
        "imported" => Phase::Succeeded,
        "imported_with_messages" if errors == 0 => Phase::Succeeded,
        _ => Phase::Failed,
    };
    let message = match (phase, i.workflow_state.as_str()) {
        (Phase::Failed, "imported_with_messages") => Some(format!(
            "imported, but Canvas skipped what {errors} error(s) point at"
        )),
        (Phase::Failed, "aborted") => Some("the import was aborted".into()),
        _ => None,
    };
    Status {
        id: id.to_owned(),
        state: i.workflow_state.clone(),
        phase,
        progress: i.progress,
        message,
        problems,
    }
}

/// The first CSV attachment's name and size, when the import lists them.
pub(super) fn attachment(i: &SisImport) -> Option<(String, Option<u64>)> {
    let a = i.csv_attachments.as_ref()?.first()?;
    let name = a
        .get("display_name")
        .or_else(|| a.get("filename"))
        .and_then(Value::as_str)?
        .to_owned();
    Some((name, a.get("size").and_then(Value::as_u64)))
}

/// Canvas's error text: `{"errors": [{"message": …}]}`, `{"message": …}` or `{"error": …}`.
pub(super) fn canvas_message(v: &Value) -> Option<String> {
    if let Some(Value::Array(errors)) = v.get("errors") {
        let msgs: Vec<&str> = errors
            .iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .collect();
        if !msgs.is_empty() {
            return Some(msgs.join("; "));
        }
    }
    v.get("message")
        .or_else(|| v.get("error"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The `rel="next"` URL of a `Link` header.
pub(super) fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().trim_matches(' ') == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
pub fn iso(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = crate::bundle::from_unix_full(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The profile's `options` as query pairs, checked as Canvas's controller checks them.
pub(crate) fn check_options(profile: &Loaded) -> Result<Vec<(String, String)>, Error> {
    let opts = &profile.profile.options;
    let mut out = Vec::new();
    for (key, value) in opts {
        let Some((_, kind)) = OPTIONS.iter().find(|(k, _)| k == key) else {
            return Err(profile.bad(format!(
                "unknown Canvas import option `{key}` (known: {})",
                OPTIONS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => other.to_string(),
        };
        let bad = |want: &str| profile.bad(format!("option `{key}` = {value}: expected {want}"));
        match kind {
            Kind::Bool if !matches!(value, toml::Value::Boolean(_)) => {
                return Err(bad("true or false"));
            }
            Kind::OneOf(allowed) if !allowed.contains(&text.as_str()) => {
                return Err(bad(&format!("one of {}", allowed.join(", "))));
            }
            Kind::Percent if !matches!(value, toml::Value::Integer(1..=100)) => {
                return Err(bad("a whole percentage from 1 to 100"));
            }
            Kind::Count if !matches!(value, toml::Value::Integer(0..)) => {
                return Err(bad("a whole number"));
            }
            Kind::Text if key == "diffing_data_set_identifier" && text.len() > 128 => {
                return Err(bad("at most 128 bytes"));
            }
            _ => {}
        }
        out.push((key.clone(), text));
    }
    let on = |k: &str| matches!(opts.get(k), Some(toml::Value::Boolean(true)));
    let has = |k: &str| opts.contains_key(k);
    if on("batch_mode") && !has("batch_mode_term_id") && !on("multi_term_batch_mode") {
        return Err(profile.bad(
            "option `batch_mode` needs `batch_mode_term_id` (or `multi_term_batch_mode`): Canvas deletes what the upload lacks in that term".into(),
        ));
    }
    if on("multi_term_batch_mode") && !has("change_threshold") {
        return Err(profile.bad(
            "change_threshold is required to use multi term_batch mode (Canvas's own rule)".into(),
        ));
    }
    if on("batch_mode") && has("diffing_data_set_identifier") {
        return Err(profile.bad(
            "options `batch_mode` and `diffing_data_set_identifier` cannot be combined".into(),
        ));
    }
    if (has("add_sis_stickiness") || has("clear_sis_stickiness")) && !on("override_sis_stickiness")
    {
        return Err(profile.bad(
            "`add_sis_stickiness` / `clear_sis_stickiness` are only honoured with `override_sis_stickiness = true`".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links() {
        let l =
            "<http://h/a?page=2&per_page=100>; rel=\"next\", <http://h/a?page=1>; rel=\"first\"";
        assert_eq!(
            next_link(l).as_deref(),
            Some("http://h/a?page=2&per_page=100")
        );
        assert_eq!(next_link("<http://h/a?page=1>; rel=\"first\""), None);
        assert_eq!(iso(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
