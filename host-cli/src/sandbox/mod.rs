//! `preflight sandbox`: a local emulator of one platform's documented API on 127.0.0.1, for
//! practice and for the end-to-end tests.
//!
//! The server (tiny_http, one thread per request) does what every platform shares: request
//! parsing, fault injection (latency, 503 on the first N calls, short-lived tokens, a slow
//! answer to the first upload) and a log of the requests received at `GET /_sandbox/requests`
//! (secret values shown as `***`). Each platform module is an [`Emulator`]: its routes, its
//! credentials check and its imports, which move through the platform's real status values
//! one step per status call and end the way the platform would end them, decided by running
//! the validator core on the uploaded files.
//!
//! Credentials: every secret (client secret, token, password, API key, user token) must equal
//! `$PREFLIGHT_SANDBOX_SECRET` (default `sandbox-secret`); ids and user names are free.

pub mod canvas;
pub mod encoura;
pub mod sunbird;
pub mod watermark;
pub mod watershed;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use validator_core::{Report, Target};

use crate::config::Platform as Name;
use crate::error::Error;
use crate::multipart::{self, Part};

/// Arguments of `preflight sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Platform to emulate: watermark, canvas, watershed, encoura or sunbird
    #[arg(long)]
    pub target: String,
    /// Port on 127.0.0.1 (0: any free port; the URL is printed on the first line)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Target file the sandbox checks uploads with (Watershed, Encoura: what `check` uses)
    #[arg(long = "target-file", value_name = "FILE")]
    pub target_file: Option<std::path::PathBuf>,
    /// Status calls an import takes to reach its final state
    #[arg(long, default_value_t = 3)]
    pub steps: u32,
    /// Fault: delay every answer by this many milliseconds
    #[arg(long = "latency-ms", value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Fault: answer the first N calls with 503 Service Unavailable
    #[arg(long = "fail-first", value_name = "N", default_value_t = 0)]
    pub fail_first: u32,
    /// Fault: tokens and sessions stop working after this many seconds (whatever the
    /// token response says)
    #[arg(long = "token-lifetime", value_name = "SECS")]
    pub token_lifetime: Option<f64>,
    /// Fault: tokens and sessions stop working after N authorized requests (the
    /// deterministic form of --token-lifetime, for tests whose requests are snapshotted)
    #[arg(long = "token-uses", value_name = "N")]
    pub token_uses: Option<u32>,
    /// Fault: accept the first upload, then wait this long before answering (a client
    /// timeout on the POST, with the import created anyway)
    #[arg(long = "slow-upload", value_name = "SECS")]
    pub slow_upload: Option<f64>,
    /// Fault: imports never leave their first state (Sunbird: a process that failed while
    /// parsing stays NOT STARTED; Watershed: an import never listed). Emulators that
    /// support it say so
    #[arg(long)]
    pub stall: bool,
    /// Largest request body accepted; a larger one is answered 413 without being read
    /// (e.g. 64MiB)
    #[arg(long = "max-body", value_name = "BYTES", default_value = "64MiB", value_parser = crate::input::parse_bytes)]
    pub max_body: u64,
    /// Requests kept in the log at `GET /_sandbox/requests` (the oldest are dropped)
    #[arg(long = "max-log", value_name = "N", default_value_t = 1000)]
    pub max_log: usize,
}

/// Longest string value the request log keeps (form fields, JSON values, headers).
const LOG_VALUE_CHARS: usize = 1024;

/// Injected faults.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Delay before every answer.
    pub latency: Duration,
    /// 503 for the first N calls.
    pub fail_first: u32,
    /// Real lifetime of tokens and sessions.
    pub token_lifetime: Option<Duration>,
    /// Authorized requests each token or session serves.
    pub token_uses: Option<u32>,
    /// Delay of the answer to the first upload.
    pub slow_upload: Option<Duration>,
    /// Imports never leave their first state.
    pub stall: bool,
}

/// A request as the emulators see it.
#[derive(Debug)]
pub struct Req {
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Req {
    /// Reads a tiny_http request (body included): path and query decoded, header names
    /// lower-case.
    #[cfg(test)]
    pub fn read(request: &mut tiny_http::Request) -> Req {
        let mut body = Vec::new();
        let _ = request.as_reader().read_to_end(&mut body);
        Req::with_body(request, body)
    }

    /// [`Req::read`], refusing a body over `max` bytes (declared or sent): `Err` is the
    /// 413 to answer. The body is read no further than one byte past the limit.
    pub fn read_limited(request: &mut tiny_http::Request, max: u64) -> Result<Req, Resp> {
        let too_large = || {
            Resp::json(
                413,
                &json!({"message": format!("Payload Too Large: the sandbox accepts bodies up to {} (--max-body)", crate::input::show_bytes(max))}),
            )
        };
        if request.body_length().is_some_and(|n| n as u64 > max) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        let _ = request
            .as_reader()
            .take(max.saturating_add(1))
            .read_to_end(&mut body);
        if body.len() as u64 > max {
            return Err(too_large());
        }
        Ok(Req::with_body(request, body))
    }

    fn with_body(request: &tiny_http::Request, body: Vec<u8>) -> Req {
        let url = request.url().to_owned();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        Req {
            method: request.method().as_str().to_ascii_uppercase(),
            path: percent_decode(path),
            query: decode_pairs(query),
            headers: request
                .headers()
                .iter()
                .map(|h| {
                    (
                        h.field.as_str().as_str().to_ascii_lowercase(),
                        h.value.as_str().to_owned(),
                    )
                })
                .collect(),
            body,
        }
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The Bearer token of `Authorization`.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }

    /// Path segments.
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// The multipart parts, when the body is `multipart/form-data`.
    pub fn multipart(&self) -> Option<Vec<Part>> {
        let ct = self.header("content-type")?;
        if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
            return None;
        }
        multipart::parse(ct, &self.body)
    }

    /// The fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Option<Vec<(String, String)>> {
        let ct = self.header("content-type")?;
        if !ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return None;
        }
        Some(decode_pairs(&String::from_utf8_lossy(&self.body)))
    }

    /// The body as JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Resp {
    /// A JSON answer.
    pub fn json(status: u16, v: &Value) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: v.to_string().into_bytes(),
        }
    }

    /// A bodiless answer.
    pub fn empty(status: u16) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Bytes with a content type.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    /// `404` with a short JSON message.
    pub fn not_found() -> Resp {
        Resp::json(404, &json!({"message": "Not Found"}))
    }
}

/// What emulators get besides the request.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// `http://127.0.0.1:PORT`.
    pub base: &'a str,
    /// The faults in force.
    pub faults: &'a Faults,
    /// Status calls an import takes.
    pub steps: u32,
    /// The secret every credential must equal.
    pub secret: &'a str,
    /// The target uploads are checked with.
    pub target: &'a Target,
}

impl Ctx<'_> {
    /// Whether a presented secret is the right one.
    pub fn secret_ok(&self, presented: Option<&str>) -> bool {
        presented == Some(self.secret)
    }

    /// Runs the core on uploaded files (a ZIP's CSV entries, or one CSV), listing every
    /// finding (a platform reports them all, not the first hundred per code).
    pub fn check(&self, files: &[(String, Vec<u8>)]) -> Report {
        self.check_with(files, std::collections::BTreeMap::new())
    }

    /// [`Ctx::check`] with the values an upload carries besides its files (Sunbird's
    /// location `type` → `location_type`).
    pub fn check_with(
        &self,
        files: &[(String, Vec<u8>)],
        params: std::collections::BTreeMap<String, String>,
    ) -> Report {
        let options = validator_core::Options {
            max_findings_per_code: u64::MAX,
            params,
            ..Default::default()
        };
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let Ok(mut session) = validator_core::Session::with_options(self.target.clone(), options)
        else {
            // An unusable target: the core's own report of it.
            return validator_core::validate_files(self.target, &refs);
        };
        for (name, bytes) in refs {
            // Cannot fail: each name is pushed once and finished once.
            let _ = session.push(name, bytes);
            let _ = session.finish_file(name);
        }
        session.finish()
    }
}

/// Tokens or sessions handed out, each with its real deadline and the uses it has left.
#[derive(Debug, Default)]
pub struct Tokens {
    issued: Vec<Issued>,
    counter: u64,
}

#[derive(Debug)]
struct Issued {
    token: String,
    deadline: Option<Instant>,
    uses_left: Option<u32>,
}

impl Tokens {
    /// Hands out a new token, living `faults.token_lifetime` and serving
    /// `faults.token_uses` requests (forever without the faults).
    pub fn issue(&mut self, prefix: &str, faults: &Faults) -> String {
        self.counter += 1;
        let token = format!("{prefix}-{}-{:08x}", self.counter, fastrand::u32(..));
        self.issued.push(Issued {
            token: token.clone(),
            deadline: faults.token_lifetime.map(|d| Instant::now() + d),
            uses_left: faults.token_uses,
        });
        token
    }

    /// Whether a token was issued here and still works; counts the use.
    pub fn valid(&mut self, token: Option<&str>) -> bool {
        let Some(token) = token else { return false };
        let Some(t) = self.issued.iter_mut().find(|t| t.token == token) else {
            return false;
        };
        if t.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        match &mut t.uses_left {
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
            None => true,
        }
    }
}

/// The CSV entries of a ZIP upload, in archive order (`__MACOSX/` and dot files skipped,
/// as the platforms do), read within the same bounds as `check` reads a ZIP (entries,
/// total size, compression ratio, duplicate names: a ZIP bomb is refused, not expanded);
/// `Err` says why the bytes are not a readable ZIP.
pub fn unzip(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    crate::input::read_zip_csvs(bytes, &crate::input::limits())
}

/// One platform's emulated API.
pub trait Emulator: Send {
    /// Answers one request (after faults were applied).
    fn handle(&mut self, req: &Req, ctx: &Ctx<'_>) -> Resp;
    /// Whether the request is the upload (for `--slow-upload`).
    fn is_upload(&self, req: &Req) -> bool;
    /// Names of headers, form fields and JSON keys whose values the request log hides.
    fn secret_fields(&self) -> &'static [&'static str] {
        &[
            "authorization",
            "x-api-key",
            "x-authenticated-user-token",
            "client_secret",
            "password",
        ]
    }
}

/// Runs `preflight sandbox` until killed.
pub fn run(args: &SandboxArgs) -> Result<std::process::ExitCode, Error> {
    let name: Name = serde_json::from_value(Value::String(args.target.clone())).map_err(|_| {
        Error::Usage(format!(
            "unknown sandbox target '{}' (watermark, canvas, watershed, encoura, sunbird)",
            args.target
        ))
    })?;
    let target = match &args.target_file {
        Some(f) => crate::target::load("", Some(f))?,
        None => default_target(name)?,
    };
    let emulator: Box<dyn Emulator> = match name {
        Name::Watermark => Box::new(watermark::Watermark::default()),
        Name::Canvas => Box::new(canvas::Canvas::default()),
        Name::Watershed => Box::new(watershed::Watershed::default()),
        Name::Encoura => Box::new(encoura::Encoura::default()),
        Name::Sunbird => Box::new(sunbird::Sunbird::default()),
    };
    let faults = Faults {
        latency: Duration::from_millis(args.latency_ms),
        fail_first: args.fail_first,
        token_lifetime: args.token_lifetime.map(Duration::from_secs_f64),
        token_uses: args.token_uses,
        slow_upload: args.slow_upload.map(Duration::from_secs_f64),
        stall: args.stall,
    };
    let server = tiny_http::Server::http(("127.0.0.1", args.port))
        .map_err(|e| Error::Usage(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .unwrap_or(args.port);
    let base = format!("http://127.0.0.1:{port}");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "preflight sandbox: {} API listening on {base}",
            name.name()
        );
        let _ = out.flush();
    }
    let secret = std::env::var("PREFLIGHT_SANDBOX_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "sandbox-secret".to_owned());
    crate::secrets::register(&secret);
    let shared = Arc::new(Shared {
        emulator: Mutex::new(emulator),
        log: Mutex::new(std::collections::VecDeque::new()),
        max_log: args.max_log,
        max_body: args.max_body,
        calls: AtomicU32::new(0),
        uploads: AtomicU32::new(0),
        faults,
        steps: args.steps.max(1),
        secret,
        target,
        base,
    });
    for request in server.incoming_requests() {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || shared.serve(request));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The target the sandbox checks uploads with when no `--target-file` is given.
fn default_target(name: Name) -> Result<Target, Error> {
    let builtin = match name {
        Name::Canvas => "canvas",
        Name::Watermark => "watermark",
        Name::Sunbird => "sunbird",
        Name::Watershed | Name::Encoura => {
            return Err(Error::Usage(format!(
                "the {} sandbox checks uploads with the same target file as `check`: pass --target-file",
                name.name()
            )));
        }
    };
    crate::target::load(builtin, None)
}

struct Shared {
    emulator: Mutex<Box<dyn Emulator>>,
    log: Mutex<std::collections::VecDeque<Value>>,
    max_log: usize,
    max_body: u64,
    calls: AtomicU32,
    uploads: AtomicU32,
    faults: Faults,
    steps: u32,
    secret: String,
    target: Target,
    base: String,
}

impl Shared {
    fn serve(&self, mut request: tiny_http::Request) {
        let resp = match Req::read_limited(&mut request, self.max_body) {
            Ok(req) => self.answer(&req),
            Err(resp) => resp,
        };
        let mut r = tiny_http::Response::from_data(resp.body).with_status_code(resp.status);
        for (k, v) in resp.headers {
            if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                r.add_header(h);
            }
        }
        let _ = request.respond(r);
    }

    fn answer(&self, req: &Req) -> Resp {
        if req.path == "/_sandbox/requests" {
            let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
            return Resp::json(200, &Value::Array(log.iter().cloned().collect()));
        }
        let emulator = self.emulator.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = log_entry(req, emulator.secret_fields());
        let upload = emulator.is_upload(req);
        drop(emulator);
        {
            let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
            if log.len() >= self.max_log {
                log.pop_front();
            }
            if self.max_log > 0 {
                log.push_back(entry);
            }
        }
        if !self.faults.latency.is_zero() {
            std::thread::sleep(self.faults.latency);
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.faults.fail_first {
            return Resp::json(
                503,
                &json!({"message": "Service Unavailable (sandbox fault injection)"}),
            );
        }
        let ctx = Ctx {
            base: &self.base,
            faults: &self.faults,
            steps: self.steps,
            secret: &self.secret,
            target: &self.target,
        };
        let resp = self
            .emulator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handle(req, &ctx);
        if upload
            && let Some(d) = self.faults.slow_upload
            && self.uploads.fetch_add(1, Ordering::SeqCst) == 0
        {
            std::thread::sleep(d);
        }
        resp
    }
}

/// What the request log keeps of a request: method, path, query, headers, and the body's
/// shape (form part names and file names, field names, JSON keys), secrets as `***`.
fn log_entry(req: &Req, secret: &[&str]) -> Value {
    let hide = |k: &str, v: &str| {
        if secret.iter().any(|s| s.eq_ignore_ascii_case(k)) {
            if v.starts_with("Bearer ") {
                "Bearer ***".to_owned()
            } else if v.starts_with("Basic ") {
                "Basic ***".to_owned()
            } else {
                "***".to_owned()
            }
        } else {
            clip(v)
        }
    };
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| {
            // Transport details vary by client and run; the rest is protocol.
            !matches!(
                k.as_str(),
                "host" | "user-agent" | "accept-encoding" | "content-length" | "connection"
            )
        })
        .map(|(k, v)| {
            let v = if k == "content-type" {
                v.split(';').next().unwrap_or(v).trim().to_owned()
            } else {
                hide(k, v)
            };
            (k.clone(), v)
        })
        .collect();
    headers.sort();
    let mut e = json!({
        "method": req.method,
        "path": req.path,
        "query": req.query.iter().map(|(k, v)| json!([k, hide(k, v)])).collect::<Vec<_>>(),
        "headers": headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    });
    if let Some(parts) = req.multipart() {
        e["form"] = parts
            .iter()
            .map(|p| match &p.file_name {
                Some(f) => json!({"name": p.name, "filename": f, "content_type": p.content_type, "bytes": p.data.len()}),
                None => json!({"name": p.name, "value": hide(&p.name, &String::from_utf8_lossy(&p.data))}),
            })
            .collect();
    } else if let Some(pairs) = req.form() {
        e["form"] = pairs
            .iter()
            .map(|(k, v)| json!({"name": k, "value": hide(k, v)}))
            .collect();
    } else if let Some(Value::Object(m)) = req.json() {
        e["json"] = m
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => Value::String(hide(k, s)),
                    other => {
                        let text = other.to_string();
                        if text.len() > LOG_VALUE_CHARS {
                            Value::String(clip(&text))
                        } else {
                            other.clone()
                        }
                    }
                };
                (k.clone(), v)
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    e
}

/// A logged value, cut to [`LOG_VALUE_CHARS`] characters so the log stays bounded.
fn clip(v: &str) -> String {
    match v.char_indices().nth(LOG_VALUE_CHARS) {
        Some((i, _)) => format!("{}… ({} bytes)", &v[..i], v.len()),
        None => v.to_owned(),
    }
}

/// Decodes `a=b&c=d` (form bodies and query strings).
pub fn decode_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// `%XX` decoding (invalid escapes are kept as written).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
