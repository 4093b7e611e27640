//! Test support: loading a case folder (`input/` with CSV files, possibly nested) the way
//! every host must, so that all hosts validate the same files in the same order.

use std::path::{Path, PathBuf};

use validator_core::{Report, Session, Target};

/// The files of an input folder: paths relative to it (`/`-separated), sorted, with bytes.
pub fn load_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, bytes));
        }
    }
}

/// Validates files, each pushed in chunks of `chunk` bytes (0 = whole).
pub fn check_files(target: &Target, files: &[(String, Vec<u8>)], chunk: usize) -> Report {
    let mut s = Session::new(target.clone()).expect("valid target");
    for (path, bytes) in files {
        if chunk == 0 || bytes.is_empty() {
            s.push(path, bytes).expect("open file");
        } else {
            for c in bytes.chunks(chunk) {
                s.push(path, c).expect("open file");
            }
        }
        s.finish_file(path).expect("finish once");
    }
    s.finish()
}

/// The shared folder: `$PREFLIGHT_SHARED`, else `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("PREFLIGHT_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// The repository's tests/data folder.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}
