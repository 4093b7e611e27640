//! Test support: loading a case folder (`input/` with CSV files, possibly nested) the way
//! every host must, so that all hosts validate the same files in the same order.

pub mod csvgen;
pub mod rng;

use std::path::{Path, PathBuf};

use validator_core::{Options, Report, Session, Target};

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

/// The case folders under `root/<target>/<case>/` that hold a `marker` folder: (target
/// folder name, case path), sorted. None when `root` does not exist.
pub fn case_folders(root: &Path, marker: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(targets) = std::fs::read_dir(root) else {
        return out;
    };
    for target in targets.flatten().filter(|e| e.path().is_dir()) {
        let t = target.file_name().to_string_lossy().into_owned();
        for case in std::fs::read_dir(target.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if case.path().join(marker).is_dir() {
                out.push((t.clone(), case.path()));
            }
        }
    }
    out.sort();
    out
}

/// Validates files, each pushed in chunks of `chunk` bytes (0 = whole).
pub fn check_files(target: &Target, files: &[(String, Vec<u8>)], chunk: usize) -> Report {
    check_files_with(target, files, chunk, Options::default())
}

/// [`check_files`] with session options (host parameters such as `location_type`).
pub fn check_files_with(
    target: &Target,
    files: &[(String, Vec<u8>)],
    chunk: usize,
    options: Options,
) -> Report {
    let mut s = Session::with_options(target.clone(), options).expect("valid target");
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

/// [`check_files_with`] the way a two-thread host does it (on one thread here): each file's
/// [`validator_core::FileReader`] reads `chunk`-byte chunks onto a [`validator_core::Tape`]
/// sent on every `batch` chunks, and the session checks the tapes; with `check_rows`, the
/// readers run the row rules ([`validator_core::FileReader::check_rows`]). Every file is opened
/// first (as the CLI does), each finished after its last tape.
pub fn check_files_taped(
    target: &Target,
    files: &[(String, Vec<u8>)],
    chunk: usize,
    batch: usize,
    options: Options,
    check_rows: bool,
) -> Report {
    let mut s = Session::with_options(target.clone(), options).expect("valid target");
    let mut readers: Vec<_> = files
        .iter()
        .map(|(path, _)| s.reader(path).expect("open file"))
        .map(|r| if check_rows { r.check_rows() } else { r })
        .collect();
    for ((path, bytes), mut reader) in files.iter().zip(readers.drain(..)) {
        let mut tape = validator_core::Tape::default();
        for (n, c) in bytes.chunks(chunk.max(1)).enumerate() {
            reader.read(c, &mut tape);
            if (n + 1) % batch.max(1) == 0 {
                s.push_tape(path, &tape).expect("open file");
                tape.clear();
            }
        }
        s.push_tape(path, &tape).expect("open file");
        s.finish_read(path, reader).expect("finish once");
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

/// A corpus case: its target (`datapackage.json` in the case folder, a Frictionless Data
/// Package imported by `validator_core::import`; else `target.toml`; else the built-in
/// target named by the folder above it) and options (`params.json`: host parameters).
pub fn case_setup(target_dir_name: &str, case: &Path) -> (Target, Options) {
    let target = if let Ok(json) = std::fs::read_to_string(case.join("datapackage.json")) {
        validator_core::import::table_schema(&json)
            .unwrap_or_else(|e| panic!("{}: datapackage.json: {e}", case.display()))
            .target
    } else {
        match std::fs::read_to_string(case.join("target.toml")) {
            Ok(text) => toml::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: target.toml: {e}", case.display())),
            Err(_) => validator_core::targets::builtin(target_dir_name)
                .unwrap_or_else(|| panic!("unknown target {target_dir_name}")),
        }
    };
    let mut options = Options::default();
    if let Ok(text) = std::fs::read_to_string(case.join("params.json")) {
        options.params = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: params.json: {e}", case.display()));
    }
    // Limits a case lowers so that a small input reaches them.
    if let Ok(text) = std::fs::read_to_string(case.join("options.json")) {
        let v: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: options.json: {e}", case.display()));
        if let Some(n) = v["max_record_bytes"].as_u64() {
            options.max_record_bytes = n;
        }
        if let Some(n) = v["max_columns"].as_u64() {
            options.max_columns = n;
        }
    }
    (target, options)
}
