//! Your personal data, as a file: `/v1/me/data-export`.

use actix_web::{HttpResponse, post};

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::idempotency::{Idempotency, IdempotencyHeader};
use crate::reactions::privacy::PersonalDataExport;
use crate::routes::common::{AuthErrors, Conflict};
use crate::routes::jobs::JobDto;

/// Export your personal data.
///
/// Any member, for themselves (an API key only with `act_as_member`; never an owner looking
/// into a tenant): everything Guild holds about you in this tenant as one JSON file
/// (`personal-data.json`, format `guild.personal-data/1`): your account without its password,
/// then a section per kind of record — memberships and groups, progress, attempts and
/// submissions, certificates, XP and redemptions, notifications and preferences, what you wrote
/// (chat, discussions, feed, suggestions, questions), live events, your coaching sessions and
/// action items, sessions, uploads, jobs and the audit entries of your own actions. Secrets
/// (token hashes, sealed values) and your coaches' private notes are left out. Answers `202
/// Accepted` with the job (`Location: /v1/jobs/{id}`); once SUCCEEDED its `result_url` gives the
/// file. 409 `job_limit_reached` while you have 5 jobs waiting or running.
#[utoipa::path(
    tag = "members",
    params(IdempotencyHeader),
    responses(
        (status = 202, body = JobDto, description = "Queued: follow the job",
         headers(("Location" = String, description = "The job: `/v1/jobs/{id}`"))),
        AuthErrors, Conflict)
)]
#[post("/me/data-export")]
pub(crate) async fn export_my_data(ctx: Ctx, key: Idempotency) -> Result<HttpResponse, ApiError> {
    if ctx.actor.impersonating {
        return Err(ApiError::from(guild_privacy::PrivacyError::Forbidden));
    }
    crate::jobs::accept(&ctx, &key, PersonalDataExport {}).await
}
