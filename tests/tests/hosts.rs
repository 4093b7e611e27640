//! One engine, four hosts, one report: the whole tests/data corpus replayed through
//!
//! 1. the native core (the reference),
//! 2. wasmtime running the module built into `preflight` (`--engine wasm`'s default),
//! 3. wasmtime running `web-demo/pkg/validator_wasm_bg.wasm`, the exact build a portal ships,
//! 4. Node and 5. headless Chromium running that package through its JS API
//!    (`web-demo/e2e/conformance.mjs`),
//!
//! and every report must be byte-identical to the native one: compact JSON as
//! `serde_json::to_string` writes it (`JSON.stringify` of the JS object on the JS hosts).
//! Every host pushes each case's files in sorted path order, in 64 KiB chunks.
//!
//! 2 always runs. 3–5 need a fresh `web-demo/pkg` (`bash web-demo/build.sh`), which cargo
//! does not rebuild, so they run only with `PREFLIGHT_PKG_FRESH=1` (set by tests/run-all.sh
//! right after building the package) or `PREFLIGHT_FULL=1` (CI); then a missing package,
//! Node or Chromium is a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use host_cli::engine::WasmModule;
use tests::{case_setup, check_files_with, data_dir, load_dir};
use validator_core::{Options, Target};

const CHUNK: usize = 64 * 1024;

struct Case {
    /// `<target>/<case>`.
    name: String,
    /// What the JS hosts and wasmtime are given: the built-in name (the folder above the
    /// case), or the JSON of the case's `target.toml` (or imported `datapackage.json`).
    spec: serde_json::Value,
    target: Target,
    options: Options,
    files: Vec<(String, Vec<u8>)>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for target in std::fs::read_dir(data_dir()).expect("tests/data").flatten() {
        let t = target.file_name().to_string_lossy().into_owned();
        for case in std::fs::read_dir(target.path())
            .expect("target dir")
            .flatten()
        {
            let input = case.path().join("input");
            if input.is_dir() {
                let (target, options) = case_setup(&t, &case.path());
                let custom = ["target.toml", "datapackage.json"];
                let spec = if custom.iter().any(|f| case.path().join(f).is_file()) {
                    serde_json::to_value(&target).expect("target as JSON")
                } else {
                    serde_json::Value::String(t.clone())
                };
                out.push(Case {
                    name: format!("{t}/{}", case.file_name().to_string_lossy()),
                    spec,
                    target,
                    options,
                    files: load_dir(&input),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 40, "corpus has {} cases", out.len());
    out
}

/// The reference: the native core's report as compact JSON, per case.
fn native(cases: &[Case]) -> BTreeMap<String, String> {
    cases
        .iter()
        .map(|c| {
            let report = check_files_with(&c.target, &c.files, CHUNK, c.options.clone());
            (c.name.clone(), serde_json::to_string(&report).unwrap())
        })
        .collect()
}

fn in_wasmtime(module: &WasmModule, cases: &[Case]) -> BTreeMap<String, String> {
    cases
        .iter()
        .map(|c| {
            // A built-in target crosses by name here (the CLI sends its JSON definition).
            let spec = match &c.spec {
                serde_json::Value::String(name) => name.clone(),
                v => v.to_string(),
            };
            let mut s = module
                .session(&spec, c.options.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", c.name));
            for (path, bytes) in &c.files {
                for chunk in bytes.chunks(CHUNK) {
                    s.push(path, chunk)
                        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
                }
                s.finish_file(path)
                    .unwrap_or_else(|e| panic!("{}: {e}", c.name));
            }
            let json = s
                .finish_json()
                .unwrap_or_else(|e| panic!("{}: {e}", c.name));
            (c.name.clone(), json)
        })
        .collect()
}

/// Asserts `got` has exactly the cases of `want`, each byte-identical.
fn assert_same(host: &str, want: &BTreeMap<String, String>, got: &BTreeMap<String, String>) {
    let mut bad = Vec::new();
    for (name, w) in want {
        match got.get(name) {
            None => bad.push(format!("{name}: no report from {host}")),
            Some(g) if g != w => {
                let at = w
                    .bytes()
                    .zip(g.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(w.len().min(g.len()));
                let ctx = |s: &str| {
                    let from = s.floor_char_boundary(at.saturating_sub(60));
                    let to = s.ceil_char_boundary((at + 60).min(s.len()));
                    s[from..to].to_owned()
                };
                bad.push(format!(
                    "{name}: differs at byte {at}\n  native: …{}…\n  {host}: …{}…",
                    ctx(w),
                    ctx(g)
                ));
            }
            Some(_) => {}
        }
    }
    for name in got.keys().filter(|n| !want.contains_key(*n)) {
        bad.push(format!("{name}: reported by {host} only"));
    }
    assert!(
        bad.is_empty(),
        "{host}: {} of {} cases differ from native:\n{}",
        bad.len(),
        want.len(),
        bad.join("\n")
    );
    eprintln!("{host}: {} cases byte-identical to native", want.len());
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn pkg_wasm() -> PathBuf {
    repo().join("web-demo/pkg/validator_wasm_bg.wasm")
}

/// Whether the web-demo/pkg hosts run: only with `PREFLIGHT_PKG_FRESH=1` or
/// `PREFLIGHT_FULL=1`, and then the package
/// must be there.
fn full(test: &str) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| v == "1");
    if !set("PREFLIGHT_FULL") && !set("PREFLIGHT_PKG_FRESH") {
        eprintln!(
            "{test}: not run (needs a fresh web-demo/pkg; tests/run-all.sh builds it and runs this)"
        );
        return false;
    }
    assert!(
        pkg_wasm().is_file(),
        "{} is missing: build it with `bash web-demo/build.sh` (tests/run-all.sh does)",
        pkg_wasm().display()
    );
    true
}

/// Runs `web-demo/e2e/conformance.mjs` under Node for `host` (`node` or `chromium`), with
/// each case's target and options as resolved here (the JS side reads no TOML).
fn js_host(host: &str, cases: &[Case]) -> BTreeMap<String, String> {
    let script = repo().join("web-demo/e2e/conformance.mjs");
    let setup: serde_json::Map<String, serde_json::Value> = cases
        .iter()
        .map(|c| {
            let v = serde_json::json!({
                "target": c.spec,
                "options": {
                    "maxPerCode": c.options.max_findings_per_code,
                    "params": c.options.params,
                    "maxRecordBytes": c.options.max_record_bytes,
                    "maxColumns": c.options.max_columns,
                },
            });
            (c.name.clone(), v)
        })
        .collect();
    let setup_file = std::env::temp_dir().join(format!(
        "preflight-conformance-{host}-{}.json",
        std::process::id()
    ));
    std::fs::write(&setup_file, serde_json::to_vec(&setup).unwrap()).expect("write setup");
    let out = Command::new("node")
        .arg(&script)
        .arg(host)
        .arg(data_dir())
        .arg(&setup_file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` (is Node.js installed?): {e}"));
    assert!(
        out.status.success(),
        "node {} {host} failed ({}):\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&setup_file);
    serde_json::from_slice(&out.stdout).expect("conformance.mjs prints a JSON object")
}

#[test]
fn embedded_module_in_wasmtime_matches_native() {
    let module = WasmModule::embedded().unwrap_or_else(|e| panic!("{e}"));
    let cases = cases();
    assert_same(
        "wasmtime (embedded module)",
        &native(&cases),
        &in_wasmtime(&module, &cases),
    );
}

#[test]
fn pkg_module_in_wasmtime_matches_native() {
    if !full("pkg_module_in_wasmtime_matches_native") {
        return;
    }
    let module = WasmModule::from_file(&pkg_wasm()).unwrap_or_else(|e| panic!("{e}"));
    let cases = cases();
    assert_same(
        "wasmtime (web-demo/pkg)",
        &native(&cases),
        &in_wasmtime(&module, &cases),
    );
}

#[test]
fn pkg_in_node_matches_native() {
    if !full("pkg_in_node_matches_native") {
        return;
    }
    let cases = cases();
    assert_same("node", &native(&cases), &js_host("node", &cases));
}

#[test]
fn pkg_in_chromium_matches_native() {
    if !full("pkg_in_chromium_matches_native") {
        return;
    }
    let cases = cases();
    assert_same("chromium", &native(&cases), &js_host("chromium", &cases));
}
