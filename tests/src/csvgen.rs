//! A seeded generator of tricky Canvas `users.csv` files, for comparing Preflight's reading
//! with Ruby's CSV (tests/tests/ruby_oracle.rs, tests/oracle/canvas_csv.rb).
//!
//! Deterministic from a seed: every case is built from one `SplitMix64` stream, so a seed
//! reproduces the run exactly. Each case has a variant (valid content, or rows with rule
//! errors), a category (the one kind of damage it was built to show, or `clean`) and may
//! carry benign extras too (quoted and doubled-quote cells, padding, blank and whitespace
//! lines, NBSP, NULs, long and multi-line cells, a BOM), since the bugs live in the mixes.

use crate::rng::Rng;

/// What the rows hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Values Canvas accepts.
    Valid,
    /// Rows with rule errors (bad status, missing login, bad email, ...).
    RuleErrors,
}

impl Variant {
    /// Name in figures.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Valid => "valid",
            Variant::RuleErrors => "rule-errors",
        }
    }
}

/// One generated file.
#[derive(Clone, Debug)]
pub struct Case {
    /// `NNNN-<category>-<variant>`.
    pub name: String,
    pub variant: Variant,
    /// The damage the case was built to show (`clean` for none).
    pub category: &'static str,
    pub bytes: Vec<u8>,
}

/// Categories, with their weight in a run.
const CATEGORIES: &[(&str, usize)] = &[
    ("clean", 16),
    ("mixed_endings", 10),
    ("quoted_first_ending", 4),
    ("cr_in_unquoted", 5),
    ("trailing_cr", 3),
    ("stray_quote", 5),
    ("text_after_quote", 4),
    ("space_before_quote", 3),
    ("unclosed_quote", 4),
    ("double_bom", 4),
    ("nul", 8),
    ("nbsp", 8),
    ("blank_lines", 6),
    ("whitespace_rows", 6),
    ("invalid_utf8", 4),
    ("empty", 3),
    ("multiline", 6),
    ("long", 3),
    ("header_padding", 3),
    ("header_shape", 6),
];

const EOLS: [&[u8]; 3] = [b"\n", b"\r\n", b"\r"];
const NBSP: &str = "\u{A0}";

/// `n` cases from `seed`, alternating variants.
pub fn generate(seed: u64, n: usize) -> Vec<Case> {
    let mut rng = Rng::new(seed, 0);
    let total: usize = CATEGORIES.iter().map(|c| c.1).sum();
    (0..n)
        .map(|i| {
            let variant = if i % 2 == 0 {
                Variant::Valid
            } else {
                Variant::RuleErrors
            };
            let mut at = rng.index(total);
            let category = CATEGORIES
                .iter()
                .find(|(_, w)| {
                    if at < *w {
                        true
                    } else {
                        at -= w;
                        false
                    }
                })
                .map_or("clean", |c| c.0);
            let bytes = build(&mut rng, variant, category);
            Case {
                name: format!("{i:04}-{category}-{}", variant.name()),
                variant,
                category,
                bytes,
            }
        })
        .collect()
}

/// A cell: its text and whether it is written in quotes.
struct Cell {
    text: Vec<u8>,
    quoted: bool,
}

fn plain(s: &str) -> Cell {
    Cell {
        text: s.as_bytes().to_vec(),
        quoted: false,
    }
}

/// A cell's bytes as written: quoted (inner quotes doubled) when asked or when it must be.
fn write_cell(c: &Cell, out: &mut Vec<u8>) {
    let must = c
        .text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if c.quoted || must {
        out.push(b'"');
        for &b in &c.text {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(&c.text);
    }
}

const HEADERS: &[&[&str]] = &[
    &[
        "user_id",
        "login_id",
        "first_name",
        "last_name",
        "email",
        "status",
    ],
    &["user_id", "login_id", "full_name", "email", "status"],
    &["status", "user_id", "login_id", "sortable_name"],
];

fn long_text(rng: &mut Rng) -> String {
    let n = 200 + rng.index(3000);
    (0..n)
        .map(|i| char::from(b'a' + ((i * 7 + rng.index(3)) % 26) as u8))
        .collect()
}

/// A value for `col` on data row `r`, with the extras the category and chance add.
fn value(rng: &mut Rng, variant: Variant, category: &str, col: &str, r: usize, eol: &[u8]) -> Cell {
    let base = match (col, variant) {
        ("user_id", _) => format!("u{r}"),
        ("login_id", Variant::RuleErrors) if rng.pct(30) => String::new(),
        ("login_id", _) => format!("login{r}"),
        ("status", Variant::Valid) => rng.pick(&["active", "deleted", "suspended"]).to_string(),
        ("status", Variant::RuleErrors) => rng
            .pick(&["inactive", "", "bogus", "active", "Active"])
            .to_string(),
        ("email", Variant::RuleErrors) if rng.pct(40) => "no-at-sign".into(),
        ("email", _) => format!("u{r}@example.com"),
        ("first_name", _) => rng.pick(&["Ann", "José", "李", "Zoë"]).to_string(),
        ("last_name", _) => rng.pick(&["Lee", "O'Brien", "Nguyễn", "Smith"]).to_string(),
        ("full_name" | "sortable_name", _) => rng
            .pick(&["Doe, Jane", "The \"Boss\"", "Plain Name", "Ünïcödé, Ann"])
            .to_string(),
        _ => "x".into(),
    };
    let mut text = base.into_bytes();
    let mut quoted = rng.pct(15);
    // Benign extras: padding Canvas strips, quoted cells, now and then.
    if rng.pct(8) {
        text.splice(0..0, rng.pick(&[&b"  "[..], b"\t", b" "]).iter().copied());
    }
    if rng.pct(8) {
        text.extend_from_slice(rng.pick(&[&b"  "[..], b"\t", b" "]));
    }
    match category {
        "nul" if rng.pct(35) => {
            match rng.index(4) {
                0 => text.insert(0, 0),
                1 => text.push(0),
                2 => {
                    let at = text.len() / 2;
                    text.insert(at, 0);
                }
                _ => text = vec![0],
            }
            quoted = quoted || rng.pct(20);
        }
        "nbsp" if rng.pct(35) => match rng.index(4) {
            0 => text = NBSP.as_bytes().to_vec(),
            1 => {
                text.splice(0..0, NBSP.bytes());
            }
            2 => text.extend_from_slice(NBSP.as_bytes()),
            _ => text = format!(" {NBSP} ").into_bytes(),
        },
        "multiline" if rng.pct(30) => {
            let inner: &[u8] = if rng.pct(70) { eol } else { rng.pick(&EOLS) };
            let at = text.len() / 2;
            text.splice(at..at, inner.iter().copied());
            quoted = true;
        }
        "long" if rng.pct(25) => text = long_text(rng).into_bytes(),
        _ => {}
    }
    Cell { text, quoted }
}

/// One file of `category`.
fn build(rng: &mut Rng, variant: Variant, category: &'static str) -> Vec<u8> {
    if category == "empty" {
        return match rng.index(4) {
            0 => Vec::new(),
            1 => b"\xEF\xBB\xBF".to_vec(),
            2 => b"\n\n".to_vec(),
            _ => b"\r\n\r\n".to_vec(),
        };
    }
    let eol: &[u8] = rng.pick(&EOLS);
    let columns = rng.pick(HEADERS);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    // Header.
    let mut header: Vec<Cell> = columns.iter().map(|c| plain(c)).collect();
    if category == "header_padding" {
        let i = rng.index(header.len());
        let pad: &[u8] = rng.pick(&[&b" "[..], b"\0", NBSP.as_bytes(), b"\t"]);
        if rng.pct(50) {
            header[i].text.splice(0..0, pad.iter().copied());
        } else {
            header[i].text.extend_from_slice(pad);
        }
    }
    if category == "quoted_first_ending" {
        // The file's first line break is inside a quoted header cell, and differs from the
        // endings that follow (Ruby takes it as the row separator anyway).
        let other: &[u8] = rng.pick(
            &EOLS
                .iter()
                .copied()
                .filter(|e| *e != eol)
                .collect::<Vec<_>>(),
        );
        header.push(Cell {
            text: [&b"note"[..], other, b"x"].concat(),
            quoted: true,
        });
    }
    let mut dup_col = None;
    if category == "header_shape" {
        match rng.index(6) {
            // A trailing delimiter: a blank header cell.
            0 => header.push(plain("")),
            // Quoted header cells.
            1 => header.iter_mut().for_each(|c| c.quoted = true),
            // A repeated column.
            2 => {
                dup_col = Some(header.len());
                let last = header[header.len() - 1].text.clone();
                header.push(Cell {
                    text: last,
                    quoted: false,
                });
            }
            // Upper case.
            3 => header[0].text.make_ascii_uppercase(),
            // Blank lines above the header.
            4 => lines.extend([Vec::new(), Vec::new()]),
            // A header cell padded with spaces (detected stripped, read unstripped).
            _ => {
                let i = rng.index(header.len());
                header[i].text.splice(0..0, *b" ");
            }
        }
    }
    lines.push(join(&header));
    let nrows = 1 + rng.index(7);
    for r in 1..=nrows {
        let cells: Vec<Cell> = header
            .iter()
            .enumerate()
            .map(|(ci, _)| {
                let col = columns.get(ci).copied().unwrap_or("note");
                value(rng, variant, category, col, r, eol)
            })
            .collect();
        lines.push(join(&cells));
        if let Some(d) = dup_col.filter(|_| rng.pct(40)) {
            // Only the repeated column filled.
            let mut only = vec![b','; d];
            only.extend_from_slice(b"dup");
            lines.push(only);
        }
        // Blank, whitespace-only and all-blank-cell lines between rows.
        if (category == "blank_lines" && rng.pct(50)) || rng.pct(4) {
            lines.push(Vec::new());
        }
        if category == "whitespace_rows" && rng.pct(50) {
            let w = columns.len();
            let line = match rng.index(5) {
                0 => b"   ".to_vec(),
                1 => vec![b','; w - 1],
                2 => vec![NBSP; w].join(",").into_bytes(),
                3 => b"\t , ".to_vec(),
                _ => b"\"\"".to_vec(),
            };
            lines.push(line);
        }
        if category == "nbsp" && rng.pct(20) {
            lines.push(vec![NBSP; columns.len()].join(",").into_bytes());
        }
    }
    // Damage inside a data line.
    let first = lines.iter().position(|l| !l.is_empty()).unwrap_or(0);
    let target_line = (first + 1 + rng.index(lines.len() - first - 1)).min(lines.len() - 1);
    match category {
        "cr_in_unquoted" => {
            let l = &mut lines[target_line];
            let at = l.iter().position(|&b| b == b',').unwrap_or(l.len());
            let cr: &[u8] = if eol == b"\r" { b"\n" } else { b"\r" };
            l.splice(at..at, [&b"x"[..], cr, b"y"].concat());
        }
        "stray_quote" => {
            let l = &mut lines[target_line];
            let at = l.iter().position(|&b| b == b',').unwrap_or(l.len());
            l.splice(at..at, *b"ab\"c");
        }
        "text_after_quote" => {
            let l = &mut lines[target_line];
            let at = l.iter().position(|&b| b == b',').map_or(l.len(), |p| p + 1);
            let end = l[at..]
                .iter()
                .position(|&b| b == b',')
                .map_or(l.len(), |p| at + p);
            l.splice(at..end, *b"\"quoted\"tail");
        }
        "space_before_quote" => {
            let l = &mut lines[target_line];
            let at = l.iter().position(|&b| b == b',').map_or(l.len(), |p| p + 1);
            let end = l[at..]
                .iter()
                .position(|&b| b == b',')
                .map_or(l.len(), |p| at + p);
            let v: &[u8] = if rng.pct(50) { b" \"x\"" } else { b"\"x\" " };
            l.splice(at..end, v.iter().copied());
        }
        "unclosed_quote" => {
            let l = &mut lines[target_line];
            let at = l.iter().position(|&b| b == b',').map_or(l.len(), |p| p + 1);
            l.splice(at..at, *b"\"open");
        }
        "invalid_utf8" => {
            let at_line = rng.index(lines.len());
            let l = &mut lines[at_line];
            let at = rng.index(l.len() + 1);
            let bad: &[u8] = rng.pick(&[&b"\xE9"[..], b"\xFF", b"\xC3", b"\xED\xA0\x80", b"\x80"]);
            l.splice(at..at, bad.iter().copied());
        }
        _ => {}
    }
    // Line endings.
    let mut out = Vec::new();
    match category {
        "double_bom" => out.extend_from_slice(b"\xEF\xBB\xBF\xEF\xBB\xBF"),
        _ if rng.pct(15) => out.extend_from_slice(b"\xEF\xBB\xBF"),
        _ => {}
    }
    let mixed_at = (category == "mixed_endings").then(|| rng.index(lines.len()));
    let other: &[u8] = rng.pick(
        &EOLS
            .iter()
            .copied()
            .filter(|e| *e != eol)
            .collect::<Vec<_>>(),
    );
    let last = lines.len() - 1;
    let final_eol = rng.pct(80);
    for (i, l) in lines.iter().enumerate() {
        out.extend_from_slice(l);
        if i == last && !final_eol && category != "trailing_cr" {
            break;
        }
        if i == last && category == "trailing_cr" {
            out.extend_from_slice(if eol == b"\r" { b"\n" } else { b"\r" });
            break;
        }
        out.extend_from_slice(if mixed_at == Some(i) { other } else { eol });
    }
    out
}

fn join(cells: &[Cell]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_cell(c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_cases() {
        let a = generate(7, 50);
        let b = generate(7, 50);
        assert!(a.iter().zip(&b).all(|(x, y)| x.bytes == y.bytes));
        assert!(
            generate(8, 50)
                .iter()
                .zip(&a)
                .any(|(x, y)| x.bytes != y.bytes)
        );
    }
}
