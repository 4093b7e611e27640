//! Watershed (xAPI LRS) CSV imports: the layout is whatever the institution's import
//! template reads.
//!
//! A Watershed import template is a JSON document with Handlebars expressions, evaluated
//! once per CSV row; it reads cells by exact header text, `{{columns.[Header Name]}}` (the
//! brackets allow spaces) or `{{columns.Name}}`, also inside helpers and sub-expressions
//! (`{{toDateTime "yyyy-MM-dd" columns.[Date]}}`). A header the template names but the CSV
//! lacks breaks the import, so [`from_template`] turns a template into a target with one
//! kind, `rows`, whose required columns are exactly the headers the template references,
//! compared case-sensitively (detection too: a file is recognised when it has every
//! referenced header; otherwise the near-miss diagnosis names what is missing or
//! misspelled). Other columns are reported as info (the template ignores
//! them). The bundle is a single CSV.
//!
//! ```
//! let t = validator_core::targets::watershed::from_template(
//!     r#"{"statements": [{"actor": {"mbox": "mailto:{{columns.[Email Address]}}"},
//!         "timestamp": "{{toDateTime \"yyyy-MM-dd\" columns.Date}}"}]}"#,
//! ).unwrap();
//! assert_eq!(t.kinds[0].columns, ["Email Address", "Date"]);
//! ```

use crate::Error;
use crate::report::Severity;
use crate::schema::{BundleFormat, Detect, Kind, Target};

/// Name of the target built from a template, and of its only kind.
pub const NAME: &str = "watershed";
/// The kind of every file checked against a template.
pub const KIND: &str = "rows";

/// The target for the CSV files of one Watershed import template (JSON text).
///
/// Fails when the text is neither JSON nor a Handlebars template, or references no column.
pub fn from_template(template_json: &str) -> Result<Target, Error> {
    let columns = referenced_columns(template_json)?;
    if columns.is_empty() {
        return Err(invalid(
            "the template references no CSV column (`{{columns.[Header]}}`)",
        ));
    }
    let mut t = Target::new(NAME);
    t.title = "Watershed".into();
    t.description =
        "Watershed CSV import: every column the import template references must be a header".into();
    // Headers are matched with their exact case, so that a near-miss (`email address` for
    // `Email Address`, a missing column) is diagnosed as such; surrounding spaces are
    // tolerated by detection and reported (`header.padded`: Watershed would read the
    // column as missing; the bundle trims them).
    t.header.case_insensitive = false;
    t.header.trim_for_reading = false;
    let folded: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
    let collide = (1..folded.len()).any(|i| folded[..i].contains(&folded[i]));
    // A CSV file: comma-separated (the bundle rewrites other delimiters).
    t.delimiter = Some(',');
    t.bundle.format = BundleFormat::Csv;
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut kind = Kind::new(KIND, &names);
    kind.detect = Detect::all(&names);
    kind.required_columns = columns.clone();
    kind.unknown_columns = Severity::Info;
    // Another header cell that differs from a column only by case is reported
    // (`header.case`), unless the template itself uses headers differing only by case.
    kind.case_sensitive_header = !collide;
    t.kinds.push(kind);
    Ok(t)
}

fn invalid(msg: &str) -> Error {
    Error::InvalidTarget {
        target: NAME.into(),
        msg: msg.into(),
    }
}

/// The CSV headers a template references, in order of first use, each once.
///
/// JSON templates are read string by string (keys too); text that is not JSON (a template
/// with block helpers between values) is scanned as it is.
///
/// ```
/// use validator_core::targets::watershed::referenced_columns;
/// let cols = referenced_columns(r#"{"a": "{{columns.[First Name]}} {{ columns.Last }}"}"#).unwrap();
/// assert_eq!(cols, ["First Name", "Last"]);
/// ```
pub fn referenced_columns(template: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    match serde_json::from_str::<serde_json::Value>(template) {
        Ok(_) => {
            for s in json_strings(template) {
                scan(&s, &mut out);
            }
        }
        Err(e) if template.contains("{{") => {
            let _ = e;
            scan(template, &mut out);
        }
        Err(e) => return Err(invalid(&format!("the template is not JSON: {e}"))),
    }
    Ok(out)
}

/// Every string literal (keys and values) of valid JSON text, decoded, in document order.
fn json_strings(json: &str) -> Vec<String> {
    let b = json.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if let Some(lit) = json.get(start..=i)
                && let Ok(s) = serde_json::from_str::<String>(lit)
            {
                out.push(s);
            }
        }
        i += 1;
    }
    out
}

/// Finds the column references in the mustaches (`{{ … }}`, `{{{ … }}}`) of a string.
fn scan(text: &str, out: &mut Vec<String>) {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let body = &rest[open + 2..];
        // A comment runs to `--}}` or `}}` and references nothing.
        if let Some(c) = body.strip_prefix("!--") {
            rest = c.find("--}}").map_or("", |end| &c[end + 4..]);
            continue;
        }
        if let Some(c) = body.strip_prefix('!') {
            rest = c.find("}}").map_or("", |end| &c[end + 2..]);
            continue;
        }
        let end = mustache_end(body);
        expression(&body[..end], out);
        rest = body.get(end + 2..).unwrap_or("");
    }
}

/// Where a mustache's body ends (its `}}`), skipping string literals and `[...]` segments.
fn mustache_end(body: &str) -> usize {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'[' => {
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Characters that end a Handlebars identifier segment.
fn ends_id(c: char) -> bool {
    c.is_whitespace() || "!\"#%&'()*+,./;<=>@[\\]^`{|}~".contains(c)
}

/// Column references in one mustache body: `columns.[X]` or `columns.X` as a path (after
/// whitespace, `(`, `=`, or `this.`/`../`), outside string literals.
fn expression(body: &str, out: &mut Vec<String>) {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                i += 1;
                continue;
            }
            b'[' => {
                // A bracketed segment that is not ours (`foo.[columns.x]`): skip it whole.
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        let starts_path = i == 0 || {
            let prev = body[..i].chars().next_back().unwrap_or(' ');
            prev.is_whitespace() || "(=.#/^~&{".contains(prev)
        };
        if starts_path && body[i..].starts_with("columns.") {
            let after = &body[i + "columns.".len()..];
            let (name, used) = if let Some(seg) = after.strip_prefix('[') {
                match seg.find(']') {
                    Some(e) => (&seg[..e], e + 2),
                    None => (seg, seg.len() + 1),
                }
            } else {
                let e = after.find(ends_id).unwrap_or(after.len());
                (&after[..e], e)
            };
            if !name.is_empty() && !out.iter().any(|c| c == name) {
                out.push(name.to_owned());
            }
            i += "columns.".len() + used;
            continue;
        }
        i += body[i..].chars().next().map_or(1, char::len_utf8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan(s, &mut out);
        out
    }

    #[test]
    fn references_in_every_form() {
        assert_eq!(cols("{{columns.[Header Name]}}"), ["Header Name"]);
        assert_eq!(cols("{{ columns.Name }}"), ["Name"]);
        assert_eq!(cols("{{{columns.[Raw]}}}"), ["Raw"]);
        assert_eq!(
            cols(r#"{{toDateTime "yyyy-MM-dd" columns.[Date]}}"#),
            ["Date"]
        );
        assert_eq!(
            cols(r#"{{math (toDuration columns.Minutes) "*" columns.[Rate (x)]}}"#),
            ["Minutes", "Rate (x)"]
        );
        assert_eq!(
            cols("{{#if columns.[Score]}}{{columns.[Score]}}{{/if}}"),
            ["Score"]
        );
        assert_eq!(
            cols("{{this.columns.A}} {{../columns.[B c]}}"),
            ["A", "B c"]
        );
        assert_eq!(cols("{{join columns.A columns.B sep=\",\"}}"), ["A", "B"]);
        assert_eq!(cols("{{helper x=columns.[K]}}"), ["K"]);
    }

    #[test]
    fn not_references() {
        // Outside a mustache, in a string literal, in a comment, or another path's segment.
        assert!(cols("columns.[A] and {{x}}").is_empty());
        assert!(cols(r#"{{concat "columns.[A]" y}}"#).is_empty());
        assert!(cols("{{!-- {{columns.[A]}} --}}{{! columns.B }}").is_empty());
        assert!(cols("{{mycolumns.A}} {{other.[columns.B]}}").is_empty());
        assert_eq!(cols("{{columns.[A]}"), ["A"]);
    }

    #[test]
    fn template_to_target() {
        let t = from_template(
            r#"{"statements":[{"verb":{"id":"{{columns.verb}}"},"object":{"id":"{{columns.[Activity ID]}}"}}],
                "people":[{"name":"{{columns.[Full Name]}}","x":"{{columns.verb}}"}]}"#,
        )
        .unwrap();
        let k = &t.kinds[0];
        assert_eq!(k.columns, ["verb", "Activity ID", "Full Name"]);
        assert_eq!(k.required_columns, k.columns);
        assert_eq!(k.detect.all, k.columns);
        assert!(k.case_sensitive_header);
        assert_eq!(t.bundle.format, BundleFormat::Csv);
        crate::Session::new(t).unwrap();
        assert!(from_template(r#"{"statements": []}"#).is_err());
        assert!(from_template("not json").is_err());
        // Not JSON, but a template: scanned as text.
        let t = from_template(r#"{"a": [{{#each x}}"{{columns.[Q]}}"{{/each}}]}"#).unwrap();
        assert_eq!(t.kinds[0].columns, ["Q"]);
        // Headers differing only in case are told apart.
        let t = from_template(r#"{"a": "{{columns.id}} {{columns.ID}}"}"#).unwrap();
        assert!(!t.header.case_insensitive);
        assert!(!t.kinds[0].case_sensitive_header);
    }
}
