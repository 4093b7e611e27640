//! Watershed CSV Data Import API (seed 001; formats.md §5): one CSV, read by a named import
//! template, with HTTP Basic auth.
//!
//! Every call carries `Authorization: Basic base64(key:secret)` (the profile's `key` and
//! the variable `secret_env` names). The default host is `https://sandbox.watershedlrs.com`:
//! the seed gives its request URLs as paths only, and that host is the one its code samples
//! use (it is Watershed's sandbox environment, so a profile without `base_url` cannot write
//! to production by accident; production profiles set `base_url`).
//!
//! 1. Upload: `POST {base}/api/organizations/{org_id}/csv-import?template=T&fileSize=N`
//!    (`&notify=E` when the profile sets `notify`; `fileSize` is the exact byte count of the
//!    file sent), `multipart/form-data` with the CSV in the one part `file`
//!    (`Content-Type: text/csv`) → `202 Accepted` with the id of the import job. The
//!    answer's shape is not documented: a JSON object with `id`, a bare JSON number or
//!    string, or a plain-text id are accepted. A 2xx answer that names no id means an import
//!    was probably created: it is looked for in the list (below) before giving up.
//! 2. Status: there is no status endpoint. The only documented read is the list,
//!    `GET {base}/api/organizations/{org_id}/csv-import?id=ID` → `{count, results[]}`, each
//!    result an import with `id`, `created`, `size`, `originalFilename`, `template` and
//!    `failedRows` (`{"<row>": "<message>"}`, header = row 1). The upload call returns no
//!    errors ("errors are logged in the CSV Data Import UI"), so:
//!    - the import is listed → it has been processed: failed rows become problems on those
//!      rows (the file is the one uploaded) and the import *failed* when there are any,
//!      *succeeded* otherwise;
//!    - not (yet) listed → still being processed (running): `--wait` polls on.
//! 3. `imports list`: `GET …/csv-import[?template=T]` (the profile's template, when set).
//! 4. Recovery after a lost upload answer: the same list (with `template`) is read up to
//!    [`RECOVER_TRIES`] times, `poll_seconds` apart (an import may be listed only once
//!    processed); the import wanted has the uploaded file's name as `originalFilename`, its
//!    byte count as `size` (when the list gives one), the profile's template (when the list
//!    names one) and a `created` time at or after the upload started; the earliest such
//!    import is taken.
//! 5. `imports void ID`: `DELETE {base}/api/organizations/{org_id}/csv-import/{ID}` → 200.
//!    The seed's Python sample deletes `…/statement-import/{ID}?deleteLrsStatements=true`
//!    instead; the endpoint documented in the text is used here.
//! 6. `preview`: `POST {base}/api/organizations/{org_id}/statement-import/preview?template=T`,
//!    `multipart/form-data`: the CSV in part `file`, then the field `filesize` (its byte
//!    count), as the seed's body example shows → 200 `{failedRows, statements}`; nothing is
//!    stored, so the call is safe to repeat.
//!
//! A 401 or 403 is final (the key and secret do not change): exit 2 with a hint.

use std::time::Duration;

use serde_json::Value;
use validator_core::Severity;

use super::{Listed, Phase, Platform, Problem, Status, Upload, base_url, id_string};
use crate::config::Loaded;
use crate::error::{Error, Failure};
use crate::http::{Body, Http, Request, Response, encode};
use crate::multipart::Form;
use crate::secrets::Secret;

/// The host of the seed's code samples (Watershed's sandbox environment).
pub const API: &str = "https://sandbox.watershedlrs.com";
/// How many times [`Watershed::recover`] reads the list before giving up.
pub const RECOVER_TRIES: u32 = 5;

/// The Watershed flow.
#[derive(Debug)]
pub struct Watershed {
    http: Http,
    base: String,
    org: String,
    /// `Basic base64(key:secret)`, registered for redaction.
    auth: Secret,
    template: Option<String>,
    notify: Option<String>,
    poll: Duration,
}

impl Watershed {
    /// From a profile: `org_id`, `key`, `secret_env`, optional `base_url`, `template`
    /// (required to upload or preview), `notify`.
    pub fn new(profile: &Loaded, http: Http) -> Result<Watershed, Error> {
        let p = &profile.profile;
        let org = profile.need("org_id", &p.org_id)?.to_owned();
        let key = profile.need("key", &p.key)?;
        let secret = profile.secret("secret_env", &p.secret_env)?;
        let auth = Secret::new(format!(
            "Basic {}",
            base64(format!("{key}:{}", secret.expose()).as_bytes())
        ));
        Ok(Watershed {
            http,
            base: base_url(profile, API),
            org,
            auth,
            template: p.template.clone().filter(|t| !t.is_empty()),
            notify: p.notify.clone().filter(|n| !n.is_empty()),
            poll: profile.poll(),
        })
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/api/organizations/{}/{rest}",
            self.base,
            encode(&self.org)
        )
    }

    fn template(&self, what: &str) -> Result<&str, Error> {
        self.template.as_deref().ok_or_else(|| {
            Error::Usage(format!(
                "{what} needs the import template: set `template` (its name or id) in the profile"
            ))
        })
    }

    fn send(&self, req: Request) -> Result<Response, Error> {
        let req = req.header("Authorization", self.auth.expose());
        let resp = self.http.send(&req)?;
        if resp.ok() {
            Ok(resp)
        } else {
            Err(self.refused(&resp))
        }
    }

    /// The error for a refused call, with the server's message when it gives one.
    fn refused(&self, resp: &Response) -> Error {
        let base = resp.error();
        let Error::Http { what, reason, .. } = base else {
            return base;
        };
        let hint = match resp.status {
            401 => " (check `key` and the secret in `secret_env`: Watershed uses Basic auth)"
                .to_owned(),
            403 => format!(
                " (the key may not use organization {}, or lacks the CSV import permission)",
                self.org
            ),
            404 => format!(" (is organization {} right?)", self.org),
            _ => String::new(),
        };
        Error::Http {
            what,
            failure: Failure::Status(resp.status),
            reason: format!("{reason}{hint}"),
        }
    }

    /// The list: `GET …/csv-import` with optional `id` and `template` filters.
    fn imports(&self, id: Option<&str>, template: Option<&str>) -> Result<Vec<Value>, Error> {
        let what = if id.is_some() {
            "status request"
        } else {
            "list request"
        };
        let mut req = Request::get(self.url("csv-import")).what(what);
        if let Some(id) = id {
            req = req.query("id", id);
        }
        if let Some(t) = template {
            req = req.query("template", t);
        }
        let v: Value = self.send(req)?.json()?;
        match v.get("results").and_then(Value::as_array) {
            Some(r) => Ok(r.clone()),
            None => Err(Error::Http {
                what: what.to_owned(),
                failure: Failure::BadResponse,
                reason: format!(
                    "no `results` array in the answer: {}",
                    crate::http::snippet(v.to_string().as_bytes())
                ),
            }),
        }
    }

    /// Lists imports (of the profile's template, when it names one).
    pub fn list(&mut self) -> Result<Vec<Listed>, Error> {
        Ok(self
            .imports(None, self.template.as_deref())?
            .iter()
            .filter_map(|r| {
                let id = id_string(r.get("id")?)?;
                let failed = r
                    .get("failedRows")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
                Some(Listed {
                    id,
                    state: if failed == 0 {
                        "imported".into()
                    } else {
                        format!("imported, {failed} failed rows")
                    },
                    created: text(r, "created").unwrap_or_default(),
                    file: text(r, "originalFilename")
                        .or_else(|| text(r, "file"))
                        .unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Voids an import and the statements it created.
    pub fn void(&mut self, id: &str) -> Result<(), Error> {
        let req =
            Request::delete(self.url(&format!("csv-import/{}", encode(id)))).what("void request");
        self.send(req).map(|_| ())
    }

    /// Server-side preview: failed rows as problems; succeeded when no row failed.
    pub fn preview(&mut self, upload: &Upload) -> Result<Status, Error> {
        let template = self.template("preview")?;
        let form = Form::new()
            .file("file", upload.path.clone(), &upload.file_name, "text/csv")
            .text("filesize", &upload.bytes.to_string());
        let req = Request::post(self.url("statement-import/preview"))
            .query("template", template)
            .what("preview request")
            .idempotent()
            .long()
            .body(Body::Multipart(form));
        let v: Value = self.send(req)?.json()?;
        let Some(failed) = v.get("failedRows").and_then(Value::as_object) else {
            return Err(Error::Http {
                what: "preview request".into(),
                failure: Failure::BadResponse,
                reason: format!(
                    "no `failedRows` object in the answer: {}",
                    crate::http::snippet(v.to_string().as_bytes())
                ),
            });
        };
        let problems = failed_rows(failed);
        let statements = v
            .get("statements")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
        Ok(Status {
            id: "preview".into(),
            state: "previewed".into(),
            phase: if problems.is_empty() {
                Phase::Succeeded
            } else {
                Phase::Failed
            },
            progress: None,
            message: Some(format!(
                "{statements} rows would produce statements, {} rows failed",
                problems.len()
            )),
            problems,
        })
    }
}

/// A string field of a list result.
pub(super) fn text(r: &Value, key: &str) -> Option<String> {
    match r.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// `failedRows` (`{"<row>": "<message>"}`, header = row 1) as problems, by row.
pub(super) fn failed_rows(m: &serde_json::Map<String, Value>) -> Vec<Problem> {
    let mut problems: Vec<Problem> = m
        .iter()
        .map(|(row, msg)| {
            let msg = msg.as_str().map_or_else(|| msg.to_string(), str::to_owned);
            let n = row.trim().parse::<u64>().ok();
            Problem {
                file: None,
                row: n,
                severity: Severity::Error,
                message: match n {
                    Some(_) => msg,
                    None => format!("row {row}: {msg}"),
                },
            }
        })
        .collect();
    problems.sort_by_key(|p| p.row);
    problems
}

/// The import id in the upload's answer: `{"id": …}`, a bare JSON number or string, or a
/// plain-text token.
pub(super) fn import_id(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m.get("id").and_then(id_string),
        Ok(v) => id_string(&v),
        Err(_) => {
            let t = std::str::from_utf8(body).ok()?.trim();
            (!t.is_empty()
                && t.len() <= 100
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .then(|| t.to_owned())
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Unix seconds of an ISO 8601 date-time (`2024-05-01T12:30:00Z`, with optional fraction
/// and `Z`, `±HH:MM` or `±HHMM` offset; no offset = UTC; a space may replace the `T`).
pub fn unix_seconds(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |a: usize, b: usize| -> Option<i64> {
        let t = s.get(a..b)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" || !matches!(s.get(10..11)?, "T" | "t" | " ") {
        return None;
    }
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix(['.', ',']) {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = digits[..2].parse().ok()?;
            let om: i64 = digits[2..].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    // Howard Hinnant's days-from-civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Whether a list result is the import of `upload` with `template`, created at or after
/// `since`; its creation time when it is.
fn matches(r: &Value, upload: &Upload, template: &str, since: u64) -> Option<i64> {
    let name = text(r, "originalFilename").or_else(|| text(r, "file"))?;
    if name != upload.file_name {
        return None;
    }
    if let Some(size) = text(r, "size")
        && size.trim().parse::<u64>().ok() != Some(upload.bytes)
    {
        return None;
    }
    if let Some(t) = text(r, "template")
        && t != template
    {
        return None;
    }
    let created = unix_seconds(&text(r, "created")?)?;
    (created >= since as i64).then_some(created)
}

impl Platform for Watershed {
    fn submit(&mut self, upload: &Upload) -> Result<String, Error> {
        let template = self.template("upload")?.to_owned();
        let started = crate::journal::now();
        let form = Form::new().file("file", upload.path.clone(), &upload.file_name, "text/csv");
        let mut req = Request::post(self.url("csv-import"))
            .query("template", &template)
            .query("fileSize", &upload.bytes.to_string());
        if let Some(n) = &self.notify {
            req = req.query("notify", n);
        }
        let req = req.what("upload").long().body(Body::Multipart(form));
        let resp = self.send(req)?;
        if let Some(id) = import_id(&resp.body) {
            return Ok(id);
        }
        // Accepted, but the answer names no id we can read: find the import it created.
        if let Ok(Some(id)) = self.recover(upload, started.saturating_sub(120)) {
            return Ok(id);
        }
        Err(Error::Http {
            what: "upload".into(),
            failure: Failure::BadResponse,
            reason: format!(
                "Watershed accepted the upload (HTTP {}) but its answer names no import id ({}), and the import list does not show it yet; see `preflight imports list` before sending it again",
                resp.status,
                crate::http::snippet(&resp.body)
            ),
        })
    }

    fn status(&mut self, id: &str) -> Result<Status, Error> {
        let results = self.imports(Some(id), None)?;
        let Some(r) = results
            .iter()
            .find(|r| r.get("id").and_then(id_string).as_deref() == Some(id))
        else {
            return Ok(Status {
                id: id.to_owned(),
                state: "processing".into(),
                phase: Phase::Running,
                progress: None,
                message: Some("not listed yet (Watershed lists an import once processed)".into()),
                problems: Vec::new(),
            });
        };
        let problems = r
            .get("failedRows")
            .and_then(Value::as_object)
            .map(failed_rows)
            .unwrap_or_default();
        let (state, phase, message) = if problems.is_empty() {
            ("imported", Phase::Succeeded, None)
        } else {
            (
                "imported with failed rows",
                Phase::Failed,
                Some(format!(
                    "{} rows failed and created no statements",
                    problems.len()
                )),
            )
        };
        Ok(Status {
            id: id.to_owned(),
            state: state.into(),
            phase,
            progress: None,
            message,
            problems,
        })
    }

    fn recover(&mut self, upload: &Upload, since: u64) -> Result<Option<String>, Error> {
        let template = self.template("finding an upload")?.to_owned();
        for attempt in 0..RECOVER_TRIES {
            if attempt > 0 {
                std::thread::sleep(self.poll);
            }
            let found = self
                .imports(None, Some(&template))?
                .iter()
                .filter_map(|r| {
                    let created = matches(r, upload, &template, since)?;
                    Some((created, id_string(r.get("id")?)?))
                })
                .min();
            if let Some((_, id)) = found {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    fn can_recover(&self) -> bool {
        true
    }

    fn describe(&self, upload: &Upload) -> Vec<String> {
        let t = self
            .template
            .as_deref()
            .unwrap_or("(missing: set `template`)");
        vec![
            format!(
                "POST {}?template={t}&fileSize={}{} (multipart: file={}, text/csv; Authorization: Basic)",
                self.url("csv-import"),
                upload.bytes,
                self.notify
                    .as_deref()
                    .map(|n| format!("&notify={n}"))
                    .unwrap_or_default(),
                upload.file_name
            ),
            format!(
                "GET {}?id={{id}} until the import is listed (Authorization: Basic)",
                self.url("csv-import")
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn iso_times() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            unix_seconds("2023-11-14T22:13:20.123Z"),
            Some(1_700_000_000)
        );
        assert_eq!(
            unix_seconds("2023-11-15T00:13:20+02:00"),
            Some(1_700_000_000)
        );
        assert_eq!(
            unix_seconds("2023-11-14 17:13:20-0500"),
            Some(1_700_000_000)
        );
        assert_eq!(unix_seconds("2024-02-29T00:00:00"), Some(1_709_164_800));
        assert_eq!(unix_seconds("2023-13-01T00:00:00Z"), None);
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(unix_seconds("2023-11-14T22:13:20 UTC"), None);
    }

    #[test]
    fn import_ids_in_any_shape_but_not_anything() {
        assert_eq!(import_id(br#"{"id": 4242}"#).as_deref(), Some("4242"));
        assert_eq!(import_id(br#"{"id": "ab-1"}"#).as_deref(), Some("ab-1"));
        assert_eq!(import_id(b"4242").as_deref(), Some("4242"));
        assert_eq!(import_id(br#""4242""#).as_deref(), Some("4242"));
        assert_eq!(import_id(b" 4242\n").as_deref(), Some("4242"));
        assert_eq!(import_id(br#"{"status": "ok"}"#), None);
        assert_eq!(import_id(b""), None);
        assert_eq!(import_id(b"<html>Accepted</html>"), None);
        assert_eq!(import_id(b"null"), None);
    }

    #[test]
    fn failed_rows_become_problems_by_row() {
        let v = json!({"12": "bad date", "3": "no email", "x": "odd"});
        let p = failed_rows(v.as_object().unwrap());
        let rows: Vec<_> = p.iter().map(|p| (p.row, p.message.as_str())).collect();
        assert_eq!(
            rows,
            [
                (None, "row x: odd"),
                (Some(3), "no email"),
                (Some(12), "bad date")
            ]
        );
    }

    #[test]
    fn recovery_matches_name_size_template_and_time() {
        let upload = Upload {
            path: "x".into(),
            file_name: "rows.csv".into(),
            kind: None,
            location_type: None,
            bytes: 120,
            sha256: String::new(),
        };
        let r = |name: &str, size: Value, template: &str, created: &str| json!({"id": 1, "originalFilename": name, "size": size, "template": template, "created": created});
        let since = 1_700_000_000;
        let ok = r("rows.csv", json!(120), "T", "2023-11-14T22:13:20Z");
        assert_eq!(matches(&ok, &upload, "T", since), Some(1_700_000_000));
        assert_eq!(
            matches(
                &r("rows.csv", json!("120"), "T", "2023-11-14T22:13:21Z"),
                &upload,
                "T",
                since
            ),
            Some(1_700_000_001)
        );
        for bad in [
            r("other.csv", json!(120), "T", "2023-11-14T22:13:20Z"),
            r("rows.csv", json!(121), "T", "2023-11-14T22:13:20Z"),
            r("rows.csv", json!(120), "U", "2023-11-14T22:13:20Z"),
            r("rows.csv", json!(120), "T", "2023-11-14T22:13:19Z"),
            r("rows.csv", json!(120), "T", "soon"),
        ] {
            assert_eq!(matches(&bad, &upload, "T", since), None, "{bad}");
        }
        // No size or template in the list: not compared.
        let bare =
            json!({"id": 1, "originalFilename": "rows.csv", "created": "2023-11-14T22:13:20Z"});
        assert!(matches(&bare, &upload, "T", since).is_some());
    }
}
