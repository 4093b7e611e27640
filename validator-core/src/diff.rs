//! What an upload changes: two bundles compared row by row, per kind, with the platform's
//! own row identity ([`Kind::identity`](crate::schema::Kind::identity)).
//!
//! Both bundles are read exactly as [`Session`] reads them (decoding, dialect, header
//! detection, the target's cell converter; the new bundle's rules too), and every data row
//! also goes to the diff.
//! The old bundle is held as two 64-bit fingerprints a row (identity and content), sorted,
//! so memory grows with its rows at 16 bytes each and never with cell text; the new bundle
//! streams past it. Old values are only needed for the changes that are shown, so a host
//! pushes the old bundle a second time when [`Diff::end_side`] asks for it.
//!
//! ```
//! use validator_core::diff::{Diff, DiffOptions, Side};
//! use validator_core::targets;
//! let mut d = Diff::new(targets::canvas(), DiffOptions::default()).unwrap();
//! d.push("users.csv", b"user_id,login_id,status\nU1,a,active\nU2,b,active\n").unwrap();
//! assert_eq!(d.end_side(), Side::New);
//! d.push("users.csv", b"login_id,user_id,status\nb,U2,active\nc,U3,active\n").unwrap();
//! assert_eq!(d.end_side(), Side::OldAgain); // U1's old values are wanted
//! d.push("users.csv", b"user_id,login_id,status\nU1,a,active\nU2,b,active\n").unwrap();
//! assert_eq!(d.end_side(), Side::Done);
//! let r = d.finish();
//! let k = &r.kinds[0];
//! assert_eq!((k.added, k.removed, k.changed, k.unchanged), (1, 1, 0, 1));
//! ```
//!
//! Rows compare by value after the platform's normalisation: the target's converter (Canvas
//! strips), case folding where the platform ignores case, a blank cell equal to an absent
//! column, and column order irrelevant. A row whose identity columns are all blank (Sunbird
//! creates such users) is identified by its whole content. Fingerprints are 64-bit: two
//! different rows collide with a probability near n²/2⁶⁵ (10⁻⁶ for 10 M rows).

use crate::keys::{FixedMap, FixedSet};
use std::hash::{BuildHasher, Hasher};

use serde::Serialize;

use crate::schema::Target;
use crate::{Error, Finding, Options, Session, Severity};

/// Version of the diff JSON contract.
pub const DIFF_VERSION: u32 = 1;

/// Low bits of a content fingerprint that carry flags instead.
const SEEN: u64 = 1;
const IN_SCOPE: u64 = 2;
const FLAGS: u64 = SEEN | IN_SCOPE;

/// Which bundle the host is pushing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The bundle the platform has (the last accepted upload).
    Old,
    /// The bundle about to be sent.
    New,
    /// The old bundle again: the values of the changes shown are read from it.
    OldAgain,
    /// Nothing more to push: call [`Diff::finish`].
    Done,
}

/// How a diff runs.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Changes listed per kind (the counts stay exact).
    pub max_changes: usize,
    /// Names of the two bundles, as the report shows them.
    pub old_name: String,
    /// See `old_name`.
    pub new_name: String,
    /// Limits of the sessions that read both bundles.
    pub session: Options,
    /// Rows of the old bundle to count as "in scope" (Canvas's batch-mode term).
    pub scope: Option<Scope>,
}

impl Default for DiffOptions {
    fn default() -> DiffOptions {
        DiffOptions {
            max_changes: 100,
            old_name: "old".into(),
            new_name: "new".into(),
            session: Options::default(),
            scope: None,
        }
    }
}

/// A set of old rows whose removal the platform treats specially: rows of `root.0` whose
/// column `root.1` equals `value`, and rows of other kinds that point at such rows (Canvas's
/// batch mode deletes the courses of one term, their sections and their enrollments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The value that selects root rows (a term id).
    pub value: String,
    /// (kind, column) of the root rows.
    pub root: (String, String),
    /// (kind, column, parent kind): a row is in scope when its column holds the identity
    /// of an in-scope row of the parent kind (read before it, in processing order).
    pub links: Vec<(String, String, String)>,
}

/// Counts per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    /// Kind name.
    pub kind: String,
    /// Rows only in the new bundle.
    pub added: u64,
    /// Rows only in the old bundle.
    pub removed: u64,
    /// Rows whose identity is in both with different values.
    pub changed: u64,
    /// Rows identical in both.
    pub unchanged: u64,
}

/// What happened to one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the new bundle.
    Added,
    /// Only in the old bundle.
    Removed,
    /// In both, with different values.
    Changed,
}

/// Column → value, in the kind's column order (blank values left out of `old`/`new`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(pub Vec<(String, String)>);

impl Values {
    /// The value of `column`, blank if absent.
    pub fn get(&self, column: &str) -> &str {
        self.0
            .iter()
            .find(|(c, _)| c == column)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One listed change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Kind name.
    pub kind: String,
    /// Added, removed or changed.
    pub change: ChangeKind,
    /// The identity columns and their values (every non-blank column when the kind, or
    /// the row, has no identity).
    pub key: Values,
    /// Columns whose values differ (changed rows only).
    pub columns: Vec<String>,
    /// The row in the old bundle (empty for an added row).
    pub old: Values,
    /// The row in the new bundle (empty for a removed row).
    pub new: Values,
}

/// Old rows in a [`Scope`], per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScopeCounts {
    /// Kind name.
    pub kind: String,
    /// Rows of the old bundle in scope.
    pub in_scope: u64,
    /// Of those, rows the new bundle does not have.
    pub removed: u64,
}

/// The result: the JSON contract of `preflight diff --format json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    /// [`DIFF_VERSION`].
    pub version: u32,
    /// Target name.
    pub target: String,
    /// Name of the old bundle.
    pub old: String,
    /// Name of the new bundle.
    pub new: String,
    /// Kinds present in either bundle, in processing order.
    pub kinds: Vec<KindCounts>,
    /// Changes, per kind in processing order: removed, changed, then added, at most
    /// `max_changes` per kind.
    pub changes: Vec<Change>,
    /// With a [`Scope`]: the old rows in it and how many the new bundle drops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<ScopeCounts>>,
    /// The errors `check` finds in the new bundle (its name is prefixed to `file`): rows a
    /// platform skips are compared all the same. Not part of the JSON contract.
    #[serde(skip)]
    pub problems: Vec<Finding>,
}

impl DiffReport {
    /// The counts of `kind`, if either bundle has it.
    pub fn counts(&self, kind: &str) -> Option<&KindCounts> {
        self.kinds.iter().find(|k| k.kind == kind)
    }
}

/// Compares two bundles. See the [module](self) docs for the protocol.
#[derive(Debug)]
pub struct Diff {
    target: Target,
    options: DiffOptions,
    side: Side,
    session: Session,
    problems: Vec<Finding>,
}

impl Diff {
    /// Starts a diff; the host pushes the old bundle first.
    pub fn new(target: Target, options: DiffOptions) -> Result<Diff, Error> {
        let tap = Tap::new(&target, &options)?;
        let mut session = Session::with_options(target.clone(), options.session.clone())?;
        session.set_tap(Box::new(tap));
        Ok(Diff {
            target,
            options,
            side: Side::Old,
            session,
            problems: Vec::new(),
        })
    }

    /// The bundle being pushed.
    pub fn side(&self) -> Side {
        self.side
    }

    /// Feeds a chunk of a file of the current side's bundle.
    pub fn push(&mut self, path: &str, chunk: &[u8]) -> Result<(), Error> {
        self.session.push(path, chunk).map(|_| ())
    }

    /// Whether the file at `path` still needs bytes (see [`Session::wants`]).
    pub fn wants(&self, path: &str) -> bool {
        self.side != Side::Done && self.session.wants(path)
    }

    /// Ends a file of the current side.
    pub fn finish_file(&mut self, path: &str) -> Result<(), Error> {
        self.session.finish_file(path)
    }

    /// Ends the current side and says which comes next: `New` after `Old`; after `New`,
    /// `OldAgain` if changes are listed whose old values are not known yet, else `Done`.
    pub fn end_side(&mut self) -> Side {
        if self.side == Side::Done {
            return Side::Done;
        }
        let fresh = match Session::with_options(self.target.clone(), self.options.session.clone()) {
            Ok(s) => s,
            // The same target was accepted by `new`.
            Err(_) => return self.side,
        };
        let mut ended = std::mem::replace(&mut self.session, fresh);
        ended.finish_open_files();
        let mut tap = ended.take_tap().expect("the diff session holds its tap");
        let label = match self.side {
            Side::New => &self.options.new_name,
            _ => &self.options.old_name,
        };
        if self.side == Side::New {
            for mut f in ended.finish().findings_all() {
                if f.severity == Severity::Error {
                    f.file = Some(format!("{label}: {}", f.file.as_deref().unwrap_or("")));
                    self.problems.push(f);
                }
            }
        }
        self.side = tap.end_side(self.side);
        self.session.set_tap(tap);
        self.side
    }

    /// The report. Sides not ended are ended first.
    pub fn finish(mut self) -> DiffReport {
        while self.side != Side::Done {
            let before = self.side;
            if self.end_side() == before {
                break;
            }
        }
        let tap = self
            .session
            .take_tap()
            .expect("the diff session holds its tap");
        let (kinds, changes, scope) = tap.report(self.options.max_changes);
        DiffReport {
            version: DIFF_VERSION,
            target: self.target.name.clone(),
            old: self.options.old_name,
            new: self.options.new_name,
            kinds,
            changes,
            scope,
            problems: self.problems,
        }
    }
}

impl crate::Report {
    /// Every finding: the bundle's and each file's.
    fn findings_all(self) -> Vec<Finding> {
        let mut all = self.findings;
        for f in self.files {
            all.extend(f.findings);
        }
        all
    }
}

/// How a kind's old rows are looked up: sorted (identity, content|flags) pairs and a
/// directory of where each run of top bits starts.
#[derive(Debug, Default)]
struct OldRows {
    rows: Vec<(u64, u64)>,
    dir: Vec<u32>,
    shift: u32,
}

impl OldRows {
    fn seal(&mut self) {
        self.rows.sort_unstable_by_key(|&(k, c)| (k, c & !FLAGS));
        self.rows.shrink_to_fit();
        // About two rows per directory slot.
        let bits = (usize::BITS - (self.rows.len() / 2).leading_zeros()).clamp(1, 30);
        self.shift = 64 - bits;
        let mut dir = vec![0u32; (1usize << bits) + 1];
        for &(k, _) in &self.rows {
            dir[(k >> self.shift) as usize + 1] += 1;
        }
        for i in 1..dir.len() {
            dir[i] += dir[i - 1];
        }
        self.dir = dir;
    }

    /// The index range of rows with identity `key`.
    fn range(&self, key: u64) -> std::ops::Range<usize> {
        if self.dir.is_empty() {
            return 0..0;
        }
        let b = (key >> self.shift) as usize;
        let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        let slot = &self.rows[lo..hi];
        let start = lo + slot.partition_point(|&(k, _)| k < key);
        let end = lo + slot.partition_point(|&(k, _)| k <= key);
        start..end
    }
}

/// A change listed while the new bundle streams.
#[derive(Debug)]
struct Listed {
    change: Change,
    /// The old values are still to be read (changed rows).
    wants_old: bool,
}

#[derive(Debug, Default)]
struct KindDiff {
    /// The target's identity and case-insensitive column names.
    identity_names: Vec<String>,
    folded_names: Vec<String>,
    /// Set on the kind's first row: its columns, the identity's indices, folding per column.
    columns: Vec<String>,
    identity: Vec<usize>,
    folded: Vec<bool>,
    in_old: bool,
    in_new: bool,
    old: OldRows,
    counts: KindCounts,
    added: Vec<Listed>,
    changed: Vec<Listed>,
    removed: Vec<Change>,
    /// Identity → index in `changed`, for the old pass.
    want: FixedMap<u64, usize>,
    /// Scope: the column compared with the scope's value (root kind), the (column, parent
    /// kind) links, and the fingerprints of this kind's in-scope ids.
    scope_column: Option<(String, Option<usize>)>,
    scope_links: Vec<(String, Option<usize>, usize)>,
    scoped_ids: FixedSet<u64>,
    scope: Option<ScopeCounts>,
}

impl KindDiff {
    fn setup(&mut self, display: &[String]) {
        let find = |name: &str| {
            display
                .iter()
                .position(|c| c == name)
                .or_else(|| display.iter().position(|c| c.eq_ignore_ascii_case(name)))
        };
        self.columns = display.to_vec();
        self.identity = self.identity_names.iter().filter_map(|n| find(n)).collect();
        self.folded = display
            .iter()
            .map(|c| self.folded_names.iter().any(|f| f.eq_ignore_ascii_case(c)))
            .collect();
        if let Some((name, at)) = &mut self.scope_column {
            *at = find(name);
        }
        for (name, at, _) in &mut self.scope_links {
            *at = find(name);
        }
    }
}

/// The diff's side of a [`Session`]: fingerprints rows as they are read.
#[derive(Debug)]
pub(crate) struct Tap {
    side: Side,
    hasher: foldhash::quality::FixedState,
    kinds: Vec<KindDiff>,
    max_changes: usize,
    scope_value: Option<String>,
}

impl Tap {
    fn new(target: &Target, options: &DiffOptions) -> Result<Tap, Error> {
        let mut kinds: Vec<KindDiff> = target
            .kinds
            .iter()
            .map(|k| KindDiff {
                identity_names: k.identity.clone(),
                folded_names: k.case_insensitive.clone(),
                counts: KindCounts {
                    kind: k.name.clone(),
                    ..KindCounts::default()
                },
                ..KindDiff::default()
            })
            .collect();
        if let Some(s) = &options.scope {
            let find = |name: &str| {
                target
                    .kinds
                    .iter()
                    .position(|k| k.name == name)
                    .ok_or_else(|| Error::InvalidTarget {
                        target: target.name.clone(),
                        msg: format!("diff scope: no kind `{name}`"),
                    })
            };
            let counts = |k: usize| ScopeCounts {
                kind: target.kinds[k].name.clone(),
                ..ScopeCounts::default()
            };
            let root = find(&s.root.0)?;
            kinds[root].scope_column = Some((s.root.1.clone(), None));
            kinds[root].scope = Some(counts(root));
            for (kind, column, parent) in &s.links {
                let (k, p) = (find(kind)?, find(parent)?);
                kinds[k].scope_links.push((column.clone(), None, p));
                kinds[k].scope = Some(counts(k));
            }
        }
        Ok(Tap {
            side: Side::Old,
            hasher: foldhash::quality::FixedState::with_seed(0x5052_4546_4c49_4748),
            kinds,
            max_changes: options.max_changes,
            scope_value: options.scope.as_ref().map(|s| s.value.clone()),
        })
    }

    /// Whether the rules run too: on the new bundle (the one to be sent), so that its
    /// problems are said and bundle-level checks (a manifest's modes) see every row; the
    /// old bundle was accepted already, and is only read for its rows.
    pub(crate) fn runs_rules(&self) -> bool {
        self.side == Side::New
    }

    fn hash_str(&self, v: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(v.as_bytes());
        h.finish()
    }

    /// One data row of `kind`: its cell per kind column.
    pub(crate) fn row(&mut self, kind: usize, display: &[String], cells: &[Option<&str>]) {
        let Some(kd) = self.kinds.get_mut(kind) else {
            return;
        };
        if kd.columns.len() != display.len() {
            kd.setup(display);
        }
        let cell = |i: usize| -> &str { cells.get(i).copied().flatten().unwrap_or("") };
        let mut h = self.hasher.build_hasher();
        for i in 0..kd.columns.len() {
            write_cell(&mut h, cell(i), kd.folded[i]);
        }
        let content = h.finish() & !FLAGS;
        let key = if kd.identity.iter().any(|&i| !cell(i).is_empty()) {
            let mut h = self.hasher.build_hasher();
            h.write_u8(1);
            for &i in &kd.identity {
                write_cell(&mut h, cell(i), kd.folded[i]);
            }
            h.finish()
        } else {
            let mut h = self.hasher.build_hasher();
            h.write_u8(2);
            h.write_u64(content);
            h.finish()
        };
        match self.side {
            Side::Old => self.old_row(kind, key, content, &cell),
            Side::New => self.new_row(kind, key, content, &cell),
            Side::OldAgain => self.old_again_row(kind, key, content, &cell),
            Side::Done => {}
        }
    }

    fn old_row(&mut self, kind: usize, key: u64, content: u64, cell: &Cells<'_>) {
        let mut flags = 0;
        if let Some(value) = &self.scope_value {
            let kd = &self.kinds[kind];
            let root = kd
                .scope_column
                .as_ref()
                .and_then(|(_, at)| *at)
                .is_some_and(|at| cell(at) == value);
            let linked = kd.scope_links.iter().any(|(_, at, parent)| {
                at.is_some_and(|at| {
                    let v = cell(at);
                    !v.is_empty() && self.kinds[*parent].scoped_ids.contains(&self.hash_str(v))
                })
            });
            if root || linked {
                flags = IN_SCOPE;
                let id = kd.identity.first().map(|&i| self.hash_str(cell(i)));
                let kd = &mut self.kinds[kind];
                if let Some(id) = id {
                    kd.scoped_ids.insert(id);
                }
                if let Some(s) = &mut kd.scope {
                    s.in_scope += 1;
                }
            }
        }
        let kd = &mut self.kinds[kind];
        kd.in_old = true;
        kd.old.rows.push((key, content | flags));
    }

    fn new_row(&mut self, kind: usize, key: u64, content: u64, cell: &Cells<'_>) {
        let max = self.max_changes;
        let kd = &mut self.kinds[kind];
        kd.in_new = true;
        let range = kd.old.range(key);
        let rows = &mut kd.old.rows[range];
        if let Some(r) = rows
            .iter_mut()
            .find(|(_, c)| c & SEEN == 0 && c & !FLAGS == content)
        {
            r.1 |= SEEN;
            kd.counts.unchanged += 1;
        } else if let Some(r) = rows.iter_mut().find(|(_, c)| c & SEEN == 0) {
            r.1 |= SEEN;
            kd.counts.changed += 1;
            if kd.changed.len() < max && !kd.want.contains_key(&key) {
                kd.want.insert(key, kd.changed.len());
                let change = listed(kd, ChangeKind::Changed, cell);
                kd.changed.push(Listed {
                    change,
                    wants_old: true,
                });
            }
        } else {
            kd.counts.added += 1;
            if kd.added.len() < max {
                let change = listed(kd, ChangeKind::Added, cell);
                kd.added.push(Listed {
                    change,
                    wants_old: false,
                });
            }
        }
    }

    fn old_again_row(&mut self, kind: usize, key: u64, content: u64, cell: &Cells<'_>) {
        let max = self.max_changes;
        let kd = &mut self.kinds[kind];
        if let Some(&i) = kd.want.get(&key)
            && kd.changed[i].wants_old
        {
            let old = values(kd, cell);
            let l = &mut kd.changed[i];
            l.change.columns = kd
                .columns
                .iter()
                .zip(&kd.folded)
                .filter(|(c, folded)| {
                    let (a, b) = (old.get(c), l.change.new.get(c));
                    if **folded {
                        a.to_lowercase() != b.to_lowercase()
                    } else {
                        a != b
                    }
                })
                .map(|(c, _)| c.clone())
                .collect();
            l.change.old = old;
            l.wants_old = false;
            return;
        }
        if kd.removed.len() < max && kd.counts.removed > kd.removed.len() as u64 {
            let range = kd.old.range(key);
            if let Some(r) = kd.old.rows[range]
                .iter_mut()
                .find(|(_, c)| c & SEEN == 0 && c & !FLAGS == content)
            {
                // Listed once, even when the old bundle has the same row twice.
                r.1 |= SEEN;
                let mut change = listed(kd, ChangeKind::Removed, cell);
                change.old = std::mem::take(&mut change.new);
                kd.removed.push(change);
            }
        }
    }

    /// Ends a side; returns the next.
    fn end_side(&mut self, side: Side) -> Side {
        self.side = match side {
            Side::Old => {
                for kd in &mut self.kinds {
                    kd.old.seal();
                }
                Side::New
            }
            Side::New => {
                let mut again = false;
                for kd in &mut self.kinds {
                    for &(_, c) in &kd.old.rows {
                        if c & SEEN == 0 {
                            kd.counts.removed += 1;
                            if c & IN_SCOPE != 0
                                && let Some(s) = &mut kd.scope
                            {
                                s.removed += 1;
                            }
                        }
                    }
                    again |= kd.counts.removed > 0 || !kd.changed.is_empty();
                }
                if again { Side::OldAgain } else { Side::Done }
            }
            Side::OldAgain | Side::Done => Side::Done,
        };
        self.side
    }

    fn report(self, max: usize) -> (Vec<KindCounts>, Vec<Change>, Option<Vec<ScopeCounts>>) {
        let mut kinds = Vec::new();
        let mut changes = Vec::new();
        let mut scope = self.scope_value.as_ref().map(|_| Vec::new());
        for kd in self.kinds {
            if let (Some(all), Some(s)) = (&mut scope, kd.scope) {
                all.push(s);
            }
            if !(kd.in_old || kd.in_new) {
                continue;
            }
            let listed = kd
                .removed
                .into_iter()
                .chain(kd.changed.into_iter().map(|l| l.change))
                .chain(kd.added.into_iter().map(|l| l.change))
                .take(max);
            changes.extend(listed);
            kinds.push(kd.counts);
        }
        (kinds, changes, scope)
    }
}

/// A row's cells by kind column (blank when absent).
type Cells<'t> = dyn Fn(usize) -> &'t str + 't;

/// Hashes one cell, length-prefixed so that cells cannot run into each other.
fn write_cell(h: &mut impl Hasher, v: &str, folded: bool) {
    if folded && v.chars().any(char::is_uppercase) {
        let lower = v.to_lowercase();
        h.write_usize(lower.len());
        h.write(lower.as_bytes());
    } else {
        h.write_usize(v.len());
        h.write(v.as_bytes());
    }
}

/// The non-blank cells of a row, in column order.
fn values(kd: &KindDiff, cell: &Cells<'_>) -> Values {
    Values(
        kd.columns
            .iter()
            .enumerate()
            .filter(|&(i, _)| !cell(i).is_empty())
            .map(|(i, c)| (c.clone(), cell(i).to_owned()))
            .collect(),
    )
}

/// A listed change with the row's values as `new` and its identity as `key`.
fn listed(kd: &KindDiff, change: ChangeKind, cell: &Cells<'_>) -> Change {
    let new = values(kd, cell);
    let key = if kd.identity.iter().any(|&i| !cell(i).is_empty()) {
        Values(
            kd.identity
                .iter()
                .map(|&i| (kd.columns[i].clone(), cell(i).to_owned()))
                .collect(),
        )
    } else {
        new.clone()
    };
    Change {
        kind: kd.counts.kind.clone(),
        change,
        key,
        columns: Vec::new(),
        old: Values::default(),
        new,
    }
}
