//! Namespaces, service accounts and services: the Kubernetes objects whose labels
//! and ports policies refer to.

use std::net::IpAddr;

use tabby_load::{NodeKind, RawObject};
use tabby_model::{
    Cluster, Name, Namespace, PortRange, PortSpec, Protocol, Service, ServiceAccount, ServicePort,
};

use crate::ctx::{check_port_name, At, Ctx};
use crate::k8s::codes;
use crate::k8s::tree::Tree;

/// The label the API server puts on every namespace (since Kubernetes 1.21).
pub(crate) const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

pub(crate) fn lower_namespace(ctx: &mut Ctx, obj: &RawObject, out: &mut Cluster) {
    let root = At::root(obj);
    let name: Name = obj.name.as_deref().unwrap_or_default().into();
    let mut labels = super::label_map(ctx, &root.key("metadata").key("labels"), false);
    // The API server sets (and overwrites) this label on create and update.
    labels.insert(NAMESPACE_NAME_LABEL.into(), name.clone());
    out.namespaces.push(Namespace {
        name,
        labels,
        loc: Some(obj.loc()),
    });
}

pub(crate) fn lower_service_account(ctx: &mut Ctx, obj: &RawObject, out: &mut Cluster) {
    let root = At::root(obj);
    out.service_accounts.push(ServiceAccount {
        namespace: obj.namespace.as_deref().unwrap_or("default").into(),
        name: obj.name.as_deref().unwrap_or_default().into(),
        labels: super::label_map(ctx, &root.key("metadata").key("labels"), false),
        loc: Some(obj.loc()),
    });
}

pub(crate) fn lower_service(ctx: &mut Ctx, obj: &RawObject, out: &mut Cluster) {
    let errors_before = ctx.error_count();
    let root = At::root(obj);
    let spec = root.key("spec");
    let sel_at = spec.key("selector");
    // An empty selector, like an absent one, means the endpoints are managed by hand.
    let selector = Some(super::label_map(ctx, &sel_at, true)).filter(|m| !m.is_empty());
    let mut ports = Vec::new();
    for pat in spec.key("ports").items() {
        if let Some(p) = service_port(ctx, &pat) {
            ports.push(p);
        }
    }
    let mut cluster_ips: Vec<IpAddr> = Vec::new();
    let mut texts: Vec<String> = spec
        .key("clusterIPs")
        .items()
        .iter()
        .filter_map(|a| a.str().map(str::to_owned))
        .collect();
    if texts.is_empty() {
        texts.extend(spec.key("clusterIP").str().map(str::to_owned));
    }
    for t in texts {
        // `None` marks a headless service.
        if let Ok(ip) = t.parse::<IpAddr>() {
            if !cluster_ips.contains(&ip) {
                cluster_ips.push(ip);
            }
        }
    }
    if ctx.error_count() > errors_before {
        return;
    }
    out.services.push(Service {
        namespace: obj.namespace.as_deref().unwrap_or("default").into(),
        name: obj.name.as_deref().unwrap_or_default().into(),
        selector,
        ports,
        cluster_ips,
        loc: Some(obj.loc()),
    });
}

fn service_port(ctx: &mut Ctx, at: &At<'_>) -> Option<ServicePort> {
    let port_at = at.key("port");
    let port = match port_at.int().map(u16::try_from) {
        Some(Ok(p)) if p > 0 => p,
        _ => {
            return ctx.error(
                codes::SERVICE_PORT,
                &port_at,
                format!(
                    "{}: service port must be a whole number from 1 to 65535",
                    port_at.field()
                ),
                None,
            )
        }
    };
    let proto_at = at.key("protocol");
    let protocol = match proto_at.str() {
        None | Some("TCP") => Protocol::TCP,
        Some("UDP") => Protocol::UDP,
        Some("SCTP") => Protocol::SCTP,
        Some(s) => {
            let help = match tabby_diag::did_you_mean(s, ["TCP", "UDP", "SCTP"]) {
                Some(m) => format!("did you mean `{m}`?"),
                None => "use `TCP`, `UDP` or `SCTP`".to_owned(),
            };
            return ctx.error(
                codes::SERVICE_PORT,
                &proto_at,
                format!("{}: unsupported protocol `{s}`", proto_at.field()),
                Some(help),
            );
        }
    };
    let tat = at.key("targetPort");
    let target_port = match tat.node().map(|n| &n.kind) {
        None => None,
        Some(NodeKind::Int(p)) => match u16::try_from(*p) {
            Ok(p) if p > 0 => Some(PortSpec::Range(PortRange::single(p))),
            _ => {
                return ctx.error(
                    codes::SERVICE_PORT,
                    &tat,
                    format!(
                        "{}: target port must be from 1 to 65535 or a container port name",
                        tat.field()
                    ),
                    None,
                )
            }
        },
        Some(NodeKind::Str(s)) => match check_port_name(s) {
            Ok(()) => Some(PortSpec::Named(s.as_str().into())),
            Err(m) => {
                return ctx.error(
                    codes::SERVICE_PORT,
                    &tat,
                    format!("{}: {m}", tat.field()),
                    None,
                )
            }
        },
        Some(_) => None,
    };
    Some(ServicePort {
        name: at
            .key("name")
            .str()
            .filter(|s| !s.is_empty())
            .map(Name::from),
        protocol,
        port,
        target_port,
    })
}
