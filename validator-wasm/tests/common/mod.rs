//! Checks shared by the Node and the browser test files: each runs them in its own host.
//! They call the exported API and look at the JS values it returns (plain objects, JS
//! `Error`s), as a portal would.

use js_sys::{JSON, Reflect};
use validator_wasm::{Diff, Session, target_from_text, targets};
use wasm_bindgen::{JsCast, JsValue};

const ACCOUNTS: &[u8] = include_bytes!("../../../examples/canvas/accounts.csv");
const TERMS: &[u8] = include_bytes!("../../../examples/canvas/terms.csv");
const COURSES: &[u8] = include_bytes!("../../../examples/canvas/courses.csv");
const SECTIONS: &[u8] = include_bytes!("../../../examples/canvas/sections.csv");
const USERS: &[u8] = include_bytes!("../../../examples/canvas/users.csv");
const ENROLLMENTS: &[u8] = include_bytes!("../../../examples/canvas/enrollments.csv");

/// The example bundle, in processing order (as the CLI pushes it).
const EXAMPLE: &[(&str, &[u8])] = &[
    ("accounts.csv", ACCOUNTS),
    ("terms.csv", TERMS),
    ("courses.csv", COURSES),
    ("sections.csv", SECTIONS),
    ("users.csv", USERS),
    ("enrollments.csv", ENROLLMENTS),
];

fn canvas() -> Session {
    Session::new(JsValue::from_str("canvas"), JsValue::UNDEFINED).expect("canvas session")
}

/// A JS value as JSON, through the JS engine's own `JSON.stringify`.
fn json(v: &JsValue) -> serde_json::Value {
    let text = JSON::stringify(v)
        .expect("stringify")
        .as_string()
        .expect("string");
    serde_json::from_str(&text).expect("valid JSON")
}

fn js_object(json_text: &str) -> JsValue {
    JSON::parse(json_text).expect("valid JSON")
}

/// The message of the JS `Error` an API call failed with.
fn error_message<T: std::fmt::Debug>(r: Result<T, wasm_bindgen::JsError>) -> String {
    let e: JsValue = r.expect_err("expected a JS Error").into();
    let e = e
        .dyn_into::<js_sys::Error>()
        .expect("usage errors are JS Error instances");
    e.message().into()
}

fn push_in_chunks(s: &mut Session, path: &str, bytes: &[u8], size: usize) {
    for chunk in bytes.chunks(size.max(1)) {
        s.push(path, chunk).expect("push");
    }
    s.finish_file(path).expect("finishFile");
}

fn report_of(files: &[(&str, &[u8])], chunk: usize) -> serde_json::Value {
    let mut s = canvas();
    for (path, bytes) in files {
        push_in_chunks(&mut s, path, bytes, chunk);
    }
    let r = s.finish().expect("finish");
    assert!(r.is_object(), "finish() returns a plain object");
    json(&r)
}

pub fn targets_lists_canvas() {
    assert!(targets().iter().any(|t| t == "canvas"));
}

/// The JS report is the core's report serialised as the CLI prints it (`--format json`).
pub fn example_report_equals_core_report() {
    let got = report_of(EXAMPLE, 65536);
    let expected = serde_json::to_value(validator_core::validate_files(
        &validator_core::targets::canvas(),
        EXAMPLE,
    ))
    .unwrap();
    assert_eq!(got, expected);
    let kinds: Vec<&str> = got["files"]
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
    assert!(got["summary"]["errors"].as_u64().unwrap() > 0);
    let courses = &got["files"][2];
    let f = &courses["findings"][0];
    assert_eq!(f["code"], "row.enum");
    assert_eq!(f["row"], 5);
    assert_eq!(f["column"], "status");
    assert_eq!(
        f["platform_message"],
        "Improper status \"actvie\" for course MATH310-2025SP"
    );
}

/// Any chunking, and any push order, gives the same report.
pub fn chunking_and_order_do_not_change_the_report() {
    let whole = report_of(EXAMPLE, usize::MAX);
    for size in [1, 7, 4096] {
        assert_eq!(report_of(EXAMPLE, size), whole, "chunk size {size}");
    }
    let mut reversed = EXAMPLE.to_vec();
    reversed.reverse();
    assert_eq!(report_of(&reversed, 333), whole, "reversed push order");
}

/// Two files of a few MiB pushed in 64 KiB chunks, taking turns, give the report of each
/// pushed whole, one after the other: past the bytes a file's reading gathers before its
/// checks take them (1 MiB), and with another file pushed in between. Bytes count as
/// pushed, and a record over the limit ends its file at once.
pub fn interleaved_large_pushes_give_the_same_report() {
    let mut users = String::from("user_id,login_id,status\r\n");
    let mut enrollments = String::from("course_id,user_id,role,status\r\n");
    for i in 0..90_000u32 {
        // A duplicate id every 9,973 rows, a bad status every 7,919.
        let id = if i % 9_973 == 9_972 { i - 1 } else { i };
        let status = if i % 7_919 == 7_918 {
            "actve"
        } else {
            "active"
        };
        users.push_str(&format!("U{id:07},\"login {i}, x\",{status}\r\n"));
        // References in another order, and some to no one.
        let u = (i.wrapping_mul(2_654_435_761) >> 8) % 91_000;
        enrollments.push_str(&format!("C1,U{u:07},student,active\r\n"));
    }
    let files: [(&str, &[u8]); 2] = [
        ("users.csv", users.as_bytes()),
        ("enrollments.csv", enrollments.as_bytes()),
    ];
    assert!(files.iter().all(|(_, b)| b.len() > 2 << 20));
    let whole = report_of(&files, usize::MAX);
    assert!(
        whole["summary"]["errors"].as_u64() > Some(10),
        "{}",
        whole["summary"]
    );

    let mut s = canvas();
    let mut chunks: Vec<_> = files.iter().map(|(p, b)| (*p, b.chunks(65_536))).collect();
    let mut pushed = 0;
    let mut more = true;
    while more {
        more = false;
        for (path, it) in &mut chunks {
            if let Some(chunk) = it.next() {
                s.push(path, chunk).expect("push");
                pushed += chunk.len();
                more = true;
            }
        }
        let p = json(&s.progress().unwrap());
        assert_eq!(p["bytes"], pushed);
    }
    for (path, _) in &files {
        s.finish_file(path).expect("finishFile");
    }
    assert_eq!(json(&s.finish().expect("finish")), whole);

    // Not ended by finishFile: finish() ends it, as the core does.
    let mut s = canvas();
    for chunk in files[0].1.chunks(65_536) {
        s.push("users.csv", chunk).expect("push");
    }
    let mut alone = canvas();
    alone.push("users.csv", files[0].1).expect("push");
    alone.finish_file("users.csv").expect("finishFile");
    assert_eq!(json(&s.finish().unwrap()), json(&alone.finish().unwrap()));

    let mut s = Session::new(
        JsValue::from_str("canvas"),
        js_object("{\"maxRecordBytes\": 1000}"),
    )
    .unwrap();
    let mut head = String::from("user_id,login_id,status\r\n");
    for i in 0..500 {
        head.push_str(&format!("u{i},l{i},active\r\n"));
    }
    s.push("users.csv", head.as_bytes()).unwrap();
    assert!(s.wants("users.csv").unwrap());
    s.push(
        "users.csv",
        format!("u,{},active\r\n", "x".repeat(2000)).as_bytes(),
    )
    .unwrap();
    assert!(
        !s.wants("users.csv").unwrap(),
        "a record over the limit ends the file"
    );
    s.finish_file("users.csv").unwrap();
    let r = json(&s.finish().unwrap());
    assert_eq!(
        r["files"][0]["findings"][0]["code"], "csv.record_too_large",
        "{r}"
    );
}

pub fn progress_counts_bytes_rows_and_files() {
    let mut s = canvas();
    let p = json(&s.progress().unwrap());
    assert_eq!(p, serde_json::json!({"bytes": 0, "rows": 0, "files": 0}));
    s.push("users.csv", b"user_id,login_id,status\nu1,l1,active\n")
        .unwrap();
    s.push("users.csv", b"u2,l2,active\n").unwrap();
    s.finish_file("users.csv").unwrap();
    let p = json(&s.progress().unwrap());
    assert_eq!(p["bytes"], 50);
    assert_eq!(p["files"], 1);
    assert_eq!(p["rows"], 2);
}

/// Bad bytes, broken quoting, unknown headers and UTF-16 are findings, never exceptions.
pub fn bad_input_is_findings_not_errors() {
    let mut s = canvas();
    s.push("a.csv", b"user_id,login_id,status\nu1,\"l1,active\n")
        .unwrap();
    s.push("b.csv", b"user_id,login_id,status\nu2,l\x80\x81,active\n")
        .unwrap();
    s.push("c.csv", b"no,such,kind\n1,2,3\n").unwrap();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "user_id,login_id,status\nu9,l9,active\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    s.push("d.csv", &utf16).unwrap();
    let r = json(&s.finish().unwrap());
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    let by_path = |p: &str| files.iter().find(|f| f["path"] == p).unwrap();
    let codes = |p: &str| -> Vec<String> {
        by_path(p)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        codes("a.csv").iter().any(|c| c.starts_with("csv.")),
        "{:?}",
        codes("a.csv")
    );
    assert!(!codes("b.csv").is_empty());
    assert!(by_path("c.csv")["kind"].is_null());
    assert!(!codes("c.csv").is_empty());
    assert_eq!(by_path("d.csv")["encoding"], "UTF-16LE");
    assert!(r["summary"]["errors"].as_u64().unwrap() >= 3);
}

pub fn misuse_throws_js_errors() {
    let msg = error_message(Session::new(
        JsValue::from_str("moodle"),
        JsValue::UNDEFINED,
    ));
    assert!(msg.contains("unknown target"), "{msg}");
    let msg = error_message(Session::new(
        js_object("{\"kinds\": 3}"),
        JsValue::UNDEFINED,
    ));
    assert!(msg.contains("invalid target file"), "{msg}");
    let msg = error_message(Session::new(
        JsValue::from_str("canvas"),
        js_object("{\"maxPerCod\": 3}"),
    ));
    assert!(msg.contains("invalid options"), "{msg}");

    let mut s = canvas();
    s.push("users.csv", b"user_id,login_id,status\n").unwrap();
    s.finish_file("users.csv").unwrap();
    let msg = error_message(s.push("users.csv", b"u1,l1,active\n"));
    assert!(msg.contains("already finished"), "{msg}");
    let msg = error_message(s.finish_file("users.csv"));
    assert!(msg.contains("already finished"), "{msg}");
    // Still usable after a misuse error.
    s.push("terms.csv", b"term_id,name,status\nT1,Fall,active\n")
        .unwrap();
    assert!(s.finish().is_ok());
    for msg in [
        error_message(s.finish()),
        error_message(s.push("x.csv", b"a")),
        error_message(s.finish_file("x.csv")),
        error_message(s.progress()),
        error_message(s.kinds()),
    ] {
        assert!(msg.contains("finished"), "{msg}");
    }
}

/// A target can be a target-file object (the JSON form of a `Target`).
pub fn target_file_object() {
    let target = js_object(
        r#"{"name": "tiny", "title": "Tiny", "kinds": [
            {"name": "things", "columns": ["id", "name"], "detect": {"all": ["id", "name"]},
             "rules": [{"check": "required", "column": "id"}]}]}"#,
    );
    let mut s = Session::new(target, JsValue::UNDEFINED).unwrap();
    assert_eq!(s.target_name().unwrap(), "tiny");
    assert_eq!(s.kinds().unwrap(), ["things"]);
    push_in_chunks(&mut s, "t.csv", b"id,name\n,nameless\nx,X\n", 3);
    let r = json(&s.finish().unwrap());
    assert_eq!(r["target"], "tiny");
    assert_eq!(r["files"][0]["kind"], "things");
    assert_eq!(r["files"][0]["findings"][0]["code"], "row.required");
    assert_eq!(r["files"][0]["findings"][0]["row"], 2);
}

/// A target file's text (TOML, JSON, Table Schema) gives the target the CLI loads from it.
pub fn target_from_text_reads_toml_json_and_table_schema() {
    let layout = include_str!("../../../examples/encoura/layout.toml");
    let from_toml = json(&target_from_text(layout).unwrap());
    let native: validator_core::Target = toml::from_str(layout).unwrap();
    assert_eq!(from_toml, serde_json::to_value(&native).unwrap());
    let from_json = json(&target_from_text(&from_toml.to_string()).unwrap());
    assert_eq!(from_json, from_toml);
    let schema = r#"{"fields": [{"name": "id", "type": "integer"}]}"#;
    let imported = validator_core::import::table_schema(schema).unwrap().target;
    assert_eq!(
        json(&target_from_text(schema).unwrap()),
        serde_json::to_value(&imported).unwrap()
    );
    // A BOM is not part of the text; what is not a target says so.
    assert!(target_from_text(&format!("\u{feff}{layout}")).is_ok());
    assert!(error_message(target_from_text("name = 1")).contains("invalid target file"));
    assert!(error_message(target_from_text("{\"kinds\": 3}")).contains("invalid target file"));
}

pub fn kinds_prefix_skip_and_cap() {
    let mut s = Session::new(
        JsValue::from_str("canvas"),
        js_object("{\"maxPerCode\": 1}"),
    )
    .unwrap();
    let kinds = s.kinds().unwrap();
    assert!(
        kinds.iter().position(|k| k == "users") < kinds.iter().position(|k| k == "enrollments")
    );
    assert_eq!(
        s.kind_of_prefix(ENROLLMENTS).unwrap().as_deref(),
        Some("enrollments")
    );
    assert_eq!(s.kind_of_prefix(b"term_id,na").unwrap(), None);
    assert_eq!(s.kind_of_prefix(b"a,b\n1,2\n").unwrap(), None);
    s.skip_file("notes.txt").unwrap();
    push_in_chunks(
        &mut s,
        "users.csv",
        b"user_id,login_id,status\nu1,l1,bad\nu2,l2,worse\nu3,l3,worst\n",
        5,
    );
    let r = json(&s.finish().unwrap());
    assert_eq!(r["findings"][0]["code"], "file.unknown_type");
    assert_eq!(r["findings"][0]["file"], "notes.txt");
    assert_eq!(
        r["findings"][0]["message"],
        "not a .csv file; Canvas skips it"
    );
    let users = &r["files"][0];
    assert_eq!(users["findings"].as_array().unwrap().len(), 1);
    assert_eq!(users["findings"][0]["row"], 2);
    assert_eq!(users["omitted"][0]["total"], 3);
    assert_eq!(r["summary"]["warnings"], 1);
    assert_eq!(r["summary"]["errors"], 3);
}

/// The report arrives as a JS object whose fields read like the CLI's JSON.
pub fn report_is_a_plain_js_object() {
    let mut s = canvas();
    push_in_chunks(
        &mut s,
        "users.csv",
        b"user_id,login_id,status\nu1,l1,active\n",
        9,
    );
    let r = s.finish().unwrap();
    assert_eq!(
        Reflect::get(&r, &"version".into()).unwrap().as_f64(),
        Some(1.0)
    );
    let files = Reflect::get(&r, &"files".into()).unwrap();
    assert!(js_sys::Array::is_array(&files));
    let summary = Reflect::get(&r, &"summary".into()).unwrap();
    assert_eq!(
        Reflect::get(&summary, &"rows".into()).unwrap().as_f64(),
        Some(1.0)
    );
    let plain = js_sys::Object::get_prototype_of(&js_sys::Object::new());
    assert!(js_sys::Object::is(
        &js_sys::Object::get_prototype_of(&r),
        &plain
    ));
}

fn bundling(target: &str) -> Session {
    let opts = js_object(r#"{"bundle": true}"#);
    Session::new(JsValue::from_str(target), opts).expect("bundle-mode session")
}

/// The same bundle written by the core natively (what `preflight bundle` does).
fn native_bundle(
    files: &[(&str, &[u8])],
    drop_invalid: bool,
    timestamp: validator_core::bundle::Timestamp,
) -> (Vec<u8>, Option<Vec<u8>>) {
    use validator_core::bundle::{BundleOptions, Bundler, plan};
    let t = validator_core::targets::canvas();
    let mut s = validator_core::Session::new(t.clone()).unwrap();
    for (path, bytes) in files {
        s.push(path, bytes).unwrap();
        s.finish_file(path).unwrap();
    }
    let (report, verdicts) = s.finish_with_verdicts();
    let plan = plan(&t, &report, &verdicts, drop_invalid);
    assert!(plan.blocking.is_empty(), "{:?}", plan.blocking);
    let options = BundleOptions {
        drop_invalid,
        timestamp,
    };
    let rejects = drop_invalid.then(Vec::new);
    let mut b = Bundler::new(&t, &plan, &report, &verdicts, options, Vec::new(), rejects).unwrap();
    for e in &plan.entries {
        let bytes = files.iter().find(|(p, _)| *p == e.source).unwrap().1;
        b.begin(&e.source).unwrap();
        b.push(bytes).unwrap();
        b.end().unwrap();
    }
    let (zip, rejects, summary) = b.finish().unwrap();
    (zip, rejects.filter(|_| summary.rejected > 0))
}

/// Entry names and contents of a ZIP, read back with the `zip` crate.
fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a readable ZIP");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            let t = f.last_modified().unwrap();
            assert_eq!(
                (t.year(), t.month(), t.day(), t.hour(), t.minute()),
                (2025, 1, 31, 8, 0)
            );
            (f.name().unwrap().into_owned(), text)
        })
        .collect()
}

/// `bundle()` on the example (pushed in any order and chunking): the ZIP read back has the
/// entries in Canvas's processing order, is byte-identical to the core's native bundle (the
/// CLI's), and the rejected rows come out as the CLI writes them.
pub fn bundle_writes_the_cli_zip() {
    let timestamp = validator_core::bundle::Timestamp {
        year: 2025,
        month: 1,
        day: 31,
        hour: 8,
        minute: 0,
        second: 0,
    };
    let (want, want_rejects) = native_bundle(EXAMPLE, true, timestamp);
    for (chunk, reversed) in [(65536, false), (7, true)] {
        let mut s = bundling("canvas");
        let mut files: Vec<_> = EXAMPLE.to_vec();
        if reversed {
            files.reverse();
        }
        for (path, bytes) in &files {
            push_in_chunks(&mut s, path, bytes, chunk);
        }
        let opts = js_object(r#"{"dropInvalid": true, "timestamp": "2025-01-31T08:00:00"}"#);
        let zip = s.bundle(opts).expect("bundle");
        assert_eq!(zip, want, "byte-identical to the native bundle");
        let entries = unzip(&zip);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
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
        assert!(entries[4].1.starts_with("user_id,"), "{}", entries[4].1);
        let rejects = s.rejects_csv();
        assert_eq!(
            rejects.as_deref().map(str::as_bytes),
            want_rejects.as_deref()
        );
        let summary = json(&s.bundle_summary().unwrap());
        assert_eq!(summary["format"], "zip");
        assert_eq!(summary["entries"].as_array().unwrap().len(), 6);
        assert!(summary["rejected"].as_u64().unwrap() > 0);
        assert!(error_message(s.push("x.csv", b"a")).contains("finished"));
    }
}

/// Without `{bundle: true}` there are no bytes to bundle; with errors and no `dropInvalid`
/// the bundle is refused with the reasons; a clean file bundles with the default timestamp.
pub fn bundle_refusals_and_defaults() {
    let mut s = canvas();
    push_in_chunks(&mut s, "users.csv", USERS, 100);
    assert!(error_message(s.bundle(JsValue::UNDEFINED)).contains("{bundle: true}"));
    // The session is still usable after that.
    assert!(s.finish().is_ok());

    let mut s = bundling("canvas");
    for (path, bytes) in EXAMPLE {
        push_in_chunks(&mut s, path, bytes, 4096);
    }
    let msg = error_message(s.bundle(JsValue::UNDEFINED));
    assert!(msg.starts_with("bundle refused ("), "{msg}");
    assert!(msg.contains("\n  - users.csv: "), "{msg}");

    let mut s = bundling("canvas");
    let bad = js_object(r#"{"timestamp": "1970-01-01T00:00:00"}"#);
    push_in_chunks(
        &mut s,
        "people.csv",
        b"user_id,login_id,status\nu1,l1,active\n",
        5,
    );
    assert!(error_message(s.bundle(bad)).contains("timestamp"));
    let zip = s.bundle(JsValue::UNDEFINED).expect("clean bundle");
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(&zip[..])).unwrap();
    let f = z.by_index(0).unwrap();
    assert_eq!(f.name().unwrap(), "users.csv");
    assert_eq!(f.last_modified().unwrap().year(), 1980);
    assert_eq!(s.rejects_csv(), None);
}

/// `Diff` under JS: the same protocol as the core (old, new, old again), the same report,
/// and the changes a portal would show.
pub fn diff_equals_core_diff() {
    let users = String::from_utf8(USERS.to_vec()).unwrap();
    let mut lines: Vec<&str> = users.lines().collect();
    lines.pop(); // the last user is removed
    let new_users = format!("{}\n", lines.join("\n"));
    let new: Vec<(&str, &[u8])> = EXAMPLE
        .iter()
        .map(|&(p, b)| {
            if p == "users.csv" {
                (p, new_users.as_bytes())
            } else {
                (p, b)
            }
        })
        .collect();
    let options = JSON::parse(r#"{"maxChanges": 5, "oldName": "a", "newName": "b"}"#).unwrap();
    let mut d = Diff::new(JsValue::from_str("canvas"), options).expect("diff");
    assert_eq!(d.side(), "old");
    loop {
        let files: &[(&str, &[u8])] = match d.side().as_str() {
            "old" | "old_again" => EXAMPLE,
            "new" => &new,
            _ => break,
        };
        for (path, bytes) in files {
            for c in bytes.chunks(7) {
                d.push(path, c).unwrap();
            }
            d.finish_file(path).unwrap();
        }
        d.end_side().unwrap();
    }
    let got: serde_json::Value = serde_json::from_str(
        &JSON::stringify(&d.finish().unwrap())
            .unwrap()
            .as_string()
            .unwrap(),
    )
    .unwrap();
    let mut core = validator_core::diff::Diff::new(
        validator_core::targets::canvas(),
        validator_core::diff::DiffOptions {
            max_changes: 5,
            old_name: "a".into(),
            new_name: "b".into(),
            ..Default::default()
        },
    )
    .unwrap();
    use validator_core::diff::Side;
    loop {
        let files: &[(&str, &[u8])] = match core.side() {
            Side::Old | Side::OldAgain => EXAMPLE,
            Side::New => &new,
            Side::Done => break,
        };
        for (path, bytes) in files {
            core.push(path, bytes).unwrap();
            core.finish_file(path).unwrap();
        }
        core.end_side();
    }
    assert_eq!(got, serde_json::to_value(core.finish()).unwrap());
    let users = got["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "users")
        .unwrap();
    assert_eq!(users["removed"], 1);
    assert_eq!(got["changes"][0]["change"], "removed");
    assert!(d.finish().is_err(), "a finished diff throws");
}

pub fn recheck_row_checks_one_row() {
    let mut s = canvas();
    for (path, bytes) in EXAMPLE {
        push_in_chunks(&mut s, path, bytes, 7);
    }
    // Row 5 of the example is `actvie`; as edited it has no finding, as found it has one.
    let fixed = s
        .recheck_row(
            "courses.csv",
            5,
            5,
            b"MATH310-2025SP,MATH 310,Real Analysis,NBU-MATH,2025SP,active",
        )
        .expect("recheckRow");
    assert_eq!(json(&fixed), serde_json::json!([]));
    let bad = s
        .recheck_row(
            "courses.csv",
            5,
            5,
            b"MATH310-2025SP,MATH 310,Real Analysis,NBU-MATH,2025SP,actvie",
        )
        .expect("recheckRow");
    let full = report_of(EXAMPLE, 64);
    let courses = full["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "courses.csv")
        .unwrap();
    let want: Vec<_> = courses["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["row"] == 5)
        .cloned()
        .collect();
    assert_eq!(json(&bad), serde_json::Value::Array(want));
    // The header, or a file never pushed: undefined.
    assert!(
        s.recheck_row("courses.csv", 1, 1, b"x")
            .unwrap()
            .is_undefined()
    );
    assert!(
        s.recheck_row("nope.csv", 2, 2, b"x")
            .unwrap()
            .is_undefined()
    );
    // The session goes on: its report is the whole check's.
    assert_eq!(json(&s.finish().unwrap()), full);
}
