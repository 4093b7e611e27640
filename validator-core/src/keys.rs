//! Compact key stores for the cross-file index: millions of short ids without one heap
//! allocation per key, and as few cache misses per lookup as we can manage.
//!
//! [`Keys`] interns strings: each gets a dense id, and flat open-addressing tables of 12-byte
//! slots (linear probing, no separate control bytes) find them, so a lookup usually touches
//! one cache line. A key of up to 8 bytes (most ids: `U0012345`, `S0004382`) is held in its
//! slot and nowhere else: the id's entry says which slot (moved when a table grows). A
//! longer key's bytes go one after another into one arena, and its slot holds its 64-bit
//! hash, so the arena is read only when that fingerprint matches. Each slot also says
//! whether its key is *defined* (fed by a row of the kind that defines it), as opposed to
//! merely interned (as an owner or an unresolved reference), so a reference check needs
//! nothing but the table. Whatever hangs off a key (first row, owner, attribute) lives in
//! plain vectors indexed by id, owned by the caller.
//! [`Locs`] holds row locations in 4 bytes each.

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::FixedState;

use crate::rules::Loc;

/// A hash map with a fixed seed. The core uses no other: the same input takes the same
/// path through it on every run and every host (a fuzzer's coverage is stable), and
/// nothing depends on a per-process random state. (`clippy.toml` refuses std's maps.)
#[allow(clippy::disallowed_types)]
pub(crate) type FixedMap<K, V> = std::collections::HashMap<K, V, FixedState>;
/// A hash set with a fixed seed (see [`FixedMap`]).
#[allow(clippy::disallowed_types)]
pub(crate) type FixedSet<K> = std::collections::HashSet<K, FixedState>;

/// Dense key id, in insertion order from 0.
pub(crate) type Id = u32;

/// Ids use the low 30 bits of a slot's word.
const ID_MASK: u32 = (1 << 30) - 1;
/// The key is held in the slot.
const INLINE: u32 = 1 << 30;
/// The key is defined.
const DEFINED: u32 = 1 << 31;
/// The word of an empty slot (no id reaches [`ID_MASK`]).
const EMPTY: u32 = u32::MAX;
/// Longest key held in its slot.
const INLINE_MAX: usize = 8;

/// An id's entry ([`Keys::entries`]) with this bit names the slot that holds its key:
/// sub-table in the next [`SHARD_BITS`] bits, position in the low [`POS_BITS`]. Without
/// it, the entry is where the key starts in the arena (low 31 bits; `wraps` has the rest).
const IN_SLOT: u32 = 1 << 31;
/// Bits of an in-slot entry that name the sub-table.
const SHARD_BITS: u32 = 4;
/// Bits of an in-slot entry that give the position.
const POS_BITS: u32 = 31 - SHARD_BITS;
/// The position field of a key held in a slot past the positions an entry can name
/// (a sub-table over 2²⁷ slots, which only keys picked to share one sub-table reach):
/// its bytes are in [`Keys::far`] instead.
const FAR: u32 = (1 << POS_BITS) - 1;
/// Ends each key in the arena: never a byte of UTF-8.
const END: u8 = 0xFF;

/// 64-bit hash of a key: what [`Keys`] places it by. A reading thread computes it for the
/// look-ups of a row ahead of the checking one ([`Keys::find_hashed`]).
#[inline]
pub(crate) fn hash(key: &[u8]) -> u64 {
    seeded_hash(0x0005_EED0_F1D5, key)
}

/// foldhash of `key` with a fixed `seed`.
#[inline]
fn seeded_hash(seed: u64, key: &[u8]) -> u64 {
    let mut h = FixedState::with_seed(seed).build_hasher();
    h.write(key);
    h.finish()
}

/// A table entry: 12 bytes, so that 5 share a cache line and probing stays in one or two.
#[derive(Clone, Copy)]
struct Slot {
    /// Id, [`INLINE`], [`DEFINED`]; [`EMPTY`] if free.
    word: u32,
    /// Low and high halves of the slot key: inline, the key's bytes padded with 0xFF (never
    /// a byte of UTF-8); otherwise the key's 64-bit hash.
    lo: u32,
    hi: u32,
}

impl Slot {
    const FREE: Slot = Slot {
        word: EMPTY,
        lo: 0,
        hi: 0,
    };

    #[inline]
    fn id(self) -> Id {
        self.word & ID_MASK
    }

    #[inline]
    fn key(self) -> u64 {
        u64::from(self.lo) | (u64::from(self.hi) << 32)
    }

    /// Hash of the key, for growing the table.
    #[inline]
    fn hash(self) -> u64 {
        let k = self.key();
        if self.word & INLINE != 0 {
            let (b, len) = inline_bytes(k);
            hash(&b[..len])
        } else {
            k
        }
    }
}

/// A key prepared for probing: its hash and slot key.
pub(crate) struct Probe<'k> {
    key: &'k str,
    hash: u64,
    /// The slot key of `key`.
    slot: u64,
    inline: bool,
}

impl<'k> Probe<'k> {
    #[inline]
    fn new(key: &'k str) -> Probe<'k> {
        Probe::hashed(key, hash(key.as_bytes()))
    }

    /// `key` whose [`hash`] is `hash`.
    #[inline]
    fn hashed(key: &'k str, hash: u64) -> Probe<'k> {
        let b = key.as_bytes();
        let inline = b.len() <= INLINE_MAX;
        let slot = if inline {
            let mut data = [0xFF; INLINE_MAX];
            data[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(data)
        } else {
            hash
        };
        Probe {
            key,
            hash,
            slot,
            inline,
        }
    }
}

/// A key's text ([`Keys::get`]): in the arena, or copied out of its slot.
#[derive(Clone, Copy, Debug)]
pub(crate) enum KeyText<'a> {
    Arena(&'a str),
    /// Up to [`INLINE_MAX`] bytes of a key that was a `str`, and their length.
    Slot([u8; INLINE_MAX], u8),
}

impl std::fmt::Display for KeyText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl std::ops::Deref for KeyText<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            KeyText::Arena(s) => s,
            KeyText::Slot(b, n) => std::str::from_utf8(&b[..usize::from(*n)]).unwrap_or(""),
        }
    }
}

/// An interner of strings with dense ids (see the module documentation).
pub(crate) struct Keys {
    /// The bytes of keys over [`INLINE_MAX`] bytes, each followed by [`END`].
    text: Vec<u8>,
    /// Per id, where its key is: a slot ([`IN_SLOT`]) or its start in `text`.
    entries: Vec<u32>,
    /// Ids from which `text` starts are ≥ (n + 1)·2^`wrap_bits`, for the n-th entry:
    /// empty unless one store holds more than 2 GiB of long keys.
    wraps: Vec<Id>,
    /// Bits of a start an entry holds: 31 but in tests.
    wrap_bits: u32,
    /// Slot keys of ids whose slot position is past what an entry names ([`FAR`]).
    far: FixedMap<Id, u64>,
    /// The largest position an entry names; [`FAR`] but in tests.
    max_pos: u32,
    /// The table, in [`SHARDS`] sub-tables picked by the hash's low bits. Each has a
    /// length of 0 or at least [`MIN_SLOTS`], any number (not a power of two: the slot
    /// comes from a multiply-shift of the high bits), and is at most [`MAX_LOAD`] full.
    slots: [Vec<Slot>; SHARDS],
    /// Keys in each sub-table.
    counts: [u32; SHARDS],
}

/// Sub-tables. Each grows on its own, so a rebuild holds a sixteenth of the table twice
/// rather than all of it (the peak memory of a big bundle was the users table mid-rebuild),
/// and a page never stalls on rehashing millions of keys at once.
const SHARDS: usize = 16;

/// The sub-table of `hash`.
#[inline]
fn shard(hash: u64) -> usize {
    hash as usize & (SHARDS - 1)
}

/// Smallest table.
const MIN_SLOTS: usize = 16;
/// Fullest the table gets, as (numerator, denominator): linear probing stays short (about
/// 2 slots for a hit, 5 for a miss at the worst), and growing by [`GROWTH`] keeps it at
/// least 44% full, so a key costs 18 to 27 bytes of table. At 4/5 a hit took about 3 slots
/// and an insert 13: on the 348 MB bench bundle (users presized, so near full) `check`
/// took 3-6% longer for 2.8 bytes less per id (26.8 against 29.6). A look-up now seldom
/// leaves its home slot's line: loading the next line ahead too, which gained 8% at 4/5,
/// gains nothing measurable at 2/3 (native or Node), so only the home line is loaded.
const MAX_LOAD: (usize, usize) = (2, 3);
/// Growth factor, as (numerator, denominator).
const GROWTH: (usize, usize) = (3, 2);

/// Slots per sub-table for `keys` keys in all, at most [`MAX_LOAD`] full. Keys spread over
/// the sub-tables by hash: each gets its share plus 3% and 64, over 3 standard deviations
/// of that spread from 100,000 keys up (8 at a million); one that gets more grows as usual.
fn shard_slots(keys: usize) -> usize {
    let share = keys / SHARDS;
    let busiest = share + share / 32 + 64;
    (busiest * MAX_LOAD.1).div_ceil(MAX_LOAD.0).max(MIN_SLOTS)
}

impl Default for Keys {
    fn default() -> Keys {
        Keys {
            text: Vec::new(),
            entries: Vec::new(),
            wraps: Vec::new(),
            far: FixedMap::default(),
            max_pos: FAR,
            wrap_bits: 31,
            slots: Default::default(),
            counts: [0; SHARDS],
        }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("len", &self.entries.len())
            .field("bytes", &self.text.len())
            .field("text_cap", &self.text.capacity())
            .field("far", &self.far.len())
            .field("slots", &self.slots.iter().map(Vec::len).sum::<usize>())
            .finish()
    }
}

/// Where in `text` the key of `id` starts, for an entry without [`IN_SLOT`].
#[inline]
fn start(entry: u32, wraps: &[Id], wrap_bits: u32, id: Id) -> usize {
    let lo = u64::from(entry);
    if wraps.is_empty() {
        return lo as usize;
    }
    let hi = wraps.partition_point(|&w| w <= id) as u64;
    (lo + (hi << wrap_bits)) as usize
}

/// Whether the key at `start` in `text` is `key`.
#[inline]
fn text_is(text: &[u8], start: usize, key: &[u8]) -> bool {
    text.get(start..start + key.len()) == Some(key) && text.get(start + key.len()) == Some(&END)
}

/// The bytes of an inline slot key (padded with 0xFF).
#[inline]
fn inline_bytes(slot_key: u64) -> ([u8; INLINE_MAX], usize) {
    let b = slot_key.to_le_bytes();
    let len = b.iter().position(|&x| x == 0xFF).unwrap_or(INLINE_MAX);
    (b, len)
}

/// Asks the CPU to bring `x`'s cache line in, without waiting for it. Where the target has
/// no such hint (wasm32), a load whose value is dropped: the processor cannot retire it
/// before the line comes, so such loads pay only when issued together, their misses
/// overlapping ([`crate::rules::Index::start_loads`]).
#[inline(always)]
pub(crate) fn prefetch<T: Copy>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: a prefetch is a hint: it never faults and has no effect the program can
    // observe; the address comes from a reference, and SSE is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(x).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::hint::black_box(*x);
}

/// [`prefetch`] of a line wanted soon, further on in the same row: only where the target
/// has a prefetch instruction. Elsewhere (wasm) the hint would be a load waiting for the
/// line right there, just before its use, so none is made.
#[inline(always)]
pub(crate) fn prefetch_soon<T: Copy>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    prefetch(x);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The home slot of `hash` in a table of `n` slots: the high bits of `hash` scaled to `n`.
#[inline]
fn home(hash: u64, n: usize) -> usize {
    // On 64-bit targets the 128-bit product is one instruction. wasm32 has none: there it
    // was a call to `__multi3` per lookup (1.6% of a bundle's time under Node), and a
    // `usize` is below 2³², so the high 32 bits of the hash times `n` fit in 64.
    #[cfg(target_pointer_width = "64")]
    let slot = ((u128::from(hash) * n as u128) >> 64) as usize;
    #[cfg(not(target_pointer_width = "64"))]
    let slot = (((hash >> 32) * n as u64) >> 32) as usize;
    slot
}

impl Keys {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Table slots, over the sub-tables (changes only when one is rebuilt).
    #[cfg(test)]
    pub fn slot_count(&self) -> usize {
        self.slots.iter().map(Vec::len).sum()
    }

    /// Heap bytes held (capacity, not only length; `far` counted by its entries).
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.entries.capacity() * size_of::<u32>()
            + self.wraps.capacity() * size_of::<Id>()
            + self.far.capacity() * (size_of::<(Id, u64)>() + 1)
            + self.slots.iter().map(Vec::capacity).sum::<usize>() * size_of::<Slot>()
    }

    /// The key with id `id`.
    pub fn get(&self, id: Id) -> KeyText<'_> {
        let Some(&e) = self.entries.get(id as usize) else {
            return KeyText::Arena("");
        };
        if e & IN_SLOT == 0 {
            let from = start(e, &self.wraps, self.wrap_bits, id);
            let rest = self.text.get(from..).unwrap_or_default();
            let len = memchr::memchr(END, rest).unwrap_or(rest.len());
            return KeyText::Arena(std::str::from_utf8(&rest[..len]).unwrap_or(""));
        }
        let sh = ((e & !IN_SLOT) >> POS_BITS) as usize;
        let pos = e & ((1 << POS_BITS) - 1);
        let slot_key = if pos >= self.max_pos {
            self.far.get(&id).copied()
        } else {
            self.slots[sh].get(pos as usize).map(|s| s.key())
        };
        let (b, len) = inline_bytes(slot_key.unwrap_or(u64::MAX));
        KeyText::Slot(b, len as u8)
    }

    /// The entry naming slot `pos` of sub-table `sh` for `id`, holding `slot_key`.
    #[inline]
    fn in_slot(&mut self, id: Id, sh: usize, pos: usize, slot_key: u64) -> u32 {
        let pos = match u32::try_from(pos) {
            Ok(p) if p < self.max_pos => p,
            _ => {
                self.far.insert(id, slot_key);
                self.max_pos
            }
        };
        IN_SLOT | ((sh as u32) << POS_BITS) | pos
    }

    /// The slot of sub-table `t` holding `p`'s key, or the free slot where it would go.
    #[inline]
    fn slot_of(&self, t: &[Slot], p: &Probe<'_>) -> usize {
        let n = t.len();
        let mut i = home(p.hash, n);
        loop {
            let s = t[i];
            if s.word == EMPTY
                || (s.key() == p.slot
                    && (s.word & INLINE != 0) == p.inline
                    && (p.inline || self.text_is(s.id(), p.key.as_bytes())))
            {
                return i;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// Whether long key `id` is `key`.
    #[inline]
    fn text_is(&self, id: Id, key: &[u8]) -> bool {
        let e = self.entries[id as usize];
        e & IN_SLOT == 0 && text_is(&self.text, start(e, &self.wraps, self.wrap_bits, id), key)
    }

    /// Whether key `id` is `k`: `get(id) == k` without finding the key's end or checking its
    /// UTF-8, for checks that compare on every row.
    #[inline]
    pub fn is(&self, id: Id, k: &str) -> bool {
        match self.entries.get(id as usize) {
            Some(&e) if e & IN_SLOT == 0 => self.text_is(id, k.as_bytes()),
            Some(_) => *self.get(id) == *k,
            None => false,
        }
    }

    /// The id of `k` and whether it is defined, if interned.
    #[inline]
    pub fn find(&self, k: &str) -> Option<(Id, bool)> {
        self.find_prepared(&Probe::new(k))
    }

    /// [`Keys::find`] of `k` whose [`hash`] is `hash` (computed ahead, or on another
    /// thread).
    #[inline]
    pub fn find_hashed(&self, k: &str, hash: u64) -> Option<(Id, bool)> {
        self.find_prepared(&Probe::hashed(k, hash))
    }

    /// The first word of the home slot of the key whose [`hash`] is `h`, for [`prefetch`]:
    /// loaded a few rows before the row's look-up comes ([`crate::Tape`] replays hold the
    /// rows), the miss on a big table (the users of a bundle) is over by then.
    #[inline]
    pub fn home_word(&self, h: u64) -> Option<&u32> {
        let t = &self.slots[shard(h)];
        t.get(home(h, t.len())).map(|s| &s.word)
    }

    /// [`Keys::find`] of a prepared key.
    #[inline]
    fn find_prepared(&self, p: &Probe<'_>) -> Option<(Id, bool)> {
        let t = &self.slots[shard(p.hash)];
        if t.is_empty() {
            return None;
        }
        let s = t[self.slot_of(t, p)];
        (s.word != EMPTY).then(|| (s.id(), s.word & DEFINED != 0))
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
        let p = Probe::new(k);
        let sh = shard(p.hash);
        if (self.counts[sh] as usize + 1) * MAX_LOAD.1 > self.slots[sh].len() * MAX_LOAD.0 {
            self.grow(sh);
        }
        let i = self.slot_of(&self.slots[sh], &p);
        let s = &mut self.slots[sh][i];
        if s.word != EMPTY {
            if define && s.word & DEFINED == 0 {
                s.word |= DEFINED;
                return (s.id(), true);
            }
            return (s.id(), false);
        }
        let id = match Id::try_from(self.entries.len()) {
            Ok(id) if id < ID_MASK => id,
            _ => panic!("more than 2^30 distinct keys in one column"),
        };
        let mut word = id;
        if p.inline {
            word |= INLINE;
        }
        if define {
            word |= DEFINED;
        }
        *s = Slot {
            word,
            lo: p.slot as u32,
            hi: (p.slot >> 32) as u32,
        };
        self.counts[sh] += 1;
        let entry = if p.inline {
            self.in_slot(id, sh, i, p.slot)
        } else {
            let at = self.text.len() as u64;
            // Starts past (n + 1)·2³¹ are marked from the first id that has one.
            while at >> self.wrap_bits > self.wraps.len() as u64 {
                self.wraps.push(id);
            }
            self.text.extend_from_slice(k.as_bytes());
            self.text.push(END);
            (at & ((1 << self.wrap_bits) - 1)) as u32
        };
        self.entries.push(entry);
        (id, true)
    }

    /// Makes room for `keys` keys in all, so that a table filled to that many is never
    /// rebuilt on the way ([`shard_slots`]): a file whose size says it will define half a
    /// million users sizes its tables once instead of growing them twenty times.
    pub fn reserve(&mut self, keys: usize) {
        let n = shard_slots(keys);
        for sh in 0..SHARDS {
            if self.slots[sh].len() < n {
                self.rebuild(sh, n);
            }
        }
        self.entries
            .reserve(keys.saturating_sub(self.entries.len()));
    }

    /// Rebuilds sub-table `sh` [`GROWTH`] times larger.
    #[cold]
    fn grow(&mut self, sh: usize) {
        self.rebuild(
            sh,
            (self.slots[sh].len() * GROWTH.0 / GROWTH.1).max(MIN_SLOTS),
        );
    }

    /// Rebuilds sub-table `sh` with `n` slots (at least its keys over [`MAX_LOAD`]).
    #[cold]
    fn rebuild(&mut self, sh: usize, n: usize) {
        let old = std::mem::replace(&mut self.slots[sh], vec![Slot::FREE; n]);
        for s in old.into_iter().filter(|s| s.word != EMPTY) {
            let t = &mut self.slots[sh];
            let mut i = home(s.hash(), n);
            while t[i].word != EMPTY {
                i += 1;
                if i == n {
                    i = 0;
                }
            }
            t[i] = s;
            if s.word & INLINE != 0 {
                let entry = self.in_slot(s.id(), sh, i, s.key());
                self.entries[s.id() as usize] = entry;
            }
        }
    }
}

/// A second 64-bit hash of a key, independent of [`hash`] (another seed): [`Seen`] keeps
/// it per key and tells keys apart by it.
#[inline]
fn hash2(key: &[u8]) -> u64 {
    seeded_hash(0x7AB1_E5EE_D2C0_FFEE, key)
}

/// A [`Seen`] slot: the id ([`EMPTY`] if free) and the high 32 bits of the key's [`hash`],
/// which place the key in its sub-table, so that a growing table reads nothing else.
#[derive(Clone, Copy)]
struct Tag {
    id: Id,
    tag: u32,
}

impl Tag {
    const FREE: Tag = Tag { id: EMPTY, tag: 0 };
}

/// The home slot of a [`Seen`] key with `tag` in a sub-table of `n` slots.
#[inline]
fn tag_home(tag: u32, n: usize) -> usize {
    ((u64::from(tag) * n as u64) >> 32) as usize
}

/// The keys a uniqueness check has seen, each with a dense id, known by a 100-bit
/// fingerprint instead of its bytes: such a check only asks "seen before, and which
/// id?", never for a key back, and its keys are often long (login ids, e-mail addresses;
/// 21 bytes a key in the arena of [`Keys`] for a state system's 500 k logins).
///
/// Equal keys always have equal fingerprints, so a repeat is never missed; two different
/// keys are taken for one only if the sub-table and high 32 bits of [`hash`] (36 bits) and
/// all 64 bits of an independent [`hash2`] agree: about n²/2¹⁰¹ for n keys (10⁻¹⁷ for ten
/// million). A key costs its 8-byte slot at 44-67% load and its 8-byte `hash2` (about 22-26
/// bytes), against 45 and more in `Keys`, whose arena holds the key's bytes.
///
/// ```ignore
/// let mut seen = Seen::default();
/// assert_eq!(seen.intern("ana@example.edu"), (0, true));
/// assert_eq!(seen.intern("ana@example.edu"), (0, false));
/// ```
#[derive(Default)]
pub(crate) struct Seen {
    /// Per id, the key's [`hash2`], compared when a slot's tag matches.
    checks: Vec<u64>,
    /// As in [`Keys::slots`]: sub-tables picked by the hash's low bits, linear probing.
    slots: [Vec<Tag>; SHARDS],
    counts: [u32; SHARDS],
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seen")
            .field("len", &self.checks.len())
            .field("slots", &self.slots.iter().map(Vec::len).sum::<usize>())
            .finish()
    }
}

impl Seen {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// Table slots, over the sub-tables (changes only when one is rebuilt).
    #[cfg(test)]
    pub fn slot_count(&self) -> usize {
        self.slots.iter().map(Vec::len).sum()
    }

    /// Heap bytes held (capacity, not only length).
    pub fn heap_bytes(&self) -> usize {
        self.checks.capacity() * size_of::<u64>()
            + self.slots.iter().map(Vec::capacity).sum::<usize>() * size_of::<Tag>()
    }

    /// [`Keys::home_word`] of a key of this table.
    #[inline]
    pub fn home_word(&self, h: u64) -> Option<&u32> {
        let t = &self.slots[shard(h)];
        t.get(tag_home((h >> 32) as u32, t.len())).map(|s| &s.id)
    }

    /// The id of `k`, a new one if `k` was not seen; `true` if it was new.
    pub fn intern(&mut self, k: &str) -> (Id, bool) {
        let h = hash(k.as_bytes());
        let (sh, tag) = (shard(h), (h >> 32) as u32);
        let check = hash2(k.as_bytes());
        if (self.counts[sh] as usize + 1) * MAX_LOAD.1 > self.slots[sh].len() * MAX_LOAD.0 {
            self.grow(sh);
        }
        let t = &mut self.slots[sh];
        let n = t.len();
        let mut i = tag_home(tag, n);
        loop {
            let s = t[i];
            if s.id == EMPTY {
                break;
            }
            if s.tag == tag && self.checks[s.id as usize] == check {
                return (s.id, false);
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
        let id = match Id::try_from(self.checks.len()) {
            Ok(id) if id < ID_MASK => id,
            _ => panic!("more than 2^30 distinct keys in one uniqueness check"),
        };
        t[i] = Tag { id, tag };
        self.counts[sh] += 1;
        self.checks.push(check);
        (id, true)
    }

    /// Makes room for `keys` keys in all ([`Keys::reserve`]).
    pub fn reserve(&mut self, keys: usize) {
        let n = shard_slots(keys);
        for sh in 0..SHARDS {
            if self.slots[sh].len() < n {
                self.rebuild(sh, n);
            }
        }
        self.checks.reserve(keys.saturating_sub(self.checks.len()));
    }

    /// Rebuilds sub-table `sh` [`GROWTH`] times larger.
    #[cold]
    fn grow(&mut self, sh: usize) {
        self.rebuild(
            sh,
            (self.slots[sh].len() * GROWTH.0 / GROWTH.1).max(MIN_SLOTS),
        );
    }

    /// Rebuilds sub-table `sh` with `n` slots (at least its keys over [`MAX_LOAD`]).
    #[cold]
    fn rebuild(&mut self, sh: usize, n: usize) {
        let old = std::mem::replace(&mut self.slots[sh], vec![Tag::FREE; n]);
        let t = &mut self.slots[sh];
        for s in old.into_iter().filter(|s| s.id != EMPTY) {
            let mut i = tag_home(s.tag, n);
            while t[i].id != EMPTY {
                i += 1;
                if i == n {
                    i = 0;
                }
            }
            t[i] = s;
        }
    }
}

/// Row locations by id, 4 bytes each; "none" until set. A key of a column is nearly always
/// first seen in one file (the kind's), so a location in the store's *home file* (the first
/// file set) is its row alone; any other goes to a side list.
#[derive(Debug, Default)]
pub(crate) struct Locs {
    packed: Vec<u32>,
    /// The file of the rows held in `packed`, once one is set.
    home: Option<u32>,
    /// Locations in other files, or rows too large to pack.
    overflow: Vec<Loc>,
}

const NONE: u32 = u32::MAX;
/// Set on a packed value that indexes `overflow`.
const OVERFLOW: u32 = 1 << 31;

impl Locs {
    /// Where `id` is, if set.
    #[inline]
    pub fn get(&self, id: Id) -> Option<Loc> {
        let p = *self.packed.get(id as usize)?;
        if p == NONE {
            return None;
        }
        if p & OVERFLOW != 0 {
            return self.overflow.get((p & !OVERFLOW) as usize).copied();
        }
        Some(Loc {
            file: self.home?,
            row: u64::from(p),
        })
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.packed.capacity() * size_of::<u32>() + self.overflow.capacity() * size_of::<Loc>()
    }

    /// Sets `id` to `loc`, replacing any earlier location.
    pub fn set(&mut self, id: Id, loc: Loc) {
        let i = id as usize;
        if self.packed.len() <= i {
            self.packed.resize(i + 1, NONE);
        }
        let home = *self.home.get_or_insert(loc.file);
        let packed = match u32::try_from(loc.row) {
            Ok(row) if home == loc.file && row < OVERFLOW => row,
            _ => {
                // Past 2^31 - 2 locations elsewhere (never in practice), the last is reused.
                let at = self.overflow.len().min((OVERFLOW - 2) as usize);
                if at < self.overflow.len() {
                    self.overflow[at] = loc;
                } else {
                    self.overflow.push(loc);
                }
                OVERFLOW | at as u32
            }
        };
        self.packed[i] = packed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning() {
        interning_with(Keys::default());
    }

    /// Keys of every length (some differ only past their first 8 bytes, some only in
    /// case) against a plain map: the same ids and the same `new` through every growth,
    /// and the heap stays under 30 bytes a key.
    #[test]
    fn seen_against_a_map() {
        let mut seen = Seen::default();
        let mut model: FixedMap<String, Id> = FixedMap::default();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // One key in four is a repeat of an earlier one.
            let n = if x.is_multiple_of(4) {
                (x >> 8) % u64::from(i + 1)
            } else {
                u64::from(i)
            };
            let key = match x % 3 {
                0 => format!("login.name.{n:07}@students.example.edu"),
                1 => format!("U{n:07}"),
                _ => format!("u{n}"),
            };
            let next = model.len() as Id;
            let id = *model.entry(key.clone()).or_insert(next);
            assert_eq!(seen.intern(&key), (id, id == next), "{key}");
        }
        assert_eq!(seen.len(), model.len());
        assert!(seen.intern("U0000001") != seen.intern("u0000001"));
        let per_key = seen.heap_bytes() as f64 / seen.len() as f64;
        assert!(per_key < 30.0, "{per_key} bytes a key");
    }

    /// Table slots of a store, over its sub-tables.
    fn slots<T>(t: &[Vec<T>; SHARDS]) -> usize {
        t.iter().map(Vec::len).sum()
    }

    /// A store reserved for n keys takes n keys (short and long, some repeated) without a
    /// rebuild, keeps each one, and is no emptier than [`MAX_LOAD`] over 1.1 at the end;
    /// one that was not reserved rebuilds on the way.
    #[test]
    fn reserved_stores_take_their_keys_without_growing() {
        let n = 200_000;
        let key = |i: usize| match i % 3 {
            0 => format!("login.name.{i:07}@students.example.edu"),
            _ => format!("U{i:07}"),
        };
        let (mut keys, mut seen) = (Keys::default(), Seen::default());
        keys.reserve(n);
        seen.reserve(n);
        let (k0, s0) = (slots(&keys.slots), slots(&seen.slots));
        assert_eq!(k0, 16 * shard_slots(n));
        let (mut plain, mut plain_seen) = (Keys::default(), Seen::default());
        for i in 0..n {
            assert_eq!(keys.define(&key(i)), (i as Id, true));
            assert_eq!(keys.intern(&key(i / 2)), ((i / 2) as Id, false));
            assert_eq!(seen.intern(&key(i)), (i as Id, true));
            plain.define(&key(i));
            plain_seen.intern(&key(i));
        }
        assert_eq!((slots(&keys.slots), slots(&seen.slots)), (k0, s0));
        let load = n as f64 / k0 as f64;
        assert!(load > MAX_LOAD.0 as f64 / MAX_LOAD.1 as f64 / 1.1, "{load}");
        for i in (0..n).step_by(997) {
            assert_eq!(&*keys.get(i as Id), key(i));
            assert_eq!(keys.find(&key(i)), Some((i as Id, true)));
        }
        assert!(slots(&plain.slots) != k0 && slots(&plain_seen.slots) != s0);
        // Reserving less than a store holds changes nothing.
        keys.reserve(10);
        assert_eq!(slots(&keys.slots), k0);
    }

    /// Two keys with the same sub-table and tag (found by search: 36 bits, so about 2^18
    /// keys) are still two keys: the per-id check tells them apart.
    #[test]
    fn seen_tells_apart_keys_that_share_a_tag() {
        let place = |k: &str| {
            let h = hash(k.as_bytes());
            (shard(h), h >> 32)
        };
        let mut by_place: FixedMap<(usize, u64), String> = FixedMap::default();
        let (a, b) = (0u32..)
            .find_map(|i| {
                let k = format!("login{i}");
                by_place
                    .insert(place(&k), k.clone())
                    .map(|other| (other, k))
            })
            .unwrap();
        let mut seen = Seen::default();
        for i in 0..1_000 {
            seen.intern(&format!("filler{i}"));
        }
        let (ia, _) = seen.intern(&a);
        assert_eq!(seen.intern(&b), (ia + 1, true), "{a} and {b}");
        assert_eq!(seen.intern(&a), (ia, false));
        assert_eq!(seen.intern(&b), (ia + 1, false));
    }

    fn interning_with(mut k: Keys) {
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
            assert_eq!(&*k.get(id), *l);
        }
        assert_eq!(&*k.get(2), "bc");
        assert_eq!(
            k.find("U0004242").map(|(id, d)| (k.get(id).to_string(), d)),
            Some(("U0004242".to_owned(), true))
        );
        assert_eq!(
            k.find("login.name.0004242")
                .map(|(id, d)| (k.get(id).to_string(), d)),
            Some(("login.name.0004242".to_owned(), false))
        );
        assert_eq!(k.len(), 20_008);
    }

    /// Keys of every length, some multi-byte, against a plain map: ids, `new`, `get` and
    /// `find` agree through every growth, also with in-slot positions past what an entry
    /// names (`far`) and with arena starts past what an entry holds (`wraps`).
    #[test]
    fn keys_against_a_map() {
        let small = Keys {
            max_pos: 5,
            wrap_bits: 7,
            ..Keys::default()
        };
        for mut k in [Keys::default(), small] {
            let mut model: FixedMap<String, Id> = FixedMap::default();
            let mut by_id: Vec<String> = Vec::new();
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            for _ in 0..30_000 {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let len = (x >> 60) as usize;
                let alphabet = ["a", "b", "ñ", "7", "-"];
                let key: String = (0..len)
                    .map(|i| alphabet[((x >> (3 * i)) % 5) as usize])
                    .collect();
                let define = x & 1 == 0;
                let (id, new) = if define {
                    k.define(&key)
                } else {
                    k.intern(&key)
                };
                match model.get(&key) {
                    Some(&known) => assert_eq!(id, known, "{key}"),
                    None => {
                        assert!(new, "{key}");
                        assert_eq!(id as usize, by_id.len());
                        model.insert(key.clone(), id);
                        by_id.push(key.clone());
                    }
                }
            }
            assert_eq!(k.len(), by_id.len());
            for (id, key) in by_id.iter().enumerate() {
                assert_eq!(&*k.get(id as Id), key.as_str());
                assert!(k.is(id as Id, key));
                assert!(!k.is(id as Id, &format!("{key}a")));
                assert_eq!(k.find(key).map(|f| f.0), Some(id as Id));
            }
            assert_eq!(&*k.get(by_id.len() as Id), "");
        }
        // The small store did spill, and did wrap.
        let mut k = Keys {
            max_pos: 5,
            wrap_bits: 7,
            ..Keys::default()
        };
        for i in 0..1000 {
            k.intern(&format!("{i}"));
            k.intern(&format!("long-key-{i}"));
        }
        assert!(!k.far.is_empty() && !k.wraps.is_empty());
        assert_eq!(&*k.get(1998), "999");
        assert_eq!(&*k.get(1999), "long-key-999");
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
        l.set(
            6,
            Loc {
                file: 2,
                row: 1 << 31,
            },
        );
        l.set(7, Loc { file: 2, row: 3 });
        assert!(l.get(4).is_none());
        assert_eq!(l.get(3).map(|x| (x.file, x.row)), Some((1, 7)));
        assert_eq!(
            l.get(5).map(|x| (x.file, x.row)),
            Some((u32::MAX, u64::MAX))
        );
        assert_eq!(l.get(6).map(|x| (x.file, x.row)), Some((2, 1 << 31)));
        assert_eq!(l.get(7).map(|x| (x.file, x.row)), Some((2, 3)));
        assert_eq!(l.get(9).map(|x| x.row), None);
    }
}
