//! Collecting the files to check from CSV, folder, ZIP and stream arguments, the way Canvas
//! reads an upload, and reading them back in fixed-size chunks.
//!
//! Nothing here holds a whole file: an [`Inputs`] keeps paths and, per ZIP entry, the few
//! numbers needed to find it again, and every read goes through a 64 KiB buffer. Files are
//! re-opened for each pass (kind peek, validation, snippet lines) rather than cached, so
//! memory does not grow with file size.
//!
//! Every input has a bound ([`Limits`]): a ZIP's entry count is checked from its end record
//! before any entry is listed, declared sizes and ratios when the central directory is
//! listed, and the bytes actually inflated while reading (a header can lie). A stream (`-`,
//! a pipe, a device) can be read only once while the host reads in several passes, so its
//! bytes are spooled, as they are first asked for, to an anonymous temporary file (unlinked
//! at creation: nothing remains if the process is killed), up to `--max-stream-bytes`.

use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::Args;
use validator_core::{Finding, Severity};
use zip::CompressionMethod;
use zip::ZipReadOptions;
use zip::read::{Config, read_zipfile_from_stream_with_options};
use zip::unstable::read::ZipIterable;

use crate::error::Error;
use crate::names::escape;

/// Bytes read per chunk (and the prefix peeked for kind detection).
pub const CHUNK: usize = 64 * 1024;

/// Bounds on what the host reads (global flags; see README "Limits").
#[derive(Clone, Copy, Debug, Args)]
pub struct Limits {
    /// Entries a ZIP may hold (counted from its end record, before any entry is read)
    #[arg(
        long = "max-zip-entries",
        value_name = "N",
        global = true,
        default_value = "10000"
    )]
    pub zip_entries: u64,
    /// Uncompressed bytes a ZIP may hold in all, declared or actually inflated (e.g. 4GiB)
    #[arg(long = "max-zip-bytes", value_name = "BYTES", global = true, default_value = "4GiB", value_parser = parse_bytes)]
    pub zip_bytes: u64,
    /// Uncompressed size over compressed size a ZIP entry may reach, declared or while
    /// inflating (Canvas refuses more than 100)
    #[arg(
        long = "max-zip-ratio",
        value_name = "N",
        global = true,
        default_value = "100"
    )]
    pub zip_ratio: u64,
    /// Bytes read from a stream (`-`, a pipe such as `<(...)`, a device), spooled to an
    /// anonymous temporary file so that it can be read more than once (e.g. 1GiB)
    #[arg(long = "max-stream-bytes", value_name = "BYTES", global = true, default_value = "1GiB", value_parser = parse_bytes)]
    pub stream_bytes: u64,
}

impl Limits {
    /// The documented defaults.
    pub const DEFAULT: Limits = Limits {
        zip_entries: 10_000,
        zip_bytes: 4 << 30,
        zip_ratio: 100,
        stream_bytes: 1 << 30,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

static LIMITS: OnceLock<Limits> = OnceLock::new();

/// Sets the bounds for this process (from the command line, once, before any input is
/// read). Kept process-wide so that every command that reads inputs honours the same flags.
pub fn set_limits(limits: Limits) {
    let _ = LIMITS.set(limits);
}

/// The bounds in force: the flags given, else the defaults.
pub fn limits() -> Limits {
    LIMITS.get().copied().unwrap_or_default()
}

/// `1048576`, `64KiB`, `16MiB`, `4GiB` (also `K`, `M`, `G`, `KB`... as binary units).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 1048576, 64KiB, 16MiB, 4GiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("'{s}': unknown unit (use KiB, MiB, GiB)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// `4 GiB`, `100 MiB`, `1,234 bytes`: a limit as people read it.
pub fn show_bytes(n: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

/// Where a file's bytes come from.
#[derive(Debug)]
enum Source {
    /// A file on disk.
    File(PathBuf),
    /// A stream (an index into [`Inputs::streams`]).
    Stream(usize),
    /// An entry of archive `zip` (an index into [`Inputs::zips`]).
    Zip { zip: usize, at: ZipAt },
}

/// One CSV file to validate.
#[derive(Debug)]
pub struct Entry {
    /// Report path: relative to the folder or ZIP root, `/`-separated.
    pub path: String,
    source: Source,
}

/// An opened archive: the file and what its entries inflated so far.
#[derive(Debug)]
struct Zip {
    /// The argument as given, for messages.
    display: String,
    file: File,
    /// Bytes inflated so far: per entry the most any pass read, summed.
    inflated: u64,
}

/// Everything found under the arguments.
#[derive(Debug)]
pub struct Inputs {
    /// CSV files, in argument order then path order.
    pub entries: Vec<Entry>,
    /// Report paths of files that are not `.csv`: the platform skips them.
    pub unknown: Vec<String>,
    /// Warnings about what was found but not read (a FIFO in a folder, a ZIP inside a
    /// ZIP) or may not survive the upload (names differing only in case), as findings
    /// for the report.
    pub notes: Vec<Finding>,
    zips: Vec<Zip>,
    streams: Vec<Stream>,
}

impl Inputs {
    /// The report's findings about the inputs themselves, for every command that reports
    /// (check, bundle, submit): a warning per non-CSV file the platform skips (worded with
    /// the target's `file.unknown_type` message when it has one), then the notes. Taken
    /// once: a second call returns only what was found since.
    pub fn take_findings(&mut self, target: &validator_core::Target) -> Vec<Finding> {
        let platform_message = target.platform_messages.get("file.unknown_type");
        let mut out: Vec<Finding> = std::mem::take(&mut self.unknown)
            .into_iter()
            .map(|path| Finding {
                platform_message: platform_message.cloned(),
                ..note(
                    "file.unknown_type",
                    path,
                    format!("not a .csv file; {} skips it", target.title()),
                )
            })
            .collect();
        out.append(&mut self.notes);
        out
    }
}

/// Whether Canvas skips this path silently. Canvas's rule is
/// `/__macosx|desktop d[bf]|\A\..*/i` on the extracted path; we apply the dot rule to
/// every component, since a hidden folder's files are just as much Finder/Explorer debris.
pub fn ignored(rel: &str) -> bool {
    let lower = rel.to_lowercase();
    lower.contains("__macosx")
        || lower.contains("desktop db")
        || lower.contains("desktop df")
        || rel.split('/').any(|c| c.starts_with('.'))
}

/// Whether the platform would read this path as CSV (extension only, any case).
pub fn is_csv(rel: &str) -> bool {
    has_extension(rel, "csv")
}

fn has_extension(rel: &str, ext: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.rsplit_once('.')
        .is_some_and(|(stem, e)| !stem.is_empty() && e.eq_ignore_ascii_case(ext))
}

/// A path as the user typed it, `/`-separated, for report paths (exact) and, through
/// [`escape`], messages.
fn shown(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// An I/O error on `path`, its name escaped for the terminal.
fn read_error(path: &str) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error::Read {
        path: escape(path).into_owned(),
        source,
    }
}

/// One file found under one argument, before report paths are made unique.
struct Found {
    arg: usize,
    rel: String,
    item: Item,
}

/// What became of a file found.
enum Item {
    /// Read and validated.
    Read(Source),
    /// Not a CSV file: listed as skipped by the platform.
    Unknown,
    /// A warning about this path (`code`, message).
    Note(&'static str, String),
}

impl Inputs {
    /// Walks the arguments. Missing or unreadable paths and bad archives are errors:
    /// a partial report would look like a clean one. `-` is standard input; a pipe or
    /// device named explicitly is read as a stream; one found in a folder is reported and
    /// skipped, never opened (opening a FIFO blocks). Bounds come from [`limits`].
    pub fn collect(args: &[PathBuf]) -> Result<Inputs, Error> {
        Inputs::collect_with(args, &limits())
    }

    /// [`Inputs::collect`] with explicit bounds.
    pub fn collect_with(args: &[PathBuf], limits: &Limits) -> Result<Inputs, Error> {
        let mut inputs = Inputs {
            entries: Vec::new(),
            unknown: Vec::new(),
            notes: Vec::new(),
            zips: Vec::new(),
            streams: Vec::new(),
        };
        let mut found: Vec<Found> = Vec::new();
        // Prefixes used when two arguments yield the same relative path.
        let mut prefixes: Vec<Prefix> = Vec::new();
        for (n, arg) in args.iter().enumerate() {
            let display = shown(arg);
            let err = read_error(&display);
            if arg.as_os_str() == "-" {
                let stream = Stream::new("-", Box::new(io::stdin()), limits).map_err(&err)?;
                inputs.add_stream(stream, n, &display, limits, &mut found)?;
                prefixes.push(Prefix::File(display.clone()));
                continue;
            }
            let meta = fs::metadata(arg).map_err(&err)?;
            let name = arg
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| display.clone());
            if meta.is_dir() {
                walk(arg, n, &mut found)?;
            } else if !meta.is_file() {
                // Named explicitly: the user means this stream (`<(...)`, /dev/stdin).
                let file = File::open(arg).map_err(&err)?;
                let stream = Stream::new(&display, Box::new(file), limits).map_err(&err)?;
                inputs.add_stream(stream, n, &display, limits, &mut found)?;
                prefixes.push(Prefix::File(display.clone()));
                continue;
            } else if looks_like_zip(arg).map_err(&err)? {
                let file = File::open(arg).map_err(&err)?;
                inputs.add_zip(file, n, &display, limits, &mut found)?;
            } else {
                // A file named explicitly is checked whatever its extension: the user
                // asked for it, and Canvas reads a single uploaded file as CSV.
                found.push(Found {
                    arg: n,
                    rel: name.clone(),
                    item: Item::Read(Source::File(arg.clone())),
                });
                // The file's own name is no help telling two files apart; its path is.
                prefixes.push(Prefix::File(display.clone()));
                continue;
            }
            prefixes.push(Prefix::Tree {
                name,
                full: display.trim_end_matches('/').to_owned(),
            });
        }
        let paths = unique_paths(&found, &prefixes);
        for (f, path) in found.into_iter().zip(paths) {
            match f.item {
                Item::Read(source) => inputs.entries.push(Entry { path, source }),
                Item::Unknown => inputs.unknown.push(path),
                Item::Note(code, message) => inputs.notes.push(note(code, path, message)),
            }
        }
        Ok(inputs)
    }

    /// A stream argument: a ZIP (spooled whole, since a ZIP is read from its end) or one
    /// CSV file (spooled as it is read).
    fn add_stream(
        &mut self,
        mut stream: Stream,
        arg: usize,
        display: &str,
        limits: &Limits,
        found: &mut Vec<Found>,
    ) -> Result<(), Error> {
        let err = read_error(display);
        let mut magic = [0u8; 4];
        let got = read_full(&mut stream.reader(0), &mut magic).map_err(&err)?;
        if got == 4 && is_zip_magic(&magic) {
            stream.fill().map_err(&err)?;
            let file = stream.spool.try_clone().map_err(&err)?;
            return self.add_zip(file, arg, display, limits, found);
        }
        found.push(Found {
            arg,
            rel: display.to_owned(),
            item: Item::Read(Source::Stream(self.streams.len())),
        });
        self.streams.push(stream);
        Ok(())
    }

    /// Lists a ZIP's entries (bounded, see [`list_zip`]).
    fn add_zip(
        &mut self,
        mut file: File,
        arg: usize,
        display: &str,
        limits: &Limits,
        found: &mut Vec<Found>,
    ) -> Result<(), Error> {
        let listing = list_zip(&mut file, display, limits)?;
        let z = self.zips.len();
        for item in listing.items {
            let rel = item.name;
            let item = if is_csv(&rel) {
                Item::Read(Source::Zip {
                    zip: z,
                    at: item.at,
                })
            } else if has_extension(&rel, "zip") {
                Item::Note(
                    "file.nested_zip",
                    "a ZIP inside the ZIP: not expanded; the platform does not unpack nested archives".into(),
                )
            } else {
                Item::Unknown
            };
            found.push(Found { arg, rel, item });
        }
        for (first, second) in listing.case_twins {
            let message = format!(
                "'{}' and '{second}' differ only in case: unpacked on Windows or macOS, one replaces the other",
                escape(&first)
            );
            found.push(Found {
                arg,
                rel: second,
                item: Item::Note("file.name_case", message),
            });
        }
        self.zips.push(Zip {
            display: display.to_owned(),
            file,
            inflated: 0,
        });
        Ok(())
    }

    /// Opens entry `i` and hands a reader to `f`; I/O errors name the file.
    fn with_reader<T>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> Result<T, Error> {
        let limits = limits();
        let entry = &mut self.entries[i];
        match &mut entry.source {
            Source::File(p) => {
                let shown = shown(p);
                let err = read_error(&shown);
                let mut file = File::open(p).map_err(&err)?;
                f(&mut file).map_err(&err)
            }
            Source::Stream(s) => {
                let stream = &mut self.streams[*s];
                let shown = stream.display.clone();
                f(&mut stream.reader(0)).map_err(read_error(&shown))
            }
            Source::Zip { zip, at } => {
                let z = &mut self.zips[*zip];
                let err = |source| Error::ZipEntry {
                    zip: escape(&z.display).into_owned(),
                    entry: escape(&entry.path).into_owned(),
                    source,
                };
                // What this entry may still inflate before the archive's total is exceeded.
                let others = z.inflated - at.inflated;
                let total_left = limits.zip_bytes.saturating_sub(others);
                let (result, inflated) = {
                    let mut reader = at.open(&mut z.file, &limits, total_left).map_err(&err)?;
                    let result = f(&mut reader);
                    (result, reader.inflated)
                };
                if inflated > at.inflated {
                    z.inflated = others + inflated;
                    at.inflated = inflated;
                }
                result.map_err(err)
            }
        }
    }

    /// The first [`CHUNK`] bytes of entry `i` (fewer if the file is shorter).
    pub fn prefix(&mut self, i: usize, buf: &mut Vec<u8>) -> Result<(), Error> {
        buf.clear();
        self.with_reader(i, |r| r.take(CHUNK as u64).read_to_end(buf).map(|_| ()))
    }

    /// Streams entry `i` in chunks of at most [`CHUNK`] bytes until the end or until `f`
    /// returns `false`.
    pub fn for_each_chunk(
        &mut self,
        i: usize,
        mut f: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), Error> {
        self.with_reader(i, |r| {
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if !f(&buf[..n]) {
                    return Ok(());
                }
            }
        })
    }

    /// [`for_each_chunk`](Self::for_each_chunk) for a consumer that can fail: `f` returns
    /// whether it wants more bytes, and its first error ends the read and is returned.
    pub fn try_for_each_chunk<E: From<Error>>(
        &mut self,
        i: usize,
        mut f: impl FnMut(&[u8]) -> Result<bool, E>,
    ) -> Result<(), E> {
        let mut failed = None;
        self.for_each_chunk(i, |chunk| match f(chunk) {
            Ok(more) => more,
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// How many bytes entry `i` should hold, for [`Session::size_hint`]: a file's length,
    /// a ZIP entry's uncompressed size as its directory says; none for a stream.
    ///
    /// [`Session::size_hint`]: validator_core::Session::size_hint
    pub fn size(&self, i: usize) -> Option<u64> {
        match &self.entries[i].source {
            Source::File(p) => fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
            Source::Stream(_) => None,
            Source::Zip { at, .. } => Some(at.size),
        }
    }

    /// Index of the entry with this report path.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.path == path)
    }
}

/// A host-made warning about a path.
fn note(code: &str, path: String, message: String) -> Finding {
    Finding {
        code: code.into(),
        severity: Severity::Warning,
        file: Some(path),
        row: None,
        line: None,
        column: None,
        column_number: None,
        value: None,
        message,
        platform_message: None,
    }
}

fn is_zip_magic(magic: &[u8; 4]) -> bool {
    *magic == *b"PK\x03\x04" || *magic == *b"PK\x05\x06"
}

/// Reads until `buf` is full or the end; the number of bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A `.zip` extension, or ZIP magic bytes under another name (a download renamed `.dat`).
fn looks_like_zip(p: &Path) -> io::Result<bool> {
    if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        return Ok(true);
    }
    let mut magic = [0u8; 4];
    let got = read_full(&mut File::open(p)?, &mut magic)?;
    Ok(got == 4 && is_zip_magic(&magic))
}

/// A stream's bytes, spooled to an anonymous temporary file as they are first read, so
/// that each pass reads the same bytes and a pass that stops early (the core stopped
/// wanting bytes) leaves the rest of the stream unread.
struct Stream {
    /// The argument as given, for messages.
    display: String,
    /// The stream; `None` once it ended.
    source: Option<Box<dyn Read + Send>>,
    spool: File,
    /// Bytes spooled.
    len: u64,
    limit: u64,
    /// The stream went past `limit`: every later read past the spool fails too.
    over: bool,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("display", &self.display)
            .field("len", &self.len)
            .field("ended", &self.source.is_none())
            .finish_non_exhaustive()
    }
}

impl Stream {
    fn new(display: &str, source: Box<dyn Read + Send>, limits: &Limits) -> io::Result<Stream> {
        Ok(Stream {
            display: display.to_owned(),
            source: Some(source),
            // Unlinked at creation: nothing of the students' data remains after a kill.
            spool: tempfile::tempfile()?,
            len: 0,
            limit: limits.stream_bytes,
            over: false,
        })
    }

    fn reader(&mut self, pos: u64) -> StreamReader<'_> {
        StreamReader { stream: self, pos }
    }

    fn too_long(&self) -> io::Error {
        io::Error::other(format!(
            "the stream is longer than {} (--max-stream-bytes)",
            show_bytes(self.limit)
        ))
    }

    /// Up to `buf.len()` bytes at `pos`: from the spool, else from the stream (spooled).
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        if pos < self.len {
            let want = usize::try_from(self.len - pos)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            self.spool.seek(SeekFrom::Start(pos))?;
            return self.spool.read(&mut buf[..want]);
        }
        if self.over {
            return Err(self.too_long());
        }
        let Some(source) = self.source.as_mut() else {
            return Ok(0);
        };
        let n = loop {
            match source.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.source = None;
            return Ok(0);
        }
        if self.len + n as u64 > self.limit {
            self.over = true;
            self.source = None;
            return Err(self.too_long());
        }
        self.spool.seek(SeekFrom::End(0))?;
        self.spool.write_all(&buf[..n])?;
        self.len += n as u64;
        Ok(n)
    }

    /// Spools the whole stream (bounded by the limit).
    fn fill(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        while self.read_at(self.len, &mut buf)? > 0 {}
        Ok(())
    }
}

struct StreamReader<'a> {
    stream: &'a mut Stream,
    pos: u64,
}

impl Read for StreamReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Where a ZIP entry is and what its central directory says about it: enough to read it
/// again without keeping the archive's parsed directory in memory.
#[derive(Debug, Clone)]
pub struct ZipAt {
    header_start: u64,
    compressed: u64,
    size: u64,
    crc: u32,
    method: CompressionMethod,
    /// The most bytes a pass inflated from it so far.
    inflated: u64,
}

impl ZipAt {
    /// Opens the entry for reading, bounded: it fails once it inflates more than the
    /// ratio allows or more than `total_left`.
    fn open<'a, R: Read + Seek>(
        &self,
        file: &'a mut R,
        limits: &Limits,
        total_left: u64,
    ) -> io::Result<Bounded<zip::read::ZipFile<'a, R>>> {
        file.seek(SeekFrom::Start(self.header_start))?;
        let options = ZipReadOptions::new()
            .override_compressed_size(self.compressed)
            .override_uncompressed_size(self.size)
            .override_crc(self.crc);
        let zf = read_zipfile_from_stream_with_options(file, options)
            .map_err(io::Error::from)?
            .ok_or_else(|| io::Error::other("no local header where the directory says"))?;
        if zf.compression() != self.method || zf.compressed_size() != self.compressed {
            return Err(io::Error::other(
                "its local header disagrees with the central directory (a tampered archive?)",
            ));
        }
        Ok(Bounded {
            inner: zf,
            inflated: 0,
            ratio_cap: self.compressed.max(1).saturating_mul(limits.zip_ratio),
            ratio: limits.zip_ratio,
            total_left,
            total: limits.zip_bytes,
        })
    }
}

/// A ZIP entry's reader that counts the bytes actually inflated and fails at the bounds.
#[derive(Debug)]
pub struct Bounded<R> {
    inner: R,
    /// Bytes inflated so far.
    pub inflated: u64,
    ratio_cap: u64,
    ratio: u64,
    total_left: u64,
    total: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Never ask for more than one byte past the tighter bound.
        let cap = self.ratio_cap.min(self.total_left);
        let room = cap.saturating_sub(self.inflated).saturating_add(1);
        let want = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        self.inflated += n as u64;
        if self.inflated > self.ratio_cap {
            return Err(io::Error::other(format!(
                "inflates to more than {} times its compressed size (a ZIP bomb?); limit: --max-zip-ratio {}",
                self.ratio, self.ratio
            )));
        }
        if self.inflated > self.total_left {
            return Err(io::Error::other(format!(
                "the archive's entries inflate to more than {} in all; limit: --max-zip-bytes",
                show_bytes(self.total)
            )));
        }
        Ok(n)
    }
}

/// A file entry of a ZIP, from its central directory.
#[derive(Debug)]
pub struct ZipItem {
    /// Its name, `/`-separated, without `./` and empty components.
    pub name: String,
    at: ZipAt,
}

/// A ZIP's file entries (folders and files the platform ignores left out).
#[derive(Debug)]
pub struct ZipListing {
    /// In central-directory order.
    pub items: Vec<ZipItem>,
    /// Pairs of names that differ only in case (first seen, second).
    pub case_twins: Vec<(String, String)>,
}

/// Lists a ZIP's entries within the bounds: more entries than allowed (from the end
/// record, before any entry is parsed), declared sizes over the total or the ratio, and two
/// entries with the same name (also `a\x` and `a/x`, or `./x` and `x`) are errors naming
/// the archive (and the entries).
pub fn list_zip<R: Read + Seek>(
    reader: R,
    display: &str,
    limits: &Limits,
) -> Result<ZipListing, Error> {
    let zip_err = |source| Error::Zip {
        path: escape(display).into_owned(),
        source,
    };
    let limit_err = |what: String| Error::Read {
        path: escape(display).into_owned(),
        source: io::Error::other(what),
    };
    let mut archive = ZipIterable::try_new(reader, Config::default()).map_err(zip_err)?;
    let count = archive.len() as u64;
    if count > limits.zip_entries {
        return Err(limit_err(format!(
            "the archive holds {count} entries, more than {} (--max-zip-entries)",
            limits.zip_entries
        )));
    }
    let mut items = Vec::new();
    let mut case_twins = Vec::new();
    // Normalised name → raw name; lower-cased name → normalised name.
    let mut names: HashMap<String, String> = HashMap::new();
    let mut folded: HashMap<String, String> = HashMap::new();
    let mut declared: u64 = 0;
    for entry in archive.files().map_err(zip_err)? {
        let entry = entry.map_err(zip_err)?;
        let raw = entry.name().map_err(zip_err)?.into_owned();
        let entry_err = |what: String| Error::ZipEntry {
            zip: escape(display).into_owned(),
            entry: escape(&raw).into_owned(),
            source: io::Error::other(what),
        };
        declared = declared.saturating_add(entry.size());
        if declared > limits.zip_bytes {
            return Err(limit_err(format!(
                "the archive's entries declare more than {} uncompressed (--max-zip-bytes)",
                show_bytes(limits.zip_bytes)
            )));
        }
        if entry.size()
            > entry
                .compressed_size()
                .max(1)
                .saturating_mul(limits.zip_ratio)
        {
            return Err(entry_err(format!(
                "declares {} bytes from {} compressed, more than {} times (a ZIP bomb?); limit: --max-zip-ratio",
                entry.size(),
                entry.compressed_size(),
                limits.zip_ratio
            )));
        }
        if entry.is_dir() || raw.ends_with('\\') {
            continue;
        }
        // Windows tools sometimes write `\`; a leading `/` or `./` is not part of the
        // name the platform reports.
        let name = raw
            .replace('\\', "/")
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect::<Vec<_>>()
            .join("/");
        if name.is_empty() || ignored(&name) {
            continue;
        }
        match names.entry(name.clone()) {
            Slot::Occupied(first) => {
                return Err(entry_err(format!(
                    "the archive also holds '{}': the same file name twice, and the platform would read only one of them",
                    escape(first.get())
                )));
            }
            Slot::Vacant(v) => {
                v.insert(raw.clone());
            }
        }
        match folded.entry(name.to_lowercase()) {
            Slot::Occupied(first) => case_twins.push((first.get().clone(), name.clone())),
            Slot::Vacant(v) => {
                v.insert(name.clone());
            }
        }
        items.push(ZipItem {
            name,
            at: ZipAt {
                header_start: entry.header_start(),
                compressed: entry.compressed_size(),
                size: entry.size(),
                crc: entry.crc32(),
                method: entry.compression(),
                inflated: 0,
            },
        });
    }
    Ok(ZipListing { items, case_twins })
}

/// The CSV entries of an uploaded ZIP held in memory, read within the same bounds as
/// `check` reads a ZIP (the sandbox's view of an upload). Errors are messages for a 400.
pub fn read_zip_csvs(bytes: &[u8], limits: &Limits) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut cursor = io::Cursor::new(bytes);
    let listing = list_zip(&mut cursor, "upload", limits).map_err(|e| e.to_string())?;
    let mut total: u64 = 0;
    let mut out = Vec::new();
    for item in listing.items {
        if !is_csv(&item.name) {
            continue;
        }
        let err = |e: io::Error| format!("cannot read '{}' in the upload: {e}", escape(&item.name));
        let mut reader = item
            .at
            .open(&mut cursor, limits, limits.zip_bytes.saturating_sub(total))
            .map_err(err)?;
        let mut data = Vec::new();
        reader.read_to_end(&mut data).map_err(err)?;
        total += reader.inflated;
        out.push((item.name, data));
    }
    Ok(out)
}

/// Walks a folder (sorted, so the report does not depend on directory order), pruning
/// ignored folders. Anything but files and folders (FIFOs, sockets, devices, also behind a
/// link) is reported and skipped without being opened: opening a FIFO blocks.
fn walk(root: &Path, arg: usize, found: &mut Vec<Found>) -> Result<(), Error> {
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel_dir)) = stack.pop() {
        let shown_dir = shown(&dir);
        let err = read_error(&shown_dir);
        let mut children = Vec::new();
        for child in fs::read_dir(&dir).map_err(&err)? {
            let child = child.map_err(&err)?;
            children.push(child);
        }
        children.sort_by_key(|c| c.file_name());
        let mut subdirs = Vec::new();
        for child in children {
            let name = child.file_name().to_string_lossy().into_owned();
            let rel = format!("{rel_dir}{name}");
            if ignored(&rel) {
                continue;
            }
            let path = child.path();
            let mut ft = child.file_type().map_err(read_error(&shown(&path)))?;
            if ft.is_symlink() {
                // Follow links to files, but not to folders: a link back up the tree would
                // loop forever, and an unpacked upload has no links anyway. A broken link
                // is kept, and fails to open with its name.
                match fs::metadata(&path) {
                    Ok(m) if m.is_dir() => continue,
                    Ok(m) => ft = m.file_type(),
                    Err(_) => {
                        push_file(found, arg, rel, path);
                        continue;
                    }
                }
            }
            if ft.is_dir() {
                subdirs.push((path, format!("{rel}/")));
            } else if ft.is_file() {
                push_file(found, arg, rel, path);
            } else {
                let message = format!(
                    "{} is not a file: skipped, not read; give it on its own to read it as a stream",
                    special_kind(&ft)
                );
                found.push(Found {
                    arg,
                    rel,
                    item: Item::Note("file.special", message),
                });
            }
        }
        // Reversed so the stack pops them in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

/// What a non-regular file is, for messages.
fn special_kind(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
    }
    let _ = ft;
    "a special file"
}

fn push_file(found: &mut Vec<Found>, arg: usize, rel: String, path: PathBuf) {
    let item = if is_csv(&rel) {
        Item::Read(Source::File(path))
    } else {
        Item::Unknown
    };
    found.push(Found { arg, rel, item });
}

/// How an argument prefixes its paths when they clash with another argument's.
#[derive(Debug)]
enum Prefix {
    /// A file argument: its path as given stands for it.
    File(String),
    /// A folder or ZIP: its name, or failing that its path as given.
    Tree { name: String, full: String },
}

/// Report paths: the relative path, unless another argument yields the same one; then the
/// argument's name, then its path as given, and as a last resort its position, tell them
/// apart.
fn unique_paths(found: &[Found], prefixes: &[Prefix]) -> Vec<String> {
    let candidate = |f: &Found, level: usize| -> String {
        match (&prefixes[f.arg], level) {
            (_, 0) => f.rel.clone(),
            (Prefix::File(full), 1 | 2) => full.clone(),
            (Prefix::Tree { name, .. }, 1) => format!("{name}/{}", f.rel),
            (Prefix::Tree { full, .. }, 2) => format!("{full}/{}", f.rel),
            (Prefix::File(full), _) => format!("{full}#{}", f.arg + 1),
            (Prefix::Tree { full, .. }, _) => format!("{full}/{}#{}", f.rel, f.arg + 1),
        }
    };
    let mut levels = vec![0usize; found.len()];
    let mut paths: Vec<String> = found.iter().map(|f| candidate(f, 0)).collect();
    for _ in 0..3 {
        let mut args_by_path: HashMap<&str, Vec<usize>> = HashMap::new();
        for (f, p) in found.iter().zip(&paths) {
            args_by_path.entry(p.as_str()).or_default().push(f.arg);
        }
        let clash: Vec<bool> = paths
            .iter()
            .map(|p| {
                args_by_path
                    .get(p.as_str())
                    .is_some_and(|a| a.iter().any(|&x| x != a[0]))
            })
            .collect();
        if !clash.contains(&true) {
            break;
        }
        for (i, f) in found.iter().enumerate() {
            if clash[i] {
                levels[i] += 1;
                paths[i] = candidate(f, levels[i]);
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_rules_follow_canvas() {
        assert!(ignored("__MACOSX/._users.csv"));
        assert!(ignored("sub/__macosx/x.csv"));
        assert!(ignored(".hidden.csv"));
        assert!(ignored("sub/.git/config"));
        assert!(ignored("Desktop DB"));
        assert!(ignored("desktop df"));
        assert!(!ignored("sub/users.csv"));
        assert!(!ignored("a.b/users.csv"));
    }

    #[test]
    fn csv_by_extension_any_case() {
        assert!(is_csv("users.csv"));
        assert!(is_csv("sub/USERS.CSV"));
        assert!(!is_csv("notes.txt"));
        assert!(!is_csv("dir.csv/readme"));
        assert!(!is_csv("csv"));
    }

    #[test]
    fn clashing_paths_get_the_argument_name() {
        let f = |arg, rel: &str| Found {
            arg,
            rel: rel.into(),
            item: Item::Unknown,
        };
        let found = vec![f(0, "users.csv"), f(0, "terms.csv"), f(1, "users.csv")];
        let prefixes = vec![
            Prefix::Tree {
                name: "a.zip".into(),
                full: "x/a.zip".into(),
            },
            Prefix::Tree {
                name: "b".into(),
                full: "y/b".into(),
            },
        ];
        assert_eq!(
            unique_paths(&found, &prefixes),
            ["a.zip/users.csv", "terms.csv", "b/users.csv"]
        );
    }

    #[test]
    fn inflated_bytes_are_counted_whatever_the_header_says() {
        // A reader standing for an entry whose header declares 10 compressed bytes but
        // inflates without end: the count, not the header, stops it.
        let endless = io::repeat(0);
        let mut r = Bounded {
            inner: endless,
            inflated: 0,
            ratio_cap: 10 * 100,
            ratio: 100,
            total_left: u64::MAX,
            total: u64::MAX,
        };
        let e = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert!(e.to_string().contains("--max-zip-ratio 100"), "{e}");
        assert_eq!(r.inflated, 1001);
        let mut r = Bounded {
            inner: io::repeat(0),
            inflated: 0,
            ratio_cap: u64::MAX,
            ratio: 100,
            total_left: 5000,
            total: 1 << 20,
        };
        let e = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert!(e.to_string().contains("more than 1 MiB in all"), "{e}");
        assert_eq!(r.inflated, 5001);
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert_eq!(parse_bytes("64KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("16m"), Ok(16 << 20));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("4XB").is_err());
        assert_eq!(show_bytes(4 << 30), "4 GiB");
        assert_eq!(show_bytes(1000), "1000 bytes");
    }

    #[test]
    fn a_stream_is_spooled_once_and_read_again() {
        let data = b"a,b\n1,2\n".repeat(10_000);
        let limits = Limits::default();
        let mut s = Stream::new("-", Box::new(io::Cursor::new(data.clone())), &limits).unwrap();
        let mut head = [0u8; 4];
        read_full(&mut s.reader(0), &mut head).unwrap();
        assert_eq!(&head, b"a,b\n");
        for _ in 0..2 {
            let mut all = Vec::new();
            s.reader(0).read_to_end(&mut all).unwrap();
            assert_eq!(all, data);
        }
        let small = Limits {
            stream_bytes: 1000,
            ..Limits::default()
        };
        let mut s = Stream::new("-", Box::new(io::Cursor::new(data)), &small).unwrap();
        let e = s.reader(0).read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("longer than 1000 bytes"), "{e}");
        // Later passes fail the same way instead of seeing a truncated stream.
        assert!(s.reader(0).read_to_end(&mut Vec::new()).is_err());
    }
}
