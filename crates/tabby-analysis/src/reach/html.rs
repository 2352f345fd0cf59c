//! A self-contained HTML page (one file, inline SVG drawn by inline JS, no
//! network): namespace filter, click an edge to see what allows it.

use serde_json::json;
use tabby_eval::Engine;

use super::{classes, flow, Reach, Unit};
use crate::ports::Summary;

/// At most this many edges are drawn (the rest are counted in the page).
const MAX_EDGES: usize = 5000;

impl Reach {
    /// The HTML page; `engine` must be the one `self` was computed from (it names
    /// the policies that allow each edge). With `group`, one node per class.
    pub fn to_html(&self, engine: &Engine, group: bool) -> String {
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        let mut total = 0usize;
        if group {
            for (ci, members) in self.classes.iter().enumerate() {
                let outs: std::collections::BTreeSet<u32> = members
                    .iter()
                    .filter_map(|u| self.units.get(*u as usize).map(|u| u.out))
                    .collect();
                let first = outs
                    .iter()
                    .next()
                    .and_then(|o| self.endpoints.get(*o as usize));
                let (label, ns) = match first {
                    Some(e) if outs.len() > 1 => (
                        format!("{} (+{})", e.name, outs.len() - 1),
                        e.namespace.clone(),
                    ),
                    Some(e) => (e.name.clone(), e.namespace.clone()),
                    None => (format!("class {ci}"), None),
                };
                let kind = first.map_or("workload", |e| e.kind);
                nodes.push(node(ci, label, ns.as_deref(), kind));
            }
            for (a, b, sum) in self.class_connections() {
                total += 1;
                if edges.len() >= MAX_EDGES {
                    continue;
                }
                let reps = classes::reps(&self.units, &self.classes, a, b);
                edges.push(edge(engine, self.staged, a, b, sum, reps));
            }
        } else {
            let mut first_unit: Vec<Option<&Unit>> = vec![None; self.endpoints.len()];
            for u in &self.units {
                if let Some(slot) = first_unit.get_mut(u.out as usize) {
                    slot.get_or_insert(u);
                }
            }
            for (i, e) in self.endpoints.iter().enumerate() {
                nodes.push(node(i, e.name.clone(), e.namespace.as_deref(), e.kind));
            }
            self.for_each_connection(|a, b, sum| {
                total += 1;
                if edges.len() >= MAX_EDGES {
                    return;
                }
                let reps = first_unit
                    .get(a as usize)
                    .copied()
                    .flatten()
                    .zip(first_unit.get(b as usize).copied().flatten());
                edges.push(edge(engine, self.staged, a, b, sum, reps));
            });
        }
        let data = json!({"nodes": nodes, "edges": edges, "total": total,
                          "view": if self.staged { "pending" } else { "enforced" }});
        let data = serde_json::to_string(&data)
            .unwrap_or_default()
            .replace("</", "<\\/");
        PAGE.replace("/*DATA*/null", &data)
    }
}

/// A node of the page: its box (`grp`) is its namespace, or one box per kind of
/// non-namespaced endpoint.
fn node(id: usize, label: String, ns: Option<&str>, kind: &str) -> serde_json::Value {
    let grp = match (ns, kind) {
        (Some(ns), _) => ns.to_string(),
        (None, "host-endpoint") => "(host endpoints)".to_string(),
        (None, "network-set") => "(global network sets)".to_string(),
        (None, "internet") => "(internet)".to_string(),
        (None, other) => format!("({other})"),
    };
    json!({"id": id, "label": label, "ns": ns.unwrap_or_default(), "kind": kind, "grp": grp})
}

/// An edge with, per allowed protocol (at its lowest allowed port), the policy
/// that decides each side.
fn edge(
    engine: &Engine,
    staged: bool,
    a: u32,
    b: u32,
    sum: &Summary,
    reps: Option<(&Unit, &Unit)>,
) -> serde_json::Value {
    let mut why = Vec::new();
    let Some((s, d)) = reps else {
        return json!({"s": a, "t": b, "label": sum.render(), "why": why});
    };
    for (p, ranges) in &sum.0 {
        let port = ranges.0.first().map_or(0, |r| r.0);
        let dec = engine.decide(&flow(s.ip, d.ip, *p, port));
        let (eg, ing) = if staged {
            (dec.staged_egress, dec.staged_ingress)
        } else {
            (dec.egress, dec.ingress)
        };
        let at = if tabby_model::Protocol(*p).has_ports() {
            format!("{} {}", crate::ports::proto_name(*p), port)
        } else {
            crate::ports::proto_name(*p)
        };
        for (side, v) in [("egress", eg), ("ingress", ing)] {
            let who = engine
                .flow_log_policy(&v)
                .unwrap_or_else(|| engine.describe(&v));
            why.push(format!("{side} ({at}): {who}"));
        }
    }
    json!({"s": a, "t": b, "label": sum.render(), "why": why})
}

const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tabby reach</title>
<style>
body{font:13px sans-serif;margin:0;display:flex;height:100vh;color:#222}
#side{width:340px;padding:10px 14px;border-right:1px solid #ccc;overflow:auto;flex:none}
#side h3{margin:4px 0 10px}#info div{margin:3px 0;word-break:break-word}#info .k{color:#777}
#main{flex:1;overflow:auto}svg{width:100%;height:100%;display:block}
rect.box{fill:#f6f7f9;stroke:#bbb;rx:6}text.ns{font-size:13px;font-weight:bold;fill:#444}
path.edge{fill:none;stroke:#5a9;stroke-width:1.4;opacity:.75;cursor:pointer}
path.edge.broad{stroke:#d90}path.edge:hover{stroke-width:3;opacity:1}
path.edge.sel{stroke:#d33;stroke-width:3.5;opacity:1}path.edge.hl{stroke:#36c;opacity:1;stroke-width:2.2}
path.edge.dim{opacity:.12}
circle.node{fill:#36c;cursor:pointer}circle.node.sel{fill:#d33}text.node{font-size:11px}
.legend span{display:inline-block;width:18px;height:3px;margin:0 4px 3px 0;vertical-align:middle}
</style></head><body>
<div id="side"><h3>tabby reach</h3>
<label>namespace <select id="ns"><option value="">(all)</option></select></label>
<p id="count"></p>
<p class="legend"><span style="background:#5a9"></span>allowed&nbsp; <span style="background:#d90"></span>some protocol on every port</p>
<div id="info">Click an edge to see what it allows and which policies allow it; click an endpoint to see its peers.</div></div>
<div id="main"><svg id="svg"><defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5"
markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#888"/></marker></defs>
<g id="g"></g></svg></div>
<script>
const DATA = /*DATA*/null;
const SVGNS = "http://www.w3.org/2000/svg";
const svg = document.getElementById("svg"), g = document.getElementById("g");
const sel = document.getElementById("ns"), info = document.getElementById("info");
const byId = {}; DATA.nodes.forEach(n => { byId[n.id] = n; });
const groups = {}; DATA.nodes.forEach(n => (groups[n.grp] = groups[n.grp] || []).push(n));
const names = Object.keys(groups).sort((a, b) => (a[0] === "(") - (b[0] === "(") || (a < b ? -1 : a > b ? 1 : 0));
names.forEach(n => { const o = document.createElement("option"); o.value = n; o.textContent = n; sel.appendChild(o); });
function el(t, at, parent) { const e = document.createElementNS(SVGNS, t); for (const k in at) e.setAttribute(k, at[k]); if (parent) parent.appendChild(e); return e; }
function short(n) { const p = n.ns ? n.ns + "/" : ""; const s = p && n.label.startsWith(p) ? n.label.slice(p.length) : n.label; return s.length > 34 ? s.slice(0, 32) + "\u2026" : s; }
function show(rows) {
  info.textContent = "";
  rows.forEach(([k, v]) => { const d = document.createElement("div"); const b = document.createElement("span"); b.className = "k"; b.textContent = k + ": "; d.appendChild(b); d.appendChild(document.createTextNode(v)); info.appendChild(d); });
}
function clearSel() { document.querySelectorAll(".sel,.hl,.dim").forEach(x => x.classList.remove("sel", "hl", "dim")); }
function draw() {
  const f = sel.value; g.textContent = ""; clearSel();
  const edges = DATA.edges.filter(e => !f || byId[e.s].grp === f || byId[e.t].grp === f);
  const vis = new Set();
  if (f) { groups[f].forEach(n => vis.add(n.id)); edges.forEach(e => { vis.add(e.s); vis.add(e.t); }); }
  else DATA.nodes.forEach(n => vis.add(n.id));
  const shown = names.filter(ns => groups[ns].some(n => vis.has(n.id)));
  const BW = 250, GAP = 70, RH = 18, pos = {};
  const members = ns => groups[ns].filter(n => vis.has(n.id));
  // Boxes in a grid; the column count that lets the picture fill the window best.
  function layout(cols, out) {
    let y = 20, W = 0;
    for (let r = 0; r < shown.length; r += cols) {
      const row = shown.slice(r, r + cols); let h = 0;
      row.forEach((ns, c) => {
        const m = members(ns), x = 20 + c * (BW + GAP), bh = 30 + RH * m.length;
        if (out) {
          el("rect", {x: x, y: y, width: BW, height: bh, "class": "box"}, g);
          el("text", {x: x + 10, y: y + 18, "class": "ns"}, g).textContent = ns;
          m.forEach((n, j) => { pos[n.id] = [x + 16, y + 38 + RH * j, x + BW - 8]; });
        }
        h = Math.max(h, bh); W = Math.max(W, x + BW + 20);
      });
      y += h + GAP;
    }
    return [Math.max(W, 400), Math.max(y, 300)];
  }
  const vw = Math.max(svg.clientWidth, 400), vh = Math.max(svg.clientHeight, 300);
  let cols = 1, best = 0;
  for (let c = 1; c <= shown.length; c++) {
    const [w, h] = layout(c, false), sc = Math.min(vw / w, vh / h);
    if (sc > best * 1.0001) { best = sc; cols = c; }
  }
  const [W, y] = layout(cols, true);
  svg.setAttribute("viewBox", "0 0 " + W + " " + y);
  const eg = el("g", {}, g), ng = el("g", {}, g);
  edges.forEach(e => {
    const ps = pos[e.s], pt = pos[e.t]; if (!ps || !pt) return;
    // Leave a box on the side facing the other box (the right edge for boxes to the right).
    const a = [pt[0] > ps[0] + 1 ? ps[2] : ps[0], ps[1]], b = [ps[0] > pt[0] + 1 ? pt[2] : pt[0], pt[1]];
    const dx = b[0] - a[0], dy = b[1] - a[1], len = Math.hypot(dx, dy) || 1, k = Math.min(60, 0.18 * len + 14);
    const cx = (a[0] + b[0]) / 2 - dy / len * k, cy = (a[1] + b[1]) / 2 + dx / len * k;
    const ux = b[0] - cx, uy = b[1] - cy, ul = Math.hypot(ux, uy) || 1;
    const p = el("path", {d: "M" + a[0] + "," + a[1] + "Q" + cx.toFixed(1) + "," + cy.toFixed(1) + " " + (b[0] - ux / ul * 6).toFixed(1) + "," + (b[1] - uy / ul * 6).toFixed(1),
      "class": "edge" + (/1-65535/.test(e.label) ? " broad" : ""), "marker-end": "url(#arr)", "data-from": byId[e.s].label, "data-to": byId[e.t].label}, eg);
    el("title", {}, p).textContent = byId[e.s].label + " \u2192 " + byId[e.t].label + ": " + e.label;
    p.addEventListener("click", ev => { ev.stopPropagation(); clearSel(); p.classList.add("sel");
      show([["from", byId[e.s].label], ["to", byId[e.t].label], ["allowed", e.label]].concat(e.why.map(w => ["why", w]))); });
    e.el = p;
  });
  DATA.nodes.forEach(n => {
    const p = pos[n.id]; if (!p) return;
    const c = el("circle", {cx: p[0], cy: p[1], r: 5, "class": "node"}, ng);
    el("title", {}, c).textContent = n.label + " (" + n.kind + ")";
    const t = el("text", {x: p[0] + 10, y: p[1] + 4, "class": "node"}, ng); t.textContent = short(n);
    el("title", {}, t).textContent = n.label;
    c.addEventListener("click", ev => { ev.stopPropagation(); clearSel(); c.classList.add("sel");
      const out = [], inn = [];
      edges.forEach(e => { if (!e.el) return;
        if (e.s === n.id) { out.push(byId[e.t].label + ": " + e.label); e.el.classList.add("hl"); }
        else if (e.t === n.id) { inn.push(byId[e.s].label + ": " + e.label); e.el.classList.add("hl"); }
        else e.el.classList.add("dim"); });
      show([["endpoint", n.label], ["kind", n.kind], ["can reach", out.length ? "" : "nothing"]].concat(out.map(o => ["  to", o]),
        [["reached by", inn.length ? "" : "nothing"]], inn.map(o => ["  from", o]))); });
  });
  document.getElementById("count").textContent = edges.filter(e => e.el).length + " edges shown of " + DATA.total + " (" + DATA.view + " view)"
    + (DATA.total > DATA.edges.length ? "; only the first " + DATA.edges.length + " are drawn (use --group)" : "");
}
svg.addEventListener("click", () => { clearSel(); });
sel.addEventListener("change", draw); draw();
</script></body></html>
"##;

#[cfg(test)]
mod tests {
    use crate::{reach, ReachOptions};
    use tabby_eval::{gen, Engine, EngineOptions};

    #[test]
    fn page_is_self_contained_and_carries_the_graph() {
        let c = gen::synthetic_cluster(30, 2, 8, 5);
        let e = Engine::new(&c, EngineOptions::default());
        let r = reach(&e, &ReachOptions::default());
        for group in [false, true] {
            let html = r.to_html(&e, group);
            assert!(html.starts_with("<!DOCTYPE html>"));
            assert!(!html.contains("/*DATA*/null"));
            // No external resources: the only URL is the SVG namespace.
            assert_eq!(html.matches("http").count(), 1, "{group}");
            assert!(!html.contains("src=") && !html.contains("href="));
            let start = html.find("const DATA = ").unwrap() + "const DATA = ".len();
            let end = start + html[start..].find(";\nconst SVGNS").unwrap();
            let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
            let edges = data["edges"].as_array().unwrap();
            assert!(!edges.is_empty());
            assert_eq!(edges.len() as u64, data["total"].as_u64().unwrap());
            // Two sides per allowed protocol.
            assert!(edges.iter().all(|e| {
                let protos = e["label"].as_str().unwrap().split("; ").count();
                e["why"].as_array().unwrap().len() == 2 * protos
            }));
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Reach {
    /// A static SVG picture (no Graphviz needed): namespaces on a circle, their
    /// endpoints (classes with `group`) on small circles, edges titled with what
    /// they allow. At most 5,000 edges are drawn.
    pub fn to_svg(&self, group: bool) -> String {
        use std::fmt::Write as _;
        // (label, namespace) per node; edges as node indices.
        let mut nodes: Vec<(String, String)> = Vec::new();
        let mut edges: Vec<(u32, u32, String)> = Vec::new();
        if group {
            for members in &self.classes {
                let outs: std::collections::BTreeSet<u32> = members
                    .iter()
                    .filter_map(|u| self.units.get(*u as usize).map(|u| u.out))
                    .collect();
                let first = outs
                    .iter()
                    .next()
                    .and_then(|o| self.endpoints.get(*o as usize));
                let label = match first {
                    Some(e) if outs.len() > 1 => format!("{} (+{})", e.name, outs.len() - 1),
                    Some(e) => e.name.clone(),
                    None => String::new(),
                };
                let ns = first.and_then(|e| e.namespace.clone()).unwrap_or_default();
                nodes.push((label, ns));
            }
            for (a, b, s) in self.class_connections().take(MAX_EDGES) {
                edges.push((a, b, s.render()));
            }
        } else {
            for e in &self.endpoints {
                nodes.push((e.name.clone(), e.namespace.clone().unwrap_or_default()));
            }
            self.for_each_connection(|a, b, s| {
                if edges.len() < MAX_EDGES {
                    edges.push((a, b, s.render()));
                }
            });
        }
        let mut by_ns: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (i, (_, ns)) in nodes.iter().enumerate() {
            by_ns.entry(ns.as_str()).or_default().push(i);
        }
        let (w, h, big) = (1000.0_f64, 1000.0_f64, 380.0_f64);
        let mut pos = vec![(0.0_f64, 0.0_f64); nodes.len()];
        let mut out = String::from(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1000 1000\" font-family=\"sans-serif\">\n\
             <defs><marker id=\"arr\" viewBox=\"0 0 10 10\" refX=\"14\" refY=\"5\" markerWidth=\"6\" \
             markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#7a9\"/></marker></defs>\n",
        );
        let n_ns = by_ns.len().max(1) as f64;
        let mut labels = String::new();
        for (i, (ns, members)) in by_ns.iter().enumerate() {
            let a = std::f64::consts::TAU * i as f64 / n_ns;
            let (cx, cy) = (w / 2.0 + big * a.cos(), h / 2.0 + big * a.sin());
            let r = (12.0 + 6.0 * members.len() as f64).min(120.0);
            let name = if ns.is_empty() { "(no namespace)" } else { ns };
            let _ = writeln!(
                labels,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\" fill=\"#555\">{}</text>",
                cy - r - 8.0,
                esc(name)
            );
            for (j, &n) in members.iter().enumerate() {
                let b = std::f64::consts::TAU * j as f64 / members.len().max(1) as f64;
                if let Some(p) = pos.get_mut(n) {
                    *p = (cx + r * b.cos(), cy + r * b.sin());
                }
            }
        }
        for (a, b, label) in &edges {
            let (Some(p), Some(q)) = (pos.get(*a as usize), pos.get(*b as usize)) else {
                continue;
            };
            let _ = writeln!(
                out,
                "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#7a9\" marker-end=\"url(#arr)\"><title>{}</title></line>",
                p.0,
                p.1,
                q.0,
                q.1,
                esc(label)
            );
        }
        out.push_str(&labels);
        for ((label, _), p) in nodes.iter().zip(&pos) {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"#36c\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
                p.0,
                p.1,
                p.0 + 7.0,
                p.1 + 3.0,
                esc(label)
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod svg_tests {
    use crate::{reach, ReachOptions};
    use tabby_eval::{gen, Engine, EngineOptions};

    #[test]
    fn svg_has_every_node_and_edge() {
        let c = gen::synthetic_cluster(30, 2, 8, 5);
        let e = Engine::new(&c, EngineOptions::default());
        let r = reach(&e, &ReachOptions::default());
        let svg = r.to_svg(false);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), r.endpoints.len());
        assert_eq!(svg.matches("<line").count(), r.connections().len());
        let g = r.to_svg(true);
        assert_eq!(g.matches("<circle").count(), r.classes.len());
        assert_eq!(g.matches("<line").count(), r.class_connections().count());
    }
}
