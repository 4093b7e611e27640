//! Fuzz harnesses: each takes arbitrary bytes, drives one of Preflight's input-facing APIs
//! and panics when an invariant breaks. The AFL binaries (`fuzz_targets/`) and the replay
//! test (`tests/replay.rs`, run by `cargo test --workspace`) call the same functions.

use validator_core::bundle::{BundleOptions, Bundler, plan};
use validator_core::{Checker, Options, Report, Session, Target, targets};

/// Built-in targets, picked by the first input byte.
const NAMES: &[&str] = &["canvas", "watermark", "sunbird", "oneroster"];

/// File names the harness gives pushed files (some targets detect or require fixed names).
const FILE_NAMES: &[&str] = &[
    "users.csv",
    "courses.csv",
    "enrollments.csv",
    "manifest.csv",
    "orgs.csv",
    "data.csv",
    "sections.csv",
    "terms.csv",
];

/// Separates files in a `core_push` input (ASCII record separator).
const FILE_SEPARATOR: u8 = 0x1e;

/// Input sizes beyond this are skipped: the fuzzer is after logic, not throughput.
const MAX_INPUT: usize = 256 * 1024;

/// The built-in targets, built and compiled once: AFL runs many inputs in one process.
/// Rebuilding the tables for each input cost a tenth of an execution. Cloning and compiling
/// a target for each of an input's three sessions cost another 30% (callgrind, 238 corpus
/// inputs).
fn builtin_targets() -> &'static [Checker] {
    static TARGETS: std::sync::OnceLock<Vec<Checker>> = std::sync::OnceLock::new();
    TARGETS.get_or_init(|| {
        NAMES
            .iter()
            .map(|name| {
                Checker::new(targets::builtin(name).expect("built-in target"))
                    .expect("built-in targets are valid")
            })
            .collect()
    })
}

/// The split points of `len` bytes chosen by `picks` (each byte a fraction of the length).
fn splits(picks: &[u8], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = picks.iter().map(|&b| b as usize * len / 256).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Pushes `files` into a session, each cut at `cuts` (or whole when `cuts` is empty).
fn run_session(
    checker: &Checker,
    files: &[(&str, &[u8])],
    cuts: &[usize],
) -> (Report, validator_core::Verdicts) {
    let mut session = checker.session(Options::default());
    for (path, bytes) in files {
        let mut start = 0;
        for &cut in cuts.iter().filter(|&&c| c < bytes.len()) {
            session
                .push(path, &bytes[start..cut])
                .expect("push to an open file");
            start = cut;
        }
        session
            .push(path, &bytes[start..])
            .expect("push to an open file");
        session.finish_file(path).expect("finish an open file");
    }
    session.finish_with_verdicts()
}

/// [`run_session`] the two-thread way (on one thread): every file opened first, read by
/// its [`validator_core::FileReader`] onto a tape pushed at each cut, with the row rules
/// run as records are read ([`validator_core::FileReader::check_rows`]).
fn run_taped(checker: &Checker, files: &[(&str, &[u8])], cuts: &[usize]) -> Report {
    let mut session = checker.session(Options::default());
    let readers: Vec<_> = files
        .iter()
        .map(|(path, _)| session.reader(path).expect("open a file").check_rows())
        .collect();
    let mut tape = validator_core::Tape::default();
    for ((path, bytes), mut reader) in files.iter().zip(readers) {
        let mut start = 0;
        for &cut in cuts.iter().filter(|&&c| c < bytes.len()) {
            reader.read(&bytes[start..cut], &mut tape);
            session
                .push_tape(path, &tape)
                .expect("push to an open file");
            tape.clear();
            start = cut;
        }
        reader.read(&bytes[start..], &mut tape);
        session
            .push_tape(path, &tape)
            .expect("push to an open file");
        tape.clear();
        session
            .finish_read(path, reader)
            .expect("finish an open file");
    }
    session.finish()
}

/// The two reports' JSON, for a failure message.
fn report_diff(a: &Report, b: &Report) -> String {
    let json = |r: &Report| serde_json::to_string_pretty(r).unwrap_or_default();
    format!("{}\n--- versus ---\n{}", json(a), json(b))
}

/// Runs [`core_push`] once per built-in target on a small valid-looking input, so that
/// one-time work (the target tables, first allocations) is done before fuzzing starts.
pub fn warm_up() {
    for t in 0..NAMES.len() as u8 {
        for cuts in [0u8, 3] {
            let mut input = vec![t, cuts, 40, 90, 200];
            input.extend_from_slice(b"user_id,login_id,status\r\nU1,\"a\",active\r\n");
            core_push(&input);
        }
    }
}

/// `core_push`: byte 0 picks the built-in target (low 2 bits), whether to bundle with
/// `--drop-invalid` (bit 2) and the first file name (high bits); byte 1 the number of chunk
/// splits (low 3 bits), the next bytes their positions; the rest is one or more files
/// separated by 0x1E. Invariants: no panic, the report serialises, and the chunked report
/// and the report of the chunks read onto tapes ([`validator_core::Tape`], as `check
/// --threads 2` reads) are byte-identical to the report of the same bytes pushed whole;
/// bundling the checked files into memory does not panic.
pub fn core_push(data: &[u8]) {
    if data.len() < 2 || data.len() > MAX_INPUT {
        return;
    }
    let checker = &builtin_targets()[(data[0] & 3) as usize];
    let target = checker.target();
    let drop_invalid = data[0] & 4 != 0;
    let first_name = (data[0] >> 3) as usize;
    let n_cuts = (data[1] & 7) as usize;
    let rest = &data[2..];
    let (picks, body) = rest.split_at(n_cuts.min(rest.len()));
    let files: Vec<(&str, &[u8])> = body
        .split(|&b| b == FILE_SEPARATOR)
        .take(4)
        .enumerate()
        .map(|(i, bytes)| (FILE_NAMES[(first_name + i) % FILE_NAMES.len()], bytes))
        .collect();
    // Two files of the same name would be one file pushed twice: keep the first.
    let mut seen = Vec::new();
    let files: Vec<(&str, &[u8])> = files
        .into_iter()
        .filter(|(name, _)| {
            let new = !seen.contains(name);
            seen.push(*name);
            new
        })
        .collect();
    let longest = files.iter().map(|f| f.1.len()).max().unwrap_or(0);
    let cuts = splits(picks, longest);

    let (whole, _) = run_session(checker, &files, &[]);
    let (chunked, verdicts) = run_session(checker, &files, &cuts);
    serde_json::to_string(&whole).expect("report serialises");
    // Compared as values: a `Report` holds no float, no skipped field and no unordered
    // map, so equal values serialise to the same bytes (serialising all three cost 4.6%
    // of an execution's instructions).
    assert!(
        whole == chunked,
        "chunk splits {cuts:?} change the report:\n{}",
        report_diff(&whole, &chunked)
    );
    let taped = run_taped(checker, &files, &cuts);
    assert!(
        whole == taped,
        "read onto tapes cut at {cuts:?}, the report differs:\n{}",
        report_diff(&whole, &taped)
    );

    let plan = plan(target, &chunked, &verdicts, drop_invalid);
    if !plan.blocking.is_empty() {
        return;
    }
    let options = BundleOptions {
        drop_invalid,
        ..BundleOptions::default()
    };
    let Ok(mut bundler) = Bundler::new(
        target,
        &plan,
        &chunked,
        &verdicts,
        options,
        Vec::new(),
        Some(Vec::new()),
    ) else {
        return;
    };
    while let Some(source) = bundler.next_source().map(str::to_owned) {
        let Some((_, bytes)) = files.iter().find(|(p, _)| *p == source) else {
            panic!("the plan names {source}, which was never pushed");
        };
        bundler.begin(&source).expect("begin the planned entry");
        let mut start = 0;
        for &cut in cuts.iter().filter(|&&c| c < bytes.len()) {
            bundler
                .push(&bytes[start..cut])
                .expect("bundle into memory");
            start = cut;
        }
        bundler.push(&bytes[start..]).expect("bundle into memory");
        bundler.end().expect("end the entry");
    }
    bundler.finish().expect("finish the bundle");
}

/// `target_file`: byte 0 picks the loader (TOML `Target`, JSON `Target`, Frictionless Table
/// Schema / Data Package, Sunbird profile config, Watershed import template); the rest is
/// the file's text. A loaded target then checks a small CSV made of its first kind's
/// columns. Invariants: no panic; a target the loader accepts either compiles or is refused
/// with an `Error`, and its report serialises.
pub fn target_file(data: &[u8]) {
    if data.is_empty() || data.len() > MAX_INPUT {
        return;
    }
    let text = String::from_utf8_lossy(&data[1..]);
    let target = match data[0] % 5 {
        0 => toml::from_str::<Target>(&text).ok(),
        1 => serde_json::from_str::<Target>(&text).ok(),
        2 => {
            let _ = validator_core::import::is_table_schema(&text);
            validator_core::import::table_schema(&text)
                .ok()
                .map(|i| i.target)
        }
        3 => targets::sunbird::with_profile_config(&text),
        _ => {
            let _ = targets::watershed::referenced_columns(&text);
            targets::watershed::from_template(&text).ok()
        }
    };
    let Some(target) = target else {
        return;
    };
    let Ok(mut session) = Session::new(target.clone()) else {
        return;
    };
    let (name, csv) = sample_csv(&target);
    session.push(&name, &csv).expect("push to an open file");
    session.finish_file(&name).expect("finish an open file");
    let report = session.finish();
    serde_json::to_string(&report).expect("report serialises");
}

/// A small CSV for `target`: its first kind's columns (at most 64) and three rows of
/// typical values, under the kind's file name.
fn sample_csv(target: &Target) -> (String, Vec<u8>) {
    let Some(kind) = target.kinds.first() else {
        return ("data.csv".into(), b"id,name\n1,a\n".to_vec());
    };
    let cols: Vec<&str> = kind.columns.iter().take(64).map(String::as_str).collect();
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",");
    csv.push('\n');
    for value in ["1", "", "2020-01-31"] {
        csv.push_str(&vec![value; cols.len()].join(","));
        csv.push('\n');
    }
    let name = if kind.file_name.is_empty() {
        format!("{}.csv", kind.name)
    } else {
        kind.file_name.clone()
    };
    (name, csv.into_bytes())
}

/// Per-entry read cap for `zip_input`: ZIP bombs are a known issue being bounded in
/// host-cli itself; past this the harness stops reading so fuzzing stays productive.
#[cfg(feature = "host")]
const MAX_ENTRY_READ: u64 = 8 * 1024 * 1024;

/// `zip_input`: the bytes are written to a `.zip` file, which host-cli's
/// `Inputs::collect` opens as the CLI does; every CSV entry's prefix is read and every
/// entry streamed in chunks. Invariants: no panic; an unreadable archive or entry is an
/// `Err`, and an entry's prefix is the start of its streamed bytes.
#[cfg(feature = "host")]
pub fn zip_input(data: &[u8]) {
    use host_cli::input::{CHUNK, Inputs};
    if data.len() > MAX_INPUT {
        return;
    }
    let path = std::env::temp_dir().join(format!("preflight-fuzz-{}.zip", std::process::id()));
    std::fs::write(&path, data).expect("write the temporary ZIP");
    let result = Inputs::collect(std::slice::from_ref(&path));
    if let Ok(mut inputs) = result {
        let mut prefix = Vec::new();
        for i in 0..inputs.entries.len() {
            let _ = inputs.find(&inputs.entries[i].path.clone());
            if inputs.prefix(i, &mut prefix).is_err() {
                continue;
            }
            assert!(prefix.len() <= CHUNK);
            let mut read = 0u64;
            let mut head = Vec::new();
            let streamed = inputs.for_each_chunk(i, |chunk| {
                assert!(!chunk.is_empty() && chunk.len() <= CHUNK);
                if head.len() < prefix.len() {
                    let want = (prefix.len() - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..want]);
                }
                read += chunk.len() as u64;
                read < MAX_ENTRY_READ
            });
            if streamed.is_ok() {
                assert_eq!(head, prefix, "prefix and stream of entry {i} differ");
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}
