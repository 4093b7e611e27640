//! Throughput of the validator beside two baselines, on the same files in one run.
//!
//! ```text
//! bench DIR [--chunk BYTES] [--runs N] [--validator-only]
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

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use validator_core::{Report, Session, Target, detect, targets};

#[derive(Debug)]
struct Args {
    dir: PathBuf,
    chunk: usize,
    runs: usize,
    /// Skip the baselines (for profilers).
    validator_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut dir = None;
    let mut chunk = 64 * 1024;
    let mut runs = 3;
    let mut validator_only = false;
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

fn validate(
    files: &[Input],
    target: &Target,
    buf: &mut [u8],
) -> std::io::Result<(Vec<Duration>, Duration, Report)> {
    let mut times = Vec::with_capacity(files.len());
    let mut s = Session::new(target.clone()).map_err(std::io::Error::other)?;
    for f in files {
        let t = Instant::now();
        let mut file = File::open(&f.path)?;
        loop {
            let n = file.read(buf)?;
            if n == 0 {
                break;
            }
            s.push(&f.name, &buf[..n]).map_err(std::io::Error::other)?;
        }
        s.finish_file(&f.name).map_err(std::io::Error::other)?;
        times.push(t.elapsed());
    }
    let t = Instant::now();
    let report = s.finish();
    Ok((times, t.elapsed(), report))
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
    for _ in 0..a.runs {
        let t = Instant::now();
        let (per, tail, r) =
            validate(&files, &target, &mut chunk_buf).map_err(|e| e.to_string())?;
        let total = t.elapsed();
        val_t.keep_best(&per, tail, total);
        report = Some(r);
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
        "peak RSS (VmHWM): after read {}, after csv-parse {}, after validator {}",
        mib(rss_read),
        mib(rss_csv),
        mib(rss_val)
    );
    Ok(())
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
        let (_, tail, r) = validate(files, target, &mut chunk_buf).map_err(|e| e.to_string())?;
        let total = t.elapsed();
        println!(
            "run {run}: validator {:.4} s ({:.4} s in finish()), {:.1} MB/s, {} rows/s; {} errors, {} warnings",
            total.as_secs_f64(),
            tail.as_secs_f64(),
            mb_s(total_bytes, total),
            human(per_s(r.summary.rows, total)),
            r.summary.errors,
            r.summary.warnings
        );
    }
    println!("peak RSS (VmHWM): {}", mib(peak_rss_kib()));
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("bench: {e}");
            }
            eprintln!("usage: bench DIR [--chunk BYTES] [--runs N] [--validator-only]");
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
