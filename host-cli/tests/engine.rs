//! `--engine wasm`: the validator compiled to WebAssembly, run in wasmtime, prints exactly the
//! native report (the whole corpus is compared in tests/tests/hosts.rs), and a bad
//! `--module` is a clean exit 2.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use zip::write::SimpleFileOptions;

fn preflight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run preflight")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn wasm_engine_prints_the_native_report() {
    // A ZIP with the example bundle and a file the platform skips (a host-made finding),
    // checked with a per-code cap (an option that must cross into the module).
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("bundle.zip");
    let mut z = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/canvas");
    let mut names: Vec<_> = fs::read_dir(&examples)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        z.start_file(name.as_str(), SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, &fs::read(examples.join(name)).unwrap()).unwrap();
    }
    z.start_file("more/enrollments.csv", SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(
        &mut z,
        b"course_id,user_id,role,status\nC1,u1,student,actve\nC1,u2,student,actve\n",
    )
    .unwrap();
    z.start_file("notes.txt", SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut z, b"not a csv").unwrap();
    z.finish().unwrap();

    let args = ["check", "--format", "json", "--max-per-code", "1"];
    let native = preflight(&[&args[..], &[s(&zip_path)]].concat());
    let wasm = preflight(&[&args[..], &["--engine", "wasm", s(&zip_path)]].concat());
    assert_eq!(
        native.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&native.stderr)
    );
    assert_eq!(
        wasm.status.code(),
        native.status.code(),
        "{}",
        String::from_utf8_lossy(&wasm.stderr)
    );
    assert!(String::from_utf8_lossy(&native.stdout).contains("file.unknown_type"));
    assert!(String::from_utf8_lossy(&native.stdout).contains("\"total\": "));
    assert_eq!(
        String::from_utf8_lossy(&wasm.stdout),
        String::from_utf8_lossy(&native.stdout)
    );
}

/// Files under `dir`, recursively.
fn files_under(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() { files_under(&p) } else { 1 }
            })
            .sum()
    })
}

/// The compiled module is cached in the user cache dir, or where `PREFLIGHT_WASM_CACHE`
/// says, and `off` writes nothing. (A tiny module: a debug build takes a minute to compile
/// the real one. Every other `--engine wasm` test here loads the real one from the cache.)
#[test]
fn compiled_module_is_cached_unless_off() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    fs::write(&csv, "user_id,login_id,status\nu1,l1,active\n").unwrap();
    // Valid wasm that compiles, then fails the ABI check.
    let module = dir.path().join("tiny.wasm");
    fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let run = |xdg: &Path, setting: Option<&Path>| {
        fs::create_dir_all(xdg).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_preflight"));
        cmd.args(["check", "--module", s(&module), s(&csv)])
            .env("XDG_CACHE_HOME", xdg)
            .env_remove("PREFLIGHT_WASM_CACHE");
        if let Some(setting) = setting {
            cmd.env("PREFLIGHT_WASM_CACHE", setting);
        }
        let o = cmd.output().expect("run preflight");
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let xdg = dir.path().join("xdg");
    run(&xdg, None);
    assert!(
        files_under(&xdg.join("preflight/wasmtime")) > 0,
        "nothing cached"
    );
    let (chosen, xdg2) = (dir.path().join("chosen"), dir.path().join("xdg2"));
    run(&xdg2, Some(&chosen));
    assert!(
        files_under(&chosen) > 0,
        "nothing cached in PREFLIGHT_WASM_CACHE"
    );
    assert_eq!(files_under(&xdg2), 0);
    let xdg3 = dir.path().join("xdg3");
    run(&xdg3, Some(Path::new("off")));
    assert_eq!(files_under(&xdg3), 0, "`off` wrote into the user cache dir");
}

#[test]
fn a_bad_module_is_exit_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    fs::write(&csv, "user_id,login_id,status\nu1,l1,active\n").unwrap();
    let not_wasm = dir.path().join("not.wasm");
    fs::write(&not_wasm, "hello").unwrap();
    let empty_module = dir.path().join("empty.wasm");
    fs::write(&empty_module, b"\0asm\x01\0\0\0").unwrap();
    let missing = dir.path().join("missing.wasm");
    for (module, says) in [
        (&missing, "cannot read"),
        (&not_wasm, "cannot compile the module"),
        (
            &empty_module,
            "lacks the Preflight C ABI export `pf_abi_version`",
        ),
    ] {
        let o = preflight(&["check", "--module", s(module), s(&csv)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// Inputs over the limits (a 5 MB line of NULs, a header wider than the column limit) give
/// the same located findings on both engines: the limits cross into the module, and the
/// module says it wants no more of such a file instead of trapping.
#[test]
fn over_limit_inputs_give_the_native_findings_on_the_wasm_engine() {
    let dir = tempfile::tempdir().unwrap();
    let mut long = b"user_id,login_id,status\nu1,l1,active\nu2,".to_vec();
    long.resize(long.len() + 5_000_000, 0);
    long.extend_from_slice(b",active\nu3,l3,active\n");
    fs::write(dir.path().join("users.csv"), &long).unwrap();
    let mut wide = b"course_id,short_name,long_name,status".to_vec();
    for i in 0..100 {
        wide.extend_from_slice(format!(",extra{i}").as_bytes());
    }
    wide.extend_from_slice(b"\nC1,c1,Course 1,active\n");
    fs::write(dir.path().join("courses.csv"), &wide).unwrap();
    let args = [
        "check",
        "--format",
        "json",
        "--max-record-bytes",
        "100000",
        "--max-columns",
        "50",
        s(dir.path()),
    ];
    let native = preflight(&args);
    let wasm = preflight(&[&args[..], &["--engine", "wasm"]].concat());
    assert_eq!(
        native.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&native.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&native.stdout).unwrap();
    let found: Vec<(String, String, u64)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["file"].as_str().unwrap().to_owned(),
                f["row"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("csv.record_too_large".to_owned(), "users.csv".to_owned(), 3),
            (
                "csv.too_many_columns".to_owned(),
                "courses.csv".to_owned(),
                1
            ),
        ]
    );
    assert_eq!(
        wasm.status.code(),
        native.status.code(),
        "{}",
        String::from_utf8_lossy(&wasm.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&wasm.stdout),
        String::from_utf8_lossy(&native.stdout)
    );
}
