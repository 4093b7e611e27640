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

use std::collections::HashMap;

use foldhash::fast::FixedState;

use crate::keys::{Id, Keys};

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
    /// For consistency checks: the row's value of the compared column, interned in
    /// [`Pendings::others`]; [`Id::MAX`] otherwise.
    pub other: Id,
}

/// One group of unresolved rows: 48 bytes, as a delta upload holds one per missing key.
#[derive(Debug)]
pub(crate) struct Group {
    pub key: GroupKey,
    /// 1-based header position of the column (the same for every row of a file).
    pub column_number: u32,
    /// Index of the group's further row numbers in [`Pendings::tracks`] (the outcome may be
    /// an error), or [`NOT_TRACKED`].
    track: u32,
    /// Rows kept in full: the first rows of the group.
    kept: u64,
    /// Rows after the kept ones.
    pub more: u64,
    /// Row of the last kept row, where the further rows' deltas start.
    base_row: u64,
}

/// [`Group::track`] of a group whose further rows are only counted.
const NOT_TRACKED: u32 = u32::MAX;

/// The further rows of a tracked group.
#[derive(Debug)]
struct Track {
    /// Row of the last row added.
    last_row: u64,
    /// Further rows as LEB128 deltas from the row before.
    extra: Vec<u8>,
}

impl Group {
    /// Rows kept in full.
    pub fn kept(&self) -> u64 {
        self.kept
    }

    /// Row of the last kept row.
    pub fn base_row(&self) -> u64 {
        self.base_row
    }

    /// Whether further rows' numbers were kept.
    pub fn tracked(&self) -> bool {
        self.track != NOT_TRACKED
    }
}

/// A row kept in full.
#[derive(Debug)]
pub(crate) struct Kept {
    /// Index of its group.
    pub group: u32,
    pub row: u64,
    pub line: u64,
    /// The rule's platform message rendered with this row, interned in
    /// [`Pendings::platforms`] (the rows of a group mostly render the same text); [`Id::MAX`]
    /// when the rule has none.
    platform: Id,
}

/// Unresolved references of a bundle, in groups.
#[derive(Debug, Default)]
pub(crate) struct Pendings {
    /// Groups of consistency checks (with a compared value).
    by_key: HashMap<GroupKey, u32, FixedState>,
    /// Per (kind, rule, file): rows kept in full and, for references, groups by key id.
    heads: Vec<Head>,
    /// See the module documentation; 0 until set.
    pub head: u64,
    pub groups: Vec<Group>,
    /// Kept rows, in arrival order.
    pub rows: Vec<Kept>,
    /// Further row numbers of tracked groups ([`Group::track`]).
    tracks: Vec<Track>,
    /// Interned compared values of consistency checks.
    pub others: Keys,
    /// Interned platform messages of kept rows: one copy per distinct text, not one
    /// allocation per row (a delta of enrollments keeps three rows per missing user).
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
    /// Group index by key id (dense in its domain: an array, not a hash look-up, per row),
    /// for groups without a compared value; `u32::MAX` when none.
    by_id: Vec<u32>,
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
        // Few heads (rules with references × files): a scan from the most recent one.
        let h = match self
            .heads
            .iter()
            .rposition(|h| (h.kind, h.rule, h.file) == (key.kind, key.rule, key.file))
        {
            Some(h) => h,
            None => {
                self.heads.push(Head {
                    kind: key.kind,
                    rule: key.rule,
                    file: key.file,
                    kept: 0,
                    by_id: Vec::new(),
                });
                self.heads.len() - 1
            }
        };
        let head = &mut self.heads[h];
        let g = if key.other == Id::MAX {
            let i = key.key as usize;
            if head.by_id.len() <= i {
                head.by_id.resize(i + 1, u32::MAX);
            }
            if head.by_id[i] == u32::MAX {
                head.by_id[i] = next;
            }
            head.by_id[i]
        } else {
            *self.by_key.entry(key).or_insert(next)
        };
        if g == next {
            let track = if track {
                self.tracks.push(Track {
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
                base_row: row,
            });
        }
        let group = &mut self.groups[g as usize];
        // The first rows of a rule and file come first in every group too: kept rows are
        // always the first rows of their group.
        let head = &mut self.heads[h].kept;
        let in_head = *head < self.head;
        if group.kept < ROWS_KEPT || (in_head && group.more == 0) {
            if in_head {
                *head += 1;
            }
            group.kept += 1;
            group.base_row = row;
            // Kept rows come before any further row: the deltas start here.
            if let Some(t) = self.tracks.get_mut(group.track as usize) {
                t.last_row = row;
            }
            let platform = platform().map_or(Id::MAX, |p| self.platforms.intern(&p).0);
            self.rows.push(Kept {
                group: g,
                row,
                line,
                platform,
            });
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

    /// Row numbers of `g`'s rows after the kept ones (empty unless tracked).
    pub fn extra_rows(&self, g: &Group) -> impl Iterator<Item = u64> + '_ {
        let extra = self
            .tracks
            .get(g.track as usize)
            .map_or(&[][..], |t| &t.extra[..]);
        let mut at = 0;
        let mut row = g.base_row;
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

    /// The platform message of a kept row, if its rule has one.
    pub fn platform(&self, k: &Kept) -> Option<&str> {
        (k.platform != Id::MAX).then(|| self.platforms.get(k.platform))
    }

    /// The id of a compared value.
    pub fn other(&mut self, v: &str) -> Id {
        self.others.intern(v).0
    }

    /// Heap bytes held (approximate for the hash map).
    pub fn heap_bytes(&self) -> usize {
        self.by_key.capacity() * (size_of::<GroupKey>() + size_of::<u32>() + 1)
            + self
                .heads
                .iter()
                .map(|h| size_of::<Head>() + h.by_id.capacity() * size_of::<u32>())
                .sum::<usize>()
            + self.groups.capacity() * size_of::<Group>()
            + self.tracks.capacity() * size_of::<Track>()
            + self
                .tracks
                .iter()
                .map(|t| t.extra.capacity())
                .sum::<usize>()
            + self.rows.capacity() * size_of::<Kept>()
            + self.platforms.heap_bytes()
            + self.others.heap_bytes()
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
        let g = &p.groups[0];
        assert_eq!((g.kept(), g.more, g.base_row()), (5, 5, 6));
        // Another file has its own head.
        let mut k = key(1);
        k.file = 1;
        for r in 2..4 {
            p.add(k, 3, r, r, false, || None);
        }
        assert_eq!(p.groups[1].kept(), 2);
    }
}
