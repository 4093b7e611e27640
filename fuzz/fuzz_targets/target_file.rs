//! AFL entry point for [`preflight_fuzz::target_file`]: `bash fuzz/run.sh target_file`.

fn main() {
    afl::fuzz!(|data: &[u8]| preflight_fuzz::target_file(data));
}
