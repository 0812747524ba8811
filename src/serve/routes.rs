//! The routes: `POST /v1/embeddings`, `POST /v1/classify` (with a
//! checkpoint), `GET /v1/models`, `GET /health`, `GET /metrics`. Handlers
//! only parse, tokenize, queue and await the batcher's answer.

use super::auth;
use super::batcher::{Output, Queue, Work};
use super::engine::Ready;
use super::error::ApiError;
use super::limits;
use super::metrics::Metrics;
use super::options::Options;
use super::request::{ClassifyRequest, EmbedRequest};
use super::response;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::{Arc, OnceLock};
use tokio::time::{timeout_at, Instant};

/// What every handler shares.
pub struct App {
    /// The settings.
    pub opts: Options,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The batcher's queue.
    pub queue: Queue,
    /// Set by the batcher thread once the model is loaded.
    pub ready: OnceLock<Ready>,
}

/// The route's label in `/metrics` (fixed strings: no client text).
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/embeddings" => "embeddings",
        "/v1/classify" => "classify",
        "/v1/models" => "models",
        "/health" => "health",
        "/metrics" => "metrics",
        _ => "other",
    }
}

/// The router, with the API key required on every route but `/health`.
pub fn router(app: Arc<App>) -> Router {
    let protected = Router::new()
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/classify", post(classify))
        .route("/v1/models", get(models))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::require_key,
        ));
    Router::new()
        .route("/health", get(health))
        .merge(protected)
        .with_state(app)
}

/// Count the answer in `/metrics` and turn it into a response.
fn answer(app: &App, route: &'static str, r: Result<Response, ApiError>) -> Response {
    match r {
        Ok(resp) => {
            app.metrics.request(route, resp.status().as_u16(), None);
            resp
        }
        Err(e) => {
            app.metrics.request(route, e.status.as_u16(), Some(e.code));
            e.into_response()
        }
    }
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

impl App {
    /// The loaded model, or 503 while it loads.
    fn ready(&self) -> Result<&Ready, ApiError> {
        self.ready
            .get()
            .ok_or_else(|| ApiError::unavailable("loading", "the model is still loading", 1))
    }

    /// Read the body, parse it, tokenize, queue and wait for the answer.
    async fn run<T>(
        &self,
        req: Request,
        work: Work,
        parse: impl FnOnce(&[u8], &Ready) -> Result<(T, Vec<String>, bool), ApiError>,
    ) -> Result<(T, Output, usize), ApiError> {
        let deadline = Instant::now() + self.opts.request_timeout;
        let ready = self.ready()?;
        let (parts, body) = req.into_parts();
        let bytes =
            limits::read_body(body, &parts.headers, self.opts.max_body_bytes, deadline).await?;
        let (parsed, texts, truncate) = parse(&bytes, ready)?;
        let tokens = limits::tokenize(&ready.tokenizer, &texts, truncate)?;
        let count: usize = tokens.iter().map(|t| t.len()).sum();
        let rx = self.queue.submit(work, tokens)?;
        match timeout_at(deadline, rx).await {
            Err(_) => Err(ApiError::unavailable(
                "timeout",
                "the request waited longer than the server's timeout (--request-timeout-s)",
                1,
            )),
            Ok(Err(_)) => Err(ApiError::unavailable(
                "shutting_down",
                "the server is shutting down",
                1,
            )),
            Ok(Ok(Err(e))) => Err(ApiError::internal(e)),
            Ok(Ok(Ok(out))) => Ok((parsed, out, count)),
        }
    }
}

async fn embeddings(State(app): State<Arc<App>>, req: Request) -> Response {
    let start = std::time::Instant::now();
    let r = async {
        let (parsed, out, tokens) = app
            .run(req, Work::Embed, |b, ready| {
                let mut r = EmbedRequest::parse(b, app.opts.max_inputs, ready.dim)?;
                let texts = std::mem::take(&mut r.inputs);
                let truncate = r.truncate;
                Ok((r, texts, truncate))
            })
            .await?;
        let Output::Embeddings(rows) = out else {
            return Err(ApiError::internal(
                "the engine answered with the wrong kind",
            ));
        };
        let model = parsed
            .model
            .as_deref()
            .unwrap_or(&app.ready()?.model_id)
            .to_string();
        Ok(json(response::embeddings(
            &rows,
            parsed.encoding,
            &model,
            tokens,
        )))
    }
    .await;
    app.metrics.latency.observe(start.elapsed().as_secs_f64());
    answer(&app, "embeddings", r)
}

async fn classify(State(app): State<Arc<App>>, req: Request) -> Response {
    let start = std::time::Instant::now();
    let r = async {
        let tasks = app.ready()?.tasks.as_ref().ok_or_else(|| {
            ApiError::not_found(
                "POST /v1/classify needs a trained checkpoint: start the server with --checkpoint DIR",
            )
        })?;
        let (parsed, out, tokens) = app
            .run(req, Work::Classify, |b, _| {
                let mut r = ClassifyRequest::parse(b, app.opts.max_inputs)?;
                let texts = std::mem::take(&mut r.inputs);
                let truncate = r.truncate;
                Ok((r, texts, truncate))
            })
            .await?;
        let Output::Probs(probs) = out else {
            return Err(ApiError::internal("the engine answered with the wrong kind"));
        };
        let chosen: Vec<(usize, &str, &[String])> = match parsed.task.as_deref() {
            None => tasks
                .iter()
                .enumerate()
                .map(|(i, (n, c))| (i, n.as_str(), c.as_slice()))
                .collect(),
            Some(want) => {
                let i = tasks
                    .iter()
                    .position(|(n, _)| n == want)
                    .or(match want {
                        "A" => Some(0),
                        "B" => Some(1),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "unknown_task",
                            format!(
                                "'task' must be {:?}, {:?}, \"A\" or \"B\", not {want:?}",
                                tasks[0].0, tasks[1].0
                            ),
                        )
                    })?;
                vec![(i, tasks[i].0.as_str(), tasks[i].1.as_slice())]
            }
        };
        let model = &app.ready()?.model_id;
        Ok(json(response::classify(&probs, &chosen, model, tokens)))
    }
    .await;
    app.metrics.latency.observe(start.elapsed().as_secs_f64());
    answer(&app, "classify", r)
}

async fn models(State(app): State<Arc<App>>) -> Response {
    let r = app.ready().map(|ready| {
        json(
            serde_json::json!({
                "object": "list",
                "data": [{"id": ready.model_id, "object": "model", "owned_by": "minilm"}],
            })
            .to_string(),
        )
    });
    answer(&app, "models", r)
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let r = match app.ready.get() {
        Some(_) => Ok(json(r#"{"status":"ok"}"#.into())),
        None => Err(ApiError::unavailable(
            "loading",
            "the model is still loading",
            1,
        )),
    };
    answer(&app, "health", r)
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    app.metrics.request("metrics", 200, None);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

async fn not_found(State(app): State<Arc<App>>, req: Request) -> Response {
    let e = ApiError::not_found(format!(
        "no route {} {}: the routes are POST /v1/embeddings, POST /v1/classify, GET /v1/models, GET /health, GET /metrics",
        req.method(),
        req.uri().path()
    ));
    answer(&app, "other", Err(e))
}

async fn method_not_allowed(State(app): State<Arc<App>>, req: Request) -> Response {
    let route = route_label(req.uri().path());
    let e = ApiError::method_not_allowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.uri().path()
    ));
    answer(&app, route, Err(e))
}
