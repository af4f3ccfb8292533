//! What HTTP tests keep making before they test something: tenants, members, modules, quizzes,
//! assignments, groups and grants, each made through the API as a client would and checked to
//! have been made.

use serde_json::{Value, json};

use crate::{Reply, Request, TestApp, access, execute};

/// The `id` of a JSON object (empty when it has none).
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// The `(field, code)` pairs of a validation problem's `errors`.
pub fn fields(reply: &Reply) -> Vec<(String, String)> {
    reply.json["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or_default().to_owned(),
                e["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Panics with the reply's body unless it has `status`.
fn expect(reply: Reply, status: u16) -> Reply {
    assert_eq!(reply.status, status, "{}", reply.text);
    reply
}

impl TestApp {
    /// Signs up a new tenant with slug `slug`; returns the sign-up reply's JSON.
    pub async fn sign_up(&self, slug: &str) -> Value {
        let body = json!({
            "tenant_name": format!("Company {slug}"),
            "slug": slug,
            "name": format!("Owner of {slug}"),
            "email": format!("owner@{slug}.example.com"),
            "password": "correct horse battery",
        });
        let reply = self.post_anonymous("/v1/auth/signup", body).await;
        expect(reply, 201).json
    }

    /// Creates the platform owner (`root@guild.example.com`, in no tenant) and signs them in;
    /// returns the sign-in reply.
    pub async fn platform_owner(&self) -> Reply {
        {
            let mut conn = self.db.conn().await;
            guild_tenancy::tenants::bootstrap_owner(
                &mut conn,
                "root@guild.example.com",
                "Root",
                "platform owner pass",
                chrono::Utc::now(),
            )
            .await
            .expect("bootstrap the platform owner");
        }
        let login = json!({ "email": "root@guild.example.com", "password": "platform owner pass" });
        self.post_anonymous("/v1/auth/login", login).await
    }

    /// The access token of the owner of a new tenant with slug `slug`.
    pub async fn owner(&self, slug: &str) -> String {
        access(&self.sign_up(slug).await)
    }

    /// Invites `email` with `role` as `owner`, delivers the invitation and accepts it; returns the
    /// new member's token pair.
    pub async fn join(&self, owner: &str, email: &str, role: &str) -> Value {
        let invited = self
            .post(
                "/v1/members",
                owner,
                json!({ "email": email, "name": email, "role": role }),
            )
            .await;
        expect(invited, 201);
        self.run_worker().await;
        let token = self.token_mailed_to(email);
        let body = json!({ "token": token, "password": "member password 1" });
        let accepted = self.post_anonymous("/v1/auth/accept-invite", body).await;
        expect(accepted, 200).json
    }

    /// The access token of a new member `email` with `role` (see [`TestApp::join`]).
    pub async fn member(&self, owner: &str, email: &str, role: &str) -> String {
        access(&self.join(owner, email, role).await)
    }

    /// The user id behind `token`.
    pub async fn me_id(&self, token: &str) -> String {
        self.get("/v1/me", token).await.json["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current ETag of the resource at `uri`.
    pub async fn etag(&self, uri: &str, token: &str) -> String {
        self.get(uri, token)
            .await
            .header("etag")
            .unwrap_or_default()
            .to_owned()
    }

    /// Opens the tenant's catalog to every member.
    pub async fn open_catalog(&self, owner: &str) {
        let opened = self
            .patch("/v1/tenant", owner, json!({ "catalog_open": true }))
            .await;
        expect(opened, 200);
    }

    /// A draft module made of `module` (its fields) with one section made of `section`; returns
    /// the module and section ids.
    pub async fn module_with_section(
        &self,
        author: &str,
        module: Value,
        section: Value,
    ) -> (String, String) {
        let created = expect(self.post("/v1/modules", author, module).await, 201);
        let module = id(&created.json);
        let section = self
            .post(&format!("/v1/modules/{module}/sections"), author, section)
            .await;
        let section = expect(section, 201);
        (module, id(&section.json))
    }

    /// Publishes `module` at its current ETag.
    pub async fn publish(&self, author: &str, module: &str) {
        let uri = format!("/v1/modules/{module}");
        let etag = self.etag(&uri, author).await;
        let published = self
            .post(
                &format!("{uri}/status"),
                author,
                json!({ "status": "PUBLISHED" }),
            )
            .if_match(&etag)
            .await;
        expect(published, 200);
    }

    /// A published module titled `title` with one section, in a tenant whose catalog `owner` opens
    /// to every member; returns the module and section ids.
    pub async fn published_module(&self, owner: &str, title: &str) -> (String, String) {
        let ids = self
            .module_with_section(
                owner,
                json!({ "title": title }),
                json!({ "title": "Intro", "content_html": "<p>Hi</p>" }),
            )
            .await;
        self.publish(owner, &ids.0).await;
        self.open_catalog(owner).await;
        ids
    }

    /// Creates a quiz with `settings` and `questions` in `module`; returns its id and the questions
    /// as created.
    pub async fn quiz(
        &self,
        owner: &str,
        module: &str,
        settings: Value,
        questions: &[Value],
    ) -> (String, Vec<Value>) {
        let created = self
            .post(&format!("/v1/modules/{module}/quizzes"), owner, settings)
            .await;
        let quiz = id(&expect(created, 201).json);
        let mut made = Vec::new();
        for q in questions {
            let reply = self
                .post(&format!("/v1/quizzes/{quiz}/questions"), owner, q.clone())
                .await;
            made.push(expect(reply, 201).json);
        }
        (quiz, made)
    }

    /// Creates an assignment made of `body` in `module`; returns it.
    pub async fn assignment(&self, owner: &str, module: &str, body: Value) -> Value {
        let created = self
            .post(&format!("/v1/modules/{module}/assignments"), owner, body)
            .await;
        expect(created, 201).json
    }

    /// Makes the member behind `mentor` (a token) a mentor of `module`.
    pub async fn make_mentor(&self, owner: &str, module: &str, mentor: &str) {
        let user = self.me_id(mentor).await;
        let reply = self
            .put(
                &format!("/v1/modules/{module}/mentors"),
                owner,
                json!({ "ids": [user] }),
            )
            .await;
        expect(reply, 200);
    }

    /// A group named `name` with `members` (user ids); returns its id.
    pub async fn group(&self, owner: &str, name: &str, members: &[&str]) -> String {
        let created = self
            .post("/v1/groups", owner, json!({ "name": name }))
            .await;
        let group = id(&expect(created, 201).json);
        if !members.is_empty() {
            let added = self
                .post(
                    &format!("/v1/groups/{group}/members"),
                    owner,
                    json!({ "user_ids": members }),
                )
                .await;
            assert!(added.status < 300, "{}", added.text);
        }
        group
    }

    /// Submits `answers` to quiz `attempt` under Idempotency-Key `key`.
    pub fn submit_attempt(
        &self,
        token: &str,
        attempt: &str,
        key: &str,
        answers: Value,
    ) -> Request<'_> {
        let body = Value::Object([("answers".to_owned(), answers)].into_iter().collect());
        self.post(&format!("/v1/attempts/{attempt}/submit"), token, body)
            .idempotency_key(key)
    }

    /// Submits `body` (text or files) to `assignment` under Idempotency-Key `key`.
    pub fn submit_assignment(
        &self,
        token: &str,
        assignment: &str,
        key: &str,
        body: Value,
    ) -> Request<'_> {
        self.post(
            &format!("/v1/assignments/{assignment}/submissions"),
            token,
            body,
        )
        .idempotency_key(key)
    }

    /// Marks `module` complete for the member `user` (an id) as `owner`, with a certificate: a
    /// progress override, which notifies them of it and of the certificate.
    pub async fn complete_for(&self, owner: &str, user: &str, module: &str) {
        let done = self
            .post(
                &format!("/v1/members/{user}/progress-overrides"),
                owner,
                json!({ "module_id": module, "action": "COMPLETE", "reason": "Certified externally", "allow_certificate": true }),
            )
            .await;
        expect(done, 201);
    }

    /// Replaces `user`'s grants.
    pub async fn grant(&self, owner: &str, user: &str, grants: Value) {
        let reply = self
            .put(
                &format!("/v1/members/{user}/permissions"),
                owner,
                json!({ "grants": grants }),
            )
            .await;
        expect(reply, 200);
    }

    /// Every row's `field` over all pages of `uri`, `limit` rows a page, checking that no page is
    /// longer.
    pub async fn walk(&self, token: &str, uri: &str, limit: usize, field: &str) -> Vec<Value> {
        let sep = if uri.contains('?') { '&' } else { '?' };
        let mut seen = Vec::new();
        let mut next = format!("{uri}{sep}limit={limit}");
        for _ in 0..50 {
            let page = self.get(&next, token).await;
            assert_eq!(page.status, 200, "{next}: {}", page.text);
            let rows = page.json["data"].as_array().cloned().unwrap_or_default();
            assert!(rows.len() <= limit, "{}", page.text);
            seen.extend(rows.iter().map(|r| r[field].clone()));
            match page.json["next_cursor"].as_str() {
                Some(cursor) => next = format!("{uri}{sep}limit={limit}&cursor={cursor}"),
                None => return seen,
            }
        }
        panic!("{uri} did not end");
    }

    /// `n` active EMPLOYEE members of `tenant` made straight in the database (`bulk{i}@{slug}…`),
    /// in `group` when given: for lists and fan-outs larger than a test makes through the API.
    pub async fn bulk_members(&self, tenant: &str, slug: &str, group: Option<&str>, n: usize) {
        let mut sql = format!(
            "CREATE TEMP TABLE bulk ON COMMIT DROP AS \
             SELECT gen_random_uuid() AS id, i FROM generate_series(1, {n}) AS i; \
             INSERT INTO users (id, email, name) \
             SELECT id, 'bulk' || i || '@{slug}.example.com', 'Bulk ' || i FROM bulk; \
             INSERT INTO memberships (tenant_id, user_id, role, status) \
             SELECT '{tenant}', id, 'EMPLOYEE', 'ACTIVE' FROM bulk;"
        );
        if let Some(group) = group {
            sql.push_str(&format!(
                "INSERT INTO user_groups (tenant_id, group_id, user_id) \
                 SELECT '{tenant}', '{group}', id FROM bulk;"
            ));
        }
        execute(self, &format!("BEGIN; {sql} COMMIT;")).await;
    }

    /// An API key of `owner`'s made of `body` (name, permissions, `act_as_member`); returns the
    /// reply and the secret.
    pub async fn api_key(&self, owner: &str, body: Value) -> (Value, String) {
        let created = expect(self.post("/v1/api-keys", owner, body).await, 201);
        let secret = created.json["secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (created.json, secret)
    }
}
