//! A JSON-schema check for structured outputs: the subset Guild's prompts use — `type`
//! (`object`, `array`, `string`, `integer`, `number`, `boolean`, `null`, or a list of them),
//! `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `maxLength`,
//! `minLength`, `minItems`, `maxItems`, `minimum`, `maximum`. A keyword outside the subset is
//! refused when the schema is checked, so a schema can never silently check less than it says.

use serde_json::Value;

const KNOWN: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "maxLength",
    "minLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "description",
];

/// `schema` as it is sent to the provider: without `minLength` and `maxLength`, which OpenAI's
/// strict structured outputs refuse; [`check`] still applies them to the output.
pub fn for_provider(schema: &Value) -> Value {
    match schema {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "minLength" | "maxLength"))
                .map(|(k, v)| (k.clone(), for_provider(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(for_provider).collect()),
        other => other.clone(),
    }
}

/// Checks `value` against `schema`; the error names the first path at fault.
pub fn check(value: &Value, schema: &Value) -> Result<(), String> {
    check_at("$", value, schema)
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn check_at(path: &str, value: &Value, schema: &Value) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return Err(format!("{path}: the schema is not an object"));
    };
    if let Some(unknown) = schema.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("{path}: unsupported schema keyword {unknown:?}"));
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_matches(t, value) => {
            return Err(format!("{path}: expected {t}"));
        }
        Some(Value::Array(types))
            if !types
                .iter()
                .any(|t| t.as_str().is_some_and(|t| type_matches(t, value))) =>
        {
            return Err(format!("{path}: not of the allowed types"));
        }
        _ => {}
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        return Err(format!("{path}: not one of the allowed values"));
    }
    if let Value::String(s) = value {
        let len = s.chars().count() as u64;
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            return Err(format!("{path}: longer than maxLength"));
        }
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            return Err(format!("{path}: shorter than minLength"));
        }
    }
    if let Some(n) = value.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            return Err(format!("{path}: below minimum"));
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            return Err(format!("{path}: above maximum"));
        }
    }
    if let Value::Array(items) = value {
        let len = items.len() as u64;
        if schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            return Err(format!("{path}: more than maxItems"));
        }
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            return Err(format!("{path}: fewer than minItems"));
        }
        if let Some(item) = schema.get("items") {
            for (i, v) in items.iter().enumerate() {
                check_at(&format!("{path}[{i}]"), v, item)?;
            }
        }
    }
    if let Value::Object(fields) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    return Err(format!("{path}.{name}: required"));
                }
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (name, v) in fields {
            match properties.and_then(|p| p.get(name)) {
                Some(sub) => check_at(&format!("{path}.{name}"), v, sub)?,
                None if closed => return Err(format!("{path}.{name}: not allowed")),
                None => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check;

    fn schema() -> serde_json::Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["answer", "citations"],
            "properties": {
                "answer": { "type": "string", "maxLength": 10 },
                "citations": { "type": "array", "maxItems": 2, "items": { "type": "integer", "minimum": 0 } },
                "tone": { "type": "string", "enum": ["FRIENDLY", "FORMAL"] }
            }
        })
    }

    #[test]
    fn values_of_the_schema_pass_and_others_name_their_fault() {
        assert_eq!(
            check(&json!({"answer": "ok", "citations": [0, 1]}), &schema()),
            Ok(())
        );
        for (bad, at) in [
            (json!({"answer": "ok"}), "$.citations: required"),
            (
                json!({"answer": "ok", "citations": [], "apply": true}),
                "$.apply: not allowed",
            ),
            (
                json!({"answer": "far too long here", "citations": []}),
                "$.answer: longer",
            ),
            (
                json!({"answer": "ok", "citations": [0, 1, 2]}),
                "$.citations: more",
            ),
            (
                json!({"answer": "ok", "citations": [-1]}),
                "$.citations[0]: below",
            ),
            (
                json!({"answer": "ok", "citations": ["0"]}),
                "$.citations[0]: expected",
            ),
            (
                json!({"answer": "ok", "citations": [], "tone": "ANGRY"}),
                "$.tone: not one",
            ),
            (json!("text"), "$: expected object"),
        ] {
            let err = check(&bad, &schema()).expect_err(&bad.to_string());
            assert!(err.starts_with(at), "{err} for {bad}");
        }
    }

    #[test]
    fn a_keyword_outside_the_subset_is_refused() {
        let err = check(&json!("x"), &json!({"type": "string", "pattern": "^a"})).unwrap_err();
        assert!(err.contains("pattern"), "{err}");
    }
}
