//! TypeScript declarations of the report ([`crate::report`]), generated from the Rust types
//! with `ts-rs` (feature `ts`). validator-wasm's tests compare them with its committed
//! `src/report.d.ts`, which its TypeScript custom section includes, so the JS types cannot
//! drift from the JSON the core writes.

use crate::report::{FileReport, Finding, Omitted, Report, Severity, Summary};
use ts_rs::{Config, TS};

/// One declaration: its doc comment, then `export type Name = ...;`.
fn declaration<T: TS>(cfg: &Config, out: &mut String) {
    if let Some(docs) = T::docs() {
        out.push_str(&docs);
    }
    out.push_str("export ");
    // ts-rs writes an object type's fields unindented and closes it on the last field's
    // line; one field per indented line and `};` alone keep the .d.ts readable (wasm-bindgen
    // re-indents custom sections by their braces).
    let decl = T::decl(cfg);
    let mut lines = decl.lines().map(str::trim_end);
    if let Some(first) = lines.next() {
        out.push_str(first);
        out.push('\n');
    }
    for line in lines {
        match line.strip_suffix("};") {
            Some(last) => {
                if !last.trim().is_empty() {
                    out.push_str("  ");
                    out.push_str(last.trim_end());
                    out.push('\n');
                }
                out.push_str("};\n");
            }
            None => {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push('\n');
}

/// The declarations of `Report` and every type it contains, as one TypeScript text.
/// Integers are `number`: the report crosses to JS through `JSON.parse`, never as `bigint`.
pub fn report_declarations() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from validator-core's report types by ts-rs (validator_core::report_ts).\n\
         // Do not edit: UPDATE_REPORT_TS=1 cargo test -p validator-wasm --test report_types\n\n",
    );
    declaration::<Severity>(&cfg, &mut out);
    declaration::<Finding>(&cfg, &mut out);
    declaration::<Omitted>(&cfg, &mut out);
    declaration::<FileReport>(&cfg, &mut out);
    declaration::<Summary>(&cfg, &mut out);
    declaration::<Report>(&cfg, &mut out);
    // ts-rs leaves a space after each field's comma; no trailing blanks in the committed file.
    let mut text: String = out
        .trim_end()
        .lines()
        .map(|l| l.trim_end().to_owned() + "\n")
        .collect();
    text.shrink_to_fit();
    text
}
