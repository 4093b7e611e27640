//! Compact key stores for the cross-file index: millions of short ids without one heap
//! allocation per key, and as few cache misses per lookup as we can manage.
//!
//! [`Keys`] interns strings: their bytes go one after another into a single `String`, each
//! gets a dense id, and a `hashbrown::HashTable` of 12-byte slots finds them. A key of up to
//! 8 bytes (most ids: `U0012345`, `S0004382`) is held in its slot itself, so a lookup
//! touches the table only; a longer key's slot holds its hash (growth never reads key
//! bytes) and the key is compared in the arena. Each slot also says whether its key is
//! *defined* (fed by a row of the kind that defines it), as opposed to merely interned (as
//! an owner), so a reference check needs nothing but the table. Whatever hangs off a key
//! (first row, owner, attribute) lives in plain vectors indexed by id, owned by the caller.
//! [`Locs`] holds row locations in 8 bytes each.

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::rules::Loc;

/// Dense key id, in insertion order from 0.
pub(crate) type Id = u32;

/// Ids use the low 30 bits of a slot's word.
const ID_MASK: u32 = (1 << 30) - 1;
/// The key is held in the slot.
const INLINE: u32 = 1 << 30;
/// The key is defined.
const DEFINED: u32 = 1 << 31;

/// 32-bit hash of a key.
#[inline]
fn hash(key: &[u8]) -> u32 {
    let mut h = FixedState::with_seed(0x0005_EED0_F1D5).build_hasher();
    h.write(key);
    let x = h.finish();
    (x >> 32) as u32 ^ x as u32
}

/// The table's 64-bit hash from 32 bits: hashbrown takes the bucket from the low bits and
/// the 7-bit tag from the top of the low word (32-bit targets) or of the whole (64-bit
/// targets); both come from the same 32 bits here.
#[inline]
fn spread(h: u32) -> u64 {
    (u64::from(h) << 32) | u64::from(h)
}

/// A table entry; `N` (≥ 4) is the longest key held inline.
#[derive(Clone, Copy)]
struct Slot<const N: usize> {
    /// Id, [`INLINE`], [`DEFINED`].
    word: u32,
    /// Inline: the key padded with 0xFF (never a byte of UTF-8). Otherwise: the key's hash
    /// (little-endian) then zeros.
    data: [u8; N],
}

impl<const N: usize> Slot<N> {
    #[inline]
    fn id(self) -> Id {
        self.word & ID_MASK
    }

    /// Hash of the key, for growing the table.
    #[inline]
    fn hash(self) -> u32 {
        if self.word & INLINE != 0 {
            let len = self.data.iter().position(|&b| b == 0xFF).unwrap_or(N);
            hash(&self.data[..len])
        } else {
            u32::from_le_bytes([self.data[0], self.data[1], self.data[2], self.data[3]])
        }
    }
}

/// A key prepared for probing.
struct Probe<'k, const N: usize> {
    key: &'k str,
    hash: u32,
    /// The slot data the key's slot holds.
    data: [u8; N],
    inline: bool,
}

impl<'k, const N: usize> Probe<'k, N> {
    #[inline]
    fn new(key: &'k str) -> Probe<'k, N> {
        let b = key.as_bytes();
        let hash = hash(b);
        let mut data = [0xFF; N];
        let inline = b.len() <= N;
        if inline {
            data[..b.len()].copy_from_slice(b);
        } else {
            data = [0; N];
            data[..4].copy_from_slice(&hash.to_le_bytes());
        }
        Probe {
            key,
            hash,
            data,
            inline,
        }
    }

    #[inline]
    fn matches(&self, s: &Slot<N>, text: &str, ends: &[u32], wraps: &[Id]) -> bool {
        s.data == self.data
            && (s.word & INLINE != 0) == self.inline
            && (self.inline || key(text, ends, wraps, s.id() as usize) == self.key)
    }
}

/// An interner of strings with dense ids; keys of up to `N` bytes are held in the table
/// (`N` = 8 where lookups are hot, 4 where memory matters more).
pub(crate) struct Keys<const N: usize = 8> {
    /// Key bytes, one after another.
    text: String,
    /// Low 32 bits of the end offset of each key in `text`.
    ends: Vec<u32>,
    /// Ids from which end offsets are ≥ (n + 1)·2³², for the n-th entry: empty unless one
    /// store holds more than 4 GiB of keys.
    wraps: Vec<Id>,
    table: HashTable<Slot<N>>,
}

impl<const N: usize> Default for Keys<N> {
    fn default() -> Self {
        Keys {
            text: String::new(),
            ends: Vec::new(),
            wraps: Vec::new(),
            table: HashTable::new(),
        }
    }
}

impl<const N: usize> std::fmt::Debug for Keys<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("len", &self.ends.len())
            .field("bytes", &self.text.len())
            .finish()
    }
}

/// Offset in `text` where key `id` ends.
#[inline]
fn end(ends: &[u32], wraps: &[Id], id: usize) -> usize {
    let lo = u64::from(ends[id]);
    if wraps.is_empty() {
        return lo as usize;
    }
    let hi = wraps.partition_point(|&w| w as usize <= id) as u64;
    (lo + (hi << 32)) as usize
}

#[inline]
fn key<'a>(text: &'a str, ends: &[u32], wraps: &[Id], id: usize) -> &'a str {
    let start = if id == 0 { 0 } else { end(ends, wraps, id - 1) };
    text.get(start..end(ends, wraps, id)).unwrap_or("")
}

impl<const N: usize> Keys<N> {
    /// Number of keys.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The key with id `id`.
    pub fn get(&self, id: Id) -> &str {
        key(&self.text, &self.ends, &self.wraps, id as usize)
    }

    /// The id of `k` and whether it is defined, if interned.
    #[inline]
    pub fn find(&self, k: &str) -> Option<(Id, bool)> {
        let p = Probe::<N>::new(k);
        let Keys {
            text, ends, wraps, ..
        } = self;
        self.table
            .find(spread(p.hash), |s| p.matches(s, text, ends, wraps))
            .map(|s| (s.id(), s.word & DEFINED != 0))
    }

    /// The id of `k`, interning it if new (one probe); `true` if it was new.
    #[inline]
    pub fn intern(&mut self, k: &str) -> (Id, bool) {
        self.upsert(k, false)
    }

    /// Interns `k` and marks it defined; `true` if it was not defined before.
    #[inline]
    pub fn define(&mut self, k: &str) -> (Id, bool) {
        self.upsert(k, true)
    }

    fn upsert(&mut self, k: &str, define: bool) -> (Id, bool) {
        let p = Probe::<N>::new(k);
        let Keys {
            text,
            ends,
            wraps,
            table,
        } = self;
        let entry = table.entry(
            spread(p.hash),
            |s| p.matches(s, text, ends, wraps),
            |s| spread(s.hash()),
        );
        match entry {
            Entry::Occupied(mut o) => {
                let s = o.get_mut();
                if define && s.word & DEFINED == 0 {
                    s.word |= DEFINED;
                    return (s.id(), true);
                }
                (s.id(), false)
            }
            Entry::Vacant(v) => {
                let id = match Id::try_from(ends.len()) {
                    Ok(id) if id <= ID_MASK => id,
                    _ => panic!("more than 2^30 distinct keys in one column"),
                };
                let mut word = id;
                if p.inline {
                    word |= INLINE;
                }
                if define {
                    word |= DEFINED;
                }
                v.insert(Slot { word, data: p.data });
                let before = text.len() as u64;
                text.push_str(k);
                let after = text.len() as u64;
                if before >> 32 != after >> 32 {
                    wraps.push(id);
                }
                ends.push(after as u32);
                (id, true)
            }
        }
    }
}

/// Row locations by id, 8 bytes each; "none" until set.
#[derive(Debug, Default)]
pub(crate) struct Locs {
    packed: Vec<u64>,
    /// Locations that do not fit the packing (absurdly many files or rows).
    overflow: Vec<Loc>,
}

const NONE: u64 = u64::MAX;
const ROW_BITS: u32 = 44;
const ROW_MASK: u64 = (1 << ROW_BITS) - 1;
/// File field value marking an index into `overflow`.
const FILE_OVERFLOW: u64 = (1 << (64 - ROW_BITS)) - 1;

impl Locs {
    /// Where `id` is, if set.
    #[inline]
    pub fn get(&self, id: Id) -> Option<Loc> {
        let p = *self.packed.get(id as usize)?;
        if p == NONE {
            return None;
        }
        let (file, row) = (p >> ROW_BITS, p & ROW_MASK);
        if file == FILE_OVERFLOW {
            return self.overflow.get(row as usize).copied();
        }
        Some(Loc {
            file: file as u32,
            row,
        })
    }

    /// Sets `id` to `loc`, replacing any earlier location.
    pub fn set(&mut self, id: Id, loc: Loc) {
        let i = id as usize;
        if self.packed.len() <= i {
            self.packed.resize(i + 1, NONE);
        }
        let packed = if u64::from(loc.file) < FILE_OVERFLOW && loc.row <= ROW_MASK {
            (u64::from(loc.file) << ROW_BITS) | loc.row
        } else {
            self.overflow.push(loc);
            (FILE_OVERFLOW << ROW_BITS) | (self.overflow.len() as u64 - 1)
        };
        self.packed[i] = packed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning() {
        interning_with(Keys::<8>::default());
        interning_with(Keys::<4>::default());
    }

    fn interning_with<const N: usize>(mut k: Keys<N>) {
        assert_eq!(k.find("a"), None);
        assert_eq!(k.intern("a"), (0, true));
        assert_eq!(k.intern(""), (1, true));
        assert_eq!(k.define("bc"), (2, true));
        assert_eq!(k.intern("a"), (0, false));
        assert_eq!(k.define("a"), (0, true));
        assert_eq!(k.define("a"), (0, false));
        // Same first 8 bytes, inline or not; 8 bytes exactly; multi-byte.
        let long = [
            "abcdefgh",
            "abcdefghi",
            "abcdefghij",
            "ñandú",
            "a-much-longer-login-id",
        ];
        let ids: Vec<Id> = long.iter().map(|l| k.intern(l).0).collect();
        for i in 0..10_000u32 {
            k.define(&format!("U{i:07}"));
            k.intern(&format!("login.name.{i:07}"));
        }
        assert_eq!(k.find("bc"), Some((2, true)));
        assert_eq!(k.find(""), Some((1, false)));
        assert_eq!(k.find("abcdefg"), None);
        assert_eq!(k.find("abcdefghijk"), None);
        for (l, id) in long.iter().zip(ids) {
            assert_eq!(k.find(l), Some((id, false)));
            assert_eq!(k.get(id), *l);
        }
        assert_eq!(k.get(2), "bc");
        assert_eq!(
            k.find("U0004242").map(|(id, d)| (k.get(id), d)),
            Some(("U0004242", true))
        );
        assert_eq!(
            k.find("login.name.0004242").map(|(id, d)| (k.get(id), d)),
            Some(("login.name.0004242", false))
        );
        assert_eq!(k.len(), 20_008);
    }

    #[test]
    fn locations() {
        let mut l = Locs::default();
        assert!(l.get(3).is_none());
        l.set(3, Loc { file: 2, row: 9 });
        l.set(3, Loc { file: 1, row: 7 });
        let big = Loc {
            file: u32::MAX,
            row: u64::MAX,
        };
        l.set(5, big);
        assert!(l.get(4).is_none());
        assert_eq!(l.get(3).map(|x| (x.file, x.row)), Some((1, 7)));
        assert_eq!(
            l.get(5).map(|x| (x.file, x.row)),
            Some((u32::MAX, u64::MAX))
        );
    }
}
