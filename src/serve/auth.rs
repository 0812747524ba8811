//! The API key: every route but `/health` requires `Authorization: Bearer
//! KEY` when a key is set. The comparison takes the same time wherever the
//! first difference is; the key is never logged nor shown in `/metrics`.

use super::error::ApiError;
use super::routes::{route_label, App};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Whether `a` equals `b`, in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// Middleware: let the request through, or answer 401.
pub async fn require_key(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let Some(key) = app.opts.api_key.as_deref() else {
        return next.run(req).await;
    };
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let err = match sent {
        None => ApiError::unauthorized(
            "this server needs an API key: send the header 'Authorization: Bearer KEY'",
        ),
        Some(s) if constant_time_eq(s.trim().as_bytes(), key.as_bytes()) => {
            return next.run(req).await
        }
        Some(_) => ApiError::unauthorized("the API key is wrong"),
    };
    app.metrics.request(
        route_label(req.uri().path()),
        err.status.as_u16(),
        Some(err.code),
    );
    err.into_response()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_when_identical() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
