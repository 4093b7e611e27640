//! The submission journal: one JSON line per upload, in the user's data directory
//! (`$PREFLIGHT_DATA_DIR`, else e.g. `~/.local/share/preflight/journal.jsonl`).
//!
//! An entry is written *before* the upload (`sending`) and updated after it (`sent` with the
//! platform's id, or `unconfirmed` when the answer was lost). So a re-run of the same bundle
//! can ask before sending it twice, and a lost id can be looked up on the platform. The file
//! is rewritten through a temporary file and a rename, never appended in place, so a crash
//! cannot leave half a line; each rewrite holds `journal.lock` (std's `File::lock`), so
//! concurrent runs keep every entry.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Where an upload stands, as far as this machine knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// About to be sent (a crash here leaves the outcome unknown).
    Sending,
    /// The platform answered with an id.
    Sent,
    /// The request may have reached the platform, but no id came back.
    Unconfirmed,
}

/// One upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix seconds when the upload started.
    pub time: u64,
    /// Profile name.
    pub profile: String,
    /// Platform (`canvas`, …).
    pub platform: String,
    /// API base URL (so a sandbox run never matches a production one).
    pub base_url: String,
    /// SHA-256 of the uploaded bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// File name sent.
    pub file_name: String,
    /// The platform's id, once known.
    pub id: Option<String>,
    /// See [`State`].
    pub state: State,
}

/// The journal file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal in the user's data directory.
    pub fn open() -> Result<Journal, Error> {
        let dir = match std::env::var_os("PREFLIGHT_DATA_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => dirs::data_dir()
                .map(|d| d.join("preflight"))
                .ok_or_else(|| {
                    Error::Usage(
                        "no user data directory for the journal; set PREFLIGHT_DATA_DIR".into(),
                    )
                })?,
        };
        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Journal {
            path: dir.join("journal.jsonl"),
        })
    }

    /// Every entry, oldest first (lines that do not parse are skipped, not fatal).
    pub fn entries(&self) -> Result<Vec<Entry>, Error> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(Error::Read {
                path: self.path.display().to_string(),
                source,
            }),
        }
    }

    /// Earlier uploads of the same bytes through the same profile and host.
    pub fn earlier(
        &self,
        profile: &str,
        base_url: &str,
        sha256: &str,
    ) -> Result<Vec<Entry>, Error> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.profile == profile && e.base_url == base_url && e.sha256 == sha256)
            .collect())
    }

    /// Holds `journal.lock` (an exclusive `File::lock`) until dropped, so that concurrent
    /// runs do their read-modify-write one after the other and none loses another's entry.
    fn lock(&self) -> Result<std::fs::File, Error> {
        let path = self.path.with_file_name("journal.lock");
        let err = |source| Error::Write {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(err)?;
        file.lock().map_err(err)?;
        Ok(file)
    }

    /// Adds an entry.
    pub fn add(&self, entry: &Entry) -> Result<(), Error> {
        let _lock = self.lock()?;
        let mut all = self.entries()?;
        all.push(entry.clone());
        self.save(&all)
    }

    /// Replaces the entry started at `time` for `sha256` (state and id changes).
    pub fn update(&self, entry: &Entry) -> Result<(), Error> {
        let _lock = self.lock()?;
        let mut all = self.entries()?;
        match all.iter_mut().rev().find(|e| {
            e.time == entry.time && e.sha256 == entry.sha256 && e.profile == entry.profile
        }) {
            Some(e) => *e = entry.clone(),
            None => all.push(entry.clone()),
        }
        self.save(&all)
    }

    /// Records that the platform has the upload as import `id`.
    pub fn mark_sent(&self, entry: &mut Entry, id: &str) -> Result<(), Error> {
        entry.id = Some(id.to_owned());
        entry.state = State::Sent;
        self.update(entry)
    }

    /// Drops the entry started at `time` for `sha256` (an upload the platform refused).
    pub fn remove(&self, entry: &Entry) -> Result<(), Error> {
        let _lock = self.lock()?;
        let mut all = self.entries()?;
        all.retain(|e| {
            !(e.time == entry.time && e.sha256 == entry.sha256 && e.profile == entry.profile)
        });
        self.save(&all)
    }

    fn save(&self, all: &[Entry]) -> Result<(), Error> {
        let mut text = String::new();
        for e in all {
            // Entries hold no secrets: ids, hashes, names, URLs without credentials.
            text.push_str(&serde_json::to_string(e).unwrap_or_default());
            text.push('\n');
        }
        crate::bundle::write_atomically(&self.path, text.as_bytes())
    }

    /// Where the journal is.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD HH:MM:SS UTC` for people.
pub fn format_time(secs: u64) -> String {
    let t = crate::bundle::from_unix_full(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.0, t.1, t.2, t.3, t.4, t.5
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_update_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal {
            path: dir.path().join("journal.jsonl"),
        };
        let mut e = Entry {
            time: 1,
            profile: "p".into(),
            platform: "canvas".into(),
            base_url: "http://127.0.0.1:1".into(),
            sha256: "ab".into(),
            bytes: 3,
            file_name: "bundle.zip".into(),
            id: None,
            state: State::Sending,
        };
        j.add(&e).unwrap();
        e.state = State::Sent;
        e.id = Some("42".into());
        j.update(&e).unwrap();
        let all = j.entries().unwrap();
        assert_eq!(all, vec![e.clone()]);
        assert_eq!(j.earlier("p", "http://127.0.0.1:1", "ab").unwrap().len(), 1);
        assert!(
            j.earlier("q", "http://127.0.0.1:1", "ab")
                .unwrap()
                .is_empty()
        );
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
