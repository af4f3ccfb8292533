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
//! - `ai.index_passages` (every minute, where vector search is on: pgvector and an embedding
//!   model): in each active tenant, new and changed passages are embedded (at most
//!   `BATCHES_PER_RUN` calls of `BATCH` passages, each under the tenant's budget and recorded as
//!   `SEARCH_INDEX` usage), and embeddings of what is no longer searchable are deleted. One run
//!   at a time across processes ([`guild_db::exclusive`]); a run that finds another under way
//!   ends at once.

use std::time::Duration;

use guild_ai::embeddings::{self, IndexJob};
use guild_ai::questions::{
    self, QuestionAccepted, QuestionAnswered, QuestionAssigned, ReassignJob,
};
use guild_ai::usage::Feature;
use guild_db::jobs::{Job, Schedule};
use guild_db::worker::{HandlerError, Registry};
use guild_kernel::ports::ai::AiCapability;
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
    let s = state.clone();
    registry.on_job(move |_, _: IndexJob| {
        let state = s.clone();
        async move { index_passages(&state).await }
    });
    registry.schedule(Schedule::every(
        "index_passages",
        Duration::from_secs(60),
        &IndexJob::default(),
    ));
}

/// [`IndexJob`]'s run: embeds each tenant's pending passages and prunes the rest.
async fn index_passages(state: &AppState) -> Result<Option<serde_json::Value>, HandlerError> {
    if !state.vector_search().await {
        return Ok(None);
    }
    // Passages and questions are compared by the configured name (what a provider answers in
    // `model` may carry a version suffix).
    let model = state
        .ai
        .model_name(AiCapability::Embeddings)
        .unwrap_or_default()
        .to_owned();
    // One run at a time, across processes: two would read the same pending passages and pay the
    // model twice for them (a run that outlasts its minute meets the next tick's job).
    let Some(mut conn) = guild_db::exclusive(&state.db, IndexJob::KIND).await? else {
        return Ok(Some(
            serde_json::json!({ "skipped": "another run is indexing" }),
        ));
    };
    let tenants = questions::active_tenants(&mut conn).await?;
    let (mut embedded, mut pruned, mut stopped) = (0, 0, 0);
    for tenant in tenants {
        pruned += guild_db::tenant_transaction(&mut conn, tenant, async |c| {
            embeddings::prune(c, tenant).await
        })
        .await?;
        for _ in 0..embeddings::BATCHES_PER_RUN {
            let pending = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                embeddings::pending(c, tenant, &model, embeddings::BATCH).await
            })
            .await?;
            if pending.is_empty() {
                break;
            }
            let texts: Vec<String> = pending.iter().map(|p| p.text.clone()).collect();
            // The model is called between transactions; a spent budget or a failing provider
            // ends this tenant's run (the next run starts again where this one stopped).
            let called =
                crate::routes::ai::embed_for(state, tenant, None, Feature::SearchIndex, &texts)
                    .await;
            let Ok(answer) = called else {
                stopped += 1;
                break;
            };
            let now = state.clock.now();
            let stored = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                embeddings::store(c, tenant, &model, &pending, &answer.vectors, now).await
            })
            .await;
            match stored {
                Ok(n) => embedded += n,
                Err(e) => {
                    tracing::warn!(error = %e, "embeddings not stored");
                    stopped += 1;
                    break;
                }
            }
        }
    }
    Ok(Some(serde_json::json!({
        "embedded": embedded, "pruned": pruned, "tenants_stopped": stopped
    })))
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
