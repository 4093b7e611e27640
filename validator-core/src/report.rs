//! The report: what every host prints, serialises or posts back.
//!
//! The JSON shape is a contract (other tools and the conformance tests depend on it):
//! fields may be added, never renamed. [`REPORT_VERSION`] goes up when a field changes
//! meaning.
//!
//! ```
//! use validator_core::{targets, validate};
//! let report = validate(&targets::canvas(), "users.csv", b"user_id,login_id,status\nu1,l1,active\n");
//! assert_eq!(report.summary.errors, 0);
//! assert_eq!(report.files[0].kind.as_deref(), Some("users"));
//! ```

use serde::{Deserialize, Serialize};

/// Version of the report's JSON shape.
pub const REPORT_VERSION: u32 = 1;

/// How bad a finding is. Errors mean the platform rejects the row or the file.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The platform rejects the row or file.
    Error,
    /// Accepted, but probably not what was meant.
    Warning,
    /// Worth knowing; nothing is wrong.
    Info,
}

impl Severity {
    /// Lower-case name, as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One located problem.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier, e.g. `row.required`.
    pub code: String,
    /// Error, warning or info.
    pub severity: Severity,
    /// Path of the file (relative to the input folder or ZIP root), null for bundle-wide findings.
    pub file: Option<String>,
    /// Record number, header = row 1 (as Canvas and Watershed count). Blank lines are not counted.
    pub row: Option<u64>,
    /// Physical line (1-based) where the record starts, or where the byte is.
    pub line: Option<u64>,
    /// Header name of the column, if the finding is about one cell.
    pub column: Option<String>,
    /// 1-based position of the column in the header.
    pub column_number: Option<u32>,
    /// The offending value, truncated to [`MAX_VALUE_CHARS`] characters.
    pub value: Option<String>,
    /// Our explanation.
    pub message: String,
    /// The platform's own message for this problem, where one exists.
    pub platform_message: Option<String>,
}

/// Longest value quoted in a finding, in characters.
pub const MAX_VALUE_CHARS: usize = 80;

/// Longest cell value a message template (`{value}`) quotes, in characters.
pub const MAX_QUOTED_CHARS: usize = 200;

/// Longest message (and platform message) in a finding, in characters: messages quote
/// cells and target values, which have no bound of their own.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// Totals for one finding code whose findings were capped.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omitted {
    /// The finding code.
    pub code: String,
    /// Findings of this code left out of the list.
    pub omitted: u64,
    /// Findings of this code in all.
    pub total: u64,
}

/// What was found in one file.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// Path relative to the input folder or ZIP root.
    pub path: String,
    /// Detected kind (the platform's name for it), null when unrecognised.
    pub kind: Option<String>,
    /// Data rows (records after the header, blank lines not counted).
    pub rows: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Encoding assumed: `UTF-8`, `UTF-16LE` or `UTF-16BE`.
    pub encoding: String,
    /// Whether a byte-order mark was present (and stripped).
    pub bom: bool,
    /// Delimiter assumed: `,`, `;`, `\t` or `|`.
    pub delimiter: String,
    /// Line ending seen first: `LF`, `CRLF`, `CR`, or null for a one-line file.
    pub line_ending: Option<String>,
    /// The header as read (before any case folding or trimming).
    pub header: Vec<String>,
    /// Findings in this file, ordered by row.
    pub findings: Vec<Finding>,
    /// Codes whose findings were capped, with exact totals.
    pub omitted: Vec<Omitted>,
}

/// Error/warning/info totals. Counts include findings left out by the caps.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of error findings.
    pub errors: u64,
    /// Number of warning findings.
    pub warnings: u64,
    /// Number of info findings.
    pub infos: u64,
    /// Files in the report.
    pub files: u64,
    /// Data rows over all files.
    pub rows: u64,
}

/// The validation report of a bundle.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// Target name, e.g. `canvas`.
    pub target: String,
    /// One entry per file, in the order the host pushed them.
    pub files: Vec<FileReport>,
    /// Bundle-level findings (not tied to one file).
    pub findings: Vec<Finding>,
    /// Bundle-level codes whose findings were capped.
    pub omitted: Vec<Omitted>,
    /// Totals.
    pub summary: Summary,
}

impl Report {
    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }

    /// Every finding listed in the report: bundle-level first, then per file.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .chain(self.files.iter().flat_map(|f| f.findings.iter()))
    }
}

/// Truncates a value for display in a finding.
pub(crate) fn truncate_value(v: &str) -> String {
    truncate_chars(v, MAX_VALUE_CHARS)
}

/// The first `max` characters of `v` (cut on a char boundary), with `…` if cut.
pub(crate) fn truncate_chars(v: &str, max: usize) -> String {
    if v.len() <= max {
        // No more bytes than `max`, so no more characters.
        return v.to_owned();
    }
    if v.as_bytes()[..max].is_ascii() {
        // The common case, without walking characters one by one.
        return format!("{}…", &v[..max]);
    }
    match v.char_indices().nth(max) {
        None => v.to_owned(),
        Some((i, _)) => format!("{}…", &v[..i]),
    }
}

/// Bounds a message in place (see [`MAX_MESSAGE_CHARS`]).
fn bound_message(m: &mut String) {
    if m.len() <= MAX_MESSAGE_CHARS {
        return;
    }
    if let Some((i, _)) = m.char_indices().nth(MAX_MESSAGE_CHARS) {
        m.truncate(i);
        m.push('…');
    }
}

/// Collects findings for one file (or the bundle), applying the per-code cap while keeping
/// exact totals. Under the cap, the findings kept are those with the smallest rows, so the
/// list does not depend on the order in which files or references were resolved.
/// Per-code bookkeeping of a [`Sink`].
#[derive(Debug)]
struct CodeCount {
    code: String,
    total: u64,
    kept: u64,
    /// Largest row among the kept findings of this code.
    max_row: u64,
    /// Report-order key of the last kept finding of this code, once full: a finding
    /// that sorts after it is refused without scanning the kept ones (many findings on
    /// one row, e.g. every bad byte of a long cell, stay linear).
    worst: Option<(u64, u32, String)>,
}

#[derive(Debug)]
pub(crate) struct Sink {
    pub findings: Vec<Finding>,
    counts: Vec<CodeCount>,
    cap: u64,
    /// First error code per data row (uncapped), for bundling with rejects; empty unless
    /// `keep_rejected`.
    pub rejected: std::collections::BTreeMap<u64, String>,
    keep_rejected: bool,
    /// Codes of errors about the whole file (no row, or the header row).
    pub file_errors: Vec<String>,
    pub errors: u64,
    pub warnings: u64,
    pub infos: u64,
}

impl Sink {
    pub fn new(cap: u64) -> Sink {
        Sink {
            findings: Vec::new(),
            counts: Vec::new(),
            cap,
            rejected: Default::default(),
            keep_rejected: true,
            file_errors: Vec::new(),
            errors: 0,
            warnings: 0,
            infos: 0,
        }
    }

    /// A sink that keeps rejected rows only if `keep` (see `Options::row_verdicts`).
    pub fn keeping_rejected(mut self, keep: bool) -> Sink {
        self.keep_rejected = keep;
        self
    }

    /// Counts a finding of `code` and says whether it will be kept, so the caller formats
    /// messages only for findings that are shown.
    pub fn admit(&mut self, code: &str, severity: Severity, row: Option<u64>) -> bool {
        match severity {
            Severity::Error => {
                self.errors += 1;
                match row {
                    Some(r) if r > 1 && !self.keep_rejected => {}
                    Some(r) if r > 1 => {
                        // The smallest code, so the verdict does not depend on arrival order.
                        match self.rejected.get_mut(&r) {
                            Some(c) if code < c.as_str() => *c = code.to_owned(),
                            Some(_) => {}
                            None => {
                                self.rejected.insert(r, code.to_owned());
                            }
                        }
                    }
                    _ if !self.file_errors.iter().any(|c| c == code) => {
                        self.file_errors.push(code.to_owned())
                    }
                    _ => {}
                }
            }
            Severity::Warning => self.warnings += 1,
            Severity::Info => self.infos += 1,
        }
        let cap = self.cap;
        let c = self.count_of(code);
        c.total += 1;
        // Full: admit only if it sorts before the last kept finding of this code.
        // On the boundary row, whether it is kept depends on its column and message:
        // admit it, and let `push` decide on the full order.
        c.kept < cap || row.unwrap_or(0) <= c.max_row
    }

    /// Counts `n` findings of `code` on data rows that are neither listed nor rejected one
    /// by one: the rows of a pending group past its kept ones, when they are not tracked.
    pub fn count_unlisted(&mut self, code: &str, severity: Severity, n: u64) {
        match severity {
            Severity::Error => self.errors += n,
            Severity::Warning => self.warnings += n,
            Severity::Info => self.infos += n,
        }
        self.count_of(code).total += n;
    }

    /// The counts of `code`, new if none yet.
    fn count_of(&mut self, code: &str) -> &mut CodeCount {
        match self.counts.iter().position(|c| c.code == code) {
            Some(i) => &mut self.counts[i],
            None => {
                self.counts.push(CodeCount {
                    code: code.to_owned(),
                    total: 0,
                    kept: 0,
                    max_row: 0,
                    worst: None,
                });
                self.counts.last_mut().expect("just pushed")
            }
        }
    }

    /// Adds an admitted finding, evicting the kept one with the largest row if full.
    pub fn push(&mut self, mut f: Finding) {
        let Some(i) = self.counts.iter().position(|c| c.code == f.code) else {
            return;
        };
        bound_message(&mut f.message);
        if let Some(m) = &mut f.platform_message {
            bound_message(m);
        }
        let row = f.row.unwrap_or(0);
        if self.counts[i].kept < self.cap {
            self.counts[i].kept += 1;
            self.counts[i].max_row = self.counts[i].max_row.max(row);
            self.findings.push(f);
            return;
        }
        // Keep the findings that come first in report order, whatever order they arrived in.
        let key = |g: &Finding| (g.row.unwrap_or(0), g.column_number.unwrap_or(0));
        if self.counts[i].worst.is_none() {
            self.counts[i].worst = self.worst_of(i);
        }
        match &self.counts[i].worst {
            Some((r, c, m)) if (key(&f), f.message.as_str()) < ((*r, *c), m.as_str()) => {}
            _ => return,
        }
        let code = &self.counts[i].code;
        if let Some(n) = self.findings.iter().enumerate().rev().find_map(|(n, g)| {
            (&g.code == code
                && self.counts[i]
                    .worst
                    .as_ref()
                    .is_some_and(|(r, c, m)| key(g) == (*r, *c) && &g.message == m))
            .then_some(n)
        }) {
            self.findings.remove(n);
        }
        self.findings.push(f);
        self.counts[i].worst = self.worst_of(i);
        self.counts[i].max_row = self.counts[i].worst.as_ref().map_or(0, |w| w.0);
    }

    /// The report-order key of the kept finding of code `i` that sorts last.
    fn worst_of(&self, i: usize) -> Option<(u64, u32, String)> {
        let code = &self.counts[i].code;
        let key = |g: &Finding| (g.row.unwrap_or(0), g.column_number.unwrap_or(0));
        self.findings
            .iter()
            .filter(|g| &g.code == code)
            .max_by(|a, b| (key(a), &a.message).cmp(&(key(b), &b.message)))
            .map(|g| (key(g).0, key(g).1, g.message.clone()))
    }

    /// Codes over the cap, with exact totals.
    pub fn omitted(&self) -> Vec<Omitted> {
        let mut v: Vec<Omitted> = self
            .counts
            .iter()
            .filter(|c| c.total > c.kept)
            .map(|c| Omitted {
                code: c.code.clone(),
                omitted: c.total - c.kept,
                total: c.total,
            })
            .collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(row: u64) -> Finding {
        Finding {
            code: "x".into(),
            severity: Severity::Error,
            file: None,
            row: Some(row),
            line: None,
            column: None,
            column_number: None,
            value: None,
            message: String::new(),
            platform_message: None,
        }
    }

    #[test]
    fn cap_keeps_smallest_rows_whatever_the_arrival_order() {
        let mut a = Sink::new(2);
        for r in [9, 3, 7, 1, 8] {
            if a.admit("x", Severity::Error, Some(r)) {
                a.push(f(r));
            }
        }
        let mut rows: Vec<u64> = a.findings.iter().filter_map(|x| x.row).collect();
        rows.sort_unstable();
        assert_eq!(rows, [1, 3]);
        assert_eq!(a.errors, 5);
        assert_eq!(
            a.omitted(),
            [Omitted {
                code: "x".into(),
                omitted: 3,
                total: 5
            }]
        );
    }
}
