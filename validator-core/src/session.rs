//! The push API: a session takes a target, then bytes of each file in any number of chunks.
//!
//! ```
//! use validator_core::{Session, targets};
//! let mut s = Session::new(targets::canvas()).unwrap();
//! s.push("users.csv", b"user_id,login_id,sta").unwrap();
//! s.push("users.csv", b"tus\nu1,l1,active\n").unwrap();
//! s.finish_file("users.csv").unwrap();
//! let report = s.finish();
//! assert_eq!(report.files[0].rows, 1);
//! assert!(!report.has_errors());
//! ```

use std::collections::HashMap;

use encoding_rs::WINDOWS_1252;

use crate::Error;
use crate::decode::{Decoder, Encoding, Invalid};
use crate::detect;
use crate::parse::convert;
use crate::parse::{Events, Parser};
use crate::reader::{Limits, LineEnding, Overflow, OverflowKind, QuoteError, Record, RowSepIssue};
use crate::report::{
    FileReport, Finding, MAX_VALUE_CHARS, REPORT_VERSION, Report, Severity, Sink, Summary,
    truncate_chars, truncate_value,
};
use crate::rules::{Compiled, Emit, Index, Row, check_row, resolve};
use crate::schema::{BlankRow, CellConverter, Target};

/// Session settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Findings kept per code and file (totals stay exact).
    pub max_findings_per_code: u64,
    /// Values the host supplies for kinds that need them (see
    /// [`Kind::parameter`](crate::schema::Kind::parameter)), e.g. `location_type`.
    pub params: std::collections::BTreeMap<String, String>,
    /// Longest record, in bytes after decoding to UTF-8 (line break not counted). A longer
    /// record is an error at its row and the rest of its file is not read, so no input
    /// (a line of NULs, `/dev/zero`) is ever held whole. Default
    /// [`DEFAULT_MAX_RECORD_BYTES`] (16 MiB); CLI `--max-record-bytes`.
    pub max_record_bytes: u64,
    /// Most cells in a record (the header included). More is an error at that row and the
    /// rest of the file is not read. Default [`DEFAULT_MAX_COLUMNS`]; CLI `--max-columns`.
    pub max_columns: u64,
}

/// Default of [`Options::max_record_bytes`]: 16 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// Default of [`Options::max_columns`].
pub const DEFAULT_MAX_COLUMNS: u64 = 10_000;

impl Default for Options {
    fn default() -> Self {
        Options {
            max_findings_per_code: 100,
            params: Default::default(),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_columns: DEFAULT_MAX_COLUMNS,
        }
    }
}

impl Options {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_record_bytes: self.max_record_bytes.max(1),
            max_columns: usize::try_from(self.max_columns)
                .unwrap_or(usize::MAX)
                .max(1),
        }
    }
}

/// Bytes and rows seen so far, for progress bars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Bytes pushed, over all files.
    pub bytes: u64,
    /// Data rows read, over all files.
    pub rows: u64,
    /// Files started.
    pub files: u64,
}

/// Which rows of each file have errors: what bundling needs beyond the (capped) report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdicts {
    /// One entry per file, in push order.
    pub files: Vec<FileVerdict>,
    /// The session's record limits, so the bundler reads files exactly as it did.
    pub(crate) limits: Limits,
    /// The target's reading rules, for the same reason.
    pub(crate) dialect: crate::schema::Dialect,
}

impl Verdicts {
    /// The verdict for a file.
    pub fn file(&self, path: &str) -> Option<&FileVerdict> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// The errors of one file, complete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileVerdict {
    /// Path as pushed.
    pub path: String,
    /// Detected kind.
    pub kind: Option<String>,
    /// Codes of errors about the whole file or its header.
    pub file_errors: Vec<String>,
    /// Data row (header = 1) → code of its first error.
    pub rows: std::collections::BTreeMap<u64, String>,
}

/// A validation session over one bundle.
#[derive(Debug)]
pub struct Session {
    compiled: Compiled,
    options: Options,
    files: Vec<FileState>,
    by_path: HashMap<String, usize>,
    paths: Vec<String>,
    index: Index,
    bundle: Sink,
    progress: Progress,
}

#[derive(Debug)]
struct FileState {
    parser: Parser,
    finished: bool,
    check: FileCheck,
}

/// The validator's side of a [`Parser`]: the file's checks plus the bundle state.
struct CheckEvents<'a> {
    check: &'a mut FileCheck,
    c: &'a Compiled,
    index: &'a mut Index,
    paths: &'a [String],
    progress: &'a mut Progress,
}

impl Events for CheckEvents<'_> {
    fn invalid(&mut self, inv: Invalid) {
        self.check.invalid.push_back(inv);
    }

    fn sniffed(&mut self, delimiter: u8, ending: Option<LineEnding>) {
        self.check.delimiter = delimiter;
        self.check.line_ending = ending;
        self.check.delimiter_finding(self.c);
    }

    fn record(&mut self, rec: &Record<'_>) {
        self.check
            .record(rec, self.c, self.index, self.paths, self.progress);
    }

    fn overflow(&mut self, o: Overflow) {
        self.check.overflow(o, self.c);
    }

    fn row_separator(&mut self, issue: RowSepIssue) {
        self.check.row_separator(issue, self.c);
    }
}

/// Per-file state the record callback needs (kept apart from the reader it is called from).
#[derive(Debug)]
struct FileCheck {
    file: u32,
    path: String,
    /// Host-supplied values (e.g. `location_type`).
    params: std::collections::BTreeMap<String, String>,
    /// The file's manifest mode, once the manifest has been read.
    mode: Option<String>,
    sink: Sink,
    bytes: u64,
    delimiter: u8,
    line_ending: Option<LineEnding>,
    records: u64,
    header: Vec<String>,
    kind: Option<usize>,
    /// Header position per kind column.
    positions: Vec<Option<usize>>,
    /// Byte spans of the current row's values, per kind column.
    spans: Vec<Option<(usize, usize)>>,
    invalid: std::collections::VecDeque<Invalid>,
    /// Limits, for messages.
    limits: Limits,
    /// Work done, for tests that bound it.
    work: Work,
    /// A record went over a limit; the rest of the file was not read.
    stopped: bool,
    /// With [`BlankRow::FirstOfEachHeader`]: the cells that decide a row is blank.
    blank_cells: Option<Vec<usize>>,
    /// Kinds read by position: the physical line after the last record, and the empty
    /// lines skipped so far (Frictionless counts each as a blank row).
    next_line: u64,
    empty_lines: u64,
    /// A file bound to a kind read by position: its line feeds are counted, so that empty
    /// lines after the last record are blank rows too.
    count_lines: bool,
    newlines: u64,
    last_byte: u8,
}

/// Counters of work whose growth tests bound (no timing in tests).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Work {
    /// Decoded bytes searched to place invalid bytes in their cells.
    pub located_bytes: u64,
}

impl Session {
    /// Starts a session. Fails only if the target definition is inconsistent.
    pub fn new(target: Target) -> Result<Session, Error> {
        Session::with_options(target, Options::default())
    }

    /// Starts a session with options.
    pub fn with_options(target: Target, options: Options) -> Result<Session, Error> {
        let compiled = Compiled::new(target)?;
        let mut index = Index::new(&compiled);
        index.set_listing_cap(options.max_findings_per_code);
        Ok(Session {
            compiled,
            bundle: Sink::new(options.max_findings_per_code),
            options,
            files: Vec::new(),
            by_path: HashMap::new(),
            paths: Vec::new(),
            index,
            progress: Progress::default(),
        })
    }

    /// The target this session checks against.
    pub fn target(&self) -> &Target {
        &self.compiled.target
    }

    /// Bytes and rows seen so far.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Heap bytes of the cross-file index (ids, their rows, pending references) and the
    /// number of distinct keys in it: what a bundle costs per id (for benches).
    pub fn index_heap(&self) -> (u64, u64) {
        let (bytes, keys) = self.index.heap_stats();
        (bytes as u64, keys as u64)
    }

    fn file(&mut self, path: &str) -> Result<usize, Error> {
        if let Some(&i) = self.by_path.get(path) {
            if self.files[i].finished {
                return Err(Error::FileFinished(path.to_owned()));
            }
            return Ok(i);
        }
        let i = self.files.len();
        let count_lines = bound_kind(&self.compiled, path)
            .is_some_and(|k| self.compiled.target.kinds[k].positional.is_some());
        self.files.push(FileState {
            parser: Parser::with_dialect(self.options.limits(), &self.compiled.target.dialect),
            finished: false,
            check: FileCheck {
                file: i as u32,
                path: path.to_owned(),
                params: self.options.params.clone(),
                mode: None,
                sink: Sink::new(self.options.max_findings_per_code),
                bytes: 0,
                delimiter: b',',
                line_ending: None,
                records: 0,
                header: Vec::new(),
                kind: None,
                positions: Vec::new(),
                spans: Vec::new(),
                invalid: Default::default(),
                limits: self.options.limits(),
                work: Work::default(),
                stopped: false,
                blank_cells: None,
                next_line: 0,
                empty_lines: 0,
                count_lines,
                newlines: 0,
                last_byte: 0,
            },
        });
        self.by_path.insert(path.to_owned(), i);
        self.paths.push(path.to_owned());
        self.progress.files += 1;
        Ok(i)
    }

    /// Feeds the next chunk of the file at `path` (relative to the bundle root). Any split of
    /// the same bytes gives the same report.
    pub fn push(&mut self, path: &str, chunk: &[u8]) -> Result<Progress, Error> {
        let i = self.file(path)?;
        self.progress.bytes += chunk.len() as u64;
        let Session {
            compiled,
            files,
            index,
            paths,
            progress,
            ..
        } = self;
        let f = &mut files[i];
        f.check.bytes += chunk.len() as u64;
        if f.check.count_lines {
            f.check.newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
            if let Some(&b) = chunk.last() {
                f.check.last_byte = b;
            }
        }
        let mut ev = CheckEvents {
            check: &mut f.check,
            c: compiled,
            index,
            paths,
            progress,
        };
        f.parser.push(chunk, &mut ev);
        Ok(*progress)
    }

    /// Whether the file at `path` still needs bytes: false once a record of it went over a
    /// limit (the rest is ignored and reported as not read), so a host can stop reading
    /// it, which matters for inputs that never end. True for a path not pushed yet.
    pub fn wants(&self, path: &str) -> bool {
        self.by_path
            .get(path)
            .is_none_or(|&i| !self.files[i].finished && self.files[i].parser.wants_more())
    }

    /// Ends the file at `path`. A path never pushed is an empty file.
    pub fn finish_file(&mut self, path: &str) -> Result<(), Error> {
        let i = self.file(path)?;
        let Session {
            compiled,
            files,
            index,
            paths,
            progress,
            ..
        } = self;
        let f = &mut files[i];
        let mut ev = CheckEvents {
            check: &mut f.check,
            c: compiled,
            index,
            paths,
            progress,
        };
        f.parser.finish(&mut ev);
        f.finished = true;
        f.check.finish_file(compiled, f.parser.decoder());
        f.parser.release();
        f.check.spans = Vec::new();
        Ok(())
    }

    /// With a manifest: every data file declared bulk or delta, every declared file present.
    fn manifest_checks(&mut self) {
        let Some(m) = self.compiled.target.manifest.clone() else {
            return;
        };
        let title = self.compiled.target.title().to_owned();
        let mk = self
            .compiled
            .target
            .kinds
            .iter()
            .position(|k| k.name == m.kind);
        let modes = self.index.modes.clone();
        let manifest_name = mk
            .map(|k| self.compiled.target.kinds[k].file_name.clone())
            .unwrap_or_default();
        if !self
            .files
            .iter()
            .any(|f| f.check.kind.is_some() && f.check.kind == mk)
        {
            self.bundle_note(
                "manifest.missing",
                None,
                format!("no {manifest_name} in the package; {title} requires one"),
            );
        }
        for i in 0..self.files.len() {
            let Some(k) = self.files[i].check.kind.filter(|k| Some(*k) != mk) else {
                continue;
            };
            let stem = self.compiled.kinds[k].stem.clone();
            let mode = modes.get(&stem).cloned();
            if !matches!(mode.as_deref(), Some("bulk" | "delta")) {
                let said = mode.map_or("not listed".to_owned(), |m| format!("`{m}`"));
                let (key, name) = (format!("{}{stem}", m.prefix), manifest_name.clone());
                self.files[i].check.note(&self.compiled, "manifest.undeclared", Severity::Error, None, None, None, None, || {
                    format!("{name} must declare `{key}` as bulk or delta for this file to be read; it is {said}")
                });
            }
        }
        if let Some(i) = self
            .files
            .iter()
            .position(|f| f.check.kind.is_some() && f.check.kind == mk)
        {
            for p in m
                .required
                .iter()
                .filter(|p| !self.index.listed.contains(*p))
            {
                let (p, name) = (p.clone(), manifest_name.clone());
                self.files[i].check.note(
                    &self.compiled,
                    "manifest.missing_property",
                    Severity::Error,
                    None,
                    None,
                    None,
                    Some(&p),
                    || format!("{name} has no `{p}` row; {title} requires it"),
                );
            }
        }
        for (stem, mode) in &modes {
            if !matches!(mode.as_str(), "bulk" | "delta") {
                continue;
            }
            let present = self.files.iter().any(|f| {
                f.check
                    .kind
                    .is_some_and(|k| self.compiled.kinds[k].stem == *stem)
            });
            if !present {
                self.bundle_note(
                    "manifest.missing_file",
                    None,
                    format!(
                        "{manifest_name} declares `{}{stem}` as {mode}, but there is no {stem}.csv",
                        m.prefix
                    ),
                );
            }
        }
    }

    fn bundle_note(&mut self, code: &str, file: Option<String>, message: String) {
        if self.bundle.admit(code, Severity::Error, None) {
            self.bundle.push(Finding {
                code: code.to_owned(),
                severity: Severity::Error,
                file,
                row: None,
                line: None,
                column: None,
                column_number: None,
                value: None,
                message,
                platform_message: None,
            });
        }
    }

    /// Marks every file of a kind after the first (in processing order, then path).
    fn second_files_of_a_kind(&mut self) {
        let mut order: Vec<(usize, &str, usize)> = self
            .files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.check.kind.map(|k| (k, f.check.path.as_str(), i)))
            .collect();
        order.sort();
        let dups: Vec<(usize, usize, String)> = order
            .windows(2)
            .filter(|w| w[0].0 == w[1].0)
            .map(|w| (w[1].2, w[1].0, w[0].1.to_owned()))
            .collect();
        for (i, k, first) in dups {
            let kind = self.compiled.target.kinds[k].name.clone();
            let t = self.compiled.target.title().to_owned();
            self.files[i].check.note(&self.compiled, "bundle.duplicate_kind", Severity::Error, None, None, None, None, || {
                format!("a second {kind} file (the first is {first}); {t} accepts one file per kind in an upload")
            });
        }
    }

    /// Adds a finding a host made about a file it did not push (e.g. a non-CSV entry in a
    /// ZIP), so that it is reported with the rest.
    pub fn add_finding(&mut self, finding: Finding) {
        if self
            .bundle
            .admit(&finding.code, finding.severity, finding.row)
        {
            self.bundle.push(finding);
        }
    }

    /// Ends the bundle: resolves cross-file references and returns the report. Files still
    /// open are finished first.
    pub fn finish(self) -> Report {
        self.finish_with_verdicts().0
    }

    /// Like [`Session::finish`], and also says, per file, which rows have errors (all of
    /// them, not only those listed under the cap): what [`crate::bundle`] needs to write
    /// valid rows and reject the others.
    pub fn finish_with_verdicts(mut self) -> (Report, Verdicts) {
        let open: Vec<String> = self
            .files
            .iter()
            .filter(|f| !f.finished)
            .map(|f| f.check.path.clone())
            .collect();
        for p in open {
            let _ = self.finish_file(&p);
        }
        if self.compiled.target.one_file_per_kind {
            self.second_files_of_a_kind();
        }
        self.manifest_checks();
        let mut sinks: Vec<&mut Sink> = self.files.iter_mut().map(|f| &mut f.check.sink).collect();
        resolve(&self.compiled, &mut self.index, &mut sinks, &self.paths);
        let mut summary = Summary::default();
        let mut verdicts = Vec::new();
        let target = &self.compiled.target;
        let mut files: Vec<(usize, FileReport)> = self
            .files
            .into_iter()
            .map(|f| {
                let c = f.check;
                let mut sink = c.sink;
                verdicts.push(FileVerdict {
                    path: c.path.clone(),
                    kind: c.kind.map(|k| target.kinds[k].name.clone()),
                    file_errors: std::mem::take(&mut sink.file_errors),
                    rows: std::mem::take(&mut sink.rejected),
                });
                summary.errors += sink.errors;
                summary.warnings += sink.warnings;
                summary.infos += sink.infos;
                summary.rows += c.records.saturating_sub(1);
                let omitted = sink.omitted();
                sort_findings(&mut sink.findings);
                let order = c.kind.unwrap_or(usize::MAX);
                (
                    order,
                    FileReport {
                        path: c.path,
                        kind: c.kind.map(|k| target.kinds[k].name.clone()),
                        rows: c.records.saturating_sub(1),
                        bytes: c.bytes,
                        encoding: f.parser.decoder().encoding.name().to_owned(),
                        bom: f.parser.decoder().bom,
                        delimiter: char::from(c.delimiter).to_string(),
                        line_ending: c.line_ending.map(|l| l.name().to_owned()),
                        header: c.header,
                        findings: sink.findings,
                        omitted,
                    },
                )
            })
            .collect();
        // Processing order, then path: the same report whatever order files were pushed in.
        files.sort_by(|a, b| (a.0, &a.1.path).cmp(&(b.0, &b.1.path)));
        summary.files = files.len() as u64;
        summary.errors += self.bundle.errors;
        summary.warnings += self.bundle.warnings;
        summary.infos += self.bundle.infos;
        let omitted = self.bundle.omitted();
        let mut findings = self.bundle.findings;
        sort_findings(&mut findings);
        let report = Report {
            version: REPORT_VERSION,
            target: target.name.clone(),
            files: files.into_iter().map(|(_, f)| f).collect(),
            findings,
            omitted,
            summary,
        };
        (
            report,
            Verdicts {
                files: verdicts,
                limits: self.options.limits(),
                dialect: self.compiled.target.dialect.clone(),
            },
        )
    }
}

fn sort_findings(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        (
            a.file.as_deref(),
            a.row.unwrap_or(0),
            a.column_number.unwrap_or(0),
            &a.code,
        )
            .cmp(&(
                b.file.as_deref(),
                b.row.unwrap_or(0),
                b.column_number.unwrap_or(0),
                &b.code,
            ))
    });
}

/// Ruby's `strip`: ASCII whitespace and NUL (one implementation, the reader's).
pub(crate) fn strip(s: &str) -> &str {
    crate::parse::ruby_strip(s)
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

impl FileCheck {
    /// Adds a finding not tied to a rule, with the platform's wording if the target has one.
    #[allow(clippy::too_many_arguments)]
    fn note(
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
    fn overflow(&mut self, o: Overflow, c: &Compiled) {
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
    fn row_separator(&mut self, issue: RowSepIssue, c: &Compiled) {
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

    fn delimiter_finding(&mut self, c: &Compiled) {
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

    fn record(
        &mut self,
        rec: &Record<'_>,
        c: &Compiled,
        index: &mut Index,
        paths: &[String],
        progress: &mut Progress,
    ) {
        self.records += 1;
        let row = self.records;
        if row > 1 {
            progress.rows += 1;
        }
        let owned;
        let text = match std::str::from_utf8(rec.bytes()) {
            Ok(t) => t,
            Err(_) => {
                owned = String::from_utf8_lossy(rec.bytes()).into_owned();
                owned.as_str()
            }
        };
        let field = |i: usize| -> &str {
            let start = if i == 0 { 0 } else { rec_end(rec, i - 1) };
            text.get(start..rec_end(rec, i)).unwrap_or("")
        };
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
        let has_nul = match conv {
            CellConverter::Default => memchr::memchr(0, rec.bytes()).is_some(),
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
            self.positional_row(kind, rec, text, c, index, paths, row);
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
        for (k, pos) in self.positions.iter().enumerate() {
            self.spans[k] = pos.filter(|&p| p < rec.len()).map(|p| {
                let v = convert(conv, trim, field(p));
                let start = v.as_ptr() as usize - text.as_ptr() as usize;
                (start, start + v.len())
            });
        }
        let ck = &c.kinds[kind];
        if c.target.manifest.is_some() && self.mode.is_none() {
            self.mode = index.modes.get(&ck.stem).cloned();
        }
        self.run_rules(c, kind, text, row, rec.line, index, paths);
    }

    fn header_row(&mut self, rec: &Record<'_>, text: &str, c: &Compiled) {
        let cells: Vec<String> = (0..rec.len())
            .map(|i| {
                let start = if i == 0 { 0 } else { rec_end(rec, i - 1) };
                text.get(start..rec_end(rec, i)).unwrap_or("").to_owned()
            })
            .collect();
        self.header = cells;
        if c.target.dialect.blank_row == BlankRow::FirstOfEachHeader {
            // Ruby's `CSV::Row#to_hash`: the first cell of each distinct header name (as
            // read: lower-cased, not stripped); blank header cells and cells past the
            // header share the name nil.
            let mut seen = std::collections::HashSet::new();
            let mut cells: Vec<usize> = Vec::new();
            let mut nil_at = None;
            for (i, h) in self.header.iter().enumerate() {
                if h.is_empty() {
                    nil_at.get_or_insert(i);
                } else if seen.insert(h.to_lowercase()) {
                    cells.push(i);
                }
            }
            cells.push(nil_at.unwrap_or(self.header.len()));
            self.blank_cells = Some(cells);
        }
        let rules = &c.target.header;
        let names: Vec<String> = self
            .header
            .iter()
            .map(|h| detect::detection_name(rules, h))
            .collect();
        if rec
            .quote_issues
            .iter()
            .any(|q| q.error == QuoteError::Unclosed)
        {
            // The header itself cannot be parsed: no kind, as on the server.
            return;
        }
        let bound = bound_kind(c, &self.path);
        if let Some(k) = bound.filter(|&k| c.target.kinds[k].positional.is_some()) {
            self.positional_header(k, rec, text, c, true);
            return;
        }
        // First position of each name: duplicates in linear time, however wide the header.
        let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            first_at.entry(n.as_str()).or_insert(i);
        }
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() {
                self.note(
                    c,
                    "header.blank",
                    Severity::Info,
                    Some(1),
                    Some(rec.line),
                    Some(i),
                    None,
                    || format!("header cell {} is blank; its column is ignored", i + 1),
                );
            } else if let Some(first) = first_at.get(n.as_str()).copied().filter(|&f| f < i) {
                let n = n.clone();
                self.note(
                    c,
                    "header.duplicate",
                    Severity::Warning,
                    Some(1),
                    Some(rec.line),
                    Some(i),
                    Some(&n),
                    || {
                        format!(
                            "`{n}` appears twice (columns {} and {}); only the first is read",
                            first + 1,
                            i + 1
                        )
                    },
                );
            }
        }
        let Some(kind) = bound.or_else(|| detect::first_match(&c.target, &names)) else {
            let diagnosis = detect::near_miss(&c.target, &names);
            let t = c.target.title().to_owned();
            self.note(
                c,
                "detect.unknown_kind",
                Severity::Error,
                Some(1),
                Some(rec.line),
                None,
                None,
                || {
                    let hint = &c.target.unknown_kind_hint;
                    let sep = if diagnosis.ends_with(['.', '?']) {
                        " "
                    } else {
                        ". "
                    };
                    let hint = if hint.is_empty() {
                        String::new()
                    } else {
                        format!("{sep}{hint}")
                    };
                    format!("the header matches no {t} file kind; {diagnosis}{hint}")
                },
            );
            return;
        };
        self.kind = Some(kind);
        let ck = &c.kinds[kind];
        let kind_def = &c.target.kinds[kind];
        let canonical = |n: String| {
            let m = kind_def.canonical(&n);
            if m == n {
                n
            } else {
                detect::detection_name(rules, m)
            }
        };
        let reading: Vec<String> = self
            .header
            .iter()
            .map(|h| canonical(detect::reading_name(rules, h)))
            .collect();
        drop(first_at);
        let names: Vec<String> = names.into_iter().map(canonical).collect();
        let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            first_at.entry(n.as_str()).or_insert(i);
        }
        // Columns the platform reads by their exact cell; a padded cell is reported once
        // (header.padded) and its values are still checked, as the bundle will repair it.
        let strict: Vec<Option<usize>> = ck
            .columns
            .iter()
            .map(|col| reading.iter().position(|r| r == col))
            .collect();
        self.positions = ck
            .columns
            .iter()
            .zip(&strict)
            .map(|(col, s)| s.or_else(|| names.iter().position(|n| n == col)))
            .collect();
        self.spans = vec![None; ck.columns.len()];
        let kind_name = c.target.kinds[kind].name.clone();
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() || first_at.get(n.as_str()) != Some(&i) {
                continue;
            }
            match ck.columns.iter().position(|col| col == n) {
                Some(k) if strict[k].is_none() => {
                    let raw = self.header[i].clone();
                    let t = c.target.title().to_owned();
                    self.note(c, "header.padded", Severity::Error, Some(1), Some(rec.line), Some(i), Some(&raw), || {
                        format!("header cell `{raw}` has spaces around `{n}`: {t} detects the file as {kind_name} but then reads `{n}` as blank on every row; remove the spaces (`preflight bundle` does)")
                    });
                }
                Some(_) => {}
                None => {
                    let n = self.header[i].trim().to_owned();
                    let sev = kind_def.unknown_columns;
                    let t = c.target.title().to_owned();
                    self.note(
                        c,
                        "header.unknown",
                        sev,
                        Some(1),
                        Some(rec.line),
                        Some(i),
                        Some(&n),
                        || {
                            if sev == Severity::Error {
                                format!("`{n}` is not a {kind_name} column; {t} rejects the file")
                            } else {
                                format!("`{n}` is not a {kind_name} column; it is ignored")
                            }
                        },
                    );
                }
            }
        }
        self.header_contract(c, kind, &names, rec.line);
        if let Some(better) = detect::trap(&c.target, kind, &names) {
            let better = &c.target.kinds[better];
            let predicate = c.target.kinds[kind].detect.all.join("` and `");
            let extra: Vec<&String> = names
                .iter()
                .filter(|n| !n.is_empty() && !better.columns.contains(n))
                .collect();
            let t = c.target.title().to_owned();
            self.note(c, "detect.first_match_trap", Severity::Warning, Some(1), Some(rec.line), None, None, || {
                let extra = if extra.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; remove {} to have it read as {}",
                        extra.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", "),
                        better.name
                    )
                };
                format!(
                    "{t} reads this file as {kind_name} (it has `{predicate}`, and the first matching kind wins), but its columns fit {} better{extra}",
                    better.name
                )
            });
        }
    }

    /// Header rules beyond detection: required columns, column order, the host-supplied
    /// parameter and the file name, where the kind asks for them.
    fn header_contract(&mut self, c: &Compiled, kind: usize, names: &[String], line: u64) {
        let k = &c.target.kinds[kind];
        let rules = &c.target.header;
        let t = c.target.title().to_owned();
        if k.case_sensitive_header {
            for i in 0..self.header.len() {
                let cell = self.header[i].trim().to_owned();
                if k.columns.contains(&cell) {
                    continue;
                }
                let Some(col) = k
                    .columns
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(&cell) && **c != cell)
                    .cloned()
                else {
                    continue;
                };
                self.note(c, "header.case", Severity::Error, Some(1), Some(line), Some(i), Some(&cell), || {
                    format!("`{cell}` must be written exactly `{col}`; {t} matches these headers case-sensitively")
                });
            }
        }
        for col in &k.required_columns {
            let want = detect::detection_name(rules, col);
            if !names.contains(&want) {
                let (col, kname) = (col.clone(), k.name.clone());
                self.note(c, "header.missing_column", Severity::Error, Some(1), Some(line), None, Some(&col), || {
                    format!("the header has no `{col}` column; {t} needs every {kname} column present, even if blank")
                });
            }
        }
        if k.ordered_columns {
            let mut at: HashMap<String, usize> = HashMap::with_capacity(k.columns.len());
            for (i, c) in k.columns.iter().enumerate() {
                at.entry(detect::detection_name(rules, c)).or_insert(i);
            }
            let order: Vec<usize> = names.iter().filter_map(|n| at.get(n).copied()).collect();
            if let Some(w) = order.windows(2).position(|w| w[0] > w[1]) {
                let (col, at) = (k.columns[order[w + 1]].clone(), w + 1);
                let expected = k.columns.join(",");
                self.note(c, "header.order", Severity::Error, Some(1), Some(line), Some(at), Some(&col), || {
                    format!("`{col}` is out of order; {t} wants the columns in this order: {expected}")
                });
            }
        }
        if let Some(p) = &k.parameter {
            let given = self.params.get(&p.name).cloned();
            let values = p.values.join("|");
            let name = p.name.clone();
            match given {
                None => self.note(c, "param.missing", p.when_missing, Some(1), Some(line), None, None, || {
                    format!("{} files need a {name} ({values}), sent with the upload; pass --param {name}=VALUE", k.name)
                }),
                Some(v) if !p.values.iter().any(|x| x.eq_ignore_ascii_case(&v)) => {
                    self.note(c, "param.invalid", Severity::Error, Some(1), Some(line), None, Some(&v), || {
                        format!("{name} `{v}` is not one of {values}")
                    })
                }
                Some(_) => {}
            }
        }
        if c.target.fixed_file_names {
            let base = self
                .path
                .rsplit('/')
                .next()
                .unwrap_or(&self.path)
                .to_owned();
            if base != k.file_name {
                let want = k.file_name.clone();
                self.note(
                    c,
                    "file.name",
                    Severity::Error,
                    None,
                    None,
                    None,
                    Some(&base),
                    || format!("{t} identifies this file by its name: call it `{want}`"),
                );
            }
        }
    }

    fn finish_file(&mut self, c: &Compiled, decoder: &Decoder) {
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

fn rec_end(rec: &Record<'_>, i: usize) -> usize {
    rec.field_end(i)
}

/// Line breaks inside a record (quoted CR, LF or CRLF).
fn breaks_in_record(b: &[u8]) -> u64 {
    let lf = memchr::memchr_iter(b'\n', b).count();
    let cr = memchr::memchr_iter(b'\r', b)
        .filter(|&i| b.get(i + 1) != Some(&b'\n'))
        .count();
    (lf + cr) as u64
}

/// The kind a file is bound to by its path ([`Kind::path`](crate::schema::Kind::path)):
/// the same path, or one ending with the other at a `/`.
fn bound_kind(c: &Compiled, path: &str) -> Option<usize> {
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

impl FileCheck {
    /// A kind read by position (Frictionless): labels compared with the fields one by one
    /// (blank, duplicate, incorrect, extra and missing labels are errors), rows read by
    /// position whatever the labels say.
    fn positional_header(
        &mut self,
        kind: usize,
        rec: &Record<'_>,
        text: &str,
        c: &Compiled,
        has_header: bool,
    ) {
        self.kind = Some(kind);
        let ck = &c.kinds[kind];
        let k = &c.target.kinds[kind];
        let fields = k.columns.len();
        let labels_len = if has_header { rec.len() } else { fields };
        // As many fields are read as there are labels.
        self.positions = (0..ck.columns.len())
            .map(|i| (i < fields && i < labels_len).then_some(i))
            .collect();
        self.spans = vec![None; ck.columns.len()];
        let p = k
            .positional
            .clone()
            .unwrap_or_else(|| crate::schema::Positional {
                header: true,
                delimiter: None,
                missing_values: vec![String::new()],
            });
        if let Some(d) = p.delimiter
            && u32::from(self.delimiter) != d as u32
        {
            let found = self.delimiter as char;
            self.note(
                c,
                "csv.delimiter",
                Severity::Error,
                Some(1),
                Some(rec.line),
                None,
                None,
                || format!("the file is `{found}`-separated; its dialect says `{d}`"),
            );
        }
        if !has_header {
            self.header = k.columns.clone();
            return;
        }
        self.next_line = rec.line + breaks_in_record(rec.bytes()) + 1;
        let labels: Vec<String> = (0..rec.len())
            .map(|i| {
                let start = if i == 0 { 0 } else { rec_end(rec, i - 1) };
                text.get(start..rec_end(rec, i)).unwrap_or("").to_owned()
            })
            .collect();
        let line = rec.line;
        let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(labels.len());
        let mut notes: Vec<(&'static str, usize, String, String)> = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let earlier = first_at.entry(label.as_str()).or_insert(i);
            if i >= fields {
                notes.push((
                    "header.extra_label",
                    i,
                    label.clone(),
                    format!("label `{label}` has no field in the schema ({fields} fields)"),
                ));
                continue;
            }
            let name = &k.columns[i];
            if label.is_empty() {
                notes.push((
                    "header.blank",
                    i,
                    String::new(),
                    format!("label {} is blank; the schema says `{name}`", i + 1),
                ));
            } else if *earlier < i {
                notes.push((
                    "header.duplicate",
                    i,
                    label.clone(),
                    format!("label `{label}` repeats column {}", *earlier + 1),
                ));
            } else if label != name {
                notes.push((
                    "header.incorrect_label",
                    i,
                    label.clone(),
                    format!("label `{label}` should be `{name}`; the column is read as `{name}`"),
                ));
            }
        }
        for (i, name) in k.columns.iter().enumerate().skip(labels.len()) {
            notes.push((
                "header.missing_label",
                i,
                name.clone(),
                format!(
                    "the header has no label for field `{name}` (column {})",
                    i + 1
                ),
            ));
        }
        drop(first_at);
        self.header = labels;
        for (code, i, value, message) in notes {
            self.note(
                c,
                code,
                Severity::Error,
                Some(1),
                Some(line),
                Some(i),
                Some(&value),
                || message,
            );
        }
    }

    /// Empty lines after the last record of a kind read by position: blank rows, as
    /// Python's csv reads them (UTF-8 files with LF or CRLF line ends).
    fn trailing_empty_lines(&mut self, c: &Compiled, decoder: &Decoder) {
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
    ) {
        let k = &c.target.kinds[kind];
        // Frictionless expects as many cells as there are labels (fields without a label
        // are not read; extra labels are read as untyped fields).
        let fields = if k.positional.as_ref().is_some_and(|p| p.header) {
            self.header.len()
        } else {
            k.columns.len()
        };
        let field = |i: usize| -> &str {
            let start = if i == 0 { 0 } else { rec_end(rec, i - 1) };
            text.get(start..rec_end(rec, i)).unwrap_or("")
        };
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
        for (kc, pos) in self.positions.iter().enumerate() {
            self.spans[kc] = pos.filter(|&p| p < rec.len()).map(|p| {
                let f = field(p);
                let start = f.as_ptr() as usize - text.as_ptr() as usize;
                (start, start + f.len())
            });
        }
        self.run_rules(c, kind, text, row, rec.line, index, paths);
    }
}

impl FileCheck {
    /// Runs the kind's rules on the row whose cells are at `self.spans` in `text`.
    #[allow(clippy::too_many_arguments)]
    fn run_rules(
        &mut self,
        c: &Compiled,
        kind: usize,
        text: &str,
        row: u64,
        line: u64,
        index: &mut Index,
        paths: &[String],
    ) {
        let r = Row {
            text,
            spans: &self.spans,
            positions: &self.positions,
            columns: &c.kinds[kind].display,
            file: self.file,
            path: &self.path,
            row,
            line,
            params: &self.params,
            mode: self.mode.as_deref(),
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
        );
    }
}

// A child module (it reads the per-file state), in its own file beside this one.
#[path = "session_recheck.rs"]
mod recheck;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets;

    fn options(max_record_bytes: u64, max_columns: u64) -> Options {
        Options {
            max_record_bytes,
            max_columns,
            ..Options::default()
        }
    }

    fn codes(r: &Report) -> Vec<(String, Option<u64>, Option<String>)> {
        r.all_findings()
            .map(|f| (f.code.clone(), f.row, f.column.clone()))
            .collect()
    }

    /// A bad byte at the start of row 3 is row 3's, in the cell that holds it (it was
    /// blamed on row 2, without a column).
    #[test]
    fn invalid_byte_blamed_on_its_row_and_cell() {
        let csv = b"user_id,login_id,status\nu1,l1,active\n\xE9u2,l2,active\nu3,l3,active\n";
        for split in [1, 7, csv.len()] {
            let mut s = Session::new(targets::canvas()).unwrap();
            for c in csv.chunks(split) {
                s.push("users.csv", c).unwrap();
            }
            let (r, v) = s.finish_with_verdicts();
            assert_eq!(
                codes(&r),
                [(
                    "encoding.invalid_utf8".to_owned(),
                    Some(3),
                    Some("user_id".to_owned())
                )],
                "split {split}"
            );
            let rows: Vec<u64> = v.files[0].rows.keys().copied().collect();
            assert_eq!(rows, [3]);
        }
    }

    /// Placing N bad bytes of one long cell costs one pass over the record, not N: the
    /// bytes searched are bounded by the record's length (it was N × the record).
    #[test]
    fn invalid_bytes_located_in_linear_work() {
        let mut csv = b"user_id,login_id,status\nu1,".to_vec();
        let mut cell = vec![b'a'; 1_000_000];
        cell.iter_mut().step_by(20).for_each(|b| *b = 0xE9);
        csv.extend_from_slice(&cell);
        csv.extend_from_slice(b",active\n");
        let mut s = Session::new(targets::canvas()).unwrap();
        for c in csv.chunks(64 * 1024) {
            s.push("users.csv", c).unwrap();
        }
        s.finish_file("users.csv").unwrap();
        let work = s.files[0].check.work;
        // 50,000 replacements of 3 bytes in a 1.1 MB record (each searched the record
        // before: 50,000 × 1.1 MB, minutes).
        assert!(work.located_bytes <= 1_200_000, "{}", work.located_bytes);
        let r = s.finish();
        let total = r.files[0]
            .omitted
            .iter()
            .find(|o| o.code == "encoding.invalid_utf8")
            .map(|o| o.total);
        assert_eq!(total, Some(50_000));
        let kept: Vec<&Finding> = r
            .all_findings()
            .filter(|f| f.code == "encoding.invalid_utf8")
            .collect();
        assert_eq!(kept.len(), 100);
        assert!(kept.iter().all(|f| f.column.as_deref() == Some("login_id")));
        assert!(
            kept.iter()
                .all(|f| f.value.as_ref().unwrap().chars().count() <= 81)
        );
    }

    /// A cp1252 export with one stray quote: the quote swallows the rest of the file into
    /// one record holding every bad byte; placing them stays one pass over it.
    #[test]
    fn stray_quote_with_many_bad_bytes_is_linear() {
        let mut csv = b"user_id,login_id,status
\"u0,l0,active\n"
            .to_vec();
        for i in 0..50_000 {
            csv.extend_from_slice(format!("u{i},Ren_e,active\n").as_bytes());
            let n = csv.len();
            csv[n - 10] = 0xE9;
        }
        let mut s = Session::new(targets::canvas()).unwrap();
        for c in csv.chunks(64 * 1024) {
            s.push("users.csv", c).unwrap();
        }
        s.finish_file("users.csv").unwrap();
        assert!(s.files[0].check.work.located_bytes <= csv.len() as u64 * 2);
        let r = s.finish();
        let codes: Vec<&str> = r.all_findings().map(|f| f.code.as_str()).collect();
        assert!(codes.contains(&"csv.unclosed_quote"), "{codes:?}");
        assert_eq!(r.summary.errors, 50_001);
    }

    /// A record over the limit is an error at its row naming the limit and the flag; the
    /// session wants no more bytes of that file and ignores any it gets.
    #[test]
    fn record_over_the_limit_stops_the_file() {
        let mut s = Session::with_options(targets::canvas(), options(1000, 100)).unwrap();
        s.push("users.csv", b"user_id,login_id,status\nu1,l1,active\nu2,")
            .unwrap();
        assert!(s.wants("users.csv"));
        let zeros = vec![0u8; 64 * 1024];
        let mut pushed = 0;
        while s.wants("users.csv") {
            s.push("users.csv", &zeros).unwrap();
            pushed += 1;
            assert!(pushed < 10, "never stopped wanting bytes");
        }
        s.push("users.csv", b"\nu3,l3,active\n").unwrap();
        assert!(s.wants("other.csv"));
        let r = s.finish();
        assert_eq!(
            codes(&r),
            [(
                "csv.record_too_large".to_owned(),
                Some(3),
                Some("login_id".to_owned())
            )]
        );
        let f = &r.files[0].findings[0];
        assert!(
            f.message.contains("1000 bytes")
                && f.message.contains("--max-record-bytes")
                && f.message.contains("rest of the file was not read"),
            "{}",
            f.message
        );
        assert_eq!(r.files[0].rows, 1);
    }

    /// A header wider than the limit is an error at row 1 naming the limit and the flag;
    /// a wide header under the limit is checked in linear time (duplicates included).
    #[test]
    fn column_limit_and_wide_headers() {
        let mut header: Vec<u8> = b"user_id,login_id,status".to_vec();
        for i in 0..20_000 {
            header.extend_from_slice(format!(",x{}", i % 10_000).as_bytes());
        }
        header.push(b'\n');
        let r = crate::validate(&targets::canvas(), "users.csv", &header);
        assert_eq!(
            codes(&r),
            [("csv.too_many_columns".to_owned(), Some(1), None)]
        );
        assert!(r.files[0].findings[0].message.contains("--max-columns"));
        let s = Session::with_options(targets::canvas(), options(1 << 24, 30_000)).unwrap();
        let mut s = s;
        s.push("users.csv", &header).unwrap();
        let r = s.finish();
        let dup = r.files[0]
            .omitted
            .iter()
            .find(|o| o.code == "header.duplicate")
            .map(|o| o.total);
        assert_eq!(dup, Some(10_000));
    }
}
