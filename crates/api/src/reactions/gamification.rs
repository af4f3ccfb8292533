//! XP awarded from domain events: `learning.module_completed` (per module),
//! `assessment.quiz_high_score` (per quiz) and `learning.compliance_renewal` (per new
//! certificate), each in the member's tenant transaction.

use guild_assessment::events::QuizHighScore;
use guild_db::worker::Registry;
use guild_gamification::ledger;
use guild_kernel::{TenantId, UserId};
use guild_progress::completion::ModuleCompleted;
use guild_progress::compliance::ComplianceRenewal;
use uuid::Uuid;

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

async fn award(
    state: &AppState,
    tenant: Uuid,
    user: Uuid,
    source: &'static str,
    entity: Uuid,
) -> Result<(), guild_db::worker::HandlerError> {
    let mut conn = guild_db::connect(&state.db).await?;
    let tenant = TenantId(tenant);
    guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        ledger::award(c, tenant, UserId(user), source, entity).await
    })
    .await?;
    Ok(())
}
