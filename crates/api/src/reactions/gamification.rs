//! XP awarded from domain events: `learning.module_completed` (per module),
//! `assessment.quiz_high_score` (per quiz) and `learning.compliance_renewal` (per new
//! certificate), each in the member's tenant transaction.

use guild_assessment::events::QuizHighScore;
use guild_db::worker::{HandlerError, Registry};
use guild_gamification::ledger;
use guild_kernel::{TenantId, UserId};
use guild_notifications::inbox::NewNotification;
use guild_notifications::{EntityKind, NotificationType};
use guild_progress::completion::ModuleCompleted;
use guild_progress::compliance::ComplianceRenewal;
use uuid::Uuid;

use super::notifications::NotifyError;
use crate::state::AppState;

/// Registers the XP awards: `learning.module_completed` (per module), `assessment.quiz_high_score`
/// (per quiz) and `learning.compliance_renewal` (per new certificate). Each awards once however
/// often the event is delivered, and nothing for an event that says it is not `rewarded` (an
/// author's or mentor's own module, a second renewal in one validity period).
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("xp_module_completed", move |_, e: ModuleCompleted| {
        let state = s.clone();
        async move {
            if !e.rewarded {
                return Ok(());
            }
            award(
                &state,
                e.tenant_id,
                e.user_id,
                "MODULE_COMPLETED",
                e.module_id,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("xp_quiz_high_score", move |_, e: QuizHighScore| {
        let state = s.clone();
        async move {
            if !e.0.rewarded {
                return Ok(());
            }
            award(
                &state,
                e.0.tenant_id,
                e.0.user_id,
                "QUIZ_HIGH_SCORE",
                e.0.quiz_id,
            )
            .await
        }
    });
    let s = state.clone();
    registry.on_event("xp_compliance_renewal", move |_, e: ComplianceRenewal| {
        let state = s.clone();
        async move {
            if !e.rewarded {
                return Ok(());
            }
            award(
                &state,
                e.tenant_id,
                e.user_id,
                "COMPLIANCE_RENEWAL",
                e.certificate_id,
            )
            .await
        }
    });
}

/// Awards the XP and, in the same transaction, tells the member (XP_EARNED): a redelivered event
/// neither awards nor notifies twice, and a failure retries both.
pub(crate) async fn award(
    state: &AppState,
    tenant: Uuid,
    user: Uuid,
    source: &'static str,
    entity: Uuid,
) -> Result<(), HandlerError> {
    let mut conn = guild_db::connect(&state.db).await?;
    let tenant = TenantId(tenant);
    let now = state.clock.now();
    let event = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        if ledger::award(c, tenant, UserId(user), source, entity)
            .await?
            .is_none()
        {
            return Ok::<_, NotifyError>(None);
        }
        let amount = guild_gamification::settings::load(c, tenant)
            .await?
            .amount_for(source)
            .unwrap_or_default();
        let (why, link) = match source {
            "MODULE_COMPLETED" => ("For completing a module.", Some(EntityKind::Module)),
            "QUIZ_HIGH_SCORE" => ("For a high quiz score.", None),
            "MENTOR_CONFIRMATION" => ("A mentor confirmed your answer.", None),
            "TOP_SUGGESTION" => (
                "Your suggestion became popular.",
                Some(EntityKind::Suggestion),
            ),
            "PATH_COMPLETED" => (
                "For completing a learning path.",
                Some(EntityKind::LearningPath),
            ),
            "EVENT_ATTENDED" => ("For attending a live event.", Some(EntityKind::LiveEvent)),
            _ => ("For renewing a certificate.", Some(EntityKind::Certificate)),
        };
        let note = NewNotification {
            user: UserId(user),
            kind: NotificationType::XpEarned,
            title: format!("You earned {amount} XP"),
            body: why.to_owned(),
            entity: link.map(|kind| (kind, entity)),
            dedup_key: format!("xp_earned:{source}:{entity}"),
            data: serde_json::json!({ "xp": amount }),
        };
        super::notifications::write(c, tenant, &note, now).await
    })
    .await?;
    if let Some(event) = event {
        crate::routes::stream::publish(state, tenant, UserId(user), &event).await;
    }
    Ok(())
}
