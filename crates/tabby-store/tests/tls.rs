//! The etcd backend over TLS with client certificates, against a real etcd this
//! test starts (`--cert-file`, `--key-file`, `--trusted-ca-file`,
//! `--client-cert-auth`) with certificates made at test time by `openssl`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;
use tabby_api::{Kind, Resource};
use tabby_store::testing::{EtcdCluster, TestCerts};
use tabby_store::{
    Action, Etcd, EtcdOptions, EtcdTls, EventKind, ListQuery, ObjectKey, Store, StoreError,
};

struct TlsEtcd {
    certs: TestCerts,
    endpoints: String,
    dir: PathBuf,
    _cluster: EtcdCluster,
}

/// One TLS etcd for the whole file.
fn server() -> &'static TlsEtcd {
    static S: OnceLock<TlsEtcd> = OnceLock::new();
    S.get_or_init(|| {
        // Never dropped (a static): named so the next run's etcd helper removes it
        // once this process is gone.
        let dir = std::env::temp_dir().join(format!("tabby-etcd-{}-certs", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let certs = TestCerts::create(&dir).unwrap_or_else(|e| panic!("{e}"));
        let cluster = EtcdCluster::start_tls(1, &certs).unwrap_or_else(|e| panic!("{e}"));
        TlsEtcd {
            endpoints: cluster.endpoints(),
            dir,
            certs,
            _cluster: cluster,
        }
    })
}

fn opts(tls: EtcdTls) -> EtcdOptions {
    EtcdOptions {
        timeout: Duration::from_secs(3),
        tls,
        ..EtcdOptions::default()
    }
}

fn gnp(name: &str) -> Resource {
    Resource::from_json(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": name},
        "spec": {"order": 10, "selector": "all()", "types": ["Ingress"]}
    }))
    .unwrap()
}

#[test]
fn apply_get_list_watch_delete_over_tls_with_client_certificates() {
    let s = server();
    assert!(
        s.endpoints.starts_with("https://127.0.0.1:"),
        "{}",
        s.endpoints
    );
    let store = Etcd::new(&s.endpoints, opts(s.certs.client_tls())).unwrap();
    assert!(
        store.describe().contains("https://"),
        "{}",
        store.describe()
    );
    let name = format!("tls-crud-{}", std::process::id());
    let key = ObjectKey::new(Kind::GlobalNetworkPolicy, None, &name).unwrap();
    let start = store.revision().unwrap();
    let mut watch = store.watch(start + 1).unwrap();

    let created = store.apply(&gnp(&name)).unwrap();
    assert_eq!(created.action, Action::Created);
    let again = store.apply(&gnp(&name)).unwrap();
    assert_eq!(again.action, Action::Unchanged);
    let got = store.get(&key).unwrap().unwrap();
    assert_eq!(got.revision, created.stored.revision);
    let listed = store
        .list(&ListQuery {
            kind: Some(Kind::GlobalNetworkPolicy),
            ..ListQuery::default()
        })
        .unwrap();
    assert!(listed.items.iter().any(|i| i.key == key));

    let ev = watch.next_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(
        (ev.kind, ev.stored.key.clone()),
        (EventKind::Added, key.clone())
    );

    store.delete(&key, Some(got.revision)).unwrap();
    assert!(store.get(&key).unwrap().is_none());
    let ev = watch.next_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(ev.kind, EventKind::Deleted);
}

/// A setup error: `Etcd::new` fails, before contacting anything.
fn config_error(endpoints: &str, tls: EtcdTls) -> String {
    match Etcd::new(endpoints, opts(tls)) {
        Err(e @ StoreError::Config(_)) => e.to_string(),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn bad_tls_files_are_named_in_the_error() {
    let s = server();
    let garbled = s.dir.join("garbled.pem");
    std::fs::write(
        &garbled,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let truncated = s.dir.join("truncated.pem");
    let full = std::fs::read_to_string(&s.certs.ca).unwrap();
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    let empty = s.dir.join("empty.pem");
    std::fs::write(&empty, "just some text\n").unwrap();
    let missing = s.dir.join("missing.pem");
    let good = s.certs.client_tls();
    let with = |f: &dyn Fn(&mut EtcdTls)| {
        let mut t = good.clone();
        f(&mut t);
        t
    };
    // (the TLS settings, what the error must say)
    let cases: Vec<(EtcdTls, Vec<String>)> = vec![
        (
            with(&|t| t.ca_cert_file = Some(missing.clone())),
            vec![
                missing.display().to_string(),
                "CA certificate".into(),
                "No such file".into(),
            ],
        ),
        (
            with(&|t| t.ca_cert_file = Some(garbled.clone())),
            vec![garbled.display().to_string(), "not a valid PEM".into()],
        ),
        (
            with(&|t| t.ca_cert_file = Some(truncated.clone())),
            vec![truncated.display().to_string(), "END".into()],
        ),
        (
            with(&|t| t.ca_cert_file = Some(empty.clone())),
            vec![empty.display().to_string(), "holds no certificate".into()],
        ),
        (
            with(&|t| t.cert_file = Some(missing.clone())),
            vec![missing.display().to_string(), "client certificate".into()],
        ),
        (
            with(&|t| t.key_file = Some(empty.clone())),
            vec![empty.display().to_string(), "no private key".into()],
        ),
        (
            // A certificate where the key should be.
            with(&|t| t.key_file = Some(s.certs.client_cert.clone())),
            vec![
                s.certs.client_cert.display().to_string(),
                "private key".into(),
            ],
        ),
        (
            with(&|t| t.key_file = None),
            vec![
                s.certs.client_cert.display().to_string(),
                "--etcd-key-file".into(),
            ],
        ),
        (
            with(&|t| t.cert_file = None),
            vec![
                s.certs.client_key.display().to_string(),
                "--etcd-cert-file".into(),
            ],
        ),
        (
            with(&|t| t.ca_cert_file = None),
            vec!["--etcd-ca-cert-file".into()],
        ),
        (
            // The server's key does not go with the client's certificate.
            with(&|t| t.key_file = Some(s.certs.server_key.clone())),
            vec!["do not go together".into()],
        ),
    ];
    for (tls, wanted) in cases {
        let msg = config_error(&s.endpoints, tls.clone());
        for w in &wanted {
            assert!(msg.contains(w.as_str()), "{tls:?}: `{msg}` lacks `{w}`");
        }
    }
    // TLS files with only http endpoints: a mistake, said so.
    let msg = config_error("http://127.0.0.1:1", good);
    assert!(msg.contains("no etcd endpoint is https"), "{msg}");
}

/// A request error: the store was set up, the TLS handshake failed.
fn request_error(tls: EtcdTls) -> String {
    let store = Etcd::new(&server().endpoints, opts(tls)).unwrap();
    match store.revision() {
        Err(e @ StoreError::Unavailable { .. }) => e.to_string(),
        other => panic!("expected the handshake to fail, got {other:?}"),
    }
}

#[test]
fn a_wrong_ca_fails_certificate_verification() {
    let s = server();
    let mut tls = s.certs.client_tls();
    tls.ca_cert_file = Some(s.certs.other_ca.clone());
    let msg = request_error(tls);
    assert!(msg.contains("failed verification"), "{msg}");
    assert!(msg.contains("UnknownIssuer"), "{msg}");
    assert!(msg.contains("--etcd-ca-cert-file"), "{msg}");
}

#[test]
fn etcd_refuses_a_client_without_a_certificate() {
    let s = server();
    let tls = EtcdTls {
        ca_cert_file: Some(s.certs.ca.clone()),
        ..EtcdTls::default()
    };
    let msg = request_error(tls);
    assert!(msg.contains("--etcd-cert-file"), "{msg}");
}

#[test]
fn plain_http_to_a_tls_etcd_is_a_clear_error() {
    let s = server();
    let plain = s.endpoints.replace("https://", "http://");
    let store = Etcd::new(&plain, opts(EtcdTls::default())).unwrap();
    let msg = store.revision().unwrap_err().to_string();
    assert!(msg.to_lowercase().contains("https"), "{msg}");
}
