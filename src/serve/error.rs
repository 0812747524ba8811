//! Errors as the OpenAI API shapes them:
//! `{"error": {"message": ..., "type": ..., "code": ...}}` with an HTTP status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// What went wrong, as a client sees it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error's `type` (also the `kind` label of the errors metric).
    pub kind: &'static str,
    /// The error's `code`, a short machine-readable reason.
    pub code: &'static str,
    /// A sentence naming what was wrong.
    pub message: String,
    /// Seconds to wait before retrying (sent as `Retry-After`).
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, msg: String) -> Self {
        ApiError {
            status,
            kind,
            code,
            message: msg,
            retry_after: None,
        }
    }
    /// 400: the request is malformed or breaks a limit.
    pub fn invalid(code: &'static str, msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            msg.into(),
        )
    }
    /// 401: no key or the wrong key.
    pub fn unauthorized(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            msg.into(),
        )
    }
    /// 404: no such route (or no classifier loaded).
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "not_found",
            msg.into(),
        )
    }
    /// 405: the route exists with another method.
    pub fn method_not_allowed(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "method_not_allowed",
            msg.into(),
        )
    }
    /// 408: the body did not arrive in time.
    pub fn body_timeout(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            "request_timeout",
            msg.into(),
        )
    }
    /// 413: the body is larger than the limit.
    pub fn too_large(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "body_too_large",
            msg.into(),
        )
    }
    /// 503 with `Retry-After`: the queue is full, the model is still loading,
    /// the request waited too long, or the server is stopping.
    pub fn unavailable(code: &'static str, msg: impl Into<String>, retry_after: u32) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_overloaded",
            code,
            msg.into(),
        );
        e.retry_after = Some(retry_after);
        e
    }
    /// 500: the engine failed (never expected; the message says why).
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal_error",
            msg.into(),
        )
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({
            "error": {"message": self.message, "type": self.kind, "code": self.code}
        })
        .to_string()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body(),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}
