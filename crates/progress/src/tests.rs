//! Domain tests of progress: the rules of who earns what from completing a module; prerequisites
//! locking a module; completion (every section, passed quiz and graded required assignment gives
//! exactly one completion and one certificate); expiry (the scan's expiring and expired notices,
//! the reset and the new cycle's due date and reminders) and renewal. Time is a `ManualClock`
//! passed as the `now` the functions take, so the tests move it without sleeping.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::QueryableByName;
use diesel::sql_types::Jsonb;
use diesel_async::RunQueryDsl;
use guild_db::tenant_transaction;
use guild_kernel::{
    Actor, AttemptId, Clock, GroupId, ManualClock, QuizId, SectionId, TenantId, TenantRole,
};
use guild_testkit::TestDb;
use uuid::Uuid;

use guild_learning::LearningError;
use guild_learning::modules::{self, ModuleInput};
use guild_learning::sections::{self, SectionInput};
use guild_learning::versions::ChangeNote;

use crate::completion as progress;
use crate::compliance::{self, period_start};

use guild_testkit::actor;

/// A tenant with an open catalog, its owner and one employee.
async fn people(db: &TestDb) -> (Actor, Actor) {
    let (tenant, owner, member) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut conn = db.conn().await;
    for sql in [
        format!(
            "INSERT INTO tenants (id, name, slug, catalog_open) VALUES ('{tenant}', 'Acme', 'acme', true)"
        ),
        format!(
            "INSERT INTO users (id, email, name) VALUES ('{owner}', 'owner@acme.example.com', 'Owner'), \
             ('{member}', 'ann@acme.example.com', 'Ann')"
        ),
        format!(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('{tenant}', '{owner}', 'OWNER'), \
             ('{tenant}', '{member}', 'EMPLOYEE')"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }
    (
        actor(tenant, owner, TenantRole::Owner),
        actor(tenant, member, TenantRole::Employee),
    )
}

fn day(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 9, 0, 0).unwrap()
}

#[test]
fn validity_periods_are_counted_from_the_first_certificate() {
    let first = day(2027, 1, 31);
    assert_eq!(period_start(first, 12, first - Duration::days(1)), first);
    assert_eq!(period_start(first, 12, day(2028, 1, 30)), first);
    assert_eq!(period_start(first, 12, day(2028, 1, 31)), day(2028, 1, 31));
    assert_eq!(period_start(first, 12, day(2030, 6, 1)), day(2030, 1, 31));
    // Months are counted from the first certificate, clamped to shorter months.
    assert_eq!(period_start(first, 1, day(2027, 2, 27)), first);
    assert_eq!(period_start(first, 1, day(2027, 3, 1)), day(2027, 2, 28));
    assert_eq!(period_start(first, 1, day(2027, 3, 31)), day(2027, 3, 31));
    assert_eq!(period_start(first, 2, day(2027, 3, 30)), first);
    assert_eq!(period_start(first, 2, day(2027, 3, 31)), day(2027, 3, 31));
}

#[derive(QueryableByName)]
struct Payload {
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
}

#[tokio::test]
async fn renewal_xp_is_earned_by_the_first_renewal_of_each_validity_period_only() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let mut conn = db.conn().await;
    // A one-month validity: every certificate is within the 30-day renewal window at once.
    let (module, section) = tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        let input = ModuleInput {
            title: Some("Ladders".into()),
            validity_months: Some(Some(1)),
            ..ModuleInput::default()
        };
        let created = modules::create(c, &owner, &input).await?;
        let section = SectionInput {
            title: Some("Intro".into()),
            ..SectionInput::default()
        };
        let section =
            sections::create(c, &owner, created.row.id, &section, chrono::Utc::now()).await?;
        modules::set_status(
            c,
            &owner,
            created.row.id,
            created.row.revision,
            modules::ModuleStatus::Published,
            &ChangeNote::default(),
            chrono::Utc::now(),
        )
        .await?;
        Ok::<_, LearningError>((created.row.id, section.id))
    })
    .await
    .unwrap();
    let mut renew_at = async |now: DateTime<Utc>, first: bool| {
        tenant_transaction(&mut conn, ann.tenant_id, async |c| {
            if !first {
                compliance::start_renewal(c, &ann, module, now).await?;
            }
            let progress =
                progress::complete_section(c, &ann, module, SectionId(section), now).await?;
            assert!(progress.certificate_id.is_some(), "{now}");
            Ok::<_, LearningError>(())
        })
        .await
        .unwrap();
    };
    renew_at(day(2027, 2, 1), true).await;
    renew_at(day(2027, 2, 2), false).await;
    renew_at(day(2027, 2, 3), false).await;
    renew_at(day(2027, 2, 20), false).await;
    // The second period starts a month after the first certificate.
    renew_at(day(2027, 3, 1), false).await;

    let renewals: Vec<Payload> = diesel::sql_query(
        "SELECT payload FROM outbox_events WHERE kind = 'learning.compliance_renewal' ORDER BY id",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap();
    let rewarded: Vec<bool> = renewals
        .iter()
        .map(|r| r.payload["rewarded"] == true)
        .collect();
    assert_eq!(rewarded, [true, false, false, true]);
}

// --- Prerequisites, completion, expiry and renewal, with a manual clock ------------------------

/// A published module with `sections` sections and the validity given; returns the module and
/// its sections.
async fn published(
    db: &TestDb,
    owner: &Actor,
    title: &str,
    validity_months: Option<i32>,
    sections: usize,
) -> (Uuid, Vec<Uuid>) {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        let input = ModuleInput {
            title: Some(title.into()),
            validity_months: Some(validity_months),
            ..ModuleInput::default()
        };
        let created = modules::create(c, owner, &input).await?;
        let mut ids = Vec::new();
        for i in 0..sections {
            let section = SectionInput {
                title: Some(format!("Part {i}")),
                ..SectionInput::default()
            };
            ids.push(
                sections::create(c, owner, created.row.id, &section, chrono::Utc::now())
                    .await?
                    .id,
            );
        }
        modules::set_status(
            c,
            owner,
            created.row.id,
            created.row.revision,
            modules::ModuleStatus::Published,
            &ChangeNote::default(),
            chrono::Utc::now(),
        )
        .await?;
        Ok::<_, LearningError>((created.row.id, ids))
    })
    .await
    .unwrap()
}

/// A quiz of `module` with one TRUE_FALSE question whose right answer is `true`.
async fn true_false_quiz(db: &TestDb, owner: &Actor, module: Uuid) -> (Uuid, Uuid) {
    use guild_assessment::questions::{self, ChoiceOption, QuestionInput, QuestionKind};
    use guild_assessment::quizzes::{self, QuizInput};
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        let input = QuizInput {
            title: Some("Check".into()),
            ..QuizInput::default()
        };
        let quiz = quizzes::create(c, owner, module, &input).await?;
        let option = |id: &str, correct| ChoiceOption {
            id: id.into(),
            text: id.into(),
            correct,
        };
        let question = QuestionInput {
            kind: Some(QuestionKind::TrueFalse),
            prompt: Some("Three points of contact?".into()),
            options: Some(vec![option("true", true), option("false", false)]),
            ..QuestionInput::default()
        };
        let question = questions::create(c, owner, QuizId(quiz.quiz.id), &question).await?;
        Ok::<_, guild_assessment::AssessmentError>((quiz.quiz.id, question.id))
    })
    .await
    .unwrap()
}

/// Takes the quiz at `now`, answering `choice`; returns whether the attempt passed.
async fn take_quiz(
    db: &TestDb,
    member: &Actor,
    (quiz, question): (Uuid, Uuid),
    choice: &str,
    now: DateTime<Utc>,
) -> Option<bool> {
    use guild_assessment::attempts::{self, Started};
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, member.tenant_id, async |c| {
        let attempt = match attempts::start(c, member, QuizId(quiz), now).await? {
            Started::New(a) | Started::Resumed(a) => a.attempt.id,
        };
        let answers = [guild_assessment::scoring::Answer {
            question_id: question,
            option_ids: vec![choice.to_owned()],
            text: None,
        }];
        // Through progress, which checks completion after a passing score.
        let view = crate::attempts::submit(c, member, AttemptId(attempt), &answers, now).await?;
        Ok::<_, guild_assessment::AssessmentError>(view.attempt.passed)
    })
    .await
    .unwrap()
}

async fn complete_at(
    db: &TestDb,
    member: &Actor,
    module: Uuid,
    section: Uuid,
    now: DateTime<Utc>,
) -> Result<progress::ModuleProgress, LearningError> {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, member.tenant_id, async |c| {
        progress::complete_section(c, member, module, SectionId(section), now).await
    })
    .await
}

async fn progress_of(db: &TestDb, member: &Actor, module: Uuid) -> progress::ModuleProgress {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, member.tenant_id, async |c| {
        progress::progress(c, member, module).await
    })
    .await
    .unwrap()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(sql)
        .get_result(&mut db.conn().await)
        .await
        .unwrap();
    n.n
}

async fn events(db: &TestDb, kind: &str) -> i64 {
    count(
        db,
        &format!("SELECT count(*) AS n FROM outbox_events WHERE kind = '{kind}'"),
    )
    .await
}

async fn payloads(db: &TestDb, kind: &str) -> Vec<serde_json::Value> {
    let rows: Vec<Payload> = diesel::sql_query(format!(
        "SELECT payload FROM outbox_events WHERE kind = '{kind}' ORDER BY id"
    ))
    .load(&mut db.conn().await)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.payload).collect()
}

fn move_to(clock: &ManualClock, at: DateTime<Utc>) {
    clock.advance(at - clock.now());
}

#[tokio::test]
async fn a_module_locks_until_its_prerequisites_are_complete() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let now = day(2027, 1, 4);
    let (basics, basics_sections) = published(&db, &owner, "Basics", None, 1).await;
    let (advanced, advanced_sections) = published(&db, &owner, "Advanced", None, 1).await;
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        modules::set_prerequisites(c, &owner, advanced, &[basics]).await
    })
    .await
    .unwrap();

    assert!(progress_of(&db, &ann, advanced).await.locked);
    assert!(matches!(
        complete_at(&db, &ann, advanced, advanced_sections[0], now).await,
        Err(LearningError::ModuleLocked)
    ));
    let basics_done = complete_at(&db, &ann, basics, basics_sections[0], now)
        .await
        .unwrap();
    assert!(basics_done.completed_at.is_some());
    assert!(!progress_of(&db, &ann, advanced).await.locked);
    let advanced_done = complete_at(&db, &ann, advanced, advanced_sections[0], now)
        .await
        .unwrap();
    assert!(advanced_done.completed_at.is_some());
}

#[tokio::test]
async fn a_module_completes_once_with_one_certificate_when_sections_quizzes_and_required_assignments_are_done()
 {
    use guild_assessment::assignments::{self, AssignmentInput};
    use guild_assessment::submissions::{self, GradeInput, SubmissionInput};
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let clock = ManualClock::new(day(2027, 1, 4));
    let (module, parts) = published(&db, &owner, "Ladders", Some(12), 2).await;
    let quiz = true_false_quiz(&db, &owner, module).await;
    let mut conn = db.conn().await;
    let (required, _optional) = tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        let input = |title: &str, required| AssignmentInput {
            title: Some(title.into()),
            max_score: Some(10),
            required: Some(required),
            ..AssignmentInput::default()
        };
        let required = assignments::create(c, &owner, module, &input("Report", true)).await?;
        let optional = assignments::create(c, &owner, module, &input("Extra", false)).await?;
        Ok::<_, guild_assessment::AssessmentError>((required.id, optional.id))
    })
    .await
    .unwrap();

    let done = complete_at(&db, &ann, module, parts[0], clock.now())
        .await
        .unwrap();
    assert_eq!((done.sections_done, done.percent), (1, 25));
    let done = complete_at(&db, &ann, module, parts[1], clock.now())
        .await
        .unwrap();
    assert_eq!(
        done.completed_at, None,
        "the quiz and the assignment remain"
    );
    assert_eq!(
        take_quiz(&db, &ann, quiz, "false", clock.now()).await,
        Some(false)
    );
    assert_eq!(progress_of(&db, &ann, module).await.quizzes_passed, 0);
    clock.advance(Duration::hours(1));
    assert_eq!(
        take_quiz(&db, &ann, quiz, "true", clock.now()).await,
        Some(true)
    );
    let before_grade = progress_of(&db, &ann, module).await;
    assert_eq!(
        before_grade.completed_at, None,
        "the required assignment remains"
    );
    assert_eq!(before_grade.percent, 75);

    let submission = tenant_transaction(&mut conn, ann.tenant_id, async |c| {
        let input = SubmissionInput {
            text_answer: Some("Done.".into()),
            ..SubmissionInput::default()
        };
        submissions::submit(c, &ann, required, &input, clock.now()).await
    })
    .await
    .unwrap();
    assert_eq!(
        progress_of(&db, &ann, module).await.completed_at,
        None,
        "not graded yet"
    );
    clock.advance(Duration::hours(1));
    // Any grade counts; the optional assignment is never needed.
    tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        let grade = GradeInput {
            score: Some(0.0),
            ..GradeInput::default()
        };
        crate::attempts::grade_submission(c, &owner, submission.id, &grade, clock.now()).await
    })
    .await
    .unwrap();
    let finished = progress_of(&db, &ann, module).await;
    assert_eq!(finished.completed_at, Some(clock.now()));
    assert!(finished.certificate_id.is_some());
    assert_eq!(finished.percent, 100);

    // Nothing more happens when the member goes over it again.
    clock.advance(Duration::hours(1));
    complete_at(&db, &ann, module, parts[0], clock.now())
        .await
        .unwrap();
    let again = tenant_transaction(&mut conn, ann.tenant_id, async |c| {
        crate::evaluate_completion(c, ann.tenant_id, ann.user_id, module, clock.now()).await
    })
    .await
    .unwrap();
    assert_eq!(again, None);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM module_completions").await,
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM certificates").await,
        1
    );
    assert_eq!(events(&db, "learning.module_completed").await, 1);
    let expires = count(
        &db,
        "SELECT count(*) AS n FROM certificates WHERE expires_at = issued_at + interval '12 months'",
    )
    .await;
    assert_eq!(expires, 1, "valid for the module's twelve months");
}

/// Puts `member` in a new group to which `module` is assigned, mandatory, due `deadline_days`
/// after `at` (the member joined, and the module was assigned, then).
async fn assign_to_group(
    db: &TestDb,
    owner: &Actor,
    member: &Actor,
    module: Uuid,
    deadline_days: i32,
    at: DateTime<Utc>,
) {
    let (tenant, group) = (owner.tenant_id.into_uuid(), Uuid::now_v7());
    let user = member.user_id.into_uuid();
    let mut conn = db.conn().await;
    for sql in [
        format!("INSERT INTO groups (tenant_id, id, name) VALUES ('{tenant}', '{group}', 'Floor')"),
        format!(
            "INSERT INTO user_groups (tenant_id, group_id, user_id, created_at) \
             VALUES ('{tenant}', '{group}', '{user}', '{at}')"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }
    tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        modules::assign(c, owner, module, GroupId(group), Some(deadline_days), true).await
    })
    .await
    .unwrap();
    // `assign` stamps the database's clock; the test's clock decides.
    diesel::sql_query(format!(
        "UPDATE module_groups SET assigned_at = '{at}' WHERE group_id = '{group}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

async fn scan_at(db: &TestDb, tenant: TenantId, now: DateTime<Utc>) -> compliance::ExpiryScan {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, tenant, async |c| {
        compliance::scan_expiry(c, tenant, now).await
    })
    .await
    .unwrap()
}

async fn remind_at(db: &TestDb, tenant: TenantId, now: DateTime<Utc>) -> usize {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, tenant, async |c| {
        compliance::send_deadline_reminders(c, tenant, now).await
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_expiring_certificate_is_announced_once_and_its_expiry_resets_progress_and_starts_a_new_cycle()
 {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let tenant = ann.tenant_id;
    let clock = ManualClock::new(day(2027, 1, 4));
    let (module, parts) = published(&db, &owner, "Fire safety", Some(12), 1).await;
    let quiz = true_false_quiz(&db, &owner, module).await;
    assign_to_group(&db, &owner, &ann, module, 14, clock.now()).await;
    complete_at(&db, &ann, module, parts[0], clock.now())
        .await
        .unwrap();
    assert_eq!(
        take_quiz(&db, &ann, quiz, "true", clock.now()).await,
        Some(true)
    );
    let expires = day(2028, 1, 4);
    assert!(
        progress_of(&db, &ann, module)
            .await
            .certificate_id
            .is_some()
    );
    // Completed: no reminder, whatever the date.
    assert_eq!(remind_at(&db, tenant, day(2027, 1, 20)).await, 0);

    let nothing = compliance::ExpiryScan::default();
    move_to(&clock, expires - Duration::days(30) - Duration::seconds(1));
    assert_eq!(scan_at(&db, tenant, clock.now()).await, nothing);
    move_to(&clock, expires - Duration::days(30));
    let expiring = compliance::ExpiryScan {
        expiring: 1,
        expired: 0,
    };
    assert_eq!(scan_at(&db, tenant, clock.now()).await, expiring);
    assert_eq!(scan_at(&db, tenant, clock.now()).await, nothing, "once");
    move_to(&clock, expires - Duration::seconds(1));
    assert_eq!(scan_at(&db, tenant, clock.now()).await, nothing);
    assert!(progress_of(&db, &ann, module).await.completed_at.is_some());

    move_to(&clock, expires);
    let expired = compliance::ExpiryScan {
        expiring: 0,
        expired: 1,
    };
    assert_eq!(scan_at(&db, tenant, clock.now()).await, expired);
    assert_eq!(scan_at(&db, tenant, clock.now()).await, nothing, "once");
    let reset = progress_of(&db, &ann, module).await;
    assert_eq!(
        (
            reset.sections_done,
            reset.quizzes_passed,
            reset.completed_at
        ),
        (0, 0, None)
    );
    let archived =
        |table: &str| format!("SELECT count(*) AS n FROM {table} WHERE archived_at = '{expires}'");
    assert_eq!(count(&db, &archived("quiz_attempts")).await, 1);
    assert_eq!(count(&db, &archived("module_completions")).await, 1);
    assert_eq!(count(&db, &archived("section_completions")).await, 1);

    // The new cycle starts at the expiry: due 14 days later, on the event and the dashboard.
    let due = expires + Duration::days(14);
    let notices = payloads(&db, "learning.module_expired").await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["new_due_at"], serde_json::json!(due));
    let mut conn = db.conn().await;
    let board = tenant_transaction(&mut conn, tenant, async |c| {
        crate::dashboard::dashboard(c, &ann, clock.now()).await
    })
    .await
    .unwrap();
    assert_eq!(board.assigned.len(), 1);
    assert_eq!(board.assigned[0].due_at, Some(due));

    // Reminders count from the new due date: a week before, a day before, then overdue; once
    // each.
    assert_eq!(remind_at(&db, tenant, due - Duration::days(8)).await, 0);
    assert_eq!(remind_at(&db, tenant, due - Duration::days(7)).await, 1);
    assert_eq!(remind_at(&db, tenant, due - Duration::days(6)).await, 0);
    assert_eq!(remind_at(&db, tenant, due - Duration::days(1)).await, 1);
    assert_eq!(remind_at(&db, tenant, due).await, 1);
    assert_eq!(remind_at(&db, tenant, due + Duration::days(1)).await, 0);
    let kinds: Vec<serde_json::Value> = payloads(&db, "learning.deadline_reminder")
        .await
        .into_iter()
        .map(|p| p["kind"].clone())
        .collect();
    assert_eq!(kinds, ["DUE_IN_7_DAYS", "DUE_IN_1_DAY", "OVERDUE"]);
}

#[tokio::test]
async fn renewal_opens_thirty_days_before_expiry_and_its_certificate_replaces_the_old_one() {
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Cert {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
        renews_certificate_id: Option<Uuid>,
    }
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let tenant = ann.tenant_id;
    let clock = ManualClock::new(day(2027, 1, 4));
    let (module, parts) = published(&db, &owner, "Fire safety", Some(12), 1).await;
    complete_at(&db, &ann, module, parts[0], clock.now())
        .await
        .unwrap();
    let expires = day(2028, 1, 4);
    let mut conn = db.conn().await;
    let mut renew_at = async |now: DateTime<Utc>| {
        tenant_transaction(&mut conn, tenant, async |c| {
            compliance::start_renewal(c, &ann, module, now).await
        })
        .await
    };
    let too_early = expires - Duration::days(30) - Duration::seconds(1);
    assert!(matches!(
        renew_at(too_early).await,
        Err(LearningError::InvalidTransition(_))
    ));
    assert!(matches!(
        renew_at(expires).await,
        Err(LearningError::InvalidTransition(_))
    ));
    move_to(&clock, expires - Duration::days(30));
    renew_at(clock.now()).await.unwrap();
    let renewing = progress_of(&db, &ann, module).await;
    assert_eq!((renewing.sections_done, renewing.completed_at), (0, None));

    clock.advance(Duration::days(3));
    complete_at(&db, &ann, module, parts[0], clock.now())
        .await
        .unwrap();
    let certs: Vec<Cert> =
        diesel::sql_query("SELECT id, renews_certificate_id FROM certificates ORDER BY issued_at")
            .load(&mut db.conn().await)
            .await
            .unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[1].renews_certificate_id, Some(certs[0].id));
    assert_eq!(events(&db, "learning.compliance_renewal").await, 1);

    // The old certificate reaching its expiry resets nothing: the new one counts.
    move_to(&clock, expires + Duration::days(1));
    assert_eq!(
        scan_at(&db, tenant, clock.now()).await,
        compliance::ExpiryScan::default()
    );
    assert!(progress_of(&db, &ann, module).await.completed_at.is_some());
}

// --- Learning paths -----------------------------------------------------------------------------

/// A published path of `modules` (not strict) with the validity given; returns its id.
async fn published_path(db: &TestDb, owner: &Actor, modules: &[Uuid], validity: i32) -> Uuid {
    use crate::paths::{self, PathError, PathInput, PathStatus};
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        let input = PathInput {
            title: Some("Safety basics".into()),
            validity_months: Some(Some(validity)),
            module_ids: Some(modules.to_vec()),
            ..PathInput::default()
        };
        let now = chrono::Utc::now();
        let path = paths::create(c, owner, &input, now).await?;
        paths::set_status(
            c,
            owner,
            path.row.id,
            path.row.revision,
            PathStatus::Published,
            now,
        )
        .await?;
        Ok::<_, PathError>(path.row.id)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_module_expiring_resets_the_path_and_completing_it_again_certifies_the_path_again() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let tenant = ann.tenant_id;
    let clock = ManualClock::new(day(2027, 1, 4));
    let (yearly, yearly_parts) = published(&db, &owner, "Fire safety", Some(12), 1).await;
    let (forever, forever_parts) = published(&db, &owner, "Ladders", None, 1).await;
    let path = published_path(&db, &owner, &[yearly, forever], 24).await;
    complete_at(&db, &ann, yearly, yearly_parts[0], clock.now())
        .await
        .unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM path_completions").await,
        0,
        "one module of two"
    );
    complete_at(&db, &ann, forever, forever_parts[0], clock.now())
        .await
        .unwrap();
    assert_eq!(events(&db, "progress.path_completed").await, 1);
    let valid_for_the_path = count(
        &db,
        "SELECT count(*) AS n FROM path_certificates \
         WHERE expires_at = issued_at + interval '24 months' AND code LIKE 'GP-%'",
    )
    .await;
    assert_eq!(valid_for_the_path, 1, "the path's own validity");

    // The yearly module expires: its new cycle is a new cycle of the path.
    let expires = day(2028, 1, 4);
    move_to(&clock, expires);
    assert_eq!(scan_at(&db, tenant, clock.now()).await.expired, 1);
    let active = "SELECT count(*) AS n FROM path_completions WHERE archived_at IS NULL";
    assert_eq!(count(&db, active).await, 0);
    let mut conn = db.conn().await;
    let progress = tenant_transaction(&mut conn, tenant, async |c| {
        crate::paths::progress(c, &ann, path, clock.now()).await
    })
    .await
    .unwrap();
    assert_eq!((progress.modules_done, progress.modules_total), (1, 2));
    assert_eq!(progress.completed_at, None);

    // Completing it again completes the path again, with a certificate that renews the first.
    complete_at(&db, &ann, yearly, yearly_parts[0], clock.now())
        .await
        .unwrap();
    assert_eq!(count(&db, active).await, 1);
    assert_eq!(events(&db, "progress.path_completed").await, 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM path_certificates n JOIN path_certificates o \
             ON o.id = n.renews_certificate_id AND o.issued_at < n.issued_at"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_last_section_opened_never_moves_back_to_an_older_opening() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let (module, ids) = published(&db, &owner, "Ladders", None, 2).await;
    let at = day(2027, 3, 1);
    let record = async |section: Uuid, when: DateTime<Utc>| {
        let mut conn = db.conn().await;
        tenant_transaction(&mut conn, ann.tenant_id, async |c| {
            crate::resume::record(c, ann.tenant_id, ann.user_id, module, section, when).await
        })
        .await
        .unwrap();
    };
    record(ids[1], at).await;
    // An opening of the first section that happened earlier, recorded late, changes nothing.
    record(ids[0], at - Duration::minutes(5)).await;
    let last = format!(
        "SELECT count(*) AS n FROM last_sections WHERE module_id = '{module}' AND section_id = '{}'",
        ids[1]
    );
    assert_eq!(count(&db, &last).await, 1);
    record(ids[0], at + Duration::minutes(5)).await;
    assert_eq!(count(&db, &last).await, 0);
}

#[tokio::test]
async fn a_members_notes_are_found_by_nobody_else_whatever_their_role() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let (module, ids) = published(&db, &owner, "Ladders", None, 1).await;
    let mut conn = db.conn().await;
    let note = tenant_transaction(&mut conn, ann.tenant_id, async |c| {
        crate::notes::create(c, &ann, ids[0], "Ladders at 75 degrees", day(2027, 3, 1)).await
    })
    .await
    .unwrap();
    let owner_sees = tenant_transaction(&mut conn, owner.tenant_id, async |c| {
        let one = crate::notes::get(c, &owner, note.id).await;
        let filter = crate::notes::NoteFilter {
            module: Some(module),
            q: Some("ladder".into()),
            ..Default::default()
        };
        let list = crate::notes::list(c, &owner, &filter, &Default::default()).await?;
        Ok::<_, crate::notes::NoteError>((one, list))
    })
    .await
    .unwrap();
    assert!(matches!(
        owner_sees.0,
        Err(crate::notes::NoteError::NoteNotFound)
    ));
    assert!(owner_sees.1.data.is_empty());
    let ann_sees = tenant_transaction(&mut conn, ann.tenant_id, async |c| {
        let filter = crate::notes::NoteFilter {
            q: Some("ladder".into()),
            ..Default::default()
        };
        crate::notes::list(c, &ann, &filter, &Default::default()).await
    })
    .await
    .unwrap();
    assert_eq!(ann_sees.data, [note]);
}
