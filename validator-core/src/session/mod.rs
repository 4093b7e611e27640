//! The push API: a session takes a target, then bytes of each file in any number of chunks.
//! Here the [`Session`] (files, options, the report); each file's state and whole-file
//! findings are in `file`, the header row in `header`, every later record in `row`.
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

use crate::Error;
use crate::decode::Invalid;
use crate::parse::{Events, Parser};
use crate::reader::{Limits, LineEnding, Overflow, Record, RowSepIssue};
use crate::report::{FileReport, Finding, REPORT_VERSION, Report, Severity, Sink, Summary};
use crate::rules::{Compiled, Index, resolve};
use crate::schema::Target;

mod file;
mod header;
mod row;
mod tape;

use file::{FileCheck, RawCounts, Work, bound_kind};
pub use tape::{FileReader, Tape};

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
    /// Keep the number of every row an error rejects, for
    /// [`Session::finish_with_verdicts`] (what `bundle --drop-invalid` leaves out). A host
    /// that only wants the report sets it false: memory then grows with the distinct
    /// values the files reference, not with the rows that reference them (a delta of
    /// millions of enrollments), and the verdicts list no rejected row. Default true.
    pub row_verdicts: bool,
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
            row_verdicts: true,
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

/// A target compiled once for many sessions: a portal that checks upload after upload, or a
/// fuzzer running thousands of inputs a second, pays for resolving the target's names,
/// rules and tables once. Cloning it is cheap (the compiled form is shared).
///
/// ```
/// use validator_core::{Checker, Options, targets};
///
/// let checker = Checker::new(targets::builtin("canvas").unwrap()).unwrap();
/// for upload in [&b"user_id,login_id,status\r\nU1,a,active\r\n"[..], b"user_id\r\n"] {
///     let mut session = checker.session(Options::default());
///     session.push("users.csv", upload).unwrap();
///     session.finish_file("users.csv").unwrap();
///     let report = session.finish();
///     assert_eq!(report.files.len(), 1);
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Checker {
    compiled: std::sync::Arc<Compiled>,
}

impl Checker {
    /// Compiles `target`. Fails only if the target definition is inconsistent.
    pub fn new(target: Target) -> Result<Checker, Error> {
        Ok(Checker {
            compiled: std::sync::Arc::new(Compiled::new(target)?),
        })
    }

    /// The target this checker checks against.
    pub fn target(&self) -> &Target {
        &self.compiled.target
    }

    /// [`crate::detect::kind_of_prefix`] against this checker's target, compiled once for
    /// every file a host orders.
    ///
    /// ```
    /// let checker = validator_core::Checker::new(validator_core::targets::canvas()).unwrap();
    /// let k = checker.kind_of_prefix(b"term_id,name,status\nT1,");
    /// assert_eq!(k.as_deref(), Some("terms"));
    /// ```
    pub fn kind_of_prefix(&self, prefix: &[u8]) -> Option<String> {
        // Only complete lines: a header cut mid-way would be misread.
        let end = memchr::memrchr(b'\n', prefix)? + 1;
        let mut s = self.session(Options::default());
        // Line by line until the header is read: the rows after it cannot change the kind,
        // and checking them was most of a small bundle's detection (a 64 KiB prefix of
        // Canvas files: 8 M instructions a file). The parser still holds the lines it
        // sniffs the delimiter from, as it does for one push.
        let mut at = 0;
        for nl in memchr::memchr_iter(b'\n', &prefix[..end]) {
            s.push("header", &prefix[at..=nl]).ok()?;
            at = nl + 1;
            if s.header_read("header") {
                break;
            }
        }
        s.finish().files.into_iter().next()?.kind
    }

    /// Starts a session with `options`.
    pub fn session(&self, options: Options) -> Session {
        let compiled = self.compiled.clone();
        let mut index = Index::new(&compiled);
        index.set_listing_cap(options.max_findings_per_code);
        index.row_verdicts = options.row_verdicts;
        Session {
            compiled,
            bundle: Sink::new(options.max_findings_per_code),
            options,
            files: Vec::new(),
            by_path: Default::default(),
            paths: Vec::new(),
            index,
            spare_csv: None,
            progress: Progress::default(),
            tap: None,
            size_hints: Default::default(),
            tape: Tape::default(),
        }
    }
}

/// A validation session over one bundle.
#[derive(Debug)]
pub struct Session {
    compiled: std::sync::Arc<Compiled>,
    options: Options,
    files: Vec<FileState>,
    by_path: crate::keys::FixedMap<String, usize>,
    paths: Vec<String>,
    index: Index,
    /// The csv-core reader of the last finished file, for the next file opened.
    spare_csv: Option<crate::reader::SpareCsv>,
    bundle: Sink,
    progress: Progress,
    /// `diff`'s side of the session: rows go to it instead of the rules.
    tap: Option<Box<crate::diff::Tap>>,
    /// [`Session::size_hint`]s of files not pushed yet.
    size_hints: crate::keys::FixedMap<String, u64>,
    tape: Tape,
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
    tap: Option<&'a mut crate::diff::Tap>,
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
        self.check.record(
            rec,
            self.c,
            self.index,
            self.paths,
            self.progress,
            self.tap.as_deref_mut(),
        );
    }

    fn ahead(&mut self, rec: &Record<'_>) {
        self.check.ahead(rec, self.c, self.index);
    }

    fn ahead_done(&mut self) {
        if !self.check.loads.is_empty() {
            self.index.start_loads(&self.check.loads);
            self.check.loads.clear();
        }
    }

    fn overflow(&mut self, o: Overflow) {
        self.check.overflow(o, self.c);
    }

    fn row_separator(&mut self, issue: RowSepIssue) {
        self.check.row_separator(issue, self.c);
    }
}

impl Session {
    /// Starts a session. Fails only if the target definition is inconsistent.
    pub fn new(target: Target) -> Result<Session, Error> {
        Session::with_options(target, Options::default())
    }

    /// Starts a session with options ([`Checker`] compiles the target once for many).
    pub fn with_options(target: Target, options: Options) -> Result<Session, Error> {
        Ok(Checker::new(target)?.session(options))
    }

    /// Hands every data row to `tap` too (`diff` reads as `check` does).
    pub(crate) fn set_tap(&mut self, tap: Box<crate::diff::Tap>) {
        self.tap = Some(tap);
    }

    /// Finishes every file still open.
    pub(crate) fn finish_open_files(&mut self) {
        let open: Vec<String> = self
            .files
            .iter()
            .filter(|f| !f.finished)
            .map(|f| f.check.path.clone())
            .collect();
        for p in open {
            let _ = self.finish_file(&p);
        }
    }

    /// Takes the tap back, with what it gathered.
    pub(crate) fn take_tap(&mut self) -> Option<Box<crate::diff::Tap>> {
        self.tap.take()
    }

    /// The target this session checks against.
    pub fn target(&self) -> &Target {
        &self.compiled.target
    }

    /// A [`Checker`] of this session's target, without compiling it again.
    pub fn checker(&self) -> Checker {
        Checker {
            compiled: self.compiled.clone(),
        }
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
        let mut parser = Parser::with_dialect(self.options.limits(), &self.compiled.target.dialect);
        parser.reuse(self.spare_csv.take());
        self.files.push(FileState {
            parser,
            finished: false,
            check: FileCheck {
                file: i as u32,
                path: path.to_owned(),
                params: self.options.params.clone(),
                mode: None,
                sink: Sink::new(self.options.max_findings_per_code)
                    .keeping_rejected(self.options.row_verdicts),
                bytes: 0,
                delimiter: b',',
                line_ending: None,
                records: 0,
                header: Vec::new(),
                kind: None,
                positions: Vec::new(),
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
                ahead_key: String::new(),
                loads: Vec::new(),
                row_plan: None,
                size_hint: self.size_hints.remove(path),
                fill_base: Vec::new(),
                presize_at: file::PRESIZE_AFTER_ROWS + 2,
            },
        });
        self.by_path.insert(path.to_owned(), i);
        self.paths.push(path.to_owned());
        self.progress.files += 1;
        Ok(i)
    }

    /// Says that the file at `path` will be about `bytes` long (its length on disk, a ZIP
    /// entry's uncompressed size, a browser `File`'s `size`), before or while it is pushed.
    /// Only a hint, which changes no finding: once its first rows are in, the key stores
    /// its rows fill (the users a users file defines, its login ids) are sized for the rest
    /// at once, instead of being rebuilt larger many times as they fill. A wrong hint costs
    /// time or memory, never a result. A path already finished is ignored.
    ///
    /// ```
    /// # use validator_core::{Session, targets};
    /// let mut s = Session::new(targets::builtin("canvas").unwrap()).unwrap();
    /// let users = b"user_id,login_id,status\nu1,ana,active\n";
    /// s.size_hint("users.csv", users.len() as u64);
    /// s.push("users.csv", users).unwrap();
    /// s.finish_file("users.csv").unwrap();
    /// assert!(!s.finish().has_errors());
    /// ```
    pub fn size_hint(&mut self, path: &str, bytes: u64) {
        match self.by_path.get(path) {
            Some(&i) => self.files[i].check.size_hint = Some(bytes),
            None => {
                self.size_hints.insert(path.to_owned(), bytes);
            }
        }
    }

    /// Feeds the next chunk of the file at `path` (relative to the bundle root). Any split of
    /// the same bytes gives the same report.
    ///
    /// The chunk is parsed onto a [`Tape`] first and then replayed into the checks, as
    /// [`Session::push_tape`] does, so that each record's index look-ups start a few records
    /// early (the wasm build's only way to overlap its cache misses: a 300 MB users file
    /// under Node, 2.95 s -> 2.24 s).
    pub fn push(&mut self, path: &str, chunk: &[u8]) -> Result<Progress, Error> {
        let i = self.file(path)?;
        let mut tape = std::mem::take(&mut self.tape);
        let f = &mut self.files[i];
        tape.raw.add(RawCounts::of(chunk, f.check.count_lines));
        f.parser.push(chunk, &mut tape);
        let progress = self.push_tape(path, &tape);
        tape.clear();
        self.tape = tape;
        progress
    }

    /// Runs `f` with file `i`'s parser and its checks as the parser's events.
    fn with_events<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Parser, &mut CheckEvents<'_>) -> R,
    ) -> R {
        let Session {
            compiled,
            files,
            index,
            paths,
            progress,
            tap,
            ..
        } = self;
        let file = &mut files[i];
        let mut ev = CheckEvents {
            check: &mut file.check,
            c: compiled,
            index,
            paths,
            progress,
            tap: tap.as_deref_mut(),
        };
        f(&mut file.parser, &mut ev)
    }

    /// Whether the header of the file at `path` has been read (its kind decided).
    pub(crate) fn header_read(&self, path: &str) -> bool {
        self.by_path
            .get(path)
            .is_some_and(|&i| self.files[i].check.records >= 1)
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
        self.with_events(i, |parser, ev| parser.finish(ev));
        let f = &mut self.files[i];
        f.finished = true;
        f.check.finish_file(&self.compiled, f.parser.decoder());
        if let Some(spare) = f.parser.release() {
            self.spare_csv = Some(spare);
        }
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

    /// Verdicts with this session's reading rules and no file: what a bundle written
    /// before the check ends reads with ([`crate::bundle::Expected`]).
    pub(crate) fn reading_verdicts(&self) -> Verdicts {
        Verdicts {
            files: Vec::new(),
            limits: self.options.limits(),
            dialect: self.compiled.target.dialect.clone(),
        }
    }

    /// Like [`Session::finish`], and also says, per file, which rows have errors (all of
    /// them, not only those listed under the cap): what [`crate::bundle`] needs to write
    /// valid rows and reject the others.
    pub fn finish_with_verdicts(mut self) -> (Report, Verdicts) {
        let reading = self.reading_verdicts();
        self.finish_open_files();
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
                ..reading
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

    /// Index heap after an enrollments-only delta of `rows` rows over 500 users, 50
    /// sections and 20 courses (none defined in the bundle), in scrambled order.
    fn delta(rows: u64, row_verdicts: bool) -> (u64, Report) {
        delta_then(rows, row_verdicts, None)
    }

    /// [`delta`], then `then` (path, bytes) pushed after the enrollments.
    fn delta_then(rows: u64, row_verdicts: bool, then: Option<(&str, &str)>) -> (u64, Report) {
        let mut s = Session::with_options(
            targets::canvas(),
            Options {
                row_verdicts,
                ..Options::default()
            },
        )
        .unwrap();
        let mut csv = String::from("course_id,section_id,user_id,role,status\n");
        for r in 0..rows {
            let (u, sec) = ((r * 7919) % 500, (r * 104_729) % 50);
            csv += &format!("C{},S{sec},U{u},student,active\n", sec % 20);
        }
        s.push("enrollments.csv", csv.as_bytes()).unwrap();
        s.finish_file("enrollments.csv").unwrap();
        let heap = s.index_heap().0;
        if let Some((path, text)) = then {
            s.push(path, text.as_bytes()).unwrap();
        }
        (heap, s.finish())
    }

    /// A users file of `rows` rows (ids in scrambled order, a repeated login every 1,000
    /// rows) and where its row 5,000 ends (0 if it has fewer).
    fn users_csv(rows: usize) -> (String, usize) {
        let mut csv = String::from("user_id,login_id,first_name,last_name,email,status\r\n");
        let mut at_5000 = 0;
        for r in 0..rows {
            if r == 5_000 {
                at_5000 = csv.len();
            }
            let u = (r * 7919) % rows;
            let login = if r % 1_000 == 999 { r - 1 } else { r };
            csv +=
                &format!("U{u:07},login.{login:07},Ana,\"Núñez, Jr\",a{r}@example.edu,active\r\n");
        }
        (csv, at_5000)
    }

    /// [`users_csv`] checked, `hint` its size or not: the index's table slots once 5,000
    /// rows are in and at the end, and the report.
    fn users_with_hint(rows: usize, hint: Option<u64>) -> (usize, usize, Report) {
        let mut s = Session::new(targets::canvas()).unwrap();
        let (csv, at_5000) = users_csv(rows);
        if let Some(h) = hint {
            s.size_hint("users.csv", h);
        }
        // Row 5,000 ends in the second push.
        s.push("users.csv", &csv.as_bytes()[..at_5000 - 10])
            .unwrap();
        s.push("users.csv", &csv.as_bytes()[at_5000 - 10..at_5000])
            .unwrap();
        let early = s.index.slot_count();
        s.push("users.csv", &csv.as_bytes()[at_5000..]).unwrap();
        s.finish_file("users.csv").unwrap();
        (early, s.index.slot_count(), s.finish())
    }

    /// With its size known, a file's key stores (its user ids, its logins) are sized for
    /// it once its first rows are in, and never rebuilt after; without, they grow. The
    /// report is the same either way, with a hint too small or too large as well.
    #[test]
    fn a_size_hint_sizes_the_stores_once() {
        let rows = 60_000;
        let (early, end, report) = users_with_hint(rows, None);
        assert!(early < end, "{early} {end}");
        assert_eq!(report.summary.errors, 60, "repeated logins");
        let size = users_csv(rows).0.len() as u64;
        let (h_early, h_end, h_report) = users_with_hint(rows, Some(size));
        assert_eq!(h_early, h_end, "rebuilt after the hint");
        assert!(
            h_end >= end * 7 / 10 && h_end <= end * 13 / 10,
            "{h_end} vs {end}"
        );
        assert_eq!(h_report, report);
        for wrong in [0, 100, size / 10, size * 10] {
            assert_eq!(users_with_hint(rows, Some(wrong)).2, report, "hint {wrong}");
        }
        // A hint that lies (a terabyte for 60,000 rows) sizes the stores for at most 16
        // times the keys of the first 4,096 rows (as many slots as 5,000 rows take, 16
        // times), not for a terabyte's rows (millions of slots).
        let (_, lied, lied_report) = users_with_hint(rows, Some(1 << 40));
        let (first, ..) = users_with_hint(5_001, None);
        assert!(lied < first * 16, "{lied} slots vs {first} for 5,000 rows");
        assert_eq!(lied_report, report);
    }

    /// Without row verdicts, a delta's memory depends on the distinct values it
    /// references, not on its rows; with them, rejectable rows are kept one by one.
    #[test]
    fn delta_memory_grows_with_ids_not_rows() {
        let (small, big) = (delta(5_000, false), delta(50_000, false));
        assert_eq!(small.0, big.0, "index heap at 5,000 rows vs 50,000");
        let (tracked, report) = delta(50_000, true);
        assert!(tracked > delta(5_000, true).0);
        // Rows counted in one step or one by one: the same report.
        assert_eq!(big.1, report);
        assert_eq!(
            report.summary.warnings,
            50_000 * 3,
            "course, section and user"
        );
        // Sections read after the enrollments, each in another course than the enrollments
        // say: every row is an error, decided at the end, counted the same either way.
        let mut sections = String::from("section_id,course_id,name,status\n");
        for sec in 0..50 {
            sections += &format!("S{sec},C{},Section {sec},active\n", (sec + 1) % 20);
        }
        let late = Some(("sections.csv", sections.as_str()));
        let (counted, listed) = (
            delta_then(50_000, false, late).1,
            delta_then(50_000, true, late).1,
        );
        assert_eq!(counted, listed);
        assert_eq!(listed.summary.errors, 50_000, "{:?}", listed.summary);
        // Sections of even number in the course the enrollments say, odd ones in another:
        // only the rows of odd sections are errors, and each names its own course.
        let mut sections = String::from("section_id,course_id,name,status\n");
        for sec in 0..50 {
            let course = if sec % 2 == 0 {
                sec % 20
            } else {
                (sec + 1) % 20
            };
            sections += &format!("S{sec},C{course},Section {sec},active\n");
        }
        let (_, half) = delta_then(5_000, true, Some(("sections.csv", sections.as_str())));
        let odd = (0..5_000u64)
            .filter(|r| (r * 104_729) % 50 % 2 == 1)
            .count();
        assert_eq!(half.summary.errors, odd as u64, "{:?}", half.summary);
        let f = (half.files.iter().flat_map(|f| &f.findings))
            .find(|f| f.code == "ref.inconsistent")
            .unwrap();
        let sec: u64 = f.value.as_deref().unwrap()[1..].parse().unwrap();
        let says = format!(
            "belongs to course_id `C{}` in sections (row {} of sections.csv), but this row says course_id `C{}`",
            (sec + 1) % 20,
            sec + 2,
            sec % 20
        );
        assert!(f.message.ends_with(&says), "{}", f.message);
    }

    /// The csv-core reader a file leaves behind (inside an unclosed quote, or in the middle
    /// of a record over the limit) reads the next file as a new reader would.
    #[test]
    fn next_file_reads_as_new_on_a_used_reader() {
        let terms = "term_id,name,status\r\nT1,\"Fall, 2026\",active\r\nT2,\"Spring\",bogus\r\n";
        let left_behind = [
            "user_id,login_id,status\r\nu1,\"l1,active\r\n",
            "user_id,login_id,status\r\nu1,l1,active,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ];
        let run = |first: Option<&str>| {
            let mut s = Session::with_options(targets::canvas(), options(40, 100)).unwrap();
            if let Some(first) = first {
                s.push("a.csv", first.as_bytes()).unwrap();
                s.finish_file("a.csv").unwrap();
            }
            let reused = s.spare_csv.is_some();
            s.push("b.csv", terms.as_bytes()).unwrap();
            s.finish_file("b.csv").unwrap();
            let report = s.finish();
            (reused, report.files.into_iter().find(|f| f.path == "b.csv"))
        };
        // Alone, b.csv is read by a new reader.
        let (reused, fresh) = run(None);
        assert!(!reused);
        let fresh = fresh.unwrap();
        assert_eq!(fresh.kind.as_deref(), Some("terms"));
        assert_eq!(fresh.findings.len(), 1, "{:?}", fresh.findings);
        for first in left_behind {
            let (reused, after) = run(Some(first));
            assert!(reused, "{first:?} left no reader");
            assert_eq!(after.as_ref(), Some(&fresh), "after {first:?}");
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
