//! Preflight's Canvas reading against Ruby's CSV, the parser Canvas runs.
//!
//! A seeded generator (`tests::csvgen`) makes tricky users.csv files; each is checked by
//! Preflight (Canvas target) and read by `tests/oracle/canvas_csv.rb` (one Ruby process for
//! all cases), which parses exactly as Canvas's SIS importer does. Compared per case:
//! - the file verdict: read, empty (silently ignored), or dropped as Invalid UTF-8,
//!   Malformed CSV or "Couldn't find Canvas CSV import headers" (Preflight's side: the
//!   platform messages of its findings);
//! - for read files: the kind, and the data rows Canvas processes (row numbers, blank rows
//!   skipped) against the rows Preflight reads and does not call blank;
//! - for those rows, the cell values after Canvas's converter (`strip` + `presence`)
//!   against Preflight's (`validator_core::parse::read_cells`).
//!
//! Every disagreement fails the test unless it matches an entry of
//! tests/oracle/intended_differences.json (reasons in tests/oracle/INTENDED_DIFFERENCES.md).
//!
//! `PREFLIGHT_ORACLE_SEED` (default below) and `PREFLIGHT_ORACLE_CASES` (default 2200)
//! choose the run; the seed is printed. Without `ruby` the test is skipped with a message,
//! unless `PREFLIGHT_FULL=1`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;
use tests::csvgen::{self, Case};
use validator_core::{Options, Report, Session, targets};

const DEFAULT_SEED: u64 = 20_261_203;
const DEFAULT_CASES: usize = 2200;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ruby_available() -> bool {
    Command::new("ruby")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What a reader made of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Reading {
    verdict: String,
    kind: Option<String>,
    /// Data rows processed, with cells (`None` = blank).
    rows: Vec<(u64, Vec<Option<String>>)>,
    /// Rows failing the NUL check (Canvas's users importer; Preflight's `row.nul`).
    nul_rows: Vec<u64>,
}

/// One disagreement.
#[derive(Debug)]
struct Diff {
    aspect: &'static str,
    ruby: String,
    preflight: String,
}

#[derive(Deserialize)]
struct Intended {
    id: String,
    aspect: String,
    ruby: String,
    preflight: String,
    /// Generator categories the difference is limited to (all when empty).
    #[serde(default)]
    categories: Vec<String>,
}

fn intended() -> Vec<Intended> {
    let path = repo().join("tests/oracle/intended_differences.json");
    let text = std::fs::read_to_string(&path).expect("tests/oracle/intended_differences.json");
    let list: Vec<Intended> = serde_json::from_str(&text).expect("intended_differences.json");
    let md = std::fs::read_to_string(repo().join("tests/oracle/INTENDED_DIFFERENCES.md"))
        .expect("tests/oracle/INTENDED_DIFFERENCES.md");
    for i in &list {
        assert!(
            md.contains(&format!("`{}`", i.id)),
            "intended difference `{}` has no reason in INTENDED_DIFFERENCES.md",
            i.id
        );
    }
    list
}

fn ruby_readings(dir: &Path, cases: &[Case]) -> Vec<Reading> {
    let list = dir.join("list.txt");
    let paths: Vec<PathBuf> = cases
        .iter()
        .map(|c| dir.join(format!("{}.csv", c.name)))
        .collect();
    for (c, p) in cases.iter().zip(&paths) {
        std::fs::write(p, &c.bytes).expect("write case");
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    std::fs::write(&list, names.join("\n")).expect("write list");
    let out = Command::new("ruby")
        .arg(repo().join("tests/oracle/canvas_csv.rb"))
        .arg("--list")
        .arg(&list)
        .output()
        .expect("run ruby");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("oracle prints UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one verdict per case");
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("oracle JSON");
            assert_ne!(v["verdict"], "oracle_error", "{l}");
            let rows = v["rows"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .map(|r| {
                            let cells = r[1]
                                .as_array()
                                .expect("cells")
                                .iter()
                                .map(|c| c.as_str().map(str::to_owned))
                                .collect();
                            (r[0].as_u64().expect("row"), cells)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let nul_rows = v["rows"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .filter(|r| r[2] == true)
                        .filter_map(|r| r[0].as_u64())
                        .collect()
                })
                .unwrap_or_default();
            Reading {
                verdict: v["verdict"].as_str().expect("verdict").to_owned(),
                kind: v["kind"].as_str().map(str::to_owned),
                rows,
                nul_rows,
            }
        })
        .collect()
}

fn preflight_reading(case: &Case) -> Reading {
    let options = Options {
        max_findings_per_code: u64::MAX,
        ..Options::default()
    };
    let target = targets::canvas();
    let run = |chunk: usize| {
        let mut s = Session::with_options(target.clone(), options.clone()).expect("canvas");
        for c in case.bytes.chunks(chunk.max(1)) {
            s.push("users.csv", c).expect("push");
        }
        s.finish_file("users.csv").expect("finish");
        s.finish()
    };
    let report: Report = run(case.bytes.len());
    // The verdict must not depend on how the bytes arrive.
    assert_eq!(report, run(3), "{}: 3-byte chunks", case.name);
    let file = &report.files[0];
    let said = |msg: &str, row1: bool| {
        file.findings
            .iter()
            .any(|f| f.platform_message.as_deref() == Some(msg) && (!row1 || f.row == Some(1)))
    };
    // Canvas's order: the UTF-8 check, then the header row (malformed, then unknown), then
    // the rest of the file.
    let verdict = if said("Invalid UTF-8", false) {
        "invalid_utf8"
    } else if said("Malformed CSV", true) {
        "malformed"
    } else if said("Couldn't find Canvas CSV import headers", false) {
        "no_headers"
    } else if said("Malformed CSV", false) {
        "malformed"
    } else if file.header.is_empty() && report.summary.errors == 0 {
        // Canvas ignores a file with no row, without an error.
        "empty"
    } else if file.header.is_empty() {
        "empty with an error"
    } else {
        "read"
    };
    if verdict != "read" {
        return Reading {
            verdict: verdict.into(),
            kind: None,
            rows: Vec::new(),
            nul_rows: Vec::new(),
        };
    }
    let blank: Vec<u64> = file
        .findings
        .iter()
        .filter(|f| f.code == "csv.blank_row")
        .filter_map(|f| f.row)
        .collect();
    let cells: BTreeMap<u64, Vec<String>> = validator_core::read_cells(&target, &case.bytes)
        .into_iter()
        .collect();
    let rows = (2..=file.rows + 1)
        .filter(|r| !blank.contains(r))
        .map(|r| {
            let row = cells.get(&r).cloned().unwrap_or_default();
            (
                r,
                row.into_iter()
                    .map(|c| (!c.is_empty()).then_some(c))
                    .collect(),
            )
        })
        .collect();
    let nul_rows = file
        .findings
        .iter()
        .filter(|f| f.code == "row.nul")
        .filter_map(|f| f.row)
        .collect();
    Reading {
        verdict: verdict.into(),
        kind: file.kind.clone(),
        rows,
        nul_rows,
    }
}

fn compare(ruby: &Reading, pf: &Reading) -> Vec<Diff> {
    let mut out = Vec::new();
    if ruby.verdict != pf.verdict {
        out.push(Diff {
            aspect: "verdict",
            ruby: ruby.verdict.clone(),
            preflight: pf.verdict.clone(),
        });
        return out;
    }
    if ruby.kind != pf.kind {
        out.push(Diff {
            aspect: "kind",
            ruby: format!("{:?}", ruby.kind),
            preflight: format!("{:?}", pf.kind),
        });
        return out;
    }
    let nums = |r: &Reading| r.rows.iter().map(|x| x.0).collect::<Vec<_>>();
    if nums(ruby) != nums(pf) {
        out.push(Diff {
            aspect: "rows",
            ruby: format!("{:?}", nums(ruby)),
            preflight: format!("{:?}", nums(pf)),
        });
        return out;
    }
    if ruby.nul_rows != pf.nul_rows {
        out.push(Diff {
            aspect: "nul_rows",
            ruby: format!("{:?}", ruby.nul_rows),
            preflight: format!("{:?}", pf.nul_rows),
        });
    }
    for ((row, rc), (_, pc)) in ruby.rows.iter().zip(&pf.rows) {
        // Ruby pads short rows with nil to the header's width; Preflight reads missing
        // cells as blank: compare up to the longer, blank = missing.
        let n = rc.len().max(pc.len());
        let at = |v: &Vec<Option<String>>, i: usize| v.get(i).cloned().flatten();
        if (0..n).any(|i| at(rc, i) != at(pc, i)) {
            out.push(Diff {
                aspect: "cells",
                ruby: format!("row {row}: {rc:?}"),
                preflight: format!("row {row}: {pc:?}"),
            });
            break;
        }
    }
    out
}

fn matches(i: &Intended, d: &Diff, category: &str) -> bool {
    i.aspect == d.aspect
        && (i.ruby == "*" || i.ruby == d.ruby)
        && (i.preflight == "*" || i.preflight == d.preflight)
        && (i.categories.is_empty() || i.categories.iter().any(|c| c == category))
}

#[test]
fn canvas_reading_agrees_with_ruby_csv() {
    if !ruby_available() {
        if std::env::var("PREFLIGHT_FULL").as_deref() == Ok("1") {
            panic!("ruby is not installed (PREFLIGHT_FULL=1): apt-get install ruby");
        }
        eprintln!("skipped: ruby is not installed (the Canvas CSV oracle needs it)");
        return;
    }
    let seed = std::env::var("PREFLIGHT_ORACLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let n = std::env::var("PREFLIGHT_ORACLE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let cases = csvgen::generate(seed, n);
    let dir = repo().join(format!("target/ruby-oracle/{seed}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("case dir");
    let ruby = ruby_readings(&dir, &cases);
    let intended = intended();
    // category → (cases, agreements, intended)
    let mut by_cat: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut by_intended: BTreeMap<String, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for (case, r) in cases.iter().zip(&ruby) {
        let pf = preflight_reading(case);
        let diffs = compare(r, &pf);
        let e = by_cat
            .entry(format!("{}/{}", case.category, case.variant.name()))
            .or_default();
        e.0 += 1;
        if diffs.is_empty() {
            e.1 += 1;
            continue;
        }
        let mut all_intended = true;
        for d in &diffs {
            match intended.iter().find(|i| matches(i, d, case.category)) {
                Some(i) => *by_intended.entry(i.id.clone()).or_default() += 1,
                None => {
                    all_intended = false;
                    unexplained.push((
                        case.name.clone(),
                        d.aspect,
                        d.ruby.clone(),
                        d.preflight.clone(),
                    ));
                }
            }
        }
        if all_intended {
            e.2 += 1;
        }
    }
    let total = cases.len();
    let agree: usize = by_cat.values().map(|v| v.1).sum();
    let explained: usize = by_cat.values().map(|v| v.2).sum();
    eprintln!(
        "ruby oracle (csv {}): seed {seed}, {total} cases, {agree} agree ({:.1}%), {explained} intended differences, {} unexplained",
        ruby_csv_version(),
        100.0 * agree as f64 / total as f64,
        unexplained.len()
    );
    for (cat, (n, a, i)) in &by_cat {
        eprintln!(
            "  {cat:<34} {a:>4}/{n:<4} agree{}",
            if *i > 0 {
                format!(", {i} intended")
            } else {
                String::new()
            }
        );
    }
    for (id, n) in &by_intended {
        eprintln!("  intended `{id}`: {n}");
    }
    for (name, aspect, r, p) in unexplained.iter().take(25) {
        eprintln!("  DIFF {name} [{aspect}] ruby {r} / preflight {p}");
    }
    assert!(
        unexplained.is_empty(),
        "{} disagreements with Ruby's CSV (cases in {}; re-run with PREFLIGHT_ORACLE_SEED={seed})",
        unexplained.len(),
        dir.display()
    );
}

fn ruby_csv_version() -> String {
    Command::new("ruby")
        .args(["-rcsv", "-e", "print CSV::VERSION"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}
