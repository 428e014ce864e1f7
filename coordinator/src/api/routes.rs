//! The API's routes. Errors are a status code plus a plain-text message.

use super::ApiState;
use crate::control::ControlRequest;
use crate::query::{self, QueryOptions};
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
        .route("/api/openapi.json", get(openapi))
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

async fn pages(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult {
    authorize(&state, &headers)?;
    let raw = raw.unwrap_or_default();
    let opts = QueryOptions::from_pairs(url::form_urlencoded::parse(raw.as_bytes()))
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let content_type = opts.format.content_type();
    let store = state.store.clone();
    let body = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        query::run(&store, &opts, &mut out).map(|_| out)
    })
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| match e {
        query::QueryError::BadParam { .. } => (StatusCode::BAD_REQUEST, e.to_string()),
        other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    })?;
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
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
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        super::metrics::render(&report),
    )
        .into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("openapi.json")).into_response()
}

/// The dashboard is public HTML; the data it polls is behind the token.
async fn dashboard() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], include_str!("dashboard.html"))
        .into_response()
}

#[cfg(test)]
mod tests {
    /// The OpenAPI description is valid JSON and documents every route.
    #[test]
    fn openapi_documents_every_route() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let source = include_str!("routes.rs");
        let routes: Vec<&str> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix(".route(\""))
            .filter_map(|l| l.split('"').next())
            .collect();
        assert!(routes.len() >= 8, "{routes:?}");
        for r in routes {
            assert!(paths.contains_key(r), "openapi.json does not document {r}");
        }
        // Every query option is a documented /api/pages parameter.
        let documented: Vec<&str> = doc["paths"]["/api/pages"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let all = crate::query::QueryOptions {
            wheres: vec!["a=1".into()],
            limit: Some(1),
            offset: Some(1),
            ..crate::query::QueryOptions::default()
        };
        let mut every = all.to_pairs();
        for name in [
            "url_prefix",
            "url_glob",
            "url_regex",
            "host",
            "status",
            "content_type",
            "depth",
            "outcome",
            "since",
            "until",
            "fields",
            "sort",
            "count_by",
        ] {
            every.push((name, String::new()));
        }
        for (name, _) in every {
            assert!(documented.contains(&name), "openapi.json lacks the {name} parameter");
        }
    }
}
