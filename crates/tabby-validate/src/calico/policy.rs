//! NetworkPolicy, GlobalNetworkPolicy and their staged forms
//! (`validateNetworkPolicy*`, `validateGlobalNetworkPolicy*`, `validateStaged*`, the
//! policy CEL rules, and `types` defaulting).

use tabby_model::{Direction, Name, Policy, PolicyKind, StagedAction, Types};
use tabby_selector::Selector;

use super::meta::{check_meta, matches_tier_name, NameRule};
use super::rule::{check_rules, RuleScope};
use super::walk::Obj;
use crate::codes;
use crate::ctx::{At, Ctx};

const NP_SPEC: &[&str] = &[
    "tier",
    "order",
    "selector",
    "types",
    "ingress",
    "egress",
    "serviceAccountSelector",
    "performanceHints",
];
const GNP_EXTRA: &[&str] = &[
    "namespaceSelector",
    "doNotTrack",
    "preDNAT",
    "applyOnForward",
];

const PERFORMANCE_HINTS: &[&str] = &["AssumeNeededOnEveryNode"];
const STAGED_ACTIONS: [&str; 4] = ["Set", "Delete", "Learn", "Ignore"];

/// A checked policy plus what the whole-set pass needs to report against it.
#[derive(Debug)]
pub(crate) struct PolicyItem<'a> {
    pub policy: Policy,
    /// Whether `spec.tier` was written.
    pub tier_written: bool,
    pub name_at: At<'a>,
}

/// `all()`: the selector of a policy with an empty or absent `selector`.
pub(crate) fn all_selector() -> Option<Selector> {
    Selector::parse("all()").ok()
}

pub(crate) fn check_policy<'a>(
    ctx: &mut Ctx,
    root: &Obj<'a>,
    kind: PolicyKind,
) -> Option<PolicyItem<'a>> {
    let before = ctx.error_count();
    let global = matches!(
        kind,
        PolicyKind::GlobalNetworkPolicy | PolicyKind::StagedGlobalNetworkPolicy
    );
    let staged = kind.is_staged();
    let kind_name = kind.as_str();
    let name_rule = if global {
        NameRule::GlobalNetworkPolicy
    } else {
        NameRule::NetworkPolicy
    };
    let meta = check_meta(ctx, root, kind_name, name_rule, !global);

    let spec = root.obj(ctx, "spec");
    if kind == PolicyKind::NetworkPolicy && (spec.has("podSelector") || spec.has("policyTypes")) {
        let key = if spec.has("podSelector") {
            "podSelector"
        } else {
            "policyTypes"
        };
        return ctx.error_at_key(
            codes::UNKNOWN_FIELD,
            &spec.at(key),
            format!("unknown field `{key}` in `spec`: this is a Kubernetes NetworkPolicy, not a Calico one"),
            Some("use `apiVersion: networking.k8s.io/v1` for a Kubernetes NetworkPolicy, or write a Calico spec (`selector`, `types`, `ingress`, `egress`)".into()),
        );
    }
    let mut known: Vec<&str> = NP_SPEC.to_vec();
    if global {
        known.extend_from_slice(GNP_EXTRA);
    }
    if staged {
        known.push("stagedAction");
    }
    spec.known_fields(ctx, &known);

    // tier
    let tier = match spec.str(ctx, "tier") {
        None | Some("") => Name::from(tabby_model::DEFAULT_TIER),
        Some(t) => {
            if !matches_tier_name(t) {
                ctx.error::<()>(
                    codes::POLICY_TIER,
                    &spec.at("tier"),
                    format!("spec.tier: `{t}` is not a valid tier name"),
                    Some(
                        "tier names are lower case letters, digits and `-` (at most 63, no `.`)"
                            .into(),
                    ),
                );
            }
            Name::from(t)
        }
    };
    let tier_written = spec.is_set("tier");

    // stagedAction
    let staged_action = if staged {
        match spec.str(ctx, "stagedAction") {
            None | Some("") | Some("Set") => Some(StagedAction::Set),
            Some("Delete") => Some(StagedAction::Delete),
            Some("Learn") => Some(StagedAction::Learn),
            Some("Ignore") => Some(StagedAction::Ignore),
            Some(other) => {
                let help = match tabby_diag::did_you_mean(other, STAGED_ACTIONS) {
                    Some(m) => {
                        format!("did you mean `{m}`? use `Set`, `Delete`, `Learn` or `Ignore`")
                    }
                    None => "use `Set`, `Delete`, `Learn` or `Ignore`".into(),
                };
                ctx.error(
                    codes::STAGED_ACTION,
                    &spec.at("stagedAction"),
                    format!("spec.stagedAction: unknown staged action `{other}`"),
                    Some(help),
                )
            }
        }
    } else {
        None
    };

    if staged_action == Some(StagedAction::Delete) {
        // Every spec field except `tier` (and `stagedAction`) must be empty.
        if let Some(m) = spec.map {
            for k in m.keys() {
                if k == "tier" || k == "stagedAction" || !spec.is_set(k) {
                    continue;
                }
                ctx.error_at_key::<()>(
                    codes::STAGED_ACTION,
                    &spec.at(k),
                    format!("spec.{k}: must be empty when `stagedAction` is `Delete`"),
                    Some("a staged delete only names the policy (and its tier); remove the other spec fields".into()),
                );
            }
        }
        let meta = meta?;
        if ctx.error_count() > before {
            return None;
        }
        return Some(PolicyItem {
            policy: Policy {
                kind,
                name: meta.name,
                namespace: meta.namespace,
                tier,
                order: None,
                selector: all_selector()?,
                namespace_selector: None,
                service_account_selector: None,
                types: Types {
                    ingress: false,
                    egress: false,
                    inferred: true,
                },
                ingress: Vec::new(),
                egress: Vec::new(),
                apply_on_forward: false,
                pre_dnat: false,
                do_not_track: false,
                staged_action,
                performance_hints: Vec::new(),
                labels: meta.labels,
                annotations: meta.annotations,
                loc: Some(root.at.loc()),
            },
            tier_written,
            name_at: root.at.key("metadata").key("name"),
        });
    }

    // order
    let order = match spec.f64(ctx, "order") {
        Some(o) if !o.is_finite() => ctx.error(
            codes::ORDER_INVALID,
            &spec.at("order"),
            format!("spec.order: `{o}` is not a finite number"),
            Some("use a number such as `100`; omit `order` to sort the policy last".into()),
        ),
        o => o,
    };

    // selectors
    let selector = match spec.str(ctx, "selector") {
        None | Some("") => all_selector(),
        Some(s) => ctx.selector_checked(&spec.at("selector"), s, false),
    };
    let service_account_selector = match spec.str(ctx, "serviceAccountSelector") {
        None | Some("") => None,
        Some(s) => ctx.selector_checked(&spec.at("serviceAccountSelector"), s, false),
    };
    let namespace_selector = if global {
        match spec.str(ctx, "namespaceSelector") {
            None | Some("") => None,
            Some(s) => ctx.selector_checked(&spec.at("namespaceSelector"), s, false),
        }
    } else {
        None
    };

    // types
    let mut types = Types::default();
    let mut types_written = false;
    for (at, t) in spec.str_list(ctx, "types") {
        types_written = true;
        let (slot, dir) = match t {
            "Ingress" => (&mut types.ingress, "Ingress"),
            "Egress" => (&mut types.egress, "Egress"),
            other => {
                let help = match tabby_diag::did_you_mean(other, ["Ingress", "Egress"]) {
                    Some(m) => format!("did you mean `{m}`? types are `Ingress` and `Egress`"),
                    None => "use `Ingress` and/or `Egress`".into(),
                };
                ctx.error::<()>(
                    codes::TYPES_INVALID,
                    &at,
                    format!("{}: unknown policy type `{other}`", at.field()),
                    Some(help),
                );
                continue;
            }
        };
        if *slot {
            ctx.error::<()>(
                codes::TYPES_INVALID,
                &at,
                format!("{}: `{dir}` type specified more than once", at.field()),
                Some("list each type once".into()),
            );
        }
        *slot = true;
    }

    // rules
    let ingress = check_rules(
        ctx,
        &spec,
        "ingress",
        RuleScope {
            dir: Direction::Ingress,
            global,
            policy: true,
        },
    );
    let egress = check_rules(
        ctx,
        &spec,
        "egress",
        RuleScope {
            dir: Direction::Egress,
            global,
            policy: true,
        },
    );
    let non_empty =
        |k: &str| matches!(spec.raw(k), Some(serde_json::Value::Array(a)) if !a.is_empty());
    let has_ingress = non_empty("ingress");
    let has_egress = non_empty("egress");
    if !types_written {
        // Calico's defaulting (`defaultPolicyTypesField`).
        types = Types {
            ingress: !has_egress || has_ingress,
            egress: has_egress,
            inferred: true,
        };
    }

    // doNotTrack / preDNAT / applyOnForward
    let (mut dnt, mut pre_dnat, mut aof) = (false, false, false);
    if global {
        dnt = spec.bool(ctx, "doNotTrack").unwrap_or(false);
        pre_dnat = spec.bool(ctx, "preDNAT").unwrap_or(false);
        aof = spec.bool(ctx, "applyOnForward").unwrap_or(false);
        if dnt && pre_dnat {
            ctx.error::<()>(
                codes::HOST_POLICY_FLAGS,
                &spec.at("preDNAT"),
                "spec.preDNAT: `preDNAT` and `doNotTrack` cannot both be true".into(),
                Some("a policy is either untracked (`doNotTrack`) or pre-DNAT, not both".into()),
            );
        }
        if pre_dnat && has_egress {
            ctx.error_at_key::<()>(
                codes::HOST_POLICY_FLAGS,
                &spec.at("egress"),
                "spec.egress: a `preDNAT` policy cannot have egress rules".into(),
                Some("pre-DNAT policy only applies to traffic entering the host; move egress rules to another policy".into()),
            );
        }
        if pre_dnat && types_written && types.egress {
            ctx.error::<()>(
                codes::HOST_POLICY_FLAGS,
                &spec.at("types"),
                "spec.types: a `preDNAT` policy cannot have the `Egress` type".into(),
                Some("use `types: [Ingress]`".into()),
            );
        }
        if (dnt || pre_dnat) && !aof {
            let which = if dnt { "doNotTrack" } else { "preDNAT" };
            let at = if spec.has("applyOnForward") {
                spec.at("applyOnForward")
            } else {
                spec.at(which)
            };
            ctx.error::<()>(
                codes::HOST_POLICY_FLAGS,
                &at,
                format!("spec.applyOnForward: must be true when `{which}` is true"),
                Some("add `applyOnForward: true`".into()),
            );
        }
    }

    // performanceHints
    let mut hints: Vec<Name> = Vec::new();
    for (at, h) in spec.str_list(ctx, "performanceHints") {
        if !PERFORMANCE_HINTS.contains(&h) {
            let help = match tabby_diag::did_you_mean(h, PERFORMANCE_HINTS.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => "the only hint is `AssumeNeededOnEveryNode`".into(),
            };
            ctx.error::<()>(
                codes::PERFORMANCE_HINTS,
                &at,
                format!("{}: unknown performance hint `{h}`", at.field()),
                Some(help),
            );
        } else if hints.iter().any(|x| &**x == h) {
            ctx.error::<()>(
                codes::PERFORMANCE_HINTS,
                &at,
                format!("{}: hint `{h}` is listed twice", at.field()),
                Some("list each hint once".into()),
            );
        } else {
            hints.push(Name::from(h));
        }
    }

    if ctx.error_count() > before {
        return None;
    }
    let meta = meta?;
    Some(PolicyItem {
        policy: Policy {
            kind,
            name: meta.name,
            namespace: meta.namespace,
            tier,
            order,
            selector: selector?,
            namespace_selector,
            service_account_selector,
            types,
            ingress: ingress?,
            egress: egress?,
            apply_on_forward: aof,
            pre_dnat,
            do_not_track: dnt,
            staged_action,
            performance_hints: hints,
            labels: meta.labels,
            annotations: meta.annotations,
            loc: Some(root.at.loc()),
        },
        tier_written,
        name_at: root.at.key("metadata").key("name"),
    })
}
