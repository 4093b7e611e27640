//! Prints the JSON report of a folder of CSV files: `cargo run -p tests --example dump DIR [CHUNK]`.
fn main() {
    let dir = std::env::args().nth(1).expect("usage: dump DIR");
    let files = tests::load_dir(std::path::Path::new(&dir));
    let chunk = std::env::args()
        .nth(2)
        .map_or(0, |c| c.parse().unwrap_or(0));
    let target = std::env::var("TARGET").unwrap_or_else(|_| "canvas".into());
    let t = validator_core::targets::builtin(&target).expect("known target");
    let r = tests::check_files(&t, &files, chunk);
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
}
