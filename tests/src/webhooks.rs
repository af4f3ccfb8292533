//! A webhook receiver on loopback for the tests: it records every request it gets and answers
//! with the status it is told to, and [`verify`] checks a recorded request with the
//! `standardwebhooks` package from PyPI (installed by `scripts/test.sh`), as a receiver would.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The request line's path.
    pub path: String,
    /// Its headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// Its body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The receiver: `https://127.0.0.1:<port>/…` URLs reach it over plain http under the guard's
/// test switch.
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    port: u16,
    status: Arc<AtomicU16>,
    got: Arc<Mutex<Vec<Recorded>>>,
}

impl WebhookReceiver {
    /// Listens on a free loopback port, answering 200 until told otherwise.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let receiver = Self {
            port,
            status: Arc::new(AtomicU16::new(200)),
            got: Arc::new(Mutex::new(Vec::new())),
        };
        let (status, got) = (receiver.status.clone(), receiver.got.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (status, got) = (status.clone(), got.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    got.lock().expect("the log").push(request);
                    let code = status.load(Ordering::SeqCst);
                    let body = format!("{{\"received\":true,\"status\":{code}}}");
                    let reply = format!(
                        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        receiver
    }

    /// An endpoint URL on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// Answer every later request with `status`.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Recorded> {
        self.got.lock().expect("the log").clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split_whitespace().nth(1)?.to_owned();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        path,
        headers,
        body: buf[head_end..head_end + length].to_vec(),
    })
}

/// Verifies a request with `standardwebhooks.Webhook(secret).verify(body, headers)` as the
/// library does at `now` (unix seconds; the library compares the timestamp with its clock, so a
/// test on a manual clock passes that clock's time). `Ok` with the parsed payload, or the
/// library's error.
pub fn verify(
    secret: &str,
    request: &Recorded,
    now: Option<i64>,
) -> Result<serde_json::Value, String> {
    const SCRIPT: &str = r#"
import json, sys
from datetime import datetime, timezone
import standardwebhooks.webhooks as wh
job = json.load(sys.stdin)
if job["now"] is not None:
    fixed = datetime.fromtimestamp(job["now"], tz=timezone.utc)
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return fixed
    wh.datetime = Frozen
try:
    out = wh.Webhook(job["secret"]).verify(job["body"].encode("latin-1"), job["headers"])
    print(json.dumps({"ok": out}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
"#;
    let job = serde_json::json!({
        "secret": secret,
        "headers": request.headers,
        "body": request.body.iter().map(|b| char::from(*b)).collect::<String>(),
        "now": now,
    });
    let mut child = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with standardwebhooks (run `make test`, which installs it)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(job.to_string().as_bytes())
            .expect("write the job");
    }
    let out = child.wait_with_output().expect("python3 finished");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("python3 answered {}", String::from_utf8_lossy(&out.stdout)));
    match answer.get("ok") {
        Some(ok) => Ok(ok.clone()),
        None => Err(answer["error"].as_str().unwrap_or("?").to_owned()),
    }
}
