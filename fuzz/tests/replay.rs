//! Replays every seed in `fuzz/corpus/<target>/` and every regression input in
//! `tests/data/fuzz/<target>/<name>` through the fuzz harnesses, one named test each, so
//! the harnesses build and run in `cargo test --workspace` without AFL.
//!
//! A regression input whose fix belongs elsewhere has a `<name>.ignored` file beside it
//! holding the reason; its test is listed as ignored (`--include-ignored` runs it).

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};

type Harness = fn(&[u8]);

fn harnesses() -> Vec<(&'static str, Harness)> {
    vec![
        ("core_push", preflight_fuzz::core_push as Harness),
        ("target_file", preflight_fuzz::target_file),
        ("zip_input", preflight_fuzz::zip_input),
    ]
}

/// Files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file() && p.extension().is_none_or(|e| e != "ignored"));
    out.sort();
    out
}

fn trial(kind: &str, target: &'static str, harness: Harness, path: PathBuf) -> Trial {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let ignored = path.with_file_name(format!("{name}.ignored"));
    let ignore = ignored.exists();
    Trial::test(format!("{target}::{kind}::{name}"), move || {
        let data =
            std::fs::read(&path).map_err(|e| Failed::from(format!("{}: {e}", path.display())))?;
        std::panic::catch_unwind(|| harness(&data))
            .map_err(|_| Failed::from(format!("{} panicked (see above)", path.display())))
    })
    .with_ignored_flag(ignore)
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut trials = Vec::new();
    for (target, harness) in harnesses() {
        let seeds = files(&root.join("corpus").join(target));
        assert!(!seeds.is_empty(), "fuzz/corpus/{target} has no seeds");
        for path in seeds {
            trials.push(trial("seed", target, harness, path));
        }
        for path in files(&root.join("../tests/data/fuzz").join(target)) {
            trials.push(trial("regression", target, harness, path));
        }
    }
    // What the AFL binary of core_push runs before its fork server starts.
    trials.push(Trial::test("core_push::warm_up", || {
        std::panic::catch_unwind(preflight_fuzz::warm_up)
            .map_err(|_| Failed::from("warm_up panicked (see above)"))
    }));
    libtest_mimic::run(&args, trials).exit();
}
