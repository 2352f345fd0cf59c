//! `tabby trace`: one flow, decided and explained rule by rule.

use clap::Args as ClapArgs;
use ipnet::IpNet;
use tabby_eval::{Engine, EngineOptions, Flow, Peer};

use crate::input::{ClusterArgs, Input, InputArgs};
use crate::output::{print_json, print_stdout, OutputFormat};
use crate::Exit;

/// Decide one flow as Calico would and explain it, rule by rule, on both sides
///
/// The source's egress policy and the destination's ingress policy are evaluated
/// separately (each side only if it is a Calico endpoint); the flow is allowed
/// when both allow. The output lists every tier and policy that applied, in
/// order, every rule tried and why it matched or not, and what decided.
///
/// SRC and DST are `NAMESPACE/NAME` (a pod, or a controller such as a Deployment:
/// one of its pods is used), `host:NAME` (a HostEndpoint) or an IP address.
///
/// Examples:
///   tabby trace examples/cluster examples/policies --from production/backend --to kube-system/coredns --port 53/UDP
///   tabby trace cluster/ --from production/backend --to 8.8.8.8 --port 443
///   tabby trace cluster/ --from 10.0.1.11 --to default/web --protocol ICMP --icmp-type 8
///   tabby trace cluster/ --from production/backend --to 192.0.2.70 --port 443 --domain api.stripe.com
///
/// Exit status: 0 allowed, 1 denied, 2 usage or input error.
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Source: NAMESPACE/NAME, host:NAME or an IP address
    #[arg(long, value_name = "SRC")]
    pub from: String,

    /// Destination: NAMESPACE/NAME, host:NAME or an IP address
    #[arg(long, value_name = "DST")]
    pub to: String,

    /// Destination port, optionally with its protocol: `443`, `443/TCP`, `53/udp`
    #[arg(long, value_name = "PORT[/PROTO]")]
    pub port: Option<String>,

    /// Protocol by name (TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite) or number 1-255; default TCP
    #[arg(long, value_name = "PROTO")]
    pub protocol: Option<String>,

    /// Source port (default: any ephemeral port, shown as 0)
    #[arg(long, value_name = "PORT")]
    pub src_port: Option<u16>,

    /// ICMP type (with --protocol ICMP or ICMPv6)
    #[arg(long, value_name = "TYPE")]
    pub icmp_type: Option<u8>,

    /// ICMP code (needs --icmp-type)
    #[arg(long, value_name = "CODE", requires = "icmp_type")]
    pub icmp_code: Option<u8>,

    /// The DNS name the source resolved to reach the destination (for `domains` rules)
    #[arg(long, value_name = "NAME")]
    pub domain: Option<String>,

    /// Also show the audit-mode view: the verdict if staged policies were enforced
    #[arg(long)]
    pub staged: bool,

    /// Where tabby takes addresses for workloads that have none in the input
    #[arg(long, value_name = "CIDR", default_value = "10.244.0.0/16")]
    pub pod_cidr: IpNet,

    /// Output format (JSON always includes the staged view; see docs/trace-json.md)
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

pub fn run(args: &Args) -> anyhow::Result<Exit> {
    let input = Input::read_with_cluster(&args.input, &args.cluster)?;
    if let Err(exit) = input.report_and_require_valid(args.input.verbose) {
        return Ok(exit);
    }
    let engine = Engine::new(
        &input.cluster,
        EngineOptions {
            pod_cidr: args.pod_cidr,
            ..EngineOptions::default()
        },
    );
    let (src, dst) = match (
        engine.endpoint_ref(&args.from),
        engine.endpoint_ref(&args.to),
    ) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) => return usage(&format!("--from: {e}")),
        (_, Err(e)) => return usage(&format!("--to: {e}")),
    };
    let flow = match build_flow(args, &src, &dst) {
        Ok(f) => f,
        Err(e) => return usage(&e),
    };
    let mut trace = engine.trace(&flow);
    let allowed = trace.allowed();
    match args.output {
        OutputFormat::Json => print_json(&trace)?,
        OutputFormat::Text => {
            if !args.staged {
                trace.pending = None;
                trace.staged_verdict = trace.verdict;
            }
            let mut text = String::new();
            for (side, peer) in [("from", &src), ("to", &dst)] {
                text.push_str(&format!("{side}: {} ({})", peer.label, peer.ip));
                if let Some(n) = &peer.note {
                    text.push_str(&format!(" — {n}"));
                }
                text.push('\n');
            }
            text.push_str(&trace.render_text());
            print_stdout(&text)?;
        }
    }
    Ok(if allowed { Exit::Ok } else { Exit::Negative })
}

fn usage(msg: &str) -> anyhow::Result<Exit> {
    eprintln!("error: {msg}");
    Ok(Exit::Error)
}

/// Builds the flow from `--port`, `--protocol` and the ICMP/domain options.
fn build_flow(args: &Args, src: &Peer, dst: &Peer) -> Result<Flow, String> {
    let (port, port_proto) = match args.port.as_deref().map(crate::input::split_port) {
        None => (None, None),
        Some(r) => {
            let (n, proto) = r?;
            (Some(n), proto.map(str::to_owned))
        }
    };
    let protocol = match (&args.protocol, port_proto) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(&b) => {
            return Err(format!(
                "--protocol `{a}` disagrees with the protocol in --port (`{b}`)"
            ))
        }
        (Some(a), _) => a.clone(),
        (None, Some(b)) => b,
        (None, None) if args.icmp_type.is_some() => {
            if src.ip.is_ipv6() {
                "ICMPv6".to_owned()
            } else {
                "ICMP".to_owned()
            }
        }
        (None, None) => "TCP".to_owned(),
    };
    let mut flow = Flow::from_parts(src.ip, dst.ip, &protocol, port)?;
    if let Some(t) = args.icmp_type {
        if !flow.protocol.is_icmp() {
            return Err(format!(
                "--icmp-type needs --protocol ICMP or ICMPv6, not {}",
                flow.protocol
            ));
        }
        flow.icmp = Some((t, args.icmp_code));
    }
    if let Some(p) = args.src_port {
        flow = flow.with_src_port(p);
    }
    if let Some(d) = &args.domain {
        flow = flow.with_domain(d);
    }
    Ok(flow)
}
