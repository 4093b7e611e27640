#!/usr/bin/env bash
# Coverage-guided fuzzing on the stable toolchain with cargo-afl (AFL++).
#   bash fuzz/run.sh TARGET [SECONDS]   fuzz TARGET (core_push, target_file, zip_input,
#                                       responses), default 600 s
#   bash fuzz/run.sh build TARGET       only build the instrumented binary
#   bash fuzz/run.sh tmin TARGET FILE   minimise a crashing input into FILE.min
# Findings land in fuzz/out/TARGET/default/{crashes,hangs}; add each, minimised, as
# tests/data/fuzz/TARGET/<name> (replayed by `cargo test -p preflight-fuzz --test replay`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-afl >/dev/null; then
    echo "installing cargo-afl (builds AFL++ for this toolchain once)" >&2
    cargo install --locked cargo-afl
    cargo afl config --build || true
fi

# Instrumented builds get their own target dir so they never invalidate the normal build.
export CARGO_TARGET_DIR=target/afl
export PREFLIGHT_NO_WASM_BUILD=1

features_of() {
    case "$1" in
        zip_input) echo "afl,host" ;;
        responses) echo "afl" ;;
        core_push | target_file) echo "afl" ;;
        *) echo "unknown target '$1' (core_push, target_file, zip_input, responses)" >&2; exit 2 ;;
    esac
}

# The platforms live in host-cli's binary: `responses` is `preflight` built with its `afl`
# feature and run with PREFLIGHT_FUZZ_RESPONSES set.
binary() {
    if [ "$1" = responses ]; then echo "$CARGO_TARGET_DIR/release/preflight"; else echo "$CARGO_TARGET_DIR/release/$1"; fi
}

build() {
    if [ "$1" = responses ]; then
        cargo afl build --release -p host-cli --features afl --bin preflight
        return
    fi
    cargo afl build --release -p preflight-fuzz --no-default-features \
        --features "$(features_of "$1")" --bin "$1"
}

case "${1:-}" in
    build) build "$2" ;;
    tmin)
        export PREFLIGHT_FUZZ_RESPONSES=1
        build "$2"
        cargo afl tmin -t 1000 -m 2048 -i "$3" -o "$3.min" -- "$(binary "$2")"
        ;;
    "") sed -n '2,6p' "$0" >&2; exit 2 ;;
    *)
        target=$1
        export PREFLIGHT_FUZZ_RESPONSES=1
        seconds=${2:-600}
        build "$target"
        mkdir -p "fuzz/out/$target"
        # -t: a run over 1 s is a hang; -m: over 2 GiB is out of memory.
        AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
            nice -n 19 cargo afl fuzz -V "$seconds" -t 1000 -m 2048 \
            -i "fuzz/corpus/$target" -o "fuzz/out/$target" \
            -- "$(binary "$target")"
        tail -n 1 "fuzz/out/$target/default/plot_data" || true
        ls "fuzz/out/$target/default/crashes" "fuzz/out/$target/default/hangs"
        ;;
esac
