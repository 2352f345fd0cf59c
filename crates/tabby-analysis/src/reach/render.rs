//! Renderers for [`Reach`] and [`PortMatrix`]: pure functions returning text.

use std::fmt::Write as _;

use serde_json::json;

use super::{PortMatrix, Reach};
use crate::ports::{ports_text, proto_name};

/// Rows `(from, to, protocol, ports)` of the connections, one per protocol.
pub(crate) fn rows(r: &Reach) -> Vec<[String; 4]> {
    let mut out = Vec::new();
    for c in r.connections() {
        let (Some(f), Some(t)) = (r.name(c.from), r.name(c.to)) else {
            continue;
        };
        for (p, ports) in &c.allowed.0 {
            out.push([
                f.to_owned(),
                t.to_owned(),
                proto_name(*p),
                ports_text(*p, ports),
            ]);
        }
    }
    out
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
        let conns: Vec<serde_json::Value> = rows(self)
            .into_iter()
            .map(|[f, t, p, ports]| json!({"from": f, "to": t, "protocol": p, "ports": ports}))
            .collect();
        let v = json!({
            "view": if self.staged { "pending" } else { "enforced" },
            "endpoints": self.endpoints,
            "connections": conns,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// Aligned text table `FROM TO PROTOCOL PORTS`.
    pub fn to_table(&self) -> String {
        let rows: Vec<Vec<String>> = rows(self).into_iter().map(Vec::from).collect();
        table(&["FROM", "TO", "PROTOCOL", "PORTS"], &rows)
    }

    /// `from,to,protocol,ports` with a header line.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("from,to,protocol,ports\n");
        for r in rows(self) {
            let cells: Vec<String> = r.iter().map(|c| csv_field(c)).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// A Markdown table.
    pub fn to_markdown(&self) -> String {
        let rows: Vec<Vec<String>> = rows(self).into_iter().map(Vec::from).collect();
        markdown(&["from", "to", "protocol", "ports"], &rows)
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
            for c in self.connections() {
                edges.push((
                    format!("e{}", c.from),
                    format!("e{}", c.to),
                    c.allowed.render(),
                ));
            }
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
