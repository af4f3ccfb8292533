//! PATCH (RFC 7644 §3.5.2): a body of `Operations`, each `add`, `replace` or `remove` with an
//! optional `path`, read into the changes Guild applies, in order.
//!
//! Users: `active`, `displayName` (or `name.formatted`), `externalId`, the enterprise
//! extension's `manager` (`…:User:manager`, `…:User:manager.value`, or inside the extension's
//! object), and `userName`/`emails` only to the value they already have (an address is the
//! account's own). `name.givenName` and `name.familyName` are accepted and ignored: Guild keeps
//! one name. Groups: `displayName`, `externalId` and `members` (add, replace, remove all, remove
//! some by value or by `members[value eq "id"]`). Operation names are case-insensitive, and an
//! operation without `path` carries an object of attributes, as several providers send.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::ScimError;
use crate::filter::{self, Filter, Literal, Op};
use crate::resource::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, get};

/// The most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 100;

/// One change to a User.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// Activate or deactivate.
    Active(bool),
    /// Rename.
    Name(String),
    /// Set or clear the provider id.
    ExternalId(Option<String>),
    /// Set or clear the manager.
    Manager(Option<Uuid>),
    /// The address, which may only stay what it is.
    Email(String),
}

/// One change to a Group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// Rename.
    Name(String),
    /// Set or clear the provider id.
    ExternalId(Option<String>),
    /// Add these members.
    Add(Vec<Uuid>),
    /// Remove these members.
    Remove(Vec<Uuid>),
    /// The members become exactly these.
    Replace(Vec<Uuid>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Replace,
    Remove,
}

struct Operation<'a> {
    kind: Kind,
    path: Option<String>,
    value: Option<&'a Value>,
}

fn operations(body: &Value) -> Result<Vec<Operation<'_>>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::syntax("the body must be a JSON object"))?;
    let schemas_ok = get(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_SCHEMA)));
    if !schemas_ok {
        return Err(ScimError::syntax(format!(
            "schemas must list {PATCH_SCHEMA}"
        )));
    }
    let ops = get(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::syntax("Operations must be a list"))?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(ScimError::syntax(format!(
            "1 to {MAX_OPERATIONS} operations per request"
        )));
    }
    ops.iter()
        .map(|op| {
            let op = op
                .as_object()
                .ok_or_else(|| ScimError::syntax("an operation must be an object"))?;
            let kind = match get(op, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
            {
                Some(k) if k == "add" => Kind::Add,
                Some(k) if k == "replace" => Kind::Replace,
                Some(k) if k == "remove" => Kind::Remove,
                _ => return Err(ScimError::syntax("op must be add, replace or remove")),
            };
            let path = match get(op, "path") {
                None => None,
                Some(Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_owned()),
                Some(_) => return Err(ScimError::path("path must be a non-empty string")),
            };
            let value = get(op, "value");
            if kind != Kind::Remove && value.is_none() {
                return Err(ScimError::value("add and replace need a value"));
            }
            if kind != Kind::Remove && path.is_none() && !value.is_some_and(Value::is_object) {
                return Err(ScimError::value(
                    "an operation without a path needs an object value",
                ));
            }
            if kind == Kind::Remove && path.is_none() {
                return Err(ScimError::bad("noTarget", "remove needs a path"));
            }
            Ok(Operation { kind, path, value })
        })
        .collect()
}

/// Lowercases a path and strips the schema URN before a core attribute.
fn core_path(path: &str, schema: &str) -> String {
    let lower = path.to_ascii_lowercase();
    let prefix = format!("{}:", schema.to_ascii_lowercase());
    lower
        .strip_prefix(&prefix)
        .map(str::to_owned)
        .unwrap_or(lower)
}

fn text(value: Option<&Value>, what: &str) -> Result<String, ScimError> {
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err(ScimError::value(format!(
            "{what} must be a non-empty string"
        ))),
    }
}

fn email_of(value: Option<&Value>) -> Result<String, ScimError> {
    match value {
        Some(Value::String(s)) => Ok(s.trim().to_lowercase()),
        Some(Value::Array(items)) => items
            .iter()
            .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| items.first())
            .and_then(|e| e.get("value"))
            .and_then(Value::as_str)
            .map(|s| s.trim().to_lowercase())
            .ok_or_else(|| ScimError::value("emails need a value")),
        Some(Value::Object(o)) => get(o, "value")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_lowercase())
            .ok_or_else(|| ScimError::value("emails need a value")),
        _ => Err(ScimError::value("the address must be a string")),
    }
}

fn user_path(
    kind: Kind,
    path: &str,
    value: Option<&Value>,
    out: &mut Vec<UserChange>,
) -> Result<(), ScimError> {
    let enterprise = ENTERPRISE_SCHEMA.to_ascii_lowercase();
    let lower = path.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix(&enterprise) {
        let rest = rest.trim_start_matches(':');
        return match (kind, rest) {
            (Kind::Remove, "manager" | "manager.value") => {
                out.push(UserChange::Manager(None));
                Ok(())
            }
            (_, "manager" | "manager.value") => {
                let v = value.ok_or_else(|| ScimError::value("manager needs a value"))?;
                // An empty value clears the manager, as some providers send it.
                if v.as_str().is_some_and(|s| s.trim().is_empty())
                    || v.get("value")
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.trim().is_empty())
                {
                    out.push(UserChange::Manager(None));
                } else {
                    out.push(UserChange::Manager(Some(crate::resource::reference(
                        v, "manager",
                    )?)));
                }
                Ok(())
            }
            (Kind::Remove, "") => {
                out.push(UserChange::Manager(None));
                Ok(())
            }
            (_, "") => {
                let v = value.ok_or_else(|| ScimError::value("the extension needs a value"))?;
                match v.as_object().and_then(|o| get(o, "manager")) {
                    Some(m) => {
                        user_path(kind, &format!("{ENTERPRISE_SCHEMA}:manager"), Some(m), out)
                    }
                    None => Ok(()),
                }
            }
            _ => Err(ScimError::path(format!(
                "{path} is not an attribute Guild keeps"
            ))),
        };
    }
    match (kind, core_path(path, USER_SCHEMA).as_str()) {
        (Kind::Remove, "externalid") => out.push(UserChange::ExternalId(None)),
        (Kind::Remove, "name.givenname" | "name.familyname") => {}
        (Kind::Remove, _) => {
            return Err(ScimError::mutability(format!("{path} cannot be removed")));
        }
        (_, "active") => out.push(UserChange::Active(crate::resource::boolean(
            value.unwrap_or(&Value::Null),
            "active",
        )?)),
        (_, "displayname" | "name.formatted") => out.push(UserChange::Name(text(value, path)?)),
        (_, "name") => {
            if let Some(formatted) = value
                .and_then(Value::as_object)
                .and_then(|n| get(n, "formatted"))
            {
                out.push(UserChange::Name(text(Some(formatted), "name.formatted")?));
            }
        }
        (_, "name.givenname" | "name.familyname") => {}
        (_, "externalid") => out.push(UserChange::ExternalId(Some(text(value, path)?))),
        (_, "username") => out.push(UserChange::Email(email_of(value)?)),
        (_, p) if p == "emails" || p.starts_with("emails[") || p.starts_with("emails.") => {
            out.push(UserChange::Email(email_of(value)?));
        }
        _ => {
            return Err(ScimError::path(format!(
                "{path} is not an attribute Guild keeps"
            )));
        }
    }
    Ok(())
}

/// Reads a User PATCH body.
pub fn user_changes(body: &Value) -> Result<Vec<UserChange>, ScimError> {
    let mut out = Vec::new();
    for op in operations(body)? {
        match (&op.path, op.value) {
            (Some(path), value) => user_path(op.kind, path, value, &mut out)?,
            (None, Some(Value::Object(attrs))) => {
                for (key, value) in attrs {
                    if key.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    user_path(op.kind, key, Some(value), &mut out)?;
                }
            }
            _ => {
                return Err(ScimError::value(
                    "an operation without a path needs an object",
                ));
            }
        }
    }
    Ok(out)
}

/// The ids a `members[value eq "…"]` path names (`or` of several allowed).
fn member_selector(path: &str) -> Result<Option<Vec<Uuid>>, ScimError> {
    let lower = path.to_ascii_lowercase();
    if !(lower.starts_with("members[") && lower.ends_with(']')) {
        return Ok(None);
    }
    // The filter keeps its original case (ids are compared as written).
    let inner = &path["members[".len()..path.len() - 1];
    fn ids(f: &Filter, out: &mut Vec<Uuid>) -> Result<(), ScimError> {
        match f {
            Filter::Cmp(attr, Op::Eq, Literal::Str(v)) if attr.eq_ignore_ascii_case("value") => {
                out.push(
                    Uuid::parse_str(v)
                        .map_err(|_| ScimError::value(format!("{v} is not an id")))?,
                );
                Ok(())
            }
            Filter::Or(a, b) => {
                ids(a, out)?;
                ids(b, out)
            }
            _ => Err(ScimError::path(
                "members are selected with value eq \"id\" (joined by or)",
            )),
        }
    }
    let mut out = Vec::new();
    ids(&filter::parse(inner)?, &mut out)?;
    Ok(Some(out))
}

fn group_path(
    kind: Kind,
    path: &str,
    value: Option<&Value>,
    out: &mut Vec<GroupChange>,
) -> Result<(), ScimError> {
    if let Some(ids) = member_selector(path)? {
        return match kind {
            Kind::Remove => {
                out.push(GroupChange::Remove(ids));
                Ok(())
            }
            _ => Err(ScimError::path("members[…] paths are for remove")),
        };
    }
    match (kind, core_path(path, GROUP_SCHEMA).as_str()) {
        (Kind::Remove, "members") => match value {
            Some(v) => out.push(GroupChange::Remove(crate::resource::member_ids(v)?)),
            None => out.push(GroupChange::Replace(Vec::new())),
        },
        (Kind::Remove, "externalid") => out.push(GroupChange::ExternalId(None)),
        (Kind::Remove, _) => {
            return Err(ScimError::mutability(format!("{path} cannot be removed")));
        }
        (Kind::Add, "members") => out.push(GroupChange::Add(crate::resource::member_ids(
            value.unwrap_or(&Value::Null),
        )?)),
        (Kind::Replace, "members") => out.push(GroupChange::Replace(crate::resource::member_ids(
            value.unwrap_or(&Value::Null),
        )?)),
        (_, "displayname") => out.push(GroupChange::Name(text(value, path)?)),
        (_, "externalid") => out.push(GroupChange::ExternalId(Some(text(value, path)?))),
        _ => {
            return Err(ScimError::path(format!(
                "{path} is not an attribute Guild keeps"
            )));
        }
    }
    Ok(())
}

/// Reads a Group PATCH body.
pub fn group_changes(body: &Value) -> Result<Vec<GroupChange>, ScimError> {
    let mut out = Vec::new();
    for op in operations(body)? {
        match (&op.path, op.value) {
            (Some(path), value) => group_path(op.kind, path, value, &mut out)?,
            (None, Some(Value::Object(attrs))) => {
                let attrs: &Map<String, Value> = attrs;
                for (key, value) in attrs {
                    if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("id") {
                        continue;
                    }
                    group_path(op.kind, key, Some(value), &mut out)?;
                }
            }
            _ => {
                return Err(ScimError::value(
                    "an operation without a path needs an object",
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> Value {
        let mut body = json!({ "schemas": [PATCH_SCHEMA] });
        body["Operations"] = ops;
        body
    }

    #[test]
    fn user_operations_with_and_without_paths() {
        let boss = Uuid::now_v7();
        let changes = user_changes(&patch(json!([
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "replace", "value": { "displayName": "Ann B", "externalId": "hr-9" } },
            { "op": "add", "path": format!("{ENTERPRISE_SCHEMA}:manager"), "value": { "value": boss.to_string() } },
            { "op": "replace", "value": { ENTERPRISE_SCHEMA: { "manager": boss.to_string() } } },
            { "op": "remove", "path": format!("{ENTERPRISE_SCHEMA}:manager") },
            { "op": "remove", "path": "externalId" },
            { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "A@x.co" },
            { "op": "replace", "path": "name.givenName", "value": "Ann" },
        ])))
        .unwrap();
        assert_eq!(
            changes,
            vec![
                UserChange::Active(false),
                UserChange::Name("Ann B".into()),
                UserChange::ExternalId(Some("hr-9".into())),
                UserChange::Manager(Some(boss)),
                UserChange::Manager(Some(boss)),
                UserChange::Manager(None),
                UserChange::ExternalId(None),
                UserChange::Email("a@x.co".into()),
            ]
        );
    }

    #[test]
    fn bad_user_operations_say_why() {
        let cases = [
            (json!({ "Operations": [] }), "invalidSyntax"),
            (patch(json!([])), "invalidSyntax"),
            (
                patch(json!([{ "op": "move", "path": "active" }])),
                "invalidSyntax",
            ),
            (patch(json!([{ "op": "remove" }])), "noTarget"),
            (
                patch(json!([{ "op": "remove", "path": "active" }])),
                "mutability",
            ),
            (
                patch(json!([{ "op": "replace", "path": "title", "value": "x" }])),
                "invalidPath",
            ),
            (
                patch(json!([{ "op": "replace", "path": "active", "value": 3 }])),
                "invalidValue",
            ),
            (
                patch(json!([{ "op": "replace", "value": "x" }])),
                "invalidValue",
            ),
        ];
        for (body, scim_type) in cases {
            assert_eq!(
                user_changes(&body).unwrap_err().scim_type,
                Some(scim_type),
                "{body}"
            );
        }
        let many: Vec<Value> = (0..=MAX_OPERATIONS)
            .map(|_| json!({ "op": "replace", "path": "active", "value": true }))
            .collect();
        assert!(user_changes(&patch(Value::Array(many))).is_err());
    }

    #[test]
    fn group_member_operations() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let changes = group_changes(&patch(json!([
            { "op": "add", "path": "members", "value": [{ "value": a.to_string() }, { "value": b.to_string() }] },
            { "op": "remove", "path": format!("members[value eq \"{a}\"]") },
            { "op": "remove", "path": "members", "value": [{ "value": b.to_string() }] },
            { "op": "replace", "value": { "id": "x", "displayName": "Ops", "members": [] } },
            { "op": "remove", "path": "members" },
            { "op": "replace", "path": "externalId", "value": "g-1" },
        ])))
        .unwrap();
        let mut ab = vec![a, b];
        ab.sort();
        assert_eq!(
            changes,
            vec![
                GroupChange::Add(ab),
                GroupChange::Remove(vec![a]),
                GroupChange::Remove(vec![b]),
                GroupChange::Name("Ops".into()),
                GroupChange::Replace(vec![]),
                GroupChange::Replace(vec![]),
                GroupChange::ExternalId(Some("g-1".into())),
            ]
        );
        let bad = patch(json!([{ "op": "remove", "path": "members[display eq \"x\"]" }]));
        assert_eq!(
            group_changes(&bad).unwrap_err().scim_type,
            Some("invalidPath")
        );
        let not_id =
            patch(json!([{ "op": "add", "path": "members", "value": [{ "value": "bob" }] }]));
        assert_eq!(
            group_changes(&not_id).unwrap_err().scim_type,
            Some("invalidValue")
        );
    }
}
