//! Rule and entity-rule checks: one fixture per Calico validator rule, accepted and
//! rejected, each rejection asserting code, position and message.

mod common;

use common::{check, gnp_rule, np_rule, table, Want};

const OK: &[Want] = &[];

fn ing(rule: &str) -> String {
    gnp_rule("ingress", rule)
}
fn eg(rule: &str) -> String {
    gnp_rule("egress", rule)
}

#[test]
fn actions() {
    table(&[
        ("allow", ing("action: Allow"), OK),
        ("deny", ing("action: Deny"), OK),
        ("log", ing("action: Log"), OK),
        ("pass", ing("action: Pass"), OK),
        (
            "missing",
            ing("protocol: TCP"),
            &[("E0220", "»protocol: TCP", "rule has no `action`")],
        ),
        (
            "lowercase",
            ing("action: allow"),
            &[("E0220", "action: »allow", "did you mean `Allow`")],
        ),
        (
            "typo",
            ing("action: Denyy"),
            &[("E0220", "action: »Denyy", "did you mean `Deny`")],
        ),
        (
            "unknown",
            ing("action: Accept"),
            &[("E0220", "action: »Accept", "unknown action `Accept`")],
        ),
        (
            "empty",
            ing("action: ''"),
            &[("E0220", "action: »''", "unknown action ``")],
        ),
        (
            "number",
            ing("action: 5"),
            &[("E0207", "action: »5", "expected a string")],
        ),
        (
            "list",
            ing("action: [Allow]"),
            &[("E0207", "action: »[Allow]", "expected a string")],
        ),
        ("egress deny", eg("action: Deny"), OK),
    ]);
}

#[test]
fn protocols() {
    table(&[
        ("TCP", ing("action: Allow\nprotocol: TCP"), OK),
        ("UDP", ing("action: Allow\nprotocol: UDP"), OK),
        ("ICMP", ing("action: Allow\nprotocol: ICMP"), OK),
        ("ICMPv6", ing("action: Allow\nprotocol: ICMPv6"), OK),
        ("SCTP", ing("action: Allow\nprotocol: SCTP"), OK),
        ("UDPLite", ing("action: Allow\nprotocol: UDPLite"), OK),
        ("number", ing("action: Allow\nprotocol: 6"), OK),
        ("number 255", ing("action: Allow\nprotocol: 255"), OK),
        ("number 1", ing("action: Allow\nprotocol: 1"), OK),
        ("numeric string", ing("action: Allow\nprotocol: '17'"), OK),
        ("notProtocol", ing("action: Allow\nnotProtocol: UDP"), OK),
        (
            "both",
            ing("action: Allow\nprotocol: TCP\nnotProtocol: 17"),
            OK,
        ),
        (
            "lowercase tcp",
            ing("action: Allow\nprotocol: tcp"),
            &[("E0221", "protocol: »tcp", "did you mean `TCP`")],
        ),
        (
            "lowercase udp",
            ing("action: Allow\nprotocol: udp"),
            &[("E0221", "protocol: »udp", "case-sensitive")],
        ),
        (
            "icmpv6 case",
            ing("action: Allow\nprotocol: IcmpV6"),
            &[("E0221", "protocol: »IcmpV6", "did you mean `ICMPv6`")],
        ),
        (
            "zero",
            ing("action: Allow\nprotocol: 0"),
            &[("E0221", "protocol: »0", "protocol number 0 is not valid")],
        ),
        (
            "zero string",
            ing("action: Allow\nprotocol: '0'"),
            &[("E0221", "protocol: »'0'", "protocol number 0")],
        ),
        (
            "256",
            ing("action: Allow\nprotocol: 256"),
            &[("E0221", "protocol: »256", "out of range")],
        ),
        (
            "256 string",
            ing("action: Allow\nprotocol: '256'"),
            &[("E0221", "protocol: »'256'", "unknown protocol `256`")],
        ),
        (
            "negative",
            ing("action: Allow\nprotocol: -1"),
            &[("E0221", "protocol: »-1", "not a whole number")],
        ),
        (
            "float",
            ing("action: Allow\nprotocol: 6.5"),
            &[("E0221", "protocol: »6.5", "not a whole number")],
        ),
        (
            "list",
            ing("action: Allow\nprotocol: [TCP]"),
            &[("E0221", "protocol: »[TCP]", "a name or a number")],
        ),
        (
            "unknown name",
            ing("action: Allow\nprotocol: HTTP"),
            &[("E0221", "protocol: »HTTP", "unknown protocol `HTTP`")],
        ),
        (
            "notProtocol lowercase",
            ing("action: Allow\nnotProtocol: icmp"),
            &[("E0221", "notProtocol: »icmp", "did you mean `ICMP`")],
        ),
        (
            "notProtocol zero",
            ing("action: Allow\nnotProtocol: 0"),
            &[("E0221", "notProtocol: »0", "0 is not valid")],
        ),
    ]);
}

#[test]
fn ip_version_and_icmp() {
    table(&[
        ("v4", ing("action: Allow\nipVersion: 4"), OK),
        ("v6", ing("action: Allow\nipVersion: 6"), OK),
        (
            "icmp v4",
            ing("action: Allow\nprotocol: ICMP\nipVersion: 4"),
            OK,
        ),
        (
            "icmpv6 v6",
            ing("action: Allow\nprotocol: ICMPv6\nipVersion: 6"),
            OK,
        ),
        (
            "icmp type",
            ing("action: Allow\nprotocol: ICMP\nicmp:\n  type: 8"),
            OK,
        ),
        (
            "icmp type code",
            ing("action: Allow\nprotocol: ICMP\nicmp:\n  type: 3\n  code: 4"),
            OK,
        ),
        (
            "icmp 254 255",
            ing("action: Allow\nprotocol: ICMP\nicmp: {type: 254, code: 255}"),
            OK,
        ),
        (
            "icmpv6 type",
            ing("action: Allow\nprotocol: ICMPv6\nicmp: {type: 128}"),
            OK,
        ),
        (
            "icmp numeric proto",
            ing("action: Allow\nprotocol: 1\nicmp: {type: 0}"),
            OK,
        ),
        (
            "icmp empty",
            ing("action: Allow\nprotocol: ICMP\nicmp: {}"),
            OK,
        ),
        (
            "notICMP without protocol",
            ing("action: Allow\nnotICMP: {type: 8}"),
            OK,
        ),
        (
            "notICMP with icmp",
            ing("action: Allow\nprotocol: ICMP\nnotICMP: {type: 8, code: 0}"),
            OK,
        ),
        (
            "ipVersion 5",
            ing("action: Allow\nipVersion: 5"),
            &[("E0222", "ipVersion: »5", "use `4` or `6`")],
        ),
        (
            "ipVersion 0",
            ing("action: Allow\nipVersion: 0"),
            &[("E0222", "ipVersion: »0", "not an IP version")],
        ),
        (
            "ipVersion string",
            ing("action: Allow\nipVersion: '4'"),
            &[("E0222", "ipVersion: »'4'", "not an IP version")],
        ),
        (
            "icmp with v6",
            ing("action: Allow\nprotocol: ICMP\nipVersion: 6"),
            &[(
                "E0222",
                "ipVersion: »6",
                "protocol `ICMP` needs `ipVersion: 4`",
            )],
        ),
        (
            "icmpv6 with v4",
            ing("action: Allow\nprotocol: ICMPv6\nipVersion: 4"),
            &[("E0222", "ipVersion: »4", "`ICMPv6` needs `ipVersion: 6`")],
        ),
        (
            "notProtocol icmp v6",
            ing("action: Allow\nnotProtocol: ICMP\nipVersion: 6"),
            &[("E0222", "ipVersion: »6", "notProtocol `ICMP`")],
        ),
        (
            "numeric icmp v6",
            ing("action: Allow\nprotocol: 1\nipVersion: 6"),
            &[("E0222", "ipVersion: »6", "needs `ipVersion: 4`")],
        ),
        (
            "icmp no protocol",
            ing("action: Allow\nicmp:\n  type: 8"),
            &[("E0223", "»type: 8", "needs `protocol: ICMP`")],
        ),
        (
            "icmp with tcp",
            ing("action: Allow\nprotocol: TCP\nicmp: {type: 8}"),
            &[("E0223", "icmp: »{type: 8}", "needs `protocol: ICMP`")],
        ),
        (
            "icmp type 255",
            ing("action: Allow\nprotocol: ICMP\nicmp: {type: 255}"),
            &[("E0223", "type: »255", "ICMP type `255` is out of range")],
        ),
        (
            "icmp type -1",
            ing("action: Allow\nprotocol: ICMP\nicmp: {type: -1}"),
            &[("E0223", "type: »-1", "out of range")],
        ),
        (
            "icmp code 256",
            ing("action: Allow\nprotocol: ICMP\nicmp: {type: 3, code: 256}"),
            &[("E0223", "code: »256", "ICMP code `256` is out of range")],
        ),
        (
            "icmp code without type",
            ing("action: Allow\nprotocol: ICMP\nicmp: {code: 1}"),
            &[("E0223", "code: »1", "needs an ICMP type")],
        ),
        (
            "notICMP type 300",
            ing("action: Allow\nnotICMP: {type: 300}"),
            &[("E0223", "type: »300", "out of range")],
        ),
        (
            "notICMP code only",
            ing("action: Allow\nnotICMP: {code: 0}"),
            &[("E0223", "code: »0", "needs an ICMP type")],
        ),
        (
            "icmp type string",
            ing("action: Allow\nprotocol: ICMP\nicmp: {type: echo}"),
            &[("E0207", "type: »echo", "expected a whole number")],
        ),
        (
            "icmp unknown field",
            ing("action: Allow\nprotocol: ICMP\nicmp: {typ: 8}"),
            &[("E0208", "{»typ: 8}", "did you mean `type`")],
        ),
    ]);
}

#[test]
fn ports() {
    table(&[
        (
            "tcp port",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: [80]"),
            OK,
        ),
        (
            "udp string",
            ing("action: Allow\nprotocol: UDP\ndestination:\n  ports: ['53']"),
            OK,
        ),
        (
            "sctp range",
            ing("action: Allow\nprotocol: SCTP\ndestination:\n  ports: ['1000:2000']"),
            OK,
        ),
        (
            "range equal",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: ['80:80']"),
            OK,
        ),
        (
            "max port",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: [65535, '1:65535']"),
            OK,
        ),
        (
            "named no protocol",
            ing("action: Allow\ndestination:\n  ports: [http]"),
            OK,
        ),
        (
            "named notPorts no protocol",
            ing("action: Allow\nsource:\n  notPorts: [metrics]"),
            OK,
        ),
        (
            "named with tcp",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: [http, 8080]"),
            OK,
        ),
        (
            "numeric protocol 6",
            ing("action: Allow\nprotocol: 6\ndestination:\n  ports: [443]"),
            OK,
        ),
        (
            "source ports",
            ing("action: Allow\nprotocol: UDP\nsource:\n  ports: [53]\n  notPorts: ['1:1023']"),
            OK,
        ),
        (
            "port no protocol",
            ing("action: Allow\ndestination:\n  ports: [80]"),
            &[(
                "E0224",
                "ports: [»80]",
                "port `80` needs the rule to set `protocol`",
            )],
        ),
        (
            "range no protocol",
            ing("action: Allow\ndestination:\n  ports: ['80:90']"),
            &[("E0224", "»'80:90'", "needs the rule to set `protocol`")],
        ),
        (
            "notPorts no protocol",
            ing("action: Allow\nsource:\n  notPorts: [22]"),
            &[(
                "E0224",
                "notPorts: [»22]",
                "needs the rule to set `protocol`",
            )],
        ),
        (
            "mixed no protocol",
            ing("action: Allow\ndestination:\n  ports: [http, 443]"),
            &[("E0224", "»443]", "port `443`")],
        ),
        (
            "icmp ports",
            ing("action: Allow\nprotocol: ICMP\ndestination:\n  ports: [http]"),
            &[("E0224", "»ports: [http]", "protocol `ICMP` has no ports")],
        ),
        (
            "udplite ports",
            ing("action: Allow\nprotocol: UDPLite\ndestination:\n  ports: [53]"),
            &[("E0224", "»ports: [53]", "protocol `UDPLite` has no ports")],
        ),
        (
            "proto 47 ports",
            ing("action: Allow\nprotocol: 47\nsource:\n  notPorts: [1]"),
            &[("E0224", "»notPorts: [1]", "protocol `47` has no ports")],
        ),
        (
            "port 0",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: [0]"),
            &[("E0225", "ports: [»0]", "port 0 is not valid")],
        ),
        (
            "port 0 string",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: ['0']"),
            &[("E0225", "ports: [»'0']", "port 0 is not valid")],
        ),
        (
            "port 65536",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: [65536]"),
            &[("E0225", "»65536", "port `65536` is out of range")],
        ),
        (
            "port huge string",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: ['99999999999999999999']"),
            &[("E0225", "»'9999", "out of range")],
        ),
        (
            "range from 0",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: ['0:10']"),
            &[("E0225", "»'0:10'", "port 0 is not valid")],
        ),
        (
            "range to 70000",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: ['1:70000']"),
            &[("E0225", "»'1:70000'", "port `70000` is out of range")],
        ),
        (
            "reversed range",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: ['90:80']"),
            &[("E0225", "»'90:80'", "write the range as `80:90`")],
        ),
        (
            "negative port",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: [-1]"),
            &[("E0225", "»-1]", "not a whole number")],
        ),
        (
            "float port",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: [80.5]"),
            &[("E0225", "»80.5", "not a whole number")],
        ),
        (
            "uppercase name",
            ing("action: Allow\ndestination:\n  ports: [Http]"),
            &[("E0225", "»Http", "only lower case letters")],
        ),
        (
            "double dash",
            ing("action: Allow\ndestination:\n  ports: [a--b]"),
            &[("E0225", "»a--b", "`--`")],
        ),
        (
            "leading dash",
            ing("action: Allow\ndestination:\n  ports: [-web]"),
            &[("E0225", "»-web", "must not begin or end")],
        ),
        (
            "long name",
            ing("action: Allow\ndestination:\n  ports: [averyveryverylongname]"),
            &[("E0225", "»averyveryverylongname", "longer than 15")],
        ),
        (
            "three parts",
            ing("action: Allow\ndestination:\n  ports: ['1:2:3']"),
            &[(
                "E0225",
                "»'1:2:3'",
                "neither a port, a range nor a valid port name",
            )],
        ),
        (
            "half range",
            ing("action: Allow\ndestination:\n  ports: ['80:']"),
            &[("E0225", "»'80:'", "neither a port")],
        ),
        (
            "bool port",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: [true]"),
            &[("E0225", "»true", "a number or a string")],
        ),
        (
            "ports not a list",
            ing("action: Allow\nprotocol: TCP\ndestination:\n  ports: 80"),
            &[("E0207", "ports: »80", "expected a list")],
        ),
    ]);
}

#[test]
fn port_limits() {
    let fifty: Vec<String> = (1..=50).map(|p| p.to_string()).collect();
    let ok = ing(&format!(
        "action: Allow\nprotocol: TCP\ndestination:\n  ports: [{}]",
        fifty.join(", ")
    ));
    check("50 ports", &ok, OK);
    let many: Vec<String> = (1..=51).map(|p| p.to_string()).collect();
    let bad = ing(&format!(
        "action: Allow\nprotocol: TCP\ndestination:\n  ports: [{}]",
        many.join(", ")
    ));
    check(
        "51 ports",
        &bad,
        &[(
            "E0216",
            "»ports: [1,",
            "51 ports, more than the limit of 50",
        )],
    );
    let many: Vec<String> = (1..=51).map(|p| p.to_string()).collect();
    let bad = ing(&format!(
        "action: Allow\nprotocol: TCP\nsource:\n  notPorts: [{}]",
        many.join(", ")
    ));
    check(
        "51 notPorts",
        &bad,
        &[("E0216", "»notPorts", "more than the limit of 50")],
    );
}

#[test]
fn nets() {
    table(&[
        ("v4", ing("action: Allow\nsource:\n  nets: [10.0.0.0/8]"), OK),
        ("v6", ing("action: Allow\nsource:\n  nets: ['fd00::/64']"), OK),
        ("host /32", ing("action: Allow\ndestination:\n  nets: [10.1.2.3/32]"), OK),
        ("v4 everywhere", ing("action: Allow\nsource:\n  nets: [10.0.0.0/8]\n  notNets: [10.1.0.0/16]\ndestination:\n  nets: [192.168.0.0/16]\n  notNets: [192.168.1.0/24]"), OK),
        ("v4 with ipVersion", ing("action: Allow\nipVersion: 4\nsource:\n  nets: [0.0.0.0/0]"), OK),
        ("v6 with ipVersion", ing("action: Allow\nipVersion: 6\ndestination:\n  nets: ['::/0']"), OK),
        ("notNets v4 other spelling", ing("action: Allow\nsource:\n  notNets: [0.0.0.0/00]"), OK),
        ("host bits", ing("action: Allow\nsource:\n  nets: [10.0.0.1/8]"), &[("E0226", "»10.0.0.1/8", "did you mean `10.0.0.0/8`")]),
        ("v6 host bits", ing("action: Allow\nsource:\n  nets: ['fd00::1/64']"), &[("E0226", "»'fd00::1/64'", "host bits set")]),
        ("no prefix", ing("action: Allow\nsource:\n  nets: [10.0.0.1]"), &[("E0226", "»10.0.0.1]", "write `10.0.0.1/32`")]),
        ("v6 no prefix", ing("action: Allow\nsource:\n  nets: ['fd00::1']"), &[("E0226", "»'fd00::1'", "write `fd00::1/128`")]),
        ("garbage", ing("action: Allow\ndestination:\n  nets: [bogus]"), &[("E0226", "»bogus", "`bogus` is not a valid CIDR")]),
        ("prefix 33", ing("action: Allow\ndestination:\n  nets: [10.0.0.0/33]"), &[("E0226", "»10.0.0.0/33", "not a valid CIDR")]),
        ("octet 256", ing("action: Allow\ndestination:\n  nets: [10.0.0.256/32]"), &[("E0226", "»10.0.0.256/32", "not a valid CIDR")]),
        ("notNets host bits", ing("action: Allow\ndestination:\n  notNets: [10.0.0.1/24]"), &[("E0226", "»10.0.0.1/24", "did you mean `10.0.0.0/24`")]),
        ("mixed in one list", ing("action: Allow\nsource:\n  nets: [10.0.0.0/8, 'fd00::/8']"), &[("E0227", "»'fd00::/8'", "a rule matches one IP family")]),
        ("mixed across sides", ing("action: Allow\nsource:\n  nets: [10.0.0.0/8]\ndestination:\n  nets: ['fd00::/8']"), &[("E0227", "»'fd00::/8'", "`source.nets` holds IPv4 networks")]),
        ("mixed nets notNets", ing("action: Allow\nsource:\n  nets: ['fd00::/8']\n  notNets: [10.0.0.0/8]"), &[("E0227", "»10.0.0.0/8", "IPv4 network")]),
        ("v4 net ipVersion 6", ing("action: Allow\nipVersion: 6\nsource:\n  nets: [10.0.0.0/8]"), &[("E0227", "»10.0.0.0/8", "the rule has `ipVersion: 6`")]),
        ("v6 net ipVersion 4", ing("action: Allow\nipVersion: 4\ndestination:\n  notNets: ['fd00::/8']"), &[("E0227", "»'fd00::/8'", "the rule has `ipVersion: 4`")]),
        ("notNets catch-all v4", ing("action: Allow\nsource:\n  notNets: [0.0.0.0/0]"), &[("E0228", "»0.0.0.0/0", "matches nothing")]),
        ("notNets catch-all v6", ing("action: Allow\ndestination:\n  notNets: ['::/0']"), &[("E0228", "»'::/0'", "excludes every address")]),
        ("notNets catch-all v6 long", ing("action: Allow\ndestination:\n  notNets: ['0::0/0']"), &[("E0228", "»'0::0/0'", "matches nothing")]),
        ("nets not strings", ing("action: Allow\nsource:\n  nets: [[10.0.0.0/8]]"), &[("E0207", "nets: [»[10", "expected a string")]),
    ]);
}

#[test]
fn net_limits() {
    let nets: Vec<String> = (0..256)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect();
    check(
        "256 nets",
        &ing(&format!(
            "action: Allow\nsource:\n  nets: [{}]",
            nets.join(", ")
        )),
        OK,
    );
    let nets: Vec<String> = (0..257)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect();
    check(
        "257 nets",
        &ing(&format!(
            "action: Allow\nsource:\n  nets: [{}]",
            nets.join(", ")
        )),
        &[(
            "E0216",
            "»nets: [",
            "257 networks, more than the limit of 256",
        )],
    );
}

#[test]
fn selectors() {
    let long = format!(
        "action: Allow\nsource:\n  selector: \"{}\"",
        vec!["has(a)"; 200].join(" && ")
    );
    table(&[
        (
            "selector",
            ing("action: Allow\nsource:\n  selector: app == 'web'"),
            OK,
        ),
        (
            "notSelector",
            ing("action: Allow\nsource:\n  notSelector: app == 'web'"),
            OK,
        ),
        (
            "namespaceSelector",
            ing("action: Allow\nsource:\n  namespaceSelector: team == 'a'"),
            OK,
        ),
        (
            "namespaceSelector global",
            ing("action: Allow\nsource:\n  namespaceSelector: global()"),
            OK,
        ),
        (
            "namespaceSelector global spaced",
            ing("action: Allow\nsource:\n  namespaceSelector: ' global() '"),
            OK,
        ),
        (
            "global with selector",
            ing("action: Allow\nsource:\n  namespaceSelector: global()\n  selector: role == 'db'"),
            OK,
        ),
        (
            "empty selector",
            ing("action: Allow\nsource:\n  selector: ''"),
            OK,
        ),
        (
            "all()",
            ing("action: Allow\ndestination:\n  selector: all()"),
            OK,
        ),
        (
            "syntax",
            ing("action: Allow\nsource:\n  selector: app = 'web'"),
            &[("E0201", "selector: app »= 'web'", "invalid selector")],
        ),
        (
            "global in selector",
            ing("action: Allow\nsource:\n  selector: global()"),
            &[(
                "E0203",
                "selector: »global()",
                "`global()` can only be used in a rule's `namespaceSelector`",
            )],
        ),
        (
            "global combined",
            ing("action: Allow\nsource:\n  namespaceSelector: global() && a == 'b'"),
            &[(
                "E0203",
                "namespaceSelector: »global()",
                "cannot be combined",
            )],
        ),
        (
            "too long",
            ing(&long),
            &[(
                "E0202",
                "selector: »\"has(a)",
                "more than the limit of 1024",
            )],
        ),
        (
            "selector not string",
            ing("action: Allow\nsource:\n  selector: [a]"),
            &[("E0207", "selector: »[a]", "expected a string")],
        ),
        (
            "notSelector syntax",
            ing("action: Allow\ndestination:\n  notSelector: a = 'b'"),
            &[("E0201", "notSelector: a »= 'b'", "invalid selector")],
        ),
        (
            "namespaceSelector syntax",
            ing("action: Allow\ndestination:\n  namespaceSelector: a = 'b'"),
            &[("E0201", "namespaceSelector: a »= 'b'", "invalid selector")],
        ),
    ]);
}

#[test]
fn service_accounts() {
    table(&[
        (
            "names",
            ing("action: Allow\nsource:\n  serviceAccounts:\n    names: [api, web]"),
            OK,
        ),
        (
            "selector",
            ing("action: Allow\nsource:\n  serviceAccounts:\n    selector: team == 'a'"),
            OK,
        ),
        (
            "both",
            ing("action: Allow\nsource:\n  serviceAccounts: {names: [api], selector: has(x)}"),
            OK,
        ),
        (
            "empty name",
            ing("action: Allow\nsource:\n  serviceAccounts:\n    names: ['']"),
            &[("E0231", "names: [»'']", "empty service account name")],
        ),
        (
            "bad selector",
            ing("action: Allow\nsource:\n  serviceAccounts:\n    selector: a = 'b'"),
            &[("E0201", "selector: a »= 'b'", "invalid selector")],
        ),
        (
            "global selector",
            ing("action: Allow\nsource:\n  serviceAccounts:\n    selector: global()"),
            &[("E0203", "selector: »global()", "`global()`")],
        ),
        (
            "unknown field",
            ing("action: Allow\nsource:\n  serviceAccounts:\n    name: [api]"),
            &[("E0208", "»name: [api]", "did you mean `names`")],
        ),
    ]);
}

#[test]
fn services() {
    table(&[
        ("np ingress source", np_rule("ingress", "action: Allow\nsource:\n  services:\n    name: web"), OK),
        ("np egress destination", np_rule("egress", "action: Allow\ndestination:\n  services:\n    name: web"), OK),
        ("gnp with namespace", eg("action: Allow\ndestination:\n  services:\n    name: kube-dns\n    namespace: kube-system"), OK),
        ("source services with ports", np_rule("ingress", "action: Allow\nprotocol: TCP\nsource:\n  services: {name: web}\n  ports: [80]"), OK),
        ("no name", np_rule("egress", "action: Allow\ndestination:\n  services:\n    namespace: x"), &[("E0229", "»namespace: x", "must name a service")]),
        ("bad name", np_rule("egress", "action: Allow\ndestination:\n  services:\n    name: Web_1"), &[("E0229", "name: »Web_1", "not a valid name")]),
        ("bad namespace", np_rule("egress", "action: Allow\ndestination:\n  services:\n    name: web\n    namespace: A"), &[("E0229", "namespace: »A", "not a valid name")]),
        ("with selector", np_rule("egress", "action: Allow\ndestination:\n  services: {name: web}\n  selector: app == 'x'"), &[("E0229", "»selector: app", "cannot be combined with `services`")]),
        ("with notSelector", np_rule("egress", "action: Allow\ndestination:\n  services: {name: web}\n  notSelector: app == 'x'"), &[("E0229", "»notSelector", "cannot be combined")]),
        ("with namespaceSelector", np_rule("egress", "action: Allow\ndestination:\n  services: {name: web}\n  namespaceSelector: a == 'x'"), &[("E0229", "»namespaceSelector", "cannot be combined")]),
        ("with nets", np_rule("egress", "action: Allow\ndestination:\n  services: {name: web}\n  nets: [10.0.0.0/8]"), &[("E0229", "»nets:", "cannot be combined")]),
        ("with notNets", np_rule("egress", "action: Allow\ndestination:\n  services: {name: web}\n  notNets: [10.0.0.0/8]"), &[("E0229", "»notNets:", "cannot be combined")]),
        ("with serviceAccounts", np_rule("egress", "action: Allow\ndestination:\n  services: {name: web}\n  serviceAccounts: {names: [a]}"), &[("E0229", "»serviceAccounts", "cannot be combined")]),
        ("dst with ports", np_rule("egress", "action: Allow\ndestination:\n  services: {name: web}\n  ports: [http]"), &[("E0229", "»ports: [http]", "destination `services`")]),
        ("dst with notPorts", np_rule("egress", "action: Allow\ndestination:\n  services: {name: web}\n  notPorts: [http]"), &[("E0229", "»notPorts", "destination `services`")]),
        ("ingress destination", np_rule("ingress", "action: Allow\ndestination:\n  services: {name: web}"), &[("E0229", "»services:", "not allowed in the destination of an ingress rule")]),
        ("egress source", np_rule("egress", "action: Allow\nsource:\n  services: {name: web}"), &[("E0229", "»services:", "not allowed in the source of an egress rule")]),
        ("gnp no namespace egress", eg("action: Allow\ndestination:\n  services:\n    name: web"), &[("E0229", "»name: web", "must give the service's `namespace`")]),
        ("gnp no namespace ingress", ing("action: Allow\nsource:\n  services: {name: web}"), &[("E0229", "services: »{name: web}", "`namespace`")]),
    ]);
}

#[test]
fn http() {
    table(&[
        ("methods", ing("action: Allow\nhttp:\n  methods: [GET, POST]"), OK),
        ("paths", ing("action: Allow\nprotocol: TCP\nhttp:\n  paths:\n    - exact: /healthz\n    - prefix: /api/"), OK),
        ("not allow", ing("action: Deny\nhttp:\n  methods: [GET]"), &[("E0230", "»http:", "only valid in `Allow` rules")]),
        ("egress", eg("action: Allow\nhttp:\n  methods: [GET]"), &[("E0230", "»http:", "not allowed in egress rules")]),
        ("udp", ing("action: Allow\nprotocol: UDP\nhttp:\n  methods: [GET]"), &[("E0230", "protocol: »UDP", "must use protocol `TCP`")]),
        ("dup method", ing("action: Allow\nhttp:\n  methods: [GET, PUT, GET]"), &[("E0230", "PUT, »GET]", "method `GET` is listed twice")]),
        ("no slash", ing("action: Allow\nhttp:\n  paths:\n    - exact: healthz"), &[("E0230", "exact: »healthz", "not a valid path")]),
        ("query", ing("action: Allow\nhttp:\n  paths:\n    - prefix: /a?b"), &[("E0230", "prefix: »/a?b", "no `?`, `#` or space")]),
        ("hash", ing("action: Allow\nhttp:\n  paths:\n    - exact: '/a#b'"), &[("E0230", "exact: »'/a#b'", "not a valid path")]),
        ("both", ing("action: Allow\nhttp:\n  paths:\n    - {exact: /a, prefix: /b}"), &[("E0230", "- »{exact", "both `exact` and `prefix`")]),
        ("neither", ing("action: Allow\nhttp:\n  paths:\n    - {}"), &[("E0230", "- »{}", "needs `exact` or `prefix`")]),
        ("unknown field", ing("action: Allow\nhttp:\n  method: [GET]"), &[("E0208", "»method:", "did you mean `methods`")]),
    ]);
    let many: Vec<String> = (0..21).map(|i| format!("M{i}")).collect();
    check(
        "21 methods",
        &ing(&format!(
            "action: Allow\nhttp:\n  methods: [{}]",
            many.join(", ")
        )),
        &[("E0216", "methods: »[M0", "more than 20 methods")],
    );
}

#[test]
fn domains_are_enterprise() {
    table(&[
        ("egress destination", eg("action: Allow\nprotocol: TCP\ndestination:\n  domains: [api.stripe.com]\n  ports: [443]"), &[("W0201", "»domains:", "Calico Enterprise field; open-source Calico rejects it")]),
        ("source", eg("action: Allow\nsource:\n  domains: [a.com]"), &[("E0232", "»domains:", "only allowed in the destination of egress rules")]),
        ("ingress", ing("action: Allow\ndestination:\n  domains: [a.com]"), &[("E0232", "»domains:", "only allowed in the destination of egress rules")]),
        ("empty domain", eg("action: Allow\ndestination:\n  domains: ['']"), &[("W0201", "»domains:", "Enterprise"), ("E0232", "domains: [»'']", "empty domain name")]),
    ]);
}

#[test]
fn unknown_fields_and_metadata() {
    table(&[
        (
            "rule typo",
            ing("action: Allow\nprotocl: TCP"),
            &[("E0208", "»protocl", "did you mean `protocol`")],
        ),
        (
            "entity typo",
            ing("action: Allow\nsource:\n  selectr: a == 'b'"),
            &[("E0208", "»selectr", "did you mean `selector`")],
        ),
        (
            "entity typo case",
            ing("action: Allow\nsource:\n  NotNets: [10.0.0.0/8]"),
            &[("E0208", "»NotNets", "did you mean `notNets`")],
        ),
        (
            "rule annotations",
            ing("action: Allow\nmetadata:\n  annotations:\n    owner: team-a"),
            OK,
        ),
        (
            "rule annotation key",
            ing("action: Allow\nmetadata:\n  annotations:\n    'bad key': x"),
            &[("E0206", "»'bad key'", "invalid annotation key")],
        ),
        (
            "rule metadata typo",
            ing("action: Allow\nmetadata:\n  annotation: {a: b}"),
            &[("E0208", "»annotation:", "did you mean `annotations`")],
        ),
        (
            "rule not a map",
            ing("Allow"),
            &[("E0207", "»Allow", "expected a map")],
        ),
        (
            "source not a map",
            ing("action: Allow\nsource: [a]"),
            &[("E0207", "source: »[a]", "expected a map")],
        ),
    ]);
}

#[test]
fn lowering_of_a_rule() {
    let v = check(
        "lowered",
        &eg("action: Allow\nprotocol: TCP\nipVersion: 4\nsource:\n  selector: app == 'a'\n  notPorts: ['1:1023']\ndestination:\n  nets: [10.0.0.0/8]\n  notNets: [10.1.0.0/16]\n  ports: [443, http, '8000:8080']\n  namespaceSelector: global()"),
        OK,
    );
    let p = &v.cluster.policies[0];
    assert_eq!(p.egress.len(), 1);
    let r = &p.egress[0];
    assert_eq!(r.action, tabby_model::Action::Allow);
    assert_eq!(r.protocol, Some(tabby_model::Protocol::TCP));
    assert_eq!(r.ip_version, Some(tabby_model::IpVersion::V4));
    assert!(r.source.selector.is_some());
    assert_eq!(
        r.source.not_ports,
        vec![tabby_model::PortSpec::Range(tabby_model::PortRange {
            min: 1,
            max: 1023
        })]
    );
    assert_eq!(
        r.destination.nets,
        vec!["10.0.0.0/8".parse::<ipnet::IpNet>().unwrap()]
    );
    assert_eq!(
        r.destination.not_nets,
        vec!["10.1.0.0/16".parse::<ipnet::IpNet>().unwrap()]
    );
    assert_eq!(
        r.destination.ports,
        vec![
            tabby_model::PortSpec::Range(tabby_model::PortRange::single(443)),
            tabby_model::PortSpec::Named("http".into()),
            tabby_model::PortSpec::Range(tabby_model::PortRange {
                min: 8000,
                max: 8080
            }),
        ]
    );
    assert!(r.destination.namespace_selector.is_some());
    assert_eq!(r.loc.as_ref().unwrap().line_col(), (7, 7));
    let v = check(
        "icmp lowered",
        &ing("action: Deny\nprotocol: ICMP\nicmp: {type: 3, code: 4}\nnotICMP: {type: 8}"),
        OK,
    );
    let r = &v.cluster.policies[0].ingress[0];
    assert_eq!(
        r.icmp,
        Some(tabby_model::IcmpMatch {
            icmp_type: 3,
            code: Some(4)
        })
    );
    assert_eq!(
        r.not_icmp,
        Some(tabby_model::IcmpMatch {
            icmp_type: 8,
            code: None
        })
    );
}

#[test]
fn invalid_rules_leave_the_policy_out() {
    let v = check(
        "bad",
        &ing("action: Allow\nprotocol: tcp"),
        &[("E0221", "protocol: »tcp", "TCP")],
    );
    assert!(v.cluster.policies.is_empty());
}
