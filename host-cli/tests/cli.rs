//! End-to-end tests of the `preflight` binary: exit codes, JSON and human output, and how
//! folders and ZIPs are read.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use zip::write::SimpleFileOptions;

const USERS: &str = "user_id,login_id,status\nu1,l1,active\nu2,l2,active\n";
const ENROLLMENTS: &str = "course_id,user_id,role,status\nC1,u1,student,active\n";

fn preflight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run preflight")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/canvas")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn write_zip(path: &Path, entries: &[(&str, &str)]) {
    let mut z = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn example_bundle_json() {
    let o = preflight(&["check", "--format", "json", s(&examples())]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let kinds: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "accounts",
            "terms",
            "courses",
            "sections",
            "users",
            "enrollments"
        ]
    );
    assert_eq!(r["summary"]["errors"], 3);
    // The example folder is pure data: nothing but its six CSV files.
    assert_eq!(r["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn example_bundle_human() {
    let o = preflight(&["check", s(&examples())]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("users.csv  users  38 rows  UTF-8  comma"),
        "{out}"
    );
    assert!(out.contains("error[row.enum]"), "{out}");
    assert!(
        out.contains("Canvas says: Improper status \"actvie\""),
        "{out}"
    );
    let caret = out
        .lines()
        .find(|l| l.contains("^^^^^^ row 5, status"))
        .expect("a caret line under the bad status");
    // The caret sits under `actvie` in the line above it.
    let lines: Vec<&str> = out.lines().collect();
    let i = lines.iter().position(|l| *l == caret).unwrap();
    let col = caret.find('^').unwrap();
    assert_eq!(&lines[i - 1][col..col + 6], "actvie");
    assert!(
        out.lines()
            .any(|l| l == "3 errors, 2 warnings, 1 info in 6 files (141 rows)"),
        "{out}"
    );
}

#[test]
fn zip_skips_debris_and_reports_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("bundle.zip");
    write_zip(
        &zip,
        &[
            ("sub/users.csv", USERS),
            ("sub/enrollments.csv", ENROLLMENTS),
            ("__MACOSX/._x.csv", "junk"),
            (".hidden.csv", "junk"),
            ("notes.txt", "hello"),
        ],
    );
    let o = preflight(&["check", "--format", "json", s(&zip)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let paths: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["sub/users.csv", "sub/enrollments.csv"]);
    let text = r.to_string();
    assert!(!text.contains("__MACOSX") && !text.contains(".hidden"));
    let unknown: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "file.unknown_type")
        .collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0]["file"], "notes.txt");
    assert_eq!(unknown[0]["severity"], "warning");
    assert_eq!(unknown[0]["platform_message"], "Skipping unknown file type");
}

#[test]
fn folder_and_zip_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bundle");
    fs::create_dir_all(root.join("sub")).unwrap();
    let bad = "user_id,login_id,status\nu1,,actve\n";
    fs::write(root.join("sub/users.csv"), bad).unwrap();
    fs::write(root.join("sub/enrollments.csv"), ENROLLMENTS).unwrap();
    fs::write(root.join("notes.txt"), "hello").unwrap();
    let zip = dir.path().join("bundle.zip");
    write_zip(
        &zip,
        &[
            ("sub/users.csv", bad),
            ("sub/enrollments.csv", ENROLLMENTS),
            ("notes.txt", "hello"),
        ],
    );
    let a = preflight(&["check", "--format", "json", s(&root)]);
    let b = preflight(&["check", "--format", "json", s(&zip)]);
    assert_eq!(code(&a), 1);
    assert_eq!(code(&b), 1);
    let (a, b) = (json(&a), json(&b));
    assert_eq!(a["files"], b["files"]);
    assert_eq!(a["findings"], b["findings"]);
    assert_eq!(a["summary"], b["summary"]);
}

#[test]
fn valid_single_csv_passes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("users.csv");
    fs::write(&p, USERS).unwrap();
    let o = preflight(&["check", s(&p)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("users.csv  users  2 rows  UTF-8  comma"),
        "{out}"
    );
    assert!(out.contains("0 errors, 0 warnings, 0 infos in 1 file (2 rows)"));
    let o = preflight(&["check", "--format", "json", s(&p)]);
    assert_eq!(json(&o)["files"][0]["path"], "users.csv");
}

#[test]
fn cannot_run_exits_2() {
    let o = preflight(&["check", "definitely-missing.csv"]);
    assert_eq!(code(&o), 2);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "preflight: cannot read 'definitely-missing.csv': No such file or directory"
    );
    assert!(o.stdout.is_empty());

    let o = preflight(&["check", "--target", "nope", s(&examples())]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown target 'nope'"));

    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("broken.zip");
    fs::write(&zip, "not a zip").unwrap();
    let o = preflight(&["check", s(&zip)]);
    assert_eq!(code(&o), 2);

    assert_eq!(code(&preflight(&["check"])), 2);
    assert_eq!(code(&preflight(&["check", "--format", "xml", "x.csv"])), 2);
    assert_eq!(code(&preflight(&["frobnicate"])), 2);
    assert_eq!(code(&preflight(&["--help"])), 0);
}

#[test]
fn clashing_paths_keep_their_argument_name() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["a", "b"] {
        fs::create_dir_all(dir.path().join(d)).unwrap();
        fs::write(dir.path().join(d).join("users.csv"), USERS.replace("u", d)).unwrap();
    }
    let o = preflight(&[
        "check",
        "--format",
        "json",
        s(&dir.path().join("a")),
        s(&dir.path().join("b")),
    ]);
    let r = json(&o);
    let paths: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["a/users.csv", "b/users.csv"]);
}

#[test]
fn max_per_code_caps_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("users.csv");
    let mut body = String::from("user_id,login_id,status\n");
    for i in 0..5 {
        body.push_str(&format!("u{i},l{i},bogus\n"));
    }
    fs::write(&p, body).unwrap();
    let o = preflight(&["check", "--max-per-code", "2", s(&p)]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("… and 3 more `row.enum` findings (total 5)"),
        "{out}"
    );
}

#[test]
fn targets_lists_kinds() {
    let o = preflight(&["targets"]);
    assert_eq!(code(&o), 0);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("  enrollments  (section_id | course_id) + (user_id | user_integration_id)")
    );
    let o = preflight(&["targets", "--format", "json"]);
    let r = json(&o);
    assert_eq!(r[0]["target"], "canvas");
    assert!(
        r[0]["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "enrollments" && k["detect"]["any"].is_array())
    );
}

#[test]
fn version_names_the_workspace_version() {
    let o = preflight(&["--version"]);
    assert_eq!(code(&o), 0);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("preflight {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = preflight(&["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}");
        let script = String::from_utf8_lossy(&o.stdout);
        for word in ["check", "bundle", "submit", "max-record-bytes"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    assert_eq!(code(&preflight(&["completions", "tcsh"])), 2);
}

#[test]
fn codes_lists_the_registry() {
    let o = preflight(&["codes", "--format", "json"]);
    assert_eq!(code(&o), 0);
    let list = json(&o);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), validator_core::codes::CODES.len());
    assert!(
        list.iter()
            .any(|c| c["code"] == "row.enum" && c["severity"] == "error")
    );
    let o = preflight(&["codes"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("ref.missing "));
}

/// `check --threads 2` reads on a second thread and gives the report of `--threads 1`,
/// byte for byte, in JSON and human output: a folder with errors, a ZIP, a file past a
/// limit (its reader stops), invalid bytes, a file no kind matches.
#[test]
fn two_threads_give_the_report_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("in.zip");
    write_zip(
        &zip,
        &[("users.csv", USERS), ("enrollments.csv", ENROLLMENTS)],
    );
    let odd = dir.path().join("odd");
    fs::create_dir(&odd).unwrap();
    let mut long = String::from("user_id,login_id,status\n");
    for i in 0..50 {
        long.push_str(&format!("u{i},l{i},active\n"));
    }
    long.push_str(&format!(
        "u99,{},active\nu100,l100,active\n",
        "x".repeat(300)
    ));
    fs::write(odd.join("users.csv"), long).unwrap();
    fs::write(
        odd.join("courses.csv"),
        b"course_id,short_name,long_name,status\nC1,Ren\xE9e,C,active\n",
    )
    .unwrap();
    fs::write(odd.join("notes.csv"), "what,ever\n1,2\n").unwrap();
    let examples = examples();
    let cases: [Vec<&str>; 3] = [
        vec![s(&examples)],
        vec![s(&zip)],
        vec!["--max-record-bytes", "200", s(&odd)],
    ];
    for args in cases {
        for format in ["json", "human"] {
            let run = |threads: &str| {
                let mut a = vec!["check", "--threads", threads, "--format", format];
                a.extend(&args);
                preflight(&a)
            };
            let (one, two) = (run("1"), run("2"));
            assert_eq!(code(&one), code(&two), "{args:?}");
            assert!(
                one.stdout == two.stdout,
                "{args:?} {format}: --threads 1 and 2 differ:\n{}\n---\n{}",
                String::from_utf8_lossy(&one.stdout),
                String::from_utf8_lossy(&two.stdout)
            );
            assert!(!one.stdout.is_empty());
        }
    }
}
