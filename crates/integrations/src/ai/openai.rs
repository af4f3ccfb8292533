//! [`OpenAiCompatible`]: the kernel's `AiModel` over an OpenAI-compatible HTTP API.

use std::time::{Duration, Instant};

use base64::Engine;
use guild_kernel::ports::BoxFuture;
use guild_kernel::ports::ai::{
    AiCapability, AiError, AiModel, Audio, Embeddings, GenerateRequest, Generated, GeneratedImage,
    TokenUsage, Transcript, TranscriptSegment,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};

use crate::IntegrationError;

/// The longest wait between two attempts, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where the API is and which models to use (`GUILD_AI_*`).
#[derive(Clone)]
pub struct AiConfig {
    /// The API's base URL, up to and including its version (`https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` for Ollama).
    pub base_url: String,
    /// The key, sent as `Authorization: Bearer` and `api-key` (Azure); none for local servers.
    pub api_key: Option<String>,
    /// The chat model of generations.
    pub chat_model: Option<String>,
    /// The embedding model.
    pub embedding_model: Option<String>,
    /// The transcription model.
    pub transcription_model: Option<String>,
    /// The image model.
    pub image_model: Option<String>,
    /// The time limit of one attempt.
    pub timeout: Duration,
    /// Attempts after the first one, on 429, 5xx or no answer.
    pub max_retries: u32,
    /// The first wait between attempts; it doubles after each (at most 10 s).
    pub backoff: Duration,
}

impl std::fmt::Debug for AiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .field("chat_model", &self.chat_model)
            .field("embedding_model", &self.embedding_model)
            .field("transcription_model", &self.transcription_model)
            .field("image_model", &self.image_model)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl AiConfig {
    /// A configuration for `base_url` with no models, 60 s per attempt, 3 retries from 500 ms.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: None,
            chat_model: None,
            embedding_model: None,
            transcription_model: None,
            image_model: None,
            timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// An OpenAI-compatible API.
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    client: reqwest::Client,
    config: std::sync::Arc<AiConfig>,
}

/// What one request sends.
enum Body {
    Json(Value),
    Multipart { boundary: String, bytes: Vec<u8> },
}

impl OpenAiCompatible {
    /// A client for `config`.
    pub fn new(config: AiConfig) -> Result<Self, IntegrationError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10).min(config.timeout))
            .user_agent(concat!("Guild/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IntegrationError::Misconfigured {
                service: "AI",
                message: e.to_string(),
            })?;
        Ok(Self {
            client,
            config: std::sync::Arc::new(config),
        })
    }

    fn model(&self, capability: AiCapability) -> Result<&str, AiError> {
        self.model_name(capability)
            .ok_or(AiError::NotConfigured(capability))
    }

    /// POSTs `body` to `path`, retrying 429, 5xx and unanswered attempts with backoff; the
    /// answer's JSON on a 2xx.
    async fn post(&self, path: &str, body: Body) -> Result<Value, AiError> {
        let url = format!("{}{path}", self.config.base_url);
        let mut attempt = 0u32;
        loop {
            let mut request = self.client.post(&url);
            if let Some(key) = &self.config.api_key {
                request = request
                    .header(AUTHORIZATION, format!("Bearer {key}"))
                    .header("api-key", key);
            }
            request = match &body {
                Body::Json(value) => request
                    .header(CONTENT_TYPE, "application/json")
                    .body(value.to_string()),
                Body::Multipart { boundary, bytes } => request
                    .header(
                        CONTENT_TYPE,
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(bytes.clone()),
            };
            let started = Instant::now();
            let retry = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let bytes = response.bytes().await.map_err(|e| {
                        AiError::Unavailable(format!("reading the answer failed: {e}"))
                    });
                    if status.is_success() {
                        let bytes = bytes?;
                        return serde_json::from_slice(&bytes).map_err(|e| {
                            AiError::InvalidOutput(format!("the answer is not JSON: {e}"))
                        });
                    }
                    let excerpt = bytes
                        .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
                        .unwrap_or_default();
                    if status.as_u16() == 429 {
                        (AiError::RateLimited(format!("429 {excerpt}")), retry_after)
                    } else if status.is_server_error() {
                        (
                            AiError::Unavailable(format!("{} {excerpt}", status.as_u16())),
                            retry_after,
                        )
                    } else {
                        return Err(AiError::Rejected(format!("{} {excerpt}", status.as_u16())));
                    }
                }
                Err(e) => {
                    let what = if e.is_timeout() {
                        format!("no answer within {:?}", started.elapsed())
                    } else {
                        "the provider could not be reached".to_owned()
                    };
                    tracing::debug!(error = %e, "AI call failed");
                    (AiError::Unavailable(what), None)
                }
            };
            if attempt >= self.config.max_retries {
                return Err(retry.0);
            }
            let backoff = self
                .config
                .backoff
                .saturating_mul(2u32.saturating_pow(attempt));
            let wait = retry.1.unwrap_or(backoff).min(MAX_BACKOFF);
            tracing::info!(path, attempt, ?wait, error = %retry.0, "retrying an AI call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

fn usage(answer: &Value) -> TokenUsage {
    let usage = &answer["usage"];
    TokenUsage {
        input: usage["prompt_tokens"]
            .as_i64()
            .or_else(|| usage["input_tokens"].as_i64())
            .unwrap_or(0),
        output: usage["completion_tokens"]
            .as_i64()
            .or_else(|| usage["output_tokens"].as_i64())
            .unwrap_or(0),
    }
}

fn model_of(answer: &Value, asked: &str) -> String {
    answer["model"].as_str().unwrap_or(asked).to_owned()
}

/// A `multipart/form-data` body of text fields and one file.
fn multipart(fields: &[(&str, &str)], file: &Audio) -> (String, Vec<u8>) {
    let boundary = format!("guild-{}", uuid::Uuid::now_v7().simple());
    let mut out = Vec::new();
    for (name, value) in fields {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let filename: String = file
        .filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let content_type: String = file
        .content_type
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .collect();
    out.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&file.bytes);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, out)
}

impl AiModel for OpenAiCompatible {
    fn configured(&self, capability: AiCapability) -> bool {
        self.model_name(capability).is_some()
    }

    fn model_name(&self, capability: AiCapability) -> Option<&str> {
        let c = &self.config;
        match capability {
            AiCapability::Generation => c.chat_model.as_deref(),
            AiCapability::Embeddings => c.embedding_model.as_deref(),
            AiCapability::Transcription => c.transcription_model.as_deref(),
            AiCapability::Images => c.image_model.as_deref(),
        }
    }

    fn generate<'a>(
        &'a self,
        request: &'a GenerateRequest,
    ) -> BoxFuture<'a, Result<Generated, AiError>> {
        Box::pin(async move {
            let model = self.model(AiCapability::Generation)?;
            let body = json!({
                "model": model,
                "messages": [
                    { "role": "system", "content": request.system },
                    { "role": "user", "content": request.user },
                ],
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.schema_name,
                        "schema": super::schema::for_provider(&request.schema),
                        "strict": true,
                    },
                },
                "max_tokens": request.max_output_tokens,
            });
            let answer = self.post("/chat/completions", Body::Json(body)).await?;
            let message = &answer["choices"][0]["message"];
            let Some(content) = message["content"].as_str() else {
                let why = message["refusal"].as_str().unwrap_or("no content");
                return Err(AiError::InvalidOutput(format!(
                    "the model answered {why:?}"
                )));
            };
            let value: Value = serde_json::from_str(content)
                .map_err(|e| AiError::InvalidOutput(format!("not JSON: {e}")))?;
            super::schema::check(&value, &request.schema).map_err(AiError::InvalidOutput)?;
            Ok(Generated {
                value,
                model: model_of(&answer, model),
                usage: usage(&answer),
            })
        })
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Embeddings, AiError>> {
        Box::pin(async move {
            let model = self.model(AiCapability::Embeddings)?;
            let answer = self
                .post(
                    "/embeddings",
                    Body::Json(json!({ "model": model, "input": texts })),
                )
                .await?;
            let mut rows: Vec<(u64, Vec<f32>)> = Vec::new();
            for (i, row) in answer["data"].as_array().into_iter().flatten().enumerate() {
                let vector = row["embedding"]
                    .as_array()
                    .ok_or_else(|| AiError::InvalidOutput("an embedding is missing".into()))?
                    .iter()
                    .map(|x| x.as_f64().map(|x| x as f32))
                    .collect::<Option<Vec<f32>>>()
                    .ok_or_else(|| AiError::InvalidOutput("an embedding is not numbers".into()))?;
                rows.push((row["index"].as_u64().unwrap_or(i as u64), vector));
            }
            if rows.len() != texts.len() {
                return Err(AiError::InvalidOutput(format!(
                    "{} embeddings for {} texts",
                    rows.len(),
                    texts.len()
                )));
            }
            rows.sort_by_key(|(index, _)| *index);
            Ok(Embeddings {
                vectors: rows.into_iter().map(|(_, v)| v).collect(),
                model: model_of(&answer, model),
                usage: usage(&answer),
            })
        })
    }

    fn transcribe<'a>(&'a self, audio: &'a Audio) -> BoxFuture<'a, Result<Transcript, AiError>> {
        Box::pin(async move {
            let model = self.model(AiCapability::Transcription)?;
            let (boundary, bytes) = multipart(
                &[
                    ("model", model),
                    ("response_format", "verbose_json"),
                    ("timestamp_granularities[]", "segment"),
                ],
                audio,
            );
            let answer = self
                .post("/audio/transcriptions", Body::Multipart { boundary, bytes })
                .await?;
            let text = answer["text"]
                .as_str()
                .ok_or_else(|| AiError::InvalidOutput("no text in the transcript".into()))?;
            // Seconds as decimals; a provider without segments (`json` only) gives none.
            let ms = |v: &serde_json::Value| {
                v.as_f64()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map_or(0, |s| (s * 1000.0).round() as i64)
            };
            let segments = answer["segments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|seg| {
                    let text = seg["text"].as_str()?.trim();
                    (!text.is_empty()).then(|| TranscriptSegment {
                        start_ms: ms(&seg["start"]),
                        end_ms: ms(&seg["end"]).max(ms(&seg["start"])),
                        text: text.to_owned(),
                    })
                })
                .collect();
            Ok(Transcript {
                text: text.to_owned(),
                model: model_of(&answer, model),
                segments,
            })
        })
    }

    fn image<'a>(
        &'a self,
        prompt: &'a str,
        size: &'a str,
    ) -> BoxFuture<'a, Result<GeneratedImage, AiError>> {
        Box::pin(async move {
            let model = self.model(AiCapability::Images)?;
            let answer = self
                .post(
                    "/images/generations",
                    Body::Json(json!({
                        "model": model,
                        "prompt": prompt,
                        "size": size,
                        "n": 1,
                        "response_format": "b64_json",
                    })),
                )
                .await?;
            let encoded = answer["data"][0]["b64_json"]
                .as_str()
                .ok_or_else(|| AiError::InvalidOutput("no image in the answer".into()))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| AiError::InvalidOutput(format!("the image is not base64: {e}")))?;
            Ok(GeneratedImage {
                bytes,
                model: model_of(&answer, model),
            })
        })
    }
}
