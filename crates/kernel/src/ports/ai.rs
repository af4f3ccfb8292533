//! The AI port: text generation with structured output (a JSON schema), embeddings,
//! transcription and images, behind one trait so domain crates never see a client library.
//!
//! An adapter (`guild_integrations::ai`) talks to any OpenAI-compatible API. Each capability is
//! configured on its own (a model name): one without a model answers
//! [`AiError::NotConfigured`], which the API renders as 503 `ai_not_configured`. An adapter
//! bounds every call in time, retries 429 and 5xx answers a bounded number of times with backoff,
//! and checks a generation's output against the request's schema before answering it: a caller
//! gets either a value of the schema's shape or an error, never free text.

use super::BoxFuture;

/// What an AI adapter can be asked for; each needs its own model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AiCapability {
    /// Chat completions with structured output.
    Generation,
    /// Vectors of text.
    Embeddings,
    /// Speech to text.
    Transcription,
    /// Images from a prompt.
    Images,
}

impl AiCapability {
    /// A stable lower-case name (`generation`, …), for logs and usage records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generation => "generation",
            Self::Embeddings => "embeddings",
            Self::Transcription => "transcription",
            Self::Images => "images",
        }
    }
}

/// Tokens a call consumed, as the provider counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub input: i64,
    /// Completion tokens.
    pub output: i64,
}

impl TokenUsage {
    /// Input and output together.
    pub fn total(self) -> i64 {
        self.input + self.output
    }
}

/// A request for a JSON value of a given shape.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The instructions (the system message): what to do, and that the data is data.
    pub system: String,
    /// The user message: the task with its untrusted material fenced.
    pub user: String,
    /// The output's name (`answer`), sent with the schema.
    pub schema_name: String,
    /// The JSON schema the output must match (the subset `guild_integrations::ai::schema`
    /// checks: `type`, `properties`, `required`, `additionalProperties: false`, `items`,
    /// `enum`, `maxLength`, `minItems`, `maxItems`, `minimum`, `maximum`).
    pub schema: serde_json::Value,
    /// The most completion tokens.
    pub max_output_tokens: u32,
}

/// A generated value that matched its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The value.
    pub value: serde_json::Value,
    /// The model that answered.
    pub model: String,
    /// Tokens used.
    pub usage: TokenUsage,
}

/// Vectors of texts, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One vector per text.
    pub vectors: Vec<Vec<f32>>,
    /// The model.
    pub model: String,
    /// Tokens used.
    pub usage: TokenUsage,
}

/// Audio to transcribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    /// A file name with the format's extension (`talk.mp3`).
    pub filename: String,
    /// Its media type (`audio/mpeg`).
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The text.
    pub text: String,
    /// The model.
    pub model: String,
    /// The text in timed pieces, in order, when the provider gives them (empty otherwise).
    pub segments: Vec<TranscriptSegment>,
}

/// A timed piece of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptSegment {
    /// Where it starts, in milliseconds.
    pub start_ms: i64,
    /// Where it ends, in milliseconds.
    pub end_ms: i64,
    /// What is said.
    pub text: String,
}

/// A generated image.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedImage {
    /// The image's bytes (PNG unless the provider says otherwise).
    pub bytes: Vec<u8>,
    /// The model.
    pub model: String,
}

impl std::fmt::Debug for GeneratedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedImage")
            .field("len", &self.bytes.len())
            .field("model", &self.model)
            .finish()
    }
}

/// A failed AI call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiError {
    /// No model is configured for this capability.
    #[error("no model is configured for {}", .0.as_str())]
    NotConfigured(AiCapability),
    /// The provider kept answering 429 after the retries.
    #[error("the AI provider is rate limiting: {0}")]
    RateLimited(String),
    /// The provider did not answer in time, could not be reached, or kept failing (5xx).
    #[error("the AI provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (a 4xx other than 429): retrying will not help.
    #[error("the AI provider refused the request: {0}")]
    Rejected(String),
    /// The output was not JSON of the requested schema.
    #[error("the AI output does not match its schema: {0}")]
    InvalidOutput(String),
}

impl AiError {
    /// A stable upper-case name for usage records (`NOT_CONFIGURED`, `RATE_LIMITED`, …).
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::NotConfigured(_) => "NOT_CONFIGURED",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Rejected(_) => "REJECTED",
            Self::InvalidOutput(_) => "INVALID_OUTPUT",
        }
    }
}

/// A model behind an OpenAI-compatible API (or any other provider an adapter speaks to).
pub trait AiModel: Send + Sync + std::fmt::Debug {
    /// Whether a model is configured for `capability`.
    fn configured(&self, capability: AiCapability) -> bool;

    /// The model name used for `capability`, if configured.
    fn model_name(&self, capability: AiCapability) -> Option<&str>;

    /// A JSON value matching `request.schema`.
    fn generate<'a>(
        &'a self,
        request: &'a GenerateRequest,
    ) -> BoxFuture<'a, Result<Generated, AiError>>;

    /// One vector per text.
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Embeddings, AiError>>;

    /// The words spoken in `audio`.
    fn transcribe<'a>(&'a self, audio: &'a Audio) -> BoxFuture<'a, Result<Transcript, AiError>>;

    /// An image for `prompt` of `size` (`1024x1024`).
    fn image<'a>(
        &'a self,
        prompt: &'a str,
        size: &'a str,
    ) -> BoxFuture<'a, Result<GeneratedImage, AiError>>;
}

/// No model at all: every call answers [`AiError::NotConfigured`]. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoModel;

impl AiModel for NoModel {
    fn configured(&self, _: AiCapability) -> bool {
        false
    }

    fn model_name(&self, _: AiCapability) -> Option<&str> {
        None
    }

    fn generate<'a>(&'a self, _: &'a GenerateRequest) -> BoxFuture<'a, Result<Generated, AiError>> {
        Box::pin(async { Err(AiError::NotConfigured(AiCapability::Generation)) })
    }

    fn embed<'a>(&'a self, _: &'a [String]) -> BoxFuture<'a, Result<Embeddings, AiError>> {
        Box::pin(async { Err(AiError::NotConfigured(AiCapability::Embeddings)) })
    }

    fn transcribe<'a>(&'a self, _: &'a Audio) -> BoxFuture<'a, Result<Transcript, AiError>> {
        Box::pin(async { Err(AiError::NotConfigured(AiCapability::Transcription)) })
    }

    fn image<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<GeneratedImage, AiError>> {
        Box::pin(async { Err(AiError::NotConfigured(AiCapability::Images)) })
    }
}
