//! Response bodies. Embeddings are written with the same float formatting
//! as `minilm embed` (shortest round-trip f32), or as base64 of their
//! little-endian f32 bytes, as the OpenAI API does.

use super::request::Encoding;
use std::fmt::Write;

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// One embedding as a JSON value (an array, or a base64 string).
fn embedding_json(v: &[f32], enc: Encoding) -> String {
    match enc {
        Encoding::Float => serde_json::to_string(v).expect("finite floats serialise"),
        Encoding::Base64 => {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            format!("\"{}\"", base64(&bytes))
        }
    }
}

/// A string as a JSON string literal.
fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// The `POST /v1/embeddings` answer.
pub fn embeddings(rows: &[Vec<f32>], enc: Encoding, model: &str, tokens: usize) -> String {
    let mut s = String::with_capacity(rows.len() * (rows.first().map_or(0, Vec::len) * 12 + 64));
    s.push_str("{\"object\":\"list\",\"data\":[");
    for (i, v) in rows.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"object\":\"embedding\",\"index\":{i},\"embedding\":{}}}",
            embedding_json(v, enc)
        );
    }
    let _ = write!(
        s,
        "],\"model\":{},\"usage\":{{\"prompt_tokens\":{tokens},\"total_tokens\":{tokens}}}}}",
        json_str(model)
    );
    s
}

/// The `POST /v1/classify` answer: per input, each task's label and its
/// class probabilities, with the fields `minilm predict` adds to a line
/// (`"<task>"` and `"<task>_probs"`). `tasks` are (index, name, classes).
pub fn classify(
    probs: &[Vec<Vec<f32>>],
    tasks: &[(usize, &str, &[String])],
    model: &str,
    tokens: usize,
) -> String {
    let mut data = Vec::with_capacity(probs.len());
    for (i, per_task) in probs.iter().enumerate() {
        let mut obj = serde_json::Map::new();
        obj.insert("index".into(), serde_json::json!(i));
        for &(t, name, classes) in tasks {
            let p = &per_task[t];
            let best = p
                .iter()
                .enumerate()
                .fold(0, |b, (j, &v)| if v > p[b] { j } else { b });
            let map: serde_json::Map<String, serde_json::Value> = classes
                .iter()
                .zip(p)
                .map(|(c, &v)| (c.clone(), serde_json::json!(v)))
                .collect();
            obj.insert(name.to_string(), serde_json::json!(classes[best]));
            obj.insert(format!("{name}_probs"), serde_json::Value::Object(map));
        }
        data.push(serde_json::Value::Object(obj));
    }
    serde_json::json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn embeddings_body_has_the_openai_shape() {
        let body = embeddings(&[vec![0.5, -1.0], vec![0.1]], Encoding::Float, "m", 7);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["object"], "list");
        assert_eq!(v["data"][1]["index"], 1);
        assert_eq!(v["data"][1]["object"], "embedding");
        assert_eq!(v["data"][0]["embedding"], serde_json::json!([0.5, -1.0]));
        assert_eq!(v["usage"]["total_tokens"], 7);
        let body = embeddings(&[vec![1.0]], Encoding::Base64, "m", 1);
        assert!(body.contains("\"embedding\":\"AACAPw==\""), "{body}");
    }
}
