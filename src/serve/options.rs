//! The server's settings: where it listens, which model it loads, and the
//! limits it enforces, with their defaults.

use crate::cli::args::Args;
use crate::cli::spec::{common, CommandSpec, Opt, Section};
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::time::Duration;

/// Everything `minilm serve` can be told.
#[derive(Clone, Debug)]
pub struct Options {
    /// Address to listen on (loopback unless told otherwise).
    pub host: String,
    /// Port (0: any free port; the bound address is printed on stderr).
    pub port: u16,
    /// Model folder (`None`: the default folder, as `minilm embed` finds it).
    pub model: Option<PathBuf>,
    /// A trained checkpoint: enables `POST /v1/classify`.
    pub checkpoint: Option<PathBuf>,
    /// Threads of the kernels' team (`None`: every core).
    pub threads: Option<usize>,
    /// Arithmetic of the dense layers (`None`: the model folder's own).
    pub precision: Option<crate::Precision>,
    /// Threads of the HTTP side (parsing, tokenizing, answering).
    pub http_threads: usize,
    /// The bearer key every route but `/health` requires, if set.
    pub api_key: Option<String>,
    /// Largest request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Most inputs in one request (400 above).
    pub max_inputs: usize,
    /// Most word pieces in one forward pass (a larger single request runs in
    /// several passes).
    pub batch_tokens: usize,
    /// Longest a queued request waits for others to join its batch.
    pub batch_wait: Duration,
    /// Most inputs waiting in the queue (503 with Retry-After beyond); a
    /// request larger than this runs when the queue is empty. The default is
    /// under a second of work, so an overload drains within a second.
    pub queue_inputs: usize,
    /// Longest a request may take, body upload and queueing included.
    pub request_timeout: Duration,
    /// Longest the shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// Scale embeddings to unit length (as the model's pipeline says).
    pub normalize: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 8080,
            model: None,
            checkpoint: None,
            threads: None,
            precision: None,
            http_threads: 1,
            api_key: None,
            max_body_bytes: 2 << 20,
            max_inputs: 2048,
            batch_tokens: 8192,
            batch_wait: Duration::from_millis(0),
            queue_inputs: 256,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            normalize: true,
        }
    }
}

/// The command line of `minilm serve`: every option with its default
/// from [`Options::default`].
pub fn spec() -> CommandSpec {
    let d = Options::default();
    let options = vec![
        Opt::value("host", "ADDR", "address to listen on (loopback only by default)").default(&d.host),
        Opt::value("port", "N", "port (0: any free port)").default(d.port),
        common::model(true),
        Opt::value("checkpoint", "DIR", "a trained checkpoint: enables POST /v1/classify"),
        common::threads(),
        common::precision(),
        Opt::value("http-threads", "N", "threads parsing and answering requests").default(d.http_threads),
        Opt::value(
            "api-key",
            "KEY",
            "require 'Authorization: Bearer KEY' on every route but /health\n(else $MINILM_API_KEY; default: no key)",
        ),
        Opt::value("max-body-bytes", "N", "largest request body (413 above)").default(d.max_body_bytes),
        Opt::value("max-inputs", "N", "most inputs per request (400 above)").default(d.max_inputs),
        Opt::value("batch-tokens", "N", "most word pieces per forward pass").default(d.batch_tokens),
        Opt::value(
            "batch-wait-ms",
            "N",
            "longest a request waits for others to batch with (0: run as soon\nas the engine is free, with everything queued)",
        )
        .default(d.batch_wait.as_millis()),
        Opt::value(
            "queue-inputs",
            "N",
            "most inputs waiting (about a second of work; 503 + Retry-After\nabove)",
        )
        .default(d.queue_inputs),
        Opt::value(
            "request-timeout-s",
            "S",
            "longest a request may take, upload and queue included",
        )
        .default(d.request_timeout.as_secs_f64()),
        Opt::value(
            "shutdown-grace-s",
            "S",
            "longest the shutdown waits for requests in flight",
        )
        .default(d.shutdown_grace.as_secs_f64()),
        Opt::switch("no-normalize", "embeddings not scaled to unit length"),
    ];
    CommandSpec {
        name: "serve",
        summary: "an OpenAI-compatible embedding server (POST /v1/embeddings)",
        usage: &[],
        positionals: false,
        about: "Serves POST /v1/embeddings (the OpenAI request and response), POST
/v1/classify (with --checkpoint), GET /v1/models, GET /health and GET
/metrics (Prometheus). Prints the bound address on standard error
(--port 0 picks a free port). SIGTERM or Ctrl-C stops accepting, finishes
the requests in flight, then exits 0.",
        sections: vec![Section { title: "", options }],
        footer: "",
    }
}

impl Options {
    /// Options from parsed command-line arguments; the key may also come
    /// from `$MINILM_API_KEY` (the flag wins).
    pub fn from_args(args: &Args) -> Result<Options> {
        let d = Options::default();
        let positive = |name: &str, default: usize| -> Result<usize> {
            match args.parsed::<usize>(name)? {
                Some(0) => Err(Error::msg(format!("--{name} must be at least 1"))),
                Some(n) => Ok(n),
                None => Ok(default),
            }
        };
        let secs = |name: &str, default: Duration| -> Result<Duration> {
            match args.parsed::<f64>(name)? {
                Some(s) if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s)),
                Some(_) => Err(Error::msg(format!("--{name} must be a positive number"))),
                None => Ok(default),
            }
        };
        let api_key = args
            .value("api-key")
            .map(str::to_string)
            .or_else(|| std::env::var("MINILM_API_KEY").ok())
            .filter(|k| !k.is_empty());
        let opts = Options {
            host: args.value("host").unwrap_or(&d.host).to_string(),
            port: args.parsed::<u16>("port")?.unwrap_or(d.port),
            model: args.value("model").map(PathBuf::from),
            checkpoint: args.value("checkpoint").map(PathBuf::from),
            threads: match args.parsed::<usize>("threads")? {
                Some(0) => return Err(Error::msg("--threads must be at least 1")),
                t => t,
            },
            precision: crate::cli::precision_arg(args)?,
            http_threads: positive("http-threads", d.http_threads)?,
            api_key,
            max_body_bytes: positive("max-body-bytes", d.max_body_bytes)?,
            max_inputs: positive("max-inputs", d.max_inputs)?,
            batch_tokens: positive("batch-tokens", d.batch_tokens)?,
            batch_wait: Duration::from_millis(
                args.parsed::<u64>("batch-wait-ms")?
                    .unwrap_or(d.batch_wait.as_millis() as u64),
            ),
            queue_inputs: positive("queue-inputs", d.queue_inputs)?,
            request_timeout: secs("request-timeout-s", d.request_timeout)?,
            shutdown_grace: secs("shutdown-grace-s", d.shutdown_grace)?,
            normalize: !args.switch("no-normalize"),
        };
        Ok(opts)
    }
}
