//! Prints the JSON report of a folder of CSV files: `cargo run -p tests --example dump DIR`.
fn main() {
    let dir = std::env::args().nth(1).expect("usage: dump DIR");
    let files = tests::load_dir(std::path::Path::new(&dir));
    let r = tests::check_files(&validator_core::targets::canvas(), &files, 0);
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
}
