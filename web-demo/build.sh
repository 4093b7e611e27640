#!/usr/bin/env bash
# Builds the ES module package web-demo/pkg/ (not committed): the validator compiled to
# wasm32 with the speed-tuned `wasm-release` profile, wasm-bindgen --target web, then
# wasm-opt -O3 from npm's binaryen (pinned in package-lock.json; Debian's binaryen 108
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
# Before -O3: binaryen inlines every function that has one caller, whatever its size, after
# LLVM already chose what to inline. Each finding's closure gives `Emit::cell` one caller per
# call site, and with those inlined the rule loop grew until V8 compiled it 10-18% slower
# (Node, 348 MB bench bundle; validator-core's rules/mod.rs). --no-inline keeps them out
# (the pattern reads the names wasm-bindgen keeps, which --strip-debug then drops);
# -ocimfs=1000 leaves other large single-caller functions alone too (another 4-9%).
# The pattern names a Rust symbol: if `Emits::cell` is renamed it would match nothing and
# the slowdown would come back unnoticed, so the build stops when no function matches.
# (wasm-bindgen writes the names demangled: `<...::Emit as ...::Emits>::cell::h<hash>`.)
kept=$({ grep -aoE 'Emits>::cell::h[0-9a-f]{16}' "$out" || true; } | sort -u | wc -l)
if [ "$kept" -eq 0 ]; then
  echo "web-demo/build.sh: no function matches --no-inline=*Emits*cell* (was Emits::cell renamed? update the pattern)" >&2
  exit 1
fi
web-demo/node_modules/.bin/wasm-opt '--no-inline=*Emits*cell*' -ocimfs=1000 -O3 --strip-debug --strip-producers "$out" -o "$out.opt"
mv "$out.opt" "$out"
raw=$(stat -c %s "$out")
gz=$(gzip -9 -c "$out" | wc -c)
printf 'validator_wasm_bg.wasm: %s bytes after wasm-bindgen, %s bytes after wasm-opt -O3 (%s bytes gzip -9; %s Emits::cell kept out of line)\n' \
  "$before" "$raw" "$gz" "$kept"

# The npm package (`preflight-check`) in web-demo/dist/ (not committed): the API, the element
# and the Worker beside pkg/, so that `new URL(..., import.meta.url)` finds the .wasm and the
# Worker wherever a bundler puts them. `npm pack web-demo/dist` makes the tarball.
version=$(awk '/^\[workspace.package\]/{w=1} w && /^version = /{gsub(/version = |"/,""); print; exit}' Cargo.toml)
rm -rf web-demo/dist
mkdir -p web-demo/dist/pkg
cp web-demo/pkg/validator_wasm.js web-demo/pkg/validator_wasm.d.ts web-demo/pkg/validator_wasm_bg.wasm \
  web-demo/pkg/validator_wasm_bg.wasm.d.ts web-demo/dist/pkg/
cp web-demo/preflight-api.js web-demo/preflight-check.js web-demo/preflight-worker.js web-demo/zip-reader.js \
  web-demo/package/*.d.ts web-demo/package/README.md web-demo/dist/
node -e '
const [version] = process.argv.slice(1);
const entry = (name) => ({ types: `./${name}.d.ts`, default: `./${name}.js` });
const pkg = {
  name: "preflight-check",
  version,
  description: "Check SIS import CSVs (Canvas, Watermark, Sunbird, OneRoster, custom layouts) in the browser or Node before uploading: Preflight compiled to WebAssembly",
  type: "module",
  license: "MIT OR Apache-2.0",
  main: "./preflight-api.js",
  types: "./preflight-api.d.ts",
  exports: {
    ".": entry("preflight-api"),
    "./element": entry("preflight-check"),
    "./worker": entry("preflight-worker"),
    "./wasm": "./pkg/validator_wasm_bg.wasm",
    "./package.json": "./package.json",
  },
  sideEffects: ["./preflight-check.js", "./preflight-worker.js"],
  engines: { node: ">=20" },
  files: ["*.js", "*.d.ts", "pkg/", "README.md"],
};
require("fs").writeFileSync("web-demo/dist/package.json", JSON.stringify(pkg, null, 2) + "\n");
' "$version"
printf 'web-demo/dist: preflight-check@%s, %s bytes in %s files\n' "$version" \
  "$(du -cb web-demo/dist | tail -1 | cut -f1)" "$(find web-demo/dist -type f | wc -l)"
