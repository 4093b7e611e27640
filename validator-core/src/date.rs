//! Date and timestamp reading.
//!
//! Canvas documents ISO 8601 (`YYYY-MM-DDTHH:MM:SSZ`) but parses with Ruby's lenient
//! `Time.zone.parse`, so `2011-1-05 00:00:00` is accepted. We sort values into three
//! classes: strict ISO 8601, parseable but not ISO (a warning), and unparseable or
//! impossible (an error, as the server says `Bad date format`).

/// How a date value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateClass {
    /// ISO 8601 date or date-time.
    Iso,
    /// Not ISO 8601, but a lenient parser reads a real date from it.
    Lenient,
    /// No date can be read, or the date does not exist (month 13, 30 February).
    Invalid,
}

/// Classifies a (trimmed, non-blank) date value.
///
/// ```
/// use validator_core::date::{classify, DateClass};
/// assert_eq!(classify("2024-01-31T08:00:00Z"), DateClass::Iso);
/// assert_eq!(classify("2011-1-05 00:00:00"), DateClass::Lenient);
/// assert_eq!(classify("2012-13-05 00:00:00"), DateClass::Invalid);
/// ```
#[inline]
pub fn classify(v: &str) -> DateClass {
    // The usual form here, inline; everything else (and a heavy frame) out of line.
    if iso_utc(v.as_bytes()) == Some(true) {
        return DateClass::Iso;
    }
    classify_any(v)
}

#[inline(never)]
fn classify_any(v: &str) -> DateClass {
    if iso(v.as_bytes()) {
        return DateClass::Iso;
    }
    if lenient(v) {
        DateClass::Lenient
    } else {
        DateClass::Invalid
    }
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    }
}

fn real_date(y: u32, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

fn digits(b: &[u8], n: usize) -> Option<u32> {
    if b.len() < n || !b[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b[..n].iter().fold(0, |a, d| a * 10 + u32::from(d - b'0')))
}

/// Strict ISO 8601: `YYYY-MM-DD`, optionally `THH:MM[:SS[.fff]]` and `Z` or `±HH[:]MM`.
fn iso(b: &[u8]) -> bool {
    iso_utc(b).unwrap_or_else(|| iso_any(b))
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form nearly every export writes (two columns of every
/// Canvas enrollment), read eight bytes at a time: a sixth of [`iso_any`]'s instructions.
/// `None` for any other shape, which [`iso_any`] reads; the same answer where both read.
#[inline]
fn iso_utc(b: &[u8]) -> Option<bool> {
    let b: &[u8; 20] = b.try_into().ok()?;
    let (head, tail) = b.split_at(16);
    let mut words = head
        .as_chunks::<8>()
        .0
        .iter()
        .map(|w| u64::from_le_bytes(*w));
    let (w0, w1) = (words.next()?, words.next()?);
    let w2 = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    // `YYYY-MM-` and `DDTHH:MM`: separators at their places, `0`-`9` elsewhere.
    const SEP0: u64 = 0xFF00_00FF_0000_0000;
    const SEP1: u64 = 0x0000_FF00_00FF_0000;
    if w0 & SEP0 != u64::from_le_bytes(*b"\0\0\0\0-\0\0-")
        || w1 & SEP1 != u64::from_le_bytes(*b"\0\0T\0\0:\0\0")
        || w2 & 0xFF00_00FF != u32::from_le_bytes(*b":\0\0Z")
    {
        return None;
    }
    // A digit lane holds 0x30-0x39: high nibble 3, and low nibble + 6 below 16.
    let digits = |w: u64, lanes: u64| {
        let hi = w & 0xF0F0_F0F0_F0F0_F0F0 & lanes;
        let lo = (w & 0x0F0F_0F0F_0F0F_0F0F & lanes) + (0x0606_0606_0606_0606 & lanes);
        hi == 0x3030_3030_3030_3030 & lanes && lo & 0xF0F0_F0F0_F0F0_F0F0 == 0
    };
    let w2 = u64::from(w2);
    if !(digits(w0, !SEP0) && digits(w1, !SEP1) && digits(w2, 0x00FF_FF00)) {
        return Some(false);
    }
    let at = |w: u64, i: u32| ((w >> (8 * i)) & 0x0F) as u32;
    let two = |w: u64, i: u32| at(w, i) * 10 + at(w, i + 1);
    let year = two(w0, 0) * 100 + two(w0, 2);
    Some(
        real_date(year, two(w0, 5), two(w1, 0))
            && two(w1, 3) <= 23
            && two(w1, 6) <= 59
            && two(w2, 1) <= 60,
    )
}

/// [`iso`] in general.
fn iso_any(b: &[u8]) -> bool {
    let (Some(y), Some(m), Some(d)) = (digits(b, 4), digits(b.get(5..).unwrap_or(&[]), 2), {
        digits(b.get(8..).unwrap_or(&[]), 2)
    }) else {
        return false;
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !real_date(y, m, d) {
        return false;
    }
    let rest = &b[10..];
    if rest.is_empty() {
        return true;
    }
    if rest[0] != b'T' {
        return false;
    }
    let t = &rest[1..];
    let (Some(h), Some(mi)) = (digits(t, 2), digits(t.get(3..).unwrap_or(&[]), 2)) else {
        return false;
    };
    if t.len() < 5 || t[2] != b':' || h > 23 || mi > 59 {
        return false;
    }
    let mut r = &t[5..];
    if r.first() == Some(&b':') {
        match digits(&r[1..], 2) {
            Some(s) if s <= 60 => r = &r[3..],
            _ => return false,
        }
        if r.first() == Some(&b'.') {
            let n = r[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            r = &r[1 + n..];
        }
    }
    zone(r)
}

fn zone(r: &[u8]) -> bool {
    match r {
        [] | [b'Z'] => true,
        [b'+' | b'-', rest @ ..] => match rest.len() {
            2 => digits(rest, 2).is_some_and(|h| h <= 14),
            4 => digits(rest, 4).is_some(),
            5 => rest[2] == b':' && digits(rest, 2).is_some() && digits(&rest[3..], 2).is_some(),
            _ => false,
        },
        _ => false,
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// A lenient reading in the spirit of Ruby's `Date._parse`: a date part made of numbers
/// separated by `-`, `/` or `.` (year first, or month/day/year), or with an English month
/// name, optionally followed by a time and a zone.
fn lenient(v: &str) -> bool {
    // A `T` between digits separates date and time; elsewhere it is part of a word.
    let b = v.as_bytes();
    let lower: String = v
        .char_indices()
        .map(|(i, c)| {
            let between_digits =
                i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if (c == 'T' || c == 't') && between_digits {
                ' '
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let mut tokens = lower.split([' ', ',']).filter(|t| !t.is_empty());
    let Some(first) = tokens.next() else {
        return false;
    };
    let rest: Vec<&str> = tokens.collect();
    if let Some(ok) = numeric_date(first) {
        return ok && rest.iter().all(|t| time_or_zone(t));
    }
    // Month-name forms: "Jan 5 2011", "5 January 2011".
    let words: Vec<&str> = std::iter::once(first).chain(rest.iter().copied()).collect();
    let month = words.iter().position(|w| {
        w.len() >= 3
            && MONTHS.iter().any(|m| w.starts_with(m))
            && w.chars().all(char::is_alphabetic)
    });
    let Some(mi) = month else {
        return false;
    };
    let m = MONTHS
        .iter()
        .position(|m| words[mi].starts_with(m))
        .map_or(0, |i| i as u32 + 1);
    let nums: Vec<u32> = words
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != mi)
        .filter_map(|(_, w)| {
            let w = w.trim_end_matches(|c: char| c.is_alphabetic());
            (w.len() <= 4 && !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
                .then(|| w.parse().ok())
                .flatten()
        })
        .collect();
    match nums.as_slice() {
        [d, y, ..] if *y >= 1000 => real_date(*y, m, *d),
        [y, d, ..] if *y >= 1000 => real_date(*y, m, *d),
        _ => false,
    }
}

/// `Some(valid)` when `t` is a numeric date token.
fn numeric_date(t: &str) -> Option<bool> {
    let sep = t.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    let parts: Vec<&str> = t.split(sep).collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    let n: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    Some(if parts[0].len() == 4 {
        real_date(n[0], n[1], n[2])
    } else if parts[2].len() == 4 {
        // m/d/y or d/m/y: either reading existing is enough to parse.
        real_date(n[2], n[0], n[1]) || real_date(n[2], n[1], n[0])
    } else {
        false
    })
}

fn time_or_zone(t: &str) -> bool {
    let t = t.trim_end_matches('z');
    if t.is_empty() || matches!(t, "utc" | "gmt" | "am" | "pm") {
        return true;
    }
    let (clock, zone_part) = match t.find(['+', '-']) {
        Some(0) => return zone(t.as_bytes()),
        Some(i) => (&t[..i], Some(&t[i..])),
        None => (t, None),
    };
    let clock = clock.trim_end_matches("am").trim_end_matches("pm");
    let parts: Vec<&str> = clock.split(':').collect();
    let ok_clock = (2..=3).contains(&parts.len())
        && parts.iter().enumerate().all(|(i, p)| {
            let p = if i == 2 {
                p.split('.').next().unwrap_or("")
            } else {
                p
            };
            !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit())
        })
        && parts[0].parse::<u32>().is_ok_and(|h| h <= 24)
        && parts[1].parse::<u32>().is_ok_and(|m| m <= 59);
    ok_clock && zone_part.is_none_or(|z| zone(z.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_form_reads_as_the_general_parse() {
        let base = *b"2024-02-29T23:59:60Z";
        let mut cases = vec![base];
        // Every byte replaced by each byte that matters to some place.
        for i in 0..base.len() {
            for b in *b"0123456789-T:Z+ ./\xff\x00\x3a\x2f\xb0\x39" {
                let mut v = base;
                v[i] = b;
                cases.push(v);
            }
        }
        cases.extend([
            *b"2023-02-29T00:00:00Z",
            *b"2024-13-01T00:00:00Z",
            *b"2024-00-01T00:00:00Z",
            *b"2024-04-31T00:00:00Z",
            *b"2024-04-00T00:00:00Z",
            *b"2024-04-30T24:00:00Z",
            *b"2024-04-30T23:60:00Z",
            *b"2024-04-30T23:59:61Z",
            *b"1900-02-29T00:00:00Z",
            *b"2000-02-29T00:00:00Z",
            *b"0000-01-01T00:00:00Z",
            *b"9999-12-31T23:59:59Z",
        ]);
        let mut fast = 0;
        for v in cases {
            if let Some(f) = iso_utc(&v) {
                assert_eq!(f, iso_any(&v), "{}", String::from_utf8_lossy(&v));
                fast += 1;
            }
        }
        assert!(fast > 200, "{fast} cases took the fixed form");
        assert_eq!(iso_utc(b"2024-02-29T23:59:60Z"), Some(true));
        assert_eq!(iso_utc(b"2024-02-29T23:59:60+00:00"), None);
    }

    #[test]
    fn classes() {
        for v in [
            "2024-02-29",
            "2013-01-03T00:00:00Z",
            "2013-01-03T00:00:00-06:00",
            "2013-01-03T00:00:00.123+0100",
            "2013-01-03T08:30Z",
        ] {
            assert_eq!(classify(v), DateClass::Iso, "{v}");
        }
        for v in [
            "2011-1-05 00:00:00",
            "2013-1-03 00:00:00",
            "2011-05-14 00:00:00",
            "1/5/2011",
            "Jan 5 2011",
            "5 January 2011 10:00",
            "1 October 2011",
            "August 24, 2011",
            "2011/04/14",
            "2013-01-03 00:00:00 UTC",
        ] {
            assert_eq!(classify(v), DateClass::Lenient, "{v}");
        }
        for v in [
            "2012-13-05 00:00:00",
            "2023-02-29",
            "next tuesday",
            "2013-01-03T25:00:00Z",
            "13/13/2011",
            "soon",
        ] {
            assert_eq!(classify(v), DateClass::Invalid, "{v}");
        }
    }
}
