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
//! Redirects are ours, not ureq's (which would follow them with our custom credential
//! headers, `x-api-key` and the like, to any host): a GET answered with a 3xx is followed
//! only to the same origin (scheme, host and port), at most [`MAX_REDIRECTS`] times, with
//! the same headers. A redirect to another origin, a redirect of any other method (a POST is
//! never replayed as a GET) and one past the bound are errors that name the origins only
//! (no path or query, which may carry signatures). Nothing is re-sent.
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

/// The first 300 characters of a body, on one line, secrets redacted *before* it is cut (so
/// that no piece of a secret survives at the cut). Only the first [`SNIPPET_SCAN`] bytes are
/// looked at, which keeps error paths fast on a huge body.
pub fn snippet(body: &[u8]) -> String {
    let head = &body[..body.len().min(SNIPPET_SCAN)];
    let text = redact(&String::from_utf8_lossy(head));
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Joining whitespace may bring pieces together: once more.
    let one = redact(&one);
    let mut s: String = one.chars().take(300).collect();
    if one.chars().count() > 300 || body.len() > SNIPPET_SCAN {
        s.push('…');
    }
    if s.is_empty() {
        s = "(empty body)".into();
    }
    s
}

/// How much of a body [`snippet`] reads: far more than it shows, so that any secret that
/// starts in the shown part ends inside what was redacted.
const SNIPPET_SCAN: usize = 64 << 10;

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

/// Same-origin redirects of a GET followed before giving up.
pub const MAX_REDIRECTS: u32 = 5;

impl Http {
    /// A client with the platform's root certificates.
    pub fn new(policy: Policy, verbose: bool) -> Http {
        let agent = |timeout: Duration| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                // 3xx come back to us (see the module documentation): ureq would follow
                // them itself, with every header but Authorization, to any host.
                .max_redirects(0)
                .save_redirect_history(false)
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
        let mut url = req.url();
        check_scheme(&url, &req.what)?;
        let mut hops = 0;
        loop {
            let mut n = 0;
            let r = self.once(req, &url, Some((&mut *out, &mut n)))?;
            match follow(req, &url, &r, hops)? {
                Some(next) => {
                    url = next;
                    hops += 1;
                }
                None => return Ok((r, n)),
            }
        }
    }

    fn run(&self, req: &Request) -> Result<Response, Error> {
        let mut url = req.url();
        check_scheme(&url, &req.what)?;
        let mut hops = 0;
        loop {
            let r = self.attempts(req, &url)?;
            match follow(req, &url, &r, hops)? {
                Some(next) => {
                    url = next;
                    hops += 1;
                }
                None => return Ok(r),
            }
        }
    }

    /// One URL, retried as the module documentation says.
    fn attempts(&self, req: &Request, url: &str) -> Result<Response, Error> {
        let url = url.to_owned();
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

/// Where a 3xx leads: `None` when the answer is no redirect; the next URL when it is a GET
/// redirected within its origin and the bound is not reached; else an error naming the
/// origins only.
fn follow(req: &Request, url: &str, resp: &Response, hops: u32) -> Result<Option<String>, Error> {
    if !(300..400).contains(&resp.status) || resp.status == 304 {
        return Ok(None);
    }
    let refuse = |reason: String| Error::Http {
        what: req.what.clone(),
        failure: Failure::Status(resp.status),
        reason,
    };
    let from = origin(url).unwrap_or_else(|| "?".into());
    let next = resp
        .header("location")
        .and_then(|l| resolve(url, l))
        .filter(|n| origin(n).is_some());
    let Some(next) = next else {
        return Err(refuse(format!(
            "the platform answered HTTP {} (a redirect) without a usable Location; a redirect is not an answer, nothing was re-sent",
            resp.status
        )));
    };
    let to = origin(&next).unwrap_or_default();
    if req.method != "GET" {
        return Err(refuse(format!(
            "the platform answered the {} with a redirect (HTTP {} to {to}) instead of an answer; nothing was re-sent (a {} is never repeated after a redirect)",
            req.method, resp.status, req.method
        )));
    }
    if to != from {
        return Err(refuse(format!(
            "refused to follow a redirect (HTTP {}) from {from} to {to}: another origin (scheme, host or port), and credentials are only ever sent to the origin they are for",
            resp.status
        )));
    }
    if hops >= MAX_REDIRECTS {
        return Err(refuse(format!(
            "more than {MAX_REDIRECTS} redirects within {from}; gave up"
        )));
    }
    check_scheme(&next, &req.what)?;
    Ok(Some(next))
}

/// A URL's origin, `scheme://host:port` (lower case, the default port written out), for
/// comparisons and messages; `None` unless it is an absolute http(s) URL.
pub fn origin(url: &str) -> Option<String> {
    let uri: ureq::http::Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let host = uri.host().filter(|h| !h.is_empty())?.to_ascii_lowercase();
    Some(format!(
        "{scheme}://{host}:{}",
        uri.port_u16().unwrap_or(default)
    ))
}

/// `location` (absolute, scheme-relative, absolute-path, query-only or relative) against the
/// URL it answered.
pub fn resolve(base: &str, location: &str) -> Option<String> {
    let loc = location.trim();
    if loc.is_empty() {
        return None;
    }
    let head = loc.split(['/', '?', '#']).next().unwrap_or("");
    if let Some((scheme, _)) = head.split_once(':') {
        let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        return valid.then(|| loc.to_owned());
    }
    let uri: ureq::http::Uri = base.parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    if let Some(rest) = loc.strip_prefix("//") {
        return Some(format!("{scheme}://{rest}"));
    }
    if loc.starts_with('/') {
        return Some(format!("{scheme}://{authority}{loc}"));
    }
    let path = uri.path();
    if loc.starts_with('?') {
        return Some(format!("{scheme}://{authority}{path}{loc}"));
    }
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    Some(format!("{scheme}://{authority}{dir}{loc}"))
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
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        // The URL is not shown: its user part may be a password.
        return Err(bad(
            "refusing a URL with a user name or password in it (user:password@host); credentials come from environment variables".into(),
        ));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" => {
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

    #[test]
    fn origins_and_locations() {
        assert_eq!(
            origin("https://A.example.com/x?y").as_deref(),
            Some("https://a.example.com:443")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin("https://a.example.com:443/"),
            origin("https://a.example.com/z")
        );
        assert_ne!(
            origin("http://a.example.com/"),
            origin("https://a.example.com/")
        );
        assert_eq!(origin("ftp://a.example.com/"), None);
        let base = "http://127.0.0.1:9/api/v1/x?page=1";
        assert_eq!(resolve(base, "/p?q=1").unwrap(), "http://127.0.0.1:9/p?q=1");
        assert_eq!(resolve(base, "y").unwrap(), "http://127.0.0.1:9/api/v1/y");
        assert_eq!(
            resolve(base, "?page=2").unwrap(),
            "http://127.0.0.1:9/api/v1/x?page=2"
        );
        assert_eq!(
            resolve(base, "//127.0.0.2:9/a").unwrap(),
            "http://127.0.0.2:9/a"
        );
        assert_eq!(resolve(base, "https://h/a").unwrap(), "https://h/a");
        assert_eq!(resolve(base, ""), None);
    }

    fn answer(status: u16, location: &str) -> Response {
        Response {
            status,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
            what: "t".into(),
        }
    }

    #[test]
    fn redirects_followed_only_within_the_origin_and_only_for_get() {
        let get = Request::get("http://127.0.0.1:9/a?sig=s3cr3t-sig-value");
        let url = get.url();
        assert_eq!(
            follow(&get, &url, &answer(302, "/b"), 0)
                .unwrap()
                .as_deref(),
            Some("http://127.0.0.1:9/b")
        );
        assert_eq!(follow(&get, &url, &answer(200, "/b"), 0).unwrap(), None);
        assert_eq!(follow(&get, &url, &answer(304, "/b"), 0).unwrap(), None);
        let e = follow(
            &get,
            &url,
            &answer(307, "http://127.0.0.2:9/b?token=abc"),
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("from http://127.0.0.1:9 to http://127.0.0.2:9"),
            "{e}"
        );
        assert!(!e.contains("token=") && !e.contains("sig="), "{e}");
        let e = follow(&get, &url, &answer(302, "/b"), MAX_REDIRECTS).unwrap_err();
        assert!(e.to_string().contains("redirects"), "{e}");
        let e = follow(&get, &url, &answer(302, ""), 0).unwrap_err();
        assert!(e.to_string().contains("without a usable Location"), "{e}");
        let post = Request::post("http://127.0.0.1:9/upload");
        let e = follow(&post, &post.url(), &answer(303, "/done"), 0).unwrap_err();
        assert!(e.to_string().contains("nothing was re-sent"), "{e}");
        assert!(matches!(
            e,
            Error::Http {
                failure: Failure::Status(303),
                ..
            }
        ));
    }

    #[test]
    fn snippets_are_redacted_before_they_are_cut() {
        let secret = "snip-secret-0123456789abcdef";
        let _ = Secret::new(secret.into());
        for cut in 280..300 {
            let body = format!("{}{secret} and more", "x".repeat(cut));
            let s = snippet(body.as_bytes());
            assert!(!s.contains("snip-sec") && !s.contains("0123"), "{s}");
            assert!(s.ends_with('…') || s.contains("***"), "{s}");
        }
    }

    #[test]
    fn urls_with_userinfo_are_refused_unshown() {
        let e = check_scheme("https://user:hunter2-pass@h.example.com/", "t").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
