//! Each record after the header: quoting, invalid bytes, NULs, blank, short and long
//! rows, the cells by column (or by position), then the kind's rules.

use encoding_rs::WINDOWS_1252;

use super::file::bound_kind;
use super::tape::RowPlan;
use super::{FileCheck, Progress, strip};
use crate::decode::{Decoder, Encoding};
use crate::keys;
use crate::parse::convert;
use crate::reader::{LineEnding, QuoteError, Record};
use crate::report::{MAX_VALUE_CHARS, Severity, truncate_chars, truncate_value};
use crate::rules::{C, Compiled, Emit, Index, Load, Row, check_row, unique_key};
use crate::schema::CellConverter;

impl FileCheck {
    pub(super) fn record(
        &mut self,
        rec: &Record<'_>,
        c: &Compiled,
        index: &mut Index,
        paths: &[String],
        progress: &mut Progress,
        tap: Option<&mut crate::diff::Tap>,
    ) {
        self.records += 1;
        let row = self.records;
        if row > 1 {
            progress.rows += 1;
            if row == 2 || row == self.presize_at {
                self.presize(rec.end, c, index);
            }
        }
        let owned;
        let text = match rec
            .text()
            .map_or_else(|| std::str::from_utf8(rec.bytes()), Ok)
        {
            Ok(t) => t,
            Err(_) => {
                owned = String::from_utf8_lossy(rec.bytes()).into_owned();
                owned.as_str()
            }
        };
        let field = |i: usize| -> &str { text.get(rec.field_range(i)).unwrap_or("") };
        if row == 1
            && c.target.skip_blank_lines_before_header
            && rec.quote_issues.is_empty()
            && (0..rec.len()).all(|i| strip(field(i)).is_empty())
        {
            // Not the header: the next line with a value is (Sunbird skips such lines).
            self.records = 0;
            self.note(c, "csv.blank_row", Severity::Info, None, Some(rec.line), None, None, || {
                "every cell is blank; the line is skipped and the header is the next line with a value".to_owned()
            });
            return;
        }
        for q in rec.quote_issues {
            let (code, msg) = match q.error {
                QuoteError::InUnquoted => (
                    "csv.quote_in_unquoted",
                    "a quote inside a field that does not start with one; quote the whole field and double the inner quote (\"\")",
                ),
                QuoteError::AfterQuote => (
                    "csv.text_after_quote",
                    "text after the closing quote of a field; quote the whole field and double inner quotes (\"\")",
                ),
                QuoteError::Unclosed => (
                    "csv.unclosed_quote",
                    "a quote opened here is never closed: the rest of the file is read as one field",
                ),
            };
            let t = c.target.title().to_owned();
            self.note(
                c,
                code,
                Severity::Error,
                Some(row),
                Some(q.line),
                Some(q.field),
                None,
                || format!("{msg}; {t} rejects the whole file"),
            );
        }
        // This record's replacements are its U+FFFD characters, in order: one forward
        // search over the record for all of them (a literal U+FFFD in the input can only
        // move the column, never the row).
        let mut cursor = 0;
        let mut shown: Option<(Option<usize>, String)> = None;
        while let Some(inv) = self.invalid.front().copied() {
            if inv.out_offset >= rec.end {
                break;
            }
            self.invalid.pop_front();
            let at = memchr::memmem::find(&text.as_bytes()[cursor..], "\u{FFFD}".as_bytes())
                .map(|p| cursor + p);
            let next = at.map_or(text.len(), |p| p + 3);
            self.work.located_bytes += (next - cursor) as u64;
            cursor = next;
            let col = at.and_then(|p| rec.field_at(p));
            // What a message shows of the cell, once per cell (a cell may hold many).
            if shown.as_ref().is_none_or(|(c, _)| *c != col) {
                let cell = col.map(field).unwrap_or("");
                shown = Some((col, truncate_chars(cell, MAX_VALUE_CHARS + 1)));
            }
            let shown = shown.as_ref().map_or("", |(_, s)| s.as_str());
            let line = rec.line;
            self.note(c, "encoding.invalid_utf8", Severity::Error, Some(row), Some(line), col, Some(shown), || {
                if inv.raw().is_empty() {
                    format!("invalid UTF-16 at byte {}", inv.in_offset)
                } else {
                    let guess = WINDOWS_1252.decode_without_bom_handling(inv.raw()).0;
                    // Only the part of the cell a message shows is re-read.
                    let reading = shown.replacen('\u{FFFD}', &guess, 1);
                    let bytes: Vec<String> =
                        inv.raw().iter().map(|b| format!("0x{b:02X}")).collect();
                    format!(
                        "byte {} at offset {} is not UTF-8; read as Windows-1252 this cell is `{}`: save the file as UTF-8",
                        bytes.join(" "),
                        inv.in_offset,
                        truncate_value(&reading)
                    )
                }
            });
        }
        let filled = || (0..rec.len()).filter(|&i| !field(i).is_empty()).count();
        if c.target.require_quoted && rec.quoted_fields < filled() {
            let filled = filled();
            let (n, t) = (filled - rec.quoted_fields, c.target.title().to_owned());
            self.note(c, "csv.unquoted", Severity::Warning, Some(row), Some(rec.line), None, None, || {
                format!("{n} value(s) in this row are not in double quotes; {t} asks for every value to be quoted (`preflight bundle` quotes them)")
            });
        }
        if c.target.forbid_line_breaks_in_fields
            && memchr::memchr2(b'\r', b'\n', rec.bytes()).is_some()
        {
            line_breaks(self, c, rec, row, &field);
        }
        if row == 1 {
            match bound_kind(c, &self.path) {
                // No header: the first row is data (Table Schema `dialect.header: false`).
                Some(k)
                    if c.target.kinds[k]
                        .positional
                        .as_ref()
                        .is_some_and(|p| !p.header) =>
                {
                    self.positional_header(k, rec, text, c, false);
                }
                _ => {
                    self.header_row(rec, text, c);
                    self.publish_row_plan(c);
                    return;
                }
            }
        }
        if rec
            .quote_issues
            .iter()
            .any(|q| q.error == QuoteError::Unclosed)
        {
            // The rest of the file was swallowed into this record: its cells mean nothing.
            return;
        }
        let conv = c.target.dialect.cells;
        let trim = c.target.trim_values;
        // The converter runs before any check: with Ruby's `strip`, NUL at a value's ends
        // is gone before the platform looks for it.
        let nul_in = |i: usize| match conv {
            CellConverter::Default => field(i).contains('\0'),
            CellConverter::RubyStripPresence => convert(conv, trim, field(i)).contains('\0'),
        };
        // Nearly no record holds a NUL: one search of its bytes, and the cells only if so.
        let has_nul = memchr::memchr(0, rec.bytes()).is_some()
            && match conv {
                CellConverter::Default => true,
                CellConverter::RubyStripPresence => (0..rec.len()).any(nul_in),
            };
        if has_nul {
            let col = (0..rec.len()).find(|&i| nul_in(i));
            self.note(
                c,
                "row.nul",
                Severity::Error,
                Some(row),
                Some(rec.line),
                col,
                None,
                || "a field contains a NUL byte; the platform skips the row".to_owned(),
            );
            return;
        }
        if let Some(kind) = self.kind
            && c.target.kinds[kind].positional.is_some()
        {
            self.positional_row(kind, rec, text, c, index, paths, row, tap);
            return;
        }
        let width = self.header.len();
        if rec.len() < width && width > 1 {
            let n = rec.len();
            self.note(c, "csv.short_row", Severity::Warning, Some(row), Some(rec.line), None, None, || {
                format!("row has {n} cells, the header has {width}; the missing cells are read as blank")
            });
        } else if rec.len() > width {
            let n = rec.len();
            self.note(
                c,
                "csv.long_row",
                Severity::Warning,
                Some(row),
                Some(rec.line),
                Some(width),
                None,
                || {
                    format!(
                        "row has {n} cells, the header has {width}; the extra cells are ignored"
                    )
                },
            );
        }
        let blank = |i: usize| match conv {
            CellConverter::Default => strip(field(i)).is_empty(),
            CellConverter::RubyStripPresence => convert(conv, true, field(i)).is_empty(),
        };
        let all_blank = match &self.blank_cells {
            Some(cells) => cells.iter().all(|&i| i >= rec.len() || blank(i)),
            None => (0..rec.len()).all(blank),
        };
        if all_blank {
            let every = (0..rec.len()).all(blank);
            self.note(
                c,
                "csv.blank_row",
                Severity::Info,
                Some(row),
                Some(rec.line),
                None,
                None,
                || {
                    if every {
                        "every cell is blank; the row is skipped".to_owned()
                    } else {
                        "its only values are under a repeated header name, which the platform does not look at: the row is skipped as blank".to_owned()
                    }
                },
            );
            return;
        }
        let Some(kind) = self.kind else {
            return;
        };
        if c.target.header_errors_reject_file && !self.sink.file_errors.is_empty() {
            return;
        }
        let ck = &c.kinds[kind];
        if c.target.manifest.is_some() && self.mode.is_none() {
            self.mode = index.modes.get(&ck.stem).cloned();
        }
        let (mut stack, mut heap) = ([None; STACK_CELLS], Vec::new());
        let cells = cells_for(&mut stack, &mut heap, self.positions.len());
        fill_cells(cells, &self.positions, rec, text, c);
        let ahead = (rec.row_rules_passed, rec.probe_hashes);
        self.run_rules(c, kind, cells, row, rec.line, index, paths, tap, ahead);
    }

    /// Hands the reading thread what it needs to run the kind's row rules
    /// ([`crate::FileReader::check_rows`]): the kind and where its columns are, once the
    /// header said. Not for kinds read by position, whose cells are taken otherwise: their
    /// rows are checked here only. (A rule that waits for a manifest's mode is not a row
    /// rule: `CKind::row_rules`.)
    fn publish_row_plan(&self, c: &Compiled) {
        let (Some(slot), Some(kind)) = (&self.row_plan, self.kind) else {
            return;
        };
        if c.target.kinds[kind].positional.is_some() {
            return;
        }
        let _ = slot.set(RowPlan {
            kind,
            positions: self.positions.clone(),
            params: self.params.clone(),
        });
    }

    /// Empty lines after the last record of a kind read by position: blank rows, as
    /// Python's csv reads them (UTF-8 files with LF or CRLF line ends).
    pub(super) fn trailing_empty_lines(&mut self, c: &Compiled, decoder: &Decoder) {
        let Some(kind) = self.kind else {
            return;
        };
        if !self.count_lines
            || self.next_line == 0
            || self.stopped
            || decoder.encoding != Encoding::Utf8
            || self.line_ending == Some(LineEnding::Cr)
        {
            return;
        }
        let lines = self.newlines + u64::from(self.last_byte != b'\n');
        let last = self.next_line - 1;
        if lines <= last {
            return;
        }
        let has_pk = c.target.kinds[kind].rules.iter().any(|r| {
            matches!(
                r.check,
                crate::schema::Check::TypedUnique { primary: true, .. }
            )
        });
        let first_row = self.records + self.empty_lines + 1;
        for (g, line) in (last + 1..=lines).enumerate() {
            self.blank_row(c, first_row + g as u64, line, has_pk);
        }
    }

    /// A blank row: an error, and so is its missing primary key (as Frictionless reports).
    fn blank_row(&mut self, c: &Compiled, row: u64, line: u64, has_pk: bool) {
        self.note(
            c,
            "row.blank",
            Severity::Error,
            Some(row),
            Some(line),
            None,
            None,
            || "the row is blank (every field is missing)".to_owned(),
        );
        if has_pk {
            self.note(
                c,
                "dup.primary_key",
                Severity::Error,
                Some(row),
                Some(line),
                None,
                None,
                || "the primary key is missing in this row".to_owned(),
            );
        }
    }

    /// A data row of a kind read by position: blank rows, extra and missing cells are
    /// errors (as Frictionless reports them), then the rules run on the cells by position.
    #[allow(clippy::too_many_arguments)]
    fn positional_row(
        &mut self,
        kind: usize,
        rec: &Record<'_>,
        text: &str,
        c: &Compiled,
        index: &mut Index,
        paths: &[String],
        row: u64,
        tap: Option<&mut crate::diff::Tap>,
    ) {
        let k = &c.target.kinds[kind];
        // Frictionless expects as many cells as there are labels (fields without a label
        // are not read; extra labels are read as untyped fields).
        let fields = if k.positional.as_ref().is_some_and(|p| p.header) {
            self.header.len()
        } else {
            k.columns.len()
        };
        let field = |i: usize| -> &str { text.get(rec.field_range(i)).unwrap_or("") };
        let missing = k
            .positional
            .as_ref()
            .map_or(&[][..], |p| p.missing_values.as_slice());
        let has_pk = k.rules.iter().any(|r| {
            matches!(
                r.check,
                crate::schema::Check::TypedUnique { primary: true, .. }
            )
        });
        // Empty lines the reader skipped: Python's csv reads each as a row, which
        // Frictionless reports as blank and counts.
        let next = self.next_line.max(1);
        for (g, line) in (next..rec.line).enumerate() {
            let r = row + self.empty_lines + g as u64;
            self.blank_row(c, r, line, has_pk);
        }
        self.empty_lines += rec.line.saturating_sub(next);
        self.next_line = rec.line + breaks_in_record(rec.bytes()) + 1;
        let row = row + self.empty_lines;
        let null = |i: usize| i >= rec.len() || missing.iter().any(|m| m == field(i));
        if (0..fields).all(null) {
            self.blank_row(c, row, rec.line, has_pk);
            return;
        }
        for i in fields..rec.len() {
            let v = field(i).to_owned();
            self.note(
                c,
                "row.extra_cell",
                Severity::Error,
                Some(row),
                Some(rec.line),
                Some(i),
                Some(&v),
                || {
                    format!(
                        "cell {} is past the {fields} columns of the header and schema",
                        i + 1
                    )
                },
            );
        }
        for i in rec.len()..fields {
            let name = k
                .columns
                .get(i)
                .or(self.header.get(i))
                .cloned()
                .unwrap_or_default();
            self.note(
                c,
                "row.missing_cell",
                Severity::Error,
                Some(row),
                Some(rec.line),
                Some(i),
                None,
                || format!("the row has no cell for `{name}` (column {})", i + 1),
            );
        }
        let (mut stack, mut heap) = ([None; STACK_CELLS], Vec::new());
        let cells = cells_for(&mut stack, &mut heap, self.positions.len());
        for (cell, pos) in cells.iter_mut().zip(&self.positions) {
            *cell = pos.filter(|&p| p < rec.len()).map(field);
        }
        self.run_rules(
            c,
            kind,
            cells,
            row,
            rec.line,
            index,
            paths,
            tap,
            (false, &[]),
        );
    }

    /// Starts loading the index slots of `rec`'s references, a few records before
    /// [`FileCheck::record`] checks it: the look-ups in a big table (users referenced in
    /// random order) then find their slot in the cache. Cells are taken as read, trimmed of
    /// ASCII whitespace; a cell the converter would change differently only wastes a load.
    pub(super) fn ahead(&mut self, rec: &Record<'_>, c: &Compiled, index: &Index) {
        let Some(kind) = self.kind else {
            return;
        };
        let positions = &self.positions;
        let cell = |col: usize| -> &[u8] {
            match positions.get(col).copied().flatten() {
                Some(p) if p < rec.len() => {
                    let b = rec.bytes().get(rec.field_range(p));
                    b.unwrap_or_default().trim_ascii()
                }
                _ => &[],
            }
        };
        let ck = &c.kinds[kind];
        if rec.probe_hashes.is_empty() {
            for &(domain, col) in &ck.probes {
                let v = cell(col);
                if !v.is_empty() {
                    index.load_ahead(Load::Domain(domain, keys::hash(v)), &mut self.loads);
                }
            }
        } else {
            // Hashed by the reading thread.
            for (&(domain, _), &h) in ck.probes.iter().zip(rec.probe_hashes) {
                if h != 0 {
                    index.load_ahead(Load::Domain(domain, h), &mut self.loads);
                }
            }
        }
        // Uniqueness tables of their own (login ids): the key as `unique` makes it.
        for &r in &ck.probe_tables {
            if let C::Unique {
                cols,
                ignore_case,
                table,
                ..
            } = &ck.rules[r].check
            {
                let text = |col| std::str::from_utf8(cell(col)).unwrap_or_default();
                let key = unique_key(&mut self.ahead_key, cols, *ignore_case, text);
                index.load_ahead(
                    Load::Table(*table, keys::hash(key.as_bytes())),
                    &mut self.loads,
                );
            }
        }
    }

    /// Runs the kind's rules on the row whose value per kind column is in `cells`.
    #[allow(clippy::too_many_arguments)]
    fn run_rules(
        &mut self,
        c: &Compiled,
        kind: usize,
        cells: &[Option<&str>],
        row: u64,
        line: u64,
        index: &mut Index,
        paths: &[String],
        tap: Option<&mut crate::diff::Tap>,
        // What the reading thread did: the row rules passed ([`Record::row_rules_passed`]);
        // the look-up cells' hashes ([`Record::probe_hashes`]).
        (row_rules_passed, probe_hashes): (bool, &[u64]),
    ) {
        if let Some(tap) = tap {
            tap.row(kind, &c.kinds[kind].display, cells);
            if !tap.runs_rules() {
                return;
            }
        }
        let r = Row {
            cells,
            positions: &self.positions,
            columns: &c.kinds[kind].display,
            file: self.file,
            path: &self.path,
            row,
            line,
            params: &self.params,
            mode: self.mode.as_deref(),
            probe_hashes,
        };
        check_row(
            c,
            kind,
            &r,
            index,
            &mut Emit {
                sink: &mut self.sink,
            },
            paths,
            row_rules_passed,
        );
    }
}

/// Kind columns whose cells a row holds on the stack: every built-in kind has fewer (a
/// wider one, from a Table Schema, takes them from the heap).
pub(super) const STACK_CELLS: usize = 32;

/// The value per kind column of `rec` (read as `text`), converted as the target says: the
/// cells the rules read, on either thread.
#[inline]
pub(super) fn fill_cells<'t>(
    cells: &mut [Option<&'t str>],
    positions: &[Option<usize>],
    rec: &Record<'_>,
    text: &'t str,
    c: &Compiled,
) {
    let (conv, trim) = (c.target.dialect.cells, c.target.trim_values);
    for (cell, pos) in cells.iter_mut().zip(positions) {
        *cell = pos
            .filter(|&p| p < rec.len())
            .map(|p| convert(conv, trim, text.get(rec.field_range(p)).unwrap_or("")));
    }
}

/// `n` cells, from `stack` when they fit. The rules read a cell many times a row: slicing
/// the record once per cell, here, costs less than at every read.
pub(super) fn cells_for<'s, 't>(
    stack: &'s mut [Option<&'t str>; STACK_CELLS],
    heap: &'s mut Vec<Option<&'t str>>,
    n: usize,
) -> &'s mut [Option<&'t str>] {
    if n <= STACK_CELLS {
        &mut stack[..n]
    } else {
        heap.resize(n, None);
        heap
    }
}

/// `csv.line_break_in_field` on each field of `rec` holding a CR or LF.
fn line_breaks<'t>(
    check: &mut FileCheck,
    c: &Compiled,
    rec: &Record<'_>,
    row: u64,
    field: &dyn Fn(usize) -> &'t str,
) {
    let t = c.target.title().to_owned();
    for i in 0..rec.len() {
        let f = field(i);
        let Some(ch) = f.chars().find(|&ch| ch == '\r' || ch == '\n') else {
            continue;
        };
        let what = if ch == '\r' { "CR" } else { "LF" };
        let shown = truncate_chars(f, MAX_VALUE_CHARS + 1);
        check.note(c, "csv.line_break_in_field", Severity::Error, Some(row), Some(rec.line), Some(i), Some(&shown), || {
            format!("a line break ({what}) inside a field; {t} forbids line breaks in fields, even quoted: remove it or replace it with a space")
        });
    }
}

/// Line breaks inside a record (quoted CR, LF or CRLF).
pub(super) fn breaks_in_record(b: &[u8]) -> u64 {
    let lf = memchr::memchr_iter(b'\n', b).count();
    let cr = memchr::memchr_iter(b'\r', b)
        .filter(|&i| b.get(i + 1) != Some(&b'\n'))
        .count();
    (lf + cr) as u64
}
