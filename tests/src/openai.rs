//! An HTTP fake of the OpenAI API on loopback, for the AI adapter and the features on it: chat
//! completions with structured output, embeddings, transcriptions and image generations, each
//! request recorded; scriptable failures (429, 500…) answered before the next success, scriptable
//! chat replies, and a delay to make calls time out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use guild_integrations::ai::{AiConfig, OpenAiCompatible};
use serde_json::{Value, json};

/// A request the fake got.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Its path (`/v1/chat/completions`).
    pub path: String,
    /// Its `Authorization` header.
    pub authorization: Option<String>,
    /// Its body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body as JSON (`Null` for a multipart body).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Default)]
struct Script {
    failures: VecDeque<u16>,
    chat: VecDeque<Value>,
    raw_chat: VecDeque<String>,
    usage: (i64, i64),
    delay: Option<Duration>,
    got: Vec<Recorded>,
    concepts: Vec<Vec<String>>,
}

/// The fake: `base_url()` is `http://127.0.0.1:<port>/v1`.
#[derive(Debug, Clone)]
pub struct FakeOpenAi {
    port: u16,
    script: Arc<Mutex<Script>>,
}

/// The image every image generation answers (a 1×1 PNG).
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0x0f, 0x00, 0x00,
    0x01, 0x01, 0x00, 0x05, 0x18, 0xd8, 0x4d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

type Shared = web::Data<Arc<Mutex<Script>>>;

fn lock(script: &Shared) -> std::sync::MutexGuard<'_, Script> {
    script
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records the request; answers the next scripted failure, if any, after the scripted delay.
async fn intake(script: &Shared, req: &HttpRequest, body: &[u8]) -> Option<HttpResponse> {
    let (failure, delay) = {
        let mut s = lock(script);
        s.got.push(Recorded {
            path: req.path().to_owned(),
            authorization: req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.to_vec(),
        });
        (s.failures.pop_front(), s.delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    failure.map(|status| {
        let status = actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = HttpResponse::build(status);
        if status.as_u16() == 429 {
            reply.insert_header(("retry-after", "0"));
        }
        reply.json(json!({ "error": { "message": "scripted failure", "type": "fake" } }))
    })
}

async fn chat(script: Shared, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(failure) = intake(&script, &req, &body).await {
        return failure;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (content, usage) = {
        let mut s = lock(&script);
        let content = match s.raw_chat.pop_front() {
            Some(raw) => raw,
            None => s
                .chat
                .pop_front()
                .unwrap_or_else(
                    || json!({ "answer_html": "<p>From the first passage.</p>", "citations": [1] }),
                )
                .to_string(),
        };
        (content, s.usage)
    };
    HttpResponse::Ok().json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [{ "index": 0, "finish_reason": "stop",
                      "message": { "role": "assistant", "content": content } }],
        "usage": { "prompt_tokens": usage.0, "completion_tokens": usage.1,
                   "total_tokens": usage.0 + usage.1 },
    }))
}

async fn embeddings(script: Shared, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(failure) = intake(&script, &req, &body).await {
        return failure;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let inputs = request["input"].as_array().cloned().unwrap_or_default();
    let concepts = lock(&script).concepts.clone();
    // Answered in reverse order, as the API may: the adapter orders them by `index`.
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, text)| {
            let text = text.as_str().unwrap_or_default();
            let embedding = if concepts.is_empty() {
                vec![text.len() as f64, i as f64, 0.5]
            } else {
                concept_vector(&concepts, text)
            };
            json!({ "object": "embedding", "index": i, "embedding": embedding })
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "object": "list", "model": request["model"], "data": data,
        "usage": { "prompt_tokens": inputs.len() * 3, "total_tokens": inputs.len() * 3 },
    }))
}

/// One dimension per concept: how many of its words `text` has (lower case, whole words), and
/// a last dimension of 0.05 so that no vector is zero.
fn concept_vector(concepts: &[Vec<String>], text: &str) -> Vec<f64> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut vector: Vec<f64> = concepts
        .iter()
        .map(|concept| {
            words
                .iter()
                .filter(|w| concept.iter().any(|c| c == *w))
                .count() as f64
        })
        .collect();
    vector.push(0.05);
    vector
}

async fn transcriptions(script: Shared, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(failure) = intake(&script, &req, &body).await {
        return failure;
    }
    let text = String::from_utf8_lossy(&body);
    let has_file = text.contains("name=\"file\"; filename=") && text.contains("name=\"model\"");
    if !has_file {
        return HttpResponse::BadRequest().json(json!({ "error": { "message": "no file" } }));
    }
    let said = format!("transcribed {} bytes", body.len());
    HttpResponse::Ok().json(json!({
        "text": format!("{said}. Wear a helmet on site."),
        "segments": [
            { "id": 0, "start": 0.0, "end": 4.5, "text": format!(" {said}.") },
            { "id": 1, "start": 4.5, "end": 9.25, "text": " Wear a helmet on site." },
        ],
    }))
}

async fn images(script: Shared, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(failure) = intake(&script, &req, &body).await {
        return failure;
    }
    HttpResponse::Ok().json(json!({
        "created": 0,
        "data": [{ "b64_json": base64::engine::general_purpose::STANDARD.encode(PNG_1X1) }],
    }))
}

impl FakeOpenAi {
    /// Listens on a free loopback port; chat replies use 100 prompt and 20 completion tokens.
    pub async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let script = Arc::new(Mutex::new(Script {
            usage: (100, 20),
            ..Script::default()
        }));
        let data = web::Data::new(script.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/v1/chat/completions", web::post().to(chat))
                .route("/v1/embeddings", web::post().to(embeddings))
                .route("/v1/audio/transcriptions", web::post().to(transcriptions))
                .route("/v1/images/generations", web::post().to(images))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("serve")
        .run();
        actix_web::rt::spawn(server);
        Self { port, script }
    }

    /// The API's base URL.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// A configuration with every model set, the key `sk-test`, 2 s per attempt, 3 retries from
    /// 1 ms.
    pub fn config(&self) -> AiConfig {
        let mut config = AiConfig::new(self.base_url());
        config.api_key = Some("sk-test".to_owned());
        config.chat_model = Some("fake-chat".to_owned());
        config.embedding_model = Some("fake-embed".to_owned());
        config.transcription_model = Some("fake-whisper".to_owned());
        config.image_model = Some("fake-image".to_owned());
        config.timeout = Duration::from_secs(2);
        config.backoff = Duration::from_millis(1);
        config
    }

    /// The adapter on [`config`](Self::config).
    pub fn model(&self) -> OpenAiCompatible {
        OpenAiCompatible::new(self.config()).expect("an adapter")
    }

    /// Answers these statuses, one per request, before succeeding again.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.lock().failures.extend(statuses.iter().copied());
    }

    /// The next chat completion's content (a JSON value, sent as the message's text).
    pub fn reply_with(&self, content: Value) {
        self.lock().chat.push_back(content);
    }

    /// The next chat completion's content as raw text (not necessarily JSON).
    pub fn reply_raw(&self, content: &str) {
        self.lock().raw_chat.push_back(content.to_owned());
    }

    /// The tokens each chat completion reports (prompt, completion).
    pub fn set_usage(&self, prompt: i64, completion: i64) {
        self.lock().usage = (prompt, completion);
    }

    /// From now on, embeddings say which of `concepts` (each a set of words) a text speaks of
    /// (see `concept_vector`): texts about the same concept in different words are near.
    pub fn embed_by_concepts(&self, concepts: &[&[&str]]) {
        self.lock().concepts = concepts
            .iter()
            .map(|c| c.iter().map(|w| (*w).to_owned()).collect())
            .collect();
    }

    /// Waits this long before answering every request.
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.lock().delay = delay;
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().got.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
