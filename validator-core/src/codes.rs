//! The registry of finding codes: every code a report can carry, with its usual severity
//! and a one-line description. Hosts list it (`preflight codes`), target files are checked
//! against it (a misspelt code in `platform_messages` is an error, not a message that never
//! shows), and the test suite checks that every code in a golden report is registered.
//!
//! A code is `area.name`; the area says what was looked at (the ZIP or folder, the bytes,
//! the CSV structure, the header, one row, the bundle's cross-file state, the platform's
//! answer). Codes are a contract: other tools filter on them, so a code is never renamed.
//!
//! ```
//! use validator_core::codes;
//! let c = codes::lookup("row.enum").unwrap();
//! assert_eq!(c.severity, validator_core::Severity::Error);
//! assert!(codes::lookup("row.enmu").is_none());
//! assert_eq!(codes::suggest("row.enmu"), Some("row.enum"));
//! ```

use crate::Severity::{self, Error, Info, Warning};

/// One finding code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Code {
    /// The code, `area.name`.
    pub code: &'static str,
    /// Its usual severity (a target's rule, or the context, may raise or lower it).
    pub severity: Severity,
    /// What it means, in one line.
    pub doc: &'static str,
}

const fn c(code: &'static str, severity: Severity, doc: &'static str) -> Code {
    Code {
        code,
        severity,
        doc,
    }
}

/// Every finding code, sorted by code (one row per code: a table, not formatted).
#[rustfmt::skip]
pub static CODES: &[Code] = &[
    c("bundle.duplicate_kind", Error, "two files of a kind the platform takes once per bundle"),
    c("bundle.zip", Error, "the bundle cannot be written as the platform's ZIP"),
    c("csv.blank_row", Warning, "a row with no values (skipped by the platform, or an error where blank rows are)"),
    c("csv.delimiter", Error, "the file is not separated by the platform's delimiter"),
    c("csv.empty_file", Error, "the file has no bytes, or no header"),
    c("csv.line_break_in_field", Error, "a CR or LF inside a value where the format forbids line breaks in fields"),
    c("csv.long_row", Error, "a row with more cells than the header"),
    c("csv.no_rows", Error, "the file has a header and no data rows where the platform wants rows"),
    c("csv.quote_in_unquoted", Error, "a double quote inside a value that does not start with one"),
    c("csv.record_too_large", Error, "a record over the record-size limit: the rest of the file is not read"),
    c("csv.row_separator", Error, "a line break other than the file's first one ends a row (Ruby's CSV: Malformed CSV)"),
    c("csv.short_row", Error, "a row with fewer cells than the header"),
    c("csv.text_after_quote", Error, "text after the closing quote of a value"),
    c("csv.too_many_columns", Error, "a record over the column limit: the rest of the file is not read"),
    c("csv.unclosed_quote", Error, "a quoted value is still open at the end of the file"),
    c("csv.unquoted", Warning, "values not in double quotes where the platform asks for quoting"),
    c("detect.first_match_trap", Warning, "the header also matches a kind the platform tries first"),
    c("detect.unknown_kind", Error, "the header matches no file kind of the target"),
    c("dup.conflict", Error, "a value that must be unique appears again"),
    c("dup.primary_key", Error, "a primary key repeated, or null, in a Table Schema resource"),
    c("dup.repeated_id", Error, "an id repeated within a file or across the bundle"),
    c("encoding.bom", Warning, "a byte order mark the platform keeps, refuses or strips"),
    c("encoding.invalid_utf8", Error, "bytes that are not UTF-8"),
    c("encoding.utf16", Warning, "a UTF-16 file (the bundle re-encodes it to UTF-8)"),
    c("file.name", Warning, "a file name the platform reads differently than expected"),
    c("file.name_case", Warning, "names in an archive or folder that differ only in case"),
    c("file.nested_zip", Warning, "a ZIP inside the ZIP: not expanded, the platform does not unpack it"),
    c("file.no_rows", Error, "a data file with a header and no rows where the platform refuses it"),
    c("file.special", Warning, "a FIFO, socket or device in a folder: not read"),
    c("file.too_large", Error, "a file over the platform's size limit"),
    c("file.too_many_rows", Error, "a file over the platform's row limit"),
    c("file.unknown_type", Warning, "not a .csv file: the platform skips it"),
    c("header.blank", Error, "a header cell with no name"),
    c("header.case", Error, "a column name in the wrong case where the platform matches case"),
    c("header.duplicate", Error, "a column name given twice"),
    c("header.extra_label", Error, "a header cell beyond the schema's fields (Frictionless: extra-label)"),
    c("header.incorrect_label", Error, "a header cell that differs from the schema's field name at its position (Frictionless: incorrect-label)"),
    c("header.missing_column", Error, "a column the kind requires is not in the header"),
    c("header.missing_label", Error, "a schema field with no header cell (Frictionless: missing-label)"),
    c("header.order", Error, "columns out of the order the platform requires"),
    c("header.padded", Warning, "a column name with spaces around it"),
    c("header.unknown", Warning, "a column the platform does not read"),
    c("manifest.missing", Error, "the package has no manifest"),
    c("manifest.missing_file", Error, "a file the manifest declares is not in the package"),
    c("manifest.missing_property", Error, "a property the manifest must list is missing"),
    c("manifest.undeclared", Error, "a file the manifest does not declare as bulk or delta"),
    c("param.invalid", Error, "a host parameter (e.g. the location type) with a value the target does not allow"),
    c("param.missing", Warning, "a host parameter the target needs (e.g. the location type) was not given"),
    c("platform.error", Error, "an error the platform reported for the import"),
    c("platform.info", Info, "a note the platform reported for the import"),
    c("platform.warning", Warning, "a warning the platform reported for the import"),
    c("ref.defined_later", Error, "a reference to a row that a later file of the bundle defines"),
    c("ref.inconsistent", Error, "rows that must agree on a value about the same id do not"),
    c("ref.missing", Error, "a reference to an id that is nowhere in the bundle"),
    c("ref.wrong_type", Error, "a reference to a row of the wrong type (e.g. an org that is not a school)"),
    c("row.blank", Error, "a row with no values where the schema's table forbids blank rows (Frictionless: blank-row)"),
    c("row.boolean", Error, "not one of the platform's boolean values"),
    c("row.control_char", Error, "a control character in a value"),
    c("row.date", Error, "not a date or time in the format the platform reads"),
    c("row.date_lenient", Warning, "a date the platform reads only leniently"),
    c("row.email", Error, "not an email address as the platform checks it"),
    c("row.enum", Error, "not one of the values the platform allows"),
    c("row.enum_by", Error, "not one of the values allowed for what another column says (e.g. roles per product)"),
    c("row.exclusive", Error, "columns of which at most one may have a value both have one"),
    c("row.extra_cell", Error, "a cell beyond the schema's fields (Frictionless: extra-cell)"),
    c("row.integer", Error, "not an integer"),
    c("row.missing_cell", Error, "a row shorter than the schema's fields (Frictionless: missing-cell)"),
    c("row.must_be_blank", Error, "a value where the platform wants none"),
    c("row.nul", Error, "a NUL character in a value"),
    c("row.one_of", Error, "none of the columns of which one is required has a value"),
    c("row.pattern", Error, "a value that does not match the field's whole-value pattern"),
    c("row.range", Error, "a typed value below the minimum or above the maximum"),
    c("row.required", Error, "a required value is missing"),
    c("row.same_value", Error, "two columns that must differ have the same value"),
    c("row.too_long", Error, "a value longer than the platform stores"),
    c("row.too_many_items", Error, "a list value with more items than allowed"),
    c("row.too_short", Error, "a value shorter than the field's minLength"),
    c("row.type", Error, "a value that is not of the field's type and format (Table Schema)"),
    c("target.invalid", Error, "the target definition itself is inconsistent"),
];

/// The registered code, if any.
pub fn lookup(code: &str) -> Option<&'static Code> {
    CODES
        .binary_search_by(|c| c.code.cmp(code))
        .ok()
        .map(|i| &CODES[i])
}

/// The registered code nearest to a misspelt one (at most two edits away), for messages.
pub fn suggest(code: &str) -> Option<&'static str> {
    CODES
        .iter()
        .map(|c| (edits(code, c.code), c.code))
        .filter(|&(d, _)| d <= 2)
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance (codes are short ASCII).
fn edits(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.as_bytes().iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Every `platform_messages` key of a target (and of its kinds) must be a registered
/// code: a misspelt one would never show. `Err` says which key, and the nearest code.
pub(crate) fn check_platform_messages(target: &crate::Target) -> Result<(), String> {
    let keys =
        target
            .platform_messages
            .keys()
            .map(|k| (None, k))
            .chain(target.kinds.iter().flat_map(|kind| {
                kind.platform_messages
                    .keys()
                    .map(move |k| (Some(kind.name.as_str()), k))
            }));
    for (kind, key) in keys {
        if lookup(key).is_none() {
            let at = kind.map_or_else(String::new, |k| format!("kind `{k}`: "));
            let hint = suggest(key).map_or_else(
                || " (`preflight codes` lists them)".to_owned(),
                |s| format!("; did you mean `{s}`?"),
            );
            return Err(format!(
                "{at}platform_messages: `{key}` is not a finding code{hint}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_unique_so_lookup_finds_every_code() {
        assert!(CODES.windows(2).all(|w| w[0].code < w[1].code));
        for c in CODES {
            assert_eq!(lookup(c.code), Some(c));
            let (area, name) = c.code.split_once('.').unwrap();
            assert!(!area.is_empty() && !name.is_empty() && !c.doc.is_empty());
        }
    }

    #[test]
    fn misspelt_platform_message_is_an_error_with_a_suggestion() {
        let mut t = crate::targets::canvas();
        t.platform_messages
            .insert("row.enmu".into(), "Improper value".into());
        let e = crate::Session::new(t).unwrap_err().to_string();
        assert!(
            e.contains("`row.enmu` is not a finding code; did you mean `row.enum`?"),
            "{e}"
        );
    }

    #[test]
    fn built_in_targets_use_registered_codes() {
        for name in crate::targets::NAMES {
            check_platform_messages(&crate::targets::builtin(name).unwrap()).unwrap();
        }
    }
}
