//! Secrets (tokens, client secrets, passwords, session tokens, one-time URLs) and the one
//! place that keeps them out of every output.
//!
//! A [`Secret`] prints as `***`. Its value is also registered process-wide, and everything
//! `preflight` writes to stderr/stdout about HTTP (errors, progress, outcomes, panics) goes
//! through [`redact`], so a server that echoes a token back in an error body, or a URL that
//! carries a signature, cannot leak it either.
//!
//! What [`redact`] catches, for every registered value of 8 bytes or more: the value and any
//! piece of it of 8 or more bytes, as written, percent-encoded (`%2F`, `+` for a space),
//! JSON-escaped (`\/`, `\uXXXX`, also escaped twice), and in base64 (standard or URL-safe,
//! at any alignment, so also inside the Basic credential `base64(key:secret)`). Shorter
//! values (4 to 7 bytes) are matched whole, in the same encodings. A URL registered as a
//! secret (a one-time download link) is matched whole, and its query values as secrets:
//! its scheme and host are not secret and stay readable. Callers that shorten text (error
//! snippets) redact first. The work is linear in the text: every 8-byte window is looked up
//! in a set, behind a two-byte prefilter.
//!
//! ```ignore
//! let s = Secret::new("hunter2".into());
//! assert_eq!(format!("{s:?} {s}"), "*** ***");
//! assert_eq!(redact("token hunter2 refused"), "token *** refused");
//! ```

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{LazyLock, Mutex, PoisonError};

/// Pieces of a secret this long or longer are redacted wherever they appear.
pub const FRAGMENT: usize = 8;

/// What is registered.
struct Known {
    /// Every `FRAGMENT`-byte window of every long value (and its encodings), as `u64`.
    windows: HashSet<u64, BuildHasherDefault<Mix>>,
    /// Whether some window starts with these two bytes (index `b0 << 8 | b1`).
    prefix: Vec<bool>,
    /// Values matched whole only (short ones, URLs).
    whole: Vec<Vec<u8>>,
}

static KNOWN: LazyLock<Mutex<Known>> = LazyLock::new(|| {
    Mutex::new(Known {
        windows: HashSet::default(),
        prefix: vec![false; 1 << 16],
        whole: Vec::new(),
    })
});

/// A secret value: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps and registers a secret (values shorter than 4 bytes are not registered: they
    /// would redact ordinary words, and are no secret anyway).
    pub fn new(value: String) -> Secret {
        register(&value);
        Secret(value)
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Known {
    fn add(&mut self, value: &[u8]) {
        if value.len() < 4 {
            return;
        }
        if value.len() < FRAGMENT {
            if !self.whole.iter().any(|w| w == value) {
                self.whole.push(value.to_vec());
            }
            return;
        }
        for w in value.windows(FRAGMENT) {
            self.windows.insert(key(w));
            self.prefix[usize::from(w[0]) << 8 | usize::from(w[1])] = true;
        }
    }

    fn add_secret(&mut self, value: &[u8]) {
        self.add(value);
        for form in base64_forms(value) {
            self.add(form.as_bytes());
        }
    }
}

/// A multiplicative hash for the `u64` window keys: the set is private and its keys are
/// the caller's own secrets, so SipHash's flooding resistance buys nothing here and costs
/// most of the scan.
#[derive(Default)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

fn key(w: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&w[..FRAGMENT]);
    u64::from_le_bytes(b)
}

/// The parts of `value`'s base64 encodings that do not depend on what surrounds it: at each
/// of the three alignments, standard and URL-safe, plus the exact encoding (with padding).
fn base64_forms(value: &[u8]) -> Vec<String> {
    let mut out = vec![crate::platforms::watershed::base64(value)];
    for shift in 0..3usize {
        let mut bytes = vec![0u8; shift];
        bytes.extend_from_slice(value);
        let enc = crate::platforms::watershed::base64(&bytes);
        // The first group mixes in the bytes before, the last one those after.
        let from = if shift > 0 { 4 } else { 0 };
        let to = if bytes.len() % 3 != 0 {
            enc.len().saturating_sub(4)
        } else {
            enc.len()
        };
        if to > from {
            out.push(enc[from..to].to_owned());
        }
    }
    let url_safe: Vec<String> = out
        .iter()
        .map(|f| f.replace('+', "-").replace('/', "_"))
        .collect();
    out.extend(url_safe);
    out
}

/// Adds a value to the redaction list.
pub fn register(value: &str) {
    if value.len() < 4 {
        return;
    }
    let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    let is_url = value.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic())
    });
    if !is_url {
        known.add_secret(value.as_bytes());
        return;
    }
    // A one-time URL: whole, and the values of its query (the signature, the token).
    if !known.whole.iter().any(|w| w == value.as_bytes()) {
        known.whole.push(value.as_bytes().to_vec());
    }
    let query = value.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    for pair in query.split('&') {
        let v = pair.split_once('=').map_or("", |(_, v)| v);
        known.add_secret(v.as_bytes());
        let decoded = decode(v.as_bytes(), None, true).bytes;
        known.add_secret(&decoded);
    }
}

/// A decoded view of a text: its bytes, and for each the source byte range it came from.
struct View {
    bytes: Vec<u8>,
    from: Vec<(usize, usize)>,
}

/// One level of percent-decoding (`%XX`; `+` as a space when `plus`) and JSON unescaping
/// (`\uXXXX` with surrogate pairs, `\/`, `\\`, `\"`, `\n`, …) of `src`, whose bytes map to
/// the source ranges `map` (identity when `None`).
fn decode(src: &[u8], map: Option<&[(usize, usize)]>, plus: bool) -> View {
    let mut bytes = Vec::with_capacity(src.len());
    let mut from = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        let (buf, n, len) = unescape(src, i, plus);
        let s = match map {
            None => (i, i + len),
            Some(m) => (m[i].0, m[i + len - 1].1),
        };
        for &o in &buf[..n] {
            bytes.push(o);
            from.push(s);
        }
        i += len;
    }
    View { bytes, from }
}

/// The bytes (up to 4, `n` of them) that the escape at `src[i..]` stands for, and how many
/// source bytes it takes.
fn unescape(src: &[u8], i: usize, plus: bool) -> ([u8; 4], usize, usize) {
    let hex = |b: &[u8]| -> Option<u32> {
        b.iter().try_fold(0u32, |acc, c| {
            (*c as char).to_digit(16).map(|d| acc * 16 + d)
        })
    };
    let one = |b: u8, len: usize| ([b, 0, 0, 0], 1, len);
    let b = src[i];
    match b {
        b'%' if i + 3 <= src.len() => match hex(&src[i + 1..i + 3]) {
            Some(v) => one(v as u8, 3),
            None => one(b, 1),
        },
        b'+' if plus => one(b' ', 1),
        b'\\' if i + 1 < src.len() => match src[i + 1] {
            b'u' if i + 6 <= src.len() => {
                let unit = hex(&src[i + 2..i + 6]);
                let low = (i + 12 <= src.len() && &src[i + 6..i + 8] == b"\\u")
                    .then(|| hex(&src[i + 8..i + 12]))
                    .flatten();
                let (c, len) = match (unit, low) {
                    (Some(h @ 0xD800..=0xDBFF), Some(l @ 0xDC00..=0xDFFF)) => (
                        char::from_u32(0x10000 + ((h - 0xD800) << 10) + (l - 0xDC00)),
                        12,
                    ),
                    (Some(u), _) => (char::from_u32(u), 6),
                    (None, _) => (None, 1),
                };
                match c {
                    Some(c) => {
                        let mut buf = [0u8; 4];
                        let n = c.encode_utf8(&mut buf).len();
                        (buf, n, len)
                    }
                    None => one(b, 1),
                }
            }
            c @ (b'/' | b'\\' | b'"' | b'\'') => one(c, 2),
            b'n' => one(b'\n', 2),
            b't' => one(b'\t', 2),
            b'r' => one(b'\r', 2),
            b'b' => one(8, 2),
            b'f' => one(12, 2),
            _ => one(b, 1),
        },
        _ => one(b, 1),
    }
}

/// Source ranges, kept merged as they come in ascending order.
#[derive(Default)]
struct Marks(Vec<(usize, usize)>);

impl Marks {
    fn add(&mut self, (start, end): (usize, usize)) {
        if let Some(last) = self.0.last_mut()
            && start >= last.0
            && start <= last.1
        {
            last.1 = last.1.max(end);
            return;
        }
        self.0.push((start, end));
    }
}

impl Known {
    /// Marks the source ranges of `view` that hold a secret or a piece of one.
    fn scan(&self, view: &[u8], from: Option<&[(usize, usize)]>, marks: &mut Marks) {
        let span = |a: usize, b: usize| match from {
            None => (a, b),
            Some(m) => (m[a].0, m[b - 1].1),
        };
        if !self.windows.is_empty() && view.len() >= FRAGMENT {
            for (i, w) in view.windows(FRAGMENT).enumerate() {
                if self.prefix[usize::from(w[0]) << 8 | usize::from(w[1])]
                    && self.windows.contains(&key(w))
                {
                    marks.add(span(i, i + FRAGMENT));
                }
            }
        }
        for w in &self.whole {
            let mut i = 0;
            while let Some(p) = view[i..].iter().position(|b| *b == w[0]) {
                i += p;
                if view[i..].starts_with(w) {
                    marks.add(span(i, i + w.len()));
                    i += w.len();
                } else {
                    i += 1;
                }
            }
        }
    }
}

/// `text` with every registered secret, and every piece of one, in every encoding the module
/// documentation lists, replaced by `***`.
pub fn redact(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    if known.windows.is_empty() && known.whole.is_empty() {
        return text.to_owned();
    }
    let raw = text.as_bytes();
    let mut all = Marks::default();
    known.scan(raw, None, &mut all);
    let mut marks = all.0;
    if raw.iter().any(|b| matches!(b, b'%' | b'\\' | b'+')) {
        let mut views = vec![decode(raw, None, false)];
        if views[0].bytes.iter().any(|b| matches!(b, b'%' | b'\\')) {
            let twice = decode(&views[0].bytes, Some(&views[0].from), false);
            views.push(twice);
        }
        if raw.contains(&b'+') {
            views.push(decode(raw, None, true));
        }
        for v in &views {
            let mut m = Marks::default();
            known.scan(&v.bytes, Some(&v.from), &mut m);
            marks.extend(m.0);
        }
    }
    drop(known);
    if marks.is_empty() {
        return text.to_owned();
    }
    marks.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut i = 0;
    while i < marks.len() {
        let (mut start, mut end) = marks[i];
        i += 1;
        while i < marks.len() && marks[i].0 <= end {
            end = end.max(marks[i].1);
            i += 1;
        }
        if end <= at {
            continue;
        }
        start = start.max(at);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        out.push_str(&text[at..start]);
        out.push_str("***");
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// Installs a panic hook that redacts the panic message before printing it.
pub fn guard_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("preflight: internal error{at}: {}", redact(&msg));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("s3cr3t-value-xyz".into());
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(
            redact("401: bad token s3cr3t-value-xyz"),
            "401: bad token ***"
        );
        assert_eq!(s.expose(), "s3cr3t-value-xyz");
        // Short values are not registered (they would redact ordinary text).
        let _ = Secret::new("ab".into());
        assert_eq!(redact("abc"), "abc");
    }

    /// Every encoding of a long secret, and any 8-byte piece of it, is redacted; the text
    /// around it stays.
    #[test]
    fn every_encoding_and_every_piece() {
        let secret = "Tk/9+q:a b\"c~Zw3xY7pQ-r2";
        let _ = Secret::new(secret.into());
        let b64 = crate::platforms::watershed::base64(format!("apikey:{secret}").as_bytes());
        let forms = [
            secret.to_owned(),
            crate::http::encode(secret),
            crate::http::encode(secret).replace("%20", "+"),
            crate::http::encode(secret).to_lowercase(),
            serde_json::to_string(secret).unwrap(),
            secret.replace('/', "\\/"),
            secret
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect::<String>(),
            serde_json::to_string(&serde_json::to_string(secret).unwrap()).unwrap(),
            format!("Basic {b64}"),
            b64.clone(),
            b64.replace('+', "-").replace('/', "_"),
            crate::http::encode(&b64),
            secret[..8].to_owned(),
            secret[secret.len() - 9..].to_owned(),
            secret[4..14].to_owned(),
        ];
        for f in &forms {
            let text = format!("before <{f}> after");
            let out = redact(&text);
            assert!(
                out.starts_with("before <") && out.ends_with("> after"),
                "{f:?}: {out}"
            );
            assert!(out.contains("***"), "{f:?} not redacted: {out}");
            for w in secret.as_bytes().windows(FRAGMENT) {
                assert!(!out.as_bytes().windows(FRAGMENT).any(|x| x == w), "{out}");
            }
        }
        // Ordinary text stays.
        assert_eq!(redact("nothing to see here"), "nothing to see here");
    }

    /// A one-time URL: whole and its query values, not its scheme and host.
    #[test]
    fn urls_keep_their_host() {
        let _ =
            Secret::new("https://bucket.example.com/exports/f.csv?X-Sig=a1b2c3d4e5f6a7b8".into());
        assert_eq!(
            redact("GET https://bucket.example.com/exports/f.csv?X-Sig=a1b2c3d4e5f6a7b8 failed"),
            "GET *** failed"
        );
        assert_eq!(
            redact("sig a1b2c3d4e5f6 at https://bucket.example.com/"),
            "sig *** at https://bucket.example.com/"
        );
    }

    /// Linear: a 1 MB text full of near-misses and hits, in every encoding (minutes if
    /// quadratic; well under a second in a debug build).
    #[test]
    fn large_texts_stay_cheap() {
        let _ = Secret::new("q8Zr-linear-secret-77".into());
        let chunk = "q8Zr-linea \\u0071%38Zr-linear-secret-77 +q8Zr ";
        let text = chunk.repeat((1 << 20) / chunk.len());
        let out = redact(&text);
        assert!(!out.contains("linear-s"));
        assert!(out.len() < text.len());
    }
}
