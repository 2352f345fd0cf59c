//! Validation throughput: N GlobalNetworkPolicies with typical rules, loaded once,
//! validated per iteration. Run with `cargo bench -p tabby-validate`.

use tabby_load::{load_str, LoadOptions, Loaded};

fn main() {
    divan::main();
}

fn input(n: usize) -> Loaded {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p{i}\nspec:\n  order: {i}\n  selector: app == 'a{i}'\n  ingress:\n    - action: Allow\n      protocol: TCP\n      source:\n        selector: role == 'x' && has(y)\n        nets: [10.0.0.0/8]\n      destination:\n        ports: [80, 443, '8000:9000']\n    - action: Deny\n  egress:\n    - action: Allow\n      destination:\n        namespaceSelector: global()\n"
        ));
    }
    load_str("bench.yaml", &s, &LoadOptions::default())
}

#[divan::bench(args = [100, 1000])]
fn validate_policies(bencher: divan::Bencher, n: usize) {
    let loaded = input(n);
    bencher.bench(|| tabby_validate::validate(divan::black_box(&loaded.objects)));
}
