//! Email: `SmtpMailer` against a real SMTP server on loopback, and the `RecordingMailer`.
//!
//! The server is Python's `aiosmtpd` (`pip install aiosmtpd`; `make test` installs it), started
//! per test on a free port with its Maildir handler, so a test reads what was delivered from disk.
//! The handler refuses recipients whose local part starts with `reject` (550), `defer` (451) or
//! `auth` (530), so the error mapping is checked against real SMTP replies. The delivered messages are parsed with
//! Python's `email` package, which decodes MIME the way a mail client would.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use guild_integrations::IntegrationError;
use guild_integrations::mail::{RecordingMailer, SmtpMailer};
use guild_kernel::ports::{Attachment, Email, MailError, Mailer};

const FROM: &str = "Guild <no-reply@guild.local>";
const TIMEOUT: Duration = Duration::from_secs(10);

/// An aiosmtpd Maildir handler that refuses some recipients, the way real servers do.
const HANDLER: &str = r#"
from aiosmtpd.handlers import Mailbox


class PolicyMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("defer"):
            return "451 4.3.0 Mailbox busy, try again later"
        if local.startswith("auth"):
            return "530 5.7.0 Authentication required"
        envelope.rcpt_tos.append(address)
        return "250 OK"
"#;

/// Prints the decoded fields of one delivered message, NUL-separated.
const PARSE: &str = r#"
import email, email.policy, sys
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
plain = msg.get_body(("plain",))
email.message.EmailMessage.get_content_type_params_str = lambda m: ";".join(
    k + "=" + v for k, v in m.get_params()[1:])
html = msg.get_body(("html",))
fields = [
    msg["X-RcptTo"] or "",
    msg["X-MailFrom"] or "",
    msg["To"] or "",
    msg["From"] or "",
    msg["Subject"] or "",
    msg.get_content_type(),
    plain.get_content() if plain is not None else "",
    html.get_content() if html is not None else "",
    msg["Message-ID"] or "",
    msg["List-Unsubscribe"] or "",
    msg["List-Unsubscribe-Post"] or "",
    "\x1e".join(
        a.get_filename() + "\x1f" + a.get_content_type() + "\x1f"
        + a.get_content_type_params_str() + "\x1f"
        + a.get_payload(decode=True).decode("utf-8")
        for a in msg.iter_attachments()
    ),
]
sys.stdout.write("\0".join(fields))
"#;

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "guild-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port on loopback that nothing listens on (at the moment this returns).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// Fails the test, with the fix, when aiosmtpd (or Python) is missing.
fn require_aiosmtpd() {
    const FIX: &str = "run `pip install aiosmtpd` (or `make test`, which installs it)";
    match Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr.lines().last().unwrap_or("no error output");
            panic!("the SMTP tests need the Python package aiosmtpd ({reason}): {FIX}")
        }
        Err(e) => panic!(
            "the SMTP tests need python3 with aiosmtpd, but python3 did not run ({e}): {FIX}"
        ),
    }
}

/// An aiosmtpd server on 127.0.0.1, killed (and its Maildir removed) on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl SmtpSink {
    fn start() -> Self {
        require_aiosmtpd();
        let dir = TempDir::new("smtp");
        std::fs::write(dir.0.join("guild_smtp_sink.py"), HANDLER).expect("write the handler");
        let log = std::fs::File::create(dir.0.join("server.log")).expect("create the server log");
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "guild_smtp_sink.PolicyMailbox"])
            .arg(dir.0.join("maildir"))
            .env("PYTHONPATH", &dir.0)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .expect("start python3 -m aiosmtpd");
        let mut sink = Self { child, port, dir };
        sink.wait_until_listening(Duration::from_secs(20));
        sink
    }

    fn wait_until_listening(&mut self, limit: Duration) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll aiosmtpd") {
                panic!(
                    "aiosmtpd exited ({status}) before listening:\n{}",
                    self.log()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {addr} within {limit:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("server.log")).unwrap_or_default()
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn mailer(&self) -> SmtpMailer {
        SmtpMailer::new(&self.url(), FROM, TIMEOUT).expect("a valid SMTP configuration")
    }

    /// The messages delivered so far.
    fn delivered(&self) -> Vec<Delivered> {
        let new = self.dir.0.join("maildir").join("new");
        let Ok(entries) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|e| e.expect("read the maildir").path())
            .collect();
        // Maildir names are `<seconds>.M<microseconds>P<pid>Q<count>.<host>`, the microseconds
        // not zero-padded: ordered as numbers, in the order the sink stored them.
        paths.sort_by_cached_key(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            name.split(|c: char| !c.is_ascii_digit())
                .filter(|part| !part.is_empty())
                .take(4)
                .map(|part| part.parse::<u128>().unwrap_or(u128::MAX))
                .collect::<Vec<_>>()
        });
        paths.iter().map(|p| Delivered::parse(p)).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One delivered message, as a mail client decodes it.
#[derive(Debug)]
struct Delivered {
    envelope_to: String,
    envelope_from: String,
    to: String,
    from: String,
    subject: String,
    content_type: String,
    text: String,
    html: String,
    message_id: String,
    list_unsubscribe: String,
    list_unsubscribe_post: String,
    /// Each attachment: file name, media type, its parameters (`k=v;…`) and decoded text.
    attachments: Vec<[String; 4]>,
    raw: String,
}

impl Delivered {
    fn parse(path: &Path) -> Self {
        let out = Command::new("python3")
            .args(["-c", PARSE])
            .arg(path)
            .output()
            .expect("run python3 to parse the message");
        assert!(
            out.status.success(),
            "parsing {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("UTF-8 from the parser");
        let fields: Vec<&str> = text.split('\0').collect();
        let [
            envelope_to,
            envelope_from,
            to,
            from,
            subject,
            content_type,
            plain,
            html,
            message_id,
            list_unsubscribe,
            list_unsubscribe_post,
            attachments,
        ] = fields[..]
        else {
            panic!("unexpected parser output: {fields:?}");
        };
        let mut raw = String::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut raw))
            .expect("read the raw message");
        Self {
            envelope_to: envelope_to.to_owned(),
            envelope_from: envelope_from.to_owned(),
            to: to.to_owned(),
            from: from.to_owned(),
            subject: subject.to_owned(),
            content_type: content_type.to_owned(),
            text: plain.to_owned(),
            html: html.to_owned(),
            message_id: message_id.to_owned(),
            list_unsubscribe: list_unsubscribe.to_owned(),
            list_unsubscribe_post: list_unsubscribe_post.to_owned(),
            attachments: attachments
                .split('\x1e')
                .filter(|a| !a.is_empty())
                .map(|a| {
                    let parts: Vec<String> = a.split('\x1f').map(str::to_owned).collect();
                    parts.try_into().expect("four fields per attachment")
                })
                .collect(),
            raw,
        }
    }
}

fn email(to: &str, subject: &str, text: &str, html: Option<&str>) -> Email {
    Email {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: text.to_owned(),
        html: html.map(str::to_owned),
        headers: Vec::new(),
        attachments: Vec::new(),
    }
}

// --- SMTP delivery -----------------------------------------------------------------------------

#[tokio::test]
async fn delivers_a_plain_text_email() {
    let sink = SmtpSink::start();
    let text =
        "Welcome to Guild.\n\nConfirm your address: https://guild.local/verify?token=abc123\n";
    sink.mailer()
        .send(&email(
            "learner@example.com",
            "Confirm your address",
            text,
            None,
        ))
        .await
        .expect("delivered");

    let delivered = sink.delivered();
    let [message] = &delivered[..] else {
        panic!(
            "expected one message, got {delivered:#?}\nserver log:\n{}",
            sink.log()
        );
    };
    assert_eq!(message.envelope_to, "learner@example.com");
    assert_eq!(message.envelope_from, "no-reply@guild.local");
    assert_eq!(message.to, "learner@example.com");
    assert_eq!(message.from, "Guild <no-reply@guild.local>");
    assert_eq!(message.subject, "Confirm your address");
    assert_eq!(message.content_type, "text/plain");
    assert_eq!(
        message.text.replace("\r\n", "\n").trim_end(),
        text.trim_end()
    );
    assert_eq!(message.html, "");
    assert!(message.message_id.starts_with('<') && message.message_id.contains('@'));
}

#[tokio::test]
async fn delivers_html_alternative_and_non_ascii_text() {
    let sink = SmtpSink::start();
    let mailer = sink.mailer();
    let text = "Bonjour Zoé, votre lien : https://guild.local/reset?token=xyz789 ✓";
    let html = "<p>Bonjour Zoé, <a href=\"https://guild.local/reset?token=xyz789\">réinitialiser</a> ✓</p>";
    mailer
        .send(&email(
            "Zoé Martin <zoe@example.org>",
            "Réinitialisez votre mot de passe ✓",
            text,
            Some(html),
        ))
        .await
        .expect("delivered");

    let delivered = sink.delivered();
    let [message] = &delivered[..] else {
        panic!("expected one message, got {delivered:#?}");
    };
    assert_eq!(message.envelope_to, "zoe@example.org");
    assert_eq!(message.to, "Zoé Martin <zoe@example.org>");
    assert_eq!(message.subject, "Réinitialisez votre mot de passe ✓");
    assert_eq!(message.content_type, "multipart/alternative");
    assert_eq!(message.text.trim_end(), text);
    assert_eq!(message.html.trim_end(), html);
    // Encoded for transport: the raw message is ASCII, so no server needs 8BITMIME/SMTPUTF8.
    assert!(
        message.raw.is_ascii(),
        "raw message is not ASCII:\n{}",
        message.raw
    );
}

#[tokio::test]
async fn sends_attachments_after_the_text_and_html_and_refuses_a_bad_file_name() {
    let sink = SmtpSink::start();
    let mailer = sink.mailer();
    let calendar = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n";
    let mut invitation = email(
        "learner@example.com",
        "Registered: Forklift drill",
        "See you there.",
        Some("<p>See you there.</p>"),
    );
    invitation.attachments.push(Attachment {
        filename: "event.ics".to_owned(),
        content_type: "text/calendar; method=REQUEST; charset=UTF-8".to_owned(),
        content: calendar.as_bytes().to_vec(),
    });
    mailer.send(&invitation).await.expect("delivered");

    let mut plain = email("learner@example.com", "Plain", "Only text.", None);
    plain.attachments = invitation.attachments.clone();
    mailer.send(&plain).await.expect("delivered");

    let mut bad = plain.clone();
    bad.attachments[0].filename = "../event.ics\r\nX-Evil: 1".to_owned();
    assert!(matches!(
        mailer.send(&bad).await,
        Err(MailError::Rejected(_))
    ));

    let delivered = sink.delivered();
    let [first, second] = &delivered[..] else {
        panic!("expected two messages, got {delivered:#?}");
    };
    for message in [first, second] {
        assert_eq!(message.content_type, "multipart/mixed");
        let [attachment] = &message.attachments[..] else {
            panic!("expected one attachment, got {:?}", message.attachments);
        };
        assert_eq!(attachment[0], "event.ics");
        assert_eq!(attachment[1], "text/calendar");
        assert!(attachment[2].contains("method=REQUEST"), "{attachment:?}");
        // The maildir stores lines with LF; the text is the same line for line.
        assert_eq!(
            attachment[3].replace("\r\n", "\n"),
            calendar.replace("\r\n", "\n")
        );
    }
    assert_eq!(first.text.trim_end(), "See you there.");
    assert_eq!(first.html.trim_end(), "<p>See you there.</p>");
    assert_eq!(second.text.trim_end(), "Only text.");
    assert_eq!(second.html, "");
}

#[tokio::test]
async fn sends_one_email_after_another_and_from_clones() {
    let sink = SmtpSink::start();
    let mailer = sink.mailer();
    let clone = mailer.clone();
    for (i, m) in [&mailer, &clone, &mailer].into_iter().enumerate() {
        m.send(&email(
            &format!("n{i}@example.com"),
            &format!("Message {i}"),
            "hi",
            None,
        ))
        .await
        .expect("delivered");
    }
    let mut subjects: Vec<String> = sink.delivered().into_iter().map(|d| d.subject).collect();
    subjects.sort();
    assert_eq!(subjects, ["Message 0", "Message 1", "Message 2"]);
}

#[tokio::test]
async fn sends_the_extra_headers_unchanged_and_refuses_injected_ones() {
    let sink = SmtpSink::start();
    let mailer = sink.mailer();
    let url = format!(
        "<https://api.guild.example.com/v1/email/unsubscribe?token={}>",
        "uA1_-x".repeat(30)
    );
    let mut message = email("learner@example.com", "Quiz result", "You passed.", None);
    message.headers = vec![
        ("List-Unsubscribe".into(), url.clone()),
        (
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        ),
    ];
    mailer.send(&message).await.expect("delivered");
    let delivered = sink.delivered();
    let [received] = &delivered[..] else {
        panic!("expected one message, got {delivered:#?}");
    };
    assert_eq!(received.list_unsubscribe, url);
    assert_eq!(received.list_unsubscribe_post, "List-Unsubscribe=One-Click");

    let mut injected = email("learner@example.com", "Hello", "body", None);
    injected.headers = vec![(
        "List-Unsubscribe".into(),
        "<https://x>\r\nBcc: victim@example.com".into(),
    )];
    let err = mailer.send(&injected).await.expect_err("refused");
    assert!(matches!(err, MailError::Rejected(_)), "{err:?}");
    assert_eq!(sink.delivered().len(), 1, "nothing more was sent");
}

// --- Failures ----------------------------------------------------------------------------------

#[tokio::test]
async fn recipient_refused_with_5xx_is_rejected() {
    let sink = SmtpSink::start();
    let err = sink
        .mailer()
        .send(&email(
            "reject-me@example.com",
            "Hello",
            "secret-token-5xx",
            None,
        ))
        .await
        .expect_err("the server refuses this recipient");
    let MailError::Rejected(message) = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert!(message.contains("550"), "{message}");
    assert!(!message.contains("secret-token-5xx"), "{message}");
    assert!(sink.delivered().is_empty());
}

#[tokio::test]
async fn recipient_deferred_with_4xx_is_unavailable() {
    let sink = SmtpSink::start();
    let err = sink
        .mailer()
        .send(&email("defer-me@example.com", "Hello", "body", None))
        .await
        .expect_err("the server defers this recipient");
    let MailError::Unavailable(message) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(message.contains("451"), "{message}");
    assert!(sink.delivered().is_empty());
}

#[tokio::test]
async fn authentication_refusal_is_unavailable_not_rejected() {
    // 53x refuses the sender's credentials, not the message: fix the configuration, then retry.
    let sink = SmtpSink::start();
    let err = sink
        .mailer()
        .send(&email("auth-needed@example.com", "Hello", "body", None))
        .await
        .expect_err("the server wants authentication");
    let MailError::Unavailable(message) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(message.contains("530"), "{message}");
    assert!(sink.delivered().is_empty());
}

#[tokio::test]
async fn unreachable_server_is_unavailable_quickly() {
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let mailer = SmtpMailer::new(&url, FROM, Duration::from_secs(2)).expect("valid config");
    let started = Instant::now();
    let err = mailer
        .send(&email("learner@example.com", "Hello", "body", None))
        .await
        .expect_err("nothing listens there");
    assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn silent_server_times_out_as_unavailable() {
    // Accepts connections (the kernel completes the handshake) but never sends a greeting.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let timeout = Duration::from_millis(300);
    let mailer =
        SmtpMailer::new(&format!("smtp://127.0.0.1:{port}"), FROM, timeout).expect("valid config");
    let started = Instant::now();
    let err = mailer
        .send(&email("learner@example.com", "Hello", "body", None))
        .await
        .expect_err("the server never answers");
    assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= timeout && elapsed < Duration::from_secs(3),
        "took {elapsed:?}"
    );
    drop(listener);
}

#[tokio::test]
async fn invalid_recipient_is_rejected_before_connecting() {
    // Nothing listens: reaching the network would have been Unavailable.
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let mailer = SmtpMailer::new(&url, FROM, TIMEOUT).expect("valid config");
    for to in ["not an address", "", "learner@", "@example.com", "a@b@c"] {
        let err = mailer
            .send(&email(to, "Hello", "body", None))
            .await
            .expect_err("invalid recipient");
        assert!(matches!(err, MailError::Rejected(_)), "{to:?}: {err:?}");
    }
}

// --- Configuration -----------------------------------------------------------------------------

#[test]
fn supported_url_forms_are_accepted() {
    for url in [
        "smtp://127.0.0.1:1025",
        "smtp://localhost",
        "smtp://user:pass@mail.example.com:587?tls=required",
        "smtp://mail.example.com?tls=opportunistic",
        "smtps://user:p%40ss@mail.example.com",
        "smtps://mail.example.com:465/guild.example.com",
    ] {
        SmtpMailer::new(url, FROM, TIMEOUT).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    SmtpMailer::new("smtp://localhost", "no-reply@guild.local", TIMEOUT).expect("bare sender");
}

#[test]
fn misconfiguration_is_reported_without_the_password() {
    let cases = [
        ("http://user:hunter2@mail.example.com", FROM, TIMEOUT),
        (
            "smtp://user:hunter2@mail.example.com?tls=sometimes",
            FROM,
            TIMEOUT,
        ),
        ("not a url hunter2", FROM, TIMEOUT),
        ("smtp://user:hunter2@mail.example.com:99999", FROM, TIMEOUT),
        (
            "smtp://user:hunter2@mail.example.com",
            "no sender here",
            TIMEOUT,
        ),
        ("smtp://user:hunter2@mail.example.com", FROM, Duration::ZERO),
    ];
    for (url, from, timeout) in cases {
        let err = SmtpMailer::new(url, from, timeout).expect_err(url);
        let IntegrationError::Misconfigured { service, message } = &err else {
            panic!("{url}: expected Misconfigured, got {err:?}");
        };
        assert_eq!(*service, "smtp");
        assert!(!err.to_string().contains("hunter2"), "{url}: {err}");
        assert!(!message.is_empty());
    }
}

#[test]
fn debug_output_hides_the_password() {
    let mailer = SmtpMailer::new("smtps://guild:hunter2@mail.example.com:465", FROM, TIMEOUT)
        .expect("valid config");
    let debug = format!("{mailer:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("smtps://mail.example.com:465"), "{debug}");
    assert_eq!(mailer.from_address().to_string(), FROM);
}

// --- RecordingMailer ---------------------------------------------------------------------------

#[tokio::test]
async fn recording_mailer_records_in_order_and_shares_across_clones() {
    let recorder = RecordingMailer::new();
    let clone = recorder.clone();
    let first = email("a@example.com", "First", "token-1", None);
    let second = email("B@Example.com", "Second", "token-2", Some("<p>token-2</p>"));
    let third = email("a@example.com", "Third", "token-3", None);
    for e in [&first, &second, &third] {
        clone.send(e).await.expect("recording never fails");
    }
    assert_eq!(recorder.sent(), [first, second.clone(), third.clone()]);
    assert_eq!(recorder.last_to("a@example.com"), Some(third));
    assert_eq!(recorder.last_to("b@example.com"), Some(second));
    assert_eq!(recorder.last_to("c@example.com"), None);

    // Debug output never shows bodies (they hold tokens).
    let debug = format!("{recorder:?}");
    assert!(!debug.contains("token-"), "{debug}");

    recorder.clear();
    assert!(clone.sent().is_empty());
}

#[tokio::test]
async fn recording_mailer_keeps_only_the_newest() {
    let recorder = RecordingMailer::with_capacity(2);
    for i in 0..5 {
        recorder
            .send(&email("a@example.com", &format!("#{i}"), "", None))
            .await
            .expect("recording never fails");
    }
    let subjects: Vec<String> = recorder.sent().into_iter().map(|e| e.subject).collect();
    assert_eq!(subjects, ["#3", "#4"]);

    // Even invalid addresses are recorded: the recorder never judges.
    let recorder = RecordingMailer::default();
    recorder
        .send(&email("not an address", "x", "", None))
        .await
        .expect("recording never fails");
    assert_eq!(recorder.sent().len(), 1);
}
