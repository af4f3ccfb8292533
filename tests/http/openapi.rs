//! The published contract: served, browsable offline, and identical to the committed file.

use actix_web::http::Method;
use guild_api::openapi::spec_json;
use guild_tests::TestApp;

#[test]
fn the_committed_spec_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api-spec/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == spec_json(),
        "api-spec/openapi.json is out of date with the code: run `make spec` and commit it"
    );
}

#[actix_web::test]
async fn the_spec_is_served_as_openapi_3_1() {
    let app = TestApp::new().await;
    let reply = app.request(Method::GET, "/v1/openapi.json").await;
    assert_eq!(reply.status, 200);
    let spec = reply.json;
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["bearerFormat"],
        "JWT"
    );
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    let served: serde_json::Value = serde_json::from_str(&spec_json()).unwrap_or_default();
    assert_eq!(spec, served);
}

#[test]
fn every_operation_is_fully_described() {
    let spec: serde_json::Value = serde_json::from_str(&spec_json()).unwrap_or_default();
    let paths = spec["paths"].as_object().cloned().unwrap_or_default();
    assert!(!paths.is_empty());
    let mut ids = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().cloned().unwrap_or_default() {
            let at = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: no operationId"));
            ids.push(id.to_owned());
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{at}: no tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{at}: no summary"
            );
            assert!(
                op["security"].is_array() || spec["security"].is_array(),
                "{at}: no security"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{at}: no responses"
            );
            let public = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r == &serde_json::json!({})));
            if !public {
                assert!(
                    op["responses"]["401"].is_object(),
                    "{at}: authenticated but no 401 response"
                );
            }
        }
    }
    let before = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), before, "operationIds must be unique");
}

#[actix_web::test]
async fn swagger_ui_is_served_without_network_access() {
    let app = TestApp::new().await;
    let redirect = app.request(Method::GET, "/docs").await;
    assert!((300..400).contains(&redirect.status));
    assert_eq!(redirect.header("location"), Some("/docs/"));

    let page = app.request(Method::GET, "/docs/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    assert!(
        !page.text.contains("https://"),
        "the page loads assets from the internet"
    );

    let init = app
        .request(Method::GET, "/docs/swagger-initializer.js")
        .await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/v1/openapi.json"), "{}", init.text);
    let bundle = app.request(Method::GET, "/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000, "the bundle is not vendored");
}

/// Every type the spec names is one Rust type: two types deriving `ToSchema` under one name
/// would share one entry of `components.schemas`, and the last registered would document both
/// operations (a generated client would then send the wrong body).
#[test]
fn no_two_rust_types_share_a_schema_name() {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir)
            .expect("read the source tree")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut clashes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut derives_schema = false;
        let mut renamed: Option<String> = None;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                derives_schema = true;
                continue;
            }
            if derives_schema && line.starts_with("#[schema(") && line.contains("as = ") {
                renamed = line
                    .split("as = ")
                    .nth(1)
                    .map(|rest| rest.trim_end_matches([')', ']']).trim().to_owned());
                continue;
            }
            if derives_schema && (line.starts_with("#[") || line.starts_with("///")) {
                continue;
            }
            if derives_schema {
                let name = line
                    .split_whitespace()
                    .skip_while(|w| *w != "struct" && *w != "enum")
                    .nth(1)
                    .map(|n| {
                        n.trim_end_matches(['{', '(', ';'])
                            .split('<')
                            .next()
                            .unwrap_or(n)
                            .to_owned()
                    });
                if let Some(name) = renamed.take().or(name) {
                    let place = format!("{}", file.display());
                    if let Some(first) = seen.insert(name.clone(), place.clone()) {
                        clashes.push(format!("{name}: {first} and {place}"));
                    }
                }
                derives_schema = false;
            }
        }
    }
    assert!(
        !seen.is_empty(),
        "the scan found no schema types; is it reading the sources?"
    );
    assert!(
        clashes.is_empty(),
        "types sharing a schema name: {clashes:#?}"
    );
}

/// The quiz submission and the module-to-group assignment document their own bodies.
#[test]
fn the_quiz_submit_and_group_assignment_bodies_are_their_own() {
    let spec: serde_json::Value = serde_json::from_str(&spec_json()).expect("the spec");
    let body_of = |path: &str, method: &str| {
        let reference = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        spec["components"]["schemas"][&reference]["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let submit = body_of("/v1/attempts/{attempt_id}/submit", "post");
    assert!(
        submit
            .iter()
            .all(|f| f != "text_answer" && f != "asset_ids"),
        "{submit:?}"
    );
    assert!(submit.iter().any(|f| f == "answers"), "{submit:?}");
    let assign = body_of("/v1/modules/{module_id}/groups/{group_id}", "put");
    assert!(assign.iter().all(|f| f != "brief_html"), "{assign:?}");
}

fn rust_sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("read the source tree")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text from the bracket at `open` to its match (the whole rest when unbalanced).
fn balanced(text: &str, open: usize) -> &str {
    let bytes = text.as_bytes();
    let (o, c) = match bytes[open] {
        b'(' => (b'(', b')'),
        _ => (b'{', b'}'),
    };
    let mut depth = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if b == o {
            depth += 1;
        } else if b == c {
            depth -= 1;
            if depth == 0 {
                return &text[open..=i];
            }
        }
    }
    &text[open..]
}

/// The `"snake_case"` string literals of `text`, in order.
fn snake_literals(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// Every code the sources answer with: the literals of each `fn code(&self) -> &'static str`
/// (every `ErrorCode`) and of `code_for_status` (the framework's own errors), and the code passed
/// to each `ApiError::new(status, "code")` and `unauthenticated("code", …)`.
fn codes_in_sources() -> std::collections::BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut files = Vec::new();
    rust_sources(&root, &mut files);
    let mut codes = std::collections::BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for marker in ["fn code(&self) -> &'static str", "fn code_for_status("] {
            for (at, _) in text.match_indices(marker) {
                if let Some(open) = text[at..].find('{') {
                    codes.extend(snake_literals(balanced(&text, at + open)));
                }
            }
        }
        for marker in ["ApiError::new(", "unauthenticated("] {
            for (at, _) in text.match_indices(marker) {
                let open = at + marker.len() - 1;
                if let Some(code) = snake_literals(balanced(&text, open)).into_iter().next() {
                    codes.insert(code);
                }
            }
        }
    }
    codes
}

/// `Problem.code` is an `enum` of every code the API can answer, kept in one list
/// (`guild_api::openapi::PROBLEM_CODES`) that a new code in the sources must join.
#[test]
fn every_problem_code_the_sources_answer_is_in_the_enum() {
    let listed = guild_api::openapi::PROBLEM_CODES;
    let mut sorted = listed.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, listed, "PROBLEM_CODES must be sorted and unique");

    let found = codes_in_sources();
    assert!(
        found.len() > 50 && found.contains("module_not_found") && found.contains("rate_limited"),
        "the scan found too few codes ({}); is it reading the sources?",
        found.len()
    );
    let missing: Vec<_> = found
        .iter()
        .filter(|c| !listed.contains(&c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "codes answered by the code but missing from PROBLEM_CODES (crates/api/src/openapi.rs): \
         {missing:?}"
    );

    let spec: serde_json::Value = serde_json::from_str(&spec_json()).expect("the spec");
    let documented = spec["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>())
        .unwrap_or_default();
    assert_eq!(documented, listed);
}

/// The verbs an operationId may start with: the five of resources, and the actions that are
/// not one of them.
const OPERATION_VERBS: &[&str] = &[
    "list",
    "get",
    "create",
    "update",
    "delete", // resources
    "sign_in",
    "sign_up",
    "sign_out",
    "refresh",
    "accept",
    "decline",
    "invite",
    "verify",
    "request",
    "confirm",
    "change",
    "set",
    "add",
    "rotate",
    "replay",
    "remove",
    "deactivate",
    "reactivate",
    "erase",
    "import",
    "export",
    "archive",
    "publish",
    "acknowledge",
    "assign",
    "unassign",
    "pin",
    "unpin",
    "attach",
    "detach",
    "reorder",
    "start",
    "complete",
    "submit",
    "grade",
    "apply",
    "revert",
    "revoke",
    "upload",
    "download",
    "redeem",
    "approve",
    "reject",
    "cancel",
    "adjust",
    "check",
    "mark",
    "hide",
    "unhide",
    "follow",
    "unfollow",
    "open",
    "preview",
    "unsubscribe",
    "send",
    "search",
    "escalate",
    "claim",
    "answer",
    "draft",
    "retry",
];

/// Every operationId starts with a verb (`list_modules`, `get_me`, `submit_attempt`), so a
/// generated client reads as calls.
#[test]
fn every_operation_id_starts_with_a_verb() {
    let spec: serde_json::Value = serde_json::from_str(&spec_json()).expect("the spec");
    let mut offenders = Vec::new();
    for (path, item) in spec["paths"].as_object().cloned().unwrap_or_default() {
        for (method, op) in item.as_object().cloned().unwrap_or_default() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            let verb_first = OPERATION_VERBS.iter().any(|verb| {
                id.strip_prefix(verb)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .is_some_and(|rest| !rest.is_empty())
                    || (verb.contains('_') && id == *verb)
            });
            if !verb_first {
                offenders.push(format!("{method} {path}: {id}"));
            }
        }
    }
    offenders.sort();
    assert!(
        offenders.is_empty(),
        "operationIds not starting with one of {OPERATION_VERBS:?}:\n{}",
        offenders.join("\n")
    );
}

/// What every operation shares is documented on each: `X-Request-Id` on every response, 500 and
/// 503 everywhere, 429 where a request is counted, 413/415 with a body, 428/412 with `If-Match`,
/// `Idempotent-Replayed` where `Idempotency-Key` is taken, and `servers` and `contact`.
#[test]
fn every_operation_documents_the_shared_responses_and_headers() {
    let spec: serde_json::Value = serde_json::from_str(&spec_json()).expect("the spec");
    assert!(
        spec["servers"].as_array().is_some_and(|s| !s.is_empty()),
        "no servers"
    );
    assert!(spec["info"]["contact"].is_object(), "no contact");
    let resolve = |r: &serde_json::Value| -> serde_json::Value {
        match r["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or_default();
                spec["components"]["responses"][name].clone()
            }
            None => r.clone(),
        }
    };
    let mut problems = Vec::new();
    for (path, item) in spec["paths"].as_object().cloned().unwrap_or_default() {
        for (method, op) in item.as_object().cloned().unwrap_or_default() {
            let at = format!("{method} {path}");
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            let header_names: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "header")
                .filter_map(|p| p["name"].as_str().map(str::to_ascii_lowercase))
                .collect();
            let public = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r == &serde_json::json!({})));
            let mut want = vec!["500"];
            if path != "/livez" && path != "/metrics" {
                want.push("503");
            }
            if !public {
                want.push("429");
            }
            if op["requestBody"].is_object() {
                want.extend(["413", "415"]);
            }
            if header_names.iter().any(|h| h == "if-match") {
                want.extend(["412", "428"]);
            }
            for status in want {
                if !responses.contains_key(status) {
                    problems.push(format!("{at}: no {status}"));
                }
            }
            for (status, response) in &responses {
                let response = resolve(response);
                let headers = &response["headers"];
                if !headers["X-Request-Id"].is_object() {
                    problems.push(format!("{at} {status}: no X-Request-Id"));
                }
                if status == "429" && !headers["Retry-After"].is_object() {
                    problems.push(format!("{at} {status}: no Retry-After"));
                }
                if status.starts_with('2')
                    && header_names.iter().any(|h| h == "idempotency-key")
                    && !headers["Idempotent-Replayed"].is_object()
                {
                    problems.push(format!("{at} {status}: no Idempotent-Replayed"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A method the resource a path names does not answer is 405 with that resource's `Allow`, even
/// when a route with a parameter would take the path (`/v1/media/{asset_id}` takes
/// `/v1/media/bulk-delete`).
#[actix_web::test]
async fn allow_names_the_methods_of_the_resource_the_path_names() {
    use actix_web::http::Method;
    let app = TestApp::new().await;
    let token = app.owner("allow").await;
    for (method, uri, allow) in [
        (Method::GET, "/v1/media/bulk-delete", "POST"),
        (Method::OPTIONS, "/v1/media/bulk-delete", "POST"),
        (
            Method::GET,
            "/v1/modules/01a24b1a-456b-755c-af29-32b3cd95f302/sections/order",
            "PUT",
        ),
    ] {
        let reply = app.call(method.clone(), uri, &token, None).await;
        assert_eq!(reply.status, 405, "{method} {uri}: {}", reply.text);
        assert_eq!(reply.header("allow"), Some(allow), "{method} {uri}");
        assert_eq!(reply.json["code"], "method_not_allowed");
    }
    // A malformed id of a resource that answers the method is still 404.
    let reply = app.get("/v1/media/not-a-uuid", &token).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert_eq!(reply.json["code"], "invalid_path_parameter");
}

/// Every `$ref` names something the document has: a type named only by a query parameter (a
/// `sort` enum) is `$ref`ed but not collected by utoipa, and must be registered in `ApiDoc`.
#[test]
fn every_reference_resolves() {
    fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_owned()),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let spec: serde_json::Value = serde_json::from_str(&spec_json()).expect("the spec");
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(!found.is_empty());
    let dangling: std::collections::BTreeSet<_> = found
        .into_iter()
        .filter(|r| {
            r.strip_prefix('#')
                .is_none_or(|pointer| spec.pointer(pointer).is_none())
        })
        .collect();
    assert!(
        dangling.is_empty(),
        "$refs that resolve to nothing: {dangling:?}"
    );
}
