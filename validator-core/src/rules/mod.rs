//! Rules compiled from a [`Target`] (column names resolved to indices) and their
//! evaluation on one row, in the shape of the data flow:
//!
//! - [`compile`]: the target's rules as column indices ([`Compiled`]);
//! - [`check`]: one row through its kind's rules, one function per check;
//! - [`index`]: cross-file state (ids, claims, pending references), resolved when the
//!   session finishes;
//! - [`tablecheck`]: the Table Schema checks (typed fields, keys, foreign keys).

use crate::report::{Finding, MAX_QUOTED_CHARS, Severity, Sink, truncate_chars, truncate_value};
use crate::schema::{DateForm, Matching, Target};
use std::collections::BTreeMap;

mod check;
mod compile;
mod index;
/// Table Schema checks (typed fields, keys, foreign keys).
mod tablecheck;

pub(crate) use check::{check_row, row_rules_pass};
pub(crate) use index::{Index, Load, resolve};

/// Index of a column in its kind's column list.
type Col = usize;

#[derive(Debug)]
pub(crate) enum Cond {
    Blank(Col),
    NotBlank(Col),
    OneOf(Col, Vec<String>),
    Prefix(Col, String),
    Param(String, Vec<String>),
    /// The file's manifest mode; unknown until the manifest has been read.
    Mode(Vec<String>),
    /// Whole value in a set (lower-cased when `ignore_case`).
    Equals(Col, Vec<String>, bool),
}

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a target compiles a few dozen rules once; `Few` boxed cost 0.7% more instructions"
)]
pub(crate) enum C {
    Required(Col),
    OneOf(Vec<Col>),
    Enum {
        col: Col,
        values: Vec<String>,
        /// `values` as a set, for exact and case-insensitive matching: a target may list
        /// a million values.
        set: crate::keys::FixedSet<String>,
        /// `values` as words, when they are few and short.
        few: Option<check::Few>,
        /// The values as the target spells them, for messages.
        shown: Vec<String>,
        matching: Matching,
        blank_invalid: bool,
        sep: Option<char>,
    },
    Blank(Col),
    Date {
        col: Col,
        allow_delete: bool,
        form: DateForm,
    },
    Boolean(Col),
    Integer(Col),
    Email(Col),
    MaxLength(Col, usize),
    NoControl(Col),
    Exclusive(Vec<Col>),
    Different(Col, Col),
    Unique {
        cols: Vec<Col>,
        owner: Option<Col>,
        ignore_case: bool,
        table: usize,
    },
    Reference {
        col: Col,
        set: usize,
        kind: usize,
        ordered: bool,
        sep: Option<char>,
    },
    Consistent {
        col: Col,
        equals: Col,
        map: usize,
        kind: usize,
    },
    EnumBy {
        col: Col,
        by: Col,
        /// Lower-cased `by` value → (accepted values as compared, as the target spells them).
        lists: Vec<(String, Vec<String>, Vec<String>)>,
        matching: Matching,
        sep: Option<char>,
    },
    MaxItems {
        col: Col,
        sep: char,
        max: usize,
    },
    ReferenceWhere {
        col: Col,
        map: usize,
        kind: usize,
        attribute: String,
        values: Vec<String>,
        sep: Option<char>,
    },
    /// A Table Schema field.
    Field {
        col: Col,
        reader: Box<crate::tableschema::FieldReader>,
        format: String,
    },
    /// Typed uniqueness over `cols` (keys in `table`).
    TypedUnique {
        cols: Vec<Col>,
        readers: Vec<crate::tableschema::FieldReader>,
        primary: bool,
        table: usize,
    },
    /// A Table Schema foreign key ([`Compiled::fks`]).
    ForeignKey {
        cols: Vec<Col>,
        readers: Vec<crate::tableschema::FieldReader>,
        fk: usize,
    },
}

#[derive(Debug)]
pub(crate) struct CRule {
    pub check: C,
    pub code: &'static str,
    pub severity: Severity,
    pub when: Option<Cond>,
    pub message: Option<String>,
    pub platform: Option<String>,
    /// The platform message names other cells of the row than the checked one
    /// ([`names_row_values`]): a pending reference renders it while the row is at hand;
    /// otherwise once per finding, at the end.
    pub platform_by_row: bool,
}

#[derive(Debug)]
pub(crate) struct CKind {
    /// Column names as compared with header names.
    pub columns: Vec<String>,
    /// Column names as the target spells them, for messages.
    pub display: Vec<String>,
    /// For the manifest kind: (property column, value column, file prefix).
    pub manifest: Option<(Col, Col, String)>,
    /// File stem whose manifest mode applies to this kind (`users` for `users.csv`).
    pub stem: String,
    /// Columns the header must have (`Kind::required_columns`): when one is missing the
    /// header finding says so once, and its values are not reported row by row.
    pub header_required: Vec<Col>,
    pub rules: Vec<CRule>,
    /// Key columns whose values other kinds reference: (column, set).
    pub feeds_sets: Vec<(Col, usize)>,
    /// (key column, attribute column, map) for consistency checks.
    pub feeds_maps: Vec<(Col, Col, usize)>,
    /// (domain, column) the rules look values up in: probed together at the start of a row.
    pub probes: Vec<(usize, Col)>,
    /// Index in `probes` of the look-up of each rule (by index) that makes one.
    pub rule_probes: Vec<Option<usize>>,
    /// Index in `probes` of the look-up, in the attribute's domain, of the compared column
    /// of each consistency check (by rule index) whose row makes one (a course reference
    /// beside a section's course): the id an unresolved row is grouped by.
    pub equals_probes: Vec<Option<usize>>,
    /// (index in `probes`, map) of consistency checks: the attribute of the key found is
    /// loaded as soon as the probes are done, while the row's other rules run.
    pub probe_maps: Vec<(usize, usize)>,
    /// (index in `probes`, rule index) of references and consistency checks: when the key
    /// found is not defined, the entry of its unresolved group is loaded as soon as the
    /// probes are done, while the row's other rules run (a delta upload's rows all come to
    /// that entry).
    pub probe_refs: Vec<(usize, usize)>,
    /// The rules (by index) that read only their row (no index, no manifest mode), so a
    /// reading thread may run them first ([`row_rules_pass`]).
    pub row_rules: Vec<u32>,
    /// Every rule by index, in order: what [`check_row`] runs on a row.
    pub all_rules: Vec<u32>,
    /// The rules not in [`CKind::row_rules`], in order: what [`check_row`] runs on a row
    /// that passed those (a loop over fewer rules, not a test per rule).
    pub index_rules: Vec<u32>,
    /// Rules (by index) that are uniqueness checks with a table of their own (login ids):
    /// their keys are prefetched too.
    pub probe_tables: Vec<usize>,
    /// Foreign keys ([`Compiled::fks`]) whose referenced kind is this one.
    pub fk_feeds: Vec<usize>,
    /// The key stores that each row of this kind may add a key to (the domains it defines,
    /// its own uniqueness tables): what [`Index::presize`](index::Index::presize) sizes.
    pub fills: Vec<Fill>,
}

/// A key store of the [`Index`](index::Index) that rows fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fill {
    /// A key domain ([`Compiled::domains`]).
    Domain(usize),
    /// A uniqueness table of its own ([`TableSpec::Own`]).
    Table(usize),
}

/// Where a uniqueness check keeps the keys it has seen.
#[derive(Debug)]
pub(crate) enum TableSpec {
    /// A single-column, owner-less, case-sensitive, unconditional check on a column that
    /// feeds this set: the set already holds every earlier value and its first row.
    Set(usize),
    /// Its own keys; owners (if any) interned in this domain.
    Own { owner: Option<usize> },
}

/// A target with names resolved.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub target: Target,
    pub kinds: Vec<CKind>,
    /// Key domain of each set.
    pub sets: Vec<usize>,
    /// (key domain, attribute domain) of each map.
    pub maps: Vec<(usize, usize)>,
    pub tables: Vec<TableSpec>,
    /// Key domains: one interner per (kind, column) that sets, maps or owners draw from.
    pub domains: usize,
    /// Table Schema foreign keys: the referenced side.
    pub fks: Vec<tablecheck::FkSpec>,
}

/// Where a row is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Loc {
    pub file: u32,
    pub row: u64,
}

/// One data row, as the rules see it.
pub(crate) struct Row<'a> {
    /// The (converted) value per kind column; `None` when the row has no cell there.
    pub cells: &'a [Option<&'a str>],
    /// Header position (0-based) per kind column.
    pub positions: &'a [Option<usize>],
    pub columns: &'a [String],
    pub file: u32,
    pub path: &'a str,
    pub row: u64,
    pub line: u64,
    /// Host parameters.
    pub params: &'a BTreeMap<String, String>,
    /// The file's manifest mode, if known yet.
    pub mode: Option<&'a str>,
    /// Per [`CKind::probes`], the hash ([`crate::keys::hash`]) of the row's cell, which
    /// the reading thread computed (0: not computed, or blank); empty if it did not.
    pub probe_hashes: &'a [u64],
}

impl Row<'_> {
    #[inline]
    fn get(&self, c: Col) -> &str {
        self.cells[c].unwrap_or("")
    }

    #[inline]
    fn blank(&self, c: Col) -> bool {
        self.get(c).is_empty()
    }

    /// The cell of `c`, `None` when the row has no cell there.
    #[inline]
    fn cell(&self, c: Col) -> Option<&str> {
        self.cells[c]
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .map(|i| self.get(i))
    }
}

/// The first `{name}` placeholder of `rest`: (text before it, name, text after it); `None`
/// when no brace pair is left.
fn placeholder(rest: &str) -> Option<(&str, &str, &str)> {
    let open = rest.find('{')?;
    let after = &rest[open + 1..];
    let close = after.find('}')?;
    Some((&rest[..open], &after[..close], &after[close + 1..]))
}

/// Whether [`render`] of `template` reads the row: it has a placeholder other than
/// `{column}` and `{value}`.
pub(crate) fn names_row_values(template: &str) -> bool {
    let mut rest = template;
    while let Some((_, name, after)) = placeholder(rest) {
        if !matches!(name, "column" | "value") {
            return true;
        }
        rest = after;
    }
    false
}

/// Fills `{column}`, `{value}` and `{<column name>}` in a message template.
pub(crate) fn render(template: &str, column: &str, value: &str, row: Option<&Row<'_>>) -> String {
    let mut out = String::with_capacity(template.len() + value.len());
    let mut rest = template;
    while let Some((before, name, after)) = placeholder(rest) {
        out.push_str(before);
        match name {
            "column" => out.push_str(column),
            "value" => out.push_str(&truncate_chars(value, MAX_QUOTED_CHARS)),
            _ => match row.and_then(|r| r.lookup(name)) {
                Some(v) => out.push_str(v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The key a uniqueness check on `cols` keeps for a row whose cells `cell` gives: the
/// cells joined by U+001F, lowercased when `ignore_case`. The one cell itself when that is
/// the key (one column, and no letter to lowercase), else built into `key`.
///
/// A users file asks this twice per row and table (ahead, then in [`check::unique`]): the
/// copy it saves was most of its cost.
pub(crate) fn unique_key<'k, 'a: 'k>(
    key: &'k mut String,
    cols: &[Col],
    ignore_case: bool,
    cell: impl Fn(Col) -> &'a str,
) -> &'k str {
    if let [col] = cols {
        let v = cell(*col);
        // No early exit: ids are short.
        let folds = |v: &str| {
            v.bytes()
                .fold(false, |any, b| any | b.is_ascii_uppercase() | !b.is_ascii())
        };
        if !ignore_case || !folds(v) {
            return v;
        }
    }
    key.clear();
    for (i, &k) in cols.iter().enumerate() {
        if i > 0 {
            key.push('\u{1F}');
        }
        let v = cell(k);
        if ignore_case && !v.is_ascii() {
            key.push_str(&v.to_lowercase());
        } else {
            let at = key.len();
            key.push_str(v);
            if ignore_case {
                key[at..].make_ascii_lowercase();
            }
        }
    }
    key
}

/// What a finding says, before it is placed.
#[derive(Clone, Copy)]
pub(crate) struct Says<'r> {
    code: &'static str,
    severity: Severity,
    message: Option<&'r str>,
    platform: Option<&'r str>,
}

impl<'r> Says<'r> {
    #[inline]
    fn of(rule: &'r CRule) -> Says<'r> {
        Says {
            code: rule.code,
            severity: rule.severity,
            message: rule.message.as_deref(),
            platform: rule.platform.as_deref(),
        }
    }
}

/// Where a rule's findings go: a file's sink ([`Emit`], from [`check_row`]), or only a
/// flag ([`Dry`], from [`row_rules_pass`]). A trait rather than an optional sink, so
/// that each caller's copy of the rules has no test for the other's case.
pub(crate) trait Emits {
    /// Reports at a cell of `row`; `default` formats only if the finding is kept.
    fn cell(
        &mut self,
        says: Says<'_>,
        row: &Row<'_>,
        col: Option<Col>,
        value: &str,
        default: impl FnOnce() -> String,
    );
}

/// Only notes that a rule would report ([`row_rules_pass`]).
#[derive(Default)]
pub(crate) struct Dry {
    /// A rule reported.
    pub emitted: bool,
}

impl Emits for Dry {
    #[inline]
    fn cell(
        &mut self,
        _: Says<'_>,
        _: &Row<'_>,
        _: Option<Col>,
        _: &str,
        _: impl FnOnce() -> String,
    ) {
        self.emitted = true;
    }
}

/// Emits findings for rows of one file.
pub(crate) struct Emit<'a> {
    pub sink: &'a mut Sink,
}

impl Emits for Emit<'_> {
    // Out of line (web-demo/build.sh keeps wasm-opt from inlining it back): most rows
    // report nothing, and with each call's formatting inlined, the rule loop grew until
    // V8 compiled it 10-18% slower (Node, 348 MB bench bundle).
    #[cold]
    #[inline(never)]
    fn cell(
        &mut self,
        says: Says<'_>,
        row: &Row<'_>,
        col: Option<Col>,
        value: &str,
        default: impl FnOnce() -> String,
    ) {
        let sink = &mut *self.sink;
        if !sink.admit(says.code, says.severity, Some(row.row)) {
            return;
        }
        let column = col.map(|c| row.columns[c].as_str()).unwrap_or("");
        let message = match says.message {
            Some(t) => render(t, column, value, Some(row)),
            None => default(),
        };
        sink.push(Finding {
            code: says.code.to_owned(),
            severity: says.severity,
            file: Some(row.path.to_owned()),
            row: Some(row.row),
            line: Some(row.line),
            column: col.map(|c| row.columns[c].clone()),
            column_number: col.and_then(|c| row.positions[c]).map(|p| p as u32 + 1),
            value: (!value.is_empty()).then(|| truncate_value(value)),
            message,
            platform_message: says.platform.map(|t| render(t, column, value, Some(row))),
        });
    }
}

/// Values an enum message lists in full; a longer list shows the first
/// [`LISTED_VALUES`] and how many more (a target may list a million).
pub(crate) const MAX_LISTED_VALUES: usize = 30;
const LISTED_VALUES: usize = 20;

fn list_values(values: &[String]) -> String {
    if values.len() <= MAX_LISTED_VALUES {
        return values.join(", ");
    }
    format!(
        "{} and {} more",
        values[..LISTED_VALUES].join(", "),
        values.len() - LISTED_VALUES
    )
}

fn names(row: &Row<'_>, cols: &[Col]) -> String {
    cols.iter()
        .map(|&c| format!("`{}`", row.columns[c]))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            render("No name given for {x} {value}", "c", "v", None),
            "No name given for {x} v"
        );
        assert_eq!(render("a {column", "c", "v", None), "a {column");
    }
}
