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
//! Recursion happens only through parentheses; nesting is limited to
//! [`MAX_DEPTH`] levels so hostile input cannot overflow the stack (a
//! selector within Calico's 1024-character limit never needs more).
//! Runs of `!` are folded in a loop, so any length is fine.

use std::sync::Arc;

use crate::ast::{sorted_set, truncate, Expr};
use crate::error::{SelectorError, HELP_JOIN, HELP_OPERATORS, HELP_SET, HELP_STRING, HELP_TERM};
use crate::lexer::{Lexer, Tok, Token};

/// Deepest parenthesis nesting accepted. A 1024-character selector (Calico's
/// validation limit) can nest at most 511 levels, so every selector Calico's
/// validation accepts parses here.
pub const MAX_DEPTH: usize = 512;

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
        let e = self.parse_or(0)?;
        let t = self.peek()?;
        match t.tok {
            Tok::Eof => Ok(e),
            Tok::RParen => Err(self
                .err_at(&t, "unmatched `)`".to_owned())
                .with_help("remove the `)` or add a matching `(` before it")),
            _ => Err(self
                .err_at(
                    &t,
                    format!(
                        "unexpected {} after a complete expression",
                        self.found(&t)
                    ),
                )
                .with_help(HELP_JOIN)),
        }
    }

    fn parse_or(&mut self, depth: usize) -> Result<Expr, SelectorError> {
        let first = self.parse_and(depth)?;
        if self.peek()?.tok != Tok::Or {
            return Ok(first);
        }
        let mut v = vec![first];
        while self.peek()?.tok == Tok::Or {
            self.bump()?;
            v.push(self.parse_and(depth)?);
        }
        Ok(Expr::Or(v))
    }

    fn parse_and(&mut self, depth: usize) -> Result<Expr, SelectorError> {
        let first = self.parse_unary(depth)?;
        if self.peek()?.tok != Tok::And {
            return Ok(first);
        }
        let mut v = vec![first];
        while self.peek()?.tok == Tok::And {
            self.bump()?;
            v.push(self.parse_unary(depth)?);
        }
        Ok(Expr::And(v))
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Expr, SelectorError> {
        let mut negated = false;
        while self.peek()?.tok == Tok::Not {
            self.bump()?;
            negated = !negated;
        }
        let e = self.parse_term(depth)?;
        Ok(if negated { Expr::Not(Box::new(e)) } else { e })
    }

    fn parse_term(&mut self, depth: usize) -> Result<Expr, SelectorError> {
        let t = self.bump()?;
        match t.tok {
            Tok::Has(k) => Ok(Expr::Has(k.into())),
            Tok::All => Ok(Expr::All),
            Tok::Global => Ok(Expr::Global),
            Tok::Label(k) => self.parse_comparison(k, &t),
            Tok::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(self
                        .err_at(
                            &t,
                            format!("parentheses nested more than {MAX_DEPTH} levels deep"),
                        )
                        .with_help("simplify the selector"));
                }
                let e = self.parse_or(depth + 1)?;
                let close = self.bump()?;
                if close.tok != Tok::RParen {
                    return Err(self
                        .err_at(
                            &close,
                            format!(
                                "expected `)` to close the `(` at byte {}, found {}",
                                t.start,
                                self.found(&close)
                            ),
                        )
                        .with_help(HELP_JOIN));
                }
                Ok(e)
            }
            Tok::Eof => Err(self
                .err_at(&t, "expected a term, found the end of the selector".to_owned())
                .with_help(HELP_TERM)),
            Tok::Str(_) => Err(self
                .err_at(
                    &t,
                    format!("expected a term, found the quoted value {}", self.found(&t)),
                )
                .with_help("a comparison starts with the label name, e.g. `app == \"web\"`")),
            _ => Err(self
                .err_at(&t, format!("expected a term, found {}", self.found(&t)))
                .with_help(HELP_TERM)),
        }
    }

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
