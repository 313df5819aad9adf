//! What the OpenAPI document says beyond the handlers' annotations: the
//! bearer scheme and each route's 401/403 (from [`allowed_roles`], the
//! table the middleware enforces), the 400 and 422 every route with
//! parameters or a JSON body can answer, the case fields an update may set
//! (from [`EDITABLE_FIELDS`]) and the categories of the running taxonomy.
//! Each promise is read from the code that keeps it, so the document cannot
//! drift from the server; the edge checks here refuse what the document
//! forbids, and accept what it allows.
//!
//! schemathesis (`scripts/schemathesis.sh`) holds the server to this
//! document on every CI run.

use axum::http::Method;
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use super::{
    access::{allowed_roles, ALL},
    error::ApiError,
    openapi::ApiDoc,
};
use crate::domain::{
    fields::{allowed_categories, FieldKind, EDITABLE_FIELDS, MAX_FIELD_CHARS},
    hazard, Severity,
};

/// JSON Schema pattern of a text that is not blank: it holds a character
/// that is not white space as `str::trim` counts it (Unicode `White_Space`),
/// spelled out because `\s` differs between regex dialects.
pub const NOT_BLANK: &str = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]";

/// Body properties that must not be blank, as `(schema, property)`.
const NOT_BLANK_PROPERTIES: [(&str, &str); 2] =
    [("TokenRequest", "name"), ("UpdateRequest", "message")];

/// Refuses with a 422 a text over `max` characters, or a blank one when
/// `required`: the limits the document states for it.
pub fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<(), ApiError> {
    let chars = text.chars().count();
    if chars > max || (required && text.trim().is_empty()) {
        let least = if required { "1" } else { "0" };
        return Err(ApiError::Unprocessable(format!(
            "{field}: must be {least} to {max} characters{}",
            if required { ", not all blank" } else { "" }
        )));
    }
    Ok(())
}

/// The document served at `/api/openapi.json`, for a service whose
/// taxonomy is `taxonomy`.
pub fn document(taxonomy: &qloop_models::Taxonomy) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|_| json!({}));
    let categories: Vec<&str> = allowed_categories(taxonomy);
    let schemas = &mut doc["components"]["schemas"];
    schemas["CasePatch"] = case_patch_schema(&categories);
    schemas["TransitionRequest"] = transition_schema(&categories);
    schemas["CaseSummary"]["properties"]["hazard"] = hazard_schema();
    for (schema, property) in NOT_BLANK_PROPERTIES {
        schemas[schema]["properties"][property]["pattern"] = json!(NOT_BLANK);
    }
    doc["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`cloud-triage token create`, or `POST /api/tokens`)"
        }
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, operations) in paths.iter_mut() {
            let Some(operations) = operations.as_object_mut() else {
                continue;
            };
            for (method, operation) in operations.iter_mut() {
                complete_operation(path, method, operation, &categories);
            }
        }
    }
    doc
}

/// Adds to one operation what every route of its kind answers.
fn complete_operation(path: &str, method: &str, op: &mut Value, categories: &[&str]) {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
    let has_params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
    let has_body = op.get("requestBody").is_some();
    let responses = op["responses"].as_object_mut();
    let Some(responses) = responses else { return };
    let mut add = |status: &str, description: &str| {
        responses.entry(status).or_insert_with(|| {
            json!({
                "description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
            })
        });
    };
    if has_params || has_body {
        add(
            "400",
            "A malformed parameter or body, or a body that is not JSON",
        );
    }
    if has_body {
        add(
            "422",
            "A body of the wrong shape, or a value outside its limits",
        );
    }
    if let Some(roles) = allowed_roles(&method, path) {
        add("401", "No API token, or an unknown or revoked one");
        if roles.len() < ALL.len() {
            add("403", "The token's role may not use this route");
        }
        op["security"] = json!([{"bearer": []}]);
    }
    if path == "/api/cases" {
        if let Some(params) = op["parameters"].as_array_mut() {
            for p in params.iter_mut() {
                if p["name"] == "category" {
                    p["schema"] = json!({"type": "string", "enum": categories});
                } else if p["name"] == "hazard" {
                    p["schema"] = json!({"type": "string", "enum": hazard::filter_names()});
                }
            }
        }
    }
}

/// The schema of a case's hazard: one of the hazards' names, or `null`.
fn hazard_schema() -> Value {
    let mut names: Vec<Value> = qloop_models::Hazard::ALL
        .iter()
        .map(|h| json!(h.name()))
        .collect();
    names.push(Value::Null);
    json!({
        "type": ["string", "null"],
        "enum": names,
        "description": "The hazard a major case names, e.g. `loss_of_braking`: the first one \
                        triage named for a major report of it; `null` when none."
    })
}

/// The schema of one editable case field's value.
fn field_schema(name: &str, kind: FieldKind, categories: &[&str]) -> Value {
    match (name, kind) {
        ("severity", _) => json!({"type": "string", "enum": Severity::NAMES}),
        ("category", _) => json!({"type": "string", "enum": categories}),
        (_, FieldKind::RequiredText) => json!({
            "type": "string", "minLength": 1, "maxLength": MAX_FIELD_CHARS, "pattern": NOT_BLANK
        }),
        (_, FieldKind::Text) => json!({
            "type": ["string", "null"], "maxLength": MAX_FIELD_CHARS,
            "description": "Text; `null` clears it"
        }),
        (_, FieldKind::Millis) => json!({
            "type": ["integer", "null"], "format": "int64", "minimum": 0,
            "description": "Unix milliseconds; `null` clears it"
        }),
        (_, FieldKind::Flag) => json!({"type": "boolean"}),
    }
}

/// Every editable case field, by name.
fn field_properties(categories: &[&str]) -> Map<String, Value> {
    EDITABLE_FIELDS
        .iter()
        .map(|(name, kind)| (name.to_string(), field_schema(name, *kind, categories)))
        .collect()
}

/// The body of `PATCH /api/cases/{id}`.
fn case_patch_schema(categories: &[&str]) -> Value {
    json!({
        "type": "object",
        "description": "A change to a case: what the caller last saw, and the fields to set.",
        "required": ["set"],
        "additionalProperties": false,
        "properties": {
            "actor": {"type": "string", "description": "Ignored over HTTP: the caller's token name is recorded."},
            "expected_updated_at_ms": {
                "type": ["integer", "null"], "format": "int64",
                "description": "The case's `updated_at_ms` the caller last read; a different stored value is a 409."
            },
            "set": {
                "type": "object",
                "description": "Field name to new value; at least one field.",
                "minProperties": 1,
                "additionalProperties": false,
                "properties": field_properties(categories)
            }
        }
    })
}

/// The body of `POST /api/cases/{id}/transition`: the target status, texts,
/// and case fields set with it (the same as `PATCH`'s `set`).
fn transition_schema(categories: &[&str]) -> Value {
    let max = crate::domain::lifecycle::MAX_MESSAGE_CHARS;
    let mut properties = field_properties(categories);
    for (name, schema) in [
        (
            "to",
            json!({"$ref": "#/components/schemas/CaseStatus", "description": "The status to move to."}),
        ),
        (
            "actor",
            json!({"type": "string", "description": "Ignored over HTTP: the caller's token name is recorded."}),
        ),
        (
            "message",
            json!({
                "type": ["string", "null"], "maxLength": max,
                "description": "What the driver is told (required for `acknowledged` and `effectiveness_verified`)."
            }),
        ),
        (
            "reason",
            json!({
                "type": ["string", "null"], "maxLength": max,
                "description": "Why (required for `waiting_customer`, `reopened` and `cancelled`)."
            }),
        ),
    ] {
        properties.insert(name.to_string(), schema);
    }
    json!({
        "type": "object",
        "description": "A transition: `{\"to\": STATE, \"message\"?, \"reason\"?, …case fields}`. Which fields a status requires is checked against the case (422 naming them).",
        "required": ["to"],
        "additionalProperties": false,
        "properties": properties
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_means_what_trim_means() {
        for blank in [" ", "\u{3000}", "\t\n", "\u{85}"] {
            assert!(check_text("name", blank, 100, true).is_err(), "{blank:?}");
        }
        assert!(check_text("name", " a ", 100, true).is_ok());
        assert!(check_text("name", "", 100, false).is_ok());
        assert!(check_text("name", &"x".repeat(101), 100, false).is_err());
    }

    #[test]
    fn every_route_but_the_public_ones_asks_for_the_bearer_token() {
        let doc = document(&qloop_models::Taxonomy::default_taxonomy());
        for (method, path) in super::super::ROUTES {
            let op = &doc["paths"][path][method];
            let public = matches!(path, "/healthz" | "/api/openapi.json");
            assert_eq!(op["security"].is_null(), public, "{method} {path}");
            assert_eq!(op["responses"]["401"].is_null(), public, "{method} {path}");
        }
        assert_eq!(
            doc["components"]["schemas"]["Severity"]["enum"],
            json!(Severity::NAMES)
        );
    }
}
