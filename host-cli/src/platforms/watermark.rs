//! Watermark System Administration (seed 000): OAuth2 client credentials, then a ZIP.
//!
//! 1. `POST {auth_url}` (`application/x-www-form-urlencoded`): `grant_type=client_credentials`,
//!    `client_id`, `client_secret`, `audience=https://api.platform.watermarkinsights.com`
//!    → `{access_token, expires_in, token_type}`. The token is kept until 60 s before it
//!    expires; a 401 on a later call fetches a new one once and retries that call.
//! 2. `POST {base}/v1/import/data`, `multipart/form-data` with the ZIP in part `filename`,
//!    `Authorization: Bearer …` → `{"import_id": "<uuid>"}`.
//! 3. `GET {base}/v1/import/{import_id}/status` → `status` In Progress | Completed | Failed,
//!    with `status_message`. Per-file error reports are only in the web UI (Data
//!    Transactions), so a failure maps to one import-level problem with that message.

use std::time::{Duration, Instant};

use serde::Deserialize;
use validator_core::Severity;

use super::{Phase, Platform, Problem, Status, Upload, base_url};
use crate::config::Loaded;
use crate::error::{Error, Failure};
use crate::http::{Body, Http, Request};
use crate::multipart::Form;
use crate::secrets::Secret;

/// The documented API host.
pub const API: &str = "https://api.platform.watermarkinsights.com";
/// The documented token endpoint.
pub const AUTH: &str = "https://auth.watermarkinsights.com/oauth/token";
/// The `audience` the token request must name, exactly.
pub const AUDIENCE: &str = "https://api.platform.watermarkinsights.com";

/// The Watermark flow.
#[derive(Debug)]
pub struct Watermark {
    http: Http,
    base: String,
    auth_url: String,
    client_id: String,
    client_secret: Secret,
    token: Option<(Secret, Instant)>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct Created {
    import_id: serde_json::Value,
}

#[derive(Deserialize)]
struct State {
    status: String,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

impl Watermark {
    /// From a profile: `client_id`, `client_secret_env`, optional `base_url`, `auth_url`.
    pub fn new(profile: &Loaded, http: Http) -> Result<Watermark, Error> {
        let p = &profile.profile;
        Ok(Watermark {
            http,
            base: base_url(profile, API),
            auth_url: p.auth_url.clone().unwrap_or_else(|| AUTH.to_owned()),
            client_id: profile.need("client_id", &p.client_id)?.to_owned(),
            client_secret: profile.secret("client_secret_env", &p.client_secret_env)?,
            token: None,
        })
    }

    fn token(&mut self) -> Result<Secret, Error> {
        if let Some((t, until)) = &self.token
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let req = Request::post(&self.auth_url)
            .what("token request")
            .idempotent()
            .body(Body::Form(vec![
                ("grant_type".into(), "client_credentials".into()),
                ("client_id".into(), self.client_id.clone()),
                (
                    "client_secret".into(),
                    self.client_secret.expose().to_owned(),
                ),
                ("audience".into(), AUDIENCE.into()),
            ]));
        let t: Token = self.http.send(&req)?.success()?.json()?;
        let token = Secret::new(t.access_token);
        // Renew a minute early so that a long poll never sends an expired token.
        let life = Duration::from_secs(t.expires_in.unwrap_or(3600).saturating_sub(60).max(1));
        self.token = Some((token.clone(), Instant::now() + life));
        Ok(token)
    }

    /// Sends `req` with the token; on 401 fetches a new token once and sends it again.
    fn authorized(&mut self, req: &Request) -> Result<crate::http::Response, Error> {
        let token = self.token()?;
        let resp = self.http.send(&req.clone().bearer(&token))?;
        if resp.status != 401 {
            return resp.success();
        }
        self.token = None;
        let token = self.token()?;
        self.http.send(&req.clone().bearer(&token))?.success()
    }
}

impl Platform for Watermark {
    fn submit(&mut self, upload: &Upload) -> Result<String, Error> {
        let form = Form::new().file(
            "filename",
            upload.path.clone(),
            &upload.file_name,
            "application/zip",
        );
        let req = Request::post(format!("{}/v1/import/data", self.base))
            .what("upload")
            .long()
            .body(Body::Multipart(form));
        let created: Created = self.authorized(&req)?.json()?;
        super::id_string(&created.import_id).ok_or_else(|| {
            Error::Platform("Watermark answered the upload without an import_id".into())
        })
    }

    fn status(&mut self, id: &str) -> Result<Status, Error> {
        let req = Request::get(format!(
            "{}/v1/import/{}/status",
            self.base,
            crate::http::encode(id)
        ))
        .what("status request");
        let s: State = self.authorized(&req)?.json()?;
        let phase = match s.status.as_str() {
            "Completed" => Phase::Succeeded,
            "Failed" => Phase::Failed,
            "In Progress" => Phase::Running,
            other => {
                return Err(Error::Http {
                    what: "status request".into(),
                    failure: Failure::BadResponse,
                    reason: format!(
                        "unknown status '{other}' (the documented values are In Progress, Completed, Failed)"
                    ),
                });
            }
        };
        let message = s.status_message.filter(|m| !m.is_empty());
        let mut problems = Vec::new();
        if phase == Phase::Failed {
            problems.push(Problem {
                file: None,
                row: None,
                severity: Severity::Error,
                message: format!(
                    "{}{}; per-file error reports are in System Administration → Data Transactions → Bulk Imports",
                    s.file_name.map(|f| format!("{f}: ")).unwrap_or_default(),
                    message.as_deref().unwrap_or("import failed")
                ),
            });
        }
        Ok(Status {
            id: id.to_owned(),
            state: s.status,
            phase,
            progress: None,
            message,
            problems,
        })
    }

    fn describe(&self, upload: &Upload) -> Vec<String> {
        vec![
            format!(
                "POST {} (form: grant_type=client_credentials, client_id, client_secret, audience={AUDIENCE})",
                self.auth_url
            ),
            format!(
                "POST {}/v1/import/data (multipart: filename={}, {} bytes; Authorization: Bearer)",
                self.base, upload.file_name, upload.bytes
            ),
            format!(
                "GET {}/v1/import/{{import_id}}/status (Authorization: Bearer)",
                self.base
            ),
        ]
    }
}
