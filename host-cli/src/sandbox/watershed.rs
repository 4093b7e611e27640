//! Emulated Watershed CSV Data Import API (seed 001).
//!
//! Every route needs HTTP Basic auth: any non-empty key as the user name, the sandbox
//! secret as the password (else 401). Organizations are free (any id); imports are kept per
//! organization.
//!
//! - `POST /api/organizations/{org}/csv-import?template=T&fileSize=N[&notify=E]`,
//!   `multipart/form-data` with the CSV in part `file` → `202 {"id": <number>}` (ids count
//!   up from 7001). 400 when `template` is missing or empty, when there is no part `file`,
//!   when `fileSize` is not the part's exact byte count, or when it is absent for a file of
//!   10,000,000 bytes or more ("optional if file size < 10Mb").
//! - `GET /api/organizations/{org}/csv-import[?id=ID][&template=T]` → `{count, results}`.
//!   An import is listed from the `--steps`-th list call that would show it (each call
//!   whose filters match it counts; with `--stall`, never): Watershed shows an import once
//!   it has been processed. Each result: `id`, `created` (ISO 8601, UTC, the upload's real
//!   time), `version`, `size`, `originalFilename`, `file`, `mediaType`, `hashFileName`,
//!   `userName`, `statementIds`, `allStatementIds` (the seed spells these two
//!   `statemenIds` and `alllStatementIds`, which look like typos), `failedRows`,
//!   `template`.
//! - `DELETE /api/organizations/{org}/csv-import/{id}` → 200 with no content; the import
//!   is no longer listed. Unknown (or already voided) id → 404.
//! - `POST /api/organizations/{org}/statement-import/preview?template=T`, multipart: part
//!   `file`, then the field `filesize` (checked like `fileSize`; the query parameter of the
//!   seed's Python sample is accepted too) → 200 `{failedRows, statements}`. Nothing stored.
//!
//! `failedRows` come from the validator core run on the file with the sandbox's
//! `--target-file` (the target built from the import template): each row with an error
//! finding fails with the findings' messages joined by `; `; a header error (a column the
//! template reads is missing) fails every row with that message. Templates are not
//! evaluated: any non-empty template name is taken to be the template the target file was
//! built from (the target file does not record the name; the request log shows which
//! name the client sent), and a row that does not fail yields one placeholder statement.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use validator_core::Severity;

use super::{Ctx, Emulator, Req, Resp};
use crate::multipart::Part;

/// Files at least this large need `fileSize`.
const SIZE_OPTIONAL_BELOW: usize = 10_000_000;
/// The first import id.
const FIRST_ID: u64 = 7001;

/// One import.
#[derive(Debug)]
struct Import {
    id: u64,
    org: String,
    template: String,
    file_name: String,
    size: usize,
    created: String,
    failed: BTreeMap<u64, String>,
    statements: Vec<String>,
    polls: u32,
    voided: bool,
}

/// The emulator's state.
#[derive(Debug, Default)]
pub struct Watershed {
    imports: Vec<Import>,
}

fn bad_request(msg: &str) -> Resp {
    Resp::json(400, &json!({"message": msg}))
}

/// The password of a Basic `Authorization` whose user name is not empty.
fn basic_password(req: &Req) -> Option<String> {
    let encoded = req.header("authorization")?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(unbase64(encoded.trim())?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    (!user.is_empty()).then(|| pass.to_owned())
}

/// Standard base64 decoding (padding optional); `None` on a bad character.
fn unbase64(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(out)
}

/// The declared size (`fileSize` or `filesize`) against the bytes received.
fn size_check(declared: Option<&str>, actual: usize) -> Result<(), Resp> {
    match declared {
        Some(d) => match d.trim().parse::<usize>() {
            Ok(n) if n == actual => Ok(()),
            Ok(n) => Err(bad_request(&format!(
                "fileSize {n} does not match the size of the uploaded file ({actual} bytes)"
            ))),
            Err(_) => Err(bad_request(&format!("fileSize '{d}' is not a number"))),
        },
        None if actual >= SIZE_OPTIONAL_BELOW => Err(bad_request(
            "fileSize is required for files of 10Mb or more",
        )),
        None => Ok(()),
    }
}

/// Failed rows (row → message) and the rows that produce statements, from the core.
fn evaluate(part: &Part, ctx: &Ctx<'_>) -> (BTreeMap<u64, String>, Vec<u64>) {
    let name = part
        .file_name
        .clone()
        .unwrap_or_else(|| "upload.csv".into());
    let report = ctx.check(&[(name.clone(), part.data.clone())]);
    let mut failed: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut whole_file: Vec<String> = Vec::new();
    let rows = report.files.first().map_or(0, |f| f.rows);
    for x in report.all_findings() {
        if x.severity != Severity::Error {
            continue;
        }
        let m = x
            .platform_message
            .clone()
            .unwrap_or_else(|| x.message.clone());
        match x.row {
            Some(r) if r >= 2 => {
                let e = failed.entry(r).or_default();
                if !e.contains(&m) {
                    e.push(m);
                }
            }
            _ => {
                if !whole_file.contains(&m) {
                    whole_file.push(m);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut ok = Vec::new();
    for r in 2..rows + 2 {
        let mut msgs = whole_file.clone();
        msgs.extend(failed.remove(&r).unwrap_or_default());
        if msgs.is_empty() {
            ok.push(r);
        } else {
            out.insert(r, msgs.join("; "));
        }
    }
    (out, ok)
}

/// A placeholder statement id for a row of an import (or a preview, import 0).
fn statement_id(import: u64, row: u64) -> String {
    format!("5f1e0c4a-{:04x}-4000-8000-{:012x}", import % 0xffff, row)
}

fn now_iso() -> String {
    let secs = crate::journal::now();
    let t = crate::bundle::from_unix_full(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.0, t.1, t.2, t.3, t.4, t.5
    )
}

fn failed_json(failed: &BTreeMap<u64, String>) -> Value {
    Value::Object(
        failed
            .iter()
            .map(|(r, m)| (r.to_string(), Value::String(m.clone())))
            .collect::<Map<_, _>>(),
    )
}

impl Watershed {
    fn upload(&mut self, org: &str, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let Some(template) = req.query("template").filter(|t| !t.trim().is_empty()) else {
            return bad_request("the template parameter is required");
        };
        let Some(parts) = req.multipart() else {
            return bad_request("multipart/form-data expected");
        };
        let Some(part) = parts.iter().find(|p| p.name == "file") else {
            return bad_request("the csv file must be in the part 'file'");
        };
        if let Err(r) = size_check(req.query("fileSize"), part.data.len()) {
            return r;
        }
        let id = FIRST_ID + self.imports.len() as u64;
        let (failed, ok) = evaluate(part, ctx);
        self.imports.push(Import {
            id,
            org: org.to_owned(),
            template: template.to_owned(),
            file_name: part.file_name.clone().unwrap_or_default(),
            size: part.data.len(),
            created: now_iso(),
            failed,
            statements: ok.iter().map(|r| statement_id(id, *r)).collect(),
            polls: 0,
            voided: false,
        });
        Resp::json(202, &json!({"id": id}))
    }

    fn list(&mut self, org: &str, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let id = req.query("id");
        let template = req.query("template");
        let mut results = Vec::new();
        for i in &mut self.imports {
            if i.voided
                || i.org != org
                || id.is_some_and(|id| id.trim() != i.id.to_string())
                || template.is_some_and(|t| t != i.template)
            {
                continue;
            }
            i.polls += 1;
            if ctx.faults.stall || i.polls < ctx.steps {
                continue;
            }
            results.push(json!({
                "id": i.id,
                "created": i.created,
                "version": 1,
                "size": i.size,
                "originalFilename": i.file_name,
                "file": i.file_name,
                "mediaType": "text/csv",
                "hashFileName": format!("{:016x}.csv", i.id.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                "userName": "Sandbox User",
                "statementIds": i.statements.join(","),
                "allStatementIds": i.statements,
                "failedRows": failed_json(&i.failed),
                "template": i.template,
            }));
        }
        Resp::json(200, &json!({"count": results.len(), "results": results}))
    }

    fn void(&mut self, org: &str, id: &str) -> Resp {
        match self
            .imports
            .iter_mut()
            .find(|i| !i.voided && i.org == org && i.id.to_string() == id)
        {
            Some(i) => {
                i.voided = true;
                Resp::empty(200)
            }
            None => Resp::not_found(),
        }
    }

    fn preview(req: &Req, ctx: &Ctx<'_>) -> Resp {
        if req.query("template").is_none_or(|t| t.trim().is_empty()) {
            return bad_request("the template parameter is required");
        }
        let Some(parts) = req.multipart() else {
            return bad_request("multipart/form-data expected");
        };
        let Some(part) = parts.iter().find(|p| p.name == "file") else {
            return bad_request("the csv file must be in the part 'file'");
        };
        let declared = parts
            .iter()
            .find(|p| p.name == "filesize" && p.file_name.is_none())
            .map(|p| String::from_utf8_lossy(&p.data).into_owned());
        let declared = declared.as_deref().or(req.query("fileSize"));
        if let Err(r) = size_check(declared, part.data.len()) {
            return r;
        }
        let (failed, ok) = evaluate(part, ctx);
        let statements: Map<String, Value> = ok
            .iter()
            .map(|r| {
                (
                    r.to_string(),
                    json!([{
                        "id": statement_id(0, *r),
                        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                        "result": {"extensions": {"https://sandbox.preflight/row": r}},
                    }]),
                )
            })
            .collect();
        Resp::json(
            200,
            &json!({"failedRows": failed_json(&failed), "statements": statements}),
        )
    }
}

impl Emulator for Watershed {
    fn handle(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let seg = req.segments();
        let (org, rest) = match seg.as_slice() {
            ["api", "organizations", org, rest @ ..] if !org.is_empty() => (*org, rest),
            _ => return Resp::not_found(),
        };
        let route = match (req.method.as_str(), rest) {
            ("POST", ["csv-import"]) => 0,
            ("GET", ["csv-import"]) => 1,
            ("DELETE", ["csv-import", _]) => 2,
            ("POST", ["statement-import", "preview"]) => 3,
            _ => return Resp::not_found(),
        };
        if !ctx.secret_ok(basic_password(req).as_deref()) {
            return Resp::json(401, &json!({"message": "Unauthorized"}));
        }
        match (route, rest) {
            (0, _) => self.upload(org, req, ctx),
            (1, _) => self.list(org, req, ctx),
            (2, [_, id]) => self.void(org, id),
            _ => Watershed::preview(req, ctx),
        }
    }

    fn is_upload(&self, req: &Req) -> bool {
        req.method == "POST"
            && matches!(
                req.segments().as_slice(),
                ["api", "organizations", _, "csv-import"]
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_round_trip() {
        let enc = crate::platforms::watershed::base64(b"key-1:s3cr:et");
        assert_eq!(unbase64(&enc).unwrap(), b"key-1:s3cr:et");
        let req = |v: &str| Req {
            method: "GET".into(),
            path: "/".into(),
            query: Vec::new(),
            headers: vec![("authorization".into(), v.into())],
            body: Vec::new(),
        };
        assert_eq!(
            basic_password(&req(&format!("Basic {enc}"))).as_deref(),
            Some("s3cr:et")
        );
        let anon = crate::platforms::watershed::base64(b":pw");
        assert_eq!(basic_password(&req(&format!("Basic {anon}"))), None);
        assert_eq!(basic_password(&req("Bearer abc")), None);
        assert_eq!(basic_password(&req("Basic !!")), None);
    }

    fn call(ws: &mut Watershed, req: &Req, steps: u32, stall: bool) -> (u16, Value) {
        let target = validator_core::targets::watershed::from_template(
            r#"{"statements": [{"actor": {"mbox": "mailto:{{columns.[Email]}}"}}]}"#,
        )
        .unwrap();
        let faults = crate::sandbox::Faults {
            stall,
            ..Default::default()
        };
        let ctx = Ctx {
            base: "http://127.0.0.1:1",
            faults: &faults,
            steps,
            secret: "s3cret",
            target: &target,
        };
        let resp = ws.handle(req, &ctx);
        (
            resp.status,
            serde_json::from_slice(&resp.body).unwrap_or(Value::Null),
        )
    }

    fn req(method: &str, path: &str, query: &[(&str, &str)], csv: Option<&str>) -> Req {
        let auth = crate::platforms::watershed::base64(b"key:s3cret");
        let mut headers = vec![("authorization".to_owned(), format!("Basic {auth}"))];
        let mut body = Vec::new();
        if let Some(csv) = csv {
            headers.push((
                "content-type".into(),
                "multipart/form-data; boundary=XyZ".into(),
            ));
            body = format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--XyZ--\r\n"
            )
            .into_bytes();
        }
        Req {
            method: method.into(),
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            headers,
            body,
        }
    }

    #[test]
    fn imports_are_listed_after_steps_and_voided() {
        let mut ws = Watershed::default();
        let csv = "Email\nada@x.org\n";
        let path = "/api/organizations/9/csv-import";
        let size = csv.len().to_string();
        let wrong = (csv.len() + 1).to_string();
        let up = |size: &str| {
            req(
                "POST",
                path,
                &[("template", "T"), ("fileSize", size)],
                Some(csv),
            )
        };
        assert_eq!(call(&mut ws, &up(&wrong), 3, false).0, 400);
        let (s, v) = call(&mut ws, &up(&size), 3, false);
        assert_eq!((s, &v), (202, &json!({"id": FIRST_ID})));
        let list = req("GET", path, &[("id", "7001")], None);
        assert_eq!(call(&mut ws, &list, 3, false).1["count"], 0);
        assert_eq!(call(&mut ws, &list, 3, false).1["count"], 0);
        let (_, v) = call(&mut ws, &list, 3, false);
        assert_eq!(v["results"][0]["originalFilename"], "a.csv");
        assert_eq!(v["results"][0]["failedRows"], json!({}));
        // Another organization sees nothing; a stalled sandbox never lists.
        let other = req("GET", "/api/organizations/8/csv-import", &[], None);
        assert_eq!(call(&mut ws, &other, 1, false).1["count"], 0);
        assert_eq!(call(&mut ws, &list, 1, true).1["count"], 0);
        let void = req("DELETE", &format!("{path}/7001"), &[], None);
        assert_eq!(call(&mut ws, &void, 3, false).0, 200);
        assert_eq!(call(&mut ws, &list, 1, false).1["count"], 0);
        assert_eq!(call(&mut ws, &void, 3, false).0, 404);
        // Wrong password.
        let mut bad = req("GET", path, &[], None);
        bad.headers[0].1 = format!("Basic {}", crate::platforms::watershed::base64(b"key:nope"));
        assert_eq!(call(&mut ws, &bad, 1, false).0, 401);
    }

    #[test]
    fn file_size_must_be_exact() {
        assert!(size_check(Some("12"), 12).is_ok());
        assert_eq!(size_check(Some("13"), 12).unwrap_err().status, 400);
        assert_eq!(size_check(Some("x"), 12).unwrap_err().status, 400);
        assert!(size_check(None, 12).is_ok());
        assert_eq!(
            size_check(None, SIZE_OPTIONAL_BELOW).unwrap_err().status,
            400
        );
    }
}
