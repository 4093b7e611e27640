//! `preflight bundle` end to end: refusal, --drop-invalid with Excel-safe rejects,
//! repairs (encoding, delimiter, header) with a clean round trip, and determinism.

use std::io::Read;
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

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/canvas")
}

fn entries(zip: &Path) -> Vec<(String, String)> {
    let mut a = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            (f.name().unwrap().into_owned(), text)
        })
        .collect()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn refuses_bundles_with_errors_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle.zip");
    let o = preflight(&["bundle", "-o", s(&out), s(&examples())]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("bundle refused"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, no temp file"
    );
}

#[test]
fn drop_invalid_writes_valid_rows_in_processing_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nightly.zip");
    let o = preflight(&["bundle", "--drop-invalid", "-o", s(&out), s(&examples())]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let names: Vec<String> = entries(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "accounts.csv",
            "terms.csv",
            "courses.csv",
            "sections.csv",
            "users.csv",
            "enrollments.csv"
        ]
    );
    let rejects = std::fs::read_to_string(dir.path().join("nightly.rejected.csv")).unwrap();
    assert_eq!(
        rejects.lines().filter(|l| !l.contains(",1,,")).count(),
        3,
        "{rejects}"
    );
    assert!(rejects.contains("courses.csv,5,"));
    // The rewritten bundle has no errors left.
    let o = preflight(&["check", "--format", "json", s(&out)]);
    assert_eq!(code(&o), 0);
}

#[test]
fn repairs_encoding_delimiter_and_header_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    // UTF-16LE, semicolons, mixed-case and padded headers, CRLF.
    let users = "User_ID;Login_ID; status ;Full_Name\r\nu1;ada;active;Ada, Countess\r\nu2;bob;active;Bob\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(users.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(input.join("people.csv"), bytes).unwrap();
    std::fs::write(
        input.join("courses.csv"),
        "\u{feff}course_id,short_name,long_name,status,notes\nC1,C 1,Course 1,active,x\n",
    )
    .unwrap();
    let before = preflight(&["check", "--format", "json", s(&input)]);
    assert_eq!(
        code(&before),
        1,
        "UTF-16, `;` and a padded header are errors for Canvas"
    );
    let out = dir.path().join("b.zip");
    let o = preflight(&["bundle", "-o", s(&out), s(&input)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout);
    for change in [
        "re-encoded from UTF-16LE",
        "delimiter",
        "byte-order mark removed",
        "`notes`",
    ] {
        assert!(said.contains(change), "{change} not in {said}");
    }
    let e = entries(&out);
    assert_eq!(e[0].0, "courses.csv");
    assert_eq!(e[1], ("users.csv".into(), "user_id,login_id,status,full_name\nu1,ada,active,\"Ada, Countess\"\nu2,bob,active,Bob\n".into()));
    let after = json(&preflight(&["check", "--format", "json", s(&out)]));
    assert_eq!(after["summary"]["errors"], 0);
    assert_eq!(after["summary"]["warnings"], 0);
    assert_eq!(after["summary"]["infos"], 0);
}

#[test]
fn rejects_are_excel_safe() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("users.csv");
    std::fs::write(
        &input,
        "user_id,login_id,full_name,status\nu1,a,=HYPERLINK(\"http://x\"),bogus\nu2,b,Bee,active\n",
    )
    .unwrap();
    let out = dir.path().join("u.zip");
    let rejects = dir.path().join("bad.csv");
    let o = preflight(&[
        "bundle",
        "--drop-invalid",
        "--rejects",
        s(&rejects),
        "-o",
        s(&out),
        s(&input),
    ]);
    assert_eq!(code(&o), 0);
    let r = std::fs::read_to_string(&rejects).unwrap();
    assert!(r.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{r}");
    assert_eq!(
        entries(&out)[0].1,
        "user_id,login_id,full_name,status\nu2,b,Bee,active\n"
    );
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.zip"), dir.path().join("b.zip"));
    for out in [&a, &b] {
        let o = preflight(&["bundle", "--drop-invalid", "-o", s(out), s(&examples())]);
        assert_eq!(code(&o), 0);
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let c = dir.path().join("c.zip");
    let o = preflight(&[
        "bundle",
        "--drop-invalid",
        "--timestamp",
        "2025-01-31T08:00:00",
        "-o",
        s(&c),
        s(&examples()),
    ]);
    assert_eq!(code(&o), 0);
    assert_ne!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&c).unwrap(),
        "the timestamp is the host's"
    );
}

#[test]
fn auto_target_picks_the_platform_that_recognises_the_files_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let loc = dir.path().join("districts.csv");
    std::fs::write(
        &loc,
        "code,name,parentCode,parentId\nKA-BLR,Bengaluru,KA,\n",
    )
    .unwrap();
    let o = preflight(&[
        "check",
        "--target",
        "auto",
        "--location-type",
        "district",
        "--format",
        "json",
        s(&loc),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["target"], "sunbird");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("chose sunbird: it recognises 1 of 1 files (location)")
    );
    let o = preflight(&[
        "check",
        "--target",
        "auto",
        "--format",
        "json",
        s(&examples()),
    ]);
    assert_eq!(json(&o)["target"], "canvas");
}

#[test]
fn sunbird_bundle_is_one_csv_without_bom() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.csv");
    std::fs::write(&users, "\u{feff}NAME,EMAIL,SCHOOL ID,USER_TYPE,ROLES\nAsha,asha@example.org,ORG1,teacher,\"CONTENT_CREATOR,COURSE_MENTOR\"\n").unwrap();
    let out = dir.path().join("upload.csv");
    let o = preflight(&["bundle", "--target", "sunbird", "-o", s(&out), s(&users)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text,
        "firstName,email,orgId,userType,roles\nAsha,asha@example.org,ORG1,teacher,\"CONTENT_CREATOR,COURSE_MENTOR\"\n"
    );
}

#[test]
fn sunbird_location_type_missing_is_a_warning_for_check_and_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let loc = dir.path().join("location.csv");
    std::fs::write(
        &loc,
        "code,name,parentCode,parentId\nKA-BLR,Bengaluru,KA,\n",
    )
    .unwrap();
    // Valid rows and no type: a warning, exit 0, for check and for bundle.
    let o = preflight(&["check", "--target", "sunbird", "--format", "json", s(&loc)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let f = &r["files"][0]["findings"][0];
    assert_eq!(
        (&f["code"], &f["severity"]),
        (&"param.missing".into(), &"warning".into())
    );
    let out = dir.path().join("upload.csv");
    let o = preflight(&["bundle", "--target", "sunbird", "-o", s(&out), s(&loc)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.exists());
    // The rows are still checked: a blank code on row 3 is seen.
    std::fs::write(
        &loc,
        "code,name,parentCode,parentId\nKA-BLR,Bengaluru,KA,\n,Mysuru,KA,\n",
    )
    .unwrap();
    let o = preflight(&["check", "--target", "sunbird", "--format", "json", s(&loc)]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let codes: Vec<(String, u64)> = json(&o)["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["row"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("param.missing".to_owned(), 1),
            ("row.required".to_owned(), 3)
        ]
    );
}

#[test]
fn sunbird_blank_lines_before_the_header_are_left_out_of_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let loc = dir.path().join("location.csv");
    std::fs::write(
        &loc,
        ",,,\n , ,,\ncode,name,parentCode,parentId\nKA-BLR,Bengaluru,KA,\n,,,\nKA-MYS,Mysuru,KA,\n",
    )
    .unwrap();
    let out = dir.path().join("upload.csv");
    let o = preflight(&[
        "bundle",
        "--target",
        "sunbird",
        "--location-type",
        "district",
        "-o",
        s(&out),
        s(&loc),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "code,name,parentCode,parentId\nKA-BLR,Bengaluru,KA,\nKA-MYS,Mysuru,KA,\n"
    );
}

fn encoura() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encoura")
}

#[test]
fn encoura_layout_rules_follow_the_product_and_the_bundle_quotes_every_value() {
    let layout = encoura().join("layout.toml");
    let csv = encoura().join("students.csv");
    let codes = |product: &str| -> Vec<(String, String)> {
        let o = preflight(&[
            "check",
            "--format",
            "json",
            "--target-file",
            s(&layout),
            "--param",
            &format!("product={product}"),
            s(&csv),
        ]);
        json(&o)["files"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_owned(),
                    f["severity"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let enrollment = codes("enrollment");
    assert!(
        enrollment.contains(&("row.required".into(), "error".into())),
        "{enrollment:?}"
    );
    let ematch = codes("ematch");
    assert!(
        ematch.contains(&("row.required".into(), "warning".into())),
        "{ematch:?}"
    );
    assert!(
        !ematch.contains(&("row.required".into(), "error".into())),
        "{ematch:?}"
    );
    assert!(ematch.iter().any(|(c, _)| c == "csv.unquoted"));
    // Without a product the layout cannot be checked fully: a clear error, exit 1.
    let o = preflight(&["check", "--target-file", s(&layout), s(&csv)]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("--param product=VALUE"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("upload.csv");
    let o = preflight(&[
        "bundle",
        "--drop-invalid",
        "--target-file",
        s(&layout),
        "--param",
        "product=affinity",
        "-o",
        s(&out),
        s(&csv),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.lines().all(|l| l.starts_with('"') && l.ends_with('"')),
        "{text}"
    );
    let o = preflight(&[
        "check",
        "--format",
        "json",
        "--target-file",
        s(&layout),
        "--param",
        "product=affinity",
        s(&out),
    ]);
    assert_eq!(
        json(&o)["summary"]["warnings"],
        0,
        "the bundle quotes every value"
    );
}

#[test]
fn sunbird_deployment_profile_config_replaces_the_reference_columns() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("userProfileConfig.json");
    std::fs::write(
        &cfg,
        r#"{"csv": {"supportedColumns": {"FULL NAME": "firstName", "EMAIL": "email", "ROLES": "roles", "STATE": "state"},
                    "mandatoryColumns": ["firstName", "roles", "state"]}}"#,
    )
    .unwrap();
    let users = dir.path().join("users.csv");
    std::fs::write(
        &users,
        "FULL NAME,EMAIL,ROLES\nAsha,asha@example.org,PUBLIC\n",
    )
    .unwrap();
    let o = preflight(&[
        "check",
        "--target",
        "sunbird",
        "--target-file",
        s(&cfg),
        "--format",
        "json",
        s(&users),
    ]);
    let r = json(&o);
    assert_eq!(r["files"][0]["kind"], "user");
    let codes: Vec<&str> = r["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["header.missing_column"], "{r}");
    assert_eq!(
        r["files"][0]["findings"][0]["platform_message"],
        "Mandatory parameter state is missing."
    );
}

/// `--drop-invalid` rejects the row holding a bad byte, not the row before it: a byte at
/// the very start of row 3 rejected row 2 and shipped row 3 with U+FFFD.
#[test]
fn drop_invalid_blames_a_bad_byte_on_its_own_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        b"user_id,login_id,status\nu1,l1,active\n\xE9u2,l2,active\nu3,l3,active\n",
    )
    .unwrap();
    let out = dir.path().join("out.zip");
    let o = preflight(&["bundle", "--drop-invalid", "-o", s(&out), s(&csv)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let rejects = std::fs::read_to_string(dir.path().join("out.rejected.csv")).unwrap();
    assert!(
        rejects.contains("users.csv,3,encoding.invalid_utf8"),
        "{rejects}"
    );
    assert!(!rejects.contains("users.csv,2,"), "{rejects}");
    let written = entries(&out);
    assert_eq!(
        written[0].1,
        "user_id,login_id,status\nu1,l1,active\nu3,l3,active\n"
    );
}

/// A record over the limit stops the read of that file: `/dev/zero` (which never ends)
/// ends in a located error instead of filling memory.
#[cfg(unix)]
#[test]
fn an_endless_line_ends_with_a_located_error() {
    let o = preflight(&[
        "check",
        "--format",
        "json",
        "--max-record-bytes",
        "1000000",
        "/dev/zero",
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let f = &r["files"][0]["findings"][0];
    assert_eq!(f["code"], "csv.record_too_large");
    assert_eq!(f["row"], 1);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("--max-record-bytes")
    );
}

#[test]
fn a_file_no_kind_matches_is_refused_or_left_out_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        input.join("users.csv"),
        "user_id,login_id,first_name,last_name,email,status\nU1,l1,A,B,a@example.edu,active\n",
    )
    .unwrap();
    std::fs::write(input.join("rooms.csv"), "room,capacity\nB101,40\n").unwrap();
    let out = dir.path().join("b.zip");
    // Refused, naming the file.
    let o = preflight(&["bundle", "-o", s(&out), s(&input)]);
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("rooms.csv: no Canvas file kind matches its header"),
        "{err}"
    );
    // With --drop-invalid: left out of the ZIP, and stderr says so.
    let o = preflight(&["bundle", "--drop-invalid", "-o", s(&out), s(&input)]);
    assert_eq!(code(&o), 0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("left out of the bundle: rooms.csv: no Canvas file kind matches its header"),
        "{err}"
    );
    let names: Vec<String> = entries(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["users.csv"]);
}

/// `--threads 2` writes the bundle while it checks and keeps it when the check allows it;
/// otherwise it writes again after the check. The bytes are those of `--threads 1` in
/// every case: a clean folder (kept), the same files inside a ZIP, repaired files, rows
/// dropped (written again), and a refusal (nothing left behind).
#[test]
fn two_threads_write_the_same_bytes_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.zip");
    let o = preflight(&[
        "bundle",
        "--drop-invalid",
        "--threads",
        "1",
        "-o",
        s(&clean),
        s(&examples()),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let folder = dir.path().join("clean");
    std::fs::create_dir(&folder).unwrap();
    for (name, text) in entries(&clean) {
        // CRLF, so that the bundle differs from its input (line endings rewritten).
        std::fs::write(folder.join(name), text.replace('\n', "\r\n")).unwrap();
    }
    let examples = examples();
    let cases: [(&str, Vec<&str>, i32); 4] = [
        ("folder", vec![s(&folder)], 0),
        ("zip", vec![s(&clean)], 0),
        ("dropped", vec!["--drop-invalid", s(&examples)], 0),
        ("refused", vec![s(&examples)], 1),
    ];
    for (case, args, want) in cases {
        let mut outs = Vec::new();
        for threads in ["1", "2"] {
            let sub = dir.path().join(format!("{case}-{threads}"));
            std::fs::create_dir(&sub).unwrap();
            let out = sub.join("b.zip");
            let mut a = vec!["bundle", "--threads", threads, "-o", s(&out)];
            a.extend(&args);
            let o = preflight(&a);
            assert_eq!(
                code(&o),
                want,
                "{case} {threads}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&sub)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect();
            files.sort();
            let said = String::from_utf8_lossy(&o.stdout).replace(s(&sub), "OUT");
            outs.push((files, said));
        }
        assert_eq!(
            outs[0].1, outs[1].1,
            "{case}: --threads 1 and 2 say different things"
        );
        assert!(
            outs[0].0 == outs[1].0,
            "{case}: --threads 1 and 2 write different bytes"
        );
        let names: Vec<&str> = outs[0].0.iter().map(|f| f.0.as_str()).collect();
        match case {
            "refused" => assert!(names.is_empty(), "{case}: {names:?}"),
            "dropped" => assert_eq!(names, ["b.rejected.csv", "b.zip"]),
            _ => assert_eq!(names, ["b.zip"]),
        }
    }
}
