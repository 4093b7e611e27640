//! The bindings in headless Chromium (chromedriver).
//!
//!     CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!       cargo test -p validator-wasm --target wasm32-unknown-unknown --test browser

#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! tests {
    ($($name:ident),* $(,)?) => {$(
        #[wasm_bindgen_test]
        fn $name() {
            common::$name();
        }
    )*};
}

tests!(
    targets_lists_canvas,
    example_report_equals_core_report,
    chunking_and_order_do_not_change_the_report,
    interleaved_large_pushes_give_the_same_report,
    progress_counts_bytes_rows_and_files,
    bad_input_is_findings_not_errors,
    misuse_throws_js_errors,
    target_file_object,
    kinds_prefix_skip_and_cap,
    report_is_a_plain_js_object,
    bundle_writes_the_cli_zip,
    bundle_refusals_and_defaults,
    target_from_text_reads_toml_json_and_table_schema,
    diff_equals_core_diff,
    recheck_row_checks_one_row,
);
