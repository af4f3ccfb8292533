//! Endpoints, their sealed secrets and rotation, and the retry schedule of deliveries.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::ports::{BoxFuture, FetchError, WebhookResponse, WebhookSender};
use guild_kernel::sealed::Keyring;
use guild_kernel::{Actor, PageRequest, TenantId, TenantRole};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::deliveries::{self, DeliveryStatus, Outcome, RETRY_DELAYS};
use crate::endpoints::{self, EndpointChanges, EndpointInput, MAX_ENDPOINTS};
use crate::{WebhookError, signing};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 11, 9, 0, 0).unwrap()
}

/// Refuses what is not `https`, and the host `private.example` (as the guard would).
#[derive(Debug)]
struct Guard;

impl WebhookSender for Guard {
    fn check_url(&self, url: &str) -> Result<(), FetchError> {
        if !url.starts_with("https://") || url.contains("private.example") {
            return Err(FetchError::Refused("not public".to_owned()));
        }
        Ok(())
    }

    fn post<'a>(
        &'a self,
        _: &'a str,
        _: &'a [(String, String)],
        _: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookResponse, FetchError>> {
        Box::pin(async { Err(FetchError::Unavailable("not here".to_owned())) })
    }
}

fn keys() -> Keyring {
    Keyring::new(vec![("k1".to_owned(), [3u8; 32])]).unwrap()
}

async fn tenant_with(conn: &mut AsyncPgConnection, roles: &[TenantRole]) -> Vec<Actor> {
    let tenant = Uuid::now_v7();
    diesel::sql_query(format!(
        "INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'T', 't{}')",
        tenant.simple()
    ))
    .execute(conn)
    .await
    .unwrap();
    let mut out = Vec::new();
    for role in roles {
        let user = Uuid::now_v7();
        diesel::sql_query(format!(
            "INSERT INTO users (id, email, name) VALUES ('{user}', '{}@t.example.com', 'M')",
            user.simple()
        ))
        .execute(conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO memberships (tenant_id, user_id, role, status) VALUES ('{tenant}', '{user}', '{}', 'ACTIVE')",
            role.as_str()
        ))
        .execute(conn)
        .await
        .unwrap();
        out.push(guild_testkit::actor(tenant, user, *role));
    }
    out
}

fn input(url: &str) -> EndpointInput {
    EndpointInput {
        url: url.to_owned(),
        description: "CRM".to_owned(),
        event_types: vec!["module.completed".to_owned(), "module.completed".to_owned()],
    }
}

#[tokio::test]
async fn an_admin_creates_an_endpoint_whose_secret_is_stored_sealed_and_signs() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let people = tenant_with(&mut conn, &[TenantRole::Admin, TenantRole::Hr]).await;
    let (admin, hr) = (&people[0], &people[1]);
    let (endpoint, secret) = endpoints::create(
        &mut conn,
        admin,
        &keys(),
        &Guard,
        &input("https://crm.example.com/hook"),
        now(),
    )
    .await
    .unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        endpoint.event_types,
        ["module.completed"],
        "a repeat counts once"
    );
    assert_eq!(endpoint.revision, 1);

    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        secret_sealed: String,
    }
    let stored: Stored = diesel::sql_query("SELECT secret_sealed FROM webhook_endpoints")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert!(stored.secret_sealed.starts_with("k1."));
    assert!(
        !stored.secret_sealed.contains(&secret[6..]),
        "never in the clear"
    );

    let secrets =
        endpoints::signing_secrets(&mut conn, &keys(), admin.tenant_id, endpoint.id, now())
            .await
            .unwrap();
    assert_eq!(secrets, std::slice::from_ref(&secret));
    let other_ring = Keyring::new(vec![("k1".to_owned(), [4u8; 32])]).unwrap();
    assert!(matches!(
        endpoints::signing_secrets(&mut conn, &other_ring, admin.tenant_id, endpoint.id, now())
            .await,
        Err(WebhookError::Sealed(_))
    ));

    // HR lacks MANAGE_WEBHOOKS; another tenant's admin does not find it.
    assert!(matches!(
        endpoints::get(&mut conn, hr, endpoint.id).await,
        Err(WebhookError::Denied(_))
    ));
    let stranger = tenant_with(&mut conn, &[TenantRole::Admin]).await;
    assert!(matches!(
        endpoints::get(&mut conn, &stranger[0], endpoint.id).await,
        Err(WebhookError::NotFound("webhook_endpoint_not_found"))
    ));
    let listed = endpoints::list(&mut conn, &stranger[0], &PageRequest::default())
        .await
        .unwrap();
    assert!(listed.data.is_empty());
}

#[tokio::test]
async fn urls_and_event_types_are_checked_and_a_tenant_has_at_most_twenty_endpoints() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let admin = tenant_with(&mut conn, &[TenantRole::Admin]).await.remove(0);
    for url in [
        "http://crm.example.com/hook",
        "https://private.example/hook",
        "ftp://x",
    ] {
        let err = endpoints::create(&mut conn, &admin, &keys(), &Guard, &input(url), now())
            .await
            .unwrap_err();
        assert!(matches!(err, WebhookError::Invalid(_)), "{url}: {err:?}");
    }
    let mut unknown = input("https://crm.example.com/hook");
    unknown.event_types = vec!["webhook.ping".to_owned()];
    assert!(matches!(
        endpoints::create(&mut conn, &admin, &keys(), &Guard, &unknown, now()).await,
        Err(WebhookError::Invalid(_))
    ));
    for i in 0..MAX_ENDPOINTS {
        endpoints::create(
            &mut conn,
            &admin,
            &keys(),
            &Guard,
            &input(&format!("https://crm.example.com/{i}")),
            now(),
        )
        .await
        .unwrap();
    }
    assert!(matches!(
        endpoints::create(
            &mut conn,
            &admin,
            &keys(),
            &Guard,
            &input("https://crm.example.com/21"),
            now()
        )
        .await,
        Err(WebhookError::EndpointLimit)
    ));
}

#[tokio::test]
async fn updates_name_the_revision_they_saw_and_enabling_forgets_failures() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let admin = tenant_with(&mut conn, &[TenantRole::Admin]).await.remove(0);
    let (endpoint, _) = endpoints::create(
        &mut conn,
        &admin,
        &keys(),
        &Guard,
        &input("https://crm.example.com/hook"),
        now(),
    )
    .await
    .unwrap();
    let off = EndpointChanges {
        enabled: Some(false),
        ..EndpointChanges::default()
    };
    let disabled = endpoints::update(&mut conn, &admin, &Guard, endpoint.id, &off, 1, now())
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason.as_deref(), Some("MANUAL"));
    assert!(matches!(
        endpoints::update(&mut conn, &admin, &Guard, endpoint.id, &off, 1, now()).await,
        Err(WebhookError::StaleRevision { current: 2 })
    ));
    assert!(matches!(
        deliveries::create_ping(&mut conn, &admin, endpoint.id, now()).await,
        Err(WebhookError::EndpointDisabled)
    ));
    let on = EndpointChanges {
        enabled: Some(true),
        url: Some("https://crm.example.com/v2".to_owned()),
        ..EndpointChanges::default()
    };
    let enabled = endpoints::update(&mut conn, &admin, &Guard, endpoint.id, &on, 2, now())
        .await
        .unwrap();
    assert!(enabled.enabled && enabled.disabled_reason.is_none());
    assert_eq!(enabled.url, "https://crm.example.com/v2");
    assert!(matches!(
        endpoints::delete(&mut conn, &admin, endpoint.id, 2).await,
        Err(WebhookError::StaleRevision { current: 3 })
    ));
    endpoints::delete(&mut conn, &admin, endpoint.id, 3)
        .await
        .unwrap();
    assert!(matches!(
        endpoints::get(&mut conn, &admin, endpoint.id).await,
        Err(WebhookError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_rotated_secret_signs_with_the_previous_one_until_the_overlap_ends() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let admin = tenant_with(&mut conn, &[TenantRole::Admin]).await.remove(0);
    let tenant: TenantId = admin.tenant_id;
    let (endpoint, old) = endpoints::create(
        &mut conn,
        &admin,
        &keys(),
        &Guard,
        &input("https://crm.example.com/hook"),
        now(),
    )
    .await
    .unwrap();
    let (_, new) = endpoints::rotate_secret(
        &mut conn,
        &admin,
        &keys(),
        endpoint.id,
        Duration::hours(24),
        now(),
    )
    .await
    .unwrap();
    assert_ne!(old, new);
    let during = endpoints::signing_secrets(&mut conn, &keys(), tenant, endpoint.id, now())
        .await
        .unwrap();
    assert_eq!(during, [new.clone(), old.clone()]);
    let after = endpoints::signing_secrets(
        &mut conn,
        &keys(),
        tenant,
        endpoint.id,
        now() + Duration::hours(24),
    )
    .await
    .unwrap();
    assert_eq!(after, std::slice::from_ref(&new));

    // Both signatures go in one header while the overlap lasts.
    let ping = deliveries::create_ping(&mut conn, &admin, endpoint.id, now())
        .await
        .unwrap();
    let prepared = deliveries::prepare(&mut conn, &keys(), tenant, ping.id, now())
        .await
        .unwrap()
        .unwrap();
    let header = |name: &str| {
        prepared
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("webhook-id"), ping.id.to_string());
    let ts: i64 = header("webhook-timestamp").parse().unwrap();
    assert_eq!(ts, now().timestamp());
    let expected = format!(
        "{} {}",
        signing::sign(&new, &ping.id.to_string(), ts, &prepared.body).unwrap(),
        signing::sign(&old, &ping.id.to_string(), ts, &prepared.body).unwrap()
    );
    assert_eq!(header("webhook-signature"), expected);

    assert!(matches!(
        endpoints::rotate_secret(
            &mut conn,
            &admin,
            &keys(),
            endpoint.id,
            Duration::days(8),
            now()
        )
        .await,
        Err(WebhookError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_failing_delivery_is_retried_by_the_schedule_then_fails_and_counts_against_its_endpoint()
{
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let admin = tenant_with(&mut conn, &[TenantRole::Admin]).await.remove(0);
    let tenant = admin.tenant_id;
    let (endpoint, _) = endpoints::create(
        &mut conn,
        &admin,
        &keys(),
        &Guard,
        &input("https://crm.example.com/hook"),
        now(),
    )
    .await
    .unwrap();
    let ping = deliveries::create_ping(&mut conn, &admin, endpoint.id, now())
        .await
        .unwrap();
    let failed = Outcome {
        status_code: Some(503),
        excerpt: "é".repeat(600),
        error: None,
        latency_ms: 12,
    };
    let mut at = now();
    for delay in RETRY_DELAYS {
        let (delivery, attempt) =
            deliveries::record_attempt(&mut conn, tenant, ping.id, &failed, at)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(delivery.status, DeliveryStatus::Pending);
        assert_eq!(delivery.next_attempt_at, Some(at + *delay));
        assert!(attempt.response_excerpt.len() <= 1024);
        at += *delay;
    }
    let total = at - now();
    assert!(
        total > Duration::hours(60) && total < Duration::hours(80),
        "about three days: {total}"
    );
    let (last, _) = deliveries::record_attempt(&mut conn, tenant, ping.id, &failed, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.status, DeliveryStatus::Failed);
    assert_eq!(last.attempt_count as usize, RETRY_DELAYS.len() + 1);
    assert!(
        deliveries::record_attempt(&mut conn, tenant, ping.id, &failed, at)
            .await
            .unwrap()
            .is_none(),
        "nothing more once it failed"
    );
    let endpoint = endpoints::get(&mut conn, &admin, endpoint.id)
        .await
        .unwrap();
    assert_eq!(endpoint.consecutive_dead, 1);

    // A success resets the count.
    let ping = deliveries::create_ping(&mut conn, &admin, endpoint.id, at)
        .await
        .unwrap();
    let ok = Outcome {
        status_code: Some(204),
        excerpt: String::new(),
        error: None,
        latency_ms: 3,
    };
    let (done, _) = deliveries::record_attempt(&mut conn, tenant, ping.id, &ok, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, DeliveryStatus::Succeeded);
    let endpoint = endpoints::get(&mut conn, &admin, endpoint.id)
        .await
        .unwrap();
    assert_eq!(endpoint.consecutive_dead, 0);
    let (_, attempts) = deliveries::get(&mut conn, &admin, endpoint.id, ping.id)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    let log = deliveries::list(
        &mut conn,
        &admin,
        endpoint.id,
        Some(DeliveryStatus::Failed),
        &PageRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(log.data.len(), 1);
}

#[tokio::test]
async fn rekey_moves_both_secrets_to_the_first_key_and_they_still_sign() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let admin = tenant_with(&mut conn, &[TenantRole::Admin]).await.remove(0);
    let (endpoint, first) = endpoints::create(
        &mut conn,
        &admin,
        &keys(),
        &Guard,
        &input("https://hooks.example.com/in"),
        now(),
    )
    .await
    .unwrap();
    let (_, second) = endpoints::rotate_secret(
        &mut conn,
        &admin,
        &keys(),
        endpoint.id,
        Duration::hours(1),
        now(),
    )
    .await
    .unwrap();
    let rotated = Keyring::new(vec![
        ("k2".to_owned(), [4u8; 32]),
        ("k1".to_owned(), [3u8; 32]),
    ])
    .unwrap();
    assert_eq!(endpoints::rekey(&mut conn, &rotated).await.unwrap(), 2);
    assert_eq!(
        endpoints::rekey(&mut conn, &rotated).await.unwrap(),
        0,
        "nothing left under the old key"
    );
    let only_new = Keyring::new(vec![("k2".to_owned(), [4u8; 32])]).unwrap();
    let secrets =
        endpoints::signing_secrets(&mut conn, &only_new, admin.tenant_id, endpoint.id, now())
            .await
            .unwrap();
    assert_eq!(secrets, vec![second, first]);
}
