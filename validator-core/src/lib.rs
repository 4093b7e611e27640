//! Preflight's validation core: bytes in, findings out, no I/O.
//!
//! A [`Session`] takes a [`Target`](schema::Target) (a platform's file kinds as data), then
//! the bytes of each file in any number of chunks, and produces a [`Report`]. Malformed
//! input is a finding, never an `Err`: [`Error`] is only for misuse of the API or an
//! inconsistent target definition.
//!
//! ```
//! use validator_core::{targets, validate};
//! let csv = b"course_id,user_id,role,status\nC1,U1,student,actve\n";
//! let report = validate(&targets::canvas(), "enrollments.csv", csv);
//! let f = &report.files[0].findings.iter().find(|f| f.code == "row.enum").unwrap();
//! assert_eq!((f.row, f.column.as_deref()), (Some(2), Some("status")));
//! assert_eq!(f.platform_message.as_deref(), Some("Improper status \"actve\" for an enrollment"));
//! ```
//!
//! Architecture invariant: this crate reads no files, sockets, environment, clock or
//! randomness, starts no threads and prints nothing. Hosts do all of that.

#![deny(missing_docs)]

pub mod bundle;
pub mod codes;
pub mod date;
mod decode;
pub mod detect;
pub mod diff;
pub mod import;
mod keys;
mod parse;
mod pending;
mod reader;
pub mod report;
/// TypeScript declarations of the report, generated (feature `ts`).
#[cfg(feature = "ts")]
pub mod report_ts;
mod rules;
pub mod schema;
mod session;
pub mod tableschema;
pub mod targets;

pub use decode::Encoding;
pub use parse::read_cells;
pub use report::{FileReport, Finding, Omitted, REPORT_VERSION, Report, Severity, Summary};
pub use schema::Target;
pub use session::{
    Checker, DEFAULT_MAX_COLUMNS, DEFAULT_MAX_RECORD_BYTES, FileReader, FileVerdict, Options,
    Progress, Session, Tape, Verdicts,
};

/// What stops the machine: API misuse or a bad target definition. Never bad input data.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The target definition contradicts itself.
    #[error("target `{target}` is invalid: {msg}")]
    InvalidTarget {
        /// Target name.
        target: String,
        /// What is wrong.
        msg: String,
    },
    /// No built-in target has this name.
    #[error("unknown target `{0}`")]
    UnknownTarget(String),
    /// Bytes were pushed to a file already finished.
    #[error("file `{0}` was already finished")]
    FileFinished(String),
}

/// Validates one file in one go: `push(all)` then `finish()`.
pub fn validate(target: &Target, path: &str, bytes: &[u8]) -> Report {
    validate_files(target, &[(path, bytes)])
}

/// Validates a bundle held in memory, files in the order given.
pub fn validate_files(target: &Target, files: &[(&str, &[u8])]) -> Report {
    let mut session = match Session::new(target.clone()) {
        Ok(s) => s,
        Err(e) => return invalid_target_report(target, &e),
    };
    for (path, bytes) in files {
        // Cannot fail: each path is pushed once and finished once.
        let _ = session.push(path, bytes);
        let _ = session.finish_file(path);
    }
    session.finish()
}

fn invalid_target_report(target: &Target, e: &Error) -> Report {
    Report {
        version: REPORT_VERSION,
        target: target.name.clone(),
        files: Vec::new(),
        findings: vec![Finding {
            code: "target.invalid".into(),
            severity: Severity::Error,
            file: None,
            row: None,
            line: None,
            column: None,
            column_number: None,
            value: None,
            message: e.to_string(),
            platform_message: None,
        }],
        omitted: Vec::new(),
        summary: Summary {
            errors: 1,
            ..Summary::default()
        },
    }
}
