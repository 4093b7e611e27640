//! Encoura Data Lab (seed 002): an API key plus a 20-minute session, a presigned S3 upload
//! of one CSV, and the Data Center file exports.
//!
//! Every request to `{base}` (default `https://api-datalab.encoura.org/v1`) carries
//! `x-api-key: <api key>`; every one but the login also carries
//! `Authorization: Bearer <sessionToken>`, and the file and export calls carry
//! `Organization: <uid>`. The two S3 calls (the presigned POST and the one-time download
//! URL) carry neither the key nor the session: they are S3's, signed by their own fields.
//!
//! Session
//! 1. `POST {base}/login`, JSON `{"userName", "password", "acceptedTerms": true}`
//!    → `{sessionToken, user: {organizations: [{uid, name, …}]}}`. The organization is the
//!    profile's `organization`, else the only one the login lists (several: an error that
//!    names them all). Retried like any idempotent call (logging in twice is harmless).
//! 2. `GET {base}/refresh-token` with `Authorization: Bearer <old token>` → `{sessionToken}`,
//!    once the session is 18 minutes old (it lives 20); past 20 minutes, or when the refresh
//!    is refused, a new login instead. Any call answered 401 logs in again once and is sent
//!    again. Every session token is a [`Secret`].
//!
//! Upload (`submit`)
//! 3. `POST {base}/files/upload`, JSON `{"fileName", "productType", "dataSource": "API",
//!    "datasource": "API", "fileDescription"}` → `{id, url, fields: {key, x-amz-algorithm,
//!    x-amz-credential, x-amz-date, x-amz-security-token, policy, x-amz-signature}}`.
//!    The seed's heading says "Request GET", but its curl example sends a JSON body with
//!    `--data` and no `-X`, which curl sends as a POST, and a GET with a body is not
//!    something API gateways pass on: POST it is. The seed's table writes `dataSource`,
//!    its example `datasource`; both are sent, on purpose, so that whichever spelling the
//!    service reads finds `API` (JSON ignores a key it does not know).
//! 4. `POST <url>` (S3 presigned POST), `multipart/form-data`: every returned field as a
//!    text part, verbatim and in the order the answer lists them, then the CSV in part
//!    `file`, last (S3 ignores fields after the file). The workspace's `serde_json` does not
//!    enable `preserve_order` (its maps are sorted), so `fields` is read with its own
//!    visitor ([`Fields`]) into a list of pairs in document order. A returned field named
//!    `file` (the seed's table lists one) is not sent as text: the file part is `file`.
//!    Success is 204 (any 2xx is taken). The import id is the file record's `id`.
//!    The security token and signature fields are registered as secrets.
//!
//!    A lost answer to step 3 is reported as a plain failure (the file was not sent; at most
//!    an empty record stays in `uploading`), so `submit` can simply be run again. A lost
//!    answer to step 4 is what `submit` journals as unconfirmed; [`Platform::recover`] then
//!    reads the record's status: past `uploading` means S3 did take the file.
//! 5. `GET {base}/files/{id}` → `status`: `uploading` (queued: the file has not arrived),
//!    `analyzing`, `enqueued`, `cleansing`, `ingesting`, `processing` (running), `done`
//!    (succeeded), `failure` (failed; the `error` field is the problem), `canceled` (failed:
//!    a user canceled it in Data Center), `fields_mapping_required` (a person must map the
//!    fields in Data Center before it can go on). Any other value is an error naming it.
//!    `enqueued` counts as running rather than queued: a queue can legitimately be long,
//!    and "queued" makes `--wait` give up after `not_started_seconds`.
//!
//! Exports (`exports list`, `exports download`)
//! 6. `GET {base}/datacenter/exports?status=NotDelivered[&productKey=KEY]` (the parameter
//!    names are case sensitive) → `[{uid, productKey, status, quantity, date, …}]`.
//!    `productKey` is passed through unchecked: the seed's list of keys is dated.
//! 7. Per file not yet in the folder's manifest: `GET {base}/datacenter/exports/{uid}/download`
//!    → `{downloadUrl}` (also read as `downloadURL`, the table's spelling). The seed's
//!    table writes the path `/datacenter/<uid>/download`, its curl example
//!    `/datacenter/exports/<file-uid>/download`; the example is followed, being a complete
//!    request and consistent with the list endpoint it belongs to. The URL is asked for just
//!    before it is used (it expires after about a minute) and registered as a secret (it is
//!    a bearer credential).
//! 8. `GET <downloadUrl>` with no headers of ours, once (one-time URL: never retried),
//!    streamed into a temporary file in the folder while its SHA-256 is computed, fsynced,
//!    then renamed to the URL path's last segment (sanitised; `name-2.ext`, … when a
//!    different file already has the name). A failure removes the temporary file. The
//!    manifest `DIR/.preflight-exports.json` (rewritten atomically, temp + rename) records
//!    uid, file, bytes, sha256 and time, and a uid it lists is never downloaded again.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use validator_core::Severity;

use super::{Listed, Phase, Platform, Problem, Status, Upload, base_url};
use crate::config::Loaded;
use crate::error::{Error, Failure};
use crate::http::{Body, Http, Request, Response};
use crate::multipart::Form;
use crate::secrets::Secret;

/// The documented API host.
pub const API: &str = "https://api-datalab.encoura.org/v1";
/// Where a person maps an upload's fields (the seed's Data Center upload page).
pub const DATA_CENTER: &str = "https://datalab.encoura.org/DataCenter/FileUpload";
/// The documented `productType` values of uploads.
pub const PRODUCT_TYPES: [&str; 3] = ["enrollment", "affinity", "ematch"];
/// The manifest of downloaded exports, in the destination folder.
pub const MANIFEST: &str = ".preflight-exports.json";
/// How long a session lives (seed: 20 minutes).
const SESSION_LIFE: Duration = Duration::from_secs(20 * 60);
/// Age at which a session is refreshed, leaving two minutes of margin.
const REFRESH_AFTER: Duration = Duration::from_secs(18 * 60);

/// The Encoura flow.
#[derive(Debug)]
pub struct Encoura {
    http: Http,
    profile: Loaded,
    base: String,
    api_key: Secret,
    username: String,
    password: Secret,
    /// The profile's organization, or the one the login chose.
    organization: Option<String>,
    /// The productType of uploads (validated when given).
    product: Option<String>,
    session: Option<Session>,
    /// Session age at which it is refreshed ([`REFRESH_AFTER`]; tests shorten it).
    refresh_after: Duration,
    /// The last upload sent to S3 (sha256, file record id), for [`Platform::recover`].
    pending: Option<(String, String)>,
}

#[derive(Debug)]
struct Session {
    token: Secret,
    since: Instant,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginAnswer {
    session_token: String,
    #[serde(default)]
    user: Option<User>,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    organizations: Vec<Organization>,
}

#[derive(Deserialize)]
struct Organization {
    uid: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Refreshed {
    session_token: String,
}

/// The file record: where and how to upload.
#[derive(Deserialize)]
struct Created {
    id: Value,
    url: String,
    #[serde(default)]
    fields: Fields,
}

/// The presigned POST's fields, in the order the answer lists them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fields(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of form fields")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fields, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    let v = match v {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => {
                            return Err(serde::de::Error::custom(format!(
                                "field '{k}' is not a text value: {other}"
                            )));
                        }
                    };
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
            fn visit_unit<E>(self) -> Result<Fields, E> {
                Ok(Fields::default())
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FileState {
    status: String,
    #[serde(default)]
    error: Value,
    #[serde(default)]
    file_name: Option<String>,
}

/// One export file as the list gives it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportFile {
    uid: String,
    #[serde(default)]
    product_key: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    quantity: Value,
    #[serde(default)]
    date: Value,
    #[serde(default)]
    is_expired: Option<bool>,
}

#[derive(Deserialize)]
struct DownloadLink {
    #[serde(rename = "downloadUrl", alias = "downloadURL")]
    download_url: String,
}

/// What a folder's manifest says was downloaded there.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    files: Vec<Downloaded>,
}

/// One downloaded export file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Downloaded {
    uid: String,
    #[serde(rename = "productKey", default)]
    product_key: Option<String>,
    file: String,
    bytes: u64,
    sha256: String,
    /// Unix seconds.
    time: u64,
    /// The same, for people.
    when: String,
}

impl Encoura {
    /// From a profile: `username`, `password_env`, `api_key_env`, optional `base_url`,
    /// `organization` and `product` (the upload's productType; `submit` needs it).
    pub fn new(profile: &Loaded, http: Http) -> Result<Encoura, Error> {
        let p = &profile.profile;
        let product = match p.product.as_deref() {
            None | Some("") => None,
            Some(v) if PRODUCT_TYPES.contains(&v) => Some(v.to_owned()),
            Some(v) => {
                return Err(profile.bad(format!(
                    "`product` '{v}' is not an Encoura productType (one of {}, lower case)",
                    PRODUCT_TYPES.join(", ")
                )));
            }
        };
        Ok(Encoura {
            http,
            base: base_url(profile, API),
            api_key: profile.secret("api_key_env", &p.api_key_env)?,
            username: profile.need("username", &p.username)?.to_owned(),
            password: profile.secret("password_env", &p.password_env)?,
            organization: p.organization.clone().filter(|o| !o.is_empty()),
            product,
            session: None,
            refresh_after: REFRESH_AFTER,
            pending: None,
            profile: profile.clone(),
        })
    }

    /// Logs in, keeps the session, and settles the organization.
    fn login(&mut self) -> Result<Secret, Error> {
        self.session = None;
        let req = Request::post(format!("{}/login", self.base))
            .what("login")
            .idempotent()
            .header("x-api-key", self.api_key.expose())
            .body(Body::Json(json!({
                "userName": self.username,
                "password": self.password.expose(),
                "acceptedTerms": true,
            })));
        let answer: LoginAnswer = self.http.send(&req)?.success()?.json()?;
        if answer.session_token.is_empty() {
            return Err(bad_answer("login", "the answer has no sessionToken"));
        }
        let token = Secret::new(answer.session_token);
        let orgs = answer.user.map(|u| u.organizations).unwrap_or_default();
        let listed = || {
            orgs.iter()
                .map(|o| format!("{} ({})", o.name.as_deref().unwrap_or("unnamed"), o.uid))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.organization {
            Some(org) if !orgs.is_empty() && !orgs.iter().any(|o| &o.uid == org) => {
                return Err(self.profile.bad(format!(
                    "`organization` {org} is not one of this account's organizations: {}",
                    listed()
                )));
            }
            Some(_) => {}
            None => match orgs.as_slice() {
                [one] => self.organization = Some(one.uid.clone()),
                [] => {
                    return Err(self.profile.bad(
                        "the login lists no organization; set `organization` to your Organization ID".into(),
                    ));
                }
                _ => {
                    return Err(self.profile.bad(format!(
                        "this account belongs to several organizations; set `organization` to one uid: {}",
                        listed()
                    )));
                }
            },
        }
        self.session = Some(Session {
            token: token.clone(),
            since: Instant::now(),
        });
        Ok(token)
    }

    /// `GET /refresh-token` with the current token; the new token replaces it.
    fn refresh(&mut self, old: &Secret) -> Result<Secret, Error> {
        let req = Request::get(format!("{}/refresh-token", self.base))
            .what("session refresh")
            .header("x-api-key", self.api_key.expose())
            .bearer(old);
        let r: Refreshed = self.http.send(&req)?.success()?.json()?;
        if r.session_token.is_empty() {
            return Err(bad_answer(
                "session refresh",
                "the answer has no sessionToken",
            ));
        }
        let token = Secret::new(r.session_token);
        self.session = Some(Session {
            token: token.clone(),
            since: Instant::now(),
        });
        Ok(token)
    }

    /// A session token that is good for a while: the current one, refreshed once it is
    /// [`REFRESH_AFTER`] old, or a new login.
    fn token(&mut self) -> Result<Secret, Error> {
        if let Some(s) = &self.session {
            let age = s.since.elapsed();
            if age < self.refresh_after {
                return Ok(s.token.clone());
            }
            if age < SESSION_LIFE {
                let old = s.token.clone();
                match self.refresh(&old) {
                    Ok(t) => return Ok(t),
                    // Refused (expired after all): log in again below.
                    Err(Error::Http {
                        failure: Failure::Status(401 | 403),
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.login()
    }

    /// Sends an API call with the key, the session and the organization; on 401 logs in
    /// again once and sends it again.
    fn authorized(&mut self, req: &Request) -> Result<Response, Error> {
        let token = self.token()?;
        let resp = self.http.send(&self.with_session(req, &token))?;
        if resp.status != 401 {
            return resp.success();
        }
        let token = self.login()?;
        self.http.send(&self.with_session(req, &token))?.success()
    }

    fn with_session(&self, req: &Request, token: &Secret) -> Request {
        let mut r = req
            .clone()
            .header("x-api-key", self.api_key.expose())
            .bearer(token);
        if let Some(org) = &self.organization {
            r = r.header("Organization", org);
        }
        r
    }

    /// The export files the platform lists as not delivered, optionally of one productKey.
    fn export_files(&mut self, product: Option<&str>) -> Result<Vec<ExportFile>, Error> {
        let mut req = Request::get(format!("{}/datacenter/exports", self.base))
            .what("export list request")
            .query("status", "NotDelivered");
        if let Some(p) = product.filter(|p| !p.is_empty()) {
            req = req.query("productKey", p);
        }
        self.authorized(&req)?.json()
    }

    /// Export files not yet delivered.
    pub fn exports(&mut self, product: Option<&str>) -> Result<Vec<Listed>, Error> {
        Ok(self
            .export_files(product)?
            .into_iter()
            .map(|f| {
                let state = f.status.unwrap_or_else(|| "NotDelivered".into());
                let quantity = match &f.quantity {
                    Value::Number(n) => format!(" ({n} records)"),
                    _ => String::new(),
                };
                Listed {
                    id: f.uid,
                    state: if f.is_expired == Some(true) {
                        format!("{state} (expired)")
                    } else {
                        state
                    },
                    created: format_date(&f.date),
                    file: format!("{}{quantity}", f.product_key.as_deref().unwrap_or("?")),
                }
            })
            .collect())
    }

    /// Downloads every export file not yet delivered into `dir`; one line per file.
    pub fn download(&mut self, dir: &Path, product: Option<&str>) -> Result<Vec<String>, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.display().to_string(),
            source,
        })?;
        let mut manifest = Manifest::load(dir)?;
        let mut lines = Vec::new();
        for f in self.export_files(product)? {
            if manifest.files.iter().any(|d| d.uid == f.uid) {
                eprintln!(
                    "preflight: export {} is already in {} (downloaded before): skipped",
                    f.uid,
                    dir.join(MANIFEST).display()
                );
                continue;
            }
            if f.status.as_deref().is_some_and(|s| s != "NotDelivered") {
                continue;
            }
            let url = self.download_url(&f.uid)?;
            let saved = save(&self.http, dir, &url, &f.uid)?;
            lines.push(format!(
                "{}  {} bytes  sha256 {}",
                saved.file, saved.bytes, saved.sha256
            ));
            let time = crate::journal::now();
            manifest.files.push(Downloaded {
                uid: f.uid,
                product_key: f.product_key,
                file: saved.file,
                bytes: saved.bytes,
                sha256: saved.sha256,
                time,
                when: crate::journal::format_time(time),
            });
            manifest.store(dir)?;
        }
        Ok(lines)
    }

    /// Asks for a file's one-time download URL (a secret from now on).
    fn download_url(&mut self, uid: &str) -> Result<Secret, Error> {
        let req = Request::get(format!(
            "{}/datacenter/exports/{}/download",
            self.base,
            crate::http::encode(uid)
        ))
        .what("download URL request");
        let link: DownloadLink = self.authorized(&req)?.json()?;
        if link.download_url.is_empty() {
            return Err(bad_answer(
                "download URL request",
                "the answer has an empty downloadUrl",
            ));
        }
        Ok(Secret::new(link.download_url))
    }

    fn organization_shown(&self) -> String {
        self.organization
            .clone()
            .unwrap_or_else(|| "<the login's only organization>".into())
    }
}

impl Platform for Encoura {
    fn submit(&mut self, upload: &Upload) -> Result<String, Error> {
        let Some(product) = self.product.clone() else {
            return Err(self.profile.bad(format!(
                "`product` is required to upload: the productType ({})",
                PRODUCT_TYPES.join(", ")
            )));
        };
        let record = Request::post(format!("{}/files/upload", self.base))
            .what("file record request")
            .body(Body::Json(json!({
                "fileName": upload.file_name,
                "productType": product,
                "dataSource": "API",
                "datasource": "API",
                "fileDescription": format!(
                    "sent by preflight: {}, {} bytes, sha256 {}",
                    upload.file_name, upload.bytes, upload.sha256
                ),
            })));
        let created: Created = match self.authorized(&record) {
            Ok(r) => r.json()?,
            Err(e @ Error::Http { .. }) if e.answer_lost() => {
                // Nothing was uploaded yet: say so plainly, so that `submit` does not
                // journal this as an upload whose outcome is unknown.
                return Err(Error::Platform(format!(
                    "{e}; the file itself was NOT sent (at most an empty file record stays in status 'uploading'); run submit again"
                )));
            }
            Err(e) => return Err(e),
        };
        let id = super::id_string(&created.id)
            .ok_or_else(|| bad_answer("file record request", "the answer has no file record id"))?;
        if created.url.is_empty() {
            return Err(bad_answer(
                "file record request",
                "the answer has no presigned url",
            ));
        }
        let mut form = Form::new();
        for (k, v) in &created.fields.0 {
            let k_lower = k.to_ascii_lowercase();
            if k_lower == "file" {
                continue;
            }
            if k_lower.contains("signature") || k_lower.contains("security-token") {
                crate::secrets::register(v);
            }
            form = form.text(k, v);
        }
        let content_type = if upload.file_name.to_ascii_lowercase().ends_with(".zip") {
            "application/zip"
        } else {
            "text/csv"
        };
        form = form.file("file", upload.path.clone(), &upload.file_name, content_type);
        let req = Request::post(created.url)
            .what("upload to the presigned URL")
            .long()
            .body(Body::Multipart(form));
        self.pending = Some((upload.sha256.clone(), id.clone()));
        self.http.send(&req)?.success()?;
        Ok(id)
    }

    fn status(&mut self, id: &str) -> Result<Status, Error> {
        let req = Request::get(format!("{}/files/{}", self.base, crate::http::encode(id)))
            .what("status request");
        let s: FileState = self.authorized(&req)?.json()?;
        let (phase, message, problems) = meaning(&s)?;
        Ok(Status {
            id: id.to_owned(),
            state: s.status,
            phase,
            progress: None,
            message,
            problems,
        })
    }

    /// Only within the run that sent it: the file record is known, and its status says
    /// whether S3 took the file (anything past `uploading`).
    fn recover(&mut self, upload: &Upload, _since: u64) -> Result<Option<String>, Error> {
        let Some((sha, id)) = self.pending.clone() else {
            return Ok(None);
        };
        if sha != upload.sha256 {
            return Ok(None);
        }
        let s = self.status(&id)?;
        Ok((s.state != "uploading").then_some(id))
    }

    fn can_recover(&self) -> bool {
        self.pending.is_some()
    }

    fn describe(&self, upload: &Upload) -> Vec<String> {
        let product = self.product.as_deref().unwrap_or("<`product` is not set>");
        let org = self.organization_shown();
        vec![
            format!(
                "POST {}/login (x-api-key; JSON: userName={}, password, acceptedTerms=true)",
                self.base, self.username
            ),
            format!(
                "GET {}/refresh-token (x-api-key; Authorization: Bearer <session>) once the session is 18 minutes old",
                self.base
            ),
            format!(
                "POST {}/files/upload (x-api-key; Authorization: Bearer; Organization: {org}; JSON: fileName={}, productType={product}, dataSource=API, datasource=API, fileDescription)",
                self.base, upload.file_name
            ),
            format!(
                "POST <presigned url from the file record> (no x-api-key, no Authorization; multipart: every returned field in order, then file={}, {} bytes)",
                upload.file_name, upload.bytes
            ),
            format!(
                "GET {}/files/{{id}} (x-api-key; Authorization: Bearer; Organization: {org})",
                self.base
            ),
        ]
    }
}

/// What a file record's status means: phase, message, problems.
pub(super) fn meaning(s: &FileState) -> Result<(Phase, Option<String>, Vec<Problem>), Error> {
    let error = match &s.error {
        Value::Null => None,
        Value::String(e) if e.trim().is_empty() => None,
        Value::String(e) => Some(e.clone()),
        other => Some(other.to_string()),
    };
    let problem = |message: String| Problem {
        file: s.file_name.clone(),
        row: None,
        severity: Severity::Error,
        message,
    };
    Ok(match s.status.as_str() {
        "uploading" => (Phase::Queued, None, Vec::new()),
        "analyzing" | "enqueued" | "cleansing" | "ingesting" | "processing" => {
            (Phase::Running, None, Vec::new())
        }
        "done" => (Phase::Succeeded, None, Vec::new()),
        "failure" => {
            let m = error
                .unwrap_or_else(|| "Encoura reported a failure without an error message".into());
            (Phase::Failed, Some(m.clone()), vec![problem(m)])
        }
        "canceled" => {
            let m =
                error.unwrap_or_else(|| "the upload was canceled by a user in Data Center".into());
            (Phase::Failed, Some(m.clone()), vec![problem(m)])
        }
        "fields_mapping_required" => (
            Phase::NeedsAction,
            Some(format!(
                "a person must map this file's fields in Data Center ({DATA_CENTER}) before Encoura can go on; later uploads with the same header reuse that mapping"
            )),
            Vec::new(),
        ),
        other => {
            return Err(bad_answer(
                "status request",
                &format!(
                    "unknown status '{other}' (the documented values are uploading, analyzing, fields_mapping_required, enqueued, cleansing, ingesting, processing, done, failure, canceled)"
                ),
            ));
        }
    })
}

fn bad_answer(what: &str, reason: &str) -> Error {
    Error::Http {
        what: what.into(),
        failure: Failure::BadResponse,
        reason: reason.into(),
    }
}

/// A list `date` (Unix milliseconds) for people; other shapes as written.
pub(super) fn format_date(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(ms) => crate::journal::format_time(ms / 1000),
            None => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Manifest {
    fn path(dir: &Path) -> PathBuf {
        dir.join(MANIFEST)
    }

    /// The folder's manifest; empty when there is none yet.
    fn load(dir: &Path) -> Result<Manifest, Error> {
        let path = Manifest::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Manifest {
                    version: 1,
                    files: Vec::new(),
                });
            }
            Err(source) => {
                return Err(Error::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|e| Error::Read {
            path: path.display().to_string(),
            source: io::Error::other(format!(
                "not a preflight exports manifest ({e}); it records what was downloaded here, so nothing is downloaded until it is repaired or moved away"
            )),
        })
    }

    /// Writes the manifest: a temporary file, fsynced, renamed over the old one.
    fn store(&self, dir: &Path) -> Result<(), Error> {
        let path = Manifest::path(dir);
        let tmp = dir.join(format!("{MANIFEST}.tmp"));
        let write_err = |source: io::Error| Error::Write {
            path: path.display().to_string(),
            source,
        };
        let text =
            serde_json::to_string_pretty(self).map_err(|e| write_err(io::Error::other(e)))?;
        let mut f = File::create(&tmp).map_err(write_err)?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.write_all(b"\n"))
            .and_then(|()| f.sync_all())
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                write_err(e)
            })?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            write_err(e)
        })?;
        sync_dir(dir);
        Ok(())
    }
}

/// A file saved by [`save`].
#[derive(Debug)]
struct Saved {
    file: String,
    bytes: u64,
    sha256: String,
}

/// Removes a temporary file unless kept.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes through to a file while hashing.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// GETs a one-time URL (no headers of ours, never retried) into `dir`: a temporary file,
/// hashed while written, fsynced, renamed into place. On failure nothing stays behind.
fn save(http: &Http, dir: &Path, url: &Secret, uid: &str) -> Result<Saved, Error> {
    // A name that holds a piece of a secret (a token in the URL's path) is not used.
    let wanted = file_name_of(url.expose())
        .filter(|n| crate::secrets::redact(n) == *n)
        .unwrap_or_else(|| format!("{}.csv", sanitise(uid).unwrap_or_else(|| "export".into())));
    let tmp = TempFile {
        path: dir.join(format!(
            ".{}.preflight-part",
            sanitise(uid).unwrap_or_else(|| "export".into())
        )),
        keep: false,
    };
    let write_err = |source: io::Error| Error::Write {
        path: tmp.path.display().to_string(),
        source,
    };
    // A leftover of an interrupted run is ours to replace.
    let _ = std::fs::remove_file(&tmp.path);
    let file = File::create_new(&tmp.path).map_err(write_err)?;
    let mut out = Hashing {
        inner: io::BufWriter::new(file),
        hasher: Sha256::new(),
    };
    let req = Request::get(url.expose()).what("download").long();
    let (resp, bytes) = http.download(&req, &mut out)?;
    if !resp.ok() {
        return Err(resp.error());
    }
    let sha256 = hex(&out.hasher.finalize_reset());
    let file = out
        .inner
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    let name = free_name(dir, &wanted, &sha256)?;
    let dest = dir.join(&name);
    std::fs::rename(&tmp.path, &dest).map_err(|source| Error::Write {
        path: dest.display().to_string(),
        source,
    })?;
    let mut tmp = tmp;
    tmp.keep = true;
    sync_dir(dir);
    Ok(Saved {
        file: name,
        bytes,
        sha256,
    })
}

/// `wanted`, unless a different file has that name: then `stem-2.ext`, `stem-3.ext`, ….
/// A file with the same content may be replaced (it is the same file).
fn free_name(dir: &Path, wanted: &str, sha256: &str) -> Result<String, Error> {
    let (stem, ext) = match wanted.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
        _ => (wanted.to_owned(), String::new()),
    };
    for n in 1..10_000u32 {
        let name = if n == 1 {
            wanted.to_owned()
        } else {
            format!("{stem}-{n}{ext}")
        };
        let path = dir.join(&name);
        match std::fs::read(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(name),
            Ok(existing) if hex(&Sha256::digest(&existing)) == sha256 => return Ok(name),
            _ => {}
        }
    }
    Err(Error::Write {
        path: dir.join(wanted).display().to_string(),
        source: io::Error::other("too many files with this name"),
    })
}

/// The last path segment of a URL, percent-decoded and sanitised.
pub(super) fn file_name_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let path = path.find('/').map_or("", |i| &path[i..]);
    sanitise(&percent_decode(path.rsplit('/').next().unwrap_or("")))
}

/// A safe file name: letters, digits, `.`, `-`, `_` (others become `_`), no leading dot,
/// at most 200 bytes; `None` when nothing is left.
pub(super) fn sanitise(name: &str) -> Option<String> {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.');
    let s: String = s.chars().take(200).collect();
    (!s.is_empty() && s.chars().any(|c| c.is_ascii_alphanumeric())).then_some(s)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hexval = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// fsyncs a folder so that a rename in it survives a crash (best effort: not every
/// platform can open a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write as _};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::http::Policy;
    use crate::sandbox::{self, Ctx, Emulator, Faults, Req};

    /// What the in-process sandbox saw: method, path, Bearer token.
    type Log = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

    const SECRET: &str = "unit-test-secret-93a1";

    /// The Encoura emulator on a loopback port, in this process.
    fn serve() -> (String, Log) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encoura/layout.toml");
        let target = crate::target::load("", Some(&layout)).unwrap();
        let log: Log = Arc::default();
        let seen = Arc::clone(&log);
        let b = base.clone();
        std::thread::spawn(move || {
            let mut emulator = sandbox::encoura::Encoura::default();
            let faults = Faults::default();
            for mut request in server.incoming_requests() {
                let req = Req::read(&mut request);
                seen.lock().unwrap().push((
                    req.method.clone(),
                    req.path.clone(),
                    req.bearer().map(str::to_owned),
                ));
                let ctx = Ctx {
                    base: &b,
                    faults: &faults,
                    steps: 3,
                    secret: SECRET,
                    target: &target,
                };
                let resp = emulator.handle(&req, &ctx);
                let mut r = tiny_http::Response::from_data(resp.body).with_status_code(resp.status);
                for (k, v) in resp.headers {
                    r.add_header(
                        tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap(),
                    );
                }
                let _ = request.respond(r);
            }
        });
        (base, log)
    }

    fn http() -> Http {
        Http::new(
            Policy {
                timeout: Duration::from_secs(10),
                upload_timeout: Duration::from_secs(10),
                retries: 0,
                backoff: Duration::from_millis(1),
            },
            false,
        )
    }

    fn client(base: &str, username: &str, organization: Option<&str>) -> Encoura {
        let profile: crate::config::Profile = toml::from_str(&format!(
            "target = \"encoura\"\nbase_url = \"{base}/v1\"\nproduct = \"enrollment\"\n"
        ))
        .unwrap();
        let loaded = Loaded {
            name: "t".into(),
            path: PathBuf::from("preflight.toml"),
            profile,
        };
        Encoura {
            http: http(),
            base: format!("{base}/v1"),
            api_key: Secret::new(SECRET.into()),
            username: username.into(),
            password: Secret::new(SECRET.into()),
            organization: organization.map(str::to_owned),
            product: Some("enrollment".into()),
            session: None,
            refresh_after: REFRESH_AFTER,
            pending: None,
            profile: loaded,
        }
    }

    #[test]
    fn fields_keep_the_order_of_the_answer() {
        let c: Created = serde_json::from_str(
            r#"{"id": "f1", "url": "https://b.s3.amazonaws.com/", "fields": {"key": "k", "x-amz-algorithm": "AWS4-HMAC-SHA256", "policy": "p", "b": 2, "a": true}}"#,
        )
        .unwrap();
        let names: Vec<&str> = c.fields.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["key", "x-amz-algorithm", "policy", "b", "a"]);
        assert_eq!(c.fields.0[3].1, "2");
        assert_eq!(c.fields.0[4].1, "true");
        let nested =
            serde_json::from_str::<Created>(r#"{"id": 1, "url": "u", "fields": {"k": {"x": 1}}}"#);
        assert!(nested.is_err());
    }

    #[test]
    fn every_documented_status_has_a_meaning() {
        let state = |status: &str, error: Value| FileState {
            status: status.into(),
            error,
            file_name: Some("students.csv".into()),
        };
        for s in [
            "analyzing",
            "enqueued",
            "cleansing",
            "ingesting",
            "processing",
        ] {
            assert_eq!(
                meaning(&state(s, Value::Null)).unwrap().0,
                Phase::Running,
                "{s}"
            );
        }
        assert_eq!(
            meaning(&state("uploading", Value::Null)).unwrap().0,
            Phase::Queued
        );
        assert_eq!(
            meaning(&state("done", Value::Null)).unwrap().0,
            Phase::Succeeded
        );
        let (phase, msg, problems) = meaning(&state("failure", "row 3: bad date".into())).unwrap();
        assert_eq!(phase, Phase::Failed);
        assert_eq!(msg.as_deref(), Some("row 3: bad date"));
        assert_eq!(problems[0].message, "row 3: bad date");
        assert_eq!(problems[0].file.as_deref(), Some("students.csv"));
        let (phase, _, problems) = meaning(&state("canceled", Value::Null)).unwrap();
        assert_eq!(phase, Phase::Failed);
        assert!(problems[0].message.contains("canceled"));
        let (phase, msg, _) = meaning(&state("fields_mapping_required", Value::Null)).unwrap();
        assert_eq!(phase, Phase::NeedsAction);
        let msg = msg.unwrap();
        assert!(
            msg.contains("a person must map") && msg.contains(DATA_CENTER),
            "{msg}"
        );
        let e = meaning(&state("archived", Value::Null))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown status 'archived'"), "{e}");
    }

    #[test]
    fn download_file_names_are_safe() {
        assert_eq!(
            file_name_of("https://s3.amazonaws.com/bucket/score-reporter/SAMPLE-UNIVERSITY-03312021-81457.csv?AWSAccessKeyId=A&Signature=87%2DE").as_deref(),
            Some("SAMPLE-UNIVERSITY-03312021-81457.csv")
        );
        assert_eq!(
            file_name_of("https://h/a/My%20File%2F..%2Fx.csv").as_deref(),
            Some("My_File_.._x.csv")
        );
        assert_eq!(file_name_of("https://h/a/..").as_deref(), None);
        assert_eq!(file_name_of("https://h/").as_deref(), None);
        assert_eq!(
            file_name_of("https://h/.hidden.csv").as_deref(),
            Some("hidden.csv")
        );
        assert_eq!(sanitise("a/b\\c:d").as_deref(), Some("a_b_c_d"));
    }

    /// A server that answers one GET with a 200 whose body stops short of its length.
    fn truncating_server() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\n\"ID\",\"NAME\"\r\n\"1\",",
                );
            }
        });
        format!("http://{addr}/exports/partial.csv")
    }

    #[test]
    fn a_broken_download_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = Secret::new(truncating_server());
        let e = save(&http(), dir.path(), &url, "uid-1").unwrap_err();
        // The body broke off after the 200: the bytes already written are thrown away.
        assert!(
            matches!(
                e,
                Error::Http {
                    failure: Failure::Connection,
                    ..
                }
            ),
            "{e}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn download_refreshes_the_session_and_skips_what_the_manifest_has() {
        let (base, log) = serve();
        let dir = tempfile::tempdir().unwrap();
        // An earlier run downloaded export 1 (and the platform still lists it).
        let first = "5a1e7d30-9c4b-4f2e-8d61-000000000001";
        Manifest {
            version: 1,
            files: vec![Downloaded {
                uid: first.into(),
                product_key: Some("score-reporter".into()),
                file: "SAMPLE-UNIVERSITY-03312021-81457.csv".into(),
                bytes: 1,
                sha256: "00".into(),
                time: 0,
                when: String::new(),
            }],
        }
        .store(dir.path())
        .unwrap();
        let mut c = client(&base, "api-user@sample.edu", None);
        // Every call finds the session "old": it is refreshed each time.
        c.refresh_after = Duration::ZERO;
        let lines = c.download(dir.path(), None).unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        // The organization came from the login (the account has one).
        assert_eq!(
            c.organization.as_deref(),
            Some("03f104b8-dc76-4475-ab8e-f226786edb53")
        );
        let seen = log.lock().unwrap().clone();
        assert!(!seen.iter().any(|(_, p, _)| p.contains(first)), "{seen:?}");
        let paths: Vec<&str> = seen.iter().map(|(_, p, _)| p.as_str()).collect();
        assert_eq!(paths[0], "/v1/login");
        assert_eq!(
            paths.iter().filter(|p| **p == "/v1/login").count(),
            1,
            "{paths:?}"
        );
        assert_eq!(
            paths.iter().filter(|p| **p == "/v1/refresh-token").count(),
            2,
            "{paths:?}"
        );
        // After a refresh, the new token is the one sent.
        for w in seen.windows(2) {
            if w[0].1 == "/v1/refresh-token" {
                assert!(w[1].2.is_some(), "{seen:?}");
                assert_ne!(w[0].2, w[1].2, "the old token was sent again: {seen:?}");
            }
        }
        // The S3 GETs carry no session.
        for (_, p, bearer) in &seen {
            if p.starts_with("/s3-export/") {
                assert!(bearer.is_none(), "{p}");
            }
        }
        // Files and manifest agree, byte for byte.
        let m = Manifest::load(dir.path()).unwrap();
        assert_eq!(m.files.len(), 3);
        for d in &m.files[1..] {
            let bytes = std::fs::read(dir.path().join(&d.file)).unwrap();
            assert_eq!(bytes.len() as u64, d.bytes);
            assert_eq!(hex(&Sha256::digest(&bytes)), d.sha256);
            assert!(lines.contains(&format!(
                "{}  {} bytes  sha256 {}",
                d.file, d.bytes, d.sha256
            )));
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "no temporary file may stay: {names:?}");
        // Nothing is NotDelivered any more.
        assert!(c.download(dir.path(), None).unwrap().is_empty());
    }

    #[test]
    fn a_different_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.csv"), "other").unwrap();
        let same = hex(&Sha256::digest(b"other"));
        assert_eq!(free_name(dir.path(), "x.csv", &same).unwrap(), "x.csv");
        assert_eq!(free_name(dir.path(), "x.csv", "ab").unwrap(), "x-2.csv");
        std::fs::write(dir.path().join("x-2.csv"), "third").unwrap();
        assert_eq!(free_name(dir.path(), "x.csv", "ab").unwrap(), "x-3.csv");
        assert_eq!(free_name(dir.path(), "noext", "ab").unwrap(), "noext");
    }

    #[test]
    fn several_organizations_need_a_choice() {
        let (base, _) = serve();
        let e = client(&base, "multi-campus@sample.edu", None)
            .exports(None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Sample University Foundation (1e6c6d8e-af30-43ca-a519-395734701eba)"),
            "{e}"
        );
        let mut c = client(
            &base,
            "multi-campus@sample.edu",
            Some("1e6c6d8e-af30-43ca-a519-395734701eba"),
        );
        assert_eq!(c.exports(None).unwrap().len(), 3);
        let e = client(
            &base,
            "api-user@sample.edu",
            Some("1e6c6d8e-af30-43ca-a519-395734701eba"),
        )
        .exports(None)
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("is not one of this account's organizations: Sample University (03f104b8"),
            "{e}"
        );
    }

    #[test]
    fn a_corrupt_manifest_stops_the_download() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), "{not json").unwrap();
        let e = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a preflight exports manifest"), "{e}");
    }
}
