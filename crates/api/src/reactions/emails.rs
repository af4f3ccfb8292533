//! The emails Guild sends, delivered by the worker from outbox events so that a crash between a
//! write and its email loses nothing. The single-use token is minted at send time and exists in
//! plain text only inside the email.

use guild_db::worker::{HandlerError, Registry};
use guild_kernel::ports::{Email, MailError};
use guild_kernel::{TenantId, UserId};
use guild_progress::compliance::DeadlineReminder;
use guild_tenancy::members::InviteRequested;
use guild_tenancy::preferences;
use guild_tenancy::recovery::{self, Minted, PasswordResetRequested, VerificationRequested};

use crate::state::AppState;

/// Registers the email handlers.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("email_invite", move |_, event: InviteRequested| {
        let state = s.clone();
        async move {
            let mut conn = guild_db::connect(&state.db).await?;
            let minted =
                recovery::mint_invite(&mut conn, TenantId(event.tenant_id), UserId(event.user_id))
                    .await?;
            match minted {
                Some(minted) => deliver(&state, invite_email(&state, &minted)).await,
                None => Ok(()),
            }
        }
    });
    let s = state.clone();
    registry.on_event(
        "email_password_reset",
        move |_, event: PasswordResetRequested| {
            let state = s.clone();
            async move {
                let mut conn = guild_db::connect(&state.db).await?;
                match recovery::mint_reset(&mut conn, UserId(event.user_id)).await? {
                    Some(minted) => deliver(&state, reset_email(&state, &minted)).await,
                    None => Ok(()),
                }
            }
        },
    );
    let s = state.clone();
    registry.on_event(
        "email_verification",
        move |_, event: VerificationRequested| {
            let state = s.clone();
            async move {
                let mut conn = guild_db::connect(&state.db).await?;
                match recovery::mint_verification(&mut conn, UserId(event.user_id)).await? {
                    Some(minted) => deliver(&state, verification_email(&state, &minted)).await,
                    None => Ok(()),
                }
            }
        },
    );
    let s = state.clone();
    registry.on_job(move |_, _: PruneDevMailbox| {
        let state = s.clone();
        async move {
            let mut conn = guild_db::connect(&state.db).await?;
            let pruned = guild_tenancy::dev_mailbox::prune(&mut conn, DEV_MAILBOX_DAYS).await?;
            Ok(Some(serde_json::json!({ "pruned": pruned })))
        }
    });
    registry.schedule(guild_db::jobs::Schedule::every(
        "prune_dev_mailbox",
        std::time::Duration::from_secs(86_400),
        &PruneDevMailbox::default(),
    ));
    let s = state.clone();
    registry.on_event(
        "email_deadline_reminder",
        move |_, event: DeadlineReminder| {
            let state = s.clone();
            async move { deadline_email(&state, &event).await }
        },
    );
}

/// How long the development mailbox keeps a message.
const DEV_MAILBOX_DAYS: i32 = 7;

/// The daily job that deletes development mailbox messages older than [`DEV_MAILBOX_DAYS`].
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PruneDevMailbox {}

impl guild_db::jobs::Job for PruneDevMailbox {
    const KIND: &'static str = "mail.prune_dev_mailbox";
}

/// Emails a deadline reminder unless the member turned deadline reminders (or email) off.
async fn deadline_email(state: &AppState, event: &DeadlineReminder) -> Result<(), HandlerError> {
    let mut conn = guild_db::connect(&state.db).await?;
    let recipient = preferences::deadline_reminder_recipient(
        &mut conn,
        TenantId(event.tenant_id),
        UserId(event.user_id),
    )
    .await?;
    let Some(recipient) = recipient else {
        return Ok(());
    };
    let due = event.due_at.format("%Y-%m-%d %H:%M UTC");
    let (subject, line) = match event.kind.as_str() {
        "OVERDUE" => (
            format!("Overdue: {}", event.module_title),
            format!(
                "\"{}\" was due on {due} and is not completed yet.",
                event.module_title
            ),
        ),
        "DUE_IN_1_DAY" => (
            format!("Due tomorrow: {}", event.module_title),
            format!("\"{}\" is due on {due}.", event.module_title),
        ),
        _ => (
            format!("Due in a week: {}", event.module_title),
            format!("\"{}\" is due on {due}.", event.module_title),
        ),
    };
    deliver(
        state,
        Email {
            to: recipient.email,
            subject,
            text: format!(
                "Hello {},\n\n{line}\n\nContinue at {}/modules/{}\n",
                recipient.name, state.public_url, event.module_id
            ),
            html: None,
        },
    )
    .await
}

fn invite_email(state: &AppState, minted: &Minted) -> Email {
    let tenant = minted.tenant_name.as_deref().unwrap_or("Guild");
    let text = match &minted.token {
        Some(token) => format!(
            "Hello {},\n\nYou have been invited to {tenant} on Guild. Choose a password to join:\n\n\
             {}/accept-invite?token={token}\n\nThe link works once and expires in 7 days.\n",
            minted.name, state.public_url
        ),
        None => format!(
            "Hello {},\n\nYou have been invited to {tenant} on Guild. Sign in with your usual \
             password at {} and accept the invitation there.\n",
            minted.name, state.public_url
        ),
    };
    Email {
        to: minted.email.clone(),
        subject: format!("You are invited to {tenant} on Guild"),
        text,
        html: None,
    }
}

fn verification_email(state: &AppState, minted: &Minted) -> Email {
    let token = minted.token.as_deref().unwrap_or_default();
    Email {
        to: minted.email.clone(),
        subject: "Verify your Guild email address".to_owned(),
        text: format!(
            "Hello {},\n\nConfirm that this address is yours:\n\n{}/verify-email?token={token}\n\n\
             The link works once and expires in 2 days. If you did not sign up for Guild, ignore \
             this email.\n",
            minted.name, state.public_url
        ),
        html: None,
    }
}

fn reset_email(state: &AppState, minted: &Minted) -> Email {
    let token = minted.token.as_deref().unwrap_or_default();
    Email {
        to: minted.email.clone(),
        subject: "Reset your Guild password".to_owned(),
        text: format!(
            "Hello {},\n\nSomeone asked to reset your Guild password. If it was you, choose a new \
             one here:\n\n{}/reset-password?token={token}\n\nThe link works once and expires in \
             1 hour. If it was not you, ignore this email.\n",
            minted.name, state.public_url
        ),
        html: None,
    }
}

/// Sends, recording a copy in `dev_mailbox` only in development without an SMTP server (the body
/// carries single-use links, so production never stores one). A rejected address is given up on
/// (retrying cannot help); an unavailable server is retried with backoff.
async fn deliver(state: &AppState, email: Email) -> Result<(), HandlerError> {
    if state.dev_mailbox {
        let mut conn = guild_db::connect(&state.db).await?;
        guild_tenancy::dev_mailbox::record(&mut conn, &email.to, &email.subject, &email.text)
            .await?;
    }
    match state.mailer.send(&email).await {
        Ok(()) => Ok(()),
        Err(MailError::Rejected(reason)) => {
            tracing::warn!(%reason, "email rejected; not retrying");
            Ok(())
        }
        Err(e @ MailError::Unavailable(_)) => Err(Box::new(e)),
    }
}
