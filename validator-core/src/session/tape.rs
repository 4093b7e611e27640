//! Reading on one thread, checking on another. [`FileReader`] is the reading half of a
//! file (decoding, CSV parsing): it writes what it finds on a [`Tape`], which a host may
//! move to the thread that owns the [`Session`]; [`Session::push_tape`] checks it there.
//! The report is byte for byte the one [`Session::push`] gives: the same events reach the
//! same checks in the same order. The core itself starts no thread.

use super::{RawCounts, Session};
use crate::Error;
use crate::decode::Invalid;
use crate::parse::{Events, Parser};
use crate::reader::{LineEnding, Overflow, QuoteIssue, Record, RowSepIssue};
use crate::session::Progress;

/// What a [`FileReader`] found in some chunks of a file, in order: records (their bytes in
/// one buffer) and the parser's other events. Reusable: [`Tape::clear`] keeps the buffers.
#[derive(Debug, Default)]
pub struct Tape {
    events: Vec<Event>,
    /// The records that are UTF-8 (all that a decoder wrote), validated here, on the
    /// reading thread, so that the checking thread need not.
    text: String,
    /// The others' bytes.
    data: Vec<u8>,
    ends: Vec<usize>,
    issues: Vec<QuoteIssue>,
    /// What the raw bytes read count.
    raw: RawCounts,
}

#[derive(Debug)]
enum Event {
    Invalid(Invalid),
    Sniffed(u8, Option<LineEnding>),
    /// A record: where its parts end in the tape's buffers.
    Record {
        /// End in `text` if `utf8`, else in `data`.
        data: usize,
        utf8: bool,
        ends: usize,
        gap: usize,
        issues: usize,
        line: u64,
        end: u64,
        quoted_fields: usize,
    },
    Overflow(Overflow),
    RowSeparator(RowSepIssue),
}

impl Tape {
    /// Empties the tape, keeping its buffers.
    pub fn clear(&mut self) {
        self.events.clear();
        self.text.clear();
        self.data.clear();
        self.ends.clear();
        self.issues.clear();
        self.raw = RawCounts::default();
    }

    /// Bytes of record data held: a host sends the tape on past some size.
    pub fn data_len(&self) -> usize {
        self.text.len() + self.data.len()
    }

    /// The tape's records, in order.
    fn records(&self) -> impl Iterator<Item = Record<'_>> {
        let (mut text, mut data, mut ends, mut issues) = (0, 0, 0, 0);
        self.events.iter().filter_map(move |e| {
            let Event::Record {
                data: d,
                utf8,
                ends: n,
                gap,
                issues: q,
                line,
                end,
                quoted_fields,
            } = *e
            else {
                return None;
            };
            let (bytes, t) = if utf8 {
                let t = self.text.get(text..d).unwrap_or_default();
                text = d;
                (t.as_bytes(), Some(t))
            } else {
                let b = self.data.get(data..d).unwrap_or_default();
                data = d;
                (b, None)
            };
            let r = Record::from_parts(
                bytes,
                t,
                self.ends.get(ends..n).unwrap_or_default(),
                gap,
                line,
                end,
                self.issues.get(issues..q).unwrap_or_default(),
                quoted_fields,
            );
            (ends, issues) = (n, q);
            Some(r)
        })
    }

    /// Replays the tape into `ev`, telling it of each record [`AHEAD`] records early.
    fn replay(&self, ev: &mut dyn Events) {
        let mut ahead = self.records();
        for r in ahead.by_ref().take(AHEAD) {
            ev.ahead(&r);
        }
        let mut records = self.records();
        for e in &self.events {
            match *e {
                Event::Invalid(inv) => ev.invalid(inv),
                Event::Sniffed(d, le) => ev.sniffed(d, le),
                Event::Record { .. } => {
                    if let Some(r) = ahead.next() {
                        ev.ahead(&r);
                    }
                    if let Some(r) = records.next() {
                        ev.record(&r);
                    }
                }
                Event::Overflow(o) => ev.overflow(o),
                Event::RowSeparator(r) => ev.row_separator(r),
            }
        }
    }
}

/// How many records before its check a record's look-ups are started
/// ([`Events::ahead`]): enough for a load from memory to land while the rows between are
/// checked, few enough that the lines are still in the cache when their row comes.
const AHEAD: usize = 8;

impl Events for Tape {
    fn invalid(&mut self, inv: Invalid) {
        self.events.push(Event::Invalid(inv));
    }

    fn sniffed(&mut self, delimiter: u8, ending: Option<LineEnding>) {
        self.events.push(Event::Sniffed(delimiter, ending));
    }

    fn record(&mut self, rec: &Record<'_>) {
        let (data, utf8) = match std::str::from_utf8(rec.bytes()) {
            Ok(t) => {
                self.text.push_str(t);
                (self.text.len(), true)
            }
            Err(_) => {
                self.data.extend_from_slice(rec.bytes());
                (self.data.len(), false)
            }
        };
        self.ends.extend((0..rec.len()).map(|i| rec.field_end(i)));
        self.issues.extend_from_slice(rec.quote_issues);
        self.events.push(Event::Record {
            data,
            utf8,
            ends: self.ends.len(),
            gap: rec.gap(),
            issues: self.issues.len(),
            line: rec.line,
            end: rec.end,
            quoted_fields: rec.quoted_fields,
        });
    }

    fn overflow(&mut self, o: Overflow) {
        self.events.push(Event::Overflow(o));
    }

    fn row_separator(&mut self, issue: RowSepIssue) {
        self.events.push(Event::RowSeparator(issue));
    }
}

/// The reading half of one file of a session ([`Session::reader`]).
///
/// ```
/// use validator_core::{Session, Tape, targets};
///
/// let mut session = Session::new(targets::canvas()).unwrap();
/// let mut reader = session.reader("users.csv").unwrap();
/// let mut tape = Tape::default();
/// // On a reading thread:
/// reader.read(b"user_id,login_id,status\r\nu1,ada,active\r\n", &mut tape);
/// // On the checking thread:
/// session.push_tape("users.csv", &tape).unwrap();
/// session.finish_read("users.csv", reader).unwrap();
/// assert_eq!(session.finish().summary.rows, 1);
/// ```
#[derive(Debug)]
pub struct FileReader {
    parser: Parser,
    count_lines: bool,
}

impl FileReader {
    /// Reads the next chunk of the file onto `tape`.
    pub fn read(&mut self, chunk: &[u8], tape: &mut Tape) {
        tape.raw.add(RawCounts::of(chunk, self.count_lines));
        self.parser.push(chunk, tape);
    }

    /// False once a record went over a limit: the rest of the file is not read
    /// ([`Session::wants`] on one thread).
    pub fn wants_more(&self) -> bool {
        self.parser.wants_more()
    }
}

impl Session {
    /// Takes the reading half of the file at `path`, opening it as [`Session::push`] does
    /// (files count in the order they are opened, so open them in the order they would
    /// be pushed). Feed what it reads to [`Session::push_tape`], then give it back with
    /// [`Session::finish_read`].
    pub fn reader(&mut self, path: &str) -> Result<FileReader, Error> {
        let i = self.file(path)?;
        let fresh = Parser::with_dialect(self.options.limits(), &self.compiled.target.dialect);
        let f = &mut self.files[i];
        Ok(FileReader {
            parser: std::mem::replace(&mut f.parser, fresh),
            count_lines: f.check.count_lines,
        })
    }

    /// Checks what a [`FileReader`] of `path` read onto `tape`, in the order read.
    pub fn push_tape(&mut self, path: &str, tape: &Tape) -> Result<Progress, Error> {
        let i = self.file(path)?;
        self.progress.bytes += tape.raw.bytes;
        self.with_events(i, |_, ev| {
            ev.check.count_raw(tape.raw);
            tape.replay(ev);
        });
        Ok(self.progress)
    }

    /// Gives `path`'s reader back once every tape it wrote was pushed, and ends the file
    /// ([`Session::finish_file`]).
    pub fn finish_read(&mut self, path: &str, reader: FileReader) -> Result<(), Error> {
        let i = self.file(path)?;
        self.files[i].parser = reader.parser;
        self.finish_file(path)
    }
}
