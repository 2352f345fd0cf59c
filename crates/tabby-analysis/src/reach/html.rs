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
                nodes.push(json!({"id": ci, "label": label, "ns": ns.unwrap_or_default()}));
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
                nodes.push(json!({"id": i, "label": e.name,
                                  "ns": e.namespace.clone().unwrap_or_default()}));
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

fn edge(
    engine: &Engine,
    staged: bool,
    a: u32,
    b: u32,
    sum: &Summary,
    reps: Option<(&Unit, &Unit)>,
) -> serde_json::Value {
    let mut why = Vec::new();
    if let (Some((s, d)), Some((p, ranges))) = (reps, sum.0.first()) {
        let port = ranges.0.first().map_or(0, |r| r.0);
        let dec = engine.decide(&flow(s.ip, d.ip, *p, port));
        let (eg, ing) = if staged {
            (dec.staged_egress, dec.staged_ingress)
        } else {
            (dec.egress, dec.ingress)
        };
        let at = format!("{} {}", crate::ports::proto_name(*p), port);
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
body{font:13px sans-serif;margin:0;display:flex;height:100vh}
#side{width:320px;padding:10px;border-right:1px solid #ccc;overflow:auto}
#main{flex:1}svg{width:100%;height:100%}
line{stroke:#7a9;stroke-width:1.2;cursor:pointer}line.sel{stroke:#d33;stroke-width:3}
circle{fill:#36c}text{font-size:10px}text.ns{font-size:13px;font-weight:bold;fill:#555}
</style></head><body>
<div id="side"><h3>tabby reach</h3>
<label>namespace <select id="ns"><option value="">(all)</option></select></label>
<p id="count"></p><div id="info">Click an edge.</div></div>
<div id="main"><svg id="svg"><defs><marker id="arr" viewBox="0 0 10 10" refX="14" refY="5"
markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#7a9"/></marker></defs>
<g id="g"></g></svg></div>
<script>
const DATA = /*DATA*/null;
const NS = "http://www.w3.org/2000/svg";
const svg = document.getElementById("svg"), g = document.getElementById("g");
const sel = document.getElementById("ns"), info = document.getElementById("info");
const groups = {};
DATA.nodes.forEach(n => (groups[n.ns] = groups[n.ns] || []).push(n));
const names = Object.keys(groups).sort();
names.forEach(n => { const o = document.createElement("option"); o.value = n; o.textContent = n || "(no namespace)"; sel.appendChild(o); });
const pos = {}; const W = 1000, H = 1000, R = 380;
names.forEach((ns, i) => {
  const a = 2 * Math.PI * i / names.length, cx = W / 2 + R * Math.cos(a), cy = H / 2 + R * Math.sin(a);
  const m = groups[ns], r = Math.min(120, 12 + 6 * m.length);
  m.forEach((n, j) => { const b = 2 * Math.PI * j / m.length; pos[n.id] = [cx + r * Math.cos(b), cy + r * Math.sin(b), ns, cx, cy - r - 8]; });
});
svg.setAttribute("viewBox", "0 0 " + W + " " + H);
function el(t, at) { const e = document.createElementNS(NS, t); for (const k in at) e.setAttribute(k, at[k]); return e; }
function draw() {
  const f = sel.value; g.textContent = ""; let shown = 0;
  names.filter(ns => !f || ns === f).forEach(ns => {
    const p = pos[groups[ns][0].id]; const t = el("text", {x: p[3], y: p[4], "class": "ns", "text-anchor": "middle"});
    t.textContent = ns || "(no namespace)"; g.appendChild(t);
  });
  DATA.edges.forEach(e => {
    const a = pos[e.s], b = pos[e.t]; if (!a || !b) return;
    if (f && a[2] !== f && b[2] !== f) return;
    shown++;
    const l = el("line", {x1: a[0], y1: a[1], x2: b[0], y2: b[1], "marker-end": "url(#arr)"});
    l.addEventListener("click", () => {
      document.querySelectorAll("line.sel").forEach(x => x.classList.remove("sel")); l.classList.add("sel");
      const nm = id => DATA.nodes.find(n => n.id === id).label;
      info.innerHTML = "";
      [["from", nm(e.s)], ["to", nm(e.t)], ["allowed", e.label]].concat(e.why.map(w => ["why", w])).forEach(([k, v]) => {
        const d = document.createElement("div"); d.textContent = k + ": " + v; info.appendChild(d); });
    });
    const tt = el("title", {}); tt.textContent = e.label; l.appendChild(tt); g.appendChild(l);
  });
  DATA.nodes.forEach(n => {
    const p = pos[n.id]; if (f && p[2] !== f) return;
    g.appendChild(el("circle", {cx: p[0], cy: p[1], r: 5}));
    const t = el("text", {x: p[0] + 7, y: p[1] + 3}); t.textContent = n.label; g.appendChild(t);
  });
  document.getElementById("count").textContent = shown + " edges shown of " + DATA.total + " (" + DATA.view + " view)"
    + (DATA.total > DATA.edges.length ? "; only the first " + DATA.edges.length + " are drawn" : "");
}
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
            let end = start + html[start..].find(";\nconst NS").unwrap();
            let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
            let edges = data["edges"].as_array().unwrap();
            assert!(!edges.is_empty());
            assert_eq!(edges.len() as u64, data["total"].as_u64().unwrap());
            assert!(edges
                .iter()
                .all(|e| e["why"].as_array().unwrap().len() == 2));
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
