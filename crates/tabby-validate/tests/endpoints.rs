//! NetworkSet, GlobalNetworkSet, HostEndpoint, WorkloadEndpoint, Profile, GlobalThreatFeed.

mod common;

use common::{check, obj, table, Want};

const OK: &[Want] = &[];

fn gns(spec: &str) -> String {
    obj("GlobalNetworkSet", None, spec)
}
fn ns(spec: &str) -> String {
    obj("NetworkSet", Some("prod"), spec)
}
fn hep(spec: &str) -> String {
    obj("HostEndpoint", None, spec)
}
fn wep(spec: &str) -> String {
    obj("WorkloadEndpoint", Some("prod"), spec)
}

#[test]
fn network_sets() {
    table(&[
        ("cidrs", gns("nets: [10.0.0.0/8, 'fd00::/8']"), OK),
        ("bare addresses", gns("nets: [1.2.3.4, '2001:db8::1']"), OK),
        ("host bits allowed", ns("nets: [10.0.0.1/8]"), OK),
        ("empty", gns("nets: []"), OK),
        ("no spec fields", gns("{}"), OK),
        ("garbage", gns("nets: [nope]"), &[("E0301", "[»nope]", "`nope` is not a valid CIDR")]),
        ("prefix too long", ns("nets: ['fd00::/129']"), &[("E0301", "»'fd00::/129'", "not a valid CIDR")]),
        ("v4 prefix 33", ns("nets: [10.0.0.0/33]"), &[("E0301", "»10.0.0.0/33", "not a valid CIDR")]),
        ("typo field", gns("net: [10.0.0.0/8]"), &[("E0208", "»net:", "did you mean `nets`")]),
        ("nets string", gns("nets: 10.0.0.0/8"), &[("E0207", "nets: »10.0.0.0/8", "expected a list")]),
        ("reserved label gns", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: n\n  labels:\n    projectcalico.org/namespace: x\nspec: {}\n".into(), &[("E0302", "»projectcalico.org/namespace", "is reserved on a GlobalNetworkSet")]),
        ("reserved label ns", "apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata:\n  name: n\n  namespace: a\n  labels: {projectcalico.org/namespace: a}\nspec: {}\n".into(), &[("E0302", "{»projectcalico.org/namespace", "reserved on a NetworkSet")]),
        ("gns namespace", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: n\n  namespace: a\nspec: {}\n".into(), &[("E0209", "namespace: »a", "cluster-scoped")]),
        ("subdomain name", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: a.b.c\nspec: {}\n".into(), OK),
        ("bad name", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: A\nspec: {}\n".into(), &[("E0204", "name: »A", "not a valid GlobalNetworkSet name")]),
        ("egress domains", gns("allowedEgressDomains: [api.example.com, '*.example.org']"), &[("W0201", "»allowedEgressDomains", "Calico Enterprise field; open-source Calico ignores it")]),
    ]);
    let v = check(
        "lowered",
        &ns("nets: [10.0.0.1/8, 1.2.3.4]\nallowedEgressDomains: [API.Example.com]"),
        &[("W0201", "»allowedEgressDomains", "Enterprise")],
    );
    let s = &v.cluster.network_sets[0];
    assert_eq!(s.namespace.as_deref(), Some("prod"));
    assert_eq!(
        s.nets,
        vec![
            "10.0.0.0/8".parse::<ipnet::IpNet>().unwrap(),
            "1.2.3.4/32".parse().unwrap()
        ]
    );
    assert_eq!(
        s.allowed_egress_domains,
        vec![std::sync::Arc::<str>::from("api.example.com")]
    );
    let v = check("global lowered", &gns("nets: []"), OK);
    assert_eq!(v.cluster.network_sets[0].namespace, None);
}

#[test]
fn host_endpoints() {
    table(&[
        ("interface", hep("node: node-1\ninterfaceName: eth0"), OK),
        ("star", hep("node: node-1\ninterfaceName: '*'"), OK),
        ("expected ips", hep("node: node-1\nexpectedIPs: [10.0.0.1, 'fd00::1']"), OK),
        ("ports", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: ssh, protocol: TCP, port: 22}\n  - {name: dns, protocol: UDP, port: 53}\n  - {name: s, protocol: SCTP, port: 9}"), OK),
        ("profiles", hep("node: n1\ninterfaceName: eth0\nprofiles: [projectcalico-default-allow, kns.prod]"), OK),
        ("no node", hep("interfaceName: eth0"), &[("E0303", "»interfaceName: eth0", "must name its node")]),
        ("empty node", hep("node: ''\ninterfaceName: eth0"), &[("E0303", "node: »''", "must name its node")]),
        ("bad node", hep("node: Node_1\ninterfaceName: eth0"), &[("E0303", "node: »Node_1", "not a valid name")]),
        ("no interface or ips", hep("node: n1"), &[("E0304", "»node: n1", "needs `interfaceName` or `expectedIPs`")]),
        ("empty interface and ips", hep("node: n1\ninterfaceName: ''\nexpectedIPs: []"), &[("E0304", "»node: n1", "needs `interfaceName` or `expectedIPs`")]),
        ("long interface", hep("node: n1\ninterfaceName: averyverylongname0"), &[("E0304", "interfaceName: »averyverylongname0", "not a valid interface name")]),
        ("bad interface", hep("node: n1\ninterfaceName: 'eth 0'"), &[("E0304", "interfaceName: »'eth 0'", "not a valid interface name")]),
        ("bad ip", hep("node: n1\nexpectedIPs: [10.0.0.300]"), &[("E0305", "[»10.0.0.300]", "not a valid IP address")]),
        ("cidr as ip", hep("node: n1\nexpectedIPs: [10.0.0.0/8]"), &[("E0305", "[»10.0.0.0/8]", "not a valid IP address")]),
        ("port no name", hep("node: n1\ninterfaceName: eth0\nports:\n  - {protocol: TCP, port: 22}"), &[("E0306", "- »{protocol", "port has no `name`")]),
        ("port bad name", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: SSH, protocol: TCP, port: 22}"), &[("E0306", "name: »SSH", "lower case")]),
        ("port icmp", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: p, protocol: ICMP, port: 1}"), &[("E0306", "protocol: »ICMP", "protocol `ICMP` has no ports")]),
        ("port bad protocol", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: p, protocol: tcp, port: 1}"), &[("E0306", "protocol: »tcp", "did you mean `TCP`")]),
        ("port no protocol", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: p, port: 1}"), &[("E0306", "- »{name: p, port: 1}", "port has no `protocol`")]),
        ("port 0", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: p, protocol: TCP, port: 0}"), &[("E0306", "port: »0}", "port `0` is out of range")]),
        ("port 70000", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: p, protocol: TCP, port: 70000}"), &[("E0306", "port: »70000", "out of range")]),
        ("port missing", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: p, protocol: TCP}"), &[("E0306", "- »{name: p, protocol: TCP}", "no `port` number")]),
        ("port hostPort field", hep("node: n1\ninterfaceName: eth0\nports:\n  - {name: p, protocol: TCP, port: 1, hostPort: 2}"), &[("E0208", "»hostPort", "unknown field")]),
        ("bad profile", hep("node: n1\ninterfaceName: eth0\nprofiles: [Bad]"), &[("E0308", "[»Bad]", "not a valid name")]),
        ("unknown field", hep("node: n1\ninterfaceName: eth0\nexpectedIps: []"), &[("E0208", "»expectedIps", "did you mean `expectedIPs`")]),
    ]);
    let v = check("lowered", &hep("node: n1\ninterfaceName: '*'\nexpectedIPs: [10.0.0.1]\nports:\n  - {name: ssh, protocol: TCP, port: 22}"), OK);
    let h = &v.cluster.host_endpoints[0];
    assert_eq!(&*h.node, "n1");
    assert_eq!(h.interface_name.as_deref(), Some("*"));
    assert_eq!(
        h.expected_ips,
        vec!["10.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(h.ports[0].port, 22);
    assert_eq!(h.ports[0].protocol, tabby_model::Protocol::TCP);
}

#[test]
fn workload_endpoints() {
    table(&[
        ("minimal", wep("node: n1\norchestrator: k8s\npod: web-1\nendpoint: eth0\nipNetworks: [10.0.0.5/32, 'fd00::5/128']"), OK),
        ("bare ip", wep("ipNetworks: [10.0.0.5]"), OK),
        ("ports", wep("ipNetworks: [10.0.0.5/32]\nports:\n  - {name: http, protocol: TCP, port: 80}\n  - {protocol: UDP, port: 53, hostPort: 5353, hostIP: 10.1.1.1}"), OK),
        ("nat", wep("ipNetworks: [10.0.0.5/32]\nipNATs:\n  - {internalIP: 10.0.0.5, externalIP: 172.16.0.5}"), OK),
        ("gateways", wep("ipNetworks: [10.0.0.5/32]\nipv4Gateway: 10.0.0.1\nipv6Gateway: 'fd00::1'"), OK),
        ("multi-address", wep("ipNetworks: [10.0.0.0/24]"), &[("E0307", "[»10.0.0.0/24]", "contains more than one address")]),
        ("bad network", wep("ipNetworks: [x]"), &[("E0307", "[»x]", "not a valid CIDR")]),
        ("v6 gateway in v4", wep("ipv4Gateway: 'fd00::1'"), &[("E0305", "ipv4Gateway: »'fd00::1'", "not an IPv4 address")]),
        ("nat outside", wep("ipNetworks: [10.0.0.5/32]\nipNATs:\n  - {internalIP: 10.0.0.6, externalIP: 172.16.0.5}"), &[("E0305", "internalIP: »10.0.0.6", "not one of the endpoint's `ipNetworks`")]),
        ("nat families", wep("ipNetworks: [10.0.0.5/32]\nipNATs:\n  - {internalIP: 10.0.0.5, externalIP: 'fd00::5'}"), &[("E0305", "externalIP: »'fd00::5'", "different IP versions")]),
        ("port no name no hostPort", wep("ipNetworks: [10.0.0.5/32]\nports:\n  - {protocol: TCP, port: 80}"), &[("E0306", "- »{protocol: TCP, port: 80}", "set `hostPort`")]),
        ("port icmp", wep("ports:\n  - {name: a, protocol: ICMP, port: 80}"), &[("E0306", "protocol: »ICMP", "has no ports")]),
        ("bad host ip", wep("ports:\n  - {name: a, protocol: TCP, port: 80, hostPort: 8080, hostIP: nope}"), &[("E0305", "hostIP: »nope", "not a valid IP address")]),
        ("bad interface", wep("interfaceName: '*'"), &[("E0304", "interfaceName: »'*'", "not a valid interface name")]),
    ]);
    let v = check("lowered", &wep("node: n1\norchestrator: k8s\nserviceAccountName: api\nprofiles: [kns.prod]\nipNetworks: [10.0.0.5/32]\nports:\n  - {name: http, protocol: TCP, port: 80}"), OK);
    let w = &v.cluster.workloads[0];
    assert_eq!(w.origin, tabby_model::EndpointOrigin::WorkloadEndpoint);
    assert_eq!(&*w.namespace, "prod");
    assert_eq!(w.service_account.as_deref(), Some("api"));
    assert_eq!(w.ips, vec!["10.0.0.5".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(w.node.as_deref(), Some("n1"));
    assert_eq!(&*w.orchestrator, "k8s");
    assert_eq!(w.ports.len(), 1);
    assert_eq!(w.profiles.len(), 1);
}

#[test]
fn profiles() {
    let p = |spec: &str| obj("Profile", None, spec);
    table(&[
        ("rules", p("ingress: [{action: Allow}]\negress: [{action: Allow}]\nlabelsToApply: {team: a}"), OK),
        ("dotted name", "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata:\n  name: kns.prod\nspec: {}\n".into(), OK),
        ("bad rule", p("ingress:\n  - action: allow"), &[("E0220", "action: »allow", "did you mean `Allow`")]),
        ("bad label", p("labelsToApply:\n  'a b': c"), &[("E0205", "»'a b'", "invalid label name")]),
        ("http egress allowed in profile", p("egress:\n  - action: Allow\n    http: {methods: [GET]}"), OK),
        ("unknown", p("labels: {a: b}"), &[("E0208", "»labels", "unknown field")]),
        ("domains in profile", p("egress:\n  - action: Allow\n    destination: {domains: [a.com]}"), &[("E0232", "{»domains", "only allowed")]),
    ]);
    let v = check(
        "lowered",
        &p("ingress: [{action: Deny}]\nlabelsToApply: {team: a}"),
        OK,
    );
    let pr = &v.cluster.profiles[0];
    assert_eq!(pr.ingress.len(), 1);
    assert_eq!(pr.labels_to_apply.get("team").map(|s| &**s), Some("a"));
}

#[test]
fn threat_feeds() {
    let tf = |spec: &str| obj("GlobalThreatFeed", None, spec);
    let warn: Want = (
        "W0202",
        "kind: »GlobalThreatFeed",
        "Calico Enterprise resource; open-source Calico rejects it",
    );
    table(&[
        ("full", tf("content: IPSet\nmode: Enabled\nglobalNetworkSet:\n  labels: {threat-feed: malicious}\npull:\n  period: 24h\n  http:\n    url: https://example.com/feed.txt"), &[warn]),
        ("bad period", tf("pull:\n  period: soon"), &[warn, ("E0309", "period: »soon", "not a duration")]),
        ("bad content", tf("content: IPset"), &[warn, ("E0309", "content: »IPset", "did you mean `IPSet`")]),
        ("bad mode", tf("mode: on"), &[warn, ("E0309", "mode: »on", "unknown value")]),
        ("bad label", tf("globalNetworkSet:\n  labels: {'a b': c}"), &[warn, ("E0205", "{»'a b'", "invalid label name")]),
    ]);
    let v = check("lowered", &tf("globalNetworkSet:\n  labels: {threat-feed: malicious}\npull:\n  period: 1h30m\n  http: {url: 'https://x'}"), &[warn]);
    let t = &v.cluster.threat_feeds[0];
    assert_eq!(t.period_seconds, Some(5400));
    assert_eq!(t.url.as_deref(), Some("https://x"));
    assert_eq!(
        t.network_set_labels.get("threat-feed").map(|s| &**s),
        Some("malicious")
    );
}
