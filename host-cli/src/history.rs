//! The last bundle each profile's platform accepted, kept beside the journal so that
//! `submit` can say what the next upload changes ([`validator_core::diff`]) before it is
//! sent.
//!
//! Layout in the data dir: `history/<profile>.<import id>.pending.zip` from the moment an
//! upload is sent, renamed to `history/<profile>.zip` when the platform says that import
//! succeeded (`submit --wait` or `status`). One accepted bundle per profile; a single-CSV
//! upload is kept as a ZIP of that CSV (compressed). `--no-history` or `keep_history =
//! false` in the profile turns it off (the copy is of students' data: it stays on this
//! machine, in the user's data directory, and is replaced, never accumulated).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The history folder of the data dir whose journal is at `journal`.
pub fn dir(journal: &Path) -> PathBuf {
    journal.parent().unwrap_or(Path::new(".")).join("history")
}

/// A name safe as a file name part (profile names and import ids are the user's and the
/// platform's).
fn part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The accepted bundle of `profile`, if one is kept.
pub fn last(journal: &Path, profile: &str) -> Option<PathBuf> {
    let p = dir(journal).join(format!("{}.zip", part(profile)));
    p.is_file().then_some(p)
}

fn pending_path(journal: &Path, profile: &str, id: &str) -> PathBuf {
    dir(journal).join(format!("{}.{}.pending.zip", part(profile), part(id)))
}

/// Keeps the upload just sent as import `id`, until the platform says whether it succeeded.
/// `csv_name`: the upload is one CSV, kept as a ZIP holding it under that name.
pub fn keep_pending(
    journal: &Path,
    profile: &str,
    id: &str,
    upload: &Path,
    csv_name: Option<&str>,
) -> Result<(), Error> {
    let d = dir(journal);
    std::fs::create_dir_all(&d).map_err(|source| Error::Write {
        path: d.display().to_string(),
        source,
    })?;
    let bytes = std::fs::read(upload).map_err(|source| Error::Read {
        path: upload.display().to_string(),
        source,
    })?;
    let bytes = match csv_name {
        None => bytes,
        Some(name) => {
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            let err = |e: std::io::Error| Error::Write {
                path: d.display().to_string(),
                source: e,
            };
            z.start_file(name, opts)
                .map_err(|e| err(std::io::Error::other(e)))?;
            z.write_all(&bytes).map_err(err)?;
            z.finish()
                .map_err(|e| err(std::io::Error::other(e)))?
                .into_inner()
        }
    };
    crate::bundle::write_atomically(&pending_path(journal, profile, id), &bytes)
}

/// Import `id` succeeded: its bundle becomes the profile's accepted one (atomically
/// replacing the previous). Nothing to do if it was not kept.
pub fn accept(journal: &Path, profile: &str, id: &str) -> Result<bool, Error> {
    let from = pending_path(journal, profile, id);
    if !from.is_file() {
        return Ok(false);
    }
    let to = dir(journal).join(format!("{}.zip", part(profile)));
    std::fs::rename(&from, &to).map_err(|source| Error::Write {
        path: to.display().to_string(),
        source,
    })?;
    Ok(true)
}

/// Import `id` failed: its bundle is not what the platform has.
pub fn reject(journal: &Path, profile: &str, id: &str) {
    let _ = std::fs::remove_file(pending_path(journal, profile, id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_becomes_last_only_when_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        let journal = tmp.path().join("journal.jsonl");
        let upload = tmp.path().join("u.csv");
        std::fs::write(&upload, "a,b\n1,2\n").unwrap();
        keep_pending(&journal, "prod/../x", "42", &upload, Some("users.csv")).unwrap();
        assert_eq!(last(&journal, "prod/../x"), None);
        assert!(dir(&journal).join("prod____x.42.pending.zip").is_file());
        assert!(accept(&journal, "prod/../x", "42").unwrap());
        let kept = last(&journal, "prod/../x").unwrap();
        let listed = crate::input::read_zip_csvs(
            &std::fs::read(kept).unwrap(),
            &crate::input::Limits::default(),
        )
        .unwrap();
        assert_eq!(
            listed,
            vec![("users.csv".to_owned(), b"a,b\n1,2\n".to_vec())]
        );
        keep_pending(&journal, "prod/../x", "43", &upload, None).unwrap();
        reject(&journal, "prod/../x", "43");
        assert!(!accept(&journal, "prod/../x", "43").unwrap());
    }
}
