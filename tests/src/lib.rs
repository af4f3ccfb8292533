//! The harness for Guild's HTTP tests: the real app, in process, on a fresh database.
//!
//! A test makes a [`TestApp`] and speaks to it the one way every test does: `app.get(uri, token)`,
//! `app.post(uri, token, body)` (and `put`, `patch`, `delete`), each a [`Request`] that headers
//! (`.if_match`, `.idempotency_key`, `.header`) refine before it is awaited into a [`Reply`]. The
//! fixtures on [`TestApp`] (`owner`, `member`, `published_module`, `quiz`, `group`, …) make what
//! tests need before they test something; [`assert_problem`] checks an error reply; [`sse`] reads
//! an event stream frame by frame; [`openai::FakeOpenAi`] is an HTTP fake of the OpenAI API.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use actix_web::web;
use guild_api::{AppState, build_app_with};
use guild_testkit::TestDb;

mod app;
mod fixtures;
pub mod oidc;
pub mod openai;
pub mod sse;
pub mod webhooks;

pub use app::{IntoRequest, Request, TestApp};
pub use fixtures::{fields, id};

/// A response's status, headers and JSON body.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: actix_web::http::header::HeaderMap,
    /// The body, parsed as JSON (`Null` when it is not JSON).
    pub json: serde_json::Value,
    /// The body as text (lossy).
    pub text: String,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `req` and collects the reply.
pub async fn send<S, B>(service: &S, req: actix_http::Request) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(service, req).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Reply {
        status,
        headers,
        json,
        text,
        body: bytes.to_vec(),
    }
}

/// Asserts `reply` is a problem with `status` and `code`, carrying the request id of the response.
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.json["status"], status);
    assert_eq!(reply.json["code"], code, "{}", reply.text);
    assert_eq!(reply.json["type"], format!("urn:guild:problem:{code}"));
    assert!(reply.json["title"].is_string());
    let id = reply.header("x-request-id").expect("x-request-id header");
    assert_eq!(
        reply.json["request_id"], id,
        "request_id differs from the header"
    );
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Runs `sql`, a query selecting one `count(*) AS n`, on the world's database (row-level
/// security does not apply to this connection).
pub async fn count(world: &World, sql: &str) -> i64 {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(sql)
        .get_result::<Count>(&mut world.db.conn().await)
        .await
        .map(|c| c.n)
        .expect(sql)
}

/// Runs `sql` (statements separated by `;`, no result) on the world's database, as the
/// connecting role (row-level security does not apply): fixtures too large to make through the
/// API.
pub async fn execute(world: &World, sql: &str) {
    use diesel_async::SimpleAsyncConnection;
    world
        .db
        .conn()
        .await
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

#[derive(diesel::QueryableByName)]
struct Event {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    payload: String,
}

/// The outbox events whose kind is `LIKE kind_like`, oldest first, with their payloads.
pub async fn events(world: &World, kind_like: &str) -> Vec<(String, serde_json::Value)> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "SELECT kind, payload::text AS payload FROM outbox_events \
         WHERE kind LIKE $1 ORDER BY created_at, kind",
    )
    .bind::<diesel::sql_types::Text, _>(kind_like)
    .load::<Event>(&mut world.db.conn().await)
    .await
    .unwrap_or_default()
    .into_iter()
    .map(|e| (e.kind, serde_json::from_str(&e.payload).unwrap_or_default()))
    .collect()
}

/// The app plus what tests reach behind it: its database, its state and the recorded emails.
pub struct World {
    /// The test's database.
    pub db: TestDb,
    /// The state the app was built with.
    pub state: AppState,
    /// Every email the app sent.
    pub mail: guild_integrations::mail::RecordingMailer,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// The signing secret of test apps, so tests can forge tokens.
pub const TEST_SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// Another instance of the app over `state` (a clone of a [`World`]'s, with its own adapters if
/// the test swaps them), for requests whose body a test reads a frame at a time (event streams)
/// or that must reach a second instance.
pub async fn instance(
    state: AppState,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> + 'static {
    serve(state, Box::new(|_| {})).await
}

/// The app service over `state`; not generic over the test's closures, so its type names none.
async fn serve(
    state: AppState,
    extra: Box<dyn FnOnce(&mut web::ServiceConfig)>,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> + 'static {
    test::init_service(build_app_with(state, extra)).await
}

impl World {
    /// A fresh database and the state test apps run on: a known signing secret, a recording
    /// mailer and no actor cache, adjusted by `configure`.
    async fn new(configure: impl FnOnce(&mut AppState)) -> Self {
        Self::on(TestDb::new().await, configure)
    }

    /// [`World::new`] on `db`.
    fn on(db: TestDb, configure: impl FnOnce(&mut AppState)) -> Self {
        let mut state = AppState::new(db.pool());
        let mail = guild_integrations::mail::RecordingMailer::new();
        state.mailer = std::sync::Arc::new(mail.clone());
        state.tokens = std::sync::Arc::new(guild_api::auth::TokenKeys::new(
            TEST_SECRET,
            "guild",
            std::time::Duration::from_secs(900),
        ));
        state.actors =
            std::sync::Arc::new(guild_api::auth::ActorCache::new(std::time::Duration::ZERO));
        configure(&mut state);
        Self { db, state, mail }
    }

    /// Runs the worker until nothing is due (delivers queued emails).
    pub async fn run_worker(&self) {
        let worker = guild_db::worker::Worker::new(
            self.db.pool(),
            guild_api::server::registry(&self.state),
            guild_db::worker::WorkerConfig::default(),
        );
        while !worker.run_once().await.expect("worker pass").is_idle() {}
    }

    /// Queues a job of `kind` with an empty payload, as the scheduler would; `run_worker` runs it.
    pub async fn queue_job(&self, kind: &str) {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(
            "INSERT INTO jobs (id, kind, payload, max_attempts) \
             VALUES (gen_random_uuid(), $1, '{}', 5)",
        )
        .bind::<diesel::sql_types::Text, _>(kind)
        .execute(&mut self.db.conn().await)
        .await
        .expect("queue the job");
    }

    /// The token in the last email to `to`.
    pub fn token_mailed_to(&self, to: &str) -> String {
        let email = self
            .mail
            .last_to(to)
            .unwrap_or_else(|| panic!("no email to {to}"));
        let token = email.text.split("token=").nth(1).expect("a token link");
        token
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The access token in a token pair (or a sign-up reply).
pub fn access(pair: &serde_json::Value) -> String {
    pair.get("tokens").unwrap_or(pair)["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// The content type and body of a multipart/form-data form: `bytes` as the file `file_name`, and
/// a title if given.
fn multipart_body(file_name: &str, bytes: &[u8], title: Option<&str>) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "guild-test-boundary-7MA4YWxk";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n");
    if let Some(title) = title {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A minimal HTTP/1.1 client for URLs the app hands out (signed storage URLs): sends one request
/// and returns the status and body.
pub async fn http_call(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect to the storage server");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    stream.write_all(body).await.expect("send the body");
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .await
        .expect("read the reply");
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a reply with headers");
    let head = String::from_utf8_lossy(&reply[..split]).to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let mut content = reply[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = content.as_slice();
        while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
                .unwrap_or(0);
            if size == 0 {
                break;
            }
            let start = line_end + 2;
            out.extend_from_slice(&rest[start..start + size]);
            rest = &rest[start + size + 2..];
        }
        content = out;
    }
    (status, content)
}

/// A loopback port nothing listens on, for a server a test starts.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A moto S3 server on a free loopback port with one bucket, stopped on drop.
#[derive(Debug)]
pub struct MotoS3 {
    child: std::process::Child,
    /// A configuration for its bucket.
    pub config: guild_integrations::storage::S3Config,
}

impl MotoS3 {
    /// Starts `python3 -m moto.server` (installed by `make test`) and creates a bucket.
    pub async fn start() -> Self {
        let port = free_port();
        let child = std::process::Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto (run `make test`, which installs it)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "moto did not start; run `make test`, which installs it"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let config = guild_integrations::storage::S3Config {
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            region: "us-east-1".to_owned(),
            bucket: "guild-media".to_owned(),
            access_key_id: "testing".to_owned(),
            secret_access_key: "testing".to_owned(),
            path_style: true,
        };
        let store =
            guild_integrations::storage::S3BlobStore::new(config.clone()).expect("an S3 store");
        store
            .client()
            .create_bucket()
            .bucket("guild-media")
            .send()
            .await
            .expect("create the bucket");
        Self { child, config }
    }
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message an [`SmtpSink`] received, decoded the way a mail client would.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `To` header.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (empty without one).
    pub html: String,
    /// The `List-Unsubscribe` header (empty without one).
    pub list_unsubscribe: String,
    /// The `List-Unsubscribe-Post` header (empty without one).
    pub list_unsubscribe_post: String,
    /// The `Reply-To` header (empty without one).
    pub reply_to: String,
    /// The `Message-ID` header (empty without one).
    pub message_id: String,
    /// The `References` header (empty without one).
    pub references: String,
    /// The message as it was received.
    pub raw: Vec<u8>,
}

impl Received {
    /// The token of the link in the body (`…?token=…`), if any.
    pub fn token(&self) -> Option<String> {
        let rest = self.text.split("token=").nth(1)?;
        Some(rest.split_whitespace().next()?.to_owned())
    }
}

/// A real SMTP server on a free loopback port (Python's `aiosmtpd`, which `make test` installs),
/// writing what it receives to a Maildir; killed and removed on drop.
#[derive(Debug)]
pub struct SmtpSink {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

/// Prints `To`, `Subject`, the plain and HTML bodies, the unsubscribe headers and the reply and
/// threading headers of one message, NUL-separated.
const PARSE_MESSAGE: &str = r#"
import email, email.policy, sys
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
plain = msg.get_body(("plain",))
html = msg.get_body(("html",))
sys.stdout.write("\0".join([
    msg["To"] or "",
    msg["Subject"] or "",
    plain.get_content() if plain is not None else "",
    html.get_content() if html is not None else "",
    msg["List-Unsubscribe"] or "",
    msg["List-Unsubscribe-Post"] or "",
    msg["Reply-To"] or "",
    msg["Message-ID"] or "",
    msg["References"] or "",
]))
"#;

impl SmtpSink {
    /// Starts the server and waits until it listens.
    pub fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "guild-smtp-{}-{port}-{}",
            std::process::id(),
            uuid::Uuid::now_v7()
        ));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.join("maildir"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start python3 -m aiosmtpd (run `make test`, which installs it)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start; run `make test`, which installs it"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, port, dir }
    }

    /// The `GUILD_SMTP_URL` of this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// A mailer that delivers here, as `guild serve` builds it from `GUILD_SMTP_URL`.
    pub fn mailer(&self) -> guild_integrations::mail::SmtpMailer {
        guild_integrations::mail::SmtpMailer::new(
            &self.url(),
            "Guild <no-reply@guild.local>",
            std::time::Duration::from_secs(10),
        )
        .expect("an SMTP configuration")
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("maildir").join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| {
                let modified = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (modified, e.path())
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|(_, path)| {
                let out = std::process::Command::new("python3")
                    .args(["-c", PARSE_MESSAGE])
                    .arg(path)
                    .output()
                    .expect("python3 parses the message");
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let mut fields = text.split('\0').map(str::to_owned);
                Received {
                    to: fields.next().unwrap_or_default(),
                    subject: fields.next().unwrap_or_default(),
                    text: fields.next().unwrap_or_default(),
                    html: fields.next().unwrap_or_default(),
                    list_unsubscribe: fields.next().unwrap_or_default(),
                    list_unsubscribe_post: fields.next().unwrap_or_default(),
                    reply_to: fields.next().unwrap_or_default(),
                    message_id: fields.next().unwrap_or_default(),
                    references: fields.next().unwrap_or_default(),
                    raw: std::fs::read(path).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// `mailer` (the app's recording one, so fixtures still read invitation links) and this
    /// server both getting every email, the server after `mailer` accepted it.
    pub fn alongside(
        &self,
        mailer: std::sync::Arc<dyn guild_kernel::ports::Mailer>,
    ) -> std::sync::Arc<dyn guild_kernel::ports::Mailer> {
        std::sync::Arc::new(Tee(mailer, self.mailer()))
    }

    /// The messages received for `to`, oldest first.
    pub fn received_by(&self, to: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.to.contains(to))
            .collect()
    }
}

/// Sends every email through both mailers, in order; fails as the first that fails.
#[derive(Debug)]
struct Tee(
    std::sync::Arc<dyn guild_kernel::ports::Mailer>,
    guild_integrations::mail::SmtpMailer,
);

impl guild_kernel::ports::Mailer for Tee {
    fn send<'a>(
        &'a self,
        email: &'a guild_kernel::ports::Email,
    ) -> guild_kernel::ports::BoxFuture<'a, Result<(), guild_kernel::ports::MailError>> {
        Box::pin(async move {
            self.0.send(email).await?;
            self.1.send(email).await
        })
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What Python's `icalendar` (an independent parser) reads in `ics`: each VEVENT's UID,
/// SEQUENCE, DTSTART's TZID and local time, STATUS, LOCATION, ORGANIZER and ATTENDEE; the
/// calendar's METHOD; and the TZID of each VTIMEZONE.
pub fn parse_ics(ics: &str) -> serde_json::Value {
    use std::io::Write;
    let script = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.read())
events = []
for e in cal.walk("VEVENT"):
    start = e.get("DTSTART")
    events.append({
        "uid": str(e.get("UID")),
        "sequence": int(e.get("SEQUENCE")),
        "tzid": start.params.get("TZID"),
        "start": start.dt.isoformat(),
        "status": str(e.get("STATUS")),
        "location": str(e.get("LOCATION")),
        "organizer": str(e.get("ORGANIZER")),
        "attendee": str(e.get("ATTENDEE")),
    })
zones = [str(z.get("TZID")) for z in cal.walk("VTIMEZONE")]
print(json.dumps({"method": str(cal.get("METHOD")), "events": events, "zones": zones}))
"#;
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ics.as_bytes())
        .expect("write the file");
    let out = child.wait_with_output().expect("python3 ends");
    assert!(out.status.success(), "the parser refused:\n{ics}");
    serde_json::from_slice(&out.stdout).expect("the parser's JSON")
}

/// The text of each page of `pdf` as lopdf (a reader independent of the writer) parses it: every
/// `Tj` string decoded through its font's `ToUnicode` map, one line per string.
pub fn pdf_text(pdf: &[u8]) -> Vec<String> {
    use lopdf::{Document, Object, content::Content};
    use std::collections::HashMap;

    /// Glyph id → character, from a font's `ToUnicode` CMap (`<gid> <unicode>` pairs).
    fn to_unicode(doc: &Document, font: &lopdf::Dictionary) -> HashMap<u16, char> {
        let Some(stream) = font
            .get(b"ToUnicode")
            .and_then(Object::as_reference)
            .and_then(|id| doc.get_object(id))
            .and_then(Object::as_stream)
            .ok()
        else {
            return HashMap::new();
        };
        let bytes = stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone());
        let text = String::from_utf8_lossy(&bytes);
        let mut map = HashMap::new();
        let mut inside = false;
        for line in text.lines() {
            let line = line.trim();
            if line.ends_with("beginbfchar") {
                inside = true;
            } else if line == "endbfchar" {
                inside = false;
            } else if inside {
                let hex: Vec<&str> = line
                    .split(['<', '>', ' '])
                    .filter(|s| !s.is_empty())
                    .collect();
                if let [gid, code] = hex[..] {
                    let gid = u16::from_str_radix(gid, 16).expect("a glyph id");
                    let code = u32::from_str_radix(code, 16).expect("a code point");
                    map.insert(gid, char::from_u32(code).unwrap_or('\u{fffd}'));
                }
            }
        }
        map
    }

    let doc = Document::load_mem(pdf).expect("a PDF lopdf reads");
    doc.get_pages()
        .values()
        .map(|&page| {
            // The page's /Resources and its /Font may each be a reference (printpdf writes
            // both so), which lopdf's own font lookup does not follow.
            let dict = |object: &Object| -> Option<lopdf::Dictionary> {
                doc.dereference(object).ok()?.1.as_dict().ok().cloned()
            };
            let fonts: HashMap<Vec<u8>, HashMap<u16, char>> = doc
                .get_dictionary(page)
                .ok()
                .and_then(|p| dict(p.get(b"Resources").ok()?))
                .and_then(|r| dict(r.get(b"Font").ok()?))
                .map(|fonts| {
                    fonts
                        .iter()
                        .filter_map(|(name, font)| {
                            Some((name.clone(), to_unicode(&doc, &dict(font)?)))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let content = Content::decode(&doc.get_page_content(page).expect("the page's content"))
                .expect("a content stream lopdf reads");
            let mut font: Option<&HashMap<u16, char>> = None;
            let mut out = String::new();
            for op in content.operations {
                match op.operator.as_str() {
                    "Tf" => {
                        font = op
                            .operands
                            .first()
                            .and_then(|n| n.as_name().ok())
                            .and_then(|n| fonts.get(n));
                    }
                    "Tj" => {
                        let bytes = op
                            .operands
                            .first()
                            .and_then(|s| s.as_str().ok())
                            .unwrap_or_default();
                        let map = font.expect("a font is set before text");
                        out.extend(bytes.chunks(2).map(|pair| {
                            let gid = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
                            map.get(&gid).copied().unwrap_or('\u{fffd}')
                        }));
                        out.push('\n');
                    }
                    _ => {}
                }
            }
            out
        })
        .collect()
}
