//! The next night's export of a generated bundle, for `preflight diff` benches.
//!
//! ```text
//! churn --rate R [--seed S] IN_DIR OUT_DIR
//! ```
//!
//! Copies every `*.csv` of IN_DIR to OUT_DIR line by line (header kept); each data line is,
//! with probability R each: dropped (a removed row), re-sent with `active` turned to
//! `deleted` (a changed row), or followed by a copy whose first cell is a new id (an added
//! row). Prints the counts per file. The same arguments always give the same bytes. Lines
//! are split on `\n` (gen-canvas writes no line break inside a field).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tests::rng::Rng;

fn main() -> ExitCode {
    let mut rate = None;
    let mut seed = 1u64;
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rate" => rate = it.next().and_then(|v| v.parse::<f64>().ok()),
            "--seed" => seed = it.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            _ => dirs.push(a.into()),
        }
    }
    let (Some(rate), [input, output]) = (rate.filter(|r| (0.0..=0.33).contains(r)), &dirs[..])
    else {
        eprintln!("usage: churn --rate R (0..=0.33) [--seed S] IN_DIR OUT_DIR");
        return ExitCode::from(2);
    };
    match run(rate, seed, input, output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("churn: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(rate: f64, seed: u64, input: &PathBuf, output: &PathBuf) -> std::io::Result<()> {
    std::fs::create_dir_all(output)?;
    let mut names: Vec<_> = std::fs::read_dir(input)?
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".csv"))
        .collect();
    names.sort();
    for (stream, name) in names.iter().enumerate() {
        let mut rng = Rng::new(seed, stream as u64);
        let r = BufReader::new(std::fs::File::open(input.join(name))?);
        let mut w = BufWriter::new(std::fs::File::create(output.join(name))?);
        let (mut removed, mut changed, mut added) = (0u64, 0u64, 0u64);
        for (i, line) in r.split(b'\n').enumerate() {
            let line = line?;
            if i == 0 {
                w.write_all(&line)?;
                w.write_all(b"\n")?;
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let roll = rng.unit();
            if roll < rate {
                removed += 1;
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            if roll < 2.0 * rate && text.contains(",active") {
                changed += 1;
                w.write_all(text.replacen(",active", ",deleted", 1).as_bytes())?;
            } else {
                w.write_all(&line)?;
            }
            w.write_all(b"\n")?;
            if roll >= 2.0 * rate && roll < 3.0 * rate {
                added += 1;
                let rest = text.split_once(',').map_or("", |(_, r)| r);
                writeln!(w, "NEW{stream}x{i},{rest}")?;
            }
        }
        w.flush()?;
        println!(
            "{}: {removed} removed, {changed} changed, {added} added",
            name.to_string_lossy()
        );
    }
    Ok(())
}
