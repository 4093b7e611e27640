//! The bundle's cross-file state ([`Index`]): interned keys, the first row of each id,
//! attribute maps, uniqueness tables and references not resolved yet, settled by
//! [`resolve`] once every file is in.

use super::check::wrong_type_message;
use super::{C, CKind, CRule, Col, Compiled, Cond, Fill, Loc, Row, render, tablecheck};
use crate::keys::{Id, KeyText, Keys, Locs, Seen};
use crate::pending::{Group, GroupKey, Pendings};
use crate::report::{Finding, Severity, Sink, truncate_value};
use std::collections::BTreeMap;

/// The platform message of a reference from `row`'s `col` (value `v`), if the rule has one
/// that names other cells of the row; one that names only the column and value is
/// rendered by [`resolve`] (a delta of enrollments keeps three rows per missing user).
fn platform_of(rule: &CRule, row: &Row<'_>, col: Col, v: &str) -> Option<Box<str>> {
    rule.platform
        .as_deref()
        .filter(|_| rule.platform_by_row)
        .map(|t| render(t, &row.columns[col], v, Some(row)).into())
}

/// No id.
const NO_ID: Id = Id::MAX;

/// Most keys [`Index::presize`] sizes a store for, about 4.2 million (82 MB of table and
/// ids in [`Keys`]): past it, a store grows as it fills, as one without a size hint does.
pub(crate) const PRESIZE_MAX: usize = 1 << 22;

/// Cross-file state of a bundle. Keys are interned per domain ([`Compiled::domains`]);
/// sets, maps and tables hold ids. A key is *defined* in its domain once a row of the
/// domain's kind has it in the domain's column: it is then in the domain's set and map.
#[derive(Debug)]
pub(crate) struct Index {
    pub(super) domains: Vec<Keys>,
    /// Per set: first definition of each key (by id in the set's domain).
    pub(super) sets: Vec<Locs>,
    pub(super) maps: Vec<MapState>,
    pub(super) tables: Vec<TableState>,
    pending: Pendings,
    /// Findings whose rule depends on a manifest mode not known when the row was read.
    pub(super) deferred: Vec<Deferred>,
    /// File stem → mode, from the manifest (`file.users,bulk` → `users` → `bulk`).
    pub modes: BTreeMap<String, String>,
    /// The manifest's required properties ([`crate::schema::Manifest::required`]) it lists.
    pub listed: std::collections::BTreeSet<String>,
    /// Reused buffer for uniqueness keys.
    pub(super) scratch: String,
    /// Table Schema foreign keys and buffers.
    pub(super) ts: tablecheck::State,
    /// [`crate::Options::row_verdicts`].
    pub row_verdicts: bool,
}

/// A failed required/blank check waiting for the manifest to say whether it applies.
#[derive(Debug)]
pub(super) struct Deferred {
    pub(super) kind: u16,
    pub(super) rule: u16,
    pub(super) file: u32,
    pub(super) col: u16,
    pub(super) column_number: u32,
    pub(super) row: u64,
    pub(super) line: u64,
    pub(super) value: Box<str>,
}

/// A map from key to (attribute, row); the last definition wins.
#[derive(Debug, Default)]
pub(super) struct MapState {
    /// Attribute by key id; [`Attr::NONE`] when unset.
    attrs: Vec<Attr>,
    pub(super) locs: Locs,
}

/// An attribute value: its id in the map's attribute domain, and its bytes when short, so
/// that comparing it with a row's value reads nothing else.
#[derive(Clone, Copy, Debug)]
pub(super) struct Attr {
    pub(super) id: Id,
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
    pub(super) fn is(&self, v: &str, domain: &Keys) -> bool {
        if self.len == Attr::LONG {
            v.len() > 8 && domain.is(self.id, v)
        } else {
            self.short.get(..usize::from(self.len)) == Some(v.as_bytes())
        }
    }
}

impl MapState {
    /// The attribute of key `id`, if it is in the map.
    #[inline]
    pub(super) fn attr(&self, id: Id) -> Option<Attr> {
        self.attrs
            .get(id as usize)
            .copied()
            .filter(|a| a.id != NO_ID)
    }

    /// Starts loading the attribute of key `id` ([`crate::keys::prefetch_soon`]).
    #[inline]
    pub(super) fn prefetch(&self, id: Id) {
        if let Some(a) = self.attrs.get(id as usize) {
            crate::keys::prefetch_soon(a);
        }
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

/// The keys a uniqueness check ([`TableSpec::Own`](super::TableSpec::Own)) has seen, with first row and owner.
#[derive(Debug, Default)]
pub(super) struct TableState {
    /// By fingerprint: the check never reads a key back.
    pub(super) keys: Seen,
    /// Owner id (in the owner domain) by key id; empty for owner-less checks.
    pub(super) owners: Vec<Id>,
    pub(super) locs: Locs,
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
            row_verdicts: true,
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

    /// Table slots of every key store (changes only when one is rebuilt).
    #[cfg(test)]
    pub fn slot_count(&self) -> usize {
        self.domains.iter().map(Keys::slot_count).sum::<usize>()
            + self
                .tables
                .iter()
                .map(|t| t.keys.slot_count())
                .sum::<usize>()
    }

    /// Keys in each of `fills` now: a file's starting point for [`Index::presize`].
    pub fn fill_lens(&self, fills: &[Fill]) -> Vec<usize> {
        fills.iter().map(|&f| self.fill_len(f)).collect()
    }

    /// Keys in store `f`.
    fn fill_len(&self, f: Fill) -> usize {
        match f {
            Fill::Domain(d) => self.domains[d].len(),
            Fill::Table(t) => self.tables[t].keys.len(),
        }
    }

    /// Sizes each of `fills` for the rest of a file, once `read` of its `rows` (an
    /// estimate) are in and the stores held `base` keys ([`Index::fill_lens`]) before its
    /// first: each grows at the pace it has so far, to at most `step` times the keys the
    /// file gave it. A store that gained no key is left as it is; none is sized past
    /// [`PRESIZE_MAX`] keys.
    pub fn presize(&mut self, fills: &[Fill], base: &[usize], read: u64, rows: u64, step: u64) {
        if read == 0 || rows <= read {
            return;
        }
        for (&f, &before) in fills.iter().zip(base) {
            let now = self.fill_len(f);
            let gained = now.saturating_sub(before) as u64;
            if gained == 0 {
                continue;
            }
            let more = (u128::from(gained) * u128::from(rows - read) / u128::from(read))
                .min(u128::from(gained) * u128::from(step.saturating_sub(1)));
            let total = (now as u128 + more).min(PRESIZE_MAX as u128) as usize;
            match f {
                Fill::Domain(d) => self.domains[d].reserve(total),
                Fill::Table(t) => self.tables[t].keys.reserve(total),
            }
        }
    }

    /// Starts loading the unresolved group of key `id` for reference or consistency rule `rule`
    /// of kind `kind` in `file` ([`Pendings::prefetch`]).
    #[inline]
    pub(super) fn prefetch_pending(&self, kind: usize, rule: usize, file: u32, id: Id) {
        self.pending.prefetch(kind, rule, file, id);
    }

    /// Starts loading the slot of `l` ([`crate::keys::prefetch`]) at once, or, where
    /// there is no prefetch instruction (wasm), adds it to `batch` for
    /// [`Index::start_loads`].
    #[inline]
    pub(crate) fn load_ahead(&self, l: Load, batch: &mut Vec<Load>) {
        if cfg!(target_arch = "x86_64") {
            if let Some(w) = self.home_word(&l) {
                crate::keys::prefetch(w);
            }
        } else {
            batch.push(l);
        }
    }

    /// Loads the slots of `batch`. Without a prefetch instruction each is a load that the
    /// processor cannot retire before its line comes: loads issued far apart would each
    /// wait alone, so the slots are found first and then read back to back, their misses
    /// in flight together.
    pub(crate) fn start_loads(&self, batch: &[Load]) {
        const AT_ONCE: usize = 32;
        let mut words: [&u32; AT_ONCE] = [&0; AT_ONCE];
        for loads in batch.chunks(AT_ONCE) {
            let mut n = 0;
            for w in loads.iter().filter_map(|l| self.home_word(l)) {
                words[n] = w;
                n += 1;
            }
            for w in &words[..n] {
                crate::keys::prefetch(*w);
            }
        }
    }

    /// The first word of the home slot of `l`'s key.
    #[inline]
    fn home_word(&self, l: &Load) -> Option<&u32> {
        match *l {
            Load::Domain(d, h) => self.domains.get(d)?.home_word(h),
            Load::Table(t, h) => self.tables.get(t)?.keys.home_word(h),
        }
    }

    /// Records a reference from `row`'s `col` to `v` in `domain` that is not resolved yet
    /// (decided when the bundle is complete); `id`: `v`'s id in `domain` if the caller
    /// found it (a delta upload's references are found, not defined, on every row but a
    /// key's first: no second look-up); `other`: a consistency check's compared value, by its
    /// id in the map's attribute domain.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn pend(
        &mut self,
        kind: usize,
        rule_index: usize,
        rule: &CRule,
        row: &Row<'_>,
        col: Col,
        domain: usize,
        v: &str,
        id: Option<Id>,
        other: Option<Id>,
    ) {
        let key = GroupKey {
            kind: kind as u16,
            rule: rule_index as u16,
            file: row.file,
            key: id.unwrap_or_else(|| self.domains[domain].intern(v).0),
            other: other.unwrap_or(NO_ID),
        };
        // Error rows are rejected one by one (when verdicts are kept); an ordered reference
        // may turn out defined later, and its rows count only before the definition.
        let track = (rule.severity == Severity::Error && self.row_verdicts)
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

    /// Records what `row` (of kind `ck`) defines: manifest modes and properties, Table
    /// Schema keys, set and map keys. Runs after the row's own checks, so that a row does
    /// not satisfy itself.
    pub(super) fn define(&mut self, c: &Compiled, ck: &CKind, row: &Row<'_>) {
        if let Some((key, _, _)) = &ck.manifest
            && let Some(m) = &c.target.manifest
            && m.required.iter().any(|p| p == row.get(*key))
        {
            self.listed.insert(row.get(*key).to_owned());
        }
        tablecheck::feed(c, ck, row, self);
        if let Some((key, value, prefix)) = &ck.manifest
            && let Some(stem) = row.get(*key).strip_prefix(prefix.as_str())
        {
            self.modes
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
                let (id, new) = self.domains[c.sets[set]].define(v);
                if new {
                    self.sets[set].set(id, here);
                }
            }
        }
        for &(key, attr, map) in &ck.feeds_maps {
            let (k, a) = (row.get(key), row.get(attr));
            if !k.is_empty() {
                let (key_domain, attr_domain) = c.maps[map];
                let id = self.domains[key_domain].define(k).0;
                let attr = Attr::new(self.domains[attr_domain].intern(a).0, a);
                self.maps[map].set(id, attr, here);
            }
        }
    }
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
    let mut pending = std::mem::take(&mut index.pending);
    pending.settle();
    // Every row of a group resolves the same way (but for ordered references, see
    // `Outcome::before`): one verdict per group, computed when its first row comes. Only
    // the verdict is kept (a delta upload has a group per missing user); the text of a
    // finding is made again for the rows the report lists.
    let mut verdicts = Verdicts::new(pending.groups.len());
    // Kept rows of each group that made a finding (kept rows are held in memory: fewer
    // than 2^32).
    let mut listed = vec![0u32; pending.groups.len()];
    let outcome = |g: &Group, text| outcome(c, index, g, paths, &mode_holds, text);
    for (ki, k) in pending.rows.iter().enumerate() {
        // Kept rows come in file order, their groups in any: start loading the group of a
        // row a few ahead (three loads from memory per row of a delta upload otherwise).
        if let Some(ahead) = pending.rows.get(ki + RESOLVE_AHEAD) {
            let ga = ahead.group as usize;
            if let (Some(g), Some(v), Some(l)) =
                (pending.groups.get(ga), verdicts.of.get(ga), listed.get(ga))
            {
                // 40 bytes: maybe two lines.
                crate::keys::prefetch_soon(&g.key);
                crate::keys::prefetch_soon(&g.more);
                crate::keys::prefetch_soon(v);
                crate::keys::prefetch_soon(l);
            }
        }
        let gi = k.group as usize;
        let g = &pending.groups[gi];
        let v = verdicts.get_or_insert_with(gi, || outcome(g, false).map(|o| o.verdict));
        let Some(v) = v.filter(|v| v.applies(k.row)) else {
            continue;
        };
        listed[gi] += 1;
        let sink = &mut *sinks[g.key.file as usize];
        if !sink.admit(v.code, v.severity, Some(k.row)) {
            continue;
        }
        let Some(o) = outcome(g, true) else {
            continue;
        };
        let mut message = o.message;
        if u64::from(listed[gi]) == g.kept() && g.more > 0 {
            // The rows past the kept ones are counted, not listed: say so where they'd be.
            message.push_str(&format!(
                " ({} more row(s) of this file with this value are counted, not listed)",
                g.more
            ));
        }
        sink.push(Finding {
            code: v.code.to_owned(),
            severity: v.severity,
            file: Some(paths[g.key.file as usize].clone()),
            row: Some(k.row),
            line: Some(pending.line(ki)),
            column: Some(o.column.to_owned()),
            column_number: (g.column_number > 0).then_some(g.column_number),
            value: Some(truncate_value(&o.value)),
            message,
            platform_message: match (pending.platform(ki), o.platform) {
                (Some(p), _) => Some(p.to_string()),
                (None, Some(t)) => Some(render(t, o.column, &o.value, None)),
                (None, None) => None,
            },
        });
    }
    // Rows past the kept ones: counted and, for errors, each row rejected; not listed.
    for (gi, g) in pending.groups.iter().enumerate() {
        let Some(v) = verdicts.get(gi) else {
            continue;
        };
        let sink = &mut *sinks[g.key.file as usize];
        if g.tracked() {
            for r in pending.extra_rows(g).filter(|&r| v.applies(r)) {
                let _ = sink.admit(v.code, v.severity, Some(r));
            }
        } else {
            debug_assert!(
                v.severity != Severity::Error || !index.row_verdicts,
                "untracked rows of an error"
            );
            sink.count_unlisted(v.code, v.severity, g.more);
        }
    }
    tablecheck::resolve(c, index, sinks, paths);
}

/// The verdict of each group, once known: 4 bytes per group, as most groups share a
/// handful of distinct verdicts.
struct Verdicts {
    /// Index in `distinct`, [`Verdicts::UNKNOWN`] or [`Verdicts::NONE`].
    of: Vec<u32>,
    distinct: Vec<Verdict>,
    ids: crate::keys::FixedMap<Verdict, u32>,
}

impl Verdicts {
    /// Not computed yet.
    const UNKNOWN: u32 = u32::MAX;
    /// The group makes no finding.
    const NONE: u32 = u32::MAX - 1;

    fn new(groups: usize) -> Verdicts {
        Verdicts {
            of: vec![Verdicts::UNKNOWN; groups],
            distinct: Vec::new(),
            ids: Default::default(),
        }
    }

    /// Group `g`'s verdict, computed by `f` the first time.
    fn get_or_insert_with(
        &mut self,
        g: usize,
        f: impl FnOnce() -> Option<Verdict>,
    ) -> Option<Verdict> {
        if self.of[g] == Verdicts::UNKNOWN {
            self.of[g] = match f() {
                None => Verdicts::NONE,
                Some(v) => *self.ids.entry(v).or_insert_with(|| {
                    self.distinct.push(v);
                    // Fewer distinct verdicts than groups, and groups fit in a u32.
                    (self.distinct.len() - 1) as u32
                }),
            };
        }
        self.get(g)
    }

    /// Group `g`'s verdict, if computed and a finding.
    fn get(&self, g: usize) -> Option<Verdict> {
        self.distinct.get(self.of[g] as usize).copied()
    }
}

/// What decides how a group's rows count: its finding's code and severity, and which rows
/// it applies to.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Verdict {
    code: &'static str,
    severity: Severity,
    /// Only rows before this one (an ordered reference defined later in the same file: the
    /// defining row does not satisfy itself).
    before: Option<u64>,
}

impl Verdict {
    fn applies(&self, row: u64) -> bool {
        self.before.is_none_or(|b| row < b)
    }
}

/// How a group of pending references resolves into a finding.
struct Outcome<'c> {
    verdict: Verdict,
    column: &'c str,
    value: String,
    message: String,
    /// The rule's platform message, when it is rendered here rather than with the row
    /// ([`platform_of`]).
    platform: Option<&'c str>,
}

/// Kept rows ahead of the one [`resolve`] is on whose groups it starts loading.
const RESOLVE_AHEAD: usize = 16;

/// The text of key `id` of `domain` when a finding's text is made; empty for a verdict
/// alone (reading the key of each of a delta upload's groups was a cache miss apiece).
fn key_text(domain: &Keys, id: Id, text: bool) -> KeyText<'_> {
    if text {
        domain.get(id)
    } else {
        KeyText::Arena("")
    }
}

/// The finding a group of pending references makes, if any. Without `text`, only its
/// verdict: its value and message are left empty (a delta upload has hundreds of thousands
/// of groups, and the report writes the text of a few hundred).
fn outcome<'c>(
    c: &'c Compiled,
    index: &Index,
    g: &Group,
    paths: &[String],
    mode_holds: &impl Fn(&Index, &CKind, &CRule) -> bool,
    text: bool,
) -> Option<Outcome<'c>> {
    let ck = &c.kinds[usize::from(g.key.kind)];
    let rule = &ck.rules[usize::from(g.key.rule)];
    if !mode_holds(index, ck, rule) {
        return None;
    }
    // The message, made only when asked for.
    let say = |f: &dyn Fn() -> String| if text { f() } else { String::new() };
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
            let value = key_text(&index.domains[c.sets[*set]], g.key.key, text);
            // The set has a row for a key exactly when the key is defined in its domain.
            let def = index.sets[*set].get(g.key.key);
            match def {
                Some(def) if *ordered && def.file == g.key.file => {
                    let message = say(&|| {
                        format!(
                            "{column} `{value}` is defined later (row {} of {}); the platform processes rows in order, so move it above this row",
                            def.row, paths[def.file as usize]
                        )
                    });
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
                    let message = say(&|| {
                        format!(
                            "{column} `{value}` is not defined in any {to} file of this bundle; it must already exist on the server"
                        )
                    });
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
            let value = key_text(&index.domains[key_domain], g.key.key, text);
            let (attr, def) = (m.attr(g.key.key)?, m.locs.get(g.key.key)?);
            // Both in the attribute's domain: the same text is the same id.
            if attr.id == g.key.other {
                return None;
            }
            let to = &c.target.kinds[*kind].name;
            let column = &ck.display[*col];
            let message = say(&|| {
                let attr = index.domains[attr_domain].get(attr.id);
                let mine = index.domains[attr_domain].get(g.key.other);
                format!(
                    "{column} `{value}` belongs to {} `{attr}` in {to} (row {} of {}), but this row says {} `{mine}`",
                    ck.display[*equals], def.row, paths[def.file as usize], ck.display[*equals]
                )
            });
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
            let value = key_text(&index.domains[key_domain], g.key.key, text);
            // Still not in the bundle: `Reference`'s business, not a type finding.
            let (attr, def) = (m.attr(g.key.key)?, m.locs.get(g.key.key)?);
            let attr = index.domains[attr_domain].get(attr.id);
            if values.iter().any(|v| *v == *attr) {
                return None;
            }
            let column = &ck.display[*col];
            let message = say(&|| {
                wrong_type_message(
                    column,
                    &value,
                    &c.target.kinds[*kind].name,
                    attribute,
                    &attr,
                    values,
                    (def.row, &paths[def.file as usize]),
                )
            });
            (rule.code, rule.severity, column, value, message, None)
        }
        _ => return None,
    };
    let message = match &rule.message {
        Some(t) if code == rule.code && text => render(t, column, &value, None),
        _ => message,
    };
    Some(Outcome {
        verdict: Verdict {
            code,
            severity,
            before,
        },
        column,
        value: if text {
            value.to_string()
        } else {
            String::new()
        },
        message,
        platform: rule.platform.as_deref().filter(|_| !rule.platform_by_row),
    })
}

/// A look-up to come, started early ([`Index::load_ahead`]): the hash of a key in a domain
/// of [`Index::domains`] or in a uniqueness table of its own.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Load {
    Domain(usize, u64),
    Table(usize, u64),
}
