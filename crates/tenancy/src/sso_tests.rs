//! Domain tests of single sign-on: ID token verification, started sign-ins taken once, linking
//! and just-in-time membership, and the SSO-only rule on password sign-in.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use guild_db::schema::{groups, memberships, sso_logins, users};
use guild_kernel::sealed::Keyring;
use guild_kernel::{Actor, GlobalRole, TenantId, TenantRole, UserId};
use guild_testkit::TestDb;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::*;
use crate::sessions;
use crate::tenants::{SignUp, sign_up};

/// A test-only RSA key (made for these tests; it protects nothing).
const TEST_KEY_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAqQtCA+ybmOnT2Ux2l+xNTgCvxd9KbHWbBxoYeUfO2eGLxhXC\njhFVCsutnqEOjUOE6UMCZ2QBGh1lcBm80rvilBIMOjVUVMjA7zc3nP0vRjcV2bP4\nF8besjTAumEonszyztLHM+bHNQVVjw9L6fT/kfWL7eItvM2A7S0QrScJgNFskBQC\n05paz3ZU9v8VfiQCgHxdDfwCCabQfIUZHnF0FdZrNvParpVlTkJ6qyXJnd3dG8kq\nLRX1f/OgENXM+Qmbw25LW4vHiLZ3Aj7TqYamMeTBLh2Xfvc8i8bmdNmM0L9UVLd3\nDWYbCyQymBAgS8T7stzFHE7cXd6UhEKT70+YfQIDAQABAoIBAA2gvCH2W3s/UJD6\nXoOJbUMDqv1UBBs3Jk1zL7QT/gD9M1LqaAH4M5JYULx9hfTiqQP9dGO9lsQnngj5\n84nL/qx1bFnDTl47xVK+XBlSelLvYm99Atwh2swO6ixXDwVcXEUgY3xTl3g2taAq\npByt9Rjr14EmRI3YcGjOgwNpPAAlNc5Rq3k3G6a99LndwAZ1vTWy729h1kyxOcsn\nvnNpIMJvjJAKz2HYjQ3yY+xq8CxRwAyIrNa4tqjN323qgqM7fFcY9toqDXG1rNHY\nAkyKUsLbkbguRsO5WLJjxefObrLYxvXNEjaNa2CQKQcVoJSBNPA0i4+bw02vqu6c\ngirAqmkCgYEA1Eziv1AsgMKh7dc/axYn2XYLjvNCE8CL8LLgmFDvxjRFAErFL3+q\nrRC7P0uSeLEEQkOjQR9ysMxnrrKgNz8bjA5jW9ooPrxMdFPTulBkJ5vluDVEkVXy\ny3v2OvcZo70Iy8hcjVnHyT6nXQADub+G3M0KwD7CBFxDnUYusWUCyWUCgYEAy9b9\nJ2p6zKG42sJCQtrdDpu92g2Q6P+pDbYQyJIwBdZYG//helSe96yVEVEii1XkkNZH\no+IBxDrnam9s40z57Ma5wRGSIh/8j4jjJtsyvGuCv4M095umHl9ddylgMLnn2Bvx\nBnHZN9lHDPTTST9L9gHbBsrGX9w3f0Ut0oOCLTkCgYBvwLEzR77FYK7ghgfKFPWR\nEQRwkThdMWP4phB33VL6IJWZ28IEiM2NIFuQq/VENtopD3WmWCmFS3PgkAKqUjvr\n8771oNbCf1g3e9DeKGcwOm4oE1IutvGBj5VD4MLMYDt7GdMuTO5Pzv1GhTVw15Lk\nM8LPA7oZlX+6EDGQC731yQKBgQCJfBE1g6kd2jpfOkUM6KfO0ZbEuv+xV7cDa3h4\nf7lqRn8ZK4Y+R1MNRFcq3emJxz4pvo2FaMu+OeiaLltoGCQ94m+pXBuPbrmfajmj\nnJbk5TLDz1BrbY0m0TWuSLb7Rnisl3QC38kd1SwJ/huAPPQUEn5TX3NbdqHr8pIM\neezUaQKBgCxLfr/lB3jSFtdqyxKR8qKj3iHpyTZjf1Xe/qfoVDQErUNqWJyHJtbl\n4JgM6unz+q9o2VAAOShqgG1iPpGk7258TeLiSg45FvlLDWbqSu/Frm5biB47ogNE\nzOHP3g6KdRdcZeg3TdZ5HNYwci0y9Ayhv9vyOsadX17qNeG9UuWZ\n-----END RSA PRIVATE KEY-----";
const TEST_KEY_N: &str = "qQtCA-ybmOnT2Ux2l-xNTgCvxd9KbHWbBxoYeUfO2eGLxhXCjhFVCsutnqEOjUOE6UMCZ2QBGh1lcBm80rvilBIMOjVUVMjA7zc3nP0vRjcV2bP4F8besjTAumEonszyztLHM-bHNQVVjw9L6fT_kfWL7eItvM2A7S0QrScJgNFskBQC05paz3ZU9v8VfiQCgHxdDfwCCabQfIUZHnF0FdZrNvParpVlTkJ6qyXJnd3dG8kqLRX1f_OgENXM-Qmbw25LW4vHiLZ3Aj7TqYamMeTBLh2Xfvc8i8bmdNmM0L9UVLd3DWYbCyQymBAgS8T7stzFHE7cXd6UhEKT70-YfQ";
const ISSUER: &str = "https://login.example.com";

fn keys(kid: &str) -> Value {
    json!({ "keys": [{ "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": TEST_KEY_N, "e": "AQAB" }] })
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 20, 9, 0, 0)
        .single()
        .expect("a time")
}

fn token(kid: &str, alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    let key = match alg {
        jsonwebtoken::Algorithm::HS256 => EncodingKey::from_secret(b"a shared secret"),
        _ => {
            let body: String = TEST_KEY_PEM
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("the test key's DER");
            EncodingKey::from_rsa_der(&der)
        }
    };
    jsonwebtoken::encode(&header, claims, &key).expect("a signed token")
}

fn claims(extra: Value) -> Value {
    let mut c = json!({
        "iss": ISSUER, "aud": "guild", "sub": "idp-1", "nonce": "n-1",
        "iat": now().timestamp(), "exp": (now() + Duration::minutes(5)).timestamp(),
        "email": "ann@acme.example.com", "email_verified": true,
    });
    if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
        c.extend(extra);
    }
    c
}

fn verify(token: &str, at: DateTime<Utc>) -> Result<Value, SsoError> {
    verify_id_token(&keys("k1"), token, ISSUER, "guild", "n-1", at)
}

fn reason(result: Result<Value, SsoError>) -> String {
    match result {
        Err(SsoError::TokenInvalid(why)) => why,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[test]
fn an_id_token_counts_only_from_its_issuer_for_this_client_with_its_nonce_key_and_time() {
    let rs = jsonwebtoken::Algorithm::RS256;
    let good = token("k1", rs, &claims(json!({})));
    let verified = verify(&good, now()).expect("a good token verifies");
    assert_eq!(verified["email"], "ann@acme.example.com");

    assert_eq!(
        reason(verify(
            &token("k1", rs, &claims(json!({ "aud": "another" }))),
            now()
        )),
        "another audience"
    );
    assert_eq!(
        reason(verify(
            &token(
                "k1",
                rs,
                &claims(json!({ "iss": "https://evil.example.com" }))
            ),
            now()
        )),
        "another issuer"
    );
    assert_eq!(
        reason(verify(
            &token("k1", rs, &claims(json!({ "nonce": "n-2" }))),
            now()
        )),
        "another nonce"
    );
    assert_eq!(
        reason(verify(
            &token("k1", rs, &claims(json!({ "nonce": null }))),
            now()
        )),
        "another nonce"
    );
    // Several audiences need this client as the authorized party.
    let many = claims(json!({ "aud": ["guild", "other"] }));
    assert_eq!(
        reason(verify(&token("k1", rs, &many), now())),
        "another authorized party"
    );
    let mut authorized = many;
    authorized["azp"] = json!("guild");
    verify(&token("k1", rs, &authorized), now()).expect("azp names this client");
    // Expiry by the caller's clock, with a minute's leeway.
    assert!(verify(&good, now() + Duration::minutes(5) + Duration::seconds(30)).is_ok());
    assert_eq!(
        reason(verify(&good, now() + Duration::minutes(7))),
        "expired"
    );
    assert_eq!(
        reason(verify(&good, now() - Duration::minutes(5))),
        "issued in the future"
    );
    // An unknown key id asks for the keys again; a shared-secret or unsigned token never counts.
    assert!(matches!(
        verify(&token("k2", rs, &claims(json!({}))), now()),
        Err(SsoError::UnknownKey)
    ));
    let hs = token("k1", jsonwebtoken::Algorithm::HS256, &claims(json!({})));
    assert!(reason(verify(&hs, now())).contains("asymmetric"));
    let (head, rest) = good.split_once('.').expect("a JWT");
    let payload = rest.split('.').next().expect("a payload");
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1"}"#);
    assert!(verify(&format!("{none_header}.{payload}."), now()).is_err());
    // A changed payload does not verify under the signature.
    let forged_payload =
        URL_SAFE_NO_PAD.encode(claims(json!({ "email": "boss@acme.example.com" })).to_string());
    let signature = good.rsplit('.').next().expect("a signature");
    assert_eq!(
        reason(verify(
            &format!("{head}.{forged_payload}.{signature}"),
            now()
        )),
        "the signature does not verify"
    );
}

struct Tenant {
    id: TenantId,
    owner: Actor,
}

async fn tenant(db: &TestDb, slug: &str) -> Tenant {
    let mut conn = db.conn().await;
    let input = SignUp {
        tenant_name: slug.to_owned(),
        slug: slug.to_owned(),
        name: "Owner".into(),
        email: format!("owner@{slug}.example.com"),
        password: "correct horse battery".into(),
    };
    let (tenant, user) = sign_up(&mut conn, &input, None, now())
        .await
        .expect("signed up");
    let id = TenantId(tenant.id);
    Tenant {
        id,
        owner: Actor {
            user_id: user,
            tenant_id: id,
            role: TenantRole::Owner,
            global_role: GlobalRole::Employee,
            grants: Vec::new(),
            subtree: Vec::new(),
            impersonating: false,
            api_key: None,
            request_id: None,
        },
    }
}

fn input(sso_only: bool) -> SettingsInput {
    SettingsInput {
        issuer: ISSUER.to_owned(),
        client_id: "guild".to_owned(),
        client_secret: Some("the client secret".to_owned()),
        allowed_domains: vec!["ACME.example.com".to_owned()],
        default_role: TenantRole::Viewer,
        groups_claim: Some("roles".to_owned()),
        sso_only,
        enabled: true,
    }
}

async fn configure(db: &TestDb, t: &Tenant, sso_only: bool) -> Settings {
    let mut conn = db.conn().await;
    let keyring = Keyring::development();
    guild_db::tenant_transaction(&mut conn, t.id, async |conn| {
        put(conn, &t.owner, &keyring, &input(sso_only), now()).await
    })
    .await
    .expect("configured")
}

#[tokio::test]
async fn a_started_sign_in_is_taken_once_within_ten_minutes_and_its_secrets_are_sealed() {
    let db = TestDb::new().await;
    let t = tenant(&db, "acme").await;
    let settings = configure(&db, &t, false).await;
    assert_eq!(settings.allowed_domains, ["acme.example.com"]);
    let keyring = Keyring::development();
    let mut conn = db.conn().await;
    let provider = provider_for_slug(&mut conn, "acme").await.expect("enabled");
    assert_eq!(provider.tenant_id, t.id);
    let (db, tid, keyring) = (&db, t.id, &keyring);

    let begin_at = |at: DateTime<Utc>| async move {
        let mut conn = db.conn().await;
        guild_db::tenant_transaction(&mut conn, tid, async |conn| {
            begin(
                conn,
                tid,
                keyring,
                "https://api.example.com/v1/auth/sso/callback",
                at,
            )
            .await
        })
        .await
        .expect("begun")
    };
    let take_at = |state: String, at: DateTime<Utc>| async move {
        let mut conn = db.conn().await;
        guild_db::tenant_transaction(&mut conn, tid, async |conn| {
            take(conn, tid, &state, keyring, at).await
        })
        .await
    };

    let begun = begin_at(now()).await;
    assert_eq!(tenant_of_state(&begun.state).expect("a tenant"), t.id);
    let url = authorization_url(
        "https://login.example.com/auth",
        "guild",
        "https://api.example.com/cb",
        &begun,
    )
    .expect("a URL");
    assert!(
        url.contains("code_challenge_method=S256") && url.contains(&begun.code_challenge),
        "{url}"
    );
    // Nothing secret is stored in the clear: the state as its hash, the verifier sealed.
    let (hash, sealed): (String, String) = sso_logins::table
        .select((sso_logins::state_hash, sso_logins::pkce_verifier_sealed))
        .first(&mut conn)
        .await
        .expect("a row");
    assert!(!begun.state.contains(&hash) && sealed.starts_with("dev."));

    let pending = take_at(begun.state.clone(), now() + Duration::minutes(9))
        .await
        .expect("taken");
    assert_eq!(pending.nonce, begun.nonce);
    assert_eq!(pending.client.client_secret, "the client secret");
    assert_eq!(
        URL_SAFE_NO_PAD.encode(Sha256::digest(pending.code_verifier.as_bytes())),
        begun.code_challenge
    );
    assert!(
        matches!(
            take_at(begun.state, now()).await,
            Err(SsoError::StateInvalid)
        ),
        "once"
    );

    let late = begin_at(now()).await;
    assert!(matches!(
        take_at(late.state, now() + Duration::minutes(10)).await,
        Err(SsoError::StateInvalid)
    ));
    assert!(tenant_of_state("not-a-state").is_err());
}

#[tokio::test]
async fn a_verified_email_links_or_joins_just_in_time_and_a_removed_member_stays_out() {
    let db = TestDb::new().await;
    let t = tenant(&db, "acme").await;
    configure(&db, &t, false).await;
    let mut conn = db.conn().await;
    let group = uuid::Uuid::now_v7();
    diesel::insert_into(groups::table)
        .values((
            groups::tenant_id.eq(t.id.into_uuid()),
            groups::id.eq(group),
            groups::name.eq("Sales"),
        ))
        .execute(&mut conn)
        .await
        .expect("a group");
    let (db, tid) = (&db, t.id);
    let sign = |c: Value| async move {
        let mut conn = db.conn().await;
        guild_db::tenant_transaction(&mut conn, tid, async |conn| {
            sign_in(conn, tid, &c, now()).await
        })
        .await
    };

    let first = sign(claims(json!({ "roles": "Sales" })))
        .await
        .expect("joined");
    assert!(first.joined);
    let (role, status): (String, String) = memberships::table
        .find((t.id.into_uuid(), first.user_id.into_uuid()))
        .select((memberships::role, memberships::status))
        .first(&mut conn)
        .await
        .expect("a membership");
    assert_eq!((role.as_str(), status.as_str()), ("VIEWER", "ACTIVE"));
    let in_group: i64 = guild_db::schema::user_groups::table
        .filter(guild_db::schema::user_groups::group_id.eq(group))
        .count()
        .get_result(&mut conn)
        .await
        .expect("a count");
    assert_eq!(in_group, 1);
    let verified_at: Option<DateTime<Utc>> = users::table
        .find(first.user_id.into_uuid())
        .select(users::email_verified_at)
        .first(&mut conn)
        .await
        .expect("a user");
    assert!(verified_at.is_some());

    let again = sign(claims(json!({ "email": "ANN@acme.example.com" })))
        .await
        .expect("linked");
    assert_eq!(
        again,
        SignedIn {
            user_id: first.user_id,
            joined: false
        }
    );

    assert!(matches!(
        sign(claims(json!({ "email_verified": false }))).await,
        Err(SsoError::EmailUnverified)
    ));
    assert!(matches!(
        sign(claims(json!({ "email_verified": "false" }))).await,
        Err(SsoError::EmailUnverified)
    ));
    assert!(matches!(
        sign(claims(
            json!({ "email": "ann@acme.example.com.evil.example" })
        ))
        .await,
        Err(SsoError::DomainNotAllowed)
    ));

    diesel::update(memberships::table.find((t.id.into_uuid(), first.user_id.into_uuid())))
        .set(memberships::status.eq("REMOVED"))
        .execute(&mut conn)
        .await
        .expect("removed");
    assert!(matches!(
        sign(claims(json!({}))).await,
        Err(SsoError::Tenancy(TenancyError::NotAMember))
    ));
    diesel::update(memberships::table.find((t.id.into_uuid(), first.user_id.into_uuid())))
        .set(memberships::status.eq("DEACTIVATED"))
        .execute(&mut conn)
        .await
        .expect("deactivated");
    assert!(matches!(
        sign(claims(json!({}))).await,
        Err(SsoError::Tenancy(TenancyError::MembershipInactive))
    ));
}

#[tokio::test]
async fn password_sign_in_to_an_sso_only_tenant_is_refused_except_to_its_owners() {
    let db = TestDb::new().await;
    let acme = tenant(&db, "acme").await;
    let mut conn = db.conn().await;
    let db = &db;
    let login = |email: &'static str, tenant: Option<TenantId>| async move {
        let mut conn = db.conn().await;
        sessions::login(&mut conn, email, "correct horse battery", tenant, now()).await
    };
    // A second tenant's owner who is also an EMPLOYEE of acme.
    let beta = tenant(db, "beta").await;
    let beta_owner: UserId = beta.owner.user_id;
    diesel::insert_into(memberships::table)
        .values((
            memberships::tenant_id.eq(acme.id.into_uuid()),
            memberships::user_id.eq(beta_owner.into_uuid()),
            memberships::role.eq("EMPLOYEE"),
            memberships::status.eq("ACTIVE"),
        ))
        .execute(&mut conn)
        .await
        .expect("a membership");

    configure(db, &acme, true).await;
    let refused = login("owner@beta.example.com", Some(acme.id)).await;
    assert!(
        matches!(refused, Err(TenancyError::SsoRequired)),
        "{refused:?}"
    );
    // Without a tenant, a password lands where it is allowed.
    let landed = login("owner@beta.example.com", None)
        .await
        .expect("signed in");
    assert_eq!(landed.tenant_id, Some(beta.id));
    // The tenant's owner keeps the break-glass password.
    let owner = login("owner@acme.example.com", Some(acme.id))
        .await
        .expect("the owner signs in");
    assert_eq!(owner.tenant_id, Some(acme.id));
    // Switching into it with a refresh token is refused too.
    let switch = sessions::refresh(&mut conn, &landed.refresh_token, Some(acme.id), now()).await;
    assert!(
        matches!(switch, Err(TenancyError::SsoRequired)),
        "{switch:?}"
    );
}
