//! Bundle assembly: what the platform accepts, written into a caller-supplied sink.
//!
//! A bundle is built in two passes over the same files. The first is an ordinary check
//! ([`Session::finish_with_verdicts`](crate::Session::finish_with_verdicts)); [`plan`] then
//! decides what can be written (entries in processing order, canonical names) or why not.
//! The second pass streams each file through a [`Bundler`], which writes normalised CSV
//! (UTF-8, the platform's line ending, canonical header, only the columns the platform
//! reads) into a deterministic ZIP, or a single CSV, and rejected rows into an Excel-safe
//! CSV. Nothing here touches files or the clock: the host passes the sinks and the
//! timestamp, so the same inputs give the same bytes.
//!
//! ```
//! use validator_core::bundle::{plan, Bundler, BundleOptions};
//! use validator_core::{targets, Session};
//! let t = targets::canvas();
//! let csv = b"User_ID,login_id,status\r\nu1,l1,active\r\n";
//! let mut s = Session::new(t.clone()).unwrap();
//! s.push("people.csv", csv).unwrap();
//! s.finish_file("people.csv").unwrap();
//! let (report, verdicts) = s.finish_with_verdicts();
//! let plan = plan(&t, &report, &verdicts, false);
//! assert!(plan.blocking.is_empty());
//! let opts = BundleOptions::default();
//! let mut b = Bundler::new(&t, &plan, &report, &verdicts, opts, Vec::new(), None::<Vec<u8>>).unwrap();
//! b.begin("people.csv").unwrap();
//! b.push(csv).unwrap();
//! b.end().unwrap();
//! let (zip, _, summary) = b.finish().unwrap();
//! assert_eq!(summary.entries[0].name, "users.csv");
//! assert!(zip.starts_with(b"PK"));
//! ```

use crate::keys::FixedMap;
use std::io::Write;

use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

use crate::decode::Invalid;
use crate::detect::detection_name;
use crate::parse::{Events, Parser};
use crate::reader::{LineEnding, Record};
use crate::report::{Report, Severity};
use crate::schema::{BundleFormat, LineEndingStyle, Target};
use crate::session::Verdicts;

/// Error codes the bundler repairs by rewriting the file, so they do not block a bundle.
pub const REPAIRED: &[&str] = &[
    "csv.delimiter",
    "encoding.utf16",
    "encoding.bom",
    "header.padded",
];

/// ZIP entry timestamp (the ZIP format keeps even seconds, from 1980).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Year, 1980–2107.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59 (rounded down to even).
    pub second: u8,
}

impl Timestamp {
    /// Reads `YYYY-MM-DDTHH:MM:SS` (a space for `T` and a trailing `Z` are accepted);
    /// `None` outside the ZIP range.
    ///
    /// ```
    /// use validator_core::bundle::Timestamp;
    /// assert_eq!(Timestamp::parse("2025-01-31T08:00:00Z").map(|t| t.month), Some(1));
    /// assert!(Timestamp::parse("1979-12-31T00:00:00").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Timestamp> {
        let s = s.trim_end_matches('Z');
        let (d, t) = s.split_once(['T', ' '])?;
        let d: Vec<&str> = d.split('-').collect();
        let t: Vec<&str> = t.split(':').collect();
        if d.len() != 3 || t.len() != 3 {
            return None;
        }
        let ts = Timestamp {
            year: d[0].parse().ok()?,
            month: d[1].parse().ok()?,
            day: d[2].parse().ok()?,
            hour: t[0].parse().ok()?,
            minute: t[1].parse().ok()?,
            second: t[2].parse().ok()?,
        };
        let ok = (1980..=2107).contains(&ts.year)
            && (1..=12).contains(&ts.month)
            && (1..=31).contains(&ts.day)
            && ts.hour < 24
            && ts.minute < 60
            && ts.second < 60;
        ok.then_some(ts)
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp {
            year: 1980,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }
}

/// Bundle settings chosen by the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BundleOptions {
    /// Write only valid rows; rejected rows go to the rejects sink.
    pub drop_invalid: bool,
    /// Timestamp of every ZIP entry.
    pub timestamp: Timestamp,
}

/// Why a bundle cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The sink failed.
    #[error("writing the bundle failed: {0}")]
    Write(#[from] std::io::Error),
    /// The ZIP writer failed.
    #[error("writing the ZIP failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// A file was pushed that the plan does not contain, or out of order.
    #[error("`{0}` is not the next file of the bundle plan")]
    NotPlanned(String),
    /// The timestamp is outside the ZIP range.
    #[error("timestamp out of the ZIP range (1980–2107)")]
    Timestamp,
}

/// One file of the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanEntry {
    /// Path of the input file, as checked.
    pub source: String,
    /// Name in the bundle (the kind's canonical file name).
    pub name: String,
    /// Kind of the file.
    pub kind: String,
    /// Set when every row is rejected (the file itself is invalid), with the reason.
    pub rejected: Option<String>,
}

/// What the bundle will contain, or why it cannot be written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Entries in processing order.
    pub entries: Vec<PlanEntry>,
    /// Reasons the bundle is refused (errors the bundler cannot repair). Empty with
    /// `drop_invalid`, except for problems no row-dropping can solve.
    pub blocking: Vec<String>,
}

/// Decides what goes into the bundle.
pub fn plan(target: &Target, report: &Report, verdicts: &Verdicts, drop_invalid: bool) -> Plan {
    let mut plan = Plan::default();
    let mut used: FixedMap<String, usize> = FixedMap::default();
    for f in &report.files {
        let verdict = verdicts.file(&f.path);
        let blocking: Vec<&String> = verdict
            .map(|v| {
                v.file_errors
                    .iter()
                    .filter(|c| !REPAIRED.contains(&c.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let Some(kind) = f.kind.as_deref().and_then(|k| target.kind(k)) else {
            let why = format!(
                "{}: no {} file kind matches its header",
                f.path,
                target.title()
            );
            if drop_invalid {
                // Nothing can be written for it; the rejects say why.
                plan.entries.push(PlanEntry {
                    source: f.path.clone(),
                    name: String::new(),
                    kind: String::new(),
                    rejected: Some(why),
                });
            } else {
                plan.blocking.push(why);
            }
            continue;
        };
        let name = entry_name(&mut used, &kind.file_name);
        let mut rejected = None;
        if !blocking.is_empty() {
            let codes: Vec<&str> = blocking.iter().map(|c| c.as_str()).collect();
            let why = format!("{}: file-level errors ({})", f.path, codes.join(", "));
            if drop_invalid {
                rejected = Some(why);
            } else {
                plan.blocking.push(why);
            }
        }
        let bad_rows = verdict.map_or(0, |v| v.rows.len());
        if bad_rows > 0 && !drop_invalid {
            let rows = if bad_rows == 1 { "row" } else { "rows" };
            plan.blocking
                .push(format!("{}: {bad_rows} {rows} with errors", f.path));
        }
        plan.entries.push(PlanEntry {
            source: f.path.clone(),
            name,
            kind: kind.name.clone(),
            rejected,
        });
    }
    let bundle_errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if bundle_errors > 0 {
        plan.blocking
            .push(format!("{bundle_errors} bundle-level errors"));
    }
    if target.bundle.format == BundleFormat::Csv {
        let written = plan.entries.iter().filter(|e| e.rejected.is_none()).count();
        if written > 1 {
            plan.blocking.push(format!(
                "{} takes one CSV file per upload; {written} were given",
                target.title()
            ));
        }
    }
    plan
}

/// The name in the bundle of the next file stored under `file_name` (`users.csv`, then
/// `users-2.csv`, ...).
fn entry_name(used: &mut FixedMap<String, usize>, file_name: &str) -> String {
    let n = used.entry(file_name.to_owned()).or_insert(0);
    *n += 1;
    if *n == 1 {
        file_name.to_owned()
    } else {
        let stem = file_name.trim_end_matches(".csv");
        format!("{stem}-{n}.csv")
    }
}

/// A bundle written while the check still runs: the plan, report and verdicts of a check
/// that finds nothing to refuse or reject, so that a host with a second core can deflate
/// while it checks, and keep the result when [`Expected::holds`] for the real outcome.
///
/// ```
/// use validator_core::bundle::{BundleOptions, Expected, plan};
/// use validator_core::{Session, targets};
///
/// let target = targets::canvas();
/// let csv: &[u8] = b"user_id,login_id,first_name,last_name,email,status\r\nu1,a,A,B,a@x.org,active\r\n";
/// let mut session = Session::new(target.clone()).unwrap();
/// let expected = Expected::new(&target, &session, &[("users.csv", "users")]).unwrap();
/// let mut bundler = expected.bundler(&target, BundleOptions::default(), Vec::new()).unwrap();
/// bundler.begin("users.csv").unwrap();
/// bundler.push(csv).unwrap();
/// session.push("users.csv", csv).unwrap(); // in a host: on another thread
/// session.finish_file("users.csv").unwrap();
/// let (zip, _, _) = bundler.finish().unwrap();
/// let (report, verdicts) = session.finish_with_verdicts();
/// assert!(expected.holds(&plan(&target, &report, &verdicts, false), &verdicts));
/// assert!(zip.starts_with(b"PK"));
/// ```
#[derive(Clone, Debug)]
pub struct Expected {
    /// What the bundle contains if the check finds nothing to refuse or reject.
    pub plan: Plan,
    report: Report,
    verdicts: Verdicts,
}

impl Expected {
    /// The expectation for `files`, (path, kind name as detected from the header) in the
    /// order they are pushed into `session`; `None` when a kind is not the target's.
    pub fn new(target: &Target, session: &crate::Session, files: &[(&str, &str)]) -> Option<Self> {
        let mut used = FixedMap::default();
        let mut entries = Vec::with_capacity(files.len());
        for &(source, kind) in files {
            let kind = target.kind(kind)?;
            entries.push(PlanEntry {
                source: source.to_owned(),
                name: entry_name(&mut used, &kind.file_name),
                kind: kind.name.clone(),
                rejected: None,
            });
        }
        Some(Expected {
            plan: Plan {
                entries,
                blocking: Vec::new(),
            },
            report: Report {
                version: crate::REPORT_VERSION,
                target: target.name.clone(),
                files: Vec::new(),
                findings: Vec::new(),
                omitted: Vec::new(),
                summary: Default::default(),
            },
            verdicts: session.reading_verdicts(),
        })
    }

    /// A bundler writing [`Expected::plan`] into `sink` (nothing is rejected, so it has no
    /// rejects sink).
    pub fn bundler<'a, W: Write>(
        &'a self,
        target: &'a Target,
        options: BundleOptions,
        sink: W,
    ) -> Result<Bundler<'a, W, std::io::Sink>, BundleError> {
        Bundler::new(
            target,
            &self.plan,
            &self.report,
            &self.verdicts,
            options,
            sink,
            None,
        )
    }

    /// Whether the bundle written for this expectation is, byte for byte, the one that
    /// `plan` (from the finished check) and `verdicts` write: the same entries (so no file
    /// rejected), nothing refused, no row rejected, and the same reading rules.
    pub fn holds(&self, plan: &Plan, verdicts: &Verdicts) -> bool {
        plan.blocking.is_empty()
            && plan.entries == self.plan.entries
            && verdicts.files.iter().all(|f| f.rows.is_empty())
            && verdicts.limits == self.verdicts.limits
            && verdicts.dialect == self.verdicts.dialect
    }
}

/// One written entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntrySummary {
    /// Name in the bundle.
    pub name: String,
    /// Input path.
    pub source: String,
    /// Data rows written.
    pub rows: u64,
    /// Data rows sent to the rejects.
    pub rejected: u64,
    /// Rows of the input (header = row 1) left out of the entry (rejected or blank), in
    /// ascending order: what [`EntrySummary::source_row`] needs.
    pub skipped: Vec<u64>,
}

impl EntrySummary {
    /// The input row a row of the written entry came from (both counted with the header as
    /// row 1), so that a platform's "row 12 of users.csv" points at the user's own file.
    ///
    /// ```
    /// # use validator_core::bundle::EntrySummary;
    /// let e = EntrySummary {
    ///     name: "users.csv".into(),
    ///     source: "people.csv".into(),
    ///     rows: 3,
    ///     rejected: 0,
    ///     skipped: vec![3],
    /// };
    /// assert_eq!((e.source_row(2), e.source_row(3), e.source_row(4)), (2, 4, 5));
    /// ```
    pub fn source_row(&self, row: u64) -> u64 {
        let mut src = row;
        for &s in &self.skipped {
            if s <= src {
                src += 1;
            } else {
                break;
            }
        }
        src
    }
}

/// What the bundler wrote and what it changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleSummary {
    /// Entries written, in order.
    pub entries: Vec<EntrySummary>,
    /// Human-readable changes, e.g. `users.csv: re-encoded from UTF-16LE to UTF-8`.
    pub changes: Vec<String>,
    /// Rows written to the rejects sink.
    pub rejected: u64,
}

enum Out<W: Write> {
    Zip(Box<ZipWriter<StreamWriter<W>>>),
    Csv(W),
}

/// Streams planned files into the bundle sink.
pub struct Bundler<'a, W: Write, R: Write> {
    target: &'a Target,
    plan: &'a Plan,
    report: &'a Report,
    verdicts: &'a Verdicts,
    options: BundleOptions,
    out: Out<W>,
    rejects: Option<R>,
    next: usize,
    current: Option<Entry>,
    summary: BundleSummary,
}

impl<W: Write, R: Write> std::fmt::Debug for Bundler<'_, W, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundler")
            .field("next", &self.next)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// The entry being written.
struct Entry {
    plan: usize,
    parser: Parser,
    state: EntryState,
}

/// What the record callback needs while an entry is written.
struct EntryState {
    /// Output columns: input header position of each.
    keep: Vec<usize>,
    /// Canonical names of the output columns.
    names: Vec<String>,
    header: Vec<String>,
    records: u64,
    rows: u64,
    rejected: u64,
    blank: u64,
    /// Input rows not written (rejected or blank), ascending.
    skipped: Vec<u64>,
    /// Row → first error message, for the rejects' error column.
    reasons: FixedMap<u64, String>,
    /// The whole file is rejected, with this reason.
    file_reason: Option<String>,
    delimiter: u8,
    line_ending: Option<LineEnding>,
    changed_header: bool,
    dropped: Vec<String>,
    /// Normalised CSV waiting to be written to the entry.
    buf: Vec<u8>,
    /// Rejected rows waiting to be written.
    rejects: Vec<u8>,
    wrote_reject_header: bool,
    terminator: &'static [u8],
    quote_all: bool,
    source: String,
}

impl<'a, W: Write, R: Write> Bundler<'a, W, R> {
    /// Starts a bundle into `sink`; rejected rows go to `rejects` when given.
    pub fn new(
        target: &'a Target,
        plan: &'a Plan,
        report: &'a Report,
        verdicts: &'a Verdicts,
        options: BundleOptions,
        sink: W,
        rejects: Option<R>,
    ) -> Result<Self, BundleError> {
        let out = match target.bundle.format {
            BundleFormat::Zip => Out::Zip(Box::new(ZipWriter::new_stream(sink))),
            BundleFormat::Csv => Out::Csv(sink),
        };
        Ok(Bundler {
            target,
            plan,
            report,
            verdicts,
            options,
            out,
            rejects,
            next: 0,
            current: None,
            summary: BundleSummary::default(),
        })
    }

    /// The next input the plan expects, if any.
    pub fn next_source(&self) -> Option<&str> {
        self.plan.entries.get(self.next).map(|e| e.source.as_str())
    }

    /// Starts the next planned entry; `source` must be [`Bundler::next_source`].
    pub fn begin(&mut self, source: &str) -> Result<(), BundleError> {
        let Some(entry) = self.plan.entries.get(self.next) else {
            return Err(BundleError::NotPlanned(source.to_owned()));
        };
        if entry.source != source || self.current.is_some() {
            return Err(BundleError::NotPlanned(source.to_owned()));
        }
        let reasons = self
            .report
            .files
            .iter()
            .find(|f| f.path == source)
            .map(|f| {
                let mut m = FixedMap::default();
                for x in f.findings.iter().filter(|x| x.severity == Severity::Error) {
                    if let Some(r) = x.row.filter(|&r| r > 1) {
                        m.entry(r)
                            .or_insert_with(|| format!("{}: {}", x.code, x.message));
                    }
                }
                m
            })
            .unwrap_or_default();
        if entry.rejected.is_none()
            && let Out::Zip(z) = &mut self.out
        {
            z.start_file(entry.name.as_str(), entry_options(self.options.timestamp)?)?;
        }
        let bundle = &self.target.bundle;
        let mut state = EntryState {
            keep: Vec::new(),
            names: Vec::new(),
            header: Vec::new(),
            records: 0,
            rows: 0,
            rejected: 0,
            blank: 0,
            skipped: Vec::new(),
            reasons,
            file_reason: entry.rejected.clone(),
            delimiter: b',',
            line_ending: None,
            changed_header: false,
            dropped: Vec::new(),
            buf: Vec::new(),
            rejects: Vec::new(),
            wrote_reject_header: false,
            terminator: match bundle.line_ending {
                LineEndingStyle::Lf => b"\n",
                LineEndingStyle::Crlf => b"\r\n",
            },
            quote_all: bundle.quote_all,
            source: source.to_owned(),
        };
        if bundle.bom && entry.rejected.is_none() {
            state.buf.extend_from_slice(b"\xEF\xBB\xBF");
        }
        self.current = Some(Entry {
            plan: self.next,
            parser: Parser::with_dialect(self.verdicts.limits, &self.verdicts.dialect),
            state,
        });
        self.next += 1;
        Ok(())
    }

    /// Whether the current entry still needs bytes: false past a record over a limit (the
    /// check reported it; the rest of the file is not read).
    pub fn wants(&self) -> bool {
        self.current.as_ref().is_some_and(|e| e.parser.wants_more())
    }

    /// Feeds the next chunk of the current entry's input.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BundleError> {
        let Some(entry) = &mut self.current else {
            return Err(BundleError::NotPlanned("(no file begun)".into()));
        };
        let mut ev = Writing {
            state: &mut entry.state,
            target: self.target,
            kind: &self.plan.entries[entry.plan].kind,
            drop_invalid: self.options.drop_invalid,
            verdicts: self.verdicts,
        };
        entry.parser.push(chunk, &mut ev);
        self.flush()
    }

    /// Ends the current entry.
    pub fn end(&mut self) -> Result<(), BundleError> {
        let Some(entry) = &mut self.current else {
            return Err(BundleError::NotPlanned("(no file begun)".into()));
        };
        let mut ev = Writing {
            state: &mut entry.state,
            target: self.target,
            kind: &self.plan.entries[entry.plan].kind,
            drop_invalid: self.options.drop_invalid,
            verdicts: self.verdicts,
        };
        entry.parser.finish(&mut ev);
        self.flush()?;
        let Some(entry) = self.current.take() else {
            return Ok(());
        };
        let planned = &self.plan.entries[entry.plan];
        let s = entry.state;
        let d = entry.parser.decoder();
        let mut change = |what: String| {
            self.summary
                .changes
                .push(format!("{}: {what}", planned.source))
        };
        if planned.rejected.is_none() {
            if d.encoding != crate::Encoding::Utf8 {
                change(format!("re-encoded from {} to UTF-8", d.encoding.name()));
            }
            if d.bom && !self.target.bundle.bom {
                change("byte-order mark removed".into());
            }
            if s.delimiter != b',' {
                change(format!(
                    "delimiter `{}` replaced by `,`",
                    char::from(s.delimiter).escape_default()
                ));
            }
            let wanted = match self.target.bundle.line_ending {
                LineEndingStyle::Lf => LineEnding::Lf,
                LineEndingStyle::Crlf => LineEnding::CrLf,
            };
            if let Some(le) = s.line_ending.filter(|&le| le != wanted) {
                change(format!("line endings {} → {}", le.name(), wanted.name()));
            }
            if s.changed_header {
                change(format!("header written as `{}`", s.names.join(",")));
            }
            if !s.dropped.is_empty() {
                change(format!(
                    "dropped column(s) {} that {} does not read",
                    s.dropped
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.target.title()
                ));
            }
            if s.blank > 0 {
                change(format!("dropped {} blank row(s)", s.blank));
            }
            if planned.name != planned.source && self.target.bundle.format == BundleFormat::Zip {
                change(format!("stored as {}", planned.name));
            }
            self.summary.entries.push(EntrySummary {
                name: planned.name.clone(),
                source: planned.source.clone(),
                rows: s.rows,
                rejected: s.rejected,
                skipped: s.skipped,
            });
        }
        self.summary.rejected += s.rejected;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BundleError> {
        let Some(entry) = &mut self.current else {
            return Ok(());
        };
        let s = &mut entry.state;
        if !s.buf.is_empty() {
            if self.plan.entries[entry.plan].rejected.is_none() {
                match &mut self.out {
                    Out::Zip(z) => z.write_all(&s.buf)?,
                    Out::Csv(w) => w.write_all(&s.buf)?,
                }
            }
            s.buf.clear();
        }
        if !s.rejects.is_empty() {
            if let Some(r) = &mut self.rejects {
                r.write_all(&s.rejects)?;
            }
            s.rejects.clear();
        }
        Ok(())
    }

    /// Starts an entry `name` that holds an input's bytes exactly as given, fed with
    /// [`Bundler::push_unchanged`]: a file no kind matches, which a host sends anyway when
    /// the user insists (it is not checked, and the summary says so). In a single-CSV
    /// bundle the bytes are the whole output. Call after the planned entries.
    pub fn begin_unchanged(
        &mut self,
        name: &str,
        source: &str,
        rows: u64,
    ) -> Result<(), BundleError> {
        if self.current.is_some() {
            self.end()?;
        }
        if let Out::Zip(z) = &mut self.out {
            z.start_file(name, entry_options(self.options.timestamp)?)?;
        }
        self.summary.entries.push(EntrySummary {
            name: name.to_owned(),
            source: source.to_owned(),
            rows,
            rejected: 0,
            skipped: Vec::new(),
        });
        self.summary.changes.push(format!(
            "{source}: sent unchanged as {name}, NOT checked: no {} file kind matches its header",
            self.target.title()
        ));
        Ok(())
    }

    /// Copies the next chunk of the entry begun with [`Bundler::begin_unchanged`].
    pub fn push_unchanged(&mut self, chunk: &[u8]) -> Result<(), BundleError> {
        match &mut self.out {
            Out::Zip(z) => z.write_all(chunk)?,
            Out::Csv(w) => w.write_all(chunk)?,
        }
        Ok(())
    }

    /// Ends the bundle; returns the sinks and what was written.
    pub fn finish(mut self) -> Result<(W, Option<R>, BundleSummary), BundleError> {
        if self.current.is_some() {
            self.end()?;
        }
        let sink = match self.out {
            Out::Zip(z) => z.finish()?.into_inner(),
            Out::Csv(w) => w,
        };
        Ok((sink, self.rejects, self.summary))
    }
}

/// Options of a ZIP entry: deflated, the host's timestamp, mode 0644.
fn entry_options(t: Timestamp) -> Result<SimpleFileOptions, BundleError> {
    let stamp =
        zip::DateTime::from_date_and_time(t.year, t.month, t.day, t.hour, t.minute, t.second & !1)
            .map_err(|_| BundleError::Timestamp)?;
    Ok(SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(stamp)
        .unix_permissions(0o644))
}

/// The bundler's side of a [`Parser`].
struct Writing<'e> {
    state: &'e mut EntryState,
    target: &'e Target,
    kind: &'e str,
    drop_invalid: bool,
    verdicts: &'e Verdicts,
}

impl Events for Writing<'_> {
    fn invalid(&mut self, _inv: Invalid) {}

    // The session reported it (a file error): such a file is rejected whole.
    fn overflow(&mut self, _o: crate::reader::Overflow) {}

    fn sniffed(&mut self, delimiter: u8, ending: Option<LineEnding>) {
        self.state.delimiter = delimiter;
        self.state.line_ending = ending;
    }

    fn record(&mut self, rec: &Record<'_>) {
        let s = &mut *self.state;
        s.records += 1;
        let text = String::from_utf8_lossy(rec.bytes());
        // Cells by index, without a vector per row (this runs for every row written).
        let n = rec.len();
        let cell = |i: usize| -> &str {
            if i >= n {
                return "";
            }
            text.get(rec.field_range(i)).unwrap_or("")
        };
        if s.records == 1
            && self.target.skip_blank_lines_before_header
            && rec.quote_issues.is_empty()
            && (0..n).all(|i| crate::session::strip(cell(i)).is_empty())
        {
            // Not the header, as in the check (Sunbird): left out, rows count from the header.
            s.records = 0;
            return;
        }
        if s.records == 1 {
            let cells: Vec<&str> = (0..n).map(cell).collect();
            s.header = cells.iter().map(|c| (*c).to_owned()).collect();
            self.header(&cells);
            return;
        }
        let row = s.records;
        let reason = s.file_reason.clone().or_else(|| {
            if !self.drop_invalid {
                return None;
            }
            let v = self.verdicts.file(&s.source)?;
            let code = v.rows.get(&row)?;
            Some(s.reasons.get(&row).cloned().unwrap_or_else(|| code.clone()))
        });
        if let Some(reason) = reason {
            s.rejected += 1;
            s.skipped.push(row);
            if !s.wrote_reject_header {
                s.wrote_reject_header = true;
                let mut head = vec![s.source.clone(), "1".into(), String::new()];
                head.extend(s.header.iter().cloned());
                write_row(
                    &mut s.rejects,
                    head.iter().map(String::as_str),
                    true,
                    false,
                    s.terminator,
                );
            }
            let mut line = vec![s.source.clone(), row.to_string(), reason];
            line.extend((0..n).map(|i| cell(i).to_owned()));
            write_row(
                &mut s.rejects,
                line.iter().map(String::as_str),
                true,
                false,
                s.terminator,
            );
            return;
        }
        if (0..n).all(|i| cell(i).trim().is_empty()) {
            s.blank += 1;
            s.skipped.push(row);
            return;
        }
        s.rows += 1;
        let out = s.keep.iter().map(|&i| cell(i));
        write_row(&mut s.buf, out, false, s.quote_all, s.terminator);
    }
}

impl Writing<'_> {
    /// Maps the input header to the kind's canonical column names.
    fn header(&mut self, cells: &[&str]) {
        let s = &mut *self.state;
        let kind = self.target.kind(self.kind);
        let rules = &self.target.header;
        let mut seen: Vec<String> = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            let n = detection_name(rules, cell);
            let canonical = kind.and_then(|k| {
                let n = crate::detect::canonical(rules, k, &n);
                k.columns
                    .iter()
                    .find(|c| detection_name(rules, c) == n)
                    .cloned()
            });
            match canonical {
                Some(c) if !seen.contains(&c) => {
                    if c != *cell {
                        s.changed_header = true;
                    }
                    seen.push(c.clone());
                    s.keep.push(i);
                    s.names.push(c);
                }
                _ => {
                    if !n.is_empty() {
                        s.dropped.push((*cell).to_owned());
                    }
                }
            }
        }
        if s.file_reason.is_none() {
            write_row(
                &mut s.buf,
                s.names.iter().map(String::as_str),
                false,
                s.quote_all,
                s.terminator,
            );
        }
    }
}

/// Writes one CSV row, quoting as RFC 4180 needs (or always). `excel_safe` neutralises
/// cells a spreadsheet would run as a formula.
fn write_row<'c>(
    out: &mut Vec<u8>,
    cells: impl Iterator<Item = &'c str>,
    excel_safe: bool,
    quote_all: bool,
    terminator: &[u8],
) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let bytes = cell.as_bytes();
        let formula = excel_safe && cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let has_quote = memchr::memchr(b'"', bytes).is_some();
        let quote = quote_all
            || formula
            || has_quote
            || memchr::memchr3(b',', b'\n', b'\r', bytes).is_some()
            || cell.starts_with(' ')
            || cell.ends_with(' ');
        if quote {
            out.push(b'"');
        }
        if formula {
            out.push(b'\'');
        }
        if has_quote {
            for part in bytes.split_inclusive(|&b| b == b'"') {
                out.extend_from_slice(part);
                if part.last() == Some(&b'"') {
                    out.push(b'"');
                }
            }
        } else {
            out.extend_from_slice(bytes);
        }
        if quote {
            out.push(b'"');
        }
    }
    out.extend_from_slice(terminator);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_quoted_and_neutralised() {
        let mut v = Vec::new();
        write_row(
            &mut v,
            ["a", "b,c", "say \"hi\"", "=SUM(A1)"].into_iter(),
            true,
            false,
            b"\n",
        );
        assert_eq!(v, b"a,\"b,c\",\"say \"\"hi\"\"\",\"'=SUM(A1)\"\n");
        v.clear();
        write_row(&mut v, ["a", ""].into_iter(), false, true, b"\r\n");
        assert_eq!(v, b"\"a\",\"\"\r\n");
        v.clear();
        write_row(
            &mut v,
            ["\"", "\"\"x\"", "é\"", "a\rb", " pad", "x\ny"].into_iter(),
            false,
            false,
            b"\n",
        );
        assert_eq!(
            v,
            "\"\"\"\",\"\"\"\"\"x\"\"\",\"é\"\"\",\"a\rb\",\" pad\",\"x\ny\"\n".as_bytes()
        );
    }
}
