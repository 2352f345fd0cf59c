//! Source locations and diagnostics shared by every tabby crate.
//!
//! A [`SourceFile`] holds the text of one input (a file, or `-` for stdin) and
//! knows where its lines start, so a byte offset becomes a `line:column` pair.
//! A [`Loc`] is a byte span inside a shared `SourceFile`. Every user-facing
//! problem is a [`Diagnostic`]: a severity, a stable code, a message, an
//! optional location and an optional hint. A [`Diagnostics`] collects many, so
//! parsing and validation report everything at once instead of stopping at the
//! first problem.
//!
//! Rendering follows the compiler convention users know from `rustc` and `gcc`:
//!
//! ```text
//! policies/deny.yaml:7:13: error[E0301]: selector: expected an operator after `app`
//!    7 |   selector: app = 'web'
//!      |                 ^
//!    = help: valid operators are `==`, `!=`, `in`, `not in`, `contains`, `starts with`, `ends with`
//! ```

mod fuzzy;
mod render;

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

pub use fuzzy::{did_you_mean, edit_distance};
pub use render::{render_json, render_plain, JsonDiagnostic};

/// The text of one input together with its line index.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
    /// Byte offset of the first byte of every line; `line_starts[0] == 0`.
    line_starts: Arc<[usize]>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .field("len", &self.text.len())
            .finish()
    }
}

impl SourceFile {
    /// Wraps `text` read from `name` (a path as the user wrote it, or `-`).
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Arc<Self> {
        let text: Arc<str> = text.into();
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Arc::new(Self {
            name: name.into(),
            text,
            line_starts: starts.into(),
        })
    }

    /// Convenience for inputs named by a path.
    pub fn from_path(path: &Path, text: impl Into<Arc<str>>) -> Arc<Self> {
        Self::new(path.display().to_string(), text)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (columns count characters, not bytes) of a byte offset.
    /// Offsets past the end clamp to the end of the text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line_idx).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line_idx + 1, col + 1)
    }

    /// The text of 1-based line `line`, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next.saturating_sub(1));
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches('\r')
    }
}

/// A byte span inside a [`SourceFile`]. Cheap to clone (one `Arc`).
#[derive(Clone, PartialEq, Eq)]
pub struct Loc {
    file: Arc<SourceFile>,
    span: Range<usize>,
}

impl fmt::Debug for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, col) = self.line_col();
        write!(f, "{}:{}:{}", self.file.name(), line, col)
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, col) = self.line_col();
        write!(f, "{}:{}:{}", self.file.name(), line, col)
    }
}

impl Loc {
    pub fn new(file: Arc<SourceFile>, span: Range<usize>) -> Self {
        Self { file, span }
    }

    /// A location covering the whole of a file's first byte (for file-level problems).
    pub fn file_start(file: Arc<SourceFile>) -> Self {
        Self { file, span: 0..0 }
    }

    pub fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// 1-based line and column of the start of the span.
    pub fn line_col(&self) -> (usize, usize) {
        self.file.line_col(self.span.start)
    }

    /// A location `offset..offset+len` bytes into this one, clamped to this span.
    /// Used to point inside a string value, e.g. at the column of a selector error.
    pub fn sub(&self, offset: usize, len: usize) -> Self {
        let start = (self.span.start + offset).min(self.span.end.max(self.span.start));
        let end = (start + len).min(self.span.end.max(start));
        Self {
            file: self.file.clone(),
            span: start..end,
        }
    }
}

/// How serious a diagnostic is. Errors make an input invalid; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem found in user input.
///
/// Messages follow one style: lowercase, no full stop, user input in backticks,
/// no Rust type names. The `help` says what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, documented in `docs/diagnostics.md` (for example `E0301`).
    pub code: &'static str,
    pub message: String,
    pub loc: Option<Loc>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            loc: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Note,
            ..Self::error(code, message)
        }
    }

    #[must_use]
    pub fn at(mut self, loc: Loc) -> Self {
        self.loc = Some(loc);
        self
    }

    #[must_use]
    pub fn at_opt(mut self, loc: Option<Loc>) -> Self {
        self.loc = loc;
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.loc {
            write!(f, "{loc}: ")?;
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)
    }
}

/// A collection of diagnostics, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Sorts by file, then position, keeping the discovery order for ties.
    pub fn sort_by_location(&mut self) {
        self.items.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.loc
                    .as_ref()
                    .map(|l| (l.file().name().to_owned(), l.span().start))
            };
            key(a).cmp(&key(b))
        });
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<T: IntoIterator<Item = Diagnostic>>(&mut self, iter: T) {
        self.items.extend(iter);
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<T: IntoIterator<Item = Diagnostic>>(iter: T) -> Self {
        Self {
            items: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_counts_chars() {
        let f = SourceFile::new("a.yaml", "ab\ncé d\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // 'é' is two bytes: byte 6 is the space after it, the third character.
        assert_eq!(f.line_col(6), (2, 3));
        assert_eq!(f.line_col(999), (3, 1));
        assert_eq!(f.line_text(2), "cé d");
        assert_eq!(f.line_text(9), "");
    }

    #[test]
    fn sub_locations_stay_inside_the_parent() {
        let f = SourceFile::new("a", "0123456789");
        let l = Loc::new(f, 2..6);
        assert_eq!(l.sub(1, 2).span(), 3..5);
        assert_eq!(l.sub(10, 2).span(), 6..6);
    }
}
