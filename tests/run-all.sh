#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs
# formatting, lints, native tests (unit, corpus snapshots, Canvas spec replay, property
# tests, CLI), the WebAssembly build with a Node smoke test of the ES module,
# wasm-bindgen-test in Node and headless Chromium, and the browser end-to-end tests
# (Playwright driving Debian's Chromium: the demo page, the error CSV, 100,000 findings,
# a 300 MB file through the Worker).
set -euo pipefail
export CARGO_TERM_COLOR=never
# A one-shot build gains nothing from incremental state, which doubled target/'s size on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
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
# Headless Chromium + chromedriver for wasm-bindgen-test and Playwright (Debian's, ~20 s).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver >/dev/null
fi
# Ruby (its bundled csv) for the Canvas CSV oracle test (tests/oracle/canvas_csv.rb).
if ! command -v ruby >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends ruby >/dev/null
fi
# frictionless-py, the Table Schema oracle (tests/tests/frictionless_oracle.rs), in a venv.
if ! target/frictionless-venv/bin/python -c "import frictionless" 2>/dev/null; then
  if ! python3 -c "import ensurepip" 2>/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      python3-venv >/dev/null
  fi
  python3 -m venv target/frictionless-venv
  target/frictionless-venv/bin/pip install -q -r tests/frictionless/requirements.txt
fi
# playwright-core and binaryen's wasm-opt, pinned by web-demo/package-lock.json.
if ! (cd web-demo && npm ls --depth=0 >/dev/null 2>&1); then
  (cd web-demo && npm ci --no-audit --no-fund --loglevel=error)
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p validator-core -p validator-wasm --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p validator-wasm --target wasm32-unknown-unknown --all-targets -- -D warnings

step "wasm package"
# Built before the native tests: tests/hosts.rs runs the corpus through it.
bash web-demo/build.sh
export PREFLIGHT_PKG_FRESH=1

step "native tests"
# CI=true keeps insta from writing snapshots: a changed report fails the run.
# tests/hosts.rs: one engine, four hosts, byte-identical reports: the whole tests/data
# corpus through the native core, wasmtime (the module embedded in preflight, and
# web-demo/pkg's, the exact build a portal ships), Node and headless Chromium
# (web-demo/e2e/conformance.mjs). With PREFLIGHT_FULL=1 (.ci/run sets it) a missing
# ../shared (the Canvas spec cases) or external tool fails instead of skipping.
CI=true cargo test --workspace

step "Frictionless oracle: Table Schema / Data Package verdicts and findings"
CI=true PREFLIGHT_FULL=1 cargo test -p tests --test frictionless_oracle -- --nocapture

step "Canvas reading vs Ruby's CSV (2,200 generated files)"
# One summary line (seed, cases, agreements); disagreements are listed if any.
CI=true PREFLIGHT_FULL=1 cargo test -p tests --test ruby_oracle -- --nocapture 2>&1 \
  | grep -E '^(ruby oracle|  DIFF|test result)|panicked'

step "Node smoke test"
# The example bundle has deliberate errors: exit 1 is the expected outcome.
status=0
cargo run -q -p host-cli -- check --format json examples/canvas > target/example-report.json || status=$?
[ "$status" -eq 1 ] || { echo "preflight check examples/canvas exited $status, expected 1"; exit 1; }
node web-demo/smoke.mjs examples/canvas target/example-report.json
# bundle() under Node writes the CLI's bytes: the example's ZIP and rejects (--drop-invalid),
# and a single-CSV Watershed bundle through a target file made by `target from-watershed`.
ts=2025-01-31T08:00:00
rm -f target/example-bundle.zip target/example-bundle.rejected.csv
cargo run -q -p host-cli -- bundle --drop-invalid --timestamp "$ts" -o target/example-bundle.zip examples/canvas >/dev/null
node web-demo/e2e/bundle-node.mjs examples/canvas "$ts" target/example-bundle.zip target/example-bundle.rejected.csv
cargo run -q -p host-cli -- target from-watershed examples/watershed/template.json -o target/watershed-target.json 2>/dev/null
rm -f target/watershed-bundle.csv target/watershed-bundle.rejected.csv
cargo run -q -p host-cli -- bundle --target-file target/watershed-target.json --drop-invalid --timestamp "$ts" \
  -o target/watershed-bundle.csv examples/watershed >/dev/null
node web-demo/e2e/bundle-node.mjs examples/watershed "$ts" target/watershed-bundle.csv \
  target/watershed-bundle.rejected.csv target/watershed-target.json

step "wasm-bindgen-test: Node and headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  CHROMEDRIVER="$(command -v chromedriver)" \
  cargo test -p validator-wasm --target wasm32-unknown-unknown

step "browser end-to-end tests (Playwright + Chromium)"
# Screenshots and the downloaded CSV go to target/e2e-artifacts/ (not committed).
node --test --test-concurrency=1 web-demo/e2e/demo.test.mjs web-demo/e2e/large.test.mjs
node --test --test-concurrency=1 web-demo/e2e/preview.test.mjs

step "the npm package as a portal installs it (npm pack, Node, tsc; esbuild and Vite bundles in Chromium)"
node --test --test-concurrency=1 web-demo/e2e/package.test.mjs
