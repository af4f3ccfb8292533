//! AI adapters behind the kernel's [`AiModel`](guild_kernel::ports::AiModel) port.
//!
//! - [`OpenAiCompatible`] (`openai.rs`): any OpenAI-compatible API (OpenAI, Azure OpenAI's
//!   `/openai/v1` endpoint, Ollama, vLLM, LM Studio) over plain HTTPS with `reqwest`, a base URL,
//!   a key and one model name per capability. Every call has a time limit and is retried on 429
//!   and 5xx answers (and on connection failures) with exponential backoff, a bounded number of
//!   times, honouring a short `Retry-After`.
//! - [`schema`]: the JSON-schema check every generation's output passes before it is answered.
//!
//! Why `reqwest` rather than `async-openai`: this crate already builds `reqwest` (the SSRF-guarded
//! fetcher), the four endpoints used are a few JSON fields each, and owning the request keeps the
//! retry, timeout and structured-output rules in one place that the tests drive through an HTTP
//! fake; `async-openai` would add its own HTTP stack, retry policy and generated types to build.

mod openai;
pub mod schema;

pub use openai::{AiConfig, OpenAiCompatible};
