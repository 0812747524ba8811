//! Request bodies: the OpenAI embeddings request and the classify request,
//! checked field by field so that every mistake gets a message naming it.

use super::error::ApiError;
use serde_json::{Map, Value};

/// How embeddings are written in the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// JSON arrays of numbers (the default).
    Float,
    /// Base64 of the little-endian f32 bytes.
    Base64,
}

/// A parsed `POST /v1/embeddings` body.
#[derive(Debug)]
pub struct EmbedRequest {
    /// The texts, in order.
    pub inputs: Vec<String>,
    /// The `model` field as sent (echoed back).
    pub model: Option<String>,
    /// The response encoding.
    pub encoding: Encoding,
    /// Truncate over-long inputs (default) or refuse them with 400.
    pub truncate: bool,
}

/// A parsed `POST /v1/classify` body.
#[derive(Debug)]
pub struct ClassifyRequest {
    /// The texts, in order.
    pub inputs: Vec<String>,
    /// One task's name (or A / B), else both tasks.
    pub task: Option<String>,
    /// Truncate over-long inputs (default) or refuse them with 400.
    pub truncate: bool,
}

/// The body as a JSON object.
fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid(
            "invalid_json",
            format!("the request body is not valid JSON: {e}"),
        )
    })?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::invalid(
            "invalid_type",
            format!(
                "the request body must be a JSON object, not {}",
                type_name(&other)
            ),
        )),
    }
}

/// JSON type names as the messages use them.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `input`: a non-empty string or a non-empty array of non-empty strings,
/// at most `max_inputs` of them.
fn inputs(m: &mut Map<String, Value>, max_inputs: usize) -> Result<Vec<String>, ApiError> {
    let bad = |msg: String| ApiError::invalid("invalid_input", msg);
    let texts = match m.remove("input") {
        None => return Err(bad("'input' is required".into())),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(bad("'input' must not be an empty array".into()));
            }
            if items.len() > max_inputs {
                return Err(ApiError::invalid(
                    "too_many_inputs",
                    format!(
                        "'input' has {} items, more than this server's limit of {max_inputs} (--max-inputs)",
                        items.len()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) => out.push(s),
                    other => {
                        return Err(bad(format!(
                        "'input[{i}]' must be a string, not {} (token arrays are not supported)",
                        type_name(&other)
                    )))
                    }
                }
            }
            out
        }
        Some(other) => {
            return Err(bad(format!(
                "'input' must be a string or an array of strings, not {}",
                type_name(&other)
            )))
        }
    };
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(bad(if texts.len() == 1 {
            "'input' must not be empty".to_string()
        } else {
            format!("'input[{i}]' must not be empty")
        }));
    }
    Ok(texts)
}

/// An optional string field.
fn opt_string(m: &mut Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::invalid(
            "invalid_type",
            format!("'{key}' must be a string, not {}", type_name(&other)),
        )),
    }
}

/// `truncate`: true (default) or false.
fn truncate(m: &mut Map<String, Value>) -> Result<bool, ApiError> {
    match m.remove("truncate") {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(b),
        Some(other) => Err(ApiError::invalid(
            "invalid_type",
            format!("'truncate' must be a boolean, not {}", type_name(&other)),
        )),
    }
}

impl EmbedRequest {
    /// Parse and check a body.
    pub fn parse(body: &[u8], max_inputs: usize, dim: usize) -> Result<Self, ApiError> {
        let mut m = object(body)?;
        let inputs = inputs(&mut m, max_inputs)?;
        let model = opt_string(&mut m, "model")?;
        let encoding = match opt_string(&mut m, "encoding_format")?.as_deref() {
            None | Some("float") => Encoding::Float,
            Some("base64") => Encoding::Base64,
            Some(other) => {
                return Err(ApiError::invalid(
                    "invalid_encoding_format",
                    format!("'encoding_format' must be \"float\" or \"base64\", not {other:?}"),
                ))
            }
        };
        match m.remove("dimensions") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_u64() == Some(dim as u64) => {}
            Some(other) => {
                return Err(ApiError::invalid(
                    "invalid_dimensions",
                    format!("'dimensions' must be {dim} for this model, not {other}"),
                ))
            }
        }
        let truncate = truncate(&mut m)?;
        Ok(EmbedRequest {
            inputs,
            model,
            encoding,
            truncate,
        })
    }
}

impl ClassifyRequest {
    /// Parse and check a body.
    pub fn parse(body: &[u8], max_inputs: usize) -> Result<Self, ApiError> {
        let mut m = object(body)?;
        Ok(ClassifyRequest {
            inputs: inputs(&mut m, max_inputs)?,
            task: opt_string(&mut m, "task")?,
            truncate: truncate(&mut m)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> ApiError {
        EmbedRequest::parse(body.as_bytes(), 3, 384).unwrap_err()
    }

    #[test]
    fn accepts_a_string_or_an_array() {
        let r = EmbedRequest::parse(br#"{"input":"a b","model":"m"}"#, 3, 384).unwrap();
        assert_eq!(r.inputs, ["a b"]);
        assert_eq!(r.model.as_deref(), Some("m"));
        assert_eq!(r.encoding, Encoding::Float);
        assert!(r.truncate);
        let r = EmbedRequest::parse(
            br#"{"input":["x","y"],"encoding_format":"base64","truncate":false,"dimensions":384}"#,
            3,
            384,
        )
        .unwrap();
        assert_eq!(r.inputs, ["x", "y"]);
        assert_eq!(r.encoding, Encoding::Base64);
        assert!(!r.truncate);
    }

    #[test]
    fn names_each_mistake() {
        assert_eq!(err("{").code, "invalid_json");
        assert_eq!(err("[1]").code, "invalid_type");
        assert!(err("{}").message.contains("'input' is required"));
        assert!(err(r#"{"input":[]}"#).message.contains("empty array"));
        assert!(err(r#"{"input":""}"#).message.contains("must not be empty"));
        assert!(err(r#"{"input":["a"," "]}"#).message.contains("input[1]"));
        assert!(err(r#"{"input":["a",3]}"#).message.contains("input[1]"));
        assert!(err(r#"{"input":[[1,2]]}"#).message.contains("token arrays"));
        assert!(err(r#"{"input":5}"#).message.contains("not a number"));
        assert_eq!(
            err(r#"{"input":["a","b","c","d"]}"#).code,
            "too_many_inputs"
        );
        assert_eq!(
            err(r#"{"input":"a","encoding_format":"int8"}"#).code,
            "invalid_encoding_format"
        );
        assert_eq!(
            err(r#"{"input":"a","dimensions":3}"#).code,
            "invalid_dimensions"
        );
        assert!(err(r#"{"input":"a","model":1}"#)
            .message
            .contains("'model'"));
        assert!(err(r#"{"input":"a","truncate":"no"}"#)
            .message
            .contains("'truncate'"));
    }
}
