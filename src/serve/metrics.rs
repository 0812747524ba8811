//! Counters and histograms, rendered in the Prometheus text format at
//! `GET /metrics`. Nothing secret is recorded (no key, no text).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// A histogram with fixed upper bounds (cumulative when rendered).
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    /// Sum of observations, in millionths (atomic integers, not floats).
    sum_micro: AtomicU64,
    total: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micro: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }

    /// Record one observation.
    pub fn observe(&self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| v <= b) {
            self.counts[i].fetch_add(1, Relaxed);
        }
        self.sum_micro.fetch_add((v * 1e6) as u64, Relaxed);
        self.total.fetch_add(1, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cum = 0;
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cum += c.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cum}");
        }
        let total = self.total.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let sum = self.sum_micro.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
    }
}

const LATENCY_S: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const BATCH_INPUTS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
const BATCH_TOKENS: &[f64] = &[
    16.0, 64.0, 256.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0, 65536.0,
];

/// Everything `/metrics` shows.
pub struct Metrics {
    /// Requests answered, by route and status code.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Errors, by kind (the `code` of the error body).
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Inputs waiting in the queue (set by the queue).
    pub queued_inputs: AtomicUsize,
    /// Requests waiting in the queue.
    pub queued_requests: AtomicUsize,
    /// Inputs embedded or classified.
    pub inputs: AtomicU64,
    /// Word pieces run through the model.
    pub tokens: AtomicU64,
    /// Queued requests dropped unrun because their client had gone.
    pub abandoned: AtomicU64,
    /// 1 once the model is loaded.
    pub ready: AtomicU64,
    /// Time from a request's arrival to its answer (embeddings, classify).
    pub latency: Histogram,
    /// Inputs per forward pass.
    pub batch_inputs: Histogram,
    /// Word pieces per forward pass.
    pub batch_tokens: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Mutex::default(),
            errors: Mutex::default(),
            queued_inputs: AtomicUsize::new(0),
            queued_requests: AtomicUsize::new(0),
            inputs: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            ready: AtomicU64::new(0),
            latency: Histogram::new(LATENCY_S),
            batch_inputs: Histogram::new(BATCH_INPUTS),
            batch_tokens: Histogram::new(BATCH_TOKENS),
        }
    }
}

impl Metrics {
    /// Count one answered request; `error` is the error's code, if any.
    pub fn request(&self, route: &'static str, status: u16, error: Option<&'static str>) {
        let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry((route, status)).or_default() += 1;
        drop(r);
        if let Some(code) = error {
            let mut e = self.errors.lock().unwrap_or_else(|p| p.into_inner());
            *e.entry(code).or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# HELP minilm_requests_total Requests answered, by route and status.\n# TYPE minilm_requests_total counter\n");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                s,
                "minilm_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        s.push_str("# HELP minilm_errors_total Error answers, by kind.\n# TYPE minilm_errors_total counter\n");
        for (kind, n) in self.errors.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(s, "minilm_errors_total{{kind=\"{kind}\"}} {n}");
        }
        let gauges: [(&str, &str, &str, u64); 6] = [
            (
                "minilm_ready",
                "gauge",
                "1 once the model is loaded.",
                self.ready.load(Relaxed),
            ),
            (
                "minilm_queue_inputs",
                "gauge",
                "Inputs waiting for the engine.",
                self.queued_inputs.load(Relaxed) as u64,
            ),
            (
                "minilm_queue_requests",
                "gauge",
                "Requests waiting for the engine.",
                self.queued_requests.load(Relaxed) as u64,
            ),
            (
                "minilm_inputs_total",
                "counter",
                "Inputs embedded or classified.",
                self.inputs.load(Relaxed),
            ),
            (
                "minilm_tokens_total",
                "counter",
                "Word pieces run through the model.",
                self.tokens.load(Relaxed),
            ),
            (
                "minilm_abandoned_total",
                "counter",
                "Queued requests dropped unrun because the client had gone.",
                self.abandoned.load(Relaxed),
            ),
        ];
        for (name, kind, help, v) in gauges {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        }
        self.latency.render(
            &mut s,
            "minilm_request_duration_seconds",
            "Time from arrival to answer of embeddings and classify requests.",
        );
        self.batch_inputs
            .render(&mut s, "minilm_batch_inputs", "Inputs per forward pass.");
        self.batch_tokens.render(
            &mut s,
            "minilm_batch_tokens",
            "Word pieces per forward pass.",
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.request("embeddings", 200, None);
        m.request("embeddings", 200, None);
        m.request("embeddings", 400, Some("invalid_json"));
        m.latency.observe(0.003);
        m.latency.observe(0.2);
        let s = m.render();
        assert!(s.contains("minilm_requests_total{route=\"embeddings\",status=\"200\"} 2\n"));
        assert!(s.contains("minilm_errors_total{kind=\"invalid_json\"} 1\n"));
        assert!(s.contains("minilm_request_duration_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(s.contains("minilm_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(s.contains("minilm_request_duration_seconds_bucket{le=\"0.25\"} 2\n"));
        assert!(s.contains("minilm_request_duration_seconds_count 2\n"));
        assert!(s.contains("minilm_request_duration_seconds_sum 0.203\n"));
    }
}
