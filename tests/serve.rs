//! `minilm serve` as clients use it: the real binary on a free loopback
//! port, spoken to over HTTP/1.1 (a small std::net client).
#![cfg(feature = "serve")]

mod common;
#[path = "../benches/serve/http.rs"]
mod http;

use common::*;
use http::{Conn, Reply};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};

/// A running server; killed when dropped (unless it has exited).
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_minilm"))
            .arg("serve")
            .args(["--port", "0"])
            .args(args)
            .env("MINILM_MODEL", real_model_dir())
            .env_remove("MINILM_API_KEY")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let line = line.unwrap_or_default();
                if let Some(a) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(a.trim().parse::<SocketAddr>().unwrap());
                }
                log2.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no address printed: {}", log.lock().unwrap()));
        let s = Server { child, addr, log };
        // Ready once the model is loaded.
        for _ in 0..600 {
            if s.conn().get("/health").map(|r| r.status).ok() == Some(200) {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("never ready: {}", s.log.lock().unwrap());
    }

    fn conn(&self) -> Conn {
        Conn::open(self.addr).unwrap()
    }

    fn post(&self, path: &str, body: &str) -> Reply {
        self.conn().post(path, body).unwrap()
    }

    /// A number from `/metrics` (a line `name value`).
    fn metric(&self, name: &str, key: Option<&str>) -> f64 {
        let auth = key.map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let r = self.conn().send("GET", "/metrics", &headers, b"").unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in /metrics"))
            .parse()
            .unwrap()
    }

    /// Poll `/metrics` until `name` reaches `at_least` (bounded).
    fn wait_metric(&self, name: &str, at_least: f64) {
        for _ in 0..2000 {
            if self.metric(name, None) >= at_least {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("{name} never reached {at_least}");
    }

    fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of each `"embedding":[...]` array in `s`, in order.
fn float_arrays(s: &str) -> Vec<String> {
    s.split("\"embedding\":[")
        .skip(1)
        .map(|rest| rest[..rest.find(']').unwrap()].to_string())
        .collect()
}

/// What `minilm embed` writes for each text (the array's text).
fn embed_cli(texts: &[&str]) -> Vec<String> {
    let input: String = texts
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string() + "\n")
        .collect();
    let out = minilm(&["embed"], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    float_arrays(&String::from_utf8(out.stdout).unwrap())
}

fn body(inputs: &[&str]) -> String {
    serde_json::json!({ "input": inputs, "model": "all-MiniLM-L6-v2" }).to_string()
}

/// A text of well over 256 word pieces.
fn long_text(seed: usize) -> String {
    (0..300)
        .map(|i| format!("word{}", (i * 7 + seed) % 50))
        .collect::<Vec<_>>()
        .join(" ")
}

const SENTENCES: [&str; 6] = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Zwei Männer schieben Karren über die Brücke — 東京タワー 🙂",
    "short",
    "Oil prices rose sharply after the cartel cut its output for the third month in a row, traders said on Tuesday.",
];

#[test]
fn embeddings_equal_minilm_embed_bit_for_bit_as_floats_and_base64() {
    let long = long_text(3);
    let mut texts: Vec<&str> = SENTENCES.to_vec();
    texts.push(&long);
    let want = embed_cli(&texts);
    assert_eq!(want.len(), texts.len());
    let s = Server::start(&[], &[]);
    // One request with every text, then each text alone (a plain string).
    let r = s.post("/v1/embeddings", &body(&texts));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(float_arrays(&r.text()), want);
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "all-MiniLM-L6-v2");
    for (i, d) in v["data"].as_array().unwrap().iter().enumerate() {
        assert_eq!(d["index"], i);
        assert_eq!(d["object"], "embedding");
        assert_eq!(d["embedding"].as_array().unwrap().len(), 384);
    }
    let tokens = v["usage"]["prompt_tokens"].as_u64().unwrap();
    let enc = real_encoder();
    let want_tokens: usize = enc.tokenize(&texts).unwrap().iter().map(|t| t.len()).sum();
    assert_eq!(tokens, want_tokens as u64);
    assert_eq!(v["usage"]["total_tokens"], tokens);
    for (t, w) in texts.iter().zip(&want) {
        let one = serde_json::json!({ "input": t, "model": "m" }).to_string();
        let r = s.post("/v1/embeddings", &one);
        assert_eq!(float_arrays(&r.text()), std::slice::from_ref(w), "{t}");
        // base64: the little-endian f32 bytes of the same numbers.
        let b64 = serde_json::json!({ "input": [t], "model": "m", "encoding_format": "base64" });
        let r = s.post("/v1/embeddings", &b64.to_string());
        assert_eq!(r.status, 200, "{}", r.text());
        let got = decode_base64_f32(r.json()["data"][0]["embedding"].as_str().unwrap());
        let want_bits: Vec<u32> = w
            .split(',')
            .map(|x| x.parse::<f32>().unwrap().to_bits())
            .collect();
        assert_eq!(
            got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want_bits,
            "{t}"
        );
    }
    // GET /v1/models names the model.
    let r = s.conn().get("/v1/models").unwrap();
    assert_eq!(r.json()["data"][0]["id"], "all-MiniLM-L6-v2");
}

fn decode_base64_f32(s: &str) -> Vec<f32> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut bytes = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let n = chunk
            .iter()
            .map(|&c| if c == b'=' { 0 } else { val(c) })
            .fold(0u32, |a, v| (a << 6) | v);
        bytes.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn a_sentence_alone_equals_itself_inside_busy_batches() {
    // Every request waits up to 300 ms for others: concurrent requests share
    // forward passes.
    let s = Arc::new(Server::start(&["--batch-wait-ms", "300"], &[]));
    let target = SENTENCES[0];
    let alone = float_arrays(&s.post("/v1/embeddings", &body(&[target])).text());
    assert_eq!(alone.len(), 1);
    let clients = 12;
    let barrier = Arc::new(Barrier::new(clients));
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (s, barrier) = (s.clone(), barrier.clone());
            std::thread::spawn(move || {
                // Other sentences of other lengths around the target.
                let long = long_text(c);
                let mut inputs: Vec<&str> = vec![SENTENCES[1 + c % 5]];
                if c % 2 == 0 {
                    inputs.push(&long);
                }
                inputs.insert(c % (inputs.len() + 1), target);
                let pos = inputs.iter().position(|t| *t == target).unwrap();
                barrier.wait();
                let r = s.post("/v1/embeddings", &body(&inputs));
                assert_eq!(r.status, 200, "{}", r.text());
                float_arrays(&r.text())[pos].clone()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), alone[0]);
    }
    // Some pass held more inputs than any one request (3): requests shared it.
    let passes = s.metric("minilm_batch_inputs_count", None);
    let small = s.metric("minilm_batch_inputs_bucket{le=\"4\"}", None);
    assert!(
        small < passes,
        "no pass of more than 4 inputs ({small} of {passes})"
    );
}

/// The error's status, code and message (checking the OpenAI error shape).
fn error_of(r: &Reply) -> (u16, String, String) {
    let v = r.json();
    let e = &v["error"];
    assert!(e["type"].is_string(), "{v}");
    (
        r.status,
        e["code"].as_str().unwrap().to_string(),
        e["message"].as_str().unwrap().to_string(),
    )
}

#[test]
fn bad_requests_and_limits_get_their_status_and_message() {
    let key = "sk-test-7d1c0ffee";
    let s = Server::start(
        &[
            "--max-body-bytes",
            "4096",
            "--max-inputs",
            "4",
            "--api-key",
            key,
        ],
        &[],
    );
    let auth = format!("Bearer {key}");
    let send = |path: &str, body: &str| {
        s.conn()
            .send("POST", path, &[("Authorization", &auth)], body.as_bytes())
            .unwrap()
    };
    // The key: none, wrong, right; /health needs none.
    let r = s.post("/v1/embeddings", &body(&["a"]));
    let (st, code, msg) = error_of(&r);
    assert_eq!((st, code.as_str()), (401, "invalid_api_key"));
    assert!(msg.contains("Authorization: Bearer"), "{msg}");
    let r = s
        .conn()
        .send(
            "POST",
            "/v1/embeddings",
            &[("Authorization", "Bearer sk-test-7d1c0ffeE")],
            body(&["a"]).as_bytes(),
        )
        .unwrap();
    assert_eq!(error_of(&r).0, 401);
    assert_eq!(s.conn().get("/metrics").unwrap().status, 401);
    assert_eq!(s.conn().get("/health").unwrap().status, 200);
    assert_eq!(send("/v1/embeddings", &body(&["a"])).status, 200);
    // Malformed and mistyped bodies.
    let cases: &[(&str, u16, &str, &str)] = &[
        ("{\"input\": [\"a\"", 400, "invalid_json", "not valid JSON"),
        ("[\"a\"]", 400, "invalid_type", "JSON object"),
        ("{}", 400, "invalid_input", "'input' is required"),
        ("{\"input\": 5}", 400, "invalid_input", "not a number"),
        ("{\"input\": [\"a\", {}]}", 400, "invalid_input", "input[1]"),
        (
            "{\"input\": [[101, 102]]}",
            400,
            "invalid_input",
            "token arrays",
        ),
        (
            "{\"input\": \"\"}",
            400,
            "invalid_input",
            "must not be empty",
        ),
        ("{\"input\": []}", 400, "invalid_input", "empty array"),
        (
            "{\"input\": [\"a\", \"  \"]}",
            400,
            "invalid_input",
            "input[1]",
        ),
        (
            "{\"input\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}",
            400,
            "too_many_inputs",
            "--max-inputs",
        ),
        (
            "{\"input\": \"a\", \"encoding_format\": \"int8\"}",
            400,
            "invalid_encoding_format",
            "base64",
        ),
        (
            "{\"input\": \"a\", \"model\": 3}",
            400,
            "invalid_type",
            "'model'",
        ),
        (
            "{\"input\": \"a\", \"dimensions\": 128}",
            400,
            "invalid_dimensions",
            "384",
        ),
    ];
    for &(b, status, code, needle) in cases {
        let (st, c, m) = error_of(&send("/v1/embeddings", b));
        assert_eq!((st, c.as_str()), (status, code), "{b}: {m}");
        assert!(m.contains(needle), "{b}: {m}");
    }
    // The body limit.
    let big = body(&[&"x ".repeat(2100)]);
    let (st, c, m) = error_of(&send("/v1/embeddings", &big));
    assert_eq!((st, c.as_str()), (413, "body_too_large"), "{m}");
    assert!(m.contains("4096"), "{m}");
    // Over-long inputs: truncated at 256 word pieces by default, refused
    // when the client asks.
    let long = long_text(1);
    let long = &long[..1500];
    let r = send("/v1/embeddings", &body(&[long]));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["usage"]["prompt_tokens"], 256);
    let strict = serde_json::json!({"input": [SENTENCES[0], long], "truncate": false}).to_string();
    let (st, c, m) = error_of(&send("/v1/embeddings", &strict));
    assert_eq!((st, c.as_str()), (400, "input_too_long"), "{m}");
    assert!(m.contains("input[1]") && m.contains("256"), "{m}");
    let fits = serde_json::json!({"input": [SENTENCES[0]], "truncate": false}).to_string();
    assert_eq!(send("/v1/embeddings", &fits).status, 200);
    // Routes and methods.
    let r = s
        .conn()
        .send("GET", "/v1/embeddings", &[("Authorization", &auth)], b"")
        .unwrap();
    assert_eq!(error_of(&r).0, 405);
    let (st, _, m) = error_of(&send("/v1/nothing", "{}"));
    assert_eq!(st, 404);
    assert!(m.contains("/v1/embeddings"), "{m}");
    let (st, _, m) = error_of(&send("/v1/classify", &body(&["a"])));
    assert_eq!(st, 404);
    assert!(m.contains("--checkpoint"), "{m}");
    // The counts are in /metrics; the key is neither there nor in the log.
    let r = s
        .conn()
        .send("GET", "/metrics", &[("Authorization", &auth)], b"")
        .unwrap();
    let text = r.text();
    assert!(
        text.contains("minilm_errors_total{kind=\"invalid_json\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("minilm_errors_total{kind=\"invalid_api_key\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("minilm_requests_total{route=\"embeddings\",status=\"413\"} 1"),
        "{text}"
    );
    assert!(!text.contains(key));
    drop(s.conn());
    assert!(!s.log.lock().unwrap().contains(key));
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let s = Arc::new(Server::start(
        &[
            "--threads",
            "1",
            "--max-inputs",
            "64",
            "--queue-inputs",
            "64",
        ],
        &[],
    ));
    let longs: Vec<String> = (0..64).map(long_text).collect();
    let shorts: Vec<&str> = (0..64).map(|i| SENTENCES[i % 6]).collect();
    // J0 occupies the engine, J1 fills the queue, J2 is refused.
    let s0 = s.clone();
    let j0 = std::thread::spawn(move || {
        let refs: Vec<&str> = longs.iter().map(String::as_str).collect();
        s0.post("/v1/embeddings", &body(&refs)).status
    });
    s.wait_metric("minilm_inputs_total", 64.0);
    let s1 = s.clone();
    let b1 = body(&shorts);
    let j1 = std::thread::spawn(move || s1.post("/v1/embeddings", &b1).status);
    s.wait_metric("minilm_queue_inputs", 64.0);
    let r = s.post("/v1/embeddings", &body(&["one more"]));
    let (st, code, m) = error_of(&r);
    assert_eq!((st, code.as_str()), (503, "queue_full"), "{m}");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(j0.join().unwrap(), 200);
    assert_eq!(j1.join().unwrap(), 200);
    // Service is back: the same request now succeeds.
    assert_eq!(s.post("/v1/embeddings", &body(&["one more"])).status, 200);
}

#[test]
fn slow_and_vanished_clients_do_not_stall_others_and_time_out() {
    let key = "env-key-42";
    let s = Server::start(&["--request-timeout-s", "1"], &[("MINILM_API_KEY", key)]);
    let auth = format!("Bearer {key}");
    // A client that sends half its body and stops.
    let mut slow = s.conn();
    let head = format!(
        "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: 100\r\n\r\n{{\"input\": "
    );
    slow.stream().write_all(head.as_bytes()).unwrap();
    // A client that sends a request and leaves.
    {
        let mut gone = s.conn();
        let b = body(&[&long_text(0), &long_text(1)]);
        let req = format!(
            "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        );
        gone.stream().write_all(req.as_bytes()).unwrap();
    }
    // Others are answered meanwhile (the key came from $MINILM_API_KEY).
    for _ in 0..3 {
        let r = s
            .conn()
            .send(
                "POST",
                "/v1/embeddings",
                &[("Authorization", &auth)],
                body(&["hello"]).as_bytes(),
            )
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(s.post("/v1/embeddings", &body(&["hello"])).status, 401);
    // The slow upload gets 408 once the request timeout passes.
    let r = slow.read_reply().unwrap();
    let (st, code, _) = error_of(&r);
    assert_eq!((st, code.as_str()), (408, "request_timeout"));
}

#[test]
fn sigterm_finishes_accepted_requests_then_exits_0() {
    let s = Arc::new(Server::start(&["--threads", "1"], &[]));
    let longs: Vec<String> = (0..32).map(long_text).collect();
    let s0 = s.clone();
    let j0 = std::thread::spawn(move || {
        let refs: Vec<&str> = longs.iter().map(String::as_str).collect();
        s0.post("/v1/embeddings", &body(&refs))
    });
    s.wait_metric("minilm_inputs_total", 32.0);
    // Four more wait in the queue behind it.
    let queued: Vec<_> = (0..4)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || s.post("/v1/embeddings", &body(&[SENTENCES[i]])))
        })
        .collect();
    s.wait_metric("minilm_queue_requests", 4.0);
    s.terminate();
    let r = j0.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(float_arrays(&r.text()).len(), 32);
    for (i, h) in queued.into_iter().enumerate() {
        let r = h.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(float_arrays(&r.text()), embed_cli(&[SENTENCES[i]]));
    }
    let mut s = Arc::try_unwrap(s).ok().expect("no other owner");
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", s.log.lock().unwrap());
    assert!(s.log.lock().unwrap().contains("minilm serve: stopped"));
    assert!(Conn::open(s.addr).is_err(), "still accepting after exit");
}

#[cfg(feature = "train")]
#[test]
fn classify_gives_what_minilm_predict_gives() {
    let dir = temp_dir("serve-classify");
    let (a, b) = write_tiny_task_files(&dir);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let ckpt = dir.join("ckpt");
    let ckpt = ckpt.to_str().unwrap();
    let out = minilm(
        &[
            "train",
            "--method",
            "contrastive",
            "--plan",
            "last1",
            "--stage1-epochs",
            "1",
            "--pairs-per-example",
            "2",
            "--batch-size",
            "4",
            "--shots",
            "3",
            "--val-per-class",
            "1",
            "--task-a-train",
            a,
            "--task-a-test",
            a,
            "--task-b-train",
            b,
            "--task-b-val",
            b,
            "--task-b-test",
            b,
            "--ood",
            b,
            "--examples",
            "0",
            "--quiet",
            "--out",
            ckpt,
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let texts = [SENTENCES[0], SENTENCES[5], "I loved every minute of it."];
    let input: String = texts
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string() + "\n")
        .collect();
    let out = minilm(&["predict", "--checkpoint", ckpt], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let s = Server::start(&["--checkpoint", ckpt], &[]);
    let r = s.post(
        "/v1/classify",
        &serde_json::json!({ "input": texts }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    for (i, w) in want.iter().enumerate() {
        let d = &v["data"][i];
        assert_eq!(d["index"], i);
        for field in ["topic", "topic_probs", "sentiment", "sentiment_probs"] {
            assert!(w.get(field).is_some(), "predict gave no {field}: {w}");
            assert_eq!(d[field], w[field], "{field} of input {i}");
        }
    }
    // One task only, by name.
    let r = s.post(
        "/v1/classify",
        &serde_json::json!({ "input": texts[2], "task": "sentiment" }).to_string(),
    );
    let d = &r.json()["data"][0];
    assert_eq!(d["sentiment"], want[2]["sentiment"]);
    assert!(d.get("topic").is_none(), "{d}");
    let (st, code, _) = error_of(&s.post(
        "/v1/classify",
        &serde_json::json!({ "input": "x", "task": "colour" }).to_string(),
    ));
    assert_eq!((st, code.as_str()), (400, "unknown_task"));
    // Embeddings are still the base model's.
    let r = s.post("/v1/embeddings", &body(&[texts[0]]));
    assert_eq!(float_arrays(&r.text()), embed_cli(&[texts[0]]));
}
