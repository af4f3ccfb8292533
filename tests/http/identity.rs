//! Tenancy, identity and access, end to end.

use actix_web::http::Method;
use guild_kernel::ports::RateRule;
use guild_tests::{TEST_SECRET, TestApp, access, assert_problem};
use serde_json::{Value, json};

#[actix_web::test]
async fn a_new_owner_signs_in_and_sees_every_permission() {
    let app = TestApp::new().await;
    let signed_up = app.sign_up("acme").await;
    assert_eq!(signed_up["tenant"]["plan"], "FREE");
    let me = app.get("/v1/me", &access(&signed_up)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["role"], "OWNER");
    assert_eq!(me.json["active_tenant"]["slug"], "acme");
    assert_eq!(me.json["permissions"].as_array().map(Vec::len), Some(16));

    let login = json!({ "email": "OWNER@acme.example.com", "password": "correct horse battery" });
    let ok = app.post_anonymous("/v1/auth/login", login).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["tenant_id"], signed_up["tenant"]["id"]);

    let wrong = json!({ "email": "owner@acme.example.com", "password": "wrong horse battery" });
    assert_problem(
        &app.post_anonymous("/v1/auth/login", wrong).await,
        401,
        "invalid_credentials",
    );
    let nobody = json!({ "email": "nobody@acme.example.com", "password": "wrong horse battery" });
    assert_problem(
        &app.post_anonymous("/v1/auth/login", nobody).await,
        401,
        "invalid_credentials",
    );

    let taken = app.post_anonymous("/v1/auth/signup", json!({ "tenant_name": "Again", "slug": "acme", "name": "X", "email": "x@x.example.com", "password": "correct horse battery" }))
    .await;
    assert_problem(&taken, 409, "slug_taken");
}

#[actix_web::test]
async fn tenant_settings_refuse_a_locale_the_tenant_cannot_store() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let patch = |locale: &str| app.patch("/v1/tenant", &owner, json!({ "locale": locale }));
    for bad in ["0000", "EN", "en-si", "en_SI", "eng"] {
        let refused = app.send(patch(bad)).await;
        assert_problem(&refused, 422, "validation_failed");
        assert_eq!(
            refused.json["errors"][0]["field"], "locale",
            "{bad}: {}",
            refused.text
        );
    }
    let ok = app.send(patch("sl-SI")).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["locale"], "sl-SI");
}

#[actix_web::test]
async fn invitations_are_emailed_and_their_link_works_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let pair = app.join(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let me = app.get("/v1/me", &access(&pair)).await;
    assert_eq!(me.json["role"], "EMPLOYEE");
    assert_eq!(me.json["permissions"], json!([]));

    let token = app.token_mailed_to("ann@acme.example.com");
    let again = app
        .post_anonymous(
            "/v1/auth/accept-invite",
            json!({ "token": token, "password": "another password" }),
        )
        .await;
    assert_problem(&again, 401, "invalid_token");
    let stored: i64 = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        guild_db::schema::email_tokens::table
            .filter(guild_db::schema::email_tokens::token_hash.eq(token.as_bytes()))
            .count()
            .get_result(&mut app.db.conn().await)
            .await
            .unwrap()
    };
    assert_eq!(stored, 0, "the token is stored in plain text");
}

#[actix_web::test]
async fn each_role_is_allowed_exactly_its_actions() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let mut tokens = vec![("OWNER", owner.clone())];
    for role in ["ADMIN", "HR", "EMPLOYEE", "VIEWER"] {
        let email = format!("{}@acme.example.com", role.to_lowercase());
        tokens.push((role, app.member(&owner, &email, role).await));
    }
    // (action, roles allowed)
    for (role, token) in &tokens {
        let allowed = |roles: &[&str]| roles.contains(role);
        let status = app.get("/v1/members", token).await.status;
        assert_eq!(
            status == 200,
            allowed(&["OWNER", "ADMIN", "HR"]),
            "{role} list members: {status}"
        );
        let group = app
            .post("/v1/groups", token, json!({ "name": format!("g-{role}") }))
            .await;
        assert_eq!(
            group.status == 201,
            allowed(&["OWNER", "ADMIN", "HR"]),
            "{role} create group: {}",
            group.text
        );
        if group.status != 201 {
            assert_problem(&group, 403, "forbidden");
        }
        let audit = app.get("/v1/audit-log", token).await.status;
        assert_eq!(
            audit == 200,
            allowed(&["OWNER", "ADMIN"]),
            "{role} audit log: {audit}"
        );
        let key = app
            .post(
                "/v1/api-keys",
                token,
                json!({ "name": "k", "permissions": [] }),
            )
            .await;
        assert_eq!(
            key.status == 201,
            allowed(&["OWNER", "ADMIN"]),
            "{role} api key: {}",
            key.text
        );
        let settings = app
            .patch("/v1/tenant", token, json!({ "theme": "OCEAN" }))
            .await
            .status;
        assert_eq!(
            settings == 200,
            allowed(&["OWNER", "ADMIN"]),
            "{role} tenant settings: {settings}"
        );
        assert_eq!(
            app.get("/v1/groups", token).await.status,
            200,
            "{role} list groups"
        );
        assert_eq!(
            app.get("/v1/tenant", token).await.status,
            200,
            "{role} read tenant"
        );
    }
    // HR may not make someone an ADMIN, nor touch an ADMIN.
    let hr = &tokens[2].1;
    let invite_admin = app
        .post(
            "/v1/members",
            hr,
            json!({ "email": "boss@acme.example.com", "name": "Boss", "role": "ADMIN" }),
        )
        .await;
    assert_problem(&invite_admin, 403, "role_not_assignable");
}

#[actix_web::test]
async fn another_tenants_member_learns_nothing() {
    let app = TestApp::new().await;
    let a = app.owner("alpha").await;
    let b = app.owner("beta").await;
    let member = app.join(&a, "ann@alpha.example.com", "EMPLOYEE").await;
    let member_id = app.get("/v1/me", &access(&member)).await.json["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let group = app.post("/v1/groups", &a, json!({ "name": "Sales" })).await;
    let group_id = group.json["id"].as_str().unwrap_or_default().to_owned();
    let key = app
        .post(
            "/v1/api-keys",
            &a,
            json!({ "name": "k", "permissions": [] }),
        )
        .await;
    let key_id = key.json["key"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let probes = [
        app.get(&format!("/v1/members/{member_id}"), &b),
        app.put(
            &format!("/v1/members/{member_id}/role"),
            &b,
            json!({ "role": "VIEWER" }),
        ),
        app.put(
            &format!("/v1/members/{member_id}/manager"),
            &b,
            json!({ "manager_id": null }),
        ),
        app.post(
            &format!("/v1/members/{member_id}/deactivate"),
            &b,
            json!({}),
        ),
        app.delete(&format!("/v1/members/{member_id}"), &b),
        app.get(&format!("/v1/members/{member_id}/permissions"), &b),
        app.get(&format!("/v1/groups/{group_id}"), &b),
        app.patch(
            &format!("/v1/groups/{group_id}"),
            &b,
            json!({ "name": "Mine" }),
        ),
        app.delete(&format!("/v1/groups/{group_id}"), &b),
        app.post(
            &format!("/v1/groups/{group_id}/members"),
            &b,
            json!({ "user_ids": [member_id] }),
        ),
        app.post(&format!("/v1/api-keys/{key_id}/revoke"), &b, json!({})),
    ];
    for probe in probes {
        let probe = probe.to_request();
        let (method, uri) = (probe.method().clone(), probe.uri().to_string());
        let reply = app.send(probe).await;
        assert_eq!(reply.status, 404, "{method} {uri}: {}", reply.text);
        assert!(
            !reply.text.contains("ann@alpha"),
            "{method} {uri} leaked: {}",
            reply.text
        );
    }
    let listed = app.get("/v1/members", &b).await;
    assert_eq!(
        listed.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.text
    );
    assert_eq!(app.get("/v1/groups", &b).await.json["data"], json!([]));
    let audit = app.get("/v1/audit-log", &b).await;
    assert!(!audit.text.contains(&group_id));
    // Still all there for tenant A.
    assert_eq!(
        app.get(&format!("/v1/groups/{group_id}"), &a).await.status,
        200
    );
}

fn forge(claims: &Value, secret: &[u8], alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("a token")
}

#[actix_web::test]
async fn tampered_expired_and_foreign_tokens_are_refused() {
    let app = TestApp::new().await;
    let signed_up = app.sign_up("acme").await;
    let token = access(&signed_up);
    assert_eq!(app.get("/v1/tenant", &token).await.status, 200);

    let mut tampered = token.clone();
    let last = tampered.pop().unwrap_or('A');
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let me = app.get("/v1/me", &token).await.json;
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, exp: i64| json!({ "sub": me["user"]["id"], "tid": signed_up["tenant"]["id"], "iss": iss, "aud": aud, "iat": now - 10, "exp": exp });
    let hs256 = jsonwebtoken::Algorithm::HS256;
    let none = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64.encode(claims("guild", "guild-api", now + 600).to_string());
        format!("{header}.{body}.")
    };
    let cases = [
        ("tampered", tampered),
        (
            "expired",
            forge(&claims("guild", "guild-api", now - 60), TEST_SECRET, hs256),
        ),
        (
            "wrong audience",
            forge(
                &claims("guild", "someone-else", now + 600),
                TEST_SECRET,
                hs256,
            ),
        ),
        (
            "wrong issuer",
            forge(&claims("evil", "guild-api", now + 600), TEST_SECRET, hs256),
        ),
        (
            "wrong key",
            forge(
                &claims("guild", "guild-api", now + 600),
                b"another-secret-another-secret-1234",
                hs256,
            ),
        ),
        (
            "other algorithm",
            forge(
                &claims("guild", "guild-api", now + 600),
                TEST_SECRET,
                jsonwebtoken::Algorithm::HS512,
            ),
        ),
        ("alg none", none),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (case, bad) in cases {
        let reply = app.get("/v1/tenant", &bad).await;
        assert_problem(&reply, 401, "invalid_token");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{case}");
    }
    let anonymous = app.request(Method::GET, "/v1/tenant").await;
    assert_problem(&anonymous, 401, "unauthenticated");
    // A well-formed token with the right key still works.
    let good = forge(&claims("guild", "guild-api", now + 600), TEST_SECRET, hs256);
    assert_eq!(app.get("/v1/tenant", &good).await.status, 200);
}

#[actix_web::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    let app = TestApp::new().await;
    let first = app.sign_up("acme").await["tokens"]["refresh_token"].clone();
    let second = app
        .post_anonymous("/v1/auth/refresh", json!({ "refresh_token": first }))
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second = second.json["refresh_token"].clone();
    assert_ne!(first, second);

    let replay = app
        .post_anonymous("/v1/auth/refresh", json!({ "refresh_token": first }))
        .await;
    assert_problem(&replay, 401, "refresh_token_reused");
    let victim = app
        .post_anonymous("/v1/auth/refresh", json!({ "refresh_token": second }))
        .await;
    assert_problem(&victim, 401, "invalid_token");

    let login = json!({ "email": "owner@acme.example.com", "password": "correct horse battery" });
    let fresh = app.post_anonymous("/v1/auth/login", login).await.json["refresh_token"].clone();
    let out = app
        .post_anonymous("/v1/auth/logout", json!({ "refresh_token": fresh }))
        .await;
    assert_eq!(out.status, 204);
    let after = app
        .post_anonymous("/v1/auth/refresh", json!({ "refresh_token": fresh }))
        .await;
    assert_problem(&after, 401, "invalid_token");
}

#[actix_web::test]
async fn removed_and_deactivated_members_are_refused() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (ann_id, bob_id) = (app.me_id(&ann).await, app.me_id(&bob).await);
    assert_eq!(app.get("/v1/groups", &ann).await.status, 200);

    let removed = app.delete(&format!("/v1/members/{ann_id}"), &owner).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_problem(&app.get("/v1/groups", &ann).await, 403, "not_a_member");

    let off = app
        .post(
            &format!("/v1/members/{bob_id}/deactivate"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(off.json["status"], "DEACTIVATED");
    assert_problem(
        &app.get("/v1/groups", &bob).await,
        403,
        "membership_inactive",
    );
    app.post(
        &format!("/v1/members/{bob_id}/reactivate"),
        &owner,
        json!({}),
    )
    .await;
    assert_eq!(app.get("/v1/groups", &bob).await.status, 200);

    let archived = app.post("/v1/tenant/archive", &owner, json!({})).await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert_problem(&app.get("/v1/groups", &bob).await, 403, "tenant_archived");
}

#[actix_web::test]
async fn sign_in_is_rate_limited_with_retry_after() {
    let app = TestApp::with(|state| {
        state.limits.login_account = RateRule {
            limit: 3,
            window: std::time::Duration::from_secs(60),
        };
    })
    .await;
    app.sign_up("acme").await;
    let attempt = json!({ "email": "owner@acme.example.com", "password": "wrong horse battery" });
    for _ in 0..3 {
        let reply = app.post_anonymous("/v1/auth/login", attempt.clone()).await;
        assert_eq!(reply.status, 401);
    }
    let limited = app.post_anonymous("/v1/auth/login", attempt).await;
    assert_problem(&limited, 429, "rate_limited");
    let retry: u64 = limited
        .header("retry-after")
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(limited.header("ratelimit-limit"), Some("3"));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    // Even the right password waits for the window.
    let right = json!({ "email": "owner@acme.example.com", "password": "correct horse battery" });
    assert_eq!(
        app.post_anonymous("/v1/auth/login", right).await.status,
        429
    );
}

#[actix_web::test]
async fn api_keys_act_with_their_permissions_only() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let created = app
        .post(
            "/v1/api-keys",
            &owner,
            json!({ "name": "BI export", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let secret = created.json["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(secret.starts_with("gk_"));
    assert_eq!(app.get("/v1/audit-log", &secret).await.status, 200);
    assert_problem(&app.get("/v1/members", &secret).await, 403, "forbidden");
    let listed = app.get("/v1/api-keys", &owner).await;
    assert!(!listed.text.contains(&secret), "the secret is shown again");
    assert!(
        listed.json["data"][0]["last_used_at"].is_string(),
        "{}",
        listed.text
    );

    let id = created.json["key"]["id"].as_str().unwrap_or_default();
    app.post(&format!("/v1/api-keys/{id}/revoke"), &owner, json!({}))
        .await;
    assert_problem(
        &app.get("/v1/audit-log", &secret).await,
        401,
        "invalid_token",
    );
    assert_problem(
        &app.get("/v1/audit-log", "gk_nonsense").await,
        401,
        "invalid_token",
    );
}

#[actix_web::test]
async fn every_change_is_audited_with_its_request_id() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let req = app
        .post(
            "/v1/groups",
            &owner,
            json!({ "name": "Support", "color": "#112233" }),
        )
        .header("x-request-id", "req-audit-1")
        .to_request();
    let group = app.send(req).await;
    assert_eq!(group.status, 201);
    let log = app.get("/v1/audit-log?action=GROUP_CREATED", &owner).await;
    let entries = log.json["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{}", log.text);
    assert_eq!(entries[0]["request_id"], "req-audit-1");
    assert_eq!(entries[0]["entity_id"], group.json["id"]);
    let all = app.get("/v1/audit-log?limit=1", &owner).await;
    assert!(
        all.json["next_cursor"].is_string(),
        "sign-up and group creation make two entries"
    );
}

#[actix_web::test]
async fn manager_cycles_and_losing_the_last_owner_are_refused() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let me = |t: &str| app.get("/v1/me", t);
    let ann_id = app.send(me(&ann)).await.json["user"]["id"].clone();
    let bob_id = app.send(me(&bob)).await.json["user"]["id"].clone();
    let owner_id = app.send(me(&owner)).await.json["user"]["id"].clone();
    let set = |who: &Value, manager: &Value| {
        app.put(
            &format!("/v1/members/{}/manager", who.as_str().unwrap_or_default()),
            &owner,
            json!({ "manager_id": manager }),
        )
    };
    assert_eq!(app.send(set(&bob_id, &ann_id)).await.status, 200);
    assert_problem(&app.send(set(&ann_id, &bob_id)).await, 422, "manager_cycle");
    assert_problem(&app.send(set(&ann_id, &ann_id)).await, 422, "manager_cycle");

    let demote = app.put(
        &format!("/v1/members/{}/role", owner_id.as_str().unwrap_or_default()),
        &owner,
        json!({ "role": "ADMIN" }),
    );
    assert_problem(&app.send(demote).await, 409, "last_owner");
}

#[actix_web::test]
async fn a_forgotten_password_is_reset_through_the_emailed_link() {
    let app = TestApp::new().await;
    let old_refresh = app.sign_up("acme").await["tokens"]["refresh_token"].clone();
    let asked = app
        .post_anonymous(
            "/v1/auth/password-reset",
            json!({ "email": "owner@acme.example.com" }),
        )
        .await;
    assert_eq!(asked.status, 202);
    let unknown = app
        .post_anonymous(
            "/v1/auth/password-reset",
            json!({ "email": "who@acme.example.com" }),
        )
        .await;
    assert_eq!(
        unknown.status, 202,
        "the answer must not reveal who has an account"
    );
    app.run_worker().await;
    let resets = app.mail.sent();
    let resets: Vec<_> = resets
        .iter()
        .filter(|m| m.subject.contains("Reset"))
        .collect();
    assert_eq!(
        resets.len(),
        1,
        "one reset email, to the account that exists"
    );
    // The verification email of the sign-up may be sent after it: read the reset email's link.
    let token = resets[0]
        .text
        .split("token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("a token link")
        .to_owned();
    let confirm = json!({ "token": token, "password": "a brand new password" });
    assert_eq!(
        app.post_anonymous("/v1/auth/password-reset/confirm", confirm.clone())
            .await
            .status,
        204
    );
    assert_problem(
        &app.post_anonymous("/v1/auth/password-reset/confirm", confirm)
            .await,
        401,
        "invalid_token",
    );
    let old = app
        .post_anonymous("/v1/auth/refresh", json!({ "refresh_token": old_refresh }))
        .await;
    assert_problem(&old, 401, "invalid_token");
    let login = json!({ "email": "owner@acme.example.com", "password": "a brand new password" });
    let signed_in = app.post_anonymous("/v1/auth/login", login).await;
    assert_eq!(signed_in.status, 200);
    let log = app
        .get(
            "/v1/audit-log?action=PASSWORD_RESET",
            &access(&signed_in.json),
        )
        .await;
    assert_eq!(
        log.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        log.text
    );
}

#[actix_web::test]
async fn the_platform_owner_acts_in_any_tenant_and_is_marked_in_the_audit_log() {
    // With the actor cache on: a cached impersonating actor is recorded on every request too.
    let app = TestApp::with(|state| {
        state.actors = std::sync::Arc::new(guild_api::auth::ActorCache::new(
            std::time::Duration::from_secs(30),
        ));
    })
    .await;
    let tenant = app.sign_up("acme").await;
    let customer = access(&tenant);
    let root = app.platform_owner().await;
    assert_eq!(
        root.json["tenant_id"],
        Value::Null,
        "the owner belongs to no tenant"
    );
    let switched = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": root.json["refresh_token"], "tenant_id": tenant["tenant"]["id"] }))
    .await;
    assert_eq!(switched.status, 200, "{}", switched.text);
    let root = access(&switched.json);
    let me = app.get("/v1/me", &root).await;
    assert_eq!(me.json["impersonating"], true);
    app.post("/v1/groups", &root, json!({ "name": "Made by support" }))
        .await;
    let log = app
        .get("/v1/audit-log?action=GROUP_CREATED", &customer)
        .await;
    assert_eq!(
        log.json["data"][0]["impersonated_by"], me.json["user"]["id"],
        "{}",
        log.text
    );
    app.get("/v1/groups", &root).await;
    app.get("/v1/groups", &root).await;
    let reads = app
        .get("/v1/audit-log?action=IMPERSONATED_REQUEST", &customer)
        .await;
    let paths: Vec<&str> = reads.json["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["metadata"]["path"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        paths.contains(&"/v1/groups"),
        "reads are not marked: {}",
        reads.text
    );
    let group_reads = reads.json["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| {
                    e["metadata"]["path"] == "/v1/groups" && e["metadata"]["method"] == "GET"
                })
                .count()
        })
        .unwrap_or_default();
    assert_eq!(group_reads, 2, "each read is recorded: {}", reads.text);

    // An ordinary user cannot switch into a tenant they do not belong to.
    let other = app.sign_up("beta").await;
    let refused = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": other["tokens"]["refresh_token"], "tenant_id": tenant["tenant"]["id"] }))
    .await;
    assert_problem(&refused, 403, "not_a_member");
}

#[actix_web::test]
async fn a_csv_import_reports_bad_rows_and_imports_all_or_nothing() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    app.post("/v1/groups", &owner, json!({ "name": "Sales" }))
        .await;
    let bad = "email,name,role,groups\n\
               ann@acme.example.com,Ann,EMPLOYEE,Sales\n\
               not-an-email,Bob,EMPLOYEE,\n\
               cy@acme.example.com,Cy,EMPEROR,\n\
               ann@acme.example.com,Ann again,VIEWER,\n\
               dee@acme.example.com,Dee,HR,Nowhere\n\
               owner@acme.example.com,Me,ADMIN,\n";
    let dry = app
        .post(
            "/v1/members/import",
            &owner,
            json!({ "csv": bad, "dry_run": true }),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.json["rows"], 6);
    assert_eq!(dry.json["imported"], 0);
    let errors: Vec<(u64, String)> = dry.json["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (3, "email".into()),
            (4, "role".into()),
            (5, "email".into()),
            (6, "groups".into()),
            (7, "email".into())
        ]
    );
    let real = app
        .post("/v1/members/import", &owner, json!({ "csv": bad }))
        .await;
    assert_problem(&real, 422, "import_invalid");
    assert_eq!(
        real.json["report"]["errors"].as_array().map(Vec::len),
        Some(5)
    );
    let members = app.get("/v1/members", &owner).await;
    assert_eq!(
        members.json["data"].as_array().map(Vec::len),
        Some(1),
        "a bad file imported rows"
    );

    let good = "email,name,role,groups\nann@acme.example.com,Ann,EMPLOYEE,sales\nbob@acme.example.com,Bob,VIEWER,\n";
    let done = app
        .post("/v1/members/import", &owner, json!({ "csv": good }))
        .await;
    assert_eq!(done.json["imported"], 2, "{}", done.text);
    let members = app.get("/v1/members?status=INVITED", &owner).await;
    assert_eq!(members.json["data"].as_array().map(Vec::len), Some(2));
    app.run_worker().await;
    assert!(
        app.mail.last_to("bob@acme.example.com").is_some(),
        "invitations go out for imported rows"
    );
}

#[actix_web::test]
async fn members_keep_their_own_email_preferences() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let prefs = app.get("/v1/me/email-preferences", &owner).await;
    assert_eq!(prefs.json["digest"], "INSTANT");
    let changed = app
        .patch(
            "/v1/me/email-preferences",
            &owner,
            json!({ "digest": "WEEKLY", "quiz_results": false }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json["digest"], "WEEKLY");
    assert_eq!(changed.json["quiz_results"], false);
    assert_eq!(changed.json["new_modules"], true);
    let bad = app
        .patch(
            "/v1/me/email-preferences",
            &owner,
            json!({ "digest": "HOURLY" }),
        )
        .await;
    assert_problem(&bad, 422, "validation_failed");
}

#[actix_web::test]
async fn tenant_routes_refuse_a_missing_bearer_or_a_tenantless_token() {
    let app = TestApp::new().await;
    let signed_up = app.sign_up("acme").await;
    let owner = access(&signed_up);
    let me = app.get("/v1/me", &owner).await.json;
    assert_eq!(app.get("/v1/members", &owner).await.status, 200);

    let bare = app.request(Method::GET, "/v1/members");
    assert_problem(&app.send(bare).await, 401, "unauthenticated");
    let basic = app
        .request(Method::GET, "/v1/members")
        .header("authorization", "Basic b3duZXI6cGFzcw==")
        .to_request();
    assert_problem(&app.send(basic).await, 401, "unauthenticated");

    // A valid token with no active tenant reaches no tenant route.
    let user = me["user"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .map(guild_kernel::UserId)
        .expect("the user's id");
    let tenantless =
        guild_api::auth::TokenKeys::new(TEST_SECRET, "guild", std::time::Duration::from_secs(900))
            .issue(user, None, 0)
            .expect("a token");
    assert_problem(
        &app.get("/v1/members", &tenantless).await,
        403,
        "no_active_tenant",
    );
}

#[actix_web::test]
async fn members_sort_by_an_allowed_key_a_page_at_a_time() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    for (email, name) in [
        ("c@acme.example.com", "Cene"),
        ("a@acme.example.com", "Ana"),
        ("b@acme.example.com", "Bor"),
    ] {
        let invited = app
            .post(
                "/v1/members",
                &owner,
                json!({ "email": email, "name": name, "role": "EMPLOYEE" }),
            )
            .await;
        assert_eq!(invited.status, 201, "{}", invited.text);
    }
    let by_name = app.walk(&owner, "/v1/members?sort=name", 1, "name").await;
    assert_eq!(
        by_name,
        [
            json!("Ana"),
            json!("Bor"),
            json!("Cene"),
            json!("Owner of acme")
        ],
        "the invited are sorted by the name they are shown with"
    );
    let by_email_desc = app
        .walk(&owner, "/v1/members?sort=-email", 1, "email")
        .await;
    assert_eq!(
        by_email_desc,
        [
            json!("owner@acme.example.com"),
            json!("c@acme.example.com"),
            json!("b@acme.example.com"),
            json!("a@acme.example.com"),
        ]
    );
    let newest = app
        .walk(&owner, "/v1/members?sort=-created_at", 1, "email")
        .await;
    assert_eq!(newest.len(), 4);
    assert_eq!(newest[0], json!("b@acme.example.com"));

    // A cursor belongs to its sort; a sort off the allow-list and a limit out of range are 422.
    let first = app.get("/v1/members?sort=name&limit=1", &owner).await;
    let cursor = first.json["next_cursor"].as_str().unwrap_or_default();
    assert_problem(
        &app.get(&format!("/v1/members?sort=-name&cursor={cursor}"), &owner)
            .await,
        422,
        "validation_failed",
    );
    for bad in ["sort=password", "limit=0", "limit=201", "limit=-1"] {
        assert_problem(
            &app.get(&format!("/v1/members?{bad}"), &owner).await,
            422,
            "validation_failed",
        );
    }
    assert_eq!(app.get("/v1/members?limit=200", &owner).await.status, 200);
}

#[actix_web::test]
async fn groups_keys_grants_invitations_and_the_audit_log_are_pages() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    for name in ["beta", "Alpha", "gamma"] {
        let created = app
            .post("/v1/groups", &owner, json!({ "name": name }))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    assert_eq!(
        app.walk(&owner, "/v1/groups?x=1", 1, "name").await,
        [json!("Alpha"), json!("beta"), json!("gamma")],
        "by name, whatever its case"
    );
    for bad in [
        "limit=0",
        "limit=201",
        "limit=2147483648",
        "cursor=not-ours",
    ] {
        assert_problem(
            &app.get(&format!("/v1/groups?{bad}"), &owner).await,
            422,
            "validation_failed",
        );
    }
    for name in ["one", "two"] {
        let key = app
            .post(
                "/v1/api-keys",
                &owner,
                json!({ "name": name, "permissions": ["VIEW_AUDIT_LOG"] }),
            )
            .await;
        assert_eq!(key.status, 201, "{}", key.text);
    }
    assert_eq!(
        app.walk(&owner, "/v1/api-keys?x=1", 1, "name").await,
        [json!("two"), json!("one")],
        "newest first"
    );

    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let ann_id = app.me_id(&ann).await;
    let granted = app
        .put(
            &format!("/v1/members/{ann_id}/permissions"),
            &owner,
            json!({ "grants": [
                { "permission": "VIEW_AUDIT_LOG" },
                { "permission": "MANAGE_GROUPS" }
            ] }),
        )
        .await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(
        app.walk(
            &ann,
            &format!("/v1/members/{ann_id}/permissions?x=1"),
            1,
            "permission"
        )
        .await,
        [json!("MANAGE_GROUPS"), json!("VIEW_AUDIT_LOG")]
    );

    let actions = app
        .walk(&owner, "/v1/audit-log?sort=action", 1, "action")
        .await;
    let mut sorted = actions.clone();
    sorted.sort_by_key(|a| a.as_str().unwrap_or_default().to_owned());
    assert_eq!(actions, sorted);
    assert!(actions.len() >= 6, "{actions:?}");

    // Ann, invited to a second tenant, sees the invitation in an envelope.
    let other = app.owner("beta").await;
    let invited = app
        .post(
            "/v1/members",
            &other,
            json!({ "email": "ann@acme.example.com", "name": "Ann", "role": "HR" }),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    let mine = app.get("/v1/me/invitations?limit=1", &ann).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.json["data"][0]["role"], "HR", "{}", mine.text);
    assert_eq!(mine.json["next_cursor"], Value::Null);
}

#[actix_web::test]
async fn a_retried_group_creation_with_a_key_creates_one_group() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let create = |name: &'static str| {
        app.post("/v1/groups", &owner, json!({ "name": name }))
            .idempotency_key("group-sales")
    };
    let first = app.send(create("Sales")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app.send(create("Sales")).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json["id"], first.json["id"]);
    assert_problem(
        &app.send(create("Support")).await,
        422,
        "idempotency_key_reused",
    );
    let groups = app.get("/v1/groups", &owner).await;
    assert_eq!(
        groups.json["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        groups.text
    );
}
