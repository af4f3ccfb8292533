//! SCIM 2.0 provisioning at `/scim/v2`: an HR system driving the real server with the
//! `scim2-client` library from PyPI (tests/peers/scim_flows.py) creates members and groups, sets
//! managers, deactivates and deletes, and what it did is checked through the API (the manager's
//! subtree, a refused sign-in, group membership); filters and pages; the SCIM token (a
//! PROVISION_SCIM key, alone, accepted nowhere else); tenant isolation; errors in SCIM's format.

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use guild_api::build_app_with;
use guild_tests::{TestApp, access, assert_problem, id};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The app listening on a loopback port (its public URL set to it); returns the SCIM base URL.
fn serve(app: &TestApp) -> (String, ServerHandle) {
    let mut state = app.state.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    state.public_url = format!("http://{addr}");
    let server = HttpServer::new(move || build_app_with(state.clone(), Box::new(|_| {})))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://{addr}/scim/v2"), handle)
}

/// Runs a phase of the SCIM peer; returns its JSON.
async fn peer(base: &str, token: &str, args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/scim_flows.py");
    let mut all = vec![base.to_owned(), token.to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args(all)
            .output()
    })
    .await
    .expect("the peer's thread")
    .expect("python3 runs (make test installs scim2-client)");
    assert!(
        out.status.success(),
        "the SCIM client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the peer's JSON")
}

/// A SCIM token of `owner`'s tenant.
async fn scim_key(app: &TestApp, owner: &str) -> String {
    app.api_key(
        owner,
        json!({ "name": "HR system", "permissions": ["PROVISION_SCIM"] }),
    )
    .await
    .1
}

/// Accepts the invitation mailed to `email`; returns the new member's access token.
async fn accept(app: &TestApp, email: &str) -> String {
    app.run_worker().await;
    let token = app.token_mailed_to(email);
    let body = json!({ "token": token, "password": "member password 1" });
    let accepted = app.post_anonymous("/v1/auth/accept-invite", body).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    access(&accepted.json)
}

/// Percent-encodes a query parameter's value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn an_hr_system_provisions_members_managers_groups_and_leavers_with_a_scim_client() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let key = scim_key(&app, &owner).await;
    let (base, server) = serve(&app);

    // Hire: a manager, an employee reporting to them, a newcomer, a group.
    let hired = peer(&base, &key, &["hire"]).await;
    assert_eq!(hired["bulk_supported"], false);
    assert_eq!(hired["filter_max_results"], 200);
    let (boss, ann, cy, group) = (
        s(&hired["boss"]["id"]),
        s(&hired["ann"]["id"]),
        s(&hired["newcomer"]["id"]),
        s(&hired["group"]["id"]),
    );
    assert_eq!(hired["ann"]["userName"], "ann@acme.example.com");
    assert_eq!(hired["ann"]["displayName"], "Ann Lee");
    assert_eq!(hired["ann"]["externalId"], "hr-ann");
    assert_eq!(hired["ann"]["active"], true);
    assert_eq!(hired["ann"][ENTERPRISE]["manager"]["value"], boss.as_str());
    assert_eq!(hired["group"]["members"][0]["value"], boss.as_str());
    assert_eq!(hired["found"], json!([ann]));
    assert_eq!(hired["found_total"], 1);
    assert_eq!(hired["by_external"], json!([boss]));
    assert_eq!(hired["duplicate"]["status"], 409);
    assert_eq!(hired["duplicate"]["scim_type"], "uniqueness");

    // As an admin's invitations: each member is INVITED and mailed, and joins by accepting.
    let member = app.get(&format!("/v1/members/{ann}"), &owner).await;
    assert_eq!(member.json["status"], "INVITED");
    assert_eq!(member.json["manager_id"], boss.as_str());
    let boss_token = accept(&app, "boss@acme.example.com").await;
    let ann_token = accept(&app, "ann@acme.example.com").await;
    assert_eq!(app.get("/v1/groups", &ann_token).await.status, 200);
    accept(&app, "cy@acme.example.com").await;

    // Change: group membership, a new manager, a renamed group, a deactivation.
    let changed = peer(&base, &key, &["change", &ann, &boss, &group, &cy]).await;
    let members: Vec<String> = changed["group"]["members"]
        .as_array()
        .expect("present")
        .iter()
        .map(|m| s(&m["value"]))
        .collect();
    assert!(
        members.contains(&ann) && members.contains(&boss),
        "{members:?}"
    );
    assert_eq!(changed["renamed"]["displayName"], "Platform Engineering");
    assert_eq!(changed["ann"]["active"], false);
    assert_eq!(changed["ann"]["groups"][0]["value"], group.as_str());
    assert_eq!(
        changed["newcomer"][ENTERPRISE]["manager"]["value"],
        boss.as_str()
    );

    // The API agrees: the group, the manager's subtree, the deactivated member's sign-in.
    let in_group = app.get(&format!("/v1/members/{ann}"), &owner).await;
    assert_eq!(in_group.json["status"], "DEACTIVATED");
    assert_eq!(in_group.json["group_ids"], json!([group]));
    let renamed = app.get(&format!("/v1/groups/{group}"), &owner).await;
    assert_eq!(renamed.json["name"], "Platform Engineering");
    assert_eq!(renamed.json["member_count"], 2);
    app.grant(
        &owner,
        &boss,
        json!([{ "permission": "VIEW_MANAGER_DASHBOARD", "scope": { "manager_subtree": true } }]),
    )
    .await;
    let team = app.get("/v1/members?status=ACTIVE", &boss_token).await;
    assert_eq!(team.status, 200, "{}", team.text);
    let team: Vec<String> = team.json["data"]
        .as_array()
        .expect("present")
        .iter()
        .map(|m| s(&m["user_id"]))
        .collect();
    assert_eq!(
        team,
        vec![cy.clone()],
        "the active members below the manager"
    );
    let deactivated_team = app.get("/v1/members?status=DEACTIVATED", &boss_token).await;
    assert_eq!(deactivated_team.json["data"][0]["user_id"], ann.as_str());
    // Deactivated: their session is refused, and signing in again enters no tenant.
    assert_problem(
        &app.get("/v1/groups", &ann_token).await,
        403,
        "membership_inactive",
    );
    let login = json!({ "email": "ann@acme.example.com", "password": "member password 1" });
    let signed_in = app.post_anonymous("/v1/auth/login", login).await;
    assert_eq!(
        signed_in.json["tenant_id"],
        Value::Null,
        "{}",
        signed_in.text
    );

    // Leave: out of the group by a value path, the group and the newcomer deleted.
    let left = peer(&base, &key, &["leave", &group, &cy]).await;
    assert_eq!(
        left["members_after_removal"]
            .as_array()
            .expect("present")
            .len(),
        2
    );
    assert_eq!(left["errors"]["group"]["status"], 404);
    assert_eq!(left["errors"]["user"]["status"], 404);
    let removed = app.get(&format!("/v1/members/{cy}"), &owner).await;
    assert_eq!(removed.json["status"], "REMOVED");
    assert_eq!(
        app.get(&format!("/v1/groups/{group}"), &owner).await.status,
        404
    );

    // Every change is in the audit log, as the key's creator's.
    let audit = app.get("/v1/audit-log?limit=100", &owner).await;
    let actions: Vec<String> = audit.json["data"]
        .as_array()
        .expect("present")
        .iter()
        .map(|e| s(&e["action"]))
        .collect();
    for action in [
        "MEMBER_INVITED",
        "MEMBER_EXTERNAL_ID_CHANGED",
        "MEMBER_MANAGER_CHANGED",
        "MEMBER_DEACTIVATED",
        "MEMBER_REMOVED",
        "GROUP_CREATED",
        "GROUP_MEMBERS_ADDED",
        "GROUP_DELETED",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    server.stop(false).await;
}

async fn scim_post(app: &TestApp, key: &str, path: &str, body: Value) -> guild_tests::Reply {
    app.post(&format!("/scim/v2{path}"), key, body)
        .header("content-type", "application/scim+json")
        .await
}

/// The display names of the Users `filter` finds, sorted.
async fn find(app: &TestApp, key: &str, filter: &str) -> Vec<String> {
    let uri = format!("/scim/v2/Users?filter={}", encode(filter));
    let reply = app.get(&uri, key).await;
    assert_eq!(reply.status, 200, "{filter}: {}", reply.text);
    let mut names: Vec<String> = reply.json["Resources"]
        .as_array()
        .expect("present")
        .iter()
        .map(|u| s(&u["displayName"]))
        .collect();
    names.sort();
    names
}

#[actix_web::test]
async fn filters_and_pages_find_users_and_groups() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let key = scim_key(&app, &owner).await;
    let mut ids = Vec::new();
    for (i, name) in ["Ann Lee", "Annie Ray", "Bob Stone", "Bea Boss", "Cy Young"]
        .iter()
        .enumerate()
    {
        let local = name.split(' ').next().expect("present").to_lowercase();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("{local}@acme.example.com"),
            "displayName": name,
            "externalId": if i % 2 == 0 { Some(format!("hr-{i}")) } else { None },
        });
        let created = scim_post(&app, &key, "/Users", body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(
            created.header("content-type"),
            Some("application/scim+json")
        );
        ids.push(s(&created.json["id"]));
    }
    assert_eq!(
        find(&app, &key, r#"userName eq "ANN@acme.example.com""#).await,
        ["Ann Lee"]
    );
    assert_eq!(
        find(&app, &key, r#"displayName sw "ann""#).await,
        ["Ann Lee", "Annie Ray"]
    );
    assert_eq!(
        find(&app, &key, r#"emails co "b""#).await,
        ["Bea Boss", "Bob Stone"]
    );
    assert_eq!(
        find(&app, &key, "externalId pr").await,
        ["Ann Lee", "Bob Stone", "Cy Young"]
    );
    assert_eq!(
        find(
            &app,
            &key,
            r#"externalId pr and (displayName co "o" or userName sw "ann")"#
        )
        .await,
        ["Ann Lee", "Bob Stone", "Cy Young"]
    );
    assert_eq!(
        find(&app, &key, r#"externalId eq "HR-0""#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        find(&app, &key, r#"displayName sw "b" and displayName co "ss""#).await,
        ["Bea Boss"]
    );
    // A pattern's wildcards are matched as text.
    assert_eq!(
        find(&app, &key, r#"displayName co "%""#).await,
        Vec::<String>::new()
    );

    // Pages: startIndex is 1-based, count is capped at 200, totalResults counts them all.
    let owner_and_five = 6;
    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let page = app
            .get(&format!("/scim/v2/Users?startIndex={start}&count=2"), &key)
            .await;
        assert_eq!(page.json["totalResults"], owner_and_five);
        assert_eq!(page.json["startIndex"], start);
        assert_eq!(page.json["itemsPerPage"], 2);
        for u in page.json["Resources"].as_array().expect("present") {
            seen.push(s(&u["id"]));
        }
    }
    seen.dedup();
    assert_eq!(seen.len(), 6);
    for id in &ids {
        assert!(seen.contains(id));
    }
    let capped = app
        .get("/scim/v2/Users?count=100000&startIndex=0", &key)
        .await;
    assert_eq!(capped.json["itemsPerPage"], 6);
    assert_eq!(capped.json["startIndex"], 1);
    let none = app.get("/scim/v2/Users?count=0", &key).await;
    assert_eq!(none.json["totalResults"], 6);
    assert_eq!(none.json["Resources"], json!([]));

    // Groups by name and externalId.
    let group = scim_post(
        &app,
        &key,
        "/Groups",
        json!({ "displayName": "Ops", "externalId": "g-ops", "members": [{ "value": ids[0] }] }),
    )
    .await;
    assert_eq!(group.status, 201, "{}", group.text);
    scim_post(&app, &key, "/Groups", json!({ "displayName": "Sales" })).await;
    let ops = app
        .get("/scim/v2/Groups?filter=displayName%20eq%20%22ops%22%20or%20externalId%20eq%20%22g-ops%22", &key)
        .await;
    assert_eq!(ops.json["totalResults"], 1);
    assert_eq!(
        ops.json["Resources"][0]["members"][0]["value"],
        ids[0].as_str()
    );

    // What the service does not answer is an invalidFilter, in SCIM's format.
    for bad in [
        "title%20eq%20%22x%22",
        "userName%20gt%20%22a%22",
        "emails%5Btype%20eq%20%22work%22%5D",
    ] {
        let reply = app.get(&format!("/scim/v2/Users?filter={bad}"), &key).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(reply.header("content-type"), Some("application/scim+json"));
        assert_eq!(reply.json["schemas"], json!([ERROR]));
        assert_eq!(reply.json["status"], "400");
        assert_eq!(reply.json["scimType"], "invalidFilter");
    }
    let long = format!("userName%20eq%20%22{}%22", "a".repeat(1001));
    let reply = app
        .get(&format!("/scim/v2/Users?filter={long}"), &key)
        .await;
    assert_eq!(reply.json["scimType"], "invalidFilter");
}

#[actix_web::test]
async fn only_a_scim_key_reaches_scim_it_reaches_nothing_else_and_another_tenant_is_not_found() {
    let app = TestApp::new().await;
    let owner = app.owner("acme").await;
    let key = scim_key(&app, &owner).await;

    // A SCIM key holds PROVISION_SCIM alone and does not act as a member.
    let mixed = app
        .post(
            "/v1/api-keys",
            &owner,
            json!({ "name": "x", "permissions": ["PROVISION_SCIM", "MANAGE_USERS"] }),
        )
        .await;
    assert_problem(&mixed, 422, "validation_failed");
    assert_eq!(
        guild_tests::fields(&mixed),
        [("permissions".to_owned(), "scim_key_exclusive".to_owned())]
    );
    let member_key = app
        .post(
            "/v1/api-keys",
            &owner,
            json!({ "name": "x", "permissions": ["PROVISION_SCIM"], "act_as_member": true }),
        )
        .await;
    assert_problem(&member_key, 422, "validation_failed");
    // An HR member (no PROVISION_SCIM) cannot make one.
    let hr = app.member(&owner, "hr@acme.example.com", "HR").await;
    let by_hr = app
        .post(
            "/v1/api-keys",
            &hr,
            json!({ "name": "x", "permissions": ["PROVISION_SCIM"] }),
        )
        .await;
    assert_eq!(by_hr.status, 403, "{}", by_hr.text);

    // SCIM takes the SCIM key only: not a session, not another key, not nothing.
    let users_key = app
        .api_key(
            &owner,
            json!({ "name": "users", "permissions": ["MANAGE_USERS"] }),
        )
        .await
        .1;
    for (token, status) in [
        (owner.as_str(), 401),
        (users_key.as_str(), 403),
        ("gk_nope", 401),
    ] {
        let reply = app.get("/scim/v2/Users", token).await;
        assert_eq!(reply.status, status, "{}", reply.text);
        assert_eq!(reply.header("content-type"), Some("application/scim+json"));
        assert_eq!(reply.json["schemas"], json!([ERROR]));
    }
    let anonymous = app
        .send(app.request(actix_web::http::Method::GET, "/scim/v2/Users"))
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json["schemas"], json!([ERROR]));

    // The SCIM key reaches nothing under /v1.
    for uri in [
        "/v1/members",
        "/v1/groups",
        "/v1/me",
        "/v1/audit-log",
        "/v1/api-keys",
    ] {
        let reply = app.get(uri, &key).await;
        assert!(
            reply.status == 403 || reply.status == 401,
            "{uri}: {} {}",
            reply.status,
            reply.text
        );
    }
    let invite = app
        .post(
            "/v1/members",
            &key,
            json!({ "email": "x@acme.example.com", "name": "X", "role": "EMPLOYEE" }),
        )
        .await;
    assert_eq!(invite.status, 403, "{}", invite.text);

    // The members' rules hold: the tenant's one owner stays active.
    let owner_id = app.me_id(&owner).await;
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "active", "value": false }],
    });
    let on_owner = app
        .patch(&format!("/scim/v2/Users/{owner_id}"), &key, patch.clone())
        .await;
    assert_eq!(on_owner.status, 409, "{}", on_owner.text);
    assert_eq!(on_owner.json["schemas"], json!([ERROR]));

    // Another tenant's members and groups are not found, and its filters see none of ours.
    let other = app.owner("globex").await;
    let other_key = scim_key(&app, &other).await;
    let mine = scim_post(
        &app,
        &key,
        "/Users",
        json!({ "userName": "ann@acme.example.com" }),
    )
    .await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    let ann = id(&mine.json);
    let group = scim_post(&app, &key, "/Groups", json!({ "displayName": "Ops" })).await;
    let group = id(&group.json);
    for uri in [
        format!("/scim/v2/Users/{ann}"),
        format!("/scim/v2/Groups/{group}"),
    ] {
        let reply = app.get(&uri, &other_key).await;
        assert_eq!(reply.status, 404, "{}", reply.text);
        assert_eq!(reply.json["status"], "404");
        let deleted = app.delete(&uri, &other_key).await;
        assert_eq!(deleted.status, 404);
    }
    let patched = app
        .patch(&format!("/scim/v2/Users/{ann}"), &other_key, patch)
        .await;
    assert_eq!(patched.status, 404);
    let found = app
        .get(
            "/scim/v2/Users?filter=userName%20eq%20%22ann@acme.example.com%22",
            &other_key,
        )
        .await;
    assert_eq!(found.json["totalResults"], 0);
    // Our group cannot take their member, nor theirs ours.
    let theirs = scim_post(
        &app,
        &other_key,
        "/Users",
        json!({ "userName": "zed@globex.example.com" }),
    )
    .await;
    let add = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": id(&theirs.json) }] }],
    });
    let crossed = app
        .patch(&format!("/scim/v2/Groups/{group}"), &key, add)
        .await;
    assert_eq!(crossed.status, 400, "{}", crossed.text);
    assert_eq!(crossed.json["scimType"], "invalidValue");

    // Errors name their rule: an address cannot change, bad JSON, an unknown path.
    let rename = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "userName", "value": "other@acme.example.com" }],
    });
    let reply = app
        .patch(&format!("/scim/v2/Users/{ann}"), &key, rename)
        .await;
    assert_eq!(reply.json["scimType"], "mutability", "{}", reply.text);
    let reply = app
        .post("/scim/v2/Users", &key, json!(null))
        .payload("{not json")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json["scimType"], "invalidSyntax");
    let reply = app.get("/scim/v2/Nothing", &key).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json["schemas"], json!([ERROR]));
    // The discovery documents.
    let config = app.get("/scim/v2/ServiceProviderConfig", &key).await;
    assert_eq!(config.json["bulk"]["supported"], false);
    assert_eq!(config.json["patch"]["supported"], true);
    let types = app.get("/scim/v2/ResourceTypes", &key).await;
    assert_eq!(types.json["totalResults"], 2);
    let schemas = app.get("/scim/v2/Schemas", &key).await;
    assert_eq!(schemas.json["totalResults"], 3);
}
