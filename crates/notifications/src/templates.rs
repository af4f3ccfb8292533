//! Email templates of notifications: one per [`NotificationType`] (subject, plain text and
//! optionally HTML), built in in English, and a tenant's own per type and locale
//! (`notification_templates`).
//!
//! Templates are MiniJinja (Jinja2 syntax). A template reaches nothing but the variables it is
//! given: the environment has no loader (`include`, `import` and `extends` find nothing), no
//! function reads files or the network, and each rendering has a fuel budget and an output cap.
//! The HTML part escapes every value by default (`{{ title }}` of `<script>` prints
//! `&lt;script&gt;`); the subject and text parts are plain text. Variables: the [`COMMON`] ones
//! (recipient, tenant, the notification's title, body and link, the preference and unsubscribe
//! links) and those of its type ([`variables`]); a template naming another is refused when it
//! is stored or previewed (SemiStrict: printing an undefined value fails, testing one is false).
//!
//! Which template applies to a type in a locale ([`resolve`]): the tenant's own for that locale,
//! then for its language (`sl` for `sl-SI`), then for `en`, then the built-in English one.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::notification_templates as t;
use guild_kernel::{Actor, FieldError, TenantId, TenantRole};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde_json::{Value, json};

use crate::{NotificationType, NotificationsError};

/// The longest subject template, in characters.
pub const MAX_SUBJECT: usize = 500;
/// The longest text template, in characters.
pub const MAX_TEXT: usize = 20_000;
/// The longest HTML template, in characters.
pub const MAX_HTML: usize = 50_000;
/// The most templates a tenant keeps (types × locales).
pub const MAX_TEMPLATES: i64 = 200;
/// The locale of the built-in templates, and the last one tried.
pub const FALLBACK_LOCALE: &str = "en";
/// The longest subject sent, in characters (a longer one is cut and ends with `…`).
pub const MAX_SENT_SUBJECT: usize = 250;
/// The largest rendered part, in bytes.
const MAX_OUTPUT: usize = 512 * 1024;
/// Instructions one rendering may run: ample for a digest of 100 items, not for a runaway loop.
const FUEL: u64 = 500_000;

/// The variables every template gets.
pub const COMMON: &[&str] = &[
    "recipient_name",
    "tenant_name",
    "title",
    "body",
    "url",
    "preferences_url",
    "unsubscribe_url",
];

guild_kernel::string_enum!(
    /// Where an effective template comes from.
    TemplateOrigin {
        /// Guild's own English template.
        BuiltIn => "BUILT_IN",
        /// The tenant's template.
        Tenant => "TENANT",
    }
);

/// A template's three parts, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSource {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body; `None` sends plain text only.
    pub html: Option<String>,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, if the template has one.
    pub html: Option<String>,
}

/// What one part of a template got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    /// `subject`, `text` or `html`.
    pub part: &'static str,
    /// A syntax error (else the template failed while rendering).
    pub syntax: bool,
    /// The line, counted from 1, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl TemplateProblem {
    /// The problem as a field error: `line 3: unexpected end of input`.
    pub fn field_error(&self) -> FieldError {
        let message = match self.line {
            Some(line) => format!("line {line}: {}", self.message),
            None => self.message.clone(),
        };
        let code = if self.syntax {
            "template_syntax"
        } else {
            "template_render"
        };
        FieldError::new(self.part, code, &message)
    }
}

/// The template that applies to a type in a locale, and what the tenant stored for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveTemplate {
    /// The type.
    pub kind: NotificationType,
    /// The locale asked for.
    pub locale: String,
    /// The tenant stored a template for exactly this type and locale.
    pub overridden: bool,
    /// That template's revision (its ETag); 0 when there is none.
    pub revision: i32,
    /// Where the template in use comes from.
    pub origin: TemplateOrigin,
    /// The locale of the template in use.
    pub origin_locale: String,
    /// The template in use.
    pub template: TemplateSource,
    /// When the stored template last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

// --- Variables and built-in templates ----------------------------------------------------------

/// The variables a type's template gets besides [`COMMON`]: what the notification's `data`
/// holds, written by the reaction that delivers it.
pub fn variables(kind: NotificationType) -> &'static [&'static str] {
    use NotificationType as N;
    match kind {
        N::CertificateIssued | N::ModuleExpiring => &["module", "expires_at"],
        N::ModuleExpired => &["module", "due_at"],
        N::DeadlineReminder => &["module", "due_at", "reminder"],
        N::ProgressOverride => &["module", "action"],
        N::QuizResult => &["module", "score"],
        N::AssignmentGraded => &["module", "score", "max_score"],
        N::RankUp => &["rank", "lifetime_xp"],
        N::RewardApproved => &["reward", "cost_xp"],
        N::RewardRejected => &["reward", "cost_xp", "reason"],
        N::NewModule => &["module"],
        N::ModuleUpdated => &["module", "version", "summary"],
        N::XpEarned => &["xp"],
        N::SubmissionReceived => &["module", "late"],
        N::CommentReply => &["module", "author"],
        N::Announcement => &["author"],
        N::QuestionAssigned => &["reply_by_email"],
        _ => &[],
    }
}

/// Example values of every variable of `kind`, for previews and for checking a template.
pub fn sample(kind: NotificationType) -> Value {
    let mut values = json!({
        "recipient_name": "Ana Novak",
        "tenant_name": "Acme",
        "title": "Your certificate for Forklift safety",
        "body": "It is valid until 1 December 2027.",
        "url": "https://guild.example.com/modules/0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e",
        "preferences_url": "https://guild.example.com/settings/notifications",
        "unsubscribe_url": "https://guild.example.com/unsubscribe?token=sample",
    });
    let all = json!({
        "module": "Forklift safety",
        "expires_at": "2027-12-01 09:00 UTC",
        "due_at": "2026-12-08 17:00 UTC",
        "reminder": "DUE_IN_1_DAY",
        "action": "COMPLETE",
        "score": 92,
        "max_score": 100,
        "rank": "MOJSTER",
        "lifetime_xp": 1200,
        "reward": "Coffee mug",
        "cost_xp": 150,
        "reason": "Out of stock this month",
        "version": 3,
        "summary": "New evacuation routes",
        "xp": 100,
        "late": false,
        "author": "Mia Mentor",
        "reply_by_email": true,
    });
    if let Some(map) = values.as_object_mut() {
        for name in variables(kind) {
            map.insert((*name).to_owned(), all[*name].clone());
        }
    }
    values
}

const TEXT_LAYOUT: &str = "Hello {{ recipient_name }},

[[LEAD]]
{% if url %}

[[ACTION]]: {{ url }}
{% endif %}

-- 
You get this email because of your notification settings in {{ tenant_name }}: {{ preferences_url }}
Stop these emails: {{ unsubscribe_url }}
";

const HTML_LAYOUT: &str = r#"<!DOCTYPE html>
<html>
<body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.5;">
<p>Hello {{ recipient_name }},</p>
[[LEAD]]
{% if url %}
<p><a href="{{ url }}" style="color: #0b6bcb;">[[ACTION]]</a></p>
{% endif %}
<hr style="border: none; border-top: 1px solid #d9e2ec;">
<p style="font-size: 12px; color: #616e7c;">You get this email because of your <a href="{{ preferences_url }}">notification settings</a> in {{ tenant_name }}. <a href="{{ unsubscribe_url }}">Stop these emails</a>.</p>
</body>
</html>
"#;

const TEXT_LEAD: &str = "{{ title }}\n{% if body %}\n{{ body }}\n{% endif %}";
const HTML_LEAD: &str =
    "<p><strong>{{ title }}</strong></p>\n{% if body %}\n<p>{{ body }}</p>\n{% endif %}";

const QUESTION_TEXT_LEAD: &str = "{{ title }}\n{% if body %}\n{{ body }}\n{% endif %}{% if reply_by_email %}\nYou can also answer by replying to this email: your reply, without the text it quotes, becomes your answer.\n{% endif %}";
const QUESTION_HTML_LEAD: &str = "<p><strong>{{ title }}</strong></p>\n{% if body %}\n<p>{{ body }}</p>\n{% endif %}{% if reply_by_email %}\n<p>You can also answer by replying to this email: your reply, without the text it quotes, becomes your answer.</p>\n{% endif %}";

const DEADLINE_SUBJECT: &str = "{% if reminder == \"OVERDUE\" %}Overdue: {{ module }}{% elif reminder == \"DUE_IN_1_DAY\" %}Due tomorrow: {{ module }}{% else %}Due in a week: {{ module }}{% endif %}";
const DEADLINE_TEXT_LEAD: &str = "{% if reminder == \"OVERDUE\" %}\n\"{{ module }}\" was due on {{ due_at }} and is not completed yet.\n{% else %}\n\"{{ module }}\" is due on {{ due_at }}.\n{% endif %}";
const DEADLINE_HTML_LEAD: &str = "{% if reminder == \"OVERDUE\" %}\n<p><strong>{{ module }}</strong> was due on {{ due_at }} and is not completed yet.</p>\n{% else %}\n<p><strong>{{ module }}</strong> is due on {{ due_at }}.</p>\n{% endif %}";

/// What a type's built-in email says: its subject, the lead paragraph's templates and the
/// link's label.
fn built_in_parts(
    kind: NotificationType,
) -> (&'static str, &'static str, &'static str, &'static str) {
    use NotificationType as N;
    match kind {
        N::DeadlineReminder => (
            DEADLINE_SUBJECT,
            DEADLINE_TEXT_LEAD,
            DEADLINE_HTML_LEAD,
            "Continue the module",
        ),
        N::NewModule | N::ModuleUpdated | N::ModuleExpiring | N::ModuleExpired => {
            ("{{ title }}", TEXT_LEAD, HTML_LEAD, "Open the module")
        }
        N::CertificateIssued => ("{{ title }}", TEXT_LEAD, HTML_LEAD, "See your certificate"),
        N::QuizResult => ("{{ title }}", TEXT_LEAD, HTML_LEAD, "See your result"),
        N::AssignmentGraded => ("{{ title }}", TEXT_LEAD, HTML_LEAD, "See your grade"),
        N::RewardApproved | N::RewardRejected => {
            ("{{ title }}", TEXT_LEAD, HTML_LEAD, "See your redemption")
        }
        N::CommentReply => ("{{ title }}", TEXT_LEAD, HTML_LEAD, "Open the discussion"),
        N::Announcement => ("{{ title }}", TEXT_LEAD, HTML_LEAD, "Read the announcement"),
        N::QuestionAssigned => (
            "{{ title }}",
            QUESTION_TEXT_LEAD,
            QUESTION_HTML_LEAD,
            "Open the question",
        ),
        _ => ("{{ title }}", TEXT_LEAD, HTML_LEAD, "Open it in Guild"),
    }
}

static BUILT_IN: LazyLock<BTreeMap<NotificationType, TemplateSource>> = LazyLock::new(|| {
    NotificationType::ALL
        .iter()
        .map(|kind| {
            let (subject, text_lead, html_lead, action) = built_in_parts(*kind);
            let source = TemplateSource {
                subject: subject.to_owned(),
                text: TEXT_LAYOUT
                    .replace("[[LEAD]]", text_lead)
                    .replace("[[ACTION]]", action),
                html: Some(
                    HTML_LAYOUT
                        .replace("[[LEAD]]", html_lead)
                        .replace("[[ACTION]]", action),
                ),
            };
            (*kind, source)
        })
        .collect()
});

/// Guild's English template of `kind`.
pub fn built_in(kind: NotificationType) -> TemplateSource {
    BUILT_IN
        .get(&kind)
        .cloned()
        .unwrap_or_else(|| TemplateSource {
            subject: "{{ title }}".into(),
            text: TEXT_LAYOUT
                .replace("[[LEAD]]", TEXT_LEAD)
                .replace("[[ACTION]]", "Open it in Guild"),
            html: None,
        })
}

// --- Rendering ---------------------------------------------------------------------------------

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|name| {
        if name == "html" {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(environment);

fn render_part(
    part: &'static str,
    source: &str,
    values: &minijinja::Value,
) -> Result<String, TemplateProblem> {
    let out = ENV
        .render_named_str(part, source, values.clone())
        .map_err(|e| TemplateProblem {
            part,
            syntax: matches!(e.kind(), ErrorKind::SyntaxError | ErrorKind::BadEscape),
            line: e.line(),
            message: e
                .detail()
                .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
        })?;
    if out.len() > MAX_OUTPUT {
        return Err(TemplateProblem {
            part,
            syntax: false,
            line: None,
            message: format!("renders more than {MAX_OUTPUT} bytes"),
        });
    }
    Ok(out)
}

/// Renders `template` with `values` (a JSON object); every problem of every part when it fails.
/// The subject becomes one line of at most [`MAX_SENT_SUBJECT`] characters.
pub fn render(template: &TemplateSource, values: &Value) -> Result<Rendered, Vec<TemplateProblem>> {
    let values = minijinja::Value::from(minijinja::value::Serde(values));
    let subject = render_part("subject", &template.subject, &values).and_then(|s| {
        let line = one_line(&s);
        if line.is_empty() {
            Err(TemplateProblem {
                part: "subject",
                syntax: false,
                line: None,
                message: "renders an empty subject".into(),
            })
        } else {
            Ok(line)
        }
    });
    let text = render_part("text", &template.text, &values);
    let html = template
        .html
        .as_deref()
        .map(|html| render_part("html", html, &values))
        .transpose();
    match (subject, text, html) {
        (Ok(subject), Ok(text), Ok(html)) => Ok(Rendered {
            subject,
            text,
            html,
        }),
        (subject, text, html) => Err([subject.err(), text.err(), html.err()]
            .into_iter()
            .flatten()
            .collect()),
    }
}

/// `text` as one line: whitespace runs become one space; cut to [`MAX_SENT_SUBJECT`].
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= MAX_SENT_SUBJECT {
        return joined;
    }
    let mut cut: String = joined.chars().take(MAX_SENT_SUBJECT - 1).collect();
    cut.push('…');
    cut
}

/// Checks a template a tenant writes: sizes, and that every part renders with the type's
/// sample values (so a syntax error or an unknown variable is refused, with its line).
pub fn check(kind: NotificationType, template: &TemplateSource) -> Result<(), NotificationsError> {
    let mut errors = Vec::new();
    let mut size = |part: &str, value: &str, max: usize| {
        let n = value.chars().count();
        if value.trim().is_empty() || n > max {
            errors.push(FieldError::new(
                part,
                "length",
                format!("must be 1 to {max} characters, not blank"),
            ));
        }
    };
    size("subject", &template.subject, MAX_SUBJECT);
    size("text", &template.text, MAX_TEXT);
    if let Some(html) = &template.html {
        size("html", html, MAX_HTML);
    }
    if !errors.is_empty() {
        return Err(NotificationsError::Invalid(errors));
    }
    render(template, &sample(kind))
        .map(drop)
        .map_err(NotificationsError::Template)
}

// --- Locales -----------------------------------------------------------------------------------

/// Checks a locale tag: two lowercase letters, optionally `-` and two uppercase letters.
pub fn check_locale(locale: &str) -> Result<(), NotificationsError> {
    let b = locale.as_bytes();
    let language = |s: &[u8]| s.len() == 2 && s.iter().all(u8::is_ascii_lowercase);
    let ok = match b.len() {
        2 => language(b),
        5 => language(&b[..2]) && b[2] == b'-' && b[3..].iter().all(u8::is_ascii_uppercase),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(NotificationsError::invalid(
            "locale",
            "invalid_locale",
            "a language tag such as `en` or `sl-SI`",
        ))
    }
}

/// The locales tried for `locale`, in order: itself, its language, then [`FALLBACK_LOCALE`].
pub fn chain(locale: &str) -> Vec<String> {
    let mut out = vec![locale.to_owned()];
    if let Some((language, _)) = locale.split_once('-') {
        out.push(language.to_owned());
    }
    if !out.iter().any(|l| l == FALLBACK_LOCALE) {
        out.push(FALLBACK_LOCALE.to_owned());
    }
    out
}

// --- Stored templates --------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = t)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct Row {
    #[diesel(deserialize_as = String)]
    kind: NotificationType,
    locale: String,
    subject: String,
    text_body: String,
    html_body: Option<String>,
    revision: i32,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn source(&self) -> TemplateSource {
        TemplateSource {
            subject: self.subject.clone(),
            text: self.text_body.clone(),
            html: self.html_body.clone(),
        }
    }
}

/// The template in use for `kind` in `locale`, given the tenant's templates of the locales of
/// [`chain`]`(locale)`.
fn resolve_from(kind: NotificationType, locale: &str, rows: &[Row]) -> EffectiveTemplate {
    let exact = rows.iter().find(|r| r.kind == kind && r.locale == locale);
    let used = chain(locale)
        .into_iter()
        .find_map(|l| rows.iter().find(|r| r.kind == kind && r.locale == l));
    let (origin, origin_locale, template) = match used {
        Some(row) => (TemplateOrigin::Tenant, row.locale.clone(), row.source()),
        None => (
            TemplateOrigin::BuiltIn,
            FALLBACK_LOCALE.to_owned(),
            built_in(kind),
        ),
    };
    EffectiveTemplate {
        kind,
        locale: locale.to_owned(),
        overridden: exact.is_some(),
        revision: exact.map_or(0, |r| r.revision),
        origin,
        origin_locale,
        template,
        updated_at: exact.map(|r| r.updated_at),
    }
}

async fn rows(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: Option<NotificationType>,
    locale: &str,
) -> Result<Vec<Row>, NotificationsError> {
    let mut query = t::table
        .filter(t::tenant_id.eq(tenant.into_uuid()))
        .filter(t::locale.eq_any(chain(locale)))
        .select(Row::as_select())
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(t::kind.eq(kind.as_str()));
    }
    Ok(query.load(conn).await?)
}

/// The template in use for `kind` in `tenant` and `locale` (for the worker: no actor).
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: NotificationType,
    locale: &str,
) -> Result<EffectiveTemplate, NotificationsError> {
    let locale = if check_locale(locale).is_ok() {
        locale
    } else {
        FALLBACK_LOCALE
    };
    let rows = rows(conn, tenant, Some(kind), locale).await?;
    Ok(resolve_from(kind, locale, &rows))
}

/// Managing templates is a tenant setting: ADMIN and above, in person (an API key has no
/// permission that covers it).
fn check_admin(actor: &Actor) -> Result<(), NotificationsError> {
    if actor.role.rank() > TenantRole::Admin.rank() || actor.api_key.is_some() {
        return Err(NotificationsError::Forbidden);
    }
    Ok(())
}

/// The tenant's locale (tenancy's `tenants.locale`), which emails are rendered in.
pub async fn tenant_locale(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<String, NotificationsError> {
    use guild_db::schema::tenants;
    let locale: Option<String> = tenants::table
        .find(tenant.into_uuid())
        .select(tenants::locale)
        .first(conn)
        .await
        .optional()?;
    Ok(locale.unwrap_or_else(|| FALLBACK_LOCALE.to_owned()))
}

async fn locale_or_tenants(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    locale: Option<&str>,
) -> Result<String, NotificationsError> {
    match locale {
        Some(locale) => {
            check_locale(locale)?;
            Ok(locale.to_owned())
        }
        None => tenant_locale(conn, tenant).await,
    }
}

/// Every type's template in use in `locale` (the tenant's locale when `None`), for admins.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    locale: Option<&str>,
) -> Result<Vec<EffectiveTemplate>, NotificationsError> {
    check_admin(actor)?;
    let locale = locale_or_tenants(conn, actor.tenant_id, locale).await?;
    let rows = rows(conn, actor.tenant_id, None, &locale).await?;
    Ok(NotificationType::ALL
        .iter()
        .map(|kind| resolve_from(*kind, &locale, &rows))
        .collect())
}

/// One type's template in use in `locale`, for admins.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: NotificationType,
    locale: &str,
) -> Result<EffectiveTemplate, NotificationsError> {
    check_admin(actor)?;
    check_locale(locale)?;
    let rows = rows(conn, actor.tenant_id, Some(kind), locale).await?;
    Ok(resolve_from(kind, locale, &rows))
}

/// Stores the tenant's template for `kind` in `locale`, replacing the one of revision
/// `expected` (0: there is none yet). Refuses a stale revision, a template that does not
/// render, and more than [`MAX_TEMPLATES`] templates.
pub async fn put(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: NotificationType,
    locale: &str,
    template: &TemplateSource,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<EffectiveTemplate, NotificationsError> {
    check_admin(actor)?;
    check_locale(locale)?;
    check(kind, template)?;
    let tenant = actor.tenant_id.into_uuid();
    // One writer per tenant at a time: the count below stays true until this commits.
    guild_db::sql(
        "SELECT pg_advisory_xact_lock(hashtextextended('notification_templates:' || $1::text, 0))",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .execute(conn)
    .await?;
    let current: Option<i32> = t::table
        .find((tenant, kind.as_str(), locale))
        .select(t::revision)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let current_revision = current.unwrap_or(0);
    if current_revision != expected {
        return Err(NotificationsError::StaleRevision {
            expected,
            current: current_revision,
        });
    }
    if current.is_none() {
        let count: i64 = t::table
            .filter(t::tenant_id.eq(tenant))
            .count()
            .get_result(conn)
            .await?;
        if count >= MAX_TEMPLATES {
            return Err(NotificationsError::TemplateLimit);
        }
    }
    diesel::insert_into(t::table)
        .values((
            t::tenant_id.eq(tenant),
            t::kind.eq(kind.as_str()),
            t::locale.eq(locale),
            t::subject.eq(&template.subject),
            t::text_body.eq(&template.text),
            t::html_body.eq(template.html.as_deref()),
            t::revision.eq(current_revision + 1),
            t::created_at.eq(now),
            t::updated_at.eq(now),
        ))
        .on_conflict((t::tenant_id, t::kind, t::locale))
        .do_update()
        .set((
            t::subject.eq(&template.subject),
            t::text_body.eq(&template.text),
            t::html_body.eq(template.html.as_deref()),
            t::revision.eq(current_revision + 1),
            t::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "NOTIFICATION_TEMPLATE_UPDATED",
        "notification_template",
        Some(format!("{kind}:{locale}")),
        json!({ "kind": kind, "locale": locale, "revision": current_revision + 1 }),
    )
    .await?;
    let rows = rows(conn, actor.tenant_id, Some(kind), locale).await?;
    Ok(resolve_from(kind, locale, &rows))
}

/// Removes the tenant's template for `kind` in `locale` (of revision `expected`): the next one
/// in the locale chain, or the built-in one, applies again. Answers what applies now.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: NotificationType,
    locale: &str,
    expected: i32,
) -> Result<EffectiveTemplate, NotificationsError> {
    check_admin(actor)?;
    check_locale(locale)?;
    let tenant = actor.tenant_id.into_uuid();
    let current: i32 = t::table
        .find((tenant, kind.as_str(), locale))
        .select(t::revision)
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(NotificationsError::TemplateNotFound)?;
    if current != expected {
        return Err(NotificationsError::StaleRevision { expected, current });
    }
    diesel::delete(t::table.find((tenant, kind.as_str(), locale)))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "NOTIFICATION_TEMPLATE_REVERTED",
        "notification_template",
        Some(format!("{kind}:{locale}")),
        json!({ "kind": kind, "locale": locale, "revision": current }),
    )
    .await?;
    let rows = rows(conn, actor.tenant_id, Some(kind), locale).await?;
    Ok(resolve_from(kind, locale, &rows))
}

/// Renders `template` (or, when `None`, the one in use in `locale`, the tenant's locale when
/// `None`) with the type's sample values, for admins: what the email would look like, or each
/// problem with its line.
pub async fn preview(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: NotificationType,
    locale: Option<&str>,
    template: Option<&TemplateSource>,
) -> Result<Rendered, NotificationsError> {
    check_admin(actor)?;
    let locale = locale_or_tenants(conn, actor.tenant_id, locale).await?;
    let template = match template {
        Some(given) => {
            check_sizes(given)?;
            given.clone()
        }
        None => {
            let rows = rows(conn, actor.tenant_id, Some(kind), &locale).await?;
            resolve_from(kind, &locale, &rows).template
        }
    };
    render(&template, &sample(kind)).map_err(NotificationsError::Template)
}

fn check_sizes(template: &TemplateSource) -> Result<(), NotificationsError> {
    let too_long = [
        ("subject", template.subject.chars().count(), MAX_SUBJECT),
        ("text", template.text.chars().count(), MAX_TEXT),
        (
            "html",
            template.html.as_deref().map_or(0, |h| h.chars().count()),
            MAX_HTML,
        ),
    ]
    .into_iter()
    .filter(|(_, n, max)| n > max)
    .map(|(part, _, max)| FieldError::new(part, "length", format!("at most {max} characters")))
    .collect::<Vec<_>>();
    if too_long.is_empty() {
        Ok(())
    } else {
        Err(NotificationsError::Invalid(too_long))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn source(subject: &str, text: &str, html: Option<&str>) -> TemplateSource {
        TemplateSource {
            subject: subject.into(),
            text: text.into(),
            html: html.map(str::to_owned),
        }
    }

    #[test]
    fn every_built_in_template_renders_its_sample() {
        for kind in NotificationType::ALL {
            let rendered = render(&built_in(*kind), &sample(*kind))
                .unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            assert!(!rendered.subject.is_empty(), "{kind}");
            assert!(rendered.text.contains("Hello Ana Novak,"), "{kind}");
            assert!(rendered.text.contains("unsubscribe?token=sample"), "{kind}");
            assert!(
                rendered
                    .html
                    .as_deref()
                    .is_some_and(|h| h.contains("Stop these emails")),
                "{kind}"
            );
        }
        let deadline = render(
            &built_in(NotificationType::DeadlineReminder),
            &sample(NotificationType::DeadlineReminder),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(deadline.subject, "Due tomorrow: Forklift safety");
        assert!(
            deadline
                .text
                .contains("\"Forklift safety\" is due on 2026-12-08 17:00 UTC.")
        );
    }

    #[test]
    fn html_escapes_values_and_text_keeps_them() {
        let mut values = sample(NotificationType::CertificateIssued);
        values["title"] = json!("Your certificate for <script>alert(1)</script>");
        let rendered = render(&built_in(NotificationType::CertificateIssued), &values)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let html = rendered.html.unwrap_or_default();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(rendered.text.contains("<script>alert(1)</script>"));
        assert_eq!(
            rendered.subject,
            "Your certificate for <script>alert(1)</script>"
        );
    }

    #[test]
    fn syntax_errors_name_their_part_and_line() {
        let broken = source(
            "{{ title }}",
            "Hello\n\n{% if body %}\nno end",
            Some("<p>{{ title</p>"),
        );
        let problems = render(&broken, &sample(NotificationType::System))
            .err()
            .unwrap_or_default();
        let parts: Vec<_> = problems.iter().map(|p| (p.part, p.syntax)).collect();
        assert_eq!(parts, [("text", true), ("html", true)]);
        assert_eq!(problems[1].line, Some(1));
        assert!(problems[0].field_error().message.starts_with("line "));
    }

    #[test]
    fn templates_reach_only_their_variables() {
        let kind = NotificationType::QuizResult;
        for text in [
            "{{ password }}",
            "{% include \"/etc/passwd\" %}",
            "{% extends \"base.html\" %}",
            "{% import \"x\" as y %}{{ y }}",
            "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
        ] {
            let result = check(kind, &source("{{ title }}", text, None));
            assert!(
                matches!(result, Err(NotificationsError::Template(_))),
                "{text}: {result:?}"
            );
        }
        assert!(
            check(
                kind,
                &source("{{ module }}: {{ score }}%", "{{ body }}", None)
            )
            .is_ok()
        );
        assert!(
            check(NotificationType::System, &source("{{ module }}", "x", None)).is_err(),
            "SYSTEM has no module"
        );
    }

    #[test]
    fn locales_fall_back_to_their_language_then_english() {
        assert_eq!(chain("sl-SI"), ["sl-SI", "sl", "en"]);
        assert_eq!(chain("de"), ["de", "en"]);
        assert_eq!(chain("en-GB"), ["en-GB", "en"]);
        assert_eq!(chain("en"), ["en"]);
        for bad in ["", "EN", "en_US", "en-us", "eng", "sl-SIX"] {
            assert!(check_locale(bad).is_err(), "{bad}");
        }
    }
}
