//! Reactions to social's events: the author of an answer a module's mentor confirmed in its chat
//! room earns MENTOR_CONFIRMATION XP (`social.answer_confirmed`), once per message however often
//! the event is delivered (the ledger is unique per member, source and source entity).

use guild_db::worker::Registry;
use guild_social::chat::AnswerConfirmed;

use crate::state::AppState;

/// Registers the XP award for confirmed answers.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("xp_answer_confirmed", move |_, e: AnswerConfirmed| {
        let state = s.clone();
        async move {
            // Social refuses a confirmation of one's own message; this keeps it so for any event.
            if e.author_id == e.confirmed_by {
                return Ok(());
            }
            super::gamification::award(
                &state,
                e.tenant_id,
                e.author_id,
                "MENTOR_CONFIRMATION",
                e.message_id,
            )
            .await
        }
    });
}
