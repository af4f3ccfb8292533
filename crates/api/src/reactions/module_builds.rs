//! The module builder's job ([`ModuleBuildJob`], `POST /v1/ai/module-builds`): read the file's
//! text (PDF and DOCX on a blocking thread with a time limit, `guild_documents::extract`; a
//! video through the model's transcription), keep it with the build, make the draft (with a
//! generation model through structured output, else from the document's structure), and create
//! it as a DRAFT module with its sections, quiz and citations in one transaction, through
//! learning's and assessment's functions (their rules apply).
//!
//! The job runs once (`MAX_ATTEMPTS = 1`: the model adapter already retries 429 and 5xx with
//! backoff); a build that fails records its problem and keeps the text it read, and its member
//! retries it (`POST /v1/ai/module-builds/{id}/retry`).

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use guild_ai::builder::{self, Draft, DraftQuestionKind, Segment, Span, SpanKind};
use guild_ai::builds::{self, BuildMethod, BuildStatus, NewCitation, SourceKind};
use guild_ai::usage::Feature;
use guild_assessment::questions::{ChoiceOption, QuestionInput, QuestionKind};
use guild_assessment::quizzes::QuizInput;
use guild_db::worker::Registry;
use guild_documents::extract::{self, Block, ExtractError, Limits};
use guild_kernel::ports::ai::{AiCapability, Audio};
use guild_kernel::{Actor, AssetId, ErrorCode, QuizId};
use guild_learning::modules::ModuleInput;
use guild_learning::sections::{SectionInput, SectionKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::jobs::{Output, Run, Stop, TrackedJob};
use crate::state::AppState;

/// How long reading a PDF or DOCX may take.
pub const EXTRACT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// A build to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleBuildJob {
    /// The build.
    pub build_id: Uuid,
}

impl TrackedJob for ModuleBuildJob {
    const KIND: &'static str = "ai.module_build";
    const MAX_ATTEMPTS: i32 = 1;

    async fn run(self, run: &mut Run) -> Result<Output, Stop> {
        let id = self.build_id;
        let job = run.id().into_uuid();
        let outcome = build(id, job, run).await;
        let ended = match &outcome {
            Ok(_) => None,
            Err(Stop::Cancelled) => Some((BuildStatus::Cancelled, None)),
            Err(Stop::Failed(err)) => Some((
                BuildStatus::Failed,
                serde_json::to_value(err.problem()).ok(),
            )),
        };
        if let Some((status, problem)) = ended {
            let (tenant, now) = (run.actor.tenant_id, run.state.clock.now());
            let recorded = run
                .write(async |conn| {
                    builds::end(conn, tenant, id, job, status, problem.as_ref(), now).await
                })
                .await;
            if recorded.is_err() {
                tracing::warn!(build = %id, "could not record the end of a module build");
            }
        }
        outcome
    }
}

/// Registers the module builder's job.
pub fn register(registry: &mut Registry, state: &AppState) {
    crate::jobs::register::<ModuleBuildJob>(registry, state);
}

/// What a build does, step by step.
async fn build(id: Uuid, job: Uuid, run: &mut Run) -> Result<Output, Stop> {
    let (actor, now) = (run.actor.clone(), run.now);
    let Some((build, kept)) = run
        .write(async |conn| builds::begin(conn, &actor, id, job, now).await)
        .await?
    else {
        // The build is not waiting for this job (it ended, or a newer run took it).
        return Ok(Output::Json(serde_json::json!({ "build_id": id })));
    };
    let kind = build.kind().unwrap_or(SourceKind::Pdf);
    let asset = match build.asset_id {
        Some(asset_id) => Some(
            run.write(async |conn| {
                guild_learning::media::get(conn, &actor, AssetId(asset_id)).await
            })
            .await?
            .0,
        ),
        None => None,
    };
    let file_title = asset
        .as_ref()
        .map_or_else(|| "Untitled".to_owned(), |a| a.title.clone());
    let segments = match kept {
        Some(segments) => segments,
        None => {
            run.progress(10, "Reading the file").await?;
            let asset = asset.ok_or(guild_learning::LearningError::AssetNotFound)?;
            let bytes = run
                .state
                .blobs
                .get(&asset.blob_key)
                .await
                .map_err(crate::routes::media::blob_error)?;
            let segments = read(
                &run.state,
                &actor,
                kind,
                &asset.file_name,
                &asset.content_type,
                bytes,
            )
            .await?;
            run.write(async |conn| builds::save_extracted(conn, &actor, id, &segments, now).await)
                .await?;
            segments
        }
    };
    run.progress(40, "Writing the module").await?;
    let (draft, method) = if run.state.ai.configured(AiCapability::Generation) {
        let passages = builder::passages(&segments);
        let request = builder::module_request(
            &file_title,
            &passages,
            build.language.as_deref(),
            build.hints.as_deref(),
        );
        let generated =
            crate::routes::ai::generate_as(&run.state, &actor, Feature::ModuleBuilder, &request)
                .await?;
        let draft = builder::read_module(&generated.value, &passages, &file_title)?;
        (draft, BuildMethod::Model)
    } else {
        let draft = builder::structure_draft(&file_title, &segments)
            .ok_or(guild_ai::AiError::SourceHasNoText)?;
        (draft, BuildMethod::Structure)
    };
    run.progress(80, "Creating the draft").await?;
    let (module_id, sections, questions) = run
        .write(async |conn| create_draft(conn, &actor, id, &draft, method, now).await)
        .await?;
    Ok(Output::Json(serde_json::json!({
        "build_id": id,
        "module_id": module_id,
        "method": method,
        "sections": sections,
        "questions": questions,
    })))
}

/// The file's text as segments: PDF and DOCX read on a blocking thread within
/// [`EXTRACT_TIME_LIMIT`]; a video transcribed by the model.
async fn read(
    state: &AppState,
    actor: &Actor,
    kind: SourceKind,
    file_name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<Vec<Segment>, ApiError> {
    match kind {
        SourceKind::Pdf | SourceKind::Docx => {
            let limits = Limits {
                max_bytes: usize::try_from(builds::MAX_SOURCE_BYTES).unwrap_or(usize::MAX),
                ..Limits::default()
            };
            let task = tokio::task::spawn_blocking(move || match kind {
                SourceKind::Docx => extract::docx(&bytes, &limits),
                _ => extract::pdf(&bytes, &limits),
            });
            let blocks = tokio::time::timeout(EXTRACT_TIME_LIMIT, task)
                .await
                .map_err(|_| guild_ai::AiError::SourceTooLarge("time"))?
                .map_err(|_| ApiError::internal("the text extraction stopped"))?
                .map_err(extract_error)?;
            Ok(blocks.into_iter().map(segment).collect())
        }
        SourceKind::Video | SourceKind::Audio => {
            let audio = Audio {
                filename: file_name.to_owned(),
                content_type: content_type.to_owned(),
                bytes,
            };
            let transcript =
                crate::routes::ai::transcribe_as(state, actor, Feature::ModuleBuilder, &audio)
                    .await?;
            let clamp = |ms: i64| i32::try_from(ms.max(0)).unwrap_or(i32::MAX);
            let mut segments: Vec<Segment> = transcript
                .segments
                .into_iter()
                .map(|s| Segment {
                    text: s.text,
                    heading: None,
                    span: Span {
                        kind: SpanKind::Time,
                        start: clamp(s.start_ms),
                        end: clamp(s.end_ms),
                    },
                })
                .collect();
            if segments.is_empty() && !transcript.text.trim().is_empty() {
                // A provider without timestamps: the whole recording is one span.
                segments.push(Segment {
                    text: transcript.text.trim().to_owned(),
                    heading: None,
                    span: Span {
                        kind: SpanKind::Time,
                        start: 0,
                        end: 0,
                    },
                });
            }
            if segments.is_empty() {
                return Err(guild_ai::AiError::SourceHasNoText.into());
            }
            Ok(segments)
        }
    }
}

fn extract_error(err: ExtractError) -> ApiError {
    ApiError::from(match err {
        ExtractError::TooLarge(what) => guild_ai::AiError::SourceTooLarge(what),
        ExtractError::Unreadable(why) => guild_ai::AiError::SourceUnreadable(why),
        ExtractError::NoText => guild_ai::AiError::SourceHasNoText,
    })
}

fn segment(block: Block) -> Segment {
    let (kind, at) = match (block.page, block.paragraph) {
        (Some(page), _) => (SpanKind::Page, page),
        (None, Some(paragraph)) => (SpanKind::Paragraph, paragraph),
        (None, None) => (SpanKind::Paragraph, 0),
    };
    let at = i32::try_from(at).unwrap_or(i32::MAX);
    Segment {
        text: block.text,
        heading: block.heading,
        span: Span {
            kind,
            start: at,
            end: at,
        },
    }
}

/// Why the draft could not be written: a rule of learning, assessment or the builder.
#[derive(Debug, thiserror::Error)]
enum DraftError {
    #[error(transparent)]
    Learning(#[from] guild_learning::LearningError),
    #[error(transparent)]
    Assessment(#[from] guild_assessment::AssessmentError),
    #[error(transparent)]
    Ai(#[from] guild_ai::AiError),
    #[error(transparent)]
    Db(#[from] guild_db::DbError),
}

impl ErrorCode for DraftError {
    fn code(&self) -> &'static str {
        match self {
            Self::Learning(e) => e.code(),
            Self::Assessment(e) => e.code(),
            Self::Ai(e) => e.code(),
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Learning(e) => e.status(),
            Self::Assessment(e) => e.status(),
            Self::Ai(e) => e.status(),
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<guild_kernel::FieldError> {
        match self {
            Self::Learning(e) => e.field_errors(),
            Self::Assessment(e) => e.field_errors(),
            Self::Ai(e) => e.field_errors(),
            Self::Db(_) => Vec::new(),
        }
    }
}

fn question_kind(kind: DraftQuestionKind) -> QuestionKind {
    match kind {
        DraftQuestionKind::SingleChoice => QuestionKind::SingleChoice,
        DraftQuestionKind::MultipleChoice => QuestionKind::MultipleChoice,
        DraftQuestionKind::TrueFalse => QuestionKind::TrueFalse,
    }
}

/// Creates the draft as the actor: a DRAFT module, its sections, its quiz and questions, and the
/// build's citations, SUCCEEDED — all or nothing. Answers the module and how many sections and
/// questions it got.
async fn create_draft(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    build: Uuid,
    draft: &Draft,
    method: BuildMethod,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Uuid, usize, usize), DraftError> {
    let module = guild_learning::modules::create(
        conn,
        actor,
        &ModuleInput {
            title: Some(draft.title.clone()),
            description: Some(draft.description.clone()),
            ..ModuleInput::default()
        },
    )
    .await?;
    let module_id = module.row.id;
    let mut citations = Vec::new();
    for section in &draft.sections {
        let created = guild_learning::sections::create(
            conn,
            actor,
            module_id,
            &SectionInput {
                title: Some(section.title.clone()),
                kind: Some(SectionKind::Text),
                content_html: Some(section.html.clone()),
                video: None,
            },
            now,
        )
        .await?;
        citations.extend(section.cited.iter().map(|c| NewCitation {
            section_id: Some(created.id),
            question_id: None,
            span: c.span,
            excerpt: c.excerpt.clone(),
        }));
    }
    if !draft.questions.is_empty() {
        let quiz = guild_assessment::quizzes::create(
            conn,
            actor,
            module_id,
            &QuizInput {
                title: Some(builder::cut(&format!("{}: check", draft.title), 200)),
                ..QuizInput::default()
            },
        )
        .await?;
        for question in &draft.questions {
            let options = question
                .options
                .iter()
                .enumerate()
                .map(|(i, (text, correct))| ChoiceOption {
                    id: char::from(b'a' + u8::try_from(i).unwrap_or(0)).to_string(),
                    text: text.clone(),
                    correct: *correct,
                })
                .collect();
            let created = guild_assessment::questions::create(
                conn,
                actor,
                QuizId(quiz.quiz.id),
                &QuestionInput {
                    kind: Some(question_kind(question.kind)),
                    prompt: Some(question.prompt.clone()),
                    options: Some(options),
                    accepted_answers: None,
                    points: Some(1),
                    explanation: Some(Some(question.explanation.clone()).filter(|e| !e.is_empty())),
                },
            )
            .await?;
            citations.extend(question.cited.iter().map(|c| NewCitation {
                section_id: None,
                question_id: Some(created.id),
                span: c.span,
                excerpt: c.excerpt.clone(),
            }));
        }
    }
    builds::succeed(conn, actor, build, module_id, method, &citations, now).await?;
    Ok((module_id, draft.sections.len(), draft.questions.len()))
}
