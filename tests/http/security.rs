//! Security hardening, end to end: identity (verified addresses, invitations that only their
//! holder can accept, sessions that end), mail that production never keeps, and the controls
//! around them.

use actix_web::http::Method;
use guild_tests::{IntoRequest, SmtpSink, TestApp, access, assert_problem, count, http_call};
use serde_json::{Value, json};

fn signup_body(slug: &str, name: &str, email: &str, password: &str) -> Value {
    json!({ "tenant_name": format!("Company {slug}"), "slug": slug, "name": name, "email": email, "password": password })
}

/// The whole takeover sequence of a pre-registered address, with the emails read from a real
/// SMTP server: the attacker's account never joins, the address's owner does, and the attacker's
/// sessions end.
#[actix_web::test]
async fn an_address_registered_in_advance_cannot_take_over_its_invitation() {
    let smtp = SmtpSink::start();
    let app = TestApp::with(|state| {
        state.mailer = std::sync::Arc::new(smtp.mailer());
        state.dev_mailbox = false;
    })
    .await;
    let victim = app.owner("victim").await;

    // The attacker registers the victim's colleague's address in a tenant of their own.
    let attacker = app
        .post_anonymous(
            "/v1/auth/signup",
            signup_body(
                "evil",
                "Mallory",
                "alice@victim.example.com",
                "attacker password",
            ),
        )
        .await;
    assert_eq!(attacker.status, 201, "{}", attacker.text);
    let attacker_access = access(&attacker.json);
    let attacker_refresh = attacker.json["tokens"]["refresh_token"].clone();
    let me = app.get("/v1/me", &attacker_access).await;
    assert_eq!(me.json["user"]["email_verified"], false);

    // The company invites the address as ADMIN; the answer is the same as for a new address.
    let invited = app
        .post(
            "/v1/members",
            &victim,
            json!({ "email": "alice@victim.example.com", "name": "Alice Real", "role": "ADMIN" }),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    let fresh = app
        .post(
            "/v1/members",
            &victim,
            json!({ "email": "bob@victim.example.com", "name": "Bob New", "role": "ADMIN" }),
        )
        .await;
    assert_eq!(fresh.status, 201, "{}", fresh.text);
    for (reply, name) in [(&invited, "Alice Real"), (&fresh, "Bob New")] {
        assert_eq!(reply.json["status"], "INVITED");
        assert_eq!(
            reply.json["name"], name,
            "the inviter sees the name they typed"
        );
    }
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&invited.json), keys(&fresh.json));

    // The attacker cannot use the membership: not by signing in to it, not in the app.
    let login = json!({ "email": "alice@victim.example.com", "password": "attacker password",
        "tenant_id": app.get("/v1/tenant", &victim).await.json["id"].clone() });
    assert_problem(
        &app.post_anonymous("/v1/auth/login", login).await,
        403,
        "membership_inactive",
    );
    let pending = app.get("/v1/me/invitations", &attacker_access).await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    let invitation = &pending.json["data"][0];
    assert_eq!(invitation["role"], "ADMIN");
    let tenant_id = invitation["tenant_id"].as_str().unwrap().to_owned();
    assert_problem(
        &app.post(
            &format!("/v1/me/invitations/{tenant_id}/accept"),
            &attacker_access,
            json!({}),
        )
        .await,
        403,
        "email_not_verified",
    );
    // Nor can the inviting admin activate it for them.
    let alice_id = invited.json["user_id"].as_str().unwrap();
    assert_problem(
        &app.post(
            &format!("/v1/members/{alice_id}/reactivate"),
            &victim,
            json!({}),
        )
        .await,
        409,
        "invitation_pending",
    );
    // The account's own name was not changed by the invitation.
    let me = app.get("/v1/me", &attacker_access).await;
    assert_eq!(me.json["user"]["name"], "Mallory");

    // The invitation reaches the address's owner through the real SMTP server.
    app.run_worker().await;
    let mails = smtp.received_by("alice@victim.example.com");
    let invitation_mail = mails
        .iter()
        .find(|m| m.subject.contains("invited"))
        .unwrap_or_else(|| panic!("no invitation in {mails:?}"));
    let token = invitation_mail.token().expect("a token link");
    assert!(
        invitation_mail.text.contains("Hello Alice Real"),
        "{}",
        invitation_mail.text
    );

    // Alice accepts with her own password: she is the ADMIN, the attacker is out.
    let accepted = app
        .post_anonymous(
            "/v1/auth/accept-invite",
            json!({ "token": token, "password": "alice's own password" }),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json["tenant_id"], tenant_id.as_str());
    let alice = app.get("/v1/me", &access(&accepted.json)).await;
    assert_eq!(alice.json["role"], "ADMIN");
    assert_eq!(alice.json["user"]["email_verified"], true);
    assert_problem(
        &app.get("/v1/me", &attacker_access).await,
        401,
        "session_ended",
    );
    assert_problem(
        &app.get("/v1/tenant", &attacker_access).await,
        401,
        "session_ended",
    );
    assert_problem(
        &app.post_anonymous(
            "/v1/auth/refresh",
            json!({ "refresh_token": attacker_refresh }),
        )
        .await,
        401,
        "invalid_token",
    );
    let old_password =
        json!({ "email": "alice@victim.example.com", "password": "attacker password" });
    assert_problem(
        &app.post_anonymous("/v1/auth/login", old_password).await,
        401,
        "invalid_credentials",
    );
    let mailbox: i64 = count(&app, "SELECT count(*) AS n FROM dev_mailbox").await;
    assert_eq!(mailbox, 0, "with SMTP configured no mail body is kept");
}

/// A verified account's invitations wait for its answer in the app: accept joins, decline goes.
#[actix_web::test]
async fn a_verified_account_answers_its_invitations_in_the_app() {
    let app = TestApp::new().await;
    let first = app.owner("first").await;
    let second = app.owner("second").await;
    let bea = app
        .post_anonymous(
            "/v1/auth/signup",
            signup_body("bea", "Bea", "bea@example.com", "bea's password!"),
        )
        .await;
    let bea_access = access(&bea.json);
    app.run_worker().await;
    let verify = app.token_mailed_to("bea@example.com");
    let verified = app
        .post_anonymous("/v1/auth/verify-email", json!({ "token": verify }))
        .await;
    assert_eq!(verified.status, 204, "{}", verified.text);
    assert_problem(
        &app.post_anonymous("/v1/auth/verify-email", json!({ "token": verify }))
            .await,
        401,
        "invalid_token",
    );
    assert_problem(
        &app.post("/v1/me/email-verification", &bea_access, json!({}))
            .await,
        409,
        "email_already_verified",
    );
    assert_eq!(
        app.get("/v1/me", &bea_access).await.json["user"]["email_verified"],
        true
    );

    for owner in [&first, &second] {
        let invited = app
            .post(
                "/v1/members",
                owner,
                json!({ "email": "bea@example.com", "name": "Beatrice", "role": "EMPLOYEE" }),
            )
            .await;
        assert_eq!(invited.status, 201, "{}", invited.text);
        assert_eq!(invited.json["status"], "INVITED");
    }
    app.run_worker().await;
    let mail = app.mail.last_to("bea@example.com").expect("an invitation");
    assert!(
        !mail.text.contains("token="),
        "a verified account with a password gets no token: {}",
        mail.text
    );

    let pending = app.get("/v1/me/invitations", &bea_access).await;
    let ids: Vec<String> = pending.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tenant_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{}", pending.text);
    let accepted = app
        .post(
            &format!("/v1/me/invitations/{}/accept", ids[0]),
            &bea_access,
            json!({}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json["status"], "ACTIVE");
    let declined = app
        .post(
            &format!("/v1/me/invitations/{}/decline", ids[1]),
            &bea_access,
            json!({}),
        )
        .await;
    assert_eq!(declined.status, 204, "{}", declined.text);
    assert_problem(
        &app.post(
            &format!("/v1/me/invitations/{}/accept", ids[1]),
            &bea_access,
            json!({}),
        )
        .await,
        404,
        "invitation_not_found",
    );
    let pending = app.get("/v1/me/invitations", &bea_access).await;
    assert_eq!(pending.json["data"], json!([]));

    // She switches into the tenant she joined, under her own name.
    let login =
        json!({ "email": "bea@example.com", "password": "bea's password!", "tenant_id": ids[0] });
    let signed_in = app.post_anonymous("/v1/auth/login", login).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let members = app.get("/v1/members?q=bea", &first).await;
    assert_eq!(members.json["data"][0]["name"], "Bea", "{}", members.text);
    assert_eq!(members.json["data"][0]["status"], "ACTIVE");
    let members = app.get("/v1/members?q=bea", &second).await;
    assert_eq!(members.json["data"], json!([]), "declined: no membership");
}

/// A password change ends every other session at once, even on an instance that cached the
/// actor, and a token minted before it stops working on tenant-less routes too.
#[actix_web::test]
async fn a_password_change_ends_every_other_session_at_once() {
    let app = TestApp::with(|state| {
        state.actors = std::sync::Arc::new(guild_api::auth::ActorCache::new(
            std::time::Duration::from_secs(30),
        ));
    })
    .await;
    let first = app.sign_up("acme").await;
    let login = json!({ "email": "owner@acme.example.com", "password": "correct horse battery" });
    let second = app.post_anonymous("/v1/auth/login", login).await;
    let (first_access, second_access) = (access(&first), access(&second.json));
    // Both sessions work, and the actor is now cached.
    for token in [&first_access, &second_access] {
        assert_eq!(app.get("/v1/tenant", token).await.status, 200);
    }
    let changed = app.post("/v1/me/password", &first_access, json!({ "current_password": "correct horse battery", "new_password": "a new password 2" }))
    .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    for token in [&first_access, &second_access] {
        assert_problem(&app.get("/v1/tenant", token).await, 401, "session_ended");
        assert_problem(&app.get("/v1/me", token).await, 401, "session_ended");
    }
    assert_problem(
        &app.post_anonymous(
            "/v1/auth/refresh",
            json!({ "refresh_token": second.json["refresh_token"] }),
        )
        .await,
        401,
        "invalid_token",
    );
    let login = json!({ "email": "owner@acme.example.com", "password": "a new password 2" });
    let fresh = app.post_anonymous("/v1/auth/login", login).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(
        app.get("/v1/tenant", &access(&fresh.json)).await.status,
        200
    );
}

/// A bad emailed token is refused before any password is hashed, and the redemptions are
/// rate limited per client address.
#[actix_web::test]
async fn emailed_token_redemptions_are_rate_limited() {
    let app = TestApp::with(|state| {
        state.limits.token_ip = guild_kernel::ports::RateRule {
            limit: 3,
            window: std::time::Duration::from_secs(60),
        };
    })
    .await;
    for _ in 0..3 {
        let reply = app
            .post_anonymous(
                "/v1/auth/accept-invite",
                json!({ "token": "nope", "password": "long enough password" }),
            )
            .await;
        assert_problem(&reply, 401, "invalid_token");
    }
    let limited = app
        .post_anonymous(
            "/v1/auth/accept-invite",
            json!({ "token": "nope", "password": "long enough password" }),
        )
        .await;
    assert_problem(&limited, 429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // Each flow has its own bucket.
    assert_problem(
        &app.post_anonymous("/v1/auth/verify-email", json!({ "token": "nope" }))
            .await,
        401,
        "invalid_token",
    );
}

/// Only development without SMTP keeps mail; the application role never reads a kept body back,
/// and old messages are pruned.
#[actix_web::test]
async fn mail_bodies_are_kept_only_in_development_without_smtp_and_pruned() {
    let vars = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let secret = ("GUILD_JWT_SECRET", "0123456789abcdef0123456789abcdef");
    let key = ("GUILD_BLOB_SIGNING_KEY", "0123456789abcdef0123456789abcdef");
    let unsubscribe = (
        "GUILD_UNSUBSCRIBE_SECRET",
        "0123456789abcdef0123456789abcdef",
    );
    let event_links = (
        "GUILD_EVENT_LINK_SECRET",
        "0123456789abcdef0123456789abcdef",
    );
    let config = |pairs: &[(&str, &str)]| {
        guild_api::config::Config::from_vars(&vars(pairs)).expect("a valid configuration")
    };
    assert!(config(&[]).records_mail());
    assert!(!config(&[("GUILD_SMTP_URL", "smtp://127.0.0.1:2525")]).records_mail());
    assert!(
        !config(&[
            ("GUILD_ENV", "production"),
            secret,
            key,
            unsubscribe,
            event_links,
            (
                "GUILD_ENCRYPTION_KEYS",
                "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
            )
        ])
        .records_mail()
    );

    let app = TestApp::new().await;
    app.sign_up("acme").await;
    app.run_worker().await;
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM dev_mailbox").await,
        1,
        "the verification email is kept in development"
    );
    {
        use diesel_async::{AsyncConnection, RunQueryDsl};
        let mut conn = app.db.conn().await;
        let denied = conn
            .transaction::<(), diesel::result::Error, _>(async |conn| {
                diesel::sql_query("SET LOCAL ROLE guild_app")
                    .execute(conn)
                    .await?;
                diesel::sql_query("SELECT text_body AS n FROM dev_mailbox")
                    .execute(conn)
                    .await
                    .map(drop)
            })
            .await;
        let message = format!("{denied:?}");
        assert!(
            message.contains("permission denied"),
            "the application role read a mail body: {message}"
        );
        diesel::sql_query("UPDATE dev_mailbox SET created_at = now() - interval '8 days'")
            .execute(&mut conn)
            .await
            .expect("age the message");
        let mut job = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                diesel::sql_query("SET LOCAL ROLE guild_app")
                    .execute(conn)
                    .await?;
                diesel::sql_query(
                    "DELETE FROM dev_mailbox WHERE created_at < now() - interval '7 days'",
                )
                .execute(conn)
                .await
            })
            .await;
        assert_eq!(
            job.as_mut().ok().copied(),
            Some(1),
            "{job:?}: the role may prune"
        );
    }
    // The scheduled job prunes what is older than a week.
    app.sign_up("beta").await;
    app.run_worker().await;
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query("UPDATE dev_mailbox SET created_at = now() - interval '8 days'")
            .execute(&mut app.db.conn().await)
            .await
            .expect("age the messages");
    }
    let mut conn = app.db.conn().await;
    guild_db::jobs::enqueue(
        &mut conn,
        None,
        &guild_api::reactions::emails::PruneDevMailbox::default(),
    )
    .await
    .expect("enqueue the prune job");
    app.run_worker().await;
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM dev_mailbox").await,
        0
    );
}

/// The plan is the platform's to change, not the tenant owner's.
#[actix_web::test]
async fn only_the_platform_owner_changes_a_tenants_plan() {
    let app = TestApp::new().await;
    let tenant = app.sign_up("acme").await;
    let owner = access(&tenant);
    let upgrade = |token: &str| app.patch("/v1/tenant", token, json!({ "plan": "PRO" }));
    assert_problem(
        &app.send(upgrade(&owner)).await,
        403,
        "plan_change_forbidden",
    );
    let renamed = app
        .patch("/v1/tenant", &owner, json!({ "name": "Acme Inc" }))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let root = app.platform_owner().await;
    let switched = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": root.json["refresh_token"], "tenant_id": tenant["tenant"]["id"] }))
    .await;
    let upgraded = app.send(upgrade(&access(&switched.json))).await;
    assert_eq!(upgraded.status, 200, "{}", upgraded.text);
    assert_eq!(upgraded.json["plan"], "PRO");
}

/// A change in one tenant forgets that tenant's cached actors only.
#[actix_web::test]
async fn a_change_in_one_tenant_keeps_other_tenants_actors_cached() {
    let app = TestApp::with(|state| {
        state.actors = std::sync::Arc::new(guild_api::auth::ActorCache::new(
            std::time::Duration::from_secs(30),
        ));
    })
    .await;
    let acme = app.owner("acme").await;
    let beta = app.owner("beta").await;
    for token in [&acme, &beta] {
        assert_eq!(app.get("/v1/tenant", token).await.status, 200);
    }
    assert_eq!(app.state.actors.len(), 2);
    let renamed = app
        .patch("/v1/tenant", &acme, json!({ "name": "Acme Inc" }))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(
        app.state.actors.len(),
        1,
        "acme's entry is forgotten, beta's stays"
    );
}

/// A tenant sends at most its plan's invitations a day, one by one or by CSV, and the inviter's
/// only text in the email (the name) is one plain line.
#[actix_web::test]
async fn invitation_emails_are_capped_per_tenant_and_day() {
    let app = TestApp::with(|state| {
        state.invite_caps = guild_tenancy::quota::InviteCaps {
            free: 3,
            starter: 10,
            pro: 10,
        };
    })
    .await;
    let acme = app.owner("acme").await;
    let beta = app.owner("beta").await;
    let invite = |token: &str, n: usize| {
        app.post("/v1/members", token, json!({ "email": format!("m{n}@example.com"), "name": format!("Member {n}"), "role": "EMPLOYEE" }))
    };
    for n in 0..3 {
        assert_eq!(app.send(invite(&acme, n)).await.status, 201);
    }
    let capped = app.send(invite(&acme, 3)).await;
    assert_problem(&capped, 429, "invitation_cap_reached");
    assert_eq!(app.send(invite(&beta, 3)).await.status, 201, "per tenant");

    let csv = "email,name,role\nx@example.com,X,EMPLOYEE\ny@example.com,Y,EMPLOYEE\n";
    let dry = app
        .post(
            "/v1/members/import",
            &acme,
            json!({ "csv": csv, "dry_run": true }),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.json["daily_invitation_cap"], 3);
    assert_eq!(dry.json["invitations_left_today"], 0);
    assert_eq!(dry.json["errors"][0]["field"], "rows", "{}", dry.text);
    let big: String = std::iter::once("email,name,role\n".to_owned())
        .chain((0..3).map(|n| format!("b{n}@example.com,B {n},EMPLOYEE\n")))
        .collect();
    let refused = app
        .post("/v1/members/import", &beta, json!({ "csv": big }))
        .await;
    assert_problem(&refused, 422, "import_invalid");
    assert_eq!(refused.json["report"]["invitations_left_today"], 2);
    assert_eq!(refused.json["report"]["imported"], 0);

    let spoof = app.post("/v1/members", &beta, json!({ "email": "z@example.com", "name": "Zed\n\nYour account is locked, see evil.example", "role": "EMPLOYEE" }))
    .await;
    assert_problem(&spoof, 422, "validation_failed");
    app.run_worker().await;
    let mail = app.mail.last_to("m0@example.com").expect("an invitation");
    assert!(mail.html.is_none(), "invitations are plain text only");
}

/// Per account only failures count, so nobody locks a colleague out by sending requests; per
/// client address every attempt counts, and behind a trusted proxy each client has its own
/// bucket while a client cannot pick one by sending the header itself.
#[actix_web::test]
async fn sign_in_limits_count_failures_per_account_and_clients_through_trusted_proxies() {
    use guild_kernel::ports::RateRule;
    let minute = std::time::Duration::from_secs(60);
    let app = TestApp::with(|state| {
        state.limits.login_account = RateRule {
            limit: 2,
            window: minute,
        };
        state.limits.login_ip = RateRule {
            limit: 3,
            window: minute,
        };
        state.trusted_proxies = std::sync::Arc::from(vec!["10.0.0.0/8".parse().unwrap()]);
    })
    .await;
    app.sign_up("acme").await;
    let login = |peer: &str, forwarded: Option<&str>, password: &str| {
        let mut req = actix_web::test::TestRequest::post()
            .uri("/v1/auth/login")
            .peer_addr(peer.parse().unwrap())
            .set_json(json!({ "email": "owner@acme.example.com", "password": password }));
        if let Some(f) = forwarded {
            req = req.insert_header(("x-forwarded-for", f));
        }
        req.to_request()
    };
    let right = "correct horse battery";
    // Successful sign-ins from many clients do not use up the account's budget.
    for n in 0..5 {
        let reply = app
            .send(login(&format!("198.51.100.{n}:1000"), None, right))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    // Behind the proxy, clients are told apart by the address the proxy appended.
    for n in 0..3 {
        let reply = app
            .send(login(
                "10.0.0.5:1000",
                Some(&format!("203.0.113.{n}")),
                right,
            ))
            .await;
        assert_eq!(reply.status, 200, "client {n}: {}", reply.text);
    }
    // A direct client's own header is ignored: its fourth attempt is limited.
    for n in 0..3 {
        let reply = app
            .send(login(
                "192.0.2.7:1000",
                Some(&format!("203.0.113.{}", 50 + n)),
                right,
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_problem(
        &app.send(login("192.0.2.7:1000", Some("203.0.113.99"), right))
            .await,
        429,
        "rate_limited",
    );
    // Two failures lock the account (from anywhere) until the window passes.
    for n in 0..2 {
        let reply = app
            .send(login(
                &format!("198.51.100.{}:1000", 100 + n),
                None,
                "wrong horse",
            ))
            .await;
        assert_problem(&reply, 401, "invalid_credentials");
    }
    assert_problem(
        &app.send(login("198.51.100.200:1000", None, right)).await,
        429,
        "rate_limited",
    );
}

/// Authenticated traffic counts per tenant and per API key, with `RateLimit-*` headers.
#[actix_web::test]
async fn authenticated_requests_are_limited_per_tenant_and_per_api_key() {
    use guild_kernel::ports::RateRule;
    let minute = std::time::Duration::from_secs(60);
    let app = TestApp::with(|state| {
        state.limits.tenant = Some(RateRule {
            limit: 6,
            window: minute,
        });
        state.limits.api_key = Some(RateRule {
            limit: 2,
            window: minute,
        });
    })
    .await;
    let acme = app.owner("acme").await;
    let beta = app.owner("beta").await;
    let first = app.get("/v1/tenant", &acme).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("ratelimit-limit"), Some("6"));
    assert_eq!(first.header("ratelimit-remaining"), Some("5"));
    assert!(first.header("ratelimit-reset").is_some());
    let key = app
        .post(
            "/v1/api-keys",
            &acme,
            json!({ "name": "sync", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.text);
    let key = key.json["secret"].as_str().expect("the secret").to_owned();
    for remaining in ["1", "0"] {
        let reply = app.get("/v1/audit-log", &key).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.header("ratelimit-remaining"), Some(remaining));
    }
    let limited = app.get("/v1/audit-log", &key).await;
    assert_problem(&limited, 429, "rate_limited");
    assert_eq!(limited.header("ratelimit-limit"), Some("2"));
    // The tenant's own budget: 6 in all, the key's 3 requests included.
    let reply = app.get("/v1/tenant", &acme).await;
    assert_eq!(reply.status, 200);
    let reply = app.get("/v1/tenant", &acme).await;
    assert_problem(&reply, 429, "rate_limited");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(app.get("/v1/tenant", &beta).await.status, 200, "per tenant");
}

/// A MANAGE_GROUPS grant scoped to a group cannot widen itself by pulling people into that
/// group: only members the holder could already manage, and never a role at or above theirs.
#[actix_web::test]
async fn a_scoped_group_grant_pulls_in_only_members_it_already_manages() {
    let app = TestApp::new().await;
    let signed_up = app.sign_up("acme").await;
    let owner = access(&signed_up);
    let owner_id = app.get("/v1/me", &owner).await.json["user"]["id"].clone();
    let lead = app.join(&owner, "lead@acme.example.com", "EMPLOYEE").await;
    let lead_id = app.get("/v1/me", &access(&lead)).await.json["user"]["id"].clone();
    let mut ids = Vec::new();
    for name in ["in-g", "outside"] {
        let pair = app
            .join(&owner, &format!("{name}@acme.example.com"), "VIEWER")
            .await;
        ids.push(app.get("/v1/me", &access(&pair)).await.json["user"]["id"].clone());
    }
    let group = |name: &str| app.post("/v1/groups", &owner, json!({ "name": name }));
    let g = app.send(group("G")).await.json["id"].clone();
    let h = app.send(group("H")).await.json["id"].clone();
    let add = |token: &str, group: &Value, users: Vec<Value>| {
        app.post(
            &format!("/v1/groups/{}/members", group.as_str().unwrap()),
            token,
            json!({ "user_ids": users }),
        )
    };
    assert_eq!(
        app.send(add(&owner, &g, vec![ids[0].clone()])).await.status,
        200
    );
    assert_eq!(
        app.send(add(&owner, &h, vec![ids[1].clone()])).await.status,
        200
    );
    let granted = app
        .put(
            &format!("/v1/members/{}/permissions", lead_id.as_str().unwrap()),
            &owner,
            json!({ "grants": [
                { "permission": "MANAGE_GROUPS", "scope": { "group_ids": [g] } },
                { "permission": "VIEW_GROUP_PROGRESS", "scope": { "group_ids": [g] } }
            ] }),
        )
        .await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    let lead = access(&lead);

    // Someone already in G: fine. Someone from H, or the owner: refused, nothing added.
    assert_eq!(
        app.send(add(&lead, &g, vec![ids[0].clone()])).await.status,
        200
    );
    assert_problem(
        &app.send(add(&lead, &g, vec![ids[1].clone()])).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.send(add(&lead, &g, vec![owner_id.clone()])).await,
        403,
        "role_not_assignable",
    );
    assert_problem(
        &app.send(add(&lead, &g, vec![lead_id.clone()])).await,
        403,
        "role_not_assignable",
    );
    let members = app
        .get(&format!("/v1/groups/{}", g.as_str().unwrap()), &owner)
        .await;
    assert_eq!(members.json["member_count"], 1, "{}", members.text);
    // An ADMIN with tenant-wide MANAGE_GROUPS adds anyone below them, never the owner.
    let admin = access(&app.join(&owner, "admin@acme.example.com", "ADMIN").await);
    assert_eq!(
        app.send(add(&admin, &g, vec![ids[1].clone()])).await.status,
        200
    );
    assert_problem(
        &app.send(add(&admin, &g, vec![owner_id])).await,
        403,
        "role_not_assignable",
    );
}

/// Sends two requests at once (both in flight on their own connections) and returns the statuses.
async fn race(app: &TestApp, a: impl IntoRequest, b: impl IntoRequest) -> (u16, u16) {
    let (a, b) = futures_util::future::join(app.send(a), app.send(b)).await;
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    (statuses[0], statuses[1])
}

/// Two owners demoting each other at the same moment leave one owner, every time.
#[actix_web::test]
async fn two_owners_demoting_each_other_at_once_leave_one() {
    let app = TestApp::new().await;
    for round in 0..4 {
        let first = access(&app.sign_up(&format!("race{round}")).await);
        let second = access(
            &app.join(&first, &format!("second@race{round}.example.com"), "OWNER")
                .await,
        );
        let id = |token: String| {
            let app = &app;
            async move { app.get("/v1/me", &token).await.json["user"]["id"].clone() }
        };
        let (first_id, second_id) = (id(first.clone()).await, id(second.clone()).await);
        let demote = |token: &str, target: &Value| {
            app.put(
                &format!("/v1/members/{}/role", target.as_str().unwrap()),
                token,
                json!({ "role": "ADMIN" }),
            )
        };
        // The loser is refused either way: 409 when both were authorized before either
        // committed, 403 when the winner committed before the loser's request was authorized
        // (it is no longer an owner). One owner is left in both cases.
        let statuses = race(&app, demote(&first, &second_id), demote(&second, &first_id)).await;
        assert!(
            statuses == (200, 409) || statuses == (200, 403),
            "round {round}: {statuses:?}"
        );
        let owners = app
            .get(
                "/v1/members?role=OWNER",
                &w_token(&app, &first, &second).await,
            )
            .await;
        assert_eq!(
            owners.json["data"].as_array().map(Vec::len),
            Some(1),
            "round {round}: {}",
            owners.text
        );
    }
}

/// Whichever of the two tokens still belongs to an owner.
async fn w_token(app: &TestApp, a: &str, b: &str) -> String {
    for token in [a, b] {
        if app.get("/v1/me", token).await.json["role"] == "OWNER" {
            return token.to_owned();
        }
    }
    panic!("no owner left")
}

/// Two managers set at once that together would make a cycle: one is refused.
#[actix_web::test]
async fn manager_changes_racing_into_a_cycle_are_refused() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    for round in 0..4 {
        let mut ids = Vec::new();
        for name in ["a", "b"] {
            let pair = app
                .join(
                    &owner,
                    &format!("{name}{round}@acme.example.com"),
                    "EMPLOYEE",
                )
                .await;
            ids.push(app.get("/v1/me", &access(&pair)).await.json["user"]["id"].clone());
        }
        let manage = |user: &Value, manager: &Value| {
            app.put(
                &format!("/v1/members/{}/manager", user.as_str().unwrap()),
                &owner,
                json!({ "manager_id": manager }),
            )
        };
        let statuses = race(&app, manage(&ids[0], &ids[1]), manage(&ids[1], &ids[0])).await;
        assert_eq!(statuses, (200, 422), "round {round}");
    }
}

/// Two prerequisite changes that together would make a cycle: one is refused.
#[actix_web::test]
async fn prerequisite_changes_racing_into_a_cycle_are_refused() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    for round in 0..4 {
        let mut ids = Vec::new();
        for name in ["A", "B"] {
            let created = app
                .post(
                    "/v1/modules",
                    &owner,
                    json!({ "title": format!("{name} {round}") }),
                )
                .await;
            assert_eq!(created.status, 201, "{}", created.text);
            ids.push(created.json["id"].clone());
        }
        let needs = |module: &Value, prerequisite: &Value| {
            app.put(
                &format!("/v1/modules/{}/prerequisites", module.as_str().unwrap()),
                &owner,
                json!({ "ids": [prerequisite] }),
            )
        };
        let statuses = race(&app, needs(&ids[0], &ids[1]), needs(&ids[1], &ids[0])).await;
        assert_eq!(statuses, (200, 422), "round {round}");
    }
}

/// A member's certificates and overrides, and erasure, answer 404 for an id that is not a
/// member here.
#[actix_web::test]
async fn certificates_and_overrides_of_a_non_member_are_not_found() {
    let app = TestApp::new().await;
    let acme = app.owner("acme").await;
    let beta = app.owner("beta").await;
    let beta_owner = app.get("/v1/me", &beta).await.json["user"]["id"].clone();
    let stranger = beta_owner.as_str().unwrap().to_owned();
    let nobody = uuid::Uuid::now_v7().to_string();
    for id in [&stranger, &nobody] {
        for list in ["certificates", "progress-overrides"] {
            assert_problem(
                &app.get(&format!("/v1/members/{id}/{list}"), &acme).await,
                404,
                "member_not_found",
            );
        }
        assert_problem(
            &app.post(&format!("/v1/members/{id}/erase"), &acme, json!({}))
                .await,
            404,
            "member_not_found",
        );
    }
    let own = app.get("/v1/me", &acme).await.json["user"]["id"].clone();
    let mine = app
        .get(
            &format!("/v1/members/{}/certificates", own.as_str().unwrap()),
            &acme,
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
}

/// With `GUILD_METRICS_ADDR`, `/metrics` is served there and not on the public port.
#[actix_web::test]
async fn metrics_can_be_kept_off_the_public_port() {
    let config = guild_api::config::Config::from_vars(
        &[("GUILD_METRICS_ADDR", "127.0.0.1:9464")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
    .expect("a valid configuration");
    assert_eq!(config.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
    let app = TestApp::with(|state| state.http.metrics_public = false).await;
    let public = app.request(Method::GET, "/metrics").await;
    assert_problem(&public, 404, "not_found");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let server = guild_api::server::metrics_server(
        format!("127.0.0.1:{port}").parse().unwrap(),
        app.state.clone(),
    )
    .expect("bind the metrics address");
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let (status, body) =
        http_call("GET", &format!("http://127.0.0.1:{port}/metrics"), &[], b"").await;
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&body).contains("# EOF"),
        "an OpenMetrics exposition"
    );
    handle.stop(true).await;
}

/// Removing a member keeps their history (the XP ledger, the audit trail) while they lose access
/// and leave lists and the leaderboard; on request their personal fields are erased, history kept.
#[actix_web::test]
async fn removing_a_member_keeps_their_history_and_erasing_replaces_their_personal_fields() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let other = app.owner("other").await;
    let me = |token: String| {
        let app = &app;
        async move {
            app.get("/v1/me", &token).await.json["user"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let ann = access(&app.join(&owner, "ann@acme.example.com", "EMPLOYEE").await);
    let ann_id = me(ann.clone()).await;
    let bob = access(&app.join(&owner, "bob@acme.example.com", "EMPLOYEE").await);
    let bob_id = me(bob.clone()).await;
    for user in [&ann_id, &bob_id] {
        let awarded = app
            .post(
                "/v1/xp/adjustments",
                &owner,
                json!({ "user_id": user, "amount": 50, "reason": "Great work" }),
            )
            .idempotency_key(user.as_str())
            .await;
        assert_eq!(awarded.status, 200, "{}", awarded.text);
    }
    let board = app.get("/v1/leaderboard", &bob).await;
    assert_eq!(
        board.json["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        board.text
    );

    assert_problem(
        &app.post(&format!("/v1/members/{ann_id}/erase"), &owner, json!({}))
            .await,
        409,
        "member_not_removed",
    );
    let removed = app.delete(&format!("/v1/members/{ann_id}"), &owner).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_problem(&app.get("/v1/me/xp", &ann).await, 403, "not_a_member");
    assert_problem(
        &app.delete(&format!("/v1/members/{ann_id}"), &owner).await,
        409,
        "member_removed",
    );
    let listed = app.get("/v1/members", &owner).await;
    assert!(!listed.text.contains(&ann_id), "{}", listed.text);
    let removed_list = app.get("/v1/members?status=REMOVED", &owner).await;
    assert_eq!(
        removed_list.json["data"][0]["user_id"],
        ann_id.as_str(),
        "{}",
        removed_list.text
    );
    // Boards are shared in-process for a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let board = app.get("/v1/leaderboard", &bob).await;
    assert_eq!(
        board.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        board.text
    );
    let ledger = count(
        &app,
        &format!("SELECT count(*) AS n FROM xp_transactions WHERE user_id = '{ann_id}'"),
    )
    .await;
    assert_eq!(ledger, 1, "the XP ledger is kept");

    let erased = app
        .post(&format!("/v1/members/{ann_id}/erase"), &owner, json!({}))
        .await;
    assert_eq!(erased.status, 204, "{}", erased.text);
    let removed_list = app.get("/v1/members?status=REMOVED", &owner).await;
    assert_eq!(removed_list.json["data"][0]["name"], "Erased member");
    assert!(
        !removed_list.text.contains("ann@acme"),
        "{}",
        removed_list.text
    );
    let audit = app.get("/v1/audit-log?limit=100", &owner).await;
    assert!(
        !audit.text.contains("ann@acme"),
        "the audit trail keeps no email: {}",
        audit.text
    );
    assert!(audit.text.contains("MEMBER_ERASED"), "{}", audit.text);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM xp_transactions WHERE user_id = '{ann_id}'")
        )
        .await,
        1
    );
    let login = json!({ "email": "ann@acme.example.com", "password": "member password 1" });
    assert_problem(
        &app.post_anonymous("/v1/auth/login", login).await,
        401,
        "invalid_credentials",
    );

    // An account another tenant still has is not erased; someone removed can be invited back.
    let bob_elsewhere = app
        .post(
            "/v1/members",
            &other,
            json!({ "email": "bob@acme.example.com", "name": "Bob", "role": "EMPLOYEE" }),
        )
        .await;
    assert_eq!(bob_elsewhere.status, 201, "{}", bob_elsewhere.text);
    app.delete(&format!("/v1/members/{bob_id}"), &owner).await;
    assert_problem(
        &app.post(&format!("/v1/members/{bob_id}/erase"), &owner, json!({}))
            .await,
        409,
        "member_of_another_tenant",
    );
    let back = app
        .post(
            "/v1/members",
            &owner,
            json!({ "email": "bob@acme.example.com", "name": "Bob", "role": "VIEWER" }),
        )
        .await;
    assert_eq!(back.status, 201, "{}", back.text);
    assert_eq!(back.json["status"], "INVITED");
    assert_eq!(back.json["role"], "VIEWER");
}

/// Changing a password checks the current one (an argon2 hash): a stolen access token buys a
/// few guesses, not unlimited ones.
#[actix_web::test]
async fn password_changes_are_rate_limited_per_account() {
    let app = TestApp::with(|state| {
        state.limits.login_account = guild_kernel::ports::RateRule {
            limit: 2,
            window: std::time::Duration::from_secs(60),
        };
    })
    .await;
    let owner = app.owner("acme").await;
    let guess = json!({ "current_password": "a wrong guess!", "new_password": "a new password 1" });
    for _ in 0..2 {
        assert_problem(
            &app.post("/v1/me/password", &owner, guess.clone()).await,
            422,
            "validation_failed",
        );
    }
    assert_problem(
        &app.post("/v1/me/password", &owner, guess).await,
        429,
        "rate_limited",
    );
}

/// Two invitations racing for the last unit of the day's cap: one is sent, one is refused.
#[actix_web::test]
async fn invitations_racing_for_the_last_of_the_cap_send_one() {
    let app = TestApp::with(|state| {
        state.invite_caps = guild_tenancy::quota::InviteCaps {
            free: 1,
            starter: 1,
            pro: 1,
        };
    })
    .await;
    for round in 0..4 {
        let owner = access(&app.sign_up(&format!("cap{round}")).await);
        let invite = |n: usize| {
            app.post("/v1/members", &owner, json!({ "email": format!("r{round}-{n}@example.com"), "name": "R", "role": "EMPLOYEE" }))
        };
        let statuses = race(&app, invite(0), invite(1)).await;
        assert_eq!(statuses, (201, 429), "round {round}");
    }
}

/// The same XP adjustment sent twice at once with one `Idempotency-Key` is applied once: the
/// second waits for the first to commit and replays its answer.
#[actix_web::test]
async fn one_key_racing_itself_awards_xp_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = access(&app.join(&owner, "ann@acme.example.com", "EMPLOYEE").await);
    let me = app.get("/v1/me", &ann).await;
    let ann_id = me.json["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!ann_id.is_empty(), "{}", me.text);
    for round in 0..4 {
        let key = format!("race-award-{round}");
        let award = || {
            app.post(
                "/v1/xp/adjustments",
                &owner,
                json!({ "user_id": ann_id, "amount": 10, "reason": "Race" }),
            )
            .idempotency_key(&key)
        };
        assert_eq!(
            race(&app, award(), award()).await,
            (200, 200),
            "round {round}"
        );
        let awarded = count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM xp_transactions WHERE user_id = '{ann_id}' \
                 AND reason = 'Race'"
            ),
        )
        .await;
        assert_eq!(awarded, round + 1, "round {round}");
    }
}
