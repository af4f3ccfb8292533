//! Domain tests of assessment: the attempt limit under real parallelism (many connections on a
//! multi-threaded runtime), and what a module-completion check reads.

use diesel_async::RunQueryDsl;
use guild_db::tenant_transaction;
use guild_kernel::{Actor, GlobalRole, TenantId, TenantRole, UserId};
use guild_learning::modules::{self, ModuleInput};
use guild_learning::sections::{self, SectionInput};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::AssessmentError;
use crate::attempts::{self, Started};
use crate::questions::{self, ChoiceOption, QuestionInput, QuestionKind};
use crate::quizzes::{self, QuizInput};
use crate::scoring::Answer;

fn actor(tenant: Uuid, user: Uuid, role: TenantRole) -> Actor {
    Actor {
        user_id: UserId(user),
        tenant_id: TenantId(tenant),
        role,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    }
}

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

/// A published module.
async fn module(db: &TestDb, owner: &Actor, title: &str) -> Uuid {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        let input = ModuleInput {
            title: Some(title.to_owned()),
            ..ModuleInput::default()
        };
        let created = modules::create(conn, owner, &input).await?;
        let section = SectionInput {
            title: Some("Intro".into()),
            ..SectionInput::default()
        };
        sections::create(conn, owner, created.row.id, &section).await?;
        let published = modules::set_status(
            conn,
            owner,
            created.row.id,
            created.row.revision,
            modules::ModuleStatus::Published,
            &guild_learning::versions::ChangeNote::default(),
        )
        .await?;
        Ok::<_, AssessmentError>(published.row.id)
    })
    .await
    .unwrap()
}

/// A quiz with one SINGLE_CHOICE question whose right answer is `a`; returns the quiz and the
/// question.
async fn quiz(db: &TestDb, owner: &Actor, module: Uuid, max_attempts: Option<i32>) -> (Uuid, Uuid) {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        let input = QuizInput {
            title: Some("Check".into()),
            max_attempts: Some(max_attempts),
            ..QuizInput::default()
        };
        let quiz = quizzes::create(conn, owner, module, &input).await?;
        let option = |id: &str, correct| ChoiceOption {
            id: id.into(),
            text: id.to_uppercase(),
            correct,
        };
        let question = QuestionInput {
            kind: Some(QuestionKind::SingleChoice),
            prompt: Some("Pick".into()),
            options: Some(vec![option("a", true), option("b", false)]),
            ..QuestionInput::default()
        };
        let question = questions::create(conn, owner, quiz.quiz.id, &question).await?;
        Ok::<_, AssessmentError>((quiz.quiz.id, question.id))
    })
    .await
    .unwrap()
}

/// Starts (or resumes) and submits `choice`; `None` once the limit is reached.
async fn take(
    db: &TestDb,
    member: &Actor,
    quiz: Uuid,
    question: Uuid,
    choice: &str,
) -> Option<bool> {
    let mut conn = db.conn().await;
    let started = tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        attempts::start(conn, member, quiz, chrono::Utc::now()).await
    })
    .await;
    let attempt = match started {
        Err(AssessmentError::MaxAttemptsReached) => return None,
        other => match other.unwrap() {
            Started::New(a) | Started::Resumed(a) => a.attempt.id,
        },
    };
    let answers = [Answer {
        question_id: question,
        option_ids: vec![choice.to_owned()],
        text: None,
    }];
    let submitted = tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        attempts::submit(conn, member, attempt, &answers, chrono::Utc::now()).await
    })
    .await;
    // A racing client of the same member may have submitted this attempt first.
    Some(submitted.is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_clients_of_one_member_never_exceed_max_attempts() {
    let db = std::sync::Arc::new(TestDb::new().await);
    let (owner, member) = people(&db).await;
    let module = module(&db, &owner, "Limits").await;
    let (quiz, question) = quiz(&db, &owner, module, Some(3)).await;

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (db, member) = (db.clone(), member.clone());
        tasks.spawn(async move {
            for _ in 0..10 {
                if take(&db, &member, quiz, question, "b").await.is_none() {
                    return true;
                }
            }
            false
        });
    }
    while let Some(refused) = tasks.join_next().await {
        assert!(refused.unwrap(), "a client never reached the limit");
    }

    #[derive(diesel::QueryableByName)]
    struct Numbers {
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Integer>)]
        numbers: Vec<i32>,
    }
    let rows: Numbers = diesel::sql_query(
        "SELECT coalesce(array_agg(number ORDER BY number), '{}') AS numbers FROM quiz_attempts",
    )
    .get_result(&mut db.conn().await)
    .await
    .unwrap();
    assert_eq!(rows.numbers, [1, 2, 3]);
}

#[tokio::test]
async fn passed_quiz_ids_names_the_quizzes_of_the_module_the_member_passed() {
    let db = TestDb::new().await;
    let (owner, member) = people(&db).await;
    let safety = module(&db, &owner, "Safety").await;
    let other = module(&db, &owner, "Other").await;
    let (passed, q1) = quiz(&db, &owner, safety, None).await;
    let (failed, q2) = quiz(&db, &owner, safety, None).await;
    let (elsewhere, q3) = quiz(&db, &owner, other, None).await;

    assert_eq!(take(&db, &member, passed, q1, "b").await, Some(true));
    assert_eq!(take(&db, &member, passed, q1, "a").await, Some(true));
    assert_eq!(take(&db, &member, failed, q2, "b").await, Some(true));
    assert_eq!(take(&db, &member, elsewhere, q3, "a").await, Some(true));

    let mut conn = db.conn().await;
    let (in_safety, by_owner) = tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        let mine =
            attempts::passed_quiz_ids(conn, member.tenant_id, member.user_id, safety).await?;
        let owners =
            attempts::passed_quiz_ids(conn, owner.tenant_id, owner.user_id, safety).await?;
        Ok::<_, AssessmentError>((mine, owners))
    })
    .await
    .unwrap();
    assert_eq!(in_safety, [passed]);
    assert!(by_owner.is_empty());
}

#[tokio::test]
async fn a_mentor_grades_through_an_api_key_only_when_it_acts_as_a_member() {
    let db = TestDb::new().await;
    let (owner, mut mentor) = people(&db).await;
    let safety = module(&db, &owner, "Safety").await;
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        modules::set_mentors(conn, &owner, safety, &[mentor.user_id.into_uuid()]).await
    })
    .await
    .unwrap();
    let mut may_grade = async |actor: &Actor| {
        tenant_transaction(&mut conn, actor.tenant_id, async |conn| {
            quizzes::may_grade(conn, actor, safety).await
        })
        .await
        .unwrap()
    };
    assert!(may_grade(&mentor).await, "signed in");
    mentor.api_key = Some(guild_kernel::auth::ApiKeyLimits {
        key_id: Uuid::now_v7(),
        permissions: std::collections::BTreeSet::new(),
        act_as_member: false,
    });
    assert!(
        !may_grade(&mentor).await,
        "a key limited to its permissions"
    );
    if let Some(key) = &mut mentor.api_key {
        key.act_as_member = true;
    }
    assert!(may_grade(&mentor).await, "a key that acts as a member");
}
