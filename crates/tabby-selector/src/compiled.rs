//! Selectors compiled against an [`Interner`] for allocation-free matching.
//!
//! Compiling interns every label name and every `==`/`!=`/`in`/`not in`
//! value, so at match time:
//!
//! | term | work per match |
//! |---|---|
//! | `has(k)` | one label lookup |
//! | `k == v`, `k != v` | one lookup + one `u32` compare |
//! | `k in {..}` | one lookup + linear scan (≤ 16) or binary search of sorted syms |
//! | `contains`, `starts with`, `ends with` | one lookup + resolve the value's string + byte search |
//! | `all()`, `global()` | nothing |
//!
//! Terms refer to labels by *slot*: the index of the label name in the
//! selector's sorted list of distinct names. A selector with a few names looks
//! each one up in the endpoint's [`Labels`] when a term needs it. A selector
//! with more names (up to 32) first fetches all of them in one merge pass over
//! the two sorted key lists into a stack array, so each term then costs an
//! array read. Nothing allocates.
//!
//! Constant parts are folded while compiling: `all()` operands disappear from
//! `&&`, make `||` true, and so on, so `all() && x` costs exactly `x`.
//!
//! The folded tree is then turned into a flat program of tests, each with a
//! jump target for "true" and one for "false" (short-circuit code, as a
//! compiler emits for `&&`/`||`): matching is a loop over tests, with no
//! recursion and no separate steps for `!`, `!=` or `not in` (they swap the
//! targets).

use std::sync::Arc;

use crate::ast::Expr;
use crate::intern::{Interner, Labels, Sym};
use crate::Selector;

/// Index into [`CompiledSelector::keys`].
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

/// Most label names fetched up front into a stack array.
const MAX_SLOTS: usize = 32;
/// Up to this many names, look each up when needed instead.
const DIRECT_MAX: usize = 3;

/// How a term gets the value of the label in a slot.
trait Fetch {
    fn get(&self, slot: Slot) -> Option<Sym>;
}

/// Look up on demand.
struct Direct<'a> {
    labels: &'a Labels,
    keys: &'a [Sym],
}

impl Fetch for Direct<'_> {
    #[inline]
    fn get(&self, slot: Slot) -> Option<Sym> {
        self.keys
            .get(slot as usize)
            .and_then(|&k| self.labels.get(k))
    }
}

/// Fetched up front.
impl Fetch for [Option<Sym>; MAX_SLOTS] {
    #[inline]
    fn get(&self, slot: Slot) -> Option<Sym> {
        self.as_slice().get(slot as usize).copied().flatten()
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
    // INVARIANT: see `gen`; every Slot in `prog` indexes `keys`.
    prog: Box<[Ins]>,
    entry: Target,
    // INVARIANT: sorted, unique.
    keys: Box<[Sym]>,
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

#[inline]
fn set_contains(set: &[Sym], x: Sym) -> bool {
    if set.len() <= 16 {
        set.contains(&x)
    } else {
        set.binary_search(&x).is_ok()
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

/// One test of the compiled program. Negated forms (`!=`, `not in`, `!x`)
/// have no test of their own: they swap the jump targets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    Has(Slot),
    Eq(Slot, Sym),
    In(Slot, Box<[Sym]>),
    Contains(Slot, Box<str>),
    StartsWith(Slot, Box<str>),
    EndsWith(Slot, Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ins {
    test: Test,
    /// Next instruction when the test is true.
    yes: Target,
    /// Next instruction when the test is false.
    no: Target,
}

/// Short-circuit code generation: `gen(n, t, f)` emits code that jumps to
/// `t` when `n` is true and to `f` when false, and returns its entry point.
/// Operands are emitted last-first, so every jump goes to a smaller index
/// (or to a verdict) and evaluation always terminates.
fn gen(n: Node, t: Target, f: Target, prog: &mut Vec<Ins>) -> Target {
    let mut emit = |test: Test, yes: Target, no: Target| -> Target {
        prog.push(Ins { test, yes, no });
        Target::try_from(prog.len() - 1).unwrap_or(REJECT)
    };
    match n {
        Node::Const(true) => t,
        Node::Const(false) => f,
        Node::Has(k) => emit(Test::Has(k), t, f),
        Node::Eq(k, v) => emit(Test::Eq(k, v), t, f),
        Node::Ne(k, v) => emit(Test::Eq(k, v), f, t),
        Node::In(k, s) => emit(Test::In(k, s), t, f),
        Node::NotIn(k, s) => emit(Test::In(k, s), f, t),
        Node::Contains(k, v) => emit(Test::Contains(k, v), t, f),
        Node::StartsWith(k, v) => emit(Test::StartsWith(k, v), t, f),
        Node::EndsWith(k, v) => emit(Test::EndsWith(k, v), t, f),
        Node::Not(inner) => gen(*inner, f, t, prog),
        Node::And(v) => {
            let mut next = t;
            for c in v.into_vec().into_iter().rev() {
                next = gen(c, next, f, prog);
            }
            next
        }
        Node::Or(v) => {
            let mut next = f;
            for c in v.into_vec().into_iter().rev() {
                next = gen(c, t, next, prog);
            }
            next
        }
    }
}

impl Test {
    #[inline(always)]
    fn eval<F: Fetch + ?Sized>(&self, l: &F, i: &Interner) -> bool {
        match self {
            Test::Has(k) => l.get(*k).is_some(),
            Test::Eq(k, v) => l.get(*k) == Some(*v),
            Test::In(k, s) => l.get(*k).is_some_and(|x| set_contains(s, x)),
            Test::Contains(k, v) => l.get(*k).is_some_and(|x| contains(i.resolve(x), v)),
            Test::StartsWith(k, v) => l.get(*k).is_some_and(|x| starts_with(i.resolve(x), v)),
            Test::EndsWith(k, v) => l.get(*k).is_some_and(|x| ends_with(i.resolve(x), v)),
        }
    }
}

impl CompiledSelector {
    #[inline]
    fn run<F: Fetch + ?Sized>(&self, l: &F, i: &Interner) -> bool {
        let mut pc = self.entry;
        // INVARIANT: jumps only go to smaller indices or to a verdict, so
        // this loop ends; a verdict is never a valid index.
        while let Some(ins) = self.prog.get(pc as usize) {
            pc = if ins.test.eval(l, i) { ins.yes } else { ins.no };
        }
        pc == ACCEPT
    }
}

impl CompiledSelector {
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
        let mut prog = Vec::new();
        let entry = gen(root, ACCEPT, REJECT, &mut prog);
        Self {
            prog: prog.into_boxed_slice(),
            entry,
            keys: keys.into_boxed_slice(),
        }
    }

    /// Whether an endpoint with `labels` is selected. Never allocates.
    #[inline]
    pub fn matches(&self, labels: &Labels, interner: &Interner) -> bool {
        let n = self.keys.len();
        if n <= DIRECT_MAX || n > MAX_SLOTS {
            let direct = Direct {
                labels,
                keys: &self.keys,
            };
            self.run(&direct, interner)
        } else {
            let mut slots = [None; MAX_SLOTS];
            labels.fetch_sorted(&self.keys, &mut slots);
            self.run(&slots, interner)
        }
    }

    /// [`Self::matches`] always looking labels up one term at a time (for
    /// benchmarks comparing the two strategies).
    #[doc(hidden)]
    pub fn matches_direct(&self, labels: &Labels, interner: &Interner) -> bool {
        let direct = Direct {
            labels,
            keys: &self.keys,
        };
        self.run(&direct, interner)
    }

    /// True when the selector matches every endpoint (it folded to `true`,
    /// e.g. `all()`, `global()`, `all() || x`).
    pub fn is_always(&self) -> bool {
        self.entry == ACCEPT
    }

    /// True when the selector matches no endpoint at all by construction
    /// (e.g. `a in {}`, `!all()`).
    pub fn is_never(&self) -> bool {
        self.entry == REJECT
    }
}

#[cfg(test)]
mod tests {
    use super::{contains, ends_with, starts_with};

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
}
