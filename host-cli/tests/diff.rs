//! `preflight diff`: exit status, the JSON contract, human output, and both bundles read
//! as `check` reads them (a ZIP against a folder, nested folders, CRLF).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use zip::write::SimpleFileOptions;

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

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}

#[test]
fn no_change_exits_0_and_changes_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    write(
        &a,
        &[("users.csv", "user_id,login_id,status\nU1,ann,active\n")],
    );
    // Same row: reordered, quoted, CRLF, padded (Canvas strips).
    write(
        &b,
        &[(
            "users.csv",
            "status,user_id,login_id\r\n\"active\", U1 ,\"ann\"\r\n",
        )],
    );
    write(
        &c,
        &[("users.csv", "user_id,login_id,status\nU1,ann,deleted\n")],
    );
    let same = preflight(&["diff", s(&a), s(&b)]);
    assert_eq!(code(&same), 0, "{}", String::from_utf8_lossy(&same.stderr));
    let changed = preflight(&["diff", s(&a), s(&c)]);
    assert_eq!(code(&changed), 1);
    let out = String::from_utf8_lossy(&changed.stdout);
    assert!(
        out.contains("~ users user_id=U1: status: \"active\" → \"deleted\""),
        "{out}"
    );
}

#[test]
fn json_contract_and_a_zip_against_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join("old.zip");
    let mut z = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
    for (name, text) in [
        (
            "users.csv",
            "user_id,login_id,status\nU1,ann,active\nU2,bob,active\n",
        ),
        (
            "enrollments.csv",
            "course_id,user_id,role,status\nC1,U1,student,active\n",
        ),
    ] {
        z.start_file(name, SimpleFileOptions::default()).unwrap();
        z.write_all(text.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    let new = tmp.path().join("new");
    write(
        &new,
        &[
            (
                "export/users.csv",
                "user_id,login_id,status\nU2,bob,active\nU3,cy,active\n",
            ),
            (
                "export/enrollments.csv",
                "course_id,user_id,role,status\nC1,U1,student,active\n",
            ),
        ],
    );
    let o = preflight(&["diff", "--format", "json", s(&zip_path), s(&new)]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    // serde_json's map is sorted: the set of keys is the contract.
    assert_eq!(
        keys,
        ["changes", "kinds", "new", "old", "target", "version"]
    );
    assert_eq!(v["target"], "canvas");
    let users = v["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "users")
        .unwrap();
    assert_eq!(
        (
            &users["added"],
            &users["removed"],
            &users["changed"],
            &users["unchanged"]
        ),
        (
            &Value::from(1),
            &Value::from(1),
            &Value::from(0),
            &Value::from(1)
        )
    );
    let enr = v["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "enrollments")
        .unwrap();
    assert_eq!(enr["unchanged"], 1);
    let removed = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["change"] == "removed")
        .unwrap();
    assert_eq!(removed["key"]["user_id"], "U1");
    assert_eq!(removed["old"]["login_id"], "ann");
    assert_eq!(removed["new"], serde_json::json!({}));
}

#[test]
fn max_changes_caps_the_list_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write(&a, &[("users.csv", "user_id,login_id,status\n")]);
    let rows: String = (0..50).map(|i| format!("U{i},l{i},active\n")).collect();
    write(
        &b,
        &[("users.csv", &format!("user_id,login_id,status\n{rows}"))],
    );
    let o = preflight(&[
        "diff",
        "--max-changes",
        "3",
        "--format",
        "json",
        s(&a),
        s(&b),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kinds"][0]["added"], 50);
    assert_eq!(v["changes"].as_array().unwrap().len(), 3);
    let human = preflight(&["diff", "--max-changes", "3", s(&a), s(&b)]);
    let out = String::from_utf8_lossy(&human.stdout);
    assert!(
        out.contains("… and 47 more changes of users not listed (--max-changes 3)"),
        "{out}"
    );
}

#[test]
fn batch_term_counts_what_canvas_would_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let courses = "course_id,short_name,long_name,term_id,status\n";
    write(
        &a,
        &[
            (
                "courses.csv",
                &format!("{courses}C1,a,A,T1,active\nC2,b,B,T1,active\nC3,c,C,T2,active\n"),
            ),
            (
                "enrollments.csv",
                "course_id,user_id,role,status\nC1,U1,student,active\nC2,U1,student,active\n",
            ),
        ],
    );
    write(
        &b,
        &[
            ("courses.csv", &format!("{courses}C1,a,A,T1,active\n")),
            (
                "enrollments.csv",
                "course_id,user_id,role,status\nC1,U1,student,active\n",
            ),
        ],
    );
    let o = preflight(&["diff", "--batch-term", "T1", s(&a), s(&b)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("batch mode: 1 of the term's 2 courses would be deleted (50.0%)"),
        "{out}"
    );
    assert!(
        out.contains("batch mode: 1 of the term's 2 enrollments would be deleted (50.0%)"),
        "{out}"
    );
    let not_canvas = preflight(&[
        "diff",
        "--target",
        "oneroster",
        "--batch-term",
        "T1",
        s(&a),
        s(&b),
    ]);
    assert_eq!(code(&not_canvas), 2);
}

#[test]
fn unreadable_input_is_exit_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    write(&a, &[("users.csv", "user_id,login_id,status\n")]);
    let o = preflight(&["diff", s(&a), s(&tmp.path().join("missing"))]);
    assert_eq!(code(&o), 2);
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
}
