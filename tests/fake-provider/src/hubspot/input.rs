//! The JSON bodies of HubSpot writes and searches: the media type and syntax checks, the `properties` of a
//! create or update, and the `inputs` of a batch.

use std::collections::HashSet;

use serde_json::Value;

use super::errors::hubspot_error;
use crate::http::{FakeRequest, FakeResponse, JSON};
use crate::shared::json::{push_json_str, syntax_error_detail};
use crate::state::State;

/// Largest number of inputs a batch request accepts (same as HubSpot).
pub const MAX_BATCH: usize = 100;

/// Property values from a request body, in the order of the parsed JSON object (by name).
/// `None` clears the property.
pub(super) type PropInput = Vec<(String, Option<String>)>;

/// One input of a batch request.
#[derive(Debug)]
pub(super) struct BatchInput {
    pub(super) id: Option<String>,
    pub(super) props: PropInput,
    pub(super) trace: Option<String>,
}

pub(super) fn invalid_input(state: &State, message: &str) -> FakeResponse {
    hubspot_error(state, 400, message, "VALIDATION_ERROR")
}

/// The request body as JSON; 415 without a JSON content type, 400 if it does not parse.
pub fn json_body(state: &State, req: &FakeRequest) -> Result<Value, FakeResponse> {
    if !req.has_media_type(JSON) {
        return Err(hubspot_error(state, 415, "Unsupported Media Type", "VALIDATION_ERROR"));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        // HubSpot puts the position first.
        let detail = syntax_error_detail(&e);
        invalid_input(state, &format!("Invalid input JSON on line {}, column {}: {detail}", e.line(), e.column()))
    })
}

/// What an input is for: HubSpot's OpenAPI spec requires `associations` (an array, empty for none) in
/// every create input (`SimplePublicObjectInputForCreate`, single and in a batch), and only
/// `properties` in an update input (`SimplePublicObjectInput`; a batch update's input also an `id`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Create,
    Update,
}

/// The `associations` of a create input: required, an array (this fake makes no associations, so each
/// element is only checked to be an object).
fn check_associations(input: &Value, schema: &str) -> Result<(), String> {
    match input.get("associations") {
        None | Some(Value::Null) => Err(format!(
            "Invalid input JSON: Cannot build {schema}, some of required attributes are not set [associations]"
        )),
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => Ok(()),
        Some(_) => Err("Invalid input JSON: \"associations\" must be an array of association objects".to_string()),
    }
}

/// The `properties` object of a create/update input.
fn parse_properties(input: &Value) -> Result<PropInput, String> {
    let Some(obj) = input.as_object() else {
        return Err("Invalid input JSON: expected an object with \"properties\"".to_string());
    };
    let Some(props) = obj.get("properties").and_then(Value::as_object) else {
        return Err("Invalid input JSON: \"properties\" must be an object of property values".to_string());
    };
    let mut out = Vec::with_capacity(props.len());
    for (name, value) in props {
        let v = match value {
            Value::Null => None,
            // HubSpot clears a property that is set to the empty string.
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Array(_) | Value::Object(_) => {
                let mut quoted = String::new();
                push_json_str(&mut quoted, name);
                return Err(format!(
                    "Invalid input JSON: the value of property {quoted} must be a string, number, boolean or null"
                ));
            }
        };
        out.push((name.clone(), v));
    }
    Ok(out)
}

/// `{"properties": {...}}` of a single update, `{"properties": {...}, "associations": [...]}` of a
/// single create.
pub(super) fn single_input(state: &State, req: &FakeRequest, purpose: Purpose) -> Result<PropInput, FakeResponse> {
    let body = json_body(state, req)?;
    let props = parse_properties(&body).map_err(|msg| invalid_input(state, &msg))?;
    if purpose == Purpose::Create {
        check_associations(&body, "SimplePublicObjectInputForCreate").map_err(|msg| invalid_input(state, &msg))?;
    }
    Ok(props)
}

/// `{"inputs": [...]}` of a batch request: a batch create's inputs need `associations`, a batch
/// update's an `id`.
pub(super) fn batch_inputs(
    state: &State,
    req: &FakeRequest,
    purpose: Purpose,
) -> Result<Vec<BatchInput>, FakeResponse> {
    let with_id = purpose == Purpose::Update;
    let body = json_body(state, req)?;
    let Some(inputs) = body.get("inputs").and_then(Value::as_array) else {
        return Err(invalid_input(state, "Invalid input JSON: \"inputs\" must be an array"));
    };
    if inputs.is_empty() || inputs.len() > MAX_BATCH {
        return Err(invalid_input(
            state,
            &format!("Batch input size must be between 1 and {MAX_BATCH}; got {}", inputs.len()),
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let props = parse_properties(input).map_err(|msg| invalid_input(state, &msg))?;
        if purpose == Purpose::Create {
            check_associations(input, "SimplePublicObjectInputForCreate").map_err(|msg| invalid_input(state, &msg))?;
        }
        let trace = match input.get("objectWriteTraceId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid_input(state, "Invalid input JSON: \"objectWriteTraceId\" must be a string")),
        };
        let id = if with_id {
            match input.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => return Err(invalid_input(state, "Invalid input JSON: every input needs an \"id\" string")),
            }
        } else {
            None
        };
        out.push(BatchInput { id, props, trace });
    }
    if with_id {
        let mut seen = HashSet::new();
        let dups: Vec<&str> = out.iter().filter_map(|i| i.id.as_deref()).filter(|id| !seen.insert(*id)).collect();
        if !dups.is_empty() {
            return Err(invalid_input(
                state,
                &format!("Duplicate IDs found in batch input: [{}]. IDs must be unique", dups.join(", ")),
            ));
        }
    }
    Ok(out)
}
