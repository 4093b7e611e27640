//! `preflight bundle`: check, then write what the platform accepts.
//!
//! Two passes over the inputs: a check (which rows and files have errors), then the core's
//! [`Bundler`] streams each planned file into a temporary file beside OUT, renamed into
//! place only when complete. Exit codes: 0 written (also with `--drop-invalid`), 1 refused
//! because of errors (nothing written, no temporary file left), 2 could not run.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use validator_core::bundle::{BundleOptions, Bundler, Plan, Timestamp, plan};
use validator_core::schema::BundleFormat;
use validator_core::{Options, Report, Session, Target, Verdicts};

use crate::error::Error;
use crate::input::Inputs;

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
    /// Input limits
    #[command(flatten)]
    pub limits: LimitArgs,
    /// CSV files, folders or .zip archives
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
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
    let mut inputs = Inputs::collect(&args.paths)?;
    let target = crate::target::choose(&args.target, args.target_file.as_deref(), &mut inputs)?;
    let timestamp = match &args.timestamp {
        Some(t) => Timestamp::parse(t).ok_or_else(|| {
            Error::Usage(format!(
                "--timestamp '{t}' is not YYYY-MM-DDTHH:MM:SS between 1980 and 2107"
            ))
        })?,
        None => newest_mtime(&args.paths),
    };
    let order = crate::processing_order(&mut inputs, &target)?;
    let options = args.limits.apply(Options {
        params: crate::target::params(args.location_type.as_deref(), &args.param)?,
        ..Options::default()
    });
    let mut session = Session::with_options(target.clone(), options)?;
    for &i in &order {
        let path = inputs.entries[i].path.clone();
        let mut failed = None;
        inputs.for_each_chunk(i, |chunk| match session.push(&path, chunk) {
            // Past a record over a limit the session wants no more of the file.
            Ok(_) => session.wants(&path),
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        session.finish_file(&path)?;
    }
    let (report, verdicts) = session.finish_with_verdicts();
    let mut plan = plan(&target, &report, &verdicts, args.drop_invalid);
    let rejects = args
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects(&args.out));
    let mut prepared = Prepared {
        report,
        plan: plan.clone(),
        summary: None,
        inputs,
        target,
        rejects,
    };
    if force {
        plan.blocking
            .retain(|b| b.contains("one CSV file per upload"));
    }
    if !plan.blocking.is_empty() {
        return Ok(prepared);
    }
    if prepared.target.bundle.format == BundleFormat::Csv
        && plan.entries.iter().all(|e| e.rejected.is_some())
    {
        return Err(Error::Usage("nothing to bundle: no valid file".into()));
    }
    let summary = write(
        &prepared.target,
        &plan,
        &prepared.report,
        &verdicts,
        &mut prepared.inputs,
        args,
        timestamp,
        &prepared.rejects,
    )?;
    prepared.summary = Some(summary);
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
    let out = &mut io::stdout().lock();
    print_summary(summary, &prepared.rejects, out)?;
    writeln!(out, "wrote {}", args.out.display()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
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
        w(out, format!("  changed: {c}"))?;
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

/// A temporary file beside `path`, removed on drop unless persisted.
struct Temp {
    path: PathBuf,
    kept: bool,
}

impl Temp {
    fn beside(path: &Path) -> Temp {
        let name = path
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        Temp {
            path: path.with_file_name(format!(".{name}.{}.tmp", std::process::id())),
            kept: false,
        }
    }

    fn persist(mut self, to: &Path) -> Result<(), Error> {
        std::fs::rename(&self.path, to).map_err(|source| Error::Write {
            path: to.display().to_string(),
            source,
        })?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = Temp::beside(path);
    let mut w = create(&tmp)?;
    w.write_all(bytes).map_err(|source| Error::Write {
        path: path.display().to_string(),
        source,
    })?;
    let file = w.into_inner().map_err(|e| Error::Write {
        path: path.display().to_string(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(|source| Error::Write {
        path: path.display().to_string(),
        source,
    })?;
    tmp.persist(path)
}

fn create(t: &Temp) -> Result<BufWriter<File>, Error> {
    File::create(&t.path)
        .map(BufWriter::new)
        .map_err(|source| Error::Write {
            path: t.path.display().to_string(),
            source,
        })
}

#[allow(clippy::too_many_arguments)]
fn write(
    target: &Target,
    plan: &Plan,
    report: &Report,
    verdicts: &Verdicts,
    inputs: &mut Inputs,
    args: &BundleArgs,
    timestamp: Timestamp,
    rejects_path: &Path,
) -> Result<validator_core::bundle::BundleSummary, Error> {
    let out_tmp = Temp::beside(&args.out);
    let rej_tmp = Temp::beside(rejects_path);
    let sink = create(&out_tmp)?;
    let rejects = if args.drop_invalid {
        Some(create(&rej_tmp)?)
    } else {
        None
    };
    let options = BundleOptions {
        drop_invalid: args.drop_invalid,
        timestamp,
    };
    let mut bundler = Bundler::new(target, plan, report, verdicts, options, sink, rejects)?;
    for entry in &plan.entries {
        let Some(i) = inputs.find(&entry.source) else {
            continue;
        };
        bundler.begin(&entry.source)?;
        let mut failed = None;
        inputs.for_each_chunk(i, |chunk| match bundler.push(chunk) {
            Ok(()) => bundler.wants(),
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        bundler.end()?;
    }
    let (sink, rejects, summary) = bundler.finish()?;
    let flush = |w: BufWriter<File>, p: &Path| -> Result<(), Error> {
        let file = w.into_inner().map_err(|e| Error::Write {
            path: p.display().to_string(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| Error::Write {
            path: p.display().to_string(),
            source,
        })
    };
    flush(sink, &out_tmp.path)?;
    if let Some(r) = rejects {
        flush(r, &rej_tmp.path)?;
        if summary.rejected > 0 {
            rej_tmp.persist(rejects_path)?;
        }
    }
    out_tmp.persist(&args.out)?;
    Ok(summary)
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
