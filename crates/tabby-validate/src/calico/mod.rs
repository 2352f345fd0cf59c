//! `projectcalico.org/v3` kinds: checks as Calico's validator makes them, and lowering
//! into `tabby-model`; plus the dispatch of every loaded object and the whole-set checks.
//!
//! ```text
//!  RawObject ──kind──▶ calico::{policy,tier,endpoints}  ──▶ Cluster (in load order)
//!            └───────▶ k8s::lower_raw (Kubernetes kinds) ──▶      │
//!            └───────▶ note: kind not analysed                   ▼
//!                           whole set: legacy `tier.name` names, undeclared tiers,
//!                           built-in tiers, duplicates (the later definition wins)
//! ```
//!
//! Calico objects are checked on their document tree (`Node::to_json` plus the
//! loader's path-to-position map), field by field against the Calico field lists, so
//! every problem — an unknown field, a bad value, a forbidden combination — points at
//! the exact key or value.

mod endpoints;
mod meta;
mod policy;
mod rule;
mod tier;
mod walk;

use std::collections::{BTreeSet, HashMap};

use tabby_diag::{Diagnostic, Loc};
use tabby_load::RawObject;
use tabby_model::{Cluster, EndpointOrigin, Name, PolicyKind};

use crate::codes;
use crate::ctx::{At, Ctx};
use crate::Validated;
use policy::PolicyItem;
use walk::Obj;

/// The API groups whose objects are Calico resources (`crd.projectcalico.org/v1` is the
/// form Calico stores in the Kubernetes datastore; its specs are the same).
const CALICO_API_VERSIONS: &[&str] = &["projectcalico.org/v3", "crd.projectcalico.org/v1"];

/// Calico kinds that are checked and lowered.
const CALICO_KINDS: &[&str] = &[
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "StagedNetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "Tier",
    "NetworkSet",
    "GlobalNetworkSet",
    "HostEndpoint",
    "WorkloadEndpoint",
    "Profile",
    "GlobalThreatFeed",
];

/// Calico kinds that exist but do not affect policy decisions: skipped with a note.
const CALICO_OTHER_KINDS: &[&str] = &[
    "IPPool",
    "IPReservation",
    "BGPPeer",
    "BGPConfiguration",
    "BGPFilter",
    "FelixConfiguration",
    "KubeControllersConfiguration",
    "ClusterInformation",
    "IPAMConfiguration",
    "IPAMBlock",
    "IPAMHandle",
    "BlockAffinity",
    "CalicoNodeStatus",
    "Node",
    "QoSPolicy",
];

pub(crate) fn is_calico(obj: &RawObject) -> bool {
    CALICO_API_VERSIONS.contains(&obj.api_version.as_str())
}

const ROOT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const META_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "generateName",
    "managedFields",
    "ownerReferences",
    "finalizers",
    "selfLink",
];

pub(crate) fn validate_all(objects: &[RawObject]) -> Validated {
    let mut ctx = Ctx::new();
    let mut cluster = Cluster::default();

    // Tiers the input declares (valid or not: an invalid Tier is reported on its own,
    // and should not also make every policy in it "undeclared").
    let declared_tiers: BTreeSet<String> = objects
        .iter()
        .filter(|o| is_calico(o) && o.kind == "Tier")
        .filter_map(|o| o.name.clone())
        .collect();

    for obj in objects {
        if crate::k8s::handles(&obj.api_version, &obj.kind) {
            kubernetes_object(&mut ctx, obj, &mut cluster);
        } else if is_calico(obj) {
            calico_object(&mut ctx, obj, &declared_tiers, &mut cluster);
        } else {
            other_object(&mut ctx, obj, &mut cluster);
        }
    }

    crate::k8s::finish(&mut ctx, objects, &mut cluster);
    dedupe_all(&mut ctx, &mut cluster);

    // Built-in tiers the input does not (validly) declare: always present, so every
    // policy's tier resolves even in an input with errors.
    for t in tier::builtin_tiers() {
        if cluster.tier(&t.name).is_none() {
            cluster.tiers.push(t);
        }
    }

    Validated {
        cluster,
        diagnostics: ctx.diagnostics,
    }
}

/// Kubernetes kinds (and Calico's StagedKubernetesNetworkPolicy): decoded into their
/// `tabby-api` type first, so unknown fields (policy kinds) and wrong types are
/// reported with their position, then converted by `crate::k8s`.
fn kubernetes_object(ctx: &mut Ctx, obj: &RawObject, out: &mut Cluster) {
    let Some(kind) = tabby_api::Kind::from_type_meta(&obj.api_version, &obj.kind) else {
        skip_note(ctx, obj, None);
        return;
    };
    match decode_kubernetes(obj, kind) {
        Some(Ok(res)) => crate::k8s::lower(ctx, obj, &res, out),
        Some(Err(d)) => ctx.push(d),
        None => crate::k8s::lower_raw(ctx, obj, out),
    }
}

/// Decodes a Kubernetes-side kind; `None` for kinds with no wire type here.
fn decode_kubernetes(
    obj: &RawObject,
    kind: tabby_api::Kind,
) -> Option<Result<tabby_api::Resource, Diagnostic>> {
    use tabby_api::{calico as c, k8s, netpol_api as napi, Kind as K, Resource as R};
    fn boxed<T: serde::de::DeserializeOwned>(
        obj: &RawObject,
        f: fn(Box<T>) -> R,
    ) -> Result<R, Diagnostic> {
        obj.decode::<T>().map(|t| f(Box::new(t)))
    }
    Some(match kind {
        K::StagedKubernetesNetworkPolicy => {
            boxed::<c::StagedKubernetesNetworkPolicy>(obj, R::StagedKubernetesNetworkPolicy)
        }
        K::KubernetesNetworkPolicy => boxed::<k8s::NetworkPolicy>(obj, R::KubernetesNetworkPolicy),
        K::ClusterNetworkPolicy => {
            boxed::<napi::ClusterNetworkPolicy>(obj, R::ClusterNetworkPolicy)
        }
        K::AdminNetworkPolicy => boxed::<napi::AdminNetworkPolicy>(obj, R::AdminNetworkPolicy),
        K::BaselineAdminNetworkPolicy => {
            boxed::<napi::BaselineAdminNetworkPolicy>(obj, R::BaselineAdminNetworkPolicy)
        }
        K::Namespace => boxed::<k8s::Namespace>(obj, R::Namespace),
        K::Pod => boxed::<k8s::Pod>(obj, R::Pod),
        K::ServiceAccount => boxed::<k8s::ServiceAccount>(obj, R::ServiceAccount),
        K::Service => boxed::<k8s::Service>(obj, R::Service),
        K::Deployment => boxed::<k8s::Deployment>(obj, R::Deployment),
        K::StatefulSet => boxed::<k8s::StatefulSet>(obj, R::StatefulSet),
        K::DaemonSet => boxed::<k8s::DaemonSet>(obj, R::DaemonSet),
        K::ReplicaSet => boxed::<k8s::ReplicaSet>(obj, R::ReplicaSet),
        K::Job => boxed::<k8s::Job>(obj, R::Job),
        K::CronJob => boxed::<k8s::CronJob>(obj, R::CronJob),
        _ => return None,
    })
}

/// Objects outside the Calico API groups that the Kubernetes converters do not take:
/// skipped with a note.
fn other_object(ctx: &mut Ctx, obj: &RawObject, _out: &mut Cluster) {
    let calico_group = obj.api_version.starts_with("projectcalico.org/")
        || obj.api_version.starts_with("crd.projectcalico.org/");
    if calico_group && CALICO_KINDS.contains(&obj.kind.as_str()) {
        ctx.warn(
            codes::UNKNOWN_API_VERSION,
            &At::root(obj).key("apiVersion"),
            format!(
                "`{}` is not a served version of `{}`; the object is skipped",
                obj.api_version, obj.kind
            ),
            Some("did you mean `projectcalico.org/v3`?".into()),
        );
        return;
    }
    if let Some(m) = misspelt_kubernetes_kind(obj) {
        ctx.warn(
            crate::k8s::codes::MISSPELT_KIND,
            &At::root(obj).key("kind"),
            format!(
                "`{}` is not a `{}` kind; the object is skipped",
                obj.kind, obj.api_version
            ),
            Some(format!("did you mean `{m}`?")),
        );
        return;
    }
    skip_note(ctx, obj, None);
}

/// Real Kubernetes kinds in the groups tabby reads that tabby does not analyse: close
/// to an analysed kind by spelling (`Node`, `Pod`), but not typos of it.
const KUBERNETES_OTHER_KINDS: &[&str] = &[
    "Binding",
    "ComponentStatus",
    "ConfigMap",
    "ControllerRevision",
    "Endpoints",
    "EndpointSlice",
    "Event",
    "Ingress",
    "IngressClass",
    "IPAddress",
    "LimitRange",
    "Node",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "PodTemplate",
    "ReplicationController",
    "ResourceQuota",
    "Secret",
    "ServiceCIDR",
];

/// The kind tabby analyses that a Kubernetes-group object's unknown kind is probably a
/// typo of (same `apiVersion`, close spelling), as W0204 does for Calico kinds.
fn misspelt_kubernetes_kind(obj: &RawObject) -> Option<&'static str> {
    if KUBERNETES_OTHER_KINDS.contains(&obj.kind.as_str()) {
        return None;
    }
    let kinds = tabby_api::Kind::ALL
        .iter()
        .filter(|k| !k.is_calico() && crate::k8s::handles(&obj.api_version, k.name()))
        .map(|k| k.name());
    tabby_diag::did_you_mean(&obj.kind, kinds)
}

fn skip_note(ctx: &mut Ctx, obj: &RawObject, help: Option<String>) {
    let at = At::root(obj).key("kind");
    ctx.note(
        codes::UNKNOWN_KIND,
        &at,
        format!(
            "`{}` (`{}`) is not a kind tabby analyses; skipped",
            obj.kind, obj.api_version
        ),
        help,
    );
}

fn calico_object(
    ctx: &mut Ctx,
    obj: &RawObject,
    declared_tiers: &BTreeSet<String>,
    out: &mut Cluster,
) {
    let kind = obj.kind.as_str();
    if !CALICO_KINDS.contains(&kind) {
        if CALICO_OTHER_KINDS.contains(&kind) {
            skip_note(
                ctx,
                obj,
                Some("it does not affect network policy decisions".into()),
            );
            return;
        }
        let close = tabby_diag::did_you_mean(kind, CALICO_KINDS.iter().copied());
        match close {
            Some(m) => {
                ctx.warn(
                    codes::MISSPELT_KIND,
                    &At::root(obj).key("kind"),
                    format!("`{kind}` is not a Calico kind; the object is skipped"),
                    Some(format!("did you mean `{m}`?")),
                );
            }
            None => skip_note(ctx, obj, None),
        }
        return;
    }

    let value = obj.node.to_json();
    let root = Obj::new(ctx, At::root(obj), Some(&value));
    root.known_fields(ctx, ROOT_FIELDS);
    let md = root.obj(ctx, "metadata");
    md.known_fields(ctx, META_FIELDS);

    let policy_kind = match kind {
        "NetworkPolicy" => Some(PolicyKind::NetworkPolicy),
        "GlobalNetworkPolicy" => Some(PolicyKind::GlobalNetworkPolicy),
        "StagedNetworkPolicy" => Some(PolicyKind::StagedNetworkPolicy),
        "StagedGlobalNetworkPolicy" => Some(PolicyKind::StagedGlobalNetworkPolicy),
        _ => None,
    };
    if let Some(pk) = policy_kind {
        // The tier must exist; checked first so it is reported with any other problem.
        let tier_ok = match value.get("spec").and_then(|s| s.get("tier")) {
            Some(serde_json::Value::String(t)) if !t.is_empty() && meta::matches_tier_name(t) => {
                tier_exists(t, declared_tiers)
                    || {
                        let at = At::root(obj).key("spec").key("tier");
                        ctx.error::<()>(
                        codes::TIER_NOT_FOUND,
                        &at,
                        format!("spec.tier: tier `{t}` does not exist"),
                        Some(format!(
                            "add a Tier resource named `{t}` (apiVersion: projectcalico.org/v3, kind: Tier, spec: {{order: ...}}), or use an existing tier"
                        )),
                    );
                        false
                    }
            }
            _ => true,
        };
        if let Some(item) = policy::check_policy(ctx, &root, pk) {
            if let Some(p) = finish_policy(ctx, item, declared_tiers) {
                if tier_ok {
                    out.policies.push(p);
                }
            }
        }
        return;
    }
    match kind {
        "Tier" => out.tiers.extend(tier::check_tier(ctx, &root)),
        "NetworkSet" => out
            .network_sets
            .extend(endpoints::check_network_set(ctx, &root, false)),
        "GlobalNetworkSet" => out
            .network_sets
            .extend(endpoints::check_network_set(ctx, &root, true)),
        "HostEndpoint" => out
            .host_endpoints
            .extend(endpoints::check_host_endpoint(ctx, &root)),
        "WorkloadEndpoint" => out
            .workloads
            .extend(endpoints::check_workload_endpoint(ctx, &root)),
        "Profile" => out.profiles.extend(endpoints::check_profile(ctx, &root)),
        "GlobalThreatFeed" => out
            .threat_feeds
            .extend(endpoints::check_threat_feed(ctx, &root)),
        _ => skip_note(ctx, obj, None),
    }
}

/// Whether the input (or Calico itself) provides tier `name`.
fn tier_exists(name: &str, declared: &BTreeSet<String>) -> bool {
    declared.contains(name) || tier::BUILTIN_TIERS.iter().any(|(n, _, _)| *n == name)
}

/// Legacy `tier.name` names.
fn finish_policy(
    ctx: &mut Ctx,
    item: PolicyItem<'_>,
    declared: &BTreeSet<String>,
) -> Option<tabby_model::Policy> {
    let PolicyItem {
        mut policy,
        tier_written,
        name_at,
    } = item;
    let is_k8s_alias =
        policy.name.starts_with("knp.default.") || policy.name.starts_with("ossg.default.");
    if !is_k8s_alias {
        if let Some((prefix, rest)) = policy.name.split_once('.') {
            if prefix == &*policy.tier {
                ctx.note(
                    codes::LEGACY_TIER_PREFIX,
                    &name_at,
                    format!(
                        "metadata.name: `{}` uses the legacy `<tier>.<name>` form; read as policy `{rest}` in tier `{prefix}`",
                        policy.name
                    ),
                    Some(format!("since Calico v3.32 policy names carry no tier prefix: name it `{rest}`")),
                );
                policy.name = Name::from(rest);
            } else if tier_exists(prefix, declared) {
                let help = if tier_written {
                    format!("move the policy to tier `{prefix}` (`spec.tier: {prefix}`), or rename it to `{rest}`")
                } else {
                    format!("add `spec.tier: {prefix}`, or rename the policy to `{rest}`")
                };
                return ctx.error(
                    codes::POLICY_TIER,
                    &name_at,
                    format!(
                        "metadata.name: `{}` has the prefix of tier `{prefix}` but the policy is in tier `{}`",
                        policy.name, policy.tier
                    ),
                    Some(help),
                );
            }
        }
    }
    Some(policy)
}

/// Keeps the last of several objects with the same identity, warning at each
/// replacement (as `kubectl apply` of the inputs in order would leave it).
fn dedupe<T>(
    ctx: &mut Ctx,
    items: &mut Vec<T>,
    key: impl Fn(&T) -> String,
    what: impl Fn(&T) -> String,
    loc: impl Fn(&T) -> Option<Loc>,
) {
    let mut winner: HashMap<String, usize> = HashMap::new();
    let mut keep = vec![true; items.len()];
    for (i, it) in items.iter().enumerate() {
        if let Some(prev) = winner.insert(key(it), i) {
            if let Some(k) = keep.get_mut(prev) {
                *k = false;
            }
            let earlier = items.get(prev).and_then(&loc);
            let mut d = Diagnostic::warning(
                codes::DUPLICATE_OBJECT,
                match &earlier {
                    Some(l) => format!(
                        "{} is defined again; this definition replaces the one at {l}",
                        what(it)
                    ),
                    None => format!(
                        "{} is defined again; this definition replaces the earlier one",
                        what(it)
                    ),
                },
            )
            .at_opt(loc(it))
            .with_help("the later definition wins, as with `kubectl apply`; remove one of them");
            if d.loc.is_none() {
                d.loc = earlier;
            }
            ctx.push(d);
        }
    }
    let mut flags = keep.into_iter();
    items.retain(|_| flags.next().unwrap_or(true));
}

fn ns_name(ns: Option<&Name>, name: &Name) -> String {
    match ns {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

fn dedupe_all(ctx: &mut Ctx, c: &mut Cluster) {
    dedupe(
        ctx,
        &mut c.policies,
        |p| {
            format!(
                "{}|{}",
                p.kind.as_str(),
                ns_name(p.namespace.as_ref(), &p.name)
            )
        },
        |p| format!("{} `{}`", p.kind, ns_name(p.namespace.as_ref(), &p.name)),
        |p| p.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.tiers,
        |t| t.name.to_string(),
        |t| format!("Tier `{}`", t.name),
        |t| t.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.profiles,
        |p| p.name.to_string(),
        |p| format!("Profile `{}`", p.name),
        |p| p.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.network_sets,
        |n| ns_name(n.namespace.as_ref(), &n.name),
        |n| match &n.namespace {
            Some(ns) => format!("NetworkSet `{ns}/{}`", n.name),
            None => format!("GlobalNetworkSet `{}`", n.name),
        },
        |n| n.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.host_endpoints,
        |h| h.name.to_string(),
        |h| format!("HostEndpoint `{}`", h.name),
        |h| h.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.workloads,
        |w| format!("{}|{}/{}", origin_kind(&w.origin), w.namespace, w.name),
        |w| format!("{} `{}/{}`", origin_kind(&w.origin), w.namespace, w.name),
        |w| w.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.threat_feeds,
        |t| t.name.to_string(),
        |t| format!("GlobalThreatFeed `{}`", t.name),
        |t| t.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.namespaces,
        |n| n.name.to_string(),
        |n| format!("Namespace `{}`", n.name),
        |n| n.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.service_accounts,
        |s| format!("{}/{}", s.namespace, s.name),
        |s| format!("ServiceAccount `{}/{}`", s.namespace, s.name),
        |s| s.loc.clone(),
    );
    dedupe(
        ctx,
        &mut c.services,
        |s| format!("{}/{}", s.namespace, s.name),
        |s| format!("Service `{}/{}`", s.namespace, s.name),
        |s| s.loc.clone(),
    );
}

fn origin_kind(o: &EndpointOrigin) -> String {
    match o {
        EndpointOrigin::Pod => "Pod".into(),
        EndpointOrigin::Template { kind, .. } => kind.to_string(),
        EndpointOrigin::WorkloadEndpoint => "WorkloadEndpoint".into(),
    }
}
