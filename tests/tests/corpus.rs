//! The corpus as data: every `tests/data/<target>/<case>/input/` is validated and its JSON
//! report compared with `<case>/report.snap` (insta). A new case is a new folder.
//!
//! Each case is its own test, named `<target>/<case>` (libtest-mimic, `harness = false`), so
//! one failing case does not hide the others and `cargo test -p tests --test corpus --
//! watermark/` runs one target's cases. A case's test also replays its input cut into
//! small chunks, which must give the identical report (the chunk-split invariant), and
//! pushed in reverse order.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use tests::{case_folders, case_setup, check_files_taped, check_files_with, data_dir, load_dir};
use validator_core::Options;

/// Every case folder: (target folder name, case path), sorted.
fn cases() -> Vec<(String, PathBuf)> {
    case_folders(&data_dir(), "input")
}

fn main() {
    let args = Arguments::from_args();
    let cases = cases();
    let mut trials = vec![Trial::test("corpus_has_cases", {
        let n = cases.len();
        move || {
            if n >= 40 {
                Ok(())
            } else {
                Err(format!("corpus has {n} cases").into())
            }
        }
    })];
    trials.extend(cases.into_iter().map(|(target, case)| {
        let name = format!(
            "{target}/{}",
            case.file_name().unwrap_or_default().to_string_lossy()
        );
        Trial::test(name, move || check_case(&target, &case))
    }));
    libtest_mimic::run(&args, trials).exit();
}

/// One case: the snapshot, then the chunking and push-order invariants.
fn check_case(target: &str, case: &Path) -> Result<(), Failed> {
    let (t, options) = case_setup(target, case);
    let files = load_dir(&case.join("input"));
    let report = check_files_with(&t, &files, 0, options.clone());
    insta::with_settings!({
        snapshot_path => case,
        prepend_module_to_snapshot => false,
        omit_expression => true,
        info => &case.file_name().unwrap().to_string_lossy().into_owned(),
    }, {
        insta::assert_json_snapshot!("report", report);
    });
    for chunk in [1, 2, 3, 5, 64, 4096] {
        let split = check_files_with(&t, &files, chunk, options.clone());
        if split != report {
            return Err(format!("{chunk}-byte chunks give another report").into());
        }
    }
    // Read on one side and checked on the other, as `check --threads 2` does (which runs
    // the row rules on the reading side).
    for (chunk, batch, rows) in [(1, 7, false), (1, 7, true), (64, 1, true), (4096, 3, false)] {
        if check_files_taped(&t, &files, chunk, batch, options.clone(), rows) != report {
            return Err(format!(
                "read onto tapes ({chunk}-byte chunks, {batch} per tape, row rules on the reading side: {rows}), the report differs"
            )
            .into());
        }
    }
    // Without row verdicts (what `check` asks for), the report is the same.
    let lean = Options {
        row_verdicts: false,
        ..options.clone()
    };
    if check_files_taped(&t, &files, 4096, 1, lean, true) != report {
        return Err("without row verdicts, the report differs".into());
    }
    // Repeats across two files of one kind are reported on the file pushed second: that
    // order is the hosts' (processing order, then path), not the core's.
    let mut kinds: Vec<_> = report.files.iter().filter_map(|f| f.kind.clone()).collect();
    let n = kinds.len();
    kinds.sort();
    kinds.dedup();
    if kinds.len() == n {
        let mut reversed_files = files;
        reversed_files.reverse();
        let reversed = check_files_with(&t, &reversed_files, 0, options);
        if reversed != report {
            return Err("pushed in reverse order, the report differs".into());
        }
    }
    Ok(())
}
