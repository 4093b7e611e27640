//! `preflight`: checks SIS import CSVs (files, folders or ZIPs) before they are uploaded.
//!
//! Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 could not run (usage,
//! unknown target, unreadable input, bad ZIP). Scripts rely on these, so every failure to
//! run goes through [`Error`] and becomes 2 with one line on stderr.

mod bundle;
mod config;
mod diff;
mod history;
mod http;
mod impact;
mod journal;
mod multipart;
mod platforms;
mod render;
mod sandbox;
mod secrets;
mod submit;
mod target;
mod templates;
mod watershed;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use host_cli::engine::{Engine, WasmModule};
// The input reader and its error type live in the library, for the fuzz targets.
use host_cli::{error, input};
use validator_core::{Options, Report, targets};

use crate::error::Error;
use crate::input::Inputs;

#[derive(Debug, Parser)]
#[command(
    name = "preflight",
    version,
    about = "Check SIS import CSV files before uploading them to your LMS",
    after_help = "Exit status: 0 no errors, 1 errors found, 2 could not run."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Bounds on what is read (ZIP entries, sizes and ratios; streams)
    #[command(flatten)]
    limits: input::Limits,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check CSV files, folders or ZIP archives against a target
    #[command(
        after_help = "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 could not run."
    )]
    Check(CheckArgs),
    /// Check, then write what the platform accepts (a ZIP, or one CSV per upload)
    #[command(
        after_help = "Exit status: 0 written (also with --drop-invalid), 1 refused because of errors (nothing written), 2 could not run."
    )]
    Bundle(bundle::BundleArgs),
    /// What uploading NEW changes compared with OLD: rows added, removed and changed per
    /// kind, with the platform's row identity
    #[command(
        after_help = "Exit status: 0 no change, 1 changes, 2 could not run. With --format json, the report is the `diff` JSON contract (version, target, old, new, kinds, changes)."
    )]
    Diff(diff::DiffArgs),
    /// Check, bundle and upload to a platform (profile from the config file)
    #[command(
        after_help = "Exit status: 0 accepted (with --wait: the platform says it succeeded), 1 refused by the check, refused by the platform (4xx) or failed on it, 2 could not run (credentials, network, config), 3 a person must act (field mapping, unknown outcome of an upload, a re-send to confirm, wait timed out)."
    )]
    Submit(submit::SubmitArgs),
    /// Show (or --wait for) an import's status
    #[command(
        after_help = "Exit status: 0 succeeded, 1 failed, 2 could not run, 3 not finished or waiting for a person."
    )]
    Status(submit::StatusArgs),
    /// The platform's imports: list, abort (Canvas), void (Watershed)
    Imports {
        #[command(subcommand)]
        command: submit::ImportsCommand,
    },
    /// Watershed's server-side preview of a CSV: failed rows mapped onto the file
    Preview(submit::PreviewArgs),
    /// Encoura export files: list, download
    Exports {
        #[command(subcommand)]
        command: submit::ExportsCommand,
    },
    /// Serve a local emulator of a platform's API on 127.0.0.1 (for practice and tests)
    Sandbox(sandbox::SandboxArgs),
    /// Build target files (e.g. from a platform's official CSV templates)
    Target {
        #[command(subcommand)]
        command: TargetCommand,
    },
    /// List the built-in targets and their file kinds
    Targets {
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// List the finding codes a report can carry, with their usual severity
    Codes {
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print a shell completion script (e.g. `preflight completions bash >
    /// ~/.local/share/bash-completion/completions/preflight`)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum TargetCommand {
    /// Write a Watermark target file with the exact headers of the institution's templates
    FromTemplates(templates::FromTemplatesArgs),
    /// Write a target file requiring every column a Watershed CSV import template references
    FromWatershed(watershed::FromWatershedArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Platform to check against (see `preflight targets`), or `auto`
    #[arg(long, default_value = "canvas")]
    target: String,
    /// Target file (TOML or JSON target definition); selects the target by itself
    #[arg(long = "target-file", value_name = "FILE")]
    target_file: Option<PathBuf>,
    /// Sunbird location type sent with a location upload (state, district, block, cluster, school)
    #[arg(long = "location-type", value_name = "TYPE")]
    location_type: Option<String>,
    /// A value a target asks the host for (e.g. `product=enrollment` for an Encoura layout)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    param: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Findings listed per code and file; totals stay exact
    #[arg(long = "max-per-code", value_name = "N", default_value_t = Options::default().max_findings_per_code)]
    max_per_code: u64,
    /// Engine to validate with: the core built into this binary, or the same core compiled
    /// to WebAssembly and run in wasmtime (the module browsers and portals run)
    #[arg(long, value_enum, default_value_t = EngineKind::Native)]
    engine: EngineKind,
    /// WebAssembly module for `--engine wasm` (a build of validator-wasm, raw or processed by
    /// wasm-bindgen); default: the module built into this binary. Implies `--engine wasm`
    #[arg(long, value_name = "FILE")]
    module: Option<PathBuf>,
    /// Threads: with 2 (the default on a machine with two cores or more) a second thread
    /// reads and parses the files while this one checks them; the same report either way.
    /// The wasm engine uses one
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// Input limits
    #[command(flatten)]
    limits: bundle::LimitArgs,
    /// CSV files, folders or .zip archives
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineKind {
    /// The validator core built into this binary
    Native,
    /// The validator compiled to WebAssembly, run in wasmtime
    Wasm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Readable text (for `check`, with the offending CSV lines)
    Human,
    /// JSON (for `check`, the full report)
    Json,
}

fn main() -> ExitCode {
    // `bash fuzz/run.sh responses`: this binary, built with the `afl` feature, is the fuzz
    // target for the platforms' response parsers.
    #[cfg(feature = "afl")]
    if std::env::var_os("PREFLIGHT_FUZZ_RESPONSES").is_some() {
        afl::fuzz!(|data: &[u8]| platforms::fuzzing::responses(data));
        return ExitCode::SUCCESS;
    }
    secrets::guard_panics();
    bundle::clean_up_on_signals();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    input::set_limits(cli.limits);
    let result = match cli.command {
        Command::Check(args) => check(&args),
        Command::Bundle(args) => bundle::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Submit(args) => submit::submit(&args),
        Command::Status(args) => submit::status(&args),
        Command::Imports { command } => submit::imports(&command),
        Command::Preview(args) => submit::preview(&args),
        Command::Exports { command } => submit::exports(&command),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Target {
            command: TargetCommand::FromTemplates(args),
        } => templates::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Target {
            command: TargetCommand::FromWatershed(args),
        } => watershed::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Targets { format } => list_targets(format).map(|()| ExitCode::SUCCESS),
        Command::Codes { format } => list_codes(format).map(|()| ExitCode::SUCCESS),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "preflight", &mut io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            // `preflight check ... | head`: the reader left; that is not our failure.
            ExitCode::SUCCESS
        }
        Err(e) => {
            // Through the redactor: an HTTP error may quote a server that echoed a secret.
            eprintln!("preflight: {}", secrets::redact(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

fn check(args: &CheckArgs) -> Result<ExitCode, Error> {
    let mut inputs = Inputs::collect(&args.paths)?;
    let target = target::choose(&args.target, args.target_file.as_deref(), &mut inputs)?;
    let order = processing_order(&mut inputs, &target)?;
    let options = args.limits.apply(Options {
        max_findings_per_code: args.max_per_code,
        params: target::params(args.location_type.as_deref(), &args.param)?,
        // A check writes no bundle: no row-by-row verdicts, so its memory does not grow
        // with the rows of a delta.
        row_verdicts: false,
        ..Options::default()
    });
    let mut session = match (args.engine, &args.module) {
        (EngineKind::Native, None) => Engine::native(target.clone(), options)?,
        (_, Some(file)) => Engine::wasm(&WasmModule::from_file(file)?, &target, options)?,
        (EngineKind::Wasm, None) => Engine::wasm(&WasmModule::embedded()?, &target, options)?,
    };
    match &mut session {
        Engine::Native(s) => {
            let threads = host_cli::split::threads(args.threads);
            host_cli::split::check_files(s, &mut inputs, &order, threads)?;
        }
        _ => {
            for i in order {
                let path = inputs.entries[i].path.clone();
                if let Some(bytes) = inputs.size(i) {
                    session.size_hint(&path, bytes)?;
                }
                // `push` fails only for a file already finished; each path is pushed once.
                // False past a record over a limit: the rest of the file is not read.
                inputs.try_for_each_chunk(i, |chunk| -> Result<bool, Error> {
                    Ok(session.push(&path, chunk)?)
                })?;
                session.finish_file(&path)?;
            }
        }
    }
    for finding in inputs.take_findings(&target) {
        session.add_finding(finding)?;
    }
    let report = session.finish()?;
    write_report(&report, &mut inputs, args.format)?;
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Entry indices in the platform's processing order (kind order, unknown kinds last, then
/// path). Pushing referenced files first keeps the core's pending cross-file references
/// few; the report is the same in any order.
pub(crate) fn processing_order(
    inputs: &mut Inputs,
    target: &validator_core::Target,
) -> Result<Vec<usize>, Error> {
    Ok(detected_order(inputs, target)?
        .into_iter()
        .map(|(i, _)| i)
        .collect())
}

/// [`processing_order`], with each entry's kind as its first bytes' header says (`None`
/// when no kind matches).
pub(crate) fn detected_order(
    inputs: &mut Inputs,
    target: &validator_core::Target,
) -> Result<Vec<(usize, Option<String>)>, Error> {
    let mut buf = Vec::with_capacity(input::CHUNK);
    let mut keyed = Vec::with_capacity(inputs.entries.len());
    // Compiled once for every file (a compile per file was 2% of a small bundle's check).
    let checker = validator_core::Checker::new(target.clone()).ok();
    for i in 0..inputs.entries.len() {
        inputs.prefix(i, &mut buf)?;
        let kind = checker.as_ref().and_then(|c| c.kind_of_prefix(&buf));
        let rank = kind
            .as_deref()
            .and_then(|k| target.kinds.iter().position(|t| t.name == k))
            .unwrap_or(usize::MAX);
        keyed.push((rank, i, kind));
    }
    keyed.sort_by(|a, b| (a.0, &inputs.entries[a.1].path).cmp(&(b.0, &inputs.entries[b.1].path)));
    Ok(keyed.into_iter().map(|(_, i, k)| (i, k)).collect())
}

pub(crate) fn write_report(
    report: &Report,
    inputs: &mut Inputs,
    format: Format,
) -> Result<(), Error> {
    let stdout = io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            let json = serde_json::to_string_pretty(report)
                .map_err(|e| Error::Output(io::Error::other(e)))?;
            writeln!(out, "{json}").map_err(Error::Output)?;
        }
        Format::Human => render::report(report, inputs, color, &mut out)?,
    }
    out.flush().map_err(Error::Output)
}

fn list_codes(format: Format) -> Result<(), Error> {
    let codes = validator_core::codes::CODES;
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => {
            let json = serde_json::to_string_pretty(codes)
                .map_err(|e| Error::Output(io::Error::other(e)))?;
            writeln!(out, "{json}").map_err(Error::Output)?;
        }
        Format::Human => {
            let width = codes.iter().map(|c| c.code.len()).max().unwrap_or(0);
            for c in codes {
                let severity = format!("{:?}", c.severity).to_lowercase();
                writeln!(out, "{:width$}  {severity:7}  {}", c.code, c.doc)
                    .map_err(Error::Output)?;
            }
        }
    }
    out.flush().map_err(Error::Output)
}

fn list_targets(format: Format) -> Result<(), Error> {
    let list: Vec<validator_core::Target> = targets::NAMES
        .iter()
        .filter_map(|n| targets::builtin(n))
        .collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&render::target_infos(&list))
                .map_err(|e| Error::Output(io::Error::other(e)))?;
            writeln!(out, "{json}").map_err(Error::Output)?;
        }
        Format::Human => render::targets(&list, &mut out)?,
    }
    out.flush().map_err(Error::Output)
}
