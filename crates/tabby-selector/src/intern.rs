//! String interning for the engine's fast path.
//!
//! Every label name and value an engine sees is turned into a [`Sym`], a
//! 32-bit number that is equal for equal strings *of the same [`Interner`]*.
//! An endpoint's [`Labels`] is then a small sorted vector of `(Sym, Sym)`
//! pairs, and a [`crate::CompiledSelector`] compares numbers instead of strings.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// An interned string: a dense index into one [`Interner`].
///
/// Syms from different interners must not be mixed; nothing can check it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sym(u32);

impl Sym {
    /// The dense index (0, 1, 2, ... in interning order).
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The raw number (never [`NO_SYM`]).
    #[inline]
    pub(crate) fn raw(self) -> u32 {
        self.0
    }
}

/// A `u32` no interner ever hands out: the compiled matcher uses it for
/// "label absent" and "empty slot".
pub(crate) const NO_SYM: u32 = u32::MAX;

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sym({})", self.0)
    }
}

/// A small, fast, non-cryptographic hasher (the "Fx" multiply-rotate scheme)
/// for the interner's table. Interned strings are label names and values;
/// Hash flooding is not a concern for a policy engine's own table, and
/// SipHash would dominate the cost of interning.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(rest) {
                *d = *s;
            }
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// Maps strings to [`Sym`]s and back. Append-only: a sym stays valid for the
/// interner's lifetime.
///
/// ```
/// use tabby_selector::Interner;
/// let mut i = Interner::new();
/// let a = i.intern("app");
/// assert_eq!(i.intern("app"), a);
/// assert_eq!(i.get("app"), Some(a));
/// assert_eq!(i.get("tier"), None);
/// assert_eq!(i.resolve(a), "app");
/// ```
#[derive(Default, Clone)]
pub struct Interner {
    map: HashMap<Arc<str>, Sym, FxBuild>,
    strings: Vec<Entry>,
}

/// One interned string with its first and last (up to) 8 bytes as words, so
/// `starts with`/`ends with` a short needle is a masked compare of one word
/// that sits next to the length (no load of the string's bytes).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) s: Arc<str>,
    /// The first `min(8, len)` bytes, little-endian, zero-padded above.
    pub(crate) head: u64,
    /// Bytes 8..16 the same way (zero when shorter).
    pub(crate) head2: u64,
    /// The last `min(8, len)` bytes, little-endian, ending at the top byte
    /// (zero-padded below).
    pub(crate) tail: u64,
}

impl Entry {
    fn new(s: Arc<str>) -> Self {
        let b = s.as_bytes();
        let mut head = [0u8; 8];
        for (d, x) in head.iter_mut().zip(b) {
            *d = *x;
        }
        let mut head2 = [0u8; 8];
        for (d, x) in head2.iter_mut().zip(b.iter().skip(8)) {
            *d = *x;
        }
        let mut tail = [0u8; 8];
        for (d, x) in tail.iter_mut().rev().zip(b.iter().rev()) {
            *d = *x;
        }
        Self {
            s,
            head: u64::from_le_bytes(head),
            head2: u64::from_le_bytes(head2),
            tail: u64::from_le_bytes(tail),
        }
    }
}

impl fmt::Debug for Interner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.strings.len())
            .finish()
    }
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sym of `s`, adding it if new.
    ///
    /// More than `u32::MAX` distinct strings cannot be represented; past that
    /// (tens of gigabytes of strings) the last sym is reused, which is wrong
    /// but does not crash.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.map.get(s) {
            return sym;
        }
        // `NO_SYM` is reserved; past it the last sym is reused (see above).
        let sym = Sym(u32::try_from(self.strings.len())
            .unwrap_or(NO_SYM)
            .min(NO_SYM - 1));
        let a: Arc<str> = s.into();
        self.strings.push(Entry::new(a.clone()));
        self.map.insert(a, sym);
        sym
    }

    /// The sym of `s` if it was interned; never adds.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }

    /// The string of `sym` (`""` for a sym from another interner that is out
    /// of range here).
    #[inline]
    pub fn resolve(&self, sym: Sym) -> &str {
        self.strings.get(sym.index()).map_or("", |e| &e.s)
    }

    /// The shared string of `sym`.
    pub fn resolve_arc(&self, sym: Sym) -> Option<&Arc<str>> {
        self.strings.get(sym.index()).map(|e| &e.s)
    }

    /// The entry of a raw sym ([`NO_SYM`] and foreign syms: `None`).
    #[inline]
    pub(crate) fn entry(&self, raw: u32) -> Option<&Entry> {
        self.strings.get(raw as usize)
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// True when nothing has been interned.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

/// One endpoint's labels as interned `(key, value)` pairs, sorted by key.
///
/// Keys and values are kept in two parallel arrays so a lookup scans (or
/// binary-searches) a dense array of `u32` keys.
///
/// ```
/// use tabby_selector::{Interner, Labels};
/// let mut i = Interner::new();
/// let l = Labels::new([("app", "web"), ("tier", "front")], &mut i);
/// assert_eq!(l.get(i.intern("app")), Some(i.intern("web")));
/// assert_eq!(l.get_str("tier", &i), Some("front"));
/// assert_eq!(l.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels {
    // INVARIANT: keys sorted and unique; values.len() == keys.len();
    // values[i] is the value of keys[i].
    keys: Vec<Sym>,
    values: Vec<Sym>,
}

/// Up to this many labels a lookup is a linear scan (faster than a binary
/// search's unpredictable branches on typical endpoints).
const LINEAR_MAX: usize = 16;

impl Labels {
    /// Interns and sorts `pairs`. If a key repeats, the last value wins.
    pub fn new<'a, I>(pairs: I, interner: &mut Interner) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        Self::from_syms(
            pairs
                .into_iter()
                .map(|(k, v)| (interner.intern(k), interner.intern(v)))
                .collect(),
        )
    }

    /// Builds from any label map-like iterator of owned or borrowed strings.
    pub fn from_pairs<K, V, I>(pairs: I, interner: &mut Interner) -> Self
    where
        K: AsRef<str>,
        V: AsRef<str>,
        I: IntoIterator<Item = (K, V)>,
    {
        Self::from_syms(
            pairs
                .into_iter()
                .map(|(k, v)| (interner.intern(k.as_ref()), interner.intern(v.as_ref())))
                .collect(),
        )
    }

    /// From already-interned pairs, in any order. If a key repeats, the last
    /// value wins.
    pub fn from_syms(mut pairs: Vec<(Sym, Sym)>) -> Self {
        // Stable sort keeps input order among equal keys; keep the last.
        pairs.sort_by_key(|p| p.0);
        let mut keys: Vec<Sym> = Vec::with_capacity(pairs.len());
        let mut values: Vec<Sym> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            if keys.last() == Some(&k) {
                if let Some(last) = values.last_mut() {
                    *last = v;
                }
            } else {
                keys.push(k);
                values.push(v);
            }
        }
        Self { keys, values }
    }

    #[inline]
    fn position(&self, key: Sym) -> Option<usize> {
        if self.keys.len() <= LINEAR_MAX {
            self.keys.iter().position(|&k| k == key)
        } else {
            self.keys.binary_search(&key).ok()
        }
    }

    /// The value of label `key`.
    #[inline]
    pub fn get(&self, key: Sym) -> Option<Sym> {
        self.position(key).and_then(|i| self.values.get(i).copied())
    }

    /// The sorted key syms and their values (parallel slices).
    #[inline]
    pub(crate) fn columns(&self) -> (&[Sym], &[Sym]) {
        (&self.keys, &self.values)
    }

    /// The value of label `key` given as a string.
    pub fn get_str<'i>(&self, key: &str, interner: &'i Interner) -> Option<&'i str> {
        let k = interner.get(key)?;
        self.get(k).map(|v| interner.resolve(v))
    }

    /// Sets `key` to `value`, replacing any previous value.
    pub fn insert(&mut self, key: Sym, value: Sym) {
        match self.keys.binary_search(&key) {
            Ok(i) => {
                if let Some(v) = self.values.get_mut(i) {
                    *v = value;
                }
            }
            Err(i) => {
                self.keys.insert(i, key);
                self.values.insert(i, value);
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: Sym) -> Option<Sym> {
        let i = self.keys.binary_search(&key).ok()?;
        self.keys.remove(i);
        Some(self.values.remove(i))
    }

    /// The pairs, sorted by key sym.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Sym, Sym)> + '_ {
        self.keys.iter().copied().zip(self.values.iter().copied())
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A string view for the plain evaluator and for display.
    pub fn with<'a>(&'a self, interner: &'a Interner) -> LabelsRef<'a> {
        LabelsRef {
            labels: self,
            interner,
        }
    }
}

/// [`Labels`] together with their interner, usable as a [`crate::LabelMap`].
#[derive(Debug, Clone, Copy)]
pub struct LabelsRef<'a> {
    labels: &'a Labels,
    interner: &'a Interner,
}

impl crate::LabelMap for LabelsRef<'_> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.labels.get_str(key, self.interner)
    }
}
