//! AFL entry point for [`preflight_fuzz::core_push`]: `bash fuzz/run.sh core_push`.

fn main() {
    // Before the fork server starts (afl.rs defers it to `fuzz!`), so that what runs only
    // on a process's first input is not counted as unstable coverage.
    preflight_fuzz::warm_up();
    afl::fuzz!(|data: &[u8]| preflight_fuzz::core_push(data));
}
