//! Pods and pod controllers → [`Workload`]s.
//!
//! A Pod becomes one workload with its status IPs. A controller (`Deployment`,
//! `StatefulSet`, `DaemonSet`, `ReplicaSet`, `Job`, `CronJob`) becomes *one* workload
//! standing for all its replicas, built from its pod template, without IPs (the engine
//! assigns one). When the input holds both a controller and its pods (a
//! `kubectl get all -o yaml` dump), [`super::finish`] drops the template workload:
//! see `docs/diagnostics-k8s.md` ("Controllers and their pods") for the rule.
//!
//! Finished pods (`Succeeded`, `Failed`) are not endpoints, as in Calico
//! (`IsFinished` in `conversion.go`): they are skipped with a note.

use std::net::IpAddr;

use tabby_load::{NodeKind, RawObject};
use tabby_model::{Cluster, EndpointOrigin, Name, NamedPort, Probe, Protocol, Workload};

use crate::ctx::{check_port_name, At, Ctx};
use crate::k8s::codes;
use crate::k8s::tree::Tree;

/// Calico's annotations carrying pod IPs when the status has none.
const ANNOTATION_POD_IPS: &str = "cni.projectcalico.org/podIPs";
const ANNOTATION_POD_IP: &str = "cni.projectcalico.org/podIP";

/// The pod controllers tabby reads, with the path of their pod template.
pub(crate) fn template_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => &["spec", "template"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template"],
        _ => return None,
    })
}

pub(crate) fn lower_pod(ctx: &mut Ctx, obj: &RawObject, out: &mut Cluster) {
    let root = At::root(obj);
    let phase = root.key("status").key("phase").str();
    if let Some(p @ ("Succeeded" | "Failed" | "Completed")) = phase {
        ctx.note(
            codes::FINISHED_POD,
            &root.key("status").key("phase"),
            format!(
                "pod `{}` has finished (`{p}`) and is not an endpoint; skipped",
                obj.name.as_deref().unwrap_or_default()
            ),
            None,
        );
        return;
    }
    let errors_before = ctx.error_count();
    let ips = pod_ips(ctx, &root);
    let Some(mut w) = from_pod_spec(ctx, obj, &root.key("metadata"), &root.key("spec"), false)
    else {
        return;
    };
    if ctx.error_count() > errors_before {
        return;
    }
    w.name = obj.name.as_deref().unwrap_or_default().into();
    w.origin = EndpointOrigin::Pod;
    w.ips = ips;
    out.workloads.push(w);
}

pub(crate) fn lower_controller(ctx: &mut Ctx, obj: &RawObject, out: &mut Cluster) {
    let Some(path) = template_path(&obj.kind) else {
        return;
    };
    let root = At::root(obj);
    let template = root.join(path.iter().map(|s| (*s).into()).collect());
    let errors_before = ctx.error_count();
    let Some(mut w) = from_pod_spec(
        ctx,
        obj,
        &template.key("metadata"),
        &template.key("spec"),
        true,
    ) else {
        return;
    };
    if ctx.error_count() > errors_before {
        return;
    }
    let spec = root.key("spec");
    let replicas = match obj.kind.as_str() {
        "Deployment" | "StatefulSet" | "ReplicaSet" => {
            Some(spec.key("replicas").int().unwrap_or(1))
        }
        "Job" => Some(spec.key("parallelism").int().unwrap_or(1)),
        _ => None,
    }
    .map(|r| u32::try_from(r.max(0)).unwrap_or(u32::MAX));
    let name: Name = obj.name.as_deref().unwrap_or_default().into();
    w.name = name.clone();
    w.origin = EndpointOrigin::Template {
        kind: obj.kind.as_str().into(),
        name,
        replicas,
    };
    out.workloads.push(w);
}

/// What pods and templates share: labels, service account, ports, probes, node.
fn from_pod_spec(
    ctx: &mut Ctx,
    obj: &RawObject,
    meta: &At<'_>,
    spec: &At<'_>,
    template: bool,
) -> Option<Workload> {
    let namespace: Name = obj.namespace.as_deref().unwrap_or("default").into();
    let labels = super::label_map(ctx, &meta.key("labels"), template);
    let service_account = spec
        .key("serviceAccountName")
        .str()
        .or_else(|| spec.key("serviceAccount").str())
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    let mut ports = Vec::new();
    let mut probes = Vec::new();
    for cat in spec.key("containers").items() {
        let own = container_ports(ctx, &cat);
        for (kind, key) in [
            ("liveness", "livenessProbe"),
            ("readiness", "readinessProbe"),
            ("startup", "startupProbe"),
        ] {
            if let Some(p) = probe(ctx, &cat.key(key), kind, &own) {
                probes.push(p);
            }
        }
        ports.extend(own.into_iter().filter_map(|(name, p)| {
            name.map(|name| NamedPort {
                name,
                protocol: p.1,
                port: p.0,
            })
        }));
    }
    Some(Workload {
        namespace,
        name: Name::from(""),
        origin: EndpointOrigin::Pod,
        labels,
        service_account: Some(service_account.into()),
        ips: Vec::new(),
        ports,
        probes,
        node: spec
            .key("nodeName")
            .str()
            .filter(|s| !s.is_empty())
            .map(Name::from),
        host_network: spec.key("hostNetwork").bool().unwrap_or(false),
        automount_token: spec
            .key("automountServiceAccountToken")
            .bool()
            .unwrap_or(true),
        profiles: Vec::new(),
        orchestrator: "k8s".into(),
        loc: Some(obj.loc()),
    })
}

/// `(name, (containerPort, protocol))` of each valid container port.
fn container_ports(ctx: &mut Ctx, cat: &At<'_>) -> Vec<(Option<Name>, (u16, Protocol))> {
    let mut out = Vec::new();
    for pat in cat.key("ports").items() {
        let port_at = pat.key("containerPort");
        let port = match port_at.int().map(u16::try_from) {
            Some(Ok(p)) if p > 0 => p,
            _ => {
                ctx.error::<()>(
                    codes::CONTAINER_PORT,
                    &port_at,
                    format!(
                        "{}: container port must be a whole number from 1 to 65535",
                        port_at.field()
                    ),
                    None,
                );
                continue;
            }
        };
        let proto_at = pat.key("protocol");
        let protocol = match proto_at.str() {
            None | Some("TCP") => Protocol::TCP,
            Some("UDP") => Protocol::UDP,
            Some("SCTP") => Protocol::SCTP,
            Some(s) => {
                let help = match tabby_diag::did_you_mean(s, ["TCP", "UDP", "SCTP"]) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => "use `TCP`, `UDP` or `SCTP`".to_owned(),
                };
                ctx.error::<()>(
                    codes::CONTAINER_PORT,
                    &proto_at,
                    format!("{}: unsupported protocol `{s}`", proto_at.field()),
                    Some(help),
                );
                continue;
            }
        };
        let name_at = pat.key("name");
        let name = match name_at.str() {
            None => None,
            Some(n) => match check_port_name(n) {
                Ok(()) => Some(Name::from(n)),
                Err(m) => {
                    ctx.error::<()>(
                        codes::CONTAINER_PORT,
                        &name_at,
                        format!("{}: {m}", name_at.field()),
                        None,
                    );
                    continue;
                }
            },
        };
        out.push((name, (port, protocol)));
    }
    out
}

/// A probe the kubelet sends over the network (`httpGet`, `tcpSocket`, `grpc`); `exec`
/// probes run inside the container and need no network access.
fn probe(
    ctx: &mut Ctx,
    at: &At<'_>,
    kind: &str,
    own: &[(Option<Name>, (u16, Protocol))],
) -> Option<Probe> {
    if !at.present() {
        return None;
    }
    let port_at = ["httpGet", "tcpSocket", "grpc"]
        .iter()
        .map(|k| at.key(k))
        .find(|a| a.present())?
        .key("port");
    let port = match port_at.node().map(|n| &n.kind) {
        Some(NodeKind::Int(p)) => match u16::try_from(*p) {
            Ok(p) if p > 0 => p,
            _ => {
                return ctx.error(
                    codes::CONTAINER_PORT,
                    &port_at,
                    format!(
                        "{}: probe port must be a whole number from 1 to 65535",
                        port_at.field()
                    ),
                    None,
                )
            }
        },
        Some(NodeKind::Str(name)) => {
            let found = own
                .iter()
                .find(|(n, _)| n.as_deref() == Some(name.as_str()));
            match found {
                Some((_, (p, _))) => *p,
                None => {
                    ctx.warning(
                        codes::PROBE_PORT,
                        &port_at,
                        format!("{}: the container declares no port named `{name}`, so the kubelet cannot send this {kind} probe", port_at.field()),
                        Some("add the port under the container's `ports`, or use the port number".into()),
                    );
                    return None;
                }
            }
        }
        _ => return None,
    };
    Some(Probe {
        kind: kind.into(),
        port,
        protocol: Protocol::TCP,
    })
}

/// `status.podIPs`, else `status.podIP`, else Calico's annotations (as `getPodIPs`).
fn pod_ips(ctx: &mut Ctx, root: &At<'_>) -> Vec<IpAddr> {
    let status = root.key("status");
    let mut texts: Vec<(String, At<'_>)> = status
        .key("podIPs")
        .items()
        .into_iter()
        .filter_map(|a| {
            let ip = a.key("ip");
            ip.str().map(|s| (s.to_owned(), ip.clone()))
        })
        .collect();
    if texts.is_empty() {
        let a = status.key("podIP");
        if let Some(s) = a.str().filter(|s| !s.is_empty()) {
            texts.push((s.to_owned(), a));
        }
    }
    if texts.is_empty() {
        let ann = root.key("metadata").key("annotations");
        for key in [ANNOTATION_POD_IPS, ANNOTATION_POD_IP] {
            let a = ann.key(key);
            if let Some(s) = a.str().filter(|s| !s.is_empty()) {
                texts = s
                    .split(',')
                    .map(|t| (t.trim().to_owned(), a.clone()))
                    .collect();
                break;
            }
        }
    }
    let mut ips = Vec::new();
    for (t, at) in texts {
        // The annotations hold CIDRs (`10.0.0.1/32`); status fields hold addresses.
        let addr = t.split('/').next().unwrap_or_default();
        match addr.parse::<IpAddr>() {
            Ok(ip) if !ips.contains(&ip) => ips.push(ip),
            Ok(_) => {}
            Err(_) => ctx.warning(
                codes::POD_IP,
                &at,
                format!("{}: `{t}` is not an IP address; ignored", at.field()),
                None,
            ),
        }
    }
    ips
}
