//! Records out of decoded bytes, chunk by chunk, on top of `csv-core`.
//!
//! `csv-core` is lenient about quotes; Canvas's Ruby parser is strict (`Malformed CSV`).
//! A small state machine runs over the same consumed bytes to report what Ruby rejects:
//! a quote inside an unquoted field, text after a closing quote, and a quote still open at
//! end of file. It costs one `memchr` per slice when there are no quotes.
//!
//! Row numbering follows the platforms: the header is row 1, empty lines are skipped and
//! not counted, a row of blank cells is counted.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

/// Delimiters we sniff, in order of preference on a tie.
pub(crate) const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Line ending style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineEnding {
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    pub fn name(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::CrLf => "CRLF",
            LineEnding::Cr => "CR",
        }
    }
}

/// Bytes of input to look at before choosing a delimiter.
pub(crate) const SNIFF_BYTES: usize = 64 * 1024;
/// Lines to look at before choosing a delimiter.
const SNIFF_LINES: usize = 6;

/// Whether a sniff buffer of `len` bytes holding `lines` line feeds is enough to sniff
/// from (the caller counts line feeds as bytes arrive, so tiny chunks stay linear).
pub(crate) fn enough_to_sniff(len: usize, lines: usize) -> bool {
    len >= SNIFF_BYTES || lines > SNIFF_LINES
}

/// The part of the held bytes that is sniffed: up to [`SNIFF_BYTES`] and no further than
/// the line feed that made [`enough_to_sniff`] true. However the file was chunked, the same
/// prefix is sniffed, so the delimiter and line ending (and all that follows from them)
/// never depend on chunk boundaries (a whole push would otherwise sniff further).
pub(crate) fn sniff_prefix(held: &[u8]) -> &[u8] {
    let bound = held.len().min(SNIFF_BYTES);
    let end = memchr::memchr_iter(b'\n', &held[..bound])
        .nth(SNIFF_LINES)
        .map_or(bound, |at| at + 1);
    &held[..end]
}

/// Bounds on one record, so that no input makes the reader hold a record whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Decoded bytes of one record, its line break not counted.
    pub max_record_bytes: u64,
    /// Cells of one record.
    pub max_columns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: crate::session::DEFAULT_MAX_RECORD_BYTES,
            max_columns: crate::session::DEFAULT_MAX_COLUMNS as usize,
        }
    }
}

/// Why the reader stopped reading a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OverflowKind {
    /// The record is longer than [`Limits::max_record_bytes`].
    RecordTooLarge,
    /// The record has more cells than [`Limits::max_columns`].
    TooManyColumns,
}

/// A record over a limit: the reader reads nothing more of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Overflow {
    pub kind: OverflowKind,
    /// Physical line where the record starts.
    pub line: u64,
    /// 0-based cell the reader was in when the limit was reached.
    pub field: usize,
}

/// Picks the delimiter that splits the first lines most consistently, and the line ending.
pub(crate) fn sniff(buf: &[u8]) -> (u8, Option<LineEnding>) {
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    let mut ending = None;
    let mut i = 0;
    while i < buf.len() && lines.len() < SNIFF_LINES {
        let b = buf[i];
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\r' | b'\n' if !in_quotes => {
                if ending.is_none() {
                    ending = Some(match (b, buf.get(i + 1)) {
                        (b'\r', Some(b'\n')) => LineEnding::CrLf,
                        (b'\r', _) => LineEnding::Cr,
                        _ => LineEnding::Lf,
                    });
                }
                if b == b'\r' && buf.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                if counts.iter().any(|&c| c > 0) || !lines.is_empty() {
                    lines.push(counts);
                }
                counts = [0; 4];
            }
            _ if !in_quotes => {
                if let Some(d) = DELIMITERS.iter().position(|&d| d == b) {
                    counts[d] += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if lines.len() < SNIFF_LINES && counts.iter().any(|&c| c > 0) {
        lines.push(counts);
    }
    let Some(header) = lines.first() else {
        return (b',', ending);
    };
    let mut best = (0usize, 0usize, b',');
    for (d, &delim) in DELIMITERS.iter().enumerate() {
        if header[d] == 0 {
            continue;
        }
        let consistent = lines.iter().filter(|l| l[d] == header[d]).count();
        let score = (consistent, header[d]);
        if score > (best.0, best.1) {
            best = (consistent, header[d], delim);
        }
    }
    (best.2, ending)
}

/// Reading rules of the platform's parser that the record reader applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadDialect {
    /// Ruby's `row_sep: :auto` (see [`RowSepCheck`]).
    pub first_line_ending: bool,
    /// Keep a BOM that follows the one the decoder stripped.
    pub one_bom: bool,
}

/// A line break that is not the file's row separator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowSepIssue {
    /// 0-based record (the header is 0) it ends or is in; for a blank line, the next one.
    pub record: u64,
    /// Physical line of the break.
    pub line: u64,
    /// 0-based field the break is in or ends.
    pub field: usize,
    /// The separator: the file's first line break.
    pub expected: LineEnding,
    pub found: LineEnding,
}

#[derive(Clone, Copy, Debug)]
struct BreakAt {
    record: u64,
    line: u64,
    field: usize,
    outside: bool,
}

/// Ruby's CSV row-separator rule (`row_sep: :auto`): the first CR, LF or CRLF in the file,
/// even inside quotes, is the row separator, and any other line break outside quotes
/// raises `MalformedCSVError` (Canvas: `Malformed CSV`, the whole file dropped). csv-core
/// ends records at any break, so this runs beside it over the same consumed bytes, jumping
/// between quotes and breaks with `memchr3`. It keeps the first offending break only:
/// Ruby stops there.
#[derive(Debug)]
pub(crate) struct RowSepCheck {
    delimiter: u8,
    cr_lines: bool,
    sep: Option<LineEnding>,
    in_quotes: bool,
    /// A CR was the last byte: the next one says CR or CRLF.
    cr: Option<BreakAt>,
    record: u64,
    in_record: bool,
    field: usize,
    line: u64,
    issue: Option<RowSepIssue>,
    reported: bool,
}

/// The end of each field of `body`, a record without quotes split at `delim`, into `ends`
/// (as many as `body` has fields). Eight bytes at a time: the delimiters of a word are the
/// zero bytes of the word XOR the delimiter repeated, found exactly with the carry-free
/// test below (a byte at a time took 8 instructions a byte, as many as csv-core's DFA).
fn split_plain(body: &[u8], delim: u8, ends: &mut [usize]) {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let repeated = u64::from_ne_bytes([delim; 8]);
    let (words, rest) = body.as_chunks::<8>();
    let mut e = 0;
    for (w, word) in words.iter().enumerate() {
        let x = u64::from_le_bytes(*word) ^ repeated;
        // Bit 7 of each byte: set where the byte of `x` is zero, that is a delimiter.
        let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
        while hits != 0 {
            ends[e] = w * 8 + (hits.trailing_zeros() / 8) as usize;
            e += 1;
            hits &= hits - 1;
        }
    }
    let base = words.len() * 8;
    for (i, &b) in rest.iter().enumerate() {
        if b == delim {
            ends[e] = base + i;
            e += 1;
        }
    }
    ends[e] = body.len();
}

/// How many times `b` occurs in `s`. The spans counted here are a record's or less, where
/// memchr's count pays a dispatch and a setup per call (5.8% of a bench's instructions, 520
/// a row): a loop the compiler vectorises into byte-wide sums, 255 bytes at most so that
/// they cannot overflow, took 0.5-0.8x its time on 15-142-byte spans.
#[inline]
fn count(b: u8, s: &[u8]) -> usize {
    s.chunks(255)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &x| n + u8::from(x == b))))
        .sum()
}

impl RowSepCheck {
    fn new(delimiter: u8, cr_lines: bool) -> RowSepCheck {
        RowSepCheck {
            delimiter,
            cr_lines,
            sep: None,
            in_quotes: false,
            cr: None,
            record: 0,
            in_record: false,
            field: 0,
            line: 1,
            issue: None,
            reported: false,
        }
    }

    fn at(&self) -> BreakAt {
        BreakAt {
            record: self.record,
            line: self.line,
            field: self.field,
            outside: !self.in_quotes,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        if self.issue.is_some() || bytes.is_empty() {
            return;
        }
        let mut i = 0;
        if let Some(cr) = self.cr.take() {
            if bytes[0] == b'\n' {
                if !self.cr_lines {
                    self.line += 1;
                }
                self.brk(LineEnding::CrLf, cr);
                i = 1;
            } else {
                self.brk(LineEnding::Cr, cr);
            }
        }
        while i < bytes.len() {
            let rest = &bytes[i..];
            let Some(off) = memchr::memchr3(b'"', b'\r', b'\n', rest) else {
                self.span(rest);
                return;
            };
            self.span(&rest[..off]);
            let at = i + off;
            i = at + 1;
            match bytes[at] {
                b'"' => {
                    self.in_quotes = !self.in_quotes;
                    self.in_record = true;
                }
                b'\n' => {
                    let here = self.at();
                    if !self.cr_lines {
                        self.line += 1;
                    }
                    self.brk(LineEnding::Lf, here);
                }
                _ => {
                    let here = self.at();
                    if self.cr_lines {
                        self.line += 1;
                    }
                    match bytes.get(at + 1) {
                        Some(b'\n') => {
                            if !self.cr_lines {
                                self.line += 1;
                            }
                            self.brk(LineEnding::CrLf, here);
                            i = at + 2;
                        }
                        Some(_) => self.brk(LineEnding::Cr, here),
                        None => self.cr = Some(here),
                    }
                }
            }
            if self.issue.is_some() {
                return;
            }
        }
    }

    fn finish(&mut self) {
        if let Some(cr) = self.cr.take() {
            self.brk(LineEnding::Cr, cr);
        }
    }

    /// [`RowSepCheck::feed`] of a record that ends at its first line break, outside quotes
    /// (`body`, `fields` fields, then the byte `term`), without a search: false when the
    /// state needs the general reading (a CR waiting for its next byte, or inside quotes).
    fn plain(&mut self, body: usize, fields: usize, term: u8) -> bool {
        if self.issue.is_some() {
            return true;
        }
        if self.cr.is_some() || self.in_quotes || self.cr_lines {
            return false;
        }
        if body > 0 {
            self.in_record = true;
            self.field += fields - 1;
        }
        let here = self.at();
        if term == b'\n' {
            self.line += 1;
            self.brk(LineEnding::Lf, here);
        } else {
            // The CR is the last byte read: the next one says CR or CRLF.
            self.cr = Some(here);
        }
        true
    }

    fn span(&mut self, s: &[u8]) {
        if s.is_empty() {
            return;
        }
        self.in_record = true;
        if !self.in_quotes {
            self.field += count(self.delimiter, s);
        }
    }

    fn brk(&mut self, found: LineEnding, at: BreakAt) {
        match self.sep {
            None => self.sep = Some(found),
            Some(expected) if at.outside && found != expected && self.issue.is_none() => {
                self.issue = Some(RowSepIssue {
                    record: at.record,
                    line: at.line,
                    field: at.field,
                    expected,
                    found,
                });
            }
            _ => {}
        }
        if at.outside {
            if self.in_record {
                self.record += 1;
                self.in_record = false;
            }
            self.field = 0;
        }
    }
}

/// A quoting error Ruby's CSV parser rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QuoteError {
    /// `ab"c`: a quote inside a field that did not start with one.
    InUnquoted,
    /// `"ab"c`: text after the closing quote.
    AfterQuote,
    /// A quote opened and never closed before end of file.
    Unclosed,
}

/// Where a quote error is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuoteIssue {
    pub error: QuoteError,
    /// 0-based field index in the record.
    pub field: usize,
    /// Physical line.
    pub line: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Q {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// A complete record, borrowed from the reader's buffers (or, for a record without
/// quotes, from its input).
#[derive(Debug)]
pub(crate) struct Record<'a> {
    data: &'a [u8],
    ends: &'a [usize],
    /// Bytes between one field's end and the next one's start: 0 in csv-core's output,
    /// 1 (the delimiter) in a record read as it is ([`RecordReader::plain_record`]).
    gap: usize,
    /// `data` as text, when whoever made the record already found it UTF-8 (a
    /// [`crate::session::Tape`] does, on its reading thread).
    text: Option<&'a str>,
    /// Physical line where the record starts.
    pub line: u64,
    /// Offset in the decoded stream where the record ends.
    pub end: u64,
    pub quote_issues: &'a [QuoteIssue],
    /// Fields that start with a quote.
    pub quoted_fields: usize,
    /// The kind's rules that read only their row found nothing in it, on the thread that
    /// read it ([`crate::FileReader::check_rows`]).
    pub row_rules_passed: bool,
    /// The hashes of the record's look-up cells, from the thread that read it
    /// ([`crate::rules::Row::probe_hashes`]); empty if it computed none.
    pub probe_hashes: &'a [u64],
}

impl<'a> Record<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The field holding byte `offset` of [`Record::bytes`] (binary search).
    pub fn field_at(&self, offset: usize) -> Option<usize> {
        let i = self.ends.partition_point(|&e| e <= offset);
        (i < self.ends.len()).then_some(i)
    }

    /// End offset of field `i` in [`Record::bytes`].
    pub fn field_end(&self, i: usize) -> usize {
        self.ends[i]
    }

    /// Where field `i` is in [`Record::bytes`].
    #[inline]
    pub fn field_range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1] + self.gap
        };
        start..self.ends[i]
    }

    /// The record's bytes as text, if known to be UTF-8 already.
    pub fn text(&self) -> Option<&'a str> {
        self.text
    }

    /// Bytes between one field's end and the next one's start ([`Record::gap`]).
    pub fn gap(&self) -> usize {
        self.gap
    }

    #[cfg(test)]
    pub fn field(&self, i: usize) -> &'a [u8] {
        &self.data[self.field_range(i)]
    }

    #[cfg(test)]
    pub fn fields(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(|i| self.field(i))
    }

    /// All field bytes, in order, with [`Record::gap`] bytes between fields.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// A record made of its parts (the field bytes and their end offsets in them), as a
    /// [`crate::session::Tape`] stored them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        data: &'a [u8],
        text: Option<&'a str>,
        ends: &'a [usize],
        gap: usize,
        line: u64,
        end: u64,
        quote_issues: &'a [QuoteIssue],
        quoted_fields: usize,
        row_rules_passed: bool,
        probe_hashes: &'a [u64],
    ) -> Record<'a> {
        Record {
            data,
            text,
            ends,
            gap,
            line,
            end,
            quote_issues,
            quoted_fields,
            row_rules_passed,
            probe_hashes,
        }
    }
}

/// A finished file's csv-core reader, which the session's next file reads with when it splits
/// on the same delimiter. Building one computes its DFA over every state and byte (256 k
/// instructions): more than a small file's whole check, and a third of a fuzz execution.
/// `reset` makes a used reader as good as new.
#[derive(Debug)]
pub(crate) struct SpareCsv {
    delimiter: u8,
    rdr: Reader,
}

/// Streaming record reader.
#[derive(Debug)]
pub(crate) struct RecordReader {
    rdr: Reader,
    delimiter: u8,
    /// Count `\r` instead of `\n` as line breaks (old Mac files).
    cr_lines: bool,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    at_record_start: bool,
    /// Physical line of the next byte (1-based).
    line: u64,
    record_line: u64,
    /// Decoded bytes consumed.
    pos: u64,
    /// Fields of the current record that start with a quote.
    quoted: usize,
    q: Q,
    field: usize,
    quote_line: u64,
    issues: Vec<QuoteIssue>,
    limits: Limits,
    /// Decoded offset where the current record starts.
    record_start: u64,
    /// Set once a record is over a limit; the reader then ignores all input.
    overflow: Option<Overflow>,
    /// Ruby's row-separator rule, when the target's dialect asks for it.
    row_sep: Option<RowSepCheck>,
    /// Keep a BOM at the start of the decoded stream (the decoder stripped the first one):
    /// csv-core would drop it, Ruby keeps it as text.
    keep_bom: bool,
    /// csv-core has been called at least once.
    started: bool,
    /// Records without quotes are split by [`RecordReader::plain_record`] (false for CR
    /// line ends, where a line feed is not a line break, and in tests of csv-core alone).
    plain: bool,
    /// Records emitted.
    emitted: u64,
}

impl RecordReader {
    #[cfg(test)]
    pub fn new(delimiter: u8, ending: Option<LineEnding>, limits: Limits) -> RecordReader {
        RecordReader::with_dialect(delimiter, ending, limits, ReadDialect::default())
    }

    /// A reader with the platform parser's rules.
    pub fn with_dialect(
        delimiter: u8,
        ending: Option<LineEnding>,
        limits: Limits,
        dialect: ReadDialect,
    ) -> RecordReader {
        RecordReader::reusing(delimiter, ending, limits, dialect, None)
    }

    /// [`RecordReader::with_dialect`], on the csv-core reader a finished file left behind
    /// when it splits on the same delimiter ([`RecordReader::into_spare`]).
    pub fn reusing(
        delimiter: u8,
        ending: Option<LineEnding>,
        limits: Limits,
        dialect: ReadDialect,
        spare: Option<SpareCsv>,
    ) -> RecordReader {
        let rdr = match spare {
            Some(SpareCsv {
                delimiter: d,
                mut rdr,
            }) if d == delimiter => {
                rdr.reset();
                rdr
            }
            // Built per file, not built once and cloned: csv-core 0.1's `Clone` for its
            // DFA copies only the transition table, and a cloned reader never ends a record.
            _ => ReaderBuilder::new().delimiter(delimiter).build(),
        };
        let cr_lines = ending == Some(LineEnding::Cr);
        RecordReader {
            row_sep: dialect
                .first_line_ending
                .then(|| RowSepCheck::new(delimiter, cr_lines)),
            keep_bom: dialect.one_bom,
            started: false,
            plain: !cr_lines,
            emitted: 0,
            limits,
            record_start: 0,
            overflow: None,
            rdr,
            delimiter,
            cr_lines,
            out: vec![0; 4096],
            out_len: 0,
            ends: vec![0; 64.min(limits.max_columns)],
            ends_len: 0,
            at_record_start: true,
            line: 1,
            record_line: 1,
            pos: 0,
            q: Q::FieldStart,
            quoted: 0,
            field: 0,
            quote_line: 1,
            issues: Vec::new(),
        }
    }

    /// The csv-core reader, for the next file of the session ([`RecordReader::reusing`]).
    pub fn into_spare(self) -> SpareCsv {
        SpareCsv {
            delimiter: self.delimiter,
            rdr: self.rdr,
        }
    }

    /// The record over a limit, if one was met: nothing after it is read.
    pub fn overflow(&self) -> Option<Overflow> {
        self.overflow
    }

    /// The file's first line break that breaks the row-separator rule, once the record it
    /// belongs to has been emitted (or at `finished`): reported at the same point, with the
    /// header known, whatever the chunking. Reading goes on (csv-core splits rows at any
    /// break), so the rows are still checked and the bundler can write them with one
    /// ending. Taken once.
    pub fn take_row_sep_issue(&mut self, finished: bool) -> Option<RowSepIssue> {
        let c = self.row_sep.as_mut()?;
        let issue = c.issue?;
        if c.reported || !(finished || self.emitted > issue.record) {
            return None;
        }
        c.reported = true;
        Some(issue)
    }

    fn row_sep(&mut self, bytes: &[u8], last: bool) {
        if let Some(c) = &mut self.row_sep {
            c.feed(bytes);
            if last {
                c.finish();
            }
        }
    }

    /// Feeds decoded bytes; calls `emit` for each complete record.
    pub fn feed(&mut self, input: &[u8], emit: &mut dyn FnMut(&Record<'_>)) {
        self.feed_inner(input, None, emit);
    }

    /// [`RecordReader::feed`] of text (a decoder's output): a record read in place is
    /// handed on with its text ([`Record::text`]), so that no one checks its UTF-8 again.
    pub fn feed_text(&mut self, input: &str, emit: &mut dyn FnMut(&Record<'_>)) {
        self.feed_inner(input.as_bytes(), Some(input), emit);
    }

    /// `text`, when given, is `input` as text; it follows `input` while each cut is a
    /// character boundary (csv-core may stop mid-character), and is dropped after one that
    /// is not.
    fn feed_inner(
        &mut self,
        mut input: &[u8],
        mut text: Option<&str>,
        emit: &mut dyn FnMut(&Record<'_>),
    ) {
        while !input.is_empty() && self.overflow.is_none() {
            if self.at_record_start {
                let skip = input
                    .iter()
                    .take_while(|&&b| b == b'\n' || b == b'\r')
                    .count();
                self.count_lines(&input[..skip]);
                self.row_sep(&input[..skip], false);
                self.pos += skip as u64;
                input = &input[skip..];
                text = text.and_then(|t| t.get(skip..));
                if input.is_empty() {
                    return;
                }
                self.at_record_start = false;
                self.record_start = self.pos;
                self.record_line = self.line;
                self.q = Q::FieldStart;
                self.field = 0;
                self.issues.clear();
                self.quoted = 0;
            }
            if self.plain
                && self.started
                && self.pos == self.record_start
                && let Some(n) = self.plain_record(input, text, emit)
            {
                input = &input[n..];
                text = text.and_then(|t| t.get(n..));
                continue;
            }
            // Offer at most one byte past the limit: the record's buffers never grow
            // beyond it, and a record one byte too long is caught at once.
            let used = self.pos - self.record_start;
            let budget = self.limits.max_record_bytes.saturating_sub(used);
            let mut take = usize::try_from(budget)
                .map_or(input.len(), |b| b.saturating_add(1).min(input.len()));
            if !self.started && self.keep_bom {
                // csv-core drops a BOM at the start of its first input of 3 bytes or more;
                // one byte first keeps it.
                take = take.min(1);
            }
            self.started = true;
            let (res, nin, nout, nend) = self.rdr.read_record(
                &input[..take],
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            self.scan(&input[..nin], matches!(res, ReadRecordResult::Record));
            self.row_sep(&input[..nin], false);
            self.pos += nin as u64;
            input = &input[nin..];
            text = text.and_then(|t| t.get(nin..));
            self.out_len += nout;
            self.ends_len += nend;
            self.handle(res, emit);
            if !self.at_record_start && self.pos - self.record_start > self.limits.max_record_bytes
            {
                self.stop(OverflowKind::RecordTooLarge);
            }
        }
    }

    /// The record at the start of `input` split as csv-core splits it, when it has no quote
    /// and its line break is in `input`: its fields are the bytes between delimiters, and
    /// it ends at the first CR or LF, which it takes. Emitted as it is in `input` (with the
    /// delimiters, [`Record::gap`] 1); the bytes read are returned. `None` (nothing read)
    /// for any other record, or one over a limit: csv-core reads those, and says where the
    /// limit is met. Most rows of an export are such records, and splitting them here takes
    /// a third of csv-core's byte-at-a-time machine, whose state after a record is the
    /// state before one: it reads the next record as if it had read this one.
    fn plain_record(
        &mut self,
        input: &[u8],
        text: Option<&str>,
        emit: &mut dyn FnMut(&Record<'_>),
    ) -> Option<usize> {
        let end = memchr::memchr2(b'\r', b'\n', input)?;
        let body = &input[..end];
        // A record that ends past the limit overflows (its line break does not count).
        if end as u64 > self.limits.max_record_bytes {
            return None;
        }
        if memchr::memchr(b'"', body).is_some() {
            return self.quoted_record(input, end, emit);
        }
        let fields = count(self.delimiter, body) + 1;
        if fields > self.limits.max_columns {
            return None;
        }
        if self.ends.len() < fields {
            self.ends.resize(fields, 0);
        }
        split_plain(body, self.delimiter, &mut self.ends[..fields]);
        let n = self.take_break(input, end, fields);
        emit(&Record {
            data: body,
            // The record ends at an ASCII line break: a character boundary.
            text: text.and_then(|t| t.get(..end)),
            ends: &self.ends[..fields],
            gap: 1,
            line: self.record_line,
            end: self.pos,
            quote_issues: &[],
            quoted_fields: 0,
            row_rules_passed: false,
            probe_hashes: &[],
        });
        self.emitted += 1;
        self.at_record_start = true;
        Some(n)
    }

    /// [`RecordReader::plain_record`] for a record with quotes, when each is simple: a
    /// field that starts with a quote holds no other quote, breaks no line and ends at its
    /// closing quote, and no other field holds a quote. Its fields, unquoted, are copied as
    /// csv-core copies them ([`Record::gap`] 0); any other record is csv-core's. A name
    /// column quoted because of its comma (`"Smith, Ann"`) is the usual case in exports.
    fn quoted_record(
        &mut self,
        input: &[u8],
        end: usize,
        emit: &mut dyn FnMut(&Record<'_>),
    ) -> Option<usize> {
        let body = &input[..end];
        let delim = self.delimiter;
        if self.out.len() < body.len() {
            self.out.resize(body.len(), 0);
        }
        let (mut i, mut o, mut f, mut quoted) = (0, 0, 0, 0);
        loop {
            if f == self.ends.len() {
                if f >= self.limits.max_columns {
                    return None;
                }
                let n = (f * 2).clamp(1, self.limits.max_columns);
                self.ends.resize(n, 0);
            }
            let (field, next) = if body.get(i) == Some(&b'"') {
                let close = i + 1 + memchr::memchr(b'"', &body[i + 1..])?;
                quoted += 1;
                (i + 1..close, close + 1)
            } else {
                let stop = memchr::memchr2(delim, b'"', &body[i..]).map_or(body.len(), |k| i + k);
                (i..stop, stop)
            };
            let len = field.len();
            self.out[o..o + len].copy_from_slice(&body[field]);
            o += len;
            self.ends[f] = o;
            f += 1;
            match body.get(next) {
                None => break,
                Some(&b) if b == delim => i = next + 1,
                // A quote inside a field, or after a closing one.
                Some(_) => return None,
            }
        }
        let n = self.take_break(input, end, f);
        emit(&Record {
            data: &self.out[..o],
            text: None,
            ends: &self.ends[..f],
            gap: 0,
            line: self.record_line,
            end: self.pos,
            quote_issues: &[],
            quoted_fields: quoted,
            row_rules_passed: false,
            probe_hashes: &[],
        });
        self.emitted += 1;
        self.at_record_start = true;
        Some(n)
    }

    /// Reads the line break at `input[end]` that ends a record of `fields` fields split in
    /// `input` ([`RecordReader::plain_record`], [`RecordReader::quoted_record`]): the
    /// row-separator check, the line count and the position. Returns the bytes read.
    #[inline(always)]
    fn take_break(&mut self, input: &[u8], end: usize, fields: usize) -> usize {
        let n = end + 1;
        let term = input[end];
        if !self
            .row_sep
            .as_mut()
            .is_none_or(|c| c.plain(end, fields, term))
        {
            self.row_sep(&input[..n], false);
        }
        // What `scan` counts of these bytes: their one line break, if it is a line feed.
        self.line += u64::from(term == b'\n');
        self.pos += n as u64;
        n
    }

    fn stop(&mut self, kind: OverflowKind) {
        self.overflow = Some(Overflow {
            kind,
            line: self.record_line,
            field: self.field,
        });
        // Free the partial record: nothing of it is reported but where it is.
        self.out = Vec::new();
        self.ends = Vec::new();
        self.issues = Vec::new();
    }

    /// Flushes the last record at end of input.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&Record<'_>)) {
        if self.overflow.is_some() {
            return;
        }
        self.row_sep(&[], true);
        if matches!(self.q, Q::Quoted) && !self.at_record_start {
            self.issues.push(QuoteIssue {
                error: QuoteError::Unclosed,
                field: self.field,
                line: self.quote_line,
            });
        }
        loop {
            let (res, _, nout, nend) = self.rdr.read_record(
                &[],
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            self.out_len += nout;
            self.ends_len += nend;
            if matches!(res, ReadRecordResult::End) {
                return;
            }
            self.handle(res, emit);
            if self.overflow.is_some() {
                return;
            }
        }
    }

    fn handle(&mut self, res: ReadRecordResult, emit: &mut dyn FnMut(&Record<'_>)) {
        match res {
            ReadRecordResult::InputEmpty | ReadRecordResult::End => {}
            ReadRecordResult::OutputFull => {
                // At most the record limit plus one byte is ever offered (see `feed`).
                let cap = usize::try_from(self.limits.max_record_bytes)
                    .map_or(usize::MAX, |m| m.saturating_add(1));
                let n = (self.out.len() * 2).min(cap).max(self.out.len() + 1);
                self.out.resize(n, 0);
            }
            ReadRecordResult::OutputEndsFull => {
                // One more cell than fits: the record has more cells than the limit.
                if self.ends_len >= self.limits.max_columns {
                    self.stop(OverflowKind::TooManyColumns);
                    return;
                }
                let n = (self.ends.len() * 2).min(self.limits.max_columns);
                self.ends.resize(n.max(self.ends.len() + 1), 0);
            }
            ReadRecordResult::Record => {
                let rec = Record {
                    data: &self.out[..self.out_len],
                    text: None,
                    ends: &self.ends[..self.ends_len],
                    gap: 0,
                    line: self.record_line,
                    end: self.pos,
                    quote_issues: &self.issues,
                    quoted_fields: self.quoted,
                    row_rules_passed: false,
                    probe_hashes: &[],
                };
                emit(&rec);
                self.emitted += 1;
                self.out_len = 0;
                self.ends_len = 0;
                self.at_record_start = true;
            }
        }
    }

    fn count_lines(&mut self, bytes: &[u8]) {
        let nl = if self.cr_lines { b'\r' } else { b'\n' };
        self.line += count(nl, bytes) as u64;
    }

    /// Runs the strict-quote machine and counts lines over consumed bytes; `done` when they
    /// end the record (the machine's state then no longer matters: it restarts per record).
    ///
    /// It jumps from quote to quote with `memchr`: between quotes, outside a quoted field,
    /// only delimiters (field numbers) and line breaks matter; inside one, only line breaks.
    fn scan(&mut self, bytes: &[u8], done: bool) {
        let nl = if self.cr_lines { b'\r' } else { b'\n' };
        let mut rest = bytes;
        while let Some(&first) = rest.first() {
            match self.q {
                Q::FieldStart | Q::Unquoted => {
                    let cut = memchr::memchr(b'"', rest).unwrap_or(rest.len());
                    let (plain, tail) = rest.split_at(cut);
                    if let Some(&last) = plain.last() {
                        self.line += count(nl, plain) as u64;
                        if !(done && tail.is_empty()) {
                            self.field += count(self.delimiter, plain);
                            self.q = if last == self.delimiter || last == b'\n' || last == b'\r' {
                                Q::FieldStart
                            } else {
                                Q::Unquoted
                            };
                        }
                    }
                    let Some(after) = tail.get(1..) else {
                        return;
                    };
                    // A quote.
                    self.q = if self.q == Q::FieldStart {
                        self.quote_line = self.line;
                        self.quoted += 1;
                        Q::Quoted
                    } else {
                        self.issue(QuoteError::InUnquoted);
                        Q::Unquoted
                    };
                    rest = after;
                }
                Q::Quoted => {
                    let cut = memchr::memchr(b'"', rest).unwrap_or(rest.len());
                    self.line += count(nl, &rest[..cut]) as u64;
                    if cut < rest.len() {
                        self.q = Q::QuoteInQuoted;
                    }
                    rest = rest.get(cut + 1..).unwrap_or(&[]);
                }
                Q::QuoteInQuoted => {
                    let b = first;
                    if b == nl {
                        self.line += 1;
                    }
                    self.q = if b == b'"' {
                        Q::Quoted
                    } else if b == self.delimiter {
                        self.field += 1;
                        Q::FieldStart
                    } else if b == b'\n' || b == b'\r' {
                        Q::FieldStart
                    } else {
                        self.issue(QuoteError::AfterQuote);
                        Q::Unquoted
                    };
                    rest = &rest[1..];
                }
            }
        }
    }

    fn issue(&mut self, error: QuoteError) {
        // One issue of a kind per field is enough.
        if let Some(last) = self.issues.last()
            && last.field == self.field
            && last.error == error
        {
            return;
        }
        self.issues.push(QuoteIssue {
            error,
            field: self.field,
            line: self.line,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_LIMITS: Limits = Limits {
        max_record_bytes: 1 << 20,
        max_columns: 1000,
    };

    fn overflow_of(input: &[u8], limits: Limits, chunk: usize) -> (usize, Option<Overflow>) {
        let mut r = RecordReader::new(b',', None, limits);
        let mut n = 0;
        let mut emit = |_: &Record<'_>| n += 1;
        for c in input.chunks(chunk) {
            r.feed(c, &mut emit);
        }
        r.finish(&mut emit);
        (n, r.overflow())
    }

    /// Text fed as text: a record read in place keeps it (no second UTF-8 check), one that
    /// csv-core copies (quoted) has none; both read the same fields.
    #[test]
    fn records_read_in_place_keep_their_text() {
        let input = "ñandú,b\r\n\"q, é\",d\r\nx,ÿ\r\n";
        let mut r = RecordReader::new(b',', None, TEST_LIMITS);
        r.started = true;
        let mut seen = Vec::new();
        let mut emit = |rec: &Record<'_>| {
            let fields: Vec<String> = rec
                .fields()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            seen.push((rec.text().map(str::to_owned), fields));
        };
        r.feed_text(input, &mut emit);
        r.finish(&mut emit);
        assert_eq!(
            seen,
            [
                (
                    Some("ñandú,b".to_owned()),
                    vec!["ñandú".to_owned(), "b".to_owned()]
                ),
                (None, vec!["q, é".to_owned(), "d".to_owned()]),
                (Some("x,ÿ".to_owned()), vec!["x".to_owned(), "ÿ".to_owned()]),
            ]
        );
    }

    #[test]
    fn record_limit_is_exact_and_buffers_stay_bounded() {
        let limits = Limits {
            max_record_bytes: 10,
            max_columns: 100,
        };
        // 10 bytes and a line break: fits; 11 bytes: over.
        for chunk in [1, 3, 64] {
            assert_eq!(
                overflow_of(b"a,b\n12345,7890\nx\n", limits, chunk),
                (3, None)
            );
            assert_eq!(overflow_of(b"a,b\n12345,7890", limits, chunk), (2, None));
            let (n, o) = overflow_of(b"a,b\n12345,78901\nx\n", limits, chunk);
            assert_eq!(n, 1);
            let o = o.expect("over the limit");
            assert_eq!(
                (o.kind, o.line, o.field),
                (OverflowKind::RecordTooLarge, 2, 1)
            );
        }
        // Unbounded input: the reader holds at most the limit.
        let mut r = RecordReader::new(b',', None, limits);
        let zeros = [0u8; 4096];
        for _ in 0..100 {
            r.feed(&zeros, &mut |_| {});
        }
        assert_eq!(
            r.overflow().map(|o| o.kind),
            Some(OverflowKind::RecordTooLarge)
        );
        assert!(
            r.out.len() <= 11 && r.pos <= 11,
            "{} {}",
            r.out.len(),
            r.pos
        );
    }

    #[test]
    fn column_limit() {
        let limits = Limits {
            max_record_bytes: 1 << 20,
            max_columns: 3,
        };
        assert_eq!(overflow_of(b"a,b,c\n1,2,3", limits, 2), (2, None));
        let (n, o) = overflow_of(b"a,b,c\n1,2,3,4\n", limits, 2);
        assert_eq!(n, 1);
        assert_eq!(
            o.map(|o| (o.kind, o.line)),
            Some((OverflowKind::TooManyColumns, 2))
        );
        // At end of input without a line break too.
        let (_, o) = overflow_of(b"a,b,c,d", limits, 64);
        assert_eq!(o.map(|o| o.kind), Some(OverflowKind::TooManyColumns));
    }

    fn records(input: &[u8], delim: u8) -> Vec<(u64, Vec<String>, Vec<QuoteError>)> {
        let mut r = RecordReader::new(delim, None, TEST_LIMITS);
        let mut v = Vec::new();
        let mut emit = |rec: &Record<'_>| {
            v.push((
                rec.line,
                rec.fields()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
                rec.quote_issues.iter().map(|q| q.error).collect(),
            ))
        };
        r.feed(input, &mut emit);
        r.finish(&mut emit);
        v
    }

    #[test]
    fn blank_lines_skipped_lines_counted() {
        let v = records(b"a,b\r\n\r\n1,\"x\ny\"\n\n2,3", b',');
        assert_eq!(v.len(), 3);
        assert_eq!(v[1], (3, vec!["1".into(), "x\ny".into()], vec![]));
        assert_eq!(v[2].0, 6);
    }

    #[test]
    fn strict_quotes() {
        let v = records(b"a,b\nx\"y,1\n\"p\"q,2\n\"open,3\n", b',');
        assert_eq!(v[1].2, vec![QuoteError::InUnquoted]);
        assert_eq!(v[2].2, vec![QuoteError::AfterQuote]);
        assert_eq!(v[3].2, vec![QuoteError::Unclosed]);
    }

    /// A repeatable stream of pseudo-random numbers (xorshift64) for generated cases.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn plain_records_read_as_csv_core_reads_them() {
        // Few distinct bytes, so that quotes, breaks, delimiters and blank lines meet often;
        // limits small enough to be met.
        let alphabet = b"ab,,\"\n\r\r\n;\0";
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        type Seen = (
            Vec<(u64, u64, Vec<Vec<u8>>, Vec<(QuoteError, usize, u64)>, usize)>,
            Option<(OverflowKind, u64, usize)>,
            Option<RowSepIssue>,
        );
        let read =
            |plain: bool, bytes: &[u8], chunks: &[usize], limits: Limits, sep: bool| -> Seen {
                let dialect = ReadDialect {
                    first_line_ending: sep,
                    one_bom: false,
                };
                let mut r = RecordReader::with_dialect(b',', None, limits, dialect);
                r.plain = plain;
                let mut v = Vec::new();
                let mut emit = |rec: &Record<'_>| {
                    v.push((
                        rec.line,
                        rec.end,
                        rec.fields().map(<[u8]>::to_vec).collect(),
                        rec.quote_issues
                            .iter()
                            .map(|q| (q.error, q.field, q.line))
                            .collect(),
                        rec.quoted_fields,
                    ))
                };
                let mut at = 0;
                for &n in chunks {
                    r.feed(&bytes[at..at + n], &mut emit);
                    at += n;
                }
                r.finish(&mut emit);
                let o = r.overflow().map(|o| (o.kind, o.line, o.field));
                (v, o, r.take_row_sep_issue(true))
            };
        // Half the cases have long records (few breaks and quotes), whose fields span the
        // eight-byte words that plain records are split by.
        let long = b"abcdefgh,,;\0";
        // A third of the cases are records of whole fields, most of them quoted the simple
        // way (`quoted_record`) and some not: a quote doubled or inside a field, text after
        // a closing quote, a line break inside quotes, a quote left open.
        let field_bytes = b"ab, ;";
        for case in 0..9000 {
            let bytes: Vec<u8> = if case % 3 == 2 {
                let mut b = Vec::new();
                for _ in 0..next() % 12 {
                    let text: Vec<u8> = (0..next() % 6)
                        .map(|_| field_bytes[(next() % field_bytes.len() as u64) as usize])
                        .collect();
                    match next() % 16 {
                        0..=7 => b.extend([&b"\""[..], &text, b"\""].concat()),
                        8..=11 => b.extend(text.iter().filter(|&&c| c != b',')),
                        12 => b.extend([&b"\""[..], &text, b"\"\"", &text, b"\""].concat()),
                        13 => b.extend([&b"\""[..], &text, b"\"x"].concat()),
                        14 => b.extend([&b"\""[..], &text, b"\r\n", &text, b"\""].concat()),
                        _ => b.extend([&text[..], b"\""].concat()),
                    }
                    b.extend(match next() % 8 {
                        0 => &b"\n"[..],
                        1 => b"\r\n",
                        2 => b"\r",
                        _ => b",",
                    });
                }
                b
            } else {
                let len = (next() % if case % 2 == 0 { 60 } else { 240 }) as usize;
                (0..len)
                    .map(|_| match (case % 2, next() % 64) {
                        (0, r) => alphabet[(r % alphabet.len() as u64) as usize],
                        (_, 0..=1) => b'\n',
                        (_, 2) => b'\r',
                        (_, 3) => b'"',
                        (_, r) => long[(r % long.len() as u64) as usize],
                    })
                    .collect()
            };
            let len = bytes.len();
            let mut chunks = Vec::new();
            let mut left = len;
            while left > 0 {
                let n = (1 + (next() % 20) as usize).min(left);
                chunks.push(n);
                left -= n;
            }
            let limits = if case % 3 == 0 {
                Limits {
                    max_record_bytes: 1 + next() % 12,
                    max_columns: 1 + (next() % 5) as usize,
                }
            } else {
                TEST_LIMITS
            };
            let sep = case % 4 < 2;
            assert_eq!(
                read(true, &bytes, &chunks, limits, sep),
                read(false, &bytes, &chunks, limits, sep),
                "{:?} in {chunks:?}, {limits:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    /// A dialect may make the quote its delimiter: the reader's own splitting of quoted
    /// records then still reads what csv-core reads.
    #[test]
    fn a_quote_as_delimiter_reads_as_csv_core_reads_it() {
        let fields = |plain: bool, input: &[u8]| {
            let mut r = RecordReader::new(b'"', None, TEST_LIMITS);
            r.plain = plain;
            let mut v = Vec::new();
            let mut emit =
                |rec: &Record<'_>| v.push(rec.fields().map(<[u8]>::to_vec).collect::<Vec<_>>());
            r.feed(input, &mut emit);
            r.finish(&mut emit);
            v
        };
        for input in [
            &b"a\"b\n\"c\"\n"[..],
            b"x,\"y\"\"z\n\"\"\n",
            b"\"a\"\"b\"\r\n",
        ] {
            assert_eq!(fields(true, input), fields(false, input), "{input:?}");
        }
    }

    /// The byte-at-a-time machine `scan` replaced, as the reference.
    fn scan_bytewise(r: &mut RecordReader, bytes: &[u8]) {
        let nl = if r.cr_lines { b'\r' } else { b'\n' };
        for &b in bytes {
            if b == nl {
                r.line += 1;
            }
            let d = b == r.delimiter;
            let eol = b == b'\n' || b == b'\r';
            r.q = match r.q {
                Q::FieldStart | Q::Unquoted if d => {
                    r.field += 1;
                    Q::FieldStart
                }
                Q::FieldStart | Q::Unquoted if eol => Q::FieldStart,
                Q::FieldStart if b == b'"' => {
                    r.quote_line = r.line;
                    Q::Quoted
                }
                Q::FieldStart => Q::Unquoted,
                Q::Unquoted => {
                    if b == b'"' {
                        r.issue(QuoteError::InUnquoted);
                    }
                    Q::Unquoted
                }
                Q::Quoted if b == b'"' => Q::QuoteInQuoted,
                Q::Quoted => Q::Quoted,
                Q::QuoteInQuoted if b == b'"' => Q::Quoted,
                Q::QuoteInQuoted if d => {
                    r.field += 1;
                    Q::FieldStart
                }
                Q::QuoteInQuoted if eol => Q::FieldStart,
                Q::QuoteInQuoted => {
                    r.issue(QuoteError::AfterQuote);
                    Q::Unquoted
                }
            };
        }
    }

    #[test]
    fn scan_matches_bytewise_machine() {
        let alphabet = b"ab,\"\n\r;";
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for case in 0..3000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let ending = [None, Some(LineEnding::Cr)][case % 2];
            let (mut fast, mut slow) = (
                RecordReader::new(b',', ending, TEST_LIMITS),
                RecordReader::new(b',', ending, TEST_LIMITS),
            );
            let mut at = 0;
            while at < bytes.len() {
                let n = 1 + (next() % 7) as usize;
                let piece = &bytes[at..(at + n).min(bytes.len())];
                fast.scan(piece, false);
                scan_bytewise(&mut slow, piece);
                at += n;
            }
            let state = |r: &RecordReader| {
                let issues: Vec<_> = r
                    .issues
                    .iter()
                    .map(|i| (i.error, i.field, i.line))
                    .collect();
                (r.q, r.field, r.line, r.quote_line, issues)
            };
            assert_eq!(
                state(&fast),
                state(&slow),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    /// (record, line, field, expected, found)
    type SepIssue = (u64, u64, usize, LineEnding, LineEnding);

    fn row_sep_issue(input: &[u8], chunk: usize) -> Option<SepIssue> {
        let dialect = ReadDialect {
            first_line_ending: true,
            one_bom: false,
        };
        let mut r = RecordReader::with_dialect(b',', None, TEST_LIMITS, dialect);
        for c in input.chunks(chunk) {
            r.feed(c, &mut |_| {});
        }
        r.finish(&mut |_| {});
        r.take_row_sep_issue(true)
            .map(|i| (i.record, i.line, i.field, i.expected, i.found))
    }

    /// Ruby's `row_sep: :auto`: the first break decides (inside quotes too); any other
    /// break outside quotes is reported once, located, whatever the chunking.
    #[test]
    fn row_separator_from_the_first_line_break() {
        use LineEnding::*;
        let cases: &[(&[u8], Option<SepIssue>)] = &[
            (b"a,b\n1,2\n", None),
            (b"a,b\r\n1,2\r\n\r\n3,4", None),
            (b"a,b\r1,2\r", None),
            (b"a,b\r\n1,2\n3,4\r\n", Some((1, 2, 1, CrLf, Lf))),
            (b"a,b\n1,2\r\n", Some((1, 2, 1, Lf, CrLf))),
            (b"a,b\n1,x\ry\n", Some((1, 2, 1, Lf, Cr))),
            (b"a,b\n1,2\r", Some((1, 2, 1, Lf, Cr))),
            (b"a,b\n\r\n1,2\n", Some((1, 2, 0, Lf, CrLf))),
            (b"a,b\r1,2\n", Some((1, 1, 1, Cr, Lf))),
            // The first break is inside quotes: it still decides.
            (b"\"a\nx\",b\r\n1,2\r\n", Some((0, 2, 1, Lf, CrLf))),
            // Breaks inside quotes are text.
            (b"a,b\n\"1\r\n\r\",2\n", None),
        ];
        for (input, want) in cases {
            for chunk in [1, 2, 3, 64] {
                assert_eq!(
                    row_sep_issue(input, chunk),
                    *want,
                    "{:?} in {chunk}-byte chunks",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"a;b;c\n1;2,5;3\n").0, b';');
        assert_eq!(sniff(b"a\tb\n1\t2\n").0, b'\t');
        assert_eq!(sniff(b"a,b\r\n1,2\r\n"), (b',', Some(LineEnding::CrLf)));
        assert_eq!(sniff(b"name\n").0, b',');
    }
}
