//! Real etcd servers for tests and benchmarks: one member or a cluster on loopback
//! ports, in a temporary directory, with nothing left behind.
//!
//! Each member runs under a small `sh` guard that kills etcd as soon as its stdin
//! closes, so a test process that dies (or is killed) never leaves an etcd running.
//!
//! [`TestCerts`] makes a CA, server and client certificates with the `openssl`
//! command, for an etcd that serves TLS and requires client certificates
//! ([`EtcdCluster::start_tls`]).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{Etcd, EtcdOptions, EtcdTls, Store};

/// Certificates for a TLS etcd on 127.0.0.1, made at test time (EC P-256, valid
/// for two days): a CA, a server certificate it signed (for `127.0.0.1` and
/// `localhost`), a client certificate it signed, and an unrelated second CA.
#[derive(Debug, Clone)]
pub struct TestCerts {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed nothing here (a "wrong CA").
    pub other_ca: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run openssl (is it installed?): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl TestCerts {
    /// Writes the certificates and keys into `dir` (which must exist).
    pub fn create(dir: &Path) -> Result<Self, String> {
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        for ca in ["ca", "other-ca"] {
            let (key, pem, subj) = (
                format!("{ca}.key"),
                format!("{ca}.pem"),
                format!("/CN=tabby test {ca}"),
            );
            let mut args = vec!["req", "-x509"];
            args.extend(ec);
            args.extend([
                "-keyout",
                &key,
                "-out",
                &pem,
                "-days",
                "2",
                "-subj",
                &subj,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]);
            openssl(dir, &args)?;
        }
        // etcd's JSON gateway dials etcd itself with the server certificate as its
        // client certificate: the server certificate needs clientAuth too.
        for (name, usage) in [
            ("server", "serverAuth,clientAuth"),
            ("client", "clientAuth"),
        ] {
            let ext = format!("{name}.ext");
            std::fs::write(
                dir.join(&ext),
                format!(
                    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={usage}\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                ),
            )
            .map_err(|e| e.to_string())?;
            let (key, csr, pem, subj) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
                format!("/CN=tabby test {name}"),
            );
            let mut args = vec!["req"];
            args.extend(ec);
            args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
            openssl(dir, &args)?;
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &pem,
                    "-days",
                    "2",
                    "-extfile",
                    &ext,
                ],
            )?;
        }
        Ok(Self {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            other_ca: dir.join("other-ca.pem"),
        })
    }

    /// The client side: this CA, the client certificate and key.
    pub fn client_tls(&self) -> EtcdTls {
        EtcdTls {
            ca_cert_file: Some(self.ca.clone()),
            cert_file: Some(self.client_cert.clone()),
            key_file: Some(self.client_key.clone()),
        }
    }
}

/// Where Debian's `etcd-server` installs etcd.
const ETCD_BINARIES: &[&str] = &["/usr/bin/etcd", "/usr/local/bin/etcd"];

fn etcd_binary() -> Result<String, String> {
    ETCD_BINARIES
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| (*p).to_owned())
        .ok_or_else(|| {
            "etcd is not installed: run scripts/test.sh (it installs etcd-server and starts etcd), \
             or set TABBY_TEST_ETCD=http://HOST:PORT"
                .to_owned()
        })
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Removes the data directories of private etcds whose test process is gone (the
/// one a process keeps for its whole life is never dropped).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("tabby-etcd-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// One etcd member.
#[derive(Debug)]
pub struct EtcdMember {
    /// Member name.
    pub name: String,
    /// `http://127.0.0.1:PORT` for clients.
    pub client_url: String,
    args: Vec<String>,
    child: Option<(Child, ChildStdin)>,
}

impl EtcdMember {
    /// Starts (or restarts, keeping its data) this member.
    pub fn start(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        let bin = etcd_binary()?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("\"$0\" \"$@\" >/dev/null 2>&1 & p=$!; read _ignored; kill -9 $p; wait $p")
            .arg(&bin)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {bin}: {e}"))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| "no stdin for the etcd guard".to_owned())?;
        self.child = Some((child, stdin));
        Ok(())
    }

    /// Kills this member at once (SIGKILL, as a crash), keeping its data.
    pub fn kill(&mut self) {
        if let Some((mut child, mut stdin)) = self.child.take() {
            let _ = stdin.write_all(b"x\n");
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for EtcdMember {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cluster of members on loopback, removed on drop.
#[derive(Debug)]
pub struct EtcdCluster {
    /// The members.
    pub members: Vec<EtcdMember>,
    dir: PathBuf,
    /// What a client needs (TLS files for a TLS cluster).
    client: EtcdOptions,
}

impl EtcdCluster {
    /// Starts `n` members and waits (up to 30 s) until the cluster answers.
    pub fn start(n: usize) -> Result<Self, String> {
        Self::start_with(n, None)
    }

    /// Starts `n` members serving clients over TLS with `certs`' server certificate
    /// and requiring client certificates signed by `certs`' CA (`--client-cert-auth`).
    pub fn start_tls(n: usize, certs: &TestCerts) -> Result<Self, String> {
        Self::start_with(n, Some(certs))
    }

    fn start_with(n: usize, certs: Option<&TestCerts>) -> Result<Self, String> {
        etcd_binary()?;
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tabby-etcd-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        remove_stale_dirs();
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut ports = Vec::new();
        for i in 0..n {
            ports.push((format!("m{i}"), free_port()?, free_port()?));
        }
        let initial: Vec<String> = ports
            .iter()
            .map(|(name, _, peer)| format!("{name}=http://127.0.0.1:{peer}"))
            .collect();
        let token = dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut members = Vec::new();
        let scheme = if certs.is_some() { "https" } else { "http" };
        for (name, client, peer) in &ports {
            let client_url = format!("{scheme}://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let mut args: Vec<String> = vec![
                "--name".into(),
                name.clone(),
                "--data-dir".into(),
                dir.join(name).display().to_string(),
                "--listen-client-urls".into(),
                client_url.clone(),
                "--advertise-client-urls".into(),
                client_url.clone(),
                "--listen-peer-urls".into(),
                peer_url.clone(),
                "--initial-advertise-peer-urls".into(),
                peer_url,
                "--initial-cluster".into(),
                initial.join(","),
                "--initial-cluster-token".into(),
                token.clone(),
                "--initial-cluster-state".into(),
                "new".into(),
                "--heartbeat-interval".into(),
                "50".into(),
                "--election-timeout".into(),
                "500".into(),
            ];
            if let Some(c) = certs {
                for (flag, file) in [
                    ("--cert-file", &c.server_cert),
                    ("--key-file", &c.server_key),
                    ("--trusted-ca-file", &c.ca),
                ] {
                    args.push(flag.into());
                    args.push(file.display().to_string());
                }
                args.push("--client-cert-auth".into());
            }
            members.push(EtcdMember {
                name: name.clone(),
                client_url,
                args,
                child: None,
            });
        }
        for m in &mut members {
            m.start()?;
        }
        let client = EtcdOptions {
            tls: certs.map(TestCerts::client_tls).unwrap_or_default(),
            ..EtcdOptions::default()
        };
        let c = Self {
            members,
            dir,
            client,
        };
        c.wait_ready(Duration::from_secs(30))?;
        Ok(c)
    }

    /// Comma-separated client URLs of every member.
    pub fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|m| m.client_url.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Options a client of this cluster needs (its TLS files for a TLS cluster).
    pub fn client_options(&self) -> EtcdOptions {
        self.client.clone()
    }

    /// Waits until the cluster serves a linearizable read.
    pub fn wait_ready(&self, within: Duration) -> Result<(), String> {
        let opts = EtcdOptions {
            timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(200),
            ..self.client.clone()
        };
        let store = Etcd::new(&self.endpoints(), opts).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + within;
        loop {
            match store.revision() {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("etcd did not become ready: {e}"))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            m.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The etcd tests use: `$TABBY_TEST_ETCD` (set by scripts/test.sh), else a private
/// one-member etcd started once for this process. Errors when etcd is not installed.
pub fn test_etcd_endpoints() -> Result<String, String> {
    if let Ok(url) = std::env::var("TABBY_TEST_ETCD") {
        if !url.is_empty() {
            return Ok(url);
        }
    }
    static PRIVATE: OnceLock<Result<(String, EtcdCluster), String>> = OnceLock::new();
    PRIVATE
        .get_or_init(|| {
            let c = EtcdCluster::start(1)?;
            Ok((c.endpoints(), c))
        })
        .as_ref()
        .map(|(u, _)| u.clone())
        .map_err(Clone::clone)
}
