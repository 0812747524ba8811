//! `minilm serve`: an OpenAI-compatible embedding server (feature `serve`).
//!
//! One file per concept: [`options`] (settings), [`routes`] (handlers),
//! [`request`] / [`response`] (bodies), [`batcher`] (the queue and the
//! forward-pass thread), [`engine`] (the model), [`auth`] (the API key),
//! [`limits`] (body size, deadlines, token policy), [`metrics`]
//! (Prometheus), [`shutdown`] (signals). See docs/serving.md.

pub mod auth;
pub mod batcher;
pub mod engine;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod options;
pub mod request;
pub mod response;
pub mod routes;
pub mod shutdown;

use crate::error::{Error, Result};
use options::Options;
use routes::App;
use std::future::IntoFuture;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};

/// Listen, load the model on the batcher thread, serve until SIGTERM or
/// Ctrl-C, finish the requests in flight, return.
pub fn run(opts: Options) -> Result<()> {
    // Tokenizing runs on the HTTP threads, one request at a time: with the
    // tokenizer's own rayon parallelism it would queue behind the forward
    // pass on the same pool (the kernels' team), so intake would stall to
    // one request per pass.
    tokenizers::utils::parallelism::set_parallelism(false);
    if let Some(n) = opts.threads {
        minilm_kernels::parallel::set_threads(n).map_err(Error::msg)?;
    }
    let listener = std::net::TcpListener::bind((opts.host.as_str(), opts.port))
        .map_err(|e| Error::msg(format!("cannot listen on {}:{}: {e}", opts.host, opts.port)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::msg(format!("cannot read the bound address: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::msg(format!("{addr}: {e}")))?;
    eprintln!("minilm serve: listening on http://{addr}");
    let metrics = Arc::new(metrics::Metrics::default());
    let (queue, rx) = batcher::Queue::new(opts.queue_inputs, metrics.clone());
    let app = Arc::new(App {
        opts: opts.clone(),
        metrics: metrics.clone(),
        queue,
        ready: OnceLock::new(),
    });
    let batcher = spawn_batcher(app.clone(), rx)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.http_threads)
        .enable_all()
        .build()
        .map_err(|e| Error::msg(format!("cannot start the HTTP runtime: {e}")))?;
    let served = rt.block_on(serve(listener, app.clone()));
    app.queue.close();
    drop(app);
    let _ = batcher.join();
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    served?;
    eprintln!("minilm serve: stopped");
    Ok(())
}

/// Serve until a signal, then wait (up to the grace period) for the
/// requests in flight.
async fn serve(listener: std::net::TcpListener, app: Arc<App>) -> Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| Error::msg(format!("cannot listen: {e}")))?;
    let grace = app.opts.shutdown_grace;
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, routes::router(app)).with_graceful_shutdown(async move {
        shutdown::signal().await;
        eprintln!("minilm serve: stopping (finishing the requests in flight)");
        let _ = tx.send(true);
    });
    let server = tokio::spawn(server.into_future());
    // Until the signal, only a failing server ends this.
    let stopped = rx.wait_for(|&s| s).await.is_ok();
    let joined = if stopped {
        tokio::time::timeout(grace, server).await
    } else {
        Ok(server.await)
    };
    match joined {
        Err(_) => {
            eprintln!("minilm serve: the grace period ended with requests still open");
            Ok(())
        }
        Ok(Err(e)) => Err(Error::msg(format!("server task failed: {e}"))),
        Ok(Ok(Err(e))) => Err(Error::msg(format!("server failed: {e}"))),
        Ok(Ok(Ok(()))) => Ok(()),
    }
}

/// The batcher thread: load the model, publish it, then run batches until
/// the queue closes. A model that fails to load ends the process (exit 1).
fn spawn_batcher(
    app: Arc<App>,
    rx: std::sync::mpsc::Receiver<batcher::Job>,
) -> Result<std::thread::JoinHandle<()>> {
    let weak = Arc::downgrade(&app);
    let opts = app.opts.clone();
    let metrics = app.metrics.clone();
    drop(app);
    std::thread::Builder::new()
        .name("minilm-batcher".into())
        .spawn(move || {
            let (engine, ready) = match engine::Engine::load(&opts) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("minilm: {e}");
                    std::process::exit(1);
                }
            };
            if let Some(app) = weak.upgrade() {
                let _ = app.ready.set(ready);
            }
            metrics.ready.store(1, Relaxed);
            eprintln!("minilm serve: ready");
            let policy = batcher::Policy {
                batch_tokens: opts.batch_tokens,
                batch_wait: opts.batch_wait,
            };
            batcher::run(engine, rx, policy, &metrics);
        })
        .map_err(|e| Error::msg(format!("cannot start the batcher thread: {e}")))
}
