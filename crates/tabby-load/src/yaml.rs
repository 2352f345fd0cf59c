//! YAML → [`Node`] trees, built from yaml-rust2's event parser.
//!
//! yaml-rust2 reports positions as *character* indexes and only at the start of each
//! event; we turn them into byte offsets with a sparse [`CharMap`] and find the end of
//! each scalar by looking at the source text. The tree is built with an explicit stack
//! (never recursion over the input), and three limits keep hostile input bounded:
//!
//! * nesting depth (`max_depth`), checked on every collection start and alias;
//! * alias expansion (`max_nodes` extra nodes and `max_file_bytes` extra string bytes
//!   per file), checked *before* an anchored value is copied, so a "billion laughs"
//!   document stops after a bounded amount of work;
//! * the file size itself, checked by the caller.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use tabby_diag::{Diagnostic, Diagnostics, Loc, SourceFile};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::codes;
use crate::node::{resolve_plain, Measure, Node, NodeKind};
use crate::LoadOptions;

/// Maps yaml-rust2's character indexes to byte offsets.
///
/// For ASCII text the two are equal. Otherwise we keep the byte offset of every 64th
/// character and walk at most 63 characters from there: memory is an eighth of the
/// text size at worst, and every lookup is O(1).
struct CharMap<'a> {
    text: &'a str,
    checkpoints: Option<Vec<usize>>,
}

const CHECKPOINT_EVERY: usize = 64;

impl<'a> CharMap<'a> {
    fn new(text: &'a str) -> Self {
        let checkpoints = if text.is_ascii() {
            None
        } else {
            Some(
                text.char_indices()
                    .step_by(CHECKPOINT_EVERY)
                    .map(|(b, _)| b)
                    .collect(),
            )
        };
        Self { text, checkpoints }
    }

    fn byte(&self, char_index: usize) -> usize {
        let Some(cps) = &self.checkpoints else {
            return char_index.min(self.text.len());
        };
        let Some(&base) = cps.get(char_index / CHECKPOINT_EVERY) else {
            return self.text.len();
        };
        let rest = self.text.get(base..).unwrap_or("");
        rest.char_indices()
            .nth(char_index % CHECKPOINT_EVERY)
            .map_or(self.text.len(), |(b, _)| base + b)
    }
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        /// Key text (as JSON would see it) → span of its first occurrence; built only
        /// once the mapping is large (small ones are scanned, which is faster).
        seen: Option<HashMap<String, Range<usize>>>,
        /// Set after a plain `<<` key: the next value is merged, not an entry.
        merge_pending: Option<Range<usize>>,
        /// `<<` values (span of the `<<` key, value), in order.
        merges: Vec<(Range<usize>, Node)>,
    },
}

struct Anchored {
    node: Node,
    measure: Measure,
}

/// Why parsing of a file stopped early.
struct Fatal;

struct Builder<'a> {
    text: &'a str,
    chars: CharMap<'a>,
    opts: &'a LoadOptions,
    file: &'a Arc<SourceFile>,
    diags: &'a mut Diagnostics,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    expanded_nodes: usize,
    expanded_bytes: usize,
    root: Option<Node>,
    doc_failed: bool,
    complex_key_reported: bool,
    docs: Vec<Node>,
}

/// Parses every document of a YAML stream. Documents that contain an error are
/// reported in `diags` and left out; parsing stops at the first syntax error or
/// exceeded limit (documents before it are kept).
pub(crate) fn parse(
    text: &str,
    file: &Arc<SourceFile>,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut b = Builder {
        text,
        chars: CharMap::new(text),
        opts,
        file,
        diags,
        stack: Vec::new(),
        anchors: HashMap::new(),
        expanded_nodes: 0,
        expanded_bytes: 0,
        root: None,
        doc_failed: false,
        complex_key_reported: false,
        docs: Vec::new(),
    };
    // yaml-rust2 is not known to panic, but it is a dependency we do not control: a
    // panic inside it must become a diagnostic, never a crash of the whole command.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.run()));
    if outcome.is_err() {
        b.diags.push(
            Diagnostic::error(codes::INTERNAL, "the yaml parser failed on this input")
                .at(Loc::file_start(file.clone()))
                .with_help("please report this input as a bug in tabby"),
        );
    }
    b.docs
}

impl Builder<'_> {
    fn run(&mut self) {
        let mut parser = Parser::new_from_str(self.text);
        loop {
            let (event, mark) = match parser.next_token() {
                Ok(x) => x,
                Err(e) => {
                    let at = self.chars.byte(e.marker().index());
                    let d = if e.info() == "recursion limit exceeded" {
                        // yaml-rust2 counts flow levels (`[`, `{`) in a `u8`.
                        Diagnostic::error(
                            codes::TOO_DEEP,
                            format!(
                                "nesting is deeper than the limit of {} levels",
                                self.opts.max_depth.min(255)
                            ),
                        )
                        .with_help("policies need only a few levels; check for unbalanced brackets")
                    } else if e.info().ends_with("found unknown anchor") {
                        let name_span = self.alias_name_span(at);
                        let name = self.text.get(name_span).unwrap_or("");
                        unknown_alias(name)
                    } else {
                        Diagnostic::error(codes::YAML_SYNTAX, format!("invalid yaml: {}", e.info()))
                    };
                    self.diags.push(d.at(self.loc(at..at)));
                    return;
                }
            };
            if matches!(event, Event::StreamEnd) {
                return;
            }
            if self.event(event, mark).is_err() {
                return;
            }
        }
    }

    fn loc(&self, span: Range<usize>) -> Loc {
        Loc::new(self.file.clone(), span)
    }

    fn event(&mut self, event: Event, mark: Marker) -> Result<(), Fatal> {
        let at = self.chars.byte(mark.index());
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart => {
                self.stack.clear();
                self.anchors.clear();
                self.root = None;
                self.doc_failed = false;
                self.complex_key_reported = false;
            }
            Event::DocumentEnd => {
                let root = self.root.take();
                if !self.doc_failed {
                    self.docs
                        .push(root.unwrap_or_else(|| Node::new(NodeKind::Null, at..at)));
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let is_merge_key =
                    matches!(style, TScalarStyle::Plain) && tag.is_none() && value == "<<";
                let node = self.scalar(value, style, tag.as_ref(), at);
                if is_merge_key && anchor == 0 {
                    if let Some(Frame::Map {
                        key: None,
                        merge_pending,
                        ..
                    }) = self.stack.last_mut()
                    {
                        *merge_pending = Some(node.span);
                        return Ok(());
                    }
                }
                if anchor != 0 {
                    self.remember(anchor, &node);
                }
                self.add(node)?;
            }
            Event::SequenceStart(anchor, _tag) => {
                self.check_depth(self.stack.len() + 1, at)?;
                self.stack.push(Frame::Seq {
                    start: at,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _tag) => {
                self.check_depth(self.stack.len() + 1, at)?;
                self.stack.push(Frame::Map {
                    start: at,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    seen: None,
                    merge_pending: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let closer = if matches!(frame, Frame::Seq { .. }) {
                    b']'
                } else {
                    b'}'
                };
                let (node, anchor) = match frame {
                    Frame::Seq {
                        start,
                        anchor,
                        items,
                    } => {
                        let end = self.collection_end(
                            at,
                            closer,
                            start,
                            items.last().map(|n| n.span.end),
                        );
                        (Node::new(NodeKind::Seq(items), start..end), anchor)
                    }
                    Frame::Map {
                        start,
                        anchor,
                        mut entries,
                        mut seen,
                        merges,
                        ..
                    } => {
                        // A block mapping's start event is marked at the first `:`;
                        // the mapping really starts at its first key.
                        let first_key = entries.first().map(|(k, _)| k.span.start);
                        let first_merge = merges.first().map(|(k, _)| k.start);
                        let start = [first_key, first_merge]
                            .into_iter()
                            .flatten()
                            .fold(start, usize::min);
                        let last = entries
                            .last()
                            .map(|(_, v)| v.span.end)
                            .max(merges.last().map(|(_, v)| v.span.end));
                        let end = self.collection_end(at, closer, start, last);
                        self.merge(&mut entries, &mut seen, merges);
                        (Node::new(NodeKind::Map(entries), start..end), anchor)
                    }
                };
                if anchor != 0 {
                    self.remember(anchor, &node);
                }
                self.add(node)?;
            }
            Event::Alias(id) => {
                let name_span = self.alias_name_span(at);
                let name = self.text.get(name_span.clone()).unwrap_or("").to_owned();
                // The alias including its `*`.
                let star = name_span
                    .start
                    .checked_sub(1)
                    .filter(|&i| self.text.as_bytes().get(i) == Some(&b'*'));
                let alias_span = star.unwrap_or(name_span.start)..name_span.end;
                let Some(m) = self.anchors.get(&id).map(|a| a.measure) else {
                    self.diags
                        .push(unknown_alias(&name).at(self.loc(alias_span.clone())));
                    return Err(Fatal);
                };
                self.check_depth(self.stack.len() + m.height, at)?;
                self.expanded_nodes = self.expanded_nodes.saturating_add(m.nodes);
                self.expanded_bytes = self.expanded_bytes.saturating_add(m.bytes);
                let byte_limit = usize::try_from(self.opts.max_file_bytes).unwrap_or(usize::MAX);
                if self.expanded_nodes > self.opts.max_nodes || self.expanded_bytes > byte_limit {
                    self.diags.push(
                        Diagnostic::error(
                            codes::ALIAS_BUDGET,
                            format!(
                                "alias `*{name}` expands the document past the limit of {} nodes",
                                self.opts.max_nodes
                            ),
                        )
                        .at(self.loc(alias_span.clone()))
                        .with_help(
                            "aliases may copy at most that many nodes (and as many string bytes as the file size limit) per file; this looks like an alias bomb",
                        ),
                    );
                    return Err(Fatal);
                }
                let Some(mut node) = self.anchors.get(&id).map(|a| a.node.clone()) else {
                    return Err(Fatal);
                };
                // The copy keeps the anchored value's inner spans (errors inside it point at
                // the definition); the outer span is the alias itself.
                node.span = alias_span;
                self.add(node)?;
            }
        }
        Ok(())
    }

    fn check_depth(&mut self, depth: usize, at: usize) -> Result<(), Fatal> {
        if depth > self.opts.max_depth {
            self.diags.push(
                Diagnostic::error(
                    codes::TOO_DEEP,
                    format!(
                        "nesting is deeper than the limit of {} levels",
                        self.opts.max_depth
                    ),
                )
                .at(self.loc(at..at))
                .with_help("policies need only a few levels; check for unbalanced brackets"),
            );
            return Err(Fatal);
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        let measure = node.measure();
        self.anchors.insert(
            anchor,
            Anchored {
                node: node.clone(),
                measure,
            },
        );
    }

    /// Attaches a finished node to the open collection, or makes it the document root.
    fn add(&mut self, node: Node) -> Result<(), Fatal> {
        let Some(top) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match top {
            Frame::Seq { items, .. } => items.push(node),
            Frame::Map {
                merge_pending,
                merges,
                ..
            } if merge_pending.is_some() => {
                if let Some(key_span) = merge_pending.take() {
                    merges.push((key_span, node));
                }
            }
            Frame::Map {
                entries, key, seen, ..
            } => {
                match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => {
                        let Some(text) = node.key_text() else {
                            // A list or mapping as a key: JSON (and so Kubernetes) cannot
                            // hold it. Not compared for duplicates: that would be costly.
                            // Reported once per document (nested ones would repeat it).
                            if !self.complex_key_reported {
                                let d = Diagnostic::error(
                                codes::COMPLEX_KEY,
                                format!("a mapping key must be a scalar, found {}", node.type_name()),
                            )
                            .at(Loc::new(self.file.clone(), node.span.clone()))
                            .with_help("use a string key; `?` complex keys cannot be converted to JSON");
                                self.diags.push(d);
                                self.complex_key_reported = true;
                            }
                            self.doc_failed = true;
                            *key = Some(node);
                            return Ok(());
                        };
                        let first = find_key(entries, seen, &text);
                        if let Some(first) = first {
                            let (line, col) = self.file.line_col(first.start);
                            let d = Diagnostic::error(
                                codes::DUPLICATE_KEY,
                                format!("duplicate key `{text}` in mapping"),
                            )
                            .at(Loc::new(self.file.clone(), node.span.clone()))
                            .with_help(format!(
                            "the key was first given at line {line}, column {col}; keep only one"
                        ));
                            self.diags.push(d);
                            self.doc_failed = true;
                        } else if let Some(seen) = seen {
                            seen.insert(text.into_owned(), node.span.clone());
                        }
                        *key = Some(node);
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies YAML merge keys (`<<: *base`, `<<: [*a, *b]`): entries of the merged
    /// mappings are added unless the mapping already has the key; among merged
    /// mappings, the earlier one wins.
    fn merge(
        &mut self,
        entries: &mut Vec<(Node, Node)>,
        seen: &mut Option<HashMap<String, Range<usize>>>,
        merges: Vec<(Range<usize>, Node)>,
    ) {
        for (_, value) in merges {
            let sources = match value.kind {
                NodeKind::Map(_) => vec![value],
                NodeKind::Seq(items)
                    if items.iter().all(|i| matches!(i.kind, NodeKind::Map(_))) =>
                {
                    items
                }
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::YAML_SYNTAX,
                            "the value of a `<<` merge key must be a mapping or a list of mappings",
                        )
                        .at(self.loc(value.span.clone()))
                        .with_help("write `<<: *anchor` or `<<: [*a, *b]` with anchored mappings"),
                    );
                    self.doc_failed = true;
                    continue;
                }
            };
            for source in sources {
                let NodeKind::Map(source_entries) = source.kind else {
                    continue;
                };
                for (k, v) in source_entries {
                    let Some(text) = k.key_text().map(std::borrow::Cow::into_owned) else {
                        entries.push((k, v)); // already reported where it was written
                        continue;
                    };
                    if find_key(entries, seen, &text).is_some() {
                        continue;
                    }
                    if let Some(map) = seen {
                        map.insert(text, k.span.clone());
                    }
                    entries.push((k, v));
                }
            }
        }
    }

    fn scalar(&mut self, value: String, style: TScalarStyle, tag: Option<&Tag>, at: usize) -> Node {
        let end = self.scalar_end(at, &value, style);
        let span = at..end;
        let core_tag = tag.and_then(|t| {
            (t.handle == "!!" || t.handle == "tag:yaml.org,2002:").then_some(t.suffix.as_str())
        });
        let plain = matches!(style, TScalarStyle::Plain);
        let kind = match core_tag {
            Some("str") => NodeKind::Str(value),
            Some("null" | "bool" | "int" | "float") => self.resolve(value, span.clone()),
            _ if plain => self.resolve(value, span.clone()),
            _ => NodeKind::Str(value),
        };
        Node::new(kind, span)
    }

    fn resolve(&mut self, value: String, span: Range<usize>) -> NodeKind {
        match resolve_plain(&value) {
            Ok(kind) => kind,
            Err(_) => {
                self.diags.push(
                    Diagnostic::error(
                        codes::NUMBER_RANGE,
                        format!("number `{value}` is out of range"),
                    )
                    .at(self.loc(span))
                    .with_help("integers must fit in 64 bits and floats must be finite; quote the value to keep it as a string"),
                );
                self.doc_failed = true;
                NodeKind::Str(value)
            }
        }
    }

    /// Skips a node's properties (`&anchor`, `!tag`) written before its content.
    fn skip_props(&self, mut at: usize) -> usize {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(at), Some(b'&' | b'!')) {
            while bytes.get(at).is_some_and(|b| !b.is_ascii_whitespace()) {
                at += 1;
            }
            while matches!(bytes.get(at), Some(b' ' | b'\t')) {
                at += 1;
            }
        }
        at
    }

    /// The byte just past a scalar that starts at `at` (best effort: exact for quoted
    /// and single-line plain scalars, the end of the first line otherwise).
    fn scalar_end(&self, at: usize, value: &str, style: TScalarStyle) -> usize {
        let bytes = self.text.as_bytes();
        let start = self.skip_props(at);
        let line_end = || {
            let rest = self.text.get(start..).unwrap_or("");
            let len = rest.find(['\n', '\r']).unwrap_or(rest.len());
            start + rest.get(..len).unwrap_or("").trim_end().len()
        };
        match style {
            TScalarStyle::SingleQuoted if bytes.get(start) == Some(&b'\'') => {
                let mut i = start + 1;
                while let Some(&b) = bytes.get(i) {
                    if b == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return i + 1;
                    }
                    i += 1;
                }
                line_end()
            }
            TScalarStyle::DoubleQuoted if bytes.get(start) == Some(&b'"') => {
                let mut i = start + 1;
                while let Some(&b) = bytes.get(i) {
                    match b {
                        b'\\' => i += 2,
                        b'"' => return i + 1,
                        _ => i += 1,
                    }
                }
                line_end()
            }
            TScalarStyle::Plain if value.is_empty() => start.min(at.max(start)),
            TScalarStyle::Plain
                if !value.contains('\n')
                    && self.text.get(start..).is_some_and(|r| r.starts_with(value)) =>
            {
                start + value.len()
            }
            _ => line_end(),
        }
    }

    fn collection_end(
        &self,
        at: usize,
        closer: u8,
        start: usize,
        last_child: Option<usize>,
    ) -> usize {
        if self.text.as_bytes().get(at) == Some(&closer) {
            return at + 1;
        }
        last_child.unwrap_or(start).max(start)
    }

    /// The span of an alias's name; `at` points at or just after the `*`.
    fn alias_name_span(&self, at: usize) -> Range<usize> {
        let bytes = self.text.as_bytes();
        let mut start = at;
        if bytes.get(start) == Some(&b'*') {
            start += 1;
        }
        let mut end = start;
        while bytes.get(end).is_some_and(|b| {
            !b.is_ascii_whitespace() && !matches!(b, b',' | b'[' | b']' | b'{' | b'}')
        }) {
            end += 1;
        }
        // Stay on character boundaries for non-ASCII anchor names.
        while end < self.text.len() && !self.text.is_char_boundary(end) {
            end += 1;
        }
        start..end
    }
}

fn unknown_alias(name: &str) -> Diagnostic {
    Diagnostic::error(
        codes::YAML_SYNTAX,
        format!("alias `*{name}` refers to no anchor in this document"),
    )
    .with_help("define the anchor with `&name` before using it, in the same document")
}

/// Mappings with fewer entries than this are checked for duplicate keys by a scan.
const SCAN_KEYS_BELOW: usize = 16;

/// The span of an earlier key equal to `text`. Switches `seen` to a hash map when the
/// mapping grows, so a mapping with many keys stays linear.
fn find_key(
    entries: &[(Node, Node)],
    seen: &mut Option<HashMap<String, Range<usize>>>,
    text: &str,
) -> Option<Range<usize>> {
    if seen.is_none() && entries.len() >= SCAN_KEYS_BELOW {
        let mut map = HashMap::with_capacity(entries.len() * 2);
        for (k, _) in entries {
            if let Some(t) = k.key_text() {
                map.entry(t.into_owned()).or_insert_with(|| k.span.clone());
            }
        }
        *seen = Some(map);
    }
    match seen {
        Some(map) => map.get(text).cloned(),
        None => entries
            .iter()
            .find(|(k, _)| k.key_text().as_deref() == Some(text))
            .map(|(k, _)| k.span.clone()),
    }
}
