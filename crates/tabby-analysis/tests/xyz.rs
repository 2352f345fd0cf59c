//! The upstream Kubernetes network-policy test matrix: namespaces x, y, z with
//! pods a, b, c, ports 80 and 81 over TCP, UDP and SCTP. Each `tests/xyz/CASE.yaml`
//! holds policies, `CASE.expect` the truth tables derived by hand from the
//! Kubernetes NetworkPolicy semantics: a header line of `PORT/PROTO`s, then nine
//! rows (from) of nine columns (to), `.` allowed, `X` blocked, `-` self.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test harness"
)]

use std::path::Path;

use tabby_analysis::{reach, reach_port, ReachOptions};
use tabby_eval::{Engine, EngineOptions};
use tabby_load::{load_str, LoadOptions};
use tabby_model::Protocol;

const PODS: [&str; 9] = [
    "x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c",
];

fn load(dir: &Path, case: &str) -> Engine {
    let mut objects = Vec::new();
    for name in ["cluster.yaml", &format!("{case}.yaml")] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let loaded = load_str(name, &text, &LoadOptions::default());
        assert!(
            !loaded.diagnostics.has_errors(),
            "{case}: {name}: {:?}",
            loaded.diagnostics
        );
        objects.extend(loaded.objects);
    }
    let v = tabby_validate::validate(&objects);
    assert!(!v.diagnostics.has_errors(), "{case}: {:?}", v.diagnostics);
    Engine::new(&v.cluster, EngineOptions::default())
}

fn parse_proto(s: &str) -> (Protocol, u16) {
    let (port, proto) = s.split_once('/').unwrap();
    (Protocol::from_name(proto).unwrap(), port.parse().unwrap())
}

#[test]
fn xyz_truth_tables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xyz");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".expect").map(str::to_owned)
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "{cases:?}");
    for case in &cases {
        let engine = load(&dir, case);
        let full = reach(&engine, &ReachOptions::default());
        let text = std::fs::read_to_string(dir.join(format!("{case}.expect"))).unwrap();
        let mut lines = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
        let mut seen = Vec::new();
        while let Some(header) = lines.next() {
            let rows: Vec<&str> = lines.by_ref().take(9).collect();
            assert_eq!(rows.len(), 9, "{case}: table after `{header}`");
            for pp in header.split_whitespace() {
                seen.push(pp.to_owned());
                let (proto, port) = parse_proto(pp);
                let m = full.port_matrix(proto, port);
                assert_eq!(
                    m,
                    reach_port(&engine, proto, port, &ReachOptions::default()),
                    "{case} {pp}: port matrix and full analysis disagree"
                );
                for (i, row) in rows.iter().enumerate() {
                    for (j, want) in row.chars().enumerate() {
                        let (from, to) = (PODS[i], PODS[j]);
                        let got = m.allowed.contains(&(from.to_owned(), to.to_owned()));
                        match want {
                            '-' => assert!(!got, "{case} {pp}: self pair {from} listed"),
                            '.' | 'X' => assert_eq!(
                                got,
                                want == '.',
                                "{case} {pp}: {from} -> {to} should be {}",
                                if want == '.' { "allowed" } else { "blocked" }
                            ),
                            c => panic!("{case}: bad cell `{c}`"),
                        }
                    }
                }
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            ["80/SCTP", "80/TCP", "80/UDP", "81/SCTP", "81/TCP", "81/UDP"],
            "{case}: every port/protocol exactly once"
        );
    }
}

/// One upstream check: the pods of the test, the port, and the expected matrix.
struct UpstreamCase {
    pods: Vec<String>,
    ports: Vec<(Protocol, u16, String)>,
    expected: std::collections::BTreeMap<(String, String), bool>,
}

/// Upstream's `Peer`: an empty namespace or pod matches any (`*` here).
fn peer_matches(peer: &str, pod: &str) -> bool {
    if peer == "*" {
        return true;
    }
    let (pns, pp) = peer.split_once('/').unwrap();
    let (ns, p) = pod.split_once('/').unwrap();
    (pns == "*" || pns == ns) && (pp == "*" || pp == p)
}

fn parse_bool(s: &str) -> bool {
    match s {
        "true" => true,
        "false" => false,
        o => panic!("expected true or false, got `{o}`"),
    }
}

/// Parses a `.reach` file: the upstream test's own expectation calls, one per line.
/// `pods P...` (the pods the upstream test creates; all nine if absent), then per
/// `ValidateOrFail`, `case PORT/PROTO...` (a fresh reachability, everything
/// connected, as upstream's `NewReachability(pods, true)`) followed by
/// `expect FROM TO BOOL`, `expect-peer FROM TO BOOL` (`*` for an empty field),
/// `expect-all-ingress POD BOOL` and `expect-all-egress POD BOOL`, applied in order.
fn parse_reach(text: &str) -> Vec<UpstreamCase> {
    let mut pods: Vec<String> = PODS.iter().map(|s| (*s).to_owned()).collect();
    let mut cases: Vec<UpstreamCase> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap().trim();
        let w: Vec<&str> = line.split_whitespace().collect();
        let Some((&cmd, args)) = w.split_first() else {
            continue;
        };
        let cur = cases.last_mut();
        let set = |c: &mut UpstreamCase,
                   from: &dyn Fn(&str) -> bool,
                   to: &dyn Fn(&str) -> bool,
                   v: bool| {
            for f in &c.pods {
                for t in &c.pods {
                    if from(f) && to(t) {
                        c.expected.insert((f.clone(), t.clone()), v);
                    }
                }
            }
        };
        match (cmd, args) {
            ("pods", ps) => pods = ps.iter().map(|s| (*s).to_owned()).collect(),
            ("case", ps) => {
                let mut c = UpstreamCase {
                    pods: pods.clone(),
                    ports: ps
                        .iter()
                        .map(|p| {
                            let (proto, port) = parse_proto(p);
                            (proto, port, (*p).to_owned())
                        })
                        .collect(),
                    expected: Default::default(),
                };
                set(&mut c, &|_| true, &|_| true, true);
                cases.push(c);
            }
            ("expect", [f, t, v]) => {
                set(cur.unwrap(), &|p| p == *f, &|p| p == *t, parse_bool(v));
            }
            ("expect-peer", [f, t, v]) => {
                set(
                    cur.unwrap(),
                    &|p| peer_matches(f, p),
                    &|p| peer_matches(t, p),
                    parse_bool(v),
                );
            }
            ("expect-all-ingress", [pod, v]) => {
                set(cur.unwrap(), &|_| true, &|p| p == *pod, parse_bool(v));
            }
            ("expect-all-egress", [pod, v]) => {
                set(cur.unwrap(), &|p| p == *pod, &|_| true, parse_bool(v));
            }
            _ => panic!("bad line `{line}`"),
        }
    }
    cases
}

/// The upstream e2e suite (test/e2e/network/netpol/network_policy.go), ported case by
/// case: `tests/xyz/upstream/NAME.yaml` holds the policies as the upstream test
/// creates them, `NAME.reach` the upstream expectations, transcribed call for
/// call. Loopback is ignored, as upstream does (`ignoreLoopback = true`).
#[test]
fn upstream_e2e_suite() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xyz");
    let dir = base.join("upstream");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".reach").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 40, "{} cases", names.len());
    let mut failures = Vec::new();
    let mut checked = 0usize;
    for name in &names {
        let mut objects = Vec::new();
        for (d, f) in [
            (&base, "cluster.yaml".to_owned()),
            (&dir, format!("{name}.yaml")),
        ] {
            let text = std::fs::read_to_string(d.join(&f)).unwrap();
            let loaded = load_str(&f, &text, &LoadOptions::default());
            assert!(
                !loaded.diagnostics.has_errors(),
                "{name}: {:?}",
                loaded.diagnostics
            );
            objects.extend(loaded.objects);
        }
        let v = tabby_validate::validate(&objects);
        assert!(!v.diagnostics.has_errors(), "{name}: {:?}", v.diagnostics);
        let engine = Engine::new(&v.cluster, EngineOptions::default());
        let text = std::fs::read_to_string(dir.join(format!("{name}.reach"))).unwrap();
        let cases = parse_reach(&text);
        assert!(!cases.is_empty(), "{name}: no case");
        for c in &cases {
            for (proto, port, label) in &c.ports {
                let m = reach_port(&engine, *proto, *port, &ReachOptions::default());
                for ((from, to), want) in &c.expected {
                    if from == to {
                        continue;
                    }
                    checked += 1;
                    let got = m.allowed.contains(&(from.clone(), to.clone()));
                    if got != *want {
                        failures.push(format!(
                            "{name} {label}: {from} -> {to}: expected {}, tabby says {}",
                            if *want { "allowed" } else { "blocked" },
                            if got { "allowed" } else { "blocked" }
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 500, "{checked}");
}
