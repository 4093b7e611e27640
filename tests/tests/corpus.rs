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

#[test]
fn push_order_does_not_change_the_report() {
    for (target, case) in cases() {
        let (t, options) = case_setup(&target, &case);
        let mut files = load_dir(&case.join("input"));
        let sorted = check_files_with(&t, &files, 0, options.clone());
        // Repeats across two files of one kind are reported on the file pushed second:
        // that order is the hosts' (processing order, then path), not the core's.
        let mut kinds: Vec<_> = sorted.files.iter().filter_map(|f| f.kind.clone()).collect();
        let n = kinds.len();
        kinds.sort();
        kinds.dedup();
        if kinds.len() < n {
            continue;
        }
        files.reverse();
        let reversed = check_files_with(&t, &files, 0, options);
        assert_eq!(
            sorted,
            reversed,
            "{} pushed in reverse order",
            case.display()
        );
    }
}
