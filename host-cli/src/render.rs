//! Human-readable output: the check report with source snippets, and the target listing.
//!
//! Snippets show the physical CSV line a finding points at. The report carries line
//! numbers, not text, so each file with located findings is read once more, streaming,
//! keeping only the lines needed.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use encoding_rs::{CoderResult, Encoding as Charset};
use serde::Serialize;
use validator_core::schema::{Detect, Target};
use validator_core::{FileReport, Finding, Omitted, Report, Severity};

use crate::error::Error;
use crate::input::Inputs;

/// Characters of a line shown around the caret.
const WIDTH: usize = 120;
/// Bytes of a wanted line kept; a cell past this is underlined as the whole line.
const MAX_LINE: usize = 256 * 1024;

pub use host_cli::names::{escape, unsafe_char};

/// Writes the human report.
pub fn report(
    report: &Report,
    inputs: &mut Inputs,
    color: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let bold = |s: &str| {
        if color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    // Blank lines separate findings, but the lines of clean files stay together.
    let mut gap = Gap { out, blank: true };
    // Once: building a target to read its title cost 0.4 M instructions per finding.
    let platform = title(&report.target);
    for file in &report.files {
        gap.line(&bold(&file_line(file)))?;
        let lines = read_lines(inputs, file, file.findings.iter())?;
        for f in &file.findings {
            gap.blank()?;
            gap.line(&finding(&renderer, &platform, f, &lines, file))?;
        }
        if !file.findings.is_empty() {
            gap.blank()?;
        }
        for o in &file.omitted {
            gap.line(&omitted(o))?;
        }
    }
    for f in &report.findings {
        // Bundle findings rarely have a line; when they do, fetch it from their file.
        let file = f
            .file
            .as_deref()
            .and_then(|p| report.files.iter().find(|r| r.path == p));
        let lines = match file {
            Some(file) => read_lines(inputs, file, std::iter::once(f))?,
            None => HashMap::new(),
        };
        let text = match file {
            Some(file) => finding(&renderer, &platform, f, &lines, file),
            None => finding_plain(&renderer, &platform, f),
        };
        gap.blank()?;
        gap.line(&text)?;
    }
    for o in &report.omitted {
        gap.line(&omitted(o))?;
    }
    gap.blank()?;
    let s = &report.summary;
    gap.line(&bold(&format!(
        "{}, {}, {} in {} ({})",
        count(s.errors, "error"),
        count(s.warnings, "warning"),
        count(s.infos, "info"),
        count(s.files, "file"),
        count(s.rows, "row")
    )))
}

/// `1 error`, `2 errors`, `1,204 rows`.
fn count(n: u64, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", thousands(n))
}

/// The platform's display name (`Canvas`) for a report's target name.
fn title(target: &str) -> String {
    validator_core::targets::builtin(target)
        .map(|t| t.title().to_owned())
        .unwrap_or_else(|| target.to_owned())
}

/// Writes lines, avoiding doubled blank lines.
struct Gap<'a> {
    out: &'a mut dyn Write,
    blank: bool,
}

impl Gap<'_> {
    fn line(&mut self, s: &str) -> Result<(), Error> {
        self.blank = s.is_empty();
        writeln!(self.out, "{s}").map_err(Error::Output)
    }

    fn blank(&mut self) -> Result<(), Error> {
        if self.blank {
            return Ok(());
        }
        self.line("")
    }
}

/// `… and 12 more `row.required` findings (total 112)`
fn omitted(o: &Omitted) -> String {
    format!(
        "… and {} more `{}` findings (total {})",
        thousands(o.omitted),
        o.code,
        thousands(o.total)
    )
}

/// `users.csv  users  1,204 rows  UTF-8 (BOM)  comma`
fn file_line(f: &FileReport) -> String {
    let kind = f.kind.as_deref().unwrap_or("unknown kind");
    let rows = match f.rows {
        1 => "1 row".to_owned(),
        n => format!("{} rows", thousands(n)),
    };
    let bom = if f.bom { " (BOM)" } else { "" };
    let delim = match f.delimiter.as_str() {
        "," => "comma".to_owned(),
        ";" => "semicolon".to_owned(),
        "\t" => "tab".to_owned(),
        "|" => "pipe".to_owned(),
        d => format!("`{d}`"),
    };
    let kind = escape(kind);
    format!(
        "{}  {kind}  {rows}  {}{bom}  {delim}",
        escape(&f.path),
        f.encoding
    )
}

fn level(s: Severity) -> Level<'static> {
    match s {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

/// A finding with the offending line, when we have it.
fn finding(
    renderer: &Renderer,
    platform: &str,
    f: &Finding,
    lines: &HashMap<u64, String>,
    file: &FileReport,
) -> String {
    let (Some(path), Some(line)) = (f.file.as_deref(), f.line) else {
        return finding_plain(renderer, platform, f);
    };
    let path = escape(path);
    let Some(text) = lines.get(&line) else {
        return finding_plain(renderer, platform, f);
    };
    let span = f
        .column_number
        .and_then(|c| delimiter_byte(&file.delimiter).map(|d| (c, d)))
        .and_then(|(c, d)| cell_span(text, d, (c as usize).saturating_sub(1)))
        .map(|r| trim_span(text, r));
    let (shown, span) = excerpt(text, span);
    let label = match (f.row, f.column.as_deref()) {
        (Some(r), Some(c)) if !c.is_empty() => format!("row {r}, {}", escape(c)),
        (Some(r), _) => format!("row {r}"),
        (None, Some(c)) => escape(c).into_owned(),
        (None, None) => String::new(),
    };
    let snippet = Snippet::source(shown.as_str())
        .line_start(usize::try_from(line).unwrap_or(usize::MAX))
        .path(path.as_ref())
        .annotation(AnnotationKind::Primary.span(span).label(label.as_str()));
    let message = escape(&f.message);
    let mut group = level(f.severity)
        .primary_title(message.as_ref())
        .id(f.code.as_str())
        .element(snippet);
    let note;
    // A platform's own report (submit) has its words as the message already.
    if let Some(pm) = f.platform_message.as_ref().filter(|pm| **pm != f.message) {
        note = format!("{platform} says: {}", escape(pm));
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    renderer.render(&[group])
}

/// A finding without a snippet (file-level, bundle-level, or line text unavailable).
fn finding_plain(renderer: &Renderer, platform: &str, f: &Finding) -> String {
    let message = escape(&f.message);
    let mut group = Group::with_title(
        level(f.severity)
            .primary_title(message.as_ref())
            .id(f.code.as_str()),
    );
    // Without a line (a platform's report names rows only), the row goes with the path.
    let shown_path = match (f.file.as_deref().map(escape), f.line, f.row) {
        (Some(p), None, Some(r)) => Some(format!("{p} (row {r})")),
        (p, _, _) => p.map(Cow::into_owned),
    };
    if let Some(path) = shown_path.as_deref() {
        let mut origin = Origin::path(path);
        if let Some(line) = f.line.and_then(|l| usize::try_from(l).ok()) {
            origin = origin.line(line);
        }
        group = group.element(origin);
    }
    let note;
    if let Some(pm) = f.platform_message.as_ref().filter(|pm| **pm != f.message) {
        note = format!("{platform} says: {}", escape(pm));
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    renderer.render(&[group])
}

fn delimiter_byte(d: &str) -> Option<u8> {
    match d.as_bytes() {
        [b] => Some(*b),
        _ => None,
    }
}

/// Byte span of cell `col` (0-based) in one physical line, splitting on `delim` outside
/// double quotes. `None` when the line has fewer cells, or ends inside quotes (the record
/// continues on the next line, or its quoting is broken, so positions are unreliable).
pub fn cell_span(line: &str, delim: u8, col: usize) -> Option<Range<usize>> {
    let mut field = 0;
    let mut start = 0;
    let mut in_quotes = false;
    let mut found = None;
    for (i, &b) in line.as_bytes().iter().enumerate() {
        if b == b'"' {
            // `""` inside quotes toggles twice: still inside.
            in_quotes = !in_quotes;
        } else if b == delim && !in_quotes {
            if field == col {
                found = Some(start..i);
            }
            field += 1;
            start = i + 1;
        }
    }
    if in_quotes {
        return None;
    }
    if field == col {
        found = Some(start..line.len());
    }
    found
}

/// Narrows a cell's span to its non-blank part (the platform strips values), unless that
/// leaves nothing to point at.
fn trim_span(line: &str, r: Range<usize>) -> Range<usize> {
    let cell = &line[r.clone()];
    let t = cell.trim();
    if t.is_empty() {
        return r;
    }
    let start = r.start + (cell.len() - cell.trim_start().len());
    start..start + t.len()
}

/// The text to show for a line (at most [`WIDTH`] characters around the span, control
/// characters made visible) and the span's byte range in it. `None` underlines the line.
pub fn excerpt(line: &str, span: Option<Range<usize>>) -> (String, Range<usize>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let total = chars.len();
    let span = span.unwrap_or(0..line.len());
    let char_at = |byte: usize| chars.partition_point(|&(b, _)| b < byte);
    let (cs, ce) = (char_at(span.start), char_at(span.end));
    let (ws, we) = if total <= WIDTH {
        (0, total)
    } else if ce - cs >= WIDTH {
        (cs, cs + WIDTH)
    } else {
        let pad = (WIDTH - (ce - cs)) / 2;
        let we = (cs.saturating_sub(pad) + WIDTH).min(total);
        (we.saturating_sub(WIDTH), we)
    };
    let mut out = String::new();
    if ws > 0 {
        out.push('…');
    }
    let (mut s, mut e) = (None, None);
    for (k, &(_, c)) in chars.iter().enumerate().take(we).skip(ws) {
        if k == cs {
            s = Some(out.len());
        }
        if k == ce {
            e = Some(out.len());
        }
        out.push(match c {
            '\0' => '␀',
            '\t' => ' ',
            c if unsafe_char(c) => '\u{FFFD}',
            c => c,
        });
    }
    let s = s.unwrap_or(out.len());
    let e = e.unwrap_or(out.len()).max(s);
    if we < total {
        out.push('…');
    }
    (out, s..e)
}

/// Reads the physical lines the given findings point at from `file`, in one pass that
/// stops after the last one. Lines of a file we cannot find are simply not shown.
fn read_lines<'a>(
    inputs: &mut Inputs,
    file: &FileReport,
    findings: impl Iterator<Item = &'a Finding>,
) -> Result<HashMap<u64, String>, Error> {
    let wanted: BTreeSet<u64> = findings
        .filter(|f| f.file.as_deref() == Some(file.path.as_str()))
        .filter_map(|f| f.line)
        .collect();
    let (Some(&last), Some(i)) = (wanted.last(), inputs.find(&file.path)) else {
        return Ok(HashMap::new());
    };
    let nl = if file.line_ending.as_deref() == Some("CR") {
        b'\r'
    } else {
        b'\n'
    };
    let mut lines = Lines::new(&wanted, last, nl);
    // UTF-16 files are decoded so lines can be split and shown; UTF-8 passes through.
    let mut decoder = match file.encoding.as_str() {
        "UTF-8" => None,
        name => Charset::for_label(name.as_bytes()).map(|c| c.new_decoder_with_bom_removal()),
    };
    let mut first = true;
    let mut decoded = String::new();
    inputs.for_each_chunk(i, |chunk| {
        let mut chunk = chunk;
        if let Some(d) = &mut decoder {
            decoded.clear();
            decoded.reserve(
                d.max_utf8_buffer_length(chunk.len())
                    .unwrap_or(chunk.len() * 3),
            );
            loop {
                let (res, read, _) = d.decode_to_string(chunk, &mut decoded, false);
                chunk = &chunk[read..];
                match res {
                    CoderResult::InputEmpty => break,
                    CoderResult::OutputFull => decoded.reserve(chunk.len() * 3 + 16),
                }
            }
            return lines.feed(decoded.as_bytes());
        }
        if std::mem::take(&mut first) {
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
        }
        lines.feed(chunk)
    })?;
    lines.finish();
    Ok(lines.got)
}

/// Splits a byte stream into physical lines, keeping the wanted ones.
struct Lines<'a> {
    wanted: &'a BTreeSet<u64>,
    last: u64,
    nl: u8,
    /// The line the stream is in (1-based).
    line: u64,
    /// The first wanted line from `line` on (`u64::MAX`: none).
    next: u64,
    cur: Vec<u8>,
    got: HashMap<u64, String>,
}

impl<'a> Lines<'a> {
    fn new(wanted: &'a BTreeSet<u64>, last: u64, nl: u8) -> Self {
        let mut lines = Lines {
            wanted,
            last,
            nl,
            line: 1,
            next: 0,
            cur: Vec::new(),
            got: HashMap::new(),
        };
        lines.next = lines.next_wanted();
        lines
    }

    fn next_wanted(&self) -> u64 {
        self.wanted
            .range(self.line..)
            .next()
            .copied()
            .unwrap_or(u64::MAX)
    }

    /// Returns whether more input is still needed.
    fn feed(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() && self.line <= self.last {
            if self.line < self.next {
                // Lines nobody asked for: only their breaks are counted (memchr finds each
                // with SIMD; a byte loop here was 6% of `check` of a 300 MB users.csv).
                let mut rest = None;
                for i in memchr::memchr_iter(self.nl, bytes) {
                    self.line += 1;
                    if self.line == self.next {
                        rest = Some(i + 1);
                        break;
                    }
                }
                match rest {
                    Some(at) => bytes = &bytes[at..],
                    None => break,
                }
                continue;
            }
            let end = memchr::memchr(self.nl, bytes);
            let part = &bytes[..end.unwrap_or(bytes.len())];
            let room = MAX_LINE.saturating_sub(self.cur.len());
            self.cur.extend_from_slice(&part[..part.len().min(room)]);
            match end {
                Some(i) => {
                    self.end_line();
                    bytes = &bytes[i + 1..];
                }
                // The last wanted line is all we show of it: do not read on to its end,
                // which may be gigabytes away (a line of NULs, /dev/zero).
                None if self.line == self.last && self.cur.len() >= MAX_LINE => {
                    self.end_line();
                    return false;
                }
                None => break,
            }
        }
        self.line <= self.last
    }

    fn end_line(&mut self) {
        if self.line == self.next {
            let mut v = std::mem::take(&mut self.cur);
            if self.nl == b'\n' && v.last() == Some(&b'\r') {
                v.pop();
            }
            self.got
                .insert(self.line, String::from_utf8_lossy(&v).into_owned());
        }
        self.line += 1;
        if self.line > self.next {
            self.next = self.next_wanted();
        }
    }

    /// The last line has no line break after it.
    fn finish(&mut self) {
        if self.line <= self.last {
            self.end_line();
        }
    }
}

/// `1204` → `1,204`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A kind's header predicate in one line:
/// `(section_id | course_id) + (user_id | user_integration_id)`.
pub fn signature(d: &Detect) -> String {
    let terms = d.all.len() + d.any.len();
    let mut parts: Vec<String> = d.all.clone();
    for g in &d.any {
        let alt = g.join(" | ");
        parts.push(if g.len() > 1 && terms > 1 {
            format!("({alt})")
        } else {
            alt
        });
    }
    let mut s = parts.join(" + ");
    if !d.none.is_empty() {
        s.push_str(", not ");
        s.push_str(&d.none.join("/"));
    }
    s
}

/// `preflight targets` in text.
pub fn targets(list: &[Target], out: &mut dyn Write) -> Result<(), Error> {
    let mut text = String::new();
    for t in list {
        text.push_str(&format!("{}: {}\n", t.name, t.description));
        text.push_str(
            "  kinds in processing order (a file is the first kind its header matches):\n",
        );
        for k in &t.kinds {
            text.push_str(&format!("  {}  {}\n", k.name, signature(&k.detect)));
        }
    }
    out.write_all(text.as_bytes()).map_err(Error::Output)
}

/// One target in `preflight targets --format json`.
#[derive(Debug, Serialize)]
pub struct TargetInfo<'a> {
    target: &'a str,
    description: &'a str,
    kinds: Vec<KindInfo<'a>>,
}

#[derive(Debug, Serialize)]
struct KindInfo<'a> {
    name: &'a str,
    file_name: &'a str,
    detect: &'a Detect,
    columns: &'a [String],
}

/// The JSON shape of the target listing.
pub fn target_infos(list: &[Target]) -> Vec<TargetInfo<'_>> {
    list.iter()
        .map(|t| TargetInfo {
            target: &t.name,
            description: &t.description,
            kinds: t
                .kinds
                .iter()
                .map(|k| KindInfo {
                    name: &k.name,
                    file_name: &k.file_name,
                    detect: &k.detect,
                    columns: &k.columns,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_respect_quotes() {
        let l = r#"a,"b,c",,d"#;
        assert_eq!(cell_span(l, b',', 0), Some(0..1));
        assert_eq!(cell_span(l, b',', 1), Some(2..7));
        assert_eq!(cell_span(l, b',', 2), Some(8..8));
        assert_eq!(cell_span(l, b',', 3), Some(9..10));
        assert_eq!(cell_span(l, b',', 4), None);
        // Record continues on the next line.
        assert_eq!(cell_span(r#"a,"b"#, b',', 0), None);
        assert_eq!(trim_span("a, b ,c", 2..5), 3..4);
        assert_eq!(trim_span("a,  ,c", 2..4), 2..4);
    }

    #[test]
    fn long_lines_are_cut_around_the_span() {
        let line = format!("{},target,{}", "x".repeat(300), "y".repeat(300));
        let span = cell_span(&line, b',', 1);
        let (shown, s) = excerpt(&line, span);
        assert_eq!(&shown[s], "target");
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert!(shown.chars().count() <= WIDTH + 2);
        let (shown, s) = excerpt("a\0b", Some(1..2));
        assert_eq!(&shown[s], "␀");
    }

    #[test]
    fn wanted_lines_are_found_in_any_chunking() {
        let text = b"h1,h2\r\na,b\r\n\r\nc,\"d\r\ne\"\r\nlast";
        let all: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        for wanted in [
            vec![1],
            vec![2, 4],
            vec![3, 5, 6],
            vec![6],
            vec![1, 2, 3, 4, 5, 6],
            vec![9],
        ] {
            let wanted: BTreeSet<u64> = wanted.into_iter().collect();
            let last = *wanted.last().unwrap();
            for size in 1..=text.len() {
                let mut lines = Lines::new(&wanted, last, b'\n');
                let mut more = true;
                for chunk in text.chunks(size) {
                    more = lines.feed(chunk);
                    if !more {
                        break;
                    }
                }
                lines.finish();
                assert!(
                    more || last <= all.len() as u64,
                    "{wanted:?} in chunks of {size}"
                );
                for &n in &wanted {
                    let expected = all.get(n as usize - 1).map(|l| {
                        String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned()
                    });
                    assert_eq!(
                        lines.got.get(&n),
                        expected.as_ref(),
                        "line {n} in chunks of {size}"
                    );
                }
                assert_eq!(lines.got.len(), wanted.iter().filter(|&&n| n <= 6).count());
            }
        }
    }

    #[test]
    fn signatures() {
        let d = Detect::default()
            .any(&["section_id", "course_id"])
            .any(&["user_id", "user_integration_id"]);
        assert_eq!(
            signature(&d),
            "(section_id | course_id) + (user_id | user_integration_id)"
        );
        let d = Detect::all(&["user_id", "login_id"]).none(&["existing_user_id", "x"]);
        assert_eq!(signature(&d), "user_id + login_id, not existing_user_id/x");
        let d = Detect::default().any(&["old_id", "old_integration_id"]);
        assert_eq!(signature(&d), "old_id | old_integration_id");
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn names_with_control_and_bidi_characters_are_escaped() {
        assert_eq!(escape("users.csv"), "users.csv");
        assert_eq!(escape("a\\b.csv"), "a\\b.csv");
        assert_eq!(
            escape("x\u{1b}[2J\r\n\u{7}\u{9b}\u{202e}vsc.\\csv"),
            "x\\u{1b}[2J\\r\\n\\u{7}\\u{9b}\\u{202e}vsc.\\\\csv"
        );
        let (shown, _) = excerpt("a\u{202e}b", None);
        assert_eq!(shown, "a\u{FFFD}b");
    }
}
