//! Bytes to records: decoding, delimiter sniffing and the record reader, wired together
//! for anyone who reads a file (the validator and the bundler).

use crate::decode::{Decoder, Invalid};
use crate::reader::{Limits, LineEnding, Overflow, Record, RecordReader, enough_to_sniff, sniff};

/// What a [`Parser`] reports while it reads.
pub(crate) trait Events {
    /// An invalid byte sequence was replaced; reported before the record holding it.
    fn invalid(&mut self, inv: Invalid);
    /// The delimiter and line ending were chosen (once, before the first record).
    fn sniffed(&mut self, delimiter: u8, ending: Option<LineEnding>);
    /// A complete record.
    fn record(&mut self, rec: &Record<'_>);
    /// A record over a limit; nothing after it is read (once, after the last record).
    fn overflow(&mut self, o: Overflow);
}

/// Streaming parser of one file.
#[derive(Debug)]
pub(crate) struct Parser {
    decoder: Decoder,
    scratch: Vec<u8>,
    /// Decoded bytes held until the delimiter is chosen.
    sniff_buf: Option<Vec<u8>>,
    /// Line feeds in `sniff_buf`.
    sniff_lines: usize,
    reader: Option<RecordReader>,
    limits: Limits,
    /// A record went over a limit: the rest of the file is not read.
    stopped: bool,
}

impl Parser {
    pub fn new(limits: Limits) -> Parser {
        Parser {
            decoder: Decoder::new(),
            scratch: Vec::new(),
            sniff_buf: Some(Vec::new()),
            sniff_lines: 0,
            reader: None,
            limits,
            stopped: false,
        }
    }

    /// False once a record went over a limit: further bytes of the file are ignored, and
    /// a host can stop reading it.
    pub fn wants_more(&self) -> bool {
        !self.stopped
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Frees the buffers of a finished file: a bundle of 10,000 small files must not keep
    /// 10,000 record buffers until the session ends. The decoder (a few bytes) stays, for
    /// what the report says about the file's encoding.
    pub fn release(&mut self) {
        self.scratch = Vec::new();
        self.sniff_buf = None;
        self.reader = None;
    }

    /// Feeds the next chunk of raw bytes.
    pub fn push(&mut self, chunk: &[u8], ev: &mut dyn Events) {
        if self.stopped {
            return;
        }
        let mut decoded = std::mem::take(&mut self.scratch);
        decoded.clear();
        self.decoder.decode(chunk, &mut decoded);
        for inv in self.decoder.invalid.drain(..) {
            ev.invalid(inv);
        }
        self.feed(&decoded, false, ev);
        self.scratch = decoded;
    }

    /// Ends the input.
    pub fn finish(&mut self, ev: &mut dyn Events) {
        if self.stopped {
            return;
        }
        let mut decoded = std::mem::take(&mut self.scratch);
        decoded.clear();
        self.decoder.finish(&mut decoded);
        for inv in self.decoder.invalid.drain(..) {
            ev.invalid(inv);
        }
        self.feed(&decoded, true, ev);
        self.scratch = decoded;
    }

    fn feed(&mut self, decoded: &[u8], last: bool, ev: &mut dyn Events) {
        let held;
        let bytes = match &mut self.sniff_buf {
            Some(buf) => {
                buf.extend_from_slice(decoded);
                self.sniff_lines += memchr::memchr_iter(b'\n', decoded).count();
                if !last && !enough_to_sniff(buf.len(), self.sniff_lines) {
                    return;
                }
                held = self.sniff_buf.take().unwrap_or_default();
                let (delimiter, ending) = sniff(&held);
                ev.sniffed(delimiter, ending);
                self.reader = Some(RecordReader::new(delimiter, ending, self.limits));
                &held[..]
            }
            None => decoded,
        };
        let Some(reader) = &mut self.reader else {
            return;
        };
        let mut emit = |rec: &Record<'_>| ev.record(rec);
        reader.feed(bytes, &mut emit);
        if last {
            reader.finish(&mut emit);
        }
        if let Some(o) = reader.overflow() {
            self.stopped = true;
            self.decoder.invalid.clear();
            ev.overflow(o);
        }
    }
}
