//! Rendering diagnostics for people (`plain`) and for programs (`json`).

use std::fmt::Write as _;

use crate::{Diagnostic, Severity};

/// Renders one diagnostic the way compilers do: a `file:line:col: severity[CODE]: message`
/// header, the source line with a caret under the span, and the hint.
pub fn render_plain(d: &Diagnostic) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{d}");
    if let Some(loc) = &d.loc {
        let (line, col) = loc.line_col();
        let text = loc.file().line_text(line);
        if !text.is_empty() {
            // Keep very long lines (minified JSON, a huge selector) readable: show a window around the column.
            let (shown, shift) = window(text, col.saturating_sub(1), 100);
            let gutter = line.to_string().len();
            let span_len = loc.span().len();
            let width = {
                let (end_line, end_col) = loc.file().line_col(loc.span().end);
                if end_line == line && end_col > col {
                    (end_col - col)
                        .min(shown.chars().count().saturating_sub(col - 1 - shift).max(1))
                } else {
                    usize::from(span_len > 0).max(1)
                }
            };
            let _ = writeln!(out, "{line:>gutter$} | {shown}");
            let _ = writeln!(
                out,
                "{:>gutter$} | {}{}",
                "",
                " ".repeat(col - 1 - shift),
                "^".repeat(width.max(1))
            );
        }
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "  = help: {help}");
    }
    out
}

/// At most `max` characters of `text` around character column `col`; returns the
/// window and how many characters were cut from the front.
fn window(text: &str, col: usize, max: usize) -> (String, usize) {
    let n = text.chars().count();
    if n <= max {
        return (text.to_owned(), 0);
    }
    let start = col.saturating_sub(max / 2).min(n.saturating_sub(max));
    (text.chars().skip(start).take(max).collect(), start)
}

/// The stable JSON shape of one diagnostic (documented in `docs/json.md`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub help: Option<String>,
}

impl From<&Diagnostic> for JsonDiagnostic {
    fn from(d: &Diagnostic) -> Self {
        let start = d.loc.as_ref().map(crate::Loc::line_col);
        let end = d.loc.as_ref().map(|l| l.file().line_col(l.span().end));
        Self {
            severity: d.severity,
            code: d.code,
            message: d.message.clone(),
            file: d.loc.as_ref().map(|l| l.file().name().to_owned()),
            line: start.map(|s| s.0),
            column: start.map(|s| s.1),
            end_line: end.map(|e| e.0),
            end_column: end.map(|e| e.1),
            help: d.help.clone(),
        }
    }
}

/// Renders a diagnostic as a JSON value.
pub fn render_json(d: &Diagnostic) -> serde_json::Value {
    serde_json::to_value(JsonDiagnostic::from(d)).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Loc, SourceFile};

    #[test]
    fn plain_rendering_points_at_the_column() {
        let f = SourceFile::new("p.yaml", "spec:\n  selector: app = 'web'\n");
        let d = Diagnostic::error("E0301", "selector: expected an operator after `app`")
            .at(Loc::new(f, 22..23))
            .with_help("use `==`");
        let s = render_plain(&d);
        assert_eq!(
            s,
            "p.yaml:2:17: error[E0301]: selector: expected an operator after `app`\n\
             2 |   selector: app = 'web'\n  \
               |                 ^\n  \
             = help: use `==`\n"
        );
    }

    #[test]
    fn json_rendering_has_positions() {
        let f = SourceFile::new("p.yaml", "a\nbc\n");
        let d = Diagnostic::warning("W0001", "x").at(Loc::new(f, 3..4));
        let v = render_json(&d);
        assert_eq!(v["line"], 2);
        assert_eq!(v["column"], 2);
        assert_eq!(v["severity"], "warning");
    }
}
