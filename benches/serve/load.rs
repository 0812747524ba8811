//! Load generator for `minilm serve` and peer servers (any OpenAI-style
//! `POST /v1/embeddings`). Loopback only, bounded in time. Prints one JSON
//! line of results. Driven by benches/serve/run.sh.
//!
//!   closed loop: --clients C --batch B --seconds T
//!     C clients, each on its own kept-alive connection, send B corpus
//!     sentences per request, one request after another.
//!   open loop:   --rate R --workers W --batch B --seconds T
//!     requests start at R per second whatever the answers (W threads send
//!     them); then probes measure how soon after the burst a one-sentence
//!     request is answered at normal speed again.
//!   --pid P samples the server's resident memory (peak and at the end).

#[path = "http.rs"]
mod http;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Opts {
    addr: SocketAddr,
    path: String,
    model: String,
    corpus: String,
    clients: usize,
    batch: usize,
    seconds: f64,
    rate: Option<f64>,
    workers: usize,
    pid: Option<u32>,
    max_requests: u64,
}

fn parse() -> Opts {
    let mut o = Opts {
        addr: "127.0.0.1:8080".parse().unwrap(),
        path: "/v1/embeddings".into(),
        model: "all-MiniLM-L6-v2".into(),
        corpus: "benches/corpus/corpus.jsonl".into(),
        clients: 1,
        batch: 1,
        seconds: 10.0,
        rate: None,
        workers: 256,
        pid: None,
        max_requests: 2_000_000,
    };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--addr" => o.addr = v.parse().expect("--addr HOST:PORT"),
            "--path" => o.path = v,
            "--model" => o.model = v,
            "--corpus" => o.corpus = v,
            "--clients" => o.clients = v.parse().unwrap(),
            "--batch" => o.batch = v.parse().unwrap(),
            "--seconds" => o.seconds = v.parse().unwrap(),
            "--rate" => o.rate = Some(v.parse().unwrap()),
            "--workers" => o.workers = v.parse().unwrap(),
            "--pid" => o.pid = Some(v.parse().unwrap()),
            "--max-requests" => o.max_requests = v.parse().unwrap(),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(o.addr.ip().is_loopback(), "loopback only");
    o
}

/// The corpus texts.
fn corpus(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Per-outcome counts and the latencies of the 200s.
#[derive(Default)]
struct Tally {
    ok: u64,
    refused: u64,
    other: u64,
    failed: u64,
    latencies: Vec<f64>,
}

/// Send on the kept-alive connection; on an I/O error (a connection the
/// server closed while idle, as HTTP clients do) reconnect and send once more.
fn post(
    conn: &mut Option<http::Conn>,
    addr: SocketAddr,
    path: &str,
    body: &str,
) -> std::io::Result<http::Reply> {
    if let Some(c) = conn.as_mut() {
        if let Ok(r) = c.post(path, body) {
            return Ok(r);
        }
    }
    *conn = http::Conn::open(addr).ok();
    let r = match conn.as_mut() {
        Some(c) => c.post(path, body),
        None => Err(std::io::Error::other("cannot connect")),
    };
    if r.is_err() {
        *conn = None;
    }
    r
}

fn record(t: &Mutex<Tally>, r: std::io::Result<http::Reply>, lat: f64) -> bool {
    let mut t = t.lock().unwrap();
    match r {
        Ok(r) if r.status == 200 => {
            t.ok += 1;
            t.latencies.push(lat);
            true
        }
        Ok(r) if r.status == 503 => {
            t.refused += 1;
            true
        }
        Ok(_) => {
            t.other += 1;
            true
        }
        Err(_) => {
            t.failed += 1;
            false
        }
    }
}

/// Resident memory of `pid` in KB (`field`: VmRSS or VmHWM).
fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn body(texts: &[String], start: usize, n: usize, model: &str) -> String {
    let inputs: Vec<&str> = (0..n)
        .map(|k| texts[(start + k) % texts.len()].as_str())
        .collect();
    serde_json::json!({ "input": inputs, "model": model }).to_string()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Each client thread: requests one after another until the end.
fn closed_loop(o: &Opts, texts: &Arc<Vec<String>>, tally: &Arc<Mutex<Tally>>, end: Instant) {
    let sent = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..o.clients)
        .map(|c| {
            let (texts, tally, sent) = (texts.clone(), tally.clone(), sent.clone());
            let (addr, path, model, batch, max) = (
                o.addr,
                o.path.clone(),
                o.model.clone(),
                o.batch,
                o.max_requests,
            );
            std::thread::spawn(move || {
                let mut conn = http::Conn::open(addr).ok();
                let mut i = c * 997;
                while Instant::now() < end && sent.fetch_add(1, Relaxed) < max {
                    let b = body(&texts, i, batch, &model);
                    i += batch;
                    let t = Instant::now();
                    let r = post(&mut conn, addr, &path, &b);
                    record(&tally, r, t.elapsed().as_secs_f64());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// Requests start at `rate` per second until `end`, sent by `workers`
/// threads (a request whose time has come waits for a free worker).
fn open_loop(
    o: &Opts,
    rate: f64,
    texts: &Arc<Vec<String>>,
    tally: &Arc<Mutex<Tally>>,
    end: Instant,
) -> f64 {
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..o.workers)
        .map(|_| {
            let (texts, tally, next) = (texts.clone(), tally.clone(), next.clone());
            let (addr, path, model, batch) = (o.addr, o.path.clone(), o.model.clone(), o.batch);
            std::thread::spawn(move || {
                let mut conn = http::Conn::open(addr).ok();
                loop {
                    let i = next.fetch_add(1, Relaxed);
                    let at = t0 + Duration::from_secs_f64(i as f64 / rate);
                    if at >= end {
                        return;
                    }
                    if let Some(d) = at.checked_duration_since(Instant::now()) {
                        std::thread::sleep(d);
                    }
                    let b = body(&texts, i as usize * batch, batch, &model);
                    let t = Instant::now();
                    let r = post(&mut conn, addr, &path, &b);
                    record(&tally, r, t.elapsed().as_secs_f64());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Requests actually started per second.
    next.load(Relaxed).min((rate * o.seconds) as u64) as f64 / o.seconds
}

/// Seconds from now until a one-sentence request is answered 200 within
/// `normal` seconds (probing every 10 ms, for at most 30 s).
fn recovery(addr: SocketAddr, path: &str, model: &str, texts: &[String], normal: f64) -> f64 {
    let start = Instant::now();
    let b = body(texts, 0, 1, model);
    while start.elapsed() < Duration::from_secs(30) {
        let t = Instant::now();
        if let Ok(mut c) = http::Conn::open(addr) {
            if let Ok(r) = c.post(path, &b) {
                if r.status == 200 && t.elapsed().as_secs_f64() <= normal {
                    return start.elapsed().as_secs_f64();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f64::INFINITY
}

fn main() {
    let o = parse();
    let texts = Arc::new(corpus(&o.corpus));
    let tally = Arc::new(Mutex::new(Tally::default()));
    // Memory: sample the server's resident set every 50 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = o.pid.map(|pid| {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                peak.fetch_max(rss_kb(pid, "VmRSS:"), Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    });
    // Normal one-sentence latency, measured before the load.
    let mut idle: Vec<f64> = (0..20)
        .filter_map(|i| {
            let mut c = http::Conn::open(o.addr).ok()?;
            let t = Instant::now();
            let r = c.post(&o.path, &body(&texts, i, 1, &o.model)).ok()?;
            (r.status == 200).then(|| t.elapsed().as_secs_f64())
        })
        .collect();
    idle.sort_by(f64::total_cmp);
    let idle_p50 = percentile(&idle, 0.5);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(o.seconds);
    // After an open-loop burst, probes start the moment the burst ends,
    // while its last requests are still queued.
    let probe = o.rate.map(|_| {
        let (addr, path, model) = (o.addr, o.path.clone(), o.model.clone());
        let texts = texts.clone();
        std::thread::spawn(move || {
            if let Some(d) = end.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
            recovery(addr, &path, &model, &texts, (2.0 * idle_p50).max(0.1))
        })
    });
    let offered = match o.rate {
        None => {
            closed_loop(&o, &texts, &tally, end);
            f64::NAN
        }
        Some(rate) => open_loop(&o, rate, &texts, &tally, end),
    };
    let wall = start.elapsed().as_secs_f64();
    let recovered = probe.map_or(f64::NAN, |p| p.join().unwrap());
    stop.store(true, Relaxed);
    if let Some(s) = sampler {
        s.join().unwrap();
    }
    let mut t = tally.lock().unwrap();
    t.latencies.sort_by(f64::total_cmp);
    let (end_rss, hwm) = o
        .pid
        .map_or((0, 0), |p| (rss_kb(p, "VmRSS:"), rss_kb(p, "VmHWM:")));
    let r = serde_json::json!({
        "clients": o.clients, "batch": o.batch, "seconds": wall,
        "rate_offered": if offered.is_nan() { serde_json::Value::Null } else { serde_json::json!(offered) },
        "ok": t.ok, "refused_503": t.refused, "other_status": t.other, "failed": t.failed,
        "requests_per_s": t.ok as f64 / wall,
        "sentences_per_s": (t.ok as usize * o.batch) as f64 / wall,
        "p50_ms": percentile(&t.latencies, 0.5) * 1e3,
        "p99_ms": percentile(&t.latencies, 0.99) * 1e3,
        "idle_p50_ms": idle_p50 * 1e3,
        "recovery_s": if recovered.is_nan() { serde_json::Value::Null } else { serde_json::json!(recovered) },
        "peak_rss_kb": peak.load(Relaxed).max(hwm),
        "end_rss_kb": end_rss,
    });
    println!("{r}");
}
