//! `/v1/notification-templates`: the tenant's email templates of notifications, per type and
//! locale, over Guild's built-in English ones; and a preview with sample values.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use guild_notifications::NotificationType;
use guild_notifications::templates::{
    self, EffectiveTemplate, Rendered, TemplateOrigin, TemplateSource,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::{IfMatch, Revised, Tagged};
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf};
use crate::routes::modules::PreconditionErrors;
use crate::routes::segment;

/// Registers `/v1/notification-templates`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/notification-templates")
            .service(list_notification_templates)
            .service(preview_notification_template)
            .service(get_notification_template)
            .service(update_notification_template)
            .service(delete_notification_template),
    );
}

/// The email template a notification type uses in a locale. The `ETag` header carries
/// `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationTemplateDto {
    /// The notification type.
    #[serde(rename = "type")]
    kind: NotificationType,
    /// The locale asked for.
    locale: String,
    /// The tenant stored its own template for exactly this type and locale.
    overridden: bool,
    /// That template's revision (the `ETag`); 0 when there is none (send `If-Match: "0"` to
    /// create one).
    revision: i32,
    /// Where the template in use comes from: the tenant's own (of `origin_locale`, which may be
    /// the locale's language or `en`) or Guild's built-in English one.
    origin: TemplateOrigin,
    /// The locale of the template in use.
    origin_locale: String,
    /// The subject line (MiniJinja; plain text).
    subject: String,
    /// The plain-text body (MiniJinja).
    text: String,
    /// The HTML body (MiniJinja; every value is HTML-escaped); absent: plain text only.
    html: Option<String>,
    /// The variables this type's templates may use.
    variables: Vec<&'static str>,
    /// When the tenant's template for this locale last changed.
    updated_at: Option<DateTime<Utc>>,
}

impl From<EffectiveTemplate> for NotificationTemplateDto {
    fn from(t: EffectiveTemplate) -> Self {
        Self {
            kind: t.kind,
            locale: t.locale,
            overridden: t.overridden,
            revision: t.revision,
            origin: t.origin,
            origin_locale: t.origin_locale,
            subject: t.template.subject,
            text: t.template.text,
            html: t.template.html,
            variables: templates::COMMON
                .iter()
                .chain(templates::variables(t.kind))
                .copied()
                .collect(),
            updated_at: t.updated_at,
        }
    }
}

impl Revised for NotificationTemplateDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

/// `?locale=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocaleQuery {
    /// A language tag such as `en` or `sl-SI` (the tenant's locale when left out); 422
    /// `validation_failed` (`invalid_locale`) otherwise.
    #[param(min_length = 2, max_length = 5, pattern = "^[a-z]{2}(-[A-Z]{2})?$")]
    locale: Option<String>,
}

/// A notification type and a locale.
#[derive(Debug, Deserialize)]
pub(crate) struct TemplatePath {
    notification_type: NotificationType,
    locale: String,
}

/// A template of the tenant's own.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "subject": "Obvestilo: {{ title }}",
    "text": "Pozdravljeni, {{ recipient_name }}!\n\n{{ body }}\n\n{{ url }}\n\nOdjava: {{ unsubscribe_url }}\n",
    "html": "<p>Pozdravljeni, {{ recipient_name }}!</p><p>{{ body }}</p>"
}))]
pub(crate) struct TemplateBody {
    /// The subject line, one line once rendered.
    #[validate(
        length(min = 1, max = 500),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    subject: String,
    /// The plain-text body.
    #[validate(
        length(min = 1, max = 20000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 20000, pattern = "\\S")]
    text: String,
    /// The HTML body; left out, the email is plain text only.
    #[validate(
        length(min = 1, max = 50000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 50000, pattern = "\\S")]
    html: Option<String>,
}

impl From<TemplateBody> for TemplateSource {
    fn from(b: TemplateBody) -> Self {
        Self {
            subject: b.subject,
            text: b.text,
            html: b.html,
        }
    }
}

/// What to preview.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"locale": "sl-SI", "template": {"subject": "{{ module }}", "text": "{{ body }}"}}))]
pub(crate) struct PreviewBody {
    /// The locale whose template to preview when `template` is left out (the tenant's locale
    /// when left out).
    #[validate(length(min = 2, max = 5))]
    #[schema(min_length = 2, max_length = 5, pattern = "^[a-z]{2}(-[A-Z]{2})?$")]
    locale: Option<String>,
    /// A template to try instead of the stored one.
    #[validate(nested)]
    template: Option<TemplateBody>,
}

/// An email as it would be sent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RenderedEmailDto {
    /// The subject line.
    subject: String,
    /// The plain-text body.
    text: String,
    /// The HTML body, if the template has one.
    html: Option<String>,
}

impl From<Rendered> for RenderedEmailDto {
    fn from(r: Rendered) -> Self {
        Self {
            subject: r.subject,
            text: r.text,
            html: r.html,
        }
    }
}

/// List the notification email templates.
///
/// For ADMIN and above, in person (403 `forbidden` for others and for API keys): every
/// notification type's template in use in `locale` (the tenant's locale when left out), whether
/// the tenant has its own for exactly that locale, and the variables each may use. Emails are
/// rendered in the tenant's locale: the tenant's template for it, else for its language (`sl`
/// for `sl-SI`), else for `en`, else Guild's built-in English one. All types are on one page.
#[utoipa::path(tag = "notifications", params(LocaleQuery),
    responses((status = 200, body = PageOf<NotificationTemplateDto>, description = "Every type's template"), AuthErrors, InputErrors))]
#[get("/notification-templates")]
pub(crate) async fn list_notification_templates(
    ctx: Ctx<Permitted>,
    query: web::Query<LocaleQuery>,
) -> Result<web::Json<PageOf<NotificationTemplateDto>>, ApiError> {
    let locale = query.into_inner().locale;
    let found = ctx
        .write(async |conn| templates::list(conn, &ctx.actor, locale.as_deref()).await)
        .await?;
    Ok(web::Json(PageOf {
        data: found
            .into_iter()
            .map(NotificationTemplateDto::from)
            .collect(),
        next_cursor: None,
    }))
}

/// Get a notification type's email template in a locale.
///
/// For ADMIN and above, in person (403 `forbidden` otherwise). The template in use, with the
/// `ETag` of the tenant's own for exactly this locale (`"0"` when it has none). An unknown type
/// is 404 `invalid_path_parameter`; a malformed locale 422.
#[utoipa::path(tag = "notifications",
    params(
        ("notification_type" = NotificationType, Path, description = "The notification type"),
        ("locale" = String, Path, description = "A language tag such as `en` or `sl-SI`", min_length = 2, max_length = 5, pattern = "^[a-z]{2}(-[A-Z]{2})?$")
    ),
    responses((status = 200, body = NotificationTemplateDto, description = "The template; `ETag` is its revision"), AuthErrors, InputErrors, NotFound))]
#[get("/notification-templates/{notification_type}/locales/{locale}")]
pub(crate) async fn get_notification_template(
    ctx: Ctx<Permitted>,
    path: web::Path<TemplatePath>,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let found = ctx
        .write(async |conn| templates::get(conn, &ctx.actor, p.notification_type, &p.locale).await)
        .await?;
    Ok(Tagged(NotificationTemplateDto::from(found)).into())
}

/// Set the tenant's email template of a notification type in a locale; requires `If-Match`.
///
/// For ADMIN and above, in person (403 `forbidden` otherwise). Creates it with `If-Match: "0"`
/// or replaces the revision read. Each part must parse and render with the type's sample
/// values: 422 `template_syntax_error` (a syntax error) or `template_render_error` (e.g. a
/// variable the type does not have), each in `errors[]` with the part (`subject`, `text`,
/// `html`) and its line. A tenant keeps at most 200 templates (409 `template_limit_reached`).
#[utoipa::path(tag = "notifications",
    params(
        ("notification_type" = NotificationType, Path, description = "The notification type"),
        ("locale" = String, Path, description = "A language tag such as `en` or `sl-SI`", min_length = 2, max_length = 5, pattern = "^[a-z]{2}(-[A-Z]{2})?$"),
        ("If-Match" = String, Header, description = "The ETag you read (`\"0\"` to create)")
    ),
    request_body = TemplateBody,
    responses((status = 200, body = NotificationTemplateDto, description = "Stored"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors))]
#[put("/notification-templates/{notification_type}/locales/{locale}")]
pub(crate) async fn update_notification_template(
    ctx: Ctx<Permitted>,
    path: web::Path<TemplatePath>,
    if_match: IfMatch,
    body: ValidJson<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let template = TemplateSource::from(body.into_inner());
    let stored = ctx
        .write(async |conn| {
            templates::put(
                conn,
                &ctx.actor,
                p.notification_type,
                &p.locale,
                &template,
                if_match.0,
                ctx.now,
            )
            .await
        })
        .await?;
    Ok(Tagged(NotificationTemplateDto::from(stored)).into())
}

/// Remove the tenant's email template of a type in a locale; requires `If-Match`.
///
/// For ADMIN and above, in person (403 `forbidden` otherwise); 404 `template_not_found` when
/// the tenant has none for exactly this locale. Answers the template that applies from now on
/// (the next in the locale chain, or the built-in one).
#[utoipa::path(tag = "notifications",
    params(
        ("notification_type" = NotificationType, Path, description = "The notification type"),
        ("locale" = String, Path, description = "A language tag such as `en` or `sl-SI`", min_length = 2, max_length = 5, pattern = "^[a-z]{2}(-[A-Z]{2})?$"),
        ("If-Match" = String, Header, description = "The ETag you read")
    ),
    responses((status = 200, body = NotificationTemplateDto, description = "Removed; the template in use now"), AuthErrors, InputErrors, NotFound, PreconditionErrors))]
#[delete("/notification-templates/{notification_type}/locales/{locale}")]
pub(crate) async fn delete_notification_template(
    ctx: Ctx<Permitted>,
    path: web::Path<TemplatePath>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let now_in_use = ctx
        .write(async |conn| {
            templates::delete(conn, &ctx.actor, p.notification_type, &p.locale, if_match.0).await
        })
        .await?;
    Ok(Tagged(NotificationTemplateDto::from(now_in_use)).into())
}

/// Preview a notification type's email with sample values.
///
/// For ADMIN and above, in person (403 `forbidden` otherwise). Renders `template` when given,
/// else the template in use in `locale`, with example values of every variable of the type.
/// Nothing is stored or sent. 422 `template_syntax_error` or `template_render_error` with the
/// part and line of each problem in `errors[]`.
#[utoipa::path(tag = "notifications",
    params(("notification_type" = NotificationType, Path, description = "The notification type")),
    request_body = PreviewBody,
    responses((status = 200, body = RenderedEmailDto, description = "The email as it would be sent"), AuthErrors, InputErrors, NotFound))]
#[post("/notification-templates/{notification_type}/preview")]
pub(crate) async fn preview_notification_template(
    ctx: Ctx<Permitted>,
    path: web::Path<NotificationType>,
    body: ValidJson<PreviewBody>,
) -> Result<web::Json<RenderedEmailDto>, ApiError> {
    let kind = path.into_inner();
    let b = body.into_inner();
    let template = b.template.map(TemplateSource::from);
    let rendered = ctx
        .write(async |conn| {
            templates::preview(
                conn,
                &ctx.actor,
                kind,
                b.locale.as_deref(),
                template.as_ref(),
            )
            .await
        })
        .await?;
    Ok(web::Json(rendered.into()))
}
