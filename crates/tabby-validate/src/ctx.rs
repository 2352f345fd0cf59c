//! The validation context: where diagnostics go, and the field-level checks
//! every resource kind shares (selectors, ports, CIDRs, names), each reporting
//! at the exact position of the offending value.

use std::sync::Arc;

use tabby_diag::{Diagnostic, Diagnostics, Loc};
use tabby_load::{PathSeg, RawObject};
use tabby_selector::Selector;

/// Builds a path into an object from string keys and indices:
/// `path!["spec", "ingress", 0, "source", "selector"]`.
#[macro_export]
macro_rules! path {
    ($($seg:expr),* $(,)?) => {
        vec![$($crate::ctx::IntoSeg::into_seg($seg)),*]
    };
}

/// Conversion used by [`path!`].
pub trait IntoSeg {
    fn into_seg(self) -> PathSeg;
}

impl IntoSeg for &str {
    fn into_seg(self) -> PathSeg {
        PathSeg::Key(self.to_owned())
    }
}

impl IntoSeg for String {
    fn into_seg(self) -> PathSeg {
        PathSeg::Key(self)
    }
}

impl IntoSeg for usize {
    fn into_seg(self) -> PathSeg {
        PathSeg::Index(self)
    }
}

impl IntoSeg for PathSeg {
    fn into_seg(self) -> PathSeg {
        self
    }
}

/// Collects diagnostics for one validation run.
#[derive(Debug, Default)]
pub struct Ctx {
    pub diagnostics: Diagnostics,
}

/// The object being validated and a path prefix inside it, so nested checks
/// (a rule inside a policy) can report positions without knowing their parents.
#[derive(Debug, Clone)]
pub struct At<'a> {
    pub obj: &'a RawObject,
    pub path: Vec<PathSeg>,
}

impl<'a> At<'a> {
    pub fn root(obj: &'a RawObject) -> Self {
        Self {
            obj,
            path: Vec::new(),
        }
    }

    /// A child location: `at.join(path!["spec", "selector"])`.
    #[must_use]
    pub fn join(&self, more: Vec<PathSeg>) -> Self {
        let mut path = self.path.clone();
        path.extend(more);
        Self {
            obj: self.obj,
            path,
        }
    }

    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        self.join(vec![PathSeg::Key(key.to_owned())])
    }

    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        self.join(vec![PathSeg::Index(i)])
    }

    /// The value at this path, or its nearest existing ancestor.
    pub fn loc(&self) -> Loc {
        self.obj.loc_of(&self.path)
    }

    /// The key token at this path (for "field not allowed" messages).
    pub fn key_loc(&self) -> Loc {
        self.obj.loc_of_key(&self.path)
    }

    /// The field path as users write it, e.g. `spec.ingress[0].source.selector`.
    pub fn field(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                PathSeg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                PathSeg::Index(i) => {
                    s.push('[');
                    s.push_str(&i.to_string());
                    s.push(']');
                }
            }
        }
        s
    }
}

impl Ctx {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Reports an error at `at` and returns `None`, so checks can `return ctx.error(..)`.
    pub fn error<T>(&mut self, code: &'static str, at: &At<'_>, message: String, help: Option<String>) -> Option<T> {
        let mut d = Diagnostic::error(code, message).at(at.loc());
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.push(d);
        None
    }

    pub fn warning(&mut self, code: &'static str, at: &At<'_>, message: String, help: Option<String>) {
        let mut d = Diagnostic::warning(code, message).at(at.loc());
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.push(d);
    }

    /// Parses a selector found at `at`. A parse error points at the exact column
    /// inside the YAML string when the string is written on one line.
    pub fn selector(&mut self, at: &At<'_>, text: &str) -> Option<Selector> {
        match Selector::parse(text) {
            Ok(s) => Some(s),
            Err(e) => {
                let loc = selector_error_loc(at, text, e.offset(), e.len().max(1));
                let mut d = Diagnostic::error(
                    crate::codes::SELECTOR_SYNTAX,
                    format!("{}: invalid selector: {}", at.field(), e.message()),
                )
                .at(loc);
                if let Some(h) = e.help() {
                    d = d.with_help(h.to_owned());
                }
                self.push(d);
                None
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics.error_count()
    }
}

/// Maps a byte offset inside a selector string to a location in the file.
/// When the YAML/JSON scalar is the literal text (plain or simply quoted, on one
/// line) the offset lands on the exact column; otherwise the whole value is marked.
fn selector_error_loc(at: &At<'_>, text: &str, offset: usize, len: usize) -> Loc {
    let value = at.loc();
    let file: &Arc<tabby_diag::SourceFile> = value.file();
    let span = value.span();
    let raw = file.text().get(span.clone()).unwrap_or("");
    // Skip an opening quote if the scalar was quoted.
    let (body, shift) = match raw.as_bytes().first() {
        Some(b'\'' | b'"') => (raw.get(1..).unwrap_or(""), 1),
        _ => (raw, 0),
    };
    if body.starts_with(text) || (body.get(..offset) == text.get(..offset) && !text.contains('\n')) {
        value.sub(shift + offset, len)
    } else {
        value
    }
}
