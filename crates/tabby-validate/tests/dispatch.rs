//! Dispatch: Kubernetes kinds are decoded (positions for unknown fields) and handed to
//! the Kubernetes converters; Calico kinds to the Calico checks; the rest skipped.

mod common;

use common::{check, Want};
use tabby_model::PolicyKind;

const OK: &[Want] = &[];

#[test]
fn kubernetes_network_policy_is_converted() {
    let v = check(
        "k8s np",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n",
        OK,
    );
    assert_eq!(v.cluster.policies.len(), 1);
    assert_eq!(
        v.cluster.policies[0].kind,
        PolicyKind::KubernetesNetworkPolicy
    );
}

#[test]
fn kubernetes_decode_errors_have_positions() {
    check(
        "k8s np typo",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  podSelecter: {}\n",
        &[("E0015", "»podSelecter", "did you mean `podSelector`")],
    );
}

#[test]
fn calico_and_kubernetes_policies_side_by_side() {
    let y = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  podSelector: {}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  selector: all()\n";
    let v = check("both", y, OK);
    let kinds: Vec<PolicyKind> = v.cluster.policies.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            PolicyKind::KubernetesNetworkPolicy,
            PolicyKind::NetworkPolicy
        ]
    );
}
