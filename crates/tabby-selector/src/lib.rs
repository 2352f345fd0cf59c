#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! ```text
//!   text ──lexer──► tokens ──parser──► Expr (AST) ──Display──► canonical text
//!                                        │
//!                    ┌───────────────────┴──────────────────┐
//!                    ▼                                      ▼
//!        Selector::matches(&impl LabelMap)      CompiledSelector::compile(&mut Interner)
//!        strings, for one-off checks            syms, for the engine's hot loop
//! ```
//!
//! - **Lexer**: Calico's tokenizer rules exactly, including its context rule
//!   that word operators exist only right after a label (so
//!   `contains contains "contains"` is valid) and that only spaces and tabs
//!   are whitespace. Labels are checked by [`is_valid_label`] rules.
//! - **Parser**: Calico's grammar and AST shape, with open parentheses on an
//!   explicit stack (constant stack use) and nesting bounded by
//!   [`MAX_DEPTH`]; errors carry a byte offset, a message, a help text and
//!   sometimes a did-you-mean suggestion.
//! - **Printer**: `Display` prints what Calico's `Selector.String()` prints, so
//!   canonical strings can be compared with Calico's and used as identities.
//! - **Why interning**: an engine evaluates every selector against every
//!   endpoint, and most terms are `==`/`in` tests. Interning label names and
//!   values once turns those into `u32` compares over a small sorted vector,
//!   with no hashing of strings and no allocation per match. Substring terms
//!   (`contains`, `starts with`, `ends with`) with needles of up to 8 bytes
//!   compare words the [`Interner`] keeps next to each string; longer ones
//!   resolve the value's string and search it.
//! - **How compile works**: [`CompiledSelector::compile`] walks the AST once,
//!   interns each label and value, gives each distinct label name a slot,
//!   turns `in` sets into sorted sym slices, folds `all()`/`global()` and
//!   empty sets to constants, and splits the root `&&`/`||`: its equality,
//!   `has` and small-set operands become branch-free compares, its substring
//!   operands direct tests, and the rest a flat list of tests with "true" and
//!   "false" jump targets (negations swap targets). For selectors naming 4–32
//!   labels, matching first fetches all their values in one pass over the
//!   endpoint's labels through a small collision-free hash table of the
//!   selector's label names.
//!
//! # Round trip
//!
//! For every selector the parser returns, `parse(print(s))` parses, matches
//! the same label sets, and equals `s` except in one case inherited from
//! Calico: `!(!x)` parses to a double negation, which Calico prints `!!x` and
//! which re-parses as `x`. [`Expr::normalize`] removes double negations, and
//! `parse(print(s)) == s.normalize()` holds for every parsed `s`.

mod ast;
#[doc(hidden)]
pub mod check;
mod compiled;
mod error;
mod eval;
mod intern;
mod lexer;
mod parser;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use ast::Expr;
pub use compiled::CompiledSelector;
pub use error::SelectorError;
pub use eval::LabelMap;
pub use intern::{Interner, Labels, LabelsRef, Sym};
pub use lexer::{is_valid_label, MAX_LABEL_LEN};
pub use parser::MAX_DEPTH;

/// A parsed Calico label selector.
///
/// Equality and hashing are structural over the AST (so `a == "x"` and
/// `a=='x'` are equal, and so are sets written in different orders).
///
/// ```
/// use tabby_selector::Selector;
/// let s: Selector = "role in {'db','web'} && !has(legacy)".parse().unwrap();
/// assert_eq!(s.to_string(), r#"(role in {"db", "web"} && !has(legacy))"#);
/// assert!(s.matches(&[("role", "web")]));
/// assert!(!s.matches(&[("role", "web"), ("legacy", "")]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector {
    root: Expr,
}

impl Selector {
    /// Parses `input` with Calico's grammar. Empty or blank input is `all()`.
    ///
    /// Never panics; work and memory are linear in the input length.
    ///
    /// ```
    /// use tabby_selector::Selector;
    /// assert!(Selector::parse("").unwrap().is_all());
    /// let e = Selector::parse("a == b").unwrap_err();
    /// assert_eq!((e.offset(), e.message()), (5, "expected a quoted value after `==`, found `b`"));
    /// ```
    pub fn parse(input: &str) -> Result<Selector, SelectorError> {
        parser::Parser::new(input)
            .parse_root()
            .map(|root| Selector { root })
    }

    /// `all()`: matches every endpoint.
    pub fn all() -> Selector {
        Selector { root: Expr::All }
    }

    /// Wraps a hand-built expression, after [`Expr::normalize`] (sorted sets,
    /// no single-operand groups, no double negation).
    ///
    /// Label names should satisfy [`is_valid_label`] and no value should
    /// contain both quote characters, or the printed form will not parse.
    pub fn from_expr(e: Expr) -> Selector {
        Selector {
            root: e.normalize(),
        }
    }

    /// The root of the AST.
    pub fn expr(&self) -> &Expr {
        &self.root
    }

    /// Consumes the selector, returning its AST.
    pub fn into_expr(self) -> Expr {
        self.root
    }

    /// True when the root is `all()` (the empty selector included).
    pub fn is_all(&self) -> bool {
        self.root == Expr::All
    }

    /// Whether an endpoint with `labels` is selected (Calico's `Evaluate`).
    ///
    /// ```
    /// use tabby_selector::Selector;
    /// let s = Selector::parse(r#"env != "prod""#).unwrap();
    /// assert!(s.matches(&[("app", "x")]));          // absent label: != is true
    /// assert!(!s.matches(&[("env", "prod")]));
    /// ```
    pub fn matches<L: LabelMap + ?Sized>(&self, labels: &L) -> bool {
        eval::eval(&self.root, labels)
    }

    /// `self && other`, as Calico would parse `(self) && (other)`; `all()` is
    /// the identity on either side.
    ///
    /// ```
    /// use tabby_selector::Selector;
    /// let a = Selector::parse("has(a)").unwrap();
    /// assert_eq!(Selector::all().and(a.clone()), a);
    /// assert_eq!(a.clone().and(Selector::parse("has(b)").unwrap()).to_string(), "(has(a) && has(b))");
    /// ```
    pub fn and(self, other: Selector) -> Selector {
        if self.is_all() {
            return other;
        }
        if other.is_all() {
            return self;
        }
        Selector {
            root: Expr::And(vec![self.root, other.root]),
        }
    }

    /// `!self`; a double negation cancels.
    ///
    /// ```
    /// use tabby_selector::Selector;
    /// let s = Selector::parse("a == 'x' || has(b)").unwrap();
    /// assert_eq!(s.clone().negate().to_string(), r#"!(a == "x" || has(b))"#);
    /// assert_eq!(s.clone().negate().negate(), s);
    /// ```
    pub fn negate(self) -> Selector {
        Selector {
            root: match self.root {
                Expr::Not(inner) => *inner,
                e => Expr::Not(Box::new(e)),
            },
        }
    }

    /// A copy with `prefix` put before every label name (Calico's
    /// `PrefixVisitor`, used to build `pcns.`/`pcsa.` selectors).
    ///
    /// ```
    /// use tabby_selector::Selector;
    /// let s = Selector::parse("team == 'a' && !has(x)").unwrap();
    /// assert_eq!(s.prefix_labels("pcns.").to_string(), r#"(pcns.team == "a" && !has(pcns.x))"#);
    /// ```
    pub fn prefix_labels(&self, prefix: &str) -> Selector {
        let mut f = |k: &Arc<str>| -> Arc<str> {
            let mut s = String::with_capacity(prefix.len() + k.len());
            s.push_str(prefix);
            s.push_str(k);
            s.into()
        };
        Selector {
            root: self.root.map_labels(&mut f),
        }
    }

    /// Distinct label names the selector refers to, in order of first use.
    ///
    /// ```
    /// use tabby_selector::Selector;
    /// let s = Selector::parse("a == 'x' || (has(b) && a != 'y')").unwrap();
    /// assert_eq!(s.label_keys(), ["a", "b"]);
    /// ```
    pub fn label_keys(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.root.walk(&mut |e| {
            if let Some(k) = e.label() {
                if !out.contains(&k) {
                    out.push(k);
                }
            }
        });
        out
    }

    /// True when `global()` appears anywhere in the selector.
    pub fn contains_global(&self) -> bool {
        let mut found = false;
        self.root.walk(&mut |e| found |= *e == Expr::Global);
        found
    }
}

impl Default for Selector {
    /// `all()`.
    fn default() -> Self {
        Selector::all()
    }
}

/// Calico's canonical form (`Selector.String()`).
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.root, f)
    }
}

impl FromStr for Selector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl From<Expr> for Selector {
    fn from(e: Expr) -> Self {
        Selector::from_expr(e)
    }
}
