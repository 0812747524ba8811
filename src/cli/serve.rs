//! `minilm serve`: the OpenAI-compatible embedding server (docs/serving.md).

use super::args::Args;
use crate::error::{Error, Result};
use crate::serve::options::{Options, SWITCHES, VALUED};

const HELP: &str = "usage: minilm serve [--host 127.0.0.1] [--port 8080] [--model DIR] [--checkpoint DIR] [--threads N] [--api-key KEY] [options]

Serves POST /v1/embeddings (the OpenAI request and response), POST
/v1/classify (with --checkpoint), GET /v1/models, GET /health and GET
/metrics (Prometheus). Prints the bound address on standard error
(--port 0 picks a free port). SIGTERM or Ctrl-C stops accepting, finishes
the requests in flight, then exits 0.

  --host ADDR              address to listen on (default 127.0.0.1, loopback only)
  --port N                 port (default 8080; 0: any free port)
  --model DIR              model folder (default as minilm embed finds it)
  --checkpoint DIR         a trained checkpoint: enables POST /v1/classify
  --threads N              threads of the forward passes (default: every core)
  --precision P            f32 (default: exact), bf16 or int8 (docs/performance.md#precision)
  --http-threads N         threads parsing and answering requests (default 1)
  --api-key KEY            require 'Authorization: Bearer KEY' on every route but
                           /health (else $MINILM_API_KEY; default: no key)
  --max-body-bytes N       largest request body (default 2097152; 413 above)
  --max-inputs N           most inputs per request (default 2048; 400 above)
  --batch-tokens N         most word pieces per forward pass (default 8192)
  --batch-wait-ms N        longest a request waits for others to batch with (default 0:
                           run as soon as the engine is free, with everything queued)
  --queue-inputs N         most inputs waiting (default 256, about a second of work;
                           503 + Retry-After above)
  --request-timeout-s S    longest a request may take, upload and queue included (default 30)
  --shutdown-grace-s S     longest the shutdown waits for requests in flight (default 30)
  --no-normalize           embeddings not scaled to unit length";

/// Run `minilm serve`.
pub fn run(argv: &[String]) -> Result<()> {
    let args = Args::parse(argv, VALUED, SWITCHES)?;
    if args.switch("help") {
        println!("{HELP}");
        return Ok(());
    }
    if let Some(p) = args.positional.first() {
        return Err(Error::usage(format!("unexpected argument {p:?}\n{HELP}")));
    }
    crate::serve::run(Options::from_args(&args)?)
}
