//! Question banks: what an attempt draws is fixed for it, differs between attempts, survives
//! edits of the bank, stays in its tenant, and the limits hold.

use diesel_async::RunQueryDsl;
use guild_db::tenant_transaction;
use guild_kernel::{Actor, AttemptId, QuizId, TenantRole};
use guild_testkit::{TestDb, actor};
use uuid::Uuid;

use super::{module, people};
use crate::AssessmentError;
use crate::attempts::{self, AttemptStatus, AttemptView, Started};
use crate::banks::{self, BankInput, BankQuestionInput, Draw};
use crate::questions::{ChoiceOption, QuestionInput, QuestionKind};
use crate::quizzes::{self, QuizInput};
use crate::scoring::Answer;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// A SINGLE_CHOICE bank question whose right answer is `a`.
fn single(prompt: &str, tags: &[&str]) -> BankQuestionInput {
    let option = |id: &str, correct| ChoiceOption {
        id: id.into(),
        text: id.to_uppercase(),
        correct,
    };
    BankQuestionInput {
        question: QuestionInput {
            kind: Some(QuestionKind::SingleChoice),
            prompt: Some(prompt.into()),
            options: Some(vec![option("a", true), option("b", false)]),
            ..QuestionInput::default()
        },
        tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
    }
}

/// A bank of `n` questions ("Q0"…), the even ones tagged `even`; returns the bank and the
/// questions' ids.
async fn bank(db: &TestDb, owner: &Actor, n: usize) -> (Uuid, Vec<Uuid>) {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        let input = BankInput {
            name: Some("Warehouse".into()),
            description: None,
        };
        let bank = banks::create(conn, owner, &input, now()).await?;
        let mut ids = Vec::new();
        for i in 0..n {
            let tags: &[&str] = if i % 2 == 0 { &["Even"] } else { &[] };
            let q = single(&format!("Q{i}"), tags);
            ids.push(
                banks::create_question(conn, owner, bank.bank.id, &q, now())
                    .await?
                    .id,
            );
        }
        Ok::<_, AssessmentError>((bank.bank.id, ids))
    })
    .await
    .unwrap()
}

/// A quiz without questions of its own that draws `draws`.
async fn drawing_quiz(db: &TestDb, owner: &Actor, module: Uuid, draws: Vec<Draw>) -> Uuid {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        let input = QuizInput {
            title: Some("Drawn".into()),
            draws: Some(draws),
            ..QuizInput::default()
        };
        Ok::<_, AssessmentError>(quizzes::create(conn, owner, module, &input).await?.quiz.id)
    })
    .await
    .unwrap()
}

async fn start(db: &TestDb, member: &Actor, quiz: Uuid) -> AttemptView {
    let mut conn = db.conn().await;
    let started = tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        attempts::start(conn, member, QuizId(quiz), now()).await
    })
    .await
    .unwrap();
    match started {
        Started::New(a) | Started::Resumed(a) => *a,
    }
}

async fn read(db: &TestDb, member: &Actor, attempt: Uuid) -> AttemptView {
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        attempts::get(conn, member, AttemptId(attempt)).await
    })
    .await
    .unwrap()
}

/// Answers `a` (right) to every question of the attempt.
async fn submit_right(db: &TestDb, member: &Actor, view: &AttemptView) -> AttemptView {
    let answers: Vec<Answer> = view
        .questions
        .iter()
        .map(|q| Answer {
            question_id: q.id,
            option_ids: vec!["a".into()],
            text: None,
        })
        .collect();
    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        attempts::submit(conn, member, AttemptId(view.attempt.id), &answers, now()).await
    })
    .await
    .unwrap()
}

fn prompts(view: &AttemptView) -> Vec<String> {
    view.questions.iter().map(|q| q.prompt.clone()).collect()
}

#[test]
fn the_same_seed_picks_the_same_and_other_seeds_pick_otherwise() {
    let candidates: Vec<u32> = (0..30).collect();
    let pick = |seed: u64| banks::pick(&mut fastrand::Rng::with_seed(seed), candidates.clone(), 5);
    assert_eq!(pick(7), pick(7));
    assert_eq!(pick(7).len(), 5);
    let mut distinct = pick(7);
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "a pick never repeats a candidate");
    assert_ne!(pick(7), pick(8));
    // Asking for more than there are gives them all.
    assert_eq!(
        banks::pick(&mut fastrand::Rng::with_seed(1), vec![1, 2], 5).len(),
        2
    );
    let id = Uuid::now_v7();
    assert_eq!(banks::seed(id), banks::seed(id));
    assert_ne!(banks::seed(id), banks::seed(Uuid::now_v7()));
}

#[tokio::test]
async fn an_attempt_keeps_what_it_drew_and_is_scored_on_it() {
    let db = TestDb::new().await;
    let (owner, member) = people(&db).await;
    let module = module(&db, &owner, "Warehouse").await;
    let (bank_id, ids) = bank(&db, &owner, 20).await;
    let quiz = drawing_quiz(
        &db,
        &owner,
        module,
        vec![Draw {
            bank_id,
            count: 5,
            tags: Vec::new(),
        }],
    )
    .await;

    let first = start(&db, &member, quiz).await;
    assert_eq!(first.questions.len(), 5);
    assert!(first.questions.iter().all(|q| ids.contains(&q.id)));
    // Resuming and re-reading show the same questions in the same order.
    let resumed = start(&db, &member, quiz).await;
    assert_eq!(resumed.attempt.id, first.attempt.id);
    assert_eq!(prompts(&resumed), prompts(&first));
    assert_eq!(
        prompts(&read(&db, &member, first.attempt.id).await),
        prompts(&first)
    );

    let scored = submit_right(&db, &member, &first).await;
    assert_eq!(scored.attempt.status, AttemptStatus::Graded);
    assert_eq!(scored.attempt.max_points, Some(5));
    assert_eq!(scored.attempt.score_percent, Some(100.0));
}

#[tokio::test]
async fn attempts_draw_differently_and_a_tagged_draw_takes_only_tagged_questions() {
    let db = TestDb::new().await;
    let (owner, member) = people(&db).await;
    let module = module(&db, &owner, "Warehouse").await;
    let (bank_id, _) = bank(&db, &owner, 30).await;
    let quiz = drawing_quiz(
        &db,
        &owner,
        module,
        vec![Draw {
            bank_id,
            count: 4,
            tags: vec![" EVEN ".into()],
        }],
    )
    .await;

    let mut drawn = Vec::new();
    for _ in 0..3 {
        let view = start(&db, &member, quiz).await;
        for q in &view.questions {
            let n: usize = q.prompt[1..].parse().unwrap();
            assert_eq!(n % 2, 0, "{} is not tagged even", q.prompt);
        }
        let mut set = prompts(&view);
        set.sort();
        drawn.push(set);
        submit_right(&db, &member, &view).await;
    }
    assert_eq!(drawn[0].len(), 4);
    assert!(
        drawn[0] != drawn[1] || drawn[1] != drawn[2],
        "three attempts drew the same 4 of 15: {drawn:?}"
    );
}

#[tokio::test]
async fn editing_or_deleting_a_bank_question_changes_no_attempt_already_started() {
    let db = TestDb::new().await;
    let (owner, member) = people(&db).await;
    let module = module(&db, &owner, "Warehouse").await;
    let (bank_id, _) = bank(&db, &owner, 2).await;
    let quiz = drawing_quiz(
        &db,
        &owner,
        module,
        vec![Draw {
            bank_id,
            count: 2,
            tags: Vec::new(),
        }],
    )
    .await;
    let view = start(&db, &member, quiz).await;
    let before = prompts(&view);

    let mut conn = db.conn().await;
    tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        let edited = view.questions[0].id;
        let change = BankQuestionInput {
            question: QuestionInput {
                prompt: Some("Changed".into()),
                options: Some(vec![
                    ChoiceOption {
                        id: "a".into(),
                        text: "A".into(),
                        correct: false,
                    },
                    ChoiceOption {
                        id: "b".into(),
                        text: "B".into(),
                        correct: true,
                    },
                ]),
                ..QuestionInput::default()
            },
            tags: None,
        };
        banks::update_question(conn, &owner, bank_id, edited, 1, &change, now()).await?;
        banks::delete_question(conn, &owner, bank_id, view.questions[1].id, 1).await
    })
    .await
    .unwrap();

    assert_eq!(prompts(&read(&db, &member, view.attempt.id).await), before);
    // Scored on the answer key the attempt drew (`a`), not the edited one.
    let scored = submit_right(&db, &member, &view).await;
    assert_eq!(scored.attempt.score_percent, Some(100.0));
}

#[tokio::test]
async fn banks_stay_in_their_tenant_and_need_the_quiz_authoring_permission() {
    let db = TestDb::new().await;
    let (owner, member) = people(&db).await;
    let (bank_id, question_ids) = bank(&db, &owner, 1).await;
    let (tenant, other) = (Uuid::now_v7(), Uuid::now_v7());
    let mut conn = db.conn().await;
    for sql in [
        format!("INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'Other', 'other')"),
        format!(
            "INSERT INTO users (id, email, name) VALUES ('{other}', 'o@other.example.com', 'O')"
        ),
        format!(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES ('{tenant}', '{other}', 'OWNER')"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }
    let stranger = actor(tenant, other, TenantRole::Owner);
    let other_module = module(&db, &stranger, "Theirs").await;

    let found = tenant_transaction(&mut conn, stranger.tenant_id, async |conn| {
        let bank = banks::get(conn, &stranger, bank_id).await.err();
        let question = banks::get_question(conn, &stranger, bank_id, question_ids[0])
            .await
            .err();
        let input = QuizInput {
            title: Some("Borrowed".into()),
            draws: Some(vec![Draw {
                bank_id,
                count: 1,
                tags: Vec::new(),
            }]),
            ..QuizInput::default()
        };
        let draw = quizzes::create(conn, &stranger, other_module, &input)
            .await
            .err();
        Ok::<_, AssessmentError>((bank, question, draw))
    })
    .await
    .unwrap();
    assert!(matches!(
        found.0,
        Some(AssessmentError::QuestionBankNotFound)
    ));
    assert!(matches!(
        found.1,
        Some(AssessmentError::QuestionBankNotFound)
    ));
    assert!(matches!(
        found.2,
        Some(AssessmentError::QuestionBankNotFound)
    ));

    let refused = tenant_transaction(&mut conn, member.tenant_id, async |conn| {
        banks::get(conn, &member, bank_id).await
    })
    .await;
    assert!(matches!(refused, Err(AssessmentError::Forbidden(_))));
}

#[tokio::test]
async fn a_tenant_holds_at_most_its_banks_and_a_bank_its_questions() {
    let db = TestDb::new().await;
    let (owner, _) = people(&db).await;
    let tenant = owner.tenant_id.into_uuid();
    let (bank_id, _) = bank(&db, &owner, 0).await;
    let mut conn = db.conn().await;
    diesel::sql_query(format!(
        "INSERT INTO question_banks (tenant_id, id, name, created_by, created_at, updated_at) \
         SELECT '{tenant}', gen_random_uuid(), 'Bank ' || i, '{}', now(), now() \
         FROM generate_series(2, {}) AS i",
        owner.user_id,
        banks::MAX_BANKS_PER_TENANT
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO question_bank_questions (tenant_id, id, bank_id, kind, prompt, options, \
         created_at, updated_at) \
         SELECT '{tenant}', gen_random_uuid(), '{bank_id}', 'ESSAY', 'Why ' || i, '[]', now(), now() \
         FROM generate_series(1, {}) AS i",
        banks::MAX_QUESTIONS_PER_BANK
    ))
    .execute(&mut conn)
    .await
    .unwrap();

    let (banks_full, bank_full) = tenant_transaction(&mut conn, owner.tenant_id, async |conn| {
        let input = BankInput {
            name: Some("One more".into()),
            description: None,
        };
        let a = banks::create(conn, &owner, &input, now()).await.err();
        let b = banks::create_question(conn, &owner, bank_id, &single("More", &[]), now())
            .await
            .err();
        Ok::<_, AssessmentError>((a, b))
    })
    .await
    .unwrap();
    assert!(matches!(
        banks_full,
        Some(AssessmentError::QuestionBankLimitReached)
    ));
    assert!(matches!(
        bank_full,
        Some(AssessmentError::BankQuestionLimitReached)
    ));
}
