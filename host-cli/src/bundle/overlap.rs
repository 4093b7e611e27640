//! `bundle` on two cores: while the check runs on the calling thread, a second thread
//! writes the bundle the check is expected to allow (every file, nothing refused or
//! rejected), fed the same chunks. When the finished check agrees ([`Expected::holds`]) that
//! bundle is kept; otherwise it is dropped and written again after the check, as on one
//! core. Either way the bytes are the same: the core's [`Bundler`](validator_core::bundle::Bundler)
//! writes them from the same plan.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use validator_core::bundle::{BundleOptions, BundleSummary, Expected, Plan};
use validator_core::{Target, Verdicts};

use super::{Temp, create};
use crate::error::Error;

/// Chunks in flight between the threads: enough to ride out a slow deflate block, few
/// enough (at 64 KiB each) not to matter for memory.
const QUEUE: usize = 32;

enum Msg {
    Begin(String),
    Chunk(Vec<u8>),
    End,
    Finish,
}

/// A bundle written to a temporary file, not yet in place.
pub(super) struct Written {
    pub summary: BundleSummary,
    pub temp: Temp,
    pub sink: BufWriter<File>,
}

/// The writing thread and what it was told to expect.
pub(super) struct Overlap {
    expected: Expected,
    /// `None` once the writer has stopped (an error): the rest is not sent.
    tx: Option<SyncSender<Msg>>,
    handle: Option<JoinHandle<Result<Written, Error>>>,
}

impl Overlap {
    /// Starts writing `expected` to a temporary file beside `out`; `None` when the thread
    /// or the file cannot be had (the bundle is then written after the check).
    pub fn start(
        target: &Target,
        expected: Expected,
        options: BundleOptions,
        out: &Path,
    ) -> Option<Overlap> {
        let mut temp = Temp::beside(out).ok()?;
        let sink = create(&mut temp).ok()?;
        let (tx, rx) = sync_channel(QUEUE);
        let (target, plan) = (target.clone(), expected.clone());
        let handle = std::thread::Builder::new()
            .name("bundle".into())
            .spawn(move || write(&target, &plan, options, temp, sink, &rx))
            .ok()?;
        Some(Overlap {
            expected,
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    pub fn begin(&mut self, source: &str) {
        self.send(Msg::Begin(source.to_owned()));
    }

    pub fn chunk(&mut self, chunk: &[u8]) {
        self.send(Msg::Chunk(chunk.to_vec()));
    }

    pub fn end(&mut self) {
        self.send(Msg::End);
    }

    fn send(&mut self, msg: Msg) {
        if let Some(tx) = &self.tx
            && tx.send(msg).is_err()
        {
            self.tx = None;
        }
    }

    /// The bundle, if the finished check's `plan` and `verdicts` write these very bytes
    /// and the writer did not fail; otherwise `None` (and its temporary file is gone).
    pub fn finish(mut self, plan: &Plan, verdicts: &Verdicts) -> Option<Written> {
        if !self.expected.holds(plan, verdicts) {
            return None;
        }
        self.send(Msg::Finish);
        self.tx.take()?;
        self.handle.take()?.join().ok()?.ok()
    }
}

impl Drop for Overlap {
    /// Abandons the writer: it sees the channel close, stops and removes its file.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The writing thread: the core's bundler, fed what the checking thread reads.
fn write(
    target: &Target,
    expected: &Expected,
    options: BundleOptions,
    temp: Temp,
    sink: BufWriter<File>,
    rx: &Receiver<Msg>,
) -> Result<Written, Error> {
    let mut bundler = expected.bundler(target, options, sink)?;
    loop {
        match rx.recv() {
            Ok(Msg::Begin(source)) => bundler.begin(&source)?,
            // Past a record over a limit the bundler reads no more, as on one core.
            Ok(Msg::Chunk(chunk)) if bundler.wants() => bundler.push(&chunk)?,
            Ok(Msg::Chunk(_)) => {}
            Ok(Msg::End) => bundler.end()?,
            Ok(Msg::Finish) => break,
            // Abandoned: `temp` is dropped, which removes the file.
            Err(_) => return Err(Error::Usage("bundle abandoned".into())),
        }
    }
    let (sink, _, summary) = bundler.finish()?;
    Ok(Written {
        summary,
        temp,
        sink,
    })
}
