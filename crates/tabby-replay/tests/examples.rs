//! Replaying the bundled example's traffic (examples/flows) against the article's policies
//! and the corrected set. The expectations come from examples/README.md ("What is wrong
//! with the article's policies" and its flow table), line by line of examples/flows/normal.jsonl.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use tabby_eval::{Engine, EngineOptions};
use tabby_replay::{run, ReplayOptions, Replayer, Report, RunOptions, Side, Tally};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine(dirs: &[&str]) -> Engine {
    let paths: Vec<PathBuf> = dirs.iter().map(|d| root().join(d)).collect();
    let loaded = tabby_load::load_paths(&paths, &tabby_load::LoadOptions::default());
    let validated = tabby_validate::validate(&loaded.objects);
    assert!(!validated.diagnostics.has_errors(), "{dirs:?} has errors");
    Engine::new(&validated.cluster, EngineOptions::default())
}

fn replay(
    engine: &Engine,
    baseline: Option<&Engine>,
    file: &str,
    opts: ReplayOptions,
    threads: usize,
) -> (Report, Tally) {
    let replayer = Replayer::new(engine, baseline, opts);
    let f = std::fs::File::open(root().join(file)).unwrap();
    let run_opts = RunOptions {
        threads,
        chunk: 512, // many small chunks: exercises the parallel merge on a small file
        ..RunOptions::default()
    };
    let r = run(f, 0, &run_opts, || replayer.worker(), &mut |_| {}).unwrap();
    assert_eq!(r.stats.skipped, 0, "{:?}", r.errors);
    let mut tally = Tally::default();
    for w in r.sinks {
        tally.merge(w.finish(), opts.examples);
    }
    (Report::new(engine, &tally), tally)
}

fn all_examples() -> ReplayOptions {
    ReplayOptions {
        examples: 1000,
        ..ReplayOptions::default()
    }
}

fn broken_lines(r: &Report) -> BTreeSet<u64> {
    r.newly_denied
        .iter()
        .flat_map(|g| g.examples.iter().map(|e| e.line))
        .collect()
}

/// Lines of normal.jsonl that the article's policies leave working, with the reason.
const ARTICLE_KEEPS: &[(u64, &str)] = &[
    (1, "client egress of DNS: allow-dns egress rule 0"),
    (3, "DNS over TCP: allow-dns egress rule 1"),
    (5, "frontend's DNS egress"),
    (7, "prometheus's DNS egress"),
    (
        9,
        "tenant-a's DNS egress: allow-dns (100) before namespace-isolation (500)",
    ),
    (11, "tenant-b's DNS egress"),
    (13, "staging frontend's DNS egress"),
    (20, "backend-egress rule 0 (10.0.0.0/8:5432)"),
    (22, "same, aggregated name"),
    (24, "backend-egress rule 0 covers the managed database"),
    (40, "host endpoint failsafe: inbound ssh"),
    (42, "kubelet probe from the pod's own node is not policed"),
];

#[test]
fn the_articles_policies_break_exactly_the_expected_flows() {
    let e = engine(&["examples/cluster", "examples/policies"]);
    for threads in [1, 2, 3] {
        let (r, _) = replay(
            &e,
            None,
            "examples/flows/normal.jsonl",
            all_examples(),
            threads,
        );
        assert_eq!(r.records, 43);
        assert!(r.unmapped.is_empty(), "{:?}", r.unmapped);
        let keep: BTreeSet<u64> = ARTICLE_KEEPS.iter().map(|(l, _)| *l).collect();
        let want: BTreeSet<u64> = (1..=43).filter(|l| !keep.contains(l)).collect();
        assert_eq!(broken_lines(&r), want, "threads {threads}");
        assert_eq!(r.newly_denied_records, 31);
        assert!(r.newly_allowed.is_empty());
    }
}

#[test]
fn the_article_breaks_dns_at_coredns_ingress_and_upstream() {
    let e = engine(&["examples/cluster", "examples/policies"]);
    let (r, _) = replay(&e, None, "examples/flows/normal.jsonl", all_examples(), 2);
    // README item 4: allow-dns opens only the clients' side; CoreDNS's ingress falls to
    // the end of the default tier, reported against default-deny (its only ingress policy).
    let g = r
        .newly_denied
        .iter()
        .find(|g| g.side == Side::Ingress && g.rule == "default|gnp:default-deny|deny|-1")
        .expect("an ingress group for default-deny");
    let dns: BTreeSet<u64> = g
        .examples
        .iter()
        .filter(|e| e.flow.ends_with("/53"))
        .map(|e| e.line)
        .collect();
    assert_eq!(dns, BTreeSet::from([2, 4, 6, 8, 10, 12, 14]));
    // README item 3 / flow 3: CoreDNS's upstream lookups die at its own egress, at the end of
    // the default tier, reported against the first policy there (block-threat-feeds, order 50).
    let up = r
        .newly_denied
        .iter()
        .find(|g| g.examples.iter().any(|e| e.line == 15))
        .unwrap();
    assert_eq!(
        (up.side, up.rule.as_str()),
        (Side::Egress, "default|gnp:block-threat-feeds|deny|-1")
    );
}

#[test]
fn the_corrected_set_breaks_no_legitimate_flow() {
    let e = engine(&["examples/cluster", "examples/corrected"]);
    let (r, _) = replay(&e, None, "examples/flows/normal.jsonl", all_examples(), 2);
    assert_eq!(r.records, 43);
    assert!(r.newly_denied.is_empty(), "{:#?}", r.newly_denied);
    assert!(r.unmapped.is_empty());
    assert_eq!(r.still_allowed, 43);
}

#[test]
fn the_corrected_set_denies_every_suspicious_flow() {
    // examples/flows/suspicious.jsonl: README flows 5, 7, 8, 10, 12, 15 and 20, which
    // happen without policy and which the corrected set is meant to stop.
    let e = engine(&["examples/cluster", "examples/corrected"]);
    let (r, _) = replay(
        &e,
        None,
        "examples/flows/suspicious.jsonl",
        all_examples(),
        2,
    );
    assert_eq!(broken_lines(&r), (1..=9).collect());
    let threat = r
        .newly_denied
        .iter()
        .find(|g| g.examples.iter().any(|e| e.line == 6))
        .unwrap();
    assert_eq!(
        (threat.side, threat.rule.as_str()),
        (Side::Ingress, "security|gnp:block-threat-feeds|deny|0")
    );
}

#[test]
fn baseline_comparison_shows_what_the_fix_opens_and_closes() {
    // Old = the article's set, new = the corrected set: the lines the article broke are
    // newly allowed, and nothing legitimate is newly denied.
    let old = engine(&["examples/cluster", "examples/policies"]);
    let new = engine(&["examples/cluster", "examples/corrected"]);
    let (r, _) = replay(
        &new,
        Some(&old),
        "examples/flows/normal.jsonl",
        all_examples(),
        2,
    );
    assert!(r.newly_denied.is_empty());
    let opened: BTreeSet<u64> = r
        .newly_allowed
        .iter()
        .flat_map(|g| g.examples.iter().map(|e| e.line))
        .collect();
    let keep: BTreeSet<u64> = ARTICLE_KEEPS.iter().map(|(l, _)| *l).collect();
    assert_eq!(opened, (1..=43).filter(|l| !keep.contains(l)).collect());
    // And the other way round, the article's set breaks what the corrected set allowed.
    let (back, _) = replay(
        &old,
        Some(&new),
        "examples/flows/normal.jsonl",
        all_examples(),
        2,
    );
    assert_eq!(back.newly_denied_records, 31);
}

#[test]
fn whole_flow_mode_judges_both_sides() {
    // With --whole-flow the client-side DNS records are broken too (CoreDNS's ingress denies).
    let e = engine(&["examples/cluster", "examples/policies"]);
    let opts = ReplayOptions {
        whole_flow: true,
        ..all_examples()
    };
    let (r, _) = replay(&e, None, "examples/flows/normal.jsonl", opts, 2);
    let broken = broken_lines(&r);
    for line in [1, 3, 5, 20] {
        assert!(broken.contains(&line), "line {line}");
    }
    for line in [24, 40, 42] {
        assert!(!broken.contains(&line), "line {line}");
    }
}

#[test]
fn staged_policies_give_the_audit_mode_view() {
    // A staged global default deny (the article's default-deny, staged as §5.6 advises):
    // enforced, it changes nothing; in audit mode it would deny every ingress record of a
    // Calico endpoint that nothing else allows. Kubelet probes stay unpoliced and ssh to the
    // host endpoint stays a failsafe.
    let dir = std::env::temp_dir().join(format!("tabby-replay-staged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("staged.yaml"),
        "apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata:\n  name: default-deny\nspec:\n  order: 1000\n  selector: all()\n  types: [Ingress, Egress]\n",
    )
    .unwrap();
    let e = engine(&["examples/cluster", dir.to_str().unwrap()]);
    let (enforced, _) = replay(&e, None, "examples/flows/normal.jsonl", all_examples(), 2);
    assert_eq!(enforced.newly_denied_records, 0);
    let (audit, _) = replay(
        &e,
        None,
        "examples/flows/normal.jsonl",
        ReplayOptions {
            staged: true,
            ..all_examples()
        },
        2,
    );
    let broken = broken_lines(&audit);
    assert!(broken.contains(&2) && broken.contains(&1), "{broken:?}");
    assert!(!broken.contains(&40) && !broken.contains(&42), "{broken:?}");
    assert!(
        audit
            .newly_denied
            .iter()
            .all(|g| g.rule == "default|sgnp:default-deny|deny|-1"),
        "{:#?}",
        audit.newly_denied
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The decision memo is exact: with a memo small enough to roll over many times, the
/// report is the same as without one, and repeated flows are served from it.
#[test]
fn the_decision_memo_changes_nothing_but_the_work() {
    let old = engine(&["examples/cluster", "examples/policies"]);
    let new = engine(&["examples/cluster", "examples/corrected"]);
    let text = std::fs::read_to_string(root().join("examples/flows/normal.jsonl")).unwrap();
    // The log several times over, so that flows repeat.
    let log = text.repeat(5);
    for baseline in [None, Some(&old)] {
        let mut reports = Vec::new();
        let mut stats = Vec::new();
        for memo in [0, 3, 1 << 10] {
            let replayer = Replayer::new(&new, baseline, all_examples()).with_memo(memo);
            let run_opts = RunOptions {
                threads: 1,
                ..RunOptions::default()
            };
            let r = run(
                log.as_bytes(),
                0,
                &run_opts,
                || replayer.worker(),
                &mut |_| {},
            )
            .unwrap();
            let mut tally = Tally::default();
            let (mut lookups, mut hits) = (0, 0);
            for w in r.sinks {
                let (l, h) = w.memo_stats();
                lookups += l;
                hits += h;
                tally.merge(w.finish(), 1000);
            }
            reports.push(Report::new(&new, &tally));
            stats.push((lookups, hits));
        }
        assert_eq!(reports[0], reports[1]);
        assert_eq!(reports[0], reports[2]);
        assert_eq!(stats[0], (0, 0));
        let evaluated = reports[0].records * if baseline.is_some() { 2 } else { 1 };
        // Every record past the first copy of the log repeats one seen before.
        assert_eq!(stats[2].0, evaluated);
        assert!(stats[2].1 >= evaluated * 4 / 5, "{stats:?}");
        assert!(stats[1].1 < stats[2].1, "{stats:?}");
    }
}

/// A record's `domain` reaches the engine: the article's `backend-egress` allows
/// TCP 443 to `api.stripe.com` by domain (Calico Enterprise's `destination.domains`),
/// so the same connection is allowed with that domain and denied without it.
#[test]
fn record_domains_decide_domain_rules() {
    let e = engine(&["examples/cluster", "examples/policies"]);
    let line = |domain: &str| {
        format!(
            "{{\"v\":1,\"src_type\":\"wep\",\"src_namespace\":\"production\",\
             \"src_name\":\"backend-7c9d8b6f4d-h2x8k\",\"src_ip\":\"10.244.1.12\",\
             \"dst_type\":\"net\",\"dst_ip\":\"54.187.216.72\",\"dst_port\":443,\"proto\":6,\
             \"action\":\"allow\",\"reporter\":\"src\",\"num_flows\":1{domain}}}\n"
        )
    };
    let log =
        line(",\"domain\":\"api.stripe.com\"") + &line("") + &line(",\"domain\":\"evil.example\"");
    let replayer = Replayer::new(&e, None, all_examples());
    let r = run(
        log.as_bytes(),
        0,
        &RunOptions::default(),
        || replayer.worker(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(r.stats.skipped, 0, "{:?}", r.errors);
    let mut tally = Tally::default();
    for w in r.sinks {
        tally.merge(w.finish(), 1000);
    }
    let report = Report::new(&e, &tally);
    // Lines 2 and 3 (no domain, another domain) break; line 1 keeps working.
    assert_eq!(broken_lines(&report), BTreeSet::from([2, 3]));
}
