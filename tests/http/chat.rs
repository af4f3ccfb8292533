//! Chat over HTTP and the stream: who reads which room (module rooms follow module visibility,
//! other tenants get 404), delivery on the stream (resume exactly once, one order for every
//! subscriber under 200 concurrent sends), confirmed answers, their XP and the later questions
//! they answer, edit history and moderation, read markers and unread counts, history pages and
//! search, mentions, direct conversations, the send rate limit and API keys.

use std::time::Duration;

use actix_web::body::MessageBody;
use guild_kernel::ports::RateRule;
use guild_tests::sse::{StreamBody, frame_within, next_frame, open_stream};
use guild_tests::{TestApp, assert_problem, count, execute, instance};
use serde_json::{Value, json};

/// An app whose members may send `limit` messages a minute.
async fn app_sending(limit: u32) -> TestApp {
    TestApp::with(move |state| {
        state.limits.chat_messages = RateRule {
            limit,
            window: Duration::from_secs(60),
        };
    })
    .await
}

/// Opens a room as `token`; answers the room.
async fn open(app: &TestApp, token: &str, body: Value) -> Value {
    let opened = app.post("/v1/chat/rooms", token, body).await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    opened.json
}

async fn tenant_room(app: &TestApp, token: &str) -> String {
    id(&open(app, token, json!({ "kind": "TENANT" })).await)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// Sends `body` to `room` as `token`; answers the message.
async fn say(app: &TestApp, token: &str, room: &str, body: Value) -> Value {
    let sent = app
        .post(&format!("/v1/chat/rooms/{room}/messages"), token, body)
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    sent.json
}

/// A module assigned to a new group of `members` (ids), published, in a closed catalog.
async fn group_module(app: &TestApp, owner: &str, members: &[&str]) -> String {
    let (module, _) = app
        .module_with_section(
            owner,
            json!({ "title": "Forklift safety" }),
            json!({ "title": "Intro", "content_html": "<p>Hi</p>" }),
        )
        .await;
    app.publish(owner, &module).await;
    let group = app.group(owner, "Warehouse", members).await;
    let assigned = app
        .put(
            &format!("/v1/modules/{module}/groups/{group}"),
            owner,
            json!({}),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    module
}

/// The next chat event on an open stream (skipping other frames): its kind and data.
async fn next_chat<B: MessageBody>(body: &mut StreamBody<B>) -> (String, Value) {
    loop {
        let frame = next_frame(body).await;
        if let Some(event) = chat_event(&frame) {
            return event;
        }
    }
}

fn chat_event(frame: &str) -> Option<(String, Value)> {
    let kind = frame.lines().find_map(|l| l.strip_prefix("event: "))?;
    if !kind.starts_with("chat.") {
        return None;
    }
    let data = frame.lines().find_map(|l| l.strip_prefix("data: "))?;
    Some((
        kind.to_owned(),
        serde_json::from_str(data).expect("json data"),
    ))
}

/// No chat event arrives within a moment.
async fn no_chat_within<B: MessageBody>(body: &mut StreamBody<B>) {
    while let Some(frame) = frame_within(body, Duration::from_millis(300)).await {
        assert!(chat_event(&frame).is_none(), "unexpected: {frame}");
    }
}

/// How many stream events of a kind like `kind` (a LIKE pattern) `user` was sent.
async fn stream_events_of(app: &TestApp, user: &str, kind: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) AS n FROM member_stream_events \
             WHERE user_id = '{user}' AND kind LIKE '{kind}'"
        ),
    )
    .await
}

async fn chat_events_of(app: &TestApp, user: &str) -> i64 {
    stream_events_of(app, user, "chat.%").await
}

#[actix_web::test]
async fn a_module_room_is_read_by_whoever_sees_the_module_and_by_nobody_else() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (ann_id, bob_id) = (app.me_id(&ann).await, app.me_id(&bob).await);
    let module = group_module(&app, &owner, &[&ann_id]).await;

    let room = open(&app, &ann, json!({ "kind": "MODULE", "module_id": module })).await;
    assert_eq!(room["kind"], "MODULE");
    assert_eq!(room["module_id"], module.as_str());
    assert_eq!(room["moderator"], false);
    let room = id(&room);
    // Bob, of another group, neither joins nor reads it.
    let joined = app
        .post(
            "/v1/chat/rooms",
            &bob,
            json!({ "kind": "MODULE", "module_id": module }),
        )
        .await;
    assert_problem(&joined, 404, "module_not_found");
    for uri in [
        format!("/v1/chat/rooms/{room}"),
        format!("/v1/chat/rooms/{room}/messages"),
        format!("/v1/chat/rooms/{room}/search?q=forklift"),
    ] {
        assert_problem(&app.get(&uri, &bob).await, 404, "room_not_found");
    }
    let sent = app
        .post(
            &format!("/v1/chat/rooms/{room}/messages"),
            &bob,
            json!({ "body": "let me in" }),
        )
        .await;
    assert_problem(&sent, 404, "room_not_found");

    // The owner (ADMIN and above) joins as a moderator; Ann's message reaches both, not Bob.
    let owner_room = open(
        &app,
        &owner,
        json!({ "kind": "MODULE", "module_id": module }),
    )
    .await;
    assert_eq!(owner_room["moderator"], true);
    let message = say(
        &app,
        &ann,
        &room,
        json!({ "body": "Where is the checklist?" }),
    )
    .await;
    // After Ann's JOIN (1) and the owner's (2).
    assert_eq!(message["seq"], 3);
    let owner_id = app.me_id(&owner).await;
    // Ann heard both JOINs and her message; the owner his JOIN and the message.
    assert_eq!(chat_events_of(&app, &ann_id).await, 3);
    assert_eq!(chat_events_of(&app, &owner_id).await, 2);
    assert_eq!(chat_events_of(&app, &bob_id).await, 0);
    let listed = app.get("/v1/chat/rooms", &bob).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(
        !listed.text.contains(&room),
        "Bob's rooms list the module's room: {}",
        listed.text
    );
    let message_id = id(&message);
    let reply = app
        .post(
            &format!("/v1/chat/rooms/{room}/messages"),
            &ann,
            json!({ "body": "", "reply_to": message_id }),
        )
        .await;
    assert_problem(&reply, 422, "validation_failed");

    // Once Ann leaves the group, the room is gone for her and its messages stop reaching her.
    let group = app.get("/v1/groups", &owner).await.json["data"][0]["id"]
        .as_str()
        .expect("the group")
        .to_owned();
    execute(
        &app,
        &format!("DELETE FROM user_groups WHERE group_id = '{group}' AND user_id = '{ann_id}'"),
    )
    .await;
    assert_problem(
        &app.get(&format!("/v1/chat/rooms/{room}/messages"), &ann)
            .await,
        404,
        "room_not_found",
    );
    say(&app, &owner, &room, json!({ "body": "Section 2." })).await;
    assert_eq!(chat_events_of(&app, &ann_id).await, 3);
    assert_eq!(chat_events_of(&app, &owner_id).await, 3);

    // Another tenant's owner: every id is 404.
    let other = app.owner("globex").await;
    assert_problem(
        &app.get(&format!("/v1/chat/rooms/{room}"), &other).await,
        404,
        "room_not_found",
    );
    let sent = app
        .post(
            &format!("/v1/chat/rooms/{room}/messages"),
            &other,
            json!({ "body": "hello" }),
        )
        .await;
    assert_problem(&sent, 404, "room_not_found");
    let opened = app
        .post(
            "/v1/chat/rooms",
            &other,
            json!({ "kind": "MODULE", "module_id": module }),
        )
        .await;
    assert_problem(&opened, 404, "module_not_found");
    let deleted = app
        .delete(
            &format!("/v1/chat/rooms/{room}/messages/{message_id}"),
            &other,
        )
        .await;
    assert_problem(&deleted, 404, "room_not_found");
    let direct = app
        .post(
            "/v1/chat/rooms",
            &other,
            json!({ "kind": "DIRECT", "member_id": ann_id }),
        )
        .await;
    assert_problem(&direct, 404, "member_not_found");
}

#[actix_web::test]
async fn a_message_sent_while_a_member_is_disconnected_arrives_once_when_they_resume() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let room = tenant_room(&app, &owner).await;
    tenant_room(&app, &bob).await;
    let raw = instance(app.state.clone()).await;

    let mut stream = open_stream(&raw, &bob, None).await;
    let first = say(&app, &owner, &room, json!({ "body": "one" })).await;
    let frame = loop {
        let frame = next_frame(&mut stream).await;
        if chat_event(&frame).is_some() {
            break frame;
        }
    };
    assert_eq!(chat_event(&frame).unwrap().1["id"], first["id"]);
    let last_id = guild_tests::sse::frame_id(&frame).expect("an id");
    drop(stream);

    // Disconnected: two more messages, one edited.
    let second = say(&app, &owner, &room, json!({ "body": "two" })).await;
    let third = say(&app, &owner, &room, json!({ "body": "three" })).await;
    let edited = app
        .patch(
            &format!("/v1/chat/rooms/{room}/messages/{}", id(&third)),
            &owner,
            json!({ "body": "three, edited" }),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);

    let mut resumed = open_stream(&raw, &bob, Some(&last_id.to_string())).await;
    let got = [
        next_chat(&mut resumed).await,
        next_chat(&mut resumed).await,
        next_chat(&mut resumed).await,
    ];
    assert_eq!(got[0].0, "chat.message_created");
    assert_eq!(got[0].1["id"], second["id"]);
    assert_eq!(got[1].0, "chat.message_created");
    assert_eq!(got[1].1["id"], third["id"]);
    assert_eq!(got[2].0, "chat.message_updated");
    assert_eq!(got[2].1["body"], "three, edited");
    no_chat_within(&mut resumed).await;
}

#[actix_web::test]
async fn two_hundred_concurrent_sends_are_all_stored_and_reach_every_subscriber_in_one_order() {
    let app = app_sending(1000).await;
    let owner = app.owner("acme").await;
    let mut members = Vec::new();
    for name in ["ann", "bob", "cid", "dan"] {
        members.push(
            app.member(&owner, &format!("{name}@acme.example.com"), "EMPLOYEE")
                .await,
        );
    }
    let room = tenant_room(&app, &owner).await;
    for m in &members {
        tenant_room(&app, m).await;
    }
    // Five JOINs came first (1 to 5), before anyone subscribed.
    let raw = instance(app.state.clone()).await;
    // Three subscribers: two members and the owner.
    let mut streams = Vec::new();
    for token in [&members[0], &members[1], &owner] {
        streams.push(open_stream(&raw, token, None).await);
    }

    let sends = (0..200).map(|i| {
        let token = &members[i % members.len()];
        app.post(
            &format!("/v1/chat/rooms/{room}/messages"),
            token,
            json!({ "body": format!("message {i}") }),
        )
        .into_future()
    });
    let replies = futures_util::future::join_all(sends).await;
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let stored = count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM chat_messages WHERE room_id = '{room}' \
             AND kind = 'MESSAGE' AND seq BETWEEN 6 AND 205"
        ),
    )
    .await;
    assert_eq!(stored, 200);

    let mut orders = Vec::new();
    for stream in &mut streams {
        let mut order = Vec::new();
        while order.len() < 200 {
            let (kind, data) = next_chat(stream).await;
            assert_eq!(kind, "chat.message_created");
            order.push((data["seq"].as_i64().unwrap(), id(&data)));
        }
        no_chat_within(stream).await;
        orders.push(order);
    }
    let seqs: Vec<i64> = orders[0].iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (6..=205).collect::<Vec<_>>(), "in the room's order");
    assert_eq!(orders[0], orders[1]);
    assert_eq!(orders[0], orders[2]);
    let history = app
        .get(&format!("/v1/chat/rooms/{room}/messages?limit=200"), &owner)
        .await;
    let ids: Vec<String> = history.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "MESSAGE")
        .map(id)
        .collect();
    assert_eq!(
        ids,
        orders[0]
            .iter()
            .map(|(_, id)| id.clone())
            .collect::<Vec<_>>()
    );
}

/// Asks a question in a module room as Ann, and has Bob answer it; answers (room, question,
/// answer) and the tokens.
struct Qa {
    app: TestApp,
    owner: String,
    ann: String,
    bob: String,
    mia: String,
    room: String,
    answer: String,
    bob_id: String,
}

async fn question_and_answer() -> Qa {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let mia = app.member(&owner, "mia@acme.example.com", "EMPLOYEE").await;
    let (module, _) = app.published_module(&owner, "Forklift safety").await;
    app.make_mentor(&owner, &module, &mia).await;
    let room = id(&open(&app, &ann, json!({ "kind": "MODULE", "module_id": module })).await);
    let mentor_view = open(&app, &mia, json!({ "kind": "MODULE", "module_id": module })).await;
    assert_eq!(mentor_view["mentor"], true);
    assert_eq!(mentor_view["moderator"], true);
    let question = say(
        &app,
        &ann,
        &room,
        json!({ "body": "Max load on the lift?" }),
    )
    .await;
    let answer = say(
        &app,
        &bob,
        &room,
        json!({ "body": "1500 kg", "reply_to": id(&question) }),
    )
    .await;
    let bob_id = app.me_id(&bob).await;
    Qa {
        app,
        owner,
        ann,
        bob,
        mia,
        room,
        answer: id(&answer),
        bob_id,
    }
}

#[actix_web::test]
async fn a_confirmed_answer_earns_its_author_xp_once_and_nobody_confirms_their_own() {
    let Qa {
        app,
        owner,
        ann,
        bob,
        mia,
        room,
        answer,
        bob_id,
    } = question_and_answer().await;
    let confirm = |token: &str, message: &str| {
        app.post(
            &format!("/v1/chat/rooms/{room}/messages/{message}/confirm"),
            token,
            json!({}),
        )
    };
    // Only the module's mentors confirm: not the asker, not an admin who does not mentor it.
    assert_problem(&confirm(&ann, &answer).await, 403, "forbidden");
    assert_problem(&confirm(&owner, &answer).await, 403, "forbidden");
    // Two confirmations racing: one records the pair and publishes the award.
    let (first, second) = futures_util::future::join(
        confirm(&mia, &answer).into_future(),
        confirm(&mia, &answer).into_future(),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(first.json["confirmed"], true);
    let events = "SELECT count(*) AS n FROM outbox_events WHERE kind = 'social.answer_confirmed'";
    assert_eq!(count(&app, events).await, 1);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM chat_confirmed_answers").await,
        1
    );
    // Everyone sees the flag, and one SYSTEM message, replying to the answer, says who confirmed
    // whose answer.
    let history = app
        .get(&format!("/v1/chat/rooms/{room}/messages"), &ann)
        .await;
    let data = history.json["data"].as_array().unwrap();
    let answered = data.iter().find(|m| m["id"] == answer.as_str()).unwrap();
    assert_eq!(answered["confirmed"], true, "{}", history.text);
    let notices: Vec<&Value> = data.iter().filter(|m| m["kind"] == "SYSTEM").collect();
    assert_eq!(notices.len(), 1, "{}", history.text);
    assert_eq!(
        notices[0]["body"],
        "mia@acme.example.com confirmed bob@acme.example.com's answer"
    );
    assert_eq!(notices[0]["reply_to"], answer.as_str());
    assert!(notices[0]["author_id"].is_null());
    assert_eq!(data.last().unwrap()["kind"], "SYSTEM", "written last");

    app.run_worker().await;
    let awards = format!(
        "SELECT count(*) AS n FROM xp_transactions WHERE user_id = '{bob_id}' \
         AND source = 'MENTOR_CONFIRMATION' AND source_entity_id = '{answer}'"
    );
    assert_eq!(count(&app, &awards).await, 1);
    let xp = app.get("/v1/me/xp", &bob).await;
    assert_eq!(xp.json["total_xp"], 25, "{}", xp.text);
    // The event delivered again awards nothing more.
    execute(
        &app,
        "INSERT INTO outbox_events (id, tenant_id, kind, payload) \
         SELECT gen_random_uuid(), tenant_id, kind, payload FROM outbox_events \
         WHERE kind = 'social.answer_confirmed'",
    )
    .await;
    app.run_worker().await;
    assert_eq!(count(&app, &awards).await, 1);

    // A mentor's own reply is never confirmed by themselves.
    let question = app
        .get(&format!("/v1/chat/rooms/{room}/messages"), &ann)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "MESSAGE")
        .map(id)
        .unwrap();
    let own = say(
        &app,
        &mia,
        &room,
        json!({ "body": "and keep it level", "reply_to": question }),
    )
    .await;
    assert_problem(&confirm(&mia, &id(&own)).await, 403, "forbidden");
    // A message that replies to nothing is no answer.
    let loose = say(&app, &bob, &room, json!({ "body": "hello" })).await;
    assert_problem(&confirm(&mia, &id(&loose)).await, 422, "validation_failed");
    assert_eq!(count(&app, events).await, 2, "the copy only");
}

#[actix_web::test]
async fn a_confirmed_answer_answers_later_questions_until_one_of_its_messages_is_deleted() {
    let Qa {
        app,
        ann,
        mia,
        room,
        answer,
        ..
    } = question_and_answer().await;
    // The chat answers among a question's citations, as (title, excerpt).
    let chat_citations = async |body: &str| -> Vec<(String, String)> {
        let asked = app
            .post("/v1/questions", &ann, json!({ "body": body }))
            .await;
        assert_eq!(asked.status, 201, "{}", asked.text);
        asked.json["citations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|c| c["kind"] == "CHAT_ANSWER")
            .map(|c| {
                let text = |key: &str| c[key].as_str().unwrap_or_default().to_owned();
                (text("title"), text("excerpt"))
            })
            .collect()
    };
    let question = "What is the max load of the lift?";
    assert_eq!(chat_citations(question).await, []);
    let confirmed = app
        .post(
            &format!("/v1/chat/rooms/{room}/messages/{answer}/confirm"),
            &mia,
            json!({}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    assert_eq!(
        chat_citations(question).await,
        [("Max load on the lift?".to_owned(), "1500 kg".to_owned())]
    );
    // A deleted answer answers nothing any more.
    let deleted = app
        .delete(&format!("/v1/chat/rooms/{room}/messages/{answer}"), &mia)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(chat_citations(question).await, []);
}

#[actix_web::test]
async fn edit_history_is_for_moderators_and_moderators_delete_anyones_message() {
    let Qa {
        app,
        owner,
        ann,
        bob,
        mia,
        room,
        answer,
        ..
    } = question_and_answer().await;
    let uri = format!("/v1/chat/rooms/{room}/messages/{answer}");
    for text in ["1500 kg, I think", "1500 kg"] {
        let edited = app.patch(&uri, &bob, json!({ "body": text })).await;
        assert_eq!(edited.status, 200, "{}", edited.text);
        assert!(edited.json["edited_at"].is_string());
    }
    // Only the author edits.
    let theirs = app.patch(&uri, &ann, json!({ "body": "2000 kg" })).await;
    assert_problem(&theirs, 403, "forbidden");
    // The history: moderators (the module's mentor, ADMIN and above), not the author or others.
    let edits = format!("{uri}/edits");
    assert_problem(&app.get(&edits, &bob).await, 403, "forbidden");
    assert_problem(&app.get(&edits, &ann).await, 403, "forbidden");
    for token in [&mia, &owner] {
        let history = app.get(&edits, token).await;
        assert_eq!(history.status, 200, "{}", history.text);
        let texts: Vec<&str> = history.json["edits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["body"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["1500 kg", "1500 kg, I think"]);
        assert_eq!(history.json["message"]["body"], "1500 kg");
    }

    // Ann cannot delete Bob's message; the mentor can: a tombstone stays.
    assert_problem(&app.delete(&uri, &ann).await, 403, "forbidden");
    let deleted = app.delete(&uri, &mia).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let history = app
        .get(&format!("/v1/chat/rooms/{room}/messages"), &ann)
        .await;
    let tomb = history.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == answer.as_str())
        .unwrap();
    assert_eq!(tomb["body"], "");
    assert!(tomb["deleted_at"].is_string());
    // Deleting again changes nothing; a deleted message is not edited.
    assert_eq!(app.delete(&uri, &mia).await.status, 204);
    let edited = app.patch(&uri, &bob, json!({ "body": "back" })).await;
    assert_problem(&edited, 422, "validation_failed");
    // Moderators still read what it said.
    let history = app.get(&edits, &owner).await;
    assert_eq!(history.json["message"]["body"], "1500 kg");
    // The author deletes their own.
    let own = say(&app, &ann, &room, json!({ "body": "oops" })).await;
    let own_uri = format!("/v1/chat/rooms/{room}/messages/{}", id(&own));
    assert_eq!(app.delete(&own_uri, &ann).await.status, 204);
}

#[actix_web::test]
async fn read_markers_give_unread_counts_for_every_room_in_one_request() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cid = app.member(&owner, "cid@acme.example.com", "EMPLOYEE").await;
    let bob_id = app.me_id(&bob).await;
    let room = tenant_room(&app, &ann).await;
    tenant_room(&app, &bob).await;
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(id(&say(&app, &ann, &room, json!({ "body": text })).await));
    }
    // A direct conversation Ann opened reaches Bob without his opening it.
    let direct = id(&open(&app, &ann, json!({ "kind": "DIRECT", "member_id": bob_id })).await);
    say(&app, &ann, &direct, json!({ "body": "psst" })).await;
    let again = open(
        &app,
        &bob,
        json!({ "kind": "DIRECT", "member_id": app.me_id(&ann).await }),
    )
    .await;
    assert_eq!(id(&again), direct, "one conversation per pair");
    assert_problem(
        &app.get(&format!("/v1/chat/rooms/{direct}/messages"), &cid)
            .await,
        404,
        "room_not_found",
    );
    let myself = app
        .post(
            "/v1/chat/rooms",
            &bob,
            json!({ "kind": "DIRECT", "member_id": bob_id }),
        )
        .await;
    assert_problem(&myself, 422, "validation_failed");

    let unread = |list: &Value, room: &str| {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == room)
            .map(|r| r["unread"].as_i64().unwrap())
    };
    let list = app.get("/v1/chat/rooms", &bob).await.json;
    assert_eq!(unread(&list, &room), Some(3), "{list}");
    assert_eq!(unread(&list, &direct), Some(1), "{list}");
    let list = app.get("/v1/chat/rooms", &ann).await.json;
    assert_eq!(unread(&list, &room), Some(0), "her own messages are read");

    let raw = instance(app.state.clone()).await;
    let mut other_device = open_stream(&raw, &bob, None).await;
    let read = format!("/v1/chat/rooms/{room}/read");
    let marked = app.put(&read, &bob, json!({ "message_id": sent[1] })).await;
    assert_eq!(marked.status, 200, "{}", marked.text);
    // The second of three messages after Ann's and Bob's JOINs.
    assert_eq!(marked.json["last_read_seq"], 4);
    let (kind, data) = next_chat(&mut other_device).await;
    assert_eq!(kind, "chat.read_marker");
    assert_eq!(data["last_read_seq"], 4);
    // It never moves back.
    let back = app.put(&read, &bob, json!({ "message_id": sent[0] })).await;
    assert_eq!(back.json["last_read_seq"], 4);
    no_chat_within(&mut other_device).await;
    let list = app.get("/v1/chat/rooms", &bob).await.json;
    assert_eq!(unread(&list, &room), Some(1));
    let elsewhere = app.put(&read, &bob, json!({ "message_id": direct })).await;
    assert_problem(&elsewhere, 422, "validation_failed");
}

#[actix_web::test]
async fn history_pages_both_ways_and_search_finds_words_in_one_room() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let room = tenant_room(&app, &owner).await;
    let mut ids = Vec::new();
    for text in [
        "forklift keys are in the office",
        "lunch at noon",
        "the forklift battery is low",
        "meeting moved",
        "new helmets arrived",
    ] {
        ids.push(id(&say(&app, &owner, &room, json!({ "body": text })).await));
    }
    let page = |query: String| {
        let uri = format!("/v1/chat/rooms/{room}/messages?{query}");
        let app = &app;
        let owner = owner.clone();
        async move {
            let reply = app.get(&uri, &owner).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            let got: Vec<String> = reply.json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(id)
                .collect();
            (got, reply.json["has_more"].as_bool().unwrap())
        }
    };
    assert_eq!(page("limit=2".into()).await, (ids[3..].to_vec(), true));
    assert_eq!(
        page(format!("limit=2&before={}", ids[3])).await,
        (ids[1..3].to_vec(), true)
    );
    // The owner's JOIN lies before the first message.
    assert_eq!(
        page(format!("limit=1&before={}", ids[1])).await,
        (ids[..1].to_vec(), true)
    );
    let (first, more) = page(format!("limit=2&before={}", ids[0])).await;
    assert_eq!((first.len(), more), (1, false));
    assert_eq!(
        page(format!("limit=3&after={}", ids[0])).await,
        (ids[1..4].to_vec(), true)
    );
    assert_eq!(
        page(format!("limit=3&after={}", ids[2])).await,
        (ids[3..].to_vec(), false)
    );
    let both = app
        .get(
            &format!(
                "/v1/chat/rooms/{room}/messages?before={}&after={}",
                ids[1], ids[0]
            ),
            &owner,
        )
        .await;
    assert_problem(&both, 422, "validation_failed");

    let search = |q: &str| app.get(&format!("/v1/chat/rooms/{room}/search?q={q}"), &owner);
    let found = search("forklift").await;
    assert_eq!(found.status, 200, "{}", found.text);
    let found: Vec<String> = found.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(found, [ids[2].clone(), ids[0].clone()], "newest first");
    let deleted = app
        .delete(
            &format!("/v1/chat/rooms/{room}/messages/{}", ids[2]),
            &owner,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let found = search("forklift").await;
    assert_eq!(
        found.json["data"].as_array().unwrap().len(),
        1,
        "{}",
        found.text
    );
    // Another room's messages are not searched.
    let other = app.owner("globex").await;
    let theirs = tenant_room(&app, &other).await;
    say(&app, &other, &theirs, json!({ "body": "forklift" })).await;
    let found = search("forklift").await;
    assert_eq!(
        found.json["data"].as_array().unwrap().len(),
        1,
        "{}",
        found.text
    );
}

#[actix_web::test]
async fn a_mention_notifies_members_who_may_read_the_room_and_no_one_else() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (ann_id, bob_id) = (app.me_id(&ann).await, app.me_id(&bob).await);
    let module = group_module(&app, &owner, &[&ann_id]).await;
    let room = id(&open(&app, &ann, json!({ "kind": "MODULE", "module_id": module })).await);

    let message = say(
        &app,
        &ann,
        &room,
        json!({ "body": format!("@{bob_id} and @owner@acme.example.com, see this") }),
    )
    .await;
    let owner_id = app.me_id(&owner).await;
    assert_eq!(
        message["mentions"].as_array().unwrap().len(),
        2,
        "{message}"
    );
    let mentions = |user: &str| {
        format!(
            "SELECT count(*) AS n FROM notifications WHERE user_id = '{user}' \
             AND kind = 'CHAT_MENTION' AND entity_kind = 'CHAT_ROOM' AND entity_id = '{room}'"
        )
    };
    assert_eq!(count(&app, &mentions(&owner_id)).await, 1);
    // Bob may not read the module's room: he hears nothing of it.
    assert_eq!(count(&app, &mentions(&bob_id)).await, 0);
    let inbox = app.get("/v1/me/notifications", &owner).await;
    assert!(inbox.text.contains("CHAT_MENTION"), "{}", inbox.text);
}

#[actix_web::test]
async fn sending_too_fast_answers_429_with_the_limit_headers() {
    let app = app_sending(3).await;
    let owner = app.owner("acme").await;
    let room = tenant_room(&app, &owner).await;
    let uri = format!("/v1/chat/rooms/{room}/messages");
    for left in ["2", "1", "0"] {
        let sent = app.post(&uri, &owner, json!({ "body": "hi" })).await;
        assert_eq!(sent.status, 201, "{}", sent.text);
        assert_eq!(sent.header("ratelimit-limit"), Some("3"));
        assert_eq!(sent.header("ratelimit-remaining"), Some(left));
    }
    let refused = app.post(&uri, &owner, json!({ "body": "hi" })).await;
    assert_problem(&refused, 429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    assert_eq!(refused.header("ratelimit-limit"), Some("3"));
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM chat_messages WHERE kind = 'MESSAGE'"
        )
        .await,
        3
    );
    // And the JOIN of the owner's first opening.
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM chat_messages").await,
        4
    );
}

#[actix_web::test]
async fn limits_hold_on_text_attachments_and_new_direct_conversations() {
    let app = app_sending(100).await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let room = tenant_room(&app, &owner).await;
    let uri = format!("/v1/chat/rooms/{room}/messages");
    let long = app
        .post(&uri, &ann, json!({ "body": "x".repeat(4001) }))
        .await;
    assert_problem(&long, 422, "validation_failed");
    let blank = app.post(&uri, &ann, json!({ "body": "   " })).await;
    assert_problem(&blank, 422, "validation_failed");
    let many: Vec<String> = (0..6).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let attached = app
        .post(&uri, &ann, json!({ "body": "files", "attachments": many }))
        .await;
    assert_problem(&attached, 422, "validation_failed");
    // An asset Ann may not download is not hers to attach.
    let pdf =
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF\n";
    let asset = app
        .upload("/v1/media", &owner, "notes.pdf", pdf, Some("Notes"))
        .await;
    assert_eq!(asset.status, 201, "{}", asset.text);
    let asset = id(&asset.json);
    let theirs = app
        .post(
            &uri,
            &ann,
            json!({ "body": "look", "attachments": [asset] }),
        )
        .await;
    assert_problem(&theirs, 422, "validation_failed");
    let own = say(
        &app,
        &owner,
        &room,
        json!({ "body": "look", "attachments": [asset] }),
    )
    .await;
    assert_eq!(own["attachments"][0], asset.as_str());
    let unknown = app
        .post(&uri, &ann, json!({ "body": "hi", "tenant_id": asset }))
        .await;
    assert_problem(&unknown, 422, "validation_failed");

    // At most 30 new direct conversations a day.
    let tenant = app.get("/v1/me", &owner).await.json["active_tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.bulk_members(&tenant, "acme", None, 31).await;
    let ids: Vec<String> = {
        let members = app.get("/v1/members?limit=200", &owner).await;
        members.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["email"].as_str().is_some_and(|e| e.starts_with("bulk")))
            .map(|m| m["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids.len(), 31);
    for member in &ids[..30] {
        open(&app, &ann, json!({ "kind": "DIRECT", "member_id": member })).await;
    }
    let over = app
        .post(
            "/v1/chat/rooms",
            &ann,
            json!({ "kind": "DIRECT", "member_id": ids[30] }),
        )
        .await;
    assert_problem(&over, 422, "validation_failed");
    assert!(
        over.text.contains("direct_room_limit_reached"),
        "{}",
        over.text
    );
}

#[actix_web::test]
async fn an_api_key_without_act_as_member_is_refused() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let room = tenant_room(&app, &owner).await;
    let (_, key) = app
        .api_key(
            &owner,
            json!({ "name": "Reports", "permissions": ["VIEW_AUDIT_LOG"] }),
        )
        .await;
    assert_problem(
        &app.get("/v1/chat/rooms", &key).await,
        403,
        "api_key_not_permitted",
    );
    let sent = app
        .post(
            &format!("/v1/chat/rooms/{room}/messages"),
            &key,
            json!({ "body": "from a script" }),
        )
        .await;
    assert_problem(&sent, 403, "api_key_not_permitted");
    // With act_as_member, it speaks as its creator.
    let (_, member_key) = app
        .api_key(
            &owner,
            json!({ "name": "Bot", "permissions": ["VIEW_AUDIT_LOG"], "act_as_member": true }),
        )
        .await;
    let sent = say(&app, &member_key, &room, json!({ "body": "from a script" })).await;
    assert_eq!(sent["author_id"], app.me_id(&owner).await.as_str());
}

#[actix_web::test]
async fn reactions_on_messages_count_once_reach_the_room_and_stay_within_it() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (ann_id, bob_id) = (app.me_id(&ann).await, app.me_id(&bob).await);
    let module = group_module(&app, &owner, &[&ann_id]).await;
    let room = id(&open(&app, &ann, json!({ "kind": "MODULE", "module_id": module })).await);
    let message = id(&say(&app, &ann, &room, json!({ "body": "Checklist is up" })).await);
    let owner_room = id(&open(
        &app,
        &owner,
        json!({ "kind": "MODULE", "module_id": module }),
    )
    .await);
    assert_eq!(owner_room, room);
    let uri = |emoji: &str| format!("/v1/chat/rooms/{room}/messages/{message}/reactions/{emoji}");

    // Twice the same emoji by one member counts once.
    for _ in 0..2 {
        let reacted = app.put(&uri("thumbs_up"), &owner, json!({})).await;
        assert_eq!(reacted.status, 200, "{}", reacted.text);
        assert_eq!(
            reacted.json["reactions"],
            json!([{ "emoji": "thumbs_up", "char": "\u{1F44D}", "count": 1, "mine": true }])
        );
    }
    app.put(&uri("thumbs_up"), &ann, json!({})).await;
    // History and search carry the counts, with the reader's own.
    let history = app
        .get(&format!("/v1/chat/rooms/{room}/messages"), &ann)
        .await;
    // After Ann's JOIN.
    assert_eq!(history.json["data"][1]["id"], message.as_str());
    assert_eq!(
        history.json["data"][1]["reactions"],
        json!([{ "emoji": "thumbs_up", "char": "\u{1F44D}", "count": 2, "mine": true }]),
        "{}",
        history.text
    );
    let found = app
        .get(&format!("/v1/chat/rooms/{room}/search?q=checklist"), &owner)
        .await;
    assert_eq!(
        found.json["data"][0]["reactions"][0]["count"], 2,
        "{}",
        found.text
    );
    let removed = app.delete(&uri("thumbs_up"), &ann).await;
    assert_eq!(removed.json["reactions"][0]["count"], 1, "{}", removed.text);
    assert_problem(
        &app.put(&uri("poop"), &ann, json!({})).await,
        422,
        "validation_failed",
    );

    // Bob, who does not see the module, and another tenant cannot react; nor under another room.
    assert_problem(
        &app.put(&uri("heart"), &bob, json!({})).await,
        404,
        "message_not_found",
    );
    let other = app.owner("globex").await;
    assert_problem(
        &app.put(&uri("heart"), &other, json!({})).await,
        404,
        "message_not_found",
    );
    let lobby = tenant_room(&app, &ann).await;
    let wrong_room = app
        .put(
            &format!("/v1/chat/rooms/{lobby}/messages/{message}/reactions/heart"),
            &ann,
            json!({}),
        )
        .await;
    assert_problem(&wrong_room, 404, "message_not_found");

    // The room's readers heard of each change on their streams; Bob heard nothing.
    app.run_worker().await;
    assert!(stream_events_of(&app, &ann_id, "reaction.changed").await >= 3);
    assert_eq!(stream_events_of(&app, &bob_id, "reaction.changed").await, 0);

    // A deleted message takes no more reactions.
    let deleted = app
        .delete(&format!("/v1/chat/rooms/{room}/messages/{message}"), &ann)
        .await;
    assert!((200..300).contains(&deleted.status), "{}", deleted.text);
    assert_problem(
        &app.put(&uri("heart"), &owner, json!({})).await,
        404,
        "message_not_found",
    );
}

#[actix_web::test]
async fn the_server_writes_one_join_per_member_and_room_and_members_cannot_send_its_kinds() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let (ann_id, bob_id) = (app.me_id(&ann).await, app.me_id(&bob).await);
    let room = tenant_room(&app, &owner).await;
    let raw = instance(app.state.clone()).await;
    let mut owner_stream = open_stream(&raw, &owner, None).await;

    // Ann's first opening writes her JOIN (her name), pushed to whoever joined; opening again
    // writes nothing.
    let opened = open(&app, &ann, json!({ "kind": "TENANT" })).await;
    assert_eq!(opened["last_seq"], 2);
    let (kind, join) = next_chat(&mut owner_stream).await;
    assert_eq!(kind, "chat.message_created");
    assert_eq!(join["kind"], "JOIN");
    assert_eq!(join["body"], "ann@acme.example.com");
    assert_eq!(join["author_id"], ann_id.as_str());
    assert_eq!(join["seq"], 2);
    tenant_room(&app, &ann).await;
    no_chat_within(&mut owner_stream).await;
    // Bob joins by sending, without opening: his JOIN comes just before his message.
    let sent = say(&app, &bob, &room, json!({ "body": "hello" })).await;
    assert_eq!(sent["seq"], 4);
    let (_, join) = next_chat(&mut owner_stream).await;
    assert_eq!(
        (join["kind"].as_str(), join["seq"].as_i64()),
        (Some("JOIN"), Some(3))
    );
    assert_eq!(join["author_id"], bob_id.as_str());
    let (_, message) = next_chat(&mut owner_stream).await;
    assert_eq!(message["id"], sent["id"]);
    say(&app, &bob, &room, json!({ "body": "again" })).await;
    let joins = format!(
        "SELECT count(*) AS n FROM chat_messages WHERE room_id = '{room}' AND kind = 'JOIN'"
    );
    assert_eq!(
        count(&app, &joins).await,
        3,
        "the owner, Ann and Bob, once each"
    );
    // A JOIN is nobody's unread message.
    let list = app.get("/v1/chat/rooms", &ann).await.json;
    assert_eq!(list["data"][0]["unread"], 2, "{list}");

    // A direct conversation has no JOIN.
    let direct = id(&open(&app, &ann, json!({ "kind": "DIRECT", "member_id": bob_id })).await);
    say(&app, &bob, &direct, json!({ "body": "psst" })).await;
    let history = app
        .get(&format!("/v1/chat/rooms/{direct}/messages"), &ann)
        .await;
    let kinds: Vec<&Value> = history.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["kind"])
        .collect();
    assert_eq!(kinds, [&json!("MESSAGE")], "{}", history.text);

    // Members send MESSAGE or ACTION only, and do not edit what Guild wrote.
    let uri = format!("/v1/chat/rooms/{room}/messages");
    for kind in ["JOIN", "SYSTEM"] {
        let refused = app
            .post(&uri, &ann, json!({ "body": "hi", "kind": kind }))
            .await;
        assert_problem(&refused, 422, "validation_failed");
        assert!(refused.text.contains("not_allowed"), "{}", refused.text);
    }
    let action = say(
        &app,
        &ann,
        &room,
        json!({ "body": "waves", "kind": "ACTION" }),
    )
    .await;
    assert_eq!(action["kind"], "ACTION");
    let ann_join = app.get(&uri, &ann).await.json["data"][1].clone();
    assert_eq!(ann_join["kind"], "JOIN");
    let edited = app
        .patch(
            &format!("{uri}/{}", id(&ann_join)),
            &ann,
            json!({ "body": "someone else" }),
        )
        .await;
    assert_problem(&edited, 422, "validation_failed");
}

#[actix_web::test]
async fn an_edit_that_adds_a_mention_notifies_the_newly_mentioned_once() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let ann = app.member(&owner, "ann@acme.example.com", "EMPLOYEE").await;
    let bob = app.member(&owner, "bob@acme.example.com", "EMPLOYEE").await;
    let cid = app.member(&owner, "cid@acme.example.com", "EMPLOYEE").await;
    let (ann_id, bob_id, cid_id) = (
        app.me_id(&ann).await,
        app.me_id(&bob).await,
        app.me_id(&cid).await,
    );
    // Cid does not see the module: never notified of its room.
    let module = group_module(&app, &owner, &[&ann_id, &bob_id]).await;
    let room = id(&open(&app, &ann, json!({ "kind": "MODULE", "module_id": module })).await);
    let message = say(&app, &ann, &room, json!({ "body": "see section 2" })).await;
    let uri = format!("/v1/chat/rooms/{room}/messages/{}", id(&message));
    let mentions = |user: &str| {
        format!(
            "SELECT count(*) AS n FROM notifications WHERE user_id = '{user}' \
             AND kind = 'CHAT_MENTION' AND entity_id = '{room}'"
        )
    };
    let raw = instance(app.state.clone()).await;
    let mut bob_stream = open_stream(&raw, &bob, None).await;

    let edited = app
        .patch(
            &uri,
            &ann,
            json!({ "body": format!("@{bob_id} @{ann_id} @{cid_id} see section 2") }),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(count(&app, &mentions(&bob_id)).await, 1);
    assert_eq!(count(&app, &mentions(&ann_id)).await, 0, "never the author");
    assert_eq!(
        count(&app, &mentions(&cid_id)).await,
        0,
        "only who may read the room"
    );
    let notified = loop {
        let frame = next_frame(&mut bob_stream).await;
        if frame.contains("event: notification") {
            break frame;
        }
    };
    assert!(notified.contains("CHAT_MENTION"), "{notified}");
    // Edited again, mentioned again, or mentioned after being dropped: still once.
    for body in [
        format!("@{bob_id} see section 3"),
        "see section 3".to_owned(),
        format!("@{bob_id} see section 4"),
    ] {
        let edited = app.patch(&uri, &ann, json!({ "body": body })).await;
        assert_eq!(edited.status, 200, "{}", edited.text);
    }
    assert_eq!(count(&app, &mentions(&bob_id)).await, 1);
    // A sent message that mentions is not notified again when its edit keeps the mention.
    let sent = say(
        &app,
        &ann,
        &room,
        json!({ "body": format!("@{bob_id} hi") }),
    )
    .await;
    assert_eq!(count(&app, &mentions(&bob_id)).await, 2);
    let edited = app
        .patch(
            &format!("/v1/chat/rooms/{room}/messages/{}", id(&sent)),
            &ann,
            json!({ "body": format!("@{bob_id} hello") }),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(count(&app, &mentions(&bob_id)).await, 2);
}
