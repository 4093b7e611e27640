//! The platforms' HTTP flows, one module each, behind one trait: upload a bundle, read an
//! import's status in the platform's own words, and (where the platform can list imports)
//! find an upload whose answer was lost.
//!
//! Every module follows its vendor document in ../shared/seeds/ to the letter (paths,
//! methods, part names, headers, status values); the sandbox (`crate::sandbox`) emulates
//! the same documents, and the end-to-end tests run each flow against it.
//!
//! ```ignore
//! let mut p = platforms::connect(&profile, http)?;
//! let id = p.submit(&upload)?;
//! let status = p.status(&id)?;
//! ```

pub mod canvas;
pub mod encoura;
pub mod sunbird;
pub mod watermark;
pub mod watershed;

// Parsers fed arbitrary bytes: the `responses` fuzz target and its replay test.
#[cfg(any(test, feature = "afl"))]
pub mod fuzzing;

use std::path::PathBuf;

use validator_core::Severity;

use crate::config::{Loaded, Platform as Name};
use crate::error::Error;
use crate::http::Http;

/// What is uploaded: one file on disk (a ZIP bundle or a single CSV).
#[derive(Clone, Debug)]
pub struct Upload {
    /// The file.
    pub path: PathBuf,
    /// File name sent with it.
    pub file_name: String,
    /// The file kind, for platforms with one endpoint per kind (Sunbird: user, org, location).
    pub kind: Option<String>,
    /// Sunbird: the location type of a location upload (form field `type`).
    pub location_type: Option<String>,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// Where an import is, whatever the platform calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, not started (Sunbird NOT STARTED, Canvas created, Encoura uploading).
    Queued,
    /// Being processed.
    Running,
    /// Finished, and the platform says it succeeded.
    Succeeded,
    /// Finished with a failure (in whole or in part: some rows rejected).
    Failed,
    /// Stopped until a person acts (Encoura fields_mapping_required).
    NeedsAction,
}

impl Phase {
    /// Whether polling can stop.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Phase::Queued | Phase::Running)
    }
}

/// One problem the platform reported, located as precisely as it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// File name as the platform gives it (a bundle entry name).
    pub file: Option<String>,
    /// Row, header = row 1.
    pub row: Option<u64>,
    /// Error or warning.
    pub severity: Severity,
    /// The platform's message, verbatim.
    pub message: String,
}

/// An import's status.
#[derive(Clone, Debug)]
pub struct Status {
    /// The platform's id.
    pub id: String,
    /// The platform's own state value (`imported_with_messages`, `In Progress`, …).
    pub state: String,
    /// What the state means.
    pub phase: Phase,
    /// Percent done, when the platform says.
    pub progress: Option<f64>,
    /// The platform's message (`status_message`, `error`, …).
    pub message: Option<String>,
    /// Problems by file and row.
    pub problems: Vec<Problem>,
}

/// An import as a platform lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Listed {
    /// Id.
    pub id: String,
    /// State or a short description.
    pub state: String,
    /// When it was created, as the platform writes it.
    pub created: String,
    /// File name, when known.
    pub file: String,
}

/// One platform's flow.
pub trait Platform {
    /// Uploads and returns the platform's import id.
    fn submit(&mut self, upload: &Upload) -> Result<String, Error>;
    /// Reads an import's status.
    fn status(&mut self, id: &str) -> Result<Status, Error>;
    /// After a lost answer: the id of an import of `upload` created at or after `since`
    /// (Unix seconds), when the platform can list imports.
    fn recover(&mut self, _upload: &Upload, _since: u64) -> Result<Option<String>, Error> {
        Ok(None)
    }
    /// Whether [`Platform::recover`] can find anything.
    fn can_recover(&self) -> bool {
        false
    }
    /// The requests an upload sends, one line each, for `--dry-run`.
    fn describe(&self, upload: &Upload) -> Vec<String>;
}

/// The flow for a profile.
pub fn connect(profile: &Loaded, http: Http) -> Result<Box<dyn Platform>, Error> {
    Ok(match profile.profile.target {
        Name::Watermark => Box::new(watermark::Watermark::new(profile, http)?),
        Name::Canvas => Box::new(canvas::Canvas::new(profile, http)?),
        Name::Watershed => Box::new(watershed::Watershed::new(profile, http)?),
        Name::Encoura => Box::new(encoura::Encoura::new(profile, http)?),
        Name::Sunbird => Box::new(sunbird::Sunbird::new(profile, http)?),
    })
}

/// The base URL: the profile's `base_url`, else the documented host; no trailing slash.
pub fn base_url(profile: &Loaded, documented: &str) -> String {
    profile
        .profile
        .base_url
        .as_deref()
        .unwrap_or(documented)
        .trim_end_matches('/')
        .to_owned()
}

/// A JSON value as an id string (numbers stay exact: Sunbird's process ids exceed 2^53).
pub fn id_string(v: &serde_json::Value) -> Option<String> {
    let id = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    usable_id(&id).then_some(id)
}

/// Longest id taken from a platform's answer (UUIDs and numbers are far shorter).
const MAX_ID_CHARS: usize = 128;

/// Whether an id from an answer may be journaled, printed and put into a URL path as it is:
/// bounded, printable ASCII with nothing that changes a URL's meaning (`/ ? # % \` or
/// `..`), and no secret echoed back in it. A hostile or broken server's id is a bad answer,
/// never a path to another endpoint or a secret in the journal.
fn usable_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/?#%\\".contains(&b))
        && !id.contains("..")
        && crate::secrets::redact(id) == id
}

#[cfg(test)]
mod tests {
    use super::id_string;
    use serde_json::json;

    #[test]
    fn ids_from_answers_are_bounded_and_cannot_redirect_a_path() {
        assert_eq!(id_string(&json!(42)).as_deref(), Some("42"));
        let uuid = "0b9e1c2a-7f3d-4c1e-9a55-3f2d1e0c9b8a";
        assert_eq!(id_string(&json!(uuid)).as_deref(), Some(uuid));
        for bad in [
            json!(""),
            json!("../../accounts/1"),
            json!("1/../../x"),
            json!("1?per_page=100"),
            json!("1#x"),
            json!("1%2F2"),
            json!("a b"),
            json!("1\u{1b}[2J"),
            json!("x".repeat(129)),
            json!(null),
            json!([1]),
        ] {
            assert_eq!(id_string(&bad), None, "{bad}");
        }
    }

    #[test]
    fn an_id_that_echoes_a_secret_is_not_taken() {
        crate::secrets::register("s3cr3t-token-value-1234");
        assert_eq!(id_string(&json!("s3cr3t-token-value-1234")), None);
        assert_eq!(
            id_string(&json!("id-s3cr3t-t")),
            None,
            "an 8-character piece"
        );
    }
}
