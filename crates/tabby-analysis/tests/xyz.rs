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
