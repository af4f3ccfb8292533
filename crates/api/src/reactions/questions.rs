//! What members hear of questions, and the job that keeps escalated questions moving:
//!
//! - `ai.question_assigned`: the mentor gets QUESTION_ASSIGNED, once per assignment (the
//!   module's round-robin turn is in the dedup key, so a question that comes back to them later
//!   tells them again).
//! - `ai.question_answered`: the asker gets QUESTION_ANSWERED, once per question.
//! - `ai.question_accepted`: the mentor gets QUESTION_ACCEPTED and earns MENTOR_CONFIRMATION XP,
//!   once per question (the ledger is unique per member, source and question); never for an
//!   answer of the asker's own.
//! - `ai.reassign_questions` (every minute): in each active tenant, escalated questions waiting
//!   without a mentor are assigned, and those not picked up in time go to the next mentor.

use std::time::Duration;

use guild_ai::questions::{
    self, QuestionAccepted, QuestionAnswered, QuestionAssigned, ReassignJob,
};
use guild_db::jobs::Schedule;
use guild_db::worker::{HandlerError, Registry};
use guild_kernel::{TenantId, UserId};
use guild_notifications::inbox::NewNotification;
use guild_notifications::{EntityKind, NotificationType};
use uuid::Uuid;

use crate::state::AppState;

/// Registers the reactions to questions and the re-assignment schedule.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("notify_question_assigned", move |_, e: QuestionAssigned| {
        let state = s.clone();
        async move {
            tell(
                &state,
                e.tenant_id,
                e.mentor_id,
                NotificationType::QuestionAssigned,
                "A question is waiting for your answer",
                e.question_id,
                format!("question_assigned:{}:{}", e.question_id, e.turn),
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("notify_question_answered", move |_, e: QuestionAnswered| {
        let state = s.clone();
        async move {
            tell(
                &state,
                e.tenant_id,
                e.asker_id,
                NotificationType::QuestionAnswered,
                "A mentor answered your question",
                e.question_id,
                format!("question_answered:{}", e.question_id),
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("reward_question_accepted", move |_, e: QuestionAccepted| {
        let state = s.clone();
        async move {
            // The domain refuses accepting one's own answer; this keeps it so for any event.
            if e.mentor_id == e.asker_id {
                return Ok(());
            }
            tell(
                &state,
                e.tenant_id,
                e.mentor_id,
                NotificationType::QuestionAccepted,
                "Your answer was accepted",
                e.question_id,
                format!("question_accepted:{}", e.question_id),
            )
            .await?;
            super::gamification::award(
                &state,
                e.tenant_id,
                e.mentor_id,
                "MENTOR_CONFIRMATION",
                e.question_id,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_job(move |_, _: ReassignJob| {
        let state = s.clone();
        async move {
            let now = state.clock.now();
            let mut conn = guild_db::connect(&state.db).await?;
            let tenants = questions::active_tenants(&mut conn).await?;
            let mut moved = 0;
            for tenant in tenants {
                moved += guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                    questions::reassign_stale(c, tenant, now).await
                })
                .await?;
            }
            Ok(Some(serde_json::json!({ "moved": moved })))
        }
    });
    registry.schedule(Schedule::every(
        "reassign_questions",
        Duration::from_secs(60),
        &ReassignJob::default(),
    ));
}

/// Notifies `user` about question `question` once per `dedup_key`, and pushes it to their stream.
async fn tell(
    state: &AppState,
    tenant: Uuid,
    user: Uuid,
    kind: NotificationType,
    title: &str,
    question: Uuid,
    dedup_key: String,
) -> Result<(), HandlerError> {
    let tenant = TenantId(tenant);
    let user = UserId(user);
    let now = state.clock.now();
    let note = NewNotification {
        user,
        kind,
        title: title.to_owned(),
        body: String::new(),
        entity: Some((EntityKind::Question, question)),
        dedup_key,
        data: serde_json::Value::Null,
    };
    let mut conn = guild_db::connect(&state.db).await?;
    let event = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        super::notifications::write(c, tenant, &note, now).await
    })
    .await?;
    if let Some(event) = event {
        crate::routes::stream::publish(state, tenant, user, &event).await;
    }
    Ok(())
}
