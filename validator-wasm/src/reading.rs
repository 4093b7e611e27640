//! How both wasm hosts (the JS `Session`, the C ABI) feed the core: each file is read
//! through its own [`FileReader`] onto a [`Tape`], and the tape goes to the checks
//! ([`Session::push_tape`]) once it holds [`TAPE_BYTES`] of records, when another file is
//! pushed, or when the file ends: as `preflight check` reads, not once per pushed chunk.

use validator_core::{Error, FileReader, Session, Tape};

/// Record bytes a file's tape gathers before the checks take it. A browser hands a file over
/// in chunks of 64 KiB; checking each chunk as it came cost 4-7% more time under Node (348 MB
/// bench bundle, interleaved runs: median 2,038 ms against 1,950 with 1 MiB), for about
/// 1.2 MiB of wasm memory. The report is the same for any size.
pub(crate) const TAPE_BYTES: usize = 1 << 20;

/// The files of a session pushed and not finished, in the order of their first push. Only
/// the last one pushed may hold bytes the checks have not taken.
#[derive(Debug, Default)]
pub(crate) struct Readings(Vec<Reading>);

#[derive(Debug)]
struct Reading {
    path: String,
    reader: FileReader,
    tape: Tape,
    /// Bytes pushed since the checks last took the tape.
    unchecked: u64,
}

impl Reading {
    /// Hands what the tape holds to the checks.
    fn check(&mut self, s: &mut Session) -> Result<(), Error> {
        if self.unchecked > 0 {
            s.push_tape(&self.path, &self.tape)?;
            self.tape.clear();
            self.unchecked = 0;
        }
        Ok(())
    }
}

impl Readings {
    /// Reads the next chunk of the file at `path` ([`Session::push`]). Returns whether the
    /// file still wanted bytes before this chunk (past a record over a limit, nothing more
    /// is read: a host keeping the bytes keeps none either).
    pub fn push(&mut self, s: &mut Session, path: &str, chunk: &[u8]) -> Result<bool, Error> {
        let i = match self.0.iter().position(|r| r.path == path) {
            Some(i) => i,
            None => {
                let reader = s.reader(path)?;
                self.0.push(Reading {
                    path: path.to_owned(),
                    reader,
                    tape: Tape::default(),
                    unchecked: 0,
                });
                self.0.len() - 1
            }
        };
        // Another file's rows were pushed first: they are checked first.
        for (j, r) in self.0.iter_mut().enumerate() {
            if j != i {
                r.check(s)?;
            }
        }
        let r = &mut self.0[i];
        let wanted = r.reader.wants_more();
        r.reader.read(chunk, &mut r.tape);
        r.unchecked += chunk.len() as u64;
        if r.tape.data_len() >= TAPE_BYTES {
            r.check(s)?;
        }
        Ok(wanted)
    }

    /// [`Session::wants`], for a file being read here too.
    pub fn wants(&self, s: &Session, path: &str) -> bool {
        match self.0.iter().find(|r| r.path == path) {
            Some(r) => r.reader.wants_more(),
            None => s.wants(path),
        }
    }

    /// Hands every byte pushed to the checks: before anything that reads their state.
    pub fn check(&mut self, s: &mut Session) -> Result<(), Error> {
        self.0.iter_mut().try_for_each(|r| r.check(s))
    }

    /// Ends the file at `path` ([`Session::finish_file`]).
    pub fn finish_file(&mut self, s: &mut Session, path: &str) -> Result<(), Error> {
        self.check(s)?;
        match self.0.iter().position(|r| r.path == path) {
            Some(i) => s.finish_read(path, self.0.remove(i).reader),
            None => s.finish_file(path),
        }
    }

    /// Ends every file not ended yet, in the order first pushed, as the core's `finish`
    /// ends its open files.
    pub fn finish_all(&mut self, s: &mut Session) -> Result<(), Error> {
        self.check(s)?;
        for r in self.0.drain(..) {
            s.finish_read(&r.path, r.reader)?;
        }
        Ok(())
    }

    /// Bytes pushed that the checks have not taken yet (for progress).
    pub fn unchecked(&self) -> u64 {
        self.0.iter().map(|r| r.unchecked).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use validator_core::targets;

    fn users(rows: usize, prefix: &str) -> String {
        let mut csv = String::from("user_id,login_id,status\r\n");
        for i in 0..rows {
            // A bad status every 1,000 rows, a duplicate id every 1,500.
            let status = if i % 1000 == 999 { "actve" } else { "active" };
            let id = i - usize::from(i % 1500 == 1499);
            csv.push_str(&format!("{prefix}{id},\"{prefix} {i}\",{status}\r\n"));
        }
        csv
    }

    /// Pushed in small chunks past several tapes, taking turns between two files whose ids
    /// clash (which of two rows is the duplicate depends on the order they are checked in),
    /// one of them not finished: the report of `Session::push` of the same chunks.
    #[test]
    fn same_report_as_session_push() {
        let (a, b) = (users(120_000, "u"), users(60_000, "u"));
        assert!(a.len() > 2 * TAPE_BYTES && b.len() > TAPE_BYTES);
        let (mut ca, mut cb) = (a.as_bytes().chunks(70_001), b.as_bytes().chunks(65_536));
        // (path, chunk), or (path, None) to finish the file.
        let mut ops: Vec<(&str, Option<&[u8]>)> = Vec::new();
        ops.extend(ca.by_ref().take(3).map(|c| ("a/users.csv", Some(c))));
        // More than a tape of b while a waits: a's three chunks are checked first.
        ops.extend(cb.by_ref().take(18).map(|c| ("b/users.csv", Some(c))));
        ops.extend(ca.map(|c| ("a/users.csv", Some(c))));
        ops.push(("a/users.csv", None));
        // b/users.csv is not finished: `finish` ends it.
        ops.extend(cb.map(|c| ("b/users.csv", Some(c))));

        let mut core = Session::new(targets::canvas()).unwrap();
        let mut s = Session::new(targets::canvas()).unwrap();
        let mut r = Readings::default();
        let mut pushed = 0;
        for (i, &(path, op)) in ops.iter().enumerate() {
            match op {
                Some(chunk) => {
                    core.push(path, chunk).unwrap();
                    assert!(r.push(&mut s, path, chunk).unwrap());
                    pushed += chunk.len() as u64;
                }
                None => {
                    core.finish_file(path).unwrap();
                    r.finish_file(&mut s, path).unwrap();
                }
            }
            if i % 7 == 0 {
                assert_eq!(s.progress().bytes + r.unchecked(), pushed);
            }
        }
        r.finish_all(&mut s).unwrap();
        assert_eq!(r.unchecked(), 0);
        let want = core.finish();
        assert!(want.summary.errors >= 100, "{:?}", want.summary);
        assert_eq!(s.finish(), want);
    }

    #[test]
    fn a_record_over_the_limit_ends_the_file() {
        let options = validator_core::Options {
            max_record_bytes: 1000,
            ..Default::default()
        };
        let mut s = Session::with_options(targets::canvas(), options).unwrap();
        let mut r = Readings::default();
        assert!(
            r.push(&mut s, "users.csv", users(500, "u").as_bytes())
                .unwrap()
        );
        assert!(r.wants(&s, "users.csv"));
        let long = format!("u,{},active\r\n", "x".repeat(2000));
        assert!(r.push(&mut s, "users.csv", long.as_bytes()).unwrap());
        assert!(!r.wants(&s, "users.csv"));
        assert!(!r.push(&mut s, "users.csv", b"u9,l9,active\r\n").unwrap());
        r.finish_file(&mut s, "users.csv").unwrap();
        let report = s.finish();
        assert!(
            report
                .all_findings()
                .any(|f| f.code == "csv.record_too_large")
        );
    }
}
