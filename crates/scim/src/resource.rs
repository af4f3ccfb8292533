//! The User and Group resources (RFC 7643 §4): how a member and a group are shown to a provider,
//! and what a provider's create or replace body says.
//!
//! A User is a member: `id` is the user id, `userName` and the one email are the member's address,
//! `displayName` (and `name.formatted`) the shown name, `active` false when deactivated, `groups`
//! their groups (read-only), and the enterprise extension's `manager` their manager. A Group is a
//! group: `displayName` its name, `members` its members (Users only).

use chrono::{DateTime, Utc};
use guild_kernel::MembershipStatus;
use guild_tenancy::provisioning::{Provisioned, ProvisionedGroup};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::ScimError;

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// A list response.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH body.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn meta(kind: &str, location: &str, created: DateTime<Utc>, updated: DateTime<Utc>) -> Value {
    json!({
        "resourceType": kind,
        "created": stamp(created),
        "lastModified": stamp(updated),
        "location": location,
        "version": format!("W/\"{}\"", updated.timestamp_micros()),
    })
}

/// A member as a User; `base` is the service's absolute URL (`https://host/scim/v2`).
pub fn user(member: &Provisioned, base: &str) -> Value {
    let mut schemas = vec![USER_SCHEMA];
    let mut body = json!({
        "id": member.user_id.to_string(),
        "userName": member.email,
        "name": { "formatted": member.name },
        "displayName": member.name,
        "emails": [{ "value": member.email, "type": "work", "primary": true }],
        "active": member.status != MembershipStatus::Deactivated,
        "meta": meta(
            "User",
            &format!("{base}/Users/{}", member.user_id),
            member.created_at,
            member.updated_at,
        ),
    });
    if let Some(external) = &member.external_id {
        body["externalId"] = json!(external);
    }
    if !member.groups.is_empty() {
        body["groups"] = member
            .groups
            .iter()
            .map(|(id, name)| {
                json!({ "value": id.to_string(), "display": name, "$ref": format!("{base}/Groups/{id}") })
            })
            .collect();
    }
    if let Some(manager) = member.manager_id {
        schemas.push(ENTERPRISE_SCHEMA);
        body[ENTERPRISE_SCHEMA] = json!({
            "manager": { "value": manager.to_string(), "$ref": format!("{base}/Users/{manager}") }
        });
    }
    body["schemas"] = json!(schemas);
    body
}

/// A group as a Group.
pub fn group(group: &ProvisionedGroup, base: &str) -> Value {
    let mut body = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id.to_string(),
        "displayName": group.name,
        "members": group.members.iter().map(|(id, name)| json!({
            "value": id.to_string(),
            "display": name,
            "type": "User",
            "$ref": format!("{base}/Users/{id}"),
        })).collect::<Vec<_>>(),
        "meta": meta("Group", &format!("{base}/Groups/{}", group.id), group.created_at, group.updated_at),
    });
    if let Some(external) = &group.external_id {
        body["externalId"] = json!(external);
    }
    body
}

/// A page of resources (RFC 7644 §3.4.2).
pub fn list(total: i64, start_index: i64, resources: &[Value]) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// What a provider's User body (create or replace) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    /// The address (`userName`).
    pub email: String,
    /// The shown name.
    pub name: String,
    /// The provider's id.
    pub external_id: Option<String>,
    /// Active (true when left out).
    pub active: bool,
    /// The manager (none when left out).
    pub manager: Option<Uuid>,
}

fn object(body: &Value) -> Result<&Map<String, Value>, ScimError> {
    body.as_object()
        .ok_or_else(|| ScimError::syntax("the body must be a JSON object"))
}

/// Looks up a key case-insensitively (SCIM attribute names are).
pub(crate) fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(ScimError::value(format!("{key} must be a string"))),
    }
}

/// A boolean, also as the strings "true" and "false" (some providers send those).
pub(crate) fn boolean(value: &Value, what: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::value(format!("{what} must be true or false"))),
    }
}

/// A resource id: a UUID, in a string or an object's `value`.
pub(crate) fn reference(value: &Value, what: &str) -> Result<Uuid, ScimError> {
    let id = match value {
        Value::String(s) => s.as_str(),
        Value::Object(o) => match get(o, "value") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(ScimError::value(format!("{what} needs a value"))),
        },
        _ => return Err(ScimError::value(format!("{what} must be an id"))),
    };
    Uuid::parse_str(id.trim()).map_err(|_| ScimError::value(format!("{what} {id} is not an id")))
}

/// The manager in an enterprise extension object, if any.
pub(crate) fn manager_of(extension: &Value) -> Result<Option<Uuid>, ScimError> {
    let Some(ext) = extension.as_object() else {
        return Err(ScimError::value(
            "the enterprise extension must be an object",
        ));
    };
    match get(ext, "manager") {
        None => Ok(None),
        Some(m) => reference(m, "manager").map(Some),
    }
}

/// An email address as Guild takes one: something@something, no spaces, at most 254 characters.
pub(crate) fn check_email(email: &str) -> Result<(), ScimError> {
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(())
    } else {
        Err(ScimError::value(
            "userName must be the member's email address",
        ))
    }
}

/// Reads a User body.
pub fn user_input(body: &Value) -> Result<UserInput, ScimError> {
    let obj = object(body)?;
    let email = string(obj, "userName")?
        .ok_or_else(|| ScimError::value("userName is required"))?
        .to_lowercase();
    check_email(&email)?;
    let name_obj = get(obj, "name").and_then(Value::as_object);
    let formatted = name_obj
        .map(|n| string(n, "formatted"))
        .transpose()?
        .flatten();
    let parts = name_obj
        .map(|n| -> Result<String, ScimError> {
            let given = string(n, "givenName")?.unwrap_or_default();
            let family = string(n, "familyName")?.unwrap_or_default();
            Ok(format!("{given} {family}").trim().to_owned())
        })
        .transpose()?
        .filter(|s| !s.is_empty());
    let name = string(obj, "displayName")?
        .filter(|s| !s.is_empty())
        .or(formatted.filter(|s| !s.is_empty()))
        .or(parts)
        .unwrap_or_else(|| email.clone());
    let active = get(obj, "active")
        .map(|v| boolean(v, "active"))
        .transpose()?
        .unwrap_or(true);
    let manager = match get(obj, ENTERPRISE_SCHEMA) {
        Some(ext) => manager_of(ext)?,
        None => None,
    };
    Ok(UserInput {
        email,
        name,
        external_id: string(obj, "externalId")?,
        active,
        manager,
    })
}

/// What a provider's Group body (create or replace) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    /// The name.
    pub name: String,
    /// The provider's id.
    pub external_id: Option<String>,
    /// The members.
    pub members: Vec<Uuid>,
}

/// The user ids of a `members` value (an array of `{ "value": id }`).
pub(crate) fn member_ids(value: &Value) -> Result<Vec<Uuid>, ScimError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        _ => return Err(ScimError::value("members must be a list")),
    };
    if items.len() > crate::MAX_MEMBERS_PER_REQUEST {
        return Err(ScimError::value(format!(
            "at most {} members per request",
            crate::MAX_MEMBERS_PER_REQUEST
        )));
    }
    let mut ids = items
        .into_iter()
        .map(|m| reference(m, "member"))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Reads a Group body.
pub fn group_input(body: &Value) -> Result<GroupInput, ScimError> {
    let obj = object(body)?;
    let name = string(obj, "displayName")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ScimError::value("displayName is required"))?;
    let members = match get(obj, "members") {
        Some(m) => member_ids(m)?,
        None => Vec::new(),
    };
    Ok(GroupInput {
        name,
        external_id: string(obj, "externalId")?,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_body_gives_address_name_and_manager() {
        let manager = Uuid::now_v7();
        let input = user_input(&json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "userName": "Ann@Example.com",
            "name": { "givenName": "Ann", "familyName": "Lee" },
            "externalId": "hr-1",
            "active": "False",
            ENTERPRISE_SCHEMA: { "manager": { "value": manager.to_string() } },
        }))
        .unwrap();
        assert_eq!(
            input,
            UserInput {
                email: "ann@example.com".into(),
                name: "Ann Lee".into(),
                external_id: Some("hr-1".into()),
                active: false,
                manager: Some(manager),
            }
        );
        let plain = user_input(&json!({ "USERNAME": "bo@example.com" })).unwrap();
        assert_eq!(plain.name, "bo@example.com");
        assert!(plain.active);
        assert!(user_input(&json!({ "userName": "not an email" })).is_err());
        assert!(user_input(&json!({ "displayName": "No address" })).is_err());
        let bad_manager = json!({ "userName": "a@b.co", ENTERPRISE_SCHEMA: { "manager": "boss" } });
        assert_eq!(
            user_input(&bad_manager).unwrap_err().scim_type,
            Some("invalidValue")
        );
    }

    #[test]
    fn a_group_body_gives_name_and_unique_members() {
        let a = Uuid::now_v7();
        let input = group_input(&json!({
            "displayName": "Ops",
            "members": [{ "value": a.to_string() }, { "value": a.to_string() }],
        }))
        .unwrap();
        assert_eq!(input.members, vec![a]);
        assert!(group_input(&json!({ "members": [] })).is_err());
        assert!(
            group_input(&json!({ "displayName": "x", "members": [{ "value": "nope" }] })).is_err()
        );
    }
}
