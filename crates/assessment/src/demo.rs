//! The demo tenant's question bank, for a newcomer to find after `make run`: "Workplace safety"
//! with tagged questions of several kinds, and, on the demo's first module, a quiz that draws
//! three of its `fire` questions for each attempt.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, GlobalRole, TenantId, TenantRole, UserId};
use uuid::Uuid;

use crate::AssessmentError;
use crate::banks::{self, BankInput, BankQuestionInput, Draw};
use crate::questions::{ChoiceOption, QuestionInput, QuestionKind};
use crate::quizzes::{self, QuizInput};

fn choice(
    kind: QuestionKind,
    prompt: &str,
    options: &[(&str, bool)],
    tag: &str,
) -> BankQuestionInput {
    BankQuestionInput {
        question: QuestionInput {
            kind: Some(kind),
            prompt: Some(prompt.to_owned()),
            options: Some(
                options
                    .iter()
                    .enumerate()
                    .map(|(i, (text, correct))| ChoiceOption {
                        id: ((b'a' + u8::try_from(i).unwrap_or(0)) as char).to_string(),
                        text: (*text).to_owned(),
                        correct: *correct,
                    })
                    .collect(),
            ),
            ..QuestionInput::default()
        },
        tags: Some(vec![tag.to_owned()]),
    }
}

/// Creates the demo bank once; `false` when there is no demo tenant or it has a bank.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, AssessmentError> {
    use guild_db::schema::{memberships, modules, question_banks, tenants};
    let owner: Option<(Uuid, Uuid)> = tenants::table
        .inner_join(memberships::table.on(memberships::tenant_id.eq(tenants::id)))
        .filter(tenants::slug.eq("demo"))
        .filter(memberships::role.eq("OWNER"))
        .order(memberships::user_id)
        .select((tenants::id, memberships::user_id))
        .first(conn)
        .await
        .optional()?;
    let Some((tenant, owner)) = owner else {
        return Ok(false);
    };
    let tenant = TenantId(tenant);
    let actor = Actor {
        user_id: UserId(owner),
        tenant_id: tenant,
        role: TenantRole::Owner,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    };
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = question_banks::table
            .filter(question_banks::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        if any > 0 {
            return Ok(false);
        }
        let bank = banks::create(
            conn,
            &actor,
            &BankInput {
                name: Some("Workplace safety".to_owned()),
                description: Some("Questions shared by the safety quizzes.".to_owned()),
            },
            now,
        )
        .await?
        .bank
        .id;
        let questions = [
            choice(
                QuestionKind::SingleChoice,
                "Which extinguisher is safe on an electrical fire?",
                &[("Water", false), ("CO2", true), ("Foam", false)],
                "fire",
            ),
            choice(
                QuestionKind::TrueFalse,
                "You should use the lift during a fire alarm.",
                &[("True", false), ("False", true)],
                "fire",
            ),
            choice(
                QuestionKind::MultipleChoice,
                "What do you do when the fire alarm sounds?",
                &[
                    ("Leave by the nearest exit", true),
                    ("Go to the assembly point", true),
                    ("Collect your belongings first", false),
                ],
                "fire",
            ),
            choice(
                QuestionKind::SingleChoice,
                "Where is the assembly point?",
                &[("The car park", true), ("The canteen", false)],
                "fire",
            ),
            choice(
                QuestionKind::TrueFalse,
                "A first aider may move an injured person who is in danger.",
                &[("True", true), ("False", false)],
                "first-aid",
            ),
        ];
        for q in &questions {
            banks::create_question(conn, &actor, bank, q, now).await?;
        }
        let module: Option<Uuid> = modules::table
            .filter(modules::tenant_id.eq(tenant.into_uuid()))
            .order((modules::title.asc(), modules::id.asc()))
            .select(modules::id)
            .first(conn)
            .await
            .optional()?;
        if let Some(module) = module {
            let input = QuizInput {
                title: Some("Fire safety check".to_owned()),
                description: Some(
                    "Three fire safety questions, drawn for each attempt.".to_owned(),
                ),
                draws: Some(vec![Draw {
                    bank_id: bank,
                    count: 3,
                    tags: vec!["fire".to_owned()],
                }]),
                ..QuizInput::default()
            };
            quizzes::create(conn, &actor, module, &input).await?;
        }
        Ok::<_, AssessmentError>(true)
    })
    .await
}

/// Answers for the demo's history to submit to an attempt: the first `right` of its questions
/// (in the attempt's order) answered correctly, the others with their first wrong option (so
/// the item analysis has distractors to show). Read from the questions as the attempt keeps
/// them, answer key included; empty for an attempt not found.
pub async fn answers(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    attempt: Uuid,
    right: usize,
) -> Result<Vec<crate::scoring::Answer>, AssessmentError> {
    use guild_db::schema::quiz_attempts as a;
    let found: Option<(serde_json::Value, serde_json::Value)> = a::table
        .filter(a::tenant_id.eq(tenant.into_uuid()))
        .filter(a::id.eq(attempt))
        .select((a::questions, a::question_order))
        .first(conn)
        .await
        .optional()?;
    let Some((questions, order)) = found else {
        return Ok(Vec::new());
    };
    let questions: Vec<crate::questions::Question> =
        serde_json::from_value(questions).unwrap_or_default();
    let order: Vec<crate::attempts::Slot> = serde_json::from_value(order).unwrap_or_default();
    Ok(order
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| {
            let q = questions.iter().find(|q| q.id == slot.question_id)?;
            let option_ids: Vec<String> = if i < right {
                q.options
                    .iter()
                    .filter(|o| o.correct)
                    .map(|o| o.id.clone())
                    .collect()
            } else {
                q.options
                    .iter()
                    .find(|o| !o.correct)
                    .map(|o| vec![o.id.clone()])
                    .unwrap_or_default()
            };
            Some(crate::scoring::Answer {
                question_id: q.id,
                option_ids,
                text: None,
            })
        })
        .collect())
}
