//! Real etcd servers for tests and benchmarks: one member or a cluster on loopback
//! ports, in a temporary directory, with nothing left behind.
//!
//! Each member runs under a small `sh` guard that kills etcd as soon as its stdin
//! closes, so a test process that dies (or is killed) never leaves an etcd running.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{Etcd, EtcdOptions, Store};

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
}

impl EtcdCluster {
    /// Starts `n` members and waits (up to 30 s) until the cluster answers.
    pub fn start(n: usize) -> Result<Self, String> {
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
        for (name, client, peer) in &ports {
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let args = vec![
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
        let c = Self { members, dir };
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

    /// Waits until the cluster serves a linearizable read.
    pub fn wait_ready(&self, within: Duration) -> Result<(), String> {
        let opts = EtcdOptions {
            timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(200),
            ..EtcdOptions::default()
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
