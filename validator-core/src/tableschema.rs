//! Frictionless Table Schema field types, read the way frictionless-py (5.x) reads them.
//!
//! A [`Field`] is the serialisable description (type, format, type options, missing values,
//! constraints); [`FieldReader`] is the compiled form that reads one cell into a [`Typed`]
//! value, writes its canonical key (equal keys ⇔ equal typed values, so `4e4` and `4E4`
//! are one number and `1` and `01` one integer) and checks the constraints.
//!
//! No I/O; patterns use the linear-time `regex` engine (whole-value match, as Frictionless
//! anchors `^…$`). What this module cannot read exactly as Python does is listed in
//! `tests/data/frictionless/intended-differences.toml`.
//!
//! ```
//! use validator_core::tableschema::{Field, FieldReader, Failure};
//! let f: Field = serde_json::from_str(
//!     r#"{"type": "number", "constraints": {"enum": ["4E4", 5]}}"#).unwrap();
//! let r = FieldReader::new(&f).unwrap();
//! let mut fails = Vec::new();
//! let mut key = String::new();
//! r.check(Some("4e4"), &mut key, &mut fails);
//! assert!(fails.is_empty());
//! r.check(Some("6"), &mut key, &mut fails);
//! assert_eq!(fails, [Failure::Enum]);
//! ```

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Table Schema field types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Any text.
    #[default]
    String,
    /// A decimal number.
    Number,
    /// A whole number.
    Integer,
    /// `trueValues` / `falseValues`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and time.
    Datetime,
    /// A year (4 digits).
    Year,
    /// `YYYY-MM`.
    Yearmonth,
    /// An ISO 8601 duration.
    Duration,
    /// `lon, lat` (or an array / object, by format).
    Geopoint,
    /// A GeoJSON object.
    Geojson,
    /// Anything.
    Any,
}

impl FieldType {
    /// The type named `name` in a schema, if it is one of the spec's.
    pub fn from_name(name: &str) -> Option<FieldType> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }

    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Object => "object",
            FieldType::Array => "array",
            FieldType::Date => "date",
            FieldType::Time => "time",
            FieldType::Datetime => "datetime",
            FieldType::Year => "year",
            FieldType::Yearmonth => "yearmonth",
            FieldType::Duration => "duration",
            FieldType::Geopoint => "geopoint",
            FieldType::Geojson => "geojson",
            FieldType::Any => "any",
        }
    }

    /// The constraints Frictionless applies to this type (others are ignored by it).
    pub fn supports(self, constraint: &str) -> bool {
        use FieldType as T;
        match constraint {
            "required" => true,
            "unique" => true,
            "enum" => !matches!(self, T::Object | T::Array),
            "minLength" | "maxLength" => matches!(self, T::String | T::Object | T::Array),
            "pattern" => self == T::String,
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => matches!(
                self,
                T::Integer | T::Number | T::Date | T::Time | T::Datetime | T::Year | T::Yearmonth
            ),
            _ => false,
        }
    }
}

fn default_format() -> String {
    "default".into()
}
fn dot() -> String {
    ".".into()
}
fn yes() -> bool {
    true
}
fn true_values() -> Vec<String> {
    ["true", "True", "TRUE", "1"].map(String::from).to_vec()
}
fn false_values() -> Vec<String> {
    ["false", "False", "FALSE", "0"].map(String::from).to_vec()
}
fn blank_only() -> Vec<String> {
    vec![String::new()]
}

/// Constraints of a field; bounds and enum values are kept as text and read with the
/// field's own type (as Frictionless does).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraints {
    /// A value is required (a missing value fails).
    #[serde(default)]
    pub required: bool,
    /// Fewest characters (string) or items (array, object).
    #[serde(default)]
    pub min_length: Option<u64>,
    /// Most characters (string) or items (array, object).
    #[serde(default)]
    pub max_length: Option<u64>,
    /// Smallest value allowed.
    #[serde(default, deserialize_with = "scalar")]
    pub minimum: Option<String>,
    /// Largest value allowed.
    #[serde(default, deserialize_with = "scalar")]
    pub maximum: Option<String>,
    /// Values must be greater.
    #[serde(default, deserialize_with = "scalar")]
    pub exclusive_minimum: Option<String>,
    /// Values must be smaller.
    #[serde(default, deserialize_with = "scalar")]
    pub exclusive_maximum: Option<String>,
    /// A regular expression the whole value must match.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Allowed values, compared as typed values.
    #[serde(default, rename = "enum", deserialize_with = "scalars")]
    pub one_of: Option<Vec<String>>,
}

/// A JSON scalar as the CSV text it stands for (`5`, `"5"`, `true`).
fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(text(&v))
}

fn scalars<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_array().map(|a| a.iter().filter_map(text).collect()))
}

/// A Table Schema field, as a check carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// The type.
    #[serde(rename = "type", default)]
    pub ty: FieldType,
    /// The format (`default`, `any`, a strftime pattern, `email`, ...).
    #[serde(default = "default_format")]
    pub format: String,
    /// Number: decimal separator.
    #[serde(default = "dot")]
    pub decimal_char: String,
    /// Number: group separator, removed before reading.
    #[serde(default)]
    pub group_char: String,
    /// Number, integer: false strips leading and trailing non-digits (`€ 1,000 EUR`).
    #[serde(default = "yes")]
    pub bare_number: bool,
    /// Number: a `decimalChar`, `groupChar` or `bareNumber` was given (Frictionless then
    /// refuses a `.` when the decimal character is another one).
    #[serde(default)]
    pub number_options: bool,
    /// Boolean: values read as true.
    #[serde(default = "true_values")]
    pub true_values: Vec<String>,
    /// Boolean: values read as false.
    #[serde(default = "false_values")]
    pub false_values: Vec<String>,
    /// Cells read as null.
    #[serde(default = "blank_only")]
    pub missing_values: Vec<String>,
    /// Constraints.
    #[serde(default)]
    pub constraints: Constraints,
}

impl Default for Field {
    fn default() -> Self {
        Field {
            ty: FieldType::String,
            format: default_format(),
            decimal_char: dot(),
            group_char: String::new(),
            bare_number: true,
            number_options: false,
            true_values: true_values(),
            false_values: false_values(),
            missing_values: blank_only(),
            constraints: Constraints::default(),
        }
    }
}

/// Why a cell fails, one per Frictionless error (type-error or constraint-error by name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Not of the field's type and format.
    Type,
    /// Missing but required.
    Required,
    /// Shorter than `minLength`.
    MinLength,
    /// Longer than `maxLength`.
    MaxLength,
    /// Below `minimum` / not above `exclusiveMinimum`.
    Minimum,
    /// Above `maximum` / not below `exclusiveMaximum`.
    Maximum,
    /// Does not match `pattern`.
    Pattern,
    /// Not one of `enum`.
    Enum,
}

impl Failure {
    /// The finding code.
    pub fn code(self) -> &'static str {
        match self {
            Failure::Type => "row.type",
            Failure::Required => "row.required",
            Failure::MinLength => "row.too_short",
            Failure::MaxLength => "row.too_long",
            Failure::Minimum | Failure::Maximum => "row.range",
            Failure::Pattern => "row.pattern",
            Failure::Enum => "row.enum",
        }
    }
}

/// A normalised decimal: `sign · mantissa · 10^exp`, mantissa without trailing zeros
/// (mantissa 0 ⇒ zero). Up to 38 significant digits are exact; more are rounded down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dec {
    neg: bool,
    mant: u128,
    exp: i64,
}

impl Dec {
    fn new(neg: bool, mut mant: u128, mut exp: i64) -> Dec {
        if mant == 0 {
            return Dec {
                neg: false,
                mant: 0,
                exp: 0,
            };
        }
        while mant.is_multiple_of(10) {
            mant /= 10;
            exp += 1;
        }
        Dec { neg, mant, exp }
    }

    fn from_i64(v: i64) -> Dec {
        Dec::new(v < 0, u128::from(v.unsigned_abs()), 0)
    }

    fn digits(&self) -> i64 {
        let mut n = 1;
        let mut m = self.mant;
        while m >= 10 {
            m /= 10;
            n += 1;
        }
        n
    }

    fn cmp_abs(&self, o: &Dec) -> Ordering {
        match (self.mant == 0, o.mant == 0) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let (ma, mb) = (self.digits() + self.exp, o.digits() + o.exp);
        if ma != mb {
            return ma.cmp(&mb);
        }
        // Same magnitude: align the mantissas to the same number of digits.
        let (da, db) = (self.digits(), o.digits());
        let (mut a, mut b) = (self.mant, o.mant);
        if da < db {
            a = a.saturating_mul(10u128.saturating_pow((db - da) as u32));
        } else {
            b = b.saturating_mul(10u128.saturating_pow((da - db) as u32));
        }
        a.cmp(&b)
    }

    fn cmp(&self, o: &Dec) -> Ordering {
        let zero = |d: &Dec| d.mant == 0;
        match (self.neg && !zero(self), o.neg && !zero(o)) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(o),
            (true, true) => o.cmp_abs(self),
        }
    }

    fn key(&self, out: &mut String) {
        out.push('n');
        if self.neg {
            out.push('-');
        }
        let _ = write!(out, "{}e{}", self.mant, self.exp);
    }
}

/// Python's `int()` on a stripped string: sign, digits, single underscores between digits.
fn parse_int(s: &str) -> Option<Dec> {
    let (neg, d) = sign(s);
    let (mant, n, _) = digits_us(d)?;
    (n == d.len()).then(|| Dec::new(neg, mant, 0))
}

fn sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// Leading digits with Python's underscore rule: (value, bytes used, digit count).
/// Digits past 38 are dropped (their count is kept) so big values still compare.
fn digits_us(s: &str) -> Option<(u128, usize, i64)> {
    let b = s.as_bytes();
    let (mut v, mut i, mut n, mut dropped) = (0u128, 0, 0i64, 0i64);
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                if n - dropped < 38 {
                    v = v * 10 + u128::from(c - b'0');
                } else {
                    dropped += 1;
                }
                n += 1;
                i += 1;
            }
            b'_' if i > 0
                && b[i - 1].is_ascii_digit()
                && b.get(i + 1).is_some_and(u8::is_ascii_digit) =>
            {
                i += 1
            }
            _ => break,
        }
    }
    (n > 0).then_some((v, i, dropped))
}

/// Python's `Decimal()` on a stripped string (finite values; `inf`/`nan` are not numbers
/// a bound or key can use, so they are read as type errors: an intended difference).
fn parse_decimal(s: &str) -> Option<Dec> {
    let (neg, rest) = sign(s);
    let b = rest.as_bytes();
    let (int, mut i, dropped_int) = match digits_us(rest) {
        Some((v, n, d)) => (Some(v), n, d),
        None => (None, 0, 0),
    };
    let mut mant = int.unwrap_or(0);
    let mut exp = dropped_int;
    let mut any = int.is_some();
    if b.get(i) == Some(&b'.') {
        i += 1;
        if let Some((frac, n, dropped)) = digits_us(&rest[i..]) {
            let total = rest[i..i + n].bytes().filter(u8::is_ascii_digit).count() as i64;
            let kept = total - dropped;
            // mant · 10^kept + frac, saturating past 38 digits.
            let scaled = mant
                .checked_mul(10u128.checked_pow(kept as u32).unwrap_or(u128::MAX))
                .and_then(|m| m.checked_add(frac));
            match scaled {
                Some(m) if exp == 0 => {
                    mant = m;
                    exp = -kept;
                }
                // Too many digits: keep the integer part's precision.
                _ => {}
            }
            any = true;
            i += n;
        }
    }
    if !any {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let (eneg, erest) = sign(&rest[i..]);
        let (e, n, _) = digits_us(erest)?;
        if n != erest.len() {
            return None;
        }
        let e = i64::try_from(e).ok()?;
        exp += if eneg { -e } else { e };
        i = rest.len();
    }
    (i == rest.len()).then(|| Dec::new(neg, mant, exp))
}

/// Days since 0001-01-01 (proleptic Gregorian) of a real date.
fn days(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > month_days(y, m) {
        return None;
    }
    let y1 = y - 1;
    let mut n = y1 * 365 + y1 / 4 - y1 / 100 + y1 / 400;
    for mm in 1..m {
        n += month_days(y, mm);
    }
    Some(n + d - 1)
}

fn month_days(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A typed cell value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Typed {
    /// Number, integer, year (and a boolean's 1/0 for keys, as Python's `True == 1`).
    Num(Dec),
    /// A boolean.
    Bool(bool),
    /// Days since 0001-01-01.
    Date(i64),
    /// Microseconds since midnight; `Some(offset seconds)` when the time has a zone.
    Time(i64, Option<i64>),
    /// Microseconds since 0001-01-01 (UTC when zoned); whether it had a zone.
    DateTime(i64, bool),
    /// Year and month.
    YearMonth(i64, i64),
    /// Text, JSON and everything compared by its text: length in characters or items.
    Text(u64),
}

impl Typed {
    fn cmp(&self, o: &Typed) -> Option<Ordering> {
        match (self, o) {
            (Typed::Num(a), Typed::Num(b)) => Some(a.cmp(b)),
            (Typed::Date(a), Typed::Date(b)) => Some(a.cmp(b)),
            (Typed::Time(a, za), Typed::Time(b, zb)) if za.is_some() == zb.is_some() => {
                Some((a - za.unwrap_or(0) * 1_000_000).cmp(&(b - zb.unwrap_or(0) * 1_000_000)))
            }
            (Typed::DateTime(a, za), Typed::DateTime(b, zb)) if za == zb => Some(a.cmp(b)),
            (Typed::YearMonth(a, b), Typed::YearMonth(c, d)) => Some((a, b).cmp(&(c, d))),
            _ => None,
        }
    }
}

/// A strftime-style pattern compiled to a regular expression with Python's `_strptime`
/// sub-patterns.
#[derive(Debug)]
struct Strptime {
    re: regex::Regex,
    /// Directive letter per capture group.
    groups: Vec<char>,
}

fn strptime_part(d: char) -> Option<&'static str> {
    Some(match d {
        'd' => r"(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
        'f' => r"([0-9]{1,6})",
        'H' => r"(2[0-3]|[0-1]\d|\d)",
        'I' => r"(1[0-2]|0[1-9]|[1-9])",
        'j' => r"(36[0-6]|3[0-5]\d|[12]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])",
        'm' => r"(1[0-2]|0[1-9]|[1-9])",
        'M' => r"([0-5]\d|\d)",
        'S' => r"(6[0-1]|[0-5]\d|\d)",
        'y' => r"(\d\d)",
        'Y' => r"(\d\d\d\d)",
        'z' => r"([+-]\d\d:?[0-5]\d(?::?[0-5]\d(?:\.\d{1,6})?)?|Z)",
        'b' | 'h' => r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
        'B' => {
            r"(january|february|march|april|may|june|july|august|september|october|november|december)"
        }
        'a' => r"(mon|tue|wed|thu|fri|sat|sun)",
        'A' => r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)",
        'p' => r"(am|pm)",
        _ => return None,
    })
}

impl Strptime {
    fn new(format: &str) -> Result<Strptime, String> {
        let mut re = String::from("(?i)^");
        let mut groups = Vec::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '%' {
                let Some(d) = chars.next() else {
                    return Err(format!("format `{format}` ends with a lone %"));
                };
                if d == '%' {
                    re.push('%');
                    continue;
                }
                let part = strptime_part(d)
                    .ok_or_else(|| format!("format `{format}`: directive %{d} is not supported"))?;
                re.push_str(part);
                groups.push(d);
            } else if c.is_whitespace() {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                re.push_str(r"\s+");
            } else {
                re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
            }
        }
        re.push('$');
        let re = regex::Regex::new(&re).map_err(|e| format!("format `{format}`: {e}"))?;
        Ok(Strptime { re, groups })
    }

    /// (days, micros of day, zone offset seconds) as `datetime.strptime` reads them.
    fn read(&self, v: &str) -> Option<(i64, i64, Option<i64>)> {
        let caps = self.re.captures(v)?;
        let (mut y, mut mo, mut d) = (1900i64, 1i64, 1i64);
        let (mut h, mut mi, mut s, mut us) = (0i64, 0i64, 0i64, 0i64);
        let (mut pm, mut twelve, mut zone) = (None, false, None);
        let mut julian = None;
        let num = |t: &str| t.trim().parse::<i64>().ok();
        for (i, &g) in self.groups.iter().enumerate() {
            let t = caps.get(i + 1)?.as_str();
            match g {
                'Y' => y = num(t)?,
                'y' => {
                    let n = num(t)?;
                    y = if n <= 68 { 2000 + n } else { 1900 + n };
                }
                'm' => mo = num(t)?,
                'd' => d = num(t)?,
                'H' => h = num(t)?,
                'I' => {
                    h = num(t)?;
                    twelve = true;
                }
                'M' => mi = num(t)?,
                'S' => s = num(t)?,
                'f' => us = num(&format!("{t:0<6}"))?,
                'j' => julian = Some(num(t)?),
                'p' => pm = Some(t.eq_ignore_ascii_case("pm")),
                'b' | 'h' | 'B' => {
                    let lower = t.to_ascii_lowercase();
                    const M: [&str; 12] = [
                        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                        "nov", "dec",
                    ];
                    mo = M.iter().position(|m| lower.starts_with(m))? as i64 + 1;
                }
                'z' => zone = Some(zone_offset(t)?),
                _ => {}
            }
        }
        if twelve {
            h %= 12;
            if pm == Some(true) {
                h += 12;
            }
        }
        // Python accepts second 60 and 61 in the pattern, then datetime() refuses them.
        if s > 59 {
            return None;
        }
        let day = match julian {
            Some(j) if !self.groups.contains(&'m') && !self.groups.contains(&'d') => {
                let start = days(y, 1, 1)?;
                let end = days(y, 12, 31)?;
                (start + j - 1 <= end).then_some(start + j - 1)?
            }
            _ => days(y, mo, d)?,
        };
        Some((day, ((h * 60 + mi) * 60 + s) * 1_000_000 + us, zone))
    }
}

/// `Z`, `±HH[:]MM[[:]SS[.ffffff]]` → offset seconds.
fn zone_offset(t: &str) -> Option<i64> {
    if t.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (neg, rest) = sign(t);
    let digits: String = rest.chars().filter(char::is_ascii_digit).take(6).collect();
    let n = |a: usize| digits.get(a..a + 2).and_then(|x| x.parse::<i64>().ok());
    let secs = n(0)? * 3600 + n(2).unwrap_or(0) * 60 + n(4).unwrap_or(0);
    if secs >= 86_400 {
        return None;
    }
    Some(if neg { -secs } else { secs })
}

/// dateutil's `isoparse` of a time `HH:MM:SS[.f+][zone]` (`HH:MM` too, `HHMMSS` forms are
/// left out: the default formats insist on `:` at fixed places).
fn iso_time(b: &str) -> Option<(i64, Option<i64>)> {
    let bytes = b.as_bytes();
    let two = |i: usize| -> Option<i64> {
        let s = bytes.get(i..i + 2)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| i64::from(s[0] - b'0') * 10 + i64::from(s[1] - b'0'))
    };
    let h = two(0)?;
    let mut i = 2;
    let (mut mi, mut s, mut us) = (0, 0, 0);
    if bytes.get(i) == Some(&b':') {
        mi = two(i + 1)?;
        i += 3;
        if bytes.get(i) == Some(&b':') {
            s = two(i + 1)?;
            i += 3;
            if matches!(bytes.get(i), Some(b'.' | b',')) {
                i += 1;
                let start = i;
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if i == start {
                    return None;
                }
                let frac = &b[start..i.min(start + 6)];
                us = format!("{frac:0<6}").parse::<i64>().ok()?;
            }
        }
    }
    // dateutil: hour 24 only as 24:00:00, the next midnight (one day of microseconds).
    if h == 24 && mi == 0 && s == 0 && us == 0 {
    } else if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let rest = &b[i..];
    let zone = if rest.is_empty() {
        None
    } else if rest == "Z" || rest == "z" {
        Some(0)
    } else {
        let (_, digits) = sign(rest);
        if !matches!(rest.as_bytes()[0], b'+' | b'-')
            || !(digits.len() == 2
                || digits.len() == 4
                || (digits.len() == 5 && digits.as_bytes()[2] == b':'))
            || !digits.bytes().all(|c| c.is_ascii_digit() || c == b':')
        {
            return None;
        }
        Some(zone_offset(rest)?)
    };
    Some((((h * 60 + mi) * 60 + s) * 1_000_000 + us, zone))
}

/// dateutil's `isoparse` of a date-time: `YYYY-MM-DD`, one separator character, a time.
fn iso_datetime(v: &str) -> Option<(i64, i64, Option<i64>)> {
    let b = v.as_bytes();
    let date = iso_date(v.get(..10)?)?;
    if b.len() == 10 {
        return Some((date, 0, None));
    }
    // The separator is any one character; `v` is ASCII up to here.
    let (t, zone) = iso_time(v.get(11..)?)?;
    Some((date, t, zone))
}

/// `YYYY-MM-DD` exactly.
fn iso_date(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = &b[r];
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0i64, |a, d| a * 10 + i64::from(d - b'0')))
    };
    days(n(0..4)?, n(5..7)?, n(8..10)?)
}

/// `format: any` for dates: ISO forms, then `M/D/YYYY` and `D Mon YYYY`-like forms through
/// a few strptime patterns (dateutil accepts far more; see the intended differences).
fn any_date(v: &str, fallbacks: &[Strptime]) -> Option<(i64, i64, Option<i64>)> {
    iso_datetime(v).or_else(|| fallbacks.iter().find_map(|p| p.read(v)))
}

const ANY_DATE_PATTERNS: &[&str] = &[
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%Y/%m/%d",
    "%d %b %Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M",
];

/// Python's `base64.b64decode` (non-validating): characters outside the alphabet are
/// dropped; the rest must be whole quads, padding included.
fn base64_ok(v: &str) -> bool {
    let mut data = 0usize;
    let mut pad = 0usize;
    for c in v.bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => {
                if pad > 0 {
                    // Data after padding ends the decoding in Python; the padding counts.
                    return (data % 4 == 2 && pad >= 2) || (data % 4 == 3 && pad >= 1);
                }
                data += 1;
            }
            b'=' => pad += 1,
            _ => {}
        }
    }
    match data % 4 {
        0 => true,
        1 => false,
        2 => pad >= 2,
        _ => pad >= 1,
    }
}

/// The `validators` package's e-mail check, in outline: a dot-atom or quoted local part
/// of at most 64 characters, `@`, a domain of labels with a top-level label of letters.
fn email_ok(v: &str) -> bool {
    let Some((local, domain)) = v.rsplit_once('@') else {
        return false;
    };
    let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(atom));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// rfc3986 with a scheme required: `scheme:` then URI characters only.
fn uri_ok(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once(':') else {
        return false;
    };
    let mut sc = scheme.chars();
    sc.next().is_some_and(|c| c.is_ascii_alphabetic())
        && sc.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c))
}

/// 8-4-4-4-12 hexadecimal digits.
fn uuid_ok(v: &str) -> bool {
    let groups: Vec<&str> = v.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// ISO 8601 duration as `isodate.parse_duration` reads it: `[±]P[nY][nM][nW][nD][T[nH][nM][nS]]`
/// (a fraction with `.` or `,`). Returns whether it parses.
fn duration_ok(v: &str) -> bool {
    let (_, rest) = sign(v);
    let Some(body) = rest.strip_prefix('P') else {
        return false;
    };
    if body.is_empty() {
        return false;
    }
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let units = |s: &str, allowed: &[u8]| -> bool {
        let b = s.as_bytes();
        let mut i = 0;
        let mut last = 0usize;
        while i < b.len() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return false;
            }
            if i < b.len() && matches!(b[i], b'.' | b',') {
                i += 1;
                let fs = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i == fs {
                    return false;
                }
            }
            let Some(u) = b.get(i) else {
                return false;
            };
            let Some(pos) = allowed.iter().position(|a| a == u) else {
                return false;
            };
            if pos < last {
                return false;
            }
            last = pos + 1;
            i += 1;
        }
        true
    };
    units(date, b"YMWD") && time.is_none_or(|t| units(t, b"HMS"))
}

/// A compiled field: reads cells, writes keys, checks constraints.
#[derive(Debug)]
pub struct FieldReader {
    ty: FieldType,
    format: Format,
    missing: Vec<String>,
    decimal: String,
    group: String,
    bare: bool,
    number_options: bool,
    true_values: Vec<String>,
    false_values: Vec<String>,
    required: bool,
    min_len: Option<u64>,
    max_len: Option<u64>,
    min: Option<(Typed, bool)>,
    max: Option<(Typed, bool)>,
    pattern: Option<regex::Regex>,
    one_of: Option<crate::keys::FixedSet<String>>,
    /// `enum` as the schema spells it, for messages.
    one_of_shown: Vec<String>,
    /// A date in the default format (`%Y-%m-%d`, whose 10-character values are ISO dates).
    default_date: bool,
}

#[derive(Debug)]
enum Format {
    Default,
    Any(Vec<Strptime>),
    Pattern(Strptime),
    Email,
    Uri,
    Uuid,
    Binary,
    /// Geopoint `array` / `object`.
    GeoArray,
    GeoObject,
    /// Formats Frictionless reads as plain text (e.g. `wkt` is not checked here).
    Text,
}

impl FieldReader {
    /// Compiles a field; fails on a format or constraint Frictionless could not use.
    pub fn new(f: &Field) -> Result<FieldReader, String> {
        use FieldType as T;
        let format = match (f.ty, f.format.as_str()) {
            // `strptime("%Y-%m-%d")`: one-digit months and days pass.
            (T::Date, "default") => Format::Pattern(Strptime::new("%Y-%m-%d")?),
            (_, "default") => Format::Default,
            (T::Date | T::Time | T::Datetime, "any") => Format::Any(
                ANY_DATE_PATTERNS
                    .iter()
                    .map(|p| Strptime::new(p))
                    .collect::<Result<_, _>>()?,
            ),
            (T::Date | T::Time | T::Datetime, p) => Format::Pattern(Strptime::new(p)?),
            (T::String, "email") => Format::Email,
            (T::String, "uri") => Format::Uri,
            (T::String, "uuid") => Format::Uuid,
            (T::String, "binary") => Format::Binary,
            (T::Geopoint, "array") => Format::GeoArray,
            (T::Geopoint, "object") => Format::GeoObject,
            _ => Format::Text,
        };
        let mut r = FieldReader {
            ty: f.ty,
            format,
            missing: f.missing_values.clone(),
            decimal: f.decimal_char.clone(),
            group: f.group_char.clone(),
            bare: f.bare_number,
            number_options: f.number_options,
            true_values: f.true_values.clone(),
            false_values: f.false_values.clone(),
            required: f.constraints.required,
            min_len: None,
            max_len: None,
            min: None,
            max: None,
            pattern: None,
            one_of: None,
            one_of_shown: c_enum(f),
            default_date: f.ty == T::Date && f.format == "default",
        };
        let c = &f.constraints;
        let t = f.ty;
        if t.supports("minLength") {
            r.min_len = c.min_length;
            r.max_len = c.max_length;
        }
        let mut scratch = String::new();
        let bound =
            |v: &Option<String>, r: &FieldReader, what: &str| -> Result<Option<Typed>, String> {
                match v {
                    Some(v) if t.supports("minimum") => {
                        match r.read(v.trim_matches('"'), &mut String::new()) {
                            Some(x) => Ok(Some(x)),
                            None => Err(format!("{what} `{v}` is not a {}", t.name())),
                        }
                    }
                    _ => Ok(None),
                }
            };
        r.min = match (
            bound(&c.minimum, &r, "minimum")?,
            bound(&c.exclusive_minimum, &r, "exclusiveMinimum")?,
        ) {
            (_, Some(x)) => Some((x, true)),
            (Some(x), None) => Some((x, false)),
            _ => None,
        };
        r.max = match (
            bound(&c.maximum, &r, "maximum")?,
            bound(&c.exclusive_maximum, &r, "exclusiveMaximum")?,
        ) {
            (_, Some(x)) => Some((x, true)),
            (Some(x), None) => Some((x, false)),
            _ => None,
        };
        if let Some(p) = &c.pattern
            && t.supports("pattern")
        {
            // Python's `re.compile("^{0}$")`, matched from the start: the whole value.
            let re = regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| format!("pattern `{p}` is not a regular expression: {e}"))?;
            r.pattern = Some(re);
        }
        if let Some(values) = &c.one_of
            && t.supports("enum")
        {
            let mut set = crate::keys::FixedSet::default();
            for v in values {
                scratch.clear();
                // An enum value that is not of the type can never match a cell.
                if r.read(v, &mut scratch).is_some() {
                    set.insert(scratch.clone());
                }
            }
            r.one_of = Some(set);
        }
        Ok(r)
    }

    /// Whether `v` is one of the missing values.
    pub fn is_missing(&self, v: &str) -> bool {
        self.missing.iter().any(|m| m == v)
    }

    /// Reads a present, non-missing cell: its typed value, and its key in `key` (cleared
    /// first). `None`: not of the type.
    pub fn read(&self, v: &str, key: &mut String) -> Option<Typed> {
        use FieldType as T;
        key.clear();
        let typed = match self.ty {
            T::String => {
                let ok = match &self.format {
                    Format::Email => email_ok(v),
                    Format::Uri => uri_ok(v),
                    Format::Uuid => uuid_ok(v),
                    Format::Binary => base64_ok(v),
                    _ => true,
                };
                if !ok {
                    return None;
                }
                key.push('s');
                key.push_str(v);
                Typed::Text(v.chars().count() as u64)
            }
            T::Any | T::Duration => {
                if self.ty == T::Duration && !duration_ok(v) {
                    return None;
                }
                key.push('s');
                key.push_str(v);
                Typed::Text(v.chars().count() as u64)
            }
            T::Integer => {
                let s = v.trim();
                let s = if self.bare { s } else { strip_non_digits(s) };
                let d = parse_int(s)?;
                d.key(key);
                Typed::Num(d)
            }
            T::Number => {
                let mut s = v.trim();
                if !self.bare {
                    s = strip_non_digits(s);
                }
                let d = if self.number_options && (!self.group.is_empty() || self.decimal != ".") {
                    let mut t = if self.group.is_empty() {
                        s.to_owned()
                    } else {
                        s.replace(self.group.as_str(), "")
                    };
                    if self.decimal != "." && t.contains('.') {
                        return None;
                    }
                    if self.decimal != "." {
                        t = t.replace(self.decimal.as_str(), ".");
                    }
                    parse_decimal(&t)?
                } else {
                    parse_decimal(s)?
                };
                d.key(key);
                Typed::Num(d)
            }
            T::Year => {
                if v.len() != 4 {
                    return None;
                }
                let d = parse_int(v.trim())?;
                if d.neg && d.mant != 0 || d.cmp(&Dec::from_i64(9999)) == Ordering::Greater {
                    return None;
                }
                d.key(key);
                Typed::Num(d)
            }
            T::Boolean => {
                let b = if self.true_values.iter().any(|t| t == v) {
                    true
                } else if self.false_values.iter().any(|t| t == v) {
                    false
                } else {
                    return None;
                };
                // Python: True == 1, so a key shares the number's.
                key.push_str(if b { "n1e0" } else { "n0e0" });
                Typed::Bool(b)
            }
            T::Yearmonth => {
                let (y, m) = v.split_once('-')?;
                let (y, m) = (parse_int(y.trim())?, parse_int(m.trim())?);
                let small = |d: Dec| -> Option<i64> {
                    (d.exp >= 0 && d.mant < 10u128.pow(12)).then(|| {
                        d.mant as i64 * 10i64.pow(d.exp as u32) * if d.neg { -1 } else { 1 }
                    })
                };
                let (y, m) = (small(y)?, small(m)?);
                if !(1..=12).contains(&m) {
                    return None;
                }
                let _ = write!(key, "y{y}-{m}");
                Typed::YearMonth(y, m)
            }
            T::Date => {
                let (d, t) = match &self.format {
                    // The common case without the pattern's regex: `YYYY-MM-DD`.
                    Format::Pattern(p) if self.default_date => match iso_date(v) {
                        Some(d) => (d, 0),
                        None => p.read(v).map(|(d, t, _)| (d, t))?,
                    },
                    Format::Any(p) => any_date(v, p).map(|(d, t, _)| (d, t))?,
                    Format::Pattern(p) => p.read(v).map(|(d, t, _)| (d, t))?,
                    _ => (iso_date(v)?, 0),
                };
                // `strptime(...).date()` drops the time; `any` too.
                let _ = t;
                let _ = write!(key, "d{d}");
                Typed::Date(d)
            }
            T::Time => {
                let (t, z) = match &self.format {
                    Format::Any(p) => any_date(v, p)
                        .map(|(_, t, z)| (t, z))
                        .or_else(|| iso_time(v))?,
                    Format::Pattern(p) => p.read(v).map(|(_, t, z)| (t, z))?,
                    _ => {
                        if v.as_bytes().get(5) != Some(&b':') || v.len() < 8 {
                            return None;
                        }
                        iso_time(v)?
                    }
                };
                let t = t % 86_400_000_000;
                let _ = write!(key, "t{t}z{z:?}");
                Typed::Time(t, z)
            }
            T::Datetime => {
                let (d, t, z) = match &self.format {
                    Format::Any(p) => any_date(v, p)?,
                    Format::Pattern(p) => p.read(v)?,
                    _ => {
                        if v.as_bytes().get(16) != Some(&b':') || v.len() < 19 {
                            return None;
                        }
                        iso_datetime(v)?
                    }
                };
                let micros = d * 86_400_000_000 + t - z.unwrap_or(0) * 1_000_000;
                let _ = write!(key, "T{micros}{}", if z.is_some() { "z" } else { "" });
                Typed::DateTime(micros, z.is_some())
            }
            T::Object | T::Array | T::Geojson => {
                let j: serde_json::Value = serde_json::from_str(v).ok()?;
                let n = match (&j, self.ty) {
                    (serde_json::Value::Object(m), T::Object) => m.len(),
                    (serde_json::Value::Array(a), T::Array) => a.len(),
                    (serde_json::Value::Object(m), T::Geojson) => {
                        if !geojson_ok(m) {
                            return None;
                        }
                        m.len()
                    }
                    _ => return None,
                };
                key.push('j');
                key.push_str(&j.to_string());
                Typed::Text(n as u64)
            }
            T::Geopoint => {
                let (lon, lat) = match self.format {
                    Format::GeoArray => {
                        let j: Vec<serde_json::Value> = serde_json::from_str(v).ok()?;
                        match j.as_slice() {
                            [a, b] => (json_dec(a)?, json_dec(b)?),
                            _ => return None,
                        }
                    }
                    Format::GeoObject => {
                        let j: serde_json::Map<String, serde_json::Value> =
                            serde_json::from_str(v).ok()?;
                        if j.len() != 2 {
                            return None;
                        }
                        (json_dec(j.get("lon")?)?, json_dec(j.get("lat")?)?)
                    }
                    _ => {
                        let (a, b) = v.split_once(',')?;
                        if b.contains(',') {
                            return None;
                        }
                        (parse_decimal(a.trim())?, parse_decimal(b.trim())?)
                    }
                };
                let (l180, l90) = (Dec::from_i64(180), Dec::from_i64(90));
                let out = |x: &Dec, lim: &Dec| x.cmp_abs(lim) == Ordering::Greater;
                if out(&lon, &l180) || out(&lat, &l90) {
                    return None;
                }
                key.push('g');
                lon.key(key);
                key.push(',');
                lat.key(key);
                Typed::Text(2)
            }
        };
        Some(typed)
    }

    /// Checks one cell (`None`: the row has no cell here), pushing every failure in
    /// Frictionless's order; `key` receives the cell's key (empty when null or invalid).
    pub fn check(&self, cell: Option<&str>, key: &mut String, out: &mut Vec<Failure>) {
        out.clear();
        key.clear();
        let value = match cell {
            Some(v) if !self.is_missing(v) => v,
            _ => {
                if self.required {
                    out.push(Failure::Required);
                }
                return;
            }
        };
        let Some(typed) = self.read(value, key) else {
            key.clear();
            out.push(Failure::Type);
            return;
        };
        if let Some(min) = self.min_len
            && let Typed::Text(n) = typed
            && n < min
        {
            out.push(Failure::MinLength);
        }
        if let Some(max) = self.max_len
            && let Typed::Text(n) = typed
            && n > max
        {
            out.push(Failure::MaxLength);
        }
        if let Some((b, exclusive)) = &self.min {
            match typed.cmp(b) {
                Some(Ordering::Less) => out.push(Failure::Minimum),
                Some(Ordering::Equal) if *exclusive => out.push(Failure::Minimum),
                _ => {}
            }
        }
        if let Some((b, exclusive)) = &self.max {
            match typed.cmp(b) {
                Some(Ordering::Greater) => out.push(Failure::Maximum),
                Some(Ordering::Equal) if *exclusive => out.push(Failure::Maximum),
                _ => {}
            }
        }
        if let Some(re) = &self.pattern
            && !re.is_match(value)
        {
            out.push(Failure::Pattern);
        }
        if let Some(set) = &self.one_of
            && !set.contains(key.as_str())
        {
            out.push(Failure::Enum);
        }
    }

    /// Appends the key of a cell for uniqueness and foreign keys: its typed key, or `∅`
    /// for null and cells not of the type (Frictionless reads both as `None`). Returns
    /// whether the cell is null.
    pub fn push_key(&self, cell: Option<&str>, scratch: &mut String, out: &mut String) -> bool {
        match cell {
            Some(v) if !self.is_missing(v) && self.read(v, scratch).is_some() => {
                out.push_str(scratch);
                false
            }
            _ => {
                out.push('\u{2205}');
                true
            }
        }
    }

    /// Whether a cell reads as null (missing, or absent).
    pub fn is_null(&self, cell: Option<&str>) -> bool {
        cell.is_none_or(|v| self.is_missing(v))
    }

    /// `minLength` and `maxLength`, where they apply.
    pub fn length_limits(&self) -> (Option<u64>, Option<u64>) {
        (self.min_len, self.max_len)
    }

    /// The `enum` values as the schema spells them.
    pub fn enum_values(&self) -> &[String] {
        &self.one_of_shown
    }

    /// What a type error says the field expects.
    pub fn expected(&self, format: &str) -> String {
        match (self.ty, format) {
            (FieldType::Boolean, _) => format!(
                "a boolean ({} / {})",
                self.true_values.join(", "),
                self.false_values.join(", ")
            ),
            (t, "default") => format!("of type {}", t.name()),
            (t, f) => format!("of type {} in format `{f}`", t.name()),
        }
    }
}

fn c_enum(f: &Field) -> Vec<String> {
    f.constraints.one_of.clone().unwrap_or_default()
}

fn json_dec(v: &serde_json::Value) -> Option<Dec> {
    match v {
        serde_json::Value::Number(n) => parse_decimal(&n.to_string()),
        serde_json::Value::String(s) => parse_decimal(s.trim()),
        _ => None,
    }
}

/// A GeoJSON object in outline: a known `type` with its member (`coordinates`,
/// `geometries`, `features`, `geometry`).
fn geojson_ok(m: &serde_json::Map<String, serde_json::Value>) -> bool {
    let member = |k: &str| m.get(k).is_some();
    match m.get("type").and_then(serde_json::Value::as_str) {
        Some(
            "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon" | "MultiPolygon",
        ) => m
            .get("coordinates")
            .is_some_and(serde_json::Value::is_array),
        Some("GeometryCollection") => member("geometries"),
        Some("FeatureCollection") => member("features"),
        Some("Feature") => member("geometry") && member("properties"),
        _ => false,
    }
}

/// Frictionless's `bareNumber: false`: drop leading characters that are neither digits nor
/// `-`, and trailing non-digits.
fn strip_non_digits(s: &str) -> &str {
    let s = s.trim_start_matches(|c: char| !(c.is_ascii_digit() || c == '-'));
    s.trim_end_matches(|c: char| !c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: &str) -> FieldReader {
        FieldReader::new(&serde_json::from_str::<Field>(json).unwrap()).unwrap()
    }

    fn fails(r: &FieldReader, v: Option<&str>) -> Vec<Failure> {
        let (mut k, mut out) = (String::new(), Vec::new());
        r.check(v, &mut k, &mut out);
        out
    }

    #[test]
    fn numbers() {
        let r = field(r#"{"type": "number"}"#);
        let mut a = String::new();
        let mut b = String::new();
        r.read("4e4", &mut a).unwrap();
        r.read("40000.00", &mut b).unwrap();
        assert_eq!(a, b);
        for bad in ["", "1,5", "abc", "1e", ".", "1..2"] {
            assert!(r.read(bad, &mut a).is_none(), "{bad}");
        }
        for ok in ["1.", ".5", "-0.0", "+3", "1_000", " 7 "] {
            assert!(r.read(ok, &mut a).is_some(), "{ok}");
        }
        let r = field(
            r#"{"type": "number", "decimalChar": ",", "groupChar": ".", "numberOptions": true}"#,
        );
        assert!(r.read("1.234,5", &mut a).is_some());
        let r = field(r#"{"type": "number", "decimalChar": ",", "numberOptions": true}"#);
        assert!(r.read("1.5", &mut a).is_none());
        let r = field(r#"{"type": "number", "bareNumber": false, "numberOptions": true}"#);
        assert!(r.read("€ 12.5 EUR", &mut a).is_some());
        assert!(Dec::new(false, 5, 0).cmp(&parse_decimal("4.99").unwrap()) == Ordering::Greater);
        assert!(
            parse_decimal("-1")
                .unwrap()
                .cmp(&parse_decimal("0").unwrap())
                == Ordering::Less
        );
    }

    #[test]
    fn integers_and_keys() {
        let r = field(r#"{"type": "integer"}"#);
        let (mut a, mut b) = (String::new(), String::new());
        r.read("01", &mut a).unwrap();
        r.read("1", &mut b).unwrap();
        assert_eq!(a, b);
        assert!(r.read("1.0", &mut a).is_none());
        assert!(r.read("1e3", &mut a).is_none());
        let r = field(r#"{"type": "integer", "constraints": {"minimum": 2, "maximum": "5"}}"#);
        assert_eq!(fails(&r, Some("1")), [Failure::Minimum]);
        assert_eq!(fails(&r, Some("6")), [Failure::Maximum]);
        assert_eq!(fails(&r, Some("x")), [Failure::Type]);
        assert!(fails(&r, Some("")).is_empty());
    }

    #[test]
    fn dates() {
        let r = field(r#"{"type": "date"}"#);
        let mut k = String::new();
        assert!(r.read("2020-02-29", &mut k).is_some());
        assert!(r.read("2021-02-29", &mut k).is_none());
        assert!(r.read("2020-1-5", &mut k).is_some());
        let r = field(r#"{"type": "date", "format": "%d/%m/%Y"}"#);
        assert!(r.read("5/1/2020", &mut k).is_some());
        assert!(r.read("2020-01-05", &mut k).is_none());
        let r = field(r#"{"type": "datetime"}"#);
        assert!(r.read("2020-01-05T10:00:00Z", &mut k).is_some());
        assert!(r.read("2020-01-05T10:00:00+01:00", &mut k).is_some());
        assert!(r.read("2020-01-05T10:00", &mut k).is_none());
        let r = field(r#"{"type": "time"}"#);
        assert!(r.read("10:00:00", &mut k).is_some());
        assert!(r.read("25:00:00", &mut k).is_none());
        assert!(r.read("24:00:00", &mut k).is_some());
        let r = field(r#"{"type": "date", "constraints": {"minimum": "2020-01-01"}}"#);
        assert_eq!(fails(&r, Some("2019-12-31")), [Failure::Minimum]);
    }

    #[test]
    fn other_types() {
        let mut k = String::new();
        let ok = |t: &str, v: &str| field(t).read(v, &mut String::new()).is_some();
        assert!(ok(r#"{"type": "year"}"#, "2020"));
        assert!(!ok(r#"{"type": "year"}"#, "20201"));
        assert!(ok(r#"{"type": "yearmonth"}"#, "2020-12"));
        assert!(!ok(r#"{"type": "yearmonth"}"#, "2020-13"));
        assert!(ok(r#"{"type": "duration"}"#, "P1Y2M3DT4H5M6.5S"));
        assert!(!ok(r#"{"type": "duration"}"#, "P"));
        assert!(!ok(r#"{"type": "duration"}"#, "1Y"));
        assert!(ok(r#"{"type": "object"}"#, r#"{"a": 1}"#));
        assert!(!ok(r#"{"type": "object"}"#, "[1]"));
        assert!(ok(r#"{"type": "array"}"#, "[1, 2]"));
        assert!(ok(r#"{"type": "geopoint"}"#, "90, 45"));
        assert!(!ok(r#"{"type": "geopoint"}"#, "200, 45"));
        assert!(ok(r#"{"type": "geopoint", "format": "array"}"#, "[90, 45]"));
        assert!(ok(
            r#"{"type": "string", "format": "uuid"}"#,
            "123e4567-e89b-12d3-a456-426614174000"
        ));
        assert!(ok(
            r#"{"type": "string", "format": "uri"}"#,
            "https://example.org/x?y=1"
        ));
        assert!(!ok(r#"{"type": "string", "format": "uri"}"#, "example.org"));
        assert!(ok(
            r#"{"type": "string", "format": "email"}"#,
            "a.b@example.org"
        ));
        assert!(!ok(r#"{"type": "string", "format": "email"}"#, "a@b"));
        assert!(ok(r#"{"type": "string", "format": "binary"}"#, "aGVsbG8="));
        assert!(!ok(r#"{"type": "string", "format": "binary"}"#, "aGVsbG8"));
        let b = field(r#"{"type": "boolean", "trueValues": ["Y"], "falseValues": ["N"]}"#);
        assert!(b.read("Y", &mut k).is_some() && b.read("yes", &mut k).is_none());
        assert!(FieldType::from_name("decimal").is_none());
        let s = field(r#"{"constraints": {"pattern": "[a-z]+", "minLength": 2}}"#);
        assert_eq!(fails(&s, Some("abc1")), [Failure::Pattern]);
        assert_eq!(fails(&s, Some("a")), [Failure::MinLength]);
        // Python's `re` classes are Unicode: `\w` matches `é`, `(?i)` folds `É`.
        let w = field(r#"{"constraints": {"pattern": "\\w+"}}"#);
        assert!(fails(&w, Some("café")).is_empty());
        let i = field(r#"{"constraints": {"pattern": "(?i)é+"}}"#);
        assert!(fails(&i, Some("ÉÉ")).is_empty());
    }
}
