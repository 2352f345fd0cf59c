//! The selector AST and its canonical printer (Calico's `Selector.String()`).

use std::fmt;
use std::sync::Arc;

/// One node of a selector expression.
///
/// The shape is exactly what Calico's parser builds: `a && b && c` is one
/// [`Expr::And`] with three operands, `(a && b) && c` is an `And` inside an
/// `And`; source parentheses leave no node of their own; runs of `!` collapse
/// by parity, so `!!x` is `x` and `!!!x` is `Not(x)`.
///
/// Equality and hashing are structural. Sets in [`Expr::In`]/[`Expr::NotIn`]
/// are kept sorted (byte order) and de-duplicated by the parser and by
/// [`crate::Selector::from_expr`], so two selectors that differ only in set
/// order compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expr {
    /// `all()`, also the meaning of an empty selector: matches everything.
    All,
    /// `global()`: matches everything; only meaningful inside an entity
    /// rule's `namespaceSelector`, where it selects non-namespaced entities.
    Global,
    /// `has(label)`.
    Has(Arc<str>),
    /// `label == "value"`: label present with exactly this value.
    Eq(Arc<str>, Arc<str>),
    /// `label != "value"`: label absent, or present with another value.
    Ne(Arc<str>, Arc<str>),
    /// `label in {"a", "b"}`: label present with one of the values.
    In(Arc<str>, Vec<Arc<str>>),
    /// `label not in {"a", "b"}`: label absent, or its value is none of these.
    NotIn(Arc<str>, Vec<Arc<str>>),
    /// `label contains "v"`: label present and its value contains `v`.
    Contains(Arc<str>, Arc<str>),
    /// `label starts with "v"`: label present and its value starts with `v`.
    StartsWith(Arc<str>, Arc<str>),
    /// `label ends with "v"`: label present and its value ends with `v`.
    EndsWith(Arc<str>, Arc<str>),
    /// `!x`.
    Not(Box<Expr>),
    /// `a && b && ...` (two or more operands when built by the parser).
    And(Vec<Expr>),
    /// `a || b || ...` (two or more operands when built by the parser).
    Or(Vec<Expr>),
}

impl Expr {
    /// The label this term tests, for the leaf terms that test one.
    pub fn label(&self) -> Option<&str> {
        match self {
            Expr::Has(k)
            | Expr::Eq(k, _)
            | Expr::Ne(k, _)
            | Expr::In(k, _)
            | Expr::NotIn(k, _)
            | Expr::Contains(k, _)
            | Expr::StartsWith(k, _)
            | Expr::EndsWith(k, _) => Some(k),
            Expr::All | Expr::Global | Expr::Not(_) | Expr::And(_) | Expr::Or(_) => None,
        }
    }

    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Not(e) => e.walk(f),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.walk(f)),
            _ => {}
        }
    }

    /// A copy with every label name passed through `f` (Calico's visitors).
    pub fn map_labels(&self, f: &mut impl FnMut(&Arc<str>) -> Arc<str>) -> Expr {
        match self {
            Expr::All => Expr::All,
            Expr::Global => Expr::Global,
            Expr::Has(k) => Expr::Has(f(k)),
            Expr::Eq(k, v) => Expr::Eq(f(k), v.clone()),
            Expr::Ne(k, v) => Expr::Ne(f(k), v.clone()),
            Expr::In(k, s) => Expr::In(f(k), s.clone()),
            Expr::NotIn(k, s) => Expr::NotIn(f(k), s.clone()),
            Expr::Contains(k, v) => Expr::Contains(f(k), v.clone()),
            Expr::StartsWith(k, v) => Expr::StartsWith(f(k), v.clone()),
            Expr::EndsWith(k, v) => Expr::EndsWith(f(k), v.clone()),
            Expr::Not(e) => Expr::Not(Box::new(e.map_labels(f))),
            Expr::And(v) => Expr::And(v.iter().map(|e| e.map_labels(f)).collect()),
            Expr::Or(v) => Expr::Or(v.iter().map(|e| e.map_labels(f)).collect()),
        }
    }

    /// Puts a hand-built tree into the form the parser produces, so that
    /// printing and re-parsing gives it back: sets sorted and de-duplicated,
    /// single-operand `&&`/`||` unwrapped, empty `&&` becomes `all()`, empty
    /// `||` becomes `!all()` (it matches nothing), and `!!x` becomes `x`.
    pub fn normalize(self) -> Expr {
        match self {
            Expr::In(k, s) => Expr::In(k, sorted_set(s)),
            Expr::NotIn(k, s) => Expr::NotIn(k, sorted_set(s)),
            Expr::Not(e) => match e.normalize() {
                Expr::Not(inner) => *inner,
                e => Expr::Not(Box::new(e)),
            },
            Expr::And(v) => {
                let mut v: Vec<Expr> = v.into_iter().map(Expr::normalize).collect();
                match v.len() {
                    0 => Expr::All,
                    1 => v.pop().unwrap_or(Expr::All),
                    _ => Expr::And(v),
                }
            }
            Expr::Or(v) => {
                let mut v: Vec<Expr> = v.into_iter().map(Expr::normalize).collect();
                match v.len() {
                    0 => Expr::Not(Box::new(Expr::All)),
                    1 => v.pop().unwrap_or(Expr::All),
                    _ => Expr::Or(v),
                }
            }
            e => e,
        }
    }
}

/// Sorts (byte order) and de-duplicates a set, as Calico's `StringSet` does.
pub(crate) fn sorted_set(mut s: Vec<Arc<str>>) -> Vec<Arc<str>> {
    s.sort_unstable();
    s.dedup();
    s
}

/// At most `max` bytes of `s` (cut on a character boundary), with `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s.get(..end).unwrap_or("")).into()
}

fn write_quoted(f: &mut impl fmt::Write, v: &str) -> fmt::Result {
    // Calico: double quotes unless the value contains one.
    let q = if v.contains('"') { '\'' } else { '"' };
    f.write_char(q)?;
    f.write_str(v)?;
    f.write_char(q)
}

fn write_cmp(f: &mut impl fmt::Write, k: &str, op: &str, v: &str) -> fmt::Result {
    f.write_str(k)?;
    f.write_str(op)?;
    write_quoted(f, v)
}

fn write_set(f: &mut impl fmt::Write, k: &str, op: &str, s: &[Arc<str>]) -> fmt::Result {
    f.write_str(k)?;
    f.write_str(op)?;
    f.write_char('{')?;
    for (i, v) in s.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_quoted(f, v)?;
    }
    f.write_char('}')
}

fn write_group(f: &mut impl fmt::Write, v: &[Expr], sep: &str) -> fmt::Result {
    f.write_char('(')?;
    for (i, e) in v.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write_expr(f, e)?;
    }
    f.write_char(')')
}

pub(crate) fn write_expr(f: &mut impl fmt::Write, e: &Expr) -> fmt::Result {
    match e {
        Expr::All => f.write_str("all()"),
        Expr::Global => f.write_str("global()"),
        Expr::Has(k) => {
            f.write_str("has(")?;
            f.write_str(k)?;
            f.write_char(')')
        }
        Expr::Eq(k, v) => write_cmp(f, k, " == ", v),
        Expr::Ne(k, v) => write_cmp(f, k, " != ", v),
        Expr::Contains(k, v) => write_cmp(f, k, " contains ", v),
        Expr::StartsWith(k, v) => write_cmp(f, k, " starts with ", v),
        Expr::EndsWith(k, v) => write_cmp(f, k, " ends with ", v),
        Expr::In(k, s) => write_set(f, k, " in ", s),
        Expr::NotIn(k, s) => write_set(f, k, " not in ", s),
        Expr::Not(e) => {
            f.write_char('!')?;
            write_expr(f, e)
        }
        Expr::And(v) => write_group(f, v, " && "),
        Expr::Or(v) => write_group(f, v, " || "),
    }
}

/// Prints the canonical form, the same text as Calico's `Selector.String()`.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, self)
    }
}
