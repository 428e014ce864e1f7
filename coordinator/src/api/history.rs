//! `GET /api/history?url=URL`: one page's fetch history, the same rows as
//! `trawl query --history URL` (it is that query: `url` becomes the
//! `history` option, and `format`, `limit` and `offset` pass through).

use super::ApiState;
use super::routes::{authorize, bad_param};
use crate::query::{self, QueryError, QueryOptions};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// The parameters `/api/history` takes.
const PARAMS: [&str; 4] = ["url", "format", "limit", "offset"];

pub(crate) async fn history(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, (StatusCode, String)> {
    authorize(&state, &headers)?;
    let raw = raw.unwrap_or_default();
    let mut pairs = Vec::new();
    let mut has_url = false;
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if !PARAMS.contains(&k.as_ref()) {
            let message = format!("unknown parameter; expected one of {}", PARAMS.join(", "));
            return Ok(bad_param(&QueryError::BadParam { param: k.into_owned(), message }));
        }
        has_url |= k == "url";
        let k = if k == "url" { Cow::from("history") } else { k };
        pairs.push((k, v));
    }
    if !has_url {
        let e = QueryError::BadParam { param: "url".into(), message: "is required".into() };
        return Ok(bad_param(&e));
    }
    let opts = match QueryOptions::from_pairs(pairs).and_then(|o| o.validate().map(|()| o)) {
        Ok(o) => o,
        Err(QueryError::BadParam { param, message }) => {
            let param = if param == "history" { "url".to_owned() } else { param };
            return Ok(bad_param(&QueryError::BadParam { param, message }));
        }
        Err(e) => return Ok(bad_param(&e)),
    };
    let content_type = opts.format.content_type();
    let store = state.store.clone();
    let body = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        query::run(&store, &opts, &mut out).map(|_| out)
    })
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match body {
        Ok(out) => Ok(([(header::CONTENT_TYPE, content_type)], out).into_response()),
        Err(e @ QueryError::BadParam { .. }) => Ok(bad_param(&e)),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}
