//! Nothing the user gave is lost or left behind, with real processes: output paths that
//! name an input, a run stopped (SIGINT) or killed (SIGKILL) mid-upload, and ten `submit`s
//! sharing one journal at once.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const SECRET: &str = "pf-data-safety-secret-77";
const BIN: &str = env!("CARGO_BIN_EXE_preflight");

fn canvas_input() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sandbox/canvas/01-imported/input")
}

struct Sandbox {
    child: Child,
    base: String,
}

impl Sandbox {
    fn start(extra: &[&str]) -> Sandbox {
        let mut child = Command::new(BIN)
            .args(["sandbox", "--target", "canvas"])
            .args(extra)
            .env("PREFLIGHT_SANDBOX_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the sandbox");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("banner");
        let base = line.trim().rsplit(' ').next().unwrap().to_owned();
        Sandbox { child, base }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A work folder with a config pointing profile `t` at the sandbox.
fn setup(sandbox: &Sandbox) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("preflight.toml"),
        format!(
            "[profiles.t]\ntarget = \"canvas\"\nbase_url = \"{}\"\ntoken_env = \"PF_TOKEN\"\npoll_seconds = 0.05\nbackoff_ms = 10\n",
            sandbox.base
        ),
    )
    .unwrap();
    work
}

fn submit(work: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("submit")
        .args(["--profile", "t"])
        .args(args)
        .current_dir(work)
        .env("NO_COLOR", "1")
        .env("PREFLIGHT_CONFIG", work.join("preflight.toml"))
        .env("PREFLIGHT_DATA_DIR", work.join("data"))
        .env("PF_TOKEN", SECRET)
        .stdin(Stdio::null());
    cmd
}

fn outgoing(work: &Path) -> Vec<String> {
    std::fs::read_dir(work.join("data/outgoing"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts a submit against a sandbox that answers the upload only after 60 s, waits until
/// the bundle is in the outgoing folder, and stops it with `signal`.
fn stop_mid_upload(signal: &str) -> (tempfile::TempDir, Sandbox) {
    let sandbox = Sandbox::start(&["--slow-upload", "60"]);
    let work = setup(&sandbox);
    let input = canvas_input();
    let mut child = submit(work.path(), &[input.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Bounded wait for the outgoing bundle (no timing assertion: we wait for a state).
    let mut seen = false;
    for _ in 0..1200 {
        if !outgoing(work.path()).is_empty() {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(seen, "the outgoing bundle never appeared");
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
    (work, sandbox)
}

#[test]
fn ctrl_c_mid_upload_leaves_no_copy_of_the_data() {
    let (work, _sandbox) = stop_mid_upload("-INT");
    assert_eq!(outgoing(work.path()), Vec::<String>::new());
    let temps: Vec<_> = std::fs::read_dir(work.path().join("data"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
}

#[test]
fn a_killed_upload_is_removed_at_the_next_start() {
    let (work, sandbox) = stop_mid_upload("-KILL");
    // SIGKILL cannot be caught: the copy is still there ...
    assert_eq!(outgoing(work.path()).len(), 1);
    // ... until the next start (a dry run here, which sends nothing).
    let o = submit(
        work.path(),
        &["--dry-run", canvas_input().to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(outgoing(work.path()), Vec::<String>::new());
    drop(sandbox);
}

#[test]
fn ten_parallel_submits_keep_ten_journal_entries() {
    let sandbox = Sandbox::start(&[]);
    let work = setup(&sandbox);
    // Ten different bundles: the same users file with a different user each.
    let dirs: Vec<PathBuf> = (0..10)
        .map(|i| {
            let d = work.path().join(format!("in{i}"));
            std::fs::create_dir(&d).unwrap();
            std::fs::write(
                d.join("users.csv"),
                format!("user_id,login_id,first_name,last_name,email,status\nU{i},l{i},A,B,u{i}@example.edu,active\n"),
            )
            .unwrap();
            d
        })
        .collect();
    let children: Vec<Child> = dirs
        .iter()
        .map(|d| {
            submit(work.path(), &[d.to_str().unwrap()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    }
    let journal = std::fs::read_to_string(work.path().join("data/journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 10, "{journal}");
    for d in &dirs {
        let o = submit(work.path(), &[d.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3), "{}", show(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("--resend"),
            "{}",
            show(&o)
        );
    }
}

fn bundle(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("bundle")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn outputs_that_name_an_input_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let users = input.join("users.csv");
    let text =
        "user_id,login_id,first_name,last_name,email,status\nU1,l1,A,B,a@example.edu,active\n";
    std::fs::write(&users, text).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();

    // -o is the input file itself.
    let o = bundle(&["-o", &s(&users), &s(&users)]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        show(&o).contains("would overwrite the input"),
        "{}",
        show(&o)
    );
    // -o is a file inside the input folder, by another spelling of the path.
    let other = input.join("../in/./users.csv");
    let o = bundle(&["-o", &s(&other), &s(&input)]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    // -o is a hard link to an input.
    let link = work.path().join("link.zip");
    std::fs::hard_link(&users, &link).unwrap();
    let o = bundle(&["-o", &s(&link), &s(&input)]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    // --rejects is -o.
    let out = work.path().join("out.zip");
    let o = bundle(&[
        "--drop-invalid",
        "-o",
        &s(&out),
        "--rejects",
        &s(&out),
        &s(&input),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(show(&o).contains("--rejects"), "{}", show(&o));
    // --rejects is an input.
    let o = bundle(&[
        "--drop-invalid",
        "-o",
        &s(&out),
        "--rejects",
        &s(&users),
        &s(&input),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert_eq!(std::fs::read_to_string(&users).unwrap(), text);
    assert!(!out.exists());
    // A fresh output beside the inputs is fine, and leaves no temporary file.
    let o = bundle(&["-o", &s(&out), &s(&input)]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let left: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
