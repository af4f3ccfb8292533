//! The member's inbox over HTTP: listing, the badge, read state, the archive, and nobody else's.

use actix_web::http::Method;
use chrono::Utc;
use guild_kernel::{TenantId, UserId};
use guild_notifications::inbox::{self, NewNotification};
use guild_notifications::{EntityKind, NotificationType};
use guild_tests::{World, access, assert_problem, join, json_request, send, sign_up, world};
use serde_json::Value;
use uuid::Uuid;

fn get(uri: &str, token: &str) -> actix_http::Request {
    json_request(Method::GET, uri, Some(token), None)
}

fn post(uri: &str, token: &str) -> actix_http::Request {
    json_request(Method::POST, uri, Some(token), None)
}

fn uuid(v: &Value) -> Uuid {
    v.as_str().and_then(|s| s.parse().ok()).expect("a uuid")
}

/// Delivers a notification the way the worker's reactions do, in the tenant's transaction.
async fn deliver(w: &World, tenant: Uuid, user: Uuid, key: &str, title: &str) -> Uuid {
    let mut conn = w.db.conn().await;
    let n = NewNotification {
        user: UserId(user),
        kind: NotificationType::QuizResult,
        title: title.into(),
        body: "You scored 9 of 10.".into(),
        entity: Some((EntityKind::QuizAttempt, Uuid::now_v7())),
        dedup_key: key.into(),
    };
    guild_db::tenant_transaction(&mut conn, TenantId(tenant), async |c| {
        inbox::deliver(c, TenantId(tenant), &n, Utc::now()).await
    })
    .await
    .expect("delivered")
    .expect("a new notification")
    .id
}

#[actix_web::test]
async fn a_member_reads_and_archives_their_own_notifications() {
    let (w, app) = world(|_| {}).await;
    let signed_up = sign_up(&app, "acme").await;
    let owner = access(&signed_up);
    let tenant = uuid(&signed_up["tenant"]["id"]);
    let ana = access(&join(&app, &w, &owner, "ana@acme.example.com", "EMPLOYEE").await);
    let ana_id = uuid(&send(&app, get("/v1/me", &ana)).await.json["user"]["id"]);
    let owner_id = uuid(&send(&app, get("/v1/me", &owner)).await.json["user"]["id"]);

    let first = deliver(&w, tenant, ana_id, "quiz:1", "Forklift quiz: passed").await;
    let second = deliver(&w, tenant, ana_id, "quiz:2", "Ladders quiz: passed").await;
    let owners = deliver(&w, tenant, owner_id, "quiz:3", "Owner's result").await;

    let inbox = send(&app, get("/v1/me/notifications", &ana)).await;
    assert_eq!(inbox.status, 200, "{}", inbox.text);
    let ids: Vec<Uuid> = inbox.json["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|n| uuid(&n["id"]))
        .collect();
    assert_eq!(ids, vec![second, first], "newest first, only Ana's");
    assert_eq!(inbox.json["data"][0]["kind"], "QUIZ_RESULT");
    assert_eq!(inbox.json["data"][0]["link"]["kind"], "QUIZ_ATTEMPT");
    assert_eq!(inbox.json["data"][0]["read_at"], Value::Null);
    let badge = send(&app, get("/v1/me/notifications/unread-count", &ana)).await;
    assert_eq!(badge.json["unread"], 2, "{}", badge.text);

    // Someone else's notification is not found, for reading and for archiving.
    for action in ["read", "archive"] {
        let refused = send(
            &app,
            post(&format!("/v1/me/notifications/{owners}/{action}"), &ana),
        )
        .await;
        assert_problem(&refused, 404, "notification_not_found");
    }

    let read = send(
        &app,
        post(&format!("/v1/me/notifications/{first}/read"), &ana),
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert!(read.json["read_at"].is_string());
    let unread = send(&app, get("/v1/me/notifications?unread=true", &ana)).await;
    assert_eq!(unread.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(uuid(&unread.json["data"][0]["id"]), second);

    let archived = send(
        &app,
        post(&format!("/v1/me/notifications/{second}/archive"), &ana),
    )
    .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert!(archived.json["archived_at"].is_string());
    let inbox = send(&app, get("/v1/me/notifications", &ana)).await;
    assert_eq!(inbox.json["data"].as_array().map(Vec::len), Some(1));
    let archive = send(&app, get("/v1/me/notifications?archived=true", &ana)).await;
    assert_eq!(uuid(&archive.json["data"][0]["id"]), second);
    let badge = send(&app, get("/v1/me/notifications/unread-count", &ana)).await;
    assert_eq!(badge.json["unread"], 0);

    // The owner's badge never moved; read-all clears it.
    let owners_badge = send(&app, get("/v1/me/notifications/unread-count", &owner)).await;
    assert_eq!(owners_badge.json["unread"], 1);
    let all = send(&app, post("/v1/me/notifications/read-all", &owner)).await;
    assert_eq!(all.json["marked"], 1, "{}", all.text);
    let owners_badge = send(&app, get("/v1/me/notifications/unread-count", &owner)).await;
    assert_eq!(owners_badge.json["unread"], 0);
}

#[actix_web::test]
async fn another_tenants_member_cannot_touch_a_notification() {
    let (w, app) = world(|_| {}).await;
    let alpha = sign_up(&app, "alpha").await;
    let beta = access(&sign_up(&app, "beta").await);
    let alpha_owner = uuid(&send(&app, get("/v1/me", &access(&alpha))).await.json["user"]["id"]);
    let id = deliver(
        &w,
        uuid(&alpha["tenant"]["id"]),
        alpha_owner,
        "k",
        "Alpha only",
    )
    .await;
    let refused = send(
        &app,
        post(&format!("/v1/me/notifications/{id}/read"), &beta),
    )
    .await;
    assert_problem(&refused, 404, "notification_not_found");
    let seen = send(&app, get("/v1/me/notifications", &beta)).await;
    assert_eq!(seen.json["data"].as_array().map(Vec::len), Some(0));
}
