//! Run controls: `POST /api/pause`, `POST /api/resume`, `POST /api/stop`
//! (the dashboard's buttons). Token-checked like every data route; no
//! body. Each answers `{"state": ..., "in_flight": n}` with the state
//! afterwards, or 409 with a message when the crawl is already stopping.

use super::ApiState;
use super::routes::{ask, authorize};
use crate::control::{ControlRequest, RunAction};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

type ApiResult = Result<Response, (StatusCode, String)>;

/// `POST /api/pause`: no new leases; in-flight fetches finish.
pub(super) async fn pause(State(state): State<ApiState>, headers: HeaderMap) -> ApiResult {
    run(&state, &headers, RunAction::Pause).await
}

/// `POST /api/resume`: hand out leases again.
pub(super) async fn resume(State(state): State<ApiState>, headers: HeaderMap) -> ApiResult {
    run(&state, &headers, RunAction::Resume).await
}

/// `POST /api/stop`: the first SIGINT (drain, store, exit 0).
pub(super) async fn stop(State(state): State<ApiState>, headers: HeaderMap) -> ApiResult {
    run(&state, &headers, RunAction::Stop).await
}

async fn run(state: &ApiState, headers: &HeaderMap, action: RunAction) -> ApiResult {
    authorize(state, headers)?;
    match ask(state, |reply| ControlRequest::Run { action, reply }).await? {
        Ok(change) => Ok(Json(change).into_response()),
        Err(msg) => Err((StatusCode::CONFLICT, msg)),
    }
}
