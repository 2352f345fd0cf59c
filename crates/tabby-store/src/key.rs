//! Object identity and the key layout, shared by both backends.
//!
//! Calico kinds use Calico's etcdv3 layout exactly, so a Calico cluster in etcd
//! mode is readable as it is:
//!
//! ```text
//! /calico/resources/v3/projectcalico.org/<plural>/<namespace>/<name>   namespaced kinds
//! /calico/resources/v3/projectcalico.org/<plural>/<name>               cluster-scoped kinds
//! ```
//!
//! Calico's etcd mode stores no Kubernetes objects; tabby keeps the Kubernetes kinds
//! it reads (Namespace, Pod, NetworkPolicy, ...) under its own prefix, named by
//! API group and version so `networking.k8s.io` NetworkPolicies never collide with
//! Calico's:
//!
//! ```text
//! /tabby/resources/<group>/<version>/<plural>/[<namespace>/]<name>     group `core` for `v1`
//! ```

use std::fmt;

use tabby_api::Kind;

/// Prefix of Calico's v3 resources in etcd.
pub const CALICO_PREFIX: &str = "/calico/resources/v3/projectcalico.org/";
/// Prefix of the Kubernetes kinds tabby stores itself.
pub const TABBY_PREFIX: &str = "/tabby/resources/";

/// Which object: kind, namespace (namespaced kinds only) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    kind: Kind,
    namespace: Option<String>,
    name: String,
}

impl ObjectKey {
    /// A key; checks that the namespace is given exactly for namespaced kinds and
    /// that no part is empty or holds a `/`.
    ///
    /// ```
    /// use tabby_api::Kind;
    /// use tabby_store::ObjectKey;
    /// let k = ObjectKey::new(Kind::NetworkPolicy, Some("prod"), "allow-dns").unwrap();
    /// assert_eq!(k.storage_key(), "/calico/resources/v3/projectcalico.org/networkpolicies/prod/allow-dns");
    /// assert!(ObjectKey::new(Kind::NetworkPolicy, None, "x").is_err());
    /// assert!(ObjectKey::new(Kind::Tier, None, "a/b").is_err());
    /// ```
    pub fn new(kind: Kind, namespace: Option<&str>, name: &str) -> Result<Self, String> {
        let part_ok = |s: &str| !s.is_empty() && !s.contains('/') && s != "." && s != "..";
        if !part_ok(name) {
            return Err(format!("`{name}` cannot be the name of a stored object"));
        }
        let namespace = match (kind.is_namespaced(), namespace) {
            (true, Some(ns)) if part_ok(ns) => Some(ns.to_owned()),
            (true, Some(ns)) => return Err(format!("`{ns}` cannot be a namespace")),
            (true, None) => {
                return Err(format!("{} `{name}` needs a namespace", kind.name()));
            }
            (false, _) => None,
        };
        Ok(Self {
            kind,
            namespace,
            name: name.to_owned(),
        })
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The namespace (namespaced kinds only).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key under which both backends store the object.
    pub fn storage_key(&self) -> String {
        let mut k = kind_prefix(self.kind);
        if let Some(ns) = &self.namespace {
            k.push_str(ns);
            k.push('/');
        }
        k.push_str(&self.name);
        k
    }

    /// Parses a storage key back; the error says why the key is not an object of a
    /// kind tabby reads.
    ///
    /// ```
    /// use tabby_api::Kind;
    /// use tabby_store::ObjectKey;
    /// let k = ObjectKey::from_storage_key("/calico/resources/v3/projectcalico.org/globalnetworkpolicies/default-deny").unwrap();
    /// assert_eq!((k.kind(), k.name()), (Kind::GlobalNetworkPolicy, "default-deny"));
    /// let k = ObjectKey::from_storage_key("/tabby/resources/networking.k8s.io/v1/networkpolicies/prod/web").unwrap();
    /// assert_eq!(k.kind(), Kind::KubernetesNetworkPolicy);
    /// assert!(ObjectKey::from_storage_key("/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26").is_err());
    /// ```
    pub fn from_storage_key(key: &str) -> Result<Self, KeyError> {
        let (kind, rest) = if let Some(rest) = key.strip_prefix(CALICO_PREFIX) {
            let (plural, rest) = rest.split_once('/').ok_or(KeyError::Malformed)?;
            let kind = Kind::ALL
                .iter()
                .copied()
                .find(|k| k.is_calico() && k.plural() == plural)
                .ok_or_else(|| KeyError::UnknownKind(plural.to_owned()))?;
            (kind, rest)
        } else if let Some(rest) = key.strip_prefix(TABBY_PREFIX) {
            let mut parts = rest.splitn(4, '/');
            let (Some(group), Some(version), Some(plural), Some(rest)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(KeyError::Malformed);
            };
            let kind = Kind::ALL
                .iter()
                .copied()
                .find(|k| {
                    !k.is_calico() && k.plural() == plural && group_version(*k) == (group, version)
                })
                .ok_or_else(|| KeyError::UnknownKind(format!("{group}/{version}/{plural}")))?;
            (kind, rest)
        } else {
            return Err(KeyError::Foreign);
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let made = match (kind.is_namespaced(), parts.as_slice()) {
            (true, [ns, name]) => ObjectKey::new(kind, Some(ns), name),
            (false, [name]) => ObjectKey::new(kind, None, name),
            _ => return Err(KeyError::Malformed),
        };
        made.map_err(|_| KeyError::Malformed)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} `{ns}/{}`", self.kind.name(), self.name),
            None => write!(f, "{} `{}`", self.kind.name(), self.name),
        }
    }
}

/// Why a storage key is not an object tabby reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Outside both prefixes (IPAM blocks, Felix status, other applications).
    Foreign,
    /// Under a prefix, but of a kind tabby does not read (`ippools`, ...).
    UnknownKind(String),
    /// Wrong number of path segments, or an empty one.
    Malformed,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Foreign => f.write_str("not a resource key"),
            KeyError::UnknownKind(p) => write!(f, "`{p}` is not a kind tabby reads"),
            KeyError::Malformed => f.write_str("the key does not have the form of a resource key"),
        }
    }
}

/// `(group, version)` of a Kubernetes kind's key: `v1` is group `core`.
fn group_version(kind: Kind) -> (&'static str, &'static str) {
    match kind.api_version().split_once('/') {
        Some((g, v)) => (g, v),
        None => ("core", kind.api_version()),
    }
}

/// The key prefix of every object of `kind` (ends in `/`).
pub fn kind_prefix(kind: Kind) -> String {
    if kind.is_calico() {
        format!("{CALICO_PREFIX}{}/", kind.plural())
    } else {
        let (g, v) = group_version(kind);
        format!("{TABBY_PREFIX}{g}/{v}/{}/", kind.plural())
    }
}

/// The key prefix of the objects of `kind` in one namespace, or of all of them.
pub fn list_prefix(kind: Kind, namespace: Option<&str>) -> String {
    let mut p = kind_prefix(kind);
    if let (true, Some(ns)) = (kind.is_namespaced(), namespace) {
        p.push_str(ns);
        p.push('/');
    }
    p
}

/// The first key after every key that starts with `prefix` (etcd's `range_end`).
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for &kind in Kind::ALL {
            let ns = kind.is_namespaced().then_some("ns1");
            let k = ObjectKey::new(kind, ns, "obj.one").unwrap();
            let s = k.storage_key();
            assert_eq!(ObjectKey::from_storage_key(&s).unwrap(), k, "{s}");
            assert!(s.starts_with(&list_prefix(kind, ns)));
            assert!(s.starts_with(&kind_prefix(kind)));
        }
    }

    #[test]
    fn calico_layout_is_exact() {
        let cases = [
            (
                Kind::GlobalNetworkPolicy,
                None,
                "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/x",
            ),
            (
                Kind::NetworkPolicy,
                Some("n"),
                "/calico/resources/v3/projectcalico.org/networkpolicies/n/x",
            ),
            (
                Kind::Tier,
                None,
                "/calico/resources/v3/projectcalico.org/tiers/x",
            ),
            (
                Kind::HostEndpoint,
                None,
                "/calico/resources/v3/projectcalico.org/hostendpoints/x",
            ),
            (
                Kind::NetworkSet,
                Some("n"),
                "/calico/resources/v3/projectcalico.org/networksets/n/x",
            ),
            (
                Kind::KubernetesNetworkPolicy,
                Some("n"),
                "/tabby/resources/networking.k8s.io/v1/networkpolicies/n/x",
            ),
            (Kind::Pod, Some("n"), "/tabby/resources/core/v1/pods/n/x"),
            (
                Kind::Namespace,
                None,
                "/tabby/resources/core/v1/namespaces/x",
            ),
        ];
        for (kind, ns, want) in cases {
            assert_eq!(ObjectKey::new(kind, ns, "x").unwrap().storage_key(), want);
        }
    }

    #[test]
    fn bad_keys() {
        let cases = [
            ("/calico/ipam/v2/host/a", KeyError::Foreign),
            ("/registry/pods/a", KeyError::Foreign),
            (
                "/calico/resources/v3/projectcalico.org/ippools/p",
                KeyError::UnknownKind("ippools".into()),
            ),
            (
                "/calico/resources/v3/projectcalico.org/networkpolicies/onlyname",
                KeyError::Malformed,
            ),
            (
                "/calico/resources/v3/projectcalico.org/tiers/a/b",
                KeyError::Malformed,
            ),
            (
                "/calico/resources/v3/projectcalico.org/tiers/",
                KeyError::Malformed,
            ),
            (
                "/calico/resources/v3/projectcalico.org/tiers",
                KeyError::Malformed,
            ),
            ("/tabby/resources/core/v1/pods/ns", KeyError::Malformed),
            (
                "/tabby/resources/core/v2/pods/ns/p",
                KeyError::UnknownKind("core/v2/pods".into()),
            ),
        ];
        for (key, want) in cases {
            assert_eq!(ObjectKey::from_storage_key(key), Err(want), "{key}");
        }
    }

    #[test]
    fn prefix_end_is_exclusive_bound() {
        assert_eq!(prefix_end("/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end("ab"), b"ac".to_vec());
    }
}
