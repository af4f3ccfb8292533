//! The discovery documents (RFC 7644 §4, RFC 7643 §5–7): what the service supports
//! (`ServiceProviderConfig`), its resource types and the schemas of the attributes it keeps —
//! only those, so a provider learns exactly what Guild stores.

use serde_json::{Value, json};

use crate::resource::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use crate::{MAX_PAGE, filter::MAX_FILTER_LEN};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RT_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// What the service supports: PATCH and filters (eq, co, sw, pr with and/or, at most
/// [`MAX_PAGE`] results a page); no bulk, sorting, ETags or password changes.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_PAGE },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": format!(
                "A Guild API key holding PROVISION_SCIM alone, sent as Authorization: Bearer. \
                 Filters are at most {MAX_FILTER_LEN} characters."
            ),
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") },
    })
}

/// The User and Group resource types.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RT_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A member of the tenant",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": ENTERPRISE_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": [RT_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A group of members",
            "schema": GROUP_SCHEMA,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

fn attr(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn reference(name: &str, types: &[&str], description: &str) -> Value {
    with(
        attr(name, "reference", description),
        "referenceTypes",
        json!(types),
    )
}

/// The schemas of the User, its enterprise extension and the Group, limited to what Guild keeps.
pub fn schemas(base: &str) -> Vec<Value> {
    let user = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A member of the tenant",
        "attributes": [
            with(with(with(attr("userName", "string", "The member's email address"),
                "required", json!(true)), "uniqueness", json!("server")), "mutability", json!("readWrite")),
            with(attr("name", "complex", "The member's name"), "subAttributes", json!([
                attr("formatted", "string", "The full name"),
                attr("givenName", "string", "Accepted, not kept apart from the full name"),
                attr("familyName", "string", "Accepted, not kept apart from the full name"),
            ])),
            attr("displayName", "string", "The shown name"),
            with(with(attr("emails", "complex", "The member's one address (userName)"),
                "multiValued", json!(true)), "subAttributes", json!([
                attr("value", "string", "The address"),
                attr("type", "string", "Always work"),
                attr("primary", "boolean", "Always true"),
            ])),
            attr("active", "boolean", "False when the member is deactivated"),
            with(with(with(attr("groups", "complex", "The member's groups"),
                "multiValued", json!(true)), "mutability", json!("readOnly")), "subAttributes", json!([
                with(attr("value", "string", "The group's id"), "mutability", json!("readOnly")),
                with(reference("$ref", &["Group"], "The group's URI"), "mutability", json!("readOnly")),
                with(attr("display", "string", "The group's name"), "mutability", json!("readOnly")),
            ])),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}") },
    });
    let enterprise = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": ENTERPRISE_SCHEMA,
        "name": "EnterpriseUser",
        "description": "The enterprise extension: the member's manager",
        "attributes": [
            with(attr("manager", "complex", "The member's manager (sets the manager tree)"), "subAttributes", json!([
                attr("value", "string", "The manager's id"),
                reference("$ref", &["User"], "The manager's URI"),
                with(attr("displayName", "string", "The manager's name"), "mutability", json!("readOnly")),
            ])),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{ENTERPRISE_SCHEMA}") },
    });
    let group = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A group of members",
        "attributes": [
            with(with(attr("displayName", "string", "The group's name"), "required", json!(true)),
                "uniqueness", json!("server")),
            with(with(attr("members", "complex", "The group's members (Users)"),
                "multiValued", json!(true)), "subAttributes", json!([
                with(attr("value", "string", "The member's id"), "mutability", json!("immutable")),
                with(reference("$ref", &["User"], "The member's URI"), "mutability", json!("immutable")),
                with(attr("display", "string", "The member's name"), "mutability", json!("readOnly")),
                with(attr("type", "string", "Always User"), "mutability", json!("immutable")),
            ])),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}") },
    });
    vec![user, enterprise, group]
}
