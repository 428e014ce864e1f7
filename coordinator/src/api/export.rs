//! `GET /api/export?format=jsonl|csv|warc`: the whole store, streamed in
//! chunks ([`super::stream`]) like `/api/pages`, in the very bytes an
//! offline `trawl export` writes (only a WARC's `warcinfo` record is dated
//! by the export). `trawl export` on a store a crawl holds comes here.

use super::ApiState;
use crate::export::{self, Format};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::{SystemTime, UNIX_EPOCH};

/// A bad parameter: 400 with `{"error": ..., "param": ...}`, like
/// `/api/pages`.
fn bad_param(param: &str, error: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": error, "param": param })))
        .into_response()
}

/// The format a query string asks for (`jsonl` when it names none), or
/// the bad parameter and what is wrong with it.
fn parse_format(raw: &str) -> Result<Format, (String, String)> {
    let mut format = Format::Jsonl;
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if k != "format" {
            return Err((k.to_string(), format!("{k}: unknown parameter (valid: format)")));
        }
        format = Format::from_name(&v).ok_or_else(|| {
            (
                "format".to_owned(),
                format!("format: unknown format {v:?} (valid: {})", Format::NAMES.join(", ")),
            )
        })?;
    }
    Ok(format)
}

pub(super) async fn export(
    State(state): State<ApiState>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, (StatusCode, String)> {
    super::routes::authorize(&state, &headers)?;
    let format = match parse_format(&raw.unwrap_or_default()) {
        Ok(f) => f,
        Err((param, error)) => return Ok(bad_param(&param, error)),
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let store = state.store.clone();
    let (mut writer, body) = super::stream::channel();
    // Owned by the response: it ends when the export does, or at the
    // next write after the client goes away.
    tokio::task::spawn_blocking(move || match export::run(&store, format, now_ms, &mut writer) {
        Ok(_) => {}
        Err(e) if e.is_broken_pipe() => {}
        Err(e) => {
            tracing::warn!(error = %e, "export failed while streaming");
            writer.fail(e.to_string());
        }
    });
    Ok(([(header::CONTENT_TYPE, format.content_type())], axum::body::Body::from_stream(body))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_bad_parameters() {
        assert_eq!(parse_format("").ok(), Some(Format::Jsonl));
        assert_eq!(parse_format("format=warc").ok(), Some(Format::Warc));
        assert_eq!(parse_format("format=csv").ok(), Some(Format::Csv));
        for (bad, param) in
            [("format=xml", "format"), ("format=", "format"), ("fromat=csv", "fromat")]
        {
            let (p, error) = parse_format(bad).unwrap_err();
            assert_eq!(p, param, "{bad}");
            assert!(error.contains("valid:"), "{bad}: {error}");
        }
    }
}
