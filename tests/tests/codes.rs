//! The finding-code registry (`validator_core::codes`) is complete: every code in a golden
//! report, and every code-shaped literal in the crates' sources, is registered. A new code
//! that is not in the registry fails here, naming the file.

use std::path::{Path, PathBuf};

use validator_core::codes;

/// The areas of `area.name` codes (file names such as `users.csv` are not codes).
const AREAS: &[&str] = &[
    "bundle", "csv", "detect", "dup", "encoding", "file", "header", "manifest", "param",
    "platform", "ref", "row", "target",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// `"area.name"` string literals in `text`, for the known areas.
fn literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in text.split('"').skip(1).step_by(2) {
        let Some((area, name)) = piece.split_once('.') else {
            continue;
        };
        let is_code = AREAS.contains(&area)
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && !matches!(
                name,
                "csv" | "zip" | "json" | "toml" | "txt" | "jsonl" | "lock"
            )
            // OneRoster's manifest property, not a code.
            && piece != "manifest.version";
        if is_code {
            out.push(piece.to_owned());
        }
    }
    out
}

#[test]
fn every_code_in_a_golden_report_is_registered() {
    let mut snaps = Vec::new();
    files(&repo().join("tests/data"), "snap", &mut snaps);
    files(&repo().join("host-cli/tests"), "snap", &mut snaps);
    assert!(snaps.len() > 50, "found only {} snapshots", snaps.len());
    let mut missing = Vec::new();
    for snap in &snaps {
        let text = std::fs::read_to_string(snap).unwrap();
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("\"code\": \"") else {
                continue;
            };
            let code = rest.split('"').next().unwrap();
            if codes::lookup(code).is_none() {
                missing.push(format!("{}: {code}", snap.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "unregistered codes:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_code_literal_in_the_sources_is_registered() {
    let mut sources = Vec::new();
    for dir in ["validator-core/src", "validator-wasm/src", "host-cli/src"] {
        files(&repo().join(dir), "rs", &mut sources);
    }
    let mut missing = Vec::new();
    let mut seen = 0;
    // The registry itself misspells codes on purpose, in its tests.
    sources.retain(|p| !p.ends_with("validator-core/src/codes.rs"));
    for src in &sources {
        for code in literals(&std::fs::read_to_string(src).unwrap()) {
            seen += 1;
            if codes::lookup(&code).is_none() {
                missing.push(format!("{}: {code}", src.display()));
            }
        }
    }
    assert!(seen > 50, "found only {seen} code literals");
    assert!(
        missing.is_empty(),
        "unregistered codes:\n{}",
        missing.join("\n")
    );
}
