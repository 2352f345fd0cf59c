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

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    #[inline]
    pub(crate) fn ws(&mut self) {
        // Fast exit for the common case: no whitespace between tokens.
        if self.peek().is_some_and(|b| b > b' ') {
            return;
        }
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline]
    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn expect(&mut self, b: u8) -> Result<()> {
        if self.eat(b) {
            Ok(())
        } else {
            self.expected(b)
        }
    }

    #[cold]
    #[inline(never)]
    fn expected(&self, b: u8) -> Result<()> {
        match self.peek() {
            Some(c) => self.err(format!(
                "expected `{}`, found `{}`",
                b as char,
                printable(c)
            )),
            None => self.err(format!("expected `{}`, found end of line", b as char)),
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

    /// Before the next member of an object: `false` at `}`, else consumes the comma (if
    /// not the first member).
    #[inline]
    pub(crate) fn more_members(&mut self, first: &mut bool) -> Result<bool> {
        if self.eat(b'}') {
            return Ok(false);
        }
        if !*first {
            self.expect(b',')?;
        }
        *first = false;
        Ok(true)
    }

    /// A member's key and its colon.
    #[inline]
    pub(crate) fn key(&mut self) -> Result<&'a [u8]> {
        let key = self.raw_string()?;
        self.expect(b':')?;
        Ok(key)
    }

    /// Consumes `lit` if the input continues with exactly those bytes.
    #[inline(always)]
    pub(crate) fn literal(&mut self, lit: &[u8]) -> bool {
        let end = self.pos + lit.len();
        match self.s.get(self.pos..end) {
            Some(here) if same_bytes(here, lit) => {
                self.pos = end;
                true
            }
            _ => false,
        }
    }

    /// The bytes from the current position on.
    #[inline(always)]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or_default()
    }

    /// Moves past `n` bytes the caller has checked (see [`Scanner::rest`]).
    #[inline(always)]
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos += n;
    }

    /// Consumes `k` (a literal of at most 8 bytes) if the input continues with it.
    #[inline(always)]
    pub(crate) fn short_literal(&mut self, k: &KeyLit) -> bool {
        if word_at(self.s, self.pos) & k.m[0] == k.w[0] {
            self.pos += k.len;
            true
        } else {
            false
        }
    }

    /// The three words at the current position.
    #[inline(always)]
    pub(crate) fn words3(&self) -> [u64; 3] {
        [
            word_at(self.s, self.pos),
            word_at(self.s, self.pos + 8),
            word_at(self.s, self.pos + 16),
        ]
    }

    /// The word at the current position, for [`Scanner::key_literal`].
    #[inline(always)]
    pub(crate) fn word_here(&self) -> u64 {
        word_at(self.s, self.pos)
    }

    /// Consumes `k` if the input continues with it; `first` is [`Scanner::word_here`] (most
    /// candidates differ from the input there, so the rest is loaded only when it matches).
    #[inline(always)]
    pub(crate) fn key_literal(&mut self, first: u64, k: &KeyLit) -> bool {
        if (first ^ k.w[0]) & k.m[0] != 0 {
            return false;
        }
        let rest = ((word_at(self.s, self.pos + 8) ^ k.w[1]) & k.m[1])
            | ((word_at(self.s, self.pos + 16) ^ k.w[2]) & k.m[2]);
        if rest == 0 {
            self.pos += k.len;
            true
        } else {
            false
        }
    }

    /// A string's raw bytes (escapes left in place; a key with escapes just won't match).
    #[inline]
    fn raw_string(&mut self) -> Result<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            let rest = self.s.get(self.pos..).unwrap_or_default();
            match find_special(rest, false) {
                None => {
                    // INVARIANT: as the byte loop did, report at the end (or one past it
                    // when the line ends in a lone backslash).
                    self.pos = self.pos.max(self.s.len());
                    return self.err("unterminated string");
                }
                Some(i) => {
                    self.pos += i;
                    if rest.get(i) == Some(&b'"') {
                        break;
                    }
                    self.pos += 2;
                }
            }
        }
        let raw = self.s.get(start..self.pos).unwrap_or_default();
        self.pos += 1;
        Ok(raw)
    }

    /// Is the next value `null`? Consumes it if so.
    #[inline]
    pub(crate) fn null(&mut self) -> bool {
        self.ws();
        if self.s.get(self.pos..self.pos + 4) == Some(b"null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    /// When a string without escapes starts right here (no whitespace first): the length
    /// of its contents.
    #[inline(always)]
    fn plain_string_here(&self) -> Option<usize> {
        if self.s.get(self.pos) != Some(&b'"') {
            return None;
        }
        let body = self.s.get(self.pos + 1..).unwrap_or_default();
        let i = find_special(body, true)?;
        (body.get(i) == Some(&b'"')).then_some(i)
    }

    /// Length of the run from `from` up to the first `"`, `\\` or control character.
    #[inline]
    fn plain_run(&self, from: usize) -> Option<usize> {
        find_special(self.s.get(from..).unwrap_or_default(), true)
    }

    /// A string without escapes starting right here (no whitespace first), consumed; `None`
    /// (nothing consumed) for anything else.
    #[inline(always)]
    pub(crate) fn plain_str_here(&mut self) -> Option<&'a str> {
        let len = self.plain_string_here()?;
        let start = self.pos + 1;
        let text = self.text.get(start..start + len)?;
        self.pos = start + len + 1;
        Some(text)
    }

    /// A string value, unescaped and appended to `out`.
    #[inline]
    pub(crate) fn string_into(&mut self, out: &mut String) -> Result<()> {
        if let Some(len) = self.plain_string_here() {
            let start = self.pos + 1;
            if let Some(text) = self.text.get(start..start + len) {
                out.push_str(text);
                self.pos = start + len + 1;
                return Ok(());
            }
        }
        self.expect(b'"')?;
        // Fast path: no escape before the closing quote.
        if let Some(i) = self.plain_run(self.pos) {
            if self.s.get(self.pos + i) == Some(&b'"') {
                let start = self.pos;
                self.pos += i;
                self.push_utf8(out, start, self.pos)?;
                self.pos += 1;
                return Ok(());
            }
        }
        self.string_rest(out)
    }

    /// A string value without copying it when it holds no escape: the text, borrowed from
    /// the line or unescaped into `scratch`.
    #[inline]
    pub(crate) fn str_value<'s>(&mut self, scratch: &'s mut String) -> Result<&'s str>
    where
        'a: 's,
    {
        if let Some(len) = self.plain_string_here() {
            let start = self.pos + 1;
            if let Some(text) = self.text.get(start..start + len) {
                self.pos = start + len + 1;
                return Ok(text);
            }
        }
        self.expect(b'"')?;
        if let Some(i) = self.plain_run(self.pos) {
            if self.s.get(self.pos + i) == Some(&b'"') {
                let start = self.pos;
                self.pos += i;
                let Some(text) = self.text.get(start..self.pos) else {
                    return self.err("invalid UTF-8 in string");
                };
                self.pos += 1;
                return Ok(text);
            }
        }
        scratch.clear();
        self.string_rest(scratch)?;
        Ok(scratch)
    }

    /// Checks a string value (as [`Scanner::string_into`] would) without copying it.
    #[inline]
    pub(crate) fn skip_string(&mut self, scratch: &mut String) -> Result<()> {
        if let Some(len) = self.plain_string_here() {
            self.pos += len + 2;
            return Ok(());
        }
        self.expect(b'"')?;
        if let Some(i) = self.plain_run(self.pos) {
            if self.s.get(self.pos + i) == Some(&b'"') {
                self.pos += i + 1;
                return Ok(());
            }
        }
        scratch.clear();
        self.string_rest(scratch)
    }

    /// The rest of a string after its opening quote, with escapes.
    fn string_rest(&mut self, out: &mut String) -> Result<()> {
        let mut start = self.pos;
        loop {
            let Some(i) = self.plain_run(self.pos) else {
                self.pos = self.s.len();
                return self.err("unterminated string");
            };
            self.pos += i;
            match self.peek() {
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
                _ => return self.err("control character in string"),
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
    #[inline(always)]
    pub(crate) fn u64(&mut self) -> Result<u64> {
        match self.u64_here() {
            Some(v) => Ok(v),
            None => self.u64_general(),
        }
    }

    /// The common case of [`Scanner::u64`]: 1 to 15 plain digits right here, then a
    /// delimiter (no overflow possible), read eight bytes at a time. `None` (nothing
    /// consumed) for anything else, which [`Scanner::u64`] reads the long way.
    #[inline(always)]
    pub(crate) fn u64_here(&mut self) -> Option<u64> {
        let w = word_at(self.s, self.pos);
        let n = (non_digits(w).trailing_zeros() / 8) as usize;
        if n == 8 {
            let w2 = word_at(self.s, self.pos + 8);
            let n2 = (non_digits(w2).trailing_zeros() / 8) as usize;
            let next = (w2 >> (8 * (n2 & 7))) as u8;
            if let (Some(p), false) = (POW10.get(n2), matches!(next, b'.' | b'e' | b'E')) {
                let low = if n2 == 0 { 0 } else { digits_value(w2, n2) };
                self.pos += 8 + n2;
                return Some(digits_value(w, 8) * p + low);
            }
        } else if n > 0 && !matches!((w >> (8 * n)) as u8, b'.' | b'e' | b'E') {
            self.pos += n;
            return Some(digits_value(w, n));
        }
        None
    }

    /// [`Scanner::u64`] for everything else: whitespace, quotes, long numbers, errors.
    #[inline(never)]
    fn u64_general(&mut self) -> Result<u64> {
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
            let key = self.str_value(k)?;
            self.expect(b':')?;
            let value = self.str_value(v)?;
            each(key, value);
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    /// Checks an object of string values exactly as [`Scanner::string_map`] would, without
    /// keeping anything; returns the byte range it spans.
    pub(crate) fn skip_string_map(&mut self, scratch: &mut String) -> Result<(usize, usize)> {
        self.ws();
        let start = self.pos;
        if let Some(len) = compact_string_map(self.s.get(start..).unwrap_or_default()) {
            self.pos += len;
            return Ok((start, self.pos));
        }
        self.skip_string_map_general(scratch)
    }

    /// [`Scanner::skip_string_map`] for any spelling (whitespace, escapes) and for errors.
    fn skip_string_map_general(&mut self, scratch: &mut String) -> Result<(usize, usize)> {
        self.ws();
        let start = self.pos;
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Ok((start, self.pos));
        }
        loop {
            self.skip_string(scratch)?;
            self.expect(b':')?;
            self.skip_string(scratch)?;
            if self.eat(b'}') {
                return Ok((start, self.pos));
            }
            self.expect(b',')?;
        }
    }

    /// [`Scanner::skip_string_map`] remembering the objects it accepted (short ones, by
    /// their first 24 bytes) in `cache`: an object that starts with exactly the bytes of
    /// one accepted before is that object (the check reads nothing past an object's closing
    /// brace), so it is accepted without a second look. Flow logs repeat label sets a lot.
    pub(crate) fn skip_string_map_cached(
        &mut self,
        cache: &mut MapCache,
        scratch: &mut String,
    ) -> Result<(usize, usize)> {
        self.ws();
        let start = self.pos;
        let [a, b, c] = self.words3();
        let h = a ^ b.rotate_left(21) ^ c.rotate_left(42);
        // Objects that differ only after their first 24 bytes share a set: four ways each.
        let set = (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
        let rest = self.rest();
        for known in cache.maps.get(set * 4..set * 4 + 4).unwrap_or_default() {
            if !known.is_empty() && starts_with(rest, known) {
                self.pos += known.len();
                return Ok((start, self.pos));
            }
        }
        let span = self.skip_string_map(scratch)?;
        if let Some(bytes) = self.s.get(span.0..span.1) {
            if bytes.len() <= MapCache::MAX_LEN {
                if cache.maps.is_empty() {
                    cache.maps = vec![Vec::new(); 256];
                }
                let way = cache.victim.get(set).copied().unwrap_or(0);
                if let Some(v) = cache.victim.get_mut(set) {
                    *v = (way + 1) % 4;
                }
                if let Some(entry) = cache.maps.get_mut(set * 4 + usize::from(way)) {
                    entry.clear();
                    entry.extend_from_slice(bytes);
                }
            }
        }
        Ok(span)
    }

    /// A scanner over `range` of the same line (offsets in errors stay those of the line).
    pub(crate) fn at(&self, range: (usize, usize)) -> Scanner<'a> {
        let end = range.1.min(self.s.len());
        Scanner {
            text: self.text.get(..end).unwrap_or(self.text),
            s: self.s.get(..end).unwrap_or(self.s),
            pos: range.0,
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

/// The 8 bytes of `b` at `i` (zeros past the end).
#[inline(always)]
fn word(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(src) = b.get(i..i + 8) {
        w.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

/// `a == b` for two short slices of the same length, without a library call: compared a
/// word at a time (the last word overlapping the one before).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a == b;
    }
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// `b.starts_with(prefix)`, compared a word at a time without a library call.
#[inline(always)]
fn starts_with(b: &[u8], prefix: &[u8]) -> bool {
    b.get(..prefix.len())
        .is_some_and(|head| same_bytes(head, prefix))
}

/// The length of a string→string object at the start of `b` in the compact form writers
/// produce (`{}` or `{"k":"v",...}`: no whitespace, no escapes), or `None` for anything
/// else (which the general path then checks). Whatever this accepts, the general path
/// accepts too, with the same length.
#[inline]
fn compact_string_map(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'{') {
        return None;
    }
    if b.get(1) == Some(&b'}') {
        return Some(2);
    }
    // Walk the quotes eight bytes at a time: each must be where the compact form puts it
    // (an opening quote right after `{`, `:` or `,`; a closing quote followed by `:` for a
    // key, `,` or `}` for a value), and no byte before the end may be `\\` or a control
    // character. Bytes past the end of `b` read as zero (a control character).
    let mut next_open = 1usize;
    let mut open = true;
    let mut key = true;
    let mut i = 0usize;
    loop {
        let w = word_at(b, i);
        let mut quotes = eq_mask_exact(w, b'"');
        let bad = eq_mask_exact(w, b'\\') | controls_exact(w);
        while quotes != 0 {
            let pos = i + (quotes.trailing_zeros() / 8) as usize;
            quotes &= quotes - 1;
            if open {
                if pos != next_open {
                    return None;
                }
                open = false;
                continue;
            }
            open = true;
            match (key, b.get(pos + 1)) {
                (true, Some(b':')) => key = false,
                (false, Some(b',')) => key = true,
                (false, Some(b'}')) => {
                    let end = pos + 2;
                    // Only the bytes before the end count.
                    let within = end - i;
                    let mask = if within >= 8 {
                        u64::MAX
                    } else {
                        (1u64 << (8 * within)) - 1
                    };
                    return ((bad & mask) == 0).then_some(end);
                }
                _ => return None,
            }
            next_open = pos + 2;
        }
        if bad != 0 {
            return None;
        }
        i += 8;
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// String→string objects accepted before, for [`Scanner::skip_string_map_cached`]:
/// 64 sets of 4 objects of at most [`MapCache::MAX_LEN`] bytes (64 KiB at most).
#[derive(Debug, Clone)]
pub(crate) struct MapCache {
    maps: Vec<Vec<u8>>,
    /// The way of each set replaced next.
    victim: [u8; 64],
}

impl MapCache {
    const MAX_LEN: usize = 256;
}

impl Default for MapCache {
    fn default() -> Self {
        Self {
            // Allocated on first use (parsers made for one line never pay for it).
            maps: Vec::new(),
            victim: [0; 64],
        }
    }
}

/// A literal of up to 24 bytes (none zero) as masked words, compared in three operations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyLit {
    w: [u64; 3],
    m: [u64; 3],
    len: usize,
}

impl KeyLit {
    /// The words of `lead` followed by `lit` (bytes past 24 are ignored: keep them shorter).
    #[expect(
        clippy::indexing_slicing,
        reason = "const fn: indexes are below the lengths checked by the loop"
    )]
    pub(crate) const fn new(lead: &[u8], lit: &[u8]) -> Self {
        let mut w = [0u64; 3];
        let mut m = [0u64; 3];
        let mut i = 0;
        while i < lead.len() + lit.len() && i < 24 {
            let b = if i < lead.len() {
                lead[i]
            } else {
                lit[i - lead.len()]
            };
            w[i / 8] |= (b as u64) << (8 * (i % 8));
            m[i / 8] |= 0xff << (8 * (i % 8));
            i += 1;
        }
        Self { w, m, len: i }
    }
}

/// The 8 bytes of `b` at `i`, zero-padded past the end.
#[inline(always)]
fn word_at(b: &[u8], i: usize) -> u64 {
    if b.get(i..i + 8).is_some() {
        return word(b, i);
    }
    let n = b.len();
    if i >= n {
        return 0;
    }
    if n >= 8 {
        // The line's last word, shifted down to start at `i` (zeros shifted in).
        return word(b, n - 8) >> (8 * (i + 8 - n));
    }
    word_short(b, i)
}

/// [`word_at`] on a line shorter than 8 bytes (or past its end).
#[cold]
#[inline(never)]
fn word_short(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(b.get(i..).unwrap_or_default()) {
        *d = *s;
    }
    u64::from_le_bytes(w)
}

/// Bytes of `w` equal to `b` get their high bit set; exact for every byte (unlike
/// [`eq_mask`], which is exact only for the lowest).
#[inline(always)]
fn eq_mask_exact(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    !(((x & (ONES * 0x7f)) + ONES * 0x7f) | x) & HIGHS
}

/// Bytes of `w` below 0x20 get their high bit set (exact for every byte).
#[inline(always)]
fn controls_exact(w: u64) -> u64 {
    !(((w & (ONES * 0x7f)) + ONES * 0x60) | w) & HIGHS
}

/// Bytes of `w` that are not ASCII digits get their high bit set.
#[inline(always)]
fn non_digits(w: u64) -> u64 {
    let a = w ^ (ONES * u64::from(b'0'));
    (((a & (ONES * 0x7f)) + ONES * 0x76) | a) & HIGHS
}

/// The value of the first `n` (1 to 8) bytes of `w`, all ASCII digits, first byte most
/// significant.
#[inline(always)]
fn digits_value(w: u64, n: usize) -> u64 {
    let mut v = w.wrapping_sub(ONES * u64::from(b'0'));
    if n < 8 {
        // Drop the bytes after the digits; the zeros shifted in are leading zeros.
        v <<= 8 * (8 - n);
    }
    v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff
}

const POW10: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// Bytes of `w` equal to `b` get their high bit set (the lowest flagged byte is exact).
#[inline(always)]
fn eq_mask(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first byte of `b` that is `"` or `\\` (or, with `controls`, below 0x20).
/// Looks at eight bytes at a time while eight remain.
#[inline(always)]
fn find_special(b: &[u8], controls: bool) -> Option<usize> {
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        let mut m = eq_mask(w, b'"') | eq_mask(w, b'\\');
        if controls {
            m |= w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        }
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)
        .unwrap_or_default()
        .iter()
        .position(|c| *c == b'"' || *c == b'\\' || (controls && *c < 0x20))
        .map(|j| i + j)
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
    fn find_special_agrees_with_a_byte_loop() {
        let slow = |b: &[u8], controls: bool| {
            b.iter()
                .position(|c| *c == b'"' || *c == b'\\' || (controls && *c < 0x20))
        };
        let alphabet = [
            b'a', b'"', b'\\', 0x1f, 0x20, 0x00, 0x7f, 0x80, 0xff, 0xa2, 0xdc, b'!',
        ];
        let mut seed = 1u64;
        for len in 0..40 {
            for _ in 0..300 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let r = (seed >> 33) as usize;
                        // Mostly plain bytes, so that specials land at every offset.
                        if r.is_multiple_of(4) {
                            alphabet[(r / 4) % alphabet.len()]
                        } else {
                            b'a' + (r % 26) as u8
                        }
                    })
                    .collect();
                for controls in [false, true] {
                    assert_eq!(find_special(&b, controls), slow(&b, controls), "{b:?}");
                }
            }
        }
    }

    /// Mostly JSON-ish bytes from a small alphabet, so that every fast path meets its edge cases.
    fn noise(seed: &mut u64, len: usize, alphabet: &[&str]) -> String {
        let mut out = String::new();
        while out.len() < len {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.push_str(alphabet[(*seed >> 33) as usize % alphabet.len()]);
        }
        out
    }

    #[test]
    fn word_at_is_a_zero_padded_load() {
        let b: Vec<u8> = (1..=20).collect();
        for len in 0..=20 {
            let b = &b[..len];
            for i in 0..=len + 9 {
                let mut w = [0u8; 8];
                for (k, x) in w.iter_mut().enumerate() {
                    *x = b.get(i + k).copied().unwrap_or(0);
                }
                assert_eq!(word_at(b, i), u64::from_le_bytes(w), "len {len} at {i}");
            }
        }
    }

    #[test]
    fn fast_integers_agree_with_the_general_path() {
        let mut cases: Vec<String> = Vec::new();
        let digits = "12345678901234567890123456789";
        for n in 0..=22 {
            for tail in ["", ",", "}", ".5", "e3", "E", " ", "\"", "a", "0"] {
                cases.push(format!("{}{tail}", &digits[..n]));
                cases.push(format!("{}{tail}", "9".repeat(n)));
                cases.push(format!("0{}{tail}", &digits[..n]));
            }
        }
        cases.push("18446744073709551615".into());
        cases.push("18446744073709551616".into());
        let mut seed = 7;
        for len in 0..30 {
            for _ in 0..200 {
                cases.push(noise(
                    &mut seed,
                    len,
                    &["1", "9", "0", "5", ".", "e", ",", "}", "\"", " ", "-", "x"],
                ));
            }
        }
        for c in &cases {
            let mut fast = Scanner::new(c);
            let mut general = Scanner::new(c);
            assert_eq!(fast.u64(), general.u64_general(), "{c:?}");
            assert_eq!(fast.pos, general.pos, "{c:?}");
        }
    }

    #[test]
    fn literals_agree_with_a_byte_comparison() {
        let lits: [&[u8]; 6] = [
            b"\"wep\"",
            b"\"allow\"",
            b"\"ns\"",
            b",\"src_namespace\":",
            b",\"pending_policies\":",
            b",\"v\":",
        ];
        let mut seed = 3;
        for len in 0..40 {
            for _ in 0..300 {
                let mut text = noise(
                    &mut seed,
                    len,
                    &[
                        "\"",
                        "wep",
                        "allow",
                        "ns",
                        ",",
                        ":",
                        "src_namespace",
                        "pending_policies",
                        "v",
                        "x",
                        "\u{e9}",
                    ],
                );
                // Also a line that ends right after a literal.
                if len % 3 == 0 {
                    text.push_str(",\"v\":");
                }
                for lit in lits {
                    for at in 0..text.len().min(12) {
                        let expected = text
                            .as_bytes()
                            .get(at..)
                            .is_some_and(|r| r.starts_with(lit));
                        let k = KeyLit::new(b"", lit);
                        let mut s = Scanner::new(&text);
                        s.pos = at;
                        let first = s.word_here();
                        assert_eq!(s.key_literal(first, &k), expected, "{text:?} {at}");
                        assert_eq!(s.pos, if expected { at + lit.len() } else { at });
                        if lit.len() <= 8 {
                            let mut s = Scanner::new(&text);
                            s.pos = at;
                            assert_eq!(s.short_literal(&k), expected, "{text:?} {at}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn label_objects_fast_and_cached_agree_with_the_general_path() {
        let mut cases: Vec<String> = vec![
            r#"{}"#.into(),
            r#"{"a":"b"}"#.into(),
            r#"{"app":"app-4","tier":"backend","version":"v1"}"#.into(),
            r#"{"app":"app-4","tier":"backend","version":"v2"}"#.into(),
            r#"{"app":"app-4","tier":"backend","version":"v1"},"x":1"#.into(),
            r#"{"a":"b" }"#.into(),
            r#"{"a":"\u00e9"}"#.into(),
            r#"{"":""}"#.into(),
            r#"{"a":"b",}"#.into(),
            r#"{"a":1}"#.into(),
            r#"{"a":"b"#.into(),
            "{\"a\":\"\u{1}\"}".into(),
        ];
        let mut seed = 11;
        for len in 0..60 {
            for _ in 0..300 {
                let mut c = String::from("{");
                c.push_str(&noise(
                    &mut seed,
                    len,
                    &[
                        "\"", "\"", "\"", "a", "app-1", ":", ",", "}", "{", " ", "\\", "\\u00e9",
                        "\u{1}", "é", "#", "\"#",
                    ],
                ));
                cases.push(c);
            }
        }
        let mut cache = MapCache::default();
        let mut scratch = String::new();
        // Twice, so that the second round meets the cache's entries.
        for round in 0..2 {
            for c in &cases {
                let general = Scanner::new(c).skip_string_map_general(&mut scratch);
                if let Some(len) = compact_string_map(c.as_bytes()) {
                    assert_eq!(general, Ok((0, len)), "{c:?}");
                }
                let mut fast = Scanner::new(c);
                let got = fast.skip_string_map(&mut scratch);
                assert_eq!(got, general, "{c:?}");
                let mut cached = Scanner::new(c);
                let got = cached.skip_string_map_cached(&mut cache, &mut scratch);
                assert_eq!(got, general, "round {round}: {c:?}");
                if general.is_ok() {
                    assert_eq!(cached.pos, fast.pos);
                }
            }
        }
        // The compact form of every object the writer produces takes the fast path.
        for c in &cases[..5] {
            assert!(compact_string_map(c.as_bytes()).is_some(), "{c:?}");
        }
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
