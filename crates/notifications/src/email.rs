//! Notification emails: every notification that reaches an inbox is emailed as its recipient's
//! preferences say — at once, in a daily or weekly digest, or not at all.
//!
//! A notification is written with `email_status` PENDING and a [`NotificationDelivered`]
//! event ([`inbox::deliver`]). The event's reaction calls [`prepare_immediate`], which locks the
//! notification's row: a member who wants it at once gets an [`Outgoing`] email to send, and
//! the caller records it with [`mark_sent`] in the same transaction, so a redelivered event
//! finds it SENT and sends nothing; a member who does not want it marks it SKIPPED; a digest
//! reader leaves it PENDING. The digest job ([`digest_recipients`], [`prepare_digest`]) claims
//! one `notification_digests` row per member, frequency and period before it collects their
//! PENDING notifications, so a retried job sends each digest once.
//!
//! Preferences are tenancy's `email_preferences` (read here, written only by `tenancy`): six
//! category switches ([`EmailCategory`], each type maps to one), per-type switches on top
//! (`type_overrides`), and the frequency (`digest`: INSTANT, DAILY, WEEKLY, NEVER). Digest
//! periods are UTC days and ISO weeks (from Monday 00:00 UTC), decided with the caller's `now`.
//! Only active members of live tenants get email.
//!
//! [`NotificationDelivered`]: crate::events::NotificationDelivered
//! [`inbox::deliver`]: crate::inbox::deliver

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Jsonb, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{notification_digests as d, notifications as n};
use guild_kernel::ports::Email;
use guild_kernel::{TenantId, UserId};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::templates::{self, Rendered, TemplateSource};
use crate::unsubscribe::{Scope, Unsubscribe, UnsubscribeKey};
use crate::{EmailCategory, EntityKind, NotificationType, NotificationsError};

/// The most notifications a digest lists; the rest are counted ("and 12 more").
pub const DIGEST_ITEMS: usize = 50;

/// Where the links of an email point, and the key of its unsubscribe token.
#[derive(Debug, Clone)]
pub struct MailLinks {
    /// The web app's base URL (`GUILD_PUBLIC_URL`): links in the body.
    pub app_url: String,
    /// The API's base URL (`GUILD_API_URL`): the `List-Unsubscribe` one-click URL.
    pub api_url: String,
    /// Signs unsubscribe tokens and reply addresses.
    pub key: UnsubscribeKey,
    /// The domain of the sender's address (`GUILD_MAIL_FROM`): the right-hand side of the
    /// `Message-ID`s of question emails and of the question ids they refer to, so a mail client
    /// threads every email about one question.
    pub mail_domain: String,
    /// Where replies go (`GUILD_MAIL_REPLY_DOMAIN`, else `mail_domain`) when inbound mail is
    /// configured: the email that gives a mentor a question then carries a signed `Reply-To`
    /// ([`crate::reply`]). `None`: no reply address.
    pub reply_domain: Option<String>,
}

impl MailLinks {
    fn app(&self, path: &str) -> String {
        format!("{}{path}", self.app_url.trim_end_matches('/'))
    }

    /// The page a person opens to unsubscribe (the web app asks the API what the token does
    /// and posts it); the one-click URL for mail clients; the header fields naming it.
    fn unsubscribe(&self, what: &Unsubscribe) -> (String, Vec<(String, String)>) {
        let token = self.key.sign(what);
        let page = self.app(&format!("/unsubscribe?token={token}"));
        let one_click = format!(
            "{}/v1/email/unsubscribe?token={token}",
            self.api_url.trim_end_matches('/')
        );
        let headers = vec![
            ("List-Unsubscribe".to_owned(), format!("<{one_click}>")),
            (
                "List-Unsubscribe-Post".to_owned(),
                "List-Unsubscribe=One-Click".to_owned(),
            ),
        ];
        (page, headers)
    }
}

guild_kernel::string_enum!(
    /// How often a member gets notification emails (`email_preferences.digest`).
    Frequency {
        /// One email per notification, at once.
        Instant => "INSTANT",
        /// One digest a day (UTC).
        Daily => "DAILY",
        /// One digest a week (from Monday, UTC).
        Weekly => "WEEKLY",
        /// None.
        Never => "NEVER",
    }
);

/// The end of the last whole digest period of `frequency` at `now`: today's (UTC) midnight, or
/// this week's Monday 00:00 UTC. A digest lists what arrived before it.
pub fn period_end(frequency: Frequency, now: DateTime<Utc>) -> DateTime<Utc> {
    let midnight = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    match frequency {
        Frequency::Weekly => {
            midnight - Duration::days(i64::from(now.weekday().num_days_from_monday()))
        }
        _ => midnight,
    }
}

/// What a member set, as this crate reads it.
#[derive(Debug, Clone, QueryableByName)]
struct SettingsRow {
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    tenant_name: String,
    #[diesel(sql_type = Text)]
    locale: String,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = Bool)]
    new_modules: bool,
    #[diesel(sql_type = Bool)]
    deadline_reminders: bool,
    #[diesel(sql_type = Bool)]
    quiz_results: bool,
    #[diesel(sql_type = Bool)]
    comment_replies: bool,
    #[diesel(sql_type = Bool)]
    certificates: bool,
    #[diesel(sql_type = Bool)]
    rewards: bool,
    #[diesel(sql_type = Text)]
    digest: String,
    #[diesel(sql_type = Jsonb)]
    type_overrides: Value,
}

/// A member's email settings in one tenant.
#[derive(Debug, Clone)]
pub struct Settings {
    email: String,
    name: String,
    tenant_name: String,
    locale: String,
    active: bool,
    categories: BTreeMap<EmailCategory, bool>,
    overrides: BTreeMap<NotificationType, bool>,
    /// How often.
    pub frequency: Frequency,
}

impl From<SettingsRow> for Settings {
    fn from(row: SettingsRow) -> Self {
        let categories = BTreeMap::from([
            (EmailCategory::NewModules, row.new_modules),
            (EmailCategory::DeadlineReminders, row.deadline_reminders),
            (EmailCategory::QuizResults, row.quiz_results),
            (EmailCategory::CommentReplies, row.comment_replies),
            (EmailCategory::Certificates, row.certificates),
            (EmailCategory::Rewards, row.rewards),
        ]);
        let overrides = row
            .type_overrides
            .as_object()
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_bool()?)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            email: row.email,
            name: row.name,
            tenant_name: row.tenant_name,
            locale: row.locale,
            active: row.active,
            categories,
            overrides,
            // The column's CHECK holds it to the set; an unknown value sends nothing.
            frequency: row.digest.parse().unwrap_or(Frequency::Never),
        }
    }
}

/// Whether a member wants `kind`'s emails at all: the type's own switch if they set one
/// (`overridden`), else its category's switch (`category`), else yes (`SYSTEM`).
pub fn wanted(
    kind: NotificationType,
    overridden: Option<bool>,
    category: impl Fn(EmailCategory) -> bool,
) -> bool {
    overridden.unwrap_or_else(|| kind.email_category().is_none_or(category))
}

impl Settings {
    /// The member's email address.
    pub fn address(&self) -> &str {
        &self.email
    }

    /// Whether the member wants `kind`'s emails at all (see [`wanted`]).
    pub fn wants(&self, kind: NotificationType) -> bool {
        wanted(kind, self.overrides.get(&kind).copied(), |c| {
            self.categories.get(&c).copied().unwrap_or(true)
        })
    }
}

/// The member's email settings in `tenant` (defaults where they set none), or `None` when they
/// are not a member. Run it in a transaction for `tenant`.
pub async fn settings(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Settings>, NotificationsError> {
    let row: Option<SettingsRow> = guild_db::sql(
        "SELECT u.email, u.name, t.name AS tenant_name, t.locale, \
                (m.status = 'ACTIVE' AND t.archived_at IS NULL AND u.erased_at IS NULL) AS active, \
                coalesce(p.new_modules, true) AS new_modules, \
                coalesce(p.deadline_reminders, true) AS deadline_reminders, \
                coalesce(p.quiz_results, true) AS quiz_results, \
                coalesce(p.comment_replies, true) AS comment_replies, \
                coalesce(p.certificates, true) AS certificates, \
                coalesce(p.rewards, true) AS rewards, \
                coalesce(p.digest, 'INSTANT') AS digest, \
                coalesce(p.type_overrides, '{}'::jsonb) AS type_overrides \
         FROM memberships m \
         JOIN users u ON u.id = m.user_id \
         JOIN tenants t ON t.id = m.tenant_id \
         LEFT JOIN email_preferences p ON p.tenant_id = m.tenant_id AND p.user_id = m.user_id \
         WHERE m.tenant_id = $1 AND m.user_id = $2",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .get_result(&mut conn)
    .await
    .optional()?;
    Ok(row.map(Settings::from))
}

/// An email ready to send, and the notifications it tells of: record them with [`mark_sent`]
/// in the same transaction once it is sent.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The email.
    pub email: Email,
    /// The notifications it carries.
    pub notifications: Vec<Uuid>,
    /// What the email of one notification is about, so the caller can attach a file that
    /// belongs with it (an event's calendar invitation); `None` for a digest.
    pub about: Option<About>,
}

/// What one notification's email is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    /// Its recipient.
    pub user_id: UserId,
    /// Its type.
    pub kind: NotificationType,
    /// What it links to.
    pub entity: Option<(EntityKind, Uuid)>,
}

/// A notification waiting for its email.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = n)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct Pending {
    id: Uuid,
    user_id: Uuid,
    #[diesel(deserialize_as = String)]
    kind: NotificationType,
    title: String,
    body: String,
    entity_kind: Option<String>,
    entity_id: Option<Uuid>,
    data: Value,
    created_at: DateTime<Utc>,
    email_status: Option<String>,
}

impl Pending {
    fn url(&self, links: &MailLinks) -> String {
        let kind = self.entity_kind.as_deref().and_then(|k| k.parse().ok());
        match (kind, self.entity_id) {
            (Some(kind), Some(id)) => {
                let path = match kind {
                    EntityKind::Module => "modules",
                    EntityKind::Certificate => "certificates",
                    EntityKind::QuizAttempt => "attempts",
                    EntityKind::Submission => "submissions",
                    EntityKind::Redemption => "redemptions",
                    EntityKind::Override => "progress-overrides",
                    EntityKind::ChangelogEntry => "changelog",
                    EntityKind::DiscussionThread => "discussions",
                    EntityKind::Announcement => "announcements",
                    EntityKind::ChatRoom => "chat/rooms",
                    EntityKind::RadarPost => "feed/posts",
                    EntityKind::Suggestion => "suggestions",
                    EntityKind::LiveEvent => "events",
                    EntityKind::LearningPath => "paths",
                    EntityKind::WebhookEndpoint => "settings/webhooks",
                    EntityKind::CoachingSession => "coaching/sessions",
                    EntityKind::ActionItem => "coaching/action-items",
                    EntityKind::Question => "questions",
                    EntityKind::Job => "jobs",
                };
                links.app(&format!("/{path}/{id}"))
            }
            _ => links.app("/notifications"),
        }
    }
}

async fn set_status(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    ids: &[Uuid],
    status: &str,
    now: Option<DateTime<Utc>>,
) -> Result<(), NotificationsError> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(
        n::table
            .filter(n::tenant_id.eq(tenant.into_uuid()))
            .filter(n::id.eq_any(ids)),
    )
    .set((n::email_status.eq(Some(status)), n::emailed_at.eq(now)))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that the email of [`Outgoing`] went out: its notifications are SENT at `now`.
pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    notifications: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), NotificationsError> {
    set_status(conn, tenant, notifications, "SENT", Some(now)).await
}

/// The values every template gets, for `settings`' member.
fn common_values(settings: &Settings, links: &MailLinks, unsubscribe_page: &str) -> Value {
    json!({
        "recipient_name": settings.name,
        "tenant_name": settings.tenant_name,
        "preferences_url": links.app("/settings/notifications"),
        "unsubscribe_url": unsubscribe_page,
    })
}

/// Renders `template`; a tenant's template that fails at send time (a value it did not expect)
/// falls back to the built-in one, and that to the bare title and body: the email goes out.
fn render_or_fall_back(
    kind: NotificationType,
    template: &TemplateSource,
    values: &Value,
    title: &str,
    body: &str,
) -> Rendered {
    templates::render(template, values)
        .or_else(|problems| {
            tracing::warn!(kind = %kind, ?problems, "a notification template failed; using the built-in one");
            templates::render(&templates::built_in(kind), values)
        })
        .unwrap_or_else(|_| Rendered {
            subject: title.to_owned(),
            text: format!("{title}\n\n{body}\n"),
            html: None,
        })
}

/// The email of one notification, for its recipient's settings.
async fn single(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    settings: &Settings,
    row: &Pending,
    links: &MailLinks,
) -> Result<Email, NotificationsError> {
    let scope = Unsubscribe {
        tenant,
        user: UserId(row.user_id),
        scope: Scope::Type(row.kind),
    };
    let (page, headers) = links.unsubscribe(&scope);
    let mut values = common_values(settings, links, &page);
    if let Some(map) = values.as_object_mut() {
        map.insert("title".into(), json!(row.title));
        map.insert("body".into(), json!(row.body));
        map.insert("url".into(), json!(row.url(links)));
        if row.kind == NotificationType::QuestionAssigned {
            // Its email carries a reply address only when replies are received.
            map.insert("reply_by_email".into(), json!(links.reply_domain.is_some()));
        }
        // The type's own values, never in place of the common ones.
        if let Some(data) = row.data.as_object() {
            for name in templates::variables(row.kind) {
                let value = data.get(*name).cloned().unwrap_or(Value::Null);
                map.entry((*name).to_owned()).or_insert(value);
            }
        }
    }
    let template = templates::resolve(conn, tenant, row.kind, &settings.locale).await?;
    let rendered =
        render_or_fall_back(row.kind, &template.template, &values, &row.title, &row.body);
    let mut headers = headers;
    headers.extend(question_headers(tenant, row, links));
    Ok(Email {
        to: settings.email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        headers,
        attachments: Vec::new(),
    })
}

/// The header fields of an email about a question: a `Message-ID` of its own and the question
/// as the thread it belongs to (`In-Reply-To`, `References`), and for the email that gives it
/// to a mentor, a signed `Reply-To` their reply answers it through (when replies are received).
fn question_headers(tenant: TenantId, row: &Pending, links: &MailLinks) -> Vec<(String, String)> {
    let kind = row.entity_kind.as_deref().and_then(|k| k.parse().ok());
    let (Some(EntityKind::Question), Some(question)) = (kind, row.entity_id) else {
        return Vec::new();
    };
    let domain = &links.mail_domain;
    let thread = format!("<question.{question}@{domain}>");
    let mut headers = vec![
        (
            "Message-ID".to_owned(),
            format!("<notification.{}@{domain}>", row.id),
        ),
        ("In-Reply-To".to_owned(), thread.clone()),
        ("References".to_owned(), thread),
    ];
    if let (NotificationType::QuestionAssigned, Some(reply_domain)) =
        (row.kind, &links.reply_domain)
    {
        let address = crate::reply::address(
            &links.key,
            tenant,
            question,
            UserId(row.user_id),
            row.created_at,
            reply_domain,
        );
        headers.push(("Reply-To".to_owned(), address));
    }
    headers
}

/// Decides the email of one notification that just reached an inbox: an [`Outgoing`] email when
/// its recipient wants it now; `None` when it was emailed already, waits for a digest, or is not
/// wanted (then it is marked SKIPPED). Locks the notification until the caller's transaction
/// ends, so a redelivered event waits and then finds it SENT.
pub async fn prepare_immediate(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    notification: Uuid,
    links: &MailLinks,
) -> Result<Option<Outgoing>, NotificationsError> {
    let row: Option<Pending> = n::table
        .filter(n::tenant_id.eq(tenant.into_uuid()))
        .filter(n::id.eq(notification))
        .select(Pending::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some(row) = row.filter(|r| r.email_status.as_deref() == Some("PENDING")) else {
        return Ok(None);
    };
    let Some(settings) = settings(conn, tenant, UserId(row.user_id)).await? else {
        return Ok(None);
    };
    let skip = !settings.active
        || match settings.frequency {
            Frequency::Daily | Frequency::Weekly => return Ok(None),
            Frequency::Never => true,
            Frequency::Instant => !settings.wants(row.kind),
        };
    if skip {
        set_status(conn, tenant, &[row.id], "SKIPPED", None).await?;
        return Ok(None);
    }
    let email = single(conn, tenant, &settings, &row, links).await?;
    let entity = row
        .entity_kind
        .as_deref()
        .and_then(|k| k.parse::<EntityKind>().ok())
        .zip(row.entity_id);
    Ok(Some(Outgoing {
        email,
        notifications: vec![row.id],
        about: Some(About {
            user_id: UserId(row.user_id),
            kind: row.kind,
            entity,
        }),
    }))
}

#[derive(QueryableByName)]
struct Recipient {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// A member who switched from a digest back to immediate emails (or off) may leave notifications
/// waiting; the daily digest takes those an hour old, so an immediate email still in the worker's
/// queue is not overtaken.
const LEFTOVER_AGE: Duration = Duration::hours(1);

/// The members of `tenant` with a `frequency` digest due for the period ending at `period_end`:
/// notifications waiting from before it, and no digest of that period yet. The daily run also
/// takes leftovers of members who no longer read digests.
pub async fn digest_recipients(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    frequency: Frequency,
    period_end: DateTime<Utc>,
) -> Result<Vec<UserId>, NotificationsError> {
    let rows: Vec<Recipient> = guild_db::sql(
        "SELECT DISTINCT n.user_id FROM notifications n \
         LEFT JOIN email_preferences p ON p.tenant_id = n.tenant_id AND p.user_id = n.user_id \
         WHERE n.tenant_id = $1 AND n.email_status = 'PENDING' \
           AND ((coalesce(p.digest, 'INSTANT') = $2 AND n.created_at < $3) \
                OR ($2 = 'DAILY' AND coalesce(p.digest, 'INSTANT') IN ('INSTANT', 'NEVER') \
                    AND n.created_at < $4)) \
           AND NOT EXISTS (SELECT 1 FROM notification_digests d \
                           WHERE d.tenant_id = n.tenant_id AND d.user_id = n.user_id \
                             AND d.frequency = $2 AND d.period_end = $3) \
         ORDER BY n.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Text, _>(frequency.as_str())
    .bind::<Timestamptz, _>(period_end)
    .bind::<Timestamptz, _>(period_end - LEFTOVER_AGE)
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().map(|r| UserId(r.user_id)).collect())
}

/// The member's digest of `frequency` for the period ending at `period_end`, once: claims the
/// period (nothing when it was claimed before), collects their waiting notifications from before
/// it (those they do not want become SKIPPED) and renders one email listing them. `None` when
/// there is nothing to send. Locks what it collects until the caller's transaction ends.
pub async fn prepare_digest(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    frequency: Frequency,
    period_end: DateTime<Utc>,
    links: &MailLinks,
    now: DateTime<Utc>,
) -> Result<Option<Outgoing>, NotificationsError> {
    let Some(settings) = settings(conn, tenant, user).await? else {
        return Ok(None);
    };
    let before = match (settings.frequency, frequency) {
        (mine, asked) if mine == asked => period_end,
        (Frequency::Instant | Frequency::Never, Frequency::Daily) => period_end - LEFTOVER_AGE,
        // They changed their frequency since: the other run takes them.
        _ => return Ok(None),
    };
    let claimed = diesel::insert_into(d::table)
        .values((
            d::tenant_id.eq(tenant.into_uuid()),
            d::user_id.eq(user.into_uuid()),
            d::frequency.eq(frequency.as_str()),
            d::period_end.eq(period_end),
            d::notifications.eq(0),
            d::sent_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if claimed == 0 {
        return Ok(None);
    }
    let waiting: Vec<Pending> = n::table
        .filter(n::tenant_id.eq(tenant.into_uuid()))
        .filter(n::user_id.eq(user.into_uuid()))
        .filter(n::email_status.eq("PENDING"))
        .filter(n::created_at.lt(before))
        .order((n::created_at.asc(), n::id.asc()))
        .select(Pending::as_select())
        .for_update()
        .load(conn)
        .await?;
    let sends = settings.active && settings.frequency != Frequency::Never;
    let (wanted, unwanted): (Vec<Pending>, Vec<Pending>) = waiting
        .into_iter()
        .partition(|row| sends && settings.wants(row.kind));
    let skipped: Vec<Uuid> = unwanted.iter().map(|r| r.id).collect();
    set_status(conn, tenant, &skipped, "SKIPPED", None).await?;
    if wanted.is_empty() {
        return Ok(None);
    }
    diesel::update(d::table.find((
        tenant.into_uuid(),
        user.into_uuid(),
        frequency.as_str(),
        period_end,
    )))
    .set(d::notifications.eq(i32::try_from(wanted.len()).unwrap_or(i32::MAX)))
    .execute(conn)
    .await?;
    let email = digest_email(tenant, user, &settings, frequency, &wanted, links);
    Ok(Some(Outgoing {
        email,
        notifications: wanted.iter().map(|r| r.id).collect(),
        about: None,
    }))
}

const DIGEST_SUBJECT: &str = "Your {% if frequency == \"WEEKLY\" %}weekly{% else %}daily{% endif %} digest from {{ tenant_name }}: {{ count }} notification{% if count != 1 %}s{% endif %}";

const DIGEST_TEXT: &str = "Hello {{ recipient_name }},

Here is what happened in {{ tenant_name }} since your last digest:
{% for item in items %}

- {{ item.title }}
{% if item.body %}
  {{ item.body }}
{% endif %}
  {{ item.url }}
{% endfor %}
{% if more %}

And {{ more }} more: {{ notifications_url }}
{% endif %}

-- 
You get this digest because of your notification settings in {{ tenant_name }}: {{ preferences_url }}
Stop all notification emails: {{ unsubscribe_url }}
";

const DIGEST_HTML: &str = r#"<!DOCTYPE html>
<html>
<body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.5;">
<p>Hello {{ recipient_name }},</p>
<p>Here is what happened in {{ tenant_name }} since your last digest:</p>
<ul>
{% for item in items %}
<li><a href="{{ item.url }}" style="color: #0b6bcb;">{{ item.title }}</a>{% if item.body %}<br>{{ item.body }}{% endif %}</li>
{% endfor %}
</ul>
{% if more %}
<p><a href="{{ notifications_url }}">And {{ more }} more</a></p>
{% endif %}
<hr style="border: none; border-top: 1px solid #d9e2ec;">
<p style="font-size: 12px; color: #616e7c;">You get this digest because of your <a href="{{ preferences_url }}">notification settings</a> in {{ tenant_name }}. <a href="{{ unsubscribe_url }}">Stop all notification emails</a>.</p>
</body>
</html>
"#;

/// The digest template (built in, English).
pub fn digest_template() -> TemplateSource {
    TemplateSource {
        subject: DIGEST_SUBJECT.to_owned(),
        text: DIGEST_TEXT.to_owned(),
        html: Some(DIGEST_HTML.to_owned()),
    }
}

fn digest_email(
    tenant: TenantId,
    user: UserId,
    settings: &Settings,
    frequency: Frequency,
    rows: &[Pending],
    links: &MailLinks,
) -> Email {
    let (page, headers) = links.unsubscribe(&Unsubscribe {
        tenant,
        user,
        scope: Scope::All,
    });
    let items: Vec<Value> = rows
        .iter()
        .take(DIGEST_ITEMS)
        .map(|row| {
            json!({
                "kind": row.kind,
                "title": row.title,
                "body": row.body,
                "url": row.url(links),
                "created_at": row.created_at.to_rfc3339(),
            })
        })
        .collect();
    let mut values = common_values(settings, links, &page);
    if let Some(map) = values.as_object_mut() {
        map.insert("frequency".into(), json!(frequency));
        map.insert("count".into(), json!(rows.len()));
        map.insert(
            "more".into(),
            json!(rows.len().saturating_sub(DIGEST_ITEMS)),
        );
        map.insert("items".into(), Value::Array(items));
        map.insert(
            "notifications_url".into(),
            json!(links.app("/notifications")),
        );
    }
    let rendered = templates::render(&digest_template(), &values).unwrap_or_else(|problems| {
        tracing::error!(?problems, "the digest template failed");
        Rendered {
            subject: format!("{} notifications", rows.len()),
            text: rows
                .iter()
                .map(|r| format!("- {}\n", r.title))
                .collect::<String>(),
            html: None,
        }
    });
    Email {
        to: settings.email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        headers,
        attachments: Vec::new(),
    }
}

#[cfg(test)]
mod unit {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn periods_end_at_utc_midnight_and_on_mondays() {
        // Wednesday 9 December 2026, 10:30 UTC.
        let now = Utc.with_ymd_and_hms(2026, 12, 9, 10, 30, 0).unwrap();
        assert_eq!(
            period_end(Frequency::Daily, now),
            Utc.with_ymd_and_hms(2026, 12, 9, 0, 0, 0).unwrap()
        );
        assert_eq!(
            period_end(Frequency::Weekly, now),
            Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap()
        );
        let monday = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
        assert_eq!(period_end(Frequency::Weekly, monday), monday);
    }

    #[test]
    fn the_digest_template_renders_and_escapes() {
        let values = json!({
            "recipient_name": "Ana", "tenant_name": "Acme", "frequency": "DAILY", "count": 2,
            "more": 0, "preferences_url": "https://app/p", "unsubscribe_url": "https://app/u",
            "notifications_url": "https://app/n",
            "items": [
                { "title": "<b>One</b>", "body": "", "url": "https://app/1" },
                { "title": "Two", "body": "Details", "url": "https://app/2" }
            ]
        });
        let rendered =
            templates::render(&digest_template(), &values).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            rendered.subject,
            "Your daily digest from Acme: 2 notifications"
        );
        assert!(rendered.text.contains("- <b>One</b>"));
        assert!(rendered.text.contains("  Details"));
        let html = rendered.html.unwrap_or_default();
        assert!(
            html.contains("&lt;b&gt;One&lt;&#x2f;b&gt;") || html.contains("&lt;b&gt;One"),
            "{html}"
        );
        assert!(!html.contains("<b>One"));
    }
}
