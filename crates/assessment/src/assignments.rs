//! Assignments of a module (optionally of one of its sections): a brief, a due date, a maximum
//! score, what a submission consists of (TEXT, FILE or BOTH), which files are accepted, and an
//! optional rubric. CRUD with optimistic concurrency (`revision`, the ETag).
//!
//! - An assignment is visible exactly when its module is: an invisible module's assignments are
//!   404 `assignment_not_found`, as if absent. Authoring needs MANAGE_QUIZZES on the module or
//!   the right to edit it.
//! - `brief_html` is sanitized on write. A `section_id` must be a section of the module.
//! - A rubric is criteria × levels with points: every level's points are at most `max_score`,
//!   and the best levels of all criteria add up to exactly `max_score`, so a rubric grade is
//!   always a score between 0 and `max_score`. Changing the rubric or the maximum later leaves
//!   grades already given as they are.
//! - Members upload the files of their submissions here ([`check_file`], then [`record_file`]
//!   once the caller stored the bytes): the type is sniffed from the bytes with the media
//!   library's rules and must be one the assignment accepts, within `max_file_bytes`. The file
//!   becomes a READY media asset owned by the uploader, recorded in `assignment_files` so that
//!   only its uploader can put it in a submission to this assignment.
//! - A member's assignment files in a tenant take at most a quota of bytes in all (the caller's
//!   setting), checked before the body is read ([`file_quota_left`]) and again, under a
//!   per-member lock, when the file is recorded, so uploads racing each other cannot pass it.
//!   Files never submitted are removed after a day ([`orphaned_files`]), which frees the quota.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{assignment_files, assignments, sections};
use guild_kernel::{Actor, AssetId, FieldError, Page, PageRequest};
use guild_learning::LearningError;
use guild_learning::access::visible;
use guild_learning::media::{self, FILE_TYPES, FileType};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AssessmentError;
use crate::quizzes::check_author;

guild_kernel::string_enum!(
    /// What a submission to an assignment consists of.
    SubmissionFormat {
        /// A text answer.
        Text => "TEXT",
        /// Files uploaded for the assignment.
        File => "FILE",
        /// A text answer and files.
        Both => "BOTH",
    }
);

guild_kernel::string_enum!(
    /// The file types an assignment may accept, by extension (the media library's types; see
    /// `guild_learning::media::FILE_TYPES`). Authors may write them in any case, with or without
    /// a leading dot.
    AssignmentFileType {
        /// PDF.
        Pdf => "pdf",
        /// Word (OOXML).
        Docx => "docx",
        /// Word (legacy).
        Doc => "doc",
        /// PNG image.
        Png => "png",
        /// JPEG image.
        Jpg => "jpg",
        /// JPEG image.
        Jpeg => "jpeg",
        /// GIF image.
        Gif => "gif",
        /// WebP image.
        Webp => "webp",
        /// M4A audio.
        M4a => "m4a",
        /// MP3 audio.
        Mp3 => "mp3",
        /// WAV audio.
        Wav => "wav",
        /// Ogg audio.
        Ogg => "ogg",
        /// Ogg audio.
        Oga => "oga",
        /// Opus audio (Ogg).
        Opus => "opus",
        /// MP4 video.
        Mp4 => "mp4",
        /// MP4 video.
        M4v => "m4v",
        /// QuickTime video.
        Mov => "mov",
        /// WebM video.
        Webm => "webm",
    }
);

/// The file types accepted when the author names none.
pub const DEFAULT_FILE_TYPES: [&str; 6] = ["pdf", "docx", "doc", "png", "jpg", "jpeg"];

/// The default largest file: 10 MiB.
pub const DEFAULT_MAX_FILE_BYTES: i64 = 10 * 1024 * 1024;

/// The largest file an assignment may accept: what one multipart request may carry (25 MiB).
pub const MAX_FILE_BYTES: i64 = media::MAX_INLINE_UPLOAD as i64;

/// One level of a rubric criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// The author's id for it, unique in the criterion.
    pub id: String,
    /// What the level means ("Excellent").
    pub title: String,
    /// Points it earns, 0 to the assignment's `max_score`.
    pub points: i32,
}

/// One criterion of a rubric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    /// The author's id for it, unique in the rubric.
    pub id: String,
    /// What is judged ("Structure").
    pub title: String,
    /// Its levels.
    pub levels: Vec<Level>,
}

impl Criterion {
    /// The points of its best level.
    pub fn max_points(&self) -> i32 {
        self.levels.iter().map(|l| l.points).max().unwrap_or(0)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = assignments)]
struct Row {
    id: Uuid,
    module_id: Uuid,
    section_id: Option<Uuid>,
    title: String,
    brief_html: String,
    due_at: Option<DateTime<Utc>>,
    max_score: i32,
    #[diesel(deserialize_as = String)]
    submission_format: SubmissionFormat,
    allowed_file_types: Vec<String>,
    max_file_bytes: i64,
    allow_late: bool,
    required: bool,
    rubric: Option<serde_json::Value>,
    created_by: Uuid,
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// An assignment.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    /// Id.
    pub id: Uuid,
    /// Its module.
    pub module_id: Uuid,
    /// The section it belongs to, if any.
    pub section_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// The brief, sanitized HTML.
    pub brief_html: String,
    /// Submissions after this are late.
    pub due_at: Option<DateTime<Utc>>,
    /// The best score.
    pub max_score: i32,
    /// What a submission consists of.
    pub submission_format: SubmissionFormat,
    /// Accepted file types, as extensions.
    pub allowed_file_types: Vec<String>,
    /// The largest file accepted, in bytes.
    pub max_file_bytes: i64,
    /// Late submissions are accepted (flagged `late`).
    pub allow_late: bool,
    /// A graded submission is needed to complete the module.
    pub required: bool,
    /// The rubric graders use, if any.
    pub rubric: Option<Vec<Criterion>>,
    /// The author.
    pub created_by: Uuid,
    /// Bumped by every change; the ETag.
    pub revision: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Assignment {
    /// Whether submissions include files.
    pub fn takes_files(&self) -> bool {
        self.submission_format != SubmissionFormat::Text
    }

    /// Whether submissions include text.
    pub fn takes_text(&self) -> bool {
        self.submission_format != SubmissionFormat::File
    }
}

impl From<Row> for Assignment {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            module_id: r.module_id,
            section_id: r.section_id,
            title: r.title,
            brief_html: r.brief_html,
            due_at: r.due_at,
            max_score: r.max_score,
            submission_format: r.submission_format,
            allowed_file_types: r.allowed_file_types,
            max_file_bytes: r.max_file_bytes,
            allow_late: r.allow_late,
            required: r.required,
            rubric: r.rubric.and_then(|v| serde_json::from_value(v).ok()),
            created_by: r.created_by,
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Editable fields; `None` keeps the value (on create: the default). `Some(None)` clears the
/// optional ones.
#[derive(Debug, Clone, Default)]
pub struct AssignmentInput {
    /// Title (required on create).
    pub title: Option<String>,
    /// The brief (HTML, sanitized).
    pub brief_html: Option<String>,
    /// The section of the module it belongs to.
    pub section_id: Option<Option<Uuid>>,
    /// The due date.
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// The best score (required on create).
    pub max_score: Option<i32>,
    /// What a submission consists of (default TEXT).
    pub submission_format: Option<SubmissionFormat>,
    /// Accepted file types as extensions (default [`DEFAULT_FILE_TYPES`]).
    pub allowed_file_types: Option<Vec<String>>,
    /// Largest file in bytes (default [`DEFAULT_MAX_FILE_BYTES`]).
    pub max_file_bytes: Option<i64>,
    /// Accept late submissions (default false).
    pub allow_late: Option<bool>,
    /// Counts toward module completion (default false).
    pub required: Option<bool>,
    /// The rubric; `Some(None)` removes it.
    pub rubric: Option<Option<Vec<Criterion>>>,
}

/// Every field, as it will be stored.
struct Settings {
    section_id: Option<Uuid>,
    title: String,
    brief_html: String,
    due_at: Option<DateTime<Utc>>,
    max_score: i32,
    submission_format: SubmissionFormat,
    allowed_file_types: Vec<String>,
    max_file_bytes: i64,
    allow_late: bool,
    required: bool,
    rubric: Option<Vec<Criterion>>,
}

impl Settings {
    fn merged(current: Option<&Assignment>, input: &AssignmentInput) -> Self {
        Self {
            section_id: input
                .section_id
                .unwrap_or_else(|| current.and_then(|c| c.section_id)),
            title: input
                .title
                .as_ref()
                .map(|t| t.trim().to_owned())
                .or_else(|| current.map(|c| c.title.clone()))
                .unwrap_or_default(),
            brief_html: input
                .brief_html
                .as_deref()
                .map(guild_learning::html::sanitize)
                .or_else(|| current.map(|c| c.brief_html.clone()))
                .unwrap_or_default(),
            due_at: input
                .due_at
                .unwrap_or_else(|| current.and_then(|c| c.due_at)),
            max_score: input
                .max_score
                .or_else(|| current.map(|c| c.max_score))
                .unwrap_or(0),
            submission_format: input
                .submission_format
                .or_else(|| current.map(|c| c.submission_format))
                .unwrap_or(SubmissionFormat::Text),
            allowed_file_types: input
                .allowed_file_types
                .as_ref()
                .map(|types| {
                    let mut types: Vec<String> = types
                        .iter()
                        .map(|t| t.trim().trim_start_matches('.').to_ascii_lowercase())
                        .collect();
                    types.sort();
                    types.dedup();
                    types
                })
                .or_else(|| current.map(|c| c.allowed_file_types.clone()))
                .unwrap_or_else(|| DEFAULT_FILE_TYPES.iter().map(|t| (*t).to_owned()).collect()),
            max_file_bytes: input
                .max_file_bytes
                .or_else(|| current.map(|c| c.max_file_bytes))
                .unwrap_or(DEFAULT_MAX_FILE_BYTES),
            allow_late: input
                .allow_late
                .or_else(|| current.map(|c| c.allow_late))
                .unwrap_or(false),
            required: input
                .required
                .or_else(|| current.map(|c| c.required))
                .unwrap_or(false),
            rubric: input
                .rubric
                .clone()
                .unwrap_or_else(|| current.and_then(|c| c.rubric.clone())),
        }
    }

    fn check(&self) -> Result<(), AssessmentError> {
        let mut errors = Vec::new();
        if self.title.is_empty() || self.title.chars().count() > 200 {
            errors.push(FieldError::new(
                "title",
                "length",
                "must be 1 to 200 characters",
            ));
        }
        if self.brief_html.chars().count() > 100_000 {
            errors.push(FieldError::new(
                "brief_html",
                "length",
                "must be at most 100000 characters",
            ));
        }
        if !(1..=10_000).contains(&self.max_score) {
            errors.push(FieldError::new("max_score", "range", "must be 1 to 10000"));
        }
        for t in &self.allowed_file_types {
            if !FILE_TYPES
                .iter()
                .any(|f| f.extensions.contains(&t.as_str()))
            {
                errors.push(FieldError::new(
                    "allowed_file_types",
                    "one_of",
                    format!("{t:?} is not a supported file type (pdf, docx, doc, png, jpg, jpeg, gif, webp, mp4, m4v, mov, webm)"),
                ));
            }
        }
        if self.submission_format != SubmissionFormat::Text && self.allowed_file_types.is_empty() {
            errors.push(FieldError::new(
                "allowed_file_types",
                "required",
                "name at least one file type when submissions include files",
            ));
        }
        if !(1..=MAX_FILE_BYTES).contains(&self.max_file_bytes) {
            errors.push(FieldError::new(
                "max_file_bytes",
                "range",
                format!("must be 1 to {MAX_FILE_BYTES}"),
            ));
        }
        if let Some(rubric) = &self.rubric {
            check_rubric(rubric, self.max_score, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AssessmentError::Invalid(errors))
        }
    }
}

fn check_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= 64 && !id.chars().any(char::is_control)
}

/// A rubric is 1 to 20 criteria of 1 to 10 levels with unique ids and points from 0 to
/// `max_score`; the best levels add up to exactly `max_score`.
fn check_rubric(rubric: &[Criterion], max_score: i32, errors: &mut Vec<FieldError>) {
    if rubric.is_empty() || rubric.len() > 20 {
        errors.push(FieldError::new(
            "rubric",
            "length",
            "must have 1 to 20 criteria (or be null)",
        ));
        return;
    }
    let mut ids = std::collections::HashSet::new();
    for (i, c) in rubric.iter().enumerate() {
        if !check_id(&c.id) {
            errors.push(FieldError::new(
                format!("rubric[{i}].id"),
                "length",
                "must be 1 to 64 characters",
            ));
        } else if !ids.insert(c.id.as_str()) {
            errors.push(FieldError::new(
                format!("rubric[{i}].id"),
                "unique",
                "criterion ids must be unique",
            ));
        }
        if c.title.trim().is_empty() || c.title.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("rubric[{i}].title"),
                "length",
                "must be 1 to 200 characters",
            ));
        }
        if c.levels.is_empty() || c.levels.len() > 10 {
            errors.push(FieldError::new(
                format!("rubric[{i}].levels"),
                "length",
                "must have 1 to 10 levels",
            ));
            continue;
        }
        let mut level_ids = std::collections::HashSet::new();
        for (j, l) in c.levels.iter().enumerate() {
            if !check_id(&l.id) {
                errors.push(FieldError::new(
                    format!("rubric[{i}].levels[{j}].id"),
                    "length",
                    "must be 1 to 64 characters",
                ));
            } else if !level_ids.insert(l.id.as_str()) {
                errors.push(FieldError::new(
                    format!("rubric[{i}].levels[{j}].id"),
                    "unique",
                    "level ids must be unique in their criterion",
                ));
            }
            if l.title.trim().is_empty() || l.title.chars().count() > 200 {
                errors.push(FieldError::new(
                    format!("rubric[{i}].levels[{j}].title"),
                    "length",
                    "must be 1 to 200 characters",
                ));
            }
            if l.points < 0 || l.points > max_score {
                errors.push(FieldError::new(
                    format!("rubric[{i}].levels[{j}].points"),
                    "range",
                    format!("must be 0 to max_score ({max_score})"),
                ));
            }
        }
    }
    let best: i64 = rubric.iter().map(|c| i64::from(c.max_points())).sum();
    if errors.is_empty() && best != i64::from(max_score) {
        errors.push(FieldError::new(
            "rubric",
            "rubric_total",
            format!(
                "the best levels of all criteria add up to {best}, not max_score ({max_score})"
            ),
        ));
    }
}

/// Loads an assignment whose module the actor can see, or `AssignmentNotFound`.
pub(crate) async fn visible_assignment(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Assignment, AssessmentError> {
    let row: Row = assignments::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(Row::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::AssignmentNotFound)?;
    match visible(conn, actor, row.module_id).await {
        Ok(_) => Ok(row.into()),
        Err(LearningError::ModuleNotFound) => Err(AssessmentError::AssignmentNotFound),
        Err(e) => Err(e.into()),
    }
}

async fn authored(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
) -> Result<Assignment, AssessmentError> {
    let current = visible_assignment(conn, actor, id).await?;
    check_author(conn, actor, current.module_id).await?;
    if current.revision != expected {
        return Err(AssessmentError::StaleRevision {
            expected,
            current: current.revision,
        });
    }
    Ok(current)
}

async fn check_section(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    section: Option<Uuid>,
) -> Result<(), AssessmentError> {
    let Some(section) = section else {
        return Ok(());
    };
    let found: bool = diesel::select(diesel::dsl::exists(
        sections::table
            .filter(sections::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(sections::module_id.eq(module))
            .filter(sections::id.eq(section)),
    ))
    .get_result(conn)
    .await?;
    if found {
        Ok(())
    } else {
        Err(AssessmentError::invalid(
            "section_id",
            "not_in_module",
            "not a section of this module",
        ))
    }
}

fn rubric_json(rubric: Option<&Vec<Criterion>>) -> Option<serde_json::Value> {
    rubric.and_then(|r| serde_json::to_value(r).ok())
}

/// A page of the assignments of a module the actor can see, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    page: &PageRequest,
) -> Result<Page<Assignment>, AssessmentError> {
    visible(conn, actor, module).await?;
    let limit = page.limit();
    let mut query = assignments::table
        .filter(assignments::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(assignments::module_id.eq(module))
        .select(Row::as_select())
        .order(assignments::id)
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = crate::cursor_after::<Uuid>(page)? {
        query = query.filter(assignments::id.gt(after));
    }
    let rows: Vec<Row> = query.load(conn).await?;
    let page = Page::from_overfetch(rows, limit, |r| r.id.to_string());
    Ok(Page {
        data: page.data.into_iter().map(Assignment::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// One assignment.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Assignment, AssessmentError> {
    visible_assignment(conn, actor, id).await
}

/// Creates an assignment in a module.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    input: &AssignmentInput,
) -> Result<Assignment, AssessmentError> {
    check_author(conn, actor, module).await?;
    let mut missing = Vec::new();
    if input.title.is_none() {
        missing.push(FieldError::new("title", "required", "a title is required"));
    }
    if input.max_score.is_none() {
        missing.push(FieldError::new(
            "max_score",
            "required",
            "a maximum score is required",
        ));
    }
    if !missing.is_empty() {
        return Err(AssessmentError::Invalid(missing));
    }
    let s = Settings::merged(None, input);
    s.check()?;
    check_section(conn, actor, module, s.section_id).await?;
    let id = Uuid::now_v7();
    let row: Row = diesel::insert_into(assignments::table)
        .values((
            assignments::tenant_id.eq(actor.tenant_id.into_uuid()),
            assignments::id.eq(id),
            assignments::module_id.eq(module),
            assignments::section_id.eq(s.section_id),
            assignments::title.eq(&s.title),
            assignments::brief_html.eq(&s.brief_html),
            assignments::due_at.eq(s.due_at),
            assignments::max_score.eq(s.max_score),
            assignments::submission_format.eq(s.submission_format.as_str()),
            assignments::allowed_file_types.eq(&s.allowed_file_types),
            assignments::max_file_bytes.eq(s.max_file_bytes),
            assignments::allow_late.eq(s.allow_late),
            assignments::required.eq(s.required),
            assignments::rubric.eq(rubric_json(s.rubric.as_ref())),
            assignments::created_by.eq(actor.user_id.into_uuid()),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "ASSIGNMENT_CREATED",
        "assignment",
        id,
        serde_json::json!({ "module_id": module, "title": row.title, "required": row.required }),
    )
    .await?;
    Ok(row.into())
}

/// Changes an assignment; `expected` is the revision the client read. The result is checked as
/// a whole (e.g. a new `max_score` must still match the rubric).
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    input: &AssignmentInput,
    now: DateTime<Utc>,
) -> Result<Assignment, AssessmentError> {
    let current = authored(conn, actor, id, expected).await?;
    let s = Settings::merged(Some(&current), input);
    s.check()?;
    check_section(conn, actor, current.module_id, s.section_id).await?;
    let row: Row = diesel::update(assignments::table.find((actor.tenant_id.into_uuid(), id)))
        .filter(assignments::revision.eq(expected))
        .set((
            assignments::section_id.eq(s.section_id),
            assignments::title.eq(&s.title),
            assignments::brief_html.eq(&s.brief_html),
            assignments::due_at.eq(s.due_at),
            assignments::max_score.eq(s.max_score),
            assignments::submission_format.eq(s.submission_format.as_str()),
            assignments::allowed_file_types.eq(&s.allowed_file_types),
            assignments::max_file_bytes.eq(s.max_file_bytes),
            assignments::allow_late.eq(s.allow_late),
            assignments::required.eq(s.required),
            assignments::rubric.eq(rubric_json(s.rubric.as_ref())),
            assignments::revision.eq(expected + 1),
            assignments::updated_at.eq(now),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(AssessmentError::StaleRevision {
            expected,
            current: expected + 1,
        })?;
    crate::audit(
        conn,
        actor,
        "ASSIGNMENT_UPDATED",
        "assignment",
        id,
        serde_json::json!({ "module_id": row.module_id, "revision": row.revision }),
    )
    .await?;
    Ok(row.into())
}

/// Deletes an assignment with its submissions. The uploaded files stay in the media library.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
) -> Result<(), AssessmentError> {
    let current = authored(conn, actor, id, expected).await?;
    diesel::delete(assignments::table.find((actor.tenant_id.into_uuid(), id)))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "ASSIGNMENT_DELETED",
        "assignment",
        id,
        serde_json::json!({ "module_id": current.module_id, "title": current.title }),
    )
    .await
}

/// A file of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionFile {
    /// The media asset.
    pub asset_id: Uuid,
    /// The uploaded file's name.
    pub file_name: String,
    /// The type found in its bytes.
    pub content_type: String,
    /// Its size.
    pub size_bytes: i64,
}

/// The assignment the actor wants to upload a file for: visible, and taking files. Call it
/// before reading the upload, to know its limit.
pub async fn upload_target(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Assignment, AssessmentError> {
    let assignment = visible_assignment(conn, actor, id).await?;
    if !assignment.takes_files() {
        return Err(AssessmentError::invalid(
            "file",
            "not_accepted",
            "this assignment takes text submissions only",
        ));
    }
    Ok(assignment)
}

/// Checks an upload for `assignment` before its bytes are stored: the name, the type found in
/// `bytes` (one the assignment accepts) and the size. Returns the file's type.
pub fn check_file(
    assignment: &Assignment,
    file_name: &str,
    bytes: &[u8],
) -> Result<&'static FileType, AssessmentError> {
    let name_ok = !file_name.trim().is_empty()
        && file_name.chars().count() <= 255
        && !file_name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\');
    if !name_ok {
        return Err(AssessmentError::invalid(
            "file_name",
            "invalid_file_name",
            "must be 1 to 255 characters without '/', '\\' or control characters",
        ));
    }
    if bytes.is_empty() {
        return Err(AssessmentError::invalid(
            "file",
            "empty",
            "the file is empty",
        ));
    }
    let max = u64::try_from(assignment.max_file_bytes).unwrap_or(0);
    if bytes.len() as u64 > max {
        return Err(AssessmentError::FileTooLarge { max });
    }
    let file_type = media::sniff(file_name, &bytes[..bytes.len().min(media::SNIFF_LEN)])?;
    if !file_type
        .extensions
        .iter()
        .any(|e| assignment.allowed_file_types.iter().any(|a| a == e))
    {
        return Err(AssessmentError::FileTypeNotAllowed {
            allowed: assignment.allowed_file_types.join(", "),
        });
    }
    if bytes.len() as u64 > file_type.kind.max_size() {
        return Err(AssessmentError::FileTooLarge {
            max: file_type.kind.max_size(),
        });
    }
    Ok(file_type)
}

/// Bytes the actor's assignment files (not yet removed) take in the tenant.
async fn file_bytes_used(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<u64, AssessmentError> {
    #[derive(QueryableByName)]
    struct Used {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bytes: i64,
    }
    let used: Used = guild_db::sql(
        "SELECT COALESCE(SUM(m.size_bytes), 0)::bigint AS bytes FROM assignment_files f \
         JOIN media_assets m ON m.tenant_id = f.tenant_id AND m.id = f.asset_id \
         WHERE f.tenant_id = $1 AND f.user_id = $2 AND m.status <> 'DELETE_PENDING'",
    )
    .bind::<diesel::sql_types::Uuid, _>(actor.tenant_id.into_uuid())
    .bind::<diesel::sql_types::Uuid, _>(actor.user_id.into_uuid())
    .get_result(conn)
    .await
    .map_err(guild_db::DbError::from)?;
    Ok(u64::try_from(used.bytes).unwrap_or(0))
}

/// How many more bytes of assignment files the actor may upload in this tenant under `quota`:
/// call it before reading an upload, to stop reading past it.
pub async fn file_quota_left(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    quota: u64,
) -> Result<u64, AssessmentError> {
    Ok(quota.saturating_sub(file_bytes_used(conn, actor).await?))
}

/// Records a file the actor uploaded for an assignment, whose bytes the caller stored under
/// `media::blob_key(actor, asset_id)`: a READY media asset owned by the actor, usable in their
/// submissions to this assignment only. Refused with `UploadQuotaExceeded` when the actor's
/// files would take more than `quota` bytes in the tenant.
#[expect(
    clippy::too_many_arguments,
    reason = "one upload's facts; a struct would only rename them"
)]
pub async fn record_file(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    assignment: Uuid,
    asset_id: AssetId,
    file_name: &str,
    size_bytes: u64,
    file_type: &'static FileType,
    quota: u64,
) -> Result<SubmissionFile, AssessmentError> {
    let asset_id = asset_id.into_uuid();
    let assignment = upload_target(conn, actor, assignment).await?;
    let tenant = actor.tenant_id.into_uuid();
    // One member's uploads take turns here, so two racing files cannot both fit the last bytes.
    guild_db::lock_xact(
        conn,
        &format!("assignment_file_quota:{tenant}:{}", actor.user_id),
    )
    .await
    .map_err(guild_db::DbError::from)?;
    let used = file_bytes_used(conn, actor).await?;
    if used.saturating_add(size_bytes) > quota {
        return Err(AssessmentError::UploadQuotaExceeded { quota, used });
    }
    let size = i64::try_from(size_bytes).unwrap_or(i64::MAX);
    media::record_member_file(conn, actor, AssetId(asset_id), file_name, size, file_type).await?;
    diesel::insert_into(assignment_files::table)
        .values((
            assignment_files::tenant_id.eq(tenant),
            assignment_files::asset_id.eq(asset_id),
            assignment_files::assignment_id.eq(assignment.id),
            assignment_files::user_id.eq(actor.user_id.into_uuid()),
        ))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "ASSIGNMENT_FILE_UPLOADED",
        "media_asset",
        asset_id,
        serde_json::json!({ "assignment_id": assignment.id, "file_name": file_name, "size_bytes": size }),
    )
    .await?;
    Ok(SubmissionFile {
        asset_id,
        file_name: file_name.to_owned(),
        content_type: file_type.mime.to_owned(),
        size_bytes: size,
    })
}

/// Assignment files of `tenant` uploaded before `before` that no submission names: their
/// uploader never submitted them. Each row is locked (rows a submission is using are skipped:
/// that submission locks them while it checks its files), so the caller can have them removed in
/// the same transaction without racing a submission.
pub async fn orphaned_files(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    before: DateTime<Utc>,
) -> Result<Vec<Uuid>, AssessmentError> {
    #[derive(QueryableByName)]
    struct Orphan {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        asset_id: Uuid,
    }
    let rows: Vec<Orphan> = guild_db::sql(
        "SELECT f.asset_id FROM assignment_files f \
         JOIN media_assets m ON m.tenant_id = f.tenant_id AND m.id = f.asset_id \
         WHERE f.tenant_id = $1 AND f.created_at < $2 AND m.status = 'READY' \
           AND NOT EXISTS (SELECT 1 FROM assignment_submissions s \
                           WHERE s.tenant_id = f.tenant_id AND s.assignment_id = f.assignment_id \
                             AND s.user_id = f.user_id AND f.asset_id = ANY (s.asset_ids)) \
         ORDER BY f.created_at LIMIT 1000 \
         FOR UPDATE OF f, m SKIP LOCKED",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .load(conn)
    .await
    .map_err(guild_db::DbError::from)?;
    Ok(rows.into_iter().map(|r| r.asset_id).collect())
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn the_file_types_are_the_media_librarys() {
        let library: Vec<&str> = FILE_TYPES
            .iter()
            .flat_map(|t| t.extensions.iter().copied())
            .collect();
        let ours: Vec<&str> = AssignmentFileType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(ours, library);
        assert!(
            DEFAULT_FILE_TYPES
                .iter()
                .all(|t| t.parse::<AssignmentFileType>().is_ok())
        );
    }
}
