//! A hostile server, inside the test suite: it echoes every credential back in every
//! encoding (raw, base64 of `key:secret`, percent-encoded, JSON-escaped, split in halves, cut
//! at the 300th character) in 401 and 500 bodies, JSON fields and headers; it redirects
//! every platform's calls (token and login endpoints, uploads, status) to "another host"
//! (127.0.0.2) with 302 and 307; it sends Canvas's `Link: rel="next"` to that host; and it
//! answers a POST with 303. The real `preflight` binary runs against it (`submit`,
//! `status`, `imports list`, `exports download`, with `-v` and `--format json`) with its
//! data dir in a temporary folder. Every run must keep every secret, whole or any 8-byte
//! piece, in any encoding, out of stdout, stderr and every file it writes, and no request
//! may reach the other host, except Encoura's S3 calls, which must carry no credential.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// The credentials the profiles name (each a different shape: `/`, `+`, `~`, a space).
const TOKEN: &str = "hx-Tok3n/Zq81+kPw3Lm9vR2~x";
const USER_TOKEN: &str = "hx-UserT0k-Wq7 pLm2Nb5Vc8";
const CLIENT_SECRET: &str = "hx-cl1ent-S3cr3t/Yt6Uu0Ii9";
const WS_KEY: &str = "hxkey";
const WS_SECRET: &str = "hx-ws-Secr3t+Ab9Cd8Ef7Gh6";
const API_KEY: &str = "hx-ap1Key-Jk4Lm5Nn6Op7Qr8";
const PASSWORD: &str = "hx-Pa55w0rd\"Rt6/Sy7 Tu8Vw";
/// What the hostile platform hands out (the client must treat these as secrets too).
const ACCESS_TOKEN: &str = "hx-acce55-Tok-Xy1Za2Bc3De4";
const SESSION: &str = "hx-se55ion-Fg5Hi6Jk7Lm8No9";
const ORG: &str = "03f104b8-dc76-4475-ab8e-f226786edb53";

/// What a platform's run knows (and must keep): its profile's secrets and what its
/// platform hands out.
fn secrets_of(p: P) -> Vec<&'static str> {
    match p {
        P::Watermark => vec![CLIENT_SECRET, ACCESS_TOKEN],
        P::Canvas => vec![TOKEN],
        P::Watershed => vec![WS_SECRET],
        P::Encoura => vec![API_KEY, PASSWORD, SESSION],
        P::Sunbird => vec![TOKEN, USER_TOKEN],
    }
}

fn secrets() -> Vec<&'static str> {
    vec![
        TOKEN,
        USER_TOKEN,
        CLIENT_SECRET,
        WS_SECRET,
        API_KEY,
        PASSWORD,
        ACCESS_TOKEN,
        SESSION,
    ]
}

/// Headers that carry credentials.
const CREDENTIAL_HEADERS: [&str; 5] = [
    "authorization",
    "x-api-key",
    "x-authenticated-user-token",
    "organization",
    "cookie",
];

// ---------------------------------------------------------------------------------------
// Encodings (the oracle: written here independently of the code under test)

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn percent(s: &str, plus: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' if plus => "+".to_owned(),
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn json_u(s: &str) -> String {
    s.chars().map(|c| format!("\\u{:04x}", c as u32)).collect()
}

/// Every way the hostile server writes a secret.
fn encodings(s: &str) -> Vec<String> {
    let half = s.len() / 2;
    vec![
        s.to_owned(),
        base64(s.as_bytes()),
        base64(format!("{WS_KEY}:{s}").as_bytes()),
        format!("Basic {}", base64(format!("{WS_KEY}:{s}").as_bytes())),
        percent(s, false),
        percent(s, true),
        percent(s, false)
            .split('%')
            .enumerate()
            .map(|(i, part)| match i {
                0 => part.to_owned(),
                _ => format!("%{}{}", part[..2].to_lowercase(), &part[2..]),
            })
            .collect::<String>(),
        json_u(s),
        serde_json::to_string(s).unwrap().replace('/', "\\/"),
        format!("first half {} ... second half {}", &s[..half], &s[half..]),
    ]
}

/// A text that echoes every secret in every encoding, `first` first, after `pad` bytes (so
/// that a 300-character snippet cuts the first one in half).
fn echo_text(first: &[&str], pad: usize) -> String {
    let mut t = "x".repeat(pad);
    for s in first.iter().copied().chain(secrets()) {
        for e in encodings(s) {
            t.push(' ');
            t.push_str(&e);
        }
    }
    t
}

/// The echo in every JSON field the platforms read messages from; the body starts with
/// `{"error":"` (serde_json sorts keys), so the first secret again straddles character 300.
fn echo_json(first: &[&str]) -> String {
    let e = echo_text(first, 280);
    serde_json::json!({
        "errors": [{"message": e}],
        "message": e,
        "error": e,
        "status_message": e,
        "params": {"errmsg": e, "err": e, "status": "failed"},
        "responseCode": "CLIENT_ERROR",
        "result": {"response": e},
    })
    .to_string()
}

fn percent_decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Bytes, not `&s[..]`: the text may be a body of binary data (a ZIP), where a `%`
        // can sit right before a multi-byte character.
        if b[i] == b'%'
            && let Some(h) = b.get(i + 1..i + 3)
            && h.iter().all(u8::is_ascii_hexdigit)
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if plus && b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c == '\\' {
            match it.peek().map(|(_, c)| *c) {
                Some('u') if s.len() >= i + 6 => {
                    if let Some(ch) = u32::from_str_radix(&s[i + 2..i + 6], 16)
                        .ok()
                        .and_then(char::from_u32)
                    {
                        out.push(ch);
                        for _ in 0..5 {
                            it.next();
                        }
                        continue;
                    }
                }
                Some(n @ ('/' | '\\' | '"')) => {
                    out.push(n);
                    it.next();
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

/// The first piece (8 bytes or more) of a secret, in any encoding, found in `text`.
fn leak(text: &str, secrets: &[&str]) -> Option<String> {
    let views = [
        text.to_owned(),
        percent_decode(text, false),
        percent_decode(text, true),
        json_unescape(text),
        json_unescape(&json_unescape(text)),
        json_unescape(&percent_decode(text, false)),
    ];
    for &s in secrets {
        let mut needles: Vec<String> = vec![s.to_owned()];
        for prefix in ["", "a", "ab", "hxkey:"] {
            let enc = base64(format!("{prefix}{s}").as_bytes());
            let skip = if prefix.is_empty() {
                0
            } else {
                4 + prefix.len() / 3 * 4
            };
            needles.push(enc[skip.min(enc.len())..enc.len().saturating_sub(4)].to_owned());
        }
        for n in &needles {
            for w in n.as_bytes().windows(8) {
                let w = String::from_utf8_lossy(w);
                for v in &views {
                    if v.contains(w.as_ref()) {
                        return Some(format!("{w:?} (a piece of {s:?} or its base64)"));
                    }
                }
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// The hostile servers

/// One request as received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.into(),
    }
}

impl Reply {
    fn with(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// Where the two servers listen.
#[derive(Clone)]
struct Hosts {
    main: String,
    other: String,
}

type Handler = dyn Fn(&Seen, &Hosts, bool) -> Reply + Send + Sync;

/// The platform (127.0.0.1) and "another host" (127.0.0.2), both hostile.
struct Hostile {
    hosts: Hosts,
    main_log: Arc<Mutex<Vec<Seen>>>,
    other_log: Arc<Mutex<Vec<Seen>>>,
    servers: Vec<Arc<tiny_http::Server>>,
}

impl Hostile {
    fn start(handler: Arc<Handler>) -> Hostile {
        let main = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let other = Arc::new(tiny_http::Server::http("127.0.0.2:0").expect("bind 127.0.0.2"));
        let port = |s: &tiny_http::Server| s.server_addr().to_ip().unwrap().port();
        let hosts = Hosts {
            main: format!("http://127.0.0.1:{}", port(&main)),
            other: format!("http://127.0.0.2:{}", port(&other)),
        };
        let main_log = Arc::new(Mutex::new(Vec::new()));
        let other_log = Arc::new(Mutex::new(Vec::new()));
        for (server, log, is_other) in [
            (main.clone(), main_log.clone(), false),
            (other.clone(), other_log.clone(), true),
        ] {
            let handler = handler.clone();
            let hosts = hosts.clone();
            std::thread::spawn(move || {
                for mut rq in server.incoming_requests() {
                    let mut body = Vec::new();
                    let _ = rq.as_reader().read_to_end(&mut body);
                    let seen = Seen {
                        method: rq.method().as_str().to_owned(),
                        url: rq.url().to_owned(),
                        headers: rq
                            .headers()
                            .iter()
                            .map(|h| {
                                (
                                    h.field.as_str().as_str().to_owned(),
                                    h.value.as_str().to_owned(),
                                )
                            })
                            .collect(),
                        body,
                    };
                    log.lock().unwrap().push(seen.clone());
                    let r = handler(&seen, &hosts, is_other);
                    let mut resp = tiny_http::Response::from_data(r.body.into_bytes())
                        .with_status_code(r.status);
                    for (k, v) in r.headers {
                        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                            resp.add_header(h);
                        }
                    }
                    let _ = rq.respond(resp);
                }
            });
        }
        Hostile {
            hosts,
            main_log,
            other_log,
            servers: vec![main, other],
        }
    }

    fn main_seen(&self) -> Vec<Seen> {
        self.main_log.lock().unwrap().clone()
    }

    fn other_seen(&self) -> Vec<Seen> {
        self.other_log.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        for s in &self.servers {
            s.unblock();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Platforms: profiles, inputs and a well-behaved answer to each call

#[derive(Clone, Copy, Debug, PartialEq)]
enum P {
    Watermark,
    Canvas,
    Watershed,
    Encoura,
    Sunbird,
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn input(p: P) -> PathBuf {
    let d = tests_dir().join("sandbox");
    match p {
        P::Watermark => d.join("watermark/01-completed/input"),
        P::Canvas => d.join("canvas/01-imported/input"),
        P::Watershed => d.join("watershed/01-completed/input"),
        P::Encoura => d.join("encoura/01-done/input"),
        P::Sunbird => d.join("sunbird/01-user-completed/input"),
    }
}

fn profile(p: P, base: &str) -> String {
    let common = "poll_seconds = 0.05\nbackoff_ms = 1\nretries = 0\ntimeout_seconds = 20\n";
    let sandbox = tests_dir().join("sandbox");
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encoura/layout.toml");
    let body = match p {
        P::Watermark => format!(
            "target = \"watermark\"\nbase_url = \"{base}\"\nauth_url = \"{base}/oauth/token\"\nclient_id = \"hx-client\"\nclient_secret_env = \"HX_CLIENT_SECRET\"\n"
        ),
        P::Canvas => {
            format!("target = \"canvas\"\nbase_url = \"{base}\"\ntoken_env = \"HX_TOKEN\"\n")
        }
        P::Watershed => format!(
            "target = \"watershed\"\nbase_url = \"{base}\"\norg_id = \"5664\"\nkey = \"{WS_KEY}\"\nsecret_env = \"HX_WS_SECRET\"\ntemplate = \"Course Completions\"\ntarget_file = \"{}\"\n",
            sandbox.join("watershed/target.toml").display()
        ),
        P::Encoura => format!(
            "target = \"encoura\"\nbase_url = \"{base}/v1\"\nusername = \"api-user@sample.edu\"\npassword_env = \"HX_PASSWORD\"\napi_key_env = \"HX_API_KEY\"\norganization = \"{ORG}\"\nproduct = \"enrollment\"\ntarget_file = \"{}\"\n",
            layout.display()
        ),
        P::Sunbird => format!(
            "target = \"sunbird\"\nbase_url = \"{base}\"\ntoken_env = \"HX_TOKEN\"\nuser_token_env = \"HX_USER_TOKEN\"\n"
        ),
    };
    format!("[profiles.t]\n{body}{common}")
}

/// Whether a request is a token or login call (answered properly in "after auth" modes).
fn is_auth(s: &Seen) -> bool {
    s.url.contains("/oauth/token") || s.url.ends_with("/login") || s.url.contains("refresh-token")
}

/// A well-behaved answer to any call of any of the five platforms.
fn normal(s: &Seen, hosts: &Hosts) -> Reply {
    let url = s.url.as_str();
    if url.contains("/oauth/token") {
        return reply(
            200,
            format!(
                r#"{{"access_token":"{ACCESS_TOKEN}","expires_in":3600,"token_type":"Bearer"}}"#
            ),
        );
    }
    if url.ends_with("/login") || url.contains("refresh-token") {
        return reply(
            200,
            format!(
                r#"{{"sessionToken":"{SESSION}","user":{{"organizations":[{{"uid":"{ORG}","name":"Hx"}}]}}}}"#
            ),
        );
    }
    // Encoura
    if url.contains("/v1/files/upload") {
        return reply(
            200,
            format!(
                r#"{{"id":"f-1","url":"{}/s3-bucket","fields":{{"key":"uploads/f-1","x-amz-signature":"s3-sig-1234567890abcdef"}}}}"#,
                hosts.other
            ),
        );
    }
    if url.contains("/v1/files/") {
        return reply(
            200,
            r#"{"status":"done","error":null,"fileName":"students.csv"}"#,
        );
    }
    if url.contains("/datacenter/exports/") && url.contains("/download") {
        return reply(
            200,
            format!(
                r#"{{"downloadUrl":"{}/exports/hx-export.csv?X-Amz-Signature=dl-sig-abcdef0123456789"}}"#,
                hosts.other
            ),
        );
    }
    if url.contains("/datacenter/exports") {
        return reply(
            200,
            r#"[{"uid":"e-1","productKey":"enrollment","status":"NotDelivered","quantity":1,"date":1700000000000}]"#,
        );
    }
    // Canvas
    if url.contains("/sis_import_errors") {
        return reply(200, "[]");
    }
    if url.contains("/sis_imports") {
        if s.method == "POST" {
            return reply(200, r#"{"id":1,"workflow_state":"created"}"#);
        }
        if url.contains("/sis_imports/") {
            return reply(
                200,
                r#"{"id":1,"workflow_state":"imported","progress":100}"#,
            );
        }
        return reply(
            200,
            r#"{"sis_imports":[{"id":1,"workflow_state":"imported"}]}"#,
        );
    }
    // Watermark
    if url.contains("/v1/import/data") {
        return reply(200, r#"{"import_id":"wm-1"}"#);
    }
    if url.contains("/v1/import/") {
        return reply(200, r#"{"status":"Completed","status_message":"ok"}"#);
    }
    // Watershed
    if url.contains("/csv-import") {
        if s.method == "POST" {
            return reply(202, r#"{"id":7001}"#);
        }
        return reply(
            200,
            r#"{"count":1,"results":[{"id":7001,"created":"2024-05-01T12:00:00Z","originalFilename":"completions.csv","template":"Course Completions","failedRows":{}}]}"#,
        );
    }
    // Sunbird
    if url.contains("/upload/status") {
        return reply(
            200,
            r#"{"responseCode":"OK","result":{"response":[{"processId":"1316","status":"COMPLETED","successResult":[],"failureResult":[]}]}}"#,
        );
    }
    if url.contains("upload") {
        return reply(
            200,
            r#"{"responseCode":"OK","result":{"processId":"1316"}}"#,
        );
    }
    reply(404, r#"{"message":"no such route"}"#)
}

/// What "another host" answers when something reaches it: success, to tempt the client.
fn other_host(s: &Seen) -> Reply {
    if s.url.starts_with("/s3-bucket") {
        return reply(204, "");
    }
    if s.url.starts_with("/exports/") {
        return Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/csv".into())],
            body: "uid,name\n1,Ada\n".into(),
        };
    }
    reply(
        200,
        r#"{"id":1,"workflow_state":"imported","import_id":"x","status":"Completed","sessionToken":"stolen","access_token":"stolen","expires_in":3600,"responseCode":"OK","result":{"processId":"1"}}"#,
    )
}

// ---------------------------------------------------------------------------------------
// Running preflight

struct Run {
    secrets: Vec<&'static str>,
    out: Output,
    stdout: String,
    stderr: String,
    work: tempfile::TempDir,
}

fn env_of(cmd: &mut Command) {
    cmd.env("HX_TOKEN", TOKEN)
        .env("HX_USER_TOKEN", USER_TOKEN)
        .env("HX_CLIENT_SECRET", CLIENT_SECRET)
        .env("HX_WS_SECRET", WS_SECRET)
        .env("HX_API_KEY", API_KEY)
        .env("HX_PASSWORD", PASSWORD);
}

fn run_with_config(config: &str, args: &[&str], secrets: Vec<&'static str>) -> Run {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("preflight.toml"), config).unwrap();
    run_in(work, args, secrets)
}

/// Runs again in an earlier run's folder (same config, journal and data dir).
fn rerun(prev: &Run, args: &[&str]) -> Run {
    let out = command(prev.work.path(), args)
        .output()
        .expect("run preflight");
    Run {
        secrets: prev.secrets.clone(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        out,
        // The files are `prev`'s: its own assert_no_leak walks them.
        work: tempfile::tempdir().unwrap(),
    }
}

fn command(work: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_preflight"));
    cmd.args(args)
        .current_dir(work)
        .env("NO_COLOR", "1")
        .env("PREFLIGHT_CONFIG", work.join("preflight.toml"))
        .env("PREFLIGHT_DATA_DIR", work.join("data"));
    env_of(&mut cmd);
    cmd
}

fn run_in(work: tempfile::TempDir, args: &[&str], secrets: Vec<&'static str>) -> Run {
    let mut cmd = command(work.path(), args);
    let out = cmd.output().expect("run preflight");
    Run {
        secrets,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        out,
        work,
    }
}

fn run(p: P, base: &str, args: &[&str]) -> Run {
    run_with_config(&profile(p, base), args, secrets_of(p))
}

impl Run {
    fn what(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.out.status.code(),
            self.stdout,
            self.stderr
        )
    }

    /// No secret in stdout, stderr, or any file written under the work folder (the data
    /// dir with the journal, output folders), the config file aside.
    fn assert_no_leak(&self) {
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if let Some(l) = leak(text, &self.secrets) {
                panic!("{name} leaks {l}:\n{}", self.what());
            }
        }
        let mut stack = vec![self.work.path().to_owned()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name().is_some_and(|n| n != "preflight.toml") {
                    let name = path.display().to_string();
                    if let Some(l) = leak(&name, &self.secrets) {
                        panic!("a file name leaks {l}: {name}");
                    }
                    let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                    if let Some(l) = leak(&text, &self.secrets) {
                        panic!("{name} leaks {l}:\n{text}");
                    }
                }
            }
        }
    }

    fn assert_failed_with(&self, words: &[&str]) {
        assert_ne!(self.out.status.code(), Some(0), "{}", self.what());
        for w in words {
            assert!(
                self.stderr.contains(w),
                "stderr lacks {w:?}:\n{}",
                self.what()
            );
        }
    }
}

/// Nothing at all reached the other host.
fn assert_untouched(h: &Hostile, r: &Run) {
    let seen = h.other_seen();
    assert!(
        seen.is_empty(),
        "the other host received {} request(s), first {:?} with headers {:?}\n{}",
        seen.len(),
        seen.first().map(|s| format!("{} {}", s.method, s.url)),
        seen.first().map(|s| &s.headers),
        r.what()
    );
}

/// What reached the other host carries no credential header and no secret anywhere.
fn assert_no_credentials_sent(h: &Hostile) {
    for s in h.other_seen() {
        for name in CREDENTIAL_HEADERS {
            assert!(
                s.header(name).is_none(),
                "{name} sent to the other host: {s:?}"
            );
        }
        let all = format!(
            "{} {:?} {}",
            s.url,
            s.headers,
            String::from_utf8_lossy(&s.body)
        );
        if let Some(l) = leak(&all, &secrets()) {
            panic!("the other host received {l}: {} {}", s.method, s.url);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios

/// The commands run against a platform.
fn commands(p: P) -> Vec<Vec<String>> {
    let input = input(p).display().to_string();
    // Reads first, the upload last (each must fail on its own).
    let mut out = vec![vec!["status", "--profile", "t", "-v", "some-id-1"]];
    match p {
        P::Canvas | P::Watershed => out.push(vec!["imports", "list", "--profile", "t"]),
        P::Encoura => out.push(vec!["exports", "download", "out", "--profile", "t"]),
        _ => {}
    }
    out.push(vec![
        "submit",
        "--profile",
        "t",
        "-v",
        "--format",
        "json",
        "--force",
        &input,
    ]);
    out.into_iter()
        .map(|c| c.into_iter().map(str::to_owned).collect())
        .collect()
}

/// Every call (`all`) or every call but the token/login ones is redirected to the same path
/// on the other host with `status`: each command fails, saying so, and the other host sees
/// nothing.
fn redirected(p: P, status: u16, all: bool) {
    let handler: Arc<Handler> = Arc::new(move |s: &Seen, hosts: &Hosts, is_other: bool| {
        if is_other {
            return other_host(s);
        }
        if !all && is_auth(s) {
            return normal(s, hosts);
        }
        reply(status, echo_json(&secrets_of(p)))
            .with("Location", &format!("{}{}", hosts.other, s.url))
            .with(
                "WWW-Authenticate",
                &format!("Bearer error=\"{}\"", percent(TOKEN, false)),
            )
    });
    let h = Hostile::start(handler);
    for args in commands(p) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(p, &h.hosts.main, &args);
        // First what matters most: nothing, credentials least of all, reached the other host.
        assert_untouched(&h, &r);
        r.assert_failed_with(&["redirect"]);
        assert!(
            r.stderr.contains("127.0.0.2"),
            "the error names the origin:\n{}",
            r.what()
        );
        r.assert_no_leak();
    }
}

/// Every non-auth call (`all`: every call) answered with `status` and a body (JSON fields
/// for 401, plain text for 500) and headers that echo every credential in every encoding.
fn echoed(p: P, status: u16, all: bool) {
    let handler: Arc<Handler> = Arc::new(move |s: &Seen, hosts: &Hosts, is_other: bool| {
        if is_other {
            return other_host(s);
        }
        if !all && is_auth(s) {
            return normal(s, hosts);
        }
        // 401: JSON fields; 500: a plain-text body.
        let body = if status == 401 {
            echo_json(&secrets_of(p))
        } else {
            echo_text(&secrets_of(p), 290)
        };
        reply(status, body)
            .with(
                "WWW-Authenticate",
                &format!("Basic realm=\"{}\"", base64(TOKEN.as_bytes())),
            )
            .with("X-Echo", &percent(PASSWORD, true))
            .with(
                "Set-Cookie",
                &format!("session={}; Path=/", percent(API_KEY, false)),
            )
    });
    let h = Hostile::start(handler);
    for args in commands(p) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(p, &h.hosts.main, &args);
        assert_ne!(r.out.status.code(), Some(0), "{}", r.what());
        r.assert_no_leak();
        if args.contains(&"json") && !r.stdout.trim().is_empty() {
            // Redaction keeps the report well-formed.
            let v: Result<serde_json::Value, _> = serde_json::from_str(&r.stdout);
            assert!(
                v.is_ok(),
                "--format json output no longer parses:\n{}",
                r.what()
            );
        }
        assert_no_credentials_sent(&h);
    }
    assert!(!h.main_seen().is_empty());
}

macro_rules! scenarios {
    ($($name:ident: $f:ident($($a:expr),*);)*) => {$(
        #[test]
        fn $name() {
            $f($($a),*);
        }
    )*};
}

scenarios! {
    watermark_token_endpoint_302_to_another_host: redirected(P::Watermark, 302, true);
    watermark_token_endpoint_307_to_another_host: redirected(P::Watermark, 307, true);
    watermark_upload_and_status_302_to_another_host: redirected(P::Watermark, 302, false);
    watermark_upload_and_status_307_to_another_host: redirected(P::Watermark, 307, false);
    canvas_upload_status_list_302_to_another_host: redirected(P::Canvas, 302, true);
    canvas_upload_status_list_307_to_another_host: redirected(P::Canvas, 307, true);
    watershed_upload_status_list_302_to_another_host: redirected(P::Watershed, 302, true);
    watershed_upload_status_list_307_to_another_host: redirected(P::Watershed, 307, true);
    encoura_login_302_to_another_host: redirected(P::Encoura, 302, true);
    encoura_login_307_to_another_host: redirected(P::Encoura, 307, true);
    encoura_record_status_exports_302_to_another_host: redirected(P::Encoura, 302, false);
    encoura_record_status_exports_307_to_another_host: redirected(P::Encoura, 307, false);
    sunbird_upload_status_302_to_another_host: redirected(P::Sunbird, 302, true);
    sunbird_upload_status_307_to_another_host: redirected(P::Sunbird, 307, true);

    watermark_token_endpoint_echoes_in_401: echoed(P::Watermark, 401, true);
    watermark_calls_echo_in_500: echoed(P::Watermark, 500, false);
    canvas_echoes_in_401: echoed(P::Canvas, 401, true);
    canvas_echoes_in_500: echoed(P::Canvas, 500, true);
    watershed_echoes_in_401: echoed(P::Watershed, 401, true);
    watershed_echoes_in_500: echoed(P::Watershed, 500, true);
    encoura_login_echoes_in_401: echoed(P::Encoura, 401, true);
    encoura_calls_echo_in_500: echoed(P::Encoura, 500, false);
    sunbird_echoes_in_401: echoed(P::Sunbird, 401, true);
    sunbird_echoes_in_500: echoed(P::Sunbird, 500, true);
}

/// Canvas's `Link: rel="next"` names the other host: not followed, no token sent there.
#[test]
fn canvas_link_next_to_another_host_is_not_followed() {
    let handler: Arc<Handler> = Arc::new(|s: &Seen, hosts: &Hosts, is_other: bool| {
        if is_other {
            return reply(200, "[]");
        }
        if s.url.contains("/sis_import_errors") {
            return reply(200, r#"[{"file":"users.csv","message":"bad row","row":2}]"#).with(
                "Link",
                &format!(
                    "<{}/api/v1/accounts/self/sis_imports/1/sis_import_errors?page=2>; rel=\"next\"",
                    hosts.other
                ),
            );
        }
        if s.url.contains("/sis_imports/") {
            return reply(
                200,
                r#"{"id":1,"workflow_state":"imported_with_messages","processing_errors":[["users.csv","bad row"]],"data":{"counts":{"error_count":1}}}"#,
            );
        }
        normal(s, hosts)
    });
    let h = Hostile::start(handler);
    let r = run(P::Canvas, &h.hosts.main, &["status", "--profile", "t", "1"]);
    r.assert_failed_with(&["not followed", "127.0.0.2"]);
    r.assert_no_leak();
    assert_untouched(&h, &r);
}

/// A POST answered 303 (see other) is not replayed as a GET, nor taken for success: the
/// server may have created the import before redirecting, so the outcome is unknown (exit
/// 3), the journal keeps the upload, and the next `submit` of the same bundle does not
/// re-send it without being asked.
#[test]
fn canvas_upload_answered_303_is_neither_replayed_nor_success() {
    let handler: Arc<Handler> = Arc::new(|s: &Seen, hosts: &Hosts, is_other: bool| {
        if is_other {
            return other_host(s);
        }
        if s.method == "POST" {
            return reply(303, "").with("Location", "/api/v1/accounts/self/sis_imports/1");
        }
        if s.url.starts_with("/api/v1/accounts/self/sis_imports") {
            // The listing used to look for the import finds nothing.
            return reply(200, "[]");
        }
        normal(s, hosts)
    });
    let h = Hostile::start(handler);
    let input = input(P::Canvas).display().to_string();
    let args = ["submit", "--profile", "t", "--force", input.as_str()];
    let r = run(P::Canvas, &h.hosts.main, &args);
    assert_eq!(r.out.status.code(), Some(3), "{}", r.what());
    for word in ["redirect", "nothing was re-sent", "NOT re-sent"] {
        assert!(r.stderr.contains(word), "no {word:?}: {}", r.what());
    }
    let seen = h.main_seen();
    let posts = seen.iter().filter(|s| s.method == "POST").count();
    assert_eq!(posts, 1, "one POST, never replayed: {seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.url != "/api/v1/accounts/self/sis_imports/1"),
        "the redirect was followed: {seen:?}"
    );
    let journal = std::fs::read_to_string(r.work.path().join("data/journal.jsonl")).unwrap();
    assert!(journal.contains("unconfirmed"), "journal: {journal}");
    r.assert_no_leak();
    // Again, same bundle: the unknown outcome stops it (exit 3), nothing is uploaded.
    let again = rerun(&r, &args);
    assert_eq!(again.out.status.code(), Some(3), "{}", again.what());
    let posts = h.main_seen().iter().filter(|s| s.method == "POST").count();
    assert_eq!(posts, 1, "re-sent without asking");
}

/// A same-origin redirect of a GET is still followed (with its credentials: same origin).
#[test]
fn canvas_status_redirected_within_the_origin_is_followed() {
    let handler: Arc<Handler> = Arc::new(|s: &Seen, hosts: &Hosts, is_other: bool| {
        if is_other {
            return other_host(s);
        }
        if s.url.starts_with("/api/v1/accounts/self/sis_imports/1") {
            return reply(302, "").with("Location", "/moved/1");
        }
        if s.url == "/moved/1" {
            assert_eq!(
                s.header("authorization"),
                Some(format!("Bearer {TOKEN}").as_str())
            );
            return reply(200, r#"{"id":1,"workflow_state":"imported"}"#);
        }
        normal(s, hosts)
    });
    let h = Hostile::start(handler);
    let r = run(P::Canvas, &h.hosts.main, &["status", "--profile", "t", "1"]);
    assert_eq!(r.out.status.code(), Some(0), "{}", r.what());
    assert!(r.stdout.contains("imported"), "{}", r.what());
    assert_eq!(h.main_seen().len(), 2);
    assert_untouched(&h, &r);
}

/// Encoura's legitimate cross-origin calls (the presigned S3 POST, the one-time download
/// URL) still work, and carry no credential.
#[test]
fn encoura_s3_calls_work_and_carry_no_credentials() {
    let handler: Arc<Handler> = Arc::new(|s: &Seen, hosts: &Hosts, is_other: bool| {
        if is_other {
            return other_host(s);
        }
        normal(s, hosts)
    });
    let h = Hostile::start(handler);
    let input = input(P::Encoura).display().to_string();
    let r = run(
        P::Encoura,
        &h.hosts.main,
        &["submit", "--profile", "t", "--force", &input],
    );
    assert_eq!(r.out.status.code(), Some(0), "{}", r.what());
    r.assert_no_leak();
    let r = run(
        P::Encoura,
        &h.hosts.main,
        &["exports", "download", "out", "--profile", "t"],
    );
    assert_eq!(r.out.status.code(), Some(0), "{}", r.what());
    assert!(
        r.work.path().join("out/hx-export.csv").is_file(),
        "{}",
        r.what()
    );
    r.assert_no_leak();
    let other = h.other_seen();
    assert_eq!(other.len(), 2, "{other:?}");
    assert_no_credentials_sent(&h);
}

/// `user:password@` in `base_url`: refused, unechoed, nothing sent, nothing journaled.
#[test]
fn base_url_with_userinfo_is_refused_and_never_journaled() {
    let handler: Arc<Handler> = Arc::new(|s: &Seen, hosts: &Hosts, _| normal(s, hosts));
    let h = Hostile::start(handler);
    let base = h.hosts.main.replace(
        "http://",
        &format!("http://hx-user:{}@", percent(PASSWORD, false)),
    );
    let input = input(P::Canvas).display().to_string();
    for args in [
        vec!["submit", "--profile", "t", "--force", input.as_str()],
        vec!["status", "--profile", "t", "1"],
    ] {
        let r = run(P::Canvas, &base, &args);
        r.assert_failed_with(&["base_url"]);
        assert!(!r.stderr.contains("hx-user"), "{}", r.what());
        r.assert_no_leak();
        assert!(!r.work.path().join("data/journal.jsonl").exists());
    }
    assert!(h.main_seen().is_empty());
}

/// A token pasted where the variable's name belongs: refused, naming the key, not the value.
#[test]
fn a_secret_pasted_as_a_variable_name_is_refused_unechoed() {
    let config = format!(
        "[profiles.t]\ntarget = \"canvas\"\nbase_url = \"http://127.0.0.1:9\"\ntoken_env = \"{TOKEN}\"\n"
    );
    let r = run_with_config(&config, &["status", "--profile", "t", "1"], vec![TOKEN]);
    r.assert_failed_with(&["token_env", "environment variable"]);
    r.assert_no_leak();
}

/// The oracle itself finds what it should.
#[test]
fn the_oracle_sees_every_encoding() {
    for s in secrets() {
        for e in encodings(s) {
            assert!(leak(&format!("a {e} b"), &[s]).is_some(), "{e}");
        }
    }
    assert!(leak(&echo_json(&[]), &secrets()).is_some());
    assert_eq!(leak("nothing here, hx- and Basic abc", &secrets()), None);
}

/// A one-time URL whose file name is the API key: the file is named after the export's uid.
#[test]
fn encoura_download_named_after_a_secret_is_not_written_under_that_name() {
    let handler: Arc<Handler> = Arc::new(|s: &Seen, hosts: &Hosts, is_other: bool| {
        if is_other {
            return other_host(s);
        }
        if s.url.contains("/download") {
            return reply(
                200,
                format!(
                    r#"{{"downloadUrl":"{}/exports/{API_KEY}.csv?X-Amz-Signature=dl-sig-abcdef0123456789"}}"#,
                    hosts.other
                ),
            );
        }
        normal(s, hosts)
    });
    let h = Hostile::start(handler);
    let r = run(
        P::Encoura,
        &h.hosts.main,
        &["exports", "download", "out", "--profile", "t"],
    );
    assert_eq!(r.out.status.code(), Some(0), "{}", r.what());
    assert!(r.work.path().join("out/e-1.csv").is_file(), "{}", r.what());
    r.assert_no_leak();
}
