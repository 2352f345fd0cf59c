//! `tabby reach -o html` in a real browser: headless Chromium loads the page,
//! runs its script, and the graph must be there; a click on an edge must show the
//! policies that allow it; the namespace filter must filter. Chromium is a test
//! dependency installed by `scripts/test.sh`: when it is missing these tests fail.
//!
//! Set `TABBY_UPDATE_SCREENSHOT=1` to refresh `docs/img/reach.png` (the page with
//! an edge clicked) from the run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Chromium binary: `$TABBY_CHROMIUM`, else `chromium` or `chromium-browser` on PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("TABBY_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is needed for this test but `chromium` is not on PATH: \
         run scripts/test.sh (it installs the `chromium` package), or \
         `apt-get install chromium`, or set TABBY_CHROMIUM"
    );
}

/// Flags for a quiet headless run on a closed network (without the background
/// networking flags Chromium waits on the network and hangs).
fn chromium_cmd(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1400,1000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("reach-browser-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `tabby reach examples/cluster examples/policies -o html` into `dir`,
/// returning the page's path and the graph data embedded in it.
fn render_page(dir: &Path) -> (PathBuf, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_tabby"))
        .current_dir(root())
        .args([
            "reach",
            "examples/cluster",
            "examples/policies",
            "-o",
            "html",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    let start = html.find("const DATA = ").unwrap() + "const DATA = ".len();
    let end = start + html[start..].find(";\n").unwrap();
    let data: Value = serde_json::from_str(&html[start..end]).unwrap();
    let page = dir.join("reach.html");
    std::fs::write(&page, html).unwrap();
    (page, data)
}

fn url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// Runs Chromium once with `extra` flags on `page`, with a deadline.
fn run_once(profile: &Path, extra: &[String], page: &Path) -> std::process::Output {
    let mut cmd = chromium_cmd(profile);
    cmd.args(extra).arg(url(page));
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let guard = Killer(child);
    let out = wait_with_deadline(guard, Duration::from_secs(90));
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Killer(Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_with_deadline(mut k: Killer, limit: Duration) -> std::process::Output {
    let t = Instant::now();
    // Drain stdout on a thread so a large DOM cannot block the child.
    let mut so = k.0.stdout.take().unwrap();
    let mut se = k.0.stderr.take().unwrap();
    let ho = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let he = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    loop {
        if let Some(status) = k.0.try_wait().unwrap() {
            return std::process::Output {
                status,
                stdout: ho.join().unwrap(),
                stderr: he.join().unwrap(),
            };
        }
        assert!(
            t.elapsed() < limit,
            "chromium did not finish within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn group_of(data: &Value, id: &Value) -> String {
    data["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| &n["id"] == id)
        .unwrap()["grp"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn page_draws_the_whole_graph_after_its_script_ran() {
    let dir = scratch("dom");
    let (page, data) = render_page(&dir);
    let nodes = data["nodes"].as_array().unwrap();
    let edges = data["edges"].as_array().unwrap();
    assert!(
        nodes.len() > 10 && !edges.is_empty(),
        "examples should give a real graph"
    );
    let out = run_once(
        &dir.join("profile"),
        &["--virtual-time-budget=5000".into(), "--dump-dom".into()],
        &page,
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    // The script built one path per edge and one circle per node: before it runs
    // the page has neither.
    assert_eq!(
        dom.matches("class=\"edge").count(),
        edges.len(),
        "edges drawn"
    );
    assert_eq!(dom.matches("<circle").count(), nodes.len(), "nodes drawn");
    // One box per namespace (or kind of non-namespaced endpoint), and the filter
    // offers each of them.
    let mut groups: Vec<String> = nodes
        .iter()
        .map(|n| n["grp"].as_str().unwrap().to_owned())
        .collect();
    groups.sort();
    groups.dedup();
    assert_eq!(dom.matches("class=\"box\"").count(), groups.len());
    for g in &groups {
        assert!(
            dom.contains(&format!("<option value=\"{g}\">{g}</option>")),
            "filter option {g}"
        );
    }
    for ns in ["production", "kube-system", "tenant-a", "(internet)"] {
        assert!(groups.iter().any(|g| g == ns), "{ns} in {groups:?}");
    }
    let n = edges.len();
    assert!(
        dom.contains(&format!("{n} edges shown of {n} (enforced view)")),
        "edge count line"
    );
    // Every node's label is on the page (namespace prefixes are shown as boxes).
    for node in nodes {
        let label = node["label"].as_str().unwrap();
        assert!(dom.contains(&format!("<title>{label}</title>")), "{label}");
    }
}

#[test]
fn screenshot_shows_the_page() {
    let dir = scratch("shot");
    let (page, _) = render_page(&dir);
    let shot = dir.join("reach.png");
    run_once(
        &dir.join("profile"),
        &[
            "--virtual-time-budget=5000".into(),
            format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((w, h), (1400, 1000));
    // A blank page compresses to a few kilobytes; a drawn graph does not.
    assert!(
        png.len() > 30_000,
        "screenshot looks empty ({} bytes)",
        png.len()
    );
}

/// Decodes standard base64 (as DevTools returns screenshots).
fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64 byte {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(val).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (18 - 6 * i));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// A minimal WebSocket client (RFC 6455, text frames) for the DevTools protocol.
struct Ws {
    s: TcpStream,
    next: u64,
}

impl Ws {
    fn connect(ws_url: &str) -> Ws {
        let rest = ws_url.strip_prefix("ws://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = TcpStream::connect(host).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGFiYnktdGVzdC1rZXkhIQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Ws { s, next: 1 }
    }

    fn send_text(&mut self, text: &str) {
        let p = text.as_bytes();
        let mask = [0x5a, 0x17, 0xc3, 0x08];
        let mut f = vec![0x81u8];
        match p.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n < 65536 => {
                f.push(0x80 | 126);
                f.extend((n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend((n as u64).to_be_bytes());
            }
        }
        f.extend(mask);
        f.extend(p.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.s.write_all(&f).unwrap();
    }

    fn recv_text(&mut self) -> String {
        let mut msg = Vec::new();
        loop {
            let mut h = [0u8; 2];
            self.s.read_exact(&mut h).unwrap();
            let (fin, op) = (h[0] & 0x80 != 0, h[0] & 0x0f);
            let len = match h[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.s.read_exact(&mut b).unwrap();
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.s.read_exact(&mut b).unwrap();
                    u64::from_be_bytes(b)
                }
                n => u64::from(n),
            };
            let mut payload = vec![0u8; usize::try_from(len).unwrap()];
            self.s.read_exact(&mut payload).unwrap();
            match op {
                0x8 => panic!("devtools closed the connection"),
                0x9 | 0xa => continue,
                _ => msg.extend(payload),
            }
            if fin {
                return String::from_utf8(msg).unwrap();
            }
        }
    }

    /// Sends one command (in `session`, if given) and waits for its answer.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let mut m = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            m["sessionId"] = json!(s);
        }
        self.send_text(&m.to_string());
        loop {
            let v: Value = serde_json::from_str(&self.recv_text()).unwrap();
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }
}

/// A page in a headless Chromium driven over the DevTools protocol.
struct Browser {
    _child: Killer,
    ws: Ws,
    session: String,
}

impl Browser {
    fn open(page: &Path, profile: &Path) -> Browser {
        let mut cmd = chromium_cmd(profile);
        cmd.arg("--remote-debugging-port=0")
            .arg(url(page))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let child = Killer(child);
        // Chromium prints the browser's DevTools address on stderr once it listens.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.find("ws://") {
                    let _ = tx.send(line[i..].trim().to_owned());
                }
            }
        });
        let ws_url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium did not print its DevTools address");
        let mut ws = Ws::connect(&ws_url);
        let t = Instant::now();
        let target = loop {
            let targets = ws.call(None, "Target.getTargets", json!({}));
            let page = targets["targetInfos"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| {
                    t["type"] == "page" && t["url"].as_str().unwrap_or("").starts_with("file://")
                })
                .map(|t| t["targetId"].as_str().unwrap().to_owned());
            if let Some(p) = page {
                break p;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "no page target");
            std::thread::sleep(Duration::from_millis(100));
        };
        let att = ws.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        let session = att["sessionId"].as_str().unwrap().to_owned();
        let mut b = Browser {
            _child: child,
            ws,
            session,
        };
        // Wait until the script has drawn.
        let t = Instant::now();
        while b.eval("document.readyState === 'complete' && document.querySelectorAll('path.edge').length > 0")
            != json!(true)
        {
            assert!(t.elapsed() < Duration::from_secs(30), "page never drew its edges");
            std::thread::sleep(Duration::from_millis(100));
        }
        b
    }

    fn eval(&mut self, js: &str) -> Value {
        let r = self.ws.call(
            Some(&self.session.clone()),
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    fn click(&mut self, x: f64, y: f64) {
        let s = self.session.clone();
        for ty in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.ws.call(
                Some(&s),
                "Input.dispatchMouseEvent",
                json!({"type": ty, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }
}

/// A point on an edge where that edge is the topmost element, for a real mouse click.
const EDGE_POINT_JS: &str = r#"(() => {
  for (const p of document.querySelectorAll('path.edge')) {
    const L = p.getTotalLength();
    for (const f of [0.5, 0.4, 0.6, 0.3, 0.7]) {
      const q = p.getPointAtLength(L * f), m = p.getScreenCTM();
      const x = q.x * m.a + q.y * m.c + m.e, y = q.x * m.b + q.y * m.d + m.f;
      if (document.elementFromPoint(x, y) === p)
        return {x: x, y: y, from: p.dataset.from, to: p.dataset.to};
    }
  }
  return null;
})()"#;

#[test]
fn clicking_an_edge_shows_the_policies_that_allow_it_and_the_filter_filters() {
    let dir = scratch("click");
    let (page, data) = render_page(&dir);
    let mut b = Browser::open(&page, &dir.join("profile"));
    assert_eq!(
        b.eval("document.getElementById('info').textContent.startsWith('Click an edge')"),
        json!(true)
    );

    let at = b.eval(EDGE_POINT_JS);
    assert!(at.is_object(), "no clickable edge found");
    b.click(at["x"].as_f64().unwrap(), at["y"].as_f64().unwrap());
    let info = b
        .eval("document.getElementById('info').innerText")
        .as_str()
        .unwrap()
        .to_owned();
    let (from, to) = (at["from"].as_str().unwrap(), at["to"].as_str().unwrap());
    // The edge the browser says was under the mouse, looked up in the data tabby wrote.
    let label = |id: &Value| {
        data["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| &n["id"] == id)
            .unwrap()["label"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let edge = data["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| label(&e["s"]) == from && label(&e["t"]) == to)
        .unwrap();
    assert!(info.contains(&format!("from: {from}")), "{info}");
    assert!(info.contains(&format!("to: {to}")), "{info}");
    assert!(
        info.contains(&format!("allowed: {}", edge["label"].as_str().unwrap())),
        "{info}"
    );
    let why = edge["why"].as_array().unwrap();
    assert!(!why.is_empty());
    for w in why {
        assert!(
            info.contains(&format!("why: {}", w.as_str().unwrap())),
            "{w} in {info}"
        );
    }
    assert_eq!(
        b.eval("document.querySelectorAll('path.edge.sel').length"),
        json!(1)
    );

    // The edge from a production backend to the managed database: allowed by the
    // article's backend egress policy (its destination has no ingress policy).
    let db = b.eval(
        r#"(() => { const p = [...document.querySelectorAll('path.edge')].find(p =>
             p.dataset.from.startsWith('production/backend') && p.dataset.to === 'gnetset:managed-postgres');
           p.dispatchEvent(new MouseEvent('click', {bubbles: true}));
           return document.getElementById('info').innerText; })()"#,
    );
    let db = db.as_str().unwrap();
    assert!(db.contains("allowed: TCP 5432"), "{db}");
    assert!(
        db.contains("why: egress (TCP 5432):") && db.contains("backend"),
        "{db}"
    );

    // What the docs show: the page with that edge selected.
    let shot = b.ws.call(
        Some(&b.session.clone()),
        "Page.captureScreenshot",
        json!({"format": "png"}),
    );
    let png = base64(shot["data"].as_str().unwrap());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let path = dir.join("reach-clicked.png");
    std::fs::write(&path, &png).unwrap();
    if std::env::var_os("TABBY_UPDATE_SCREENSHOT").is_some() {
        let dst = root().join("docs/img/reach.png");
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&path, dst).unwrap();
    }

    // Filtering by namespace keeps exactly the edges touching it.
    let ns = "production";
    let want = data["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| group_of(&data, &e["s"]) == ns || group_of(&data, &e["t"]) == ns)
        .count();
    assert!(want > 0 && want < data["edges"].as_array().unwrap().len());
    b.eval(&format!(
        "(() => {{ const s = document.getElementById('ns'); s.value = '{ns}'; \
         s.dispatchEvent(new Event('change')); return true; }})()"
    ));
    assert_eq!(
        b.eval("document.querySelectorAll('path.edge').length"),
        json!(want)
    );
    let outside = b.eval(&format!(
        "[...document.querySelectorAll('path.edge')].filter(p => !p.dataset.from.startsWith('{ns}/') \
         && !p.dataset.to.startsWith('{ns}/')).length"
    ));
    assert_eq!(outside, json!(0));
}
