#!/usr/bin/env bash
# Builds the ES module package web-demo/pkg/ (not committed): the validator compiled to
# wasm32 with the size-tuned `wasm-release` profile, wasm-bindgen --target web, then
# wasm-opt -Oz from npm's binaryen (pinned in package-lock.json; Debian's binaryen 108
# corrupts wasm-bindgen output, so it is never used). Prints the .wasm size raw and gzipped.
#   bash web-demo/build.sh        (needs wasm-bindgen in .tools/bin: tests/run-all.sh installs it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.tools/bin:$PATH"
wbv=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wbv" ]; then
  echo "wasm-bindgen $wbv is needed (bash tests/run-all.sh installs it into .tools/)" >&2
  exit 2
fi
if [ ! -x web-demo/node_modules/.bin/wasm-opt ]; then
  (cd web-demo && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo build -p validator-wasm --target wasm32-unknown-unknown --profile wasm-release
wasm=target/wasm32-unknown-unknown/wasm-release/validator_wasm.wasm
rm -rf web-demo/pkg
wasm-bindgen --target web --out-dir web-demo/pkg "$wasm"
out=web-demo/pkg/validator_wasm_bg.wasm
before=$(stat -c %s "$out")
web-demo/node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers "$out" -o "$out.opt"
mv "$out.opt" "$out"
raw=$(stat -c %s "$out")
gz=$(gzip -9 -c "$out" | wc -c)
printf 'validator_wasm_bg.wasm: %s bytes after wasm-bindgen, %s bytes after wasm-opt -Oz (%s bytes gzip -9)\n' \
  "$before" "$raw" "$gz"
