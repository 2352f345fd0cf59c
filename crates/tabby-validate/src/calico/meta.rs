//! `metadata`: names (with each kind's name format), namespaces, labels, annotations.

use tabby_model::{LabelMap, Name};

use super::walk::Obj;
use crate::codes;
use crate::ctx::{
    check_label_value, check_qualified_name, matches_dns_label, matches_dns_subdomain, Ctx,
    MAX_LABEL_LEN, MAX_NAME_LEN,
};

/// The name format a kind imposes (`validateObjectMeta`, `networkPolicyNameRegex`,
/// `globalNetworkPolicyNameRegex`, `tierNameRegex` in Calico's validator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameRule {
    /// DNS-1123 subdomain, at most 253 characters (most kinds).
    Subdomain,
    /// A DNS label with at most one dot, or `knp.default.<subdomain>` / `ossg.default.<subdomain>`.
    NetworkPolicy,
    /// A DNS label with at most one dot.
    GlobalNetworkPolicy,
    /// A DNS label of at most 63 characters (no dots).
    Tier,
}

/// Whether `name` fits `rule` (length excluded, except for tiers).
pub(crate) fn name_matches(rule: NameRule, name: &str) -> bool {
    let label_dot_label = |s: &str| match s.split_once('.') {
        None => matches_dns_label(s),
        Some((a, b)) => matches_dns_label(a) && matches_dns_label(b),
    };
    match rule {
        NameRule::Subdomain => matches_dns_subdomain(name),
        NameRule::GlobalNetworkPolicy => label_dot_label(name),
        NameRule::NetworkPolicy => {
            label_dot_label(name)
                || ["knp.default.", "ossg.default."]
                    .iter()
                    .any(|p| name.strip_prefix(p).is_some_and(matches_dns_subdomain))
        }
        NameRule::Tier => matches_dns_label(name),
    }
}

/// A tier name: a DNS label of at most 63 characters.
pub(crate) fn matches_tier_name(s: &str) -> bool {
    s.len() <= MAX_LABEL_LEN && matches_dns_label(s)
}

fn name_help(rule: NameRule) -> &'static str {
    match rule {
        NameRule::Subdomain => {
            "use lower case letters, digits, `-` and `.`, starting and ending with a letter or digit"
        }
        NameRule::NetworkPolicy | NameRule::GlobalNetworkPolicy => {
            "use lower case letters, digits and `-`, starting and ending with a letter or digit, with at most one `.`"
        }
        NameRule::Tier => {
            "use lower case letters, digits and `-`, starting and ending with a letter or digit (no `.`)"
        }
    }
}

/// What a valid `metadata` holds.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub name: Name,
    pub namespace: Option<Name>,
    pub labels: LabelMap,
    pub annotations: LabelMap,
}

/// Longest total size of annotation keys and values.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// Checks `metadata` of an object of `kind`. Namespaced kinds without a namespace get
/// `default`, as `kubectl` and `calicoctl` do.
pub(crate) fn check_meta(
    ctx: &mut Ctx,
    root: &Obj<'_>,
    kind: &str,
    rule: NameRule,
    namespaced: bool,
) -> Option<Meta> {
    let md = root.obj(ctx, "metadata");
    let name = match md.str(ctx, "name") {
        Some(n) => n,
        None if md.has("name") => return None,
        None => {
            let at = if md.map.is_some() {
                md.at.clone()
            } else {
                root.at.clone()
            };
            return ctx.error(
                codes::NAME_INVALID,
                &at,
                format!("{kind} has no `metadata.name`"),
                Some("every resource needs a name".into()),
            );
        }
    };
    let name_at = md.at("name");
    let max = if rule == NameRule::Tier {
        MAX_LABEL_LEN
    } else {
        MAX_NAME_LEN
    };
    let mut ok = true;
    if name.len() > max {
        ctx.error::<()>(
            if rule == NameRule::Tier {
                codes::TIER_NAME
            } else {
                codes::NAME_INVALID
            },
            &name_at,
            format!(
                "metadata.name: {kind} name is too long by {} bytes (at most {max})",
                name.len() - max
            ),
            None,
        );
        ok = false;
    } else if !name_matches(rule, name) {
        let code = if rule == NameRule::Tier {
            codes::TIER_NAME
        } else {
            codes::NAME_INVALID
        };
        ctx.error::<()>(
            code,
            &name_at,
            format!("metadata.name: `{name}` is not a valid {kind} name"),
            Some(name_help(rule).into()),
        );
        ok = false;
    }

    let namespace = match md.str(ctx, "namespace") {
        Some(ns) if namespaced => {
            if !matches_dns_label(ns) || ns.len() > MAX_LABEL_LEN {
                ctx.error::<()>(
                    codes::NAME_INVALID,
                    &md.at("namespace"),
                    format!("metadata.namespace: `{ns}` is not a valid namespace name"),
                    Some(name_help(NameRule::Tier).into()),
                );
                ok = false;
            }
            Some(Name::from(ns))
        }
        Some(ns) => {
            ctx.error::<()>(
                codes::NAMESPACE_NOT_ALLOWED,
                &md.at("namespace"),
                format!("metadata.namespace: {kind} is cluster-scoped but names namespace `{ns}`"),
                Some("remove `metadata.namespace`".into()),
            );
            ok = false;
            None
        }
        None if namespaced => Some(Name::from("default")),
        None => None,
    };

    let (labels, lok) = check_labels(ctx, &md, "labels", "metadata.labels");
    let (annotations, aok) = check_annotations(ctx, &md, "annotations");
    (ok && lok && aok).then(|| Meta {
        name: Name::from(name),
        namespace,
        labels,
        annotations,
    })
}

/// Checks a label map (`metadata.labels`, `labelsToApply`, threat-feed labels).
pub(crate) fn check_labels(
    ctx: &mut Ctx,
    parent: &Obj<'_>,
    key: &str,
    what: &str,
) -> (LabelMap, bool) {
    let mut out = LabelMap::new();
    let mut ok = true;
    for (at, k, v) in parent.str_map(ctx, key) {
        if let Err(e) = check_qualified_name(k) {
            ctx.error_at_key::<()>(
                codes::LABEL_INVALID,
                &at,
                format!("{what}: invalid label name: {e}"),
                Some("label names are `[prefix/]name`, e.g. `app` or `example.com/app`".into()),
            );
            ok = false;
        }
        if let Err(e) = check_label_value(v) {
            ctx.error::<()>(codes::LABEL_INVALID, &at, format!("{what}: {e}"), None);
            ok = false;
        }
        out.insert(Name::from(k), Name::from(v));
    }
    (out, ok)
}

/// Checks an annotation map (keys are qualified names after lower-casing; at most
/// 256 KiB of keys and values in total).
pub(crate) fn check_annotations(ctx: &mut Ctx, parent: &Obj<'_>, key: &str) -> (LabelMap, bool) {
    let mut out = LabelMap::new();
    let mut ok = true;
    let mut total = 0usize;
    let items = parent.str_map(ctx, key);
    if items.is_empty() {
        return (out, ok);
    }
    let field = parent.at(key).field();
    for (at, k, v) in items {
        if let Err(e) = check_qualified_name(&k.to_ascii_lowercase()) {
            ctx.error_at_key::<()>(
                codes::ANNOTATION_INVALID,
                &at,
                format!("{field}: invalid annotation key: {e}"),
                None,
            );
            ok = false;
        }
        total = total.saturating_add(k.len()).saturating_add(v.len());
        out.insert(Name::from(k), Name::from(v));
    }
    if total > MAX_ANNOTATIONS_BYTES {
        ctx.error::<()>(
            codes::ANNOTATION_INVALID,
            &parent.at(key),
            format!(
                "{field}: annotations are too large by {} bytes (at most 256 KiB in total)",
                total - MAX_ANNOTATIONS_BYTES
            ),
            None,
        );
        ok = false;
    }
    (out, ok)
}
