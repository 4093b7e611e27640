#!/usr/bin/env bash
# Coverage-guided fuzzing on the stable toolchain with cargo-afl (AFL++).
#   bash fuzz/run.sh TARGET [SECONDS [AFL-FUZZ OPTIONS]]
#                                       fuzz TARGET (core_push, target_file, zip_input,
#                                       responses), default 600 s, at the lowest priority
#   bash fuzz/run.sh build TARGET       only build the instrumented binary
#   bash fuzz/run.sh tmin TARGET FILE   minimise a crashing input into FILE.min
#   bash fuzz/run.sh keep TARGET        minimise a run's queue (afl-cmin) and add its inputs
#                                       under 16 KiB to fuzz/corpus/TARGET
#                                       as afl-<sha256 prefix>
#   bash fuzz/run.sh edges TARGET [DIR]  the edges (afl-showmap tuples) that the inputs in DIR
#                                       (default fuzz/corpus/TARGET) reach together: compare
#                                       before and after a run to see whether it still finds any
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

# An AFL++ tool that cargo-afl built (it puts none on PATH).
afl_tool() {
    local tool
    tool=$(find "$HOME/.local/share/afl.rs" -name "$1" -path '*/bin/*' | head -n 1)
    [ -n "$tool" ] || { echo "$1 not found under ~/.local/share/afl.rs" >&2; exit 1; }
    echo "$tool"
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
    keep)
        export PREFLIGHT_FUZZ_RESPONSES=1
        build "$2"
        # afl-cmin.bash rather than `cargo afl cmin` (afl-cmin.py): the latter found
        # "0 unique tuples" for zip_input, whose map the bash script and showmap read fine.
        cmin=$(afl_tool afl-cmin.bash)
        # Not under /tmp: afl-cmin warns that others can write there.
        min=fuzz/out/$2/cmin
        rm -rf "$min"
        trap 'rm -rf "$min"' EXIT
        # Under 16 KiB: on target_file's minimised queue of 2026-12-06 (22,237 edges), the
        # inputs under 1 KiB reached only 13,886 edges, under 4 KiB 22,065, under 16 KiB
        # 22,216 (`bash fuzz/run.sh edges`). A smaller cap starts the next run with less.
        cap=16384
        AFL_PATH=$(dirname "$cmin") AFL_SKIP_CPUFREQ=1 "$cmin" -t 5000 \
            -i "fuzz/out/$2/default/queue" -o "$min" -- "$(binary "$2")" >/dev/null
        declare -A have
        for f in "fuzz/corpus/$2"/*; do have[$(sha256sum <"$f" | cut -c1-64)]=1; done
        added=0 large=0
        for f in "$min"/*; do
            if [ "$(stat -c %s "$f")" -ge "$cap" ]; then large=$((large + 1)); continue; fi
            h=$(sha256sum <"$f" | cut -c1-64)
            [ -z "${have[$h]:-}" ] || continue
            cp "$f" "fuzz/corpus/$2/afl-${h:0:12}"
            have[$h]=1 added=$((added + 1))
        done
        echo "$2: queue $(ls "fuzz/out/$2/default/queue" | wc -l), minimised $(ls "$min" | wc -l), added $added, left out $large of $cap bytes or more" >&2
        ;;
    edges)
        export PREFLIGHT_FUZZ_RESPONSES=1
        build "$2"
        showmap=$(afl_tool afl-showmap)
        dir=${3:-fuzz/corpus/$2}
        map=fuzz/out/$2/edges.map
        mkdir -p "fuzz/out/$2"
        # -C: the union of every input's map, as afl-fuzz counts `edges_found`.
        AFL_SKIP_CPUFREQ=1 "$showmap" -q -C -t 5000 -i "$dir" -o "$map" -- "$(binary "$2")" >/dev/null 2>&1 || true
        [ -s "$map" ] || { echo "afl-showmap wrote no map for $dir" >&2; exit 1; }
        echo "$2: $(wc -l <"$map") edges from $(find "$dir" -maxdepth 1 -type f | wc -l) inputs in $dir"
        ;;
    "") sed -n '2,15p' "$0" >&2; exit 2 ;;
    *)
        target=$1
        export PREFLIGHT_FUZZ_RESPONSES=1
        seconds=${2:-600}
        shift $(($# < 2 ? $# : 2))
        build "$target"
        mkdir -p "fuzz/out/$target"
        # -t: a run over 1 s is a hang; -m: over 2 GiB is out of memory. Further arguments go
        # to afl-fuzz (say `-Z`, sequential queue selection, for a run to plateau).
        # Its own session, whose autogroup gets nice 19: with autogroups, `nice` alone only
        # ranks it against its own session, and a bench beside it would share the cores.
        AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
            setsid sh -c 'echo 19 >/proc/self/autogroup 2>/dev/null; exec nice -n 19 "$@"' sh \
            cargo afl fuzz -V "$seconds" -t 1000 -m 2048 "$@" \
            -i "fuzz/corpus/$target" -o "fuzz/out/$target" \
            -- "$(binary "$target")" &
        fuzzer=$!
        # A new session gets no Ctrl-C from the terminal: pass it on.
        trap 'kill -INT "$fuzzer" 2>/dev/null || true' INT TERM
        wait "$fuzzer" || wait "$fuzzer" || true
        tail -n 1 "fuzz/out/$target/default/plot_data" || true
        ls "fuzz/out/$target/default/crashes" "fuzz/out/$target/default/hangs"
        ;;
esac
