//! Renderers for [`Reach`] and [`PortMatrix`]: pure functions returning text.

use std::fmt::Write as _;

use super::{PortMatrix, Reach};
use crate::ports::{ports_text, proto_name};

/// Calls `f(from, to, protocol, ports)` for each connection and protocol.
pub(crate) fn for_each_row(r: &Reach, mut f: impl FnMut(&str, &str, &str, &str)) {
    r.for_each_connection(|from, to, sum| {
        let (Some(a), Some(b)) = (r.name(from), r.name(to)) else {
            return;
        };
        for (p, ports) in &sum.0 {
            f(a, b, &proto_name(*p), &ports_text(*p, ports));
        }
    });
}

fn rows(r: &Reach) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for_each_row(r, |a, b, p, ports| {
        out.push(vec![
            a.to_owned(),
            b.to_owned(),
            p.to_owned(),
            ports.to_owned(),
        ]);
    });
    out
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(x) = w.get_mut(i) {
                *x = (*x).max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w.get(i).copied().unwrap_or(0)))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

pub(crate) fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = format!("| {} |\n", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| esc(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Reach {
    /// The documented stable JSON form (`docs/reach.md`).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// [`Reach::to_json`] into any text sink, one connection per line, without
    /// building the whole document first (the CLI can stream to stdout).
    pub fn write_json(&self, out: &mut impl std::fmt::Write) {
        let view = if self.staged { "pending" } else { "enforced" };
        let _ = write!(out, "{{\n  \"view\": \"{view}\",\n  \"endpoints\": [");
        for (i, e) in self.endpoints.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                out,
                "{sep}\n    {}",
                serde_json::to_string(e).unwrap_or_default()
            );
        }
        let _ = write!(out, "\n  ],\n  \"connections\": [");
        let mut first = true;
        for_each_row(self, |a, b, p, ports| {
            let sep = if first { "" } else { "," };
            first = false;
            let _ = write!(
                out,
                "{sep}\n    {{\"from\": {}, \"to\": {}, \"protocol\": {}, \"ports\": {}}}",
                json_str(a),
                json_str(b),
                json_str(p),
                json_str(ports)
            );
        });
        let _ = write!(out, "\n  ]\n}}\n");
    }

    /// Aligned text table `FROM TO PROTOCOL PORTS`.
    pub fn to_table(&self) -> String {
        table(&["FROM", "TO", "PROTOCOL", "PORTS"], &rows(self))
    }

    /// `from,to,protocol,ports` with a header line.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("from,to,protocol,ports\n");
        for_each_row(self, |a, b, p, ports| {
            let _ = writeln!(
                out,
                "{},{},{},{}",
                csv_field(a),
                csv_field(b),
                csv_field(p),
                csv_field(ports)
            );
        });
        out
    }

    /// A Markdown table.
    pub fn to_markdown(&self) -> String {
        markdown(&["from", "to", "protocol", "ports"], &rows(self))
    }

    /// Graphviz: namespaces as clusters; with `group`, one node per class.
    pub fn to_dot(&self, group: bool) -> String {
        // node id → (label, namespace)
        let mut nodes: Vec<(String, String, String)> = Vec::new();
        let mut edges: Vec<(String, String, String)> = Vec::new();
        if group {
            for (ci, members) in self.classes.iter().enumerate() {
                let outs: std::collections::BTreeSet<u32> = members
                    .iter()
                    .filter_map(|u| self.units.get(*u as usize).map(|u| u.out))
                    .collect();
                let Some(first) = outs
                    .iter()
                    .next()
                    .and_then(|o| self.endpoints.get(*o as usize))
                else {
                    continue;
                };
                let label = if outs.len() > 1 {
                    format!("{} (+{})", first.name, outs.len() - 1)
                } else {
                    first.name.clone()
                };
                nodes.push((
                    format!("c{ci}"),
                    label,
                    first.namespace.clone().unwrap_or_default(),
                ));
            }
            for (a, b, s) in self.class_connections() {
                edges.push((format!("c{a}"), format!("c{b}"), s.render()));
            }
        } else {
            for (i, e) in self.endpoints.iter().enumerate() {
                nodes.push((
                    format!("e{i}"),
                    e.name.clone(),
                    e.namespace.clone().unwrap_or_default(),
                ));
            }
            self.for_each_connection(|from, to, sum| {
                edges.push((format!("e{from}"), format!("e{to}"), sum.render()));
            });
        }
        let mut by_ns: std::collections::BTreeMap<&str, Vec<&(String, String, String)>> =
            std::collections::BTreeMap::new();
        for n in &nodes {
            by_ns.entry(n.2.as_str()).or_default().push(n);
        }
        let mut out = String::from("digraph reach {\n  rankdir=LR;\n  node [shape=box];\n");
        for (i, (ns, ns_nodes)) in by_ns.iter().enumerate() {
            let indent = if ns.is_empty() {
                "  "
            } else {
                let _ = writeln!(out, "  subgraph cluster_{i} {{\n    label={};", dot_id(ns));
                "    "
            };
            for (id, label, _) in ns_nodes {
                let _ = writeln!(out, "{indent}{id} [label={}];", dot_id(label));
            }
            if !ns.is_empty() {
                out.push_str("  }\n");
            }
        }
        for (a, b, l) in edges {
            let _ = writeln!(out, "  {a} -> {b} [label={}];", dot_id(&l));
        }
        out.push_str("}\n");
        out
    }
}

impl PortMatrix {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.allowed
            .iter()
            .map(|(a, b)| vec![a.clone(), b.clone()])
            .collect()
    }

    pub fn to_table(&self) -> String {
        format!(
            "{}/{}\n{}",
            self.port,
            self.protocol,
            table(&["FROM", "TO"], &self.rows())
        )
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from("from,to\n");
        for (a, b) in &self.allowed {
            let _ = writeln!(out, "{},{}", csv_field(a), csv_field(b));
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        markdown(&["from", "to"], &self.rows())
    }

    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph reach {\n  rankdir=LR;\n  node [shape=box];\n");
        for (a, b) in &self.allowed {
            let _ = writeln!(out, "  {} -> {};", dot_id(a), dot_id(b));
        }
        out.push_str("}\n");
        out
    }
}
