//! `diff` cases as data: every `tests/data/diff/<target>/<case>/` holds `old/` and `new/`
//! bundles and the expected JSON diff in `diff.snap` (insta). Optional: `target.toml` or
//! `datapackage.json` (as in the check corpus) and `diff.json` with `max_changes` and
//! `batch_term` (Canvas batch mode). A new case is a new folder.
//!
//! Each case is its own test, `diff/<target>/<case>`. A case also replays both bundles cut
//! into small chunks, which must give the identical diff.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use tests::{case_folders, case_setup, data_dir, load_dir};
use validator_core::Target;
use validator_core::diff::{Diff, DiffOptions, DiffReport, Side};

fn cases() -> Vec<(String, PathBuf)> {
    case_folders(&data_dir().join("diff"), "old")
}

fn main() {
    let args = Arguments::from_args();
    let cases = cases();
    let mut trials = vec![Trial::test("diff/corpus_has_cases", {
        let n = cases.len();
        move || {
            if n >= 10 {
                Ok(())
            } else {
                Err(format!("diff corpus has {n} cases").into())
            }
        }
    })];
    trials.extend(cases.into_iter().map(|(target, case)| {
        let name = format!(
            "diff/{target}/{}",
            case.file_name().unwrap_or_default().to_string_lossy()
        );
        Trial::test(name, move || check_case(&target, &case))
    }));
    libtest_mimic::run(&args, trials).exit();
}

/// The files in the hosts' processing order: kind order, unknown kinds last, then path.
fn in_processing_order(target: &Target, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = load_dir(dir);
    let rank = |bytes: &[u8]| {
        let prefix = &bytes[..bytes.len().min(64 * 1024)];
        validator_core::detect::kind_of_prefix(target, prefix)
            .and_then(|k| target.kinds.iter().position(|t| t.name == k))
            .unwrap_or(usize::MAX)
    };
    files.sort_by_cached_key(|(path, bytes)| (rank(bytes), path.clone()));
    files
}

fn run(
    target: &Target,
    options: &DiffOptions,
    old: &[(String, Vec<u8>)],
    new: &[(String, Vec<u8>)],
    chunk: usize,
) -> DiffReport {
    let mut d = Diff::new(target.clone(), options.clone()).expect("valid target");
    loop {
        let files = match d.side() {
            Side::Old | Side::OldAgain => old,
            Side::New => new,
            Side::Done => break,
        };
        for (path, bytes) in files {
            if chunk == 0 || bytes.is_empty() {
                d.push(path, bytes).expect("open file");
            } else {
                for c in bytes.chunks(chunk) {
                    d.push(path, c).expect("open file");
                }
            }
            d.finish_file(path).expect("finish once");
        }
        d.end_side();
    }
    d.finish()
}

fn check_case(target: &str, case: &Path) -> Result<(), Failed> {
    let (t, session) = case_setup(target, case);
    let mut options = DiffOptions {
        old_name: "old".into(),
        new_name: "new".into(),
        session,
        ..DiffOptions::default()
    };
    if let Ok(text) = std::fs::read_to_string(case.join("diff.json")) {
        let v: serde_json::Value = serde_json::from_str(&text)?;
        if let Some(n) = v["max_changes"].as_u64() {
            options.max_changes = n as usize;
        }
        if let Some(term) = v["batch_term"].as_str() {
            options.scope = Some(
                validator_core::targets::canvas_batch_scope(&t, term)
                    .ok_or("batch_term needs Canvas kinds")?,
            );
        }
    }
    let old = in_processing_order(&t, &case.join("old"));
    let new = in_processing_order(&t, &case.join("new"));
    let report = run(&t, &options, &old, &new, 0);
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|f| format!("{} {} {:?}", f.code, f.file.as_deref().unwrap_or(""), f.row))
        .collect();
    insta::with_settings!({
        snapshot_path => case,
        prepend_module_to_snapshot => false,
        omit_expression => true,
        info => &problems,
    }, {
        insta::assert_json_snapshot!("diff", report);
    });
    for chunk in [1, 3, 64] {
        if run(&t, &options, &old, &new, chunk) != report {
            return Err(format!("{chunk}-byte chunks give another diff").into());
        }
    }
    Ok(())
}
