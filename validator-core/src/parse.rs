//! Bytes to records: decoding, delimiter sniffing and the record reader, wired together
//! for anyone who reads a file (the validator and the bundler).

use crate::decode::{Decoder, Invalid};
use crate::reader::{
    Limits, LineEnding, Overflow, ReadDialect, Record, RecordReader, RowSepIssue, SpareCsv,
    enough_to_sniff, sniff, sniff_prefix,
};
use crate::schema::{CellConverter, Dialect, RowSeparator, Target};

/// What a [`Parser`] reports while it reads.
pub(crate) trait Events {
    /// An invalid byte sequence was replaced; reported before the record holding it.
    fn invalid(&mut self, inv: Invalid);
    /// The delimiter and line ending were chosen (once, before the first record).
    fn sniffed(&mut self, delimiter: u8, ending: Option<LineEnding>);
    /// A complete record.
    fn record(&mut self, rec: &Record<'_>);
    /// A record that [`Events::record`] will be given a few records from now: a chance to
    /// start loading what checking it will read (only a hint; replays of a
    /// [`crate::Tape`] give it).
    fn ahead(&mut self, _rec: &Record<'_>) {}
    /// The end of a batch of [`Events::ahead`] calls: load now what they asked for, together.
    fn ahead_done(&mut self) {}
    /// A record over a limit; nothing after it is read (once, after the last record).
    fn overflow(&mut self, o: Overflow);
    /// The first line break that is not the file's row separator (dialect
    /// `first_in_file`; once, after the record it is in).
    fn row_separator(&mut self, _issue: RowSepIssue) {}
}

/// Streaming parser of one file.
#[derive(Debug)]
pub(crate) struct Parser {
    decoder: Decoder,
    scratch: String,
    /// Decoded bytes held until the delimiter is chosen.
    sniff_buf: Option<String>,
    /// Line feeds in `sniff_buf`.
    sniff_lines: usize,
    reader: Option<RecordReader>,
    /// A csv-core reader a finished file left, for this file's [`RecordReader`].
    spare: Option<SpareCsv>,
    limits: Limits,
    dialect: ReadDialect,
    /// A record went over a limit: the rest of the file is not read.
    stopped: bool,
}

impl Parser {
    /// A parser reading as the target's platform does.
    pub fn with_dialect(limits: Limits, dialect: &Dialect) -> Parser {
        Parser {
            dialect: ReadDialect {
                first_line_ending: dialect.row_separator == RowSeparator::FirstInFile,
                one_bom: dialect.one_bom,
            },
            decoder: Decoder::new(),
            scratch: String::new(),
            sniff_buf: Some(String::new()),
            sniff_lines: 0,
            reader: None,
            spare: None,
            limits,
            stopped: false,
        }
    }

    /// False once a record went over a limit: further bytes of the file are ignored, and
    /// a host can stop reading it.
    pub fn wants_more(&self) -> bool {
        !self.stopped
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Frees the buffers of a finished file: a bundle of 10,000 small files must not keep
    /// 10,000 record buffers until the session ends. The decoder (a few bytes) stays, for
    /// what the report says about the file's encoding. Returns the csv-core reader, for the
    /// session's next file ([`Parser::reuse`]).
    pub fn release(&mut self) -> Option<SpareCsv> {
        self.scratch = String::new();
        self.sniff_buf = None;
        self.reader
            .take()
            .map(RecordReader::into_spare)
            .or(self.spare.take())
    }

    /// Reads with `spare` if it fits the delimiter this file turns out to have.
    pub fn reuse(&mut self, spare: Option<SpareCsv>) {
        self.spare = spare;
    }

    /// Feeds the next chunk of raw bytes.
    pub fn push(&mut self, chunk: &[u8], ev: &mut dyn Events) {
        if self.stopped {
            return;
        }
        if let Some(text) = self.decoder.in_place(chunk) {
            self.feed(text, false, ev);
            return;
        }
        let mut decoded = std::mem::take(&mut self.scratch);
        decoded.clear();
        self.decoder.decode(chunk, &mut decoded);
        for inv in self.decoder.invalid.drain(..) {
            ev.invalid(inv);
        }
        self.feed(&decoded, false, ev);
        self.scratch = decoded;
    }

    /// Ends the input.
    pub fn finish(&mut self, ev: &mut dyn Events) {
        if self.stopped {
            return;
        }
        let mut decoded = std::mem::take(&mut self.scratch);
        decoded.clear();
        self.decoder.finish(&mut decoded);
        for inv in self.decoder.invalid.drain(..) {
            ev.invalid(inv);
        }
        self.feed(&decoded, true, ev);
        self.scratch = decoded;
    }

    fn feed(&mut self, decoded: &str, last: bool, ev: &mut dyn Events) {
        let held;
        let text = match &mut self.sniff_buf {
            Some(buf) => {
                buf.push_str(decoded);
                self.sniff_lines += memchr::memchr_iter(b'\n', decoded.as_bytes()).count();
                if !last && !enough_to_sniff(buf.len(), self.sniff_lines) {
                    return;
                }
                held = self.sniff_buf.take().unwrap_or_default();
                let (delimiter, ending) = sniff(sniff_prefix(held.as_bytes()));
                ev.sniffed(delimiter, ending);
                self.reader = Some(RecordReader::reusing(
                    delimiter,
                    ending,
                    self.limits,
                    self.dialect,
                    self.spare.take(),
                ));
                &held[..]
            }
            None => decoded,
        };
        let Some(reader) = &mut self.reader else {
            return;
        };
        let mut emit = |rec: &Record<'_>| ev.record(rec);
        reader.feed_text(text, &mut emit);
        if last {
            reader.finish(&mut emit);
        }
        if let Some(issue) = reader.take_row_sep_issue(last || reader.overflow().is_some()) {
            ev.row_separator(issue);
        }
        if let Some(o) = reader.overflow() {
            self.stopped = true;
            self.decoder.invalid.clear();
            ev.overflow(o);
        }
    }
}

/// Ruby's `String#strip`: ASCII whitespace and NUL at both ends.
pub(crate) fn ruby_strip(s: &str) -> &str {
    // Bytes, not chars: every byte trimmed is ASCII, so the cuts are char boundaries.
    let strippable = |b: &u8| *b == b' ' || (b'\t'..=b'\r').contains(b) || *b == 0;
    let b = s.as_bytes();
    let Some(start) = b.iter().position(|c| !strippable(c)) else {
        // Empty, at the start of `s` (callers take offsets into `s`).
        return &s[..0];
    };
    let end = b
        .iter()
        .rposition(|c| !strippable(c))
        .map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or("")
}

/// A cell's value as the target's converter makes it (`trim`: the target trims values).
/// Blank is the empty string, at the start of `cell` so offsets into the record stay valid.
#[inline]
pub(crate) fn convert(conv: CellConverter, trim: bool, cell: &str) -> &str {
    // Nearly every cell starts with a visible ASCII character and ends with no space:
    // then no converter changes it (every stripped byte is below `!`) and it is not blank.
    // An empty one stays empty (a third of an enrollment's cells): no call for it either.
    match cell.as_bytes() {
        [] => cell,
        [first, .., last] | [first @ last] if (b'!'..=b'~').contains(first) && *last > b' ' => cell,
        _ => convert_any(conv, trim, cell),
    }
}

/// [`convert`] in general.
#[inline(never)]
fn convert_any(conv: CellConverter, trim: bool, cell: &str) -> &str {
    match conv {
        CellConverter::Default if trim => ruby_strip(cell),
        CellConverter::Default => cell,
        CellConverter::RubyStripPresence => {
            let v = ruby_strip(cell);
            // ActiveSupport's `presence`: blank when only Unicode whitespace is left
            // (`/\A[[:space:]]*\z/`, the same set as `char::is_whitespace`).
            if v.chars().all(char::is_whitespace) {
                &cell[..0]
            } else {
                v
            }
        }
    }
}

/// Records of a file as the target's platform reads them: row number (the header is 1,
/// empty lines not counted) and every cell after the target's converter. For comparing
/// Preflight's reading with the platform's own parser (the Ruby oracle test); the session
/// reads files through the same [`Parser`] and [`convert`].
pub fn read_cells(target: &Target, bytes: &[u8]) -> Vec<(u64, Vec<String>)> {
    struct Collect {
        conv: CellConverter,
        trim: bool,
        rows: Vec<(u64, Vec<String>)>,
    }
    impl Events for Collect {
        fn invalid(&mut self, _: Invalid) {}
        fn sniffed(&mut self, _: u8, _: Option<LineEnding>) {}
        fn overflow(&mut self, _: Overflow) {}
        fn record(&mut self, rec: &Record<'_>) {
            let text = String::from_utf8_lossy(rec.bytes());
            let cells = (0..rec.len())
                .map(|i| {
                    let cell = text.get(rec.field_range(i)).unwrap_or("");
                    convert(self.conv, self.trim, cell).to_owned()
                })
                .collect();
            self.rows.push((self.rows.len() as u64 + 1, cells));
        }
    }
    let mut ev = Collect {
        conv: target.dialect.cells,
        trim: target.trim_values,
        rows: Vec::new(),
    };
    let mut p = Parser::with_dialect(Limits::default(), &target.dialect);
    p.push(bytes, &mut ev);
    p.finish(&mut ev);
    ev.rows
}
