//! The AI port's adapter against an HTTP fake of the OpenAI API (structured output checked
//! against its schema, embeddings, transcription, images, retries with backoff on 429 and 5xx,
//! time limits), and over HTTP: the usage records, `GET /v1/ai/usage`, the settings, and the
//! monthly budget that stops calls at its limit.

use std::sync::Arc;
use std::time::Duration;

use guild_kernel::ports::AiModel;
use guild_kernel::ports::ai::{AiCapability, AiError, Audio, GenerateRequest};
use guild_tests::openai::{FakeOpenAi, PNG_1X1};
use guild_tests::{TestApp, assert_problem, count};
use serde_json::{Value, json};

fn request() -> GenerateRequest {
    GenerateRequest {
        system: "Answer.".to_owned(),
        user: "Question".to_owned(),
        schema_name: "answer".to_owned(),
        schema: json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["answer_html", "citations"],
            "properties": {
                "answer_html": { "type": "string", "maxLength": 100 },
                "citations": { "type": "array", "items": { "type": "integer", "minimum": 1 } }
            }
        }),
        max_output_tokens: 50,
    }
}

#[actix_web::test]
async fn the_adapter_speaks_the_openai_api_for_each_capability() {
    let fake = FakeOpenAi::start().await;
    let model = fake.model();
    for capability in [
        AiCapability::Generation,
        AiCapability::Embeddings,
        AiCapability::Transcription,
        AiCapability::Images,
    ] {
        assert!(model.configured(capability));
    }

    let generated = model.generate(&request()).await.expect("a generation");
    assert_eq!(generated.value["citations"], json!([1]));
    assert_eq!(generated.model, "fake-chat");
    assert_eq!((generated.usage.input, generated.usage.output), (100, 20));
    let sent = fake.requests()[0].clone();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.authorization.as_deref(), Some("Bearer sk-test"));
    let body = sent.json();
    assert_eq!(body["model"], "fake-chat");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    // Lengths are checked here, not sent: strict structured outputs refuse them.
    let mut sent_schema = request().schema;
    sent_schema["properties"]["answer_html"] = json!({ "type": "string" });
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        sent_schema
    );

    let texts = vec!["a".to_owned(), "three".to_owned()];
    let embedded = model.embed(&texts).await.expect("embeddings");
    // The fake answers in reverse order: the adapter orders them by index.
    assert_eq!(
        embedded.vectors,
        vec![vec![1.0, 0.0, 0.5], vec![5.0, 1.0, 0.5]]
    );
    assert_eq!(embedded.usage.input, 6);

    let audio = Audio {
        filename: "talk.mp3".to_owned(),
        content_type: "audio/mpeg".to_owned(),
        bytes: vec![1, 2, 3, 4],
    };
    let transcript = model.transcribe(&audio).await.expect("a transcript");
    assert!(
        transcript.text.starts_with("transcribed "),
        "{}",
        transcript.text
    );
    let multipart = String::from_utf8_lossy(&fake.requests()[2].body).into_owned();
    assert!(multipart.contains("filename=\"talk.mp3\""), "{multipart}");
    assert!(multipart.contains("fake-whisper"), "{multipart}");

    let image = model
        .image("a lighthouse", "1024x1024")
        .await
        .expect("an image");
    assert_eq!(image.bytes, PNG_1X1);
    assert_eq!(fake.requests()[3].json()["size"], "1024x1024");
}

#[actix_web::test]
async fn calls_are_retried_on_429_and_5xx_a_bounded_number_of_times() {
    let fake = FakeOpenAi::start().await;
    let model = fake.model();

    fake.fail_next(&[429, 500, 503]);
    model
        .generate(&request())
        .await
        .expect("the fourth attempt succeeds");
    assert_eq!(fake.requests().len(), 4);

    fake.fail_next(&[500, 502, 500, 503]);
    let failed = model.generate(&request()).await.unwrap_err();
    assert!(matches!(failed, AiError::Unavailable(_)), "{failed:?}");
    // One attempt and three retries, then it gives up.
    assert_eq!(fake.requests().len(), 8);

    fake.fail_next(&[429, 429, 429, 429]);
    let limited = model.embed(&["x".to_owned()]).await.unwrap_err();
    assert!(matches!(limited, AiError::RateLimited(_)), "{limited:?}");
    assert_eq!(fake.requests().len(), 12);

    // Other client errors are not retried.
    fake.fail_next(&[400]);
    let refused = model.generate(&request()).await.unwrap_err();
    assert!(matches!(refused, AiError::Rejected(_)), "{refused:?}");
    assert_eq!(fake.requests().len(), 13);
}

#[actix_web::test]
async fn an_output_that_breaks_its_schema_or_comes_too_late_is_an_error() {
    let fake = FakeOpenAi::start().await;
    let model = fake.model();
    fake.reply_with(json!({ "answer_html": "<p>x</p>", "citations": [1], "apply": "ACCEPT" }));
    let extra = model.generate(&request()).await.unwrap_err();
    assert!(matches!(extra, AiError::InvalidOutput(_)), "{extra:?}");
    fake.reply_with(json!({ "answer_html": "<p>x</p>", "citations": ["1"] }));
    let wrong = model.generate(&request()).await.unwrap_err();
    assert!(matches!(wrong, AiError::InvalidOutput(_)), "{wrong:?}");
    fake.reply_raw("Sure! Here is your answer.");
    let text = model.generate(&request()).await.unwrap_err();
    assert!(matches!(text, AiError::InvalidOutput(_)), "{text:?}");

    let mut config = fake.config();
    config.timeout = Duration::from_millis(300);
    config.max_retries = 1;
    let slow = guild_integrations::ai::OpenAiCompatible::new(config).expect("an adapter");
    fake.set_delay(Some(Duration::from_millis(1500)));
    let before = fake.requests().len();
    let late = slow.generate(&request()).await.unwrap_err();
    assert!(matches!(late, AiError::Unavailable(_)), "{late:?}");
    assert_eq!(
        fake.requests().len(),
        before + 2,
        "a timeout is retried once"
    );
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A tenant whose catalog holds a published module about fire safety; returns the owner, an
/// employee and the module.
async fn tenant_with_knowledge(app: &TestApp, slug: &str) -> (String, String, String) {
    let owner = app.owner(slug).await;
    let (module, _) = app
        .module_with_section(
            &owner,
            json!({ "title": "Fire safety" }),
            json!({ "title": "Extinguishers",
                    "content_html": "<p>Extinguishers are checked every month by the fire warden.</p>" }),
        )
        .await;
    app.publish(&owner, &module).await;
    app.open_catalog(&owner).await;
    let member = app
        .member(&owner, &format!("ann@{slug}.example.com"), "EMPLOYEE")
        .await;
    (owner, member, module)
}

#[actix_web::test]
async fn without_a_model_questions_are_answered_by_retrieval_and_generation_is_503() {
    let app = TestApp::new().await;
    let (owner, member, _) = tenant_with_knowledge(&app, "noai").await;
    let asked = app
        .post(
            "/v1/questions",
            &member,
            json!({ "body": "How often are extinguishers checked?" }),
        )
        .await;
    assert_eq!(asked.status, 201, "{}", asked.text);
    assert_eq!(asked.json["answer_source"], "RETRIEVAL");
    assert_eq!(asked.json["citations"][0]["title"], "Extinguishers");
    assert!(s(&asked.json["answer_html"]).contains("fire warden"));
    let usage = app.get("/v1/ai/usage", &owner).await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert_eq!(usage.json["calls"], 0);
    // The plan's default budget: FREE.
    assert_eq!(usage.json["budget"]["limit"], 200_000);
    assert_eq!(usage.json["budget"]["plan_default"], true);
}

#[actix_web::test]
async fn usage_is_recorded_per_call_and_the_budget_stops_calls_at_its_limit() {
    let fake = FakeOpenAi::start().await;
    let model = fake.model();
    let app = TestApp::with(move |state| state.ai = Arc::new(model)).await;
    let (owner, member, module) = tenant_with_knowledge(&app, "budget").await;

    // Only ADMINs and above see usage and change settings.
    assert_problem(&app.get("/v1/ai/usage", &member).await, 403, "forbidden");
    assert_problem(
        &app.patch(
            "/v1/ai/settings",
            &member,
            json!({ "monthly_token_budget": 1 }),
        )
        .await,
        403,
        "forbidden",
    );
    let set = app
        .patch(
            "/v1/ai/settings",
            &owner,
            json!({ "monthly_token_budget": 200 }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json["effective_monthly_token_budget"], 200);

    // Each call costs 120 tokens: the first two are made (0 and 120 spent before them), the
    // third is refused before it reaches the provider (240 spent).
    let mut sources = Vec::new();
    for _ in 0..3 {
        let asked = app
            .post(
                "/v1/questions",
                &member,
                json!({ "body": "Who checks the extinguishers?" }),
            )
            .await;
        assert_eq!(asked.status, 201, "{}", asked.text);
        sources.push(s(&asked.json["answer_source"]));
    }
    assert_eq!(sources, ["AI", "AI", "RETRIEVAL"]);
    assert_eq!(fake.requests().len(), 2);

    let usage = app.get("/v1/ai/usage", &owner).await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert_eq!(usage.json["calls"], 2);
    assert_eq!(usage.json["input_tokens"], 200);
    assert_eq!(usage.json["output_tokens"], 40);
    assert_eq!(usage.json["budget"]["used"], 240);
    assert_eq!(usage.json["budget"]["remaining"], 0);
    assert_eq!(usage.json["budget"]["plan_default"], false);
    assert_eq!(usage.json["by_feature"][0]["feature"], "QUESTION_ANSWER");
    assert_eq!(usage.json["by_feature"][0]["calls"], 2);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM ai_usage WHERE feature = 'QUESTION_ANSWER' AND outcome = 'OK' \
             AND model = 'fake-chat' AND input_tokens = 100 AND output_tokens = 20 \
             AND user_id IS NOT NULL AND latency_ms >= 0"
        )
        .await,
        2
    );

    // A mentor's AI draft is a generation too: refused while the budget is spent.
    let mentor = app
        .member(&owner, "mia@budget.example.com", "EMPLOYEE")
        .await;
    app.make_mentor(&owner, &module, &mentor).await;
    let mentor_id = app.me_id(&mentor).await;
    let asked = app
        .post(
            "/v1/questions",
            &member,
            json!({ "body": "Who checks the extinguishers?", "module_id": module }),
        )
        .await;
    let question = s(&asked.json["id"]);
    let escalated = app
        .post(
            &format!("/v1/questions/{question}/escalate"),
            &member,
            json!({}),
        )
        .await;
    assert_eq!(
        escalated.json["assignee_id"],
        json!(mentor_id),
        "{}",
        escalated.text
    );
    let draft = format!("/v1/questions/{question}/draft");
    assert_problem(
        &app.post(&draft, &mentor, json!({})).await,
        429,
        "ai_budget_exhausted",
    );

    // Back to the plan's budget: calls are made again; a failing provider is recorded too.
    let reset = app
        .patch(
            "/v1/ai/settings",
            &owner,
            json!({ "monthly_token_budget": null }),
        )
        .await;
    assert_eq!(reset.json["monthly_token_budget"], Value::Null);
    fake.fail_next(&[500, 500, 500, 500]);
    let asked = app
        .post(
            "/v1/questions",
            &member,
            json!({ "body": "Who checks the extinguishers?" }),
        )
        .await;
    assert_eq!(asked.status, 201, "{}", asked.text);
    assert_eq!(asked.json["answer_source"], "RETRIEVAL");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM ai_usage WHERE outcome = 'UNAVAILABLE'"
        )
        .await,
        1
    );
    fake.reply_with(json!({ "answer_html": "<p>The fire warden does.</p>", "citations": [1] }));
    let drafted = app.post(&draft, &mentor, json!({})).await;
    assert_eq!(drafted.status, 200, "{}", drafted.text);
    assert_eq!(drafted.json["answer_html"], "<p>The fire warden does.</p>");
    assert_eq!(drafted.json["citations"][0]["title"], "Extinguishers");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM ai_usage WHERE feature = 'ANSWER_DRAFT'"
        )
        .await,
        1
    );
    // The draft changed nothing: the question still waits for the mentor's own answer.
    let still = app.get(&format!("/v1/questions/{question}"), &member).await;
    assert_eq!(still.json["status"], "ESCALATED");
}
