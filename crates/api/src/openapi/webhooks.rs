//! The document's `webhooks` section: one entry per public event type of the catalog
//! (`guild_webhooks::catalog`), each the `POST` Guild sends to a subscribed endpoint, with the
//! signature headers and the envelope `{type, timestamp, data}` whose `data` is the type's
//! fields. Generated from the catalog, so the documented payloads are the ones sent.

use guild_webhooks::catalog::{self, EventType, Field, Kind};
use utoipa::openapi::OpenApi as Spec;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, SchemaFormat};
use utoipa::openapi::{ObjectBuilder, PathsBuilder, Required, Schema, Type};

/// Adds the `webhooks` section to `spec`.
pub(super) fn document(spec: &mut Spec) {
    let mut paths = PathsBuilder::new();
    for event_type in catalog::CATALOG {
        paths = paths.path(
            event_type.name,
            PathItem::new(HttpMethod::Post, operation(event_type)),
        );
    }
    spec.webhooks = Some(paths.build());
}

fn operation(event_type: &EventType) -> OperationBuilder {
    let header = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    OperationBuilder::new()
        .operation_id(Some(format!(
            "webhook_{}",
            event_type.name.replace('.', "_")
        )))
        .summary(Some(event_type.name))
        .description(Some(format!(
            "{} Sent to the endpoints subscribed to `{}`, signed per Standard Webhooks.",
            event_type.description, event_type.name
        )))
        .tag("webhooks")
        .parameter(header(
            "webhook-id",
            "The message's id: the same on every attempt and replay, so receivers drop \
duplicates by it.",
        ))
        .parameter(header(
            "webhook-timestamp",
            "When this attempt was sent, in Unix seconds; refuse messages far from your clock.",
        ))
        .parameter(header(
            "webhook-signature",
            "Space-separated `v1,<base64>` HMAC-SHA256 signatures of \
`{webhook-id}.{webhook-timestamp}.{body}`, one per signing secret (two during a rotation's \
overlap).",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(envelope(event_type)))
                        .build(),
                )
                .build(),
        ))
        .response(
            "2XX",
            ResponseBuilder::new()
                .description("Received: any 2xx answer ends the delivery.")
                .build(),
        )
        .response(
            "default",
            ResponseBuilder::new()
                .description(
                    "Any other answer, a timeout (10 s) or a failed connection is retried with \
backoff over about three days; five failed deliveries in a row disable the endpoint.",
                )
                .build(),
        )
}

fn envelope(event_type: &EventType) -> Schema {
    let mut data = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "The event's fields (more may be added later: ignore the ones you do not know).",
        ));
    for field in event_type.fields {
        data = data
            .property(field.name, field_schema(field))
            .required(field.name);
    }
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([event_type.name]))
                .description(Some("The event type.")),
        )
        .required("type")
        .property(
            "timestamp",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some("When the message was made (RFC 3339).")),
        )
        .required("timestamp")
        .property("data", data)
        .required("data")
        .build()
        .into()
}

fn field_schema(field: &Field) -> Schema {
    let (kind, format) = match field.kind {
        Kind::Id => (Type::String, Some(KnownFormat::Uuid)),
        Kind::Text => (Type::String, None),
        Kind::Integer => (Type::Integer, None),
        Kind::Number => (Type::Number, None),
        Kind::Boolean => (Type::Boolean, None),
        Kind::Time => (Type::String, Some(KnownFormat::DateTime)),
        Kind::Ids => {
            return ArrayBuilder::new()
                .items(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                )
                .description(Some(field.description))
                .build()
                .into();
        }
    };
    let schema_type = if field.nullable {
        utoipa::openapi::schema::SchemaType::from_iter([kind, Type::Null])
    } else {
        utoipa::openapi::schema::SchemaType::new(kind)
    };
    let mut schema = ObjectBuilder::new()
        .schema_type(schema_type)
        .description(Some(field.description));
    if let Some(format) = format {
        schema = schema.format(Some(SchemaFormat::KnownFormat(format)));
    }
    if !field.values.is_empty() {
        schema = schema.enum_values(Some(field.values.iter().copied()));
    }
    schema.build().into()
}
