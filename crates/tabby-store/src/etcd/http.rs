//! The smallest HTTP/1.1 client etcd's JSON gateway needs: `POST` with a JSON body,
//! one connection per request (`Connection: close`), every step under a deadline,
//! and a chunked-body reader for the watch stream. `https://` endpoints go through
//! rustls (the handshake is done at connect time, under the same deadline).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

/// Largest response body read (a list of a whole big store fits comfortably).
const MAX_RESPONSE: usize = 1 << 30;
/// Largest response head.
const MAX_HEAD: usize = 64 * 1024;

/// One `http://host:port` or `https://host:port` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub host: String,
    pub port: u16,
    /// `https://`.
    pub tls: bool,
}

/// The TLS configuration of https endpoints (`None` when no endpoint is https).
pub(crate) type Tls = Option<Arc<ClientConfig>>;

impl Endpoint {
    /// Parses `http://host:port` or `https://host:port` (a bare `host:port` is http).
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (tls, rest) = match t.strip_prefix("https://") {
            Some(r) => (true, r),
            None => (false, t.strip_prefix("http://").unwrap_or(t)),
        };
        if rest.contains("://") {
            return Err(format!(
                "`{t}` is not an endpoint like `http://127.0.0.1:2379` or `https://etcd:2379`"
            ));
        }
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("`{t}` is not an endpoint like `http://127.0.0.1:2379`"))?;
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{t}` is not an endpoint like `http://127.0.0.1:2379`"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(format!(
                "`{t}` is not an endpoint like `http://127.0.0.1:2379`"
            ));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            tls,
        })
    }

    fn addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok((self.host.as_str(), self.port).to_socket_addrs()?.collect())
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("timed out {what}"))
}

/// What an I/O error met while `what` (an operation under a socket timeout) means:
/// `None` to retry (interrupted), [`timed_out`] when the socket timeout passed,
/// anything else through `other`.
fn failed_while(e: io::Error, what: &str, other: fn(io::Error) -> io::Error) -> Option<io::Error> {
    match e.kind() {
        io::ErrorKind::Interrupted => None,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Some(timed_out(what)),
        _ => Some(other(e)),
    }
}

fn remaining(deadline: Instant, what: &str) -> io::Result<Duration> {
    let now = Instant::now();
    if now >= deadline {
        return Err(timed_out(what));
    }
    Ok(deadline - now)
}

/// A connection: plain TCP or TLS over TCP.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    /// The socket underneath (for timeouts and shutdown).
    fn socket(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf).map_err(super::tls::explain),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf).map_err(super::tls::explain),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush().map_err(super::tls::explain),
        }
    }
}

/// Connects to the first address that answers before the deadline; for https,
/// completes the TLS handshake before the deadline too.
fn connect(
    ep: &Endpoint,
    deadline: Instant,
    connect_timeout: Duration,
    tls: &Tls,
) -> io::Result<Conn> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    let mut tcp = None;
    for addr in ep.addrs()? {
        let t = remaining(deadline, "connecting")?.min(connect_timeout);
        match TcpStream::connect_timeout(&addr, t) {
            Ok(s) => {
                s.set_nodelay(true)?;
                tcp = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let Some(tcp) = tcp else {
        return Err(last);
    };
    if !ep.tls {
        return Ok(Conn::Plain(tcp));
    }
    let Some(config) = tls else {
        return Err(io::Error::other(
            "https endpoint without a TLS configuration",
        ));
    };
    let name = ServerName::try_from(ep.host.clone()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a host name TLS can verify", ep.host),
        )
    })?;
    let mut conn = ClientConnection::new(config.clone(), name)
        .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
    let mut sock = tcp;
    while conn.is_handshaking() {
        let t = remaining(deadline, "in the TLS handshake")?;
        sock.set_read_timeout(Some(t))?;
        sock.set_write_timeout(Some(t))?;
        match conn.complete_io(&mut sock) {
            Ok(_) => {}
            Err(e) => {
                if let Some(e) = failed_while(e, "in the TLS handshake", super::tls::explain) {
                    return Err(e);
                }
            }
        }
    }
    Ok(Conn::Tls(Box::new(StreamOwned::new(conn, sock))))
}

fn write_request(
    s: &mut Conn,
    ep: &Endpoint,
    path: &str,
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
        ep.host,
        ep.port,
        body.len(),
        if close { "Connection: close\r\n" } else { "" }
    );
    let mut msg = head.into_bytes();
    msg.extend_from_slice(body);
    s.write_all(&msg)?;
    s.flush()
}

/// The parsed response head.
#[derive(Debug)]
struct Head {
    status: u16,
    chunked: bool,
    length: Option<usize>,
}

fn parse_head(text: &str) -> io::Result<Head> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed HTTP response");
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or_else(bad)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let (mut chunked, mut length) = (false, None);
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if k == "content-length" {
            length = v.parse().ok();
        }
    }
    Ok(Head {
        status,
        chunked,
        length,
    })
}

/// Reads the head (through the blank line) byte by byte from a buffered reader.
fn read_head<R: BufRead>(r: &mut R) -> io::Result<Head> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = r.take(MAX_HEAD as u64).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before answering",
            ));
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response head too large",
            ));
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    parse_head(&String::from_utf8_lossy(&head))
}

/// A TLS-only etcd closes plain connections without a word: say what may be wrong.
fn hint_tls(ep: &Endpoint, e: io::Error) -> io::Error {
    if ep.tls || e.kind() != io::ErrorKind::UnexpectedEof {
        return e;
    }
    io::Error::new(
        e.kind(),
        format!(
            "{e} (if etcd serves TLS, write the endpoint as `https://{}:{}`)",
            ep.host, ep.port
        ),
    )
}

/// `POST path` with a JSON body; returns the status and the body. Every step must
/// finish before `timeout` from now.
pub(crate) fn post(
    ep: &Endpoint,
    tls: &Tls,
    path: &str,
    body: &[u8],
    timeout: Duration,
    connect_timeout: Duration,
) -> io::Result<(u16, Vec<u8>)> {
    let deadline = Instant::now() + timeout;
    let mut s = connect(ep, deadline, connect_timeout, tls)?;
    s.socket()
        .set_write_timeout(Some(remaining(deadline, "sending")?))?;
    write_request(&mut s, ep, path, body, true)?;
    // Read everything (the server closes), refreshing the read timeout so the whole
    // exchange stays within the deadline.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        s.socket()
            .set_read_timeout(Some(remaining(deadline, "waiting for the answer")?))?;
        match s.read(&mut buf) {
            Ok(0) => break,
            // A TLS peer that closes without close_notify after a complete answer.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !raw.is_empty() => break,
            Ok(n) => {
                raw.extend_from_slice(buf.get(..n).unwrap_or_default());
                if raw.len() > MAX_RESPONSE {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "response too large",
                    ));
                }
            }
            Err(e) => {
                if let Some(e) = failed_while(e, "waiting for the answer", |e| e) {
                    return Err(e);
                }
            }
        }
    }
    let mut r = BufReader::new(raw.as_slice());
    let head = read_head(&mut r).map_err(|e| hint_tls(ep, e))?;
    let mut body = Vec::new();
    if head.chunked {
        ChunkedReader::new(r).read_to_end(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
        if let Some(len) = head.length {
            body.truncate(len);
        }
    }
    Ok((head.status, body))
}

/// Opens a streaming `POST` (the watch): returns the status, the body reader (chunked
/// decoding applied) and a handle to shut the connection down from another thread.
pub(crate) fn open_stream(
    ep: &Endpoint,
    tls: &Tls,
    path: &str,
    body: &[u8],
    timeout: Duration,
    connect_timeout: Duration,
) -> io::Result<(u16, Box<dyn Read + Send>, TcpStream)> {
    let deadline = Instant::now() + timeout;
    let mut s = connect(ep, deadline, connect_timeout, tls)?;
    s.socket()
        .set_write_timeout(Some(remaining(deadline, "sending")?))?;
    write_request(&mut s, ep, path, body, false)?;
    s.socket()
        .set_read_timeout(Some(remaining(deadline, "waiting for the answer")?))?;
    let handle = s.socket().try_clone()?;
    let mut r = BufReader::new(s);
    let head = read_head(&mut r).map_err(|e| hint_tls(ep, e))?;
    // From here the stream is long-lived: no read timeout (the owner shuts it down).
    r.get_ref().socket().set_read_timeout(None)?;
    let reader: Box<dyn Read + Send> = if head.chunked {
        Box::new(ChunkedReader::new(r))
    } else {
        Box::new(r)
    };
    Ok((head.status, reader, handle))
}

/// Decodes `Transfer-Encoding: chunked`.
pub(crate) struct ChunkedReader<R> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: BufRead> ChunkedReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            left: 0,
            done: false,
        }
    }
}

impl<R: BufRead> Read for ChunkedReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            // Skip the CRLF that ends the previous chunk.
            loop {
                line.clear();
                let n = (&mut self.inner).take(1024).read_line(&mut line)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the stream ended",
                    ));
                }
                if !line.trim().is_empty() {
                    break;
                }
            }
            let size_text = line.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        let want = out.len().min(self.left);
        let n = self.inner.read(out.get_mut(..want).unwrap_or_default())?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream ended",
            ));
        }
        self.left -= n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_while_waiting() {
        use io::ErrorKind as K;
        let other = |e: io::Error| io::Error::other(format!("explained: {e}"));
        // (kind, the error returned, or None to retry)
        let cases = [
            (K::Interrupted, None),
            (K::WouldBlock, Some("timed out reading")),
            (K::TimedOut, Some("timed out reading")),
            (K::ConnectionReset, Some("explained: boom")),
        ];
        for (kind, want) in cases {
            let got = failed_while(io::Error::new(kind, "boom"), "reading", other);
            assert_eq!(got.map(|e| e.to_string()).as_deref(), want, "{kind:?}");
        }
    }

    #[test]
    fn endpoints() {
        let ok = [
            ("http://127.0.0.1:2379", "127.0.0.1", 2379, false),
            ("127.0.0.1:23790", "127.0.0.1", 23790, false),
            ("http://localhost:1/", "localhost", 1, false),
            ("http://[::1]:2379", "::1", 2379, false),
            ("https://etcd.example:2379", "etcd.example", 2379, true),
            ("https://[::1]:2379/", "::1", 2379, true),
        ];
        for (t, h, p, tls) in ok {
            let e = Endpoint::parse(t).unwrap();
            assert_eq!((e.host.as_str(), e.port, e.tls), (h, p, tls), "{t}");
        }
        assert_eq!(
            Endpoint::parse("https://a:1").unwrap().to_string(),
            "https://a:1"
        );
        for bad in ["ftp://a:1", "https://a", "http://a", "a:b", "http://:1", ""] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Endpoint::parse("http://[::1]:2").unwrap().to_string(),
            "http://[::1]:2"
        );
    }

    #[test]
    fn chunked_decoding() {
        let raw = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        let mut out = String::new();
        ChunkedReader::new(&raw[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "hello, world");
        let cut = b"5\r\nhel";
        let mut out = Vec::new();
        assert!(ChunkedReader::new(&cut[..]).read_to_end(&mut out).is_err());
    }

    #[test]
    fn heads() {
        let h = parse_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: x\r\n")
            .unwrap();
        assert!(h.chunked);
        assert_eq!(h.status, 200);
        let h = parse_head("HTTP/1.1 400 Bad Request\r\ncontent-length: 12").unwrap();
        assert_eq!((h.status, h.length, h.chunked), (400, Some(12), false));
        assert!(parse_head("garbage").is_err());
    }
}
