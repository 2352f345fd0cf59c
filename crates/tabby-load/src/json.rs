//! A small JSON parser that keeps byte spans.
//!
//! JSON is not read through the YAML parser: YAML gives no end positions, rejects some
//! valid JSON layouts with tabs, and cannot read a *stream* of concatenated objects
//! (`{..}{..}`, as `kubectl get -o json --watch` and `jq -c` print). The parser is
//! iterative (an explicit stack, depth-capped), so deep input cannot overflow the stack.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use tabby_diag::{Diagnostic, Diagnostics, Loc, SourceFile};

use crate::codes;
use crate::node::{Node, NodeKind};
use crate::LoadOptions;

struct SyntaxError {
    at: usize,
    code: &'static str,
    message: String,
    help: Option<String>,
}

enum Frame {
    Seq {
        start: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        seen: HashMap<String, Range<usize>>,
    },
}

struct JsonParser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    opts: &'a LoadOptions,
    file: &'a Arc<SourceFile>,
    diags: &'a mut Diagnostics,
    /// Set when the current document had a non-syntax error (duplicate key, number
    /// out of range): the document is reported and left out, parsing goes on.
    doc_failed: bool,
}

/// Parses a stream of JSON values (usually one object, or several concatenated).
/// Stops at the first syntax error; values before it are kept.
pub(crate) fn parse(
    text: &str,
    file: &Arc<SourceFile>,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut p = JsonParser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        opts,
        file,
        diags,
        doc_failed: false,
    };
    let mut docs = Vec::new();
    loop {
        p.skip_ws();
        if p.pos >= p.bytes.len() {
            break;
        }
        p.doc_failed = false;
        match p.value() {
            Ok(node) => {
                if !p.doc_failed {
                    docs.push(node);
                }
            }
            Err(e) => {
                let mut d = Diagnostic::error(e.code, e.message).at(p.loc(e.at..e.at));
                d.help = e.help;
                p.diags.push(d);
                break;
            }
        }
    }
    docs
}

impl JsonParser<'_> {
    fn loc(&self, span: Range<usize>) -> Loc {
        Loc::new(self.file.clone(), span)
    }

    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn found(&self) -> String {
        match self.text.get(self.pos..).and_then(|r| r.chars().next()) {
            None => "the end of the input".to_owned(),
            Some(c) if c.is_control() => format!("`{}`", c.escape_default()),
            Some(c) => format!("`{c}`"),
        }
    }

    fn err(&self, expected: &str) -> SyntaxError {
        SyntaxError {
            at: self.pos,
            code: codes::JSON_SYNTAX,
            message: format!("invalid json: expected {expected}, found {}", self.found()),
            help: None,
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), SyntaxError> {
        if depth > self.opts.max_depth {
            return Err(SyntaxError {
                at: self.pos,
                code: codes::TOO_DEEP,
                message: format!(
                    "nesting is deeper than the limit of {} levels",
                    self.opts.max_depth
                ),
                help: Some(
                    "policies need only a few levels; check for unbalanced brackets".to_owned(),
                ),
            });
        }
        Ok(())
    }

    /// One complete value, iteratively.
    fn value(&mut self) -> Result<Node, SyntaxError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            self.skip_ws();
            let start = self.pos;
            let mut node = match self.bytes.get(self.pos) {
                Some(b'{') => {
                    self.check_depth(stack.len() + 1)?;
                    self.pos += 1;
                    self.skip_ws();
                    if self.bytes.get(self.pos) == Some(&b'}') {
                        self.pos += 1;
                        Node::new(NodeKind::Map(Vec::new()), start..self.pos)
                    } else {
                        let mut seen = HashMap::new();
                        let key = self.key(&mut seen)?;
                        stack.push(Frame::Map {
                            start,
                            entries: Vec::new(),
                            key: Some(key),
                            seen,
                        });
                        continue;
                    }
                }
                Some(b'[') => {
                    self.check_depth(stack.len() + 1)?;
                    self.pos += 1;
                    self.skip_ws();
                    if self.bytes.get(self.pos) == Some(&b']') {
                        self.pos += 1;
                        Node::new(NodeKind::Seq(Vec::new()), start..self.pos)
                    } else {
                        stack.push(Frame::Seq {
                            start,
                            items: Vec::new(),
                        });
                        continue;
                    }
                }
                Some(b'"') => self.string()?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't') => self.literal("true", NodeKind::Bool(true))?,
                Some(b'f') => self.literal("false", NodeKind::Bool(false))?,
                Some(b'n') => self.literal("null", NodeKind::Null)?,
                _ => return Err(self.err("a value")),
            };
            // Attach the finished node; close every collection that ends right here.
            loop {
                match stack.last_mut() {
                    None => return Ok(node),
                    Some(Frame::Seq { items, .. }) => {
                        items.push(node);
                        self.skip_ws();
                        match self.bytes.get(self.pos) {
                            Some(b',') => {
                                self.pos += 1;
                                break;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                let Some(Frame::Seq { start, items }) = stack.pop() else {
                                    return Err(self.err("`]`"));
                                };
                                node = Node::new(NodeKind::Seq(items), start..self.pos);
                            }
                            _ => return Err(self.err("`,` or `]` after a list element")),
                        }
                    }
                    Some(Frame::Map {
                        entries, key, seen, ..
                    }) => {
                        let Some(k) = key.take() else {
                            return Err(self.err("a key"));
                        };
                        entries.push((k, node));
                        self.skip_ws();
                        match self.bytes.get(self.pos) {
                            Some(b',') => {
                                self.pos += 1;
                                let mut taken = std::mem::take(seen);
                                let k = self.key(&mut taken);
                                if let Some(Frame::Map { key, seen, .. }) = stack.last_mut() {
                                    *seen = taken;
                                    *key = Some(k?);
                                }
                                break;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                let Some(Frame::Map { start, entries, .. }) = stack.pop() else {
                                    return Err(self.err("`}`"));
                                };
                                node = Node::new(NodeKind::Map(entries), start..self.pos);
                            }
                            _ => return Err(self.err("`,` or `}` after a mapping entry")),
                        }
                    }
                }
            }
        }
    }

    /// `"key" :` — returns the key node; reports a duplicate key.
    fn key(&mut self, seen: &mut HashMap<String, Range<usize>>) -> Result<Node, SyntaxError> {
        self.skip_ws();
        if self.bytes.get(self.pos) != Some(&b'"') {
            return Err(self.err("a quoted key"));
        }
        let key = self.string()?;
        self.skip_ws();
        if self.bytes.get(self.pos) != Some(&b':') {
            return Err(self.err("`:` after a key"));
        }
        self.pos += 1;
        let text = key.as_str().unwrap_or("").to_owned();
        if let Some(first) = seen.get(&text) {
            let (line, col) = self.file.line_col(first.start);
            self.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_KEY,
                    format!("duplicate key `{text}` in mapping"),
                )
                .at(self.loc(key.span.clone()))
                .with_help(format!(
                    "the key was first given at line {line}, column {col}; keep only one"
                )),
            );
            self.doc_failed = true;
        } else {
            seen.insert(text, key.span.clone());
        }
        Ok(key)
    }

    fn literal(&mut self, word: &str, kind: NodeKind) -> Result<Node, SyntaxError> {
        let start = self.pos;
        if self
            .bytes
            .get(start..)
            .is_some_and(|r| r.starts_with(word.as_bytes()))
        {
            self.pos += word.len();
            Ok(Node::new(kind, start..self.pos))
        } else {
            Err(self.err("a value"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = self.digits();
        if n == 0 {
            return Err(self.err("a digit"));
        }
        if n > 1 && self.bytes.get(int_start) == Some(&b'0') {
            self.pos = int_start + 1;
            return Err(self.err("no leading zeros in a number"));
        }
        let mut is_int = true;
        if self.bytes.get(self.pos) == Some(&b'.') {
            is_int = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("a digit after `.`"));
            }
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            is_int = false;
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'-' | b'+')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("a digit in the exponent"));
            }
        }
        let span = start..self.pos;
        let text = self.text.get(span.clone()).unwrap_or("");
        if is_int {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Node::new(NodeKind::Int(i), span));
            }
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Node::new(NodeKind::Float(x), span)),
            _ => {
                self.diags.push(
                    Diagnostic::error(
                        codes::NUMBER_RANGE,
                        format!("number `{text}` is out of range"),
                    )
                    .at(self.loc(span.clone()))
                    .with_help("numbers must be finite 64-bit floats; quote the value to keep it as a string"),
                );
                self.doc_failed = true;
                Ok(Node::new(NodeKind::Str(text.to_owned()), span))
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(digits) = digits else {
            return Err(self.err("four hex digits after `\\u`"));
        };
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.err("four hex digits"))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while self
                .bytes
                .get(self.pos)
                .is_some_and(|&b| b != b'"' && b != b'\\' && b >= 0x20)
            {
                self.pos += 1;
            }
            out.push_str(self.text.get(run_start..self.pos).unwrap_or(""));
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Node::new(NodeKind::Str(out), start..self.pos));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let esc = self.pos - 2;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    self.pos = esc;
                                    return Err(self.err("a low surrogate after a high surrogate"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    self.pos = esc;
                                    return Err(self.err("a valid surrogate pair"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let Some(c) = char::from_u32(code) else {
                                self.pos = esc;
                                return Err(self.err("a valid unicode escape"));
                            };
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.err("a valid escape after `\\`")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => return Err(self.err("`\"` (control characters must be escaped)")),
                None => {
                    return Err(SyntaxError {
                        at: start,
                        code: codes::JSON_SYNTAX,
                        message: "invalid json: string is never closed".to_owned(),
                        help: Some("add the closing `\"`".to_owned()),
                    })
                }
            }
        }
    }
}
