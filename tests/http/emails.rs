//! Notification emails over HTTP, read from a real SMTP server: each preference delivers the
//! emails it says, once; digests once per member and period with the manual clock; one-click
//! unsubscribe headers and links that work without signing in and refuse forged tokens; the
//! HTML escapes what members wrote; tenant templates per locale with the English fallback, a
//! preview, isolation between tenants, and only admins editing them.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use guild_kernel::{ManualClock, TenantId, UserId};
use guild_notifications::inbox::{self, NewNotification};
use guild_notifications::{EntityKind, NotificationType};
use guild_tests::{Received, SmtpSink, TestApp, access, assert_problem, count, fields};
use serde_json::{Value, json};
use uuid::Uuid;

const API: &str = "https://api.guild.example.com";

/// An app whose emails also reach `smtp`, with public HTTPS links and the clock `clock`.
async fn app_with(smtp: &SmtpSink, clock: Option<Arc<ManualClock>>) -> TestApp {
    TestApp::with(|state| {
        state.mailer = smtp.alongside(state.mailer.clone());
        state.dev_mailbox = false;
        state.api_url = API.to_owned();
        state.public_url = "https://guild.example.com".to_owned();
        if let Some(clock) = clock {
            state.clock = clock;
        }
    })
    .await
}

/// The notification emails (those with an unsubscribe header) `smtp` received for `to`.
fn notices(smtp: &SmtpSink, to: &str) -> Vec<Received> {
    notices_in(&smtp.received(), to)
}

/// The notification emails among `all` for `to`.
fn notices_in(all: &[Received], to: &str) -> Vec<Received> {
    all.iter()
        .filter(|m| m.to.contains(to) && !m.list_unsubscribe.is_empty())
        .cloned()
        .collect()
}

fn subjects(mails: &[Received]) -> Vec<String> {
    let mut s: Vec<String> = mails.iter().map(|m| m.subject.clone()).collect();
    s.sort();
    s
}

/// The API path (with its token) of an email's one-click unsubscribe URL.
fn one_click(mail: &Received) -> String {
    let url = mail
        .list_unsubscribe
        .trim_start_matches('<')
        .trim_end_matches('>');
    url.strip_prefix(API)
        .unwrap_or_else(|| panic!("an HTTPS URL of the API: {url}"))
        .to_owned()
}

/// Sets `token`'s email preferences.
async fn prefer(app: &TestApp, token: &str, body: Value) {
    let set = app.patch("/v1/me/email-preferences", token, body).await;
    assert_eq!(set.status, 200, "{}", set.text);
}

#[actix_web::test]
async fn each_preference_delivers_the_emails_it_says_once() {
    let smtp = SmtpSink::start();
    let clock = Arc::new(ManualClock::new(at(9, 10)));
    let app = app_with(&smtp, Some(clock.clone())).await;
    let owner = app.owner("acme").await;
    let (module, _) = app.published_module(&owner, "Ladders").await;
    let mut people = Vec::new();
    for (name, prefs) in [
        // Everything, at once (the defaults).
        ("ana", json!({})),
        // The category off, one of its types back on.
        (
            "bo",
            json!({ "certificates": false, "types": { "PROGRESS_OVERRIDE": true } }),
        ),
        // One type off, its category on.
        ("cy", json!({ "types": { "CERTIFICATE_ISSUED": false } })),
        // Nothing.
        ("dee", json!({ "digest": "NEVER" })),
        // A digest: nothing now.
        ("eve", json!({ "digest": "DAILY" })),
    ] {
        let email = format!("{name}@acme.example.com");
        let token = app.member(&owner, &email, "EMPLOYEE").await;
        prefer(&app, &token, prefs).await;
        let id = app.me_id(&token).await;
        people.push((email, token, id));
    }
    for (_, _, id) in &people {
        app.complete_for(&owner, id, &module).await;
    }
    app.run_worker().await;

    let all = smtp.received();
    let got = |i: usize| subjects(&notices_in(&all, &people[i].0));
    let certificate = "Your certificate for Ladders".to_owned();
    let completed = "Ladders was marked complete for you".to_owned();
    // The XP the completion earned is in the rewards category, on for all three.
    let xp = "You earned 100 XP".to_owned();
    assert_eq!(got(0), [completed.clone(), xp.clone(), certificate.clone()]);
    assert_eq!(got(1), [completed.clone(), xp.clone()]);
    assert_eq!(got(2), [completed.clone(), xp.clone()]);
    assert!(got(3).is_empty());
    assert!(got(4).is_empty(), "waits for the digest");
    // Everyone has the three notifications in the app, whatever they get by email.
    for (_, token, _) in &people {
        let inbox = app.get("/v1/me/notifications", token).await;
        assert_eq!(inbox.json["data"].as_array().map(Vec::len), Some(3));
    }
    let prefs = app.get("/v1/me/email-preferences", &people[1].1).await;
    assert_eq!(prefs.json["types"], json!({ "PROGRESS_OVERRIDE": true }));
    let enabled = |kind: &str| {
        prefs.json["email_types"]
            .as_array()
            .and_then(|all| all.iter().find(|t| t["type"] == kind))
            .map(|t| (t["category"].clone(), t["enabled"].clone()))
    };
    assert_eq!(
        enabled("CERTIFICATE_ISSUED"),
        Some((json!("CERTIFICATES"), json!(false)))
    );
    assert_eq!(
        enabled("PROGRESS_OVERRIDE"),
        Some((json!("CERTIFICATES"), json!(true)))
    );
    assert_eq!(enabled("SYSTEM"), Some((Value::Null, json!(true))));

    // Every event delivered again (the outbox is at least once) sends nothing again.
    let before = notices_in(&all, "@").len();
    let again = count(
        &app,
        "WITH again AS (UPDATE outbox_events SET status = 'PENDING', available_at = now() \
         RETURNING 1) SELECT count(*) AS n FROM again",
    )
    .await;
    assert!(again > 10, "{again}");
    app.run_worker().await;
    assert_eq!(notices(&smtp, "@").len(), before);

    // Eve's digest comes after midnight (UTC), with both.
    run_digests(&app).await;
    assert!(
        notices(&smtp, &people[4].0).is_empty(),
        "the day is not over"
    );
    clock.advance(Duration::hours(15));
    run_digests(&app).await;
    let digest = notices(&smtp, &people[4].0);
    assert_eq!(digest.len(), 1, "{digest:?}");
    assert!(
        digest[0].subject.ends_with(": 3 notifications"),
        "{}",
        digest[0].subject
    );
    assert!(digest[0].text.contains(&certificate) && digest[0].text.contains(&completed));
    assert!(notices(&smtp, &people[3].0).is_empty(), "never");
}

/// Delivers a notification to `user` at the app's `now`, as a reaction does.
async fn deliver(app: &TestApp, tenant: Uuid, user: Uuid, key: &str, title: &str) {
    let now = app.state.clock.now();
    let n = NewNotification {
        user: UserId(user),
        kind: NotificationType::QuizResult,
        title: title.into(),
        body: "You scored 90%.".into(),
        entity: Some((EntityKind::QuizAttempt, Uuid::now_v7())),
        dedup_key: key.into(),
        data: json!({ "module": "Forklift safety", "score": 90 }),
    };
    let mut conn = app.db.conn().await;
    guild_db::tenant_transaction(&mut conn, TenantId(tenant), async |c| {
        inbox::deliver(c, TenantId(tenant), &n, now).await
    })
    .await
    .expect("delivered")
    .expect("a new notification");
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0)
        .single()
        .expect("a time")
}

#[actix_web::test]
async fn daily_and_weekly_digests_send_one_email_per_member_per_period() {
    let smtp = SmtpSink::start();
    // Wednesday 9 December 2026, 10:00 UTC.
    let clock = Arc::new(ManualClock::new(at(9, 10)));
    let app = app_with(&smtp, Some(clock.clone())).await;
    let signed_up = app.sign_up("acme").await;
    let owner = access(&signed_up);
    let tenant: Uuid = signed_up["tenant"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("the tenant");
    let mut ids = Vec::new();
    for (name, digest) in [("dan", "DAILY"), ("wes", "WEEKLY"), ("ivy", "INSTANT")] {
        let token = app
            .member(&owner, &format!("{name}@acme.example.com"), "EMPLOYEE")
            .await;
        prefer(&app, &token, json!({ "digest": digest })).await;
        ids.push(app.me_id(&token).await.parse::<Uuid>().expect("an id"));
    }
    for user in &ids {
        deliver(&app, tenant, *user, "wed-1", "Wednesday one").await;
        deliver(&app, tenant, *user, "wed-2", "Wednesday two").await;
    }
    run_digests(&app).await;
    let all = smtp.received();
    assert_eq!(notices_in(&all, "ivy@").len(), 2, "at once");
    assert!(notices_in(&all, "dan@").is_empty(), "the day is not over");
    assert!(notices_in(&all, "wes@").is_empty());

    // Thursday 00:30: Dan's digest of Wednesday, once however often the job runs.
    clock.advance(at(10, 0) - at(9, 10) + Duration::minutes(30));
    for _ in 0..3 {
        run_digests(&app).await;
    }
    let all = smtp.received();
    let dan = notices_in(&all, "dan@");
    assert_eq!(dan.len(), 1, "{dan:?}");
    assert_eq!(
        dan[0].subject,
        "Your daily digest from Company acme: 2 notifications"
    );
    assert!(dan[0].text.contains("- Wednesday one") && dan[0].text.contains("- Wednesday two"));
    assert!(
        dan[0]
            .list_unsubscribe
            .contains("/v1/email/unsubscribe?token=")
    );
    assert!(notices_in(&all, "wes@").is_empty(), "the week is not over");

    // Thursday's notification comes in Friday's digest, alone.
    clock.advance(Duration::hours(12));
    for user in &ids {
        deliver(&app, tenant, *user, "thu-1", "Thursday one").await;
    }
    clock.advance(Duration::hours(13));
    run_digests(&app).await;
    run_digests(&app).await;
    let dan = notices(&smtp, "dan@");
    assert_eq!(dan.len(), 2);
    let friday = dan
        .iter()
        .find(|m| m.subject.ends_with(": 1 notification"))
        .unwrap_or_else(|| panic!("Friday's digest in {dan:?}"));
    assert!(friday.text.contains("Thursday one") && !friday.text.contains("Wednesday"));

    // Monday 14 December 00:30: Wes's weekly digest of all three; Dan has nothing new.
    clock.advance(at(14, 0) - at(11, 1) + Duration::minutes(30));
    run_digests(&app).await;
    run_digests(&app).await;
    let all = smtp.received();
    let wes = notices_in(&all, "wes@");
    assert_eq!(wes.len(), 1, "{wes:?}");
    assert_eq!(
        wes[0].subject,
        "Your weekly digest from Company acme: 3 notifications"
    );
    assert_eq!(notices(&smtp, "dan@").len(), 2);
    assert_eq!(
        notices(&smtp, "ivy@").len(),
        3,
        "one each, never in a digest"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM notification_digests WHERE notifications > 0"
        )
        .await,
        3
    );
}

async fn run_digests(app: &TestApp) {
    app.queue_job("notifications.send_digests").await;
    app.run_worker().await;
}

#[actix_web::test]
async fn a_notification_email_carries_one_click_unsubscribe_and_escapes_what_members_wrote() {
    let smtp = SmtpSink::start();
    let app = app_with(&smtp, None).await;
    let owner = app.owner("acme").await;
    let (module, _) = app
        .published_module(&owner, "Safety <script>alert(1)</script>")
        .await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    app.complete_for(&owner, &ann_id, &module).await;
    app.run_worker().await;

    let mails = notices(&smtp, "ann@acme.example.com");
    let certificate = mails
        .iter()
        .find(|m| m.subject.starts_with("Your certificate for"))
        .unwrap_or_else(|| panic!("the certificate's email in {mails:?}"));
    assert_eq!(
        certificate.subject,
        "Your certificate for Safety <script>alert(1)</script>"
    );
    assert!(
        certificate
            .list_unsubscribe
            .starts_with(&format!("<{API}/v1/email/unsubscribe?token=")),
        "{}",
        certificate.list_unsubscribe
    );
    assert_eq!(
        certificate.list_unsubscribe_post,
        "List-Unsubscribe=One-Click"
    );
    assert!(
        !certificate.html.contains("<script>"),
        "{}",
        certificate.html
    );
    assert!(
        certificate.html.contains("&lt;script&gt;"),
        "{}",
        certificate.html
    );
    assert!(
        certificate
            .text
            .contains("https://guild.example.com/certificates/")
    );
    assert!(
        certificate
            .text
            .contains("https://guild.example.com/unsubscribe?token=")
    );
    // Account emails are transactional: the invitation has no unsubscribe.
    let invitation = smtp
        .received_by("ann@acme.example.com")
        .into_iter()
        .find(|m| m.subject.contains("invited"))
        .expect("the invitation");
    assert!(invitation.list_unsubscribe.is_empty());

    // The one-click POST, as a mail client sends it: no sign-in, a form body.
    let uri = one_click(certificate);
    let done = app
        .request(actix_web::http::Method::POST, &uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .payload("List-Unsubscribe=One-Click")
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["scope"], "TYPE");
    assert_eq!(done.json["type"], "CERTIFICATE_ISSUED");
    assert_eq!(done.json["subscribed"], false);
    let prefs = app.get("/v1/me/email-preferences", &ann).await;
    assert_eq!(prefs.json["types"], json!({ "CERTIFICATE_ISSUED": false }));
    assert_eq!(prefs.json["digest"], "INSTANT", "other emails still come");

    // The next completion sends the override's email, not the certificate's.
    let (second, _) = app.published_module(&owner, "Ladders").await;
    app.complete_for(&owner, &ann_id, &second).await;
    app.run_worker().await;
    let after = subjects(&notices(&smtp, "ann@acme.example.com"));
    // Before: the override, the certificate and the XP; now the new module, the override and
    // the XP again, and no second certificate.
    assert_eq!(after.len(), 6, "{after:?}");
    assert!(after.contains(&"Ladders was marked complete for you".to_owned()));
    assert!(after.contains(&"New module: Ladders".to_owned()));
    assert_eq!(
        after
            .iter()
            .filter(|s| s.starts_with("Your certificate for"))
            .count(),
        1,
        "{after:?}"
    );
}

/// The token in the `List-Unsubscribe` header of the newest notification email to `to`.
fn header_token(app: &TestApp, to: &str) -> String {
    let mail = app
        .mail
        .sent()
        .into_iter()
        .rev()
        .find(|m| m.to == to && !m.headers.is_empty())
        .unwrap_or_else(|| panic!("no notification email to {to}"));
    let (_, value) = mail
        .headers
        .iter()
        .find(|(name, _)| name == "List-Unsubscribe")
        .expect("List-Unsubscribe");
    value
        .split("token=")
        .nth(1)
        .map(|t| t.trim_end_matches('>').to_owned())
        .expect("a token")
}

#[actix_web::test]
async fn unsubscribing_works_without_signing_in_and_refuses_forged_tokens() {
    let clock = Arc::new(ManualClock::new(at(9, 10)));
    let c = clock.clone();
    let app = TestApp::with(move |state| state.clock = c).await;
    let owner = app.owner("acme").await;
    let (module, _) = app.published_module(&owner, "Ladders").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bo = app.member(&owner, "bo@acme.example.com", "EMPLOYEE").await;
    prefer(&app, &bo, json!({ "digest": "DAILY" })).await;
    let ann_id = app.me_id(&ann).await;
    let bo_id = app.me_id(&bo).await;
    app.complete_for(&owner, &ann_id, &module).await;
    app.complete_for(&owner, &bo_id, &module).await;
    app.run_worker().await;
    clock.advance(Duration::days(1));
    run_digests(&app).await;
    let anns = header_token(&app, "ann@acme.example.com");
    let bos = header_token(&app, "bo@acme.example.com");

    // Looking changes nothing (mail scanners follow links).
    let uri = |token: &str| format!("/v1/email/unsubscribe?token={token}");
    let seen = app.request(actix_web::http::Method::GET, &uri(&anns)).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json["subscribed"], true);
    assert!(seen.json["type"].is_string());
    let prefs = app.get("/v1/me/email-preferences", &ann).await;
    assert_eq!(prefs.json["types"], json!({}));

    // Forged and altered tokens are refused, signed in or not.
    let (payload, tag) = anns.split_once('.').expect("payload.tag");
    let (bos_payload, _) = bos.split_once('.').expect("payload.tag");
    let mut flipped = tag.to_owned();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    for forged in [
        format!("{bos_payload}.{tag}"),
        format!("{payload}.{flipped}"),
        format!("{payload}."),
        "bm90IGEgdG9rZW4.bm90IGEgdGFn".to_owned(),
    ] {
        for method in [actix_web::http::Method::GET, actix_web::http::Method::POST] {
            let refused = app.request(method, &uri(&forged)).await;
            assert_problem(&refused, 401, "invalid_token");
        }
    }
    assert_problem(
        &app.request(actix_web::http::Method::POST, "/v1/email/unsubscribe")
            .await,
        422,
        "validation_failed",
    );
    let prefs = app.get("/v1/me/email-preferences", &ann).await;
    assert_eq!(prefs.json["types"], json!({}), "nothing changed");

    // Ann's link turns off that type; again changes nothing.
    for _ in 0..2 {
        let done = app
            .request(actix_web::http::Method::POST, &uri(&anns))
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        assert_eq!(done.json["subscribed"], false);
    }
    let prefs = app.get("/v1/me/email-preferences", &ann).await;
    assert_eq!(prefs.json["types"].as_object().map(|o| o.len()), Some(1));
    // Bo's digest link turns off every notification email.
    let done = app.request(actix_web::http::Method::POST, &uri(&bos)).await;
    assert_eq!(done.json["scope"], "ALL", "{}", done.text);
    let prefs = app.get("/v1/me/email-preferences", &bo).await;
    assert_eq!(prefs.json["digest"], "NEVER");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'EMAIL_UNSUBSCRIBED'"
        )
        .await,
        2
    );
}

/// A template body.
fn template(subject: &str, text: &str, html: Option<&str>) -> Value {
    match html {
        Some(html) => json!({ "subject": subject, "text": text, "html": html }),
        None => json!({ "subject": subject, "text": text }),
    }
}

#[actix_web::test]
async fn a_tenant_writes_its_own_templates_per_locale_over_the_english_ones() {
    let smtp = SmtpSink::start();
    let app = app_with(&smtp, None).await;
    let owner = app.owner("acme").await;
    let other = app.owner("globex").await;
    let set_locale = app
        .patch("/v1/tenant", &owner, json!({ "locale": "sl-SI" }))
        .await;
    assert_eq!(set_locale.status, 200, "{}", set_locale.text);

    let listed = app.get("/v1/notification-templates", &owner).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let rows = listed.json["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), NotificationType::ALL.len());
    assert!(
        rows.iter()
            .all(|t| t["origin"] == "BUILT_IN" && t["locale"] == "sl-SI")
    );
    let quiz = rows
        .iter()
        .find(|t| t["type"] == "QUIZ_RESULT")
        .expect("QUIZ_RESULT");
    assert!(
        quiz["variables"]
            .as_array()
            .is_some_and(|v| v.contains(&json!("score")))
    );

    // Written for the language, it applies to sl-SI.
    let uri = "/v1/notification-templates/CERTIFICATE_ISSUED/locales/sl";
    let body = template(
        "Vaše potrdilo: {{ module }}",
        "Pozdravljeni, {{ recipient_name }}!\n\n{{ url }}\n\nOdjava: {{ unsubscribe_url }}\n",
        Some("<p>Pozdravljeni, {{ recipient_name }}! <b>{{ module }}</b></p>"),
    );
    assert_problem(
        &app.put(uri, &owner, body.clone()).await,
        428,
        "precondition_required",
    );
    assert_problem(
        &app.put(uri, &owner, body.clone()).if_match("\"1\"").await,
        412,
        "precondition_failed",
    );
    let stored = app.put(uri, &owner, body.clone()).if_match("\"0\"").await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(stored.header("etag"), Some("\"1\""));
    assert_eq!(stored.json["origin"], "TENANT");
    let exact = app
        .get(
            "/v1/notification-templates/CERTIFICATE_ISSUED/locales/sl-SI",
            &owner,
        )
        .await;
    assert_eq!(
        exact.header("etag"),
        Some("\"0\""),
        "nothing stored for sl-SI itself"
    );
    assert_eq!(exact.json["origin"], "TENANT");
    assert_eq!(exact.json["origin_locale"], "sl");

    // The preview renders the stored one in the tenant's locale, or the one given.
    let preview = "/v1/notification-templates/CERTIFICATE_ISSUED/preview";
    let shown = app.post(preview, &owner, json!({})).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json["subject"], "Vaše potrdilo: Forklift safety");
    let english = app.post(preview, &owner, json!({ "locale": "en" })).await;
    assert_eq!(
        english.json["subject"],
        "Your certificate for Forklift safety"
    );
    let given = app
        .post(
            preview,
            &owner,
            json!({ "template": template("{{ module }}!", "{{ body }}", Some("<i>{{ title }}</i>")) }),
        )
        .await;
    assert_eq!(given.json["subject"], "Forklift safety!", "{}", given.text);
    assert_eq!(
        given.json["html"],
        "<i>Your certificate for Forklift safety</i>"
    );

    // Syntax errors and unknown variables are refused with their part and line.
    let broken =
        json!({ "template": template("{{ module }}", "Hello\n{% if body %}\nno end", None) });
    let refused = app.post(preview, &owner, broken).await;
    assert_problem(&refused, 422, "template_syntax_error");
    assert_eq!(
        fields(&refused),
        [("text".to_owned(), "template_syntax".to_owned())]
    );
    assert!(
        refused.json["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("line ")),
        "{}",
        refused.text
    );
    let unknown = template("{{ module }}", "{{ password }}", None);
    let refused = app
        .put(
            "/v1/notification-templates/CERTIFICATE_ISSUED/locales/de",
            &owner,
            unknown,
        )
        .if_match("\"0\"")
        .await;
    assert_problem(&refused, 422, "template_render_error");
    let huge = template("x", &"x".repeat(20_001), None);
    let refused = app
        .put(
            "/v1/notification-templates/CERTIFICATE_ISSUED/locales/de",
            &owner,
            huge,
        )
        .if_match("\"0\"")
        .await;
    assert_problem(&refused, 422, "validation_failed");
    assert_problem(
        &app.get("/v1/notification-templates?locale=sl_SI", &owner)
            .await,
        422,
        "validation_failed",
    );
    assert_eq!(
        app.get("/v1/notification-templates/NOT_A_TYPE/locales/sl", &owner)
            .await
            .status,
        404
    );

    // Emails follow: the certificate's in Slovenian, the override's in English (no template).
    let (module, _) = app.published_module(&owner, "Lestve").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    app.complete_for(&owner, &ann_id, &module).await;
    app.run_worker().await;
    assert_eq!(
        subjects(&notices(&smtp, "ann@acme.example.com")),
        [
            "Lestve was marked complete for you",
            "Vaše potrdilo: Lestve",
            "You earned 100 XP"
        ]
    );
    let slovenian = notices(&smtp, "ann@acme.example.com")
        .into_iter()
        .find(|m| m.subject.starts_with("Vaše"))
        .expect("the certificate's email");
    assert!(
        slovenian.html.contains("<b>Lestve</b>"),
        "{}",
        slovenian.html
    );

    // Another tenant sees none of it, and its emails stay English.
    let theirs = app
        .get(
            "/v1/notification-templates/CERTIFICATE_ISSUED/locales/sl",
            &other,
        )
        .await;
    assert_eq!(theirs.json["origin"], "BUILT_IN", "{}", theirs.text);
    assert_problem(
        &app.delete(
            "/v1/notification-templates/CERTIFICATE_ISSUED/locales/sl",
            &other,
        )
        .if_match("\"1\"")
        .await,
        404,
        "template_not_found",
    );
    let (their_module, _) = app.published_module(&other, "Lestve").await;
    let bo = app
        .member(&other, "bo@globex.example.com", "EMPLOYEE")
        .await;
    let bo_id = app.me_id(&bo).await;
    app.complete_for(&other, &bo_id, &their_module).await;
    app.run_worker().await;
    assert!(
        subjects(&notices(&smtp, "bo@globex.example.com"))
            .contains(&"Your certificate for Lestve".to_owned())
    );

    // Removing it brings the built-in one back.
    let removed = app.delete(uri, &owner).if_match("\"1\"").await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json["origin"], "BUILT_IN");
    assert_problem(
        &app.delete(uri, &owner).if_match("\"1\"").await,
        404,
        "template_not_found",
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_log WHERE action LIKE 'NOTIFICATION_TEMPLATE_%'"
        )
        .await,
        2
    );
}

#[actix_web::test]
async fn only_admins_in_person_manage_notification_templates() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let admin = app.member(&owner, "admin@acme.example.com", "ADMIN").await;
    let uri = "/v1/notification-templates/QUIZ_RESULT/locales/en";
    let body = template("{{ module }}: {{ score }}%", "{{ body }}", None);
    for role in ["EMPLOYEE", "HR", "VIEWER"] {
        let token = app
            .member(
                &owner,
                &format!("{}@acme.example.com", role.to_lowercase()),
                role,
            )
            .await;
        assert_problem(
            &app.get("/v1/notification-templates", &token).await,
            403,
            "forbidden",
        );
        assert_problem(&app.get(uri, &token).await, 403, "forbidden");
        assert_problem(
            &app.put(uri, &token, body.clone()).if_match("\"0\"").await,
            403,
            "forbidden",
        );
        assert_problem(
            &app.post(
                "/v1/notification-templates/QUIZ_RESULT/preview",
                &token,
                json!({}),
            )
            .await,
            403,
            "forbidden",
        );
    }
    // An API key, even one with every permission, manages no templates.
    let key = app
        .post(
            "/v1/api-keys",
            &owner,
            json!({ "name": "Everything", "permissions": ["MANAGE_ALL_MODULES", "MANAGE_USERS", "VIEW_AUDIT_LOG"], "act_as_member": true }),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.text);
    let secret = key.json["secret"].as_str().unwrap_or_default().to_owned();
    assert_problem(
        &app.get("/v1/notification-templates", &secret).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.put(uri, &secret, body.clone()).if_match("\"0\"").await,
        403,
        "forbidden",
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM notification_templates").await,
        0
    );
    let stored = app.put(uri, &admin, body).if_match("\"0\"").await;
    assert_eq!(stored.status, 200, "{}", stored.text);
}
