//! `preflight diff OLD NEW`: what an upload changes, row by row, per kind, read as `check`
//! reads both bundles. The core does the work ([`validator_core::diff`]); this host reads
//! the files, in processing order, and pushes the old bundle again when the core asks for
//! the old values of the changes it lists.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use validator_core::diff::{ChangeKind, Diff, DiffOptions, DiffReport, Side};
use validator_core::{Options, Target};

use crate::Format;
use crate::error::Error;
use crate::input::Inputs;
use crate::render::thousands;

/// `preflight diff` arguments.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Platform whose row identity and reading rules apply (see `preflight targets`), or `auto`
    #[arg(long, default_value = "canvas")]
    target: String,
    /// Target file (TOML or JSON target definition, or a Table Schema / Data Package)
    #[arg(long = "target-file", value_name = "FILE")]
    target_file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Changes listed per kind; the counts stay exact
    #[arg(long = "max-changes", value_name = "N", default_value_t = 100)]
    max_changes: usize,
    /// Canvas: also count what batch mode for this term (`batch_mode_term_id`, as in the
    /// files' `term_id`) would delete: the old bundle's courses of the term, their sections
    /// and enrollments, that the new bundle leaves out
    #[arg(long = "batch-term", value_name = "TERM_ID")]
    batch_term: Option<String>,
    /// Input limits
    #[command(flatten)]
    limits: crate::bundle::LimitArgs,
    /// The bundle the platform has (a folder, ZIP or CSV)
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The bundle to upload
    #[arg(value_name = "NEW")]
    new: PathBuf,
}

/// Runs `preflight diff`. Exit status: 0 no change, 1 changes, 2 could not run.
pub fn run(args: &DiffArgs) -> Result<ExitCode, Error> {
    let mut old = Inputs::collect(std::slice::from_ref(&args.old))?;
    let mut new = Inputs::collect(std::slice::from_ref(&args.new))?;
    // `auto` looks at the new bundle: it is the one being sent.
    let target = crate::target::choose(&args.target, args.target_file.as_deref(), &mut new)?;
    let scope = match &args.batch_term {
        Some(term) => Some(
            validator_core::targets::canvas_batch_scope(&target, term).ok_or_else(|| {
                Error::Usage(format!(
                    "--batch-term needs a Canvas target (courses, sections, enrollments); `{}` has no such kinds",
                    target.name
                ))
            })?,
        ),
        None => None,
    };
    let options = DiffOptions {
        max_changes: args.max_changes,
        old_name: args.old.display().to_string(),
        new_name: args.new.display().to_string(),
        session: args.limits.apply(Options::default()),
        scope,
    };
    let report = diff_bundles(&target, options, &mut old, &mut new)?;
    let stdout = io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Output(io::Error::other(e)))?;
            writeln!(out, "{json}").map_err(Error::Output)?;
        }
        Format::Human => render(&report, args.max_changes, color, &mut out)?,
    }
    out.flush().map_err(Error::Output)?;
    let changed = report
        .kinds
        .iter()
        .any(|k| k.added + k.removed + k.changed > 0);
    Ok(ExitCode::from(u8::from(changed)))
}

/// Diffs two collected bundles: pushes OLD, NEW, and OLD again if the core asks.
/// Problems that kept files from being read are printed on stderr.
pub fn diff_bundles(
    target: &Target,
    options: DiffOptions,
    old: &mut Inputs,
    new: &mut Inputs,
) -> Result<DiffReport, Error> {
    let mut d = Diff::new(target.clone(), options).map_err(|e| Error::Usage(e.to_string()))?;
    let old_order = crate::processing_order(old, target)?;
    let new_order = crate::processing_order(new, target)?;
    loop {
        let (inputs, order) = match d.side() {
            Side::Old | Side::OldAgain => (&mut *old, &old_order),
            Side::New => (&mut *new, &new_order),
            Side::Done => break,
        };
        for &i in order {
            let path = inputs.entries[i].path.clone();
            inputs.try_for_each_chunk(i, |chunk| -> Result<bool, Error> {
                d.push(&path, chunk)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                Ok(d.wants(&path))
            })?;
            d.finish_file(&path)
                .map_err(|e| Error::Usage(e.to_string()))?;
        }
        d.end_side();
    }
    let report = d.finish();
    // File-level errors by name; row errors as a count (`preflight check` lists them).
    let (files, rows): (Vec<_>, Vec<_>) = report.problems.iter().partition(|p| p.row.is_none());
    for p in files.iter().take(20) {
        eprintln!(
            "preflight: warning: {}: {} ({})",
            p.file.as_deref().unwrap_or(""),
            p.message,
            p.code
        );
    }
    if files.len() > 20 {
        eprintln!(
            "preflight: warning: and {} more file errors",
            files.len() - 20
        );
    }
    if !rows.is_empty() {
        eprintln!(
            "preflight: warning: {} row errors in the bundles (at least; `preflight check` lists them): rows the platform would skip are compared all the same",
            rows.len()
        );
    }
    Ok(report)
}

/// A table per kind, then the listed changes.
pub fn render(
    r: &DiffReport,
    max_changes: usize,
    color: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(Error::Output);
    w(out, format!("{} → {} ({})", r.old, r.new, r.target))?;
    if r.kinds.is_empty() {
        return w(out, "no file of a known kind in either bundle".into());
    }
    let width = r
        .kinds
        .iter()
        .map(|k| k.kind.len())
        .max()
        .unwrap_or(4)
        .max(4);
    w(
        out,
        format!(
            "{:width$}  {:>9}  {:>9}  {:>9}  {:>9}",
            "kind", "added", "removed", "changed", "unchanged"
        ),
    )?;
    for k in &r.kinds {
        w(
            out,
            format!(
                "{:width$}  {:>9}  {:>9}  {:>9}  {:>9}",
                k.kind,
                thousands(k.added),
                thousands(k.removed),
                thousands(k.changed),
                thousands(k.unchanged)
            ),
        )?;
    }
    if let Some(scope) = &r.scope {
        w(out, String::new())?;
        for s in scope {
            w(
                out,
                format!(
                    "batch mode: {} of the term's {} {} would be deleted ({})",
                    thousands(s.removed),
                    thousands(s.in_scope),
                    s.kind,
                    percent(s.removed, s.in_scope)
                ),
            )?;
        }
    }
    if !r.changes.is_empty() {
        w(out, String::new())?;
    }
    let show = |v: &validator_core::diff::Values| {
        // A blank identity column (an enrollment without section) says nothing.
        v.0.iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(c, v)| format!("{c}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for c in &r.changes {
        let line = match c.change {
            ChangeKind::Added => format!("{} {} {}", paint("32", "+"), c.kind, show(&c.key)),
            ChangeKind::Removed => format!("{} {} {}", paint("31", "-"), c.kind, show(&c.key)),
            ChangeKind::Changed => {
                let cols: Vec<String> = c
                    .columns
                    .iter()
                    .map(|col| format!("{col}: {:?} → {:?}", c.old.get(col), c.new.get(col)))
                    .collect();
                format!(
                    "{} {} {}: {}",
                    paint("33", "~"),
                    c.kind,
                    show(&c.key),
                    cols.join(", ")
                )
            }
        };
        w(out, line)?;
    }
    for k in &r.kinds {
        let listed = r.changes.iter().filter(|c| c.kind == k.kind).count() as u64;
        let total = k.added + k.removed + k.changed;
        if total > listed {
            w(
                out,
                format!(
                    "… and {} more changes of {} not listed (--max-changes {max_changes})",
                    thousands(total - listed),
                    k.kind
                ),
            )?;
        }
    }
    Ok(())
}

/// `n` of `of` as a percentage with one decimal.
pub fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        return "0%".into();
    }
    format!("{:.1}%", n as f64 * 100.0 / of as f64)
}
