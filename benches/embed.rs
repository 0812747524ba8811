//! Embedding benchmark: throughput on the committed corpus, single-sentence
//! latency, model load time and peak memory, at 1 and 2 threads.
//!
//!     cargo bench --bench embed
//!
//! A plain harness (no criterion). Each thread count runs in its own child
//! process (this same binary, with `RAYON_NUM_THREADS` set), so the rayon
//! pool is sized exactly as a user would size it, and each row's load time
//! and peak RSS (`VmHWM`) are its own.
//!
//! Per thread count:
//! * load: `Encoder::from_dir` of the model folder (config, safetensors,
//!   tokenizer), wall time;
//! * throughput: `Encoder::embed` over all of `benches/corpus/corpus.jsonl`
//!   (tokenization included) at batch size 32: one warm-up pass, then
//!   `MINILM_BENCH_PASSES` (default 3) timed passes; best and median
//!   sentences/s and word pieces/s ([CLS]/[SEP] included, after truncation);
//! * latency: `embed` of one 12-word sentence, 20 warm-up calls then
//!   `MINILM_BENCH_LATENCY_RUNS` (default 300) timed calls; p50 and p95.
//!
//! Environment: `MINILM_MODEL` (model folder, default `weights/all-MiniLM-L6-v2`),
//! `MINILM_BENCH_PRECISION` (`f32`, `bf16` or `int8`: `Encoder::from_dir_at`;
//! default the folder's own),
//! `MINILM_BENCH_THREADS` (default `1,2`), `MINILM_BENCH_PASSES`,
//! `MINILM_BENCH_LATENCY_RUNS`.
//!
//! Run without `--bench` (as `cargo test --benches` does) it only does a
//! quick smoke run on 64 lines, and skips when the weights are missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const BATCH: usize = 32;
/// ~12 words, 16 word pieces with [CLS] and [SEP].
const SENTENCE: &str =
    "The new restaurant downtown served a wonderful bowl of spicy ramen yesterday.";
const CHILD_ENV: &str = "MINILM_BENCH_CHILD";

fn corpus_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/corpus/corpus.jsonl")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let result = if std::env::var_os(CHILD_ENV).is_some() {
        child(full)
    } else {
        parent(full)
    };
    if let Err(e) = result {
        eprintln!("embed bench: {e}");
        std::process::exit(1);
    }
}

/// One measured configuration, as the child reports it.
#[derive(Debug, Default)]
struct Row {
    threads: usize,
    load_ms: f64,
    best_sps: f64,
    median_sps: f64,
    best_tps: f64,
    median_tps: f64,
    pass_s: Vec<f64>,
    cpu_s: Vec<f64>,
    p50_ms: f64,
    p95_ms: f64,
    rss_mib: f64,
    lines: usize,
    tokens: usize,
}

fn parent(full: bool) -> Result<(), String> {
    let model = minilm::default_model_dir();
    if !model.join("model.safetensors").is_file() {
        let msg = format!(
            "{}: no model.safetensors (run weights/fetch.sh)",
            model.display()
        );
        if full {
            return Err(msg);
        }
        println!("embed bench: skipped, {msg}");
        return Ok(());
    }
    let threads: Vec<usize> = std::env::var("MINILM_BENCH_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut rows = Vec::new();
    for &n in &threads {
        eprintln!("embed bench: measuring with {n} thread(s)...");
        let mut cmd = Command::new(&exe);
        cmd.env(CHILD_ENV, "1")
            .env("RAYON_NUM_THREADS", n.to_string());
        if full {
            cmd.arg("--bench");
        }
        let out = cmd.output().map_err(|e| format!("cannot run child: {e}"))?;
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(format!("child with {n} thread(s) failed: {}", out.status));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("RESULT "))
            .ok_or_else(|| format!("child with {n} thread(s) printed no result"))?;
        rows.push(parse_row(line)?);
    }
    print_table(&model, full, &rows);
    Ok(())
}

fn child(full: bool) -> Result<(), String> {
    let threads = rayon::current_num_threads();
    let passes = if full {
        env_usize("MINILM_BENCH_PASSES", 3).max(1)
    } else {
        1
    };
    let lat_runs = if full {
        env_usize("MINILM_BENCH_LATENCY_RUNS", 300).max(1)
    } else {
        10
    };

    let t = Instant::now();
    let precision = match std::env::var("MINILM_BENCH_PRECISION") {
        Ok(p) => Some(minilm::Precision::parse(&p).map_err(|e| e.to_string())?),
        Err(_) => None,
    };
    let encoder = minilm::Encoder::from_dir_at(minilm::default_model_dir(), precision)
        .map_err(|e| e.to_string())?
        .with_batch_size(BATCH);
    eprintln!("embed bench: precision {}", encoder.precision());
    let load_ms = t.elapsed().as_secs_f64() * 1e3;

    let path = corpus_path();
    let raw = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut texts = Vec::new();
    for (i, line) in raw.lines().enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let text = v["text"]
            .as_str()
            .ok_or_else(|| format!("{}:{}: no \"text\"", path.display(), i + 1))?;
        texts.push(text.to_string());
    }
    if !full {
        texts.truncate(64);
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = encoder
        .tokenize(&refs)
        .map_err(|e| e.to_string())?
        .iter()
        .map(|t| t.len())
        .sum();

    // Throughput: one warm-up pass, then timed passes.
    let warm = encoder.embed(&refs).map_err(|e| e.to_string())?;
    assert_eq!(warm.len(), refs.len());
    let mut pass_s = Vec::new();
    let mut cpu_s = Vec::new();
    for _ in 0..passes {
        let (t, c) = (Instant::now(), cpu_seconds());
        let out = encoder.embed(&refs).map_err(|e| e.to_string())?;
        pass_s.push(t.elapsed().as_secs_f64());
        cpu_s.push(cpu_seconds() - c);
        std::hint::black_box(out);
    }
    let mut sorted = pass_s.clone();
    sorted.sort_by(f64::total_cmp);
    let best = sorted[0];
    let median = sorted[sorted.len() / 2];

    // Latency of one short sentence.
    for _ in 0..20.min(lat_runs) {
        std::hint::black_box(encoder.embed(&[SENTENCE]).map_err(|e| e.to_string())?);
    }
    let mut lat = Vec::with_capacity(lat_runs);
    for _ in 0..lat_runs {
        let t = Instant::now();
        std::hint::black_box(encoder.embed(&[SENTENCE]).map_err(|e| e.to_string())?);
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat[((p / 100.0) * lat.len() as f64)
            .floor()
            .min((lat.len() - 1) as f64) as usize]
    };

    let n = refs.len() as f64;
    let tk = tokens as f64;
    let passes_txt: Vec<String> = pass_s.iter().map(|s| format!("{s:.3}")).collect();
    let cpu_txt: Vec<String> = cpu_s.iter().map(|s| format!("{s:.2}")).collect();
    println!(
        "RESULT threads={threads} load_ms={load_ms:.1} best_sps={:.2} median_sps={:.2} best_tps={:.1} \
         median_tps={:.1} pass_s={} cpu_s={} p50_ms={:.3} p95_ms={:.3} rss_mib={:.1} lines={} tokens={tokens}",
        n / best,
        n / median,
        tk / best,
        tk / median,
        passes_txt.join(","),
        cpu_txt.join(","),
        pct(50.0),
        pct(95.0),
        peak_rss_mib(),
        refs.len(),
    );
    Ok(())
}

/// CPU time (user + system, all threads) of this process so far, in seconds,
/// from `/proc/self/stat` (clock ticks of 1/100 s). Less sensitive than wall
/// time to other processes on the machine, though it counts spin-waiting.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            // Fields 14 and 15 of the line (utime, stime); `rest` starts at field 3.
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .map_or(f64::NAN, |ticks| ticks / 100.0)
}

/// Peak resident set size of this process (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn parse_row(line: &str) -> Result<Row, String> {
    let mut row = Row::default();
    for kv in line.split_whitespace().skip(1) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("bad result field {kv:?}"))?;
        let f = || v.parse::<f64>().map_err(|e| format!("bad {k}={v}: {e}"));
        match k {
            "threads" => row.threads = f()? as usize,
            "load_ms" => row.load_ms = f()?,
            "best_sps" => row.best_sps = f()?,
            "median_sps" => row.median_sps = f()?,
            "best_tps" => row.best_tps = f()?,
            "median_tps" => row.median_tps = f()?,
            "pass_s" => row.pass_s = v.split(',').filter_map(|s| s.parse().ok()).collect(),
            "cpu_s" => row.cpu_s = v.split(',').filter_map(|s| s.parse().ok()).collect(),
            "p50_ms" => row.p50_ms = f()?,
            "p95_ms" => row.p95_ms = f()?,
            "rss_mib" => row.rss_mib = f()?,
            "lines" => row.lines = f()? as usize,
            "tokens" => row.tokens = f()? as usize,
            _ => {}
        }
    }
    Ok(row)
}

fn print_table(model: &Path, full: bool, rows: &[Row]) {
    let Some(first) = rows.first() else { return };
    println!();
    println!(
        "minilm embed benchmark{}: model {}, corpus {} ({} lines, {} word pieces incl. [CLS]/[SEP]), \
         batch {BATCH}, {} timed pass(es) after 1 warm-up; latency: {:?} ({} runs)",
        if full { "" } else { " (smoke run, not a measurement)" },
        model.display(),
        corpus_path().display(),
        first.lines,
        first.tokens,
        first.pass_s.len(),
        SENTENCE,
        if full { env_usize("MINILM_BENCH_LATENCY_RUNS", 300).max(1) } else { 10 },
    );
    println!();
    println!(
        "| engine | threads | sentences/s (best) | sentences/s (median) | word pieces/s (best) | \
         pass times (s) | sentences per CPU-second (best) | latency p50 (ms) | latency p95 (ms) | load (ms) | peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let passes: Vec<String> = r.pass_s.iter().map(|s| format!("{s:.2}")).collect();
        println!(
            "| minilm | {} | {:.1} | {:.1} | {:.0} | {} | {:.1} | {:.2} | {:.2} | {:.0} | {:.0} |",
            r.threads,
            r.best_sps,
            r.median_sps,
            r.best_tps,
            passes.join(", "),
            r.lines as f64 / r.cpu_s.iter().copied().fold(f64::INFINITY, f64::min),
            r.p50_ms,
            r.p95_ms,
            r.load_ms,
            r.rss_mib
        );
    }
}
