//! Answering a question by replying to its email, over HTTP with a real SMTP server: the email
//! that gives a mentor a question carries a signed `Reply-To` and threading headers; the reply,
//! posted raw to `POST /v1/inbound/email` by the mail service, becomes the mentor's answer
//! without what it quotes, once per Message-ID; forged, altered, expired and other tenants'
//! addresses, wrong secrets and unset inbound mail are refused.

use std::future::IntoFuture;
use std::sync::Arc;

use actix_web::http::Method;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use guild_api::state::InboundMail;
use guild_kernel::ManualClock;
use guild_tests::{Received, Reply, SmtpSink, TestApp, assert_problem, count};
use serde_json::{Value, json};

const SECRET: &str = "inbound-secret-of-at-least-32-bytes!";
const REPLY_DOMAIN: &str = "reply.guild.example.com";
const ANSWER: &str = "Every two years; the platform reminds you a month before.";

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// An app whose emails also reach `smtp`, with inbound mail configured and the clock `clock`.
async fn app_with(smtp: &SmtpSink, clock: Arc<ManualClock>) -> TestApp {
    TestApp::with(|state| {
        state.mailer = smtp.alongside(state.mailer.clone());
        state.dev_mailbox = false;
        state.mail_domain = "guild.example.com".to_owned();
        state.inbound_mail = Some(InboundMail {
            secret: SECRET.as_bytes().to_vec(),
            reply_domain: REPLY_DOMAIN.to_owned(),
        });
        state.clock = clock;
    })
    .await
}

/// A tenant `slug` with a module mentored by `mentor@<slug>.example.com`, and `questions`
/// escalated questions of `asker@…` about it: the asker's token, the mentor's, the questions.
async fn escalated(app: &TestApp, slug: &str, questions: usize) -> (String, String, Vec<Value>) {
    let owner = app.owner(slug).await;
    let (module, _) = app
        .module_with_section(
            &owner,
            json!({ "title": "First aid" }),
            json!({ "title": "Basics", "content_html": "<p>First aid certificates are renewed.</p>" }),
        )
        .await;
    app.publish(&owner, &module).await;
    app.open_catalog(&owner).await;
    let mentor = app
        .member(&owner, &format!("mentor@{slug}.example.com"), "EMPLOYEE")
        .await;
    app.make_mentor(&owner, &module, &mentor).await;
    let mentor_id = app.me_id(&mentor).await;
    let asker = app
        .member(&owner, &format!("asker@{slug}.example.com"), "EMPLOYEE")
        .await;
    let mut asked = Vec::new();
    for i in 0..questions {
        let q = app
            .post(
                "/v1/questions",
                &asker,
                json!({ "body": format!("How often is first aid renewed ({i})?"), "module_id": module }),
            )
            .await;
        assert_eq!(q.status, 201, "{}", q.text);
        let id = s(&q.json["id"]);
        let up = app
            .post(&format!("/v1/questions/{id}/escalate"), &asker, json!({}))
            .await;
        assert_eq!(up.status, 200, "{}", up.text);
        assert_eq!(up.json["assignee_id"], json!(mentor_id));
        asked.push(up.json);
    }
    (asker, mentor, asked)
}

/// The email that gave `question` to the mentor of `slug`.
fn assignment_mail(smtp: &SmtpSink, slug: &str, question: &Value) -> Received {
    let thread = format!("<question.{}@guild.example.com>", s(&question["id"]));
    smtp.received_by(&format!("mentor@{slug}.example.com"))
        .into_iter()
        .find(|m| m.references == thread)
        .unwrap_or_else(|| panic!("no email about {thread}"))
}

/// A reply to `mail` as a mail client writes it: `text`, then the original quoted below.
fn reply_to(mail: &Received, to: &str, from: &str, message_id: &str, text: &str) -> String {
    let quoted: String = mail.text.lines().map(|l| format!("> {l}\r\n")).collect();
    format!(
        "From: Mentor <{from}>\r\n\
         To: {to}\r\n\
         Subject: Re: {subject}\r\n\
         Message-ID: <{message_id}>\r\n\
         In-Reply-To: {original}\r\n\
         References: {references} {original}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         {text}\r\n\
         \r\n\
         On Mon, 7 Dec 2026 at 10:00, Guild <{to}> wrote:\r\n\
         {quoted}",
        subject = mail.subject,
        original = mail.message_id,
        references = mail.references,
    )
}

/// Posts `raw` as the mail service does, authenticated with `authorization` (if any).
async fn submit(app: &TestApp, raw: &str, authorization: Option<&str>) -> Reply {
    let mut req = app
        .request(Method::POST, "/v1/inbound/email")
        .header("content-type", "message/rfc822")
        .payload(raw.to_owned());
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.await
}

fn basic() -> String {
    format!("Basic {}", STANDARD.encode(format!("mailer:{SECRET}")))
}

/// `address` with its token's bytes changed by `change`.
fn altered(address: &str, change: impl Fn(&mut Vec<u8>)) -> String {
    let (local, domain) = address.split_once('@').unwrap_or_default();
    let token = local.strip_prefix("reply+").unwrap_or_default();
    let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap_or_default();
    change(&mut bytes);
    format!("reply+{}@{domain}", URL_SAFE_NO_PAD.encode(&bytes))
}

fn uuid_bytes(v: &Value) -> Vec<u8> {
    uuid::Uuid::parse_str(&s(v))
        .map(|u| u.as_bytes().to_vec())
        .unwrap_or_default()
}

#[actix_web::test]
async fn a_mentor_answers_by_replying_once_and_forged_addresses_are_refused() {
    let smtp = SmtpSink::start();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = app_with(&smtp, clock.clone()).await;
    let (asker, _, questions) = escalated(&app, "acme", 2).await;
    let (other_asker, _, other_questions) = escalated(&app, "globex", 1).await;
    app.run_worker().await;

    // The email that gives the question carries a signed reply address and threading headers.
    let question = &questions[0];
    let mail = assignment_mail(&smtp, "acme", question);
    let address = mail.reply_to.clone();
    let (local, domain) = address.split_once('@').unwrap_or_default();
    assert_eq!(domain, REPLY_DOMAIN);
    assert!(
        local.starts_with("reply+") && local.len() <= 64,
        "{address}"
    );
    assert!(
        mail.message_id.starts_with("<notification.")
            && mail.message_id.ends_with("@guild.example.com>"),
        "{}",
        mail.message_id
    );
    assert!(!mail.list_unsubscribe.is_empty());
    let second = assignment_mail(&smtp, "acme", &questions[1]);
    assert_ne!(second.reply_to, address, "an address per question");
    let foreign = assignment_mail(&smtp, "globex", &other_questions[0]);
    let from = "mentor@acme.example.com";
    let genuine = reply_to(&mail, &address, from, "r1@mail.acme.example.com", ANSWER);

    // Without inbound's secret, or with another, nothing is read.
    assert_problem(&submit(&app, &genuine, None).await, 401, "invalid_token");
    let wrong = format!("Basic {}", STANDARD.encode("mailer:not-the-secret"));
    let refused = submit(&app, &genuine, Some(&wrong)).await;
    assert_problem(&refused, 401, "invalid_token");
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic"))
    );
    assert_problem(
        &submit(&app, &genuine, Some("Bearer not-the-secret")).await,
        401,
        "invalid_token",
    );
    // Not a message, not sent as one, or sent to no reply address.
    let wrong_type = app
        .request(Method::POST, "/v1/inbound/email")
        .header("content-type", "text/plain")
        .header("authorization", &basic())
        .payload(genuine.clone())
        .await;
    assert_problem(&wrong_type, 415, "unsupported_media_type");
    let elsewhere = reply_to(&mail, "team@acme.example.com", from, "r0@x", ANSWER);
    assert_problem(
        &submit(&app, &elsewhere, Some(&basic())).await,
        422,
        "reply_address_missing",
    );

    // Forged: the token of question 1 naming question 2 (assigned to the same mentor), a tag
    // with one bit changed, this tenant's question under another tenant's tag, and another
    // tenant's address naming this tenant.
    let q2 = uuid_bytes(&questions[1]["id"]);
    let acme_tenant = URL_SAFE_NO_PAD
        .decode(
            address
                .split_once('@')
                .unwrap_or_default()
                .0
                .trim_start_matches("reply+"),
        )
        .unwrap_or_default()[..16]
        .to_vec();
    let foreign_tag = URL_SAFE_NO_PAD
        .decode(
            foreign
                .reply_to
                .split_once('@')
                .unwrap_or_default()
                .0
                .trim_start_matches("reply+"),
        )
        .unwrap_or_default()[32..]
        .to_vec();
    for forged in [
        altered(&address, |b| b[16..32].copy_from_slice(&q2)),
        altered(&address, |b| b[35] ^= 0x01),
        altered(&address, |b| b[32..].copy_from_slice(&foreign_tag)),
        altered(&foreign.reply_to, |b| b[..16].copy_from_slice(&acme_tenant)),
    ] {
        let raw = reply_to(&mail, &forged, from, "forged@x", ANSWER);
        let refused = submit(&app, &raw, Some(&basic())).await;
        assert_problem(&refused, 403, "reply_address_invalid");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM questions WHERE status = 'MENTOR_ANSWERED'"
        )
        .await,
        0
    );

    // The genuine reply answers the question, without what it quotes.
    let done = submit(&app, &genuine, Some(&basic())).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["outcome"], "ANSWERED");
    assert_eq!(done.json["question_id"], question["id"]);
    assert_eq!(done.json["sender_matches"], true);
    let id = s(&question["id"]);
    let seen = app.get(&format!("/v1/questions/{id}"), &asker).await;
    assert_eq!(seen.json["status"], "MENTOR_ANSWERED");
    assert_eq!(seen.json["mentor_answer"], ANSWER);

    // Delivered again: nothing changes; another message cannot answer it twice either.
    let bearer = format!("Bearer {SECRET}");
    let again = submit(&app, &genuine, Some(&bearer)).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["outcome"], "ALREADY_RECEIVED");
    let later = reply_to(
        &mail,
        &address,
        from,
        "r2@mail.acme.example.com",
        "Changed my mind.",
    );
    assert_problem(
        &submit(&app, &later, Some(&basic())).await,
        409,
        "invalid_status_transition",
    );
    let seen = app.get(&format!("/v1/questions/{id}"), &asker).await;
    assert_eq!(seen.json["mentor_answer"], ANSWER);
    app.run_worker().await;
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM notifications WHERE kind = 'QUESTION_ANSWERED' AND entity_id = '{id}'")
        )
        .await,
        1,
        "the asker is told once"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM question_email_replies").await,
        1
    );

    // The other tenant's reply answers its own question only; a stranger's From is reported.
    let stranger = reply_to(
        &foreign,
        &foreign.reply_to,
        "someone@else.example.com",
        "g1@x",
        "Yearly.",
    );
    let theirs = submit(&app, &stranger, Some(&basic())).await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert_eq!(theirs.json["question_id"], other_questions[0]["id"]);
    assert_eq!(theirs.json["sender_matches"], false);
    let other_id = s(&other_questions[0]["id"]);
    let seen = app
        .get(&format!("/v1/questions/{other_id}"), &other_asker)
        .await;
    assert_eq!(seen.json["mentor_answer"], "Yearly.");

    // An address older than 30 days has expired.
    clock.advance(Duration::days(31));
    let late = reply_to(&second, &second.reply_to, from, "late@x", ANSWER);
    assert_problem(
        &submit(&app, &late, Some(&basic())).await,
        403,
        "reply_address_invalid",
    );
}

#[actix_web::test]
async fn without_an_inbound_secret_replies_are_not_taken_and_emails_have_no_reply_address() {
    let smtp = SmtpSink::start();
    let app = TestApp::with(|state| {
        state.mailer = smtp.alongside(state.mailer.clone());
        state.dev_mailbox = false;
    })
    .await;
    let (_, _, questions) = escalated(&app, "initech", 1).await;
    app.run_worker().await;
    let thread = format!("<question.{}@guild.local>", s(&questions[0]["id"]));
    let mail = smtp
        .received_by("mentor@initech.example.com")
        .into_iter()
        .find(|m| m.references == thread)
        .expect("the assignment's email");
    assert_eq!(mail.reply_to, "");
    assert!(!mail.text.contains("replying"), "{}", mail.text);
    let raw = reply_to(
        &mail,
        "reply+x@guild.local",
        "mentor@initech.example.com",
        "a@x",
        ANSWER,
    );
    assert_problem(
        &submit(&app, &raw, Some(&basic())).await,
        503,
        "inbound_mail_not_configured",
    );
}

#[actix_web::test]
async fn the_same_reply_delivered_twice_at_once_answers_once() {
    let smtp = SmtpSink::start();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = app_with(&smtp, clock).await;
    let (asker, _, questions) = escalated(&app, "acme", 1).await;
    app.run_worker().await;
    let question = &questions[0];
    let mail = assignment_mail(&smtp, "acme", question);
    assert!(
        mail.text.contains("answer by replying to this email"),
        "{}",
        mail.text
    );
    let raw = reply_to(
        &mail,
        &mail.reply_to,
        "mentor@acme.example.com",
        "twice@mail.acme.example.com",
        ANSWER,
    );
    // The mail service retries while the first delivery is still being handled.
    let auth = basic();
    let first = app
        .request(Method::POST, "/v1/inbound/email")
        .header("content-type", "message/rfc822")
        .header("authorization", &auth)
        .payload(raw.clone());
    let second = app
        .request(Method::POST, "/v1/inbound/email")
        .header("content-type", "message/rfc822")
        .header("authorization", &auth)
        .payload(raw);
    let (a, b) = futures_util::future::join(first.into_future(), second.into_future()).await;
    assert_eq!((a.status, b.status), (200, 200), "{} / {}", a.text, b.text);
    let mut outcomes = [s(&a.json["outcome"]), s(&b.json["outcome"])];
    outcomes.sort();
    assert_eq!(outcomes, ["ALREADY_RECEIVED", "ANSWERED"]);
    let id = s(&question["id"]);
    let seen = app.get(&format!("/v1/questions/{id}"), &asker).await;
    assert_eq!(seen.json["status"], "MENTOR_ANSWERED");
    assert_eq!(seen.json["mentor_answer"], ANSWER);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM question_email_replies").await,
        1
    );
    app.run_worker().await;
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM notifications WHERE kind = 'QUESTION_ANSWERED' \
                 AND entity_id = '{id}'"
            )
        )
        .await,
        1,
        "the asker is told once"
    );
}
