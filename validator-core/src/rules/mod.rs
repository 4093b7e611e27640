//! Rules compiled from a [`Target`] (column names resolved to indices) and their
//! evaluation on one row. Cross-file state (ids, claims, pending references) lives in
//! [`Index`]; it is resolved when the session finishes.

use crate::Error;
use crate::date::{DateClass, classify};
use crate::keys::{Id, Keys, Locs};
use crate::pending::{Group, GroupKey, Pendings};
use crate::report::{Finding, MAX_QUOTED_CHARS, Severity, Sink, truncate_chars, truncate_value};
use std::collections::BTreeMap;

use crate::schema::{Check, Condition, DateForm, Matching, Rule, Target};

/// Table Schema checks (typed fields, keys, foreign keys).
mod tablecheck;

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
pub(crate) enum C {
    Required(Col),
    OneOf(Vec<Col>),
    Enum {
        col: Col,
        values: Vec<String>,
        /// `values` as a set, for exact and case-insensitive matching: a target may list
        /// a million values.
        set: std::collections::HashSet<String, foldhash::fast::FixedState>,
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
    /// Foreign keys ([`Compiled::fks`]) whose referenced kind is this one.
    pub fk_feeds: Vec<usize>,
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

fn norm(target: &Target, name: &str) -> String {
    crate::detect::detection_name(&target.header, name)
}

impl Compiled {
    pub fn new(target: Target) -> Result<Compiled, Error> {
        let bad = |msg: String| Error::InvalidTarget {
            target: target.name.clone(),
            msg,
        };
        crate::codes::check_platform_messages(&target).map_err(bad)?;
        let mut sets: Vec<(usize, Col)> = Vec::new();
        let mut maps: Vec<(usize, Col, Col)> = Vec::new();
        // (kind, columns, owner, ignore_case, conditional) per uniqueness check.
        type UniqueSpec = (usize, Vec<Col>, Option<Col>, bool, bool);
        let mut uniques: Vec<UniqueSpec> = Vec::new();
        let mut kinds: Vec<CKind> = target
            .kinds
            .iter()
            .map(|k| CKind {
                columns: k.columns.iter().map(|c| norm(&target, c)).collect(),
                display: k.columns.clone(),
                manifest: None,
                stem: k.file_name.trim_end_matches(".csv").to_owned(),
                header_required: Vec::new(),
                rules: Vec::new(),
                feeds_sets: Vec::new(),
                feeds_maps: Vec::new(),
                probes: Vec::new(),
                fk_feeds: Vec::new(),
            })
            .collect();
        let mut fks: Vec<tablecheck::FkSpec> = Vec::new();
        for (ki, kind) in target.kinds.iter().enumerate() {
            if kinds[..ki]
                .iter()
                .zip(&target.kinds)
                .any(|(_, k)| k.name == kind.name)
            {
                return Err(bad(format!("kind `{}` is defined twice", kind.name)));
            }
            // Identity columns are read for `diff` even when the kind does not list them.
            for c in kind.identity.iter().chain(&kind.case_insensitive) {
                let n = norm(&target, c);
                if !kinds[ki].columns.contains(&n) {
                    kinds[ki].columns.push(n);
                    kinds[ki].display.push(c.clone());
                }
            }
            let mut rules = Vec::new();
            for rule in &kind.rules {
                // Columns a rule names but the kind does not list are still read.
                for c in rule.check.columns() {
                    let n = norm(&target, c);
                    if !kinds[ki].columns.contains(&n) {
                        kinds[ki].columns.push(n);
                        kinds[ki].display.push(c.to_owned());
                    }
                }
                let cols = &kinds[ki].columns;
                let col = |name: &str| -> Col {
                    let n = norm(&target, name);
                    cols.iter().position(|c| *c == n).unwrap_or(0)
                };
                let kind_of = |name: &str| -> Result<usize, Error> {
                    target
                        .kinds
                        .iter()
                        .position(|k| k.name == name)
                        .ok_or_else(|| {
                            bad(format!(
                                "rule in `{}` names unknown kind `{name}`",
                                kind.name
                            ))
                        })
                };
                let check = match &rule.check {
                    Check::Required { column } => C::Required(col(column)),
                    Check::OneOf { columns } => C::OneOf(columns.iter().map(|c| col(c)).collect()),
                    Check::Enum {
                        column,
                        values,
                        matching,
                        blank_invalid,
                        separator,
                    } => C::Enum {
                        col: col(column),
                        values: match matching {
                            Matching::Exact => values.clone(),
                            _ => values.iter().map(|v| v.to_lowercase()).collect(),
                        },
                        set: match matching {
                            Matching::Exact => values.iter().cloned().collect(),
                            _ => values.iter().map(|v| v.to_lowercase()).collect(),
                        },
                        shown: values.clone(),
                        matching: *matching,
                        blank_invalid: *blank_invalid,
                        sep: *separator,
                    },
                    Check::Blank { column } => C::Blank(col(column)),
                    Check::Date {
                        column,
                        allow_delete,
                        form,
                    } => C::Date {
                        form: *form,
                        col: col(column),
                        allow_delete: *allow_delete,
                    },
                    Check::Boolean { column } => C::Boolean(col(column)),
                    Check::Integer { column } => C::Integer(col(column)),
                    Check::Email { column } => C::Email(col(column)),
                    Check::MaxLength { column, max } => C::MaxLength(col(column), *max),
                    Check::NoControlChars { column } => C::NoControl(col(column)),
                    Check::Exclusive { columns } => {
                        C::Exclusive(columns.iter().map(|c| col(c)).collect())
                    }
                    Check::Different { columns } => match columns.as_slice() {
                        [a, b] => C::Different(col(a), col(b)),
                        _ => return Err(bad("`different` takes exactly two columns".into())),
                    },
                    Check::Unique {
                        columns,
                        owner,
                        ignore_case,
                    } => {
                        let cols: Vec<Col> = columns.iter().map(|c| col(c)).collect();
                        let owner = owner.as_deref().map(col);
                        uniques.push((ki, cols.clone(), owner, *ignore_case, rule.when.is_some()));
                        C::Unique {
                            cols,
                            owner,
                            ignore_case: *ignore_case,
                            table: uniques.len() - 1,
                        }
                    }
                    Check::Reference {
                        column,
                        kind: to,
                        key,
                        ordered,
                        separator,
                    } => {
                        let tk = kind_of(to)?;
                        let key_col = kinds[tk]
                            .columns
                            .iter()
                            .position(|c| *c == norm(&target, key));
                        let Some(key_col) = key_col else {
                            return Err(bad(format!("kind `{to}` has no column `{key}`")));
                        };
                        let set = match sets.iter().position(|&s| s == (tk, key_col)) {
                            Some(s) => s,
                            None => {
                                sets.push((tk, key_col));
                                sets.len() - 1
                            }
                        };
                        C::Reference {
                            col: col(column),
                            set,
                            kind: tk,
                            ordered: *ordered,
                            sep: *separator,
                        }
                    }
                    Check::Consistent {
                        column,
                        kind: to,
                        key,
                        attribute,
                        equals,
                    } => {
                        let tk = kind_of(to)?;
                        attribute_map(&kinds[tk].columns, &target, tk, key, attribute, &mut maps)
                            .map_err(|()| bad(format!("kind `{to}` lacks `{key}` or `{attribute}`")))?;
                        C::Consistent {
                            col: col(column),
                            equals: col(equals),
                            map: maps.len() - 1,
                            kind: tk,
                        }
                    }
                    Check::EnumBy {
                        column,
                        by,
                        values,
                        matching,
                        separator,
                    } => C::EnumBy {
                        col: col(column),
                        by: col(by),
                        lists: values
                            .iter()
                            .map(|(key, vs)| {
                                let compared = match matching {
                                    Matching::Exact => vs.clone(),
                                    _ => vs.iter().map(|v| v.to_lowercase()).collect(),
                                };
                                (key.to_lowercase(), compared, vs.clone())
                            })
                            .collect(),
                        matching: *matching,
                        sep: *separator,
                    },
                    Check::MaxItems {
                        column,
                        separator,
                        max,
                    } => C::MaxItems {
                        col: col(column),
                        sep: *separator,
                        max: *max,
                    },
                    Check::ReferenceWhere {
                        column,
                        kind: to,
                        key,
                        attribute,
                        values,
                        separator,
                    } => {
                        let tk = kind_of(to)?;
                        attribute_map(&kinds[tk].columns, &target, tk, key, attribute, &mut maps)
                            .map_err(|()| bad(format!("kind `{to}` lacks `{key}` or `{attribute}`")))?;
                        C::ReferenceWhere {
                            col: col(column),
                            map: maps.len() - 1,
                            kind: tk,
                            attribute: attribute.clone(),
                            values: values.clone(),
                            sep: *separator,
                        }
                    }
                    Check::Field { column, field } => C::Field {
                        col: col(column),
                        reader: Box::new(tablecheck::reader(field).map_err(&bad)?),
                        format: field.format.clone(),
                    },
                    Check::TypedUnique {
                        columns,
                        fields,
                        primary,
                    } => {
                        let cols: Vec<Col> = columns.iter().map(|c| col(c)).collect();
                        // Conditional, so that it keeps its own keys (TableSpec::Own).
                        uniques.push((ki, cols.clone(), None, false, true));
                        C::TypedUnique {
                            cols,
                            readers: tablecheck::readers(fields).map_err(&bad)?,
                            primary: *primary,
                            table: uniques.len() - 1,
                        }
                    }
                    Check::ForeignKey {
                        columns,
                        fields,
                        kind: to,
                        keys,
                        key_fields,
                    } => {
                        let tk = kind_of(to)?;
                        let target_cols = &target.kinds[tk].columns;
                        let key_cols =
                            keys.iter()
                                .map(|k| {
                                    target_cols.iter().position(|c| c == k).ok_or_else(|| {
                                        bad(format!("kind `{to}` has no column `{k}`"))
                                    })
                                })
                                .collect::<Result<Vec<Col>, Error>>()?;
                        if key_cols.len() != columns.len() || key_fields.len() != keys.len() {
                            return Err(bad(format!(
                                "foreign key in `{}`: {} columns refer to {} keys",
                                kind.name,
                                columns.len(),
                                keys.len()
                            )));
                        }
                        fks.push(tablecheck::FkSpec {
                            kind: tk,
                            cols: key_cols,
                            readers: tablecheck::readers(key_fields).map_err(&bad)?,
                        });
                        C::ForeignKey {
                            cols: columns.iter().map(|c| col(c)).collect(),
                            readers: tablecheck::readers(fields).map_err(&bad)?,
                            fk: fks.len() - 1,
                        }
                    }
                };
                let when = rule.when.as_ref().map(|w| match w {
                    Condition::Blank { column } => Cond::Blank(col(column)),
                    Condition::NotBlank { column } => Cond::NotBlank(col(column)),
                    Condition::OneOf { column, values } => Cond::OneOf(
                        col(column),
                        values.iter().map(|v| v.to_lowercase()).collect(),
                    ),
                    Condition::Prefix { column, prefix } => {
                        Cond::Prefix(col(column), prefix.clone())
                    }
                    Condition::Param { name, values } => Cond::Param(name.clone(), values.clone()),
                    Condition::Mode { values } => Cond::Mode(values.clone()),
                    Condition::Equals {
                        column,
                        values,
                        ignore_case,
                    } => Cond::Equals(
                        col(column),
                        values
                            .iter()
                            .map(|v| {
                                if *ignore_case {
                                    v.to_lowercase()
                                } else {
                                    v.clone()
                                }
                            })
                            .collect(),
                        *ignore_case,
                    ),
                });
                if matches!(when, Some(Cond::Mode(_)))
                    && !matches!(
                        rule.check,
                        Check::Required { .. } | Check::Blank { .. } | Check::Reference { .. }
                    )
                {
                    return Err(bad(format!(
                        "in `{}`: a mode condition applies only to required, blank and reference rules",
                        kind.name
                    )));
                }
                rules.push(compile_rule(rule, check, when));
            }
            kinds[ki].rules = rules;
        }
        for (ki, k) in target.kinds.iter().enumerate() {
            let ck = &mut kinds[ki];
            ck.header_required = k
                .required_columns
                .iter()
                .filter_map(|c| ck.columns.iter().position(|x| *x == norm(&target, c)))
                .collect();
        }
        if let Some(m) = &target.manifest {
            let Some(mk) = target.kinds.iter().position(|k| k.name == m.kind) else {
                return Err(bad(format!("manifest kind `{}` is not a kind", m.kind)));
            };
            let find = |c: &str| {
                kinds[mk]
                    .columns
                    .iter()
                    .position(|x| *x == norm(&target, c))
            };
            let (Some(kc), Some(vc)) = (find(&m.key), find(&m.value)) else {
                return Err(bad(
                    "the manifest's key or value column is not a column".into()
                ));
            };
            kinds[mk].manifest = Some((kc, vc, m.prefix.clone()));
        }
        for (s, &(k, c)) in sets.iter().enumerate() {
            kinds[k].feeds_sets.push((c, s));
        }
        for (m, &(k, key, attr)) in maps.iter().enumerate() {
            kinds[k].feeds_maps.push((key, attr, m));
        }
        for (f, spec) in fks.iter().enumerate() {
            kinds[spec.kind].fk_feeds.push(f);
        }
        // One key domain per (kind, column): a set and a map on the same column share it,
        // and so do owners of that column.
        let mut domains: Vec<(usize, Col)> = Vec::new();
        let mut domain = |kc: (usize, Col)| match domains.iter().position(|&d| d == kc) {
            Some(d) => d,
            None => {
                domains.push(kc);
                domains.len() - 1
            }
        };
        let set_domains: Vec<usize> = sets.iter().map(|&kc| domain(kc)).collect();
        let map_domains: Vec<(usize, usize)> = maps
            .iter()
            .map(|&(k, key, attr)| (domain((k, key)), domain((k, attr))))
            .collect();
        let tables = uniques
            .into_iter()
            .map(|(k, cols, owner, ignore_case, conditional)| {
                let set = match cols.as_slice() {
                    &[only] if owner.is_none() && !ignore_case && !conditional => {
                        sets.iter().position(|&s| s == (k, only))
                    }
                    _ => None,
                };
                match set {
                    Some(s) => TableSpec::Set(s),
                    None => TableSpec::Own {
                        owner: owner.map(|o| domain((k, o))),
                    },
                }
            })
            .collect::<Vec<_>>();
        for kind in &mut kinds {
            for rule in &kind.rules {
                let probe = match &rule.check {
                    C::Reference {
                        col,
                        set,
                        sep: None,
                        ..
                    } => Some((set_domains[*set], *col)),
                    C::Consistent { col, map, .. } => Some((map_domains[*map].0, *col)),
                    C::Unique { cols, table, .. } => match tables[*table] {
                        TableSpec::Set(s) => Some((set_domains[s], cols[0])),
                        TableSpec::Own { .. } => None,
                    },
                    _ => None,
                };
                if let Some(p) = probe
                    && !kind.probes.contains(&p)
                {
                    kind.probes.push(p);
                }
            }
        }
        Ok(Compiled {
            kinds,
            sets: set_domains,
            maps: map_domains,
            tables,
            domains: domains.len(),
            fks,
            target,
        })
    }
}

fn compile_rule(rule: &Rule, check: C, when: Option<Cond>) -> CRule {
    CRule {
        code: rule.check.code(),
        severity: rule.severity.unwrap_or(rule.check.default_severity()),
        check,
        when,
        message: rule.message.clone(),
        platform: rule.platform_message.clone(),
    }
}

/// Where a row is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Loc {
    pub file: u32,
    pub row: u64,
}

/// The platform message of a reference from `row`'s `col` (value `v`), if the rule has one.
fn platform_of(rule: &CRule, row: &Row<'_>, col: Col, v: &str) -> Option<Box<str>> {
    rule.platform
        .as_deref()
        .map(|t| render(t, &row.columns[col], v, Some(row)).into())
}

/// No id.
const NO_ID: Id = Id::MAX;

/// Cross-file state of a bundle. Keys are interned per domain ([`Compiled::domains`]);
/// sets, maps and tables hold ids. A key is *defined* in its domain once a row of the
/// domain's kind has it in the domain's column: it is then in the domain's set and map.
#[derive(Debug)]
pub(crate) struct Index {
    domains: Vec<Keys>,
    /// Per set: first definition of each key (by id in the set's domain).
    sets: Vec<Locs>,
    maps: Vec<MapState>,
    tables: Vec<TableState>,
    pending: Pendings,
    /// Findings whose rule depends on a manifest mode not known when the row was read.
    deferred: Vec<Deferred>,
    /// File stem → mode, from the manifest (`file.users,bulk` → `users` → `bulk`).
    pub modes: BTreeMap<String, String>,
    /// The manifest's required properties ([`crate::schema::Manifest::required`]) it lists.
    pub listed: std::collections::BTreeSet<String>,
    /// Reused buffer for uniqueness keys.
    scratch: String,
    /// Table Schema foreign keys and buffers.
    ts: tablecheck::State,
}

/// A failed required/blank check waiting for the manifest to say whether it applies.
#[derive(Debug)]
struct Deferred {
    kind: u16,
    rule: u16,
    file: u32,
    col: u16,
    column_number: u32,
    row: u64,
    line: u64,
    value: Box<str>,
}

/// A map from key to (attribute, row); the last definition wins.
#[derive(Debug, Default)]
struct MapState {
    /// Attribute by key id; [`Attr::NONE`] when unset.
    attrs: Vec<Attr>,
    locs: Locs,
}

/// An attribute value: its id in the map's attribute domain, and its bytes when short, so
/// that comparing it with a row's value reads nothing else.
#[derive(Clone, Copy, Debug)]
struct Attr {
    id: Id,
    /// Length of `short`, or [`Attr::LONG`].
    len: u8,
    short: [u8; 8],
}

impl Attr {
    const LONG: u8 = u8::MAX;
    const NONE: Attr = Attr {
        id: NO_ID,
        len: Attr::LONG,
        short: [0; 8],
    };

    fn new(id: Id, v: &str) -> Attr {
        let mut short = [0; 8];
        match short.get_mut(..v.len()) {
            Some(s) => {
                s.copy_from_slice(v.as_bytes());
                Attr {
                    id,
                    len: v.len() as u8,
                    short,
                }
            }
            None => Attr {
                id,
                len: Attr::LONG,
                short,
            },
        }
    }

    /// Whether the attribute is `v`.
    #[inline]
    fn is(&self, v: &str, domain: &Keys) -> bool {
        if self.len == Attr::LONG {
            v.len() > 8 && domain.get(self.id) == v
        } else {
            self.short.get(..usize::from(self.len)) == Some(v.as_bytes())
        }
    }
}

impl MapState {
    /// The attribute of key `id`, if it is in the map.
    #[inline]
    fn attr(&self, id: Id) -> Option<Attr> {
        self.attrs
            .get(id as usize)
            .copied()
            .filter(|a| a.id != NO_ID)
    }

    fn set(&mut self, id: Id, attr: Attr, loc: Loc) {
        let i = id as usize;
        if self.attrs.len() <= i {
            self.attrs.resize(i + 1, Attr::NONE);
        }
        self.attrs[i] = attr;
        self.locs.set(id, loc);
    }
}

/// The keys a uniqueness check ([`TableSpec::Own`]) has seen, with first row and owner.
#[derive(Debug, Default)]
struct TableState {
    /// Not probed by every row of a big file as domains are: smaller slots.
    keys: Keys,
    /// Owner id (in the owner domain) by key id; empty for owner-less checks.
    owners: Vec<Id>,
    locs: Locs,
}

impl Index {
    pub fn new(c: &Compiled) -> Index {
        Index {
            domains: (0..c.domains).map(|_| Keys::default()).collect(),
            sets: (0..c.sets.len()).map(|_| Locs::default()).collect(),
            maps: (0..c.maps.len()).map(|_| MapState::default()).collect(),
            tables: (0..c.tables.len()).map(|_| TableState::default()).collect(),
            pending: Pendings::default(),
            deferred: Vec::new(),
            modes: BTreeMap::new(),
            listed: Default::default(),
            scratch: String::new(),
            ts: tablecheck::State::new(c),
        }
    }

    /// Keeps in full every pending reference among the first `cap` of its rule and file:
    /// the report's cap of listed findings per code and file ([`Pendings`]).
    pub fn set_listing_cap(&mut self, cap: u64) {
        self.pending.head = cap;
    }

    /// Heap bytes of the index (key stores, per-key vectors, pending references) and the
    /// number of distinct keys it holds, for benches.
    pub fn heap_stats(&self) -> (usize, usize) {
        let keys = self.domains.iter().map(Keys::len).sum::<usize>()
            + self.tables.iter().map(|t| t.keys.len()).sum::<usize>();
        let bytes = self.domains.iter().map(Keys::heap_bytes).sum::<usize>()
            + self.sets.iter().map(Locs::heap_bytes).sum::<usize>()
            + self
                .maps
                .iter()
                .map(|m| m.attrs.capacity() * size_of::<Attr>() + m.locs.heap_bytes())
                .sum::<usize>()
            + self
                .tables
                .iter()
                .map(|t| {
                    t.keys.heap_bytes()
                        + t.owners.capacity() * size_of::<Id>()
                        + t.locs.heap_bytes()
                })
                .sum::<usize>()
            + self.pending.heap_bytes();
        (bytes, keys)
    }

    /// Records a reference from `row`'s `col` to `v` in `domain` that is not resolved yet
    /// (decided when the bundle is complete); `other`: a consistency check's compared value.
    #[allow(clippy::too_many_arguments)]
    fn pend(
        &mut self,
        kind: usize,
        rule_index: usize,
        rule: &CRule,
        row: &Row<'_>,
        col: Col,
        domain: usize,
        v: &str,
        other: Option<&str>,
    ) {
        let key = GroupKey {
            kind: kind as u16,
            rule: rule_index as u16,
            file: row.file,
            key: self.domains[domain].intern(v).0,
            other: other.map_or(NO_ID, |o| self.pending.other(o)),
        };
        // An ordered reference may turn out defined later: an error.
        let track = rule.severity == Severity::Error
            || matches!(rule.check, C::Reference { ordered: true, .. });
        self.pending.add(
            key,
            row.positions[col].map_or(0, |p| p as u32 + 1),
            row.row,
            row.line,
            track,
            || platform_of(rule, row, col, v),
        );
    }
}

/// Lookups of one row ([`CKind::probes`]), made together before the rules run: the
/// lookups of a row are independent, so their cache misses overlap, and two rules on the
/// same column and domain (a reference and a consistency check on `section_id`) share one.
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
        // First every key's home slot is loaded, then the lookups run: the loads do not
        // wait on one another, so a row's cache misses overlap instead of adding up.
        let mut prepared = [const { None }; MAX_PROBES];
        for (p, &(d, col)) in prepared.iter_mut().zip(&ck.probes) {
            let v = row.get(col);
            if !v.is_empty() {
                *p = Some(domains[d].prepare(v));
            }
        }
        let mut found = [None; MAX_PROBES];
        for ((f, p), &(d, _)) in found.iter_mut().zip(&prepared).zip(&ck.probes) {
            if let Some(p) = p {
                *f = domains[d].find_prepared(p);
            }
        }
        Probes { found }
    }

    /// Where `v`, the row's value in `col`, is in `domain`; `v` is not blank.
    #[inline]
    fn find(
        &self,
        ck: &CKind,
        domains: &[Keys],
        domain: usize,
        col: Col,
        v: &str,
    ) -> Option<(Id, bool)> {
        match ck.probes.iter().position(|&p| p == (domain, col)) {
            Some(i) if i < MAX_PROBES => self.found[i],
            _ => domains[domain].find(v),
        }
    }
}

/// One data row, as the rules see it.
pub(crate) struct Row<'a> {
    /// The record's text.
    pub text: &'a str,
    /// Span of the (trimmed) value per kind column in `text`; `None` when absent.
    pub spans: &'a [Option<(usize, usize)>],
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
}

impl Row<'_> {
    fn get(&self, c: Col) -> &str {
        self.spans[c]
            .and_then(|(s, e)| self.text.get(s..e))
            .unwrap_or("")
    }

    fn blank(&self, c: Col) -> bool {
        self.get(c).is_empty()
    }

    /// The cell of `c`, `None` when the row has no cell there.
    fn cell(&self, c: Col) -> Option<&str> {
        self.spans[c].map(|(s, e)| self.text.get(s..e).unwrap_or(""))
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .map(|i| self.get(i))
    }
}

/// Fills `{column}`, `{value}` and `{<column name>}` in a message template.
pub(crate) fn render(template: &str, column: &str, value: &str, row: Option<&Row<'_>>) -> String {
    let mut out = String::with_capacity(template.len() + value.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
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
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a condition holds; `None` while it depends on a manifest not read yet.
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
fn starts_with_ignore_case(v: &str, prefix: &str) -> bool {
    v.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn enum_ok(
    v: &str,
    values: &[String],
    set: &std::collections::HashSet<String, foldhash::fast::FixedState>,
    matching: Matching,
) -> bool {
    match matching {
        Matching::Exact => set.contains(v),
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

fn boolean_ok(v: &str) -> bool {
    // Canvas's value_to_boolean: these, case-insensitively; anything else reads as false.
    ["true", "false", "1", "0", "yes", "no", "on", "off"]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(v))
}

fn integer_ok(v: &str) -> bool {
    let d = v.strip_prefix(['-', '+']).unwrap_or(v);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn email_ok(v: &str) -> bool {
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
        && !domain.contains('@')
}

/// What a finding says, before it is placed.
#[derive(Clone, Copy)]
struct Says<'r> {
    code: &'static str,
    severity: Severity,
    message: Option<&'r str>,
    platform: Option<&'r str>,
}

impl<'r> Says<'r> {
    fn of(rule: &'r CRule) -> Says<'r> {
        Says {
            code: rule.code,
            severity: rule.severity,
            message: rule.message.as_deref(),
            platform: rule.platform.as_deref(),
        }
    }
}

/// Emits findings for rows of one file.
pub(crate) struct Emit<'a> {
    pub sink: &'a mut Sink,
}

impl Emit<'_> {
    /// Reports at a cell of `row`; `default` formats only if the cap admits the finding.
    fn cell(
        &mut self,
        says: Says<'_>,
        row: &Row<'_>,
        col: Option<Col>,
        value: &str,
        default: impl FnOnce() -> String,
    ) {
        if !self.sink.admit(says.code, says.severity, Some(row.row)) {
            return;
        }
        let column = col.map(|c| row.columns[c].as_str()).unwrap_or("");
        let message = match says.message {
            Some(t) => render(t, column, value, Some(row)),
            None => default(),
        };
        self.sink.push(Finding {
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

/// Runs a kind's rules on one row.
pub(crate) fn check_row(
    c: &Compiled,
    kind: usize,
    row: &Row<'_>,
    index: &mut Index,
    emit: &mut Emit<'_>,
    paths: &[String],
) {
    let ck = &c.kinds[kind];
    let probes = Probes::new(ck, &index.domains, row);
    for (ri, rule) in ck.rules.iter().enumerate() {
        match rule.when.as_ref().map(|w| cond(w, row)) {
            None | Some(Some(true)) => {}
            Some(Some(false)) => continue,
            // The manifest has not been read yet: keep what would be reported.
            Some(None) => {
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
                // References are decided at the end, when the mode is known.
                if !matches!(rule.check, C::Reference { .. }) {
                    continue;
                }
            }
        }
        match &rule.check {
            C::Required(col) => {
                if row.blank(*col) {
                    let absent = row.positions[*col].is_none();
                    if absent && ck.header_required.contains(col) {
                        continue;
                    }
                    emit.cell(Says::of(rule), row, Some(*col), "", || {
                        if absent {
                            format!(
                                "required column `{}` is not in the header",
                                row.columns[*col]
                            )
                        } else {
                            format!("`{}` is required but blank", row.columns[*col])
                        }
                    });
                }
            }
            C::OneOf(cols) => {
                if cols.iter().all(|&k| row.blank(k)) {
                    emit.cell(Says::of(rule), row, None, "", || {
                        format!("one of {} is required; all are blank", names(row, cols))
                    });
                }
            }
            C::Enum {
                col,
                values,
                set,
                shown,
                matching,
                blank_invalid,
                sep,
            } => {
                let cell = row.get(*col);
                if cell.is_empty() && !blank_invalid {
                    continue;
                }
                let bad = if cell.is_empty() {
                    Some(cell)
                } else {
                    items(cell, *sep).find(|v| !enum_ok(v, values, set, *matching))
                };
                let Some(v) = bad else {
                    continue;
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
            C::Blank(col) => {
                let v = row.get(*col);
                if !v.is_empty() {
                    emit.cell(Says::of(rule), row, Some(*col), v, || {
                        format!("`{}` must be blank here", row.columns[*col])
                    });
                }
            }
            C::Date {
                col,
                allow_delete,
                form,
            } => {
                let v = row.get(*col);
                if v.is_empty() || (*allow_delete && v == "<delete>") {
                    continue;
                }
                let strict = match form {
                    DateForm::Lenient => None,
                    DateForm::Date => Some((v.len() == 10, "a date written YYYY-MM-DD")),
                    DateForm::DateTime => {
                        Some((v.len() > 10, "a date-time written YYYY-MM-DDTHH:MM:SSZ"))
                    }
                };
                if let Some((shape_ok, what)) = strict {
                    if !(shape_ok && classify(v) == DateClass::Iso) {
                        emit.cell(Says::of(rule), row, Some(*col), v, || {
                            format!("`{v}` is not {what}")
                        });
                    }
                    continue;
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
                        emit.cell(lenient, row, Some(*col), v, || {
                            format!("`{v}` is not ISO 8601; it may be read leniently, but write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ to be sure it means what you think")
                        });
                    }
                    DateClass::Invalid => {
                        emit.cell(Says::of(rule), row, Some(*col), v, || {
                            format!(
                                "`{v}` is not a date (expected ISO 8601, e.g. 2025-01-31T08:00:00Z)"
                            )
                        });
                    }
                }
            }
            C::Boolean(col) => {
                let v = row.get(*col);
                if !v.is_empty() && !boolean_ok(v) {
                    emit.cell(Says::of(rule), row, Some(*col), v, || {
                        format!("`{v}` is not a boolean (true/false); it is read as false")
                    });
                }
            }
            C::Integer(col) => {
                let v = row.get(*col);
                if !v.is_empty() && !integer_ok(v) {
                    emit.cell(Says::of(rule), row, Some(*col), v, || {
                        format!("`{v}` is not an integer")
                    });
                }
            }
            C::Email(col) => {
                let v = row.get(*col);
                if !v.is_empty() && !email_ok(v) {
                    emit.cell(Says::of(rule), row, Some(*col), v, || {
                        format!("`{v}` is not a valid e-mail address")
                    });
                }
            }
            C::MaxLength(col, max) => {
                let v = row.get(*col);
                let n = v.chars().count();
                if n > *max {
                    emit.cell(Says::of(rule), row, Some(*col), v, || {
                        format!(
                            "`{}` is {n} characters long; at most {max} are allowed",
                            row.columns[*col]
                        )
                    });
                }
            }
            C::NoControl(col) => {
                let v = row.get(*col);
                if let Some(ch) = v.chars().find(|c| c.is_control()) {
                    emit.cell(Says::of(rule), row, Some(*col), v, || {
                        format!(
                            "`{}` contains the control character U+{:04X}",
                            row.columns[*col],
                            u32::from(ch)
                        )
                    });
                }
            }
            C::Exclusive(cols) => {
                if cols.iter().filter(|&&k| !row.blank(k)).count() > 1 {
                    emit.cell(Says::of(rule), row, None, "", || {
                        format!("only one of {} may be set", names(row, cols))
                    });
                }
            }
            C::Different(a, b) => {
                let v = row.get(*a);
                if !v.is_empty() && v == row.get(*b) {
                    emit.cell(Says::of(rule), row, Some(*b), v, || {
                        format!(
                            "`{}` and `{}` are both `{v}`",
                            row.columns[*a], row.columns[*b]
                        )
                    });
                }
            }
            C::Unique {
                cols,
                owner,
                ignore_case,
                table,
            } => {
                if cols.iter().all(|&k| row.blank(k)) {
                    continue;
                }
                let here = Loc {
                    file: row.file,
                    row: row.row,
                };
                let shown_col = cols.iter().rev().find(|&&k| !row.blank(k)).copied();
                let value = shown_col.map(|k| row.get(k)).unwrap_or("");
                // (first row, its owner) if the key was seen before.
                let (first, first_owner) = match &c.tables[*table] {
                    TableSpec::Set(s) => {
                        let d = c.sets[*s];
                        let found = probes.find(ck, &index.domains, d, cols[0], row.get(cols[0]));
                        let first = match found {
                            Some((id, true)) => index.sets[*s].get(id),
                            _ => None,
                        };
                        match first {
                            Some(first) => (first, None),
                            None => continue,
                        }
                    }
                    TableSpec::Own {
                        owner: owner_domain,
                    } => {
                        let mut key = std::mem::take(&mut index.scratch);
                        key.clear();
                        for (i, &k) in cols.iter().enumerate() {
                            if i > 0 {
                                key.push('\u{1F}');
                            }
                            let v = row.get(k);
                            if *ignore_case && !v.is_ascii() {
                                key.push_str(&v.to_lowercase());
                            } else {
                                let at = key.len();
                                key.push_str(v);
                                if *ignore_case {
                                    key[at..].make_ascii_lowercase();
                                }
                            }
                        }
                        let t = &mut index.tables[*table];
                        let (id, new) = t.keys.intern(&key);
                        index.scratch = key;
                        if new {
                            if let (Some(o), Some(d)) = (owner, owner_domain) {
                                let own = index.domains[*d].intern(row.get(*o)).0;
                                t.owners.push(own);
                            }
                            t.locs.set(id, here);
                            continue;
                        }
                        let Some(first) = t.locs.get(id) else {
                            continue;
                        };
                        let first_owner = match (owner_domain, t.owners.get(id as usize)) {
                            (Some(d), Some(&fo)) => Some(index.domains[*d].get(fo)),
                            _ => None,
                        };
                        (first, first_owner)
                    }
                };
                let first_path = &paths[first.file as usize];
                let first_row = first.row;
                match (owner, first_owner) {
                    (Some(o), Some(fo)) => {
                        let mine = row.get(*o);
                        if mine == fo {
                            continue;
                        }
                        // `{first_owner}`: the owner of the earlier row, known only here.
                        let fill = |t: &Option<String>| {
                            t.as_deref().map(|t| t.replace("{first_owner}", fo))
                        };
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
            C::Reference {
                col,
                set,
                kind: _,
                ordered: _,
                sep: Some(sep),
            } => {
                for v in items(row.get(*col), Some(*sep)) {
                    if index.domains[c.sets[*set]].find(v).is_some_and(|(_, d)| d) {
                        continue;
                    }
                    index.pend(kind, ri, rule, row, *col, c.sets[*set], v, None);
                }
            }
            C::Reference {
                col,
                set,
                kind: _,
                ordered: _,
                sep: None,
            } => {
                let v = row.get(*col);
                if v.is_empty()
                    || probes
                        .find(ck, &index.domains, c.sets[*set], *col, v)
                        .is_some_and(|(_, defined)| defined)
                {
                    continue;
                }
                // Unresolved for now: decided when the bundle is complete.
                index.pend(kind, ri, rule, row, *col, c.sets[*set], v, None);
            }
            C::Consistent {
                col,
                equals,
                map,
                kind: to_kind,
            } => {
                let (v, mine) = (row.get(*col), row.get(*equals));
                if v.is_empty() || mine.is_empty() {
                    continue;
                }
                let (key_domain, attr_domain) = c.maps[*map];
                let m = &index.maps[*map];
                let found = probes
                    .find(ck, &index.domains, key_domain, *col, v)
                    .and_then(|(id, _)| Some((id, m.attr(id)?)));
                if let Some((id, attr)) = found {
                    if !attr.is(mine, &index.domains[attr_domain]) {
                        let attr = index.domains[attr_domain].get(attr.id);
                        let def = m.locs.get(id).unwrap_or(Loc { file: 0, row: 0 });
                        let (def_row, def_path) = (def.row, &paths[def.file as usize]);
                        emit.cell(Says::of(rule), row, Some(*col), v, || {
                            format!(
                                "{} `{v}` belongs to {} `{attr}` in {} (row {def_row} of {def_path}), but this row says {} `{mine}`",
                                row.columns[*col], row.columns[*equals], c.target.kinds[*to_kind].name, row.columns[*equals]
                            )
                        });
                    }
                    continue;
                }
                index.pend(kind, ri, rule, row, *col, key_domain, v, Some(mine));
            }
            C::EnumBy { .. } => enum_by(rule, row, emit),
            C::MaxItems { col, sep, max } => {
                let v = row.get(*col);
                let n = items(v, Some(*sep)).count();
                if n > *max {
                    emit.cell(Says::of(rule), row, Some(*col), v, || {
                        format!(
                            "`{}` holds {n} values separated by `{sep}`; at most {max} allowed here",
                            row.columns[*col]
                        )
                    });
                }
            }
            C::ReferenceWhere { .. } => reference_where(c, kind, ri, rule, row, index, emit, paths),
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
    if let Some((key, _, _)) = &ck.manifest
        && let Some(m) = &c.target.manifest
        && m.required.iter().any(|p| p == row.get(*key))
    {
        index.listed.insert(row.get(*key).to_owned());
    }
    tablecheck::feed(c, ck, row, index);
    if let Some((key, value, prefix)) = &ck.manifest
        && let Some(stem) = row.get(*key).strip_prefix(prefix.as_str())
    {
        index
            .modes
            .insert(stem.to_owned(), row.get(*value).to_owned());
    }
    // Record what this row defines, after its own checks (a row does not satisfy itself).
    let here = Loc {
        file: row.file,
        row: row.row,
    };
    for &(col, set) in &ck.feeds_sets {
        let v = row.get(col);
        if !v.is_empty() {
            // Only these feeds and the map feeds below (of the same rows, after these)
            // define keys of this domain: newly defined means first seen by this set.
            let (id, new) = index.domains[c.sets[set]].define(v);
            if new {
                index.sets[set].set(id, here);
            }
        }
    }
    for &(key, attr, map) in &ck.feeds_maps {
        let (k, a) = (row.get(key), row.get(attr));
        if !k.is_empty() {
            let (key_domain, attr_domain) = c.maps[map];
            let id = index.domains[key_domain].define(k).0;
            let attr = Attr::new(index.domains[attr_domain].intern(a).0, a);
            index.maps[map].set(id, attr, here);
        }
    }
}

/// Registers the map `key` → `attribute` of kind `tk` (for `Consistent` and
/// `ReferenceWhere`); its index is then `maps.len() - 1`.
fn attribute_map(
    columns: &[String],
    target: &Target,
    tk: usize,
    key: &str,
    attribute: &str,
    maps: &mut Vec<(usize, Col, Col)>,
) -> Result<(), ()> {
    let find = |c: &str| columns.iter().position(|x| *x == norm(target, c));
    let (Some(k), Some(a)) = (find(key), find(attribute)) else {
        return Err(());
    };
    maps.push((tk, k, a));
    Ok(())
}

/// Resolves pending references once every file is in; findings go to each file's sink.
pub(crate) fn resolve(c: &Compiled, index: &mut Index, sinks: &mut [&mut Sink], paths: &[String]) {
    // Does a rule's mode condition hold for its kind, now that the manifest is read?
    let mode_holds = |index: &Index, ck: &CKind, rule: &CRule| match &rule.when {
        Some(Cond::Mode(values)) => index
            .modes
            .get(&ck.stem)
            .is_some_and(|m| values.iter().any(|v| v == m)),
        _ => true,
    };
    for d in std::mem::take(&mut index.deferred) {
        let ck = &c.kinds[usize::from(d.kind)];
        let rule = &ck.rules[usize::from(d.rule)];
        if !mode_holds(index, ck, rule) {
            continue;
        }
        let column = &ck.display[usize::from(d.col)];
        let sink = &mut *sinks[d.file as usize];
        if !sink.admit(rule.code, rule.severity, Some(d.row)) {
            continue;
        }
        let message = match (&rule.message, &rule.check) {
            (Some(t), _) => render(t, column, &d.value, None),
            (None, C::Blank(_)) => format!("`{column}` must be blank here"),
            (None, _) => format!("`{column}` is required but blank"),
        };
        sink.push(Finding {
            code: rule.code.to_owned(),
            severity: rule.severity,
            file: Some(paths[d.file as usize].clone()),
            row: Some(d.row),
            line: Some(d.line),
            column: Some(column.clone()),
            column_number: (d.column_number > 0).then_some(d.column_number),
            value: (!d.value.is_empty()).then(|| truncate_value(&d.value)),
            message,
            platform_message: rule
                .platform
                .as_deref()
                .map(|t| render(t, column, &d.value, None)),
        });
    }
    let pending = std::mem::take(&mut index.pending);
    // Every row of a group resolves the same way (but for ordered references, see
    // `Outcome::before`): one outcome per group, computed when its first row comes.
    let mut outcomes: Vec<Option<Option<Outcome>>> = Vec::new();
    outcomes.resize_with(pending.groups.len(), || None);
    let mut listed = vec![0u64; pending.groups.len()];
    for k in &pending.rows {
        let gi = k.group as usize;
        let g = &pending.groups[gi];
        let o = outcomes[gi]
            .get_or_insert_with(|| outcome(c, index, &pending, g, paths, &mode_holds))
            .as_ref();
        let Some(o) = o.filter(|o| o.applies(k.row)) else {
            continue;
        };
        listed[gi] += 1;
        let sink = &mut *sinks[g.key.file as usize];
        if !sink.admit(o.code, o.severity, Some(k.row)) {
            continue;
        }
        let mut message = o.message.clone();
        if listed[gi] == g.kept() && g.more > 0 {
            // The rows past the kept ones are counted, not listed: say so where they'd be.
            message.push_str(&format!(
                " ({} more row(s) of this file with this value are counted, not listed)",
                g.more
            ));
        }
        sink.push(Finding {
            code: o.code.to_owned(),
            severity: o.severity,
            file: Some(paths[g.key.file as usize].clone()),
            row: Some(k.row),
            line: Some(k.line),
            column: Some(o.column.to_owned()),
            column_number: (g.column_number > 0).then_some(g.column_number),
            value: Some(truncate_value(&o.value)),
            message,
            platform_message: k.platform.as_deref().map(String::from),
        });
    }
    // Rows past the kept ones: counted and, for errors, each row rejected; not listed.
    for (g, o) in pending.groups.iter().zip(&outcomes) {
        let Some(Some(o)) = o else {
            continue;
        };
        let sink = &mut *sinks[g.key.file as usize];
        if g.tracked() {
            for r in g.extra_rows().filter(|&r| o.applies(r)) {
                let _ = sink.admit(o.code, o.severity, Some(r));
            }
        } else {
            debug_assert!(o.severity != Severity::Error, "untracked rows of an error");
            for _ in 0..g.more {
                let _ = sink.admit(o.code, o.severity, Some(g.base_row()));
            }
        }
    }
    tablecheck::resolve(c, index, sinks, paths);
}

/// How a group of pending references resolves into a finding.
struct Outcome<'c> {
    code: &'static str,
    severity: Severity,
    column: &'c str,
    value: String,
    message: String,
    /// Only rows before this one (an ordered reference defined later in the same file: the
    /// defining row does not satisfy itself).
    before: Option<u64>,
}

impl Outcome<'_> {
    fn applies(&self, row: u64) -> bool {
        self.before.is_none_or(|b| row < b)
    }
}

/// The finding a group of pending references makes, if any.
fn outcome<'c>(
    c: &'c Compiled,
    index: &Index,
    pending: &Pendings,
    g: &Group,
    paths: &[String],
    mode_holds: &impl Fn(&Index, &CKind, &CRule) -> bool,
) -> Option<Outcome<'c>> {
    let ck = &c.kinds[usize::from(g.key.kind)];
    let rule = &ck.rules[usize::from(g.key.rule)];
    if !mode_holds(index, ck, rule) {
        return None;
    }
    let (code, severity, column, value, message, before) = match &rule.check {
        C::Reference {
            col,
            set,
            kind,
            ordered,
            ..
        } => {
            let to = &c.target.kinds[*kind].name;
            let column = &ck.display[*col];
            let domain = &index.domains[c.sets[*set]];
            let value = domain.get(g.key.key).to_owned();
            let def = match domain.find(&value) {
                Some((id, true)) => index.sets[*set].get(id),
                _ => None,
            };
            match def {
                Some(def) if *ordered && def.file == g.key.file => {
                    let message = format!(
                        "{column} `{value}` is defined later (row {} of {}); the platform processes rows in order, so move it above this row",
                        def.row, paths[def.file as usize]
                    );
                    (
                        "ref.defined_later",
                        Severity::Error,
                        column,
                        value,
                        message,
                        Some(def.row),
                    )
                }
                Some(_) => return None,
                None => {
                    let message = format!(
                        "{column} `{value}` is not defined in any {to} file of this bundle; it must already exist on the server"
                    );
                    (rule.code, rule.severity, column, value, message, None)
                }
            }
        }
        C::Consistent {
            col,
            equals,
            map,
            kind,
        } => {
            let (key_domain, attr_domain) = c.maps[*map];
            let m = &index.maps[*map];
            let value = index.domains[key_domain].get(g.key.key).to_owned();
            let (attr, def) = index.domains[key_domain]
                .find(&value)
                .and_then(|(id, _)| Some((m.attr(id)?, m.locs.get(id)?)))?;
            let attr = index.domains[attr_domain].get(attr.id);
            let mine = pending.others.get(g.key.other);
            if attr == mine {
                return None;
            }
            let to = &c.target.kinds[*kind].name;
            let column = &ck.display[*col];
            let message = format!(
                "{column} `{value}` belongs to {} `{attr}` in {to} (row {} of {}), but this row says {} `{mine}`",
                ck.display[*equals], def.row, paths[def.file as usize], ck.display[*equals]
            );
            (rule.code, rule.severity, column, value, message, None)
        }
        C::ReferenceWhere {
            col,
            map,
            kind,
            attribute,
            values,
            ..
        } => {
            let (key_domain, attr_domain) = c.maps[*map];
            let m = &index.maps[*map];
            let value = index.domains[key_domain].get(g.key.key).to_owned();
            // Still not in the bundle: `Reference`'s business, not a type finding.
            let (attr, def) = index.domains[key_domain]
                .find(&value)
                .and_then(|(id, _)| Some((m.attr(id)?, m.locs.get(id)?)))?;
            let attr = index.domains[attr_domain].get(attr.id);
            if values.iter().any(|v| v == attr) {
                return None;
            }
            let column = &ck.display[*col];
            let message = wrong_type_message(
                column,
                &value,
                &c.target.kinds[*kind].name,
                attribute,
                attr,
                values,
                (def.row, &paths[def.file as usize]),
            );
            (rule.code, rule.severity, column, value, message, None)
        }
        _ => return None,
    };
    let message = match &rule.message {
        Some(t) if code == rule.code => render(t, column, &value, None),
        _ => message,
    };
    Some(Outcome {
        code,
        severity,
        column,
        value,
        message,
        before,
    })
}

/// [`C::EnumBy`]: the values of `col` allowed for this row's `by`.
fn enum_by(rule: &CRule, row: &Row<'_>, emit: &mut Emit<'_>) {
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
/// accepted attribute; references not defined yet wait for [`resolve`].
#[allow(clippy::too_many_arguments)]
fn reference_where(
    c: &Compiled,
    kind: usize,
    ri: usize,
    rule: &CRule,
    row: &Row<'_>,
    index: &mut Index,
    emit: &mut Emit<'_>,
    paths: &[String],
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
    let (key_domain, attr_domain) = c.maps[*map];
    for v in items(row.get(*col), *sep) {
        let m = &index.maps[*map];
        let found = index.domains[key_domain]
            .find(v)
            .and_then(|(id, _)| Some((m.attr(id)?, m.locs.get(id)?)));
        let Some((attr, def)) = found else {
            // Not read yet: settled when the bundle is complete.
            index.pend(kind, ri, rule, row, *col, key_domain, v, None);
            continue;
        };
        let attr = index.domains[attr_domain].get(attr.id);
        if values.iter().any(|x| x == attr) {
            continue;
        }
        let to = &c.target.kinds[*to_kind].name;
        let def = (def.row, &paths[def.file as usize]);
        emit.cell(Says::of(rule), row, Some(*col), v, || {
            wrong_type_message(&row.columns[*col], v, to, attribute, attr, values, def)
        });
    }
}

fn wrong_type_message(
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

    #[test]
    fn templates() {
        assert_eq!(
            render("No name given for {x} {value}", "c", "v", None),
            "No name given for {x} v"
        );
        assert_eq!(render("a {column", "c", "v", None), "a {column");
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
