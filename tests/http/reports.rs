//! Report exports over HTTP: made by a background job, read back with independent readers (the
//! csv crate, calamine for XLSX, lopdf for the compliance PDF), scoped to the caller's EXPORT_REPORTS grants, limited per member,
//! downloaded through a signed link, and nobody else's.

use actix_web::http::Method;
use guild_tests::{TestApp, assert_problem, execute, fields, id, pdf_text};
use serde_json::{Value, json};

/// The path and query of a URL the default local store signed.
fn local_path(url: &str) -> String {
    url.strip_prefix("http://localhost:8080")
        .unwrap_or(url)
        .to_owned()
}

/// A tenant: `boss` manages `ann`; `bob` is nobody's. Ann and bob each completed the published
/// module "Safety" (by an override). Answers the owner's token, the boss's, bob's and the ids
/// of ann and bob.
async fn tenant(app: &TestApp, slug: &str) -> (String, String, String, String, String) {
    let owner = app.owner(slug).await;
    let mut tokens = Vec::new();
    for name in ["boss", "ann", "bob"] {
        let token = app
            .member(&owner, &format!("{name}@{slug}.example.com"), "EMPLOYEE")
            .await;
        let user = app.me_id(&token).await;
        tokens.push((token, user));
    }
    let (boss, ann, bob) = (&tokens[0], &tokens[1], &tokens[2]);
    let set = app
        .put(
            &format!("/v1/members/{}/manager", ann.1),
            &owner,
            json!({ "manager_id": boss.1 }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    app.grant(
        &owner,
        &boss.1,
        json!([{ "permission": "EXPORT_REPORTS", "scope": { "manager_subtree": true } }]),
    )
    .await;
    let (module, _) = app.published_module(&owner, "Safety").await;
    for user in [&ann.1, &bob.1] {
        app.complete_for(&owner, user, &module).await;
    }
    (
        owner,
        boss.0.clone(),
        bob.0.clone(),
        ann.1.clone(),
        bob.1.clone(),
    )
}

/// Starts a report as `token`; answers its id.
async fn start(app: &TestApp, token: &str, body: Value) -> String {
    let started = app.post("/v1/reports", token, body).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let job = id(&started.json);
    assert_eq!(
        started.header("location"),
        Some(format!("/v1/jobs/{job}").as_str())
    );
    assert_eq!(started.json["kind"], "report.export");
    job
}

/// The report's file, once the worker made it.
async fn file(app: &TestApp, token: &str, report: &str) -> (Value, Vec<u8>) {
    let done = app.get(&format!("/v1/reports/{report}"), token).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json["job"]["state"], "SUCCEEDED", "{}", done.text);
    let url = done.json["download"]["url"].as_str().unwrap_or_default();
    assert!(url.contains("sig="), "a signed link: {url}");
    assert!(done.json["download"]["expires_at"].is_string());
    let got = app.request(Method::GET, &local_path(url)).await;
    assert_eq!(got.status, 200, "{}", got.text);
    (done.json, got.body.to_vec())
}

#[actix_web::test]
async fn a_report_is_made_in_the_background_and_reads_back_as_csv_and_xlsx_within_the_scope() {
    let app = TestApp::new().await;
    let (owner, boss, _, ann, bob) = tenant(&app, "acme").await;
    // A name a spreadsheet would run as a formula.
    execute(
        &app,
        &format!("UPDATE users SET name = '=HYPERLINK(\"http://evil\")' WHERE id = '{bob}'"),
    )
    .await;

    let csv_report = start(
        &app,
        &owner,
        json!({ "kind": "COMPLETIONS", "format": "CSV" }),
    )
    .await;
    let pending = app.get(&format!("/v1/reports/{csv_report}"), &owner).await;
    assert_eq!(pending.json["job"]["state"], "QUEUED", "{}", pending.text);
    assert_eq!(pending.json["download"], Value::Null);
    app.run_worker().await;

    // The owner's CSV: both completions, bob's name defused.
    let (done, bytes) = file(&app, &owner, &csv_report).await;
    assert_eq!(done.json_rows(), 2);
    assert_eq!(done["job"]["result"]["report"], "COMPLETIONS");
    assert_eq!(done["download"]["content_type"], "text/csv; charset=utf-8");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "completed_at",
            "user_id",
            "name",
            "email",
            "module_id",
            "module",
            "source"
        ]
    );
    let mut rows: Vec<(String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.expect("a row");
            (r[1].to_owned(), r[2].to_owned(), r[5].to_owned())
        })
        .collect();
    rows.sort();
    let mut ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut expected = vec![ann.as_str(), bob.as_str()];
    ids.sort_unstable();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(rows.iter().all(|r| r.2 == "Safety"));
    let bobs = rows.iter().find(|r| r.0 == bob).map(|r| r.1.as_str());
    assert_eq!(
        bobs,
        Some("'=HYPERLINK(\"http://evil\")"),
        "the formula is defused"
    );

    // The boss's XLSX: ann only (their subtree), read by calamine.
    let xlsx_report = start(
        &app,
        &boss,
        json!({ "kind": "COMPLETIONS", "format": "XLSX", "filters": { "from": "2026-01-01T00:00:00Z" } }),
    )
    .await;
    app.run_worker().await;
    let (done, bytes) = file(&app, &boss, &xlsx_report).await;
    assert_eq!(done.json_rows(), 1);
    assert!(
        done["download"]["file_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("completions-") && n.ends_with(".xlsx")),
        "{done}"
    );
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a workbook");
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).expect("the sheet");
    let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(rows.len(), 2, "a header and ann's completion");
    assert_eq!(rows[0][0], Data::String("completed_at".into()));
    assert_eq!(rows[1][1], Data::String(ann.clone()));
    assert_eq!(rows[1][5], Data::String("Safety".into()));

    // The boss was told it is ready.
    let inbox = app.get("/v1/me/notifications", &boss).await;
    assert_eq!(inbox.status, 200, "{}", inbox.text);
    assert!(
        inbox.text.contains("REPORT_READY"),
        "a REPORT_READY notification: {}",
        inbox.text
    );

    // Every kind and format is made.
    for kind in [
        "COMPLIANCE",
        "QUIZ_RESULTS",
        "XP_LEDGER",
        "EVENT_ATTENDANCE",
        "MEMBERS",
    ] {
        let report = start(&app, &owner, json!({ "kind": kind, "format": "XLSX" })).await;
        app.run_worker().await;
        let (done, _) = file(&app, &owner, &report).await;
        assert_eq!(done["job"]["result"]["report"], kind);
    }
    let members = start(&app, &owner, json!({ "kind": "MEMBERS", "format": "CSV" })).await;
    app.run_worker().await;
    let (done, bytes) = file(&app, &owner, &members).await;
    assert_eq!(done.json_rows(), 4, "owner, boss, ann and bob");
    let read = csv::Reader::from_reader(bytes.as_slice()).records().count();
    assert_eq!(read, 4);
}

#[actix_web::test]
async fn reports_need_export_reports_a_valid_period_and_are_limited_and_private() {
    let app = TestApp::new().await;
    let (owner, boss, bob_token, _, _) = tenant(&app, "acme").await;
    let body = json!({ "kind": "MEMBERS", "format": "CSV" });

    assert_problem(
        &app.post("/v1/reports", &bob_token, body.clone()).await,
        403,
        "forbidden",
    );
    let (_, without) = app
        .api_key(
            &owner,
            json!({ "name": "BI", "permissions": ["VIEW_ANALYTICS"] }),
        )
        .await;
    assert_problem(
        &app.post("/v1/reports", &without, body.clone()).await,
        403,
        "forbidden",
    );
    let (_, with) = app
        .api_key(
            &owner,
            json!({ "name": "Exports", "permissions": ["EXPORT_REPORTS"] }),
        )
        .await;
    let by_key = start(&app, &with, body.clone()).await;
    app.run_worker().await;
    // The boss's subtree grant does not reach the compliance matrix without a progress grant.
    assert_problem(
        &app.post(
            "/v1/reports",
            &boss,
            json!({ "kind": "COMPLIANCE", "format": "CSV" }),
        )
        .await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.post(
            "/v1/reports",
            &owner,
            json!({ "kind": "MEMBERS", "format": "CSV", "filters": { "from": "2025-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z" } }),
        )
        .await,
        422,
        "validation_failed",
    );
    let pdf = app
        .post(
            "/v1/reports",
            &owner,
            json!({ "kind": "MEMBERS", "format": "pdf" }),
        )
        .await;
    assert!(matches!(pdf.status, 400 | 422), "{}", pdf.text);
    // A PDF is made of the compliance report only.
    let pdf = app
        .post(
            "/v1/reports",
            &owner,
            json!({ "kind": "MEMBERS", "format": "PDF" }),
        )
        .await;
    assert_problem(&pdf, 422, "validation_failed");
    assert_eq!(
        fields(&pdf),
        [("format".to_owned(), "pdf_compliance_only".to_owned())]
    );
    let other = app.owner("globex").await;
    let foreign = app.group(&other, "Theirs", &[]).await;
    assert_problem(
        &app.post(
            "/v1/reports",
            &owner,
            json!({ "kind": "MEMBERS", "format": "CSV", "filters": { "group_id": foreign } }),
        )
        .await,
        404,
        "group_not_found",
    );

    // Five waiting at once, then 409 until one ends.
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(start(&app, &owner, body.clone()).await);
    }
    assert_problem(
        &app.post("/v1/reports", &owner, body.clone()).await,
        409,
        "job_limit_reached",
    );
    app.run_worker().await;
    start(&app, &owner, body.clone()).await;

    // Another tenant's owner, a member who did not make it and a job that is no report: 404.
    assert_problem(
        &app.get(&format!("/v1/reports/{}", mine[0]), &other).await,
        404,
        "report_not_found",
    );
    assert_problem(
        &app.get(&format!("/v1/reports/{}", mine[0]), &bob_token)
            .await,
        404,
        "report_not_found",
    );
    let export = app
        .post("/v1/compliance/matrix/exports", &owner, json!({}))
        .await;
    assert_eq!(export.status, 202, "{}", export.text);
    assert_problem(
        &app.get(&format!("/v1/reports/{}", id(&export.json)), &owner)
            .await,
        404,
        "report_not_found",
    );
    // The key reads the report it made.
    let read = app.get(&format!("/v1/reports/{by_key}"), &with).await;
    assert_eq!(read.status, 200, "{}", read.text);
}

#[actix_web::test]
async fn the_compliance_pdf_shows_each_groups_chart_and_the_members_in_scope_with_their_statuses() {
    let app = TestApp::new().await;
    let (owner, boss, _, ann, bob) = tenant(&app, "acme").await;
    let boss_id = app.me_id(&boss).await;
    // The compliance report also needs a progress permission: the boss's covers their subtree.
    app.grant(
        &owner,
        &boss_id,
        json!([
            { "permission": "EXPORT_REPORTS", "scope": { "manager_subtree": true } },
            { "permission": "VIEW_MANAGER_DASHBOARD", "scope": { "manager_subtree": true } }
        ]),
    )
    .await;
    execute(
        &app,
        &format!(
            "UPDATE users SET name = CASE id WHEN '{ann}' THEN 'Ana Šolar' ELSE 'Bob Outsider' END \
             WHERE id IN ('{ann}', '{bob}')"
        ),
    )
    .await;
    // Both must complete Safety (done) and Ladders, whose deadline passed.
    let group = app.group(&owner, "Warehouse", &[&ann, &bob]).await;
    let modules = app.get("/v1/modules?limit=10", &owner).await.json;
    let safety = modules["data"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["title"] == "Safety"))
        .map(id)
        .expect("Safety");
    let (ladders, _) = app.published_module(&owner, "Ladders").await;
    for module in [&safety, &ladders] {
        let assigned = app
            .put(
                &format!("/v1/modules/{module}/groups/{group}"),
                &owner,
                json!({ "deadline_days": 14, "is_mandatory": true }),
            )
            .await;
        assert_eq!(assigned.status, 200, "{}", assigned.text);
    }
    execute(
        &app,
        "UPDATE module_groups SET assigned_at = now() - interval '30 days'; \
         UPDATE user_groups SET created_at = now() - interval '30 days'",
    )
    .await;

    let report = start(
        &app,
        &owner,
        json!({ "kind": "COMPLIANCE", "format": "PDF" }),
    )
    .await;
    app.run_worker().await;
    let (done, bytes) = file(&app, &owner, &report).await;
    assert_eq!(done["download"]["content_type"], "application/pdf");
    assert!(
        done["download"]["file_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("compliance-") && n.ends_with(".pdf")),
        "{done}"
    );
    assert_eq!(done.json_rows(), 4, "two members × two modules");
    let pages = pdf_text(&bytes);
    assert_eq!(pages.len(), 3, "the title, Warehouse's chart, the table");
    let title = &pages[0];
    for text in ["acme", "Compliance report", "Period", "Generated", "By"] {
        assert!(title.contains(text), "{text} on the title page: {title}");
    }
    let chart = &pages[1];
    assert!(chart.contains("Group: Warehouse"), "{chart}");
    assert!(chart.contains("completion rate 50 % (2 of 4)"), "{chart}");
    let lines: Vec<&str> = chart.lines().collect();
    for (module, done, overdue) in [
        ("Ladders", "0 completed", "2 overdue"),
        ("Safety", "2 completed", "0 overdue"),
    ] {
        let at = lines.iter().position(|l| *l == module).expect(module);
        assert_eq!(
            &lines[at + 1..at + 4],
            ["2 assigned", done, overdue],
            "{chart}"
        );
    }
    // The table, by name: each member's module, status and dates.
    let table: Vec<&str> = pages[2].lines().collect();
    let row = |name: &str, module: &str| -> Vec<String> {
        let at = table
            .windows(3)
            .position(|w| w[0] == name && w[2] == module)
            .unwrap_or_else(|| panic!("{name} on {module}: {table:?}"));
        table[at..at + 7].iter().map(|s| (*s).to_owned()).collect()
    };
    let ann_ladders = row("Ana Šolar", "Ladders");
    assert_eq!(ann_ladders[3], "OVERDUE");
    let today = chrono::Utc::now();
    let due = (today - chrono::Duration::days(16))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(ann_ladders[5], due, "the due date");
    assert_eq!(row("Ana Šolar", "Safety")[3], "COMPLIANT");
    assert_eq!(row("Bob Outsider", "Ladders")[3], "OVERDUE");
    assert_eq!(row("Bob Outsider", "Safety")[3], "COMPLIANT");

    // The boss's: ann only, in the chart's counts too.
    let report = start(
        &app,
        &boss,
        json!({ "kind": "COMPLIANCE", "format": "PDF", "filters": { "group_id": group } }),
    )
    .await;
    app.run_worker().await;
    let (_, bytes) = file(&app, &boss, &report).await;
    let text = pdf_text(&bytes).concat();
    assert!(text.contains("Ana Šolar"), "{text}");
    assert!(text.contains("completion rate 50 % (1 of 2)"), "{text}");
    assert!(
        !text.contains("Bob Outsider"),
        "bob is outside the boss's subtree: {text}"
    );
    assert!(!text.contains("2 assigned"), "{text}");
}

trait Rows {
    fn json_rows(&self) -> i64;
}

impl Rows for Value {
    fn json_rows(&self) -> i64 {
        self["job"]["result"]["rows"].as_i64().unwrap_or(-1)
    }
}
