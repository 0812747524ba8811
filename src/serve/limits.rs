//! Request limits: the body size (413), the upload deadline (408) and the
//! per-input token policy (truncate at the model's `max_seq_length`, or
//! refuse with 400 when the client sends `"truncate": false`).

use super::error::ApiError;
use crate::tokenize::{Tokenizer, Tokens};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::BodyExt;
use tokio::time::{timeout_at, Instant};

/// After the limit is passed, how much more of the body is read (and
/// dropped) so that the client, still sending, reads the 413 instead of a
/// reset connection.
const DRAIN_BYTES: usize = 8 << 20;

/// The whole body, at most `limit` bytes, arrived before `deadline`.
pub async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    deadline: Instant,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::too_large(format!(
            "the request body is larger than this server's limit of {limit} bytes (--max-body-bytes)"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = body;
    if declared.is_some_and(|n| n > limit as u64) {
        drain(&mut body, deadline).await;
        return Err(too_large());
    }
    let mut buf: Vec<u8> = Vec::with_capacity(declared.unwrap_or(0) as usize);
    loop {
        let frame = match timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(ApiError::body_timeout(
                    "the request body did not arrive in time (--request-timeout-s)",
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::invalid(
                    "unreadable_body",
                    format!("could not read the request body: {e}"),
                ))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                drain(&mut body, deadline).await;
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Read and drop up to [`DRAIN_BYTES`] more of the body, until `deadline`.
async fn drain(body: &mut Body, deadline: Instant) {
    let mut seen = 0;
    while seen < DRAIN_BYTES {
        match timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                seen += frame.data_ref().map_or(0, |d| d.len());
            }
            _ => return,
        }
    }
}

/// Tokenize `texts`; with `truncate` off, refuse any text that does not fit
/// the model's `max_seq_length` word pieces.
pub fn tokenize(
    tok: &Tokenizer,
    texts: &[String],
    truncate: bool,
) -> Result<Vec<Tokens>, ApiError> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens = tok
        .encode_batch(&refs)
        .map_err(|e| ApiError::invalid("tokenization_failed", e.to_string()))?;
    if !truncate {
        for (i, (t, text)) in tokens.iter().zip(texts).enumerate() {
            if was_truncated(t, text, tok.max_len()) {
                return Err(ApiError::invalid(
                    "input_too_long",
                    format!(
                        "input[{i}] is longer than the model's {} word pieces and \"truncate\" is false",
                        tok.max_len()
                    ),
                ));
            }
        }
    }
    Ok(tokens)
}

/// Whether the tokenizer cut `text`: it filled every position and text
/// the tokenizer would keep (not whitespace or control characters) follows
/// the last piece it kept.
fn was_truncated(t: &Tokens, text: &str, max_len: usize) -> bool {
    if t.len() < max_len {
        return false;
    }
    // The last word piece before [SEP].
    let end = t.offsets.iter().rev().find(|o| o.1 > 0).map_or(0, |o| o.1);
    text.get(end..)
        .is_some_and(|rest| rest.chars().any(|c| !c.is_whitespace() && !c.is_control()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(offsets: Vec<(usize, usize)>) -> Tokens {
        Tokens {
            ids: vec![0; offsets.len()],
            type_ids: vec![0; offsets.len()],
            pieces: Vec::new(),
            offsets,
        }
    }

    #[test]
    fn truncation_is_text_after_the_last_piece() {
        let full = toks(vec![(0, 0), (0, 1), (2, 3), (0, 0)]);
        assert!(!was_truncated(&full, "a b", 4));
        assert!(!was_truncated(&full, "a b \n", 4));
        assert!(was_truncated(&full, "a b c", 4));
        assert!(!was_truncated(&full, "a b c", 5));
    }
}
