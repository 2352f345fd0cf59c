//! Which kinds tabby reads, their API groups, names, and the typed [`Resource`].

use std::fmt;

use serde::{Serialize, Serializer};

use crate::{calico, k8s, netpol_api, ObjectMeta};

/// The API group a kind belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// `projectcalico.org/v3` (also `crd.projectcalico.org/v1`, the CRD storage form).
    Calico,
    /// Kubernetes core `v1`.
    Core,
    /// `apps/v1`.
    Apps,
    /// `batch/v1`.
    Batch,
    /// `networking.k8s.io/v1`.
    Networking,
    /// `policy.networking.k8s.io` (`v1alpha1` and `v1alpha2`).
    PolicyNetworking,
}

macro_rules! kinds {
    ($(
        $(#[$doc:meta])*
        $variant:ident => {
            name: $name:literal,
            group: $group:ident,
            versions: [$($ver:literal),+],
            plural: $plural:literal,
            short: [$($short:literal),*],
            namespaced: $ns:literal,
            ty: $ty:ty $(,)?
        }
    ),+ $(,)?) => {
        /// Every (API group, kind) pair tabby reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $( $(#[$doc])* $variant, )+
        }

        impl Kind {
            /// All kinds, in declaration order (Calico first).
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];

            /// The `kind:` string.
            pub fn name(self) -> &'static str {
                match self { $(Kind::$variant => $name,)+ }
            }

            /// The API group.
            pub fn group(self) -> Group {
                match self { $(Kind::$variant => Group::$group,)+ }
            }

            /// Every `apiVersion` accepted for this kind; the first is the canonical one.
            pub fn api_versions(self) -> &'static [&'static str] {
                match self { $(Kind::$variant => &[$($ver),+],)+ }
            }

            /// The lower-case plural resource name (`networkpolicies`), as used in
            /// etcd keys and on the command line.
            pub fn plural(self) -> &'static str {
                match self { $(Kind::$variant => $plural,)+ }
            }

            /// Short names accepted on the command line (`gnp`, `hep`, ...).
            pub fn short_names(self) -> &'static [&'static str] {
                match self { $(Kind::$variant => &[$($short),*],)+ }
            }

            /// Whether objects of this kind live in a namespace.
            pub fn is_namespaced(self) -> bool {
                match self { $(Kind::$variant => $ns,)+ }
            }
        }

        /// A decoded object of one of the [`Kind`]s.
        ///
        /// Variants are boxed: the structs differ widely in size.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Resource {
            $( $(#[$doc])* $variant(Box<$ty>), )+
        }

        impl Resource {
            /// The kind of this object.
            pub fn kind(&self) -> Kind {
                match self { $(Resource::$variant(_) => Kind::$variant,)+ }
            }

            /// The object's metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self { $(Resource::$variant(r) => &r.metadata,)+ }
            }

            /// The object's metadata, mutably.
            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self { $(Resource::$variant(r) => &mut r.metadata,)+ }
            }

            /// `apiVersion` as written (empty when the input omitted it).
            pub fn api_version(&self) -> &str {
                match self { $(Resource::$variant(r) => &r.api_version,)+ }
            }
        }

        impl Serialize for Resource {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $(Resource::$variant(r) => r.serialize(s),)+ }
            }
        }

        /// Decodes `value` as an object of `kind`. Errors carry the path of the
        /// failing value (`spec.egress[0].destination.prots`), which the loader maps
        /// to a line and column.
        ///
        /// ```
        /// use tabby_api::{decode_resource, Kind, Resource};
        /// let v = serde_json::json!({
        ///     "apiVersion": "projectcalico.org/v3", "kind": "Tier",
        ///     "metadata": {"name": "security"}, "spec": {"order": 100}
        /// });
        /// let r = decode_resource(Kind::Tier, v).unwrap();
        /// let Resource::Tier(t) = &r else { unreachable!() };
        /// assert_eq!(t.spec.order, Some(100.0));
        ///
        /// let bad = serde_json::json!({"spec": {"ordr": 1}});
        /// let e = decode_resource(Kind::Tier, bad).unwrap_err();
        /// assert_eq!(e.path().to_string(), "spec.ordr");
        /// assert!(e.inner().to_string().starts_with("unknown field `ordr`"));
        /// ```
        pub fn decode_resource(
            kind: Kind,
            value: serde_json::Value,
        ) -> Result<Resource, serde_path_to_error::Error<serde_json::Error>> {
            Ok(match kind {
                $(Kind::$variant => Resource::$variant(Box::new(serde_path_to_error::deserialize(value)?)),)+
            })
        }
    };
}

kinds! {
    // --- Calico -----------------------------------------------------------
    /// Calico NetworkPolicy.
    NetworkPolicy => { name: "NetworkPolicy", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "networkpolicies",
        short: ["np", "policy", "policies", "pol", "caliconetworkpolicy"],
        namespaced: true, ty: calico::NetworkPolicy },
    /// Calico GlobalNetworkPolicy.
    GlobalNetworkPolicy => { name: "GlobalNetworkPolicy", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "globalnetworkpolicies",
        short: ["gnp", "gnps", "globalpolicy", "cgnp"],
        namespaced: false, ty: calico::GlobalNetworkPolicy },
    /// Calico StagedNetworkPolicy.
    StagedNetworkPolicy => { name: "StagedNetworkPolicy", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "stagednetworkpolicies",
        short: ["snp", "snps"],
        namespaced: true, ty: calico::StagedNetworkPolicy },
    /// Calico StagedGlobalNetworkPolicy.
    StagedGlobalNetworkPolicy => { name: "StagedGlobalNetworkPolicy", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "stagedglobalnetworkpolicies",
        short: ["sgnp", "sgnps"],
        namespaced: false, ty: calico::StagedGlobalNetworkPolicy },
    /// Calico StagedKubernetesNetworkPolicy.
    StagedKubernetesNetworkPolicy => { name: "StagedKubernetesNetworkPolicy", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "stagedkubernetesnetworkpolicies",
        short: ["sknp", "sknps"],
        namespaced: true, ty: calico::StagedKubernetesNetworkPolicy },
    /// Calico Tier.
    Tier => { name: "Tier", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "tiers", short: [],
        namespaced: false, ty: calico::Tier },
    /// Calico NetworkSet.
    NetworkSet => { name: "NetworkSet", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "networksets", short: ["netset", "netsets"],
        namespaced: true, ty: calico::NetworkSet },
    /// Calico GlobalNetworkSet.
    GlobalNetworkSet => { name: "GlobalNetworkSet", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "globalnetworksets", short: ["gnetset", "gnetsets"],
        namespaced: false, ty: calico::GlobalNetworkSet },
    /// Calico HostEndpoint.
    HostEndpoint => { name: "HostEndpoint", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "hostendpoints", short: ["hep", "heps"],
        namespaced: false, ty: calico::HostEndpoint },
    /// Calico WorkloadEndpoint.
    WorkloadEndpoint => { name: "WorkloadEndpoint", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "workloadendpoints", short: ["wep", "weps"],
        namespaced: true, ty: calico::WorkloadEndpoint },
    /// Calico Profile.
    Profile => { name: "Profile", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "profiles", short: ["pro", "pros"],
        namespaced: false, ty: calico::Profile },
    /// Calico Enterprise GlobalThreatFeed.
    GlobalThreatFeed => { name: "GlobalThreatFeed", group: Calico,
        versions: ["projectcalico.org/v3", "crd.projectcalico.org/v1"],
        plural: "globalthreatfeeds", short: ["gtf", "gtfs"],
        namespaced: false, ty: calico::GlobalThreatFeed },
    // --- Kubernetes network policy ------------------------------------------
    /// Kubernetes `networking.k8s.io/v1` NetworkPolicy.
    KubernetesNetworkPolicy => { name: "NetworkPolicy", group: Networking,
        versions: ["networking.k8s.io/v1"],
        plural: "networkpolicies", short: ["netpol", "knp"],
        namespaced: true, ty: k8s::NetworkPolicy },
    /// `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy.
    ClusterNetworkPolicy => { name: "ClusterNetworkPolicy", group: PolicyNetworking,
        versions: ["policy.networking.k8s.io/v1alpha2"],
        plural: "clusternetworkpolicies", short: ["kcnp"],
        namespaced: false, ty: netpol_api::ClusterNetworkPolicy },
    /// `policy.networking.k8s.io/v1alpha1` AdminNetworkPolicy.
    AdminNetworkPolicy => { name: "AdminNetworkPolicy", group: PolicyNetworking,
        versions: ["policy.networking.k8s.io/v1alpha1"],
        plural: "adminnetworkpolicies", short: ["anp"],
        namespaced: false, ty: netpol_api::AdminNetworkPolicy },
    /// `policy.networking.k8s.io/v1alpha1` BaselineAdminNetworkPolicy.
    BaselineAdminNetworkPolicy => { name: "BaselineAdminNetworkPolicy", group: PolicyNetworking,
        versions: ["policy.networking.k8s.io/v1alpha1"],
        plural: "baselineadminnetworkpolicies", short: ["banp"],
        namespaced: false, ty: netpol_api::BaselineAdminNetworkPolicy },
    // --- Kubernetes objects policy selects -----------------------------------
    /// Kubernetes Namespace.
    Namespace => { name: "Namespace", group: Core, versions: ["v1"],
        plural: "namespaces", short: ["ns"],
        namespaced: false, ty: k8s::Namespace },
    /// Kubernetes Pod.
    Pod => { name: "Pod", group: Core, versions: ["v1"],
        plural: "pods", short: ["po"],
        namespaced: true, ty: k8s::Pod },
    /// Kubernetes ServiceAccount.
    ServiceAccount => { name: "ServiceAccount", group: Core, versions: ["v1"],
        plural: "serviceaccounts", short: ["sa"],
        namespaced: true, ty: k8s::ServiceAccount },
    /// Kubernetes Service.
    Service => { name: "Service", group: Core, versions: ["v1"],
        plural: "services", short: ["svc"],
        namespaced: true, ty: k8s::Service },
    /// Kubernetes Deployment.
    Deployment => { name: "Deployment", group: Apps, versions: ["apps/v1"],
        plural: "deployments", short: ["deploy"],
        namespaced: true, ty: k8s::Deployment },
    /// Kubernetes StatefulSet.
    StatefulSet => { name: "StatefulSet", group: Apps, versions: ["apps/v1"],
        plural: "statefulsets", short: ["sts"],
        namespaced: true, ty: k8s::StatefulSet },
    /// Kubernetes DaemonSet.
    DaemonSet => { name: "DaemonSet", group: Apps, versions: ["apps/v1"],
        plural: "daemonsets", short: ["ds"],
        namespaced: true, ty: k8s::DaemonSet },
    /// Kubernetes ReplicaSet.
    ReplicaSet => { name: "ReplicaSet", group: Apps, versions: ["apps/v1"],
        plural: "replicasets", short: ["rs"],
        namespaced: true, ty: k8s::ReplicaSet },
    /// Kubernetes Job.
    Job => { name: "Job", group: Batch, versions: ["batch/v1"],
        plural: "jobs", short: [],
        namespaced: true, ty: k8s::Job },
    /// Kubernetes CronJob.
    CronJob => { name: "CronJob", group: Batch, versions: ["batch/v1"],
        plural: "cronjobs", short: ["cj"],
        namespaced: true, ty: k8s::CronJob },
}

impl Kind {
    /// The kind for an object's `apiVersion` and `kind`, if tabby reads it.
    ///
    /// Matching is exact, as the API server's is: `projectcalico.org/v3` +
    /// `NetworkPolicy` is Calico's, `networking.k8s.io/v1` + `NetworkPolicy` is
    /// Kubernetes'.
    ///
    /// ```
    /// use tabby_api::Kind;
    /// assert_eq!(Kind::from_type_meta("projectcalico.org/v3", "NetworkPolicy"), Some(Kind::NetworkPolicy));
    /// assert_eq!(Kind::from_type_meta("crd.projectcalico.org/v1", "NetworkPolicy"), Some(Kind::NetworkPolicy));
    /// assert_eq!(Kind::from_type_meta("networking.k8s.io/v1", "NetworkPolicy"), Some(Kind::KubernetesNetworkPolicy));
    /// assert_eq!(Kind::from_type_meta("v1", "NetworkPolicy"), None);
    /// ```
    pub fn from_type_meta(api_version: &str, kind: &str) -> Option<Kind> {
        Kind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == kind && k.api_versions().contains(&api_version))
    }

    /// The kind a command-line word names: a kind (`GlobalNetworkPolicy`), its
    /// plural (`globalnetworkpolicies`) or a short name (`gnp`), in any case.
    /// Calico kinds win over Kubernetes kinds of the same name (`networkpolicy` is
    /// Calico's, as in `calicoctl`; Kubernetes' is `netpol`/`knp`).
    ///
    /// ```
    /// use tabby_api::Kind;
    /// assert_eq!(Kind::from_name("gnp"), Some(Kind::GlobalNetworkPolicy));
    /// assert_eq!(Kind::from_name("NetworkPolicies"), Some(Kind::NetworkPolicy));
    /// assert_eq!(Kind::from_name("netpol"), Some(Kind::KubernetesNetworkPolicy));
    /// assert_eq!(Kind::from_name("hep"), Some(Kind::HostEndpoint));
    /// assert_eq!(Kind::from_name("nope"), None);
    /// ```
    pub fn from_name(word: &str) -> Option<Kind> {
        let w = word.to_ascii_lowercase();
        Kind::ALL.iter().copied().find(|k| {
            k.name().eq_ignore_ascii_case(&w)
                || k.plural() == w
                || k.short_names().contains(&w.as_str())
        })
    }

    /// The canonical `apiVersion` (`projectcalico.org/v3`, `apps/v1`, ...).
    pub fn api_version(self) -> &'static str {
        self.api_versions().first().copied().unwrap_or_default()
    }

    /// Whether this is a `projectcalico.org` kind.
    pub fn is_calico(self) -> bool {
        self.group() == Group::Calico
    }

    /// Whether objects of this kind hold policy rules.
    pub fn is_policy(self) -> bool {
        matches!(
            self,
            Kind::NetworkPolicy
                | Kind::GlobalNetworkPolicy
                | Kind::StagedNetworkPolicy
                | Kind::StagedGlobalNetworkPolicy
                | Kind::StagedKubernetesNetworkPolicy
                | Kind::KubernetesNetworkPolicy
                | Kind::ClusterNetworkPolicy
                | Kind::AdminNetworkPolicy
                | Kind::BaselineAdminNetworkPolicy
        )
    }

    /// Whether decoding rejects unknown fields everywhere in the object (Calico
    /// kinds and the policy kinds); the other Kubernetes kinds ignore fields tabby
    /// does not model.
    pub fn is_strict(self) -> bool {
        self.is_calico() || self.is_policy()
    }
}

impl Resource {
    /// `metadata.name`.
    pub fn name(&self) -> Option<&str> {
        self.metadata().name.as_deref()
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// Decodes a whole object, finding its kind from its own `apiVersion` and `kind`
    /// (for reading back what a store wrote; the loader knows the kind already and
    /// calls [`decode_resource`]).
    ///
    /// ```
    /// use tabby_api::{Kind, Resource, ResourceError};
    /// let v = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}});
    /// let r = Resource::from_json(v).unwrap();
    /// assert_eq!((r.kind(), r.name()), (Kind::Namespace, Some("prod")));
    ///
    /// let v = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap"});
    /// assert!(matches!(Resource::from_json(v), Err(ResourceError::UnknownKind { .. })));
    /// ```
    pub fn from_json(value: serde_json::Value) -> Result<Resource, ResourceError> {
        let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let (Some(api_version), Some(kind)) = (text("apiVersion"), text("kind")) else {
            return Err(ResourceError::MissingTypeMeta);
        };
        let Some(k) = Kind::from_type_meta(&api_version, &kind) else {
            return Err(ResourceError::UnknownKind { api_version, kind });
        };
        decode_resource(k, value).map_err(ResourceError::Decode)
    }
}

/// Why [`Resource::from_json`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ResourceError {
    /// `apiVersion` or `kind` is missing or not a string.
    MissingTypeMeta,
    /// Not a kind tabby reads.
    UnknownKind { api_version: String, kind: String },
    /// The object does not decode as its kind; the error carries the path.
    Decode(serde_path_to_error::Error<serde_json::Error>),
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceError::MissingTypeMeta => {
                f.write_str("the object has no `apiVersion` or `kind`")
            }
            ResourceError::UnknownKind { api_version, kind } => {
                write!(f, "`{kind}` (`{api_version}`) is not a kind tabby reads")
            }
            ResourceError::Decode(e) if e.path().to_string() == "." => write!(f, "{}", e.inner()),
            ResourceError::Decode(e) => write!(f, "{} at `{}`", e.inner(), e.path()),
        }
    }
}

impl std::error::Error for ResourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ResourceError::Decode(e) => Some(e.inner()),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn type_meta_round_trips_for_every_kind_and_version() {
        for &k in Kind::ALL {
            assert!(!k.api_versions().is_empty(), "{k:?}");
            for v in k.api_versions() {
                assert_eq!(Kind::from_type_meta(v, k.name()), Some(k), "{v} {k:?}");
            }
            assert_eq!(Kind::from_type_meta(k.api_version(), k.name()), Some(k));
        }
    }

    #[test]
    fn type_meta_is_exact() {
        let cases = [
            ("projectcalico.org/v3", "networkpolicy"),
            ("projectcalico.org/v1", "NetworkPolicy"),
            ("networking.k8s.io/v1", "GlobalNetworkPolicy"),
            ("v1", "Deployment"),
            ("apps/v1beta1", "Deployment"),
            ("policy.networking.k8s.io/v1alpha1", "ClusterNetworkPolicy"),
            ("policy.networking.k8s.io/v1alpha2", "AdminNetworkPolicy"),
            ("", "Pod"),
            ("projectcalico.org/v3", "IPPool"),
        ];
        for (v, k) in cases {
            assert_eq!(Kind::from_type_meta(v, k), None, "{v} {k}");
        }
    }

    #[test]
    fn names_are_unambiguous() {
        // Every word resolves to exactly one kind, except kind names shared by
        // Calico and Kubernetes (resolved in favour of Calico by `from_name`).
        let mut seen: HashSet<String> = HashSet::new();
        for &k in Kind::ALL {
            let mut words: Vec<String> = vec![k.plural().to_owned()];
            words.extend(k.short_names().iter().map(|s| (*s).to_owned()));
            for w in words {
                if k == Kind::KubernetesNetworkPolicy && w == "networkpolicies" {
                    continue;
                }
                assert!(seen.insert(w.clone()), "`{w}` is used twice");
                assert_eq!(Kind::from_name(&w), Some(k), "{w}");
                assert_eq!(w, w.to_ascii_lowercase());
            }
        }
        assert_eq!(Kind::from_name("networkpolicy"), Some(Kind::NetworkPolicy));
    }

    #[test]
    fn from_json_errors() {
        use serde_json::json;
        let cases = [
            (
                json!({"kind": "Tier"}),
                "the object has no `apiVersion` or `kind`",
            ),
            (
                json!({"apiVersion": 3, "kind": "Tier"}),
                "the object has no `apiVersion` or `kind`",
            ),
            (
                json!({"apiVersion": "projectcalico.org/v3", "kind": "IPPool"}),
                "`IPPool` (`projectcalico.org/v3`) is not a kind tabby reads",
            ),
            (
                json!({"apiVersion": "projectcalico.org/v3", "kind": "Tier", "spec": {"order": "x"}}),
                "invalid type: string \"x\", expected f64 at `spec.order`",
            ),
        ];
        for (v, want) in cases {
            let e = Resource::from_json(v.clone()).unwrap_err();
            assert_eq!(e.to_string(), want, "{v}");
        }
        let ok = json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "Tier", "metadata": {"name": "t"}});
        let r = Resource::from_json(ok).unwrap();
        assert_eq!(r.kind(), Kind::Tier);
        // An absent spec is written back as `{}`, as Go writes it.
        let want = json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "Tier", "metadata": {"name": "t"}, "spec": {}});
        assert_eq!(serde_json::to_value(&r).unwrap(), want);
    }

    #[test]
    fn scope_table() {
        let namespaced = [
            Kind::NetworkPolicy,
            Kind::StagedNetworkPolicy,
            Kind::StagedKubernetesNetworkPolicy,
            Kind::NetworkSet,
            Kind::WorkloadEndpoint,
            Kind::KubernetesNetworkPolicy,
            Kind::Pod,
            Kind::ServiceAccount,
            Kind::Service,
            Kind::Deployment,
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::ReplicaSet,
            Kind::Job,
            Kind::CronJob,
        ];
        for &k in Kind::ALL {
            assert_eq!(k.is_namespaced(), namespaced.contains(&k), "{k:?}");
        }
    }
}
