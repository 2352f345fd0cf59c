//! Response bodies read with hard size limits.
//!
//! kube-rs's own readers (`Client::request`, `Api::watch`) accept a body or a watch
//! line of any length, so one hostile or broken API server could make tabby hold
//! gigabytes. tabby sends its requests through `Client::send` and reads the body
//! itself, frame by frame, never holding more than the limit (plus one frame, whose
//! size hyper bounds).

use http_body_util::BodyExt;
use kube::client::Body;
use kube::core::Status;
use kube::Client;

/// A line or body longer than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLong;

/// Splits a byte stream into lines, each at most `max` bytes long before its `\n`
/// (a `\r` before the `\n` counts, then is dropped): the form of a Kubernetes watch
/// stream, one JSON event per line.
#[derive(Debug)]
pub(crate) struct Lines {
    pending: Vec<u8>,
    max: usize,
}

impl Lines {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            pending: Vec::new(),
            max,
        }
    }

    /// Appends `chunk` and moves every line it completes into `out`. A line longer
    /// than the limit is an error as soon as its first `max + 1` bytes have arrived,
    /// whatever its chunks; the held remainder never exceeds the limit.
    pub(crate) fn push(&mut self, mut chunk: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), TooLong> {
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            let (line, rest) = chunk.split_at(end);
            self.append(line)?;
            let mut line = std::mem::take(&mut self.pending);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            out.push(line);
            chunk = rest.get(1..).unwrap_or_default();
        }
        self.append(chunk)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        if self.pending.len().saturating_add(bytes.len()) > self.max {
            self.pending = Vec::new();
            return Err(TooLong);
        }
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    /// The unfinished last line (the stream ended without a line end), if any.
    pub(crate) fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.is_empty()).then_some(rest)
    }
}

/// Why a bounded body read failed.
#[derive(Debug)]
pub(crate) enum CollectError {
    TooLong,
    Read(kube::Error),
}

/// The whole body, if it is at most `max` bytes long.
pub(crate) async fn collect(body: &mut Body, max: usize) -> Result<Vec<u8>, CollectError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(CollectError::Read)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if out.len().saturating_add(data.len()) > max {
            return Err(CollectError::TooLong);
        }
        out.extend_from_slice(&data);
    }
    Ok(out)
}

/// Why a bounded request failed.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// The answer is longer than the limit.
    TooLong,
    /// Anything else; an error status (4xx, 5xx) is `kube::Error::Api` with its `Status`.
    Kube(kube::Error),
}

/// Sends `request` through kube-rs's client (which adds the server, TLS and
/// credentials) and reads the answer, if it is at most `max` bytes long: kube-rs's
/// `Client::request` reads answers of any length.
pub(crate) async fn fetch(
    client: &Client,
    request: http::Request<Vec<u8>>,
    max: usize,
) -> Result<Vec<u8>, FetchError> {
    let response = client
        .send(request.map(Body::from))
        .await
        .map_err(FetchError::Kube)?;
    let status = response.status();
    let mut body = response.into_body();
    if status.is_client_error() || status.is_server_error() {
        let s = error_status(status.as_u16(), &mut body).await;
        return Err(FetchError::Kube(kube::Error::Api(s.boxed())));
    }
    collect(&mut body, max).await.map_err(|e| match e {
        CollectError::TooLong => FetchError::TooLong,
        CollectError::Read(e) => FetchError::Kube(e),
    })
}

/// [`fetch`], then the answer parsed as JSON.
pub(crate) async fn fetch_json<T: serde::de::DeserializeOwned>(
    client: &Client,
    request: http::Request<Vec<u8>>,
    max: usize,
) -> Result<T, FetchError> {
    let bytes = fetch(client, request, max).await?;
    serde_json::from_slice(&bytes).map_err(|e| FetchError::Kube(kube::Error::SerdeError(e)))
}

/// Longest error answer read: a `Status` is a few hundred bytes.
pub(crate) const MAX_ERROR_BYTES: usize = 64 * 1024;

/// The `Status` of an error answer (4xx, 5xx). A body that is not a `Status` (a
/// proxy's HTML page), too long, or cut off still gives a `Status` with the code.
pub(crate) async fn error_status(code: u16, body: &mut Body) -> Status {
    let text = match collect(body, MAX_ERROR_BYTES).await {
        Ok(bytes) => bytes,
        Err(CollectError::TooLong) => {
            return Status::failure(
                &format!("an error answer longer than {MAX_ERROR_BYTES} bytes"),
                "",
            )
            .with_code(code)
        }
        Err(CollectError::Read(e)) => {
            return Status::failure(&format!("the error answer was cut off: {e}"), "")
                .with_code(code)
        }
    };
    match serde_json::from_slice::<Status>(&text) {
        Ok(mut s) => {
            s.code = code;
            s
        }
        Err(_) => {
            let text = String::from_utf8_lossy(&text);
            Status::failure(text.trim(), "").with_code(code)
        }
    }
}

/// `n` bytes as people read it: `16 MiB`, `64 KiB`, `1000 bytes`.
pub(crate) fn human(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `chunks` with limit `max`; the lines, then the unfinished rest or the error.
    fn split(chunks: &[&[u8]], max: usize) -> (Vec<String>, Result<Option<String>, TooLong>) {
        let mut lines = Lines::new(max);
        let mut out = Vec::new();
        for c in chunks {
            if let Err(e) = lines.push(c, &mut out) {
                return (strings(out), Err(e));
            }
            assert!(lines.pending.len() <= max, "held more than the limit");
        }
        let rest = lines
            .finish()
            .map(|r| String::from_utf8(r).unwrap_or_default());
        (strings(out), Ok(rest))
    }

    fn strings(v: Vec<Vec<u8>>) -> Vec<String> {
        v.into_iter()
            .map(|l| String::from_utf8(l).unwrap_or_default())
            .collect()
    }

    #[test]
    fn splits_lines_whatever_the_chunks() {
        type Case = (
            &'static [&'static [u8]],
            usize,
            &'static [&'static str],
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            (&[b"a\nbb\n"], 4, &["a", "bb"], None),
            (&[b"a", b"\n", b"b", b"b", b"\n"], 4, &["a", "bb"], None),
            (&[b"abcd\n"], 4, &["abcd"], None),
            (&[b"ab", b"cd", b"\n"], 4, &["abcd"], None),
            (&[b"abc\r\n", b"x\r", b"\n"], 4, &["abc", "x"], None),
            (&[b"ab\r", b"\ncd"], 4, &["ab"], Some("cd")),
            (&[b"\n\n"], 4, &["", ""], None),
            (&[b"a\nrest"], 4, &["a"], Some("rest")),
            (&[b""], 4, &[], None),
        ];
        for (chunks, max, lines, rest) in cases {
            let (got, r) = split(chunks, *max);
            assert_eq!(got, *lines, "{chunks:?}");
            assert_eq!(r, Ok(rest.map(str::to_owned)), "{chunks:?}");
        }
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_in_any_chunking() {
        let cases: &[&[&[u8]]] = &[
            &[b"abcde\n"],
            &[b"ok\nabcde"],
            &[b"a", b"b", b"c", b"d", b"e"],
            &[b"abcd", b"\r\n"],
            &[b"abc", b"de", b"\n"],
        ];
        for chunks in cases {
            let (_, r) = split(chunks, 4);
            assert_eq!(r, Err(TooLong), "{chunks:?}");
        }
    }

    #[test]
    fn an_endless_line_is_stopped_after_the_limit() {
        let mut lines = Lines::new(1000);
        let mut out = Vec::new();
        let chunk = [b'x'; 7];
        let mut pushed = 0usize;
        let err = loop {
            match lines.push(&chunk, &mut out) {
                Ok(()) => pushed += chunk.len(),
                Err(e) => break e,
            }
            assert!(pushed <= 1000 && lines.pending.len() <= 1000);
        };
        assert_eq!(err, TooLong);
        assert!(out.is_empty());
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        for (n, s) in [
            (16 * 1024 * 1024, "16 MiB"),
            (64 * 1024, "64 KiB"),
            (1000, "1000 bytes"),
            (1536, "1536 bytes"),
        ] {
            assert_eq!(human(n), s);
        }
    }
}
