//! TLS to etcd (`https://` endpoints): a CA file to verify etcd's server certificate
//! and, for etcd's `--client-cert-auth`, a client certificate and key, as calicoctl's
//! `etcdCACertFile`, `etcdCertFile` and `etcdKeyFile`. rustls with the ring provider;
//! PEM files only.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::StoreError;

/// Largest PEM file read (a CA bundle of a few hundred certificates fits).
const MAX_PEM_FILE: u64 = 4 << 20;

/// The TLS files of the etcd backend. All `None`: plain http only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdTls {
    /// CA certificates (PEM) that signed etcd's server certificate.
    pub ca_cert_file: Option<PathBuf>,
    /// Client certificate chain (PEM), for etcd's `--client-cert-auth`.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

impl EtcdTls {
    /// Whether any file was given.
    pub fn is_set(&self) -> bool {
        self.ca_cert_file.is_some() || self.cert_file.is_some() || self.key_file.is_some()
    }
}

fn config_error(msg: String) -> StoreError {
    StoreError::Config(msg)
}

/// Reads a PEM file, bounded, with errors that name the file and its role.
fn read_pem(path: &Path, role: &str) -> Result<Vec<u8>, StoreError> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| config_error(format!("cannot read the {role} `{shown}`: {e}")))?;
    if !meta.is_file() {
        return Err(config_error(format!(
            "the {role} `{shown}` is not a file (expected a PEM file)"
        )));
    }
    if meta.len() > MAX_PEM_FILE {
        return Err(config_error(format!(
            "the {role} `{shown}` is {} bytes, too large for a PEM file (at most {MAX_PEM_FILE})",
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| config_error(format!("cannot read the {role} `{shown}`: {e}")))
}

fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => {
            "a PEM block has no `-----END ...-----` line".into()
        }
        pem::Error::IllegalSectionStart { .. } => "a `-----BEGIN` line is malformed".into(),
        pem::Error::Base64Decode(_) => "a PEM block is not valid base64".into(),
        pem::Error::SectionTooLarge => "a PEM block is too large".into(),
        other => other.to_string(),
    }
}

/// Every certificate of a PEM file; at least one.
fn read_certs(path: &Path, role: &str) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let bytes = read_pem(path, role)?;
    let shown = path.display();
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            config_error(format!(
                "the {role} `{shown}` is not a valid PEM certificate file: {}",
                pem_problem(&e)
            ))
        })?;
    if certs.is_empty() {
        return Err(config_error(format!(
            "the {role} `{shown}` holds no certificate (expected PEM `-----BEGIN CERTIFICATE-----` blocks)"
        )));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, StoreError> {
    let role = "etcd client key file";
    let bytes = read_pem(path, role)?;
    let shown = path.display();
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        let why = match e {
            pem::Error::NoItemsFound => "it holds no private key".to_owned(),
            other => pem_problem(&other),
        };
        config_error(format!(
            "the {role} `{shown}` is not a usable private key: {why} (expected PEM `-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`, unencrypted)"
        ))
    })
}

/// Builds the client configuration: checks that the files exist and parse, so a
/// mistake is reported before anything is sent.
pub(crate) fn client_config(tls: &EtcdTls) -> Result<Arc<ClientConfig>, StoreError> {
    let Some(ca) = &tls.ca_cert_file else {
        return Err(config_error(
            "https etcd endpoints need the CA certificate that signed etcd's server certificate: give --etcd-ca-cert-file FILE (PEM)".into(),
        ));
    };
    let role = "etcd CA certificate file";
    let mut roots = RootCertStore::empty();
    for (i, cert) in read_certs(ca, role)?.into_iter().enumerate() {
        roots.add(cert).map_err(|e| {
            config_error(format!(
                "the {role} `{}`: certificate {} cannot be used as a CA: {e}",
                ca.display(),
                i + 1
            ))
        })?;
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Backend(format!("cannot set up TLS: {e}")))?
            .with_root_certificates(roots);
    let config = match (&tls.cert_file, &tls.key_file) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert, "etcd client certificate file")?;
            let key_der = read_key(key)?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                config_error(format!(
                    "the etcd client certificate `{}` and key `{}` do not go together: {e}",
                    cert.display(),
                    key.display()
                ))
            })?
        }
        (Some(cert), None) => {
            return Err(config_error(format!(
            "the etcd client certificate `{}` needs its private key: give --etcd-key-file FILE too",
            cert.display()
        )))
        }
        (None, Some(key)) => {
            return Err(config_error(format!(
                "the etcd client key `{}` needs its certificate: give --etcd-cert-file FILE too",
                key.display()
            )))
        }
    };
    Ok(Arc::new(config))
}

/// Turns a TLS failure into a message that says what to check.
pub(crate) fn explain(e: io::Error) -> io::Error {
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return e;
    };
    let msg = match tls {
        rustls::Error::InvalidCertificate(why) => format!(
            "TLS: etcd's server certificate failed verification ({why:?}): check that --etcd-ca-cert-file is the CA that signed it and that it names this host"
        ),
        rustls::Error::AlertReceived(alert) => format!(
            "TLS: etcd refused the connection ({alert:?}): check --etcd-cert-file and --etcd-key-file (a client certificate signed by a CA etcd trusts)"
        ),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => format!(
            "TLS: the endpoint does not speak TLS ({tls}): is it really https?"
        ),
        other => format!("TLS: {other}"),
    };
    io::Error::new(e.kind(), msg)
}
