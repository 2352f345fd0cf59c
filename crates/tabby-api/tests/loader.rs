//! End to end through the real loader: YAML text → `tabby-load` → wire types, with
//! errors mapped back to lines and columns.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers"
)]

use std::path::PathBuf;

use tabby_api::{calico, decode_resource, Kind, Resource};
use tabby_load::{load_str, LoadOptions};

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn seed_article_policies_decode_and_match_their_json_fixtures() {
    let text = fixture("seed-article.yaml");
    let loaded = load_str("seed-article.yaml", &text, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let names: Vec<&str> = loaded
        .objects
        .iter()
        .filter_map(|o| o.name.as_deref())
        .collect();
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
    for obj in &loaded.objects {
        let kind = Kind::from_type_meta(&obj.api_version, &obj.kind).unwrap();
        let json = obj.node.to_json();
        let res = decode_resource(kind, json.clone())
            .unwrap_or_else(|e| panic!("{:?}: {} at {}", obj.name, e.inner(), e.path()));
        // Lossless: the loaded document comes back unchanged.
        assert_eq!(serde_json::to_value(&res).unwrap(), json);
        // And it is the document the JSON fixture holds.
        let name = obj.name.as_deref().unwrap();
        let want: serde_json::Value =
            serde_json::from_str(&fixture(&format!("seed-{name}.json"))).unwrap();
        assert_eq!(json, want, "{name}");
    }
    let Some(Resource::NetworkPolicy(np)) = loaded
        .objects
        .iter()
        .find(|o| o.kind == "NetworkPolicy")
        .map(|o| decode_resource(Kind::NetworkPolicy, o.node.to_json()).unwrap())
    else {
        panic!("no NetworkPolicy")
    };
    let domains = np.spec.egress.as_ref().unwrap()[1]
        .destination
        .as_ref()
        .unwrap()
        .domains
        .clone();
    assert_eq!(domains, Some(vec!["api.stripe.com".to_owned()]));
}

#[test]
fn unknown_field_in_yaml_is_reported_at_its_key_with_a_suggestion() {
    let text = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  selector: all()
  egress:
    - action: Allow
      protocol: UDP
      destination:
        selector: k8s-app == 'kube-dns'
        prots: [53]
";
    let loaded = load_str("p.yaml", text, &LoadOptions::default());
    let err = loaded.objects[0]
        .decode::<calico::GlobalNetworkPolicy>()
        .unwrap_err();
    assert_eq!(
        err.message,
        "unknown field `prots` in `spec.egress[0].destination`"
    );
    assert_eq!(err.help.as_deref(), Some("did you mean `ports`?"));
    assert_eq!(err.loc.unwrap().line_col(), (12, 9));
}

#[test]
fn kubernetes_typo_in_yaml_is_reported() {
    let text = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {}
      podSelectr: {}
";
    let loaded = load_str("np.yaml", text, &LoadOptions::default());
    let err = loaded.objects[0]
        .decode::<tabby_api::k8s::NetworkPolicy>()
        .unwrap_err();
    assert_eq!(
        err.message,
        "unknown field `podSelectr` in `spec.ingress[0].from[0]`"
    );
    assert_eq!(err.help.as_deref(), Some("did you mean `podSelector`?"));
    assert_eq!(err.loc.unwrap().line_col(), (9, 7));
}
