//! Tier (`validateTier` and the Tier CEL rules for the built-in tiers).

use tabby_model::{Tier, TierDefaultAction};

use super::meta::{check_meta, NameRule};
use super::walk::Obj;
use crate::codes;
use crate::ctx::Ctx;

/// The built-in tiers: name, required order, required default action.
pub(crate) const BUILTIN_TIERS: [(&str, f64, TierDefaultAction); 3] = [
    (
        tabby_model::KUBE_ADMIN_TIER,
        1000.0,
        TierDefaultAction::Pass,
    ),
    (
        tabby_model::DEFAULT_TIER,
        1_000_000.0,
        TierDefaultAction::Deny,
    ),
    (
        tabby_model::KUBE_BASELINE_TIER,
        10_000_000.0,
        TierDefaultAction::Pass,
    ),
];

fn action_name(a: TierDefaultAction) -> &'static str {
    match a {
        TierDefaultAction::Deny => "Deny",
        TierDefaultAction::Pass => "Pass",
    }
}

pub(crate) fn check_tier(ctx: &mut Ctx, root: &Obj<'_>) -> Option<Tier> {
    let before = ctx.error_count();
    let meta = check_meta(ctx, root, "Tier", NameRule::Tier, false);
    let spec = root.obj(ctx, "spec");
    spec.known_fields(ctx, &["order", "defaultAction"]);
    let order = match spec.f64(ctx, "order") {
        Some(o) if !o.is_finite() => ctx.error(
            codes::ORDER_INVALID,
            &spec.at("order"),
            format!("spec.order: `{o}` is not a finite number"),
            Some("use a number such as `100`; omit `order` to sort the tier last".into()),
        ),
        o => o,
    };
    let default_action = match spec.str(ctx, "defaultAction") {
        None | Some("") | Some("Deny") => Some(TierDefaultAction::Deny),
        Some("Pass") => Some(TierDefaultAction::Pass),
        Some(other) => {
            let help = match tabby_diag::did_you_mean(other, ["Deny", "Pass"]) {
                Some(m) => {
                    format!("did you mean `{m}`? a tier's default action is `Deny` or `Pass`")
                }
                None => "use `Deny` or `Pass`".into(),
            };
            ctx.error(
                codes::TIER_DEFAULT_ACTION,
                &spec.at("defaultAction"),
                format!("spec.defaultAction: `{other}` is not a tier default action"),
                Some(help),
            )
        }
    };
    let meta = meta?;
    if let Some((name, want_order, want_action)) =
        BUILTIN_TIERS.iter().find(|(n, _, _)| *n == &*meta.name)
    {
        if order != Some(*want_order) {
            let at = if spec.has("order") {
                spec.at("order")
            } else {
                root.at.key("metadata").key("name")
            };
            ctx.error::<()>(
                codes::BUILTIN_TIER,
                &at,
                format!("spec.order: the built-in tier `{name}` must have order {want_order}"),
                Some(format!("set `order: {want_order}` (or remove the Tier: tabby adds built-in tiers itself)")),
            );
        }
        if let Some(a) = default_action {
            if a != *want_action {
                let at = if spec.has("defaultAction") {
                    spec.at("defaultAction")
                } else {
                    root.at.key("metadata").key("name")
                };
                ctx.error::<()>(
                    codes::BUILTIN_TIER,
                    &at,
                    format!(
                        "spec.defaultAction: the built-in tier `{name}` must have defaultAction {}",
                        action_name(*want_action)
                    ),
                    Some(format!(
                        "set `defaultAction: {}`",
                        action_name(*want_action)
                    )),
                );
            }
        }
    }
    if ctx.error_count() > before {
        return None;
    }
    Some(Tier {
        name: meta.name,
        order,
        default_action: default_action?,
        declared: true,
        loc: Some(root.at.loc()),
    })
}

/// The built-in tiers as tabby adds them when the input does not declare them.
pub(crate) fn builtin_tiers() -> Vec<Tier> {
    BUILTIN_TIERS
        .iter()
        .map(|(name, order, action)| Tier {
            name: (*name).into(),
            order: Some(*order),
            default_action: *action,
            declared: false,
            loc: None,
        })
        .collect()
}
