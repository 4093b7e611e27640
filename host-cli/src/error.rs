//! The one error type of the CLI: everything that makes `preflight` exit with code 2.
//!
//! Bad data inside a CSV is never an error here (the core reports it as findings); these
//! are the cases where no report can be produced at all.

use std::io;

/// Why `preflight` could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder given (or found) could not be opened or read.
    #[error("cannot read '{path}': {reason}", reason = reason(.source))]
    Read {
        /// Path as the user would recognise it.
        path: String,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// A `.zip` argument is not a ZIP archive we can open.
    #[error("cannot read '{path}': not a readable ZIP archive ({source})")]
    Zip {
        /// Path of the archive.
        path: String,
        /// What the ZIP reader said.
        source: zip::result::ZipError,
    },
    /// One entry of a ZIP archive could not be read (corrupt, encrypted, unsupported).
    #[error("cannot read '{entry}' in '{zip}': {reason}", reason = reason(.source))]
    ZipEntry {
        /// Path of the archive.
        zip: String,
        /// Entry name inside it.
        entry: String,
        /// The underlying error.
        source: io::Error,
    },
    /// `--target` names no built-in target.
    #[error("unknown target '{name}' (built-in targets: {known})")]
    UnknownTarget {
        /// What was asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// The core refused the target definition or a push (a bug, not bad input).
    #[error(transparent)]
    Core(#[from] validator_core::Error),
    /// The validation engine failed: a wasm module that cannot be loaded or trapped.
    #[error(transparent)]
    Engine(#[from] host_cli::engine::EngineError),
    /// A command-line value is malformed.
    #[error("{0}")]
    Usage(String),
    /// A target file cannot be read or parsed.
    #[error("target file '{path}': {reason}")]
    TargetFile {
        /// Path of the file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing an output file failed.
    #[error("cannot write '{path}': {reason}", reason = reason(.source))]
    Write {
        /// Path of the file.
        path: String,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The bundler failed (a sink error or a plan mismatch).
    #[error(transparent)]
    Bundle(#[from] validator_core::bundle::BundleError),
    /// A config file or profile is unusable (missing key, unset variable, bad TOML).
    #[error("config '{path}': {reason}")]
    Config {
        /// Path of the config file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An HTTP call failed (after whatever retries it allows).
    #[error("{what}: {reason}")]
    Http {
        /// Which call (`token request`, `upload`, `GET /v1/import/…/status`).
        what: String,
        /// How it failed, for callers that react (401 → refresh the token once).
        failure: Failure,
        /// What happened, for people.
        reason: String,
    },
    /// The platform answered, but not as its documentation says it does.
    #[error("{0}")]
    Platform(String),
    /// Writing the report failed (other than the reader going away).
    #[error("cannot write output: {reason}", reason = reason(.0))]
    Output(io::Error),
}

impl Error {
    /// Whether the request may have reached the server and been acted on, though no
    /// answer came back (a timeout, a broken connection, a 5xx other than 503, or a
    /// redirect, which we never follow for an upload although the server may have created
    /// the import before sending it): such an upload must never be re-sent blindly.
    pub fn answer_lost(&self) -> bool {
        matches!(
            self,
            Error::Http {
                failure: Failure::Timeout | Failure::Connection,
                ..
            }
        ) || matches!(
            self,
            Error::Http {
                failure: Failure::Status(s),
                ..
            } if (*s >= 500 && *s != 503) || ((300..400).contains(s) && *s != 304)
        )
    }

    /// Whether the platform looked at the request and refused its content (a 4xx other
    /// than credentials, missing routes, timeouts and rate limits).
    pub fn refused_by_platform(&self) -> bool {
        matches!(
            self,
            Error::Http {
                failure: Failure::Status(s),
                ..
            } if (400..500).contains(s) && !matches!(s, 401 | 403 | 404 | 407 | 408 | 429)
        )
    }
}

/// How an HTTP call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Nothing was sent: the connection was refused or the host is unknown.
    Refused,
    /// The connection broke after the request may have been sent.
    Connection,
    /// No (complete) answer in time; the server may have acted on the request.
    Timeout,
    /// The server answered with this non-2xx status.
    Status(u16),
    /// HTTP-level breakage (bad URL, protocol error).
    Protocol,
    /// A 2xx answer whose body is not what the protocol says.
    BadResponse,
    /// Refused before sending (plain http:// to a remote host, unreadable upload).
    Local,
}

/// An I/O error's text without Rust's ` (os error N)` suffix, which means nothing to users.
fn reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_owned(),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_error_reads_like_a_sentence() {
        let e = Error::Read {
            path: "x.csv".into(),
            source: io::Error::from_raw_os_error(2),
        };
        assert_eq!(
            e.to_string(),
            "cannot read 'x.csv': No such file or directory"
        );
    }

    #[test]
    fn lost_answers_are_not_resent_and_refusals_are_failures() {
        let e = |failure| Error::Http {
            what: "upload".into(),
            failure,
            reason: String::new(),
        };
        assert!(e(Failure::Timeout).answer_lost());
        assert!(e(Failure::Status(502)).answer_lost());
        assert!(!e(Failure::Status(503)).answer_lost());
        assert!(e(Failure::Status(303)).answer_lost());
        assert!(e(Failure::Status(307)).answer_lost());
        assert!(!e(Failure::Status(304)).answer_lost());
        assert!(!e(Failure::Status(400)).answer_lost());
        assert!(!e(Failure::Refused).answer_lost());
        assert!(e(Failure::Status(400)).refused_by_platform());
        assert!(!e(Failure::Status(429)).refused_by_platform());
        assert!(!e(Failure::Status(401)).refused_by_platform());
        assert!(!e(Failure::Timeout).refused_by_platform());
    }
}
