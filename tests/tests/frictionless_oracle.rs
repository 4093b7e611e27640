//! Frictionless as the oracle for Table Schema / Data Package checks: every case under
//! `tests/data/frictionless/oracle/` is validated by frictionless-py (`tests/frictionless/oracle.py`,
//! one process for all cases, from the venv `target/frictionless-venv`, pinned in
//! `tests/frictionless/requirements.txt`) and by Preflight (the imported target, files bound
//! by path); both must give the same verdict and the same (file, row, field, error type) set,
//! except the differences listed with their reasons in
//! `tests/data/frictionless/oracle/intended-differences.toml`.
//!
//! Rows: both number rows physically, header = 1. Label errors carry no row in Frictionless
//! and row 1 in Preflight: compared without a row. Row-level errors (blank-row, primary-key,
//! foreign-key) are compared without a field.
//!
//! The cases are written by `tests/frictionless/make_cases.py` (edit it and rerun it with the
//! oracle folder as argument to add one). Agreement figures are printed (`--nocapture`).
//!
//! Without the venv the test prints why and passes, unless `PREFLIGHT_FULL=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use tests::data_dir;

/// Preflight finding code → Frictionless error type: the one mapping table.
const CODES: &[(&str, &str)] = &[
    ("row.type", "type-error"),
    ("row.required", "constraint-error"),
    ("row.too_short", "constraint-error"),
    ("row.too_long", "constraint-error"),
    ("row.range", "constraint-error"),
    ("row.pattern", "constraint-error"),
    ("row.enum", "constraint-error"),
    ("dup.repeated_id", "unique-error"),
    ("dup.primary_key", "primary-key"),
    ("ref.missing", "foreign-key"),
    ("header.extra_label", "extra-label"),
    ("header.missing_label", "missing-label"),
    ("header.incorrect_label", "incorrect-label"),
    ("header.blank", "blank-label"),
    ("header.duplicate", "duplicate-label"),
    ("row.blank", "blank-row"),
    ("row.extra_cell", "extra-cell"),
    ("row.missing_cell", "missing-cell"),
    // A schema Preflight cannot import.
    ("import.error", "schema-error"),
];

const ROW_LEVEL: &[&str] = &["blank-row", "primary-key", "foreign-key"];
const LABELS: &[&str] = &[
    "extra-label",
    "missing-label",
    "incorrect-label",
    "blank-label",
    "duplicate-label",
];

/// (file, row, field, type) as compared.
type Error = (String, Option<u64>, Option<u64>, String);

fn normal(file: Option<&str>, row: Option<u64>, field: Option<u64>, ty: &str) -> Error {
    let row = if LABELS.contains(&ty) { None } else { row };
    let field = if ROW_LEVEL.contains(&ty) { None } else { field };
    let file = Path::new(file.unwrap_or(""))
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    (file, row, field, ty.to_owned())
}

fn files_under(dir: &Path, base: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, base, out);
        } else if p.extension().is_some_and(|x| x == "csv") {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read(&p).unwrap()));
        }
    }
}

/// Preflight's verdict and errors on one case.
fn preflight(case: &Path) -> (bool, BTreeSet<Error>) {
    let schema = ["datapackage.json", "schema.json"]
        .iter()
        .map(|n| case.join(n))
        .find(|p| p.exists())
        .expect("datapackage.json or schema.json");
    let json = std::fs::read_to_string(&schema).unwrap();
    let target = match validator_core::import::table_schema(&json) {
        Ok(i) => i.target,
        Err(_) => {
            let mut e = BTreeSet::new();
            e.insert(normal(None, None, None, "schema-error"));
            return (false, e);
        }
    };
    let mut files = Vec::new();
    files_under(case, case, &mut files);
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let report = validator_core::validate_files(&target, &refs);
    let mut errors = BTreeSet::new();
    for f in report.files.iter().flat_map(|f| &f.findings) {
        if f.severity != validator_core::Severity::Error {
            continue;
        }
        let ty = CODES
            .iter()
            .find(|(c, _)| *c == f.code)
            .map_or_else(|| format!("preflight:{}", f.code), |(_, t)| (*t).to_owned());
        errors.insert(normal(
            f.file.as_deref(),
            f.row,
            f.column_number.map(u64::from),
            &ty,
        ));
    }
    (report.summary.errors == 0, errors)
}

/// One Frictionless error: (file, row, field, type).
type Reported = (Option<String>, Option<u64>, Option<u64>, String);

#[derive(serde::Deserialize)]
struct Oracle {
    valid: bool,
    errors: Vec<Reported>,
}

#[derive(serde::Deserialize, Default)]
struct Intended {
    #[serde(default)]
    difference: Vec<Difference>,
}

/// One intended difference: in `case`, Preflight reports `preflight` and/or Frictionless
/// reports `frictionless` (each `[file, row, field, type]`, row/field 0 = none).
#[derive(serde::Deserialize)]
struct Difference {
    case: String,
    #[serde(default)]
    only_preflight: Vec<(String, u64, u64, String)>,
    #[serde(default)]
    only_frictionless: Vec<(String, u64, u64, String)>,
    #[serde(default)]
    verdict: bool,
    #[allow(dead_code)]
    reason: String,
}

fn from_listed(v: &(String, u64, u64, String)) -> Error {
    let opt = |n: u64| (n > 0).then_some(n);
    (v.0.clone(), opt(v.1), opt(v.2), v.3.clone())
}

fn venv_python() -> PathBuf {
    let root = data_dir().parent().unwrap().parent().unwrap().to_path_buf();
    root.join("target/frictionless-venv/bin/python")
}

#[test]
fn frictionless_agrees() {
    let python = venv_python();
    let full = std::env::var("PREFLIGHT_FULL").is_ok_and(|v| v == "1");
    if !python.exists() {
        assert!(
            !full,
            "PREFLIGHT_FULL=1 but {} is missing (tests/run-all.sh installs it)",
            python.display()
        );
        eprintln!(
            "skipping the Frictionless oracle: {} is missing; install with `python3 -m venv target/frictionless-venv && target/frictionless-venv/bin/pip install -r tests/frictionless/requirements.txt`",
            python.display()
        );
        return;
    }
    let root = data_dir().join("frictionless/oracle");
    let script = data_dir().parent().unwrap().join("frictionless/oracle.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&root)
        .output()
        .expect("run frictionless");
    assert!(
        out.status.success(),
        "oracle.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oracle: BTreeMap<String, Oracle> = serde_json::from_slice(&out.stdout).unwrap();
    let intended: Intended = toml::from_str(
        &std::fs::read_to_string(root.join("intended-differences.toml")).unwrap_or_default(),
    )
    .expect("intended-differences.toml");
    assert!(oracle.len() >= 40, "{} oracle cases", oracle.len());
    let (mut verdicts, mut findings, mut total_findings) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut listed_used = BTreeSet::new();
    for (case, want) in &oracle {
        let (valid, got) = preflight(&root.join(case));
        let expected: BTreeSet<Error> = want
            .errors
            .iter()
            .map(|(f, r, n, t)| normal(f.as_deref(), *r, *n, t))
            .collect();
        let union: BTreeSet<&Error> = got.union(&expected).collect();
        total_findings += union.len();
        findings += got.intersection(&expected).count();
        if valid == want.valid {
            verdicts += 1;
        }
        let diffs: Vec<&Difference> = intended
            .difference
            .iter()
            .filter(|d| &d.case == case)
            .collect();
        let only_p: BTreeSet<Error> = got.difference(&expected).cloned().collect();
        let only_f: BTreeSet<Error> = expected.difference(&got).cloned().collect();
        let listed_p: BTreeSet<Error> = diffs
            .iter()
            .flat_map(|d| d.only_preflight.iter().map(from_listed))
            .collect();
        let listed_f: BTreeSet<Error> = diffs
            .iter()
            .flat_map(|d| d.only_frictionless.iter().map(from_listed))
            .collect();
        let verdict_listed = diffs.iter().any(|d| d.verdict);
        if !diffs.is_empty() {
            listed_used.insert(case.clone());
        }
        if only_p != listed_p || only_f != listed_f || (valid != want.valid && !verdict_listed) {
            failures.push(format!(
                "{case}: verdict preflight {valid} / frictionless {}\n  only Preflight: {:?}\n  only Frictionless: {:?}",
                want.valid,
                only_p.difference(&listed_p).collect::<Vec<_>>(),
                only_f.difference(&listed_f).collect::<Vec<_>>()
            ));
        }
    }
    for d in &intended.difference {
        if !oracle.contains_key(&d.case) {
            failures.push(format!("intended difference for unknown case {}", d.case));
        }
    }
    println!(
        "Frictionless oracle: verdicts {verdicts}/{} agree, findings {findings}/{total_findings} agree ({} cases with intended differences)",
        oracle.len(),
        listed_used.len()
    );
    assert!(
        failures.is_empty(),
        "unexplained differences:\n{}",
        failures.join("\n")
    );
}
