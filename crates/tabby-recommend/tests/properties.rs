//! The four properties of a recommendation, on hand-built fixtures:
//! completeness (every observed flow is allowed), least privilege (every flow class
//! not observed is denied, apart from DNS), idempotence, and the same for the
//! Kubernetes format. The engine, not the recommender, is the judge.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tabby_eval::{Engine, EngineOptions, Flow};
use tabby_flowlog::{Action, EndpointKind, FlowEndpoint, FlowRecord};
use tabby_model::{Cluster, LabelMap, Protocol};
use tabby_recommend::{recommend, Options, PolicyFormat, Recommendation};

#[derive(Debug, Clone)]
struct Pod {
    ns: &'static str,
    name: &'static str,
    labels: Vec<(&'static str, &'static str)>,
    ip: IpAddr,
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pods() -> Vec<Pod> {
    let p = |ns, name, labels: &[(&'static str, &'static str)], a: &str| Pod {
        ns,
        name,
        labels: labels.to_vec(),
        ip: ip(a),
    };
    vec![
        p(
            "shop",
            "web-5d9f8b-aaaaa",
            &[("app", "web"), ("pod-template-hash", "5d9f8b")],
            "10.244.1.1",
        ),
        p(
            "shop",
            "web-5d9f8b-bbbbb",
            &[("app", "web"), ("pod-template-hash", "5d9f8b")],
            "10.244.1.2",
        ),
        p(
            "shop",
            "api-7c4b2d-ccccc",
            &[("app", "api"), ("pod-template-hash", "7c4b2d")],
            "10.244.1.3",
        ),
        // A more specific class whose labels include the `api` class's labels.
        p(
            "shop",
            "api-worker-6f5e4-ddddd",
            &[("app", "api"), ("component", "worker")],
            "10.244.1.4",
        ),
        p(
            "shop",
            "db-0",
            &[
                ("app", "db"),
                ("statefulset.kubernetes.io/pod-name", "db-0"),
            ],
            "10.244.1.5",
        ),
        p(
            "billing",
            "pay-59d7c-eeeee",
            &[("app.kubernetes.io/name", "pay")],
            "10.244.2.1",
        ),
        p("billing", "ledger-0", &[("app", "ledger")], "10.244.2.2"),
        p(
            "monitoring",
            "prometheus-0",
            &[("app", "prometheus")],
            "10.244.3.1",
        ),
        p(
            "kube-system",
            "coredns-1",
            &[("k8s-app", "kube-dns")],
            "10.244.0.10",
        ),
        p(
            "kube-system",
            "metrics-server-1",
            &[("k8s-app", "metrics-server")],
            "10.244.0.11",
        ),
    ]
}

const OUTSIDE: [&str; 3] = ["203.0.113.7", "198.51.100.20", "8.8.8.8"];

fn pod(name: &str) -> Pod {
    pods()
        .into_iter()
        .find(|p| p.name.starts_with(name))
        .unwrap()
}

fn wl(p: &Pod) -> FlowEndpoint {
    FlowEndpoint {
        kind: EndpointKind::Workload,
        namespace: Some(p.ns.into()),
        name: Some(p.name.into()),
        labels: p
            .labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        ip: Some(p.ip),
    }
}

fn net(a: &str) -> FlowEndpoint {
    FlowEndpoint {
        kind: EndpointKind::Net,
        name: Some("pub".into()),
        ip: Some(ip(a)),
        ..FlowEndpoint::default()
    }
}

fn rec(src: FlowEndpoint, dst: FlowEndpoint, proto: u8, port: Option<u16>) -> FlowRecord {
    FlowRecord {
        src,
        dst,
        protocol: proto,
        dst_port: port,
        src_port: Some(40000),
        ..FlowRecord::default()
    }
}

/// The observed traffic.
fn observed() -> Vec<FlowRecord> {
    let w = |n: &str| wl(&pod(n));
    let mut v = vec![
        rec(w("web-5d9f8b-aaaaa"), w("api-7c4b2d"), 6, Some(8080)),
        rec(w("web-5d9f8b-bbbbb"), w("api-7c4b2d"), 6, Some(8080)),
        rec(w("web-5d9f8b-aaaaa"), w("api-7c4b2d"), 1, None),
        rec(w("api-7c4b2d"), w("db-0"), 6, Some(5432)),
        rec(w("api-worker"), w("db-0"), 6, Some(5432)),
        rec(w("api-7c4b2d"), w("pay"), 6, Some(9000)),
        rec(w("pay"), w("ledger"), 6, Some(7000)),
        rec(w("pay"), w("ledger"), 6, Some(7001)),
        rec(w("pay"), net("203.0.113.7"), 6, Some(443)),
        rec(net("198.51.100.20"), w("web-5d9f8b-bbbbb"), 6, Some(443)),
        rec(w("prometheus"), w("web-5d9f8b-aaaaa"), 6, Some(9090)),
        rec(w("prometheus"), w("api-7c4b2d"), 6, Some(9090)),
        rec(w("metrics-server"), w("ledger"), 6, Some(10250)),
    ];
    for p in pods().iter().filter(|p| p.ns != "kube-system") {
        v.push(rec(wl(p), w("coredns"), 17, Some(53)));
    }
    // A denied record is not learned from.
    v.push(FlowRecord {
        action: Action::Deny,
        ..rec(w("web-5d9f8b-aaaaa"), w("db-0"), 6, Some(5432))
    });
    v
}

fn labels(p: &Pod) -> LabelMap {
    p.labels
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

fn cluster() -> Cluster {
    let mut c = Cluster::default();
    for p in pods() {
        c.workloads.push(tabby_eval::gen::workload(
            p.ns,
            p.name,
            labels(&p),
            Some(p.ip),
        ));
    }
    c
}

/// The policies of `yaml` (which must validate) on `base`.
fn engine_with(base: &Cluster, yaml: &str) -> Engine {
    let loaded = tabby_load::load_str("r.yaml", yaml, &tabby_load::LoadOptions::default());
    let v = tabby_validate::validate(&loaded.objects);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .chain(v.diagnostics.iter())
        .filter(|d| d.is_error())
        .map(tabby_diag::render_plain)
        .collect();
    assert!(errors.is_empty(), "{}\n{yaml}", errors.join("\n"));
    let mut c = base.clone();
    c.tiers = v.cluster.tiers.clone();
    c.policies = v.cluster.policies;
    Engine::new(&c, EngineOptions::default())
}

/// Identity of an end of a flow as the test understands it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Class(String, BTreeMap<String, String>),
    Ip(IpAddr),
}

fn key_of(a: IpAddr) -> Key {
    match pods().into_iter().find(|p| p.ip == a) {
        Some(p) => Key::Class(
            p.ns.into(),
            p.labels
                .iter()
                .filter(|(k, _)| {
                    ["app", "app.kubernetes.io/name", "k8s-app", "component"].contains(k)
                })
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        ),
        None => Key::Ip(a),
    }
}

fn governed(a: IpAddr) -> bool {
    pods().iter().any(|p| p.ip == a && p.ns != "kube-system")
}

fn is_dns(a: IpAddr) -> bool {
    a == pod("coredns").ip
}

type Seen = BTreeSet<(Key, Key, u8, u16)>;

fn seen(records: &[FlowRecord]) -> Seen {
    records
        .iter()
        .filter(|r| r.action == Action::Allow)
        .map(|r| {
            (
                key_of(r.src.ip.unwrap()),
                key_of(r.dst.ip.unwrap()),
                r.protocol,
                r.dst_port.unwrap_or(0),
            )
        })
        .collect()
}

/// Every flow between the fixture's endpoints on the interesting ports.
fn candidates() -> Vec<Flow> {
    let mut addrs: Vec<IpAddr> = pods().iter().map(|p| p.ip).collect();
    addrs.extend(OUTSIDE.iter().map(|a| ip(a)));
    let mut v = Vec::new();
    for &s in &addrs {
        for &d in &addrs {
            if s == d {
                continue;
            }
            for port in [
                53, 443, 5432, 7000, 7001, 7002, 8080, 9000, 9090, 10250, 1234,
            ] {
                v.push(Flow::tcp(s, d, port));
                v.push(Flow::udp(s, d, port));
            }
            v.push(Flow::new(s, d, Protocol::ICMP));
        }
    }
    v
}

fn expected(f: &Flow, seen: &Seen) -> bool {
    let (s, d) = (key_of(f.src_ip), key_of(f.dst_ip));
    let t = (s, d, f.protocol.0, f.dst_port);
    let observed = seen.contains(&t);
    let dns =
        is_dns(f.dst_ip) && f.dst_port == 53 && matches!(f.protocol, Protocol::TCP | Protocol::UDP);
    let egress = !governed(f.src_ip) || observed || dns;
    let ingress = !governed(f.dst_ip) || observed;
    egress && ingress
}

fn check(rec: &Recommendation, format: &str) {
    assert!(rec.proof.passed(), "{format}: {:#?}", rec.proof);
    assert_eq!(rec.proof.checked, rec.distinct_flows, "{format}");
    let yaml = rec.to_yaml();
    let e = engine_with(&cluster(), &yaml);
    // Completeness, judged independently of the recommender's own proof.
    for r in observed().iter().filter(|r| r.action == Action::Allow) {
        let f = Flow {
            dst_port: r.dst_port.unwrap_or(0),
            ..Flow::new(r.src.ip.unwrap(), r.dst.ip.unwrap(), Protocol(r.protocol))
        };
        assert!(
            e.decide(&f).allowed,
            "{format}: observed flow denied: {f:?}\n{yaml}"
        );
    }
    // Least privilege: exactly the observed classes (and DNS) are allowed.
    let seen = seen(&observed());
    let mut wrong = Vec::new();
    for f in candidates() {
        let want = expected(&f, &seen);
        let got = e.decide(&f).allowed;
        // Kubernetes NetworkPolicy cannot name ICMP: an observed ICMP flow opens every
        // protocol between that pair of classes (documented).
        let k8s_icmp_widening = format == "kubernetes"
            && got
            && !want
            && key_of(f.src_ip) == key_of(pod("web-5d9f8b-aaaaa").ip)
            && key_of(f.dst_ip) == key_of(pod("api-7c4b2d").ip);
        if want != got && !k8s_icmp_widening {
            wrong.push(format!("{f:?}: want allowed={want}, got {got}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{format}: {} wrong verdicts:\n{}\n{yaml}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn run(format: PolicyFormat, with_cluster: bool) -> Recommendation {
    let c = cluster();
    recommend(
        &observed(),
        with_cluster.then_some(&c),
        Options {
            format,
            ..Options::default()
        },
    )
}

#[test]
fn calico_is_complete_and_least_privilege() {
    for with_cluster in [false, true] {
        check(&run(PolicyFormat::Calico, with_cluster), "calico");
    }
}

#[test]
fn kubernetes_is_complete_and_least_privilege() {
    for with_cluster in [false, true] {
        let r = run(PolicyFormat::Kubernetes, with_cluster);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("cannot name protocol ICMP")),
            "{:?}",
            r.notes
        );
        check(&r, "kubernetes");
    }
}

#[test]
fn shape_of_the_output() {
    let r = run(PolicyFormat::Calico, true);
    let yaml = r.to_yaml();
    // One policy per workload class, grouped by stable labels, never by pod name.
    let names: Vec<(&str, &str)> = r
        .workloads
        .iter()
        .map(|w| (w.namespace.as_str(), w.policy.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("billing", "allow-ledger"),
            ("billing", "allow-pay"),
            ("monitoring", "allow-prometheus"),
            ("shop", "allow-api"),
            ("shop", "allow-api-worker"),
            ("shop", "allow-db"),
            ("shop", "allow-web"),
        ]
    );
    assert_eq!(r.namespaces, ["billing", "monitoring", "shop"]);
    assert_eq!(r.policy_count(), 7 + 3);
    let api = r
        .workloads
        .iter()
        .find(|w| w.policy == "allow-api")
        .unwrap();
    assert_eq!(api.selector, "app == 'api' && !has(component)");
    for bad in [
        "pod-template-hash",
        "5d9f8b",
        "statefulset.kubernetes.io",
        "aaaaa",
    ] {
        assert!(!yaml.contains(bad), "{bad} in output:\n{yaml}");
    }
    // Allow policies before the namespace's default deny, with orders saying so.
    let kinds: Vec<(String, String)> = r
        .documents
        .iter()
        .map(|d| {
            (
                d["metadata"]["namespace"].as_str().unwrap().to_owned(),
                d["metadata"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for ns in &r.namespaces {
        let of_ns: Vec<&String> = kinds
            .iter()
            .filter(|(n, _)| n == ns)
            .map(|(_, p)| p)
            .collect();
        assert_eq!(
            of_ns.last().map(|s| s.as_str()),
            Some("default-deny"),
            "{ns}"
        );
    }
    assert!(r
        .documents
        .iter()
        .all(|d| d["spec"]["order"].as_f64().is_some()));
    // External peers are exact /32s.
    assert!(yaml.contains("203.0.113.7/32"), "{yaml}");
    assert!(yaml.contains("198.51.100.20/32"), "{yaml}");
    // Consecutive ports become a range.
    assert!(yaml.contains("7000:7001"), "{yaml}");
    assert_eq!(r.counts.denied, 1);
}

#[test]
fn idempotent() {
    for format in [PolicyFormat::Calico, PolicyFormat::Kubernetes] {
        let first = run(format, true);
        // The flows plus the output as input: the same recommendation.
        let loaded = tabby_load::load_str(
            "r.yaml",
            &first.to_yaml(),
            &tabby_load::LoadOptions::default(),
        );
        let mut with_policies = cluster();
        with_policies.policies = tabby_validate::validate(&loaded.objects).cluster.policies;
        assert!(!with_policies.policies.is_empty());
        let again = recommend(
            &observed(),
            Some(&with_policies),
            Options {
                format,
                ..Options::default()
            },
        );
        assert_eq!(first.to_yaml(), again.to_yaml(), "{format:?}");

        // A fixpoint: every flow the recommended set allows, learned again, gives the
        // same policies (DNS is a system allowance in both).
        if format == PolicyFormat::Calico {
            let e = engine_with(&cluster(), &first.to_yaml());
            let allowed: Vec<FlowRecord> = candidates()
                .into_iter()
                .filter(|f| e.decide(f).allowed && (governed(f.src_ip) || governed(f.dst_ip)))
                .map(|f| {
                    let end = |a: IpAddr| match pods().into_iter().find(|p| p.ip == a) {
                        Some(p) => wl(&p),
                        None => net(&a.to_string()),
                    };
                    rec(
                        end(f.src_ip),
                        end(f.dst_ip),
                        f.protocol.0,
                        f.protocol.has_ports().then_some(f.dst_port),
                    )
                })
                .collect();
            let fix = recommend(&allowed, Some(&cluster()), Options::default());
            assert_eq!(fix.documents, first.documents);
        }
    }
}

#[test]
fn namespace_filter_and_apiserver() {
    let c = cluster();
    let r = recommend(
        &observed(),
        Some(&c),
        Options {
            namespaces: vec!["billing".into()],
            apiserver: Some("10.0.1.10:6443".parse().unwrap()),
            ..Options::default()
        },
    );
    assert!(r.proof.passed(), "{:?}", r.proof);
    assert_eq!(r.namespaces, ["billing"]);
    assert!(r.workloads.iter().all(|w| w.namespace == "billing"));
    let e = engine_with(&c, &r.to_yaml());
    // Pods that mount a token reach the API server; other ports and addresses stay shut.
    let pay = pod("pay").ip;
    assert!(e.decide(&Flow::tcp(pay, ip("10.0.1.10"), 6443)).allowed);
    assert!(!e.decide(&Flow::tcp(pay, ip("10.0.1.10"), 443)).allowed);
    assert!(!e.decide(&Flow::tcp(pay, ip("10.0.1.11"), 6443)).allowed);
    // Outside the filter nothing is policed.
    assert!(
        e.decide(&Flow::tcp(pod("web-5d9f8b-aaaaa").ip, pod("db-0").ip, 1234))
            .allowed
    );
}

#[test]
fn many_external_addresses_are_aggregated_and_said_so() {
    let web = wl(&pod("web-5d9f8b-aaaaa"));
    let records: Vec<FlowRecord> = (0..40u8)
        .map(|i| {
            rec(
                web.clone(),
                net(&format!("203.0.{}.{}", 113 + i % 2, i + 1)),
                6,
                Some(443),
            )
        })
        .collect();
    let r = recommend(
        &records,
        None,
        Options {
            max_exact_nets: 4,
            ..Options::default()
        },
    );
    assert!(r.proof.passed(), "{:?}", r.proof);
    let yaml = r.to_yaml();
    assert!(
        yaml.contains("203.0.113.0/24") && yaml.contains("203.0.114.0/24"),
        "{yaml}"
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("40 external addresses aggregated into 2 /24 networks")),
        "{:?}",
        r.notes
    );
}

#[test]
fn records_without_addresses_are_mapped_by_name() {
    // Aggregated names, no addresses: classes from labels, proof through the cluster.
    let agg = |p: &Pod| FlowEndpoint {
        name: Some(format!("{}*", &p.name[..p.name.len() - 5])),
        ip: None,
        ..wl(p)
    };
    let records = vec![
        rec(
            agg(&pod("web-5d9f8b-aaaaa")),
            agg(&pod("api-7c4b2d")),
            6,
            Some(8080),
        ),
        rec(
            agg(&pod("web-5d9f8b-aaaaa")),
            FlowEndpoint {
                kind: EndpointKind::Net,
                name: Some("pub".into()),
                ..FlowEndpoint::default()
            },
            6,
            Some(443),
        ),
    ];
    for with_cluster in [false, true] {
        let c = cluster();
        let r = recommend(&records, with_cluster.then_some(&c), Options::default());
        assert!(r.proof.passed(), "{:?}", r.proof);
        assert_eq!(r.proof.checked, 2);
        assert!(
            r.notes.iter().any(|n| n.contains("every public address")),
            "{:?}",
            r.notes
        );
    }
}

/// Reading a log in parts (on several threads) and merging gives the same recommendation
/// as reading it whole.
#[test]
fn parts_merged_equal_the_whole() {
    use tabby_recommend::Recommender;
    let c = cluster();
    // The fixture's records, many times over and in varying order, plus records without
    // addresses (mapped by name), so that parts intern endpoints in different orders.
    let mut records = Vec::new();
    for round in 0..7 {
        let mut batch = observed();
        let len = batch.len();
        batch.rotate_left(round % len);
        if round % 2 == 1 {
            batch.reverse();
        }
        records.extend(batch);
    }
    for r in records.iter_mut().step_by(5) {
        r.src.ip = None;
    }
    let whole = recommend(&records, Some(&c), Options::default());
    for parts in [2usize, 3, 5] {
        // Contiguous pieces and round robin.
        for interleave in [false, true] {
            let mut rs: Vec<Recommender> = (0..parts)
                .map(|_| Recommender::new(Options::default()))
                .collect();
            let n = records.len();
            for (i, rec) in records.iter().enumerate() {
                let k = if interleave { i % parts } else { i * parts / n };
                rs[k].add(rec);
            }
            let mut it = rs.into_iter().rev();
            let mut first = it.next().unwrap();
            for r in it {
                first.merge(r);
            }
            let merged = first.finish(Some(&c));
            assert_eq!(merged.counts, whole.counts, "{parts} parts");
            assert_eq!(merged.distinct_flows, whole.distinct_flows, "{parts} parts");
            assert_eq!(merged.to_yaml(), whole.to_yaml(), "{parts} parts");
            assert!(merged.proof.passed());
        }
    }

    // The same through the parallel reader: small chunks spread the lines over the workers.
    let mut text = String::new();
    for r in &records {
        tabby_flowlog::write_jsonl(r, &mut text);
    }
    let opts = tabby_replay::RunOptions {
        threads: 3,
        chunk: 256,
        ..tabby_replay::RunOptions::default()
    };
    let result = tabby_replay::run(
        text.as_bytes(),
        0,
        &opts,
        || Recommender::new(Options::default()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(result.stats.records, records.len() as u64);
    let mut sinks = result.sinks.into_iter();
    let mut first = sinks.next().unwrap();
    for r in sinks {
        first.merge(r);
    }
    let merged = first.finish(Some(&c));
    assert_eq!(merged.to_yaml(), whole.to_yaml());
    assert_eq!(merged.counts, whole.counts);
}
