#![doc = include_str!("../README.md")]
//!
//! ## Design
//!
//! ```text
//!  paths / "-" ──read (size cap)──▶ bytes ──UTF-8, BOM──▶ SourceFile
//!                                                          │
//!                      .json or starts with `{`/`[` ──▶ json::parse ─┐
//!                      otherwise                    ──▶ yaml::parse ─┤ Vec<Node> (one per document)
//!                                                                    ▼
//!                           skip null documents, require apiVersion/kind, unwrap `*List`
//!                                                                    ▼
//!                                     RawObject { api_version, kind, node, file, .. }
//!                                                                    ▼
//!                                 RawObject::decode::<WireType>() (serde, errors with Loc)
//! ```
//!
//! The loader never stops at the first problem: every input is read, and every
//! problem becomes a [`Diagnostic`] in [`Loaded::diagnostics`]. A document with an
//! error is left out of [`Loaded::objects`]; the other documents of the file are kept.
//!
//! Scalars follow the YAML 1.2 core schema: `yes`, `no`, `on` and `off` are strings,
//! not booleans as in YAML 1.1 (which `kubectl` reads). Quoted scalars are always strings.

mod codes;
mod decode;
mod json;
mod node;
mod snapshot;
mod write;
mod yaml;

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use node::{path_to_string, Node, NodeKind, PathSeg};
pub use snapshot::{
    qualify_with_group, write_snapshot, SnapshotError, SnapshotObject, SNAPSHOT_CLUSTER_DIR,
};
pub use tabby_diag::{Diagnostic, Diagnostics, Loc, SourceFile};
pub use write::to_yaml_document;

/// The diagnostic codes this crate emits.
pub mod code {
    pub use crate::codes::*;
}

/// Limits that keep hostile input bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Largest input accepted, in bytes (default 64 MiB). Larger files are rejected
    /// without being read.
    pub max_file_bytes: u64,
    /// Most nodes that YAML aliases may add to one file by expansion (default 1,000,000).
    /// Aliases may also add at most `max_file_bytes` bytes of strings.
    pub max_nodes: usize,
    /// Deepest nesting of lists and mappings (default 256).
    pub max_depth: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_nodes: 1_000_000,
            max_depth: 256,
        }
    }
}

/// One Kubernetes-style object read from an input: its type, name and untyped content.
#[derive(Debug, Clone)]
pub struct RawObject {
    pub api_version: String,
    pub kind: String,
    /// `metadata.name`, when it is a string.
    pub name: Option<String>,
    /// `metadata.namespace`, when it is a string.
    pub namespace: Option<String>,
    /// The whole object. For items of a typed list (`NetworkPolicyList`) that omit
    /// `apiVersion`/`kind`, the inferred entries are added to this mapping; their spans
    /// point at the list's own `apiVersion`/`kind`.
    pub node: Node,
    pub file: Arc<SourceFile>,
    /// 0-based index of the document in its file (JSON: of the value in the stream).
    pub doc_index: usize,
    /// 0-based index in the `items` of the `List` this object came from, if any.
    pub list_index: Option<usize>,
}

impl RawObject {
    /// The start of the object.
    pub fn loc(&self) -> Loc {
        Loc::new(self.file.clone(), self.node.span.clone())
    }

    /// The node at `path`, or its nearest existing ancestor.
    pub fn loc_of(&self, path: &[PathSeg]) -> Loc {
        Loc::new(self.file.clone(), self.nearest(path).0.span.clone())
    }

    /// The *key* of the last segment of `path` (for "unknown field" errors). Falls back
    /// to [`RawObject::loc_of`] when the last segment is an index or the key is absent.
    pub fn loc_of_key(&self, path: &[PathSeg]) -> Loc {
        if let Some((PathSeg::Key(k), parent)) = path.split_last() {
            if let Some((key, _)) = self.node.at_path(parent).and_then(|p| p.entry(k)) {
                return Loc::new(self.file.clone(), key.span.clone());
            }
        }
        self.loc_of(path)
    }

    /// The deepest node along `path` and how many segments were matched.
    fn nearest(&self, path: &[PathSeg]) -> (&Node, usize) {
        let mut cur = &self.node;
        for (i, seg) in path.iter().enumerate() {
            let next = match seg {
                PathSeg::Key(k) => cur.get(k),
                PathSeg::Index(ix) => cur.index(*ix),
            };
            match next {
                Some(n) => cur = n,
                None => return (cur, i),
            }
        }
        (cur, path.len())
    }

    /// Decodes the object into a serde type. Errors point at the failing value (or, for
    /// an unknown field, at its key, with a did-you-mean hint).
    ///
    /// ```
    /// # use tabby_load::{load_str, LoadOptions};
    /// #[derive(Debug, serde::Deserialize)]
    /// #[serde(deny_unknown_fields)]
    /// struct Meta { name: String }
    /// #[derive(Debug, serde::Deserialize)]
    /// #[serde(rename_all = "camelCase", deny_unknown_fields)]
    /// struct Obj { api_version: String, kind: String, metadata: Meta }
    ///
    /// let loaded = load_str("a.yaml", "apiVersion: v1\nkind: X\nmetadata:\n  nme: a\n", &LoadOptions::default());
    /// let err = loaded.objects[0].decode::<Obj>().unwrap_err();
    /// assert_eq!(err.message, "unknown field `nme` in `metadata`");
    /// assert_eq!(err.help.as_deref(), Some("did you mean `name`?"));
    /// assert_eq!(err.loc.unwrap().line_col(), (4, 3));
    /// ```
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        decode::decode(self)
    }
}

/// Everything read from a set of inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Objects in input order: paths as given, directory entries sorted, documents in
    /// file order, list items in list order.
    pub objects: Vec<RawObject>,
    pub diagnostics: Diagnostics,
    /// Every input that was read (also those with errors), for rendering diagnostics.
    pub files: Vec<Arc<SourceFile>>,
}

impl Loaded {
    fn merge(&mut self, other: Loaded) {
        self.objects.extend(other.objects);
        self.diagnostics.extend(other.diagnostics);
        self.files.extend(other.files);
    }
}

/// Reads files, directories (recursively: `.yaml`, `.yml` and `.json` files, sorted by
/// path, hidden entries skipped) and `-` (standard input).
pub fn load_paths(paths: &[impl AsRef<Path>], opts: &LoadOptions) -> Loaded {
    let mut out = Loaded::default();
    for path in paths {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            let read = std::io::stdin()
                .lock()
                .take(opts.max_file_bytes.saturating_add(1))
                .read_to_end(&mut buf);
            match read {
                Ok(_) => out.merge(load_bytes("-", &buf, opts)),
                Err(e) => out.diagnostics.push(unreadable(path, &e)),
            }
            continue;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                let mut files = Vec::new();
                let mut visited = HashSet::new();
                walk(path, &mut files, &mut visited, &mut out.diagnostics);
                files.sort();
                if files.is_empty() {
                    out.diagnostics.push(
                        Diagnostic::warning(
                            codes::EMPTY_DIR,
                            format!(
                                "directory `{}` holds no `.yaml`, `.yml` or `.json` file",
                                path.display()
                            ),
                        )
                        .with_help(
                            "hidden files and directories (names starting with `.`) are skipped",
                        ),
                    );
                }
                for f in files {
                    out.merge(load_file(&f, opts));
                }
            }
            Ok(m) if m.is_file() => out.merge(load_file(path, opts)),
            Ok(_) => out.diagnostics.push(Diagnostic::error(
                codes::UNREADABLE,
                format!(
                    "cannot read `{}`: it is neither a file nor a directory",
                    path.display()
                ),
            )),
            Err(e) => out.diagnostics.push(unreadable(path, &e)),
        }
    }
    out
}

fn unreadable(path: &Path, e: &std::io::Error) -> Diagnostic {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let s = e.to_string();
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    };
    Diagnostic::error(
        codes::UNREADABLE,
        format!("cannot read `{}`: {reason}", path.display()),
    )
}

fn is_input_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Collects input files under `dir`. `visited` holds canonical directory paths, so a
/// symlink loop is walked once.
fn walk(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    diags: &mut Diagnostics,
) {
    // INVARIANT: explicit stack, no recursion: directory depth is not ours to bound.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Ok(canon) = std::fs::canonicalize(&dir) {
            if !visited.insert(canon) {
                continue;
            }
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                diags.push(unreadable(&dir, &e));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    diags.push(unreadable(&dir, &e));
                    continue;
                }
            };
            let path = entry.path();
            if is_hidden(&path) {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) if m.is_file() && is_input_file(&path) => files.push(path),
                Ok(_) => {}
                Err(e) => diags.push(unreadable(&path, &e)),
            }
        }
    }
}

fn too_large(name: &str, size: Option<u64>, opts: &LoadOptions) -> Loaded {
    let file = SourceFile::new(name, "");
    let size = size.map_or_else(
        || "more than the limit".to_owned(),
        |s| format!("{s} bytes"),
    );
    let mut out = Loaded::default();
    out.diagnostics.push(
        Diagnostic::error(
            codes::TOO_LARGE,
            format!(
                "input is too large ({size}; the limit is {} bytes)",
                opts.max_file_bytes
            ),
        )
        .at(Loc::file_start(file.clone()))
        .with_help("split the input into several files, or raise the size limit"),
    );
    out.files.push(file);
    out
}

fn load_file(path: &Path, opts: &LoadOptions) -> Loaded {
    let name = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let mut out = Loaded::default();
            out.diagnostics.push(unreadable(path, &e));
            return out;
        }
    };
    if let Ok(m) = file.metadata() {
        if m.len() > opts.max_file_bytes {
            return too_large(&name, Some(m.len()), opts);
        }
    }
    // The cap also guards files that grow while read, and special files.
    let mut buf = Vec::new();
    match file
        .take(opts.max_file_bytes.saturating_add(1))
        .read_to_end(&mut buf)
    {
        Ok(_) => load_bytes(&name, &buf, opts),
        Err(e) => {
            let mut out = Loaded::default();
            out.diagnostics.push(unreadable(path, &e));
            out
        }
    }
}

/// Loads one input given as bytes. `name` is used in diagnostics and picks the format
/// (`.json` → JSON, `.yaml`/`.yml` → YAML, otherwise JSON when the text starts with
/// `{` or `[`, YAML if not).
pub fn load_bytes(name: &str, bytes: &[u8], opts: &LoadOptions) -> Loaded {
    if u64::try_from(bytes.len()).map_or(true, |n| n > opts.max_file_bytes) {
        return too_large(name, u64::try_from(bytes.len()).ok(), opts);
    }
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let body = bytes.get(bom..).unwrap_or(&[]);
    match std::str::from_utf8(body) {
        Ok(text) => load_text(name, text, opts),
        Err(e) => {
            let at = e.valid_up_to();
            let file = SourceFile::new(name, String::from_utf8_lossy(body).into_owned());
            // The lossy text has U+FFFD where the bad bytes were: underline it whole.
            let bad_len = file
                .text()
                .get(at..)
                .and_then(|r| r.chars().next())
                .map_or(0, char::len_utf8);
            let utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
            let help = if utf16 {
                "this looks like UTF-16; convert the file to UTF-8"
            } else {
                "save the file as UTF-8"
            };
            let mut out = Loaded::default();
            out.diagnostics.push(
                Diagnostic::error(
                    codes::INVALID_UTF8,
                    format!("input is not valid utf-8 (at byte {})", at + bom),
                )
                .at(Loc::new(file.clone(), at..at + bad_len))
                .with_help(help),
            );
            out.files.push(file);
            out
        }
    }
}

/// Loads one input given as text (see [`load_bytes`] for how `name` picks the format).
pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> Loaded {
    if u64::try_from(text.len()).map_or(true, |n| n > opts.max_file_bytes) {
        return too_large(name, u64::try_from(text.len()).ok(), opts);
    }
    load_text(name, text.strip_prefix('\u{feff}').unwrap_or(text), opts)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
}

fn format_of(name: &str, text: &str) -> Format {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        Format::Json
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Format::Yaml
    } else if text.trim_start().starts_with(['{', '[']) {
        Format::Json
    } else {
        Format::Yaml
    }
}

fn load_text(name: &str, text: &str, opts: &LoadOptions) -> Loaded {
    let file = SourceFile::new(name, text);
    let mut out = Loaded::default();
    let docs = match format_of(name, text) {
        Format::Json => json::parse(text, &file, opts, &mut out.diagnostics),
        Format::Yaml => yaml::parse(text, &file, opts, &mut out.diagnostics),
    };
    for (doc_index, doc) in docs.into_iter().enumerate() {
        let mut ctx = DocCtx {
            file: &file,
            doc_index,
            out: &mut out,
        };
        ctx.document(doc);
    }
    out.files.push(file);
    out
}

struct DocCtx<'a> {
    file: &'a Arc<SourceFile>,
    doc_index: usize,
    out: &'a mut Loaded,
}

/// What a list gives its items that lack `apiVersion`/`kind`.
struct Inherit {
    api_version: (String, Node),
    kind: Option<(String, Node)>,
}

impl DocCtx<'_> {
    fn loc(&self, node: &Node) -> Loc {
        Loc::new(self.file.clone(), node.span.start..node.span.start)
    }

    fn error(&mut self, code: &'static str, message: String, at: &Node, help: &str) {
        let d = Diagnostic::error(code, message)
            .at(self.loc(at))
            .with_help(help);
        self.out.diagnostics.push(d);
    }

    /// A string-valued type field: `Ok(None)` when absent or null.
    fn type_field(&mut self, obj: &Node, field: &str) -> Result<Option<(String, Node)>, ()> {
        match obj.get(field) {
            None => Ok(None),
            Some(n) if n.is_null() => Ok(None),
            Some(n) => match n.as_str() {
                Some(s) if !s.is_empty() => Ok(Some((s.to_owned(), n.clone()))),
                _ => {
                    let found = if n.as_str().is_some() {
                        "an empty string"
                    } else {
                        n.type_name()
                    };
                    self.error(
                        codes::BAD_TYPE,
                        format!("`{field}` must be a non-empty string, found {found}"),
                        n,
                        "for example `apiVersion: projectcalico.org/v3` and `kind: NetworkPolicy`",
                    );
                    Err(())
                }
            },
        }
    }

    fn document(&mut self, doc: Node) {
        if doc.is_null() {
            return;
        }
        self.object(doc, None, None);
    }

    fn object(&mut self, mut node: Node, inherit: Option<&Inherit>, list_index: Option<usize>) {
        let NodeKind::Map(_) = node.kind else {
            let what = if list_index.is_some() {
                "list item"
            } else {
                "document"
            };
            self.error(
                codes::NOT_A_MAPPING,
                format!("{what} must be a mapping with `apiVersion` and `kind`, found {}", node.type_name()),
                &node,
                "write each object as a mapping, for example `apiVersion: projectcalico.org/v3`, `kind: NetworkPolicy`, `metadata: ...`",
            );
            return;
        };
        let Ok(api) = self.type_field(&node, "apiVersion") else {
            return;
        };
        let Ok(kind) = self.type_field(&node, "kind") else {
            return;
        };
        let mut inferred = Vec::new();
        let api = match (api, inherit) {
            (Some(a), _) => a.0,
            (None, Some(inh)) => {
                inferred.push(("apiVersion", inh.api_version.1.clone()));
                inh.api_version.0.clone()
            }
            (None, None) => {
                self.missing(&node, "apiVersion", list_index.is_some());
                return;
            }
        };
        let kind = match (kind, inherit.and_then(|i| i.kind.as_ref())) {
            (Some(k), _) => k.0,
            (None, Some(k)) => {
                inferred.push(("kind", k.1.clone()));
                k.0.clone()
            }
            (None, None) => {
                self.missing(&node, "kind", list_index.is_some());
                return;
            }
        };
        if let NodeKind::Map(entries) = &mut node.kind {
            // Inferred entries go first, as `kubectl` writes them; their spans point at
            // the list's own fields.
            for (i, (key, value)) in inferred.into_iter().enumerate() {
                let key_node = Node::new(NodeKind::Str(key.to_owned()), value.span.clone());
                entries.retain(|(k, _)| k.as_str() != Some(key));
                entries.insert(i.min(entries.len()), (key_node, value));
            }
        }
        if let Some(item_kind) = kind.strip_suffix("List") {
            let list_api = node.get("apiVersion").cloned();
            let list_kind = node.get("kind").cloned();
            self.list(node, api, item_kind, list_api, list_kind);
            return;
        }
        let meta = node.get("metadata");
        let text = |k: &str| {
            meta.and_then(|m| m.get(k))
                .and_then(Node::as_str)
                .map(str::to_owned)
        };
        let obj = RawObject {
            api_version: api,
            kind,
            name: text("name"),
            namespace: text("namespace"),
            file: self.file.clone(),
            doc_index: self.doc_index,
            list_index,
            node,
        };
        self.out.objects.push(obj);
    }

    fn missing(&mut self, node: &Node, field: &str, in_list: bool) {
        let what = if in_list { "list item" } else { "document" };
        self.error(
            codes::MISSING_TYPE,
            format!("{what} has no `{field}`"),
            node,
            "every object needs `apiVersion` and `kind`, for example `apiVersion: projectcalico.org/v3` and `kind: NetworkPolicy`",
        );
    }

    fn list(
        &mut self,
        node: Node,
        api: String,
        item_kind: &str,
        list_api: Option<Node>,
        list_kind: Option<Node>,
    ) {
        let span = node.span.clone();
        let NodeKind::Map(entries) = node.kind else {
            return;
        };
        let mut items = None;
        for (k, v) in entries {
            if k.as_str() == Some("items") {
                items = Some(v);
            }
        }
        let items = match items {
            None => return,
            Some(n) if n.is_null() => return,
            Some(Node {
                kind: NodeKind::Seq(items),
                ..
            }) => items,
            Some(other) => {
                self.error(
                    codes::BAD_LIST,
                    format!(
                        "`items` of a list must be a list, found {}",
                        other.type_name()
                    ),
                    &other,
                    "write the list's objects under `items:` as `- ...` entries",
                );
                return;
            }
        };
        let at = Node::new(NodeKind::Null, span.start..span.start);
        let inherit = Inherit {
            api_version: (api, list_api.unwrap_or_else(|| at.clone())),
            kind: (!item_kind.is_empty()).then(|| {
                let k = list_kind.unwrap_or(at);
                let value = Node::new(NodeKind::Str(item_kind.to_owned()), k.span);
                (item_kind.to_owned(), value)
            }),
        };
        for (i, item) in items.into_iter().enumerate() {
            self.object(item, Some(&inherit), Some(i));
        }
    }
}
