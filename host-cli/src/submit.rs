//! `submit`, `status` and the per-platform commands (`imports`, `preview`, `exports`): the
//! CLI side of the HTTP host. The flows themselves are in [`crate::platforms`].
//!
//! `submit` = check → bundle (refused on errors unless `--force`) → journal → upload →
//! (`--wait`) poll to a terminal state → map the platform's problems back onto the user's
//! files and rows, in the same report format as `check`.
//!
//! Exit codes: 0 the platform says the import succeeded (without `--wait`: it was accepted);
//! 1 refused locally because of errors, or the platform reports a failure or rejected rows;
//! 2 could not run (config, network after retries, credentials); 3 a person must act (an
//! Encoura field mapping, an upload whose outcome is unknown, a re-send to confirm, a wait
//! that timed out).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use sha2::{Digest, Sha256};
use validator_core::{FileReport, Finding, Report, Severity, Summary};

use crate::Format;
use crate::bundle::{BundleArgs, Prepared};
use crate::config::{self, Loaded, Platform as Name};
use crate::error::Error;
use crate::http::{Http, Policy};
use crate::journal::{self, Entry, Journal, State};
use crate::platforms::{self, Phase, Platform, Status, Upload};
use crate::secrets::redact;

/// Which profile, and how loudly.
#[derive(Debug, Args)]
pub struct Conn {
    /// Profile name: a `[profiles.NAME]` table of the config file
    #[arg(long, value_name = "NAME")]
    pub profile: String,
    /// Config file (default: $PREFLIGHT_CONFIG, else ./preflight.toml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print each HTTP call (method, URL, status, time; never secrets) on stderr
    #[arg(short, long)]
    pub verbose: bool,
}

impl Conn {
    /// The profile and a client configured from it.
    pub fn open(&self) -> Result<(Loaded, Http), Error> {
        let profile = config::load(self.config.as_deref(), &self.profile)?;
        let http = http_for(&profile, self.verbose);
        Ok((profile, http))
    }
}

fn http_for(profile: &Loaded, verbose: bool) -> Http {
    let p = &profile.profile;
    let defaults = Policy::default();
    Http::new(
        Policy {
            timeout: profile.timeout(),
            retries: p.retries.unwrap_or(defaults.retries),
            backoff: p.backoff_ms.map_or(defaults.backoff, Duration::from_millis),
            upload_timeout: profile.upload_timeout(),
        },
        verbose,
    )
}

/// Arguments of `preflight submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    conn: Conn,
    /// Poll until the import ends, then print the outcome mapped onto your files and rows
    #[arg(long)]
    wait: bool,
    /// Check and bundle, print the requests that would be sent, send nothing
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// Send even when the check finds errors (the platform will report them)
    #[arg(long)]
    force: bool,
    /// Send only the valid rows (rejected rows go to a rejects CSV in the current folder)
    #[arg(long = "drop-invalid")]
    drop_invalid: bool,
    /// Send even if the journal says this bundle was already sent with this profile
    #[arg(long)]
    resend: bool,
    /// Send even when the platform would delete a larger share of a kind than the
    /// profile's `change_threshold` (Canvas batch mode or diffing)
    #[arg(long)]
    yes: bool,
    /// Neither compare with nor keep the last accepted bundle (also: `keep_history = false`)
    #[arg(long = "no-history")]
    no_history: bool,
    /// Sunbird location type of a location upload (overrides the profile's `location_type`)
    #[arg(long = "location-type", value_name = "TYPE")]
    location_type: Option<String>,
    /// A value the target asks for (e.g. `product=enrollment` for an Encoura layout)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    param: Vec<String>,
    /// Output format of the report
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Input limits
    #[command(flatten)]
    limits: crate::bundle::LimitArgs,
    /// CSV files, folders or .zip archives
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

/// Arguments of `preflight status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    conn: Conn,
    /// Poll until the import ends
    #[arg(long)]
    wait: bool,
    /// Output format of the report
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The platform's import id
    #[arg(value_name = "ID")]
    id: String,
}

/// The target a profile's uploads are checked with, and whether it is the permissive one
/// (Watershed or Encoura without `target_file`: every header accepted).
fn check_target(profile: &Loaded) -> (String, Option<PathBuf>, bool) {
    let p = &profile.profile;
    // The platform's name goes along: a Sunbird deployment's profile-config JSON is read as
    // such only for target sunbird.
    let name = p.target.name().to_owned();
    match (&p.target_file, p.target) {
        (Some(f), _) => (name, Some(f.clone()), false),
        (None, Name::Watershed | Name::Encoura) => (name, None, true),
        (None, _) => (name, None, false),
    }
}

/// What `prepare_upload` needs from the command line.
struct Local<'a> {
    force: bool,
    drop_invalid: bool,
    location_type: Option<&'a str>,
    param: &'a [String],
    format: Format,
    paths: &'a [PathBuf],
    limits: crate::bundle::LimitArgs,
}

/// Checks and bundles for a profile; `Err(code)` inside when refused (report printed).
fn prepare_upload(
    profile: &Loaded,
    local: &Local<'_>,
    journal: &Journal,
) -> Result<Result<(Prepared, Upload, Cleanup), ExitCode>, Error> {
    let (target, target_file, any_header) = check_target(profile);
    if any_header {
        let _ = writeln!(
            io::stderr(),
            "preflight: warning: profile '{}' has no `target_file`: structure, encoding and quoting are checked, the columns are NOT ({})",
            profile.name,
            if profile.profile.target == Name::Watershed {
                "`preflight target from-watershed TEMPLATE.json -o FILE` makes one"
            } else {
                "write your layout as one, see examples/encoura/layout.toml"
            }
        );
    }
    let outgoing = journal
        .path()
        .parent()
        .unwrap_or(Path::new("."))
        .join("outgoing");
    std::fs::create_dir_all(&outgoing).map_err(|source| Error::Write {
        path: outgoing.display().to_string(),
        source,
    })?;
    // Outgoing bundles left by a killed run (their lock died with it) are copies of the
    // students' data: removed now.
    for e in std::fs::read_dir(&outgoing).into_iter().flatten().flatten() {
        crate::bundle::remove_if_unlocked(&e.path());
    }
    // The platform decides the wire format, whatever the target file's `bundle.format`.
    let wire_format = profile.profile.target.wire_format();
    let csv = wire_format == validator_core::schema::BundleFormat::Csv;
    let out = outgoing.join(format!(
        "{}.{}.{}",
        profile.name,
        std::process::id(),
        if csv { "csv" } else { "zip" }
    ));
    let mut cleanup = Cleanup {
        path: out.clone(),
        lock: None,
    };
    crate::bundle::remove_if_stopped(&out);
    let location_type = local
        .location_type
        .map(str::to_owned)
        .or_else(|| profile.profile.location_type.clone());
    // The Encoura productType is also what the layout's per-product rules key on.
    let mut param: Vec<String> = profile
        .profile
        .product
        .iter()
        .map(|p| format!("product={p}"))
        .collect();
    param.extend(local.param.iter().cloned());
    let bundle_args = BundleArgs {
        target,
        target_file,
        location_type: location_type.clone(),
        param,
        out: out.clone(),
        drop_invalid: local.drop_invalid,
        rejects: Some(PathBuf::from(format!("{}.rejected.csv", profile.name))),
        timestamp: None,
        paths: local.paths.to_vec(),
        limits: local.limits.clone(),
        threads: None,
        format: Some(wire_format),
        unchanged: local.force,
        any_header,
    };
    let mut prepared = crate::bundle::prepare(&bundle_args, local.force)?;
    let stderr = &mut io::stderr().lock();
    // A parameter only the upload needs (Sunbird's location type) is a warning for check
    // and bundle; nothing can be sent without it. With --force the platform says so.
    if missing_params_are_errors(&mut prepared.report) > 0 && !local.force {
        prepared.summary = None;
        for f in &prepared.report.files {
            if f.findings.iter().any(|x| x.code == "param.missing") {
                let why = format!("{}: file-level errors (param.missing)", f.path);
                prepared.plan.blocking.push(why);
            }
        }
    }
    let Some(summary) = prepared.summary.clone() else {
        crate::write_report(&prepared.report, &mut prepared.inputs, local.format)?;
        prepared.refused(
            stderr,
            "not sent",
            "nothing left this machine",
            &format!(
                "fix them, or add --drop-invalid to send only valid rows, or --force to let {} report them",
                prepared.target.title()
            ),
        );
        return Ok(Err(ExitCode::from(1)));
    };
    // Held (since its first byte) while this run may still send it: the next start
    // removes it only once the lock is gone (this process ended, however).
    cleanup.lock = prepared.out_lock.take();
    let bytes = std::fs::read(&out).map_err(|source| Error::Read {
        path: out.display().to_string(),
        source,
    })?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let file_name = if csv {
        summary
            .entries
            .first()
            .map_or_else(|| "upload.csv".to_owned(), |e| e.name.clone())
    } else {
        format!("{}.zip", profile.name)
    };
    let upload = Upload {
        path: out.clone(),
        file_name,
        kind: prepared.plan.entries.first().map(|e| e.kind.clone()),
        location_type,
        bytes: bytes.len() as u64,
        sha256,
    };
    let _ = crate::bundle::print_summary(&summary, &prepared.rejects, stderr);
    let _ = crate::bundle::print_file_warnings(&prepared.report, stderr);
    Ok(Ok((prepared, upload, cleanup)))
}

/// Rates every `param.missing` finding of `report` an error (an upload cannot go without
/// the parameter); returns how many there are.
fn missing_params_are_errors(report: &mut validator_core::Report) -> usize {
    let mut n = 0;
    let s = &mut report.summary;
    let findings = report
        .files
        .iter_mut()
        .flat_map(|f| f.findings.iter_mut())
        .chain(report.findings.iter_mut());
    for f in findings.filter(|f| f.code == "param.missing") {
        n += 1;
        match f.severity {
            Severity::Error => continue,
            Severity::Warning => s.warnings = s.warnings.saturating_sub(1),
            Severity::Info => s.infos = s.infos.saturating_sub(1),
        }
        f.severity = Severity::Error;
        s.errors += 1;
    }
    n
}

/// Runs `preflight submit`.
pub fn submit(args: &SubmitArgs) -> Result<ExitCode, Error> {
    let (profile, http) = args.conn.open()?;
    let local = Local {
        force: args.force,
        drop_invalid: args.drop_invalid,
        location_type: args.location_type.as_deref(),
        param: &args.param,
        format: args.format,
        paths: &args.paths,
        limits: Default::default(),
    };
    let journal = Journal::open()?;
    let (mut prepared, upload, cleanup) = match prepare_upload(&profile, &local, &journal)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let sha256 = upload.sha256.clone();
    let stderr = &mut io::stderr().lock();
    let history = !args.no_history && profile.profile.keep_history != Some(false);
    // Sent as one CSV: kept and compared under the name it is sent with.
    let csv_name = (profile.profile.target.wire_format()
        == validator_core::schema::BundleFormat::Csv)
        .then_some(upload.file_name.as_str());
    let held = if history {
        crate::impact::before_send(
            &profile,
            journal.path(),
            &prepared.target,
            &upload.path,
            csv_name,
            stderr,
        )?
    } else {
        None
    };
    if let Some(why) = &held {
        if args.dry_run {
            let _ = writeln!(
                stderr,
                "preflight: a real run would hold this upload: {why}; --yes sends it"
            );
        } else if !args.yes {
            let _ = writeln!(
                stderr,
                "preflight: not sent: {why} (the profile's change_threshold); nothing left this machine. Pass --yes to send it anyway"
            );
            return Ok(ExitCode::from(3));
        }
    }
    let mut platform = platforms::connect(&profile, http)?;
    if args.dry_run {
        let out = &mut io::stdout().lock();
        writeln!(
            out,
            "dry run: would send {} ({} bytes, sha256 {sha256}) with profile '{}':",
            upload.file_name, upload.bytes, profile.name
        )
        .map_err(Error::Output)?;
        for line in platform.describe(&upload) {
            writeln!(out, "  {line}").map_err(Error::Output)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let base = profile.profile.base_url.clone().unwrap_or_default();
    // Has this exact bundle gone out with this profile before?
    if let Some(prev) = journal.earlier(&profile.name, &base, &sha256)?.pop() {
        let when = journal::format_time(prev.time);
        let mut known = prev.id.clone();
        if known.is_none()
            && platform.can_recover()
            && let Some(id) = platform.recover(&upload, prev.time.saturating_sub(120))?
        {
            journal.mark_sent(&mut prev.clone(), &id)?;
            let _ = writeln!(
                stderr,
                "preflight: the upload of {when} did reach {}: import {id}",
                prepared.target.title()
            );
            if !args.resend {
                return follow(args, &profile, platform.as_mut(), &id, Some(&mut prepared));
            }
            known = Some(id);
        }
        let what = match &known {
            Some(id) => format!("was already sent on {when} as import {id}"),
            None => format!(
                "may already have been sent on {when} (the answer was lost; no import id is known)"
            ),
        };
        if !args.resend && !confirm(&format!("This bundle {what}. Send it again?")) {
            let _ = writeln!(
                stderr,
                "preflight: not sent: this bundle {what}; pass --resend to send it again{}",
                known
                    .map(|id| format!(
                        ", or see `preflight status --profile {} {id}`",
                        profile.name
                    ))
                    .unwrap_or_default()
            );
            return Ok(ExitCode::from(3));
        }
    }
    let mut entry = Entry {
        time: journal::now(),
        profile: profile.name.clone(),
        platform: profile.profile.target.name().to_owned(),
        base_url: base,
        sha256,
        bytes: upload.bytes,
        file_name: upload.file_name.clone(),
        id: None,
        state: State::Sending,
    };
    journal.add(&entry)?;
    let id = match platform.submit(&upload) {
        Ok(id) => id,
        Err(e) if e.answer_lost() => {
            entry.state = State::Unconfirmed;
            journal.update(&entry)?;
            let _ = writeln!(stderr, "preflight: {}", redact(&e.to_string()));
            if platform.can_recover()
                && let Ok(Some(id)) = platform.recover(&upload, entry.time.saturating_sub(120))
            {
                journal.mark_sent(&mut entry, &id)?;
                let _ = writeln!(
                    stderr,
                    "preflight: the upload did arrive: {} lists it as import {id}",
                    prepared.target.title()
                );
                id
            } else {
                let _ = writeln!(
                    stderr,
                    "preflight: the upload may or may not have reached {}; it was NOT re-sent. \
                     Check the platform, then run submit again (it will look for the import, and ask before re-sending). Journal: {}",
                    prepared.target.title(),
                    journal.path().display()
                );
                return Ok(ExitCode::from(3));
            }
        }
        Err(e) => {
            // The platform refused it (or it never left): nothing was created.
            journal.remove(&entry)?;
            if e.refused_by_platform() {
                // The platform looked at the upload and said no (a header Sunbird rejects,
                // a batch term Canvas cannot find): that is a failed import, exit 1.
                let _ = writeln!(stderr, "preflight: {}", redact(&e.to_string()));
                return Ok(ExitCode::from(1));
            }
            return Err(e);
        }
    };
    journal.mark_sent(&mut entry, &id)?;
    if history
        && let Err(e) =
            crate::history::keep_pending(journal.path(), &profile.name, &id, &upload.path, csv_name)
    {
        let _ = writeln!(
            stderr,
            "preflight: warning: the sent bundle was not kept for the next comparison: {e}"
        );
    }
    // Sent: the outgoing copy of the students' data goes now, not after the wait.
    drop(cleanup);
    follow(args, &profile, platform.as_mut(), &id, Some(&mut prepared))
}

/// After an upload: print the id, and with `--wait` poll and print the outcome.
fn follow(
    args: &SubmitArgs,
    profile: &Loaded,
    platform: &mut dyn Platform,
    id: &str,
    prepared: Option<&mut Prepared>,
) -> Result<ExitCode, Error> {
    {
        let out = &mut io::stdout().lock();
        if args.format == Format::Human || !args.wait {
            writeln!(out, "submitted: import {id}").map_err(Error::Output)?;
        }
    }
    if !args.wait {
        let _ = writeln!(
            io::stderr(),
            "preflight: follow it with `preflight status --profile {} --wait {id}`",
            profile.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    outcome(profile, platform, id, prepared, args.format)
}

/// Runs `preflight status`.
pub fn status(args: &StatusArgs) -> Result<ExitCode, Error> {
    let (profile, http) = args.conn.open()?;
    let mut platform = platforms::connect(&profile, http)?;
    if args.wait {
        return outcome(&profile, platform.as_mut(), &args.id, None, args.format);
    }
    let s = platform.status(&args.id)?;
    settle_history(&profile, &args.id, s.phase);
    print_outcome(&profile, &s, None, args.format)?;
    Ok(exit_for(&s))
}

fn outcome(
    profile: &Loaded,
    platform: &mut dyn Platform,
    id: &str,
    mut prepared: Option<&mut Prepared>,
    format: Format,
) -> Result<ExitCode, Error> {
    match wait(profile, platform, id)? {
        Waited::Done(s) => {
            settle_history(profile, id, s.phase);
            print_outcome(profile, &s, prepared, format)?;
            Ok(exit_for(&s))
        }
        Waited::TimedOut(s, why) => {
            print_outcome(profile, &s, prepared.take(), format)?;
            let _ = writeln!(io::stderr(), "preflight: {why}");
            Ok(ExitCode::from(3))
        }
    }
}

/// An import ended: its kept bundle becomes the profile's last accepted one, or goes.
fn settle_history(profile: &Loaded, id: &str, phase: Phase) {
    let Ok(journal) = Journal::open() else {
        return;
    };
    match phase {
        Phase::Succeeded => {
            if let Err(e) = crate::history::accept(journal.path(), &profile.name, id) {
                let _ = writeln!(io::stderr(), "preflight: warning: {e}");
            }
        }
        Phase::Failed => crate::history::reject(journal.path(), &profile.name, id),
        _ => {}
    }
}

fn exit_for(s: &Status) -> ExitCode {
    match s.phase {
        Phase::Succeeded => ExitCode::SUCCESS,
        Phase::Failed => ExitCode::from(1),
        Phase::NeedsAction | Phase::Queued | Phase::Running => ExitCode::from(3),
    }
}

enum Waited {
    Done(Status),
    TimedOut(Status, String),
}

/// Polls until a terminal phase, with a progress bar on a terminal and one line per state
/// change otherwise.
fn wait(profile: &Loaded, platform: &mut dyn Platform, id: &str) -> Result<Waited, Error> {
    let started = Instant::now();
    let mut queued_since: Option<Instant> = None;
    let tty = io::stderr().is_terminal();
    let bar = if tty {
        let b = indicatif::ProgressBar::new(100);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg:30} [{bar:30}] {pos:>3}%")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut last = String::new();
    loop {
        let s = platform.status(id)?;
        let line = match s.progress {
            Some(p) => format!("{} ({p:.0}%)", s.state),
            None => s.state.clone(),
        };
        if tty {
            bar.set_message(s.state.clone());
            if let Some(p) = s.progress {
                bar.set_position(p.clamp(0.0, 100.0) as u64);
            }
            bar.tick();
        } else if line != last {
            let _ = writeln!(io::stderr(), "preflight: import {id}: {line}");
        }
        last = line;
        if s.phase.is_terminal() {
            bar.finish_and_clear();
            return Ok(Waited::Done(s));
        }
        if s.phase == Phase::Queued {
            let since = *queued_since.get_or_insert_with(Instant::now);
            if since.elapsed() > profile.not_started() {
                bar.finish_and_clear();
                let why = format!(
                    "import {id} is still '{}' after {} s; it may have failed without saying so (Sunbird reports a failed parse as NOT STARTED). Check it on the platform.",
                    s.state,
                    since.elapsed().as_secs()
                );
                return Ok(Waited::TimedOut(s, why));
            }
        } else {
            queued_since = None;
        }
        if started.elapsed() > profile.wait() {
            bar.finish_and_clear();
            let why = format!(
                "gave up waiting after {} s; import {id} is still '{}'",
                started.elapsed().as_secs(),
                s.state
            );
            return Ok(Waited::TimedOut(s, why));
        }
        std::thread::sleep(profile.poll());
    }
}

/// Prints the outcome: a line with the state, then the problems as a report.
fn print_outcome(
    profile: &Loaded,
    s: &Status,
    mut prepared: Option<&mut Prepared>,
    format: Format,
) -> Result<(), Error> {
    let mut report = map_back(profile, s, prepared.as_deref());
    if let Some(p) = prepared.as_deref_mut() {
        add_lines(&mut report, &mut p.inputs)?;
    }
    let out = &mut io::stdout().lock();
    match format {
        Format::Json => {
            let mut v =
                serde_json::to_value(&report).map_err(|e| Error::Output(io::Error::other(e)))?;
            v["import"] = serde_json::json!({
                "platform": profile.profile.target.name(),
                "id": s.id,
                "state": s.state,
                "outcome": match s.phase {
                    Phase::Succeeded => "succeeded",
                    Phase::Failed => "failed",
                    Phase::NeedsAction => "needs_action",
                    Phase::Queued => "queued",
                    Phase::Running => "running",
                },
                "progress": s.progress,
                "message": s.message,
            });
            let text =
                serde_json::to_string_pretty(&v).map_err(|e| Error::Output(io::Error::other(e)))?;
            writeln!(out, "{}", redact(&text)).map_err(Error::Output)?;
        }
        Format::Human => {
            let verdict = match s.phase {
                Phase::Succeeded => "succeeded",
                Phase::Failed => "FAILED",
                Phase::NeedsAction => "waiting for a person",
                Phase::Queued | Phase::Running => "not finished",
            };
            writeln!(
                out,
                "import {}: {} ({verdict}){}",
                s.id,
                s.state,
                s.message
                    .as_deref()
                    .map(|m| format!(": {}", redact(m)))
                    .unwrap_or_default()
            )
            .map_err(Error::Output)?;
            if s.phase == Phase::NeedsAction {
                writeln!(
                    out,
                    "  the platform needs a person to act before this import can go on (e.g. map the file's fields in the platform's web UI)"
                )
                .map_err(Error::Output)?;
            }
            if !s.problems.is_empty() {
                let mut buf = Vec::new();
                let mut empty = crate::input::Inputs::collect(&[])?;
                let inputs = match prepared {
                    Some(p) => &mut p.inputs,
                    None => &mut empty,
                };
                crate::render::report(&report, inputs, false, &mut buf)?;
                out.write_all(redact(&String::from_utf8_lossy(&buf)).as_bytes())
                    .map_err(Error::Output)?;
            }
        }
    }
    Ok(())
}

/// Sets the physical line of each platform finding that has a row, so the report shows the
/// user's CSV line as `check` does. Read from the source file: a record starts a line
/// outside quotes, and empty lines are no records (as in the core). UTF-8 files with LF or
/// CRLF line ends only; others keep rows without lines.
fn add_lines(report: &mut Report, inputs: &mut crate::input::Inputs) -> Result<(), Error> {
    for file in &mut report.files {
        let wanted: std::collections::BTreeSet<u64> =
            file.findings.iter().filter_map(|f| f.row).collect();
        let plain = file.encoding.starts_with("UTF-8") && file.line_ending.as_deref() != Some("CR");
        let (Some(&last), Some(i), true) = (wanted.last(), inputs.find(&file.path), plain) else {
            continue;
        };
        let mut found = std::collections::HashMap::new();
        let (mut line, mut row, mut start, mut quoted) = (1u64, 0u64, true, false);
        inputs.for_each_chunk(i, |chunk| {
            for &b in chunk {
                if start {
                    match b {
                        b'\n' => {
                            line += 1;
                            continue;
                        }
                        b'\r' => continue,
                        _ => {
                            start = false;
                            row += 1;
                            if wanted.contains(&row) {
                                found.insert(row, line);
                            }
                        }
                    }
                }
                match b {
                    b'"' => quoted = !quoted,
                    b'\n' => {
                        line += 1;
                        start = !quoted;
                    }
                    _ => {}
                }
            }
            row < last
        })?;
        for f in &mut file.findings {
            f.line = f.row.and_then(|r| found.get(&r).copied());
        }
    }
    Ok(())
}

/// The platform's problems as a check report: each on the user's own file and row (the
/// bundle entry a platform names is mapped to its source, and rows through the rows the
/// bundler left out).
pub fn map_back(profile: &Loaded, s: &Status, prepared: Option<&Prepared>) -> Report {
    let summary = prepared.and_then(|p| p.summary.as_ref());
    let entries = summary.map(|s| s.entries.as_slice()).unwrap_or_default();
    let mut files: Vec<FileReport> = Vec::new();
    let mut loose: Vec<Finding> = Vec::new();
    for p in &s.problems {
        let entry = match &p.file {
            Some(f) => entries
                .iter()
                .find(|e| &e.name == f || &e.source == f || e.name.eq_ignore_ascii_case(f)),
            // A one-file upload: the platform need not name the file.
            None if entries.len() == 1 && p.row.is_some() => entries.first(),
            None => None,
        };
        let file = entry.map(|e| e.source.clone()).or_else(|| p.file.clone());
        let row = match (p.row, entry) {
            (Some(r), Some(e)) => Some(e.source_row(r)),
            (r, _) => r,
        };
        let finding = Finding {
            code: match p.severity {
                Severity::Error => "platform.error",
                Severity::Warning => "platform.warning",
                Severity::Info => "platform.info",
            }
            .into(),
            severity: p.severity,
            file: file.clone(),
            row,
            line: None,
            column: None,
            column_number: None,
            value: None,
            message: redact(&p.message),
            platform_message: Some(redact(&p.message)),
        };
        let Some(path) = file else {
            loose.push(finding);
            continue;
        };
        match files.iter_mut().find(|f| f.path == path) {
            Some(f) => f.findings.push(finding),
            None => {
                let mut fr = prepared
                    .and_then(|p| p.report.files.iter().find(|f| f.path == path))
                    .cloned()
                    .unwrap_or_else(|| FileReport {
                        path: path.clone(),
                        kind: None,
                        rows: 0,
                        bytes: 0,
                        encoding: String::new(),
                        bom: false,
                        delimiter: String::new(),
                        line_ending: None,
                        header: Vec::new(),
                        findings: Vec::new(),
                        omitted: Vec::new(),
                    });
                fr.findings = vec![finding];
                fr.omitted.clear();
                files.push(fr);
            }
        }
    }
    for f in &mut files {
        f.findings.sort_by_key(|x| x.row);
    }
    let all = files.iter().flat_map(|f| &f.findings).chain(&loose);
    let mut sum = Summary {
        files: files.len() as u64,
        rows: files.iter().map(|f| f.rows).sum(),
        ..Summary::default()
    };
    for f in all {
        match f.severity {
            Severity::Error => sum.errors += 1,
            Severity::Warning => sum.warnings += 1,
            Severity::Info => sum.infos += 1,
        }
    }
    Report {
        version: validator_core::report::REPORT_VERSION,
        target: prepared.map_or_else(
            || profile.profile.target.name().to_owned(),
            |p| p.report.target.clone(),
        ),
        files,
        findings: loose,
        omitted: Vec::new(),
        summary: sum,
    }
}

/// Asks on the terminal; `false` without one (scripts must pass `--resend`).
fn confirm(question: &str) -> bool {
    if !io::stdin().is_terminal() || !io::stderr().is_terminal() {
        return false;
    }
    let _ = write!(io::stderr(), "{question} [y/N] ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    io::stdin().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes the outgoing bundle once sent, or when the command ends (also on a signal, see
/// [`crate::bundle::clean_up_on_signals`]); its lock tells the next start it is in use.
struct Cleanup {
    path: PathBuf,
    lock: Option<std::fs::File>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        crate::bundle::remove_now(&self.path);
        self.lock.take();
    }
}

/// `preflight imports …`: the platform's own list of imports, and stopping one.
#[derive(Debug, clap::Subcommand)]
pub enum ImportsCommand {
    /// List imports (Canvas, Watershed)
    List {
        #[command(flatten)]
        conn: Conn,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Abort a running import (Canvas: PUT …/sis_imports/ID/abort)
    Abort {
        #[command(flatten)]
        conn: Conn,
        /// Import id
        id: String,
    },
    /// Void an import and the statements it created (Watershed: DELETE …/csv-import/ID)
    Void {
        #[command(flatten)]
        conn: Conn,
        /// Import id
        id: String,
    },
}

fn only(profile: &Loaded, what: &str, targets: &str) -> Error {
    Error::Usage(format!(
        "`{what}` is for {targets}; profile '{}' is {}",
        profile.name,
        profile.profile.target.name()
    ))
}

/// Runs `preflight imports …`.
pub fn imports(cmd: &ImportsCommand) -> Result<ExitCode, Error> {
    match cmd {
        ImportsCommand::List { conn, format } => {
            let (profile, http) = conn.open()?;
            let list = match profile.profile.target {
                Name::Canvas => platforms::canvas::Canvas::new(&profile, http)?.list()?,
                Name::Watershed => platforms::watershed::Watershed::new(&profile, http)?.list()?,
                _ => return Err(only(&profile, "imports list", "canvas and watershed")),
            };
            print_list(&list, *format)?;
            Ok(ExitCode::SUCCESS)
        }
        ImportsCommand::Abort { conn, id } => {
            let (profile, http) = conn.open()?;
            if profile.profile.target != Name::Canvas {
                return Err(only(&profile, "imports abort", "canvas"));
            }
            let s = platforms::canvas::Canvas::new(&profile, http)?.abort(id)?;
            println!("import {}: {}", s.id, s.state);
            Ok(ExitCode::SUCCESS)
        }
        ImportsCommand::Void { conn, id } => {
            let (profile, http) = conn.open()?;
            if profile.profile.target != Name::Watershed {
                return Err(only(&profile, "imports void", "watershed"));
            }
            platforms::watershed::Watershed::new(&profile, http)?.void(id)?;
            println!("import {id}: voided");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_list(list: &[platforms::Listed], format: Format) -> Result<(), Error> {
    let out = &mut io::stdout().lock();
    match format {
        Format::Json => {
            let text = serde_json::to_string_pretty(list)
                .map_err(|e| Error::Output(io::Error::other(e)))?;
            writeln!(out, "{text}").map_err(Error::Output)
        }
        Format::Human => {
            for l in list {
                writeln!(out, "{}\t{}\t{}\t{}", l.id, l.state, l.created, l.file)
                    .map_err(Error::Output)?;
            }
            if list.is_empty() {
                writeln!(out, "(none)").map_err(Error::Output)?;
            }
            Ok(())
        }
    }
}

/// Arguments of `preflight preview` (Watershed's server-side preview).
#[derive(Debug, Args)]
pub struct PreviewArgs {
    #[command(flatten)]
    conn: Conn,
    /// Output format of the report
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Send even when the local check finds errors
    #[arg(long)]
    force: bool,
    /// The CSV file
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

/// Runs `preflight preview`: the local check, then the platform's preview, whose failed rows
/// are mapped onto the file like `submit --wait` does.
pub fn preview(args: &PreviewArgs) -> Result<ExitCode, Error> {
    let (profile, http) = args.conn.open()?;
    if profile.profile.target != Name::Watershed {
        return Err(only(&profile, "preview", "watershed"));
    }
    let local = Local {
        force: args.force,
        drop_invalid: false,
        location_type: None,
        param: &[],
        format: args.format,
        paths: &args.paths,
        limits: Default::default(),
    };
    let journal = Journal::open()?;
    let (mut prepared, upload, _cleanup) = match prepare_upload(&profile, &local, &journal)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let s = platforms::watershed::Watershed::new(&profile, http)?.preview(&upload)?;
    print_outcome(&profile, &s, Some(&mut prepared), args.format)?;
    Ok(exit_for(&s))
}

/// `preflight exports …` (Encoura Data Lab file exports).
#[derive(Debug, clap::Subcommand)]
pub enum ExportsCommand {
    /// List export files not yet delivered
    List {
        #[command(flatten)]
        conn: Conn,
        /// productKey (aos, prospect, affinity, ematch, score-reporter, declared, inquiry, enrollment-marketing)
        #[arg(long, value_name = "KEY")]
        product: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Download every export file not yet delivered into DIR (each once, atomically, checksummed)
    Download {
        #[command(flatten)]
        conn: Conn,
        /// productKey to restrict to
        #[arg(long, value_name = "KEY")]
        product: Option<String>,
        /// Destination folder
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// Runs `preflight exports …`.
pub fn exports(cmd: &ExportsCommand) -> Result<ExitCode, Error> {
    match cmd {
        ExportsCommand::List {
            conn,
            product,
            format,
        } => {
            let (profile, http) = conn.open()?;
            if profile.profile.target != Name::Encoura {
                return Err(only(&profile, "exports list", "encoura"));
            }
            let list =
                platforms::encoura::Encoura::new(&profile, http)?.exports(product.as_deref())?;
            print_list(&list, *format)?;
            Ok(ExitCode::SUCCESS)
        }
        ExportsCommand::Download { conn, product, dir } => {
            let (profile, http) = conn.open()?;
            if profile.profile.target != Name::Encoura {
                return Err(only(&profile, "exports download", "encoura"));
            }
            let got = platforms::encoura::Encoura::new(&profile, http)?
                .download(dir, product.as_deref())?;
            let out = &mut io::stdout().lock();
            for line in &got {
                writeln!(out, "{line}").map_err(Error::Output)?;
            }
            if got.is_empty() {
                writeln!(out, "nothing new to download").map_err(Error::Output)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_get_their_physical_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.csv");
        // Row 2 spans two lines; an empty line is no row; CRLF line ends.
        std::fs::write(&path, "id,note\r\n1,\"two\r\nlines\"\r\n\r\n2,x\r\n3,y\r\n").unwrap();
        let mut inputs = crate::input::Inputs::collect(std::slice::from_ref(&path)).unwrap();
        let shown = inputs.entries[0].path.clone();
        let finding = |row| Finding {
            code: "platform.error".into(),
            severity: Severity::Error,
            file: Some(shown.clone()),
            row: Some(row),
            line: None,
            column: None,
            column_number: None,
            value: None,
            message: String::new(),
            platform_message: None,
        };
        let mut report = Report {
            version: 1,
            target: "t".into(),
            files: vec![FileReport {
                path: shown.clone(),
                kind: None,
                rows: 4,
                bytes: 0,
                encoding: "UTF-8".into(),
                bom: false,
                delimiter: ",".into(),
                line_ending: Some("CRLF".into()),
                header: Vec::new(),
                findings: vec![finding(2), finding(3), finding(4)],
                omitted: Vec::new(),
            }],
            findings: Vec::new(),
            omitted: Vec::new(),
            summary: Summary::default(),
        };
        add_lines(&mut report, &mut inputs).unwrap();
        let lines: Vec<_> = report.files[0].findings.iter().map(|f| f.line).collect();
        assert_eq!(lines, [Some(2), Some(5), Some(6)]);
    }
}
