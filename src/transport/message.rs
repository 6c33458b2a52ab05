//! JSON-RPC 2.0 message shapes and error codes (LSP's numbering).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// A request id: LSP allows a number or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    Num(i64),
    Str(String),
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Num(n) => write!(f, "{n}"),
            Id::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// Any incoming message, before it is known to be a request, a notification
/// or a response. Params stay raw until the method decides their type.
#[derive(Debug, Deserialize)]
pub struct RawMessage {
    #[serde(default)]
    pub jsonrpc: Option<String>,
    /// Raw, so that `"id": null` (invalid) is told apart from no id (a notification).
    #[serde(default, deserialize_with = "present")]
    pub id: Option<Box<RawValue>>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub params: Option<Box<RawValue>>,
    #[serde(default)]
    pub result: Option<Box<RawValue>>,
    #[serde(default)]
    pub error: Option<Box<RawValue>>,
}

/// `Some` whenever the field is present, even when it is `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    pub const SERVER_NOT_INITIALIZED: i64 = -32002;
    pub const REQUEST_CANCELLED: i64 = -32800;
    pub const CONTENT_MODIFIED: i64 = -32801;
    pub const REQUEST_FAILED: i64 = -32803;
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into(), data: None }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32602, naming the offending field in the message and in `data.field`.
    pub fn invalid_params(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = if message.contains(&format!("`{field}`")) {
            message
        } else {
            format!("invalid params: `{field}`: {message}")
        };
        RpcError::new(code::INVALID_PARAMS, message).with_data(serde_json::json!({ "field": field }))
    }

    pub fn failed(reason: &str, message: impl Into<String>) -> Self {
        RpcError::new(code::REQUEST_FAILED, message).with_data(serde_json::json!({ "reason": reason }))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        RpcError::new(code::INTERNAL_ERROR, message)
    }
}

/// Serialises a response body.
pub fn response_body(id: Option<&Id>, result: Result<&Value, &RpcError>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Resp<'a> {
        jsonrpc: &'static str,
        id: Option<&'a Id>,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<&'a Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a RpcError>,
    }
    let (result, error) = match result {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    serde_json::to_vec(&Resp { jsonrpc: "2.0", id, result, error }).expect("a response serialises")
}

/// Serialises a notification body whose params are already JSON text.
pub fn notification_body(method: &str, params_json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(params_json.len() + method.len() + 40);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":");
    out.extend_from_slice(serde_json::to_string(method).expect("a string serialises").as_bytes());
    out.extend_from_slice(b",\"params\":");
    out.extend_from_slice(params_json);
    out.push(b'}');
    out
}

/// Serialises a request body (used by the CLI's client).
pub fn request_body(id: &Id, method: &str, params: &Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
        .expect("a request serialises")
}
