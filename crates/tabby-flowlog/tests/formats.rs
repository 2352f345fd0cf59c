//! Round trips through every format, malformed input, long lines, detection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::net::IpAddr;

use proptest::prelude::*;
use tabby_flowlog::*;

fn sample() -> FlowRecord {
    FlowRecord {
        start_time: 1_700_000_000,
        end_time: 1_700_000_300,
        src: FlowEndpoint {
            kind: EndpointKind::Workload,
            namespace: Some("production".into()),
            name: Some("backend-7c9d8b6f4d-*".into()),
            labels: vec![
                ("app".into(), "backend".into()),
                ("pod-template-hash".into(), "7c9d8b6f4d".into()),
            ],
            ip: Some("10.244.1.12".parse().unwrap()),
        },
        dst: FlowEndpoint {
            kind: EndpointKind::Workload,
            namespace: Some("kube-system".into()),
            name: Some("coredns-5d78c9869d-4xk2p".into()),
            labels: vec![("k8s-app".into(), "kube-dns".into())],
            ip: Some("10.244.1.5".parse().unwrap()),
        },
        protocol: 17,
        src_port: Some(40000),
        dst_port: Some(53),
        action: Action::Deny,
        reporter: Reporter::Dst,
        policies: vec!["0|default|gnp:default-deny|deny|-1".parse().unwrap()],
        pending_policies: vec![
            "0|default|sgnp:allow-dns|allow|0".parse().unwrap(),
            "1|default|np:kube-system/x|pass|2".parse().unwrap(),
        ],
        staged_action: Some(Action::Allow),
        domain: Some("kube-dns.kube-system.svc".into()),
        packets_in: 3,
        packets_out: 4,
        bytes_in: 300,
        bytes_out: 400,
        num_flows: 7,
    }
}

fn roundtrip(format: Format, recs: &[FlowRecord]) -> Vec<FlowRecord> {
    let mut w = FlowWriter::new(Vec::new(), format);
    for r in recs {
        w.write(r).unwrap();
    }
    let bytes = w.finish().unwrap();
    let r = FlowReader::new(&bytes[..], None, ReadOptions::default()).unwrap();
    assert_eq!(r.format(), format, "detected format");
    r.collect::<Result<Vec<_>, _>>().unwrap()
}

#[test]
fn every_format_round_trips_a_full_record() {
    let rec = sample();
    for format in [Format::Jsonl, Format::Csv] {
        assert_eq!(
            roundtrip(format, &[rec.clone(), FlowRecord::default()]),
            vec![rec.clone(), FlowRecord::default()],
            "{format}"
        );
    }
    // Calico's records have no staged verdict field (it follows from the pending trace).
    let calico = FlowRecord {
        staged_action: None,
        ..rec
    };
    assert_eq!(
        roundtrip(Format::Calico, std::slice::from_ref(&calico)),
        vec![calico]
    );
}

fn arb_name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9.-]{0,20}\\*?"
}

fn arb_endpoint() -> impl Strategy<Value = FlowEndpoint> {
    (
        prop_oneof![
            Just(EndpointKind::Workload),
            Just(EndpointKind::Host),
            Just(EndpointKind::NetworkSet),
            Just(EndpointKind::Net)
        ],
        proptest::option::of("[a-z][a-z0-9-]{0,15}"),
        proptest::option::of(arb_name()),
        proptest::collection::vec(("[a-z][a-z0-9./-]{0,12}", "[A-Za-z0-9._-]{0,10}"), 0..4),
        proptest::option::of(any::<[u8; 4]>().prop_map(IpAddr::from)),
    )
        .prop_map(|(kind, namespace, name, mut labels, ip)| {
            labels.sort();
            labels.dedup_by(|a, b| a.0 == b.0);
            FlowEndpoint {
                kind,
                namespace,
                name,
                labels,
                ip,
            }
        })
}

fn arb_hit() -> impl Strategy<Value = PolicyHit> {
    (
        0u32..20,
        "[a-z][a-z0-9-]{0,8}",
        proptest::option::of("[a-z][a-z0-9-]{0,8}"),
        "[a-z][a-z0-9.-]{0,12}",
        0usize..3,
        -1i32..10,
    )
        .prop_map(|(index, tier, ns, name, a, rule_index)| PolicyHit {
            index,
            tier,
            kind: if ns.is_some() {
                PolicyKind::CalicoNetworkPolicy
            } else {
                PolicyKind::GlobalNetworkPolicy
            },
            namespace: ns,
            name,
            action: [HitAction::Allow, HitAction::Deny, HitAction::Pass][a],
            rule_index,
        })
}

prop_compose! {
    fn arb_record()(
        times in (any::<u32>(), any::<u32>()),
        src in arb_endpoint(), dst in arb_endpoint(),
        protocol in any::<u8>(),
        ports in (proptest::option::of(1u16..), proptest::option::of(1u16..)),
        deny in any::<bool>(), dst_rep in any::<bool>(),
        policies in proptest::collection::vec(arb_hit(), 0..3),
        pending in proptest::collection::vec(arb_hit(), 0..3),
        domain in proptest::option::of("[a-z]{1,8}\\.[a-z]{2,3}"),
        counters in any::<(u32, u32, u32, u32)>(),
        num_flows in 1u64..1000,
    ) -> FlowRecord {
        FlowRecord {
            start_time: u64::from(times.0), end_time: u64::from(times.1), src, dst, protocol,
            src_port: ports.0, dst_port: ports.1,
            action: if deny { Action::Deny } else { Action::Allow },
            reporter: if dst_rep { Reporter::Dst } else { Reporter::Src },
            policies, pending_policies: pending, staged_action: None, domain,
            packets_in: u64::from(counters.0), packets_out: u64::from(counters.1),
            bytes_in: u64::from(counters.2), bytes_out: u64::from(counters.3), num_flows,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn jsonl_and_csv_round_trip(recs in proptest::collection::vec(arb_record(), 1..5)) {
        prop_assert_eq!(roundtrip(Format::Jsonl, &recs), recs.clone());
        prop_assert_eq!(roundtrip(Format::Csv, &recs), recs);
    }

    #[test]
    fn calico_round_trips(recs in proptest::collection::vec(arb_record(), 1..5)) {
        // Felix writes `-` for a missing name; a name of just `-` is not representable.
        let recs: Vec<FlowRecord> = recs.into_iter().filter(|r| r.src.name.as_deref() != Some("-") && r.dst.name.as_deref() != Some("-")).collect();
        prop_assume!(!recs.is_empty());
        prop_assert_eq!(roundtrip(Format::Calico, &recs), recs);
    }

    #[test]
    fn readers_never_panic(text in "\\PC{0,200}", format in 0usize..3) {
        let f = [Format::Jsonl, Format::Calico, Format::Csv][format];
        if let Ok(r) = FlowReader::new(text.as_bytes(), Some(f), ReadOptions::default()) {
            for _ in r {}
        }
    }
}

/// Parses `line` with the full parser and with labels read only for unaddressed endpoints:
/// both accept and reject the same lines, with the same errors, and agree on the record
/// apart from the labels of endpoints that have an address.
fn check_lazy_labels(line: &str) -> Result<(), TestCaseError> {
    let mut full = RecordParser::new(Format::Jsonl, None, ReadOptions::default());
    let mut lazy =
        RecordParser::new(Format::Jsonl, None, ReadOptions::default()).labels_only_without_ip(true);
    let (mut a, mut b) = (FlowRecord::default(), FlowRecord::default());
    let ra = full.parse_into(line, &mut a);
    let rb = lazy.parse_into(line, &mut b);
    prop_assert_eq!(&ra, &rb, "{}", line);
    if ra.is_ok() {
        for ep in [&mut a.src, &mut a.dst] {
            if ep.ip.is_some() {
                ep.labels.clear();
            }
        }
        prop_assert_eq!(a, b, "{}", line);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn lazy_labels_accept_the_same_lines(
        rec in arb_record(),
        spaced in any::<bool>(),
        at in 0usize..600,
        piece in 0usize..10,
    ) {
        let mut line = String::new();
        write_jsonl(&rec, &mut line);
        let mut line = line.trim_end().to_owned();
        if spaced {
            line = line.replace(",\"", ", \"").replace("\":", "\" :");
        }
        check_lazy_labels(&line)?;
        let pieces = ["", "\\", "\"", "}", "{", ",", "7", "\\u0041", " ", "\u{1}"];
        let mut at = at.min(line.len());
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        line.insert_str(at, pieces[piece]);
        check_lazy_labels(&line)?;
    }
}

#[test]
fn key_order_whitespace_and_escapes_do_not_change_a_record() {
    let canonical = r#"{"v":1,"src_type":"wep","src_namespace":"a","src_labels":{"app":"x"},"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","dst_port":80,"proto":6,"action":"deny","reporter":"dst","num_flows":2}"#;
    let mut want = FlowRecord::default();
    parse_jsonl_into(canonical, &mut want, &ReadOptions::default()).unwrap();
    assert_eq!(want.src.labels, vec![("app".to_owned(), "x".to_owned())]);
    assert_eq!(want.num_flows, 2);
    for same in [
        // Reversed key order.
        r#"{"num_flows":2,"reporter":"dst","action":"deny","proto":6,"dst_port":80,"dst_ip":"10.0.0.2","src_ip":"10.0.0.1","src_labels":{"app":"x"},"src_namespace":"a","src_type":"wep","v":1}"#,
        // Whitespace everywhere JSON allows it.
        " { \"v\" : 1 , \"src_type\" : \"wep\" , \"src_namespace\" : \"a\" , \"src_labels\" : { \"app\" : \"x\" } , \"src_ip\" : \"10.0.0.1\" , \"dst_ip\" : \"10.0.0.2\" , \"dst_port\" : 80 , \"proto\" : 6 , \"action\" : \"deny\" , \"reporter\" : \"dst\" , \"num_flows\" : 2 } ",
        // Escaped values, quoted numbers, an unknown field.
        r#"{"v":1,"src_type":"w\u0065p","src_namespace":"\u0061","src_labels":{"\u0061pp":"x"},"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","dst_port":"80","proto":6,"x":[1,{"y":null}],"action":"deny","reporter":"dst","num_flows":2}"#,
    ] {
        let mut got = FlowRecord::default();
        parse_jsonl_into(same, &mut got, &ReadOptions::default()).unwrap();
        assert_eq!(got, want, "{same}");
    }
    // A key spelled with an escape is not the field (keys are compared as written).
    let mut got = FlowRecord::default();
    let e = parse_jsonl_into(
        r#"{"pr\u006fto":6,"action":"allow"}"#,
        &mut got,
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.message(), "missing field `proto`");
}

#[test]
fn malformed_lines_are_reported_with_numbers_and_skipped() {
    let good = {
        let mut s = String::new();
        write_jsonl(&sample(), &mut s);
        s
    };
    let log = format!(
        "{good}{{\"proto\":6}}\n\n{good}{{\"action\":\"allow\",\"proto\":6,\"src_ip\":\"10.0.0.300\"}}\n{{\"action\":\"maybe\",\"proto\":6}}\n{good}"
    );
    let r = FlowReader::new(log.as_bytes(), None, ReadOptions::default()).unwrap();
    let mut errors = Vec::new();
    let mut n = 0;
    let mut reader = r;
    for item in reader.by_ref() {
        match item {
            Ok(_) => n += 1,
            Err(ReadError::Record(e)) => errors.push(e.render("flows.jsonl")),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(n, 3);
    assert_eq!(
        errors,
        vec![
            "flows.jsonl:2: error: missing field `action`\n  = help: add `\"action\":\"allow\"` or `\"deny\"`".to_owned(),
            "flows.jsonl:5: error: field `src_ip`: invalid IP address `10.0.0.300`".to_owned(),
            "flows.jsonl:6: error: field `action`: unknown action `maybe`".to_owned(),
        ]
    );
    assert_eq!(reader.stats().records, 3);
    assert_eq!(reader.stats().skipped, 3);
}

#[test]
fn an_overlong_line_is_skipped_without_being_held() {
    // A 5 MB line with a 64 KiB limit: reported, skipped, and the next record still read.
    let mut log = String::new();
    write_jsonl(&sample(), &mut log);
    log.push_str(&"x".repeat(5 << 20));
    log.push('\n');
    write_jsonl(&sample(), &mut log);
    let r =
        FlowReader::with_max_line(log.as_bytes(), None, ReadOptions::default(), 64 << 10).unwrap();
    let items: Vec<_> = r.collect();
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[2].is_ok());
    match &items[1] {
        Err(ReadError::Record(e)) => {
            assert_eq!(e.line, 2);
            assert!(
                e.error.message().contains("longer than the limit"),
                "{}",
                e.error.message()
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn chunks_have_the_right_line_numbers_at_every_chunk_size() {
    let mut log = String::new();
    for i in 0..200 {
        let r = FlowRecord {
            start_time: i,
            ..sample()
        };
        write_jsonl(&r, &mut log);
        if i % 7 == 0 {
            log.push('\n'); // blank lines count
        }
    }
    let want: Vec<u64> = {
        let mut v = Vec::new();
        for (i, l) in log.lines().enumerate() {
            if !l.is_empty() {
                v.push(i as u64 + 1);
            }
        }
        v
    };
    for chunk in [1, 7, 100, 1000, 1 << 20] {
        let mut cr = ChunkReader::with_limits(log.as_bytes(), chunk, 1 << 20);
        let mut got = Vec::new();
        let mut starts = Vec::new();
        while let Some(c) = cr.next_chunk(Vec::new()).unwrap() {
            for (no, l) in c.lines() {
                if !l.unwrap().is_empty() {
                    got.push(no);
                    let rec = parse_start(l.unwrap());
                    starts.push(rec);
                }
            }
        }
        assert_eq!(got, want, "chunk {chunk}");
        assert_eq!(starts, (0..200).collect::<Vec<u64>>());
    }
}

fn parse_start(line: &str) -> u64 {
    let mut r = FlowRecord::default();
    parse_jsonl_into(line, &mut r, &ReadOptions::default()).unwrap();
    r.start_time
}

#[test]
fn detects_formats() {
    assert_eq!(
        detect_format("{\"v\":1,\"start_time\":0}"),
        Some(Format::Jsonl)
    );
    assert_eq!(
        detect_format("{\"src_ip\":\"1.2.3.4\"}"),
        Some(Format::Jsonl)
    );
    assert_eq!(
        detect_format("{\"source_namespace\":\"a\"}"),
        Some(Format::Calico)
    );
    assert_eq!(
        detect_format("{\"flow\":{\"key\":{}}}"),
        Some(Format::Calico)
    );
    assert_eq!(detect_format("start_time,proto,action"), Some(Format::Csv));
    assert_eq!(detect_format("hello world"), None);
    let err =
        FlowReader::new("hello world\n".as_bytes(), None, ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("cannot tell the flow-log format"),
        "{err}"
    );
}

#[test]
fn reads_goldmane_flows_and_felix_variants() {
    let goldmane = r#"{"flow":{"key":{"source_name":"backend-7c9d8b6f4d-*","source_namespace":"production","source_type":"WorkloadEndpoint","dest_name":"pub","dest_namespace":"","dest_type":"Network","dest_port":443,"proto":"tcp","reporter":"Src","action":"Deny","policies":{"enforced_policies":[{"kind":"EndOfTier","tier":"default","action":"Deny","policy_index":0,"rule_index":-1,"trigger":{"kind":"GlobalNetworkPolicy","name":"default-deny"}}],"pending_policies":[{"kind":"StagedGlobalNetworkPolicy","name":"allow-egress","tier":"default","action":"Allow","policy_index":0,"rule_index":1}]}},"start_time":1700000000,"end_time":1700000015,"source_labels":["app=backend"],"dest_labels":[],"packets_in":1,"packets_out":2,"bytes_in":3,"bytes_out":4,"num_connections_started":5}}"#;
    let felix = r#"{"start_time":1700000000,"end_time":1700000300,"source_ip":"-","source_name":"-","source_name_aggr":"frontend-6b8f5c7d9-*","source_namespace":"production","source_type":"wep","source_labels":"[app=frontend,tier=web]","dest_ip":"10.244.1.12","dest_name":"backend-7c9d8b6f4d-h2x8k","dest_namespace":"production","dest_type":"wep","dest_labels":{"labels":["app=backend"]},"dest_port":8000,"proto":"tcp","action":"allow","reporter":"dst","policies":{"all_policies":["0|default|np:production/backend-ingress|allow|0"]},"num_flows":2}"#;
    let log = format!("{goldmane}\n{felix}\n");
    let recs: Vec<FlowRecord> = FlowReader::new(log.as_bytes(), None, ReadOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let g = &recs[0];
    assert_eq!(g.src.name.as_deref(), Some("backend-7c9d8b6f4d-*"));
    assert_eq!(g.src.kind, EndpointKind::Workload);
    assert_eq!(g.dst.kind, EndpointKind::Net);
    assert_eq!(g.dst.name.as_deref(), Some("pub"));
    assert_eq!(g.dst.namespace, None);
    assert_eq!(
        (g.protocol, g.dst_port, g.action, g.reporter),
        (6, Some(443), Action::Deny, Reporter::Src)
    );
    assert_eq!(g.policies[0].kind, PolicyKind::EndOfTier);
    assert_eq!(g.policies[0].rule_index, -1);
    assert_eq!(
        g.pending_policies[0].to_string(),
        "0|default|sgnp:allow-egress|allow|1"
    );
    assert_eq!(g.src.labels, vec![("app".to_owned(), "backend".to_owned())]);
    assert_eq!(g.num_flows, 5);
    let f = &recs[1];
    assert_eq!(f.src.name.as_deref(), Some("frontend-6b8f5c7d9-*"));
    assert_eq!(f.src.ip, None);
    assert_eq!(f.src.labels.len(), 2);
    assert_eq!(f.dst.label("app"), Some("backend"));
    assert_eq!(f.policies[0].name, "backend-ingress");
    assert_eq!((f.reporter, f.num_flows), (Reporter::Dst, 2));
}

#[test]
fn csv_header_in_any_order_with_quotes() {
    let log = "action,proto,dst_port,src_labels,dst_name,extra\nallow,udp,53,\"app=a;x=y\",\"we,ird\"\"name\",ignored\n";
    let recs: Vec<FlowRecord> = FlowReader::new(log.as_bytes(), None, ReadOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].protocol, 17);
    assert_eq!(recs[0].dst.name.as_deref(), Some("we,ird\"name"));
    assert_eq!(recs[0].src.labels.len(), 2);
    let bad = "action,proto\nallow\n";
    let items: Vec<_> = FlowReader::new(bad.as_bytes(), None, ReadOptions::default())
        .unwrap()
        .collect();
    match &items[0] {
        Err(ReadError::Record(e)) => assert_eq!(
            (e.line, e.error.message()),
            (2, "expected 2 fields as in the header, found 1")
        ),
        other => panic!("{other:?}"),
    }
}
