//! The report's TypeScript declarations (`src/report.d.ts`, in the package's `.d.ts` through
//! the TypeScript custom section) are generated from validator-core's Rust types by ts-rs:
//! this test regenerates them and fails if the committed file differs, so the JS types
//! cannot drift from the JSON report. `UPDATE_REPORT_TS=1` rewrites the file instead.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

#[test]
fn report_d_ts_is_generated_from_the_core_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report.d.ts");
    let generated = validator_core::report_ts::report_declarations();
    if std::env::var_os("UPDATE_REPORT_TS").is_some() {
        std::fs::write(&path, &generated).expect("write src/report.d.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from the declarations generated from validator-core's report types; \
         run `UPDATE_REPORT_TS=1 cargo test -p validator-wasm --test report_types` and \
         commit the file.\n--- generated ---\n{generated}",
        path.display()
    );
}

#[test]
fn every_report_field_is_declared() {
    // The generated text names every field of a real report's JSON, at every level.
    let report = validator_core::validate(
        &validator_core::targets::canvas(),
        "users.csv",
        b"user_id,login_id,status\nu1,l1,bogus\n",
    );
    let json = serde_json::to_value(&report).expect("report JSON");
    let ts = validator_core::report_ts::report_declarations();
    let declared = |ty: &str, field: &str| {
        let start = ts
            .find(&format!("export type {ty} = "))
            .unwrap_or_else(|| panic!("{ty} declared"));
        let body = &ts[start..start + ts[start..].find("};").expect("end of type")];
        body.lines()
            .any(|l| l.trim_start().starts_with(&format!("{field}: ")))
    };
    let fields = |v: &serde_json::Value| -> Vec<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    let mut checked = 0;
    for f in fields(&json) {
        assert!(declared("Report", &f), "Report.{f}");
        checked += 1;
    }
    for f in fields(&json["files"][0]) {
        assert!(declared("FileReport", &f), "FileReport.{f}");
        checked += 1;
    }
    for f in fields(&json["files"][0]["findings"][0]) {
        assert!(declared("Finding", &f), "Finding.{f}");
        checked += 1;
    }
    for f in fields(&json["summary"]) {
        assert!(declared("Summary", &f), "Summary.{f}");
        checked += 1;
    }
    assert!(checked >= 6 + 11 + 10 + 5, "{checked} fields checked");
    assert!(
        ts.contains(r#"export type Severity = "error" | "warning" | "info";"#),
        "{ts}"
    );
}
