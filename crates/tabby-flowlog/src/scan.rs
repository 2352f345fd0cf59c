//! A small, allocation-free JSON scanner for one line of JSON Lines.
//!
//! tabby's own format is flat, so the hot path only needs: walk the keys of an object,
//! read strings (unescaped straight into a reused `String`), unsigned integers, `null`,
//! arrays of strings and string→string objects, and skip anything else. Nesting depth is
//! bounded so hostile input cannot blow the stack.

/// Maximum nesting depth of a skipped value.
const MAX_DEPTH: u32 = 64;

/// A scan error: a message and the byte offset where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanError {
    pub(crate) message: String,
    pub(crate) offset: usize,
}

pub(crate) type Result<T> = std::result::Result<T, ScanError>;

#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    text: &'a str,
    s: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self {
            text: s,
            s: s.as_bytes(),
            pos: 0,
        }
    }

    pub(crate) fn err<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(ScanError {
            message: message.into(),
            offset: self.pos,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Result<()> {
        if self.eat(b) {
            Ok(())
        } else {
            match self.peek() {
                Some(c) => self.err(format!(
                    "expected `{}`, found `{}`",
                    b as char,
                    printable(c)
                )),
                None => self.err(format!("expected `{}`, found end of line", b as char)),
            }
        }
    }

    /// At the end of input (after whitespace)?
    pub(crate) fn at_end(&mut self) -> bool {
        self.ws();
        self.pos >= self.s.len()
    }

    /// Starts an object: consumes `{`.
    pub(crate) fn begin_object(&mut self) -> Result<()> {
        self.expect(b'{')
    }

    /// The next key of an object (raw bytes between the quotes), or `None` at `}`.
    /// `first` tells whether this is the first key (no comma before it).
    pub(crate) fn next_key(&mut self, first: &mut bool) -> Result<Option<&'a [u8]>> {
        if self.eat(b'}') {
            return Ok(None);
        }
        if !*first {
            self.expect(b',')?;
        }
        *first = false;
        self.ws();
        let key = self.raw_string()?;
        self.expect(b':')?;
        Ok(Some(key))
    }

    /// A string's raw bytes (escapes left in place; a key with escapes just won't match).
    fn raw_string(&mut self) -> Result<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.peek() {
                None => return self.err("unterminated string"),
                Some(b'"') => break,
                Some(b'\\') => self.pos += 2,
                Some(_) => self.pos += 1,
            }
        }
        let raw = self.s.get(start..self.pos).unwrap_or_default();
        self.pos += 1;
        Ok(raw)
    }

    /// Is the next value `null`? Consumes it if so.
    pub(crate) fn null(&mut self) -> bool {
        self.ws();
        if self.s.get(self.pos..self.pos + 4) == Some(b"null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    /// A string value, unescaped and appended to `out`.
    pub(crate) fn string_into(&mut self, out: &mut String) -> Result<()> {
        self.expect(b'"')?;
        let mut start = self.pos;
        loop {
            match self.peek() {
                None => return self.err("unterminated string"),
                Some(b'"') => {
                    self.push_utf8(out, start, self.pos)?;
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.push_utf8(out, start, self.pos)?;
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return self.err("unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            out.push(c);
                        }
                        c => return self.err(format!("invalid escape `\\{}`", printable(c))),
                    }
                    start = self.pos;
                }
                Some(c) if c < 0x20 => return self.err("control character in string"),
                Some(_) => self.pos += 1,
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let Some(h) = self.s.get(self.pos..self.pos + 4) else {
            return self.err("truncated `\\u` escape");
        };
        let h = std::str::from_utf8(h)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match h {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.err("invalid `\\u` escape"),
        }
    }

    fn unicode_escape(&mut self) -> Result<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.s.get(self.pos..self.pos + 2) == Some(b"\\u") {
                self.pos += 2;
                let lo = self.hex4()?;
                if (0xDC00..0xE000).contains(&lo) {
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return char::from_u32(c)
                        .map_or_else(|| self.err("invalid surrogate pair"), Ok);
                }
            }
            return self.err("unpaired surrogate in `\\u` escape");
        }
        char::from_u32(hi).map_or_else(|| self.err("invalid `\\u` escape"), Ok)
    }

    fn push_utf8(&self, out: &mut String, from: usize, to: usize) -> Result<()> {
        // The line is a &str and string contents start and end at ASCII delimiters,
        // so these are char boundaries; `get` checks that in O(1).
        match self.text.get(from..to) {
            Some(s) => {
                out.push_str(s);
                Ok(())
            }
            None => self.err("invalid UTF-8 in string"),
        }
    }

    /// An unsigned integer (also accepts a string holding one, as some exporters quote numbers).
    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.ws();
        let quoted = self.peek() == Some(b'"');
        if quoted {
            self.pos += 1;
        }
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = match v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
            {
                Some(v) => v,
                None => return self.err("number too large"),
            };
            self.pos += 1;
        }
        if self.pos == start {
            return self.err("expected a non-negative integer");
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return self.err("expected an integer");
        }
        if quoted {
            self.expect(b'"')?;
        }
        Ok(v)
    }

    /// Is the next value a string (without consuming it)?
    pub(crate) fn peek_string(&mut self) -> bool {
        self.ws();
        self.peek() == Some(b'"')
    }

    /// An array of strings; `each` receives every element's index and unescaped text.
    pub(crate) fn string_array(
        &mut self,
        scratch: &mut String,
        mut each: impl FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        self.expect(b'[')?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            scratch.clear();
            self.string_into(scratch)?;
            each(scratch)?;
            if self.eat(b']') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    /// An object of string values; `each` receives key and value.
    pub(crate) fn string_map(
        &mut self,
        k: &mut String,
        v: &mut String,
        mut each: impl FnMut(&str, &str),
    ) -> Result<()> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            k.clear();
            v.clear();
            self.ws();
            self.string_into(k)?;
            self.expect(b':')?;
            self.ws();
            self.string_into(v)?;
            each(k, v);
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    /// Skips any JSON value.
    pub(crate) fn skip_value(&mut self) -> Result<()> {
        self.skip_depth(0)
    }

    fn skip_depth(&mut self, depth: u32) -> Result<()> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.ws();
        match self.peek() {
            Some(b'"') => self.raw_string().map(|_| ()),
            Some(b'{') => {
                self.pos += 1;
                let mut first = true;
                loop {
                    if self.eat(b'}') {
                        return Ok(());
                    }
                    if !first {
                        self.expect(b',')?;
                    }
                    first = false;
                    self.ws();
                    self.raw_string()?;
                    self.expect(b':')?;
                    self.skip_depth(depth + 1)?;
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut first = true;
                loop {
                    if self.eat(b']') {
                        return Ok(());
                    }
                    if !first {
                        self.expect(b',')?;
                    }
                    first = false;
                    self.skip_depth(depth + 1)?;
                }
            }
            Some(b't') if self.s.get(self.pos..self.pos + 4) == Some(b"true") => {
                self.pos += 4;
                Ok(())
            }
            Some(b'f') if self.s.get(self.pos..self.pos + 5) == Some(b"false") => {
                self.pos += 5;
                Ok(())
            }
            Some(b'n') if self.null() => Ok(()),
            Some(b'-' | b'0'..=b'9') => {
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
                Ok(())
            }
            Some(c) => self.err(format!("unexpected `{}`", printable(c))),
            None => self.err("unexpected end of line"),
        }
    }
}

fn printable(c: u8) -> char {
    if c.is_ascii_graphic() {
        c as char
    } else {
        '?'
    }
}

/// Appends `s` to `out` as a JSON string literal.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_escapes() {
        for s in [
            "plain",
            "quote \" and \\ slash",
            "tab\tnl\n",
            "ünïcödé ☃",
            "\u{1}",
        ] {
            let mut lit = String::new();
            write_str(&mut lit, s);
            let mut out = String::new();
            Scanner::new(&lit).string_into(&mut out).unwrap();
            assert_eq!(out, s);
        }
        let mut out = String::new();
        Scanner::new(r#""\ud83d\ude00 \u00e9""#)
            .string_into(&mut out)
            .unwrap();
        assert_eq!(out, "😀 é");
        for bad in [r#""\ud83d""#, r#""abc"#, r#""\x""#, "\"a\u{1}\""] {
            assert!(
                Scanner::new(bad).string_into(&mut String::new()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn skip_is_bounded() {
        let deep = "[".repeat(10_000);
        assert!(Scanner::new(&deep).skip_value().is_err());
        assert!(Scanner::new(r#"{"a":[1,2,{"b":null}],"c":true}"#)
            .skip_value()
            .is_ok());
    }

    #[test]
    fn integers() {
        assert_eq!(Scanner::new("42").u64().unwrap(), 42);
        assert_eq!(Scanner::new("\"42\"").u64().unwrap(), 42);
        assert!(Scanner::new("-1").u64().is_err());
        assert!(Scanner::new("1.5").u64().is_err());
        assert!(Scanner::new("99999999999999999999999").u64().is_err());
    }
}
