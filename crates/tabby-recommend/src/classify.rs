//! Which labels identify a workload, and what to call it.
//!
//! A recommendation is per workload, not per pod: pods come and go, their names and
//! some of their labels change on every rollout. The identity of a workload is the
//! set of *stable* labels it carries, chosen from the keys Kubernetes and Helm use
//! for exactly that purpose ([`IDENTITY_KEYS`]). When a pod has none of them, every
//! label except the ones controllers stamp per revision ([`is_volatile`]) is used;
//! when nothing is left, the workload is only known by its namespace (and the
//! recommendation says so).

use std::collections::BTreeMap;

/// Label keys that name a workload, in the order they are preferred for naming.
/// All that are present form the identity.
pub const IDENTITY_KEYS: [&str; 7] = [
    "app.kubernetes.io/name",
    "app",
    "k8s-app",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "component",
    "tier",
];

/// Namespaces whose pods tabby never puts behind a recommended default deny (TL002).
pub const SYSTEM_NAMESPACES: [&str; 4] = [
    "kube-system",
    "calico-system",
    "calico-apiserver",
    "tigera-operator",
];

/// Labels that change per pod or per revision: never part of an identity.
pub fn is_volatile(key: &str) -> bool {
    matches!(
        key,
        "pod-template-hash"
            | "controller-revision-hash"
            | "pod-template-generation"
            | "statefulset.kubernetes.io/pod-name"
            | "apps.kubernetes.io/pod-index"
            | "controller-uid"
            | "job-name"
            | "batch.kubernetes.io/controller-uid"
            | "batch.kubernetes.io/job-name"
            | "batch.kubernetes.io/job-completion-index"
            | "version"
            | "app.kubernetes.io/version"
            | "helm.sh/chart"
    ) || key.starts_with("projectcalico.org/")
        || key.starts_with("pcns.")
        || key.starts_with("pcsa.")
}

/// A Kubernetes label key: optional DNS prefix and `/`, then a name of at most 63
/// characters of alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
pub fn valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty()
            || p.len() > 253
            || !p
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return false;
        }
    }
    !name.is_empty() && valid_label_value(name)
}

/// A Kubernetes label value (empty is allowed).
pub fn valid_label_value(v: &str) -> bool {
    if v.is_empty() {
        return true;
    }
    let ok_edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    v.len() <= 63
        && ok_edge(v.bytes().next())
        && ok_edge(v.bytes().last())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The identity labels of a workload with these labels (see the module docs).
pub fn identity<'a>(
    labels: impl Iterator<Item = (&'a str, &'a str)> + Clone,
) -> BTreeMap<String, String> {
    let usable = labels.filter(|(k, v)| valid_label_key(k) && valid_label_value(v));
    let preferred: BTreeMap<String, String> = usable
        .clone()
        .filter(|(k, _)| IDENTITY_KEYS.contains(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if !preferred.is_empty() {
        return preferred;
    }
    usable
        .filter(|(k, _)| !is_volatile(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn looks_like_hash(s: &str) -> bool {
    (5..=10).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The controller name behind a pod name: `backend-7c9d8b6f4d-h2x8k` → `backend`
/// (Deployment), `postgres-0` → `postgres` (StatefulSet), `calico-node-8wxkq` →
/// `calico-node` (DaemonSet), `backend-7c9d8b6f4d-*` → `backend` (aggregated).
/// A best guess from the shape of the name.
pub fn controller_name(pod: &str) -> String {
    let mut name = pod.trim_end_matches('*').trim_end_matches('-');
    // StatefulSet ordinal.
    if let Some((head, tail)) = name.rsplit_once('-') {
        if !head.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            return head.to_owned();
        }
    }
    // Up to two generated suffixes (ReplicaSet hash, pod suffix).
    for _ in 0..2 {
        match name.rsplit_once('-') {
            Some((head, tail)) if !head.is_empty() && looks_like_hash(tail) => name = head,
            _ => break,
        }
    }
    name.to_owned()
}

/// A DNS-1123 label made from `text` (lower case, `-` for anything else, at most
/// `max` characters, never empty).
pub fn dns_label(text: &str, max: usize) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let mut s: String = s.trim_matches('-').chars().take(max).collect();
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        "workload".to_owned()
    } else {
        s
    }
}

/// A short name for a workload identity: the values of the identity labels in
/// [`IDENTITY_KEYS`] order, without repeats (`app=backend, tier=api` → `backend-api`).
pub fn identity_name(ident: &BTreeMap<String, String>) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for k in IDENTITY_KEYS {
        if let Some(v) = ident.get(k) {
            if !v.is_empty() && !parts.contains(&v.as_str()) {
                parts.push(v);
            }
        }
    }
    if parts.is_empty() {
        for v in ident.values() {
            if !v.is_empty() && !parts.contains(&v.as_str()) {
                parts.push(v);
            }
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("-"))
    }
}

/// Quotes a label value for a Calico selector.
pub fn quote(v: &str) -> String {
    if v.contains('\'') {
        format!("\"{v}\"")
    } else {
        format!("'{v}'")
    }
}

/// The Calico selector for an identity, excluding the given keys (`!has(k)`).
pub fn selector_text(ident: &BTreeMap<String, String>, exclude: &[String]) -> String {
    let mut parts: Vec<String> = ident
        .iter()
        .map(|(k, v)| format!("{k} == {}", quote(v)))
        .collect();
    parts.extend(exclude.iter().map(|k| format!("!has({k})")));
    if parts.is_empty() {
        "all()".to_owned()
    } else {
        parts.join(" && ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(labels: &[(&str, &str)]) -> Vec<(String, String)> {
        identity(labels.iter().copied()).into_iter().collect()
    }

    #[test]
    fn identity_prefers_well_known_keys() {
        type Labels<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Labels<'_>, Labels<'_>)] = &[
            (
                &[("app", "backend"), ("pod-template-hash", "7c9d8b6f4d")],
                &[("app", "backend")],
            ),
            (
                &[("app", "web"), ("tier", "frontend"), ("version", "v2")],
                &[("app", "web"), ("tier", "frontend")],
            ),
            (
                &[
                    ("app.kubernetes.io/name", "redis"),
                    ("app.kubernetes.io/component", "replica"),
                    ("controller-revision-hash", "redis-5f7"),
                    ("statefulset.kubernetes.io/pod-name", "redis-1"),
                ],
                &[
                    ("app.kubernetes.io/component", "replica"),
                    ("app.kubernetes.io/name", "redis"),
                ],
            ),
            // No well-known key: everything that is not volatile.
            (
                &[("team", "a"), ("pod-template-hash", "x1y2z")],
                &[("team", "a")],
            ),
            (&[("pod-template-hash", "x1y2z")], &[]),
            // Values that cannot be labels are ignored.
            (&[("app", "bad value"), ("team", "b")], &[("team", "b")]),
        ];
        for (labels, want) in cases {
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(id(labels), want, "{labels:?}");
        }
    }

    #[test]
    fn controller_names() {
        for (pod, want) in [
            ("backend-7c9d8b6f4d-h2x8k", "backend"),
            ("backend-7c9d8b6f4d-*", "backend"),
            ("backend-*", "backend"),
            ("postgres-0", "postgres"),
            ("calico-node-8wxkq", "calico-node"),
            ("web", "web"),
            ("my-app-v2", "my-app-v2"),
        ] {
            assert_eq!(controller_name(pod), want, "{pod}");
        }
    }

    #[test]
    fn names_and_selectors() {
        assert_eq!(dns_label("App_Name/x", 63), "app-name-x");
        assert_eq!(dns_label("---", 63), "workload");
        assert_eq!(dns_label("abcdef", 3), "abc");
        let ident: BTreeMap<String, String> = [("tier", "api"), ("app", "shop")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(identity_name(&ident).as_deref(), Some("shop-api"));
        assert_eq!(
            selector_text(&ident, &["component".to_owned()]),
            "app == 'shop' && tier == 'api' && !has(component)"
        );
        assert_eq!(selector_text(&BTreeMap::new(), &[]), "all()");
        assert!(tabby_selector::Selector::parse(&selector_text(&ident, &[])).is_ok());
    }
}
