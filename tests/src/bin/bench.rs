//! Throughput of the validator beside two baselines, on the same files in one run.
//!
//! ```text
//! bench DIR [--small DIR] [--diff-old DIR] [--preflight BIN] [--no-wasm] [--chunk BYTES] [--runs N] [--validator-only]
//! ```
//!
//! For the `*.csv` files of DIR (in Canvas processing order, by
//! `validator_core::detect::kind_of_prefix`), best of N runs (default 3) of:
//!
//! - `read`: a `cat`-like read of every file into one reused 128 KiB buffer;
//! - `csv-parse`: the csv crate's `read_byte_record` over every file (`flexible(true)`);
//! - `validator`: one `Session` over all files, each pushed in `--chunk` byte chunks
//!   (default 64 KiB), then `finish()` (cross-file references), as a host does it.
//!
//! `--validator-only` skips the baselines (for profilers). Every run reads the files again (from the page cache once warm). Prints MB/s (MB = 10^6
//! bytes), rows/s, the ratios validator / csv-parse and validator / read, the report's
//! summary, and the process peak RSS (`VmHWM`). It times; it asserts nothing.
//!
//! Then, as ratios to the csv crate's parse of the same files measured in this run, the
//! `preflight` binary (`--preflight`, default: `preflight` beside this executable, i.e.
//! `cargo build --release -p host-cli`) as a user runs it, each best of N with its peak RSS
//! (from `/usr/bin/time -f %M` when present): `preflight check` of the bundle (native, one
//! thread and two, their runs taking turns with the csv parse's; and `--engine wasm`, wasmtime, unless `--no-wasm`), and of `enrollments.csv` alone
//! (the common delta upload), for DIR and `--small` DIR; `preflight bundle` on one core and on
//! two beside Info-ZIP `zip -6` of the same files (each DIR), the wasm build under Node (web-demo/pkg),
//! unless `--no-wasm` a 300 MB users.csv through the `<preflight-check>` Worker in headless
//! Chromium against the native binary on the same file (web-demo/e2e/large.test.mjs), and `frictionless
//! validate` of an equivalent Data Package when on PATH or in the suite's venv (smallest DIR).
//! With `--diff-old OLD`, `preflight diff OLD DIR` too (OLD: e.g. DIR before `churn`).
//! The machine's core count comes first: compare ratios, not MB/s, across machines and days.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use validator_core::{Report, Session, Tape, Target, detect, targets};

/// Record bytes per tape, as host-cli's `split.rs` uses.
const TAPE_BYTES: usize = 128 * 1024;

#[derive(Debug)]
struct Args {
    dir: PathBuf,
    chunk: usize,
    runs: usize,
    /// Skip the baselines (for profilers).
    validator_only: bool,
    /// A second, smaller bundle (peak RSS and ratios at two sizes).
    small: Option<PathBuf>,
    /// The `preflight` binary.
    preflight: Option<PathBuf>,
    /// Skip `--engine wasm`.
    no_wasm: bool,
    /// The previous night's bundle: `preflight diff OLD DIR` is timed too.
    diff_old: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut dir = None;
    let mut chunk = 64 * 1024;
    let mut runs = 3;
    let mut validator_only = false;
    let mut small = None;
    let mut preflight = None;
    let mut no_wasm = false;
    let mut diff_old = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--chunk" => {
                chunk = it
                    .next()
                    .ok_or("--chunk needs a value")?
                    .parse()
                    .map_err(|e| format!("--chunk: {e}"))?;
                if chunk == 0 {
                    return Err("--chunk must be at least 1".into());
                }
            }
            "--runs" => {
                runs = it
                    .next()
                    .ok_or("--runs needs a value")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?;
                if runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "--validator-only" => validator_only = true,
            "--small" => small = Some(PathBuf::from(it.next().ok_or("--small needs a value")?)),
            "--preflight" => {
                preflight = Some(PathBuf::from(it.next().ok_or("--preflight needs a value")?));
            }
            "--no-wasm" => no_wasm = true,
            "--diff-old" => {
                diff_old = Some(PathBuf::from(it.next().ok_or("--diff-old needs a value")?));
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a}")),
        }
    }
    Ok(Args {
        dir: dir.ok_or("DIR is required")?,
        chunk,
        runs,
        validator_only,
        small,
        preflight,
        no_wasm,
        diff_old,
    })
}

#[derive(Debug)]
struct Input {
    /// Path relative to DIR, as pushed to the session.
    name: String,
    path: PathBuf,
    bytes: u64,
    kind: Option<String>,
}

/// The `*.csv` files of `dir`, in the target's processing order (unknown kinds last).
fn inputs(dir: &Path, target: &Target) -> std::io::Result<Vec<Input>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if !std::fs::metadata(&path)?.is_file() || !name.to_ascii_lowercase().ends_with(".csv") {
            continue;
        }
        let mut prefix = Vec::with_capacity(64 * 1024);
        File::open(&path)?
            .take(64 * 1024)
            .read_to_end(&mut prefix)?;
        out.push(Input {
            kind: detect::kind_of_prefix(target, &prefix),
            bytes: std::fs::metadata(&path)?.len(),
            name,
            path,
        });
    }
    let order = |i: &Input| {
        i.kind
            .as_deref()
            .and_then(|k| target.kinds.iter().position(|t| t.name == k))
            .unwrap_or(usize::MAX)
    };
    out.sort_by(|a, b| (order(a), &a.name).cmp(&(order(b), &b.name)));
    Ok(out)
}

/// Best (shortest) time per file and for the whole pass, over runs.
#[derive(Debug, Clone)]
struct Timing {
    per_file: Vec<Duration>,
    /// Time outside the per-file loops (the validator's `finish()`).
    tail: Duration,
    total: Duration,
}

impl Timing {
    fn new(files: usize) -> Timing {
        Timing {
            per_file: vec![Duration::MAX; files],
            tail: Duration::MAX,
            total: Duration::MAX,
        }
    }

    fn keep_best(&mut self, per_file: &[Duration], tail: Duration, total: Duration) {
        for (b, t) in self.per_file.iter_mut().zip(per_file) {
            *b = (*b).min(*t);
        }
        self.tail = self.tail.min(tail);
        self.total = self.total.min(total);
    }
}

fn read_all(files: &[Input], buf: &mut [u8]) -> std::io::Result<(Vec<Duration>, u64)> {
    let mut times = Vec::with_capacity(files.len());
    let mut seen = 0u64;
    for f in files {
        let t = Instant::now();
        let mut file = File::open(&f.path)?;
        loop {
            let n = file.read(buf)?;
            if n == 0 {
                break;
            }
            seen += n as u64;
        }
        times.push(t.elapsed());
    }
    Ok((times, std::hint::black_box(seen)))
}

/// Data rows (records after the header) per file.
fn csv_parse(files: &[Input]) -> Result<(Vec<Duration>, Vec<u64>), csv::Error> {
    let mut times = Vec::with_capacity(files.len());
    let mut rows = Vec::with_capacity(files.len());
    let mut rec = csv::ByteRecord::new();
    for f in files {
        let t = Instant::now();
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .buffer_capacity(64 * 1024)
            .from_path(&f.path)?;
        let mut n = 0u64;
        let mut fields = 0u64;
        while rdr.read_byte_record(&mut rec)? {
            n += 1;
            fields += rec.len() as u64;
        }
        std::hint::black_box(fields);
        times.push(t.elapsed());
        rows.push(n.saturating_sub(1));
    }
    Ok((times, rows))
}

/// Per-file times, `finish()` time, the report, and the index's (heap bytes, distinct ids)
/// before `finish()`.
type Validated = (Vec<Duration>, Duration, Report, (u64, u64));

fn validate(files: &[Input], target: &Target, buf: &mut [u8]) -> std::io::Result<Validated> {
    let mut times = Vec::with_capacity(files.len());
    let mut s = Session::new(target.clone()).map_err(std::io::Error::other)?;
    // As `preflight check --threads 1` reads: through a tape, whose replay starts each
    // row's index look-ups a few rows early.
    let mut tape = Tape::default();
    for f in files {
        let t = Instant::now();
        let mut file = File::open(&f.path)?;
        // As the CLI does: the file's length, so that its key stores are sized once.
        s.size_hint(&f.name, file.metadata()?.len());
        let mut reader = s.reader(&f.name).map_err(std::io::Error::other)?;
        loop {
            let n = file.read(buf)?;
            if n == 0 {
                break;
            }
            reader.read(&buf[..n], &mut tape);
            if tape.data_len() >= TAPE_BYTES {
                s.push_tape(&f.name, &tape).map_err(std::io::Error::other)?;
                tape.clear();
            }
        }
        s.push_tape(&f.name, &tape).map_err(std::io::Error::other)?;
        tape.clear();
        s.finish_read(&f.name, reader)
            .map_err(std::io::Error::other)?;
        times.push(t.elapsed());
    }
    let index = s.index_heap();
    let t = Instant::now();
    let report = s.finish();
    Ok((times, t.elapsed(), report, index))
}

/// `VmHWM` (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn mb_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn per_s(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// Findings per code over the whole report, exact even where the list was capped.
fn counts_by_code(r: &Report) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    let mut add =
        |file: &str, findings: &[validator_core::Finding], omitted: &[validator_core::Omitted]| {
            let mut local: BTreeMap<String, (u64, &'static str)> = BTreeMap::new();
            for f in findings {
                let e = local
                    .entry(f.code.clone())
                    .or_insert((0, f.severity.as_str()));
                e.0 += 1;
            }
            for o in omitted {
                let e = local.entry(o.code.clone()).or_insert((0, "?"));
                e.0 = o.total;
            }
            for (code, (n, sev)) in local {
                out.insert((file.to_owned(), format!("{code} ({sev})")), n);
            }
        };
    for f in &r.files {
        add(&f.path, &f.findings, &f.omitted);
    }
    add("(bundle)", &r.findings, &r.omitted);
    out
}

fn run(a: &Args) -> Result<(), String> {
    println!(
        "machine: {} cores available to this process",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let target = targets::canvas();
    let files = inputs(&a.dir, &target).map_err(|e| format!("{}: {e}", a.dir.display()))?;
    if files.is_empty() {
        return Err(format!("no *.csv files in {}", a.dir.display()));
    }
    let total_bytes: u64 = files.iter().map(|f| f.bytes).sum();
    println!(
        "bench {}: {} files, {} bytes ({:.1} MB); validator chunk {} B; best of {} runs",
        a.dir.display(),
        files.len(),
        total_bytes,
        total_bytes as f64 / 1e6,
        a.chunk,
        a.runs
    );
    println!(
        "push order: {}",
        files
            .iter()
            .map(|f| format!("{} ({})", f.name, f.kind.as_deref().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    );

    if a.validator_only {
        return validator_only(a, &files, &target, total_bytes);
    }

    // (a) read
    let mut cat_buf = vec![0u8; 128 * 1024];
    let mut read_t = Timing::new(files.len());
    for _ in 0..a.runs {
        let t = Instant::now();
        let (per, seen) = read_all(&files, &mut cat_buf).map_err(|e| e.to_string())?;
        let total = t.elapsed();
        if seen != total_bytes {
            eprintln!("warning: read {seen} bytes, expected {total_bytes} (files changing?)");
        }
        read_t.keep_best(&per, Duration::ZERO, total);
    }
    let rss_read = peak_rss_kib();

    // (b) csv parse
    let mut csv_t = Timing::new(files.len());
    let mut rows = Vec::new();
    for _ in 0..a.runs {
        let t = Instant::now();
        let (per, r) = csv_parse(&files).map_err(|e| e.to_string())?;
        let total = t.elapsed();
        csv_t.keep_best(&per, Duration::ZERO, total);
        rows = r;
    }
    let rss_csv = peak_rss_kib();

    // (c) validator
    let mut chunk_buf = vec![0u8; a.chunk];
    let mut val_t = Timing::new(files.len());
    let mut report = None;
    let mut index = (0, 0);
    for _ in 0..a.runs {
        let t = Instant::now();
        let (per, tail, r, ix) =
            validate(&files, &target, &mut chunk_buf).map_err(|e| e.to_string())?;
        let total = t.elapsed();
        val_t.keep_best(&per, tail, total);
        report = Some(r);
        index = ix;
    }
    let rss_val = peak_rss_kib();
    let report = report.ok_or("no run")?;
    let total_rows: u64 = rows.iter().sum();

    println!();
    println!(
        "{:<18} {:>10} {:>10} | {:>9} {:>9} {:>10} | {:>9} {:>9} {:>10} | {:>9} {:>9} {:>10} | {:>7} {:>7}",
        "file",
        "MB",
        "rows",
        "read s",
        "MB/s",
        "rows/s",
        "csv s",
        "MB/s",
        "rows/s",
        "valid. s",
        "MB/s",
        "rows/s",
        "v/csv",
        "v/read"
    );
    let line = |name: &str, bytes: u64, rows: u64, r: Duration, c: Duration, v: Duration| {
        println!(
            "{:<18} {:>10.2} {:>10} | {:>9.4} {:>9.1} {:>10} | {:>9.4} {:>9.1} {:>10} | {:>9.4} {:>9.1} {:>10} | {:>7.3} {:>7.3}",
            name,
            bytes as f64 / 1e6,
            rows,
            r.as_secs_f64(),
            mb_s(bytes, r),
            human(per_s(rows, r)),
            c.as_secs_f64(),
            mb_s(bytes, c),
            human(per_s(rows, c)),
            v.as_secs_f64(),
            mb_s(bytes, v),
            human(per_s(rows, v)),
            c.as_secs_f64() / v.as_secs_f64(),
            r.as_secs_f64() / v.as_secs_f64(),
        );
    };
    for (i, f) in files.iter().enumerate() {
        line(
            &f.name,
            f.bytes,
            rows[i],
            read_t.per_file[i],
            csv_t.per_file[i],
            val_t.per_file[i],
        );
    }
    println!(
        "{:<18} {:>10} {:>10} | {:>9} {:>9} {:>10} | {:>9} {:>9} {:>10} | {:>9.4} {:>9} {:>10} |",
        "finish() (refs)",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        val_t.tail.as_secs_f64(),
        "",
        ""
    );
    line(
        "BUNDLE (best run)",
        total_bytes,
        total_rows,
        read_t.total,
        csv_t.total,
        val_t.total,
    );
    println!();
    println!(
        "bundle: read {:.0} MB/s, csv-parse {:.0} MB/s ({} rows/s), validator {:.1} MB/s ({} rows/s); validator / csv-parse = {:.3}, validator / read = {:.4}",
        mb_s(total_bytes, read_t.total),
        mb_s(total_bytes, csv_t.total),
        human(per_s(total_rows, csv_t.total)),
        mb_s(total_bytes, val_t.total),
        human(per_s(total_rows, val_t.total)),
        csv_t.total.as_secs_f64() / val_t.total.as_secs_f64(),
        read_t.total.as_secs_f64() / val_t.total.as_secs_f64(),
    );
    let s = &report.summary;
    println!(
        "report: {} files, {} rows, {} errors, {} warnings, {} infos{}",
        s.files,
        s.rows,
        s.errors,
        s.warnings,
        s.infos,
        if s.rows == total_rows {
            String::new()
        } else {
            format!(" (csv-parse counted {total_rows} rows)")
        }
    );
    for ((file, code), n) in counts_by_code(&report) {
        println!("  {file:<18} {code:<40} {n:>8}");
    }
    println!(
        "bundle index before finish(): {} distinct ids, {:.1} MiB of heap, {:.1} bytes per id",
        index.1,
        index.0 as f64 / 1048576.0,
        index.0 as f64 / index.1.max(1) as f64
    );
    println!(
        "peak RSS (VmHWM): after read {}, after csv-parse {}, after validator {}",
        mib(rss_read),
        mib(rss_csv),
        mib(rss_val)
    );
    println!();
    hosts(a, &target, &csv_t)
}

/// `--validator-only`: the validator pass alone, for profiling.
fn validator_only(
    a: &Args,
    files: &[Input],
    target: &Target,
    total_bytes: u64,
) -> Result<(), String> {
    let mut chunk_buf = vec![0u8; a.chunk];
    for run in 1..=a.runs {
        let t = Instant::now();
        let (_, tail, r, index) =
            validate(files, target, &mut chunk_buf).map_err(|e| e.to_string())?;
        let total = t.elapsed();
        println!(
            "run {run}: validator {:.4} s ({:.4} s in finish()), {:.1} MB/s, {} rows/s; {} errors, {} warnings; index {:.1} bytes per id ({} ids)",
            total.as_secs_f64(),
            tail.as_secs_f64(),
            mb_s(total_bytes, total),
            human(per_s(r.summary.rows, total)),
            r.summary.errors,
            r.summary.warnings,
            index.0 as f64 / index.1.max(1) as f64,
            index.1
        );
    }
    println!("peak RSS (VmHWM): {}", mib(peak_rss_kib()));
    Ok(())
}

/// One external command's best wall time over runs and its peak RSS (max over runs).
#[derive(Debug)]
struct Ext {
    best: Duration,
    rss_kib: Option<u64>,
    /// Exit code of the last run.
    code: Option<i32>,
    /// What the last run wrote on stderr.
    stderr: String,
}

impl Ext {
    /// No run yet: [`Ext::merge`] runs into it.
    fn none() -> Ext {
        Ext {
            best: Duration::MAX,
            rss_kib: None,
            code: None,
            stderr: String::new(),
        }
    }

    /// Adds the runs of `other` (made later): best time, highest peak RSS, last exit.
    fn merge(&mut self, other: Ext) {
        self.best = self.best.min(other.best);
        self.rss_kib = self.rss_kib.max(other.rss_kib);
        self.code = other.code;
        self.stderr = other.stderr;
    }
}

/// Runs `program args` `runs` times (stdout discarded, the last stderr kept), under `/usr/bin/time -f %M` when
/// present for the peak RSS; `cwd` is the working directory.
fn ext(program: &Path, args: &[&std::ffi::OsStr], cwd: &Path, runs: usize) -> Result<Ext, String> {
    let time = Path::new("/usr/bin/time");
    let rss_file = std::env::temp_dir().join(format!("preflight-bench-rss-{}", std::process::id()));
    let mut out = Ext::none();
    for _ in 0..runs {
        let mut cmd = if time.exists() {
            let mut c = std::process::Command::new(time);
            c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(program);
            c
        } else {
            std::process::Command::new(program)
        };
        cmd.args(args)
            .current_dir(cwd)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let t = Instant::now();
        let run = cmd
            .output()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        out.best = out.best.min(t.elapsed());
        out.code = run.status.code();
        out.stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        if time.exists()
            && let Some(k) = std::fs::read_to_string(&rss_file)
                .ok()
                .and_then(|s| s.lines().last()?.trim().parse::<u64>().ok())
        {
            out.rss_kib = Some(out.rss_kib.map_or(k, |r: u64| r.max(k)));
        }
    }
    std::fs::remove_file(&rss_file).ok();
    Ok(out)
}

/// The csv crate's best parse time of `files` over `runs`, per file and in all.
fn csv_best(files: &[Input], runs: usize) -> Result<(Timing, Vec<u64>), String> {
    let mut t = Timing::new(files.len());
    let mut rows = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let (per, r) = csv_parse(files).map_err(|e| e.to_string())?;
        t.keep_best(&per, Duration::ZERO, started.elapsed());
        rows = r;
    }
    Ok((t, rows))
}

/// One line of the ratio table: `csv` is the csv crate's parse of the same bytes.
fn ratio_line(what: &str, data: &str, bytes: u64, d: Duration, csv: Duration, rss: Option<u64>) {
    println!(
        "{:<44} {:<26} {:>9.2} {:>9.3} {:>9.1} {:>8.3} {:>11}",
        what,
        data,
        bytes as f64 / 1e6,
        d.as_secs_f64(),
        mb_s(bytes, d),
        csv.as_secs_f64() / d.as_secs_f64(),
        mib(rss)
    );
}

fn os(s: &str) -> std::ffi::OsString {
    std::ffi::OsString::from(s)
}

/// The `preflight` binary beside this executable (same cargo profile).
fn default_preflight() -> Option<PathBuf> {
    let p = std::env::current_exe().ok()?.parent()?.join("preflight");
    p.exists().then_some(p)
}

/// The `preflight` binary's lines: check (native, wasm), enrollments alone, bundle vs zip,
/// frictionless; for DIR and `--small`.
fn hosts(a: &Args, target: &Target, csv_t: &Timing) -> Result<(), String> {
    let Some(preflight) = a.preflight.clone().or_else(default_preflight) else {
        println!(
            "preflight binary not found beside this executable: `cargo build --release -p host-cli` or pass --preflight BIN; host lines skipped"
        );
        return Ok(());
    };
    let mut dirs: Vec<(String, PathBuf, Vec<Input>, Timing)> = Vec::new();
    dirs.push((
        format!("{}", a.dir.display()),
        a.dir.clone(),
        inputs(&a.dir, target).map_err(|e| e.to_string())?,
        csv_t.clone(),
    ));
    if let Some(small) = &a.small {
        let f = inputs(small, target).map_err(|e| format!("{}: {e}", small.display()))?;
        let (t, _) = csv_best(&f, a.runs)?;
        dirs.push((format!("{}", small.display()), small.clone(), f, t));
    }
    println!(
        "ratios to the csv crate's read_byte_record parse of the same files in this run (x csv: 1 = parse speed); preflight = {}",
        preflight.display()
    );
    println!(
        "{:<44} {:<26} {:>9} {:>9} {:>9} {:>8} {:>11}",
        "what", "data", "MB", "best s", "MB/s", "x csv", "peak RSS"
    );
    for (label, dir, f, csv) in &dirs {
        let bytes: u64 = f.iter().map(|i| i.bytes).sum();
        let data = format!("{label} (bundle)");
        let dir_arg = dir.clone().into_os_string();
        let check = |threads: &str| {
            ext(
                &preflight,
                &[
                    &os("check"),
                    &os("--threads"),
                    &os(threads),
                    &os("--format"),
                    &os("json"),
                    &dir_arg,
                ],
                Path::new("."),
                1,
            )
        };
        // The csv parse, one thread and two threads take turns, so that the ratios compare
        // runs made on the same machine state (a shared machine drifts by a third within
        // minutes); every ratio below takes the csv crate's best over all its runs.
        let mut csv = csv.clone();
        let (mut native, mut two) = (Ext::none(), Ext::none());
        for _ in 0..a.runs {
            let (turn, _) = csv_best(f, 1)?;
            csv.keep_best(&turn.per_file, Duration::ZERO, turn.total);
            native.merge(check("1")?);
            two.merge(check("2")?);
        }
        ratio_line(
            "csv crate read_byte_record",
            &data,
            bytes,
            csv.total,
            csv.total,
            None,
        );
        ratio_line(
            "preflight check, native, 1 thread",
            &data,
            bytes,
            native.best,
            csv.total,
            native.rss_kib,
        );
        ratio_line(
            "preflight check, native, 2 threads",
            &data,
            bytes,
            two.best,
            csv.total,
            two.rss_kib,
        );
        if let Some(old) = a.diff_old.as_ref().filter(|_| *dir == a.dir) {
            let d = ext(
                &preflight,
                &[
                    &os("diff"),
                    &os("--format"),
                    &os("json"),
                    old.as_os_str(),
                    &dir_arg,
                ],
                Path::new("."),
                a.runs,
            )?;
            ratio_line(
                "preflight diff --diff-old DIR (x csv of DIR)",
                &data,
                bytes,
                d.best,
                csv.total,
                d.rss_kib,
            );
            println!(
                "{:<44} {:<26} diff / check = {:.2}",
                "",
                "",
                d.best.as_secs_f64() / native.best.as_secs_f64()
            );
        }
        if !a.no_wasm {
            let check_wasm: [&std::ffi::OsStr; 7] = [
                preflight.as_os_str(),
                &os("check"),
                &os("--engine"),
                &os("wasm"),
                &os("--format"),
                &os("json"),
                &dir_arg,
            ];
            let wasm = ext(&preflight, &check_wasm[1..], Path::new("."), a.runs)?;
            ratio_line(
                "preflight check --engine wasm (wasmtime)",
                &data,
                bytes,
                wasm.best,
                csv.total,
                wasm.rss_kib,
            );
            println!(
                "{:<44} {:<26} wasm / native = {:.3}",
                "",
                "",
                native.best.as_secs_f64() / wasm.best.as_secs_f64()
            );
            // The same with the module compiled by Cranelift, as on the first run after an
            // install (the runs above load it from wasmtime's cache).
            let no_cache = os("PREFLIGHT_WASM_CACHE=off");
            let cold_args = [&[no_cache.as_os_str()][..], &check_wasm[..]].concat();
            let cold = ext(Path::new("/usr/bin/env"), &cold_args, Path::new("."), 1)?;
            ratio_line(
                "  the same, module compiled (not cached)",
                &data,
                bytes,
                cold.best,
                csv.total,
                cold.rss_kib,
            );
            // The exact build a portal ships (web-demo/pkg, `bash web-demo/build.sh`), fed
            // in 64 KiB chunks in processing order by web-demo/e2e/conformance-bench.mjs.
            let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let script = repo.join("web-demo/e2e/conformance-bench.mjs");
            let pkg = repo.join("web-demo/pkg/validator_wasm_bg.wasm");
            match which("node") {
                Some(node) if pkg.exists() => {
                    let mut args = vec![script.into_os_string(), dir_arg.clone()];
                    args.extend(f.iter().map(|i| os(&i.name)));
                    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_os_str()).collect();
                    let n = ext(&node, &refs, Path::new("."), a.runs)?;
                    ratio_line(
                        "web-demo/pkg (wasm) under Node, 1 thread",
                        &data,
                        bytes,
                        n.best,
                        csv.total,
                        n.rss_kib,
                    );
                    println!(
                        "{:<44} {:<26} node / native = {:.3}",
                        "",
                        "",
                        native.best.as_secs_f64() / n.best.as_secs_f64()
                    );
                    // conformance-bench.mjs reads the wasm index's size before finish().
                    if let Some(line) = n.stderr.lines().find(|l| l.starts_with("index: ")) {
                        println!("web-demo/pkg (wasm) bundle {line}");
                    }
                }
                Some(_) => println!(
                    "web-demo/pkg not built (`bash web-demo/build.sh`): wasm under Node skipped"
                ),
                None => println!("node not on PATH: wasm under Node skipped"),
            }
        }
        if let Some(i) = f
            .iter()
            .position(|i| i.kind.as_deref() == Some("enrollments"))
        {
            let e = ext(
                &preflight,
                &[
                    &os("check"),
                    &os("--format"),
                    &os("json"),
                    f[i].path.as_os_str(),
                ],
                Path::new("."),
                a.runs,
            )?;
            ratio_line(
                &format!("preflight check {} alone (delta)", f[i].name),
                &format!("{label} ({})", f[i].name),
                f[i].bytes,
                e.best,
                csv.per_file[i],
                e.rss_kib,
            );
        }
    }
    // Bundle vs zip -6, on one core and on two (check and deflate overlapped), each bundle.
    let out_dir = std::env::temp_dir().join(format!("preflight-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let zip = which("zip");
    for (label, dir, f, _) in &dirs {
        bundle_vs_zip(&preflight, zip.as_deref(), label, dir, f, &out_dir, a.runs)?;
    }
    let (label, dir, f, _) = dirs.last().ok_or("no bundle")?;
    // frictionless: on PATH, or the suite's venv (tests/run-all.sh makes it).
    let venv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/frictionless-venv/bin/frictionless");
    match which("frictionless").or_else(|| venv.exists().then_some(venv)) {
        Some(fl) => {
            let descriptor = out_dir.join("datapackage.json");
            let dp = datapackage(target, f).map_err(|e| e.to_string())?;
            std::fs::write(&descriptor, dp).map_err(|e| e.to_string())?;
            // Process start to exit, both: what a user waits for. frictionless once (it is
            // slow), after ours, and both before Chromium: timed right after the browser
            // test, ours took 0.051 s where alone it takes 0.033 s (2026-12-07).
            let ours = ext(
                &preflight,
                &[&os("check"), dir.as_os_str()],
                Path::new("."),
                a.runs,
            )?;
            let theirs = ext(
                &fl,
                &[&os("validate"), &os("--trusted"), descriptor.as_os_str()],
                Path::new("."),
                1,
            )?;
            println!(
                "preflight check vs frictionless validate of the equivalent Data Package, {label}: {:.3} s vs {:.3} s = {:.0}x faster (frictionless exit {:?})",
                ours.best.as_secs_f64(),
                theirs.best.as_secs_f64(),
                theirs.best.as_secs_f64() / ours.best.as_secs_f64(),
                theirs.code
            );
        }
        None => println!("frictionless not on PATH: skipped"),
    }
    if !a.no_wasm {
        chromium_worker(&preflight)?;
    }
    std::fs::remove_dir_all(&out_dir).ok();
    Ok(())
}

/// `preflight bundle --threads 1` and `--threads 2` beside Info-ZIP `zip -6` of the same
/// files: time and size.
fn bundle_vs_zip(
    preflight: &Path,
    zip: Option<&Path>,
    label: &str,
    dir: &Path,
    files: &[Input],
    out_dir: &Path,
    runs: usize,
) -> Result<(), String> {
    let names: Vec<std::ffi::OsString> = files.iter().map(|i| os(&i.name)).collect();
    let ours = out_dir.join("preflight.zip");
    let theirs = out_dir.join("zip6.zip");
    let Some(zip) = zip else {
        println!("zip not on PATH: bundle vs zip -6 skipped");
        return Ok(());
    };
    let mut zargs = vec![os("-q"), os("-6"), theirs.clone().into_os_string()];
    zargs.extend(names.iter().cloned());
    let zrefs: Vec<&std::ffi::OsStr> = zargs.iter().map(|s| s.as_os_str()).collect();
    // zip adds to an existing archive: start from none each run.
    let mut best = Duration::MAX;
    for _ in 0..runs {
        std::fs::remove_file(&theirs).ok();
        best = best.min(ext(zip, &zrefs, dir, 1)?.best);
    }
    let zsize = std::fs::metadata(&theirs).map_err(|e| e.to_string())?.len();
    for threads in ["1", "2"] {
        let args = [
            os("bundle"),
            os("--threads"),
            os(threads),
            os("-o"),
            ours.clone().into_os_string(),
            dir.as_os_str().to_owned(),
        ];
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_os_str()).collect();
        std::fs::remove_file(&ours).ok();
        let b = ext(preflight, &refs, Path::new("."), runs)?;
        match std::fs::metadata(&ours) {
            Ok(m) => println!(
                "preflight bundle --threads {threads} vs Info-ZIP zip -6, {label}: {:.3} s vs {:.3} s = {:.2}x the time; {} vs {} bytes = {:.3}x the size; peak RSS {}",
                b.best.as_secs_f64(),
                best.as_secs_f64(),
                b.best.as_secs_f64() / best.as_secs_f64(),
                m.len(),
                zsize,
                m.len() as f64 / zsize as f64,
                mib(b.rss_kib)
            ),
            Err(e) => println!(
                "preflight bundle wrote no archive (exit {:?}: {e}): bundle vs zip -6 skipped",
                b.code
            ),
        }
    }
    Ok(())
}

/// A Data Package for a bundle with the target's unconditional rules that Table Schema can
/// say, read from the target's own tables: required and unique columns, enums (compared
/// exactly, where Canvas ignores case), and references between the files as foreign keys;
/// every field a string, as Canvas reads them.
fn datapackage(target: &Target, files: &[Input]) -> std::io::Result<String> {
    use validator_core::schema::Check;
    let present = |kind: &str| files.iter().any(|i| i.kind.as_deref() == Some(kind));
    let mut resources = Vec::new();
    for i in files {
        let Some(kind) = target
            .kinds
            .iter()
            .find(|k| Some(k.name.as_str()) == i.kind.as_deref())
        else {
            continue;
        };
        let mut first = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(File::open(&i.path)?),
            &mut first,
        )?;
        let header: Vec<&str> = first.trim_end().split(',').collect();
        let mut constraints: BTreeMap<&str, serde_json::Map<String, serde_json::Value>> = header
            .iter()
            .map(|&h| (h, serde_json::Map::new()))
            .collect();
        let mut fks = Vec::new();
        for rule in kind.rules.iter().filter(|r| r.when.is_none()) {
            let mut set = |column: &str, name: &str, value: serde_json::Value| {
                if let Some(c) = constraints.get_mut(column) {
                    c.insert(name.into(), value);
                }
            };
            match &rule.check {
                Check::Required { column } => set(column, "required", true.into()),
                Check::Enum {
                    column,
                    values,
                    separator: None,
                    ..
                } => set(column, "enum", values.clone().into()),
                Check::Unique {
                    columns,
                    owner: None,
                    ..
                } if columns.len() == 1 => set(&columns[0], "unique", true.into()),
                Check::Reference {
                    column,
                    kind: to,
                    key,
                    separator: None,
                    ..
                } if present(to) && header.contains(&column.as_str()) => {
                    fks.push(serde_json::json!({
                        "fields": [column],
                        "reference": {"resource": to, "fields": [key]},
                    }));
                }
                _ => {}
            }
        }
        let fields: Vec<serde_json::Value> = header
            .iter()
            .map(
                |h| serde_json::json!({"name": h, "type": "string", "constraints": constraints[h]}),
            )
            .collect();
        let mut schema = serde_json::json!({"fields": fields});
        if !fks.is_empty() {
            schema["foreignKeys"] = fks.into();
        }
        resources.push(serde_json::json!({
            "name": kind.name,
            "path": i.path,
            "profile": "tabular-data-resource",
            "format": "csv",
            "encoding": "utf-8",
            "schema": schema,
        }));
    }
    Ok(serde_json::json!({"name": "bundle", "resources": resources}).to_string())
}

/// `name` on PATH.
/// The Chromium figure: web-demo/e2e/large.test.mjs streams a generated 300 MB users.csv
/// through the `<preflight-check>` element's Worker in headless Chromium and times the
/// native binary on the same file; its figure lines are printed as they are.
fn chromium_worker(preflight: &Path) -> Result<(), String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let ready = repo.join("web-demo/node_modules/playwright-core").exists()
        && repo.join("web-demo/pkg/validator_wasm_bg.wasm").exists()
        && chromium.exists();
    let Some(node) = which("node").filter(|_| ready) else {
        println!(
            "Chromium Worker skipped: needs node, {} and web-demo/pkg and node_modules (tests/run-all.sh)",
            chromium.display()
        );
        return Ok(());
    };
    let out = std::process::Command::new(node)
        .args(["--test", "web-demo/e2e/large.test.mjs"])
        .current_dir(&repo)
        .env("PREFLIGHT_E2E_MB", "300")
        .env("PREFLIGHT_NATIVE", preflight)
        .output()
        .map_err(|e| format!("node: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let line = line.trim_start_matches(['#', ' ', '\\']);
        if [
            "MB/s in the Worker",
            "Chromium Worker / native",
            "peak JS heap",
            "longest main-thread",
        ]
        .iter()
        .any(|k| line.contains(k))
        {
            println!("Chromium: {line}");
        }
    }
    if !out.status.success() {
        println!(
            "Chromium Worker test failed ({}): see `node --test web-demo/e2e/large.test.mjs`",
            out.status
        );
    }
    Ok(())
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("bench: {e}");
            }
            eprintln!(
                "usage: bench DIR [--small DIR] [--diff-old DIR] [--preflight BIN] [--no-wasm] [--chunk BYTES] [--runs N] [--validator-only]"
            );
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
