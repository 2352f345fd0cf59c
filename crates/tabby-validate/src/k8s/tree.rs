//! Reading values out of the position-carrying document tree.
//!
//! The Kubernetes conversions read field values straight from the loaded tree
//! (`RawObject::node`), through the same [`At`] paths they report errors at, so a
//! value and its position can never disagree. By the time `lower` runs, the
//! dispatcher has already decoded the object into its `tabby-api` type, so the
//! shape (types, unknown fields) is known to be right; these accessors only
//! tolerate what serde would also have accepted (a `null` for an absent field).

use tabby_load::{Node, NodeKind};

use crate::ctx::At;

pub(crate) trait Tree<'a> {
    /// The node at this path, `None` when absent or `null`.
    fn node(&self) -> Option<&'a Node>;
    fn present(&self) -> bool {
        self.node().is_some()
    }
    fn str(&self) -> Option<&'a str>;
    fn int(&self) -> Option<i64>;
    fn bool(&self) -> Option<bool>;
    /// Child locations of a sequence (empty when absent or not a sequence).
    fn items(&self) -> Vec<At<'a>>;
    /// `(key, child location)` of a mapping, in source order.
    fn entries(&self) -> Vec<(String, At<'a>)>;
    /// String-to-string entries of a mapping (labels, annotations, selectors).
    /// Non-string values are read as their text (as Kubernetes would reject them
    /// at decode time, the dispatcher has reported them already).
    fn string_map(&self) -> Vec<(String, String)>;
}

impl<'a> Tree<'a> for At<'a> {
    fn node(&self) -> Option<&'a Node> {
        let obj: &'a tabby_load::RawObject = self.obj;
        obj.node.at_path(&self.path).filter(|n| !n.is_null())
    }

    fn str(&self) -> Option<&'a str> {
        self.node().and_then(|n| n.as_str())
    }

    fn int(&self) -> Option<i64> {
        match self.node()?.kind {
            NodeKind::Int(i) => Some(i),
            _ => None,
        }
    }

    fn bool(&self) -> Option<bool> {
        match self.node()?.kind {
            NodeKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn items(&self) -> Vec<At<'a>> {
        match self.node().map(|n| &n.kind) {
            Some(NodeKind::Seq(items)) => (0..items.len()).map(|i| self.index(i)).collect(),
            _ => Vec::new(),
        }
    }

    fn entries(&self) -> Vec<(String, At<'a>)> {
        match self.node().map(|n| &n.kind) {
            Some(NodeKind::Map(entries)) => entries
                .iter()
                .filter_map(|(k, _)| k.key_text().map(|k| k.into_owned()))
                .map(|k| {
                    let child = self.key(&k);
                    (k, child)
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn string_map(&self) -> Vec<(String, String)> {
        self.entries()
            .into_iter()
            .filter_map(|(k, at)| {
                let v = match at.node().map(|n| &n.kind) {
                    Some(NodeKind::Str(s)) => s.clone(),
                    Some(NodeKind::Int(i)) => i.to_string(),
                    Some(NodeKind::Bool(b)) => b.to_string(),
                    Some(NodeKind::Float(f)) => f.to_string(),
                    None => String::new(),
                    Some(_) => return None,
                };
                Some((k, v))
            })
            .collect()
    }
}
