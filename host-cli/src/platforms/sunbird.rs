//! Sunbird-Lern bulk upload (seed 004; formats.md §3.1 and §3.6): one CSV per upload, sent
//! to the endpoint of its kind, then a status call per poll.
//!
//! Every call carries `Authorization: Bearer <API key>` (`token_env`) and
//! `X-Authenticated-User-Token: <user token>` (`user_token_env`). Both are fixed values: a
//! 401 is final (exit 2), with a hint on which key to check.
//!
//! 1. Upload, `multipart/form-data` (the server takes the first file part as the CSV,
//!    whatever its name; we use the documented names), CSV part `Content-Type: text/csv`:
//!    - user: `POST {base}/api/user/v1/upload`, the CSV in part `user`;
//!    - org: `POST {base}/api/org/v1/upload`, the CSV in part `org`;
//!    - location: `POST {base}/api/data/v1/bulk/location/upload`, the text field `type`
//!      (the location type: `--location-type` or the profile's `location_type`), then the
//!      CSV in part `csvFile`. Without a location type the upload is refused here and
//!      nothing is sent (the server would answer `Mandatory parameter type is missing.`).
//!
//!    → `{"responseCode": "OK", "result": {"processId": <integer>}}`. Process ids exceed
//!    2^53, so they are kept exactly as written (never through an `f64`). A bad header or
//!    file is refused synchronously: HTTP 400, `"responseCode": "CLIENT_ERROR"` with
//!    `params.err` (a code) and `params.errmsg` (the message), which is shown as it is.
//! 2. `GET {base}/api/data/v1/upload/status/{processId}`, with `Accept: application/json`
//!    and `Content-Type: application/json` (the seed lists both as required headers) →
//!    `result.response[0]` = `{processId, status, message, objectType, successResult[],
//!    failureResult[]}`:
//!    - `NOT STARTED` → queued. Sunbird also reports a process that failed while parsing
//!      as NOT STARTED (every internal state but "in progress" and "completed" reads so),
//!      which is why `submit --wait` gives up after the profile's `not_started_seconds`;
//!    - `IN PROGRESS` → running;
//!    - `COMPLETED` with an empty `failureResult` → succeeded; with failures → failed, one
//!      problem per failure row, its `err_msg` verbatim;
//!    - HTTP 404 (`RESOURCE_NOT_FOUND`) → an error naming the process id.
//!
//! **Locating failed rows.** A failure row echoes the row's data (keyed by Sunbird's
//! internal column names, e.g. `firstName` for a `NAME` header; e-mail and phone masked)
//! plus `err_msg`; it carries no row number, and `failureResult` lists failed rows only, so
//! its order alone cannot give a position. After a `submit`, the uploaded CSV is kept in
//! memory and each failure row is matched to the first not yet matched record of the file
//! whose cells agree with every echoed value (headers resolved to internal names through the
//! kind's aliases; masked values, and keys that are no column of the file, such as a
//! server-added `id`, are not compared; at least one value must agree). Identical rows are
//! thus matched in file order, which is the order Sunbird processes them in. A failure row
//! that matches no record (or any failure seen by `preflight status` alone, which has no
//! file) is reported without a row, its echoed data appended to the message.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use validator_core::Severity;

use super::{Phase, Platform, Problem, Status, Upload, base_url};
use crate::config::Loaded;
use crate::error::{Error, Failure};
use crate::http::{Body, Http, Request, Response};
use crate::multipart::Form;
use crate::secrets::Secret;

/// The documented host (the seed's examples).
pub const API: &str = "https://staging.open-sunbird.org";

/// The three upload endpoints (path, CSV part name), by kind.
pub fn endpoint(kind: &str) -> Option<(&'static str, &'static str)> {
    match kind {
        "user" => Some(("/api/user/v1/upload", "user")),
        "org" => Some(("/api/org/v1/upload", "org")),
        "location" => Some(("/api/data/v1/bulk/location/upload", "csvFile")),
        _ => None,
    }
}

/// The status path of a process.
pub const STATUS: &str = "/api/data/v1/upload/status";

/// The Sunbird flow.
#[derive(Debug)]
pub struct Sunbird {
    http: Http,
    base: String,
    api_key: Secret,
    user_token: Secret,
    /// Display header (lower-case) → internal name, per kind, from the checked target.
    aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// What the last `submit` sent, to locate failed rows.
    sent: Option<Sent>,
}

/// An upload kept to match failure rows back to records.
#[derive(Debug)]
struct Sent {
    id: String,
    kind: String,
    records: Vec<Vec<String>>,
}

impl Sunbird {
    /// From a profile: `token_env`, `user_token_env`, optional `base_url` and
    /// `target_file` (a deployment's column configuration, for its header aliases).
    pub fn new(profile: &Loaded, http: Http) -> Result<Sunbird, Error> {
        let p = &profile.profile;
        let api_key = profile.secret("token_env", &p.token_env)?;
        let user_token = profile.secret("user_token_env", &p.user_token_env)?;
        // The same target the check uses; the built-in one if the file cannot be read here
        // (the check has read it already, or will say why not).
        let target = crate::target::load("sunbird", p.target_file.as_deref())
            .or_else(|_| crate::target::load("sunbird", None))?;
        let aliases = target
            .kinds
            .iter()
            .map(|k| {
                let mut m: BTreeMap<String, String> = k
                    .columns
                    .iter()
                    .map(|c| (c.to_lowercase(), c.clone()))
                    .collect();
                for (display, internal) in &k.aliases {
                    m.insert(display.trim().to_lowercase(), internal.clone());
                }
                (k.name.clone(), m)
            })
            .collect();
        Ok(Sunbird {
            http,
            base: base_url(profile, API),
            api_key,
            user_token,
            aliases,
            sent: None,
        })
    }

    fn authorized(&self, req: Request) -> Request {
        req.bearer(&self.api_key)
            .header("X-Authenticated-User-Token", self.user_token.expose())
    }

    /// Problems for a COMPLETED process's failure rows.
    fn problems(&self, id: &str, failures: &[Value]) -> Vec<Problem> {
        let sent = self.sent.as_ref().filter(|s| s.id == id);
        let mut used = Vec::new();
        failures
            .iter()
            .map(|f| {
                let message = f
                    .get("err_msg")
                    .and_then(Value::as_str)
                    .filter(|m| !m.is_empty())
                    .unwrap_or("row failed (no err_msg given)")
                    .to_owned();
                let row = sent.and_then(|s| {
                    let aliases = self.aliases.get(&s.kind)?;
                    let row = locate(f, &s.records, aliases, &used)?;
                    used.push(row);
                    Some(row as u64 + 1)
                });
                let message = match row {
                    Some(_) => message,
                    None => format!("{message} (row data: {})", echoed(f)),
                };
                Problem {
                    file: None,
                    row,
                    severity: Severity::Error,
                    message,
                }
            })
            .collect()
    }
}

/// The error for a refused call: Sunbird's `params.errmsg` when the body is its envelope.
fn refused(resp: &Response, what: &str) -> Error {
    let v: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let field = |p: &str| {
        v.as_ref()
            .and_then(|v| v.pointer(p))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let code = field("/responseCode");
    let err = field("/params/err");
    let msg = field("/params/errmsg").or_else(|| field("/message"));
    let hint = match resp.status {
        401 => "; check the API key (token_env) and the user token (user_token_env, which expires)",
        403 => "; the user token's user may not upload for this organisation",
        _ => "",
    };
    let reason = match msg {
        Some(m) => format!(
            "HTTP {}{}: {m}{}{hint}",
            resp.status,
            code.map(|c| format!(" {c}")).unwrap_or_default(),
            err.map(|e| format!(" ({e})")).unwrap_or_default()
        ),
        None => format!(
            "HTTP {}: {}{hint}",
            resp.status,
            crate::http::snippet(&resp.body)
        ),
    };
    Error::Http {
        what: what.to_owned(),
        failure: Failure::Status(resp.status),
        reason,
    }
}

fn bad(what: &str, reason: String) -> Error {
    Error::Http {
        what: what.to_owned(),
        failure: Failure::BadResponse,
        reason,
    }
}

/// The record (index, header = 0) a failure row echoes, not among `used`.
pub(super) fn locate(
    failure: &Value,
    records: &[Vec<String>],
    aliases: &BTreeMap<String, String>,
    used: &[usize],
) -> Option<usize> {
    let echoed = failure.as_object()?;
    let header = records.first()?;
    // Column position by internal name (lower-case).
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().to_lowercase();
        let internal = aliases.get(&h).map_or(h, |c| c.to_lowercase());
        at.entry(internal).or_insert(i);
    }
    let wanted: Vec<(usize, String)> = echoed
        .iter()
        .filter(|(k, _)| k.as_str() != "err_msg")
        .filter_map(|(k, v)| {
            let i = *at.get(&k.to_lowercase())?;
            let v = match v {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                _ => return None,
            };
            // Masked (e-mail, phone) or blank: not comparable.
            (!v.contains('*') && !v.is_empty()).then_some((i, v))
        })
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let norm = |s: &str| s.split(',').map(str::trim).collect::<Vec<_>>().join(",");
    (1..records.len()).find(|r| {
        !used.contains(r)
            && wanted.iter().all(|(i, v)| {
                records[*r]
                    .get(*i)
                    .is_some_and(|cell| norm(cell) == norm(v))
            })
    })
}

/// A failure row's data for a message: `key=value` pairs, `err_msg` left out.
pub(super) fn echoed(failure: &Value) -> String {
    let Some(m) = failure.as_object() else {
        return failure.to_string();
    };
    let pairs: Vec<String> = m
        .iter()
        .filter(|(k, v)| k.as_str() != "err_msg" && !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    if pairs.is_empty() {
        "none".into()
    } else {
        pairs.join(", ")
    }
}

/// The records of a CSV text (RFC 4180: `"` quotes, `""` escapes, CRLF or LF), empty lines
/// skipped, so that record `i` is row `i + 1` as the check counts rows (header = row 1).
pub fn records(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut end_record = |record: &mut Vec<String>, cell: &mut String| {
        record.push(std::mem::take(cell));
        let r = std::mem::take(record);
        if !(r.len() == 1 && r[0].is_empty()) {
            out.push(r);
        }
    };
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => record.push(std::mem::take(&mut cell)),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                end_record(&mut record, &mut cell);
            }
            '\n' => end_record(&mut record, &mut cell),
            _ => cell.push(c),
        }
    }
    if !cell.is_empty() || !record.is_empty() {
        end_record(&mut record, &mut cell);
    }
    out
}

fn read_records(path: &Path) -> Option<Vec<Vec<String>>> {
    let bytes = std::fs::read(path).ok()?;
    Some(records(&String::from_utf8_lossy(&bytes)))
}

impl Platform for Sunbird {
    fn submit(&mut self, upload: &Upload) -> Result<String, Error> {
        let kind = upload.kind.as_deref().unwrap_or("");
        let Some((path, part)) = endpoint(kind) else {
            return Err(Error::Usage(format!(
                "cannot tell which Sunbird upload {} is: its header is not that of a user, org or location file",
                upload.file_name
            )));
        };
        let mut form = Form::new();
        if kind == "location" {
            let Some(t) = upload
                .location_type
                .as_deref()
                .filter(|t| !t.trim().is_empty())
            else {
                return Err(Error::Usage(
                    "a Sunbird location upload needs its location type (state, district, block, cluster or school): pass --location-type TYPE or set location_type in the profile. Nothing was sent.".into(),
                ));
            };
            form = form.text("type", t.trim());
        }
        form = form.file(part, upload.path.clone(), &upload.file_name, "text/csv");
        let req = self.authorized(
            Request::post(format!("{}{path}", self.base))
                .what("upload")
                .long()
                .body(Body::Multipart(form)),
        );
        let resp = self.http.send(&req)?;
        if !resp.ok() {
            return Err(refused(&resp, "upload"));
        }
        let v: Value = resp.json()?;
        let Some(id) = v.pointer("/result/processId").and_then(super::id_string) else {
            let msg = v
                .pointer("/params/errmsg")
                .and_then(Value::as_str)
                .unwrap_or("no result.processId in the answer");
            return Err(bad(
                "upload",
                format!(
                    "Sunbird did not start a process: {msg} ({})",
                    crate::http::snippet(&resp.body)
                ),
            ));
        };
        self.sent = read_records(&upload.path).map(|records| Sent {
            id: id.clone(),
            kind: kind.to_owned(),
            records,
        });
        Ok(id)
    }

    fn status(&mut self, id: &str) -> Result<Status, Error> {
        let what = "status request";
        let req = self.authorized(
            Request::get(format!("{}{STATUS}/{}", self.base, crate::http::encode(id)))
                .what(what)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json"),
        );
        let resp = self.http.send(&req)?;
        if resp.status == 404 {
            let e = refused(&resp, what);
            return Err(Error::Http {
                what: what.to_owned(),
                failure: Failure::Status(404),
                reason: format!(
                    "Sunbird knows no upload process {id} ({})",
                    match e {
                        Error::Http { reason, .. } => reason,
                        other => other.to_string(),
                    }
                ),
            });
        }
        if !resp.ok() {
            return Err(refused(&resp, what));
        }
        let v: Value = resp.json()?;
        let Some(r) = v.pointer("/result/response/0") else {
            return Err(bad(
                what,
                format!(
                    "no result.response[0] in the answer: {}",
                    crate::http::snippet(&resp.body)
                ),
            ));
        };
        let state = r
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(what, "the process has no status".into()))?
            .to_owned();
        let message = r
            .get("message")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_owned);
        let empty = Vec::new();
        let failures = r
            .get("failureResult")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let (phase, problems) = match state.as_str() {
            "NOT STARTED" => (Phase::Queued, Vec::new()),
            "IN PROGRESS" => (Phase::Running, Vec::new()),
            "COMPLETED" if failures.is_empty() => (Phase::Succeeded, Vec::new()),
            "COMPLETED" => (Phase::Failed, self.problems(id, failures)),
            other => {
                return Err(bad(
                    what,
                    format!(
                        "unknown status '{other}' (the documented values are NOT STARTED, IN PROGRESS, COMPLETED)"
                    ),
                ));
            }
        };
        Ok(Status {
            id: id.to_owned(),
            state,
            phase,
            progress: None,
            message,
            problems,
        })
    }

    fn describe(&self, upload: &Upload) -> Vec<String> {
        let auth = "Authorization: Bearer, X-Authenticated-User-Token";
        let kind = upload.kind.as_deref().unwrap_or("");
        let first = match endpoint(kind) {
            Some((path, part)) => {
                let t = match (kind, upload.location_type.as_deref()) {
                    ("location", Some(t)) => format!("type={t}, "),
                    ("location", None) => "type=(missing: refused, nothing sent), ".into(),
                    _ => String::new(),
                };
                format!(
                    "POST {}{path} (multipart: {t}{part}={}, {} bytes; {auth})",
                    self.base, upload.file_name, upload.bytes
                )
            }
            None => format!(
                "(nothing: {} is not a user, org or location file)",
                upload.file_name
            ),
        };
        vec![
            first,
            format!(
                "GET {}{STATUS}/{{processId}} (Accept, Content-Type: application/json; {auth})",
                self.base
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_records_follow_rfc4180_and_skip_empty_lines() {
        let r = records("a,b\r\n\r\n\"x, \"\"y\"\"\",2\n,\n3,\"multi\nline\"");
        assert_eq!(
            r,
            vec![
                vec!["a", "b"],
                vec!["x, \"y\"", "2"],
                vec!["", ""],
                vec!["3", "multi\nline"],
            ]
        );
    }

    fn aliases() -> BTreeMap<String, String> {
        let t = validator_core::targets::sunbird();
        let k = t.kind("user").unwrap();
        let mut m: BTreeMap<String, String> = k
            .columns
            .iter()
            .map(|c| (c.to_lowercase(), c.clone()))
            .collect();
        for (d, i) in &k.aliases {
            m.insert(d.to_lowercase(), i.clone());
        }
        m
    }

    #[test]
    fn failure_rows_are_located_by_their_echoed_cells() {
        let recs = records(
            "NAME,EMAIL,USER_TYPE,ROLES\nAda,ada@x.org,teacher,PUBLIC\nBo,bo@x.org,robot,PUBLIC\nBo,bo@x.org,robot,PUBLIC\n",
        );
        let a = aliases();
        // Keys are internal names; email masked; roles as a list.
        let f = json!({"firstName": "Bo", "email": "bo****@x.org", "userType": "robot",
                       "roles": ["PUBLIC"], "err_msg": "Invalid userType"});
        assert_eq!(locate(&f, &recs, &a, &[]), Some(2));
        // Identical rows: file order.
        assert_eq!(locate(&f, &recs, &a, &[2]), Some(3));
        assert_eq!(locate(&f, &recs, &a, &[2, 3]), None);
        // A value that disagrees: no match.
        let g = json!({"firstName": "Cy", "err_msg": "x"});
        assert_eq!(locate(&g, &recs, &a, &[]), None);
        // Nothing comparable: no guess.
        let h = json!({"email": "c***@x.org", "err_msg": "x"});
        assert_eq!(locate(&h, &recs, &a, &[]), None);
    }

    #[test]
    fn unmatched_failures_carry_their_data() {
        let f = json!({"code": "D1", "name": null, "err_msg": "x"});
        assert_eq!(echoed(&f), "code=D1");
    }
}
