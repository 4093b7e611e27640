//! Bytes to UTF-8, chunk by chunk.
//!
//! A UTF-8 BOM is stripped; UTF-16 with a BOM is decoded with `encoding_rs`. Invalid UTF-8
//! is replaced by U+FFFD and remembered (input offset, output offset, raw bytes) so the
//! record reader can place it in a row and column, and so we can offer a Windows-1252
//! reading of it.

use encoding_rs::{Decoder as RsDecoder, DecoderResult, UTF_16BE, UTF_16LE};

/// The encoding a file was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (possibly invalid in places).
    Utf8,
    /// UTF-16 little-endian, announced by a BOM.
    Utf16Le,
    /// UTF-16 big-endian, announced by a BOM.
    Utf16Be,
}

impl Encoding {
    /// Name as in the report.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
        }
    }
}

/// An invalid byte sequence replaced by U+FFFD.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Invalid {
    /// Offset in the input bytes.
    pub in_offset: u64,
    /// Offset of the replacement character in the decoded output.
    pub out_offset: u64,
    /// The raw bytes (up to 4).
    pub raw: [u8; 4],
    pub raw_len: u8,
}

impl Invalid {
    pub fn raw(&self) -> &[u8] {
        &self.raw[..usize::from(self.raw_len)]
    }
}

#[derive(Debug)]
enum State {
    /// Waiting for enough bytes to see a BOM.
    Start(Vec<u8>),
    Utf8 {
        carry: [u8; 4],
        carry_len: usize,
    },
    Utf16(Box<RsDecoder>),
}

/// Streaming decoder to UTF-8.
#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
    pub encoding: Encoding,
    pub bom: bool,
    /// Input bytes consumed.
    in_pos: u64,
    /// Output bytes produced.
    out_pos: u64,
    /// Replacements since the caller last drained this.
    pub invalid: Vec<Invalid>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            state: State::Start(Vec::with_capacity(3)),
            encoding: Encoding::Utf8,
            bom: false,
            in_pos: 0,
            out_pos: 0,
            invalid: Vec::new(),
        }
    }

    /// Decodes `input`, appending its text to `out`.
    pub fn decode(&mut self, input: &[u8], out: &mut String) {
        let mut input = input;
        if let State::Start(buf) = &mut self.state {
            let need = 3 - buf.len();
            let take = need.min(input.len());
            buf.extend_from_slice(&input[..take]);
            input = &input[take..];
            if buf.len() < 3 {
                return;
            }
            let head = std::mem::take(buf);
            self.begin(&head, out, false);
        }
        self.body(input, out, false);
    }

    /// `input` as text, read in place, when that is all [`Decoder::decode`] would write:
    /// UTF-8 past the first bytes, no character carried over from the chunk before, and
    /// `input` valid to its end. `None` (nothing consumed) otherwise: then `decode` it.
    /// Most chunks of an export take this way, and skip a copy of every byte.
    pub fn in_place<'a>(&mut self, input: &'a [u8]) -> Option<&'a str> {
        if !matches!(self.state, State::Utf8 { carry_len: 0, .. }) {
            return None;
        }
        let text = simdutf8::basic::from_utf8(input).ok()?;
        self.in_pos += input.len() as u64;
        self.out_pos += input.len() as u64;
        Some(text)
    }

    /// Flushes what is held back at end of input.
    pub fn finish(&mut self, out: &mut String) {
        if let State::Start(buf) = &mut self.state {
            let head = std::mem::take(buf);
            // `begin` ends the input itself: a UTF-16 decoder must not be ended twice.
            self.begin(&head, out, true);
            return;
        }
        self.body(&[], out, true);
    }

    /// Chooses the encoding from the first bytes and decodes them.
    fn begin(&mut self, head: &[u8], out: &mut String, last: bool) {
        let (rest, state) = if let Some(r) = head.strip_prefix(b"\xEF\xBB\xBF") {
            self.bom = true;
            (r, None)
        } else if head.starts_with(b"\xFF\xFE") {
            self.bom = true;
            self.encoding = Encoding::Utf16Le;
            (head, Some(UTF_16LE.new_decoder_with_bom_removal()))
        } else if head.starts_with(b"\xFE\xFF") {
            self.bom = true;
            self.encoding = Encoding::Utf16Be;
            (head, Some(UTF_16BE.new_decoder_with_bom_removal()))
        } else {
            (head, None)
        };
        self.state = match state {
            Some(d) => State::Utf16(Box::new(d)),
            None => State::Utf8 {
                carry: [0; 4],
                carry_len: 0,
            },
        };
        // The BOM bytes count as consumed input.
        self.in_pos += (head.len() - rest.len()) as u64;
        self.body(rest, out, last);
    }

    /// Decodes `input` and advances `out_pos` by what it wrote, so that a second call in
    /// the same chunk (after `begin`) places its replacements right.
    fn body(&mut self, input: &[u8], out: &mut String, last: bool) {
        let start = out.len();
        self.body_inner(input, out, last);
        self.out_pos += (out.len() - start) as u64;
    }

    fn body_inner(&mut self, input: &[u8], out: &mut String, last: bool) {
        match &mut self.state {
            State::Start(_) => {}
            State::Utf16(dec) => {
                let base = out.len();
                let mut src = input;
                let mut read_total = 0u64;
                // Without replacement, the decoder stops at each malformed unit and says
                // how far back it began, so its input offset does not depend on how the
                // file was chunked.
                loop {
                    let need = dec
                        .max_utf8_buffer_length_without_replacement(src.len())
                        .unwrap_or(src.len() * 3 + 16);
                    out.reserve(need);
                    let (res, read) = dec.decode_to_string_without_replacement(src, out, last);
                    src = &src[read..];
                    read_total += read as u64;
                    match res {
                        DecoderResult::InputEmpty => break,
                        DecoderResult::OutputFull => {}
                        DecoderResult::Malformed(bad, extra) => {
                            let end = (self.in_pos + read_total).saturating_sub(u64::from(extra));
                            self.invalid.push(Invalid {
                                in_offset: end.saturating_sub(u64::from(bad)),
                                out_offset: self.out_pos + (out.len() - base) as u64,
                                raw: [0; 4],
                                raw_len: 0,
                            });
                            out.push(char::REPLACEMENT_CHARACTER);
                        }
                    }
                }
                self.in_pos += input.len() as u64;
            }
            State::Utf8 { carry, carry_len } => {
                let base = out.len();
                let out_pos = self.out_pos;
                let mut src = input;
                let mut in_pos = self.in_pos;
                // Finish a character split across chunks. `carry` holds a valid but
                // incomplete prefix, so its lead byte says how many bytes are missing.
                if *carry_len > 0 {
                    let cl = *carry_len;
                    let width = match carry[0] {
                        0xC0..=0xDF => 2,
                        0xE0..=0xEF => 3,
                        _ => 4,
                    };
                    let need = width - cl;
                    // Still the prefix of a character? Not every continuation byte will do:
                    // after F4 only 80..8F, after E0 only A0..BF (as `from_utf8` knows).
                    let avail = need.min(src.len());
                    let mut probe = [0u8; 4];
                    probe[..cl].copy_from_slice(&carry[..cl]);
                    probe[cl..cl + avail].copy_from_slice(&src[..avail]);
                    let continues = std::str::from_utf8(&probe[..cl + avail])
                        .map_or_else(|e| e.error_len().is_none(), |_| true);
                    if src.len() < need && !last && continues {
                        carry[cl..cl + src.len()].copy_from_slice(src);
                        *carry_len += src.len();
                        return;
                    }
                    let take = need.min(src.len());
                    let mut joint = [0u8; 4];
                    joint[..cl].copy_from_slice(&carry[..cl]);
                    joint[cl..cl + take].copy_from_slice(&src[..take]);
                    let jl = cl + take;
                    match std::str::from_utf8(&joint[..jl]) {
                        Ok(joined) => {
                            out.push_str(joined);
                            in_pos += jl as u64;
                            src = &src[take..];
                        }
                        Err(e) => {
                            let bad = e.error_len().unwrap_or(jl).max(cl);
                            let mut raw = [0; 4];
                            raw[..bad].copy_from_slice(&joint[..bad]);
                            self.invalid.push(Invalid {
                                in_offset: in_pos,
                                out_offset: out_pos + (out.len() - base) as u64,
                                raw,
                                raw_len: bad as u8,
                            });
                            out.push(char::REPLACEMENT_CHARACTER);
                            in_pos += bad as u64;
                            src = &src[bad - cl..];
                        }
                    }
                    *carry_len = 0;
                }
                loop {
                    // Validated here once: the text goes on as `str` (records read in
                    // place keep it, `RecordReader::feed_text`).
                    // SIMD first (nearly every chunk is valid); std again only to
                    // locate an error.
                    let checked = simdutf8::basic::from_utf8(src)
                        .map_or_else(|_| std::str::from_utf8(src), Ok);
                    match checked {
                        Ok(text) => {
                            out.push_str(text);
                            in_pos += src.len() as u64;
                            break;
                        }
                        Err(e) => {
                            let good = e.valid_up_to();
                            // The valid part, as the error says (checked again only up to
                            // this error: linear in all).
                            out.push_str(std::str::from_utf8(&src[..good]).unwrap_or_default());
                            in_pos += good as u64;
                            match e.error_len() {
                                Some(n) => {
                                    let mut raw = [0; 4];
                                    raw[..n].copy_from_slice(&src[good..good + n]);
                                    self.invalid.push(Invalid {
                                        in_offset: in_pos,
                                        out_offset: out_pos + (out.len() - base) as u64,
                                        raw,
                                        raw_len: n as u8,
                                    });
                                    out.push(char::REPLACEMENT_CHARACTER);
                                    in_pos += n as u64;
                                    src = &src[good + n..];
                                }
                                None if last => {
                                    let n = src.len() - good;
                                    let mut raw = [0; 4];
                                    raw[..n].copy_from_slice(&src[good..]);
                                    self.invalid.push(Invalid {
                                        in_offset: in_pos,
                                        out_offset: out_pos + (out.len() - base) as u64,
                                        raw,
                                        raw_len: n as u8,
                                    });
                                    out.push(char::REPLACEMENT_CHARACTER);
                                    in_pos += n as u64;
                                    break;
                                }
                                None => {
                                    let n = src.len() - good;
                                    carry[..n].copy_from_slice(&src[good..]);
                                    *carry_len = n;
                                    break;
                                }
                            }
                        }
                    }
                }
                self.in_pos = in_pos;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, Decoder) {
        let mut d = Decoder::new();
        let mut out = String::new();
        for c in chunks {
            d.decode(c, &mut out);
        }
        d.finish(&mut out);
        (out.into_bytes(), d)
    }

    #[test]
    fn bom_and_split_chars() {
        let (o, d) = run(&[b"\xEF", b"\xBB\xBFa\xC3", b"\xA9b"]);
        assert_eq!(o, "aéb".as_bytes());
        assert!(d.bom && d.invalid.is_empty());
    }

    #[test]
    fn invalid_located() {
        let (o, d) = run(&[b"ab\xE9", b"cd"]);
        assert_eq!(o, "ab\u{FFFD}cd".as_bytes());
        assert_eq!(d.invalid.len(), 1);
        assert_eq!(d.invalid[0].in_offset, 2);
        assert_eq!(d.invalid[0].out_offset, 2);
        assert_eq!(d.invalid[0].raw(), b"\xE9");
    }

    #[test]
    fn invalid_lead_split_from_next_char() {
        let (o, d) = run(&[b"Ren\xE9", b"e", b"!"]);
        assert_eq!(o, "Ren\u{FFFD}e!".as_bytes());
        assert_eq!(d.invalid[0].raw(), b"\xE9");
        assert_eq!(d.invalid[0].in_offset, 3);
    }

    /// The first chunk is decoded in two steps (the BOM probe, then the rest): offsets
    /// after the probe must count the probe's output (a bad byte was blamed on the row
    /// before it).
    #[test]
    fn out_offset_counts_the_bom_probe() {
        let (o, d) = run(&[b"abc,d\n\xE9x\n"]);
        assert_eq!(o, "abc,d\n\u{FFFD}x\n".as_bytes());
        assert_eq!(d.invalid[0].out_offset, 6);
        assert_eq!(d.invalid[0].in_offset, 6);
    }

    #[test]
    fn truncated_at_end() {
        let (o, d) = run(&[b"abc\xC3"]);
        assert_eq!(o, "abc\u{FFFD}".as_bytes());
        assert_eq!(d.invalid.len(), 1);
    }

    #[test]
    fn utf16() {
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a,é\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let (o, d) = run(&[&le[..3], &le[3..]]);
        assert_eq!(o, "a,é\n".as_bytes());
        assert_eq!(d.encoding, Encoding::Utf16Le);
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("x".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let (o, d) = run(&[&be]);
        assert_eq!(o, b"x");
        assert_eq!(d.encoding, Encoding::Utf16Be);
    }

    #[test]
    fn utf16_lone_surrogate_located_however_chunked() {
        // "a" then a lone high surrogate then "b": the bad unit is at bytes 4..6.
        let le = [0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0];
        for cut in 1..le.len() {
            let (o, d) = run(&[&le[..cut], &le[cut..]]);
            assert_eq!(o, "a\u{FFFD}b".as_bytes(), "cut {cut}");
            let at: Vec<(u64, u64)> = d
                .invalid
                .iter()
                .map(|i| (i.in_offset, i.out_offset))
                .collect();
            assert_eq!(at, [(4, 1)], "cut {cut}");
        }
    }

    #[test]
    fn a_bom_alone_ends_once() {
        // Two bytes only: the decoder is chosen and ended at `finish` (it used to be ended
        // twice, which panics in encoding_rs).
        for bytes in [&[0xFF, 0xFE][..], &[0xFE, 0xFF], &[0xFF, 0xFE, 0x41]] {
            let mut d = Decoder::new();
            let mut out = String::new();
            d.decode(bytes, &mut out);
            d.finish(&mut out);
        }
    }

    #[test]
    fn carried_lead_checks_its_second_byte() {
        // F4 takes 80..8F next: F4 B4 is one bad byte, then each B4 is one, however cut.
        let bytes = b"a\xF4\xB4\xB4\xB4b";
        let (whole, dw) = run(&[bytes]);
        for cut in 1..bytes.len() {
            for cut2 in cut..bytes.len() {
                let (o, d) = run(&[&bytes[..cut], &bytes[cut..cut2], &bytes[cut2..]]);
                assert_eq!(o, whole, "cuts {cut} {cut2}");
                let at = |d: &Decoder| {
                    d.invalid
                        .iter()
                        .map(|i| (i.in_offset, i.raw_len))
                        .collect::<Vec<_>>()
                };
                assert_eq!(at(&d), at(&dw), "cuts {cut} {cut2}");
            }
        }
        assert_eq!(dw.invalid.len(), 4);
    }
}
