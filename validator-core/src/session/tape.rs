//! Reading on one thread, checking on another. [`FileReader`] is the reading half of a
//! file (decoding, CSV parsing): it writes what it finds on a [`Tape`], which a host may
//! move to the thread that owns the [`Session`]; [`Session::push_tape`] checks it there.
//! The report is byte for byte the one [`Session::push`] gives: the same events reach the
//! same checks in the same order. The core itself starts no thread.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use super::row::{STACK_CELLS, cells_for, fill_cells};
use super::{RawCounts, Session};
use crate::Error;
use crate::decode::Invalid;
use crate::keys;
use crate::parse::{Events, Parser};
use crate::reader::{LineEnding, Overflow, QuoteIssue, Record, RowSepIssue};
use crate::rules::{Compiled, Row, row_rules_pass};
use crate::session::Progress;

/// What a [`FileReader`] found in some chunks of a file, in order: records (their bytes in
/// one buffer) and the parser's other events. Reusable: [`Tape::clear`] keeps the buffers.
#[derive(Debug, Default)]
pub struct Tape {
    events: Vec<Event>,
    /// Per record, in order: where its parts are in the buffers below.
    records: Vec<Meta>,
    /// The records that are UTF-8 (all that a decoder wrote), validated here, on the
    /// reading thread, so that the checking thread need not.
    text: String,
    /// The others' bytes.
    data: Vec<u8>,
    ends: Vec<usize>,
    issues: Vec<QuoteIssue>,
    /// Look-up cells' hashes ([`Record::probe_hashes`]), per record that has them.
    hashes: Vec<u64>,
    /// What the raw bytes read count.
    pub(super) raw: RawCounts,
}

#[derive(Debug)]
enum Event {
    Invalid(Invalid),
    Sniffed(u8, Option<LineEnding>),
    /// The next record of [`Tape::records`].
    Record,
    Overflow(Overflow),
    RowSeparator(RowSepIssue),
}

/// Where a record's parts are in a [`Tape`]'s buffers (start, end), and its numbers.
#[derive(Debug)]
struct Meta {
    /// In `text` if `utf8`, else in `data`.
    bytes: (usize, usize),
    utf8: bool,
    ends: (usize, usize),
    issues: (usize, usize),
    hashes: (usize, usize),
    gap: usize,
    line: u64,
    end: u64,
    quoted_fields: usize,
    /// [`Record::row_rules_passed`].
    row_rules_passed: bool,
}

impl Tape {
    /// Empties the tape, keeping its buffers.
    pub fn clear(&mut self) {
        self.events.clear();
        self.records.clear();
        self.text.clear();
        self.data.clear();
        self.ends.clear();
        self.issues.clear();
        self.hashes.clear();
        self.raw = RawCounts::default();
    }

    /// Bytes of record data held: a host sends the tape on past some size.
    pub fn data_len(&self) -> usize {
        self.text.len() + self.data.len()
    }

    /// Record `i` of the tape.
    #[inline(always)]
    fn record_at(&self, i: usize) -> Option<Record<'_>> {
        let m = self.records.get(i)?;
        let range = |(a, b): (usize, usize)| a..b;
        let (bytes, text) = if m.utf8 {
            let t = self.text.get(range(m.bytes)).unwrap_or_default();
            (t.as_bytes(), Some(t))
        } else {
            (self.data.get(range(m.bytes)).unwrap_or_default(), None)
        };
        Some(Record::from_parts(
            bytes,
            text,
            self.ends.get(range(m.ends)).unwrap_or_default(),
            m.gap,
            m.line,
            m.end,
            self.issues.get(range(m.issues)).unwrap_or_default(),
            m.quoted_fields,
            m.row_rules_passed,
            self.hashes.get(range(m.hashes)).unwrap_or_default(),
        ))
    }

    /// Replays the tape into `ev`, telling it of each record [`AHEAD`] records early, in
    /// batches of [`BATCH`] ([`Events::ahead_done`] after each).
    pub(super) fn replay(&self, ev: &mut dyn Events) {
        self.replay_in_batches(ev, BATCH);
    }

    fn replay_in_batches(&self, ev: &mut dyn Events, batch: usize) {
        let tell = |from: usize, ev: &mut dyn Events| {
            for k in from..from + batch {
                if let Some(r) = self.record_at(k) {
                    ev.ahead(&r);
                }
            }
            ev.ahead_done();
        };
        for from in (0..AHEAD).step_by(batch) {
            tell(from, ev);
        }
        let mut next = 0;
        for e in &self.events {
            match *e {
                Event::Invalid(inv) => ev.invalid(inv),
                Event::Sniffed(d, le) => ev.sniffed(d, le),
                Event::Record => {
                    if next % batch == 0 {
                        tell(next + AHEAD, ev);
                    }
                    if let Some(r) = self.record_at(next) {
                        ev.record(&r);
                    }
                    next += 1;
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

/// Records whose look-ups are started together. On x86_64 a prefetch per record as it
/// comes (batches cost 3-6% there, `check` of the 348 MB bench bundle); elsewhere (wasm,
/// which has no prefetch) the loads of a batch, issued back to back, wait for memory once
/// together ([`crate::rules::Index::start_loads`]). A multiple of [`AHEAD`] or a divisor.
const BATCH: usize = if cfg!(target_arch = "x86_64") { 1 } else { 8 };

impl Events for Tape {
    fn invalid(&mut self, inv: Invalid) {
        self.events.push(Event::Invalid(inv));
    }

    fn sniffed(&mut self, delimiter: u8, ending: Option<LineEnding>) {
        self.events.push(Event::Sniffed(delimiter, ending));
    }

    fn record(&mut self, rec: &Record<'_>) {
        // A record read in place from the decoder's text is text already; the others (read
        // by csv-core, which copies) are checked here, on the reading thread.
        let text = rec
            .text()
            .or_else(|| simdutf8::basic::from_utf8(rec.bytes()).ok());
        let (bytes, utf8) = match text {
            Some(t) => {
                let at = self.text.len();
                self.text.push_str(t);
                ((at, self.text.len()), true)
            }
            None => {
                let at = self.data.len();
                self.data.extend_from_slice(rec.bytes());
                ((at, self.data.len()), false)
            }
        };
        let (ends, issues) = (self.ends.len(), self.issues.len());
        self.ends.extend((0..rec.len()).map(|i| rec.field_end(i)));
        self.issues.extend_from_slice(rec.quote_issues);
        let hashes = self.hashes.len();
        self.records.push(Meta {
            bytes,
            utf8,
            ends: (ends, self.ends.len()),
            issues: (issues, self.issues.len()),
            hashes: (hashes, hashes),
            gap: rec.gap(),
            line: rec.line,
            end: rec.end,
            quoted_fields: rec.quoted_fields,
            row_rules_passed: false,
        });
        self.events.push(Event::Record);
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
    rows: RowRules,
}

/// What a reading thread needs to run a file's row rules ([`FileReader::check_rows`]):
/// the kind and its columns' positions, once the checking side has read the header.
#[derive(Debug)]
pub(crate) struct RowPlan {
    pub kind: usize,
    pub positions: Vec<Option<usize>>,
    pub params: BTreeMap<String, String>,
}

#[derive(Debug)]
struct RowRules {
    on: bool,
    compiled: Arc<Compiled>,
    /// Set by the file's check after its header ([`super::FileCheck::row_plan`]).
    plan: Arc<OnceLock<RowPlan>>,
}

impl FileReader {
    /// Reads the next chunk of the file onto `tape`.
    pub fn read(&mut self, chunk: &[u8], tape: &mut Tape) {
        tape.raw.add(RawCounts::of(chunk, self.count_lines));
        let rows = &self.rows;
        match rows.plan.get().filter(|_| rows.on) {
            Some(plan) => self.parser.push(
                chunk,
                &mut RowChecking {
                    tape,
                    c: &rows.compiled,
                    plan,
                },
            ),
            None => self.parser.push(chunk, tape),
        }
    }

    /// Runs the rules that read only their row (types, enums, dates, required cells: not
    /// the look-ups in the bundle) here, as records are read, once the checking side has
    /// read the header; the check then runs them again only for a row where they find
    /// something, so the report is the same. For a reading thread beside the checking
    /// one: on one thread it only adds work.
    ///
    /// ```
    /// use validator_core::{Session, Tape, targets};
    ///
    /// let mut session = Session::new(targets::canvas()).unwrap();
    /// let mut reader = session.reader("users.csv").unwrap().check_rows();
    /// let mut tape = Tape::default();
    /// reader.read(b"user_id,login_id,status\r\n", &mut tape);
    /// session.push_tape("users.csv", &tape).unwrap();
    /// tape.clear();
    /// // The header is read: this row's status is checked on the reading side.
    /// reader.read(b"u1,ada,bogus\r\n", &mut tape);
    /// session.push_tape("users.csv", &tape).unwrap();
    /// session.finish_read("users.csv", reader).unwrap();
    /// assert_eq!(session.finish().summary.errors, 1);
    /// ```
    pub fn check_rows(mut self) -> FileReader {
        self.rows.on = true;
        self
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
        let plan = Arc::new(OnceLock::new());
        f.check.row_plan = Some(plan.clone());
        Ok(FileReader {
            parser: std::mem::replace(&mut f.parser, fresh),
            count_lines: f.check.count_lines,
            rows: RowRules {
                on: false,
                compiled: self.compiled.clone(),
                plan,
            },
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

/// A [`Tape`] that also runs each record's row rules ([`FileReader::check_rows`]).
struct RowChecking<'a> {
    tape: &'a mut Tape,
    c: &'a Compiled,
    plan: &'a RowPlan,
}

/// Whether the kind's row rules find nothing in `rec`, read as `text` (its cells as
/// `FileCheck::record` takes them); pushes the hashes of its look-up cells to `hashes`.
fn check_row_here(
    c: &Compiled,
    plan: &RowPlan,
    rec: &Record<'_>,
    text: &str,
    hashes: &mut Vec<u64>,
) -> bool {
    let (mut stack, mut heap) = ([None; STACK_CELLS], Vec::new());
    let cells = cells_for(&mut stack, &mut heap, plan.positions.len());
    fill_cells(cells, &plan.positions, rec, text, c);
    let ck = &c.kinds[plan.kind];
    // The checking thread's look-ups need these hashes, and it has more to do.
    hashes.extend(ck.probes.iter().map(|&(_, col)| match cells[col] {
        Some(v) if !v.is_empty() => keys::hash(v.as_bytes()),
        _ => 0,
    }));
    let row = Row {
        cells,
        positions: &plan.positions,
        columns: &ck.display,
        file: 0,
        path: "",
        row: 0,
        line: rec.line,
        params: &plan.params,
        mode: None,
        probe_hashes: &[],
    };
    row_rules_pass(c, plan.kind, &row)
}

impl Events for RowChecking<'_> {
    fn invalid(&mut self, inv: Invalid) {
        self.tape.invalid(inv);
    }

    fn sniffed(&mut self, delimiter: u8, ending: Option<LineEnding>) {
        self.tape.sniffed(delimiter, ending);
    }

    fn record(&mut self, rec: &Record<'_>) {
        self.tape.record(rec);
        let tape = &mut *self.tape;
        // Only a record that is text: the check reads any other one lossily.
        let Some(m) = tape.records.last_mut().filter(|m| m.utf8) else {
            return;
        };
        let text = tape.text.get(m.bytes.0..m.bytes.1).unwrap_or("");
        m.row_rules_passed = check_row_here(self.c, self.plan, rec, text, &mut tape.hashes);
        m.hashes.1 = tape.hashes.len();
    }

    fn overflow(&mut self, o: Overflow) {
        self.tape.overflow(o);
    }

    fn row_separator(&mut self, issue: RowSepIssue) {
        self.tape.row_separator(issue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a replay tells, by record line: `A` ahead, `R` record, `|` a batch's end.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl Events for Log {
        fn invalid(&mut self, _: Invalid) {}
        fn sniffed(&mut self, _: u8, _: Option<LineEnding>) {}
        fn record(&mut self, rec: &Record<'_>) {
            self.0.push(format!("R{}", rec.line));
        }
        fn ahead(&mut self, rec: &Record<'_>) {
            self.0.push(format!("A{}", rec.line));
        }
        fn ahead_done(&mut self) {
            self.0.push("|".into());
        }
        fn overflow(&mut self, _: Overflow) {}
    }

    #[test]
    fn every_record_is_told_ahead_once_and_early_in_any_batch() {
        for rows in [0, 1, 7, 8, 9, 16, 17, 40] {
            let mut csv = String::new();
            for i in 0..rows {
                csv.push_str(&format!("u{i},x\r\n"));
            }
            let mut tape = Tape::default();
            let mut parser = Parser::with_dialect(
                crate::reader::Limits::default(),
                &crate::schema::Dialect::default(),
            );
            parser.push(csv.as_bytes(), &mut tape);
            parser.finish(&mut tape);
            for batch in [1, 2, 4, 8, BATCH] {
                let mut log = Log::default();
                tape.replay_in_batches(&mut log, batch);
                let at = |s: &str| log.0.iter().position(|x| x == s);
                for line in 1..=rows as u64 {
                    let (a, r) = (format!("A{line}"), format!("R{line}"));
                    assert_eq!(log.0.iter().filter(|x| **x == a).count(), 1, "{a} {batch}");
                    let (a, r) = (at(&a).unwrap(), at(&r).unwrap());
                    // Told before its record, with a batch's end between, at most
                    // AHEAD + batch records early.
                    assert!(a < r && log.0[a..r].contains(&"|".to_string()), "{batch}");
                    let between = log.0[a..r].iter().filter(|x| x.starts_with('R')).count();
                    assert!(between <= AHEAD + batch, "{line} {batch} {between}");
                }
                assert_eq!(log.0.iter().filter(|x| x.starts_with('R')).count(), rows);
            }
        }
    }
}
