//! Emulated Watermark System Administration API (seed 000).
//!
//! - `POST /oauth/token` (form: grant_type=client_credentials, client_id, client_secret,
//!   audience exactly `https://api.platform.watermarkinsights.com`) → token, `expires_in` 86400.
//! - `POST /v1/import/data` (multipart, the ZIP in part `filename`) → `{"import_id": uuid}`;
//!   a missing part or a body that is not a ZIP → 400.
//! - `GET /v1/import/{id}/status` → In Progress for `steps - 1` calls, then Completed, or
//!   Failed when the core finds errors in the ZIP (or recognises no file, which is how
//!   Watermark skips a misspelt header), with `status_message` naming the files.

use serde_json::json;
use validator_core::Severity;

use super::{Ctx, Emulator, Req, Resp, Tokens, unzip};

/// One import.
#[derive(Debug)]
struct Import {
    id: String,
    file_name: String,
    received: String,
    polls: u32,
    failure: Option<String>,
}

/// The emulator's state.
#[derive(Debug, Default)]
pub struct Watermark {
    tokens: Tokens,
    imports: Vec<Import>,
}

/// The n-th import's id: a version-4-shaped UUID, predictable so that tests can snapshot
/// the requests that name it.
fn uuid(n: usize) -> String {
    format!("c2de0995-2143-468b-bd11-{n:012x}")
}

impl Watermark {
    fn token(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let Some(form) = req.form() else {
            return Resp::json(
                400,
                &json!({"error": "invalid_request", "error_description": "content-type must be application/x-www-form-urlencoded"}),
            );
        };
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("grant_type") != Some("client_credentials") {
            return Resp::json(400, &json!({"error": "unsupported_grant_type"}));
        }
        if get("audience") != Some(crate::platforms::watermark::AUDIENCE) {
            return Resp::json(
                403,
                &json!({"error": "access_denied", "error_description": "Service not enabled within domain"}),
            );
        }
        if get("client_id").is_none_or(str::is_empty) || !ctx.secret_ok(get("client_secret")) {
            return Resp::json(
                401,
                &json!({"error": "access_denied", "error_description": "Unauthorized"}),
            );
        }
        let token = self.tokens.issue("wm", ctx.faults);
        Resp::json(
            200,
            &json!({"access_token": token, "scope": "access", "expires_in": 86400, "token_type": "Bearer"}),
        )
    }

    fn upload(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let Some(parts) = req.multipart() else {
            return Resp::json(
                400,
                &json!({"message": "Bad Request: multipart/form-data expected"}),
            );
        };
        let Some(part) = parts.iter().find(|p| p.name == "filename") else {
            return Resp::json(
                400,
                &json!({"message": "Bad Request: part 'filename' is missing"}),
            );
        };
        let files = match unzip(&part.data) {
            Ok(files) => files,
            Err(why) => {
                return Resp::json(
                    400,
                    &json!({"message": format!("Bad Request: not a readable ZIP file ({why})")}),
                );
            }
        };
        let report = ctx.check(&files);
        let mut failures: Vec<String> = Vec::new();
        for f in &report.files {
            let errors = f
                .findings
                .iter()
                .filter(|x| x.severity == Severity::Error)
                .count();
            if f.kind.is_none() {
                failures.push(format!(
                    "{}: file type not recognised from its header",
                    f.path
                ));
            } else if errors > 0 {
                failures.push(format!("{}: {errors} validation error(s)", f.path));
            }
        }
        if files.is_empty() || report.files.iter().all(|f| f.kind.is_none()) {
            failures.push("no files were recognised".into());
        }
        let id = uuid(self.imports.len() + 1);
        self.imports.push(Import {
            id: id.clone(),
            file_name: part.file_name.clone().unwrap_or_default(),
            received: "2024-03-22 17:19:09.46142".into(),
            polls: 0,
            failure: (!failures.is_empty()).then(|| failures.join("; ")),
        });
        Resp::json(200, &json!({"import_id": id}))
    }

    fn status(&mut self, id: &str, ctx: &Ctx<'_>) -> Resp {
        let Some(i) = self.imports.iter_mut().find(|i| i.id == id) else {
            return Resp::json(400, &json!({"message": "Bad Request: unknown import id"}));
        };
        i.polls += 1;
        let (status, message) = if i.polls < ctx.steps {
            ("In Progress", String::new())
        } else {
            match &i.failure {
                Some(f) => ("Failed", f.clone()),
                None => ("Completed", String::new()),
            }
        };
        Resp::json(
            200,
            &json!({
                "import_id": i.id,
                "status": status,
                "file_name": i.file_name,
                "time_received": i.received,
                "status_message": message,
            }),
        )
    }
}

impl Emulator for Watermark {
    fn handle(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp {
        let seg = req.segments();
        match (req.method.as_str(), seg.as_slice()) {
            ("POST", ["oauth", "token"]) => self.token(req, ctx),
            ("POST", ["v1", "import", "data"]) | ("GET", ["v1", "import", _, "status"]) => {
                if !self.tokens.valid(req.bearer()) {
                    return Resp::json(401, &json!({"message": "Unauthorized"}));
                }
                match seg.as_slice() {
                    ["v1", "import", "data"] => self.upload(req, ctx),
                    [_, _, id, _] => self.status(id, ctx),
                    _ => Resp::not_found(),
                }
            }
            _ => Resp::not_found(),
        }
    }

    fn is_upload(&self, req: &Req) -> bool {
        req.method == "POST" && req.path == "/v1/import/data"
    }
}
