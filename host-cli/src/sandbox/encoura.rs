//! Emulated Encoura Data Lab API (seed 002), with its S3 side, all on the sandbox port.
//! Profiles point `base_url` at `{sandbox}/v1`.
//!
//! Every `/v1` call needs `x-api-key` equal to the sandbox secret, else 403
//! `{"message":"Forbidden"}` (what AWS API Gateway answers for a bad key). Every call but
//! the login needs `Authorization: Bearer <sessionToken>` of a live session, else 401; the
//! file and export calls need `Organization: <uid>` of one of the session's organizations
//! (missing: 400, another: 403).
//!
//! - `POST /v1/login`, JSON `{userName, password, acceptedTerms}`: `acceptedTerms` must be
//!   `true` and `userName` non-empty (else 400), `password` the secret (else 401)
//!   → `{sessionToken, user: {organizations}}`. An account whose user name starts with
//!   `multi` belongs to two organizations (to exercise the choice); others to one,
//!   Sample University, uid `03f104b8-dc76-4475-ab8e-f226786edb53`.
//! - `GET /v1/refresh-token` (Bearer of a live session) → `{sessionToken}`, a new session
//!   with the same organizations. Sessions die after `--token-lifetime` ([`Tokens`]).
//! - `POST /v1/files/upload`, JSON `{fileName, productType (enrollment|affinity|ematch),
//!   dataSource or datasource = "API", fileDescription}` (else 400) → `{id, url, fields}`:
//!   `url` is `{sandbox}/s3-upload/`, `fields` are key, x-amz-algorithm, x-amz-credential,
//!   x-amz-date, x-amz-security-token, policy, x-amz-signature in that (unsorted) order,
//!   written by hand because this build's `serde_json` sorts object keys. The signature is
//!   a SHA-256 over the secret and the other fields, so the emulated S3 can tell that they
//!   came back verbatim. Ids count up (`fc618a01-0324-431c-8122-00000000000N`).
//! - `POST /s3-upload/` (the presigned POST), multipart: refused with S3-style XML when it
//!   carries `Authorization` or `x-api-key` (400, S3 allows one auth mechanism), when a
//!   part follows the `file` part (400; S3 would silently ignore it), when a field is
//!   missing, changed or out of order (403; stricter than S3 about the order, to check the
//!   client keeps it), when the signature does not match (403), or when the record already
//!   has its file (403). Else 204, and the file record leaves `uploading`.
//! - `GET /v1/files/{id}` → the record, `status` `uploading` until the S3 upload; then one
//!   step per call: analyzing → enqueued → cleansing → ingesting → processing (compressed
//!   into `steps - 1` calls) and, at call `steps`, `done`, or `failure` with an `error`
//!   built from the core's findings (the uploaded CSV is checked with the sandbox's target
//!   and `product` = the record's productType). `fields_mapping_required` (reached after one
//!   `analyzing` call, and kept) is deterministic: the first uploaded file of each
//!   productType stands for the mapping a person made in Data Center; a later file of that
//!   productType whose header differs from it needs a new mapping.
//! - `GET /v1/datacenter/exports?status=Delivered|NotDelivered&productKey=KEY` (names case
//!   sensitive: another spelling is ignored; another status value is a 400) → three fixed
//!   export files (two score-reporter, one prospect), NotDelivered until downloaded.
//! - `GET /v1/datacenter/exports/{uid}/download` → `{downloadUrl}`:
//!   `{sandbox}/s3-export/{productKey}/{name}.csv?AWSAccessKeyId=…&Signature=…`, usable once
//!   and for 60 s (then 403 AccessDenied, as S3). `GET` on it with `Authorization` or
//!   `x-api-key` is a 400. After a download the file is Delivered.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use validator_core::{Options, Report, Session, Severity};

use super::{Ctx, Emulator, Req, Resp, Tokens};

/// The organizations accounts belong to: uid, name, fice.
const ORGS: [(&str, &str, &str); 2] = [
    (
        "03f104b8-dc76-4475-ab8e-f226786edb53",
        "Sample University",
        "SAMPLE",
    ),
    (
        "1e6c6d8e-af30-43ca-a519-395734701eba",
        "Sample University Foundation",
        "SAMPLEF",
    ),
];

/// The stages between the upload and the end, in the seed's order.
const STAGES: [&str; 5] = [
    "analyzing",
    "enqueued",
    "cleansing",
    "ingesting",
    "processing",
];

/// The product types the file record accepts.
const PRODUCT_TYPES: [&str; 3] = ["enrollment", "affinity", "ematch"];

/// One file record.
#[derive(Debug)]
struct Record {
    id: String,
    org: String,
    file_name: String,
    product: String,
    fields: Vec<(String, String)>,
    uploaded: Option<Outcome>,
    rows: u64,
    polls: u32,
}

/// How a record ends, decided when its file arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Done,
    Failure(String),
    Mapping,
}

/// One export file.
#[derive(Debug)]
struct Export {
    uid: String,
    product_key: &'static str,
    name: &'static str,
    rows: u32,
    date: u64,
    delivered: bool,
}

/// One issued download URL.
#[derive(Debug)]
struct Link {
    signature: String,
    uid: String,
    path: String,
    issued: Instant,
    used: bool,
}

/// The emulator's state.
#[derive(Debug)]
pub struct Encoura {
    tokens: Tokens,
    /// Session token → its organizations.
    sessions: Vec<(String, Vec<&'static str>)>,
    records: Vec<Record>,
    /// productType → the header of its first uploaded file (the stored field mapping).
    mappings: Vec<(String, Vec<String>)>,
    exports: Vec<Export>,
    links: Vec<Link>,
    /// How long a download URL works.
    link_lifetime: Duration,
}

impl Default for Encoura {
    fn default() -> Self {
        let export = |n: u32, product_key, name, rows, date| Export {
            uid: format!("5a1e7d30-9c4b-4f2e-8d61-{n:012x}"),
            product_key,
            name,
            rows,
            date,
            delivered: false,
        };
        Encoura {
            tokens: Tokens::default(),
            sessions: Vec::new(),
            records: Vec::new(),
            mappings: Vec::new(),
            exports: vec![
                export(
                    1,
                    "score-reporter",
                    "SAMPLE-UNIVERSITY-03312021-81457.csv",
                    3,
                    1_617_208_672_000,
                ),
                export(
                    2,
                    "prospect",
                    "SAMPLE-UNIVERSITY-PROSPECT-04012021-81502.csv",
                    2,
                    1_617_295_072_000,
                ),
                export(
                    3,
                    "score-reporter",
                    "SAMPLE-UNIVERSITY-04072021-81733.csv",
                    4,
                    1_617_813_472_000,
                ),
            ],
            links: Vec::new(),
            link_lifetime: Duration::from_secs(60),
        }
    }
}

/// An S3-style XML error.
fn s3_error(status: u16, code: &str, message: &str) -> Resp {
    let esc = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Resp::bytes(
        status,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{esc}</Message></Error>"
        )
        .into_bytes(),
    )
}

fn message(status: u16, m: &str) -> Resp {
    Resp::json(status, &json!({ "message": m }))
}

fn sha_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The signature over a presigned POST's fields (all but `x-amz-signature`, in order).
fn signature(secret: &str, fields: &[(String, String)]) -> String {
    let mut parts = vec![secret.to_owned()];
    for (k, v) in fields {
        if k != "x-amz-signature" {
            parts.push(format!("{k}={v}"));
        }
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    sha_hex(&refs)
}

/// Standard base64 (the policy document is base64 JSON, as S3's).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The stage shown at the `poll`-th status call after the upload.
fn stage(outcome: &Outcome, poll: u32, steps: u32) -> String {
    if *outcome == Outcome::Mapping {
        return if poll <= 1 && steps > 1 {
            "analyzing"
        } else {
            "fields_mapping_required"
        }
        .into();
    }
    if poll >= steps {
        return match outcome {
            Outcome::Failure(_) => "failure",
            _ => "done",
        }
        .into();
    }
    // Calls 1 ..= steps-1 spread over the five stages.
    let i = ((poll - 1) as usize * STAGES.len()) / (steps - 1) as usize;
    STAGES[i.min(STAGES.len() - 1)].into()
}

/// The `error` text Encoura would give for the core's findings.
fn failure_text(report: &Report) -> Option<String> {
    let errors: Vec<String> = report
        .files
        .iter()
        .flat_map(|f| f.findings.iter())
        .chain(report.findings.iter())
        .filter(|f| f.severity == Severity::Error)
        .map(|f| {
            let at = match (&f.file, f.row) {
                (Some(file), Some(row)) => format!("{file} row {row}: "),
                (Some(file), None) => format!("{file}: "),
                (None, Some(row)) => format!("row {row}: "),
                (None, None) => String::new(),
            };
            format!("{at}{}", f.message)
        })
        .collect();
    if report.summary.errors == 0 && errors.is_empty() {
        return None;
    }
    let total = report.summary.errors.max(errors.len() as u64);
    let mut shown: Vec<String> = errors.iter().take(5).cloned().collect();
    if total > shown.len() as u64 {
        shown.push(format!("and {} more", total - shown.len() as u64));
    }
    Some(format!(
        "File validation failed with {total} error(s): {}",
        shown.join("; ")
    ))
}

impl Encoura {
    /// The session's organizations, or the refusal.
    fn session(&mut self, req: &Req) -> Result<Vec<&'static str>, Resp> {
        if !self.tokens.valid(req.bearer()) {
            return Err(message(401, "Unauthorized"));
        }
        let token = req.bearer().unwrap_or_default();
        Ok(self
            .sessions
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, o)| o.clone())
            .unwrap_or_default())
    }

    /// The session's organization named by the `Organization` header, or the refusal.
    fn organization(&mut self, req: &Req) -> Result<String, Resp> {
        let orgs = self.session(req)?;
        let Some(org) = req.header("organization") else {
            return Err(message(400, "Organization header is required"));
        };
        if !orgs.contains(&org) {
            return Err(message(
                403,
                &format!("Organization {org} is not one of this user's organizations"),
            ));
        }
        Ok(org.to_owned())
    }

    fn new_session(&mut self, orgs: Vec<&'static str>, ctx: &Ctx<'_>) -> String {
        let token = self.tokens.issue("enc-session", ctx.faults);
        self.sessions.push((token.clone(), orgs));
        token
    }

    fn login(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let Some(Value::Object(body)) = req.json() else {
            return message(400, "a JSON body is required");
        };
        if body.get("acceptedTerms") != Some(&Value::Bool(true)) {
            return message(400, "acceptedTerms must be true");
        }
        let user = body.get("userName").and_then(Value::as_str).unwrap_or("");
        if user.is_empty() {
            return message(400, "userName is required");
        }
        if !ctx.secret_ok(body.get("password").and_then(Value::as_str)) {
            return message(401, "Invalid user name or password");
        }
        let orgs: Vec<&'static str> = if user.to_ascii_lowercase().starts_with("multi") {
            ORGS.iter().map(|o| o.0).collect()
        } else {
            vec![ORGS[0].0]
        };
        let organizations: Vec<Value> = ORGS
            .iter()
            .filter(|o| orgs.contains(&o.0))
            .map(|(uid, name, fice)| json!({"uid": uid, "name": name, "fice": fice, "stateCode": "MO"}))
            .collect();
        let token = self.new_session(orgs, ctx);
        Resp::json(
            200,
            &json!({
                "user": {
                    "uid": "7b0c35d2-5a8e-4f61-9e0d-2b7a1c9f4e11",
                    "type": "User",
                    "userName": user,
                    "firstName": "API",
                    "lastName": "User",
                    "email": user,
                    "status": "Active",
                    "organizations": organizations,
                    "attributes": [],
                },
                "sessionToken": token,
            }),
        )
    }

    fn refresh(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let orgs = match self.session(req) {
            Ok(o) => o,
            Err(r) => return r,
        };
        let token = self.new_session(orgs, ctx);
        Resp::json(200, &json!({ "sessionToken": token }))
    }

    fn create(&mut self, req: &Req, org: String, ctx: &Ctx<'_>) -> Resp {
        let Some(Value::Object(body)) = req.json() else {
            return message(400, "a JSON body is required");
        };
        let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
        let file_name = text("fileName");
        if file_name.is_empty() {
            return message(400, "fileName is required");
        }
        let product = text("productType");
        if !PRODUCT_TYPES.contains(&product) {
            return message(
                400,
                &format!("productType must be one of {}", PRODUCT_TYPES.join(", ")),
            );
        }
        if text("dataSource") != "API" && text("datasource") != "API" {
            return message(400, "dataSource must be API");
        }
        let n = self.records.len() + 1;
        let id = format!("fc618a01-0324-431c-8122-{n:012x}");
        let fice = ORGS.iter().find(|o| o.0 == org).map_or("SAMPLE", |o| o.2);
        let (stem, ext) = file_name.rsplit_once('.').unwrap_or((file_name, "csv"));
        let key = format!("{fice}/{product}/{stem}.{}.{ext}", 1_684_953_687 + n);
        let policy = json!({
            "expiration": "2023-05-24T19:41:28Z",
            "conditions": [
                {"bucket": "enc-file-upload-sandbox"},
                {"key": key},
                {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                ["content-length-range", 1, 1_073_741_824u64],
            ],
        });
        let mut fields: Vec<(String, String)> = vec![
            ("key".into(), key),
            ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
            (
                "x-amz-credential".into(),
                format!("ASIASANDBOX{n:08}/20230524/us-east-1/s3/aws4_request"),
            ),
            ("x-amz-date".into(), "20230524T184128Z".into()),
            (
                "x-amz-security-token".into(),
                format!("IQoJb3JpZ2luX2V{}", &sha_hex(&[ctx.secret, &id])[..48]),
            ),
            ("policy".into(), base64(policy.to_string().as_bytes())),
        ];
        let sig = signature(ctx.secret, &fields);
        fields.push(("x-amz-signature".into(), sig));
        // By hand: the order of `fields` is the point, and `json!` would sort it.
        let fields_json: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), Value::from(v.as_str())))
            .collect();
        let body = format!(
            "{{\"id\": {}, \"url\": {}, \"fields\": {{{}}}}}",
            Value::from(id.as_str()),
            Value::from(format!("{}/s3-upload/", ctx.base)),
            fields_json.join(", ")
        );
        self.records.push(Record {
            id,
            org,
            file_name: file_name.to_owned(),
            product: product.to_owned(),
            fields,
            uploaded: None,
            rows: 0,
            polls: 0,
        });
        Resp::bytes(200, "application/json", body.into_bytes())
    }

    fn s3_upload(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        if req.header("authorization").is_some() || req.header("x-api-key").is_some() {
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; a presigned POST takes no Authorization or x-api-key header",
            );
        }
        let Some(parts) = req.multipart() else {
            return s3_error(
                400,
                "MalformedPOSTRequest",
                "The body of your POST request is not well-formed multipart/form-data.",
            );
        };
        let Some(at) = parts.iter().position(|p| p.name == "file") else {
            return s3_error(
                400,
                "InvalidArgument",
                "POST requires exactly one file upload per request.",
            );
        };
        if let Some(after) = parts.get(at + 1) {
            return s3_error(
                400,
                "InvalidArgument",
                &format!(
                    "field '{}' comes after the file part; S3 ignores fields after the file, so the file must be last",
                    after.name
                ),
            );
        }
        let sent: Vec<(String, String)> = parts[..at]
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    String::from_utf8_lossy(&p.data).into_owned(),
                )
            })
            .collect();
        let key = sent
            .iter()
            .find(|(k, _)| k == "key")
            .map(|(_, v)| v.clone());
        let Some(record) = self
            .records
            .iter_mut()
            .find(|r| Some(&r.fields[0].1) == key.as_ref())
        else {
            return s3_error(
                403,
                "AccessDenied",
                "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$key\", …]",
            );
        };
        for (k, v) in &record.fields {
            match sent.iter().find(|(n, _)| n == k) {
                None => {
                    return s3_error(
                        403,
                        "AccessDenied",
                        &format!("Invalid according to Policy: missing field '{k}'"),
                    );
                }
                Some((_, got)) if got != v => {
                    return s3_error(
                        403,
                        "AccessDenied",
                        &format!(
                            "Invalid according to Policy: field '{k}' is not the value the file record returned"
                        ),
                    );
                }
                Some(_) => {}
            }
        }
        if sent != record.fields {
            return s3_error(
                403,
                "AccessDenied",
                "the fields are not exactly those the file record returned, in its order (the sandbox is stricter than S3 about the order)",
            );
        }
        let sig = sent
            .iter()
            .find(|(k, _)| k == "x-amz-signature")
            .map(|(_, v)| v.as_str());
        if sig != Some(signature(ctx.secret, &sent).as_str()) {
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
        if record.uploaded.is_some() {
            return s3_error(
                403,
                "AccessDenied",
                "this file record already has its file (the sandbox takes one upload per record)",
            );
        }
        let file = &parts[at];
        let name = file
            .file_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| record.file_name.clone());
        let mut options = Options::default();
        options
            .params
            .insert("product".into(), record.product.clone());
        let report = match Session::with_options(ctx.target.clone(), options) {
            Ok(mut s) => {
                let _ = s.push(&name, &file.data);
                let _ = s.finish_file(&name);
                s.finish()
            }
            Err(e) => {
                return s3_error(500, "InternalError", &format!("sandbox target: {e}"));
            }
        };
        let header = report
            .files
            .first()
            .map(|f| f.header.clone())
            .unwrap_or_default();
        record.rows = report.files.first().map_or(0, |f| f.rows);
        let mapped = self
            .mappings
            .iter()
            .find(|(p, _)| *p == record.product)
            .map(|(_, h)| h.clone());
        record.uploaded = Some(match mapped {
            Some(h) if h != header => Outcome::Mapping,
            _ => {
                if mapped.is_none() {
                    self.mappings.push((record.product.clone(), header));
                }
                match failure_text(&report) {
                    Some(t) => Outcome::Failure(t),
                    None => Outcome::Done,
                }
            }
        });
        Resp::empty(204)
    }

    fn file(&mut self, id: &str, org: &str, ctx: &Ctx<'_>) -> Resp {
        let Some(r) = self.records.iter_mut().find(|r| r.id == id && r.org == org) else {
            return message(404, "File not found");
        };
        let (status, error) = match &r.uploaded {
            None => ("uploading".to_owned(), Value::Null),
            Some(outcome) => {
                r.polls += 1;
                let s = stage(outcome, r.polls, ctx.steps);
                let e = match outcome {
                    Outcome::Failure(t) if s == "failure" => Value::from(t.as_str()),
                    _ => Value::Null,
                };
                (s, e)
            }
        };
        let key = r.fields[0].1.clone();
        Resp::json(
            200,
            &json!({
                "id": r.id,
                "fileName": r.file_name,
                "filePath": key,
                "productType": r.product,
                "status": status,
                "userName": "API-User",
                "uploadDate": "2023-05-24T18:41:28.074369",
                "recordVolume": r.rows,
                "meta": {},
                "fieldsMap": null,
                "valuesMap": null,
                "dataSource": "API",
                "error": error,
            }),
        )
    }

    fn export_list(&self, req: &Req, org: &str) -> Resp {
        let status = req.query("status");
        if let Some(s) = status
            && s != "Delivered"
            && s != "NotDelivered"
        {
            return message(400, "status must be Delivered or NotDelivered");
        }
        let product = req.query("productKey");
        let list: Vec<Value> = self
            .exports
            .iter()
            .filter(|e| product.is_none_or(|p| p == e.product_key))
            .filter(|e| match status {
                Some("Delivered") => e.delivered,
                Some(_) => !e.delivered,
                None => true,
            })
            .map(|e| {
                json!({
                    "uid": e.uid,
                    "fice": "SAMPLE",
                    "organizationUid": org,
                    "productKey": e.product_key,
                    "purchaseItems": [],
                    "status": if e.delivered { "Delivered" } else { "NotDelivered" },
                    "listGenerated": true,
                    "listPath": format!("list-{}", &e.uid[24..]),
                    "quantity": e.rows,
                    "costInPoints": 0,
                    "costInDollars": 0,
                    "date": e.date,
                    "deliveries": [],
                    "created": {
                        "createdBy": {"uid": "1e6c6d8e-af30-43ca-a519-395734701eba", "name": "", "type": ""},
                        "createdAt": e.date,
                    },
                    "isExpired": false,
                    "overdueEmailSentAt": e.date + 86_400_000,
                    "isContinuous": false,
                })
            })
            .collect();
        Resp::json(200, &Value::Array(list))
    }

    fn download_link(&mut self, uid: &str, ctx: &Ctx<'_>) -> Resp {
        let Some(e) = self.exports.iter().find(|e| e.uid == uid) else {
            return message(404, "Export file not found");
        };
        let n = self.links.len() + 1;
        let sig = sha_hex(&[ctx.secret, uid, &n.to_string()])[..40].to_owned();
        let path = format!("/s3-export/{}/{}", e.product_key, e.name);
        let url = format!(
            "{}{path}?AWSAccessKeyId=AKIASANDBOXEXPORTS&Signature={sig}",
            ctx.base
        );
        self.links.push(Link {
            signature: sig,
            uid: uid.to_owned(),
            path,
            issued: Instant::now(),
            used: false,
        });
        Resp::json(200, &json!({ "downloadUrl": url }))
    }

    fn s3_download(&mut self, req: &Req) -> Resp {
        if req.header("authorization").is_some() || req.header("x-api-key").is_some() {
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; a presigned URL takes no Authorization or x-api-key header",
            );
        }
        let sig = req.query("Signature").unwrap_or_default();
        let lifetime = self.link_lifetime;
        let Some(link) = self
            .links
            .iter_mut()
            .find(|l| l.signature == sig && !sig.is_empty())
        else {
            return s3_error(403, "AccessDenied", "Access Denied");
        };
        if link.path != req.path {
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
        if link.used {
            return s3_error(
                403,
                "AccessDenied",
                "Access Denied (the download URL was already used)",
            );
        }
        if link.issued.elapsed() >= lifetime {
            return s3_error(403, "AccessDenied", "Request has expired");
        }
        link.used = true;
        let uid = link.uid.clone();
        let Some(e) = self.exports.iter_mut().find(|e| e.uid == uid) else {
            return s3_error(404, "NoSuchKey", "The specified key does not exist.");
        };
        e.delivered = true;
        Resp::bytes(200, "text/csv", export_csv(e).into_bytes())
    }
}

/// An export file's content, made up but fixed.
fn export_csv(e: &Export) -> String {
    const FIRST: [&str; 5] = ["Ana", "Ben", "Chloe", "Dev", "Eun"];
    const LAST: [&str; 5] = ["Ruiz", "Okafor", "Ng", "Patel", "Kim"];
    let tag: u32 = e.uid[24..].parse().unwrap_or(0);
    let mut s = String::from(
        "\"ACT_ID\",\"FIRST_NAME\",\"LAST_NAME\",\"EMAIL\",\"HS_CEEB\",\"GRAD_YEAR\",\"SOURCE\"\r\n",
    );
    for i in 0..e.rows {
        let k = ((tag + i) % 5) as usize;
        s.push_str(&format!(
            "\"{:08}\",\"{}\",\"{}\",\"{}.{}@example.org\",\"14{:04}\",\"{}\",\"{}\"\r\n",
            tag * 1000 + i,
            FIRST[k],
            LAST[k],
            FIRST[k].to_ascii_lowercase(),
            LAST[k].to_ascii_lowercase(),
            1234 + i,
            2026 + (i % 2),
            e.product_key
        ));
    }
    s
}

impl Emulator for Encoura {
    fn handle(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let seg = req.segments();
        let method = req.method.as_str();
        match seg.as_slice() {
            ["s3-upload"] if method == "POST" => return self.s3_upload(req, ctx),
            ["s3-export", _, _] if method == "GET" => return self.s3_download(req),
            ["v1", ..] => {}
            _ => return Resp::not_found(),
        }
        if !ctx.secret_ok(req.header("x-api-key")) {
            return message(403, "Forbidden");
        }
        match (method, &seg[1..]) {
            ("POST", ["login"]) => self.login(req, ctx),
            ("GET", ["refresh-token"]) => self.refresh(req, ctx),
            ("POST", ["files", "upload"])
            | ("GET", ["files", _])
            | ("GET", ["datacenter", "exports"])
            | ("GET", ["datacenter", "exports", _, "download"]) => {
                let org = match self.organization(req) {
                    Ok(o) => o,
                    Err(r) => return r,
                };
                match &seg[1..] {
                    ["files", "upload"] => self.create(req, org, ctx),
                    ["files", id] => self.file(id, &org, ctx),
                    ["datacenter", "exports"] => self.export_list(req, &org),
                    [_, _, uid, _] => self.download_link(uid, ctx),
                    _ => Resp::not_found(),
                }
            }
            _ => Resp::not_found(),
        }
    }

    fn is_upload(&self, req: &Req) -> bool {
        req.method == "POST" && req.segments() == ["s3-upload"]
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[
            "authorization",
            "x-api-key",
            "password",
            "x-amz-security-token",
            "x-amz-signature",
            "signature",
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::path::Path;

    use super::*;
    use crate::multipart::Form;
    use crate::sandbox::Faults;

    const SECRET: &str = "unit-test-secret-71c";
    const ORG: &str = "03f104b8-dc76-4475-ab8e-f226786edb53";

    struct Env {
        faults: Faults,
        target: validator_core::Target,
    }

    fn env() -> Env {
        let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encoura/layout.toml");
        Env {
            faults: Faults::default(),
            target: crate::target::load("", Some(&layout)).unwrap(),
        }
    }

    fn ctx(e: &Env) -> Ctx<'_> {
        Ctx {
            base: "http://127.0.0.1:9",
            faults: &e.faults,
            steps: 3,
            secret: SECRET,
            target: &e.target,
        }
    }

    fn req(method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Req {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Req {
            method: method.into(),
            path: path.into(),
            query: super::super::decode_pairs(query),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            body,
        }
    }

    /// Logs in; the headers of an API call with that session.
    fn session(emu: &mut Encoura, c: &Ctx<'_>) -> String {
        let r = emu.handle(
            &req(
                "POST",
                "/v1/login",
                &[("x-api-key", SECRET)],
                json!({"userName": "u@x.edu", "password": SECRET, "acceptedTerms": true})
                    .to_string()
                    .into_bytes(),
            ),
            c,
        );
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        v["sessionToken"].as_str().unwrap().to_owned()
    }

    fn api(token: &str) -> Vec<(String, String)> {
        vec![
            ("x-api-key".into(), SECRET.into()),
            ("authorization".into(), format!("Bearer {token}")),
            ("organization".into(), ORG.into()),
        ]
    }

    fn call(
        emu: &mut Encoura,
        c: &Ctx<'_>,
        method: &str,
        path: &str,
        token: &str,
        body: Value,
    ) -> Resp {
        let h = api(token);
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        emu.handle(&req(method, path, &h, body), c)
    }

    /// Creates a record; its id and fields in the order answered.
    fn record(emu: &mut Encoura, c: &Ctx<'_>, token: &str) -> (String, Vec<(String, String)>) {
        let r = call(
            emu,
            c,
            "POST",
            "/v1/files/upload",
            token,
            json!({"fileName": "students.csv", "productType": "enrollment", "datasource": "API"}),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let created: serde_json::Map<String, Value> = serde_json::from_slice(&r.body).unwrap();
        // The order as written, which a sorted map would lose.
        let text = String::from_utf8(r.body.clone()).unwrap();
        let mut fields: Vec<(String, String)> = created["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        fields.sort_by_key(|(k, _)| text.find(&format!("\"{k}\"")).unwrap());
        (created["id"].as_str().unwrap().to_owned(), fields)
    }

    /// Form parts in order; a `None` value is the file.
    type Parts = Vec<(String, Option<String>)>;

    /// The fields as parts, verbatim.
    fn parts(fields: &[(String, String)]) -> Parts {
        fields
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect()
    }

    /// `p` with the file part last.
    fn file_last(mut p: Parts) -> Parts {
        p.push(("file".into(), None));
        p
    }

    /// A presigned POST with these parts and extra headers.
    fn s3_post(parts: &[(String, Option<String>)], csv: &str, headers: &[(&str, &str)]) -> Req {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("students.csv");
        std::fs::write(&path, csv).unwrap();
        let mut form = Form::new();
        for (k, v) in parts {
            form = match v {
                Some(v) => form.text(k, v),
                None => form.file(k, path.clone(), "students.csv", "text/csv"),
            };
        }
        let (_, mut r) = form.body().unwrap();
        let mut body = Vec::new();
        r.read_to_end(&mut body).unwrap();
        let ct = form.content_type();
        let mut h: Vec<(&str, &str)> = vec![("content-type", ct.as_str())];
        h.extend_from_slice(headers);
        req("POST", "/s3-upload/", &h, body)
    }

    const GOOD: &str = "\"STUDENT_ID\",\"FIRST_NAME\",\"LAST_NAME\",\"ENROLL_STATUS\"\r\n\"S1\",\"Ana\",\"Ruiz\",\"admitted\"\r\n";

    #[test]
    fn the_emulated_s3_takes_only_the_fields_verbatim_in_order_with_the_file_last() {
        let e = env();
        let c = ctx(&e);
        let mut emu = Encoura::default();
        let token = session(&mut emu, &c);
        let (id, fields) = record(&mut emu, &c, &token);
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "key",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "x-amz-security-token",
                "policy",
                "x-amz-signature"
            ]
        );
        let verbatim = parts(&fields);
        let refuse =
            |emu: &mut Encoura, p: Parts, headers: &[(&str, &str)], status: u16, says: &str| {
                let resp = emu.handle(&s3_post(&p, GOOD, headers), &c);
                let body = String::from_utf8_lossy(&resp.body).into_owned();
                assert_eq!(resp.status, status, "{body}");
                assert!(body.contains(says), "{body}");
            };
        // A field after the file.
        let mut after = file_last(verbatim[..6].to_vec());
        after.push(verbatim[6].clone());
        refuse(&mut emu, after, &[], 400, "comes after the file part");
        // A missing field.
        refuse(
            &mut emu,
            file_last(verbatim[1..].to_vec()),
            &[],
            403,
            "AccessDenied",
        );
        let mut no_token = verbatim.clone();
        no_token.remove(4);
        refuse(
            &mut emu,
            file_last(no_token),
            &[],
            403,
            "missing field 'x-amz-security-token'",
        );
        // A changed field.
        let mut changed = verbatim.clone();
        changed[3].1 = Some("20230525T000000Z".into());
        refuse(
            &mut emu,
            file_last(changed),
            &[],
            403,
            "field 'x-amz-date' is not the value",
        );
        // Sorted, as a BTreeMap would have them.
        let mut sorted = verbatim.clone();
        sorted.sort();
        refuse(&mut emu, file_last(sorted), &[], 403, "in its order");
        // Our API headers have no business at S3.
        let all = file_last(verbatim);
        refuse(
            &mut emu,
            all.clone(),
            &[("x-api-key", SECRET)],
            400,
            "Only one auth mechanism",
        );
        refuse(
            &mut emu,
            all.clone(),
            &[("authorization", "Bearer x")],
            400,
            "Only one auth mechanism",
        );
        // Still uploading: none of the above arrived.
        let r = call(
            &mut emu,
            &c,
            "GET",
            &format!("/v1/files/{id}"),
            &token,
            Value::Null,
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["status"], "uploading");
        // Verbatim, in order, file last.
        assert_eq!(emu.handle(&s3_post(&all, GOOD, &[]), &c).status, 204);
        refuse(&mut emu, all, &[], 403, "already has its file");
        let states: Vec<String> = (0..4)
            .map(|_| {
                let r = call(
                    &mut emu,
                    &c,
                    "GET",
                    &format!("/v1/files/{id}"),
                    &token,
                    Value::Null,
                );
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                v["status"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(states, ["analyzing", "cleansing", "done", "done"]);
    }

    #[test]
    fn errors_end_in_failure_and_another_header_needs_a_mapping() {
        let e = env();
        let c = ctx(&e);
        let mut emu = Encoura::default();
        let token = session(&mut emu, &c);
        let mut upload = |csv: &str| {
            let (id, fields) = record(&mut emu, &c, &token);
            let p = file_last(parts(&fields));
            assert_eq!(emu.handle(&s3_post(&p, csv, &[]), &c).status, 204);
            let last: Vec<Value> = (0..3)
                .map(|_| {
                    let r = call(
                        &mut emu,
                        &c,
                        "GET",
                        &format!("/v1/files/{id}"),
                        &token,
                        Value::Null,
                    );
                    serde_json::from_slice(&r.body).unwrap()
                })
                .collect();
            last
        };
        let bad = GOOD.replace("admitted", "maybe");
        let v = upload(&bad);
        assert_eq!(v[2]["status"], "failure");
        let error = v[2]["error"].as_str().unwrap();
        assert!(
            error.contains("students.csv row 2: ") && error.contains("`maybe`"),
            "{error}"
        );
        assert!(v[1]["error"].is_null());
        // Same header as the first file of the product: fine.
        assert_eq!(upload(GOOD)[2]["status"], "done");
        // Another header.
        let other = "\"STUDENT_ID\",\"LAST_NAME\",\"FIRST_NAME\",\"ENROLL_STATUS\"\r\n\"S1\",\"Ruiz\",\"Ana\",\"admitted\"\r\n";
        let v = upload(other);
        let states: Vec<&str> = v.iter().map(|x| x["status"].as_str().unwrap()).collect();
        assert_eq!(
            states,
            [
                "analyzing",
                "fields_mapping_required",
                "fields_mapping_required"
            ]
        );
    }

    #[test]
    fn a_download_url_works_once_and_not_for_long() {
        let e = env();
        let c = ctx(&e);
        let mut emu = Encoura::default();
        let token = session(&mut emu, &c);
        let uid = "5a1e7d30-9c4b-4f2e-8d61-000000000002";
        let link = |emu: &mut Encoura| {
            let r = call(
                emu,
                &c,
                "GET",
                &format!("/v1/datacenter/exports/{uid}/download"),
                &token,
                Value::Null,
            );
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            v["downloadUrl"]
                .as_str()
                .unwrap()
                .strip_prefix(c.base)
                .unwrap()
                .to_owned()
        };
        let get = |emu: &mut Encoura, path: &str, h: &[(&str, &str)]| {
            emu.handle(&req("GET", path, h, Vec::new()), &c)
        };
        let url = link(&mut emu);
        assert_eq!(get(&mut emu, &url, &[("x-api-key", SECRET)]).status, 400);
        let r = get(&mut emu, &url, &[]);
        assert_eq!(r.status, 200);
        assert!(String::from_utf8_lossy(&r.body).starts_with("\"ACT_ID\""));
        assert_eq!(get(&mut emu, &url, &[]).status, 403, "a second use");
        // Delivered now: gone from NotDelivered, listed as Delivered.
        let list = |emu: &mut Encoura, q: &str| -> Vec<Value> {
            let r = call(
                emu,
                &c,
                "GET",
                &format!("/v1/datacenter/exports?{q}"),
                &token,
                Value::Null,
            );
            serde_json::from_slice(&r.body).unwrap()
        };
        assert_eq!(list(&mut emu, "status=NotDelivered").len(), 2);
        assert_eq!(list(&mut emu, "status=Delivered")[0]["uid"], uid);
        assert_eq!(
            list(&mut emu, "status=NotDelivered&productKey=score-reporter").len(),
            2
        );
        let r = call(
            &mut emu,
            &c,
            "GET",
            "/v1/datacenter/exports?status=notdelivered",
            &token,
            Value::Null,
        );
        assert_eq!(r.status, 400);
        // Expired.
        emu.link_lifetime = Duration::ZERO;
        let url = link(&mut emu);
        let r = get(&mut emu, &url, &[]);
        assert_eq!(r.status, 403);
        assert!(String::from_utf8_lossy(&r.body).contains("expired"));
    }

    #[test]
    fn the_api_wants_its_key_a_session_and_an_organization() {
        let e = env();
        let c = ctx(&e);
        let mut emu = Encoura::default();
        let login = |emu: &mut Encoura, key: &str, body: Value| {
            emu.handle(
                &req(
                    "POST",
                    "/v1/login",
                    &[("x-api-key", key)],
                    body.to_string().into_bytes(),
                ),
                &c,
            )
            .status
        };
        assert_eq!(
            login(
                &mut emu,
                "wrong",
                json!({"userName": "u", "password": SECRET, "acceptedTerms": true})
            ),
            403
        );
        assert_eq!(
            login(
                &mut emu,
                SECRET,
                json!({"userName": "u", "password": "wrong", "acceptedTerms": true})
            ),
            401
        );
        assert_eq!(
            login(
                &mut emu,
                SECRET,
                json!({"userName": "u", "password": SECRET})
            ),
            400
        );
        assert_eq!(
            login(
                &mut emu,
                SECRET,
                json!({"userName": "u", "password": SECRET, "acceptedTerms": "true"})
            ),
            400
        );
        let token = session(&mut emu, &c);
        assert_eq!(
            call(
                &mut emu,
                &c,
                "GET",
                "/v1/datacenter/exports",
                "nope",
                Value::Null
            )
            .status,
            401
        );
        let h = [
            ("x-api-key", SECRET),
            ("authorization", &*format!("Bearer {token}")),
        ];
        assert_eq!(
            emu.handle(&req("GET", "/v1/datacenter/exports", &h, Vec::new()), &c)
                .status,
            400
        );
        let h = [
            ("x-api-key", SECRET),
            ("authorization", &*format!("Bearer {token}")),
            ("organization", "1e6c6d8e-af30-43ca-a519-395734701eba"),
        ];
        assert_eq!(
            emu.handle(&req("GET", "/v1/datacenter/exports", &h, Vec::new()), &c)
                .status,
            403
        );
        // Refresh: a new token that works.
        let h = [
            ("x-api-key", SECRET),
            ("authorization", &*format!("Bearer {token}")),
        ];
        let r = emu.handle(&req("GET", "/v1/refresh-token", &h, Vec::new()), &c);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        let new = v["sessionToken"].as_str().unwrap();
        assert_ne!(new, token);
        assert_eq!(
            call(
                &mut emu,
                &c,
                "GET",
                "/v1/datacenter/exports",
                new,
                Value::Null
            )
            .status,
            200
        );
        // The file record's body.
        let bad = |emu: &mut Encoura, body: Value| {
            call(emu, &c, "POST", "/v1/files/upload", new, body).status
        };
        assert_eq!(
            bad(
                &mut emu,
                json!({"fileName": "a.csv", "productType": "crm", "dataSource": "API"})
            ),
            400
        );
        assert_eq!(
            bad(
                &mut emu,
                json!({"fileName": "a.csv", "productType": "ematch"})
            ),
            400
        );
        assert_eq!(
            bad(
                &mut emu,
                json!({"productType": "ematch", "dataSource": "API"})
            ),
            400
        );
        assert_eq!(
            bad(
                &mut emu,
                json!({"fileName": "a.csv", "productType": "ematch", "dataSource": "API"})
            ),
            200
        );
    }

    #[test]
    fn stages_are_spread_over_the_steps() {
        let run = |steps: u32| -> Vec<String> {
            (1..=steps)
                .map(|p| stage(&Outcome::Done, p, steps))
                .collect()
        };
        assert_eq!(run(1), ["done"]);
        assert_eq!(run(3), ["analyzing", "cleansing", "done"]);
        assert_eq!(
            run(6),
            [
                "analyzing",
                "enqueued",
                "cleansing",
                "ingesting",
                "processing",
                "done"
            ]
        );
        assert_eq!(stage(&Outcome::Failure("x".into()), 3, 3), "failure");
        assert_eq!(stage(&Outcome::Mapping, 1, 1), "fields_mapping_required");
    }

    #[test]
    fn base64_is_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
