//! Module builds (`module_builds`, `module_build_citations`): a media-library file (PDF, DOCX or
//! video) turned into a DRAFT module by a member job (the api layer runs it; see
//! [`crate::builder`] for the draft itself).
//!
//! Rules kept here:
//! - Who builds: whoever may create modules and use the media library (MANAGE_ALL_MODULES or
//!   MANAGE_OWN_MODULES, [`guild_learning::media::check_author`]); the file must be a READY asset
//!   of the actor's tenant (another tenant's is 404 `asset_not_found`), a PDF, DOCX or video of
//!   at most [`MAX_SOURCE_BYTES`].
//! - Limits: [`MAX_OPEN_PER_MEMBER`] builds queued or running per member and
//!   [`MAX_OPEN_PER_TENANT`] per tenant (409 `module_build_limit_reached`), decided under a
//!   per-tenant lock so two starts racing for the last place take turns.
//! - A build is QUEUED → RUNNING → SUCCEEDED, FAILED or CANCELLED. The text extracted from the
//!   file is kept with the build once read, so a retry of a FAILED or CANCELLED build (by the
//!   member who started it) does not read the file again.
//! - Who reads a build: the member who started it and MANAGE_ALL_MODULES holders; anyone else
//!   gets 404 `module_build_not_found`, as for another tenant's.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{module_build_citations as c, module_builds as b};
use guild_kernel::{Actor, AssetId, TenantId};
use guild_learning::media::Asset;
use serde::Serialize;
use uuid::Uuid;

use crate::AiError;
use crate::builder::{Segment, Span};

/// The largest file a build reads (the transcription endpoint's limit, and plenty for text).
pub const MAX_SOURCE_BYTES: i64 = 25 * 1024 * 1024;
/// Builds a member may have queued or running at once.
pub const MAX_OPEN_PER_MEMBER: i64 = 2;
/// Builds a tenant may have queued or running at once.
pub const MAX_OPEN_PER_TENANT: i64 = 10;

guild_kernel::string_enum!(
    /// Where a build is.
    BuildStatus {
        /// Waiting for a worker.
        Queued => "QUEUED",
        /// Reading the file or writing the module.
        Running => "RUNNING",
        /// The module is created (as a DRAFT).
        Succeeded => "SUCCEEDED",
        /// It stopped on a problem; it may be retried.
        Failed => "FAILED",
        /// Its job was cancelled; it may be retried.
        Cancelled => "CANCELLED",
    }
);

guild_kernel::string_enum!(
    /// What the file is.
    SourceKind {
        /// A PDF: text by page.
        Pdf => "PDF",
        /// A Word document: text by paragraph.
        Docx => "DOCX",
        /// A video: its speech transcribed, by time.
        Video => "VIDEO",
        /// An audio file: its speech transcribed, by time.
        Audio => "AUDIO",
    }
);

impl SourceKind {
    /// The kind of a file of this content type, if a build reads it.
    pub fn of(content_type: &str) -> Option<Self> {
        match content_type {
            "application/pdf" => Some(Self::Pdf),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
                Some(Self::Docx)
            }
            t if t.starts_with("video/") => Some(Self::Video),
            t if t.starts_with("audio/") => Some(Self::Audio),
            _ => None,
        }
    }

    /// Its text is speech, transcribed by the transcription model.
    pub fn is_spoken(self) -> bool {
        matches!(self, Self::Video | Self::Audio)
    }
}

guild_kernel::string_enum!(
    /// How the draft was made.
    BuildMethod {
        /// A generation model wrote it from the text.
        Model => "MODEL",
        /// From the document's headings and paragraphs, without a model.
        Structure => "STRUCTURE",
    }
);

/// A build, without its extracted text.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = b)]
pub struct Build {
    /// Id.
    pub id: Uuid,
    /// Who started it.
    pub user_id: Uuid,
    /// The file (gone when the asset was deleted).
    pub asset_id: Option<Uuid>,
    /// The member job of its current run.
    pub job_id: Uuid,
    /// The language asked for (a BCP 47 tag).
    pub language: Option<String>,
    /// The editor's wishes for the module.
    pub hints: Option<String>,
    /// Where it is.
    #[diesel(deserialize_as = String)]
    pub status: BuildStatus,
    /// What the file is (a [`SourceKind`]; see [`Build::kind`]).
    pub source_kind: Option<String>,
    /// Characters of text extracted (0 until read).
    pub extracted_chars: i32,
    /// How much was extracted and how it begins.
    pub summary: Option<String>,
    /// How the draft was made (a [`BuildMethod`]; see [`Build::method`]).
    pub method: Option<String>,
    /// The module created.
    pub module_id: Option<Uuid>,
    /// Why it failed (the problem a request would have answered).
    pub problem: Option<serde_json::Value>,
    /// Runs begun.
    pub attempts: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Build {
    /// What the file is.
    pub fn kind(&self) -> Option<SourceKind> {
        self.source_kind.as_deref().and_then(|k| k.parse().ok())
    }

    /// How the draft was made.
    pub fn method(&self) -> Option<BuildMethod> {
        self.method.as_deref().and_then(|m| m.parse().ok())
    }
}

/// Where one section or question of the built module came from.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = c)]
pub struct Citation {
    /// The section, for a section's citation.
    pub section_id: Option<Uuid>,
    /// The quiz question, for a question's.
    pub question_id: Option<Uuid>,
    /// PAGE, PARAGRAPH or TIME.
    pub kind: String,
    /// The first page or paragraph, or the start in milliseconds.
    pub span_start: i32,
    /// The last page or paragraph, or the end in milliseconds.
    pub span_end: i32,
    /// The start of the cited text.
    pub excerpt: String,
}

/// A citation to record: a section's or a question's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCitation {
    /// The section (or `None` with a question).
    pub section_id: Option<Uuid>,
    /// The question (or `None` with a section).
    pub question_id: Option<Uuid>,
    /// The span.
    pub span: Span,
    /// The start of its text.
    pub excerpt: String,
}

/// May build modules: may use the media library and create modules.
pub fn check_builder(actor: &Actor) -> Result<(), AiError> {
    guild_learning::media::check_author(actor)?;
    Ok(())
}

async fn check_room(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<(), AiError> {
    let tenant = actor.tenant_id.into_uuid();
    guild_db::lock_xact(conn, &format!("module_builds:{tenant}")).await?;
    let open: Vec<Uuid> = b::table
        .filter(b::tenant_id.eq(tenant))
        .filter(b::status.eq_any([BuildStatus::Queued.as_str(), BuildStatus::Running.as_str()]))
        .select(b::user_id)
        .load(conn)
        .await?;
    let mine = open
        .iter()
        .filter(|u| **u == actor.user_id.into_uuid())
        .count();
    if i64::try_from(mine).unwrap_or(i64::MAX) >= MAX_OPEN_PER_MEMBER
        || i64::try_from(open.len()).unwrap_or(i64::MAX) >= MAX_OPEN_PER_TENANT
    {
        return Err(AiError::BuildLimitReached);
    }
    Ok(())
}

/// Checks that the actor may build from `asset_id` and has room for a build; answers the asset
/// and what it is. Call it, then queue the job, then [`create`], in one transaction.
pub async fn check_start(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    asset_id: Uuid,
) -> Result<(Asset, SourceKind), AiError> {
    check_builder(actor)?;
    let (asset, _) = guild_learning::media::get(conn, actor, AssetId(asset_id)).await?;
    if asset.status != guild_learning::media::AssetStatus::Ready {
        return Err(guild_learning::LearningError::AssetNotReady.into());
    }
    let kind = SourceKind::of(&asset.content_type).ok_or_else(|| {
        AiError::invalid(
            "asset_id",
            "unsupported_source",
            "a module is built from a PDF, a DOCX or a video",
        )
    })?;
    if asset.size_bytes > MAX_SOURCE_BYTES {
        return Err(AiError::invalid(
            "asset_id",
            "too_large",
            "a module is built from a file of at most 25 MiB",
        ));
    }
    check_room(conn, actor).await?;
    Ok((asset, kind))
}

/// What a build is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBuild {
    /// Its id.
    pub id: Uuid,
    /// The job that runs it.
    pub job_id: Uuid,
    /// The file.
    pub asset_id: Uuid,
    /// What the file is.
    pub source_kind: SourceKind,
    /// The language (a BCP 47 tag).
    pub language: Option<String>,
    /// The editor's wishes.
    pub hints: Option<String>,
}

/// Records a build, QUEUED (after [`check_start`] and queuing its job).
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    new: &NewBuild,
    now: DateTime<Utc>,
) -> Result<Build, AiError> {
    Ok(diesel::insert_into(b::table)
        .values((
            b::tenant_id.eq(actor.tenant_id.into_uuid()),
            b::id.eq(new.id),
            b::user_id.eq(actor.user_id.into_uuid()),
            b::asset_id.eq(new.asset_id),
            b::job_id.eq(new.job_id),
            b::language.eq(&new.language),
            b::hints.eq(&new.hints),
            b::status.eq(BuildStatus::Queued.as_str()),
            b::source_kind.eq(new.source_kind.as_str()),
            b::created_at.eq(now),
            b::updated_at.eq(now),
        ))
        .returning(Build::as_returning())
        .get_result(conn)
        .await?)
}

async fn row(conn: &mut AsyncPgConnection, tenant: TenantId, id: Uuid) -> Result<Build, AiError> {
    b::table
        .find((tenant.into_uuid(), id))
        .select(Build::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(AiError::NotFound("module_build_not_found"))
}

/// Where the sections and quiz questions of `module` came from, for those who may edit it
/// ([`guild_learning::access::editable`]: 403 when they may see it but not edit it, 404 when they
/// may not see it): the citations of every build that made it, the latest build's first, each in
/// its order. Empty for a module no build made.
pub async fn of_module(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<Vec<Citation>, AiError> {
    guild_learning::access::editable(conn, actor, module).await?;
    Ok(c::table
        .filter(c::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(c::module_id.eq(module))
        .order((c::build_id.desc(), c::position))
        .select(Citation::as_select())
        .load(conn)
        .await?)
}

/// A build the actor may read, with its citations in order.
pub async fn find(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(Build, Vec<Citation>), AiError> {
    let build = row(conn, actor.tenant_id, id).await?;
    let owner = build.user_id == actor.user_id.into_uuid();
    let reader = guild_learning::access::may_manage_all(actor, None)
        || (owner && check_builder(actor).is_ok());
    if !reader {
        return Err(AiError::NotFound("module_build_not_found"));
    }
    let citations = c::table
        .filter(c::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(c::build_id.eq(id))
        .order(c::position)
        .select(Citation::as_select())
        .load(conn)
        .await?;
    Ok((build, citations))
}

/// Checks that the actor may retry the build (its starter, FAILED or CANCELLED, with room for
/// it); answers it. Call it, then queue the job, then [`requeue`], in one transaction.
pub async fn check_retry(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Build, AiError> {
    let (build, _) = find(conn, actor, id).await?;
    if build.user_id != actor.user_id.into_uuid() {
        return Err(AiError::Forbidden);
    }
    if !matches!(build.status, BuildStatus::Failed | BuildStatus::Cancelled) {
        return Err(AiError::InvalidStatus);
    }
    if build.asset_id.is_none() && build.extracted_chars == 0 {
        return Err(guild_learning::LearningError::AssetNotFound.into());
    }
    check_room(conn, actor).await?;
    Ok(build)
}

/// Queues a FAILED or CANCELLED build again under its new job.
pub async fn requeue(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    job_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Build, AiError> {
    diesel::update(b::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(b::status.eq_any([
            BuildStatus::Failed.as_str(),
            BuildStatus::Cancelled.as_str(),
        ]))
        .set((
            b::status.eq(BuildStatus::Queued.as_str()),
            b::job_id.eq(job_id),
            b::problem.eq(None::<serde_json::Value>),
            b::finished_at.eq(None::<DateTime<Utc>>),
            b::updated_at.eq(now),
        ))
        .returning(Build::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(AiError::InvalidStatus)
}

/// A build as its job begins it: RUNNING, one more attempt; with the text extracted before, if
/// any. `None` when the build is not waiting for this job (it ended, or a newer run took it).
pub async fn begin(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    job_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(Build, Option<Vec<Segment>>)>, AiError> {
    let tenant = actor.tenant_id.into_uuid();
    let started: Option<Build> = diesel::update(b::table.find((tenant, id)))
        .filter(b::job_id.eq(job_id))
        .filter(b::status.eq_any([BuildStatus::Queued.as_str(), BuildStatus::Running.as_str()]))
        .set((
            b::status.eq(BuildStatus::Running.as_str()),
            b::attempts.eq(b::attempts + 1),
            b::updated_at.eq(now),
        ))
        .returning(Build::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    let Some(build) = started else {
        return Ok(None);
    };
    let extracted: Option<serde_json::Value> = b::table
        .find((tenant, id))
        .select(b::extracted)
        .first(conn)
        .await?;
    // Only this module writes the column, always from a `Vec<Segment>`.
    let segments = extracted.and_then(|v| serde_json::from_value(v).ok());
    Ok(Some((build, segments)))
}

/// Keeps the text extracted from the file with the build.
pub async fn save_extracted(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    segments: &[Segment],
    now: DateTime<Utc>,
) -> Result<(), AiError> {
    let chars: usize = segments.iter().map(|s| s.text.chars().count()).sum();
    let value = serde_json::to_value(segments).unwrap_or(serde_json::Value::Null);
    diesel::update(b::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            b::extracted.eq(value),
            b::extracted_chars.eq(i32::try_from(chars).unwrap_or(i32::MAX)),
            b::summary.eq(crate::builder::summary(segments)),
            b::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The build SUCCEEDED: its module and where each section and question came from.
pub async fn succeed(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    module_id: Uuid,
    method: BuildMethod,
    citations: &[NewCitation],
    now: DateTime<Utc>,
) -> Result<(), AiError> {
    let tenant = actor.tenant_id.into_uuid();
    let rows: Vec<_> = citations
        .iter()
        .enumerate()
        .map(|(i, cite)| {
            (
                c::tenant_id.eq(tenant),
                c::id.eq(Uuid::now_v7()),
                c::build_id.eq(id),
                c::module_id.eq(module_id),
                c::section_id.eq(cite.section_id),
                c::question_id.eq(cite.question_id),
                c::kind.eq(cite.span.kind.as_str()),
                c::span_start.eq(cite.span.start.max(0)),
                c::span_end.eq(cite.span.end.max(cite.span.start).max(0)),
                c::excerpt.eq(crate::builder::cut(&cite.excerpt, 500)),
                c::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        diesel::insert_into(c::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    diesel::update(b::table.find((tenant, id)))
        .set((
            b::status.eq(BuildStatus::Succeeded.as_str()),
            b::module_id.eq(module_id),
            b::method.eq(method.as_str()),
            b::problem.eq(None::<serde_json::Value>),
            b::finished_at.eq(now),
            b::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The build ended without a module: FAILED with its problem, or CANCELLED. Only a build still
/// running this job ends; its extracted text stays.
pub async fn end(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    job_id: Uuid,
    status: BuildStatus,
    problem: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<(), AiError> {
    diesel::update(b::table.find((tenant.into_uuid(), id)))
        .filter(b::job_id.eq(job_id))
        .filter(b::status.eq_any([BuildStatus::Queued.as_str(), BuildStatus::Running.as_str()]))
        .set((
            b::status.eq(status.as_str()),
            b::problem.eq(problem),
            b::finished_at.eq(now),
            b::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
