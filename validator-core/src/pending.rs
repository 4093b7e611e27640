//! References not resolved when their row was read, grouped so that memory grows with the
//! number of distinct unresolved keys, never with rows: a delta upload of millions of
//! enrollments whose users are all on the server keeps one group per user.
//!
//! A group is one (kind, rule, file, key, compared value): every row in it has the same
//! outcome when the bundle is complete. Its first [`ROWS_KEPT`] rows are kept in full (they
//! become listed findings), and so is every row among the first `head` unresolved rows of
//! its rule and file (`head` = the report's cap per code and file, so a report listing no
//! more than that is the same as if every row were kept); the rest are counted, and the
//! last listed finding of a group says how many further rows it stands for. Where the
//! outcome may be an error, the further rows' numbers are kept too (delta-encoded, a byte
//! or two each), as the verdicts of `bundle --drop-invalid` need every rejected row.

use crate::keys::{FixedMap, Id, Keys};

/// Rows of a group kept in full, past the first `head` of its rule and file.
pub(crate) const ROWS_KEPT: u64 = 3;

/// What a group is: every row of a group resolves the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub kind: u16,
    pub rule: u16,
    pub file: u32,
    /// The referenced key, interned in the rule's key domain.
    pub key: Id,
    /// For consistency checks: the row's value of the compared column, by its id in the
    /// attribute's domain; [`Id::MAX`] otherwise.
    pub other: Id,
}

/// One group of unresolved rows: 40 bytes, as a delta upload holds one per missing key.
#[derive(Debug)]
pub(crate) struct Group {
    pub key: GroupKey,
    /// 1-based header position of the column (the same for every row of a file).
    pub column_number: u32,
    /// Index of the group's further row numbers in [`Pendings::tracks`] (the outcome may be
    /// an error), or [`NOT_TRACKED`].
    track: u32,
    /// Rows kept in full: the first rows of the group (held in memory: fewer than 2^32).
    kept: u32,
    /// Rows after the kept ones (with an untracked group's [`GroupRef`], once
    /// [`Pendings::settle`]d).
    pub more: u64,
}

/// [`Group::track`] of a group whose further rows are only counted.
const NOT_TRACKED: u32 = u32::MAX;

/// The further rows of a tracked group.
#[derive(Debug)]
struct Track {
    /// Row of the group's last kept row, where the further rows' deltas start.
    base_row: u64,
    /// Row of the last row added.
    last_row: u64,
    /// Further rows as LEB128 deltas from the row before.
    extra: Vec<u8>,
}

impl Group {
    /// Rows kept in full.
    pub fn kept(&self) -> u64 {
        u64::from(self.kept)
    }

    /// Whether further rows' numbers were kept.
    pub fn tracked(&self) -> bool {
        self.track != NOT_TRACKED
    }
}

/// A row kept in full: 16 bytes.
#[derive(Debug)]
pub(crate) struct Kept {
    /// Index of its group.
    pub group: u32,
    /// Its line less its row (nearly always small), or [`FAR`]: the line is in
    /// [`Pendings::far_lines`].
    line_after_row: u32,
    pub row: u64,
}

/// [`Kept::line_after_row`] of a line not within `u32::MAX - 1` after its row.
const FAR: u32 = u32::MAX;

/// Unresolved references of a bundle, in groups.
#[derive(Debug, Default)]
pub(crate) struct Pendings {
    /// Per (kind, rule, file): rows kept in full and, for references, groups by key id.
    heads: Vec<Head>,
    /// See the module documentation; 0 until set.
    pub head: u64,
    pub groups: Vec<Group>,
    /// Kept rows, in arrival order.
    pub rows: Vec<Kept>,
    /// Further row numbers of tracked groups ([`Group::track`]).
    tracks: Vec<Track>,
    /// Lines of kept rows (by index in `rows`) that [`Kept`] cannot hold.
    far_lines: FixedMap<u32, u64>,
    /// Platform messages rendered with their row (rules whose message names other cells),
    /// by index in `rows`, interned in `platforms`.
    platform_of: FixedMap<u32, Id>,
    /// Interned platform messages of kept rows: one copy per distinct text, not one
    /// allocation per row.
    platforms: Keys,
}

/// A rule's unresolved rows in one file.
#[derive(Debug)]
struct Head {
    kind: u16,
    rule: u16,
    file: u32,
    /// Rows kept in full whatever their group, at most [`Pendings::head`].
    kept: u64,
    /// Group by key id (dense in its domain: an array, not a hash look-up, per row), for
    /// groups without a compared value.
    by_id: Vec<GroupRef>,
    /// For consistency checks, by key id: the first compared value id seen with the key
    /// ([`Id::MAX`] for none yet) and its group. Nearly every key comes with one value (a
    /// section is in one course): an array, not a hash look-up, per row.
    by_first: Vec<(Id, GroupRef)>,
    /// For consistency checks, the groups of the other values: by key id (high half) and
    /// compared value id (low half).
    by_pair: FixedMap<u64, GroupRef>,
}

/// A group's index (in its [`Head`], by key id or by key and compared value) and,
/// for an untracked group, all that deciding a row's fate takes: such a row touches this
/// entry and nothing else. The groups of a delta upload (one per missing user, 40 bytes
/// each) are far apart in memory: reading the row's group was 41% of checking a 282 MB
/// `enrollments.csv` alone (`perf`, `preflight check --threads 1`).
#[derive(Clone, Copy, Debug)]
struct GroupRef {
    /// Index in [`Pendings::groups`], or `u32::MAX`.
    group: u32,
    /// Of an untracked group: while it keeps rows, how many it kept (at most
    /// `COUNTING - 1`: [`Group::kept`] is set from it by [`Pendings::settle`]); then
    /// [`COUNTING`] plus its further rows not yet in [`Group::more`], up to `u32::MAX`,
    /// past which the group counts them itself. 0 for a tracked group.
    state: u32,
}

/// [`GroupRef::state`] of a group that keeps no more rows, only counts them.
const COUNTING: u32 = 1 << 31;

impl GroupRef {
    const NONE: GroupRef = GroupRef {
        group: u32::MAX,
        state: 0,
    };
}

impl Pendings {
    /// Adds an unresolved reference of `row` (line `line`). `track`: the outcome may be an
    /// error, keep every row number. `platform` renders the platform message; it is called
    /// only for rows kept in full.
    pub fn add(
        &mut self,
        key: GroupKey,
        column_number: u32,
        row: u64,
        line: u64,
        track: bool,
        platform: impl FnOnce() -> Option<Box<str>>,
    ) {
        let next = self.groups.len() as u32;
        let h = match self.head_of(key.kind, key.rule, key.file) {
            Some(h) => h,
            None => {
                self.heads.push(Head {
                    kind: key.kind,
                    rule: key.rule,
                    file: key.file,
                    kept: 0,
                    by_id: Vec::new(),
                    by_first: Vec::new(),
                    by_pair: FixedMap::default(),
                });
                self.heads.len() - 1
            }
        };
        let head = &mut self.heads[h];
        let in_head = head.kept < self.head;
        let e = if key.other == Id::MAX {
            let i = key.key as usize;
            if head.by_id.len() <= i {
                head.by_id.resize(i + 1, GroupRef::NONE);
            }
            &mut head.by_id[i]
        } else {
            let i = key.key as usize;
            if head.by_first.len() <= i {
                head.by_first.resize(i + 1, (Id::MAX, GroupRef::NONE));
            }
            let (first, e) = &mut head.by_first[i];
            if *first == Id::MAX {
                *first = key.other;
            }
            if *first == key.other {
                e
            } else {
                let pair = (u64::from(key.key) << 32) | u64::from(key.other);
                head.by_pair.entry(pair).or_insert(GroupRef::NONE)
            }
        };
        let g = match e {
            // An untracked group: decided from its `GroupRef` alone.
            e if !track => {
                if e.state & COUNTING != 0 {
                    if e.state == u32::MAX {
                        self.groups[e.group as usize].more += 1;
                    } else {
                        e.state += 1;
                    }
                    return;
                }
                let new = e.group == u32::MAX;
                if new {
                    e.group = next;
                }
                let g = e.group;
                // Not counting yet: the group has no further rows.
                let kept = e.state;
                let keep = u64::from(kept) < ROWS_KEPT || in_head;
                e.state = if keep {
                    (kept + 1).min(COUNTING - 1)
                } else {
                    COUNTING | 1
                };
                if new {
                    self.groups.push(Group {
                        key,
                        column_number,
                        track: NOT_TRACKED,
                        kept: 0,
                        more: 0,
                    });
                }
                if keep {
                    if in_head {
                        head.kept += 1;
                    }
                    self.keep(g, row, line, platform);
                } else {
                    // Its first further row: from now on the group's rows are only counted.
                    self.groups[g as usize].kept = kept;
                }
                return;
            }
            e => {
                if e.group == u32::MAX {
                    e.group = next;
                }
                e.group
            }
        };
        if g == next {
            let track = if track {
                self.tracks.push(Track {
                    base_row: row,
                    last_row: row,
                    extra: Vec::new(),
                });
                u32::try_from(self.tracks.len() - 1).unwrap_or(NOT_TRACKED)
            } else {
                NOT_TRACKED
            };
            self.groups.push(Group {
                key,
                column_number,
                track,
                kept: 0,
                more: 0,
            });
        }
        let group = &mut self.groups[g as usize];
        // The first rows of a rule and file come first in every group too: kept rows are
        // always the first rows of their group.
        if group.kept() < ROWS_KEPT || (in_head && group.more == 0) {
            if in_head {
                self.heads[h].kept += 1;
            }
            group.kept += 1;
            // Kept rows come before any further row: the deltas start here.
            if let Some(t) = self.tracks.get_mut(group.track as usize) {
                t.base_row = row;
                t.last_row = row;
            }
            self.keep(g, row, line, platform);
            return;
        }
        group.more += 1;
        if let Some(t) = self.tracks.get_mut(group.track as usize) {
            // Rows of a group come in file order: deltas are small and never negative.
            let mut d = row.wrapping_sub(t.last_row);
            loop {
                let b = (d & 0x7F) as u8;
                d >>= 7;
                if d == 0 {
                    t.extra.push(b);
                    break;
                }
                t.extra.push(b | 0x80);
            }
            t.last_row = row;
        }
    }

    /// Starts loading the [`GroupRef`] of key `id` for rule `rule` of kind `kind` in `file`
    /// (a reference, or the first one of a consistency check), if it has one, without
    /// waiting for it.
    #[inline]
    pub fn prefetch(&self, kind: usize, rule: usize, file: u32, id: Id) {
        let Some(h) = self.head_of(kind as u16, rule as u16, file) else {
            return;
        };
        // A rule's groups are all by id or all by first compared value.
        let head = &self.heads[h];
        if let Some(e) = head.by_id.get(id as usize) {
            crate::keys::prefetch_soon(e);
        } else if let Some(e) = head.by_first.get(id as usize) {
            crate::keys::prefetch_soon(e);
        }
    }

    /// The head of rule `rule` of kind `kind` in `file`, if it has one.
    #[inline]
    fn head_of(&self, kind: u16, rule: u16, file: u32) -> Option<usize> {
        // Few heads (rules with references × files): a scan from the most recent one.
        self.heads
            .iter()
            .rposition(|h| (h.kind, h.rule, h.file) == (kind, rule, file))
    }

    /// Keeps `row` of group `g` in full.
    fn keep(&mut self, g: u32, row: u64, line: u64, platform: impl FnOnce() -> Option<Box<str>>) {
        // Kept rows are held in memory: fewer than 2^32.
        let at = self.rows.len() as u32;
        if let Some(p) = platform() {
            let id = self.platforms.intern(&p).0;
            self.platform_of.insert(at, id);
        }
        let line_after_row = match line.checked_sub(row).map(u32::try_from) {
            Some(Ok(d)) if d != FAR => d,
            _ => {
                self.far_lines.insert(at, line);
                FAR
            }
        };
        self.rows.push(Kept {
            group: g,
            line_after_row,
            row,
        });
    }

    /// Brings what untracked groups keep in their [`GroupRef`] into their [`Group`] (`kept`,
    /// `more`): call before reading those. Adding rows afterwards goes on from there.
    pub fn settle(&mut self) {
        let refs = self.heads.iter_mut().flat_map(|h| {
            (h.by_id.iter_mut())
                .chain(h.by_first.iter_mut().map(|(_, e)| e))
                .chain(h.by_pair.values_mut())
        });
        for e in refs {
            let Some(g) = self.groups.get_mut(e.group as usize) else {
                continue;
            };
            if e.state & COUNTING != 0 {
                g.more += u64::from(e.state & !COUNTING);
                e.state = COUNTING;
            } else if !g.tracked() {
                g.kept = e.state;
            }
        }
    }

    /// Row numbers of `g`'s rows after the kept ones (empty unless tracked).
    pub fn extra_rows(&self, g: &Group) -> impl Iterator<Item = u64> + '_ {
        let (extra, mut row) = self
            .tracks
            .get(g.track as usize)
            .map_or((&[][..], 0), |t| (&t.extra[..], t.base_row));
        let mut at = 0;
        std::iter::from_fn(move || {
            let mut delta = 0u64;
            let mut shift = 0;
            loop {
                let b = *extra.get(at)?;
                at += 1;
                delta |= u64::from(b & 0x7F) << shift;
                shift += 7;
                if b & 0x80 == 0 || shift >= 64 {
                    break;
                }
            }
            row = row.wrapping_add(delta);
            Some(row)
        })
    }

    /// The platform message rendered with kept row `i` (of [`Pendings::rows`]), if any.
    pub fn platform(&self, i: usize) -> Option<crate::keys::KeyText<'_>> {
        let id = self.platform_of.get(&u32::try_from(i).ok()?)?;
        Some(self.platforms.get(*id))
    }

    /// The line of kept row `i` (of [`Pendings::rows`]).
    pub fn line(&self, i: usize) -> u64 {
        let k = &self.rows[i];
        match k.line_after_row {
            FAR => u32::try_from(i)
                .ok()
                .and_then(|i| self.far_lines.get(&i).copied())
                .unwrap_or(k.row),
            d => k.row + u64::from(d),
        }
    }

    /// Heap bytes held (approximate for the hash map).
    pub fn heap_bytes(&self) -> usize {
        self
            .heads
            .iter()
            .map(|h| {
                size_of::<Head>()
                    + h.by_id.capacity() * size_of::<GroupRef>()
                    + h.by_first.capacity() * size_of::<(Id, GroupRef)>()
                    // Hash map entries: key, value, control byte.
                    + h.by_pair.capacity() * (size_of::<u64>() + size_of::<GroupRef>() + 1)
            })
            .sum::<usize>()
            + self.groups.capacity() * size_of::<Group>()
            + self.tracks.capacity() * size_of::<Track>()
            + self
                .tracks
                .iter()
                .map(|t| t.extra.capacity())
                .sum::<usize>()
            + self.rows.capacity() * size_of::<Kept>()
            // Hash map entries: key, value, control byte.
            + self.far_lines.capacity() * (size_of::<u32>() + size_of::<u64>() + 1)
            + self.platform_of.capacity() * (size_of::<u32>() + size_of::<Id>() + 1)
            + self.platforms.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: Id) -> GroupKey {
        GroupKey {
            kind: 0,
            rule: 0,
            file: 0,
            key: k,
            other: Id::MAX,
        }
    }

    #[test]
    fn groups_keep_first_rows_and_count_the_rest() {
        let mut p = Pendings::default();
        let rows = [2u64, 5, 9, 10, 300, 70_000, 70_000, 9_000_000_000];
        for &r in &rows {
            p.add(key(7), 3, r, r + 1, true, || Some("p".into()));
            p.add(key(8), 3, r, r + 1, false, || None);
        }
        assert_eq!(p.groups.len(), 2);
        assert_eq!(p.rows.len(), 2 * ROWS_KEPT as usize);
        let kept: Vec<u64> = p
            .rows
            .iter()
            .filter(|k| k.group == 0)
            .map(|k| k.row)
            .collect();
        assert_eq!(kept, [2, 5, 9]);
        assert_eq!(p.line(0), 3);
        assert_eq!(p.platform(0).as_deref(), Some("p"));
        assert!(p.platform(1).is_none());
        // Lines before their row or far after it are kept beside the row.
        let far = 3 + (1u64 << 33);
        p.add(key(9), 3, 10, 5, false, || None);
        p.add(key(9), 3, 11, far, false, || None);
        let n = p.rows.len();
        assert_eq!((p.line(n - 2), p.line(n - 1)), (5, far));
        p.settle();
        let g = &p.groups[0];
        assert_eq!(g.more, 5);
        assert!(g.tracked());
        assert_eq!(p.extra_rows(g).collect::<Vec<_>>(), rows[3..]);
        let h = &p.groups[1];
        assert_eq!(h.more, 5);
        assert_eq!(p.extra_rows(h).count(), 0);
    }

    #[test]
    fn the_first_rows_of_a_rule_are_all_kept() {
        let mut p = Pendings {
            head: 5,
            ..Pendings::default()
        };
        for r in 2..12 {
            p.add(key(1), 3, r, r, false, || None);
        }
        p.settle();
        let g = &p.groups[0];
        assert_eq!((g.kept(), g.more), (5, 5));
        // Another file has its own head.
        let mut k = key(1);
        k.file = 1;
        for r in 2..4 {
            p.add(k, 3, r, r, false, || None);
        }
        p.settle();
        assert_eq!(p.groups[1].kept(), 2);
    }

    /// A consistency check's groups are one per (key, compared value), whether the value is
    /// the first one its key came with (an array) or another one (a map), and each counts
    /// its own rows.
    #[test]
    fn pairs_group_by_key_and_compared_value() {
        let mut p = Pendings::default();
        let pair = |k: Id, other: Id| GroupKey { other, ..key(k) };
        // Key 7 with values 1, 2, 1, 3, 2; key 8 with 2; key 7 with 1 again.
        let rows = [(7, 1), (7, 2), (7, 1), (7, 3), (7, 2), (8, 2), (7, 1)];
        for (r, &(k, o)) in rows.iter().enumerate() {
            p.add(pair(k, o), 3, r as u64 + 2, r as u64 + 2, false, || None);
        }
        p.settle();
        let groups: Vec<(Id, Id, u64)> = (p.groups.iter())
            .map(|g| (g.key.key, g.key.other, g.kept() + g.more))
            .collect();
        assert_eq!(groups, [(7, 1, 3), (7, 2, 2), (7, 3, 1), (8, 2, 1)]);
    }

    #[test]
    fn rows_counted_apart_add_up_and_keep_the_kept_rows_first() {
        let mut p = Pendings {
            head: 4,
            ..Pendings::default()
        };
        // Group 0 takes the head's 4 rows; groups 1 and 2 then keep 3 each, count the rest.
        let mut r = 2;
        for k in [0, 0, 0, 0, 0, 1, 2, 1, 1, 1, 1, 2, 2, 2, 0, 2] {
            p.add(key(k), 3, r, r, false, || None);
            r += 1;
        }
        // Settling between rows changes nothing: later rows are counted on top.
        p.settle();
        for k in [0, 1, 2] {
            p.add(key(k), 3, r, r, false, || None);
            r += 1;
        }
        p.settle();
        let counts: Vec<(u64, u64)> = p.groups.iter().map(|g| (g.kept(), g.more)).collect();
        assert_eq!(counts, [(4, 3), (3, 3), (3, 3)]);
        // A count apart that reaches its limit goes on in the group.
        p.heads[0].by_id[1].state = u32::MAX - 1;
        for _ in 0..3 {
            p.add(key(1), 3, r, r, false, || None);
            r += 1;
        }
        assert_eq!(p.heads[0].by_id[1].state, u32::MAX);
        p.settle();
        assert_eq!(p.groups[1].more, 3 + u64::from(!COUNTING) + 2);
        // No row was kept past the first ones of each group.
        assert_eq!(p.rows.len(), 10);
    }
}
