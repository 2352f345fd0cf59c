//! The one error type of this crate: a selector that does not parse.

use std::fmt;

/// A selector that Calico would reject, with the byte range of the problem.
///
/// `offset()` is a byte offset into the text given to [`crate::Selector::parse`]
/// (always on a character boundary, and at most the text's length: an error at
/// the end of the input has `offset() == input.len()` and `len() == 0`).
///
/// ```
/// use tabby_selector::Selector;
/// let err = Selector::parse(r#"app = "web""#).unwrap_err();
/// assert_eq!(err.offset(), 4);
/// assert_eq!(err.message(), "expected `==`, found `=`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SelectorError {
    offset: usize,
    len: usize,
    message: String,
    help: Option<&'static str>,
    suggestion: Option<String>,
}

impl SelectorError {
    pub(crate) fn new(offset: usize, len: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            len,
            message: message.into(),
            help: None,
            suggestion: None,
        }
    }

    pub(crate) fn with_help(mut self, help: &'static str) -> Self {
        self.help = Some(help);
        self
    }

    pub(crate) fn with_suggestion(mut self, suggestion: String) -> Self {
        self.suggestion = Some(suggestion);
        self
    }

    /// Byte offset of the problem in the input.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Length in bytes of the offending text (0 at the end of the input).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the error points at a position rather than at some text
    /// (typically the end of the input).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The byte range of the offending text.
    pub fn span(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len
    }

    /// Lowercase message without a full stop, user input in backticks.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What would be valid here, when there is something useful to say.
    pub fn help(&self) -> Option<&str> {
        self.help
    }

    /// A did-you-mean correction, e.g. `starts with` for `startwith`.
    pub fn suggestion(&self) -> Option<&str> {
        self.suggestion.as_deref()
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for SelectorError {}

/// Help listing the operators that may follow a label.
pub(crate) const HELP_OPERATORS: &str = "after a label write one of `==`, `!=`, `in`, `not in`, `contains`, `starts with` or `ends with`, e.g. `app == \"web\"`";
/// Help describing what may start a term.
pub(crate) const HELP_TERM: &str = "a term is a comparison such as `app == \"web\"` or `tier in {\"a\", \"b\"}`, `has(label)`, `all()`, `global()` or a parenthesised expression, optionally negated with `!`";
/// Help for a missing quoted value.
pub(crate) const HELP_STRING: &str =
    "values are quoted with `\"` or `'`, e.g. `app == \"web\"`; a label cannot be compared with another label";
/// Help for a missing set literal.
pub(crate) const HELP_SET: &str = "`in` and `not in` take a set of quoted values in braces, e.g. `tier in {\"frontend\", \"backend\"}`";
/// Help for trailing content after a complete expression.
pub(crate) const HELP_JOIN: &str =
    "join terms with `&&` or `||`, e.g. `app == \"web\" && tier == \"front\"`";
/// Help for an unterminated string.
pub(crate) const HELP_QUOTE: &str =
    "close the value with the same quote it was opened with; values cannot contain escapes";
/// Help for label syntax.
pub(crate) const HELP_LABEL: &str =
    "label names are 1 to 512 characters from `a-z`, `A-Z`, `0-9`, `_`, `.`, `/` and `-`";
/// Help for whitespace.
pub(crate) const HELP_WHITESPACE: &str =
    "only spaces and tabs may separate tokens; line breaks are not allowed inside a selector";
