//! Custom targets end to end: `preflight target from-watershed` (TOML and JSON, by
//! extension), checking and bundling against its output, and `--target-file` given a
//! Frictionless Data Package (imported, with what is not checked on stderr).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn preflight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run preflight")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn watershed_template_to_target_then_check_and_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let template = repo().join("examples/watershed/template.json");
    let toml = dir.path().join("watershed.toml");
    let json_file = dir.path().join("watershed.json");
    for out in [&toml, &json_file] {
        let o = preflight(&["target", "from-watershed", s(&template), "-o", s(out)]);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("7 column(s)"));
    }
    assert!(
        std::fs::read_to_string(&json_file)
            .unwrap()
            .starts_with('{')
    );
    let t: validator_core::Target =
        toml::from_str(&std::fs::read_to_string(&toml).unwrap()).unwrap();
    assert_eq!(
        t,
        validator_core::targets::watershed::from_template(
            &std::fs::read_to_string(&template).unwrap()
        )
        .unwrap()
    );
    // Stdout without -o.
    let o = preflight(&["target", "from-watershed", s(&template)]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("name = \"watershed\""));

    let csv = repo().join("examples/watershed/completions.csv");
    for target in [&toml, &json_file] {
        let o = preflight(&[
            "check",
            "--format",
            "json",
            "--target-file",
            s(target),
            s(&csv),
        ]);
        assert_eq!(code(&o), 0);
        let r = json(&o);
        assert_eq!(r["target"], "watershed");
        assert_eq!(r["files"][0]["kind"], "rows");
        assert_eq!(r["summary"]["infos"], 1, "Department is not referenced");
    }
    // A missing referenced column is an error naming it.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "Learner Name,Email Address\nA,a@example.edu\n").unwrap();
    let o = preflight(&[
        "check",
        "--format",
        "json",
        "--target-file",
        s(&toml),
        s(&bad),
    ]);
    assert_eq!(code(&o), 1);
    let msg = json(&o)["files"][0]["findings"][0]["message"].clone();
    assert!(
        msg.as_str().unwrap().contains("missing `Course Code`"),
        "{msg}"
    );

    // The bundle is the one CSV, normalised (unreferenced column dropped), and checks clean.
    let out = dir.path().join("upload.csv");
    let o = preflight(&[
        "bundle",
        "--target-file",
        s(&toml),
        "-o",
        s(&out),
        "--timestamp",
        "2025-01-31T08:00:00",
        s(&csv),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.starts_with("Employee ID,Learner Name,"),
        "{written}"
    );
    assert!(!written.contains("Department"));
    let o = preflight(&[
        "check",
        "--format",
        "json",
        "--target-file",
        s(&toml),
        s(&out),
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(json(&o)["summary"]["infos"], 0);

    // Not a template.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, r#"{"statements": [{"verb": "x"}]}"#).unwrap();
    let o = preflight(&["target", "from-watershed", s(&junk)]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("references no CSV column"));
}

#[test]
fn target_file_takes_a_frictionless_data_package() {
    let case = repo().join("tests/data/frictionless/02-foreign-key-missing");
    let package = case.join("datapackage.json");
    let input = case.join("input");
    let o = preflight(&[
        "check",
        "--format",
        "json",
        "--target-file",
        s(&package),
        s(&input),
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Every field, type and constraint of this package is checked: nothing to warn about.
    assert!(!stderr.contains("not checked"), "{stderr}");
    let r = json(&o);
    assert_eq!(r["target"], "northbridge-staff");
    let kinds: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["departments", "staff"]);
    let f = &r["files"][1]["findings"][0];
    assert_eq!(
        (f["code"].as_str(), f["row"].as_u64()),
        (Some("ref.missing"), Some(4))
    );

    // A bare Table Schema works too; an unusable one is exit 2 with the reason.
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(
        &schema,
        r#"{"fields": [{"name": "id", "type": "integer", "constraints": {"unique": true}}]}"#,
    )
    .unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "id\n1\n1\nx\n").unwrap();
    let o = preflight(&[
        "check",
        "--format",
        "json",
        "--target-file",
        s(&schema),
        s(&csv),
    ]);
    assert_eq!(code(&o), 1);
    let codes: Vec<String> = json(&o)["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    // Imported types report as Frictionless does: `row.type` (its type-error).
    assert_eq!(codes, ["dup.repeated_id", "row.type"]);
    std::fs::write(&schema, r#"{"fields": [{"name": "a"}], "primaryKey": "b"}"#).unwrap();
    let o = preflight(&["check", "--target-file", s(&schema), s(&csv)]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("primaryKey field `b`"));
}
