//! AFL entry point for [`preflight_fuzz::core_push`]: `bash fuzz/run.sh core_push`.

fn main() {
    afl::fuzz!(|data: &[u8]| preflight_fuzz::core_push(data));
}
