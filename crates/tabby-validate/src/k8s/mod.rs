//! Kubernetes kinds: conversion into Calico-shaped model objects, as Calico's
//! converters do (`libcalico-go/lib/backend/k8s/conversion/`).
//!
//! ```text
//!  NetworkPolicy, StagedKubernetesNetworkPolicy ──netpol──────────▶ Policy (tier default, order 1000)
//!  ClusterNetworkPolicy, AdminNetworkPolicy,
//!  BaselineAdminNetworkPolicy                    ──cluster_policy──▶ Policy (GNP-shaped, admin tiers)
//!  Pod, Deployment, StatefulSet, DaemonSet,
//!  ReplicaSet, Job, CronJob                      ──workloads───────▶ Workload
//!  Namespace, ServiceAccount, Service            ──core────────────▶ Namespace, ServiceAccount, Service
//! ```
//!
//! The dispatcher calls [`lower`] once per object (already decoded into its
//! `tabby-api` type, so its shape is right) and [`finish`] once after all objects,
//! for what needs the whole input: legacy admin tiers, and dropping controller
//! templates whose pods are present. Values are read from the position-carrying
//! tree through the same paths errors are reported at (see [`tree`]).

pub mod codes;

mod cluster_policy;
mod core;
mod netpol;
mod ports;
mod selector;
#[cfg(test)]
mod tests;
mod tree;
mod workloads;

use std::collections::{BTreeSet, HashMap};

use tabby_diag::Diagnostic;
use tabby_load::RawObject;
use tabby_model::{Cluster, EndpointOrigin, LabelMap, Tier, TierDefaultAction};

use crate::ctx::{check_label_value, check_qualified_name, At, Ctx};
use tree::Tree;

/// Whether [`lower`] handles objects of `kind` with `api_version`.
pub(crate) fn handles(api_version: &str, kind: &str) -> bool {
    match kind {
        "NetworkPolicy" => api_version == "networking.k8s.io/v1",
        "StagedKubernetesNetworkPolicy" => api_version == "projectcalico.org/v3",
        "ClusterNetworkPolicy" => api_version.starts_with("policy.networking.k8s.io/"),
        "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy" => {
            api_version.starts_with("policy.networking.k8s.io/")
        }
        "Pod" | "Namespace" | "ServiceAccount" | "Service" => api_version == "v1",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => api_version == "apps/v1",
        "Job" | "CronJob" => api_version == "batch/v1",
        _ => false,
    }
}

/// Converts one Kubernetes object into `out`. Problems go to `ctx`, each at its
/// position; an object with errors is left out (as the API server would refuse it).
///
/// `res` is `obj` decoded into its wire type (`tabby_api::Resource`; generic so this
/// module does not depend on the wire types' layout): its success proves the shape (types,
/// no unknown fields on policy kinds). The conversions then read values from the
/// position-carrying tree, through the same paths their errors point at.
#[allow(
    dead_code,
    reason = "the dispatcher calls `lower_raw`; kept for callers holding a decoded resource"
)]
pub(crate) fn lower<R: ?Sized>(
    ctx: &mut Ctx,
    obj: &RawObject,
    _res: &R,
    out: &mut tabby_model::Cluster,
) {
    convert(ctx, obj, out);
}

/// [`lower`] for an object not decoded yet: decodes it into its `tabby-api` wire type
/// first (unknown fields on policy kinds and wrong value types are errors at their
/// position, as with strict `kubectl`), then converts it.
pub(crate) fn lower_raw(ctx: &mut Ctx, obj: &RawObject, out: &mut Cluster) {
    if shape_ok(ctx, obj) && meta_ok(ctx, obj) {
        convert(ctx, obj, out);
    }
}

/// Decodes `obj` into its wire type only to check its shape; reports the first problem.
fn shape_ok(ctx: &mut Ctx, obj: &RawObject) -> bool {
    use tabby_api::{calico, k8s, netpol_api};
    let checked = match obj.kind.as_str() {
        "NetworkPolicy" => obj.decode::<k8s::NetworkPolicy>().map(drop),
        "StagedKubernetesNetworkPolicy" => obj
            .decode::<calico::StagedKubernetesNetworkPolicy>()
            .map(drop),
        "ClusterNetworkPolicy" => obj.decode::<netpol_api::ClusterNetworkPolicy>().map(drop),
        "AdminNetworkPolicy" => obj.decode::<netpol_api::AdminNetworkPolicy>().map(drop),
        "BaselineAdminNetworkPolicy" => obj
            .decode::<netpol_api::BaselineAdminNetworkPolicy>()
            .map(drop),
        "Pod" => obj.decode::<k8s::Pod>().map(drop),
        "Deployment" => obj.decode::<k8s::Deployment>().map(drop),
        "StatefulSet" => obj.decode::<k8s::StatefulSet>().map(drop),
        "DaemonSet" => obj.decode::<k8s::DaemonSet>().map(drop),
        "ReplicaSet" => obj.decode::<k8s::ReplicaSet>().map(drop),
        "Job" => obj.decode::<k8s::Job>().map(drop),
        "CronJob" => obj.decode::<k8s::CronJob>().map(drop),
        "Namespace" => obj.decode::<k8s::Namespace>().map(drop),
        "ServiceAccount" => obj.decode::<k8s::ServiceAccount>().map(drop),
        "Service" => obj.decode::<k8s::Service>().map(drop),
        _ => Ok(()),
    };
    match checked {
        Ok(()) => true,
        Err(d) => {
            ctx.push(d);
            false
        }
    }
}

/// Checks `metadata.name` and `metadata.labels` as the API server does: names are DNS
/// subdomains (Namespaces: DNS labels; Services: DNS-1035 labels, starting with a
/// letter), label keys qualified names and values label values.
fn meta_ok(ctx: &mut Ctx, obj: &RawObject) -> bool {
    let errors_before = ctx.error_count();
    let meta = At::root(obj).key("metadata");
    let name_at = meta.key("name");
    match obj.name.as_deref() {
        None | Some("") => {
            ctx.error::<()>(
                crate::codes::NAME_INVALID,
                &name_at,
                format!("{}: a {} needs a name", name_at.field(), obj.kind),
                Some("add `metadata.name`".into()),
            );
        }
        Some(name) => {
            let label_rule = match obj.kind.as_str() {
                "Namespace" => Some(("a namespace name", false)),
                "Service" => Some(("a service name", true)),
                _ => None,
            };
            match label_rule {
                None => {
                    ctx.resource_name(crate::codes::NAME_INVALID, &name_at, name);
                }
                Some((what, letter_first)) => {
                    let first_ok =
                        !letter_first || name.starts_with(|c: char| c.is_ascii_lowercase());
                    if name.len() > crate::ctx::MAX_LABEL_LEN
                        || !crate::ctx::matches_dns_label(name)
                        || !first_ok
                    {
                        let start = if letter_first {
                            "a letter"
                        } else {
                            "a letter or digit"
                        };
                        ctx.error::<()>(
                            crate::codes::NAME_INVALID,
                            &name_at,
                            format!("{}: `{name}` is not valid as {what}", name_at.field()),
                            Some(format!(
                                "use at most 63 lower case letters, digits and `-`, starting with {start} and ending with a letter or digit"
                            )),
                        );
                    }
                }
            }
        }
    }
    let labels = meta.key("labels");
    for (k, vat) in labels.entries() {
        if let Err(m) = check_qualified_name(&k) {
            ctx.error_at_key::<()>(
                crate::codes::LABEL_INVALID,
                &vat,
                format!("{}: invalid label key: {m}", labels.field()),
                None,
            );
        }
        if let Err(m) = check_label_value(vat.str().unwrap_or_default()) {
            ctx.error::<()>(
                crate::codes::LABEL_INVALID,
                &vat,
                format!("{}: {m}", vat.field()),
                None,
            );
        }
    }
    ctx.error_count() == errors_before
}

/// Converts an object whose shape is known to be right.
fn convert(ctx: &mut Ctx, obj: &RawObject, out: &mut Cluster) {
    use cluster_policy::Flavor;
    match obj.kind.as_str() {
        "NetworkPolicy" => netpol::lower(ctx, obj, false, out),
        "StagedKubernetesNetworkPolicy" => netpol::lower(ctx, obj, true, out),
        "ClusterNetworkPolicy" => cluster_policy::lower(ctx, obj, Flavor::Cnp, out),
        "AdminNetworkPolicy" => cluster_policy::lower(ctx, obj, Flavor::Anp, out),
        "BaselineAdminNetworkPolicy" => cluster_policy::lower(ctx, obj, Flavor::Banp, out),
        "Pod" => workloads::lower_pod(ctx, obj, out),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" => {
            workloads::lower_controller(ctx, obj, out);
        }
        "Namespace" => core::lower_namespace(ctx, obj, out),
        "ServiceAccount" => core::lower_service_account(ctx, obj, out),
        "Service" => core::lower_service(ctx, obj, out),
        _ => {}
    }
}

/// Whole-input steps, run once after every object went through [`lower`]:
///
/// 1. The legacy tiers `adminnetworkpolicy` (order 1000) and
///    `baselineadminnetworkpolicy` (order 10,000,000), both default action `Pass`,
///    are added (declared: false) when a policy uses them and the input has no Tier
///    of that name.
/// 2. Controller templates whose pods are present are dropped (see the
///    "Controllers and their pods" section of `docs/diagnostics-k8s.md`).
pub(crate) fn finish(ctx: &mut Ctx, objects: &[RawObject], out: &mut Cluster) {
    for (tier, order) in [
        (tabby_model::LEGACY_ANP_TIER, 1000.0),
        (tabby_model::LEGACY_BANP_TIER, 10_000_000.0),
    ] {
        if out.tier(tier).is_none() && out.policies.iter().any(|p| &*p.tier == tier) {
            out.tiers.push(Tier {
                name: tier.into(),
                order: Some(order),
                default_action: TierDefaultAction::Pass,
                declared: false,
                loc: None,
            });
        }
    }
    drop_superseded_templates(ctx, objects, out);
    apply_service_account_automount(objects, out);
}

/// A pod that does not set `automountServiceAccountToken` inherits its service
/// account's setting (Kubernetes' service-account admission): a ServiceAccount in the
/// input with `automountServiceAccountToken: false` turns the token off.
fn apply_service_account_automount(objects: &[RawObject], out: &mut Cluster) {
    let mut no_token: BTreeSet<(String, String)> = BTreeSet::new();
    for o in objects
        .iter()
        .filter(|o| o.kind == "ServiceAccount" && o.api_version == "v1")
    {
        if At::root(o).key("automountServiceAccountToken").bool() == Some(false) {
            no_token.insert((
                o.namespace.clone().unwrap_or_else(|| "default".into()),
                o.name.clone().unwrap_or_default(),
            ));
        }
    }
    if no_token.is_empty() {
        return;
    }
    // Workloads whose pod spec sets the field themselves keep their own value.
    let mut explicit: BTreeSet<(String, String, String)> = BTreeSet::new();
    for o in objects {
        let spec = match workloads::template_path(&o.kind) {
            Some(path) => At::root(o)
                .join(path.iter().map(|s| (*s).into()).collect())
                .key("spec"),
            None if o.kind == "Pod" => At::root(o).key("spec"),
            None => continue,
        };
        if spec.key("automountServiceAccountToken").present() {
            let ns = o.namespace.clone().unwrap_or_else(|| "default".into());
            explicit.insert((o.kind.clone(), ns, o.name.clone().unwrap_or_default()));
        }
    }
    for w in &mut out.workloads {
        let kind = match &w.origin {
            EndpointOrigin::Pod => "Pod".to_owned(),
            EndpointOrigin::Template { kind, .. } => kind.to_string(),
            EndpointOrigin::WorkloadEndpoint => continue,
        };
        let sa = w.service_account.as_deref().unwrap_or("default").to_owned();
        if no_token.contains(&(w.namespace.to_string(), sa))
            && !explicit.contains(&(kind, w.namespace.to_string(), w.name.to_string()))
        {
            w.automount_token = false;
        }
    }
}

/// `(kind, namespace, name)` of an object.
type ObjKey = (String, String, String);

fn drop_superseded_templates(ctx: &mut Ctx, objects: &[RawObject], out: &mut Cluster) {
    if !out
        .workloads
        .iter()
        .any(|w| matches!(w.origin, EndpointOrigin::Template { .. }))
    {
        return;
    }
    // Owner references of every pod and controller: (kind, ns, name) → owners (kind, name).
    let mut owners: HashMap<ObjKey, Vec<(String, String)>> = HashMap::new();
    let mut objs: HashMap<ObjKey, &RawObject> = HashMap::new();
    for o in objects {
        if o.kind != "Pod" && workloads::template_path(&o.kind).is_none() {
            continue;
        }
        let key = (
            o.kind.clone(),
            o.namespace.clone().unwrap_or_else(|| "default".into()),
            o.name.clone().unwrap_or_default(),
        );
        let refs = At::root(o)
            .key("metadata")
            .key("ownerReferences")
            .items()
            .iter()
            .filter_map(|r| {
                Some((
                    r.key("kind").str()?.to_owned(),
                    r.key("name").str()?.to_owned(),
                ))
            })
            .collect();
        owners.insert(key.clone(), refs);
        objs.insert(key, o);
    }
    // Controllers reached from each kept pod through its owner chain.
    let mut owned: BTreeSet<ObjKey> = BTreeSet::new();
    // Namespaced labels of every kept pod, matched against controller selectors: a
    // dump often holds a Deployment and its pods but not the ReplicaSet between them,
    // so the owner chain alone cannot connect them.
    let mut pods: Vec<(String, LabelMap)> = Vec::new();
    for w in &out.workloads {
        if w.origin != EndpointOrigin::Pod {
            continue;
        }
        let ns = w.namespace.to_string();
        let key = ("Pod".to_owned(), ns.clone(), w.name.to_string());
        let refs = owners.get(&key).cloned().unwrap_or_default();
        pods.push((ns.clone(), w.labels.clone()));
        if refs.is_empty() {
            continue;
        }
        // INVARIANT: owner chains are short (pod → ReplicaSet → Deployment); the bound
        // stops cycles in hostile input.
        let mut frontier = refs;
        for _ in 0..4 {
            let mut next = Vec::new();
            for (k, n) in frontier {
                let ck = (k, ns.clone(), n);
                if owned.insert(ck.clone()) {
                    next.extend(owners.get(&ck).cloned().unwrap_or_default());
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
    }
    let mut kept = Vec::with_capacity(out.workloads.len());
    for w in std::mem::take(&mut out.workloads) {
        let EndpointOrigin::Template { kind, name, .. } = &w.origin else {
            kept.push(w);
            continue;
        };
        let key = (kind.to_string(), w.namespace.to_string(), name.to_string());
        let owner_present = owners.get(&key).is_some_and(|refs| {
            refs.iter()
                .any(|(k, n)| objs.contains_key(&(k.clone(), key.1.clone(), n.clone())))
        });
        let reason = if owner_present {
            Some("its owner is in the input and stands for it")
        } else if owned.contains(&key) {
            Some("its pods are in the input and stand for it")
        } else if objs
            .get(&key)
            .is_some_and(|o| selects_any(o, &w.namespace, &pods))
        {
            Some("pods its selector matches are in the input and stand for it")
        } else {
            None
        };
        match reason {
            Some(r) => {
                ctx.push(
                    Diagnostic::note(
                        codes::TEMPLATE_SUPERSEDED,
                        format!(
                            "{kind} `{}/{name}` is not analysed as a workload: {r}",
                            w.namespace
                        ),
                    )
                    .at_opt(w.loc.clone()),
                );
            }
            None => kept.push(w),
        }
    }
    out.workloads = kept;
}

/// Whether the controller's `spec.selector` matches any of the kept pods in `ns`.
fn selects_any(obj: &RawObject, ns: &str, pods: &[(String, LabelMap)]) -> bool {
    let root = At::root(obj);
    let sel = if obj.kind == "CronJob" {
        root.key("spec")
            .key("jobTemplate")
            .key("spec")
            .key("selector")
    } else {
        root.key("spec").key("selector")
    };
    if !sel.present() {
        return false;
    }
    let match_labels = sel.key("matchLabels").string_map();
    let exprs: Vec<(String, String, Vec<String>)> = sel
        .key("matchExpressions")
        .items()
        .iter()
        .map(|e| {
            (
                e.key("key").str().unwrap_or_default().to_owned(),
                e.key("operator").str().unwrap_or_default().to_owned(),
                e.key("values")
                    .items()
                    .iter()
                    .filter_map(|v| v.str().map(str::to_owned))
                    .collect(),
            )
        })
        .collect();
    if match_labels.is_empty() && exprs.is_empty() {
        // An empty selector would select every pod; Kubernetes rejects it for controllers.
        return false;
    }
    pods.iter().filter(|(pns, _)| pns == ns).any(|(_, labels)| {
        match_labels
            .iter()
            .all(|(k, v)| labels.get(k.as_str()).is_some_and(|x| &**x == v))
            && exprs.iter().all(|(k, op, vals)| {
                let have = labels.get(k.as_str());
                match op.as_str() {
                    "In" => have.is_some_and(|h| vals.iter().any(|v| &**h == v)),
                    "NotIn" => have.is_none_or(|h| vals.iter().all(|v| &**h != v)),
                    "Exists" => have.is_some(),
                    "DoesNotExist" => have.is_none(),
                    _ => false,
                }
            })
    })
}

/// `metadata.labels` of an object.
pub(crate) fn labels_of(root: &At<'_>) -> LabelMap {
    to_label_map(root.key("metadata").key("labels").string_map())
}

/// `metadata.annotations` of an object.
pub(crate) fn annotations_of(root: &At<'_>) -> LabelMap {
    to_label_map(root.key("metadata").key("annotations").string_map())
}

fn to_label_map(entries: Vec<(String, String)>) -> LabelMap {
    entries
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// A label map at `at`; with `validate`, keys and values are checked as the API
/// server checks them (object `metadata.labels` are checked by the dispatcher).
pub(crate) fn label_map(ctx: &mut Ctx, at: &At<'_>, validate: bool) -> LabelMap {
    let entries = at.string_map();
    if validate {
        for (k, v) in &entries {
            let vat = at.key(k);
            if let Err(m) = check_qualified_name(k) {
                ctx.error_at_key::<()>(
                    codes::WORKLOAD_LABEL,
                    &vat,
                    format!("{}: invalid label key: {m}", vat.field()),
                    None,
                );
            }
            if let Err(m) = check_label_value(v) {
                ctx.error::<()>(
                    codes::WORKLOAD_LABEL,
                    &vat,
                    format!("{}: {m}", vat.field()),
                    None,
                );
            }
        }
    }
    to_label_map(entries)
}

/// Test helper: load YAML and run every object through [`lower_raw`] and [`finish`].
#[cfg(test)]
pub(crate) fn lower_str(yaml: &str) -> (Cluster, tabby_diag::Diagnostics) {
    let loaded = tabby_load::load_str("test.yaml", yaml, &tabby_load::LoadOptions::default());
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
    let mut ctx = Ctx::new();
    let mut out = Cluster::default();
    for o in &loaded.objects {
        lower_raw(&mut ctx, o, &mut out);
    }
    finish(&mut ctx, &loaded.objects, &mut out);
    (out, ctx.diagnostics)
}
