//! Selectors compiled against an [`Interner`] for allocation-free matching.
//!
//! Compiling interns every label name and every `==`/`!=`/`in`/`not in`
//! value, so at match time:
//!
//! | term | work per match |
//! |---|---|
//! | `has(k)`, `k == v`, `k != v` | one `u32` compare of the fetched value |
//! | `k in {..}` | linear scan (≤ 16) or binary search of sorted syms |
//! | `starts with`, `ends with` a needle of ≤ 8 bytes | one masked compare of a word the interner keeps next to the string |
//! | `contains` (and longer needles) | resolve the value's string + byte search |
//! | `all()`, `global()` | nothing |
//!
//! **Fetching labels.** Terms refer to labels by *slot*. A selector naming
//! 4–32 distinct labels gets a small collision-free hash table at compile
//! time: a multiplier such that `(key * mul) >> shift` sends each of its label
//! names to its own slot of a 32- or 64-entry table. Matching first walks the
//! endpoint's labels once, hashing each key and keeping its value when the
//! table's slot holds that key (no branches that depend on the data beyond
//! that compare), so every term then reads its value from a stack array. A
//! selector with 1–3 names (or one for which no multiplier was found, or an
//! endpoint with very many labels) looks each name up when a term needs it.
//! Nothing allocates.
//!
//! Constant parts are folded while compiling: `all()` operands disappear from
//! `&&`, make `||` true, and so on, so `all() && x` costs exactly `x`.
//!
//! **Running.** The folded tree is turned into a flat program of 20-byte
//! instructions, each with a jump target for "true" and one for "false"
//! (short-circuit code, as a compiler emits for `&&`/`||`): matching is a
//! loop over instructions with no recursion and no separate steps for `!`,
//! `!=` or `not in` (they swap the targets). `has(k)` is compiled as "value
//! of `k` is not the absent marker", so `has`, `==` and `!=` share one kind
//! that the loop tests with a plain compare before any dispatch.

use std::sync::Arc;

use crate::ast::Expr;
use crate::intern::{Interner, Labels, Sym, NO_SYM};
use crate::Selector;

/// A label slot (see the module docs).
type Slot = u32;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Const(bool),
    Has(Slot),
    Eq(Slot, Sym),
    Ne(Slot, Sym),
    In(Slot, Box<[Sym]>),
    NotIn(Slot, Box<[Sym]>),
    Contains(Slot, Box<str>),
    StartsWith(Slot, Box<str>),
    EndsWith(Slot, Box<str>),
    Not(Box<Node>),
    And(Box<[Node]>),
    Or(Box<[Node]>),
}

/// Size of the per-selector hash table of label names.
const TABLE: usize = 64;
/// Most distinct label names fetched through the hash table.
const MAX_HASHED: usize = 32;
/// Up to this many names, look each up when needed instead.
const DIRECT_MAX: usize = 3;
/// Endpoints with more labels than this are looked up term by term (the
/// hashed fetch costs one step per endpoint label).
const FETCH_MAX_LABELS: usize = 96;

/// How a term gets the value (raw sym, [`NO_SYM`] when absent) of a slot.
trait Fetch {
    fn value(&self, slot: Slot) -> u32;
}

/// Look up on demand: `keys[slot]` is the label name of the slot.
struct Direct<'a> {
    labels: &'a Labels,
    keys: &'a [u32],
}

impl Fetch for Direct<'_> {
    #[inline]
    fn value(&self, slot: Slot) -> u32 {
        match self.keys.get(slot as usize) {
            Some(&k) if k != NO_SYM => {
                let (keys, values) = self.labels.columns();
                let at = if keys.len() <= 16 {
                    keys.iter().position(|x| x.raw() == k)
                } else {
                    keys.binary_search_by_key(&k, |x| x.raw()).ok()
                };
                at.and_then(|i| values.get(i)).map_or(NO_SYM, |v| v.raw())
            }
            _ => NO_SYM,
        }
    }
}

/// Fetched up front through the hash table.
impl Fetch for [u32; TABLE] {
    #[inline(always)]
    fn value(&self, slot: Slot) -> u32 {
        // Slots of a hashed selector are < TABLE by construction; the mask
        // makes that visible to the compiler (no bounds check).
        self.as_slice()
            .get(slot as usize & (TABLE - 1))
            .copied()
            .unwrap_or(NO_SYM)
    }
}

/// The label-name hash table of a selector with 4–32 names: slot =
/// top 6 bits of `key * mul` (a constant shift, so the slot needs no mask).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hash {
    mul: u32,
}

impl Hash {
    #[inline(always)]
    fn slot(&self, key: u32) -> usize {
        (key.wrapping_mul(self.mul) >> (32 - TABLE.trailing_zeros())) as usize
    }

    /// A multiplier that sends every key to its own slot, trying a fixed
    /// sequence of odd multipliers.
    fn find(keys: &[u32]) -> Option<Hash> {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        if keys.len() > MAX_HASHED {
            return None;
        }
        for _ in 0..8192 {
            // splitmix64 step
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let h = Hash {
                mul: (z as u32) | 1,
            };
            let mut used = 0u64;
            let ok = keys.iter().all(|&k| {
                let bit = 1u64 << (h.slot(k) & (TABLE - 1));
                let fresh = used & bit == 0;
                used |= bit;
                fresh
            });
            if ok {
                return Some(h);
            }
        }
        None
    }
}

/// A [`Selector`] lowered to interned symbols; see the module docs.
///
/// ```
/// use tabby_selector::{CompiledSelector, Interner, Labels, Selector};
/// let mut i = Interner::new();
/// let sel = Selector::parse(r#"app == "web" && tier in {"a", "b"}"#).unwrap();
/// let c = CompiledSelector::compile(&sel, &mut i);
/// let l = Labels::new([("app", "web"), ("tier", "b")], &mut i);
/// assert!(c.matches(&l, &i));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledSelector {
    // INVARIANT: see `gen`; every slot in `prog` indexes `slot_keys`, every
    // `arg` of an `In` indexes `sets`, of a string test indexes `needles`.
    /// Simple operands of the root `&&` (or `||`), tested first without
    /// branches; see [`Term`].
    terms: Box<[Term]>,
    /// Terms of a single value.
    singles: Box<[Single]>,
    /// The whole selector when it is one single-value term (`k == v`,
    /// `has(k)`, ...: the most common selectors), tested without the loops.
    only: Option<Single>,
    /// String tests of the root.
    strings: Box<[StrTerm]>,
    /// `singles`, `terms` and `strings` are operands of `||` (else of `&&`).
    any: bool,
    /// The other operands, as short-circuit code.
    prog: Box<[Ins]>,
    entry: Target,
    /// The label name (raw sym) of each slot, [`NO_SYM`] for unused slots.
    /// With `hash`, exactly [`TABLE`] entries indexed by hash slot; without,
    /// the sorted distinct names.
    slot_keys: Box<[u32]>,
    hash: Option<Hash>,
    sets: Box<[Box<[Sym]>]>,
    needles: Box<[Needle]>,
}

/// A `contains`/`starts with`/`ends with` operand, with the word and mask
/// used against [`crate::intern::Entry`]'s `head`/`tail` when it is short.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Needle {
    text: Box<str>,
    /// `starts with`: the needle's bytes from the bottom; `ends with`: from
    /// the top. Unused for `contains` and needles over 8 bytes.
    word: u64,
    mask: u64,
}

impl Needle {
    fn new(text: Box<str>, at_end: bool) -> Self {
        let b = text.as_bytes();
        let (mut word, mut mask) = ([0u8; 8], [0u8; 8]);
        if (1..=8).contains(&b.len()) {
            if at_end {
                for ((w, m), x) in word
                    .iter_mut()
                    .rev()
                    .zip(mask.iter_mut().rev())
                    .zip(b.iter().rev())
                {
                    (*w, *m) = (*x, 0xff);
                }
            } else {
                for ((w, m), x) in word.iter_mut().zip(mask.iter_mut()).zip(b) {
                    (*w, *m) = (*x, 0xff);
                }
            }
        }
        Self {
            text,
            word: u64::from_le_bytes(word),
            mask: u64::from_le_bytes(mask),
        }
    }
}

/// Byte equality as an inline loop: label values and needles are short, and
/// a call to `memcmp` costs more than comparing a handful of bytes here.
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[inline]
fn starts_with(hay: &str, prefix: &str) -> bool {
    let (h, p) = (hay.as_bytes(), prefix.as_bytes());
    h.get(..p.len()).is_some_and(|head| bytes_eq(head, p))
}

#[inline]
fn ends_with(hay: &str, suffix: &str) -> bool {
    let (h, s) = (hay.as_bytes(), suffix.as_bytes());
    h.len()
        .checked_sub(s.len())
        .and_then(|at| h.get(at..))
        .is_some_and(|tail| bytes_eq(tail, s))
}

/// Substring test tuned for label values (short haystacks): for each start
/// position whose byte equals the needle's first byte, compare the rest
/// inline. `str::contains` builds a two-way searcher per call, which costs
/// more than the search itself here.
#[inline(always)]
fn contains(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else {
        return true;
    };
    if h.len() > 256 {
        return hay.contains(needle);
    }
    // `windows` yields every start position where the needle fits.
    h.windows(n.len()).any(|w| {
        w.split_first()
            .is_some_and(|(&b, tail)| b == first && bytes_eq(tail, rest))
    })
}

/// `contains` for a needle of 1–8 bytes on an interned value of at most 16
/// bytes, from the entry's first two words: find the positions holding the
/// needle's first byte with word arithmetic, then compare the needle's word
/// at each. `None` when the value is longer (use the byte loop).
#[inline(always)]
fn contains_short(e: &crate::intern::Entry, n: &Needle) -> Option<bool> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let (len, nl) = (e.s.len(), n.text.len());
    if len > 16 {
        return None;
    }
    if len < nl {
        return Some(false);
    }
    let (lo, hi) = (e.head, e.head2);
    let first = (n.word & 0xff).wrapping_mul(LO);
    // Exact zero-byte test: the high bit of each byte of `x` that is zero.
    let zero = |x: u64| !(((x & HI7).wrapping_add(HI7)) | x | HI7);
    // Candidates past `len - nl` are dropped in the loops (they are rare:
    // bytes past `len` are zero).
    let last = (len - nl) as u32 * 8;
    let mut c_lo = zero(lo ^ first);
    let mut c_hi = zero(hi ^ first);
    while c_lo != 0 {
        let p = c_lo.trailing_zeros() & !7;
        if p > last {
            return Some(false);
        }
        let w = if p == 0 {
            lo
        } else {
            (lo >> p) | (hi << (64 - p))
        };
        if w & n.mask == n.word {
            return Some(true);
        }
        c_lo &= c_lo - 1;
    }
    while c_hi != 0 {
        let p = c_hi.trailing_zeros() & !7;
        if p + 64 > last {
            return Some(false);
        }
        if (hi >> p) & n.mask == n.word {
            return Some(true);
        }
        c_hi &= c_hi - 1;
    }
    Some(false)
}

#[inline]
fn set_contains(set: &[Sym], x: u32) -> bool {
    if set.len() <= 16 {
        set.iter().any(|s| s.raw() == x)
    } else {
        set.binary_search_by_key(&x, |s| s.raw()).is_ok()
    }
}

fn intern_set(interner: &mut Interner, s: &[Arc<str>]) -> Box<[Sym]> {
    let mut v: Vec<Sym> = s.iter().map(|x| interner.intern(x)).collect();
    v.sort_unstable();
    v.dedup();
    v.into_boxed_slice()
}

struct Lower<'a> {
    i: &'a mut Interner,
    keys: &'a [Sym],
}

impl Lower<'_> {
    fn slot(&mut self, k: &str) -> Slot {
        let sym = self.i.intern(k);
        // Every label name was collected into `keys` before lowering.
        let idx = self.keys.binary_search(&sym).unwrap_or(0);
        Slot::try_from(idx).unwrap_or(0)
    }

    fn lower(&mut self, e: &Expr) -> Node {
        match e {
            Expr::All | Expr::Global => Node::Const(true),
            Expr::Has(k) => Node::Has(self.slot(k)),
            Expr::Eq(k, v) => Node::Eq(self.slot(k), self.i.intern(v)),
            Expr::Ne(k, v) => Node::Ne(self.slot(k), self.i.intern(v)),
            Expr::In(k, s) => {
                let k = self.slot(k);
                match s.as_slice() {
                    [] => Node::Const(false),
                    [one] => Node::Eq(k, self.i.intern(one)),
                    _ => Node::In(k, intern_set(self.i, s)),
                }
            }
            Expr::NotIn(k, s) => {
                let k = self.slot(k);
                match s.as_slice() {
                    [] => Node::Const(true),
                    [one] => Node::Ne(k, self.i.intern(one)),
                    _ => Node::NotIn(k, intern_set(self.i, s)),
                }
            }
            // Every string contains, starts and ends with "": presence test.
            Expr::Contains(k, v) | Expr::StartsWith(k, v) | Expr::EndsWith(k, v)
                if v.is_empty() =>
            {
                Node::Has(self.slot(k))
            }
            Expr::Contains(k, v) => Node::Contains(self.slot(k), (**v).into()),
            Expr::StartsWith(k, v) => Node::StartsWith(self.slot(k), (**v).into()),
            Expr::EndsWith(k, v) => Node::EndsWith(self.slot(k), (**v).into()),
            Expr::Not(e) => match self.lower(e) {
                Node::Const(b) => Node::Const(!b),
                Node::Not(inner) => *inner,
                Node::Eq(k, v) => Node::Ne(k, v),
                Node::Ne(k, v) => Node::Eq(k, v),
                Node::In(k, s) => Node::NotIn(k, s),
                Node::NotIn(k, s) => Node::In(k, s),
                n => Node::Not(Box::new(n)),
            },
            Expr::And(v) => self.fold(v, true),
            Expr::Or(v) => self.fold(v, false),
        }
    }

    /// `&&` (identity `true`) or `||` (identity `false`) with constants
    /// folded and nested groups of the same kind flattened.
    fn fold(&mut self, v: &[Expr], is_and: bool) -> Node {
        let mut out: Vec<Node> = Vec::with_capacity(v.len());
        for e in v {
            match self.lower(e) {
                Node::Const(b) if b == is_and => {}
                Node::Const(b) => return Node::Const(b),
                Node::And(inner) if is_and => out.extend(inner.into_vec()),
                Node::Or(inner) if !is_and => out.extend(inner.into_vec()),
                n => out.push(n),
            }
        }
        match out.len() {
            0 => Node::Const(is_and),
            1 => out.pop().unwrap_or(Node::Const(is_and)),
            _ if is_and => Node::And(out.into_boxed_slice()),
            _ => Node::Or(out.into_boxed_slice()),
        }
    }
}

/// Where a test jumps next: an instruction index, or one of the two verdicts.
type Target = u32;
const ACCEPT: Target = u32::MAX;
const REJECT: Target = u32::MAX - 1;

/// A simple operand of the root `&&`/`||`: "the value of `slot` is one of
/// `vals`" (`has` is "not one of {absent}", `==` a set of one, `!=`/`not in`
/// negated, `k == a || k == b` a set of two), for sets of up to four values.
/// All terms are tested without branches (a handful of compares each), so
/// the common all-equality selector costs no jumps that depend on the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Term {
    /// Raw syms, padded by repeating the first.
    vals: [u32; 4],
    slot: Slot,
    neg: bool,
}

impl Term {
    /// The term for `n`, when `n` is simple enough.
    fn of(n: &Node) -> Option<Term> {
        let set = |slot: Slot, vals: &[u32], neg: bool| {
            let first = *vals.first()?;
            if vals.len() > 4 {
                return None;
            }
            let mut v = [first; 4];
            for (d, x) in v.iter_mut().zip(vals) {
                *d = *x;
            }
            Some(Term { vals: v, slot, neg })
        };
        let eq_of = |n: &Node| match n {
            Node::Eq(k, v) => Some((*k, v.raw())),
            _ => None,
        };
        let ne_of = |n: &Node| match n {
            Node::Ne(k, v) => Some((*k, v.raw())),
            _ => None,
        };
        // `k == a || k == b` and `k != a && k != b`: one slot, a few values.
        let same = |v: &[Node], f: &dyn Fn(&Node) -> Option<(Slot, u32)>, neg: bool| {
            let pairs: Option<Vec<(Slot, u32)>> = v.iter().map(f).collect();
            let pairs = pairs?;
            let slot = pairs.first()?.0;
            if pairs.iter().any(|p| p.0 != slot) {
                return None;
            }
            let vals: Vec<u32> = pairs.iter().map(|p| p.1).collect();
            set(slot, &vals, neg)
        };
        let raw = |s: &[Sym]| s.iter().map(|x| x.raw()).collect::<Vec<u32>>();
        match n {
            Node::Has(k) => set(*k, &[NO_SYM], true),
            Node::Eq(k, v) => set(*k, &[v.raw()], false),
            Node::Ne(k, v) => set(*k, &[v.raw()], true),
            Node::In(k, s) => set(*k, &raw(s), false),
            Node::NotIn(k, s) => set(*k, &raw(s), true),
            Node::Or(v) => same(v, &eq_of, false),
            Node::And(v) => same(v, &ne_of, true),
            Node::Not(inner) => Term::of(inner).map(|t| Term { neg: !t.neg, ..t }),
            _ => None,
        }
    }

    #[inline(always)]
    fn test<F: Fetch + ?Sized>(&self, l: &F) -> bool {
        let v = l.value(self.slot);
        // Written as a fold so it compiles to compares without branches.
        let hit = self.vals.iter().fold(false, |a, &x| a | (x == v));
        hit != self.neg
    }
}

/// A `contains`/`starts with`/`ends with` operand of the root `&&`/`||`
/// (possibly negated), tested right after the [`Term`]s without going
/// through the program loop.
fn string_leaf(n: &Node) -> bool {
    match n {
        Node::Contains(..) | Node::StartsWith(..) | Node::EndsWith(..) => true,
        Node::Not(inner) => string_leaf(inner),
        _ => false,
    }
}

/// The root split into simple operands and the rest, for a root `&&`
/// (`any == false`) or `||` (`any == true`).
struct Split {
    terms: Vec<Term>,
    strings: Vec<Node>,
    any: bool,
    rest: Node,
}

fn split(root: Node) -> Split {
    let (children, any) = match root {
        Node::And(v) => (v, false),
        Node::Or(v) => (v, true),
        n => (vec![n].into_boxed_slice(), false),
    };
    let (mut terms, mut strings, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for c in children.into_vec() {
        match Term::of(&c) {
            Some(t) => terms.push(t),
            None if string_leaf(&c) => strings.push(c),
            None => rest.push(c),
        }
    }
    let rest = match rest.len() {
        0 => Node::Const(!any),
        1 => rest.pop().unwrap_or(Node::Const(!any)),
        _ if any => Node::Or(rest.into_boxed_slice()),
        _ => Node::And(rest.into_boxed_slice()),
    };
    Split {
        terms,
        strings,
        any,
        rest,
    }
}

/// A term with a single value (`==`, `!=`, `has`): one compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Single {
    slot: Slot,
    want: u32,
    neg: bool,
}

impl Single {
    #[inline(always)]
    fn test<F: Fetch + ?Sized>(&self, l: &F) -> bool {
        (l.value(self.slot) == self.want) != self.neg
    }
}

/// A string test of the root: its instruction (targets unused) and whether
/// it is negated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StrTerm {
    ins: Ins,
    neg: bool,
}

/// What an instruction tests about the value of its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    /// Value equals `arg` (a raw sym; [`NO_SYM`] for "absent", i.e. `!has`).
    Eq,
    /// Value in `sets[arg]`.
    In,
    /// Value contains `needles[arg]` (≤ 8 bytes: word arithmetic on values
    /// of ≤ 16 bytes).
    ContainsShort,
    Contains,
    /// Value starts with `needles[arg]` (≤ 8 bytes: word compare).
    StartsShort,
    StartsWith,
    /// Value ends with `needles[arg]` (≤ 8 bytes: word compare).
    EndsShort,
    EndsWith,
}

/// One test of the compiled program. Negated forms (`!=`, `not in`, `!x`)
/// have no test of their own: they swap the jump targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ins {
    slot: Slot,
    arg: u32,
    /// Next instruction when the test is true.
    yes: Target,
    /// Next instruction when the test is false.
    no: Target,
    kind: Kind,
}

/// Builds the program and its side tables.
#[derive(Default)]
struct Gen {
    prog: Vec<Ins>,
    sets: Vec<Box<[Sym]>>,
    needles: Vec<Needle>,
}

impl Gen {
    fn emit(&mut self, kind: Kind, slot: Slot, arg: u32, yes: Target, no: Target) -> Target {
        self.prog.push(Ins {
            slot,
            arg,
            yes,
            no,
            kind,
        });
        Target::try_from(self.prog.len() - 1).unwrap_or(REJECT)
    }

    fn set(&mut self, s: Box<[Sym]>) -> u32 {
        self.sets.push(s);
        u32::try_from(self.sets.len() - 1).unwrap_or(u32::MAX)
    }

    fn needle(&mut self, text: Box<str>, at_end: bool) -> u32 {
        self.needles.push(Needle::new(text, at_end));
        u32::try_from(self.needles.len() - 1).unwrap_or(u32::MAX)
    }

    /// Short-circuit code generation: `gen(n, t, f)` emits code that jumps
    /// to `t` when `n` is true and to `f` when false, and returns its entry
    /// point. Operands are emitted last-first, so every jump goes to a
    /// smaller index (or to a verdict) and evaluation always terminates.
    fn gen(&mut self, n: Node, t: Target, f: Target) -> Target {
        match n {
            Node::Const(true) => t,
            Node::Const(false) => f,
            // has(k) <=> value != absent.
            Node::Has(k) => self.emit(Kind::Eq, k, NO_SYM, f, t),
            Node::Eq(k, v) => self.emit(Kind::Eq, k, v.raw(), t, f),
            Node::Ne(k, v) => self.emit(Kind::Eq, k, v.raw(), f, t),
            Node::In(k, s) => {
                let a = self.set(s);
                self.emit(Kind::In, k, a, t, f)
            }
            Node::NotIn(k, s) => {
                let a = self.set(s);
                self.emit(Kind::In, k, a, f, t)
            }
            Node::Contains(k, v) => {
                let kind = if v.len() <= 8 {
                    Kind::ContainsShort
                } else {
                    Kind::Contains
                };
                let a = self.needle(v, false);
                self.emit(kind, k, a, t, f)
            }
            Node::StartsWith(k, v) => {
                let kind = if v.len() <= 8 {
                    Kind::StartsShort
                } else {
                    Kind::StartsWith
                };
                let a = self.needle(v, false);
                self.emit(kind, k, a, t, f)
            }
            Node::EndsWith(k, v) => {
                let kind = if v.len() <= 8 {
                    Kind::EndsShort
                } else {
                    Kind::EndsWith
                };
                let a = self.needle(v, true);
                self.emit(kind, k, a, t, f)
            }
            Node::Not(inner) => self.gen(*inner, f, t),
            Node::And(v) => {
                let mut next = t;
                for c in v.into_vec().into_iter().rev() {
                    next = self.gen(c, next, f);
                }
                next
            }
            Node::Or(v) => {
                let mut next = f;
                for c in v.into_vec().into_iter().rev() {
                    next = self.gen(c, t, next);
                }
                next
            }
        }
    }
}

impl CompiledSelector {
    /// The tests other than `Eq`.
    #[inline(always)]
    fn test(&self, ins: &Ins, v: u32, i: &Interner) -> bool {
        let needle = || self.needles.get(ins.arg as usize);
        match ins.kind {
            Kind::Eq => v == ins.arg,
            Kind::In => self
                .sets
                .get(ins.arg as usize)
                .is_some_and(|s| set_contains(s, v)),
            Kind::StartsShort => match (i.entry(v), needle()) {
                (Some(e), Some(n)) => e.s.len() >= n.text.len() && e.head & n.mask == n.word,
                _ => false,
            },
            Kind::EndsShort => match (i.entry(v), needle()) {
                (Some(e), Some(n)) => e.s.len() >= n.text.len() && e.tail & n.mask == n.word,
                _ => false,
            },
            Kind::ContainsShort => match (i.entry(v), needle()) {
                (Some(e), Some(n)) => {
                    contains_short(e, n).unwrap_or_else(|| contains(&e.s, &n.text))
                }
                _ => false,
            },
            Kind::Contains => match (i.entry(v), needle()) {
                (Some(e), Some(n)) => contains(&e.s, &n.text),
                _ => false,
            },
            Kind::StartsWith => match (i.entry(v), needle()) {
                (Some(e), Some(n)) => starts_with(&e.s, &n.text),
                _ => false,
            },
            Kind::EndsWith => match (i.entry(v), needle()) {
                (Some(e), Some(n)) => ends_with(&e.s, &n.text),
                _ => false,
            },
        }
    }

    /// Runs the terms then the program. `BRANCHLESS`: evaluate every term
    /// (values already fetched, so each is a few compares) instead of
    /// stopping at the first that decides (when each costs a lookup).
    #[inline(always)]
    fn run<F: Fetch + ?Sized, const BRANCHLESS: bool>(&self, l: &F, i: &Interner) -> bool {
        let decided = match (self.any, BRANCHLESS) {
            (true, true) => {
                self.singles.iter().fold(false, |a, t| a | t.test(l))
                    | self.terms.iter().fold(false, |a, t| a | t.test(l))
            }
            (false, true) => {
                !(self.singles.iter().fold(true, |a, t| a & t.test(l))
                    & self.terms.iter().fold(true, |a, t| a & t.test(l)))
            }
            (true, false) => {
                self.singles.iter().any(|t| t.test(l)) || self.terms.iter().any(|t| t.test(l))
            }
            (false, false) => {
                !(self.singles.iter().all(|t| t.test(l)) && self.terms.iter().all(|t| t.test(l)))
            }
        };
        if decided {
            return self.any;
        }
        let mut decided = false;
        for t in self.strings.iter() {
            // Hand-written loop: an `any`/`all` closure was not inlined.
            if (self.test(&t.ins, l.value(t.ins.slot), i) != t.neg) == self.any {
                decided = true;
                break;
            }
        }
        if decided {
            return self.any;
        }
        let mut pc = self.entry;
        // INVARIANT: jumps only go to smaller indices or to a verdict, so
        // this loop ends; a verdict is never a valid index.
        while let Some(ins) = self.prog.get(pc as usize) {
            let v = l.value(ins.slot);
            // `has`, `==` and `!=` (most terms) without a dispatch.
            let hit = if ins.kind == Kind::Eq {
                v == ins.arg
            } else {
                self.test(ins, v, i)
            };
            pc = if hit { ins.yes } else { ins.no };
        }
        pc == ACCEPT
    }

    /// Lowers `sel`, interning its label names and values into `interner`.
    /// Match only [`Labels`] built with the same interner.
    pub fn compile(sel: &Selector, interner: &mut Interner) -> Self {
        let mut keys: Vec<Sym> = sel
            .label_keys()
            .into_iter()
            .map(|k| interner.intern(k))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let root = Lower {
            i: interner,
            keys: &keys,
        }
        .lower(sel.expr());
        let Split {
            terms,
            strings,
            any,
            rest,
        } = split(root);
        let mut g = Gen::default();
        let entry = g.gen(rest, ACCEPT, REJECT);
        // String leaves: emit each alone and keep its instruction.
        let mut strs = Vec::with_capacity(strings.len());
        for n in strings {
            let (n, neg) = match n {
                Node::Not(inner) => (*inner, true),
                n => (n, false),
            };
            let at = g.prog.len();
            g.gen(n, ACCEPT, REJECT);
            if let Some(ins) = g.prog.pop() {
                strs.push(StrTerm { ins, neg });
            }
            g.prog.truncate(at);
        }
        let (singles, mut terms): (Vec<Term>, Vec<Term>) = terms
            .into_iter()
            .partition(|t| t.vals.iter().all(|v| Some(v) == t.vals.first()));
        let mut singles: Vec<Single> = singles
            .into_iter()
            .map(|t| Single {
                slot: t.slot,
                want: t.vals.first().copied().unwrap_or(NO_SYM),
                neg: t.neg,
            })
            .collect();
        let raw: Vec<u32> = keys.iter().map(|k| k.raw()).collect();
        let hash = if (DIRECT_MAX + 1..=MAX_HASHED).contains(&raw.len()) {
            Hash::find(&raw)
        } else {
            None
        };
        let slot_keys: Box<[u32]> = match &hash {
            Some(h) => {
                // Renumber slots from key index to hash slot.
                let mut table = vec![NO_SYM; TABLE];
                for &k in &raw {
                    if let Some(t) = table.get_mut(h.slot(k)) {
                        *t = k;
                    }
                }
                let renumber = |slot: &mut Slot| {
                    let k = raw.get(*slot as usize).copied().unwrap_or(NO_SYM);
                    *slot = h.slot(k) as Slot;
                };
                g.prog.iter_mut().for_each(|ins| renumber(&mut ins.slot));
                terms.iter_mut().for_each(|t| renumber(&mut t.slot));
                singles.iter_mut().for_each(|t| renumber(&mut t.slot));
                strs.iter_mut().for_each(|t| renumber(&mut t.ins.slot));
                table.into_boxed_slice()
            }
            None => raw.into_boxed_slice(),
        };
        let only = match (
            singles.as_slice(),
            terms.is_empty(),
            strs.is_empty(),
            g.prog.is_empty(),
        ) {
            ([one], true, true, true) if entry == ACCEPT || entry == REJECT => {
                // `x && true`, `x || false` (the split's identities).
                let identity = if any { REJECT } else { ACCEPT };
                (entry == identity).then_some(*one)
            }
            _ => None,
        };
        Self {
            terms: terms.into_boxed_slice(),
            only,
            singles: singles.into_boxed_slice(),
            strings: strs.into_boxed_slice(),
            any,
            prog: g.prog.into_boxed_slice(),
            entry,
            slot_keys,
            hash,
            sets: g.sets.into_boxed_slice(),
            needles: g.needles.into_boxed_slice(),
        }
    }

    /// Whether an endpoint with `labels` is selected. Never allocates.
    #[inline]
    pub fn matches(&self, labels: &Labels, interner: &Interner) -> bool {
        let (keys, values) = labels.columns();
        match (&self.hash, <&[u32; TABLE]>::try_from(&*self.slot_keys)) {
            (Some(h), Ok(table)) if keys.len() <= FETCH_MAX_LABELS => {
                let mut vals = [NO_SYM; TABLE];
                for (k, v) in keys.iter().zip(values) {
                    let s = h.slot(k.raw());
                    if table.as_slice().get(s) == Some(&k.raw()) {
                        if let Some(x) = vals.get_mut(s) {
                            *x = v.raw();
                        }
                    }
                }
                self.run::<_, true>(&vals, interner)
            }
            _ => self.run_direct(labels, interner),
        }
    }

    #[inline(always)]
    fn run_direct(&self, labels: &Labels, interner: &Interner) -> bool {
        let direct = Direct {
            labels,
            keys: &self.slot_keys,
        };
        if let Some(t) = &self.only {
            return t.test(&direct);
        }
        self.run::<_, false>(&direct, interner)
    }

    /// [`Self::matches`] always looking labels up one term at a time (for
    /// benchmarks comparing the two strategies).
    #[doc(hidden)]
    pub fn matches_direct(&self, labels: &Labels, interner: &Interner) -> bool {
        self.run_direct(labels, interner)
    }

    /// True when the selector matches every endpoint (it folded to `true`,
    /// e.g. `all()`, `global()`, `all() || x`).
    pub fn is_always(&self) -> bool {
        self.terms.is_empty()
            && self.singles.is_empty()
            && self.strings.is_empty()
            && self.entry == ACCEPT
    }

    /// True when the selector matches no endpoint at all by construction
    /// (e.g. `a in {}`, `!all()`).
    pub fn is_never(&self) -> bool {
        self.terms.is_empty()
            && self.singles.is_empty()
            && self.strings.is_empty()
            && self.entry == REJECT
    }
}

#[cfg(test)]
mod tests {
    use super::{
        contains, contains_short, ends_with, starts_with, CompiledSelector, Hash, Needle,
        DIRECT_MAX, TABLE,
    };
    use crate::{Interner, Labels, Selector};

    #[test]
    fn hash_is_collision_free_or_absent() {
        for n in 1..=40u32 {
            let keys: Vec<u32> = (0..n).map(|k| k * 7 + 3).collect();
            match Hash::find(&keys) {
                Some(h) => {
                    let mut seen = [false; TABLE];
                    for &k in &keys {
                        let s = h.slot(k);
                        assert!(s < TABLE && !seen[s], "{n} keys: slot {s} reused");
                        seen[s] = true;
                    }
                }
                None => assert!(n > 32, "no table for {n} keys"),
            }
        }
    }

    /// Every fetch strategy (hashed, per term) and every size class agrees
    /// with the plain evaluator, including short and long needles.
    #[test]
    fn strategies_agree() {
        let values = [
            "",
            "a",
            "ab",
            "abc",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "xabcdefghx",
            "stable",
            "v1-stable",
            "-stable",
            "payments",
            "devops-team",
        ];
        let needles = [
            "a",
            "abc",
            "abcdefgh",
            "abcdefghi",
            "stable",
            "-stable",
            "x",
            "ops",
        ];
        for nkeys in [1usize, 3, 4, 10, 32, 33] {
            for (ni, needle) in needles.iter().enumerate() {
                let terms: Vec<String> = (0..nkeys)
                    .map(|k| match (k + ni) % 6 {
                        0 => format!("k{k} starts with \"{needle}\""),
                        1 => format!("k{k} ends with \"{needle}\""),
                        2 => format!("k{k} contains \"{needle}\""),
                        3 => format!("!has(k{k})"),
                        4 => format!("k{k} in {{\"a\", \"abc\"}}"),
                        _ => format!("k{k} != \"ab\""),
                    })
                    .collect();
                for op in [" || ", " && "] {
                    let sel = Selector::parse(&terms.join(op)).unwrap();
                    let mut i = Interner::new();
                    let c = CompiledSelector::compile(&sel, &mut i);
                    assert_eq!(
                        c.hash.is_some(),
                        nkeys > DIRECT_MAX && nkeys <= 32,
                        "{nkeys}"
                    );
                    for shift in 0..values.len() {
                        let map: std::collections::BTreeMap<String, String> = (0..nkeys + 2)
                            .filter(|k| (k + shift) % 4 != 0)
                            .map(|k| {
                                (
                                    format!("k{k}"),
                                    values[(k * 5 + shift) % values.len()].to_owned(),
                                )
                            })
                            .collect();
                        let l = Labels::from_pairs(map.iter(), &mut i);
                        let want = sel.matches(&map);
                        assert_eq!(c.matches(&l, &i), want, "{sel} on {map:?}");
                        assert_eq!(c.matches_direct(&l, &i), want, "{sel} on {map:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn substring_tests_agree_with_std() {
        let long = format!("{}needle{}", "a".repeat(300), "b".repeat(10));
        let hays = [
            "",
            "a",
            "aa",
            "aaab",
            "abab",
            "xyz",
            "héllo",
            "ééé",
            long.as_str(),
        ];
        let needles = [
            "", "a", "b", "aab", "ab", "abab", "ababa", "z", "é", "llo", "needle", "xyzz",
        ];
        for h in hays {
            for n in needles {
                assert_eq!(contains(h, n), h.contains(n), "{h:?} contains {n:?}");
                assert_eq!(
                    starts_with(h, n),
                    h.starts_with(n),
                    "{h:?} starts with {n:?}"
                );
                assert_eq!(ends_with(h, n), h.ends_with(n), "{h:?} ends with {n:?}");
            }
        }
    }

    #[test]
    fn word_contains_agrees_with_std() {
        let mut i = Interner::new();
        let hays = [
            "",
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "devops-team",
            "xxxxxxxxxxxxxxxy",
            "yxxxxxxxxxxxxxxx",
            "0123456789abcdef",
            "0123456789abcdefg",
            "aaaaaaaaaaaaaab",
            "é",
            "héllo wörld",
        ];
        let needles = [
            "a", "b", "ab", "ops", "y", "xy", "yx", "abcdefgh", "9abcdef", "89abcdef", "fg",
            "0123", "aaab", "aab", "ö", "llo w", "é",
        ];
        for h in hays {
            let sym = i.intern(h).raw();
            let e = i.entry(sym).unwrap().clone();
            for n in needles {
                let needle = Needle::new(n.into(), false);
                let got = contains_short(&e, &needle);
                if h.len() <= 16 {
                    assert_eq!(got, Some(h.contains(n)), "{h:?} contains {n:?}");
                } else {
                    assert_eq!(got, None);
                }
            }
        }
    }
}
