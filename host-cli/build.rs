//! Embeds the validator compiled to WebAssembly, so that `preflight check --engine wasm`
//! works with no set-up step: builds `validator-wasm` for `wasm32-unknown-unknown` with the
//! `wasm-release` profile (the portal's build, before `wasm-bindgen`) and hands it to
//! `include_bytes!` as `$OUT_DIR/validator.wasm`.
//!
//! The nested cargo uses its own target directory (`<target>/wasm-embed`, shared by debug,
//! release and clippy builds), so it never waits on the lock of the build that runs it.
//!
//! Escape hatches (build-time environment):
//! - `PREFLIGHT_WASM_MODULE=FILE` embeds that module instead of building one;
//! - `PREFLIGHT_NO_WASM_BUILD=1` embeds nothing (then `--engine wasm` needs `--module`).
//!
//! A failed wasm build (e.g. the `wasm32-unknown-unknown` target is not installed) does not
//! fail this crate: it warns, embeds nothing, and `--engine wasm` says why at run time.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("workspace root").to_path_buf();
    println!("cargo:rerun-if-env-changed=PREFLIGHT_WASM_MODULE");
    println!("cargo:rerun-if-env-changed=PREFLIGHT_NO_WASM_BUILD");
    for p in [
        "validator-core/src",
        "validator-core/Cargo.toml",
        "validator-wasm/src",
        "validator-wasm/Cargo.toml",
        "Cargo.toml",
        "Cargo.lock",
        // The wasm32 rustflags (SIMD).
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    let (module, note) = match module(&root, &out) {
        Ok(bytes) => (bytes, String::new()),
        Err(why) => {
            println!("cargo:warning=no embedded wasm module: {why}");
            (Vec::new(), why)
        }
    };
    fs::write(out.join("validator.wasm"), module).expect("write validator.wasm");
    fs::write(out.join("validator.note"), note).expect("write validator.note");
}

fn module(root: &Path, out: &Path) -> Result<Vec<u8>, String> {
    if let Some(file) = env::var_os("PREFLIGHT_WASM_MODULE") {
        let file = PathBuf::from(file);
        println!("cargo:rerun-if-changed={}", file.display());
        return fs::read(&file)
            .map_err(|e| format!("PREFLIGHT_WASM_MODULE={}: {e}", file.display()));
    }
    if env::var_os("PREFLIGHT_NO_WASM_BUILD").is_some_and(|v| !v.is_empty() && v != "0") {
        return Err("built with PREFLIGHT_NO_WASM_BUILD set".into());
    }
    let target_dir = target_dir(out).join("wasm-embed");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "--quiet",
            "-p",
            "validator-wasm",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        // What the outer cargo set for this script must not leak into the inner build:
        // its rustflags are for the host target, and clippy's wrapper is for lints.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "`cargo build -p validator-wasm --target wasm32-unknown-unknown --profile wasm-release` failed \
             (is the target installed? `rustup target add wasm32-unknown-unknown`): {}",
            tail.join(" | ")
        ));
    }
    let wasm = target_dir.join("wasm32-unknown-unknown/wasm-release/validator_wasm.wasm");
    fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))
}

/// The cargo target directory this build writes to: the ancestor of `OUT_DIR` that holds
/// `CACHEDIR.TAG`, else `OUT_DIR` itself.
fn target_dir(out: &Path) -> PathBuf {
    out.ancestors()
        .find(|a| a.join("CACHEDIR.TAG").is_file())
        .unwrap_or(out)
        .to_path_buf()
}
