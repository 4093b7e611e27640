//! `preflight bundle`: check, then write what the platform accepts.
//!
//! Two passes over the inputs: a check (which rows and files have errors), then the core's
//! [`Bundler`] streams each planned file into a temporary file beside OUT, renamed into
//! place only when complete. On two cores the second pass runs beside the first, for the
//! plan a clean check gives ([`overlap`]). Exit codes: 0 written (also with
//! `--drop-invalid`), 1 refused because of errors (nothing written, no temporary file
//! left), 2 could not run.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use validator_core::bundle::{BundleOptions, Bundler, Expected, Plan, Timestamp, plan};
use validator_core::schema::BundleFormat;
use validator_core::{Finding, Options, Report, Session, Severity, Target, Verdicts};

use crate::error::Error;
use crate::input::Inputs;

mod overlap;

/// Arguments of `preflight bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// Platform to bundle for (see `preflight targets`), or `auto`
    #[arg(long, default_value = "canvas")]
    pub target: String,
    /// Target file (TOML or JSON); selects the target by itself
    #[arg(long = "target-file", value_name = "FILE")]
    pub target_file: Option<PathBuf>,
    /// Sunbird location type sent with a location upload (state, district, block, cluster, school)
    #[arg(long = "location-type", value_name = "TYPE")]
    pub location_type: Option<String>,
    /// A value a target asks the host for (e.g. `product=enrollment` for an Encoura layout)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub param: Vec<String>,
    /// Output file: a .zip, or a .csv for single-file platforms
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub out: PathBuf,
    /// Write only the valid rows; rejected rows go to the rejects file
    #[arg(long = "drop-invalid")]
    pub drop_invalid: bool,
    /// Where rejected rows go (default: `<OUT stem>.rejected.csv` beside OUT)
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Timestamp of the ZIP entries, `YYYY-MM-DDTHH:MM:SS` (default: the newest input's
    /// modification time, so the same inputs give the same bytes)
    #[arg(long, value_name = "TIME")]
    pub timestamp: Option<String>,
    /// Threads: with 2 (the default on a machine with two cores or more) the bundle is
    /// written while the check runs, and kept when the check finds nothing to refuse or
    /// reject; with 1, or when it does, it is written after the check. Same bytes either way
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Input limits
    #[command(flatten)]
    pub limits: LimitArgs,
    /// CSV files, folders or .zip archives
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// The wire format the platform takes, whatever the target file says (set by `submit`).
    #[arg(skip)]
    pub format: Option<BundleFormat>,
    /// Put files no kind matches into the bundle unchanged instead of refusing them (set by
    /// `submit --force`: what the user gave is sent, not silently left out).
    #[arg(skip)]
    pub unchanged: bool,
    /// Check structure, encoding and quoting only, every header accepted (set by `submit`
    /// for a Watershed or Encoura profile without `target_file`; `target` names the platform).
    #[arg(skip)]
    pub any_header: bool,
}

/// Limits on what one input may make the validator hold (check, bundle, submit).
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Longest record (row) in bytes; a longer one is an error at its row and the rest of
    /// its file is not read
    #[arg(long = "max-record-bytes", value_name = "BYTES", default_value_t = validator_core::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: u64,
    /// Most cells in a row (the header included); more is an error at that row and the rest
    /// of the file is not read
    #[arg(long = "max-columns", value_name = "N", default_value_t = validator_core::DEFAULT_MAX_COLUMNS)]
    pub max_columns: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        LimitArgs {
            max_record_bytes: validator_core::DEFAULT_MAX_RECORD_BYTES,
            max_columns: validator_core::DEFAULT_MAX_COLUMNS,
        }
    }
}

impl LimitArgs {
    /// Sets these limits on session options.
    pub fn apply(&self, options: Options) -> Options {
        Options {
            max_record_bytes: self.max_record_bytes,
            max_columns: self.max_columns,
            ..options
        }
    }
}

/// A check and, unless refused, a bundle written to `args.out`.
pub struct Prepared {
    /// The check's report.
    pub report: Report,
    /// What went (or would have gone) into the bundle.
    pub plan: Plan,
    /// What was written; `None` when refused (`plan.blocking` says why).
    pub summary: Option<validator_core::bundle::BundleSummary>,
    /// The lock on the written bundle (held from its first byte), so that another run's
    /// sweep of stale files leaves it alone while this one may still send it.
    pub out_lock: Option<File>,
    /// The inputs (for rendering the report with source lines).
    pub inputs: Inputs,
    /// The target checked against.
    pub target: Target,
    /// Where rejected rows went (with `--drop-invalid`).
    pub rejects: PathBuf,
}

impl Prepared {
    /// Says on `out` why the bundle was refused: `what (N errors; detail):`, the reasons,
    /// then what to do.
    pub fn refused(&self, out: &mut dyn Write, what: &str, detail: &str, hint: &str) {
        let _ = writeln!(
            out,
            "preflight: {what} ({} errors; {detail}):",
            self.report.summary.errors
        );
        for why in &self.plan.blocking {
            let _ = writeln!(out, "  - {why}");
        }
        let _ = writeln!(out, "{hint}");
    }
}

/// Checks the inputs, then bundles them unless the plan is refused. With `force`, errors do
/// not refuse the bundle: the files are written as they are (repairs still applied), for
/// a platform that should report the errors itself.
pub fn prepare(args: &BundleArgs, force: bool) -> Result<Prepared, Error> {
    let rejects = args
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects(&args.out));
    check_outputs(
        &args.out,
        args.drop_invalid.then_some(&rejects),
        &args.paths,
    )?;
    sweep_stale(&args.out);
    sweep_stale(&rejects);
    let mut inputs = Inputs::collect(&args.paths)?;
    let mut target = if args.any_header {
        any_header_target(&args.target, &mut inputs)?
    } else {
        crate::target::choose(&args.target, args.target_file.as_deref(), &mut inputs)?
    };
    if let Some(format) = args.format {
        target.bundle.format = format;
    }
    let timestamp = match &args.timestamp {
        Some(t) => Timestamp::parse(t).ok_or_else(|| {
            Error::Usage(format!(
                "--timestamp '{t}' is not YYYY-MM-DDTHH:MM:SS between 1980 and 2107"
            ))
        })?,
        None => newest_mtime(&args.paths),
    };
    let order = crate::detected_order(&mut inputs, &target)?;
    let options = args.limits.apply(Options {
        params: crate::target::params(args.location_type.as_deref(), &args.param)?,
        ..Options::default()
    });
    let mut session = Session::with_options(target.clone(), options)?;
    let bundle_options = BundleOptions {
        drop_invalid: args.drop_invalid,
        timestamp,
    };
    let mut overlap = if host_cli::split::threads(args.threads) > 1 {
        let files: Option<Vec<(&str, &str)>> = order
            .iter()
            .map(|(i, kind)| Some((inputs.entries[*i].path.as_str(), kind.as_deref()?)))
            .collect();
        files
            .and_then(|files| Expected::new(&target, &session, &files))
            .and_then(|expected| {
                overlap::Overlap::start(&target, expected, bundle_options, &args.out)
            })
    } else {
        None
    };
    for (i, _) in &order {
        let path = inputs.entries[*i].path.clone();
        if let Some(o) = &mut overlap {
            o.begin(&path);
        }
        if let Some(bytes) = inputs.size(*i) {
            session.size_hint(&path, bytes);
        }
        inputs.try_for_each_chunk(*i, |chunk| -> Result<bool, Error> {
            session.push(&path, chunk)?;
            if let Some(o) = &mut overlap {
                o.chunk(chunk);
            }
            // Past a record over a limit the session wants no more of the file.
            Ok(session.wants(&path))
        })?;
        session.finish_file(&path)?;
        if let Some(o) = &mut overlap {
            o.end();
        }
    }
    // What `check` says about the inputs themselves (skipped non-CSV files, nested ZIPs,
    // special files, names differing in case) belongs in this report too.
    for finding in inputs.take_findings(&target) {
        session.add_finding(finding);
    }
    let (report, verdicts) = session.finish_with_verdicts();
    let mut plan = plan(&target, &report, &verdicts, args.drop_invalid);
    // Files no kind matches: sent as they are under `submit --force`, never left out.
    let unchanged: Vec<(String, String, u64)> = if args.unchanged && !args.drop_invalid {
        report
            .files
            .iter()
            .filter(|f| f.kind.as_deref().and_then(|k| target.kind(k)).is_none())
            .map(|f| (f.path.clone(), base_name(&f.path), f.rows))
            .collect()
    } else {
        Vec::new()
    };
    let mut prepared = Prepared {
        report,
        plan: plan.clone(),
        summary: None,
        inputs,
        target,
        rejects,
        out_lock: None,
    };
    if force {
        plan.blocking
            .retain(|b| b.contains("one CSV file per upload"));
    }
    let written = plan.entries.iter().filter(|e| e.rejected.is_none()).count();
    if prepared.target.bundle.format == BundleFormat::Csv
        && !unchanged.is_empty()
        && written + unchanged.len() > 1
    {
        let mut names: Vec<&str> = plan
            .entries
            .iter()
            .filter(|e| e.rejected.is_none())
            .map(|e| e.source.as_str())
            .chain(unchanged.iter().map(|u| u.0.as_str()))
            .collect();
        names.sort_unstable();
        return Err(Error::Usage(format!(
            "{} takes one CSV file per upload; {} files were given ({}): nothing was sent",
            prepared.target.title(),
            names.len(),
            names.join(", ")
        )));
    }
    if !plan.blocking.is_empty() {
        return Ok(prepared);
    }
    if prepared.target.bundle.format == BundleFormat::Csv && written == 0 && unchanged.is_empty() {
        return Err(Error::Usage("nothing to bundle: no valid file".into()));
    }
    let mut names: Vec<&str> = plan.entries.iter().map(|e| e.name.as_str()).collect();
    for (source, name, _) in &unchanged {
        if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(Error::Usage(format!(
                "'{source}' matches no {} file kind and would be sent unchanged as {name}, but the upload already has a {name}: rename it",
                prepared.target.title()
            )));
        }
        names.push(name);
    }
    let written = match overlap {
        Some(o) if unchanged.is_empty() => o.finish(&plan, &verdicts),
        _ => None,
    };
    let (summary, lock) = match written {
        Some(w) => (w.summary, put_in_place(w.sink, w.temp, &args.out)?),
        None => write(
            &prepared.target,
            &plan,
            &prepared.report,
            &verdicts,
            &mut prepared.inputs,
            args,
            bundle_options,
            &prepared.rejects,
            &unchanged,
        )?,
    };
    prepared.summary = Some(summary);
    prepared.out_lock = lock;
    Ok(prepared)
}

/// Runs `preflight bundle`.
pub fn run(args: &BundleArgs) -> Result<ExitCode, Error> {
    let prepared = prepare(args, false)?;
    let stderr = &mut io::stderr().lock();
    let Some(summary) = &prepared.summary else {
        prepared.refused(
            stderr,
            "bundle refused",
            "nothing written",
            "run `preflight check` for the findings, or add --drop-invalid to write only valid rows",
        );
        return Ok(ExitCode::from(1));
    };
    for e in prepared.plan.entries.iter().filter(|e| e.kind.is_empty()) {
        if let Some(why) = &e.rejected {
            let _ = writeln!(
                stderr,
                "preflight: left out of the bundle: {why} (its rows are in {})",
                prepared.rejects.display()
            );
        }
    }
    let out = &mut io::stdout().lock();
    print_summary(summary, &prepared.rejects, out)?;
    print_file_warnings(&prepared.report, out)?;
    writeln!(out, "wrote {}", args.out.display()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// File-level warnings shown by `bundle` and `submit`, at most this many.
const FILE_WARNINGS_SHOWN: usize = 20;

/// The report's file-level warnings (no row: a skipped non-CSV file, a ZIP inside a ZIP, a
/// FIFO in a folder, names differing only in case, ...): `check` shows them, and a bundle
/// or an upload must not hide what it left out.
pub fn print_file_warnings(report: &Report, out: &mut dyn Write) -> Result<(), Error> {
    let warnings: Vec<&Finding> = report
        .findings
        .iter()
        .chain(report.files.iter().flat_map(|f| &f.findings))
        .filter(|f| f.severity == Severity::Warning && f.row.is_none())
        .collect();
    for f in warnings.iter().take(FILE_WARNINGS_SHOWN) {
        let file = f
            .file
            .as_deref()
            .map(|p| format!("{}: ", host_cli::names::escape(p)))
            .unwrap_or_default();
        writeln!(out, "  warning: {file}{} [{}]", f.message, f.code).map_err(Error::Output)?;
    }
    if warnings.len() > FILE_WARNINGS_SHOWN {
        writeln!(
            out,
            "  ... and {} more file warnings (`preflight check` lists them)",
            warnings.len() - FILE_WARNINGS_SHOWN
        )
        .map_err(Error::Output)?;
    }
    Ok(())
}

/// The entries written, the changes made and where rejected rows went.
pub fn print_summary(
    summary: &validator_core::bundle::BundleSummary,
    rejects: &Path,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(Error::Output);
    for e in &summary.entries {
        w(
            out,
            format!("{}  ←  {}  ({} rows)", e.name, e.source, e.rows),
        )?;
    }
    for c in &summary.changes {
        if c.contains(": sent unchanged as ") {
            w(out, format!("  warning: {c}"))?;
        } else {
            w(out, format!("  changed: {c}"))?;
        }
    }
    if summary.rejected > 0 {
        w(
            out,
            format!(
                "{} rejected rows written to {}",
                summary.rejected,
                rejects.display()
            ),
        )?;
    }
    Ok(())
}

/// `<OUT stem>.rejected.csv` beside OUT.
fn default_rejects(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "bundle".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.rejected.csv"))
}

/// A target for a platform whose columns are the institution's own (Watershed, Encoura)
/// when no target file says which: one kind per distinct header among the inputs, every
/// column accepted, so structure, encoding (UTF-8) and strict quoting are still checked,
/// and Encoura's quoted values; the columns are not.
fn any_header_target(platform: &str, inputs: &mut Inputs) -> Result<Target, Error> {
    let mut t = Target::new(platform);
    t.title = match platform {
        "watershed" => "Watershed",
        "encoura" => "Encoura",
        other => other,
    }
    .to_owned();
    // Encoura's text qualifier: every value quoted (a warning; the bundle quotes them).
    t.require_quoted = platform == "encoura";
    t.bundle.quote_all = platform == "encoura";
    t.bundle.format = BundleFormat::Csv;
    // The headers, read by the core from each file's first chunk (no kinds: nothing else
    // is checked in this pass).
    let mut probe = Session::new(t.clone())?;
    let mut buf = Vec::new();
    for i in 0..inputs.entries.len() {
        inputs.prefix(i, &mut buf)?;
        let path = inputs.entries[i].path.clone();
        probe.push(&path, &buf)?;
        probe.finish_file(&path)?;
    }
    for f in probe.finish().files {
        let named: Vec<String> = f.header.iter().filter(|h| !h.is_empty()).cloned().collect();
        if named.is_empty() || t.kinds.iter().any(|k| k.columns == f.header) {
            continue;
        }
        let mut k = validator_core::schema::Kind::new(&format!("file{}", t.kinds.len() + 1), &[]);
        k.columns = f.header.clone();
        k.detect.all = named;
        k.case_sensitive_header = true;
        k.file_name = base_name(&f.path);
        t.kinds.push(k);
    }
    Ok(t)
}

/// The last component of an input path (`a/b.zip/c/x.csv` → `x.csv`).
fn base_name(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_owned()
}

/// Refuses output paths that name an input (also a file inside a folder argument, or the
/// same file by another name: symlink or hard link) or each other, before anything is read.
pub fn check_outputs(out: &Path, rejects: Option<&Path>, inputs: &[PathBuf]) -> Result<(), Error> {
    let clash = |what: &str, other: &str| {
        Error::Usage(format!(
            "{what} would overwrite {other}: choose another output path"
        ))
    };
    let mut outputs = vec![("-o", out)];
    if let Some(r) = rejects {
        if same_path(out, r) {
            return Err(clash(
                &format!("--rejects '{}'", r.display()),
                &format!("the bundle (-o '{}')", out.display()),
            ));
        }
        outputs.push(("--rejects", r));
    }
    for (flag, path) in outputs {
        for input in inputs {
            if let Some(hit) = find_in(input, path) {
                return Err(clash(
                    &format!("{flag} '{}'", path.display()),
                    &format!("the input '{}'", hit.display()),
                ));
            }
        }
    }
    Ok(())
}

/// The canonical form of `p`, also when it does not exist yet (its folder canonicalised).
fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), p.file_name()) {
        (Ok(d), Some(n)) => d.join(n),
        _ => p.to_path_buf(),
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    if canonical(a) == canonical(b) {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    false
}

/// `input` itself, or the file under the folder `input`, that is `out`.
fn find_in(input: &Path, out: &Path) -> Option<PathBuf> {
    if same_path(input, out) {
        return Some(input.to_path_buf());
    }
    if !input.is_dir() {
        return None;
    }
    // A new file cannot be an input; an existing one may be, by any name under the folder.
    if !out.exists() {
        return None;
    }
    let mut stack = vec![input.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(_) if same_path(&p, out) => return Some(p),
                _ => {}
            }
        }
    }
    None
}

/// Files to remove if the process is stopped (Ctrl-C, SIGTERM, SIGHUP): temporary files
/// being written and outgoing bundles, i.e. copies of the students' data.
static PENDING: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Registers `path` for removal if the process is stopped.
pub fn remove_if_stopped(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.push(path.to_path_buf());
    }
}

/// Removes `path` and forgets it.
pub fn remove_now(path: &Path) {
    let _ = std::fs::remove_file(path);
    if let Ok(mut p) = PENDING.lock() {
        p.retain(|x| x != path);
    }
}

/// On Ctrl-C, SIGTERM or SIGHUP: remove every registered file, then exit 130. `ctrlc` runs
/// the handler on its own thread (not in signal context), so removing files there is safe.
/// A SIGKILL cannot be caught: [`sweep_stale`] removes what it leaves at the next start.
pub fn clean_up_on_signals() {
    let _ = ctrlc::set_handler(|| {
        if let Ok(p) = PENDING.lock() {
            for path in p.iter() {
                let _ = std::fs::remove_file(path);
            }
        }
        // No message: the main thread may hold stderr's lock, and waiting for it would keep
        // the process (and the files it is told to drop) alive until the upload ends.
        std::process::exit(130);
    });
}

/// The suffix of every temporary file (`.<name>.<pid>-<n>.preflight.tmp`).
const TEMP_SUFFIX: &str = ".preflight.tmp";

/// Removes temporary files beside `path` left by a killed run: those whose writer's lock
/// (held while it writes, released by the OS when the process dies) can be taken.
pub fn sweep_stale(path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{name}.");
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(TEMP_SUFFIX) {
            remove_if_unlocked(&e.path());
        }
    }
}

/// Removes `path` unless a live process holds its lock. A `.new` file is one a writer has
/// just created and not yet locked (see [`Temp::beside`]): it is left alone unless it is
/// older than [`NEW_FILE_GRACE`], so that a parallel run's sweep cannot pull it from under
/// its writer (ten parallel `submit`s lost their bundle that way).
pub fn remove_if_unlocked(path: &Path) {
    if path.extension().is_some_and(|e| e == "new") {
        let young = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age < NEW_FILE_GRACE);
        if young {
            return;
        }
    }
    if let Ok(f) = File::open(path)
        && f.try_lock().is_ok()
    {
        let _ = std::fs::remove_file(path);
    }
}

/// How long a created-but-not-yet-locked `.new` file is left to its writer (a rename away).
const NEW_FILE_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// A temporary file beside `path`, named uniquely per process and writer, locked while
/// open, removed on drop (or on a signal) unless persisted.
struct Temp {
    path: PathBuf,
    file: Option<File>,
    kept: bool,
}

impl Temp {
    fn beside(path: &Path) -> Result<Temp, Error> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = path
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_file_name(format!(".{name}.{}-{n}{TEMP_SUFFIX}", std::process::id()));
        let err = |source| Error::Write {
            path: tmp.display().to_string(),
            source,
        };
        // Created and locked under a name the sweep ignores, then renamed (the lock follows
        // the file): a concurrent run's sweep never sees it unlocked.
        let new = tmp.with_extension("new");
        remove_if_stopped(&new);
        remove_if_stopped(&tmp);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&new)
            .map_err(err)?;
        file.lock().map_err(err)?;
        std::fs::rename(&new, &tmp).map_err(err)?;
        remove_now(&new);
        Ok(Temp {
            path: tmp,
            file: Some(file),
            kept: false,
        })
    }

    /// Renames the file to `to`; returns the handle holding its lock (the lock stays on
    /// the renamed file while the handle lives).
    fn persist(mut self, to: &Path) -> Result<Option<File>, Error> {
        std::fs::rename(&self.path, to).map_err(|source| Error::Write {
            path: to.display().to_string(),
            source,
        })?;
        self.kept = true;
        remove_now(&self.path);
        Ok(self.file.take())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.kept {
            remove_now(&self.path);
        }
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp = Temp::beside(path)?;
    let mut w = create(&mut tmp)?;
    w.write_all(bytes).map_err(|source| Error::Write {
        path: path.display().to_string(),
        source,
    })?;
    put_in_place(w, tmp, path).map(drop)
}

/// The temporary file's writer (a second handle: the first keeps the lock).
fn create(t: &mut Temp) -> Result<BufWriter<File>, Error> {
    let file = t.file.as_ref().map(File::try_clone);
    match file {
        Some(Ok(f)) => Ok(BufWriter::new(f)),
        Some(Err(source)) => Err(Error::Write {
            path: t.path.display().to_string(),
            source,
        }),
        None => Err(Error::Write {
            path: t.path.display().to_string(),
            source: io::Error::other("temporary file already closed"),
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn write(
    target: &Target,
    plan: &Plan,
    report: &Report,
    verdicts: &Verdicts,
    inputs: &mut Inputs,
    args: &BundleArgs,
    options: BundleOptions,
    rejects_path: &Path,
    unchanged: &[(String, String, u64)],
) -> Result<(validator_core::bundle::BundleSummary, Option<File>), Error> {
    let mut out_tmp = Temp::beside(&args.out)?;
    let sink = create(&mut out_tmp)?;
    let mut rej_tmp = if args.drop_invalid {
        Some(Temp::beside(rejects_path)?)
    } else {
        None
    };
    let rejects = match &mut rej_tmp {
        Some(t) => Some(create(t)?),
        None => None,
    };
    let mut bundler = Bundler::new(target, plan, report, verdicts, options, sink, rejects)?;
    for entry in &plan.entries {
        let Some(i) = inputs.find(&entry.source) else {
            continue;
        };
        bundler.begin(&entry.source)?;
        inputs.try_for_each_chunk(i, |chunk| -> Result<bool, Error> {
            bundler.push(chunk)?;
            Ok(bundler.wants())
        })?;
        bundler.end()?;
    }
    for (source, name, rows) in unchanged {
        let Some(i) = inputs.find(source) else {
            continue;
        };
        bundler.begin_unchanged(name, source, *rows)?;
        inputs.try_for_each_chunk(i, |chunk| -> Result<bool, Error> {
            bundler.push_unchanged(chunk)?;
            Ok(true)
        })?;
    }
    let (sink, rejects, summary) = bundler.finish()?;
    if let (Some(r), Some(t)) = (rejects, rej_tmp) {
        flush(r, &t.path)?;
        if summary.rejected > 0 {
            t.persist(rejects_path)?;
        }
    }
    let lock = put_in_place(sink, out_tmp, &args.out)?;
    Ok((summary, lock))
}

/// Flushes `w` to disk.
fn flush(w: BufWriter<File>, p: &Path) -> Result<(), Error> {
    let file = w.into_inner().map_err(|e| Error::Write {
        path: p.display().to_string(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(|source| Error::Write {
        path: p.display().to_string(),
        source,
    })
}

/// Flushes what was written to `temp` and renames it to `out`; the lock it keeps.
fn put_in_place(sink: BufWriter<File>, temp: Temp, out: &Path) -> Result<Option<File>, Error> {
    flush(sink, out)?;
    temp.persist(out)
}

/// The newest modification time among the inputs (walking folders), as a UTC timestamp.
fn newest_mtime(paths: &[PathBuf]) -> Timestamp {
    fn walk(p: &Path, best: &mut u64) {
        let Ok(meta) = std::fs::metadata(p) else {
            return;
        };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    walk(&e.path(), best);
                }
            }
        } else if let Ok(m) = meta.modified()
            && let Ok(d) = m.duration_since(std::time::UNIX_EPOCH)
        {
            *best = (*best).max(d.as_secs());
        }
    }
    let mut best = 0;
    for p in paths {
        walk(p, &mut best);
    }
    from_unix(best)
}

/// Civil date and time from Unix seconds (UTC): (year, month, day, hour, minute, second).
pub fn from_unix_full(secs: u64) -> (i64, u8, u8, u8, u8, u8) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    )
}

/// Civil date from Unix seconds (UTC), clamped to the ZIP range.
fn from_unix(secs: u64) -> Timestamp {
    let (year, month, day, hour, minute, second) = from_unix_full(secs);
    if year < 1980 {
        return Timestamp::default();
    }
    Timestamp {
        year: year.min(2107) as u16,
        month,
        day,
        hour,
        minute,
        second,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_to_civil() {
        let t = from_unix(1_700_000_000);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2023, 11, 14, 22, 13, 20)
        );
        assert_eq!(from_unix(0), Timestamp::default());
    }

    #[test]
    fn timestamps() {
        assert!(Timestamp::parse("2025-01-31T08:00:00Z").is_some());
        assert!(Timestamp::parse("1979-01-01T00:00:00").is_none());
        assert!(Timestamp::parse("2025-13-01T00:00:00").is_none());
    }
}
