//! AFL entry point for [`preflight_fuzz::zip_input`]: `bash fuzz/run.sh zip_input`.

fn main() {
    afl::fuzz!(|data: &[u8]| preflight_fuzz::zip_input(data));
}
