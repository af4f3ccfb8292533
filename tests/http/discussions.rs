//! Discussions of modules over HTTP: visible exactly when the module is (another group's member
//! and another tenant get 404); hidden posts vanish for members and stay for moderators; resolve
//! by the author or a mentor only, pin and lock by moderators; a lock stops members' replies;
//! replies and mentions notify (never oneself, never who cannot see the module); new posts reach
//! followers' streams; reactions once per member and emoji, counted right under racing requests;
//! emoji outside the allow-list and API keys without `act_as_member` refused.

use guild_tests::{TestApp, assert_problem, count, fields};
use serde_json::{Value, json};

/// A tenant with a published module assigned to one group (the catalog closed): its owner, the
/// module, a mentor of it, two members of the group (Ann and Cy) and Bob of another group.
struct Setup {
    owner: String,
    module: String,
    mentor: String,
    ann: String,
    bob: String,
    cy: String,
}

async fn setup(app: &TestApp, slug: &str) -> Setup {
    let owner = app.owner(slug).await;
    let (module, _) = app
        .module_with_section(
            &owner,
            json!({ "title": "Fire safety" }),
            json!({ "title": "Classes of fire", "content_html": "<p>A, B, C</p>" }),
        )
        .await;
    app.publish(&owner, &module).await;
    let mentor = app
        .member(&owner, &format!("mia@{slug}.example.com"), "EMPLOYEE")
        .await;
    let ann = app
        .member(&owner, &format!("ann@{slug}.example.com"), "EMPLOYEE")
        .await;
    let bob = app
        .member(&owner, &format!("bob@{slug}.example.com"), "EMPLOYEE")
        .await;
    let cy = app
        .member(&owner, &format!("cy@{slug}.example.com"), "EMPLOYEE")
        .await;
    app.make_mentor(&owner, &module, &mentor).await;
    let (ann_id, cy_id, bob_id) = (
        app.me_id(&ann).await,
        app.me_id(&cy).await,
        app.me_id(&bob).await,
    );
    let workshop = app
        .group(&owner, "Workshop", &[ann_id.as_str(), cy_id.as_str()])
        .await;
    app.group(&owner, "Office", &[bob_id.as_str()]).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{workshop}"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    app.run_worker().await;
    Setup {
        owner,
        module,
        mentor,
        ann,
        bob,
        cy,
    }
}

async fn start(app: &TestApp, token: &str, module: &str, title: &str) -> Value {
    let created = app
        .post(
            "/v1/discussions",
            token,
            json!({ "module_id": module, "title": title, "body": "What do we use?" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.json
}

async fn reply(app: &TestApp, token: &str, thread: &str, body: Value) -> Value {
    let posted = app
        .post(&format!("/v1/discussions/{thread}/posts"), token, body)
        .await;
    assert_eq!(posted.status, 201, "{}", posted.text);
    posted.json
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The ids of the replies `token` sees in `thread`.
async fn reply_ids(app: &TestApp, token: &str, thread: &str) -> Vec<String> {
    app.walk(token, &format!("/v1/discussions/{thread}/posts"), 2, "id")
        .await
        .iter()
        .map(s)
        .collect()
}

/// The notifications of `kind` in `token`'s inbox.
async fn notices(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let inbox = app.get("/v1/me/notifications", token).await;
    assert_eq!(inbox.status, 200, "{}", inbox.text);
    inbox.json["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n["kind"] == kind)
        .collect()
}

#[actix_web::test]
async fn a_discussion_is_visible_exactly_when_its_module_is() {
    let app = TestApp::new().await;
    let s1 = setup(&app, "acme").await;
    let thread = start(&app, &s1.ann, &s1.module, "Extinguishers").await;
    let id = s(&thread["id"]);
    assert_eq!(thread["title"], "Extinguishers");
    assert_eq!(thread["following"], true, "its author follows it");

    let listed = app
        .walk(
            &s1.cy,
            &format!("/v1/modules/{}/discussions", s1.module),
            10,
            "id",
        )
        .await;
    assert_eq!(listed, vec![json!(id)]);
    assert_eq!(
        app.get(&format!("/v1/discussions/{id}"), &s1.owner)
            .await
            .status,
        200
    );

    // Bob's group has no assignment of the module: nothing of it exists for him.
    let got = app.get(&format!("/v1/discussions/{id}"), &s1.bob).await;
    assert_problem(&got, 404, "discussion_not_found");
    let listed = app
        .get(&format!("/v1/modules/{}/discussions", s1.module), &s1.bob)
        .await;
    assert_problem(&listed, 404, "module_not_found");
    let replied = app
        .post(
            &format!("/v1/discussions/{id}/posts"),
            &s1.bob,
            json!({ "body": "Me too" }),
        )
        .await;
    assert_problem(&replied, 404, "discussion_not_found");
    let started = app
        .post(
            "/v1/discussions",
            &s1.bob,
            json!({ "module_id": s1.module, "title": "Hi", "body": "Anyone?" }),
        )
        .await;
    assert_problem(&started, 404, "module_not_found");
    let reacted = app
        .put(
            &format!("/v1/discussions/{id}/posts/{id}/reactions/heart"),
            &s1.bob,
            json!({}),
        )
        .await;
    assert_problem(&reacted, 404, "post_not_found");

    // Another tenant's owner, who sees every module of their own tenant, gets 404 too.
    let other = app.owner("globex").await;
    for uri in [
        format!("/v1/discussions/{id}"),
        format!("/v1/discussions/{id}/posts"),
    ] {
        assert_problem(&app.get(&uri, &other).await, 404, "discussion_not_found");
    }
    let listed = app
        .get(&format!("/v1/modules/{}/discussions", s1.module), &other)
        .await;
    assert_problem(&listed, 404, "module_not_found");
}

#[actix_web::test]
async fn hidden_posts_vanish_for_members_and_stay_for_moderators() {
    let app = TestApp::new().await;
    let s1 = setup(&app, "acme").await;
    let thread = s(&start(&app, &s1.ann, &s1.module, "Extinguishers").await["id"]);
    let rude = s(&reply(&app, &s1.cy, &thread, json!({ "body": "Rude words" })).await["id"]);
    let fine = s(&reply(&app, &s1.ann, &thread, json!({ "body": "Thanks" })).await["id"]);

    // A member does not moderate.
    let refused = app
        .put(
            &format!("/v1/discussions/{thread}/posts/{rude}/hidden"),
            &s1.ann,
            json!({ "reason": "Rude" }),
        )
        .await;
    assert_problem(&refused, 403, "forbidden");

    let hidden = app
        .put(
            &format!("/v1/discussions/{thread}/posts/{rude}/hidden"),
            &s1.mentor,
            json!({ "reason": "Not how we talk here" }),
        )
        .await;
    assert_eq!(hidden.status, 204, "{}", hidden.text);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'discussion_post.hidden' \
                 AND entity_id = '{rude}'"
            )
        )
        .await,
        1,
        "hiding is audited"
    );

    assert_eq!(reply_ids(&app, &s1.ann, &thread).await, vec![fine.clone()]);
    assert_eq!(reply_ids(&app, &s1.cy, &thread).await, vec![fine.clone()]);
    assert_eq!(
        reply_ids(&app, &s1.mentor, &thread).await,
        vec![rude.clone(), fine.clone()]
    );
    assert_eq!(
        reply_ids(&app, &s1.owner, &thread).await,
        vec![rude.clone(), fine.clone()],
        "admins moderate every module"
    );
    let seen = app
        .get(&format!("/v1/discussions/{thread}/posts"), &s1.mentor)
        .await;
    assert_eq!(
        seen.json["data"][0]["hidden"]["reason"],
        "Not how we talk here"
    );
    assert!(seen.json["data"][1]["hidden"].is_null());
    let counted = app.get(&format!("/v1/discussions/{thread}"), &s1.ann).await;
    assert_eq!(counted.json["reply_count"], 1, "{}", counted.text);
    let counted = app
        .get(&format!("/v1/discussions/{thread}"), &s1.mentor)
        .await;
    assert_eq!(counted.json["reply_count"], 2, "{}", counted.text);
    // Nor can a member reach the hidden post another way.
    let reacted = app
        .put(
            &format!("/v1/discussions/{thread}/posts/{rude}/reactions/heart"),
            &s1.ann,
            json!({}),
        )
        .await;
    assert_problem(&reacted, 404, "post_not_found");
    let answered = app
        .post(
            &format!("/v1/discussions/{thread}/posts"),
            &s1.ann,
            json!({ "parent_id": rude, "body": "Hm?" }),
        )
        .await;
    assert_problem(&answered, 404, "post_not_found");

    // Hiding the opening post hides the discussion.
    let hidden = app
        .put(
            &format!("/v1/discussions/{thread}/posts/{thread}/hidden"),
            &s1.mentor,
            json!({ "reason": "Duplicate" }),
        )
        .await;
    assert_eq!(hidden.status, 204, "{}", hidden.text);
    assert_problem(
        &app.get(&format!("/v1/discussions/{thread}"), &s1.ann).await,
        404,
        "discussion_not_found",
    );
    let list = format!("/v1/modules/{}/discussions", s1.module);
    assert!(app.walk(&s1.cy, &list, 10, "id").await.is_empty());
    assert_eq!(
        app.walk(&s1.mentor, &list, 10, "id").await,
        vec![json!(thread)]
    );
    let as_mentor = app
        .get(&format!("/v1/discussions/{thread}"), &s1.mentor)
        .await;
    assert_eq!(as_mentor.json["hidden"]["reason"], "Duplicate");

    // Shown again, it is back for everyone.
    let shown = app
        .delete(
            &format!("/v1/discussions/{thread}/posts/{thread}/hidden"),
            &s1.mentor,
        )
        .await;
    assert_eq!(shown.status, 204, "{}", shown.text);
    assert_eq!(
        app.get(&format!("/v1/discussions/{thread}"), &s1.ann)
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn only_the_author_or_a_mentor_resolves_and_only_moderators_pin_and_lock() {
    let app = TestApp::new().await;
    let s1 = setup(&app, "acme").await;
    let thread = s(&start(&app, &s1.ann, &s1.module, "Extinguishers").await["id"]);
    let uri = format!("/v1/discussions/{thread}");

    let refused = app.patch(&uri, &s1.cy, json!({ "resolved": true })).await;
    assert_problem(&refused, 403, "forbidden");
    let resolved = app.patch(&uri, &s1.ann, json!({ "resolved": true })).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert_eq!(resolved.json["resolved"], true);
    let reopened = app
        .patch(&uri, &s1.mentor, json!({ "resolved": false }))
        .await;
    assert_eq!(reopened.status, 200, "{}", reopened.text);
    assert_eq!(reopened.json["resolved"], false);
    let by_mentor = app
        .patch(&uri, &s1.mentor, json!({ "resolved": true }))
        .await;
    assert_eq!(by_mentor.json["resolved"], true);

    // The author resolves, but pins and locks nothing.
    for change in [json!({ "pinned": true }), json!({ "locked": true })] {
        assert_problem(&app.patch(&uri, &s1.ann, change).await, 403, "forbidden");
    }
    let pinned = app.patch(&uri, &s1.mentor, json!({ "pinned": true })).await;
    assert_eq!(pinned.status, 200, "{}", pinned.text);
    assert_eq!(pinned.json["pinned"], true);

    // Pinned first, whatever was posted since.
    let later = s(&start(&app, &s1.cy, &s1.module, "Later").await["id"]);
    let list = format!("/v1/modules/{}/discussions", s1.module);
    assert_eq!(
        app.walk(&s1.ann, &list, 1, "id").await,
        vec![json!(thread), json!(later)]
    );
}

#[actix_web::test]
async fn a_locked_discussion_takes_replies_from_its_moderators_only() {
    let app = TestApp::new().await;
    let s1 = setup(&app, "acme").await;
    let thread = s(&start(&app, &s1.ann, &s1.module, "Extinguishers").await["id"]);
    let locked = app
        .patch(
            &format!("/v1/discussions/{thread}"),
            &s1.mentor,
            json!({ "locked": true }),
        )
        .await;
    assert_eq!(locked.json["locked"], true, "{}", locked.text);

    let refused = app
        .post(
            &format!("/v1/discussions/{thread}/posts"),
            &s1.ann,
            json!({ "body": "One more thing" }),
        )
        .await;
    assert_problem(&refused, 409, "discussion_locked");
    reply(
        &app,
        &s1.mentor,
        &thread,
        json!({ "body": "Closed: see the FAQ" }),
    )
    .await;
    assert_eq!(reply_ids(&app, &s1.ann, &thread).await.len(), 1);

    let unlocked = app
        .patch(
            &format!("/v1/discussions/{thread}"),
            &s1.owner,
            json!({ "locked": false }),
        )
        .await;
    assert_eq!(unlocked.json["locked"], false, "{}", unlocked.text);
    reply(&app, &s1.ann, &thread, json!({ "body": "Thanks" })).await;
}

#[actix_web::test]
async fn a_reply_notifies_the_parents_author_and_mentions_notify_who_may_see_it() {
    let app = TestApp::new().await;
    let s1 = setup(&app, "acme").await;
    let (cy_id, bob_id) = (app.me_id(&s1.cy).await, app.me_id(&s1.bob).await);
    let thread = s(&start(&app, &s1.ann, &s1.module, "Extinguishers").await["id"]);
    // Ann answering her own discussion hears nothing of it.
    reply(&app, &s1.ann, &thread, json!({ "body": "Also: foam?" })).await;
    app.run_worker().await;
    assert!(notices(&app, &s1.ann, "COMMENT_REPLY").await.is_empty());

    // The mentor's reply notifies Ann; it mentions Cy (who sees the module) and Bob (who does
    // not).
    let answer = reply(
        &app,
        &s1.mentor,
        &thread,
        json!({ "body": "CO2, ask Cy", "mentions": [cy_id, bob_id] }),
    )
    .await;
    app.run_worker().await;
    app.run_worker().await;
    let ann = notices(&app, &s1.ann, "COMMENT_REPLY").await;
    assert_eq!(ann.len(), 1, "{ann:?}");
    assert!(
        ann[0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("replied in \u{201c}Extinguishers\u{201d}"),
        "{ann:?}"
    );
    assert_eq!(ann[0]["link"]["kind"], "DISCUSSION_THREAD", "{ann:?}");
    let cy = notices(&app, &s1.cy, "COMMENT_REPLY").await;
    assert_eq!(cy.len(), 1, "{cy:?}");
    assert!(
        cy[0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("mentioned you")
    );
    assert!(notices(&app, &s1.bob, "COMMENT_REPLY").await.is_empty());
    assert!(notices(&app, &s1.mentor, "COMMENT_REPLY").await.is_empty());

    // Ann answering the mentor's reply notifies the mentor, once.
    reply(
        &app,
        &s1.ann,
        &thread,
        json!({ "parent_id": answer["id"], "body": "Thanks!" }),
    )
    .await;
    app.run_worker().await;
    assert_eq!(notices(&app, &s1.mentor, "COMMENT_REPLY").await.len(), 1);
    assert_eq!(notices(&app, &s1.ann, "COMMENT_REPLY").await.len(), 1);

    // Followers (Ann started it, the mentor posted) got each other's posts on their streams.
    let ann_id = app.me_id(&s1.ann).await;
    let mentor_id = app.me_id(&s1.mentor).await;
    let pushed = |user: &str| {
        format!(
            "SELECT count(*) AS n FROM member_stream_events \
             WHERE kind = 'discussion.post_created' AND user_id = '{user}'"
        )
    };
    assert_eq!(count(&app, &pushed(&ann_id)).await, 1, "the mentor's reply");
    assert_eq!(count(&app, &pushed(&mentor_id)).await, 1, "Ann's answer");
    assert_eq!(count(&app, &pushed(&bob_id)).await, 0);

    // A mention of someone who is no member is refused.
    let refused = app
        .post(
            &format!("/v1/discussions/{thread}/posts"),
            &s1.ann,
            json!({ "body": "Hey", "mentions": [uuid::Uuid::now_v7()] }),
        )
        .await;
    assert_problem(&refused, 422, "validation_failed");
    assert_eq!(
        fields(&refused),
        vec![("mentions".to_owned(), "member_not_found".to_owned())]
    );
}

#[actix_web::test]
async fn a_reaction_counts_once_per_member_and_emoji_and_unknown_emoji_are_refused() {
    let app = TestApp::new().await;
    let s1 = setup(&app, "acme").await;
    let thread = s(&start(&app, &s1.ann, &s1.module, "Extinguishers").await["id"]);
    let post = s(&reply(&app, &s1.cy, &thread, json!({ "body": "CO2" })).await["id"]);
    let uri = |emoji: &str| format!("/v1/discussions/{thread}/posts/{post}/reactions/{emoji}");

    for _ in 0..2 {
        let reacted = app.put(&uri("thumbs_up"), &s1.ann, json!({})).await;
        assert_eq!(reacted.status, 200, "{}", reacted.text);
        assert_eq!(
            reacted.json["reactions"],
            json!([{ "emoji": "thumbs_up", "char": "\u{1F44D}", "count": 1, "mine": true }])
        );
    }
    let reacted = app.put(&uri("thumbs_up"), &s1.mentor, json!({})).await;
    assert_eq!(reacted.json["reactions"][0]["count"], 2);
    app.put(&uri("heart"), &s1.mentor, json!({})).await;

    let posts = app
        .get(&format!("/v1/discussions/{thread}/posts"), &s1.cy)
        .await;
    assert_eq!(
        posts.json["data"][0]["reactions"],
        json!([
            { "emoji": "thumbs_up", "char": "\u{1F44D}", "count": 2, "mine": false },
            { "emoji": "heart", "char": "\u{2764}\u{FE0F}", "count": 1, "mine": false },
        ])
    );
    for _ in 0..2 {
        let removed = app.delete(&uri("thumbs_up"), &s1.ann).await;
        assert_eq!(removed.status, 200, "{}", removed.text);
        assert_eq!(removed.json["reactions"][0]["count"], 1);
    }

    let refused = app.put(&uri("poop"), &s1.ann, json!({})).await;
    assert_problem(&refused, 422, "validation_failed");
    assert_eq!(
        fields(&refused),
        vec![("emoji".to_owned(), "emoji_not_allowed".to_owned())]
    );
    // The opening post takes reactions under the discussion's id.
    let opening = app
        .put(
            &format!("/v1/discussions/{thread}/posts/{thread}/reactions/tada"),
            &s1.cy,
            json!({}),
        )
        .await;
    assert_eq!(opening.status, 200, "{}", opening.text);
    let got = app.get(&format!("/v1/discussions/{thread}"), &s1.ann).await;
    assert_eq!(got.json["reactions"][0]["emoji"], "tada");
    // A post of another discussion is not this one's.
    let other = s(&start(&app, &s1.cy, &s1.module, "Other").await["id"]);
    let wrong = app
        .put(
            &format!("/v1/discussions/{other}/posts/{post}/reactions/tada"),
            &s1.cy,
            json!({}),
        )
        .await;
    assert_problem(&wrong, 404, "post_not_found");

    // The followers heard of the changes on their streams.
    app.run_worker().await;
    let ann_id = app.me_id(&s1.ann).await;
    assert!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM member_stream_events \
                 WHERE kind = 'reaction.changed' AND user_id = '{ann_id}'"
            )
        )
        .await
            > 0
    );
}

#[actix_web::test]
async fn racing_reactions_are_each_counted_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (module, _) = app.published_module(&owner, "Fire safety").await;
    let thread = s(&start(&app, &owner, &module, "Extinguishers").await["id"]);
    let mut members = Vec::new();
    for i in 0..8 {
        members.push(
            app.member(&owner, &format!("m{i}@acme.example.com"), "EMPLOYEE")
                .await,
        );
    }
    let uri = format!("/v1/discussions/{thread}/posts/{thread}/reactions/rocket");
    // Every member three times at once, and the owner too.
    let requests = members
        .iter()
        .chain(std::iter::once(&owner))
        .flat_map(|token| (0..3).map(move |_| token))
        .map(|token| {
            let (app, uri) = (&app, &uri);
            async move { app.put(uri, token, json!({})).await }
        });
    let replies = futures_util::future::join_all(requests).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let got = app.get(&format!("/v1/discussions/{thread}"), &owner).await;
    assert_eq!(got.json["reactions"][0]["count"], 9, "{}", got.text);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM reactions").await, 9);

    // And all of them leaving at once leaves nothing.
    let requests = members
        .iter()
        .chain(std::iter::once(&owner))
        .flat_map(|token| (0..2).map(move |_| token))
        .map(|token| {
            let (app, uri) = (&app, &uri);
            async move { app.delete(uri, token).await }
        });
    for reply in futures_util::future::join_all(requests).await {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let got = app.get(&format!("/v1/discussions/{thread}"), &owner).await;
    assert_eq!(got.json["reactions"], json!([]), "{}", got.text);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM reaction_counts").await,
        0
    );
}

#[actix_web::test]
async fn an_api_key_that_does_not_act_as_a_member_cannot_discuss() {
    let app = TestApp::new().await;
    let s1 = setup(&app, "acme").await;
    let thread = s(&start(&app, &s1.ann, &s1.module, "Extinguishers").await["id"]);
    let (_, key) = app
        .api_key(
            &s1.owner,
            json!({ "name": "BI", "permissions": ["MANAGE_ALL_MODULES"] }),
        )
        .await;
    for reply in [
        app.get(&format!("/v1/modules/{}/discussions", s1.module), &key)
            .await,
        app.get(&format!("/v1/discussions/{thread}"), &key).await,
        app.post(
            &format!("/v1/discussions/{thread}/posts"),
            &key,
            json!({ "body": "From a script" }),
        )
        .await,
        app.put(
            &format!("/v1/discussions/{thread}/posts/{thread}/hidden"),
            &key,
            json!({ "reason": "Script" }),
        )
        .await,
    ] {
        assert_problem(&reply, 403, "api_key_not_permitted");
    }
    // A key acting as its admin creator still does not moderate as an administrator.
    let (_, member_key) = app
        .api_key(
            &s1.owner,
            json!({ "name": "App", "permissions": ["MANAGE_ALL_MODULES"], "act_as_member": true }),
        )
        .await;
    let refused = app
        .patch(
            &format!("/v1/discussions/{thread}"),
            &member_key,
            json!({ "locked": true }),
        )
        .await;
    assert_problem(&refused, 403, "forbidden");
}

#[actix_web::test]
async fn a_member_posting_too_fast_is_told_to_wait() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let (module, _) = app.published_module(&owner, "Fire safety").await;
    let thread = s(&start(&app, &owner, &module, "Extinguishers").await["id"]);
    let mut statuses = Vec::new();
    for i in 0..10 {
        let posted = app
            .post(
                &format!("/v1/discussions/{thread}/posts"),
                &owner,
                json!({ "body": format!("Post {i}") }),
            )
            .await;
        statuses.push(posted.status);
        if posted.status == 429 {
            assert_problem(&posted, 429, "rate_limited");
            assert!(posted.header("retry-after").is_some());
        }
    }
    // The opening post counted too: ten a minute.
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 9);
    assert_eq!(statuses.last(), Some(&429));
}

#[actix_web::test]
async fn a_post_mentions_members_named_in_its_text_as_chat_does() {
    let app = TestApp::new().await;
    let s1 = setup(&app, "acme").await;
    let cy_id = app.me_id(&s1.cy).await;
    let thread = s(&start(&app, &s1.ann, &s1.module, "Extinguishers").await["id"]);
    // Cy by address, Bob (who does not see the module) by id: only Cy hears of it.
    let bob_id = app.me_id(&s1.bob).await;
    let posted = reply(
        &app,
        &s1.mentor,
        &thread,
        json!({ "body": format!("ask @cy@acme.example.com or @{bob_id}") }),
    )
    .await;
    let mut mentioned: Vec<String> = posted["mentions"]
        .as_array()
        .expect("mentions")
        .iter()
        .map(|m| m.as_str().unwrap_or_default().to_owned())
        .collect();
    mentioned.sort();
    let mut expected = vec![cy_id, bob_id];
    expected.sort();
    assert_eq!(mentioned, expected, "{posted}");
    app.run_worker().await;
    app.run_worker().await;
    let cy = notices(&app, &s1.cy, "COMMENT_REPLY").await;
    assert_eq!(cy.len(), 1, "{cy:?}");
    assert!(notices(&app, &s1.bob, "COMMENT_REPLY").await.is_empty());
}
