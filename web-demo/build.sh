#!/usr/bin/env bash
# Builds the ES module package web-demo/pkg/ (not committed): the validator compiled to
# wasm32 with the size-tuned profile, then wasm-bindgen --target web.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.tools/bin:$PATH"
cargo build -p validator-wasm --target wasm32-unknown-unknown --profile wasm-release
wasm-bindgen --target web --out-dir web-demo/pkg \
  target/wasm32-unknown-unknown/wasm-release/validator_wasm.wasm
ls -l web-demo/pkg/validator_wasm_bg.wasm
