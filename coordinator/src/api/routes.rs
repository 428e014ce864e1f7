//! The API's routes. Errors are a status code plus a plain-text message.

use super::ApiState;
use crate::control::ControlRequest;
use crate::query::{self, QueryError, QueryOptions};
use crate::scheduler::Event;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::oneshot;
use trawl_common::url::parse_crawl_url;

/// How long a request waits for the scheduler.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

type ApiResult = Result<Response, (StatusCode, String)>;

pub(crate) fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/workers", post(scale))
        .route("/api/seeds", post(seeds))
        .route("/api/pages", get(pages))
        .route("/api/pages/{url}", get(page))
        .route("/api/history", get(super::history::history))
        .route("/api/export", get(super::export::export))
        .route("/api/openapi.json", get(openapi))
        .route("/api/cluster", get(super::cluster::cluster))
        .route("/metrics", get(metrics))
        .route("/", get(dashboard))
        // Run controls (the dashboard's buttons): handlers in controls.rs.
        .route("/api/pause", post(super::controls::pause))
        .route("/api/resume", post(super::controls::resume))
        .route("/api/stop", post(super::controls::stop))
        .with_state(state)
}

pub(super) fn authorize(state: &ApiState, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let Some(token) = &state.token else { return Ok(()) };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(token.as_str()) {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, "missing or wrong bearer token".into()))
    }
}

/// Sends a request to the scheduler and waits for its reply.
pub(super) async fn ask<T>(
    state: &ApiState,
    make: impl FnOnce(oneshot::Sender<T>) -> ControlRequest,
) -> Result<T, (StatusCode, String)> {
    let (tx, rx) = oneshot::channel();
    let ev = Event::Control(make(tx));
    let control = state.control.clone();
    let unavailable = || (StatusCode::SERVICE_UNAVAILABLE, "the crawl is finishing".to_owned());
    tokio::task::spawn_blocking(move || control.send(ev))
        .await
        .map_err(|_| unavailable())?
        .map_err(|_| unavailable())?;
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(v)) => Ok(v),
        _ => Err(unavailable()),
    }
}

async fn status(State(state): State<ApiState>, headers: HeaderMap) -> ApiResult {
    authorize(&state, &headers)?;
    let report = ask(&state, ControlRequest::Status).await?;
    Ok(Json(report).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScaleBody {
    workers: u32,
}

async fn scale(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Json<ScaleBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    authorize(&state, &headers)?;
    let Json(body) = body.map_err(|e| (StatusCode::BAD_REQUEST, e.body_text()))?;
    let workers = body.workers;
    match ask(&state, |reply| ControlRequest::Scale { workers, reply }).await? {
        Ok(n) => Ok(Json(serde_json::json!({ "target_workers": n })).into_response()),
        Err(msg) => Err((StatusCode::BAD_REQUEST, msg)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedsBody {
    urls: Vec<String>,
}

async fn seeds(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Json<SeedsBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    authorize(&state, &headers)?;
    let Json(body) = body.map_err(|e| (StatusCode::BAD_REQUEST, e.body_text()))?;
    let mut urls = Vec::with_capacity(body.urls.len());
    for u in &body.urls {
        let url = parse_crawl_url(u).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
        if !state.scope.allows(&url) {
            return Err((StatusCode::BAD_REQUEST, format!("{url} is outside the crawl's scope")));
        }
        urls.push(url.to_string());
    }
    let added = ask(&state, |reply| ControlRequest::Seeds { urls, reply }).await?;
    Ok(Json(serde_json::json!({ "added": added })).into_response())
}

/// A bad `/api/pages` parameter: 400 with `{"error": ..., "param": ...}`.
pub(super) fn bad_param(e: &QueryError) -> Response {
    let param = match e {
        QueryError::BadParam { param, .. } => param.as_str(),
        _ => "",
    };
    let body = serde_json::json!({ "error": e.to_string(), "param": param });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn pages(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult {
    authorize(&state, &headers)?;
    let raw = raw.unwrap_or_default();
    let opts = match QueryOptions::from_pairs(url::form_urlencoded::parse(raw.as_bytes()))
        .and_then(|o| o.validate().map(|()| o))
    {
        Ok(o) => o,
        Err(e) => return Ok(bad_param(&e)),
    };
    let content_type = opts.format.content_type();
    let store = state.store.clone();
    // Checked above, so the answer can start at once: it streams, and
    // the coordinator never holds more than a few chunks of it.
    let (mut writer, body) = super::stream::channel();
    tokio::task::spawn_blocking(move || {
        // Every format flushes its writer at the end: the last chunk goes.
        match query::run(&store, &opts, &mut writer) {
            Ok(_) => {}
            // The client went away: nothing to tell.
            Err(QueryError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => {
                tracing::warn!(error = %e, "live query failed while streaming");
                writer.fail(e.to_string());
            }
        }
    });
    Ok(([(header::CONTENT_TYPE, content_type)], axum::body::Body::from_stream(body))
        .into_response())
}

async fn page(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::extract::Path(url): axum::extract::Path<String>,
) -> ApiResult {
    authorize(&state, &headers)?;
    let key = parse_crawl_url(&url).map_or(url, |u| u.to_string());
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || store.page(&key).map(|r| (key, r)))
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match found {
        (_, Some(record)) => Ok(Json(crate::query::PageView::of(&record)).into_response()),
        (key, None) => Err((StatusCode::NOT_FOUND, format!("{key} is not stored"))),
    }
}

async fn metrics(State(state): State<ApiState>, headers: HeaderMap) -> ApiResult {
    authorize(&state, &headers)?;
    let report = ask(&state, ControlRequest::Status).await?;
    let mut text = super::metrics::render(&report);
    text.push_str(&super::cluster::metrics(&state).await);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::openapi::document()).into_response()
}

/// The dashboard is public HTML; the data it polls is behind the token.
async fn dashboard() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], include_str!("dashboard.html"))
        .into_response()
}
