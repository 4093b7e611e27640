//! Secrets (tokens, client secrets, passwords, session tokens, one-time URLs) and the one
//! place that keeps them out of every output.
//!
//! A [`Secret`] prints as `***`. Its value is also registered process-wide, and everything
//! `preflight` writes to stderr/stdout about HTTP (errors, progress, outcomes, panics) goes
//! through [`redact`], so a server that echoes a token back in an error body, or a URL that
//! carries a signature, cannot leak it either.
//!
//! ```ignore
//! let s = Secret::new("hunter2".into());
//! assert_eq!(format!("{s:?} {s}"), "*** ***");
//! assert_eq!(redact("token hunter2 refused"), "token *** refused");
//! ```

use std::fmt;
use std::sync::{Mutex, PoisonError};

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

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

/// Adds a value to the redaction list.
pub fn register(value: &str) {
    if value.len() < 4 {
        return;
    }
    let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|k| k == value) {
        known.push(value.to_owned());
        // Longest first, so a secret containing another is replaced whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = text.to_owned();
    for k in known.iter() {
        if out.contains(k.as_str()) {
            out = out.replace(k.as_str(), "***");
        }
    }
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
}
