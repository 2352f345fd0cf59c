//! Recursive-descent parser with the structure of Calico's
//! `libcalico-go/lib/selector/parser/parser.go`:
//!
//! ```text
//! root  := (or)? EOF                      empty or blank input is all()
//! or    := and ("||" and)*                one operand: no Or node
//! and   := unary ("&&" unary)*            one operand: no And node
//! unary := "!"* term                      parity of the "!" run decides
//! term  := has(l) | all() | global() | "(" or ")"
//!        | l ("==" | "!=" | contains | starts with | ends with) string
//!        | l ("in" | "not in") "{" (string ("," string)* ","?)? "}"
//! ```
//!
//! The parser keeps open parentheses on an explicit stack rather than
//! recursing, and runs of `!` are folded in a loop, so parsing takes constant
//! stack space. Nesting is still limited to [`MAX_DEPTH`] levels because the
//! resulting tree is walked recursively (printing, evaluating, dropping).

use std::sync::Arc;

use crate::ast::{sorted_set, truncate, Expr};
use crate::error::{SelectorError, HELP_JOIN, HELP_OPERATORS, HELP_SET, HELP_STRING, HELP_TERM};
use crate::lexer::{Lexer, Tok, Token};

/// Deepest parenthesis nesting accepted.
///
/// Calico has no such limit (its parser recurses on Go's growable stack), so
/// this is a deliberate difference: a selector within Calico's 1024-character
/// limit could nest up to 509 levels, but real selectors nest a handful.
/// 128 keeps every recursive walk of the tree (parse, print, compile, drop)
/// well inside a 2 MiB thread stack even in unoptimised builds.
pub const MAX_DEPTH: usize = 128;

/// One level of parenthesised expression being parsed.
#[derive(Default)]
struct Group<'a> {
    /// The `(` that opened this group; `None` at top level.
    open: Option<Token<'a>>,
    /// Whether an odd number of `!` preceded the `(`.
    negated: bool,
    /// Finished `&&` chains of this group, joined by `||`.
    or: Vec<Expr>,
    /// Terms of the `&&` chain being read.
    and: Vec<Expr>,
}

impl Group<'_> {
    /// Ends the current `&&` chain (at a `||` or at the group's end).
    fn close_and(&mut self) {
        let mut and = std::mem::take(&mut self.and);
        let e = if and.len() == 1 {
            and.pop().unwrap_or(Expr::All)
        } else {
            Expr::And(and)
        };
        self.or.push(e);
    }

    fn finish(mut self) -> Expr {
        self.close_and();
        if self.or.len() == 1 {
            self.or.pop().unwrap_or(Expr::All)
        } else {
            Expr::Or(self.or)
        }
    }
}

pub(crate) struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
}

/// `found ...` text for a token-sized range of the input.
pub(crate) fn describe_at(src: &str, at: usize, len: usize) -> String {
    if len == 0 || at >= src.len() {
        return "the end of the selector".to_owned();
    }
    let text = src.get(at..at + len).unwrap_or("");
    format!("`{}`", truncate(text, 64))
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self {
            src,
            lexer: Lexer::new(src),
            peeked: None,
        }
    }

    fn peek(&mut self) -> Result<Token<'a>, SelectorError> {
        if let Some(t) = self.peeked {
            return Ok(t);
        }
        let t = self.lexer.next_token()?;
        self.peeked = Some(t);
        Ok(t)
    }

    fn bump(&mut self) -> Result<Token<'a>, SelectorError> {
        let t = self.peek()?;
        self.peeked = None;
        Ok(t)
    }

    fn found(&self, t: &Token<'_>) -> String {
        describe_at(self.src, t.start, t.end - t.start)
    }

    fn err_at(&self, t: &Token<'_>, msg: String) -> SelectorError {
        SelectorError::new(t.start, t.end - t.start, msg)
    }

    pub(crate) fn parse_root(mut self) -> Result<Expr, SelectorError> {
        if self.peek()?.tok == Tok::Eof {
            return Ok(Expr::All);
        }
        let e = self.parse_expr()?;
        let t = self.peek()?;
        match t.tok {
            Tok::Eof => Ok(e),
            _ => Err(self.trailing(&t)),
        }
    }

    /// `or` with an explicit stack of open parentheses instead of recursion,
    /// so parsing uses constant stack space at any nesting depth.
    fn parse_expr(&mut self) -> Result<Expr, SelectorError> {
        // Open parenthesised groups, outermost first.
        let mut stack: Vec<Group<'a>> = Vec::new();
        let mut cur = Group::default();
        loop {
            // unary := "!"* term
            let mut negated = false;
            while self.peek()?.tok == Tok::Not {
                self.bump()?;
                negated = !negated;
            }
            let t = self.bump()?;
            let mut term = match t.tok {
                Tok::Has(k) => Expr::Has(k.into()),
                Tok::All => Expr::All,
                Tok::Global => Expr::Global,
                Tok::Label(k) => self.parse_comparison(k, &t)?,
                Tok::LParen => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.too_deep(&t));
                    }
                    let parent = std::mem::replace(
                        &mut cur,
                        Group {
                            open: Some(t),
                            negated,
                            ..Group::default()
                        },
                    );
                    stack.push(parent);
                    continue;
                }
                _ => return Err(self.not_a_term(&t)),
            };
            if negated {
                term = Expr::Not(Box::new(term));
            }
            // After a term: `&&`, `||`, or the end of the current group
            // (which may close several groups in a row).
            loop {
                cur.and.push(term);
                match self.peek()?.tok {
                    Tok::And => {
                        self.bump()?;
                        break;
                    }
                    Tok::Or => {
                        self.bump()?;
                        cur.close_and();
                        break;
                    }
                    _ => {}
                }
                let Some(open) = cur.open else {
                    // Top level: the caller checks for the end of input.
                    return Ok(cur.finish());
                };
                let close = self.bump()?;
                if close.tok != Tok::RParen {
                    return Err(self.unclosed(&open, &close));
                }
                let negated = cur.negated;
                let parent = stack.pop().unwrap_or_default();
                term = std::mem::replace(&mut cur, parent).finish();
                if negated {
                    term = Expr::Not(Box::new(term));
                }
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn trailing(&self, t: &Token<'_>) -> SelectorError {
        if t.tok == Tok::RParen {
            return self
                .err_at(t, "unmatched `)`".to_owned())
                .with_help("remove the `)` or add a matching `(` before it");
        }
        self.err_at(
            t,
            format!("unexpected {} after a complete expression", self.found(t)),
        )
        .with_help(HELP_JOIN)
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self, t: &Token<'_>) -> SelectorError {
        self.err_at(
            t,
            format!("parentheses nested more than {MAX_DEPTH} levels deep"),
        )
        .with_help("simplify the selector")
    }

    #[cold]
    #[inline(never)]
    fn unclosed(&self, open: &Token<'_>, close: &Token<'_>) -> SelectorError {
        self.err_at(
            close,
            format!(
                "expected `)` to close the `(` at byte {}, found {}",
                open.start,
                self.found(close)
            ),
        )
        .with_help(HELP_JOIN)
    }

    #[cold]
    #[inline(never)]
    fn not_a_term(&self, t: &Token<'_>) -> SelectorError {
        match t.tok {
            Tok::Eof => self
                .err_at(
                    t,
                    "expected a term, found the end of the selector".to_owned(),
                )
                .with_help(HELP_TERM),
            Tok::Str(_) => self
                .err_at(
                    t,
                    format!("expected a term, found the quoted value {}", self.found(t)),
                )
                .with_help("a comparison starts with the label name, e.g. `app == \"web\"`"),
            _ => self
                .err_at(t, format!("expected a term, found {}", self.found(t)))
                .with_help(HELP_TERM),
        }
    }

    #[inline(never)]
    fn parse_comparison(&mut self, k: &'a str, label: &Token<'a>) -> Result<Expr, SelectorError> {
        let op = self.bump()?;
        let key: Arc<str> = k.into();
        let op_text = self.src.get(op.start..op.end).unwrap_or("");
        match op.tok {
            Tok::Eq | Tok::Ne | Tok::Contains | Tok::StartsWith | Tok::EndsWith => {
                let v = self.bump()?;
                let Tok::Str(value) = v.tok else {
                    return Err(self
                        .err_at(
                            &v,
                            format!(
                                "expected a quoted value after `{op_text}`, found {}",
                                self.found(&v)
                            ),
                        )
                        .with_help(HELP_STRING));
                };
                let value: Arc<str> = value.into();
                Ok(match op.tok {
                    Tok::Eq => Expr::Eq(key, value),
                    Tok::Ne => Expr::Ne(key, value),
                    Tok::Contains => Expr::Contains(key, value),
                    Tok::StartsWith => Expr::StartsWith(key, value),
                    _ => Expr::EndsWith(key, value),
                })
            }
            Tok::In | Tok::NotIn => {
                let open = self.bump()?;
                if open.tok != Tok::LBrace {
                    return Err(self
                        .err_at(
                            &open,
                            format!(
                                "expected a set in braces after `{op_text}`, found {}",
                                self.found(&open)
                            ),
                        )
                        .with_help(HELP_SET));
                }
                let mut values: Vec<Arc<str>> = Vec::new();
                loop {
                    let t = self.bump()?;
                    match t.tok {
                        Tok::Str(s) => {
                            values.push(s.into());
                            let sep = self.bump()?;
                            match sep.tok {
                                Tok::Comma => {}
                                Tok::RBrace => break,
                                _ => {
                                    return Err(self
                                        .err_at(
                                            &sep,
                                            format!(
                                                "expected `,` or `}}` in set, found {}",
                                                self.found(&sep)
                                            ),
                                        )
                                        .with_help(HELP_SET))
                                }
                            }
                        }
                        Tok::RBrace => break,
                        _ => {
                            return Err(self
                                .err_at(
                                    &t,
                                    format!(
                                        "expected a quoted value or `}}` in set, found {}",
                                        self.found(&t)
                                    ),
                                )
                                .with_help(HELP_SET))
                        }
                    }
                }
                let set = sorted_set(values);
                Ok(if op.tok == Tok::In {
                    Expr::In(key, set)
                } else {
                    Expr::NotIn(key, set)
                })
            }
            _ => Err(self
                .err_at(
                    &op,
                    format!(
                        "expected an operator after label `{}`, found {}",
                        truncate(self.src.get(label.start..label.end).unwrap_or(""), 64),
                        self.found(&op)
                    ),
                )
                .with_help(HELP_OPERATORS)),
        }
    }
}
