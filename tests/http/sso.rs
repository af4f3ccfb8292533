//! Single sign-on over HTTP against a real OpenID provider (`oidc-provider` from npm, started
//! by each test with node on a free port): members sign in through the tenant's provider and get
//! Guild's own token pair, join just in time with the default role and land in the groups the
//! groups claim names; a verified email links to the existing account; an SSO-only tenant
//! refuses its members' passwords (its owners keep theirs); tokens with another audience or
//! nonce, signed by an unknown key, or a state used twice are refused; the settings are an
//! admin's, their secret write-only and sealed.

use std::net::IpAddr;
use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use guild_integrations::fetch::FetchPolicy;
use guild_tests::oidc::{OidcClient, OidcProvider, callback_path};
use guild_tests::{TestApp, assert_problem, id};
use serde_json::{Value, json};

const REDIRECT_URI: &str = "http://localhost:8080/v1/auth/sso/callback";

/// An app whose OpenID client may reach loopback, and a provider knowing the client `guild`.
async fn app_and_provider() -> (TestApp, OidcProvider) {
    let app = TestApp::with(|state| {
        state.oidc = Arc::new(guild_api::state::oidc_client(
            FetchPolicy::default().allowing_loopback_for_tests(),
        ));
    })
    .await;
    let provider = OidcProvider::start(
        &[OidcClient {
            id: "guild".into(),
            secret: "guild client secret".into(),
        }],
        REDIRECT_URI,
    )
    .await;
    (app, provider)
}

fn settings(provider: &OidcProvider, extra: Value) -> Value {
    let mut body = json!({
        "issuer": provider.issuer,
        "client_id": "guild",
        "client_secret": "guild client secret",
        "allowed_domains": ["acme.example.com"],
        "default_role": "EMPLOYEE",
        "groups_claim": "groups",
        "sso_only": false,
        "enabled": true
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

fn account(sub: &str, email: &str, groups: &[&str]) -> Value {
    json!({ "sub": sub, "email": email, "email_verified": true, "name": format!("Name of {sub}"), "groups": groups })
}

/// Starts a sign-in to `slug`, walks the provider as `claims`, and calls Guild's callback.
async fn sso_sign_in(
    app: &TestApp,
    provider: &OidcProvider,
    slug: &str,
    claims: &Value,
) -> guild_tests::Reply {
    let started = app
        .request(
            actix_web::http::Method::GET,
            &format!("/v1/auth/sso/{slug}/start"),
        )
        .await;
    assert_eq!(started.status, 302, "{}", started.text);
    let location = started.header("location").unwrap_or_default().to_owned();
    assert_eq!(started.json["authorization_url"], location.as_str());
    let back = provider.sign_in(&location, claims).await;
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    app.request(actix_web::http::Method::GET, &callback_path(&back))
        .await
}

#[actix_web::test]
async fn members_sign_in_through_the_provider_join_just_in_time_and_land_in_their_mapped_groups() {
    let (app, provider) = app_and_provider().await;
    let owner = app.owner("acme").await;
    let sales = app.group(&owner, "Sales", &[]).await;
    let put = app
        .put("/v1/tenant/sso", &owner, settings(&provider, json!({})))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);

    // A first sign-in: a new account and an ACTIVE EMPLOYEE membership, in the group named.
    let signed = sso_sign_in(
        &app,
        &provider,
        "acme",
        &account(
            "idp-ann",
            "Ann@acme.example.com",
            &["Sales", "No such group"],
        ),
    )
    .await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(signed.json["token_type"], "Bearer");
    assert!(
        signed.json["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let ann = signed.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = app.get("/v1/me", &ann).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["user"]["email"], "Ann@acme.example.com");
    let ann_id = app.me_id(&ann).await;
    let member = app.get(&format!("/v1/members/{ann_id}"), &owner).await;
    assert_eq!(member.json["role"], "EMPLOYEE", "{}", member.text);
    assert_eq!(member.json["status"], "ACTIVE");
    assert_eq!(member.json["group_ids"], json!([sales]), "{}", member.text);

    // The refresh token works like a password session's.
    let refreshed = app
        .post_anonymous(
            "/v1/auth/refresh",
            json!({ "refresh_token": signed.json["refresh_token"] }),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);

    // Signing in again links to the same account (by the verified email, whatever its case).
    let again = sso_sign_in(
        &app,
        &provider,
        "acme",
        &account("idp-ann", "ann@ACME.example.com", &["Sales"]),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text);
    let again_token = again.json["access_token"].as_str().unwrap_or_default();
    assert_eq!(app.me_id(again_token).await, ann_id);

    // A member who has a password is the same account through the provider.
    let bob = app.member(&owner, "bob@acme.example.com", "HR").await;
    let bob_id = app.me_id(&bob).await;
    let bob_sso = sso_sign_in(
        &app,
        &provider,
        "acme",
        &account("idp-bob", "bob@acme.example.com", &[]),
    )
    .await;
    assert_eq!(bob_sso.status, 200, "{}", bob_sso.text);
    let bob_sso_token = bob_sso.json["access_token"].as_str().unwrap_or_default();
    assert_eq!(app.me_id(bob_sso_token).await, bob_id);
    let bob_member = app.get(&format!("/v1/members/{bob_id}"), &owner).await;
    assert_eq!(bob_member.json["role"], "HR", "the role is kept");

    // Addresses the provider did not verify, or of a domain the tenant does not list, are refused
    // and nobody joins.
    let mut unverified = account("idp-eve", "eve@acme.example.com", &[]);
    unverified["email_verified"] = json!(false);
    let refused = sso_sign_in(&app, &provider, "acme", &unverified).await;
    assert_problem(&refused, 403, "sso_email_unverified");
    let foreign = sso_sign_in(
        &app,
        &provider,
        "acme",
        &account("idp-mal", "mal@elsewhere.example.com", &[]),
    )
    .await;
    assert_problem(&foreign, 403, "sso_domain_not_allowed");
    let members = app.get("/v1/members?limit=200", &owner).await;
    assert!(!members.text.contains("eve@acme"), "{}", members.text);
    assert!(!members.text.contains("mal@elsewhere"), "{}", members.text);

    // The audit log tells who joined through the provider.
    let audit = app.get("/v1/audit-log?limit=200", &owner).await;
    assert!(
        audit.text.contains("MEMBER_JOINED_BY_SSO"),
        "{}",
        audit.text
    );
    assert!(
        audit.text.contains("SSO_SETTINGS_UPDATED"),
        "{}",
        audit.text
    );
}

#[actix_web::test]
async fn an_sso_only_tenant_refuses_its_members_passwords_but_not_its_owners() {
    let (app, provider) = app_and_provider().await;
    let owner = app.owner("acme").await;
    let _member = app.member(&owner, "dan@acme.example.com", "ADMIN").await;
    let password = |email: &str, pw: &str| json!({ "email": email, "password": pw });

    let before = app
        .post_anonymous(
            "/v1/auth/login",
            password("dan@acme.example.com", "member password 1"),
        )
        .await;
    assert_eq!(before.status, 200, "{}", before.text);

    let put = app
        .put(
            "/v1/tenant/sso",
            &owner,
            settings(&provider, json!({ "sso_only": true })),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json["sso_only"], true);

    let refused = app
        .post_anonymous(
            "/v1/auth/login",
            password("dan@acme.example.com", "member password 1"),
        )
        .await;
    assert_problem(&refused, 403, "sso_required");
    // A wrong password is still only a wrong password: nothing is told before it matches.
    let wrong = app
        .post_anonymous(
            "/v1/auth/login",
            password("dan@acme.example.com", "not the password"),
        )
        .await;
    assert_problem(&wrong, 401, "invalid_credentials");
    // The owner's break-glass password still works.
    let owner_login = app
        .post_anonymous(
            "/v1/auth/login",
            password("owner@acme.example.com", "correct horse battery"),
        )
        .await;
    assert_eq!(owner_login.status, 200, "{}", owner_login.text);

    // A session from before cannot switch into the tenant with its refresh token either.
    let switched = app
        .post_anonymous(
            "/v1/auth/refresh",
            json!({ "refresh_token": before.json["refresh_token"], "tenant_id": before.json["tenant_id"] }),
        )
        .await;
    assert_eq!(
        switched.status, 200,
        "staying in the session's tenant is no switch: {}",
        switched.text
    );

    // Through the provider the member signs in.
    let signed = sso_sign_in(
        &app,
        &provider,
        "acme",
        &account("idp-dan", "dan@acme.example.com", &[]),
    )
    .await;
    assert_eq!(signed.status, 200, "{}", signed.text);

    // Turned off again, the password works again.
    let off = app
        .put(
            "/v1/tenant/sso",
            &owner,
            settings(&provider, json!({ "sso_only": false })),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let after = app
        .post_anonymous(
            "/v1/auth/login",
            password("dan@acme.example.com", "member password 1"),
        )
        .await;
    assert_eq!(after.status, 200, "{}", after.text);
}

#[actix_web::test]
async fn tokens_for_another_audience_or_nonce_unknown_keys_and_replayed_states_are_refused() {
    let (app, provider) = app_and_provider().await;
    let owner = app.owner("acme").await;
    let put = app
        .put("/v1/tenant/sso", &owner, settings(&provider, json!({})))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let ann = account("idp-ann", "ann@acme.example.com", &[]);

    provider.tamper_next_token("aud=another-client").await;
    let wrong_audience = sso_sign_in(&app, &provider, "acme", &ann).await;
    assert_problem(&wrong_audience, 401, "sso_token_invalid");
    assert!(
        wrong_audience.text.contains("audience"),
        "{}",
        wrong_audience.text
    );

    provider.tamper_next_token("nonce=replayed-nonce").await;
    let wrong_nonce = sso_sign_in(&app, &provider, "acme", &ann).await;
    assert_problem(&wrong_nonce, 401, "sso_token_invalid");
    assert!(wrong_nonce.text.contains("nonce"), "{}", wrong_nonce.text);

    provider
        .tamper_next_token("iss=https%3A%2F%2Fevil.example.com")
        .await;
    let wrong_issuer = sso_sign_in(&app, &provider, "acme", &ann).await;
    assert_problem(&wrong_issuer, 401, "sso_token_invalid");

    // Nobody joined through any of them.
    let members = app.get("/v1/members?limit=200", &owner).await;
    assert!(!members.text.contains("ann@acme"), "{}", members.text);

    // The provider rotates its keys: a token names a key id the cached set lacks, the keys are
    // fetched again and the sign-in succeeds.
    let fine = sso_sign_in(&app, &provider, "acme", &ann).await;
    assert_eq!(fine.status, 200, "{}", fine.text);
    provider.rotate_keys().await;
    let rotated = sso_sign_in(&app, &provider, "acme", &ann).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);

    // Signed by a key the provider never published: refused (the keys fetched again just now lack
    // it too, and are not fetched again within seconds).
    provider.tamper_next_token("kid=unknown").await;
    let unknown_key = sso_sign_in(&app, &provider, "acme", &ann).await;
    assert_problem(&unknown_key, 401, "sso_token_invalid");

    // A state works once: the same callback again is refused, as is a made-up state.
    let started = app
        .request(actix_web::http::Method::GET, "/v1/auth/sso/acme/start")
        .await;
    let back = provider
        .sign_in(started.header("location").unwrap_or_default(), &ann)
        .await;
    let first = app
        .request(actix_web::http::Method::GET, &callback_path(&back))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let replayed = app
        .request(actix_web::http::Method::GET, &callback_path(&back))
        .await;
    assert_problem(&replayed, 401, "sso_state_invalid");
    let made_up = app
        .request(
            actix_web::http::Method::GET,
            "/v1/auth/sso/callback?code=abc&state=0190a0b27e557c3e9d6b52f1e1b8c7a0.xyz",
        )
        .await;
    assert_problem(&made_up, 401, "sso_state_invalid");

    // A provider's refusal (the member cancelled) ends the sign-in.
    let started = app
        .request(actix_web::http::Method::GET, "/v1/auth/sso/acme/start")
        .await;
    let location = started.header("location").unwrap_or_default();
    let state = reqwest_state(location);
    let denied = app
        .request(
            actix_web::http::Method::GET,
            &format!("/v1/auth/sso/callback?error=access_denied&state={state}"),
        )
        .await;
    assert_problem(&denied, 401, "sso_code_rejected");
}

/// The `state` parameter of an authorization URL.
fn reqwest_state(url: &str) -> String {
    url.split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .unwrap_or_default()
        .to_owned()
}

#[actix_web::test]
async fn sso_settings_are_an_admins_with_a_sealed_write_only_secret_and_an_https_issuer() {
    let (app, provider) = app_and_provider().await;
    let owner = app.owner("acme").await;
    let admin = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let hr = app.member(&owner, "hal@acme.example.com", "HR").await;
    let other = app.owner("globex").await;

    assert_problem(
        &app.get("/v1/tenant/sso", &admin).await,
        404,
        "sso_not_configured",
    );
    let not_configured = app
        .request(actix_web::http::Method::GET, "/v1/auth/sso/acme/start")
        .await;
    assert_problem(&not_configured, 404, "sso_not_configured");

    // HR and API keys may not; an ADMIN may, but not make newcomers ADMINs.
    let by_hr = app
        .put("/v1/tenant/sso", &hr, settings(&provider, json!({})))
        .await;
    assert_problem(&by_hr, 403, "role_not_assignable");
    let as_admin = app
        .put(
            "/v1/tenant/sso",
            &admin,
            settings(&provider, json!({ "default_role": "ADMIN" })),
        )
        .await;
    assert_problem(&as_admin, 403, "role_not_assignable");
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "sync", "permissions": ["MANAGE_USERS"] }),
        )
        .await;
    assert_eq!(app.get("/v1/tenant/sso", &key).await.status, 403);

    // The first configuration needs the secret; the issuer must be https on a public host.
    let mut no_secret = settings(&provider, json!({}));
    no_secret.as_object_mut().map(|o| o.remove("client_secret"));
    let refused = app.put("/v1/tenant/sso", &admin, no_secret.clone()).await;
    assert_problem(&refused, 422, "validation_failed");
    assert!(refused.text.contains("\"required\""), "{}", refused.text);
    for issuer in [
        "http://login.example.com",
        "https://10.0.0.5",
        "https://login.example.com:8443",
        "https://login.example.com/?tenant=x",
    ] {
        let insecure = app
            .put(
                "/v1/tenant/sso",
                &admin,
                settings(&provider, json!({ "issuer": issuer })),
            )
            .await;
        assert_problem(&insecure, 422, "validation_failed");
        assert!(
            insecure.text.contains("issuer_not_allowed"),
            "{issuer}: {}",
            insecure.text
        );
    }
    let bad_domain = app
        .put(
            "/v1/tenant/sso",
            &admin,
            settings(&provider, json!({ "allowed_domains": ["not a domain"] })),
        )
        .await;
    assert!(
        bad_domain.text.contains("invalid_domain"),
        "{}",
        bad_domain.text
    );

    let put = app
        .put("/v1/tenant/sso", &admin, settings(&provider, json!({})))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.header("etag"), Some("\"1\""));
    assert!(!put.text.contains("guild client secret"), "{}", put.text);
    assert_eq!(put.json["client_secret_set"], true);
    assert_eq!(put.json["redirect_uri"], REDIRECT_URI);

    // Later changes keep the secret when it is left out.
    let kept = app.put("/v1/tenant/sso", &admin, no_secret).await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(kept.header("etag"), Some("\"2\""));
    let got = app.get("/v1/tenant/sso", &admin).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert!(!got.text.contains("guild client secret"));

    // Stored sealed: the column holds no plaintext, and sign-in still works with it.
    let mut conn = app.db.conn().await;
    let sealed: String = guild_db::schema::sso_settings::table
        .select(guild_db::schema::sso_settings::client_secret_sealed)
        .first(&mut conn)
        .await
        .expect("the settings row");
    assert!(!sealed.contains("guild client secret"), "{sealed}");
    assert!(
        sealed.starts_with("dev."),
        "sealed under the development key: {sealed}"
    );
    let signed = sso_sign_in(
        &app,
        &provider,
        "acme",
        &account("idp-ann", "ann@acme.example.com", &[]),
    )
    .await;
    assert_eq!(signed.status, 200, "{}", signed.text);

    // Another tenant sees none of it, and its slug has no sign-on.
    assert_problem(
        &app.get("/v1/tenant/sso", &other).await,
        404,
        "sso_not_configured",
    );
    let globex = app
        .request(actix_web::http::Method::GET, "/v1/auth/sso/globex/start")
        .await;
    assert_problem(&globex, 404, "sso_not_configured");

    // Disabled, the start is refused.
    let disabled = app
        .put(
            "/v1/tenant/sso",
            &admin,
            settings(&provider, json!({ "enabled": false })),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let refused_start = app
        .request(actix_web::http::Method::GET, "/v1/auth/sso/acme/start")
        .await;
    assert_problem(&refused_start, 404, "sso_not_configured");
    let _ = id;
}

#[actix_web::test]
async fn a_provider_whose_name_resolves_to_a_private_address_is_never_fetched() {
    let app = TestApp::with(|state| {
        state.oidc = Arc::new(guild_api::state::oidc_client(
            FetchPolicy::default()
                .with_host("idp.acme.example.com", vec![IpAddr::from([10, 0, 0, 5])]),
        ));
    })
    .await;
    let owner = app.owner("acme").await;
    // The name is checked when it resolves, on the address connected to: the settings are taken…
    let body = json!({
        "issuer": "https://idp.acme.example.com",
        "client_id": "guild",
        "client_secret": "guild client secret",
        "allowed_domains": ["acme.example.com"],
        "default_role": "EMPLOYEE",
        "sso_only": false,
        "enabled": true
    });
    let put = app.put("/v1/tenant/sso", &owner, body).await;
    assert_eq!(put.status, 200, "{}", put.text);
    // …but no sign-in ever reaches the private address.
    let started = app
        .request(actix_web::http::Method::GET, "/v1/auth/sso/acme/start")
        .await;
    assert_problem(&started, 503, "sso_provider_unavailable");
}
