//! Tokenizer, byte for byte the rules of Calico's
//! `libcalico-go/lib/selector/tokenizer`:
//!
//! - whitespace is only `' '` and `'\t'`;
//! - `has(`, `all(` and `global(` are recognised only when written with no
//!   space before `(`, and only where a label is not expected to be followed by
//!   an operator;
//! - word operators (`contains`, `in`, `not in`, `starts with`, `ends with`) are
//!   recognised only directly after a label; everywhere else those words are
//!   labels. Multi-word operators allow any blanks between their words (or
//!   none); the last word must end at a word boundary;
//! - strings run to the next matching quote; there are no escapes.
//!
//! The lexer is pulled one token at a time by the parser, so an error is
//! reported at the first problem in reading order. Because Calico's tokenizer
//! depends only on the previous token, pulling lazily yields the same tokens.

use crate::error::{
    SelectorError, HELP_LABEL, HELP_OPERATORS, HELP_QUOTE, HELP_TERM, HELP_WHITESPACE,
};

/// Longest label name Calico accepts.
pub const MAX_LABEL_LEN: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    Label(&'a str),
    Str(&'a str),
    LBrace,
    RBrace,
    Comma,
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    All,
    Global,
    Has(&'a str),
    LParen,
    RParen,
    And,
    Or,
    Not,
    Eof,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub start: usize,
    pub end: usize,
}

/// Whether `c` may appear in a label name.
#[inline]
pub(crate) fn is_label_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-')
}

/// Whether `s` is a label name Calico accepts (non-empty, label characters
/// only, at most 512 bytes).
pub fn is_valid_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_LABEL_LEN && s.bytes().all(is_label_byte)
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    after_label: bool,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            after_label: false,
        }
    }

    #[inline]
    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    #[inline]
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn skip_blanks_from(&self, mut at: usize) -> usize {
        while matches!(self.byte(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        at
    }

    /// End of the run of label bytes starting at `at`.
    fn label_end(&self, mut at: usize) -> usize {
        while self.byte(at).is_some_and(is_label_byte) {
            at += 1;
        }
        at
    }

    fn at_word_boundary(&self, at: usize) -> bool {
        !self.byte(at).is_some_and(is_label_byte)
    }

    /// `words` in sequence starting at `at`, blanks allowed between them,
    /// the last ending at a word boundary; returns the end offset.
    fn cut_words(&self, at: usize, words: &[&str]) -> Option<usize> {
        let mut cur = at;
        let n = words.len();
        for (i, w) in words.iter().enumerate() {
            if !self.src.get(cur..)?.starts_with(w) {
                return None;
            }
            cur += w.len();
            if i + 1 < n {
                cur = self.skip_blanks_from(cur);
            }
        }
        // Calico also skips blanks after the last word before its boundary
        // check, so `a starts with b` fails there as "no operator", while here
        // the operator is taken and the parser then reports the missing quoted
        // value. Both reject exactly the same inputs; ours says more.
        self.at_word_boundary(cur).then_some(cur)
    }

    fn char_at(&self, at: usize) -> (char, usize) {
        self.src
            .get(at..)
            .and_then(|s| s.chars().next())
            .map_or(('\u{0}', 1), |c| (c, c.len_utf8()))
    }

    fn unexpected_char(&self, at: usize) -> SelectorError {
        let (c, len) = self.char_at(at);
        match c {
            '\n' | '\r' => {
                SelectorError::new(at, len, "line break in selector").with_help(HELP_WHITESPACE)
            }
            c if c.is_whitespace() => SelectorError::new(
                at,
                len,
                format!("unexpected whitespace character {}", c.escape_unicode()),
            )
            .with_help(HELP_WHITESPACE),
            c if c.is_control() => SelectorError::new(
                at,
                len,
                format!("unexpected control character {}", c.escape_unicode()),
            )
            .with_help(HELP_TERM),
            '`' => SelectorError::new(at, len, "unexpected character `` ` ``").with_help(HELP_TERM),
            c => SelectorError::new(at, len, format!("unexpected character `{c}`"))
                .with_help(HELP_TERM),
        }
    }

    /// Reads a label name at `at` (which must start with a label byte).
    fn label(&self, at: usize) -> Result<(&'a str, usize), SelectorError> {
        let end = self.label_end(at);
        let name = self.src.get(at..end).unwrap_or("");
        if name.len() > MAX_LABEL_LEN {
            return Err(SelectorError::new(
                at,
                name.len(),
                format!(
                    "label is {} characters long, more than the limit of {MAX_LABEL_LEN}",
                    name.len()
                ),
            )
            .with_help(HELP_LABEL));
        }
        Ok((name, end))
    }

    fn operator_error(&self, at: usize, label: &str) -> SelectorError {
        let word_end = self.label_end(at);
        let (c, _) = self.char_at(at);
        if word_end == at && (c.is_whitespace() || c.is_control()) {
            return self.unexpected_char(at);
        }
        let shown = if word_end > at {
            self.src.get(at..word_end).unwrap_or("")
        } else {
            self.src.get(at..at + self.char_at(at).1).unwrap_or("")
        };
        let len = shown.len();
        let msg = format!(
            "expected an operator after label `{}`, found `{}`",
            crate::ast::truncate(label, 64),
            crate::ast::truncate(shown, 64)
        );
        let mut err = SelectorError::new(at, len, msg).with_help(HELP_OPERATORS);
        if word_end > at {
            if let Some(s) = suggest_operator(shown) {
                err = err.with_suggestion(s.to_owned());
            }
        }
        err
    }

    /// The next token.
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, SelectorError> {
        let start = self.skip_blanks_from(self.pos);
        self.pos = start;
        let after_label = std::mem::replace(&mut self.after_label, false);
        let Some(c) = self.byte(start) else {
            return Ok(Token {
                tok: Tok::Eof,
                start,
                end: start,
            });
        };
        let next = self.byte(start + 1);
        let (tok, end) = match c {
            b'(' => (Tok::LParen, start + 1),
            b')' => (Tok::RParen, start + 1),
            b'{' => (Tok::LBrace, start + 1),
            b'}' => (Tok::RBrace, start + 1),
            b',' => (Tok::Comma, start + 1),
            b'"' | b'\'' => {
                let body = start + 1;
                let rest = self.src.get(body..).unwrap_or("");
                match rest.as_bytes().iter().position(|&b| b == c) {
                    Some(i) => (Tok::Str(rest.get(..i).unwrap_or("")), body + i + 1),
                    None => {
                        return Err(SelectorError::new(
                            start,
                            self.src.len() - start,
                            "unterminated string",
                        )
                        .with_help(HELP_QUOTE))
                    }
                }
            }
            b'=' => {
                if next == Some(b'=') {
                    (Tok::Eq, start + 2)
                } else {
                    return Err(SelectorError::new(start, 1, "expected `==`, found `=`")
                        .with_help(HELP_OPERATORS));
                }
            }
            b'!' => {
                if next == Some(b'=') {
                    (Tok::Ne, start + 2)
                } else {
                    (Tok::Not, start + 1)
                }
            }
            b'&' => {
                if next == Some(b'&') {
                    (Tok::And, start + 2)
                } else {
                    return Err(SelectorError::new(start, 1, "expected `&&`, found `&`")
                        .with_help("use `&&` for \"and\" and `||` for \"or\""));
                }
            }
            b'|' => {
                if next == Some(b'|') {
                    (Tok::Or, start + 2)
                } else {
                    return Err(SelectorError::new(start, 1, "expected `||`, found `|`")
                        .with_help("use `&&` for \"and\" and `||` for \"or\""));
                }
            }
            _ if after_label => {
                // Calico looks for the operators in this order.
                if let Some(e) = self.cut_words(start, &["contains"]) {
                    (Tok::Contains, e)
                } else if let Some(e) = self.cut_words(start, &["starts", "with"]) {
                    (Tok::StartsWith, e)
                } else if let Some(e) = self.cut_words(start, &["ends", "with"]) {
                    (Tok::EndsWith, e)
                } else if let Some(e) = self.cut_words(start, &["not", "in"]) {
                    (Tok::NotIn, e)
                } else if let Some(e) = self.cut_words(start, &["in"]) {
                    (Tok::In, e)
                } else {
                    return Err(self.operator_error(start, self.last_label_hint(start)));
                }
            }
            _ => {
                let rest = self.rest();
                if rest.starts_with("has(") {
                    let at = self.skip_blanks_from(start + 4);
                    if !self.byte(at).is_some_and(is_label_byte) {
                        return Err(if self.byte(at).is_none() {
                            SelectorError::new(at, 0, "expected a label name inside `has(`")
                        } else {
                            SelectorError::new(
                                at,
                                self.char_at(at).1,
                                "expected a label name inside `has(`",
                            )
                        }
                        .with_help(HELP_LABEL));
                    }
                    let (name, lend) = self.label(at)?;
                    let close = self.skip_blanks_from(lend);
                    if self.byte(close) != Some(b')') {
                        return Err(self.missing_close(close, "has("));
                    }
                    (Tok::Has(name), close + 1)
                } else if rest.starts_with("all(") {
                    let close = self.skip_blanks_from(start + 4);
                    if self.byte(close) != Some(b')') {
                        return Err(self.missing_close(close, "all("));
                    }
                    (Tok::All, close + 1)
                } else if rest.starts_with("global(") {
                    let close = self.skip_blanks_from(start + 7);
                    if self.byte(close) != Some(b')') {
                        return Err(self.missing_close(close, "global("));
                    }
                    (Tok::Global, close + 1)
                } else if is_label_byte(c) {
                    let (name, end) = self.label(start)?;
                    self.after_label = true;
                    (Tok::Label(name), end)
                } else {
                    return Err(self.unexpected_char(start));
                }
            }
        };
        self.pos = end;
        Ok(Token { tok, start, end })
    }

    /// The label just before `at` (for messages); blanks are skipped backwards.
    fn last_label_hint(&self, at: usize) -> &'a str {
        let bytes = self.src.as_bytes();
        let mut end = at;
        while end > 0 && matches!(bytes.get(end - 1), Some(b' ' | b'\t')) {
            end -= 1;
        }
        let mut begin = end;
        while begin > 0 && bytes.get(begin - 1).is_some_and(|&b| is_label_byte(b)) {
            begin -= 1;
        }
        self.src.get(begin..end).unwrap_or("")
    }

    fn missing_close(&self, at: usize, what: &str) -> SelectorError {
        let len = if self.byte(at).is_some() {
            self.char_at(at).1
        } else {
            0
        };
        let found = crate::parser::describe_at(self.src, at, len);
        let (msg, help) = if what == "has(" {
            (
                format!("expected `)` to close `has(`, found {found}"),
                "`has` takes exactly one label name, e.g. `has(app)`",
            )
        } else {
            (
                format!("expected `)` after `{what}`, found {found}"),
                "`all()` and `global()` take no arguments",
            )
        };
        SelectorError::new(at, len, msg).with_help(help)
    }
}

/// Did-you-mean for a word written where an operator was expected.
fn suggest_operator(word: &str) -> Option<&'static str> {
    match word.to_ascii_lowercase().as_str() {
        "eq" | "equals" | "is" | "equal" => return Some("=="),
        "ne" | "neq" | "isnot" | "notequals" => return Some("!="),
        "notcontains" => return Some("!label contains"),
        "has" => return Some("has(label)"),
        _ => {}
    }
    const CANDIDATES: &[(&str, &str)] = &[
        ("contains", "contains"),
        ("startswith", "starts with"),
        ("endswith", "ends with"),
        ("starts", "starts with"),
        ("ends", "ends with"),
        ("notin", "not in"),
        ("not", "not in"),
        ("in", "in"),
    ];
    let lower = word.to_ascii_lowercase();
    if let Some((_, s)) = CANDIDATES.iter().find(|(w, _)| *w == lower) {
        // Right word, wrong case or missing second word.
        return Some(s);
    }
    let best = tabby_diag::did_you_mean(&lower, CANDIDATES.iter().map(|(w, _)| *w))?;
    CANDIDATES.iter().find(|(w, _)| *w == best).map(|(_, s)| *s)
}
