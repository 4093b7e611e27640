//! A check on two threads: a second thread reads the files, decodes and parses them (the
//! core's [`FileReader`]) and sends what it read on [`Tape`]s; the calling thread, which
//! owns the [`Session`], checks them. The report is the one a single thread gives (the
//! core replays the same events in the same order; `tests/tests/corpus.rs` holds every
//! case to it).

use std::sync::mpsc::{channel, sync_channel};

use validator_core::{FileReader, Session, Tape};

use crate::error::Error;
use crate::input::Inputs;

/// Record bytes per tape: large enough that the channel costs nothing, small enough that
/// the tapes in flight stay a few MiB.
const TAPE_BYTES: usize = 128 * 1024;
/// Tapes in flight.
const IN_FLIGHT: usize = 2;

enum Msg {
    Tape(usize, Tape),
    /// The file's reader, given back once all of its tapes were sent.
    Done(usize, Box<FileReader>),
}

/// Threads a check uses: `--threads`, else 2 on a machine with two cores or more.
pub fn threads(asked: Option<u32>) -> u32 {
    asked.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(2) as u32)
    })
}

/// Pushes `inputs`' entries `order` into `session` and finishes each file, on one thread
/// or, with `threads` > 1, read on a second one. Both check tapes, whose replay starts
/// each row's index look-ups a few rows early (see `Events::ahead` in the core).
pub fn check_files(
    session: &mut Session,
    inputs: &mut Inputs,
    order: &[usize],
    threads: u32,
) -> Result<(), Error> {
    for &i in order {
        if let Some(bytes) = inputs.size(i) {
            session.size_hint(&inputs.entries[i].path, bytes);
        }
    }
    if threads > 1 {
        return check_files_split(session, inputs, order);
    }
    let mut tape = Tape::default();
    for &i in order {
        let path = inputs.entries[i].path.clone();
        let mut reader = session.reader(&path)?;
        inputs.try_for_each_chunk(i, |chunk| -> Result<bool, Error> {
            reader.read(chunk, &mut tape);
            if tape.data_len() >= TAPE_BYTES {
                session.push_tape(&path, &tape)?;
                tape.clear();
            }
            Ok(reader.wants_more())
        })?;
        session.push_tape(&path, &tape)?;
        tape.clear();
        session.finish_read(&path, reader)?;
    }
    Ok(())
}

/// [`check_files`] with a reading thread.
fn check_files_split(
    session: &mut Session,
    inputs: &mut Inputs,
    order: &[usize],
) -> Result<(), Error> {
    let paths: Vec<String> = order
        .iter()
        .map(|&i| inputs.entries[i].path.clone())
        .collect();
    // The reading thread also runs the rules that read only their row (it has less to do).
    let readers = paths
        .iter()
        .map(|p| session.reader(p).map(FileReader::check_rows))
        .collect::<Result<Vec<_>, _>>()?;
    let (tx, rx) = sync_channel::<Msg>(IN_FLIGHT);
    let (spare_tx, spare_rx) = channel::<Tape>();
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || -> Result<(), Error> {
            for (k, (&i, mut reader)) in order.iter().zip(readers).enumerate() {
                let mut tape = spare_rx.try_recv().unwrap_or_default();
                let mut gone = false;
                inputs.for_each_chunk(i, |chunk| {
                    reader.read(chunk, &mut tape);
                    if tape.data_len() >= TAPE_BYTES {
                        let next = spare_rx.try_recv().unwrap_or_default();
                        gone = tx
                            .send(Msg::Tape(k, std::mem::replace(&mut tape, next)))
                            .is_err();
                    }
                    !gone && reader.wants_more()
                })?;
                // The checking thread stopped (an error it returns): nothing more to do.
                if gone
                    || tx.send(Msg::Tape(k, tape)).is_err()
                    || tx.send(Msg::Done(k, Box::new(reader))).is_err()
                {
                    return Ok(());
                }
            }
            Ok(())
        });
        let checked = (|| -> Result<(), Error> {
            for msg in &rx {
                match msg {
                    Msg::Tape(k, mut tape) => {
                        session.push_tape(&paths[k], &tape)?;
                        tape.clear();
                        let _ = spare_tx.send(tape);
                    }
                    Msg::Done(k, reader) => session.finish_read(&paths[k], *reader)?,
                }
            }
            Ok(())
        })();
        // Unblocks the reader if checking failed, then takes its result.
        drop(rx);
        let read = reading
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("the reading thread panicked".into())));
        checked.and(read)
    })
}
