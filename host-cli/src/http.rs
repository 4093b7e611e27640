//! The one HTTP client of `preflight`: timeouts on every call, retries with exponential
//! backoff and jitter where a retry is safe, and `http://` only for loopback hosts.
//!
//! Which calls are retried (on 429, 5xx and connection errors): idempotent ones (GET, PUT,
//! DELETE, token and login requests, marked with [`Request::idempotent`]). An upload (a
//! non-idempotent POST) is retried only when the server cannot have acted on it: the
//! connection was refused before a byte was sent, or it answered 429/503 (rate limited,
//! unavailable). A POST that timed out or got another 5xx may have created an import, so
//! it is never re-sent: the caller records it as unconfirmed in the journal instead.
//!
//! ```ignore
//! let http = Http::new(Policy::default());
//! let resp = http.send(Request::get(format!("{base}/v1/import/{id}/status")).bearer(&token))?;
//! ```

use std::io::Read;
use std::time::{Duration, Instant};

use ureq::tls::{RootCerts, TlsConfig};

use crate::error::{Error, Failure};
use crate::multipart::Form;
use crate::secrets::{Secret, redact};

/// Timeouts and retries.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Per call.
    pub timeout: Duration,
    /// Uploads and downloads.
    pub upload_timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff delay; doubled per retry, with jitter, capped at 30 s.
    pub backoff: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(600),
            retries: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// A request body.
#[derive(Clone, Debug, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
    /// `application/json`.
    Json(serde_json::Value),
    /// `multipart/form-data`, streamed.
    Multipart(Form),
}

/// One HTTP request, built by the platform modules.
#[derive(Clone, Debug)]
pub struct Request {
    method: &'static str,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Body,
    idempotent: bool,
    long: bool,
    what: String,
}

impl Request {
    fn new(method: &'static str, url: String) -> Request {
        Request {
            method,
            idempotent: method != "POST",
            what: format!("{method} {}", path_of(&url)),
            url,
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            long: false,
        }
    }

    /// A GET.
    pub fn get(url: impl Into<String>) -> Request {
        Request::new("GET", url.into())
    }

    /// A POST (not retried unless marked [`Request::idempotent`]).
    pub fn post(url: impl Into<String>) -> Request {
        Request::new("POST", url.into())
    }

    /// A PUT.
    pub fn put(url: impl Into<String>) -> Request {
        Request::new("PUT", url.into())
    }

    /// A DELETE.
    pub fn delete(url: impl Into<String>) -> Request {
        Request::new("DELETE", url.into())
    }

    /// Adds a query parameter (percent-encoded here).
    pub fn query(mut self, name: &str, value: &str) -> Request {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `Authorization: Bearer <secret>`.
    pub fn bearer(self, token: &Secret) -> Request {
        let v = format!("Bearer {}", token.expose());
        self.header("Authorization", &v)
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Request {
        self.body = body;
        self
    }

    /// Marks a POST as safe to repeat (a token or login request).
    pub fn idempotent(mut self) -> Request {
        self.idempotent = true;
        self
    }

    /// Uploads and downloads: the upload timeout.
    pub fn long(mut self) -> Request {
        self.long = true;
        self
    }

    /// What the call is, for messages (`token request`, `upload`, …).
    pub fn what(mut self, what: &str) -> Request {
        self.what = what.to_owned();
        self
    }

    /// The full URL with the query string.
    pub fn url(&self) -> String {
        if self.query.is_empty() {
            return self.url.clone();
        }
        let q: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{}", self.url, q.join("&"))
    }
}

/// The path part of a URL (no host, no query), for messages.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split('?').next().unwrap_or(path).to_owned()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A response, body read.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    what: String,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Http {
            what: self.what.clone(),
            failure: Failure::BadResponse,
            reason: format!("unexpected response ({e}): {}", snippet(&self.body)),
        })
    }

    /// Fails with the status and a short piece of the body unless the status is 2xx.
    pub fn success(self) -> Result<Response, Error> {
        if self.ok() {
            Ok(self)
        } else {
            Err(self.error())
        }
    }

    /// The error for this (non-2xx) response.
    pub fn error(&self) -> Error {
        Error::Http {
            what: self.what.clone(),
            failure: Failure::Status(self.status),
            reason: format!("HTTP {}: {}", self.status, snippet(&self.body)),
        }
    }
}

/// The first 300 characters of a body, on one line.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = one.chars().take(300).collect();
    if one.chars().count() > 300 {
        s.push('…');
    }
    if s.is_empty() {
        s = "(empty body)".into();
    }
    s
}

/// The client.
#[derive(Debug)]
pub struct Http {
    agent: ureq::Agent,
    long: ureq::Agent,
    policy: Policy,
    verbose: bool,
}

/// Response bodies larger than this are refused (a status or list response, not a file).
const MAX_BODY: u64 = 256 << 20;

impl Http {
    /// A client with the platform's root certificates.
    pub fn new(policy: Policy, verbose: bool) -> Http {
        let agent = |timeout: Duration| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .user_agent(concat!("preflight/", env!("CARGO_PKG_VERSION")))
                .tls_config(
                    TlsConfig::builder()
                        .root_certs(RootCerts::PlatformVerifier)
                        .build(),
                )
                .build()
                .new_agent()
        };
        Http {
            agent: agent(policy.timeout),
            long: agent(policy.upload_timeout),
            policy,
            verbose,
        }
    }

    /// Sends a request, retrying as the module documentation says.
    pub fn send(&self, req: &Request) -> Result<Response, Error> {
        self.run(req)
    }

    /// Sends a GET once (a one-time URL cannot be retried) and streams a 2xx body into
    /// `out`; returns the response (body empty when streamed) and the byte count.
    pub fn download(
        &self,
        req: &Request,
        out: &mut dyn std::io::Write,
    ) -> Result<(Response, u64), Error> {
        let url = req.url();
        check_scheme(&url, &req.what)?;
        let mut n = 0;
        let r = self.once(req, &url, Some((out, &mut n)))?;
        Ok((r, n))
    }

    fn run(&self, req: &Request) -> Result<Response, Error> {
        let url = req.url();
        check_scheme(&url, &req.what)?;
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let result = self.once(req, &url, None);
            let (retry, wait_hint) = match &result {
                Ok(r) => {
                    let retryable =
                        r.status == 429 || r.status == 503 || (r.status >= 500 && req.idempotent);
                    (retryable, retry_after(r))
                }
                Err(Error::Http { failure, .. }) => (
                    match failure {
                        Failure::Refused => true,
                        Failure::Timeout | Failure::Connection => req.idempotent,
                        _ => false,
                    },
                    None,
                ),
                Err(_) => (false, None),
            };
            if self.verbose {
                let outcome = match &result {
                    Ok(r) => r.status.to_string(),
                    Err(e) => e.to_string(),
                };
                eprintln!(
                    "preflight: {} {} → {} ({} ms)",
                    req.method,
                    redact(&url),
                    redact(&outcome),
                    started.elapsed().as_millis()
                );
            }
            if !retry || attempt >= self.policy.retries {
                return result;
            }
            let backoff = self
                .policy
                .backoff
                .saturating_mul(1 << attempt.min(16))
                .min(Duration::from_secs(30));
            // Full jitter in [backoff/2, backoff], so clients started together spread out.
            let jittered = backoff.mul_f64(0.5 + fastrand::f64() / 2.0);
            let wait = wait_hint.map_or(jittered, |h| h.min(Duration::from_secs(60)));
            if self.verbose {
                eprintln!(
                    "preflight: retrying {} in {} ms",
                    req.what,
                    wait.as_millis()
                );
            }
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn once(
        &self,
        req: &Request,
        url: &str,
        sink: Option<(&mut dyn std::io::Write, &mut u64)>,
    ) -> Result<Response, Error> {
        let fail = |failure: Failure, reason: String| Error::Http {
            what: req.what.clone(),
            failure,
            reason,
        };
        let mut b = ureq::http::Request::builder().method(req.method).uri(url);
        for (k, v) in &req.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let agent = if req.long { &self.long } else { &self.agent };
        let build_err = |e: ureq::http::Error| {
            fail(Failure::Protocol, format!("cannot build the request: {e}"))
        };
        let result = match &req.body {
            Body::Empty => agent.run(b.body(()).map_err(build_err)?),
            Body::Form(pairs) => {
                let text: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect();
                let b = b.header("Content-Type", "application/x-www-form-urlencoded");
                agent.run(b.body(text.join("&")).map_err(build_err)?)
            }
            Body::Json(v) => {
                let b = b.header("Content-Type", "application/json");
                agent.run(b.body(v.to_string()).map_err(build_err)?)
            }
            Body::Multipart(form) => {
                let (len, reader) = form
                    .body()
                    .map_err(|e| fail(Failure::Local, format!("cannot read the upload: {e}")))?;
                let b = b
                    .header("Content-Type", form.content_type())
                    .header("Content-Length", len.to_string());
                agent.run(
                    b.body(ureq::SendBody::from_owned_reader(reader))
                        .map_err(build_err)?,
                )
            }
        };
        let resp = result.map_err(|e| classify(&e, &fail))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = resp.into_body();
        let mut bytes = Vec::new();
        match sink {
            Some((w, n)) if (200..300).contains(&status) => {
                let mut r = body.with_config().limit(u64::MAX).reader();
                *n = std::io::copy(&mut r, w).map_err(|e| io_failure(&e, &fail))?;
            }
            _ => {
                body.with_config()
                    .limit(MAX_BODY)
                    .reader()
                    .read_to_end(&mut bytes)
                    .map_err(|e| io_failure(&e, &fail))?;
            }
        }
        Ok(Response {
            status,
            headers,
            body: bytes,
            what: req.what.clone(),
        })
    }
}

fn io_failure(e: &std::io::Error, fail: &dyn Fn(Failure, String) -> Error) -> Error {
    if e.kind() == std::io::ErrorKind::TimedOut
        || e.to_string().to_ascii_lowercase().contains("timeout")
    {
        fail(Failure::Timeout, "timed out reading the response".into())
    } else {
        fail(Failure::Connection, format!("connection lost: {e}"))
    }
}

fn classify(e: &ureq::Error, fail: &dyn Fn(Failure, String) -> Error) -> Error {
    match e {
        ureq::Error::Timeout(t) => fail(Failure::Timeout, format!("no answer in time ({t})")),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            fail(Failure::Refused, format!("cannot connect ({e})"))
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            fail(Failure::Refused, format!("cannot connect ({io})"))
        }
        ureq::Error::Io(io) => io_failure(io, fail),
        other => fail(Failure::Protocol, other.to_string()),
    }
}

/// `Retry-After` in seconds.
fn retry_after(r: &Response) -> Option<Duration> {
    r.header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// `https://` anywhere; `http://` only to loopback (a sandbox), never across a network.
pub fn check_scheme(url: &str, what: &str) -> Result<(), Error> {
    let bad = |reason: String| Error::Http {
        what: what.to_owned(),
        failure: Failure::Local,
        reason,
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad(format!("'{}' is not an http(s) URL", redact(url))))?;
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = if let Some(v6) = authority.strip_prefix('[') {
                v6.split(']').next().unwrap_or("")
            } else {
                authority.split(':').next().unwrap_or("")
            };
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(bad(format!(
                    "refusing plain http:// to {host}: only loopback hosts (a local sandbox) may use http://; use https://"
                )))
            }
        }
        _ => Err(bad(format!("'{scheme}://' is not http(s)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_to_loopback() {
        assert!(check_scheme("https://api.example.com/x", "t").is_ok());
        assert!(check_scheme("http://127.0.0.1:8080/x", "t").is_ok());
        assert!(check_scheme("http://localhost/x", "t").is_ok());
        assert!(check_scheme("http://[::1]:9/x", "t").is_ok());
        let e = check_scheme("http://api.example.com/x", "t").unwrap_err();
        assert!(e.to_string().contains("only loopback"), "{e}");
        assert!(check_scheme("http://127.0.0.1.evil.com/", "t").is_err());
        assert!(check_scheme("http://user@10.0.0.1/", "t").is_err());
        assert!(check_scheme("ftp://127.0.0.1/", "t").is_err());
    }

    #[test]
    fn query_is_encoded() {
        let r = Request::get("http://h/csv-import")
            .query("template", "My Template")
            .query("notify", "a@b.c,d@e.f");
        assert_eq!(
            r.url(),
            "http://h/csv-import?template=My%20Template&notify=a%40b.c%2Cd%40e.f"
        );
        assert_eq!(r.what, "GET /csv-import");
    }
}
