//! One row through its kind's rules: conditions, then one function per check
//! ([`C`] variant), then what the row defines goes to the [`Index`].

use super::index::Deferred;
use super::{
    C, CKind, CRule, Col, Compiled, Cond, Dry, Emit, Emits, Index, Loc, Row, Says, TableSpec,
    list_values, names, tablecheck, unique_key,
};
use crate::date::{DateClass, classify};
use crate::keys::{Id, Keys};
use crate::report::{Severity, truncate_value};
use crate::schema::{DateForm, Matching};

/// Lookups of one row ([`CKind::probes`]), made once before the rules run: two rules on
/// the same column and domain (a reference and a consistency check on `section_id`) share
/// one. Their slots were loaded a few records earlier ([`crate::rules::Index::load_ahead`]).
/// A cached answer stays true while the rules run: keys are defined only afterwards, and
/// interning an owner never makes a key defined nor gives it a map attribute.
struct Probes {
    found: [Option<(Id, bool)>; MAX_PROBES],
}

/// Lookups made ahead per row; more are made when asked.
const MAX_PROBES: usize = 8;

impl Probes {
    #[inline]
    fn new(ck: &CKind, domains: &[Keys], row: &Row<'_>) -> Probes {
        let mut found = [None; MAX_PROBES];
        for (i, (f, &(d, col))) in found.iter_mut().zip(&ck.probes).enumerate() {
            let v = row.get(col);
            if v.is_empty() {
                continue;
            }
            *f = match row.probe_hashes.get(i) {
                // Hashed by the reading thread, of the same cell (the tests hold it to
                // that: a wrong hash would lose a look-up).
                Some(&h) if h != 0 => {
                    debug_assert_eq!(h, crate::keys::hash(v.as_bytes()), "{v}");
                    domains[d].find_hashed(v, h)
                }
                _ => domains[d].find(v),
            };
        }
        Probes { found }
    }

    /// Where `v`, the row's value that rule `ri` looks up, is in `domain`; `v` is not blank.
    #[inline]
    fn find(
        &self,
        ck: &CKind,
        ri: usize,
        domains: &[Keys],
        domain: usize,
        v: &str,
    ) -> Option<(Id, bool)> {
        match ck.rule_probes.get(ri).copied().flatten() {
            Some(i) if i < MAX_PROBES => self.found[i],
            _ => domains[domain].find(v),
        }
    }
}

/// Whether a condition holds; `None` while it depends on a manifest not read yet.
#[inline]
fn cond(c: &Cond, row: &Row<'_>) -> Option<bool> {
    Some(match c {
        Cond::Blank(col) => row.blank(*col),
        Cond::NotBlank(col) => !row.blank(*col),
        Cond::OneOf(col, values) => {
            let v = row.get(*col);
            values.iter().any(|x| starts_with_ignore_case(v, x))
        }
        Cond::Prefix(col, p) => row.get(*col).starts_with(p.as_str()),
        Cond::Param(name, values) => row
            .params
            .get(name)
            .is_some_and(|v| values.iter().any(|x| x.eq_ignore_ascii_case(v))),
        Cond::Mode(values) => return row.mode.map(|m| values.iter().any(|x| x == m)),
        Cond::Equals(col, values, ignore_case) => {
            let v = row.get(*col);
            if *ignore_case {
                let v = v.to_lowercase();
                values.contains(&v)
            } else {
                values.iter().any(|x| x == v)
            }
        }
    })
}

/// Items of a cell: the whole value, or its non-blank parts when it is a list.
#[inline]
fn items(v: &str, sep: Option<char>) -> impl Iterator<Item = &str> {
    // No boxed iterator: this runs for every enum cell.
    let (whole, parts) = match sep {
        Some(s) => (None, Some(v.split(s).map(str::trim))),
        None => (Some(v), None),
    };
    whole
        .into_iter()
        .chain(parts.into_iter().flatten())
        .filter(|p| !p.is_empty())
}

/// `v` starts with the lower-case ASCII `prefix`, ignoring ASCII case (no allocation).
#[inline]
fn starts_with_ignore_case(v: &str, prefix: &str) -> bool {
    v.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Most values an enumeration compares one by one rather than through its hash set.
const FEW_VALUES: usize = 8;

/// An enumeration of at most [`FEW_VALUES`] values of at most 16 bytes (status and role
/// columns, booleans), each as its length and two words: a cell is loaded once into two
/// words and compared with a value in three comparisons, where a byte loop per value cost
/// ~200 instructions a cell.
#[derive(Debug, Clone)]
pub(crate) struct Few {
    n: usize,
    lens: [usize; FEW_VALUES],
    words: [[u64; 2]; FEW_VALUES],
    /// Per value, the bytes of its length: what a prefix match compares.
    masks: [[u64; 2]; FEW_VALUES],
}

impl Few {
    /// `values` (lower-case ones, for a case-insensitive match) as [`Few`]; `None` if there
    /// are too many or one is too long.
    pub(crate) const fn of(values: &[&[u8]]) -> Option<Few> {
        if values.len() > FEW_VALUES {
            return None;
        }
        let mut few = Few {
            n: values.len(),
            lens: [0; FEW_VALUES],
            words: [[0; 2]; FEW_VALUES],
            masks: [[0; 2]; FEW_VALUES],
        };
        let mut i = 0;
        while i < values.len() {
            let v = values[i];
            if v.len() > 16 {
                return None;
            }
            few.lens[i] = v.len();
            few.words[i] = load16(v);
            let bits = 8 * v.len() as u32;
            few.masks[i] = [low_bits(bits), low_bits(bits.saturating_sub(64))];
            i += 1;
        }
        Some(few)
    }

    /// Whether `v` is one of the values; with `fold`, once its ASCII letters are lower-cased.
    #[inline(always)]
    fn contains(&self, v: &[u8], fold: bool) -> bool {
        if v.len() > 16 {
            return false;
        }
        let [mut a, mut b] = load16(v);
        if fold {
            (a, b) = (ascii_lower(a), ascii_lower(b));
        }
        // No early exit: at most eight values, and no branch to mispredict.
        let mut hit = false;
        for (len, w) in self.lens.iter().zip(&self.words).take(self.n) {
            hit |= *len == v.len() && *w == [a, b];
        }
        hit
    }

    /// Whether one of the values begins `v` once its ASCII letters are lower-cased.
    #[inline(always)]
    fn begins(&self, v: &[u8]) -> bool {
        let [a, b] = load16(v.get(..16).unwrap_or(v));
        let (a, b) = (ascii_lower(a), ascii_lower(b));
        let mut hit = false;
        for ((len, w), m) in self
            .lens
            .iter()
            .zip(&self.words)
            .zip(&self.masks)
            .take(self.n)
        {
            hit |= *len <= v.len() && [a & m[0], b & m[1]] == *w;
        }
        hit
    }
}

/// A word's lowest `bits` bits set (all of them from 64 on).
const fn low_bits(bits: u32) -> u64 {
    match 1u64.checked_shl(bits) {
        Some(b) => b - 1,
        None => u64::MAX,
    }
}

/// `v` (at most 16 bytes) as two little-endian words, zero-padded: overlapping loads, no
/// loop over its bytes.
#[inline(always)]
const fn load16(v: &[u8]) -> [u64; 2] {
    // One load each (`first_chunk`, unlike indexing byte by byte, is also `const`).
    const fn le8(v: &[u8], at: usize) -> u64 {
        match v.split_at(at).1.first_chunk::<8>() {
            Some(w) => u64::from_le_bytes(*w),
            None => 0,
        }
    }
    const fn le4(v: &[u8], at: usize) -> u64 {
        match v.split_at(at).1.first_chunk::<4>() {
            Some(w) => u32::from_le_bytes(*w) as u64,
            None => 0,
        }
    }
    let n = v.len();
    if n >= 8 {
        // The last eight bytes, shifted so that those the first word holds drop out.
        let tail = match le8(v, n - 8).checked_shr(8 * (16 - n as u32)) {
            Some(t) => t,
            None => 0,
        };
        [le8(v, 0), tail]
    } else if n >= 4 {
        // Two loads that overlap: the bytes both hold land on the same places.
        [le4(v, 0) | le4(v, n - 4) << (8 * (n - 4)), 0]
    } else if n > 0 {
        let (a, b, c) = (v[0] as u64, v[n / 2] as u64, v[n - 1] as u64);
        [a | b << (8 * (n / 2)) | c << (8 * (n - 1)), 0]
    } else {
        [0, 0]
    }
}

/// `w` with its ASCII upper-case letters lower-cased, all eight bytes at once.
#[inline(always)]
const fn ascii_lower(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = w & (ONES * 0x7F);
    // Per byte, the high bit: at or above `A`, above `Z` (no carry crosses a byte).
    let from_a = low7 + ONES * (0x80 - b'A' as u64);
    let past_z = low7 + ONES * (0x80 - b'Z' as u64 - 1);
    let upper = (from_a ^ past_z) & !w & (ONES * 0x80);
    w | upper >> 2
}

#[inline(always)]
fn enum_ok(
    v: &str,
    values: &[String],
    set: &crate::keys::FixedSet<String>,
    few: Option<&Few>,
    matching: Matching,
) -> bool {
    if let Some(few) = few {
        return match matching {
            Matching::Exact => few.contains(v.as_bytes(), false),
            Matching::IgnoreCase => few.contains(v.as_bytes(), true),
            Matching::IgnoreCasePrefix => few.begins(v.as_bytes()),
        };
    }
    // A few values are compared in turn: cheaper than hashing the cell.
    let few = values.len() <= FEW_VALUES;
    match matching {
        Matching::Exact if few => values.iter().any(|x| x == v),
        Matching::Exact => set.contains(v),
        // `values` are lower-case: `x` equals the ASCII-lower-cased cell.
        Matching::IgnoreCase if few => values.iter().any(|x| {
            x.len() == v.len()
                && x.bytes()
                    .zip(v.bytes())
                    .all(|(a, b)| a == b.to_ascii_lowercase())
        }),
        // `set` holds lower-case values: an ASCII-case-insensitive match is a lookup of
        // the ASCII-lower-cased cell.
        Matching::IgnoreCase => {
            // Lower-cased on the stack: no allocation per cell for the usual short value.
            let mut buf = [0u8; 64];
            match buf.get_mut(..v.len()) {
                Some(b) => {
                    b.copy_from_slice(v.as_bytes());
                    b.make_ascii_lowercase();
                    // ASCII lower-casing keeps UTF-8 valid.
                    std::str::from_utf8(b).is_ok_and(|l| set.contains(l))
                }
                None => set.contains(&v.to_ascii_lowercase()),
            }
        }
        Matching::IgnoreCasePrefix => values.iter().any(|x| starts_with_ignore_case(v, x)),
    }
}

/// Canvas's value_to_boolean: these, case-insensitively; anything else reads as false.
const BOOLEANS: Few = Few::of(&[b"true", b"false", b"1", b"0", b"yes", b"no", b"on", b"off"])
    .expect("eight short values");

#[inline(always)]
fn boolean_ok(v: &str) -> bool {
    BOOLEANS.contains(v.as_bytes(), true)
}

#[inline(always)]
fn integer_ok(v: &str) -> bool {
    let d = v.strip_prefix(['-', '+']).unwrap_or(v);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

#[inline(always)]
fn email_ok(v: &str) -> bool {
    let b = v.as_bytes();
    let Some(at) = memchr::memrchr(b'@', b) else {
        return false;
    };
    let domain = &b[at + 1..];
    // No whitespace, control character or comma: in ASCII, what is at or below a space,
    // DEL and the comma; a non-ASCII character is asked of `char`. A fold without an early
    // exit: `all` went byte by byte with three tests each (~460 instructions an address).
    let plain = b
        .iter()
        .fold(true, |ok, &c| ok & (c > b' ') & (c != 0x7f) & (c != b','));
    at > 0
        && domain.contains(&b'.')
        && domain.first() != Some(&b'.')
        && domain.last() != Some(&b'.')
        && plain
        && (v.is_ascii() || !v.chars().any(|c| c.is_whitespace() || c.is_control()))
}

/// What the checks that look beyond their row use: the compiled target, the row's kind,
/// its look-ups made ahead ([`Probes`]) and the bundle's paths (for messages).
struct Scope<'a> {
    c: &'a Compiled,
    kind: usize,
    ck: &'a CKind,
    probes: &'a Probes,
    paths: &'a [String],
}

/// Runs a kind's rules on one row, then records what the row defines.
///
/// `row_rules_passed`: [`row_rules_pass`] found nothing in this row (on a reading thread),
/// so the rules that read only their row are not run again.
pub(crate) fn check_row(
    c: &Compiled,
    kind: usize,
    row: &Row<'_>,
    index: &mut Index,
    emit: &mut Emit<'_>,
    paths: &[String],
    row_rules_passed: bool,
) {
    let ck = &c.kinds[kind];
    let probes = Probes::new(ck, &index.domains, row);
    for &(p, map) in &ck.probe_maps {
        if let Some(Some((id, _))) = probes.found.get(p) {
            index.maps[map].prefetch(*id);
        }
    }
    for &(p, ri) in &ck.probe_refs {
        if let Some(Some((id, false))) = probes.found.get(p) {
            index.prefetch_pending(kind, ri, row.file, *id);
        }
    }
    let scope = Scope {
        c,
        kind,
        ck,
        probes: &probes,
        paths,
    };
    // A row that passed its row rules (on the reading thread) runs only the others.
    let order = if row_rules_passed {
        &ck.index_rules
    } else {
        &ck.all_rules
    };
    for &ri in order {
        let (ri, Some(rule)) = (ri as usize, ck.rules.get(ri as usize)) else {
            continue;
        };
        match rule.when.as_ref().map(|w| cond(w, row)) {
            None | Some(Some(true)) => {}
            Some(Some(false)) => continue,
            // The manifest has not been read yet: keep what would be reported.
            Some(None) => {
                defer(kind, ri, rule, row, index);
                // References are decided at the end, when the mode is known.
                if !matches!(rule.check, C::Reference { .. }) {
                    continue;
                }
            }
        }
        // Every check, the row rules too (as [`row_rule`] has them): one match inlines best.
        match &rule.check {
            C::Required(col) => required(rule, *col, &ck.header_required, row, emit),
            C::OneOf(cols) => one_of(rule, cols, row, emit),
            C::Enum { .. } => enumeration(rule, row, emit),
            C::Blank(col) => blank(rule, *col, row, emit),
            C::Date {
                col,
                allow_delete,
                form,
            } => date(rule, *col, *allow_delete, *form, row, emit),
            C::Boolean(col) => boolean(rule, *col, row, emit),
            C::Integer(col) => integer(rule, *col, row, emit),
            C::Email(col) => email(rule, *col, row, emit),
            C::MaxLength(col, max) => max_length(rule, *col, *max, row, emit),
            C::NoControl(col) => no_control(rule, *col, row, emit),
            C::Exclusive(cols) => exclusive(rule, cols, row, emit),
            C::Different(a, b) => different(rule, *a, *b, row, emit),
            C::EnumBy { .. } => enum_by(rule, row, emit),
            C::MaxItems { col, sep, max } => max_items(rule, *col, *sep, *max, row, emit),
            C::Unique { .. } => unique(&scope, ri, rule, row, index, emit),
            C::Reference { .. } => reference(&scope, ri, rule, row, index),
            C::Consistent { .. } => consistent(&scope, ri, rule, row, index, emit),
            C::ReferenceWhere { .. } => reference_where(&scope, ri, rule, row, index, emit),
            C::Field {
                col,
                reader,
                format,
            } => tablecheck::field(rule, row, *col, reader, format, index, emit),
            C::TypedUnique {
                cols,
                readers,
                primary,
                table,
            } => tablecheck::unique(
                rule, row, cols, readers, *primary, *table, index, emit, paths,
            ),
            C::ForeignKey { cols, readers, fk } => {
                tablecheck::foreign_key(kind, ri, row, cols, readers, *fk, index)
            }
        }
    }
    index.define(c, ck, row);
}

/// Whether the rules of `kind` that read only their row ([`CKind::row_rules`]) find
/// nothing in `row`: a reading thread asks, so that [`check_row`] need not run them
/// again. A rule that would report anything, or that waits for the manifest, says no.
pub(crate) fn row_rules_pass(c: &Compiled, kind: usize, row: &Row<'_>) -> bool {
    let ck = &c.kinds[kind];
    let mut dry = Dry::default();
    for &ri in &ck.row_rules {
        let rule = &ck.rules[ri as usize];
        match rule.when.as_ref().map(|w| cond(w, row)) {
            None | Some(Some(true)) => {}
            Some(Some(false)) => continue,
            Some(None) => return false,
        }
        row_rule(rule, ck, row, &mut dry);
        if dry.emitted {
            return false;
        }
    }
    true
}

/// Whether `check` reads only its row: no index, no state. Such a check emits or not by
/// the row alone; [`row_rule`] runs each of them (keep the two lists together).
pub(super) fn is_row_check(check: &C) -> bool {
    matches!(
        check,
        C::Required(_)
            | C::OneOf(_)
            | C::Enum { .. }
            | C::Blank(_)
            | C::Date { .. }
            | C::Boolean(_)
            | C::Integer(_)
            | C::Email(_)
            | C::MaxLength(..)
            | C::NoControl(_)
            | C::Exclusive(_)
            | C::Different(..)
            | C::EnumBy { .. }
            | C::MaxItems { .. }
    )
}

/// One rule that reads only its row ([`is_row_check`]), as [`check_row`] runs it.
#[inline(always)]
fn row_rule(rule: &CRule, ck: &CKind, row: &Row<'_>, emit: &mut impl Emits) {
    match &rule.check {
        C::Required(col) => required(rule, *col, &ck.header_required, row, emit),
        C::OneOf(cols) => one_of(rule, cols, row, emit),
        C::Enum { .. } => enumeration(rule, row, emit),
        C::Blank(col) => blank(rule, *col, row, emit),
        C::Date {
            col,
            allow_delete,
            form,
        } => date(rule, *col, *allow_delete, *form, row, emit),
        C::Boolean(col) => boolean(rule, *col, row, emit),
        C::Integer(col) => integer(rule, *col, row, emit),
        C::Email(col) => email(rule, *col, row, emit),
        C::MaxLength(col, max) => max_length(rule, *col, *max, row, emit),
        C::NoControl(col) => no_control(rule, *col, row, emit),
        C::Exclusive(cols) => exclusive(rule, cols, row, emit),
        C::Different(a, b) => different(rule, *a, *b, row, emit),
        C::EnumBy { .. } => enum_by(rule, row, emit),
        C::MaxItems { col, sep, max } => max_items(rule, *col, *sep, *max, row, emit),
        // The others read the index: never asked here.
        _ => {}
    }
}

/// A rule whose mode condition waits for the manifest: a failing required or blank check
/// is kept, to be reported at [`resolve`](super::resolve) if the mode says it applies.
fn defer(kind: usize, ri: usize, rule: &CRule, row: &Row<'_>, index: &mut Index) {
    let failing = match &rule.check {
        C::Required(col) => row.blank(*col).then_some(*col),
        C::Blank(col) => (!row.blank(*col)).then_some(*col),
        _ => None,
    };
    if let Some(col) = failing {
        index.deferred.push(Deferred {
            kind: kind as u16,
            rule: ri as u16,
            file: row.file,
            col: col as u16,
            column_number: row.positions[col].map_or(0, |p| p as u32 + 1),
            row: row.row,
            line: row.line,
            value: row.get(col).into(),
        });
    }
}

/// [`C::Required`]: the cell is not blank (a column missing from the header is said
/// once, at the header, when the kind requires it there).
#[inline]
fn required(rule: &CRule, col: Col, header_required: &[Col], row: &Row<'_>, emit: &mut impl Emits) {
    if !row.blank(col) {
        return;
    }
    let absent = row.positions[col].is_none();
    if absent && header_required.contains(&col) {
        return;
    }
    emit.cell(Says::of(rule), row, Some(col), "", || {
        if absent {
            format!(
                "required column `{}` is not in the header",
                row.columns[col]
            )
        } else {
            format!("`{}` is required but blank", row.columns[col])
        }
    });
}

/// [`C::OneOf`]: at least one of `cols` is not blank.
#[inline]
fn one_of(rule: &CRule, cols: &[Col], row: &Row<'_>, emit: &mut impl Emits) {
    if cols.iter().all(|&k| row.blank(k)) {
        emit.cell(Says::of(rule), row, None, "", || {
            format!("one of {} is required; all are blank", names(row, cols))
        });
    }
}

/// [`C::Enum`]: the value (each item of a list) is one of the target's values.
#[inline(always)]
fn enumeration(rule: &CRule, row: &Row<'_>, emit: &mut impl Emits) {
    let C::Enum {
        col,
        values,
        set,
        few,
        shown,
        matching,
        blank_invalid,
        sep,
    } = &rule.check
    else {
        return;
    };
    let cell = row.get(*col);
    if cell.is_empty() && !blank_invalid {
        return;
    }
    let bad = if cell.is_empty() {
        Some(cell)
    } else if sep.is_none() {
        (!enum_ok(cell, values, set, few.as_ref(), *matching)).then_some(cell)
    } else {
        items(cell, *sep).find(|v| !enum_ok(v, values, set, few.as_ref(), *matching))
    };
    let Some(v) = bad else {
        return;
    };
    let values = shown;
    emit.cell(Says::of(rule), row, Some(*col), v, || {
        let how = match matching {
            Matching::Exact => "exactly ",
            Matching::IgnoreCase => "",
            Matching::IgnoreCasePrefix => "",
        };
        format!(
            "`{}` is not a valid {}; expected {how}one of: {}",
            truncate_value(v),
            row.columns[*col],
            list_values(values)
        )
    });
}

/// [`C::Blank`]: the cell is blank.
#[inline]
fn blank(rule: &CRule, col: Col, row: &Row<'_>, emit: &mut impl Emits) {
    let v = row.get(col);
    if !v.is_empty() {
        emit.cell(Says::of(rule), row, Some(col), v, || {
            format!("`{}` must be blank here", row.columns[col])
        });
    }
}

/// [`C::Date`]: ISO 8601 in the target's form; a lenient date is a warning of its own.
#[inline(always)]
fn date(
    rule: &CRule,
    col: Col,
    allow_delete: bool,
    form: DateForm,
    row: &Row<'_>,
    emit: &mut impl Emits,
) {
    let v = row.get(col);
    if v.is_empty() || (allow_delete && v == "<delete>") {
        return;
    }
    let strict = match form {
        DateForm::Lenient => None,
        DateForm::Date => Some((v.len() == 10, "a date written YYYY-MM-DD")),
        DateForm::DateTime => Some((v.len() > 10, "a date-time written YYYY-MM-DDTHH:MM:SSZ")),
    };
    if let Some((shape_ok, what)) = strict {
        if !(shape_ok && classify(v) == DateClass::Iso) {
            emit.cell(Says::of(rule), row, Some(col), v, || {
                format!("`{v}` is not {what}")
            });
        }
        return;
    }
    match classify(v) {
        DateClass::Iso => {}
        DateClass::Lenient => {
            let lenient = Says {
                code: "row.date_lenient",
                severity: Severity::Warning,
                message: None,
                platform: None,
            };
            emit.cell(lenient, row, Some(col), v, || {
                format!("`{v}` is not ISO 8601; it may be read leniently, but write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ to be sure it means what you think")
            });
        }
        DateClass::Invalid => {
            emit.cell(Says::of(rule), row, Some(col), v, || {
                format!("`{v}` is not a date (expected ISO 8601, e.g. 2025-01-31T08:00:00Z)")
            });
        }
    }
}

/// [`C::Boolean`]: a value Canvas reads as a boolean.
#[inline(always)]
fn boolean(rule: &CRule, col: Col, row: &Row<'_>, emit: &mut impl Emits) {
    let v = row.get(col);
    if !v.is_empty() && !boolean_ok(v) {
        emit.cell(Says::of(rule), row, Some(col), v, || {
            format!("`{v}` is not a boolean (true/false); it is read as false")
        });
    }
}

/// [`C::Integer`]: optional sign, then digits.
#[inline(always)]
fn integer(rule: &CRule, col: Col, row: &Row<'_>, emit: &mut impl Emits) {
    let v = row.get(col);
    if !v.is_empty() && !integer_ok(v) {
        emit.cell(Says::of(rule), row, Some(col), v, || {
            format!("`{v}` is not an integer")
        });
    }
}

/// [`C::Email`]: an address the platform accepts.
#[inline(always)]
fn email(rule: &CRule, col: Col, row: &Row<'_>, emit: &mut impl Emits) {
    let v = row.get(col);
    if !v.is_empty() && !email_ok(v) {
        emit.cell(Says::of(rule), row, Some(col), v, || {
            format!("`{v}` is not a valid e-mail address")
        });
    }
}

/// [`C::MaxLength`]: at most `max` characters.
#[inline]
fn max_length(rule: &CRule, col: Col, max: usize, row: &Row<'_>, emit: &mut impl Emits) {
    let v = row.get(col);
    // A character is at least a byte: most cells are settled without counting.
    if v.len() <= max {
        return;
    }
    let n = v.chars().count();
    if n > max {
        emit.cell(Says::of(rule), row, Some(col), v, || {
            format!(
                "`{}` is {n} characters long; at most {max} are allowed",
                row.columns[col]
            )
        });
    }
}

/// [`C::NoControl`]: no control character.
#[inline]
fn no_control(rule: &CRule, col: Col, row: &Row<'_>, emit: &mut impl Emits) {
    let v = row.get(col);
    if let Some(ch) = first_control(v) {
        emit.cell(Says::of(rule), row, Some(col), v, || {
            format!(
                "`{}` contains the control character U+{:04X}",
                row.columns[col],
                u32::from(ch)
            )
        });
    }
}

/// The first control character of `v`.
#[inline]
fn first_control(v: &str) -> Option<char> {
    // Controls are C0, DEL and C1 (U+0080-U+009F, after a 0xC2 byte): a cell with none of
    // those bytes has none, told without decoding its characters (and without an early
    // exit, which would make it byte by byte).
    let suspect = v
        .bytes()
        .fold(false, |any, b| any | (b < 0x20) | (b == 0x7f) | (b == 0xC2));
    if suspect {
        v.chars().find(|c| c.is_control())
    } else {
        None
    }
}

/// [`C::Exclusive`]: at most one of `cols` is set.
#[inline]
fn exclusive(rule: &CRule, cols: &[Col], row: &Row<'_>, emit: &mut impl Emits) {
    if cols.iter().filter(|&&k| !row.blank(k)).count() > 1 {
        emit.cell(Says::of(rule), row, None, "", || {
            format!("only one of {} may be set", names(row, cols))
        });
    }
}

/// [`C::Different`]: `a` and `b` do not hold the same value.
#[inline]
fn different(rule: &CRule, a: Col, b: Col, row: &Row<'_>, emit: &mut impl Emits) {
    let v = row.get(a);
    if !v.is_empty() && v == row.get(b) {
        emit.cell(Says::of(rule), row, Some(b), v, || {
            format!(
                "`{}` and `{}` are both `{v}`",
                row.columns[a], row.columns[b]
            )
        });
    }
}

/// [`C::Unique`]: the key is not repeated in the bundle (or, with an owner, not claimed
/// by another owner).
#[inline]
fn unique(
    s: &Scope<'_>,
    ri: usize,
    rule: &CRule,
    row: &Row<'_>,
    index: &mut Index,
    emit: &mut Emit<'_>,
) {
    let C::Unique {
        cols,
        owner,
        ignore_case,
        table,
    } = &rule.check
    else {
        return;
    };
    if cols.iter().all(|&k| row.blank(k)) {
        return;
    }
    let here = Loc {
        file: row.file,
        row: row.row,
    };
    let shown_col = cols.iter().rev().find(|&&k| !row.blank(k)).copied();
    let value = shown_col.map(|k| row.get(k)).unwrap_or("");
    // (first row, its owner) if the key was seen before.
    let (first, first_owner) = match &s.c.tables[*table] {
        TableSpec::Set(set) => {
            let d = s.c.sets[*set];
            let found = s.probes.find(s.ck, ri, &index.domains, d, row.get(cols[0]));
            let first = match found {
                Some((id, true)) => index.sets[*set].get(id),
                _ => None,
            };
            match first {
                Some(first) => (first, None),
                None => return,
            }
        }
        TableSpec::Own {
            owner: owner_domain,
        } => {
            let mut scratch = std::mem::take(&mut index.scratch);
            let key = unique_key(&mut scratch, cols, *ignore_case, |k| row.get(k));
            let t = &mut index.tables[*table];
            let (id, new) = t.keys.intern(key);
            index.scratch = scratch;
            if new {
                if let (Some(o), Some(d)) = (owner, owner_domain) {
                    let own = index.domains[*d].intern(row.get(*o)).0;
                    t.owners.push(own);
                }
                t.locs.set(id, here);
                return;
            }
            let Some(first) = t.locs.get(id) else {
                return;
            };
            let first_owner = match (owner_domain, t.owners.get(id as usize)) {
                (Some(d), Some(&fo)) => Some(index.domains[*d].get(fo)),
                _ => None,
            };
            (first, first_owner)
        }
    };
    let first_path = &s.paths[first.file as usize];
    let first_row = first.row;
    match (owner, first_owner) {
        (Some(o), Some(fo)) => {
            let mine = row.get(*o);
            if mine == &*fo {
                return;
            }
            // `{first_owner}`: the owner of the earlier row, known only here.
            let fill = |t: &Option<String>| t.as_deref().map(|t| t.replace("{first_owner}", &fo));
            let (message, platform) = (fill(&rule.message), fill(&rule.platform));
            let says = Says {
                message: message.as_deref(),
                platform: platform.as_deref(),
                ..Says::of(rule)
            };
            emit.cell(says, row, shown_col, value, || {
                format!(
                    "{} `{value}` is already claimed by {} `{fo}` (row {first_row} of {first_path})",
                    names(row, cols),
                    row.columns[*o]
                )
            });
        }
        _ => {
            emit.cell(Says::of(rule), row, shown_col, value, || {
                format!(
                    "{} `{value}` is repeated (first at row {first_row} of {first_path})",
                    names(row, cols)
                )
            });
        }
    }
}

/// [`C::Reference`]: each value is defined in the bundle; a value not defined yet waits
/// for [`resolve`](super::resolve).
#[inline]
fn reference(s: &Scope<'_>, ri: usize, rule: &CRule, row: &Row<'_>, index: &mut Index) {
    let C::Reference { col, set, sep, .. } = &rule.check else {
        return;
    };
    let domain = s.c.sets[*set];
    match sep {
        Some(sep) => {
            for v in items(row.get(*col), Some(*sep)) {
                let found = index.domains[domain].find(v);
                if found.is_some_and(|(_, d)| d) {
                    continue;
                }
                let id = found.map(|(id, _)| id);
                index.pend(s.kind, ri, rule, row, *col, domain, v, id, None);
            }
        }
        None => {
            let v = row.get(*col);
            if v.is_empty() {
                return;
            }
            let found = s.probes.find(s.ck, ri, &index.domains, domain, v);
            if found.is_some_and(|(_, defined)| defined) {
                return;
            }
            // Unresolved for now: decided when the bundle is complete.
            let id = found.map(|(id, _)| id);
            index.pend(s.kind, ri, rule, row, *col, domain, v, id, None);
        }
    }
}

/// [`C::Consistent`]: the referenced row's attribute is this row's `equals` value; a key
/// not defined yet waits for [`resolve`](super::resolve).
#[inline]
fn consistent(
    s: &Scope<'_>,
    ri: usize,
    rule: &CRule,
    row: &Row<'_>,
    index: &mut Index,
    emit: &mut Emit<'_>,
) {
    let C::Consistent {
        col,
        equals,
        map,
        kind: to_kind,
    } = &rule.check
    else {
        return;
    };
    let (v, mine) = (row.get(*col), row.get(*equals));
    if v.is_empty() || mine.is_empty() {
        return;
    }
    let (key_domain, attr_domain) = s.c.maps[*map];
    let m = &index.maps[*map];
    let id = s
        .probes
        .find(s.ck, ri, &index.domains, key_domain, v)
        .map(|(id, _)| id);
    if let Some((id, attr)) = id.and_then(|id| Some((id, m.attr(id)?))) {
        if !attr.is(mine, &index.domains[attr_domain]) {
            let attr = index.domains[attr_domain].get(attr.id);
            let def = m.locs.get(id).unwrap_or(Loc { file: 0, row: 0 });
            let (def_row, def_path) = (def.row, &s.paths[def.file as usize]);
            emit.cell(Says::of(rule), row, Some(*col), v, || {
                format!(
                    "{} `{v}` belongs to {} `{attr}` in {} (row {def_row} of {def_path}), but this row says {} `{mine}`",
                    row.columns[*col], row.columns[*equals], s.c.target.kinds[*to_kind].name, row.columns[*equals]
                )
            });
        }
        return;
    }
    // The compared value's id in the attribute's domain (a course id, beside the courses
    // the bundle defines): the row's own look-up of that column when it makes one, so a
    // delta upload, where every section is unresolved, does not hash it again.
    let probed = (s.ck.equals_probes.get(ri).copied().flatten())
        .and_then(|i| s.probes.found.get(i).copied().flatten());
    let mine = match probed {
        Some((id, _)) => id,
        None => index.domains[attr_domain].intern(mine).0,
    };
    index.pend(s.kind, ri, rule, row, *col, key_domain, v, id, Some(mine));
}

/// [`C::MaxItems`]: at most `max` items in the list.
#[inline]
fn max_items(rule: &CRule, col: Col, sep: char, max: usize, row: &Row<'_>, emit: &mut impl Emits) {
    let v = row.get(col);
    let n = items(v, Some(sep)).count();
    if n > max {
        emit.cell(Says::of(rule), row, Some(col), v, || {
            format!(
                "`{}` holds {n} values separated by `{sep}`; at most {max} allowed here",
                row.columns[col]
            )
        });
    }
}

/// [`C::EnumBy`]: the values of `col` allowed for this row's `by`.
#[inline]
fn enum_by(rule: &CRule, row: &Row<'_>, emit: &mut impl Emits) {
    let C::EnumBy {
        col,
        by,
        lists,
        matching,
        sep,
    } = &rule.check
    else {
        return;
    };
    let (cell, key) = (row.get(*col), row.get(*by));
    if cell.is_empty() || key.is_empty() {
        return;
    }
    let key = key.to_lowercase();
    let Some((_, compared, shown)) = lists.iter().find(|(k, _, _)| *k == key) else {
        return;
    };
    let ok = |v: &str| match matching {
        Matching::Exact => compared.iter().any(|x| x == v),
        Matching::IgnoreCase => compared.contains(&v.to_lowercase()),
        Matching::IgnoreCasePrefix => compared
            .iter()
            .any(|x| v.to_lowercase().starts_with(x.as_str())),
    };
    let Some(bad) = items(cell, *sep).find(|v| !ok(v)) else {
        return;
    };
    emit.cell(Says::of(rule), row, Some(*col), bad, || {
        format!(
            "`{}` is not allowed in {} when {} is `{}`; expected one of: {}",
            truncate_value(bad),
            row.columns[*col],
            row.columns[*by],
            row.get(*by),
            list_values(shown)
        )
    });
}

/// [`C::ReferenceWhere`] on one row: each reference found in the bundle must have an
/// accepted attribute; references not defined yet wait for [`resolve`](super::resolve).
#[inline]
fn reference_where(
    s: &Scope<'_>,
    ri: usize,
    rule: &CRule,
    row: &Row<'_>,
    index: &mut Index,
    emit: &mut Emit<'_>,
) {
    let C::ReferenceWhere {
        col,
        map,
        kind: to_kind,
        attribute,
        values,
        sep,
    } = &rule.check
    else {
        return;
    };
    let (key_domain, attr_domain) = s.c.maps[*map];
    for v in items(row.get(*col), *sep) {
        let m = &index.maps[*map];
        let id = index.domains[key_domain].find(v).map(|(id, _)| id);
        let found = id.and_then(|id| Some((m.attr(id)?, m.locs.get(id)?)));
        let Some((attr, def)) = found else {
            // Not read yet: settled when the bundle is complete.
            index.pend(s.kind, ri, rule, row, *col, key_domain, v, id, None);
            continue;
        };
        let attr = index.domains[attr_domain].get(attr.id);
        if values.iter().any(|x| *x == *attr) {
            continue;
        }
        let to = &s.c.target.kinds[*to_kind].name;
        let def = (def.row, &s.paths[def.file as usize]);
        emit.cell(Says::of(rule), row, Some(*col), v, || {
            wrong_type_message(&row.columns[*col], v, to, attribute, &attr, values, def)
        });
    }
}

/// The message of a reference whose row has an attribute the rule does not accept.
pub(super) fn wrong_type_message(
    column: &str,
    v: &str,
    to: &str,
    attribute: &str,
    attr: &str,
    values: &[String],
    (def_row, def_path): (u64, &String),
) -> String {
    let attr = if attr.is_empty() {
        "blank".to_owned()
    } else {
        format!("`{}`", truncate_value(attr))
    };
    format!(
        "{column} `{}` refers to row {def_row} of {def_path} ({to}), whose {attribute} is {attr}; it must be {}",
        truncate_value(v),
        list_values(values).replace(", ", " or ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Target;

    /// A short value list compared in turn answers as its hash set does.
    #[test]
    fn enum_few_values_match_the_set() {
        let cells = [
            "student",
            "STUDENT",
            "Student",
            "studen",
            "students",
            "ta",
            "TA",
            "tA",
            "",
            "observer",
            "ÉLÈVE",
            "élève",
            "Élève",
            "designer ",
        ];
        for exact in [false, true] {
            let source = ["student", "TA", "observer", "élève", "Designer"];
            let values: Vec<String> = if exact {
                source.iter().map(|v| v.to_string()).collect()
            } else {
                source.iter().map(|v| v.to_lowercase()).collect()
            };
            let set: crate::keys::FixedSet<String> = values.iter().cloned().collect();
            let matching = if exact {
                Matching::Exact
            } else {
                Matching::IgnoreCase
            };
            // Past FEW_VALUES the set answers: pad the list to compare both paths.
            let mut many = values.clone();
            many.extend((0..FEW_VALUES).map(|i| format!("pad{i}")));
            let many_set: crate::keys::FixedSet<String> = many.iter().cloned().collect();
            let bytes: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
            let few = Few::of(&bytes).expect("five short values");
            for cell in cells {
                let listed = enum_ok(cell, &values, &set, None, matching);
                assert_eq!(
                    listed,
                    enum_ok(cell, &many, &many_set, None, matching),
                    "{cell:?} exact={exact}"
                );
                assert_eq!(
                    listed,
                    enum_ok(cell, &values, &set, Some(&few), matching),
                    "{cell:?} exact={exact}, as words"
                );
            }
            for few in [None, Some(&few)] {
                assert!(enum_ok("TA", &values, &set, few, matching));
                assert_eq!(enum_ok("ta", &values, &set, few, matching), !exact);
            }
        }
    }

    /// [`Few`] against the byte-by-byte comparison, on every cell of up to 17 bytes drawn
    /// from the bytes around the letters' edges (`@` `[` `` ` `` `{`, DEL, NUL, UTF-8).
    #[test]
    fn few_values_as_words_match_byte_by_byte() {
        let edges = b"@AZ[`az{\x7f\x00\xc3\x89\xe9-1";
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let cell = |len: usize, next: &mut dyn FnMut() -> u64| -> Vec<u8> {
            (0..len)
                .map(|_| edges[next() as usize % edges.len()])
                .collect()
        };
        for round in 0..4000 {
            let values: Vec<Vec<u8>> = (0..1 + round % FEW_VALUES)
                .map(|i| cell((i * 5 + round) % 17, &mut next).to_ascii_lowercase())
                .collect();
            let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            let Some(few) = Few::of(&refs) else {
                assert!(values.iter().any(|v| v.len() > 16));
                continue;
            };
            for len in 0..=17 {
                // A value itself, with its case changed, followed by more, or any bytes.
                let value = &values[len % values.len()];
                let v = match next() % 4 {
                    0 => value.clone(),
                    1 => value.to_ascii_uppercase(),
                    2 => [value.to_ascii_uppercase(), cell(len, &mut next)].concat(),
                    _ => cell(len, &mut next),
                };
                let begins = values.iter().any(|x| {
                    v.get(..x.len())
                        .is_some_and(|p| p.to_ascii_lowercase() == *x)
                });
                assert_eq!(
                    few.begins(&v),
                    begins,
                    "{v:?} begins with one of {values:?}"
                );
                for fold in [false, true] {
                    let expected = values.iter().any(|x| {
                        x.len() == v.len()
                            && x.iter()
                                .zip(&v)
                                .all(|(a, b)| *a == if fold { b.to_ascii_lowercase() } else { *b })
                    });
                    assert_eq!(
                        few.contains(&v, fold),
                        expected,
                        "{v:?} in {values:?}, fold {fold}"
                    );
                }
            }
        }
        assert!(boolean_ok("TRUE") && boolean_ok("Off") && boolean_ok("1"));
        assert!(!boolean_ok("truee") && !boolean_ok("tru") && !boolean_ok("") && !boolean_ok("2"));
    }

    #[test]
    fn controls_are_found_by_their_bytes() {
        let chars = [
            'a', ' ', '\0', '\t', '\x1f', '\x7f', '\u{80}', '\u{9f}', '\u{a0}', 'é', 'Â', '€', '😀',
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let v: String = (0..rng % 7)
                .map(|i| chars[(rng >> (8 * i)) as usize % chars.len()])
                .collect();
            assert_eq!(
                first_control(&v),
                v.chars().find(|c| c.is_control()),
                "{v:?}"
            );
        }
    }

    #[test]
    fn emails() {
        assert!(email_ok("a.b@example.com"));
        for bad in [
            "None",
            "invalid_at_example.com",
            "a@b",
            "a @b.com",
            "@b.com",
        ] {
            assert!(!email_ok(bad), "{bad}");
        }
    }

    /// `email_ok` reads bytes where it can; the char-by-char reading it replaced decides
    /// the same on every string of up to 5 characters drawn from those that matter.
    #[test]
    fn emails_as_the_char_reading_decides() {
        fn by_chars(v: &str) -> bool {
            let Some((local, domain)) = v.rsplit_once('@') else {
                return false;
            };
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !v
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == ',')
        }
        let alphabet = [
            'a', '@', '.', ',', ' ', '\t', '\u{7f}', '\u{a0}', '\u{85}', 'é', '\u{2028}',
        ];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            strings = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |&c| format!("{s}{c}")))
                .collect();
            for v in &strings {
                assert_eq!(email_ok(v), by_chars(v), "{v:?}");
            }
        }
    }

    /// The checks that depend on another column or on the referenced row, defined as data
    /// (a target file) and run on both push orders.
    #[test]
    fn value_dependent_checks_from_a_target_file() {
        let target: Target = serde_json::from_value(serde_json::json!({
            "name": "t",
            "kinds": [
                {"name": "sites", "detect": {"all": ["site", "type"]}, "columns": ["site", "type"]},
                {"name": "grants", "detect": {"all": ["who", "app", "perms"]},
                 "columns": ["who", "app", "perms", "sites"],
                 "rules": [
                    {"check": "enum_by", "column": "perms", "by": "app", "separator": "|",
                     "values": {"mail": ["read", "send"], "files": ["read"]}},
                    {"check": "max_items", "column": "perms", "separator": "|", "max": 1,
                     "when": {"is": "equals", "column": "app", "values": ["FILES"], "ignore_case": true}},
                    {"check": "reference_where", "column": "sites", "kind": "sites", "key": "site",
                     "attribute": "type", "values": ["branch"], "separator": ";"}
                 ]}
            ]
        }))
        .unwrap();
        let sites = ("sites.csv", "site,type\nS1,branch\nS2,head\n");
        let grants = (
            "grants.csv",
            "who,app,perms,sites\n\
             a,mail,read|send,S1\n\
             b,mail,read|delete,S1;S2\n\
             c,Files,read|read,S3\n\
             d,other,anything,\n",
        );
        for files in [[sites, grants], [grants, sites]] {
            let mut s = crate::Session::new(target.clone()).unwrap();
            for (path, text) in files {
                s.push(path, text.as_bytes()).unwrap();
                s.finish_file(path).unwrap();
            }
            let r = s.finish();
            let got: Vec<(&str, Option<u64>, Option<&str>)> = r
                .files
                .iter()
                .flat_map(|f| &f.findings)
                .map(|f| (f.code.as_str(), f.row, f.value.as_deref()))
                .collect();
            assert_eq!(
                got,
                [
                    ("row.enum_by", Some(3), Some("delete")),
                    ("ref.wrong_type", Some(3), Some("S2")),
                    ("row.too_many_items", Some(4), Some("read|read")),
                ],
                "{:?}",
                files.map(|f| f.0)
            );
        }
    }
}
