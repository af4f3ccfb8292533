//! The emails Guild sends, delivered by the worker from outbox events so that a crash between a
//! write and its email loses nothing.
//!
//! - Account emails (invitation, password reset, address verification) are transactional: the
//!   single-use token is minted at send time and exists in plain text only inside the email; no
//!   preference or unsubscribe link applies to them.
//! - Notification emails: every notification that reaches an inbox
//!   (`notifications.delivered`) is emailed at once to members who want it so
//!   (`guild_notifications::email::prepare_immediate`), or waits for their daily or weekly
//!   digest (the hourly `notifications.send_digests` job, periods decided with the app clock).
//!   Each is rendered from its type's template (the tenant's, in its locale, or the built-in
//!   English one) and carries one-click unsubscribe headers (RFC 8058). The notification's row is
//!   locked while its email is sent and marked SENT in the same transaction, so a redelivered
//!   event sends nothing; a digest claims its member's period first, so a retried job sends each
//!   digest once. Deadline reminders reach email this way too.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use guild_db::worker::{HandlerError, Registry};
use guild_kernel::ports::{Email, MailError};
use guild_kernel::{TenantId, UserId};
use guild_notifications::email::{self, Frequency, Outgoing};
use guild_notifications::events::{BroadcastDelivered, NotificationDelivered};
use guild_tenancy::members::InviteRequested;
use guild_tenancy::recovery::{self, Minted, PasswordResetRequested, VerificationRequested};

use crate::state::AppState;

/// Registers the email handlers.
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_event("email_invite", move |_, event: InviteRequested| {
        let state = s.clone();
        async move {
            let mut conn = guild_db::connect(&state.db).await?;
            let minted = recovery::mint_invite(
                &mut conn,
                TenantId(event.tenant_id),
                UserId(event.user_id),
                state.clock.now(),
            )
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
                match recovery::mint_reset(&mut conn, UserId(event.user_id), state.clock.now())
                    .await?
                {
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
                match recovery::mint_verification(
                    &mut conn,
                    UserId(event.user_id),
                    state.clock.now(),
                )
                .await?
                {
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
        "email_notification",
        move |_, event: NotificationDelivered| {
            let state = s.clone();
            async move { email_notification(&state, &event).await }
        },
    );
    let s = state.clone();
    registry.on_event("email_broadcast", move |_, event: BroadcastDelivered| {
        let state = s.clone();
        async move {
            for id in &event.notification_ids {
                email_one(&state, TenantId(event.tenant_id), *id).await?;
            }
            Ok(())
        }
    });
    let s = state.clone();
    registry.on_job(move |_, _: SendDigests| {
        let state = s.clone();
        async move { send_digests(&state).await }
    });
    registry.schedule(
        guild_db::jobs::Schedule::every(
            "send_digests",
            std::time::Duration::from_secs(3600),
            &SendDigests::default(),
        )
        .at_offset(std::time::Duration::from_secs(5 * 60)),
    );
}

/// The hourly job that sends the daily and weekly digests whose period ended.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SendDigests {}

impl guild_db::jobs::Job for SendDigests {
    const KIND: &'static str = "notifications.send_digests";
}

/// What sending a notification email can fail with.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
    #[error(transparent)]
    Notifications(#[from] guild_notifications::NotificationsError),
    #[error(transparent)]
    Tenancy(#[from] guild_tenancy::TenancyError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Live(#[from] guild_live::LiveError),
    #[error(transparent)]
    Coaching(#[from] guild_coaching::CoachingError),
}

/// Sends `outgoing` and records it as sent, in the caller's transaction (which holds its
/// notifications' rows). A rejected address is given up on (recorded as sent: retrying cannot
/// help); an unavailable server fails, so the transaction rolls back and the work is retried.
async fn send_and_record(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    outgoing: Outgoing,
    now: DateTime<Utc>,
) -> Result<(), SendError> {
    if state.dev_mailbox {
        let e = &outgoing.email;
        guild_tenancy::dev_mailbox::record(conn, &e.to, &e.subject, &e.text).await?;
    }
    match state.mailer.send(&outgoing.email).await {
        Ok(()) => {}
        Err(MailError::Rejected(reason)) => {
            tracing::warn!(%reason, "notification email rejected; not retrying");
        }
        Err(e @ MailError::Unavailable(_)) => return Err(e.into()),
    }
    email::mark_sent(conn, tenant, &outgoing.notifications, now).await?;
    Ok(())
}

/// Emails a notification that just reached an inbox, if its recipient wants it now.
async fn email_notification(
    state: &AppState,
    event: &NotificationDelivered,
) -> Result<(), HandlerError> {
    email_one(state, TenantId(event.tenant_id), event.notification_id).await
}

/// Emails notification `id` if its recipient wants it now and it was not sent yet (its row is
/// locked and marked in the same transaction: a redelivered event sends nothing twice).
async fn email_one(state: &AppState, tenant: TenantId, id: uuid::Uuid) -> Result<(), HandlerError> {
    let links = state.mail_links();
    let now = state.clock.now();
    let mut conn = guild_db::connect(&state.db).await?;
    guild_db::tenant_transaction(
        &mut conn,
        tenant,
        async |conn| match email::prepare_immediate(conn, tenant, id, &links).await? {
            Some(mut outgoing) => {
                super::events::attach_invitation(state, conn, tenant, &mut outgoing).await?;
                // A coaching session's notification carries its calendar invitation.
                if let Some(file) =
                    super::coaching::invitation(state, conn, tenant, outgoing.about.as_ref(), now)
                        .await?
                {
                    outgoing.email.attachments.push(file);
                }
                send_and_record(state, conn, tenant, outgoing, now).await
            }
            None => Ok(()),
        },
    )
    .await?;
    Ok(())
}

/// Sends every digest whose period ended by the app clock's `now`, member by member, each in its
/// own transaction; a member whose digest could not be sent is retried with the job.
async fn send_digests(state: &AppState) -> Result<Option<serde_json::Value>, HandlerError> {
    let now = state.clock.now();
    let links = state.mail_links();
    let mut conn = guild_db::connect(&state.db).await?;
    let (mut sent, mut failed) = (0_u32, 0_u32);
    for tenant in guild_progress::compliance::active_tenants(&mut conn).await? {
        for frequency in [Frequency::Daily, Frequency::Weekly] {
            let period_end = email::period_end(frequency, now);
            let members = guild_db::tenant_read(&mut conn, tenant, async |c| {
                email::digest_recipients(c, tenant, frequency, period_end).await
            })
            .await?;
            for user in members {
                let outcome = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
                    let digest = email::prepare_digest(
                        conn, tenant, user, frequency, period_end, &links, now,
                    )
                    .await?;
                    match digest {
                        Some(outgoing) => {
                            send_and_record(state, conn, tenant, outgoing, now).await?;
                            Ok::<_, SendError>(true)
                        }
                        None => Ok(false),
                    }
                })
                .await;
                match outcome {
                    Ok(true) => sent += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(tenant = %tenant.into_uuid(), user = %UserId::into_uuid(user), error = %e, "digest not sent; retried with the job");
                        failed += 1;
                    }
                }
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} digests could not be sent ({sent} sent)").into());
    }
    Ok(Some(serde_json::json!({ "sent": sent })))
}

/// How long the development mailbox keeps a message.
const DEV_MAILBOX_DAYS: i32 = 7;

/// The daily job that deletes development mailbox messages older than [`DEV_MAILBOX_DAYS`].
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PruneDevMailbox {}

impl guild_db::jobs::Job for PruneDevMailbox {
    const KIND: &'static str = "mail.prune_dev_mailbox";
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
        headers: Vec::new(),
        attachments: Vec::new(),
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
        headers: Vec::new(),
        attachments: Vec::new(),
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
        headers: Vec::new(),
        attachments: Vec::new(),
    }
}

/// Sends, recording a copy in `dev_mailbox` only in development without an SMTP server (the body
/// carries single-use links, so production never stores one). A rejected address is given up on
/// (retrying cannot help); an unavailable server is retried with backoff.
pub(crate) async fn deliver(state: &AppState, email: Email) -> Result<(), HandlerError> {
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
