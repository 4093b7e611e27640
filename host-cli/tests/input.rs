//! What the host reads, and its bounds: ZIP entry count, sizes and ratios (bombs are
//! generated here, never committed), nested ZIPs, duplicate entry names, FIFOs and devices,
//! streams (`-`, pipes), names with control characters, and the sandbox's own bounds.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use zip::write::SimpleFileOptions;

const USERS: &str = "user_id,login_id,status\nu1,l1,active\nu2,l2,active\n";

fn preflight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run preflight")
}

/// Runs preflight with `input` on its standard input.
fn preflight_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run preflight");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("stdout is JSON; {}", stderr(o)))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Entries `(name, bytes)`, deflated or stored.
fn zip_bytes(entries: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    for (name, body) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(body).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    fs::write(path, zip_bytes(entries, true)).unwrap();
}

fn codes(report: &Value) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for f in report["files"].as_array().unwrap() {
        for x in f["findings"].as_array().unwrap() {
            all.push((
                x["code"].as_str().unwrap().to_owned(),
                x["file"].to_string(),
            ));
        }
    }
    for x in report["findings"].as_array().unwrap() {
        all.push((
            x["code"].as_str().unwrap().to_owned(),
            x["file"].to_string(),
        ));
    }
    all
}

#[test]
fn zip_with_more_entries_than_the_default_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.zip");
    let names: Vec<String> = (0..10_001).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    fs::write(&path, zip_bytes(&entries, false)).unwrap();
    let o = preflight(&["check", "--format", "json", s(&path)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("many.zip"), "{e}");
    assert!(
        e.contains("10001 entries, more than 10000 (--max-zip-entries)"),
        "{e}"
    );
    // The flag raises the bound.
    let o = preflight(&[
        "check",
        "--format",
        "json",
        "--max-zip-entries",
        "20000",
        s(&path),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn zip_bomb_entry_is_refused_at_the_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.zip");
    // 8 MiB of one byte deflates about 1000 to 1.
    let mut body = USERS.as_bytes().to_vec();
    body.resize(8 << 20, b'a');
    write_zip(&path, &[("users.csv", &body)]);
    let o = preflight(&["check", s(&path)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("'users.csv' in '") && e.contains("bomb.zip'"),
        "{e}"
    );
    assert!(e.contains("--max-zip-ratio"), "{e}");
    // Raised, the same archive is read.
    let o = preflight(&[
        "check",
        "--max-zip-ratio",
        "100000",
        "--format",
        "json",
        s(&path),
    ]);
    assert_ne!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn zip_total_uncompressed_size_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.zip");
    let mut body = USERS.as_bytes().to_vec();
    body.resize(1 << 20, b'\n');
    let entries = [
        ("a.csv", &body[..]),
        ("b.csv", &body[..]),
        ("c.csv", &body[..]),
    ];
    fs::write(&path, zip_bytes(&entries, false)).unwrap();
    let o = preflight(&["check", "--max-zip-bytes", "2MiB", s(&path)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("big.zip") && e.contains("more than 2 MiB") && e.contains("--max-zip-bytes"),
        "{e}"
    );
    let o = preflight(&["check", "--format", "json", s(&path)]);
    assert_ne!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn nested_zip_is_reported_not_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let inner = zip_bytes(&[("users.csv", USERS.as_bytes())], true);
    let path = dir.path().join("outer.zip");
    write_zip(
        &path,
        &[("users.csv", USERS.as_bytes()), ("more/inner.zip", &inner)],
    );
    let o = preflight(&["check", "--format", "json", s(&path)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["files"].as_array().unwrap().len(), 1);
    assert_eq!(
        codes(&r),
        [(
            "file.nested_zip".to_owned(),
            "\"more/inner.zip\"".to_owned()
        )]
    );
}

/// `bundle` says what it left out, as `check` does: the nested ZIP and a non-CSV file.
#[test]
fn bundle_reports_what_it_did_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let inner = zip_bytes(&[("users.csv", USERS.as_bytes())], true);
    let path = dir.path().join("outer.zip");
    write_zip(
        &path,
        &[
            ("users.csv", USERS.as_bytes()),
            ("more/inner.zip", &inner),
            ("notes.txt", b"hello"),
        ],
    );
    let out = dir.path().join("bundle.zip");
    let o = preflight(&["bundle", "-o", s(&out), s(&path)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for want in [
        "warning: more/inner.zip:",
        "[file.nested_zip]",
        "warning: notes.txt: not a .csv file; Canvas skips it [file.unknown_type]",
    ] {
        assert!(stdout.contains(want), "no {want:?} in:\n{stdout}");
    }
}

#[test]
fn duplicate_names_in_a_zip_are_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    for (a, b) in [
        ("sub/users.csv", "sub\\users.csv"),
        ("./users.csv", "users.csv"),
    ] {
        let path = dir.path().join("dup.zip");
        write_zip(&path, &[(a, USERS.as_bytes()), (b, USERS.as_bytes())]);
        let o = preflight(&["check", s(&path)]);
        assert_eq!(code(&o), 2, "{a} {b}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(&format!("'{a}'")), "{e}");
        assert!(e.contains(&format!("'{b}'")), "{e}");
        assert!(e.contains("dup.zip"), "{e}");
    }
}

#[test]
fn names_differing_only_in_case_are_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.zip");
    write_zip(
        &path,
        &[
            ("users.csv", USERS.as_bytes()),
            ("Users.csv", USERS.as_bytes()),
        ],
    );
    let o = preflight(&["check", "--format", "json", s(&path)]);
    let r = json(&o);
    let case: Vec<_> = codes(&r)
        .into_iter()
        .filter(|(c, _)| c == "file.name_case")
        .collect();
    assert_eq!(
        case,
        [("file.name_case".to_owned(), "\"Users.csv\"".to_owned())]
    );
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success());
}

#[cfg(unix)]
#[test]
fn fifo_in_a_folder_is_reported_and_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("users.csv"), USERS).unwrap();
    // Opening it would block forever: nobody writes to it.
    mkfifo(&dir.path().join("pipe.csv"));
    let o = preflight(&["check", "--format", "json", s(dir.path())]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["files"].as_array().unwrap().len(), 1);
    assert_eq!(
        codes(&r),
        [("file.special".to_owned(), "\"pipe.csv\"".to_owned())]
    );
}

#[test]
fn dash_reads_standard_input() {
    let o = preflight_stdin(&["check", "--format", "json", "-"], USERS.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["files"][0]["path"], "-");
    assert_eq!(r["files"][0]["kind"], "users");
    assert_eq!(r["files"][0]["rows"], 2);
}

#[test]
fn zip_on_standard_input_is_read() {
    let z = zip_bytes(&[("users.csv", USERS.as_bytes())], true);
    let o = preflight_stdin(&["check", "--format", "json", "-"], &z);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["files"][0]["path"], "users.csv");
}

/// What `<(...)` hands over: a pipe given by name.
#[cfg(target_os = "linux")]
#[test]
fn pipe_given_explicitly_is_read_as_a_stream() {
    let o = preflight_stdin(
        &["check", "--format", "json", "/dev/stdin"],
        USERS.as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["files"][0]["kind"], "users");
    assert_eq!(r["files"][0]["rows"], 2);
}

#[cfg(unix)]
#[test]
fn endless_device_ends_at_the_stream_bound() {
    let o = preflight(&["check", "--max-stream-bytes", "1MiB", "/dev/zero"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'/dev/zero': the stream is longer than 1 MiB (--max-stream-bytes)"),
        "{}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn control_characters_in_names_are_escaped_in_human_output_only() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "u\x1b[31mred\x07\u{202e}vsc.csv";
    fs::write(dir.path().join(evil), "a,b\n1,2\n").unwrap();
    let o = preflight(&["check", s(dir.path())]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        !out.contains('\x1b') && !out.contains('\x07') && !out.contains('\u{202e}'),
        "{out:?}"
    );
    assert!(
        out.contains("u\\u{1b}[31mred\\u{7}\\u{202e}vsc.csv"),
        "{out}"
    );
    let o = preflight(&["check", "--format", "json", s(dir.path())]);
    assert_eq!(json(&o)["files"][0]["path"], evil);
    // An error naming such a path is escaped too.
    let missing = dir.path().join("gone\x1b[2J.csv");
    let o = preflight(&["check", s(&missing)]);
    assert_eq!(code(&o), 2);
    assert!(
        !stderr(&o).contains('\x1b') && stderr(&o).contains("gone\\u{1b}[2J.csv"),
        "{}",
        stderr(&o)
    );
}

/// A sandbox on a free port; killed on drop.
struct Sandbox {
    child: Child,
    addr: String,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sandbox(extra: &[&str]) -> Sandbox {
    let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(["sandbox", "--target", "canvas", "--port", "0"])
        .args(extra)
        .env("PREFLIGHT_SANDBOX_SECRET", "sandbox-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();
    Sandbox { child, addr }
}

/// One HTTP/1.1 request; the status and body of the answer.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before taking the whole body.
    let _ = s.write_all(body);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn multipart_zip(zip: &[u8]) -> (String, Vec<u8>) {
    let boundary = "XyZbOuNdArY";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"bundle.zip\"\r\nContent-Type: application/zip\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(zip);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn sandbox_refuses_large_bodies_and_keeps_a_bounded_log() {
    let sb = sandbox(&["--max-body", "1KiB", "--max-log", "3"]);
    let auth = [("Authorization", "Bearer sandbox-secret")];
    let (status, body) = http(
        &sb.addr,
        "POST",
        "/api/v1/accounts/self/sis_imports",
        &auth,
        &vec![b'x'; 4096],
    );
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("--max-body"), "{body}");
    for i in 0..5 {
        http(
            &sb.addr,
            "GET",
            &format!("/api/v1/accounts/self/sis_imports/{i}"),
            &auth,
            b"",
        );
    }
    let (status, log) = http(&sb.addr, "GET", "/_sandbox/requests", &[], b"");
    assert_eq!(status, 200);
    let log: Value = serde_json::from_str(&log).unwrap();
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/api/v1/accounts/self/sis_imports/2",
            "/api/v1/accounts/self/sis_imports/3",
            "/api/v1/accounts/self/sis_imports/4"
        ]
    );
}

#[test]
fn sandbox_does_not_expand_an_uploaded_zip_bomb() {
    let sb = sandbox(&[]);
    let mut body = USERS.as_bytes().to_vec();
    body.resize(8 << 20, b'a');
    let bomb = zip_bytes(&[("users.csv", &body)], true);
    let (ct, form) = multipart_zip(&bomb);
    let headers = [
        ("Authorization", "Bearer sandbox-secret"),
        ("Content-Type", ct.as_str()),
    ];
    let (status, answer) = http(
        &sb.addr,
        "POST",
        "/api/v1/accounts/self/sis_imports",
        &headers,
        &form,
    );
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("--max-zip-ratio"), "{answer}");
}
