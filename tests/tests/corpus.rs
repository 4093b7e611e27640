//! The corpus as data: every `tests/data/<target>/<case>/input/` is validated and its JSON
//! report compared with `<case>/report.snap` (insta). A new case is a new folder.
//!
//! Each case is also replayed with the input cut into small chunks, which must give the
//! identical report (the chunk-split invariant).

use std::path::PathBuf;

use tests::{case_setup, check_files_with, data_dir, load_dir};

fn cases() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for target in std::fs::read_dir(data_dir()).expect("tests/data").flatten() {
        let t = target.file_name().to_string_lossy().into_owned();
        for case in std::fs::read_dir(target.path())
            .expect("target dir")
            .flatten()
        {
            if case.path().join("input").is_dir() {
                out.push((t.clone(), case.path()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn corpus_reports_match_snapshots() {
    let cases = cases();
    assert!(cases.len() >= 40, "corpus has {} cases", cases.len());
    for (target, case) in cases {
        let (t, options) = case_setup(&target, &case);
        let files = load_dir(&case.join("input"));
        let report = check_files_with(&t, &files, 0, options);
        insta::with_settings!({
            snapshot_path => case.clone(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            info => &case.file_name().unwrap().to_string_lossy().into_owned(),
        }, {
            insta::assert_json_snapshot!("report", report);
        });
    }
}

#[test]
fn any_chunking_gives_the_same_report() {
    for (target, case) in cases() {
        let (t, options) = case_setup(&target, &case);
        let files = load_dir(&case.join("input"));
        let whole = check_files_with(&t, &files, 0, options.clone());
        for chunk in [1, 2, 3, 5, 64, 4096] {
            let split = check_files_with(&t, &files, chunk, options.clone());
            assert_eq!(whole, split, "{} with {chunk}-byte chunks", case.display());
        }
    }
}
