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
//! A label lookup is a scan or binary search of the endpoint's sorted
//! `(Sym, Sym)` vector. Nothing allocates.
//!
//! Constant parts are folded while compiling: `all()` operands disappear from
//! `&&`, make `||` true, and so on, so `all() && x` costs exactly `x`.

use std::sync::Arc;

use crate::ast::Expr;
use crate::intern::{Interner, Labels, Sym};
use crate::Selector;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Const(bool),
    Has(Sym),
    Eq(Sym, Sym),
    Ne(Sym, Sym),
    In(Sym, Box<[Sym]>),
    NotIn(Sym, Box<[Sym]>),
    Contains(Sym, Box<str>),
    StartsWith(Sym, Box<str>),
    EndsWith(Sym, Box<str>),
    Not(Box<Node>),
    And(Box<[Node]>),
    Or(Box<[Node]>),
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
    root: Node,
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

fn lower(e: &Expr, i: &mut Interner) -> Node {
    match e {
        Expr::All | Expr::Global => Node::Const(true),
        Expr::Has(k) => Node::Has(i.intern(k)),
        Expr::Eq(k, v) => Node::Eq(i.intern(k), i.intern(v)),
        Expr::Ne(k, v) => Node::Ne(i.intern(k), i.intern(v)),
        Expr::In(k, s) => {
            let k = i.intern(k);
            match s.as_slice() {
                [] => Node::Const(false),
                [one] => Node::Eq(k, i.intern(one)),
                _ => Node::In(k, intern_set(i, s)),
            }
        }
        Expr::NotIn(k, s) => {
            let k = i.intern(k);
            match s.as_slice() {
                [] => Node::Const(true),
                [one] => Node::Ne(k, i.intern(one)),
                _ => Node::NotIn(k, intern_set(i, s)),
            }
        }
        // Every string contains, starts and ends with "": presence test.
        Expr::Contains(k, v) | Expr::StartsWith(k, v) | Expr::EndsWith(k, v) if v.is_empty() => {
            Node::Has(i.intern(k))
        }
        Expr::Contains(k, v) => Node::Contains(i.intern(k), (**v).into()),
        Expr::StartsWith(k, v) => Node::StartsWith(i.intern(k), (**v).into()),
        Expr::EndsWith(k, v) => Node::EndsWith(i.intern(k), (**v).into()),
        Expr::Not(e) => match lower(e, i) {
            Node::Const(b) => Node::Const(!b),
            Node::Not(inner) => *inner,
            Node::Has(k) => Node::Not(Box::new(Node::Has(k))),
            Node::Eq(k, v) => Node::Ne(k, v),
            Node::Ne(k, v) => Node::Eq(k, v),
            Node::In(k, s) => Node::NotIn(k, s),
            Node::NotIn(k, s) => Node::In(k, s),
            n => Node::Not(Box::new(n)),
        },
        Expr::And(v) => fold(v, i, true),
        Expr::Or(v) => fold(v, i, false),
    }
}

/// `&&` (identity `true`) or `||` (identity `false`) with constants folded
/// and nested groups of the same kind flattened.
fn fold(v: &[Expr], i: &mut Interner, is_and: bool) -> Node {
    let mut out: Vec<Node> = Vec::with_capacity(v.len());
    for e in v {
        match lower(e, i) {
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

impl Node {
    #[inline]
    fn eval(&self, l: &Labels, i: &Interner) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::Has(k) => l.get(*k).is_some(),
            Node::Eq(k, v) => l.get(*k) == Some(*v),
            Node::Ne(k, v) => l.get(*k) != Some(*v),
            Node::In(k, s) => l.get(*k).is_some_and(|x| set_contains(s, x)),
            Node::NotIn(k, s) => l.get(*k).is_none_or(|x| !set_contains(s, x)),
            Node::Contains(k, v) => l.get(*k).is_some_and(|x| i.resolve(x).contains(&**v)),
            Node::StartsWith(k, v) => l.get(*k).is_some_and(|x| i.resolve(x).starts_with(&**v)),
            Node::EndsWith(k, v) => l.get(*k).is_some_and(|x| i.resolve(x).ends_with(&**v)),
            Node::Not(n) => !n.eval(l, i),
            Node::And(v) => v.iter().all(|n| n.eval(l, i)),
            Node::Or(v) => v.iter().any(|n| n.eval(l, i)),
        }
    }
}

impl CompiledSelector {
    /// Lowers `sel`, interning its label names and values into `interner`.
    /// Match only [`Labels`] built with the same interner.
    pub fn compile(sel: &Selector, interner: &mut Interner) -> Self {
        Self {
            root: lower(sel.expr(), interner),
        }
    }

    /// Whether an endpoint with `labels` is selected. Never allocates.
    #[inline]
    pub fn matches(&self, labels: &Labels, interner: &Interner) -> bool {
        self.root.eval(labels, interner)
    }

    /// True when the selector matches every endpoint (it folded to `true`,
    /// e.g. `all()`, `global()`, `all() || x`).
    pub fn is_always(&self) -> bool {
        self.root == Node::Const(true)
    }

    /// True when the selector matches no endpoint at all by construction
    /// (e.g. `a in {}`, `!all()`).
    pub fn is_never(&self) -> bool {
        self.root == Node::Const(false)
    }
}
