#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs
# formatting, lints, native tests (unit, corpus snapshots, Canvas spec replay, property
# tests, CLI), and the WebAssembly build with a Node smoke test of the ES module.
set -euo pipefail
export CARGO_TERM_COLOR=never
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
rustup target add wasm32-unknown-unknown >/dev/null
export PATH="$root/.tools/bin:$PATH"
wbv=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wbv" ]; then
  # --locked fails on this registry (the CLI's lockfile wants a webpki-roots it lacks).
  cargo install wasm-bindgen-cli --version "=$wbv" --locked --root "$root/.tools" \
    || cargo install wasm-bindgen-cli --version "=$wbv" --root "$root/.tools"
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p validator-core -p validator-wasm --target wasm32-unknown-unknown -- -D warnings

step "native tests"
# CI=true keeps insta from writing snapshots: a changed report fails the run.
CI=true cargo test --workspace

step "wasm package and Node smoke test"
bash web-demo/build.sh
# The example bundle has deliberate errors: exit 1 is the expected outcome.
status=0
cargo run -q -p host-cli -- check --format json examples/canvas > target/example-report.json || status=$?
[ "$status" -eq 1 ] || { echo "preflight check examples/canvas exited $status, expected 1"; exit 1; }
node web-demo/smoke.mjs examples/canvas target/example-report.json
