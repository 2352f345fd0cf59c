//! The five policies of the seed article load with exactly one warning: the
//! Calico Enterprise `domains` match of `backend-egress`.

mod common;

use common::{check, position};
use tabby_model::{Action, PolicyKind, Protocol};

const SEED: &str = include_str!("cases/seed-policies.yaml");

#[test]
fn seed_policies_load_with_the_enterprise_warning_only() {
    let v = check(
        "seed",
        SEED,
        &[(
            "W0201",
            "»domains:",
            "`domains` is a Calico Enterprise field; open-source Calico rejects it",
        )],
    );
    let names: Vec<&str> = v.cluster.policies.iter().map(|p| &*p.name).collect();
    assert_eq!(
        names,
        [
            "default-deny",
            "allow-dns",
            "backend-egress",
            "block-threat-feeds",
            "namespace-isolation"
        ]
    );
    assert_eq!(position(SEED, "»domains:"), (58, 9));

    let by = |n: &str| v.cluster.policies.iter().find(|p| &*p.name == n).unwrap();
    let deny = by("default-deny");
    assert_eq!(deny.kind, PolicyKind::GlobalNetworkPolicy);
    assert_eq!(deny.order, Some(1000.0));
    assert!(deny.types.ingress && deny.types.egress && !deny.types.inferred);
    assert!(deny.ingress.is_empty() && deny.egress.is_empty());

    let dns = by("allow-dns");
    assert_eq!(dns.egress.len(), 2);
    assert_eq!(dns.egress[0].protocol, Some(Protocol::UDP));
    assert_eq!(dns.egress[1].protocol, Some(Protocol::TCP));

    let backend = by("backend-egress");
    assert_eq!(backend.kind, PolicyKind::NetworkPolicy);
    assert_eq!(backend.namespace.as_deref(), Some("production"));
    assert_eq!(
        backend.egress[1].destination.domains,
        vec![std::sync::Arc::<str>::from("api.stripe.com")]
    );
    assert_eq!(backend.egress[0].action, Action::Allow);

    let block = by("block-threat-feeds");
    assert_eq!(block.egress[0].action, Action::Deny);
    assert!(block.egress[0].destination.selector.is_some());

    let iso = by("namespace-isolation");
    assert!(iso.namespace_selector.is_some());
    assert!(iso.ingress[0].source.namespace_selector.is_some());
    assert_eq!(&*iso.tier, "default");
}

#[test]
fn seed_copy_matches_the_article() {
    // The fixture is a verbatim copy; when the article is available, check it still is.
    let Ok(article) =
        std::fs::read_to_string("/work/shared/seed/calico-network-policy-best-practices.txt")
    else {
        return;
    };
    for doc in SEED.split("---\n") {
        let body: String = doc
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            article.contains(body.trim_end()),
            "not in the article:\n{body}"
        );
    }
}
