//! One file's state ([`FileCheck`]) and what is said about the file as a whole: its
//! delimiter, line breaks, records over a limit, size, encoding, emptiness, and the kind
//! its path binds it to.

use crate::decode::{Decoder, Encoding, Invalid};
use crate::reader::{Limits, LineEnding, Overflow, OverflowKind, RowSepIssue};
use crate::report::{Finding, Severity, Sink, truncate_value};
use crate::rules::Compiled;

/// Per-file state the record callback needs (kept apart from the reader it is called from).
#[derive(Debug)]
pub(super) struct FileCheck {
    pub(super) file: u32,
    pub(super) path: String,
    /// Host-supplied values (e.g. `location_type`).
    pub(super) params: std::collections::BTreeMap<String, String>,
    /// The file's manifest mode, once the manifest has been read.
    pub(super) mode: Option<String>,
    pub(super) sink: Sink,
    pub(super) bytes: u64,
    pub(super) delimiter: u8,
    pub(super) line_ending: Option<LineEnding>,
    pub(super) records: u64,
    pub(super) header: Vec<String>,
    pub(super) kind: Option<usize>,
    /// Header position per kind column.
    pub(super) positions: Vec<Option<usize>>,
    pub(super) invalid: std::collections::VecDeque<Invalid>,
    /// Limits, for messages.
    pub(super) limits: Limits,
    /// Work done, for tests that bound it.
    pub(super) work: Work,
    /// A record went over a limit; the rest of the file was not read.
    pub(super) stopped: bool,
    /// With [`BlankRow::FirstOfEachHeader`](crate::schema::BlankRow::FirstOfEachHeader): the cells that decide a row is blank.
    pub(super) blank_cells: Option<Vec<usize>>,
    /// Kinds read by position: the physical line after the last record, and the empty
    /// lines skipped so far (Frictionless counts each as a blank row).
    pub(super) next_line: u64,
    pub(super) empty_lines: u64,
    /// A file bound to a kind read by position: its line feeds are counted, so that empty
    /// lines after the last record are blank rows too.
    pub(super) count_lines: bool,
    pub(super) newlines: u64,
    pub(super) last_byte: u8,
    /// Buffer for the uniqueness keys [`FileCheck::ahead`] prefetches.
    pub(super) ahead_key: String,
    /// The index slots that [`FileCheck::ahead`] found the rows ahead will read, loaded
    /// together at the end of the batch ([`crate::rules::Index::start_loads`]).
    pub(super) loads: Vec<crate::rules::Load>,
    /// Where the header's outcome goes for this file's [`crate::FileReader`], once it has
    /// one ([`FileCheck::publish_row_plan`]).
    pub(super) row_plan: Option<std::sync::Arc<std::sync::OnceLock<super::tape::RowPlan>>>,
    /// The file's size in bytes as the host expects it ([`crate::Session::size_hint`]).
    pub(super) size_hint: Option<u64>,
    /// Keys in each store the file's kind fills ([`crate::rules::CKind::fills`]) before its
    /// first data row, once that row comes with a size hint.
    pub(super) fill_base: Vec<usize>,
    /// The next [`FileCheck::records`] at which [`FileCheck::presize`] sizes the stores.
    pub(super) presize_at: u64,
}

/// Data rows a file with a size hint is read for before its key stores are first sized for
/// the rest ([`FileCheck::presize`]): enough for its bytes per row and new keys per row.
pub(super) const PRESIZE_AFTER_ROWS: u64 = 4096;

impl FileCheck {
    /// With a size hint, before data row 1 ([`FileCheck::records`] 2): notes how many keys
    /// the stores that the file's kind fills hold. Then, after 4,096 data rows, 65,536, 1 M
    /// (×[`PRESIZE_STEP`] each time): estimates the file's rows from its bytes so far (the
    /// record ending at `end`) and sizes those stores for them, each at the pace of its new
    /// keys so far but to at most [`PRESIZE_STEP`] times the keys it gained. So a hint
    /// that lies (a ZIP entry may declare any size) costs at most that many times the
    /// memory the rows really take, while a true one saves all but three rebuilds. Only a
    /// hint: no finding depends on it.
    pub(super) fn presize(&mut self, end: u64, c: &Compiled, index: &mut crate::rules::Index) {
        let (Some(hint), Some(kind)) = (self.size_hint, self.kind) else {
            return;
        };
        let fills = &c.kinds[kind].fills;
        if fills.is_empty() {
            return;
        }
        if self.records == 2 {
            self.fill_base = index.fill_lens(fills);
        } else if self.records == self.presize_at && self.fill_base.len() == fills.len() && end > 0
        {
            let read = self.records - 2;
            // Rows so far, the header included, over the bytes they took.
            let rows = u128::from(hint) * u128::from(self.records) / u128::from(end);
            let rows = u64::try_from(rows).unwrap_or(u64::MAX).saturating_sub(1);
            index.presize(fills, &self.fill_base, read, rows, PRESIZE_STEP);
            self.presize_at = read.saturating_mul(PRESIZE_STEP).saturating_add(2);
        }
    }
}

/// How much [`FileCheck::presize`] may size a store beyond the keys the file gave it so
/// far, and by how much the rows read grow between two sizings.
pub(super) const PRESIZE_STEP: u64 = 16;

/// What the raw bytes of some chunks add to a file's counts: their length and, for a file
/// that counts lines ([`FileCheck::count_lines`]), their line feeds and last byte. Counted
/// where the bytes are read ([`crate::Session::push`], or a [`crate::FileReader`] on
/// another thread) and added to the file by [`FileCheck::count_raw`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawCounts {
    pub bytes: u64,
    newlines: u64,
    last_byte: Option<u8>,
}

impl RawCounts {
    /// The counts of `chunk`; line feeds only if `count_lines`.
    pub fn of(chunk: &[u8], count_lines: bool) -> RawCounts {
        let mut r = RawCounts {
            bytes: chunk.len() as u64,
            ..RawCounts::default()
        };
        if count_lines {
            r.newlines = memchr::memchr_iter(b'\n', chunk).count() as u64;
            r.last_byte = chunk.last().copied();
        }
        r
    }

    /// Adds the counts of the chunks after these.
    pub fn add(&mut self, next: RawCounts) {
        self.bytes += next.bytes;
        self.newlines += next.newlines;
        self.last_byte = next.last_byte.or(self.last_byte);
    }
}

/// Counters of work whose growth tests bound (no timing in tests).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Work {
    /// Decoded bytes searched to place invalid bytes in their cells.
    pub located_bytes: u64,
}

impl FileCheck {
    /// Adds what raw bytes read of the file count.
    pub(super) fn count_raw(&mut self, r: RawCounts) {
        self.bytes += r.bytes;
        self.newlines += r.newlines;
        if let Some(b) = r.last_byte {
            self.last_byte = b;
        }
    }

    /// Adds a finding not tied to a rule, with the platform's wording if the target has one.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn note(
        &mut self,
        c: &Compiled,
        code: &'static str,
        severity: Severity,
        row: Option<u64>,
        line: Option<u64>,
        column: Option<usize>,
        value: Option<&str>,
        message: impl FnOnce() -> String,
    ) {
        if !self.sink.admit(code, severity, row) {
            return;
        }
        let name = column
            .and_then(|i| self.header.get(i))
            .map(|h| h.trim().to_owned());
        self.sink.push(Finding {
            code: code.to_owned(),
            severity,
            file: Some(self.path.clone()),
            row,
            line,
            column_number: column.map(|i| i as u32 + 1),
            value: value.filter(|v| !v.is_empty()).map(truncate_value),
            message: message(),
            platform_message: self
                .kind
                .and_then(|k| c.target.kinds[k].platform_messages.get(code))
                .or_else(|| c.target.platform_messages.get(code))
                .map(|t| {
                    crate::rules::render(
                        t,
                        name.as_deref().unwrap_or(""),
                        value.unwrap_or(""),
                        None,
                    )
                }),
            column: name,
        });
    }

    /// A record over a limit: one error at its row; nothing after it was read.
    pub(super) fn overflow(&mut self, o: Overflow, c: &Compiled) {
        self.stopped = true;
        // Replacements the decoder met in the unread part belong to no row.
        self.invalid.clear();
        let row = self.records + 1;
        let (code, message) = match o.kind {
            OverflowKind::RecordTooLarge => (
                "csv.record_too_large",
                format!(
                    "row {row} is longer than {} bytes (the limit; raise it with --max-record-bytes); the rest of the file was not read",
                    self.limits.max_record_bytes
                ),
            ),
            OverflowKind::TooManyColumns => (
                "csv.too_many_columns",
                format!(
                    "row {row} has more than {} cells (the limit; raise it with --max-columns); the rest of the file was not read",
                    self.limits.max_columns
                ),
            ),
        };
        self.note(
            c,
            code,
            Severity::Error,
            Some(row),
            Some(o.line),
            Some(o.field).filter(|&i| i < self.header.len()),
            None,
            || message,
        );
    }

    /// A line break other than the file's first: the platform's parser (Ruby's CSV)
    /// rejects the whole file there. Rows are still read and checked.
    pub(super) fn row_separator(&mut self, issue: RowSepIssue, c: &Compiled) {
        let (expected, found) = (issue.expected.name(), issue.found.name());
        let t = c.target.title().to_owned();
        self.note(
            c,
            "csv.row_separator",
            Severity::Error,
            Some(issue.record + 1),
            Some(issue.line),
            Some(issue.field).filter(|&i| i < self.header.len()),
            None,
            || {
                format!(
                    "line break {found} here, but the file's first line break is {expected}: {t} takes the first as the row separator and rejects the whole file at any other outside quotes; save the file with {expected} line endings throughout"
                )
            },
        );
    }

    pub(super) fn delimiter_finding(&mut self, c: &Compiled) {
        let d = self.delimiter;
        match c.target.delimiter {
            Some(want) if want as u32 != u32::from(d) => {
                let t = c.target.title().to_owned();
                self.note(c, "csv.delimiter", Severity::Error, Some(1), Some(1), None, None, || {
                    format!(
                        "this file is {}-separated; {t} reads only {}-separated files, so every row would be one column",
                        delimiter_name(d),
                        delimiter_name(want as u8)
                    )
                });
            }
            _ if d != b',' => {
                self.note(
                    c,
                    "csv.delimiter",
                    Severity::Info,
                    Some(1),
                    Some(1),
                    None,
                    None,
                    || format!("read as {}-separated", delimiter_name(d)),
                );
            }
            _ => {}
        }
    }

    pub(super) fn finish_file(&mut self, c: &Compiled, decoder: &Decoder) {
        self.trailing_empty_lines(c, decoder);
        if let Some(max) = c.target.max_file_bytes
            && self.bytes > max
        {
            let (n, t) = (self.bytes, c.target.title().to_owned());
            self.note(
                c,
                "file.too_large",
                Severity::Error,
                None,
                None,
                None,
                None,
                || format!("the file is {n} bytes; {t} accepts at most {max}"),
            );
        }
        if c.target.require_rows && self.kind.is_some() && self.records == 1 {
            let t = c.target.title().to_owned();
            self.note(c, "file.no_rows", Severity::Error, None, None, None, None, || {
                format!("the file has a header and no data rows; {t} does not allow empty data files")
            });
        }
        if let Some(max) = c.target.max_rows
            && self.records.saturating_sub(1) > max
        {
            let (n, t) = (self.records - 1, c.target.title().to_owned());
            self.note(
                c,
                "file.too_many_rows",
                Severity::Error,
                None,
                None,
                None,
                None,
                || format!("the file has {n} data rows; {t} accepts at most {max}"),
            );
        }
        while let Some(inv) = self.invalid.pop_front() {
            self.note(
                c,
                "encoding.invalid_utf8",
                Severity::Error,
                None,
                None,
                None,
                None,
                || {
                    format!(
                        "invalid byte sequence at offset {}; save the file as UTF-8",
                        inv.in_offset
                    )
                },
            );
        }
        if decoder.encoding != Encoding::Utf8 {
            let name = decoder.encoding.name();
            let t = c.target.title().to_owned();
            if c.target.require_utf8 {
                self.note(c, "encoding.utf16", Severity::Error, None, None, None, None, || {
                    format!("the file is {name}; {t} reads only UTF-8 (`preflight bundle` re-encodes it)")
                });
            } else {
                self.note(
                    c,
                    "encoding.utf16",
                    Severity::Info,
                    None,
                    None,
                    None,
                    None,
                    || format!("decoded from {name}"),
                );
            }
        } else if decoder.bom {
            let sev = c.target.bom_severity;
            self.note(c, "encoding.bom", sev, None, None, None, None, || {
                "UTF-8 byte-order mark at the start of the file".to_owned()
            });
        }
        if self.records == 0 && !self.stopped {
            let sev = c.target.dialect.empty_file;
            let t = c.target.title().to_owned();
            self.note(c, "csv.empty_file", sev, None, None, None, None, || {
                if sev == Severity::Error {
                    "the file is empty: no header row".to_owned()
                } else {
                    format!("the file is empty: no header row; {t} ignores it")
                }
            });
        }
    }
}

fn delimiter_name(d: u8) -> &'static str {
    match d {
        b',' => "comma",
        b';' => "semicolon",
        b'\t' => "tab",
        b'|' => "pipe",
        _ => "other",
    }
}

/// The kind a file is bound to by its path ([`Kind::path`](crate::schema::Kind::path)):
/// the same path, or one ending with the other at a `/`.
pub(super) fn bound_kind(c: &Compiled, path: &str) -> Option<usize> {
    let norm = |p: &str| p.replace('\\', "/").trim_start_matches("./").to_owned();
    let path = norm(path);
    let kinds = &c.target.kinds;
    let bound = |k: &crate::schema::Kind| k.path.as_deref().map(norm);
    kinds
        .iter()
        .position(|k| bound(k).is_some_and(|b| b == path || b == "*"))
        .or_else(|| {
            kinds.iter().position(|k| {
                bound(k).is_some_and(|b| {
                    path.ends_with(&format!("/{b}")) || b.ends_with(&format!("/{path}"))
                })
            })
        })
}
