//! Emulated Sunbird-Lern bulk upload API (seed 004; formats.md §3.1 and §3.6).
//!
//! Every route needs `Authorization: Bearer <secret>` (else 401 `{"message":
//! "Unauthorized"}`, as the API gateway answers) and `X-Authenticated-User-Token: <secret>`
//! (else 401 `UNAUTHORIZED`, `You are not authorized.`).
//!
//! - `POST /api/user/v1/upload`, `POST /api/org/v1/upload`,
//!   `POST /api/data/v1/bulk/location/upload`: `multipart/form-data` (the only body form
//!   emulated); the first file part is the CSV, whatever its name. Refused synchronously
//!   with HTTP 400 and the `CLIENT_ERROR` envelope (`params.err`, `params.errmsg`):
//!   no file part (`Missing file attachment.`), a file over 10,000,000 bytes (`Max allowed
//!   size is 10MB`), a location upload without the text field `type` (`Mandatory parameter
//!   type is missing.`), a header that is not the endpoint's kind (`Invalid column: …`), and
//!   the header and file errors the validator core finds (unknown or missing columns, empty
//!   file), with the core's platform message. Otherwise a process is created →
//!   `result.processId`, a counter on the seed's 19-digit ids (beyond 2^53, so a client
//!   that reads it as a float loses it).
//! - `GET /api/data/v1/upload/status/{processId}` → `result.response[0]`: NOT STARTED on
//!   the first call, IN PROGRESS until the `--steps`-th call, then COMPLETED with
//!   `objectType`, `successResult` and `failureResult`: a row with an error finding of the
//!   core fails (its cells echoed under Sunbird's internal column names, e-mail and phone
//!   masked, plus `err_msg`: the findings' platform messages joined by `, `), every other
//!   non-blank row succeeds. With `--stall` a process stays NOT STARTED forever (what
//!   Sunbird shows for a process that failed while parsing). Unknown id → 404
//!   `RESOURCE_NOT_FOUND`.
//!
//! Not emulated: the urlencoded (`data`) and JSON body forms, the check of the location
//! type against the deployment's list, and role, organisation and persona lookups beyond
//! what the core checks.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use validator_core::Severity;

use super::{Ctx, Emulator, Req, Resp};
use crate::platforms::sunbird::{STATUS, records};

/// The first process id (a process id of the seed); the n-th upload gets `BASE + n`.
const BASE: u64 = 1_316_323_485_186_457_600;
/// `file_upload_max_size`: 10 "MB" of 1,000,000 bytes.
const MAX_BYTES: usize = 10_000_000;

/// One upload process.
#[derive(Debug)]
struct Process {
    id: u64,
    kind: &'static str,
    polls: u32,
    success: Vec<Value>,
    failure: Vec<Value>,
}

/// The emulator's state.
#[derive(Debug, Default)]
pub struct Sunbird {
    processes: Vec<Process>,
}

/// The API id of each route, as Sunbird names its answers.
fn api_id(kind: &str) -> &'static str {
    match kind {
        "user" => "api.user.upload",
        "org" => "api.org.upload",
        "location" => "api.bulk.location.upload",
        _ => "api.upload.status",
    }
}

/// Sunbird's answer envelope.
fn envelope(api: &str, code: &str, err: Option<(&str, &str)>, result: Value) -> Value {
    let (now, ms) = now();
    let t = crate::bundle::from_unix_full(now);
    json!({
        "id": api,
        "ver": "v1",
        "ts": format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}:{ms:03}+0000", t.0, t.1, t.2, t.3, t.4, t.5),
        "params": {
            "resmsgid": null,
            "msgid": format!("{:032x}", fastrand::u128(..)),
            "err": err.map(|e| e.0),
            "status": if err.is_some() { "failed" } else { "success" },
            "errmsg": err.map(|e| e.1),
        },
        "responseCode": code,
        "result": result,
    })
}

fn now() -> (u64, u32) {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.subsec_millis())
}

/// A synchronous refusal: 400 `CLIENT_ERROR`.
fn client_error(kind: &str, err: &str, msg: &str) -> Resp {
    Resp::json(
        400,
        &envelope(api_id(kind), "CLIENT_ERROR", Some((err, msg)), json!({})),
    )
}

/// `params.err` for a core finding refused synchronously.
fn err_code(code: &str) -> &'static str {
    match code {
        "header.unknown" => "INVALID_COLUMNS",
        "header.missing_column" => "MANDATORY_PARAMETER_MISSING",
        "csv.empty_file" | "csv.no_rows" => "CSV_FILE_EMPTY",
        "file.too_large" => "FILE_SIZE_EXCEEDED",
        _ => "INVALID_CSV_FILE",
    }
}

/// Masks an e-mail address or phone number the way Sunbird shows them (`ad**@x.org`,
/// `******7890`).
fn mask(key: &str, v: &str) -> String {
    match key {
        "email" => match v.split_once('@') {
            Some((local, domain)) => {
                let keep: String = local.chars().take(2).collect();
                let stars = "*".repeat(local.chars().count().saturating_sub(2).max(1));
                format!("{keep}{stars}@{domain}")
            }
            None => "*".repeat(v.chars().count()),
        },
        "phone" => {
            let n = v.chars().count();
            let tail: String = v.chars().skip(n.saturating_sub(4)).collect();
            format!("{}{tail}", "*".repeat(n.saturating_sub(4)))
        }
        _ => v.to_owned(),
    }
}

impl Sunbird {
    fn upload(&mut self, kind: &'static str, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let Some(parts) = req.multipart() else {
            return client_error(
                kind,
                "MANDATORY_PARAMETER_MISSING",
                "Missing file attachment.",
            );
        };
        let Some(file) = parts.iter().find(|p| p.file_name.is_some()) else {
            return client_error(
                kind,
                "MANDATORY_PARAMETER_MISSING",
                "Missing file attachment.",
            );
        };
        if file.data.len() > MAX_BYTES {
            return client_error(kind, "FILE_SIZE_EXCEEDED", "Max allowed size is 10MB");
        }
        let location_type = parts
            .iter()
            .find(|p| p.file_name.is_none() && p.name == "type")
            .map(|p| String::from_utf8_lossy(&p.data).trim().to_owned())
            .filter(|t| !t.is_empty());
        let mut params = BTreeMap::new();
        if kind == "location" {
            let Some(t) = location_type else {
                return client_error(
                    kind,
                    "MANDATORY_PARAMETER_MISSING",
                    "Mandatory parameter type is missing.",
                );
            };
            params.insert("location_type".to_owned(), t);
        }
        let name = file.file_name.clone().unwrap_or_default();
        let report = ctx.check_with(&[(name.clone(), file.data.clone())], params);
        let Some(f) = report.files.first() else {
            return client_error(kind, "CSV_FILE_EMPTY", "CSV file is Empty.");
        };
        let Some(k) = ctx.target.kind(kind) else {
            return client_error(kind, "INVALID_REQUESTED_DATA", "unknown upload kind");
        };
        // A header of another kind (or none): the first column this endpoint does not know.
        if f.kind.as_deref() != Some(kind) {
            let known = |h: &str| {
                let h = h.trim().to_lowercase();
                k.columns.iter().any(|c| c.to_lowercase() == h)
                    || k.aliases.keys().any(|a| a.to_lowercase() == h)
            };
            let msg = match f.header.iter().find(|h| !known(h)) {
                Some(h) => format!(
                    "Invalid column: {}. Valid columns are: {}.",
                    h.trim(),
                    k.columns.join(", ")
                ),
                None => "CSV file is Empty.".to_owned(),
            };
            return client_error(kind, "INVALID_COLUMNS", &msg);
        }
        // Header and file errors are synchronous (the location type was checked above).
        if let Some(x) = f.findings.iter().find(|x| {
            x.severity == Severity::Error
                && x.row.is_none_or(|r| r <= 1)
                && !x.code.starts_with("param.")
        }) {
            let msg = x.platform_message.as_deref().unwrap_or(&x.message);
            return client_error(kind, err_code(&x.code), msg);
        }
        // Row errors, by row (header = 1).
        let mut errors: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for x in &f.findings {
            if let (Severity::Error, Some(r)) = (x.severity, x.row)
                && r >= 2
            {
                let m = x
                    .platform_message
                    .clone()
                    .unwrap_or_else(|| x.message.clone());
                let e = errors.entry(r).or_default();
                if !e.contains(&m) {
                    e.push(m);
                }
            }
        }
        let recs = records(&String::from_utf8_lossy(&file.data));
        let Some(header) = recs.first() else {
            return client_error(kind, "CSV_FILE_EMPTY", "CSV file is Empty.");
        };
        // Header → internal name (display names and internal names, case-insensitive).
        let internal: Vec<String> = header
            .iter()
            .map(|h| {
                let l = h.trim().to_lowercase();
                k.aliases
                    .iter()
                    .find(|(a, _)| a.to_lowercase() == l)
                    .map(|(_, c)| c.clone())
                    .or_else(|| k.columns.iter().find(|c| c.to_lowercase() == l).cloned())
                    .unwrap_or_else(|| h.trim().to_owned())
            })
            .collect();
        let id = BASE + self.processes.len() as u64 + 1;
        let (mut success, mut failure) = (Vec::new(), Vec::new());
        for (i, rec) in recs.iter().enumerate().skip(1) {
            if rec.iter().all(|c| c.trim().is_empty()) {
                continue; // Sunbird skips lines whose cells are all empty
            }
            let mut row = Map::new();
            for (col, cell) in internal.iter().zip(rec) {
                let v = cell.trim();
                if !v.is_empty() {
                    let shown = if kind == "location" {
                        v.to_owned()
                    } else {
                        mask(col, v)
                    };
                    row.insert(col.clone(), Value::String(shown));
                }
            }
            match errors.get(&(i as u64 + 1)) {
                Some(e) => {
                    row.insert("err_msg".into(), Value::String(e.join(", ")));
                    failure.push(Value::Object(row));
                }
                None => {
                    row.insert(
                        "id".into(),
                        Value::String(format!(
                            "{:08x}-0000-4000-8000-{:012x}",
                            id % 0xffff_ffff,
                            i
                        )),
                    );
                    row.insert("operation".into(), Value::String("create".into()));
                    success.push(Value::Object(row));
                }
            }
        }
        self.processes.push(Process {
            id,
            kind,
            polls: 0,
            success,
            failure,
        });
        Resp::json(
            200,
            &envelope(api_id(kind), "OK", None, json!({"processId": id})),
        )
    }

    fn status(&mut self, pid: &str, ctx: &Ctx<'_>) -> Resp {
        let Some(p) = self.processes.iter_mut().find(|p| p.id.to_string() == pid) else {
            return Resp::json(
                404,
                &envelope(
                    "api.upload.status",
                    "RESOURCE_NOT_FOUND",
                    Some(("RESOURCE_NOT_FOUND", "Requested resource not found")),
                    json!({}),
                ),
            );
        };
        p.polls += 1;
        let status = if ctx.faults.stall || (p.polls == 1 && ctx.steps > 1) {
            "NOT STARTED"
        } else if p.polls < ctx.steps {
            "IN PROGRESS"
        } else {
            "COMPLETED"
        };
        let mut r = json!({
            "processId": p.id,
            "status": status,
            "message": format!("Operation is {}.", status.to_lowercase()),
        });
        if status == "COMPLETED" {
            r["objectType"] = json!(p.kind);
            r["successResult"] = Value::Array(p.success.clone());
            r["failureResult"] = Value::Array(p.failure.clone());
        }
        Resp::json(
            200,
            &envelope("api.upload.status", "OK", None, json!({"response": [r]})),
        )
    }
}

/// The upload route's kind.
fn upload_kind(path: &str) -> Option<&'static str> {
    ["user", "org", "location"]
        .into_iter()
        .find(|k| crate::platforms::sunbird::endpoint(k).is_some_and(|(p, _)| p == path))
}

impl Emulator for Sunbird {
    fn handle(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let kind = upload_kind(&req.path);
        let pid = req
            .path
            .strip_prefix(STATUS)
            .and_then(|r| r.strip_prefix('/'))
            .filter(|r| !r.is_empty() && !r.contains('/'));
        let known = matches!(
            (req.method.as_str(), kind, pid),
            ("POST", Some(_), _) | ("GET", None, Some(_))
        );
        if !known {
            return Resp::not_found();
        }
        if !ctx.secret_ok(req.bearer()) {
            return Resp::json(401, &json!({"message": "Unauthorized"}));
        }
        if !ctx.secret_ok(req.header("x-authenticated-user-token")) {
            return Resp::json(
                401,
                &envelope(
                    kind.map_or("api.upload.status", api_id),
                    "UNAUTHORIZED",
                    Some(("UNAUTHORIZED_USER", "You are not authorized.")),
                    json!({}),
                ),
            );
        }
        match (kind, pid) {
            (Some(k), _) => self.upload(k, req, ctx),
            (None, Some(pid)) => self.status(pid, ctx),
            _ => Resp::not_found(),
        }
    }

    fn is_upload(&self, req: &Req) -> bool {
        req.method == "POST" && upload_kind(&req.path).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Faults;

    fn req(path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Req {
        let boundary = "b0undary";
        let mut body = Vec::new();
        for (name, file, data) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some(f) => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Req {
            method: "POST".into(),
            path: path.into(),
            query: Vec::new(),
            headers: vec![
                (
                    "content-type".into(),
                    format!("multipart/form-data; boundary={boundary}"),
                ),
                ("authorization".into(), "Bearer s3cret".into()),
                ("x-authenticated-user-token".into(), "s3cret".into()),
            ],
            body,
        }
    }

    fn answer(sb: &mut Sunbird, r: &Req, faults: &Faults) -> (u16, Value) {
        let target = validator_core::targets::sunbird();
        let ctx = Ctx {
            base: "http://127.0.0.1:1",
            faults,
            steps: 2,
            secret: "s3cret",
            target: &target,
        };
        let resp = sb.handle(r, &ctx);
        (
            resp.status,
            serde_json::from_slice(&resp.body).unwrap_or(Value::Null),
        )
    }

    #[test]
    fn synchronous_refusals() {
        let mut sb = Sunbird::default();
        let f = Faults::default();
        let big = vec![b'a'; MAX_BYTES + 1];
        let (s, v) = answer(
            &mut sb,
            &req("/api/user/v1/upload", &[("user", Some("u.csv"), &big)]),
            &f,
        );
        assert_eq!(s, 400);
        assert_eq!(v["params"]["errmsg"], "Max allowed size is 10MB");
        assert_eq!(v["responseCode"], "CLIENT_ERROR");
        let loc: &[u8] = b"code,name,parentCode,parentId\nD1,District,S1,\n";
        let (s, v) = answer(
            &mut sb,
            &req(
                "/api/data/v1/bulk/location/upload",
                &[("csvFile", Some("l.csv"), loc)],
            ),
            &f,
        );
        assert_eq!(s, 400);
        assert_eq!(
            v["params"]["errmsg"],
            "Mandatory parameter type is missing."
        );
        let (s, v) = answer(
            &mut sb,
            &req("/api/user/v1/upload", &[("user", None, b"x")]),
            &f,
        );
        assert_eq!(s, 400);
        assert_eq!(v["params"]["errmsg"], "Missing file attachment.");
        // A location file sent to the user endpoint.
        let (s, v) = answer(
            &mut sb,
            &req("/api/user/v1/upload", &[("anything", Some("l.csv"), loc)]),
            &f,
        );
        assert_eq!(s, 400);
        assert!(
            v["params"]["errmsg"]
                .as_str()
                .unwrap()
                .starts_with("Invalid column: code."),
            "{v}"
        );
        assert!(sb.processes.is_empty());
    }

    #[test]
    fn a_process_moves_on_and_keeps_its_big_id_exact() {
        let mut sb = Sunbird::default();
        let f = Faults::default();
        let loc: &[u8] = b"code,name,parentCode,parentId\nD1,District,S1,\n,Nameless,S1,\n";
        let (s, v) = answer(
            &mut sb,
            &req(
                "/api/data/v1/bulk/location/upload",
                &[("type", None, b"district"), ("csvFile", Some("l.csv"), loc)],
            ),
            &f,
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["result"]["processId"].as_u64(), Some(BASE + 1));
        let mut get = req("/x", &[]);
        get.method = "GET".into();
        get.path = format!("{STATUS}/{}", BASE + 1);
        let (_, v) = answer(&mut sb, &get, &f);
        assert_eq!(v["result"]["response"][0]["status"], "NOT STARTED");
        let (_, v) = answer(&mut sb, &get, &f);
        let r = &v["result"]["response"][0];
        assert_eq!(r["status"], "COMPLETED");
        assert_eq!(r["successResult"].as_array().unwrap().len(), 1);
        assert_eq!(
            r["failureResult"],
            json!([{"name": "Nameless", "parentCode": "S1", "err_msg": "Mandatory parameter code is missing."}])
        );
        let stalled = Faults {
            stall: true,
            ..Faults::default()
        };
        let (_, v) = answer(&mut sb, &get, &stalled);
        assert_eq!(v["result"]["response"][0]["status"], "NOT STARTED");
        get.path = format!("{STATUS}/12");
        let (s, v) = answer(&mut sb, &get, &f);
        assert_eq!((s, &v["responseCode"]), (404, &json!("RESOURCE_NOT_FOUND")));
    }

    #[test]
    fn masks() {
        assert_eq!(mask("email", "ada@x.org"), "ad*@x.org");
        assert_eq!(mask("phone", "9876543210"), "******3210");
        assert_eq!(mask("firstName", "Ada"), "Ada");
    }
}
