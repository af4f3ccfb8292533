//! The knowledge feed over HTTP: a member's post waits for a moderator, a mentor's or an admin's
//! does not; moderators approve, reject with a reason and archive, never their own post, and the
//! author hears of it; members see approved posts and their own only; another tenant's posts are
//! 404; only `https` links; saved posts under `/v1/me/saved`; the unseen count; pinned first and
//! cursor pages; reactions and replies; link previews fetched after the post, a failure leaving
//! it without one.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use guild_kernel::ports::{BoxFuture, FetchError, FetchedImage, LinkPreview, LinkPreviewer};
use guild_kernel::{Clock, ManualClock};
use guild_tests::{TestApp, assert_problem, fields};
use serde_json::{Value, json};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 10, 9, 0, 0)
            .single()
            .expect("a time"),
    ))
}

async fn app_with(clock: Arc<ManualClock>) -> TestApp {
    TestApp::with(|state| state.clock = clock).await
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn link(path: &str) -> String {
    format!("https://example.com/{path}")
}

/// Shares `path` as `token`; answers the post.
async fn share(app: &TestApp, token: &str, path: &str, tags: &[&str]) -> Value {
    let posted = app
        .post(
            "/v1/feed/posts",
            token,
            json!({ "url": link(path), "description": format!("About {path}"), "tags": tags }),
        )
        .await;
    assert_eq!(posted.status, 201, "{}", posted.text);
    posted.json
}

/// The `url`s of a list, all pages walked.
async fn urls(app: &TestApp, token: &str, uri: &str) -> Vec<String> {
    app.walk(token, uri, 2, "url").await.iter().map(s).collect()
}

/// `(kind, title, body, link kind)` of the member's notifications of these kinds.
async fn notes(
    app: &TestApp,
    token: &str,
    kinds: &[&str],
) -> Vec<(String, String, String, String)> {
    let got = app.get("/v1/me/notifications", token).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| kinds.contains(&n["kind"].as_str().unwrap_or_default()))
        .map(|n| {
            (
                s(&n["kind"]),
                s(&n["title"]),
                s(&n["body"]),
                s(&n["link"]["kind"]),
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_members_post_waits_for_a_moderator_and_its_author_hears_the_decision() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let hr = app.member(&owner, "hal@acme.example.com", "HR").await;
    let mod_ = app.member(&owner, "moe@acme.example.com", "EMPLOYEE").await;
    let moe = app.me_id(&mod_).await;
    app.grant(
        &owner,
        &moe,
        json!([{ "permission": "MANAGE_SUGGESTIONS", "scope": {} }]),
    )
    .await;

    let first = share(&app, &ann, "retries", &["Ops", "ops"]).await;
    assert_eq!(first["status"], "PENDING");
    assert_eq!(first["tags"], json!(["ops"]), "lower-cased, once");
    let second = share(&app, &ann, "paywalled", &[]).await;
    let (first, second) = (s(&first["id"]), s(&second["id"]));

    // Nobody but Ann and the moderators sees a pending post.
    assert!(urls(&app, &bob, "/v1/feed/posts").await.is_empty());
    assert_problem(
        &app.get(&format!("/v1/feed/posts/{first}"), &bob).await,
        404,
        "feed_post_not_found",
    );
    assert_eq!(
        urls(&app, &ann, "/v1/feed/posts/mine").await,
        [link("paywalled"), link("retries")]
    );
    assert_eq!(
        urls(&app, &mod_, "/v1/feed/posts/pending").await,
        [link("paywalled"), link("retries")]
    );
    for token in [&bob, &hr] {
        assert_problem(
            &app.get("/v1/feed/posts/pending", token).await,
            403,
            "forbidden",
        );
        assert_problem(
            &app.post(&format!("/v1/feed/posts/{first}/approve"), token, json!({}))
                .await,
            404,
            "feed_post_not_found",
        );
    }

    // Approved by a MANAGE_SUGGESTIONS holder; rejected with a reason by an admin.
    let approved = app
        .post(&format!("/v1/feed/posts/{first}/approve"), &mod_, json!({}))
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json["status"], "APPROVED");
    let no_reason = app
        .post(
            &format!("/v1/feed/posts/{second}/reject"),
            &owner,
            json!({}),
        )
        .await;
    assert_problem(&no_reason, 422, "validation_failed");
    let rejected = app
        .post(
            &format!("/v1/feed/posts/{second}/reject"),
            &owner,
            json!({ "reason": "Behind a paywall" }),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    assert_problem(
        &app.post(
            &format!("/v1/feed/posts/{first}/approve"),
            &owner,
            json!({}),
        )
        .await,
        409,
        "invalid_status_transition",
    );
    assert_problem(
        &app.post(
            &format!("/v1/feed/posts/{first}/reject"),
            &owner,
            json!({ "reason": "late" }),
        )
        .await,
        409,
        "invalid_status_transition",
    );

    assert_eq!(urls(&app, &bob, "/v1/feed/posts").await, [link("retries")]);
    let mine = app.get(&format!("/v1/feed/posts/{second}"), &ann).await;
    assert_eq!(mine.json["status"], "REJECTED");
    assert_eq!(mine.json["reject_reason"], "Behind a paywall");

    app.run_worker().await;
    let heard = notes(&app, &ann, &["RADAR_APPROVED", "RADAR_REJECTED"]).await;
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(heard.iter().all(|n| n.3 == "RADAR_POST"), "{heard:?}");
    assert!(
        heard
            .iter()
            .any(|n| n.0 == "RADAR_REJECTED" && n.2 == "Behind a paywall"),
        "{heard:?}"
    );
    assert!(heard.iter().any(|n| n.0 == "RADAR_APPROVED"), "{heard:?}");
    app.run_worker().await;
    assert_eq!(
        notes(&app, &ann, &["RADAR_APPROVED", "RADAR_REJECTED"])
            .await
            .len(),
        2,
        "once each"
    );

    // Archived: out of the feed.
    let archived = app
        .post(&format!("/v1/feed/posts/{first}/archive"), &mod_, json!({}))
        .await;
    assert_eq!(archived.json["status"], "ARCHIVED", "{}", archived.text);
    assert!(urls(&app, &bob, "/v1/feed/posts").await.is_empty());
}

#[actix_web::test]
async fn mentors_and_admins_are_approved_on_submit_and_nobody_moderates_their_own_post() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let (module, _) = app.published_module(&owner, "Fire safety").await;
    let mia = app.member(&owner, "mia@acme.example.com", "EMPLOYEE").await;
    app.make_mentor(&owner, &module, &mia).await;
    let admin = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    let mod_ = app.member(&owner, "moe@acme.example.com", "EMPLOYEE").await;
    let moe = app.me_id(&mod_).await;
    app.grant(
        &owner,
        &moe,
        json!([{ "permission": "MANAGE_SUGGESTIONS", "scope": {} }]),
    )
    .await;

    assert_eq!(share(&app, &mia, "mentor", &[]).await["status"], "APPROVED");
    let by_admin = share(&app, &admin, "admin", &[]).await;
    assert_eq!(by_admin["status"], "APPROVED");
    let by_moe = share(&app, &mod_, "moderator", &[]).await;
    assert_eq!(by_moe["status"], "PENDING", "moderating is not mentoring");

    let own = format!("/v1/feed/posts/{}", s(&by_moe["id"]));
    for action in ["approve", "archive"] {
        assert_problem(
            &app.post(&format!("{own}/{action}"), &mod_, json!({})).await,
            403,
            "cannot_moderate_own_post",
        );
    }
    assert_problem(
        &app.post(&format!("{own}/reject"), &mod_, json!({ "reason": "no" }))
            .await,
        403,
        "cannot_moderate_own_post",
    );
    assert_problem(
        &app.post(
            &format!("/v1/feed/posts/{}/archive", s(&by_admin["id"])),
            &admin,
            json!({}),
        )
        .await,
        403,
        "cannot_moderate_own_post",
    );
    // Another moderator may.
    let approved = app.post(&format!("{own}/approve"), &admin, json!({})).await;
    assert_eq!(approved.json["status"], "APPROVED", "{}", approved.text);

    // An API key moderates only with MANAGE_SUGGESTIONS among its permissions.
    let al = app.member(&owner, "al@acme.example.com", "EMPLOYEE").await;
    let pending = s(&share(&app, &al, "key", &[]).await["id"]);
    let (_, narrow) = app
        .api_key(
            &owner,
            json!({ "name": "CMS", "permissions": ["MANAGE_ALL_MODULES"], "act_as_member": true }),
        )
        .await;
    assert_problem(
        &app.post(
            &format!("/v1/feed/posts/{pending}/approve"),
            &narrow,
            json!({}),
        )
        .await,
        404,
        "feed_post_not_found",
    );
    let (_, bare) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["MANAGE_SUGGESTIONS"] }),
        )
        .await;
    assert_problem(
        &app.get("/v1/feed/posts", &bare).await,
        403,
        "api_key_not_permitted",
    );
    let (_, moderating) = app
        .api_key(
            &owner,
            json!({ "name": "Mod", "permissions": ["MANAGE_SUGGESTIONS"], "act_as_member": true }),
        )
        .await;
    let by_key = app
        .post(
            &format!("/v1/feed/posts/{pending}/approve"),
            &moderating,
            json!({}),
        )
        .await;
    assert_eq!(by_key.json["status"], "APPROVED", "{}", by_key.text);
}

#[actix_web::test]
async fn another_tenants_posts_are_not_found() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let post = s(&share(&app, &owner, "ours", &["ops"]).await["id"]);
    let other = app.owner("globex").await;
    let uri = format!("/v1/feed/posts/{post}");
    assert_problem(&app.get(&uri, &other).await, 404, "feed_post_not_found");
    for (method, path, body) in [
        ("POST", "approve", json!({})),
        ("POST", "archive", json!({})),
        ("POST", "reject", json!({ "reason": "x" })),
        ("PUT", "pin", json!({})),
        ("PUT", "save", json!({})),
        ("PUT", "reactions/heart", json!({})),
        ("POST", "replies", json!({ "body": "hi" })),
        ("GET", "replies", json!(null)),
        ("GET", "preview-image", json!(null)),
    ] {
        let target = format!("{uri}/{path}");
        let reply = match method {
            "POST" => app.post(&target, &other, body).await,
            "PUT" => app.put(&target, &other, body).await,
            _ => app.get(&target, &other).await,
        };
        assert_problem(&reply, 404, "feed_post_not_found");
    }
    assert!(urls(&app, &other, "/v1/feed/posts").await.is_empty());
    let unseen = app.get("/v1/feed/unseen-count", &other).await;
    assert_eq!(unseen.json["count"], 0, "{}", unseen.text);
}

#[actix_web::test]
async fn only_https_links_and_a_few_plain_tags_are_accepted() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    for url in [
        "http://example.com/a",
        "javascript:alert(1)",
        "https://user@example.com/",
        "ftp://example.com/",
    ] {
        let refused = app
            .post(
                "/v1/feed/posts",
                &owner,
                json!({ "url": url, "description": "x" }),
            )
            .await;
        assert_problem(&refused, 422, "validation_failed");
        assert_eq!(fields(&refused), vec![("url".to_owned(), "url".to_owned())]);
    }
    let too_many = app
        .post(
            "/v1/feed/posts",
            &owner,
            json!({ "url": link("a"), "description": "x", "tags": ["a", "b", "c", "d", "e", "f"] }),
        )
        .await;
    assert_problem(&too_many, 422, "validation_failed");
    let odd = app
        .post(
            "/v1/feed/posts",
            &owner,
            json!({ "url": link("a"), "description": "x", "tags": ["no spaces"] }),
        )
        .await;
    assert_problem(&odd, 422, "validation_failed");
    let bad_filter = app.get("/v1/feed/posts?tag=a%20b", &owner).await;
    assert_problem(&bad_filter, 422, "validation_failed");
    let viewer = app.member(&owner, "vi@acme.example.com", "VIEWER").await;
    assert_problem(
        &app.post(
            "/v1/feed/posts",
            &viewer,
            json!({ "url": link("a"), "description": "x" }),
        )
        .await,
        403,
        "forbidden",
    );
}

#[actix_web::test]
async fn saved_posts_are_listed_under_me_saved_newest_first() {
    let clock = clock();
    let app = app_with(clock.clone()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let a = s(&share(&app, &owner, "a", &[]).await["id"]);
    let b = s(&share(&app, &owner, "b", &[]).await["id"]);
    let c = s(&share(&app, &owner, "c", &[]).await["id"]);
    for id in [&b, &a, &c, &a] {
        clock.advance(Duration::seconds(1));
        let saved = app
            .put(&format!("/v1/feed/posts/{id}/save"), &ann, json!({}))
            .await;
        assert_eq!(saved.status, 200, "{}", saved.text);
        assert_eq!(saved.json["saved"], true);
    }
    assert_eq!(
        urls(&app, &ann, "/v1/me/saved").await,
        [link("c"), link("a"), link("b")]
    );
    let post = app.get(&format!("/v1/feed/posts/{a}"), &ann).await;
    assert_eq!(post.json["save_count"], 1, "saving twice counts once");
    let unsaved = app.delete(&format!("/v1/feed/posts/{c}/save"), &ann).await;
    assert_eq!(unsaved.json["saved"], false, "{}", unsaved.text);
    assert_eq!(unsaved.json["save_count"], 0);
    assert_eq!(
        urls(&app, &ann, "/v1/me/saved").await,
        [link("a"), link("b")]
    );
    assert!(
        urls(&app, &owner, "/v1/me/saved").await.is_empty(),
        "per member"
    );

    // An archived post drops out of the saved list.
    let mod_ = app.member(&owner, "ada@acme.example.com", "ADMIN").await;
    app.post(&format!("/v1/feed/posts/{a}/archive"), &mod_, json!({}))
        .await;
    assert_eq!(urls(&app, &ann, "/v1/me/saved").await, [link("b")]);
}

#[actix_web::test]
async fn the_unseen_count_counts_approvals_by_others_since_the_marker() {
    let clock = clock();
    let app = app_with(clock.clone()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let unseen = |token: String| {
        let app = &app;
        async move {
            let got = app.get("/v1/feed/unseen-count", &token).await;
            assert_eq!(got.status, 200, "{}", got.text);
            got.json["count"].as_i64().unwrap_or(-1)
        }
    };
    share(&app, &owner, "a", &[]).await;
    clock.advance(Duration::minutes(1));
    let b = share(&app, &owner, "b", &[]).await;
    share(&app, &ann, "pending", &[]).await;
    assert_eq!(unseen(ann.clone()).await, 2);
    assert_eq!(unseen(owner.clone()).await, 0, "not one's own posts");

    // Seen up to the first; then all; the marker never moves back.
    clock.advance(Duration::minutes(1));
    let marked = app
        .put(
            "/v1/feed/seen",
            &ann,
            json!({ "until": clock.now() - Duration::minutes(2) }),
        )
        .await;
    assert_eq!(marked.json["count"], 1, "{}", marked.text);
    let marked = app.put("/v1/feed/seen", &ann, json!({})).await;
    assert_eq!(marked.json["count"], 0, "{}", marked.text);
    let back = app
        .put(
            "/v1/feed/seen",
            &ann,
            json!({ "until": clock.now() - Duration::hours(1) }),
        )
        .await;
    assert_eq!(back.json["count"], 0, "{}", back.text);
    assert_eq!(back.json["seen_until"], marked.json["seen_until"]);

    clock.advance(Duration::minutes(1));
    share(&app, &owner, "c", &[]).await;
    assert_eq!(unseen(ann.clone()).await, 1);
    assert!(b["approved_at"].is_string());
}

#[actix_web::test]
async fn pinned_posts_come_first_and_the_feed_pages_by_cursor_and_filters_by_tag() {
    let clock = clock();
    let app = app_with(clock.clone()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let mut ids = Vec::new();
    for (i, tag) in ["rust", "ops", "rust", "ops", "rust"].iter().enumerate() {
        clock.advance(Duration::minutes(1));
        ids.push(s(
            &share(&app, &owner, &format!("p{i}"), &[tag]).await["id"],
        ));
    }
    let all = |v: &[usize]| v.iter().map(|i| link(&format!("p{i}"))).collect::<Vec<_>>();
    assert_eq!(
        urls(&app, &ann, "/v1/feed/posts").await,
        all(&[4, 3, 2, 1, 0])
    );

    assert_problem(
        &app.put(&format!("/v1/feed/posts/{}/pin", ids[1]), &ann, json!({}))
            .await,
        403,
        "forbidden",
    );
    let pinned = app
        .put(&format!("/v1/feed/posts/{}/pin", ids[1]), &owner, json!({}))
        .await;
    assert_eq!(pinned.json["pinned"], true, "{}", pinned.text);
    assert_eq!(
        urls(&app, &ann, "/v1/feed/posts").await,
        all(&[1, 4, 3, 2, 0])
    );
    assert_eq!(
        urls(&app, &ann, "/v1/feed/posts?tag=RUST").await,
        all(&[4, 2, 0])
    );
    assert_eq!(
        urls(&app, &ann, "/v1/feed/posts?tag=ops").await,
        all(&[1, 3])
    );

    let unpinned = app
        .delete(&format!("/v1/feed/posts/{}/pin", ids[1]), &owner)
        .await;
    assert_eq!(unpinned.json["pinned"], false, "{}", unpinned.text);
    assert_eq!(
        urls(&app, &ann, "/v1/feed/posts").await,
        all(&[4, 3, 2, 1, 0])
    );

    // A pending post is not pinned.
    let pending = s(&share(&app, &ann, "pending", &[]).await["id"]);
    assert_problem(
        &app.put(&format!("/v1/feed/posts/{pending}/pin"), &owner, json!({}))
            .await,
        409,
        "invalid_status_transition",
    );
}

#[actix_web::test]
async fn members_react_and_reply_and_the_author_hears_of_replies() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let post = s(&share(&app, &owner, "a", &[]).await["id"]);
    let uri = format!("/v1/feed/posts/{post}");

    for token in [&ann, &bob, &bob] {
        let reacted = app
            .put(&format!("{uri}/reactions/rocket"), token, json!({}))
            .await;
        assert_eq!(reacted.status, 200, "{}", reacted.text);
    }
    let seen = app.get(&uri, &owner).await;
    assert_eq!(seen.json["reactions"][0]["emoji"], "rocket");
    assert_eq!(seen.json["reactions"][0]["count"], 2, "{}", seen.text);
    let removed = app.delete(&format!("{uri}/reactions/rocket"), &bob).await;
    assert_eq!(removed.json["reactions"][0]["count"], 1, "{}", removed.text);
    assert_problem(
        &app.put(&format!("{uri}/reactions/skull"), &ann, json!({}))
            .await,
        422,
        "validation_failed",
    );

    let replied = app
        .post(
            &format!("{uri}/replies"),
            &ann,
            json!({ "body": "Chapter 3 helped" }),
        )
        .await;
    assert_eq!(replied.status, 201, "{}", replied.text);
    app.post(
        &format!("{uri}/replies"),
        &owner,
        json!({ "body": "Glad it did" }),
    )
    .await;
    let bodies: Vec<String> = app
        .walk(&bob, &format!("{uri}/replies"), 1, "body")
        .await
        .iter()
        .map(s)
        .collect();
    assert_eq!(bodies, ["Chapter 3 helped", "Glad it did"]);
    assert_eq!(app.get(&uri, &bob).await.json["reply_count"], 2);

    app.run_worker().await;
    let heard = notes(&app, &owner, &["COMMENT_REPLY"]).await;
    assert_eq!(heard.len(), 1, "not for one's own reply: {heard:?}");
    assert_eq!(heard[0].3, "RADAR_POST");
    assert!(notes(&app, &ann, &["COMMENT_REPLY"]).await.is_empty());

    // A pending post takes no reply nor reaction from those who cannot see it.
    let pending = s(&share(&app, &ann, "pending", &[]).await["id"]);
    assert_problem(
        &app.post(
            &format!("/v1/feed/posts/{pending}/replies"),
            &bob,
            json!({ "body": "hi" }),
        )
        .await,
        404,
        "feed_post_not_found",
    );
    assert_problem(
        &app.put(
            &format!("/v1/feed/posts/{pending}/reactions/heart"),
            &bob,
            json!({}),
        )
        .await,
        404,
        "feed_post_not_found",
    );
}

#[actix_web::test]
async fn a_member_sharing_too_fast_is_told_to_wait() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    for i in 0..20 {
        share(&app, &ann, &format!("p{i}"), &[]).await;
    }
    let refused = app
        .post(
            "/v1/feed/posts",
            &ann,
            json!({ "url": link("one-more"), "description": "x" }),
        )
        .await;
    assert_problem(&refused, 429, "rate_limited");
    // Others are not held back.
    share(&app, &owner, "fine", &[]).await;
}

/// A previewer that answers from a table: a page with a title and a PNG, a page without an
/// image, or a refusal.
#[derive(Debug)]
struct Canned;

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

impl LinkPreviewer for Canned {
    fn preview<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<LinkPreview, FetchError>> {
        Box::pin(async move {
            if url.ends_with("/good") {
                Ok(LinkPreview {
                    title: Some("A good read".to_owned()),
                    description: Some("Worth it".to_owned()),
                    image: Some(FetchedImage {
                        content_type: "image/png".to_owned(),
                        bytes: PNG.to_vec(),
                    }),
                })
            } else if url.ends_with("/text") {
                Ok(LinkPreview {
                    title: Some("Text only".to_owned()),
                    description: None,
                    image: None,
                })
            } else {
                Err(FetchError::Refused("a private address".to_owned()))
            }
        })
    }
}

#[actix_web::test]
async fn a_preview_is_fetched_after_the_post_and_a_failure_leaves_it_without_one() {
    let app = TestApp::with(|state| {
        state.previewer = Some(Arc::new(Canned));
    })
    .await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let good = share(&app, &owner, "good", &[]).await;
    assert_eq!(good["preview"]["status"], "PENDING", "never waits for it");
    let text = s(&share(&app, &owner, "text", &[]).await["id"]);
    let refused = s(&share(&app, &owner, "internal", &[]).await["id"]);
    let good = s(&good["id"]);
    app.run_worker().await;

    let post = app.get(&format!("/v1/feed/posts/{good}"), &ann).await;
    assert_eq!(
        post.json["preview"],
        json!({ "status": "READY", "title": "A good read", "description": "Worth it", "has_image": true }),
        "{}",
        post.text
    );
    let image = app
        .get(&format!("/v1/feed/posts/{good}/preview-image"), &ann)
        .await;
    assert_eq!(image.status, 200, "{}", image.text);
    assert_eq!(image.json["content_type"], "image/png");

    let post = app.get(&format!("/v1/feed/posts/{text}"), &ann).await;
    assert_eq!(post.json["preview"]["status"], "READY");
    assert_eq!(post.json["preview"]["has_image"], false);
    assert_problem(
        &app.get(&format!("/v1/feed/posts/{text}/preview-image"), &ann)
            .await,
        404,
        "preview_image_not_found",
    );
    let post = app.get(&format!("/v1/feed/posts/{refused}"), &ann).await;
    assert_eq!(post.json["preview"]["status"], "FAILED");
    assert_eq!(post.json["status"], "APPROVED", "the post stands");
    assert_eq!(urls(&app, &ann, "/v1/feed/posts").await.len(), 3);

    // The image is kept out of the media library.
    let library = app.get("/v1/media", &owner).await;
    assert_eq!(library.status, 200, "{}", library.text);
    assert_eq!(library.json["data"], json!([]), "{}", library.text);
}

#[actix_web::test]
async fn posts_have_no_preview_when_previews_are_off() {
    let app = app_with(clock()).await;
    let owner = app.owner("acme").await;
    let post = share(&app, &owner, "good", &[]).await;
    assert_eq!(post["preview"]["status"], "OFF");
    app.run_worker().await;
    let again = app
        .get(&format!("/v1/feed/posts/{}", s(&post["id"])), &owner)
        .await;
    assert_eq!(again.json["preview"]["status"], "OFF");
    assert_eq!(again.json["preview"]["has_image"], false);
}

/// Serves a page with Open Graph tags and its PNG card on 127.0.0.1 until the test ends.
async fn serve_article() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..read]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (content_type, body): (&str, Vec<u8>) = if path == "/card.png" {
                    ("image/png", PNG.to_vec())
                } else {
                    (
                        "text/html; charset=utf-8",
                        br#"<html><head><title>Fallback</title>
                        <meta property="og:title" content="Ten rules for safe lifting">
                        <meta property="og:description" content="What the warehouse team learned.">
                        <meta property="og:image" content="/card.png"></head><body>x</body></html>"#
                            .to_vec(),
                    )
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    addr
}

#[actix_web::test]
async fn a_real_preview_goes_through_the_guard_and_a_metadata_address_is_refused() {
    use guild_integrations::fetch::{FetchPolicy, SafeFetcher};
    let fetcher =
        SafeFetcher::new(FetchPolicy::default().allowing_loopback_for_tests()).expect("a fetcher");
    let app = TestApp::with(|state| {
        state.previewer = Some(Arc::new(fetcher));
    })
    .await;
    let owner = app.owner("acme").await;
    let addr = serve_article().await;
    let post = |url: String| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let posted = app
                .post(
                    "/v1/feed/posts",
                    &owner,
                    json!({ "url": url, "description": "Worth a read" }),
                )
                .await;
            assert_eq!(posted.status, 201, "{}", posted.text);
            s(&posted.json["id"])
        }
    };
    let article = post(format!("https://127.0.0.1:{}/article", addr.port())).await;
    let metadata = post("https://169.254.169.254/latest/meta-data/".to_owned()).await;
    app.run_worker().await;

    let got = app.get(&format!("/v1/feed/posts/{article}"), &owner).await;
    assert_eq!(
        got.json["preview"],
        json!({ "status": "READY", "title": "Ten rules for safe lifting",
                "description": "What the warehouse team learned.", "has_image": true }),
        "{}",
        got.text
    );
    let image = app
        .get(&format!("/v1/feed/posts/{article}/preview-image"), &owner)
        .await;
    assert_eq!(image.status, 200, "{}", image.text);
    assert_eq!(image.json["content_type"], "image/png");

    let refused = app.get(&format!("/v1/feed/posts/{metadata}"), &owner).await;
    assert_eq!(
        refused.json["preview"]["status"], "FAILED",
        "{}",
        refused.text
    );
    assert_eq!(refused.json["status"], "APPROVED");
}
