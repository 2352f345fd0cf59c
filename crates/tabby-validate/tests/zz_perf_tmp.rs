#[test]
fn perf() {
    let mut s = String::new();
    for i in 0..5000 {
        s.push_str(&format!("---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p{i}\nspec:\n  order: {i}\n  selector: app == 'a{i}'\n  ingress:\n    - action: Allow\n      protocol: TCP\n      source:\n        selector: role == 'x' && has(y)\n        nets: [10.0.0.0/8]\n      destination:\n        ports: [80, 443, '8000:9000']\n    - action: Deny\n  egress:\n    - action: Allow\n      destination:\n        namespaceSelector: global()\n"));
    }
    let loaded = tabby_load::load_str("t.yaml", &s, &tabby_load::LoadOptions::default());
    for _ in 0..5 {
    let t = std::time::Instant::now();
    let v = tabby_validate::validate(&loaded.objects);
    println!("validate {:?} policies {}", t.elapsed(), v.cluster.policies.len());
    }
}
