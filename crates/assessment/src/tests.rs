//! Domain tests of assessment: the attempt limit under real parallelism (many connections on a
//! multi-threaded runtime), what a module-completion check reads, the scoring of the five
//! question kinds with the pass mark, quizzes locked by prerequisites, and the deadline's grace
//! period, with time moved through the `now` the functions take.

use diesel_async::RunQueryDsl;
use guild_db::tenant_transaction;
use guild_kernel::{Actor, AttemptId, QuizId, TenantRole};
use guild_learning::modules::{self, ModuleInput};
use guild_learning::sections::{self, SectionInput};
use guild_testkit::TestDb;
use uuid::Uuid;

use crate::AssessmentError;
use crate::attempts::{self, Started};
use crate::questions::{self, ChoiceOption, QuestionInput, QuestionKind};
use crate::quizzes::{self, QuizInput};
use crate::scoring::Answer;

use guild_testkit::actor;

mod banks;

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
        sections::create(conn, owner, created.row.id, &section, chrono::Utc::now()).await?;
        let published = modules::set_status(
            conn,
            owner,
            created.row.id,
            created.row.revision,
            modules::ModuleStatus::Published,
            &guild_learning::versions::ChangeNote::default(),
            chrono::Utc::now(),
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
        let question = questions::create(conn, owner, QuizId(quiz.quiz.id), &question).await?;
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
        attempts::start(conn, member, QuizId(quiz), chrono::Utc::now()).await
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
        attempts::submit(
            conn,
            member,
            AttemptId(attempt),
            &answers,
            chrono::Utc::now(),
        )
        .await
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

// --- Scoring, pass mark, prerequisites and the deadline, with the time the functions take ----

fn option(id: &str, correct: bool) -> ChoiceOption {
    ChoiceOption {
        id: id.into(),
        text: id.to_uppercase(),
        correct,
    }
}

fn choice(kind: QuestionKind, points: i32, options: Vec<ChoiceOption>) -> QuestionInput {
    QuestionInput {
        kind: Some(kind),
        prompt: Some("Pick".into()),
        options: Some(options),
        points: Some(points),
        ..QuestionInput::default()
    }
}

fn written(kind: QuestionKind, points: i32, accepted: &[&str]) -> QuestionInput {
    QuestionInput {
        kind: Some(kind),
        prompt: Some("Write".into()),
        accepted_answers: Some(accepted.iter().map(|a| (*a).to_owned()).collect()),
        points: Some(points),
        ..QuestionInput::default()
    }
}

/// A quiz of `module` with `questions`, in order; returns the quiz and the questions' ids.
async fn quiz_of(
    db: &TestDb,
    owner: &Actor,
    module: Uuid,
    input: QuizInput,
    questions: &[QuestionInput],
) -> (Uuid, Vec<Uuid>) {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        let input = QuizInput {
            title: Some("Check".into()),
            show_answers: Some(crate::quizzes::ShowAnswers::Always),
            ..input
        };
        let quiz = quizzes::create(conn, owner, module, &input).await?;
        let mut ids = Vec::new();
        for q in questions {
            ids.push(
                questions::create(conn, owner, QuizId(quiz.quiz.id), q)
                    .await?
                    .id,
            );
        }
        Ok::<_, AssessmentError>((quiz.quiz.id, ids))
    })
    .await
    .unwrap()
}

fn picks(question: Uuid, ids: &[&str]) -> Answer {
    Answer {
        question_id: question,
        option_ids: ids.iter().map(|i| (*i).to_owned()).collect(),
        text: None,
    }
}

fn text(question: Uuid, text: &str) -> Answer {
    Answer {
        question_id: question,
        option_ids: Vec::new(),
        text: Some(text.into()),
    }
}

/// Starts an attempt at `now`.
async fn start_at(
    db: &TestDb,
    member: &Actor,
    quiz: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Uuid, AssessmentError> {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        attempts::start(conn, member, QuizId(quiz), now).await
    })
    .await
    .map(|started| match started {
        Started::New(a) | Started::Resumed(a) => a.attempt.id,
    })
}

/// Submits `answers` to `attempt` at `now`.
async fn submit_at(
    db: &TestDb,
    member: &Actor,
    attempt: Uuid,
    answers: &[Answer],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<attempts::AttemptView, AssessmentError> {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        attempts::submit(conn, member, AttemptId(attempt), answers, now).await
    })
    .await
}

async fn outbox_kinds(db: &TestDb) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Kind {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
    }
    let rows: Vec<Kind> = diesel::sql_query(
        "SELECT kind FROM outbox_events WHERE kind LIKE 'assessment.quiz_%' ORDER BY id",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.kind).collect()
}

#[tokio::test]
async fn each_question_kind_scores_by_its_rule_and_an_answered_essay_holds_the_verdict() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let module = module(&db, &owner, "Ladders").await;
    let (quiz, q) = quiz_of(
        &db,
        &owner,
        module,
        QuizInput {
            passing_score_percent: Some(60),
            multiple_choice_scoring: Some(crate::scoring::ScoringMode::Partial),
            ..QuizInput::default()
        },
        &[
            choice(
                QuestionKind::SingleChoice,
                1,
                vec![option("a", true), option("b", false)],
            ),
            choice(
                QuestionKind::TrueFalse,
                1,
                vec![option("true", true), option("false", false)],
            ),
            choice(
                QuestionKind::MultipleChoice,
                3,
                vec![
                    option("a", true),
                    option("b", true),
                    option("c", true),
                    option("d", false),
                ],
            ),
            written(QuestionKind::FillInBlank, 1, &["Hard  Hat"]),
            written(QuestionKind::Essay, 4, &[]),
        ],
    )
    .await;
    let now = chrono::Utc::now();
    let attempt = start_at(&db, &ann, quiz, now).await.unwrap();
    let answers = [
        picks(q[0], &["a"]),
        picks(q[1], &["false"]),
        picks(q[2], &["a", "b"]),
        text(q[3], "  hard\thAT "),
        text(q[4], "Three points of contact."),
    ];
    let submitted = submit_at(&db, &ann, attempt, &answers, now).await.unwrap();
    let points: Vec<Option<f64>> = submitted
        .results
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| r.points_awarded)
        .collect();
    // Right, wrong, two of three correct options (partial credit), right, waiting for a grader.
    assert_eq!(points, [Some(1.0), Some(0.0), Some(2.0), Some(1.0), None]);
    assert_eq!(
        submitted.attempt.status,
        attempts::AttemptStatus::PendingReview
    );
    assert_eq!(submitted.attempt.score_points, Some(4.0));
    assert_eq!(submitted.attempt.max_points, Some(10));
    assert_eq!(submitted.attempt.score_percent, None);
    assert_eq!(submitted.attempt.passed, None);
    assert!(outbox_kinds(&db).await.is_empty(), "no verdict yet");

    // 2 of the essay's 4 points make 6 of 10: exactly the pass mark.
    let mut conn = db.conn().await;
    let graded = tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        let grade = attempts::EssayGrade {
            question_id: q[4],
            points: 2.0,
            feedback: Some("And the fourth?".into()),
        };
        attempts::grade(conn, &owner, AttemptId(attempt), &[grade]).await
    })
    .await
    .unwrap();
    assert_eq!(graded.attempt.status, attempts::AttemptStatus::Graded);
    assert_eq!(graded.attempt.score_percent, Some(60.0));
    assert_eq!(graded.attempt.passed, Some(true));
    assert_eq!(outbox_kinds(&db).await, ["assessment.quiz_passed"]);
}

#[tokio::test]
async fn a_score_below_the_pass_mark_fails_and_all_or_nothing_gives_no_partial_credit() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let module = module(&db, &owner, "Ladders").await;
    let questions = [
        choice(
            QuestionKind::MultipleChoice,
            3,
            vec![
                option("a", true),
                option("b", true),
                option("c", true),
                option("d", false),
            ],
        ),
        choice(
            QuestionKind::SingleChoice,
            1,
            vec![option("a", true), option("b", false)],
        ),
    ];
    let scored = async |mode| {
        let input = QuizInput {
            passing_score_percent: Some(50),
            multiple_choice_scoring: Some(mode),
            ..QuizInput::default()
        };
        let (quiz, q) = quiz_of(&db, &owner, module, input, &questions).await;
        let now = chrono::Utc::now();
        let attempt = start_at(&db, &ann, quiz, now).await.unwrap();
        // Every correct option and a wrong one: partial credit nets 2 of 3.
        let answers = [picks(q[0], &["a", "b", "c", "d"]), picks(q[1], &["b"])];
        let done = submit_at(&db, &ann, attempt, &answers, now).await.unwrap();
        (done.attempt.score_percent, done.attempt.passed)
    };
    assert_eq!(
        scored(crate::scoring::ScoringMode::Partial).await,
        (Some(50.0), Some(true))
    );
    assert_eq!(
        scored(crate::scoring::ScoringMode::AllOrNothing).await,
        (Some(0.0), Some(false))
    );
    // Each verdict is told once: the pass, then the failure (webhooks send both).
    assert_eq!(
        outbox_kinds(&db).await,
        ["assessment.quiz_passed", "assessment.quiz_failed"]
    );
}

#[tokio::test]
async fn a_quiz_locks_with_its_module_until_every_prerequisite_is_complete() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let basics = module(&db, &owner, "Basics").await;
    let advanced = module(&db, &owner, "Advanced").await;
    let (quiz, _) = quiz(&db, &owner, advanced, None).await;
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        modules::set_prerequisites(conn, &owner, advanced, &[basics]).await
    })
    .await
    .unwrap();
    let now = chrono::Utc::now();
    assert!(matches!(
        start_at(&db, &ann, quiz, now).await,
        Err(AssessmentError::ModuleLocked)
    ));

    // An archived completion (an earlier compliance cycle) unlocks nothing; an active one does.
    let complete = |archived: &str| {
        format!(
            "INSERT INTO module_completions (tenant_id, id, user_id, module_id, source, completed_at, archived_at) \
             VALUES ('{}', '{}', '{}', '{basics}', 'PROGRESS', now(), {archived})",
            ann.tenant_id.into_uuid(),
            Uuid::now_v7(),
            ann.user_id.into_uuid(),
        )
    };
    diesel::sql_query(complete("now()"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(matches!(
        start_at(&db, &ann, quiz, now).await,
        Err(AssessmentError::ModuleLocked)
    ));
    diesel::sql_query(complete("NULL"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(start_at(&db, &ann, quiz, now).await.is_ok());
}

#[tokio::test]
async fn an_attempt_is_accepted_until_thirty_seconds_past_its_time_limit_and_then_times_out() {
    let db = TestDb::new().await;
    let (owner, ann) = people(&db).await;
    let module = module(&db, &owner, "Ladders").await;
    let (quiz, q) = quiz_of(
        &db,
        &owner,
        module,
        QuizInput {
            time_limit_seconds: Some(Some(60)),
            ..QuizInput::default()
        },
        &[choice(
            QuestionKind::SingleChoice,
            1,
            vec![option("a", true), option("b", false)],
        )],
    )
    .await;
    // Whole seconds: the stored deadline keeps microseconds, the wall clock nanoseconds.
    let clock =
        guild_kernel::ManualClock::new(chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0));
    let now = || guild_kernel::Clock::now(&clock);
    let answer = [picks(q[0], &["a"])];

    let first = start_at(&db, &ann, quiz, now()).await.unwrap();
    clock.advance(chrono::Duration::seconds(60 + 30));
    let on_time = submit_at(&db, &ann, first, &answer, now()).await.unwrap();
    assert_eq!(on_time.attempt.passed, Some(true));

    let second = start_at(&db, &ann, quiz, now()).await.unwrap();
    clock.advance(chrono::Duration::seconds(60 + 31));
    assert!(matches!(
        submit_at(&db, &ann, second, &answer, now()).await,
        Err(AssessmentError::AttemptTimedOut)
    ));
    // Starting again closes the expired attempt as TIMED_OUT and gives a new one.
    let third = start_at(&db, &ann, quiz, now()).await.unwrap();
    assert_ne!(third, second);
}
