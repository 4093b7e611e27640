//! Every platform's flow end to end against `preflight sandbox`, as data: each
//! `tests/sandbox/<platform>/<case>/` holds a `case.toml` (sandbox flags, the profile, and
//! the commands to run with their expected exit codes and output), an `input/` folder, and
//! insta snapshots: `requests.snap` (the exact requests the flow sent, secrets as `***`) and
//! optional outcome snapshots. A new case is a new folder.
//!
//! Every run also checks that no secret (the right one or a wrong one) appears in stdout or
//! stderr, whatever the outcome.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::Deserialize;

/// The secret every sandbox credential must equal in these tests.
const SECRET: &str = "pf-sandbox-secret-4c7d9e";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// Extra `preflight sandbox` flags.
    #[serde(default)]
    sandbox: Vec<String>,
    /// Body of `[profiles.t]`; `{base}` is the sandbox URL.
    profile: String,
    /// Environment for the runs (values of the `*_env` variables); `{secret}` is the
    /// sandbox's secret.
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    /// Snapshot the request log (default true).
    #[serde(default = "yes")]
    requests: bool,
    run: Vec<Run>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    /// Arguments; `{case}` is the case folder. `--profile t` is added after the command
    /// word(s) given in `command`.
    command: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
    exit: i32,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
    /// Snapshot stdout under this name (JSON pretty-printed when it parses).
    snapshot: Option<String>,
    /// Files (paths relative to the folder the runs start in) that must exist afterwards.
    #[serde(default)]
    files: Vec<String>,
}

struct Sandbox {
    child: Child,
    base: String,
}

impl Sandbox {
    fn start(platform: &str, extra: &[String], case: &Path) -> Sandbox {
        let mut args = vec!["sandbox".to_owned(), "--target".into(), platform.into()];
        args.extend(
            extra
                .iter()
                .map(|a| a.replace("{case}", case.to_str().unwrap())),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(&args)
            .env("PREFLIGHT_SANDBOX_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the sandbox");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("sandbox banner");
        let base = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no URL in the sandbox banner: {line:?}"))
            .to_owned();
        Sandbox { child, base }
    }

    fn requests(&self) -> serde_json::Value {
        let mut resp = ureq::get(format!("{}/_sandbox/requests", self.base))
            .call()
            .expect("request log");
        serde_json::from_reader(resp.body_mut().as_reader()).expect("log JSON")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cases() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sandbox");
    let mut out = Vec::new();
    for platform in std::fs::read_dir(&root).expect("tests/sandbox").flatten() {
        let name = platform.file_name().to_string_lossy().into_owned();
        for case in std::fs::read_dir(platform.path())
            .expect("platform dir")
            .flatten()
        {
            if case.path().join("case.toml").is_file() {
                out.push((name.clone(), case.path()));
            }
        }
    }
    out.sort();
    out
}

fn run_case(platform: &str, dir: &Path) {
    let case: Case = toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let sandbox = Sandbox::start(platform, &case.sandbox, dir);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("preflight.toml");
    let case_dir = dir.to_str().unwrap();
    std::fs::write(
        &config,
        format!(
            "[profiles.t]\n{}",
            case.profile
                .replace("{base}", &sandbox.base)
                .replace("{case}", case_dir)
        ),
    )
    .unwrap();
    let mut secrets = vec![SECRET.to_owned()];
    for (i, run) in case.run.iter().enumerate() {
        let mut args: Vec<String> = run.command.clone();
        args.extend(["--profile".into(), "t".into()]);
        args.extend(run.args.iter().map(|a| a.replace("{case}", case_dir)));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_preflight"));
        cmd.args(&args)
            .current_dir(work.path())
            .env("NO_COLOR", "1")
            .env("PREFLIGHT_CONFIG", &config)
            .env("PREFLIGHT_DATA_DIR", work.path().join("data"));
        for (k, v) in &case.env {
            let v = v.replace("{secret}", SECRET);
            secrets.push(v.clone());
            cmd.env(k, v);
        }
        let o = cmd.output().expect("run preflight");
        let stdout = String::from_utf8_lossy(&o.stdout).replace(case_dir, "{case}");
        let stderr = String::from_utf8_lossy(&o.stderr).replace(case_dir, "{case}");
        let what = format!(
            "{} run {} (preflight {}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            dir.display(),
            i + 1,
            args.join(" ")
        );
        assert_eq!(o.status.code(), Some(run.exit), "exit code of {what}");
        for s in &secrets {
            assert!(
                !stdout.contains(s.as_str()) && !stderr.contains(s.as_str()),
                "a secret leaked in {what}"
            );
        }
        for want in &run.stdout {
            assert!(
                stdout.contains(want.as_str()),
                "stdout lacks {want:?} in {what}"
            );
        }
        for want in &run.stderr {
            assert!(
                stderr.contains(want.as_str()),
                "stderr lacks {want:?} in {what}"
            );
        }
        for f in &run.files {
            assert!(work.path().join(f).is_file(), "{f} is missing after {what}");
        }
        if let Some(name) = &run.snapshot {
            let shown = match serde_json::from_str::<serde_json::Value>(&stdout) {
                Ok(v) => serde_json::to_string_pretty(&v).unwrap(),
                Err(_) => stdout.clone(),
            };
            insta::with_settings!({
                snapshot_path => dir,
                prepend_module_to_snapshot => false,
                description => format!("preflight {}", args.join(" ").replace(case_dir, "{case}")),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(name.as_str(), shown);
            });
        }
    }
    if case.requests {
        let log = sandbox.requests();
        let text = serde_json::to_string_pretty(&log).unwrap();
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "the request log shows a secret");
        }
        insta::with_settings!({
            snapshot_path => dir,
            prepend_module_to_snapshot => false,
            description => "requests the sandbox received, in order (secrets as ***)",
            omit_expression => true,
        }, {
            insta::assert_snapshot!("requests", text);
        });
    }
}

#[test]
fn every_flow_against_the_sandbox() {
    let cases = cases();
    assert!(!cases.is_empty(), "no cases under tests/sandbox");
    let only = std::env::var("SANDBOX_CASE").ok();
    for (platform, dir) in &cases {
        if only
            .as_deref()
            .is_some_and(|o| !dir.to_string_lossy().contains(o))
        {
            continue;
        }
        run_case(platform, dir);
    }
}
