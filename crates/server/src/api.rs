//! The JSON API: for reading devices (redeem a handle, submit evidence, report status) and
//! for relying parties (create a session, take the result). Described in `openapi.json`,
//! served at `/api/openapi.json`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::service::{Purpose, Service};

/// The API routes.
pub fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/sessions", post(create_session))
        .route("/api/v1/sessions/{id}/result", get(take_result))
        .route("/api/v1/handles/{handle}/redeem", post(redeem))
        .route("/api/v1/handles/{handle}/evidence", post(evidence))
        .route("/api/v1/handles/{handle}/status", post(status))
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../openapi.json"),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(ApiError::unauthorized)
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return serde_json::from_slice(b"{}").map_err(|_| ApiError::bad_request("a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(&format!("JSON: {}", e.classify_name())))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Data => "wrong fields or types",
            _ => "not well-formed",
        }
    }
}

fn valid_token(t: &str) -> Result<&str, ApiError> {
    // Handles and ids are base64url of 16-24 bytes; anything else is not ours.
    if (16..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(t)
    } else {
        Err(ApiError::handle_unknown())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSession {
    purpose: String,
    #[serde(default)]
    return_url: Option<String>,
}

async fn create_session(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let rp = svc
        .relying_party_by_key(bearer(&headers)?)
        .ok_or_else(ApiError::unauthorized)?
        .id
        .clone();
    let req: CreateSession = json_body(&body)?;
    let purpose = Purpose::parse(&req.purpose).ok_or_else(|| ApiError::bad_request("purpose"))?;
    let created = svc.create_session(&rp, purpose, req.return_url).await?;
    let base = svc.config().public_origin();
    let body = json!({
        "session_id": created.id,
        "browser_url": format!("{base}/s/{}/start?t={}", created.id, created.browser_token),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn take_result(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rp = svc
        .relying_party_by_key(bearer(&headers)?)
        .ok_or_else(ApiError::unauthorized)?
        .id
        .clone();
    let id = valid_token(&id).map_err(|_| ApiError::not_found())?;
    let result = svc.take_result(&rp, id).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(result)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Redeem {
    #[serde(default)]
    reader: Option<mynaid_evidence::ReaderApp>,
}

async fn redeem(
    State(svc): State<Arc<Service>>,
    Path(handle): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let handle = valid_token(&handle)?;
    let req: Redeem = json_body(&body)?;
    let answer = svc
        .redeem(handle, req.reader.as_ref().map(|r| r.version.as_str()))
        .await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response())
}

async fn evidence(
    State(svc): State<Arc<Service>>,
    Path(handle): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let handle = valid_token(&handle)?;
    let token = bearer(&headers)?;
    let submitted = svc.submit_evidence(handle, token, &body).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(submitted)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Status {
    status: String,
    #[serde(default)]
    tries_left: Option<u8>,
}

async fn status(
    State(svc): State<Arc<Service>>,
    Path(handle): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let handle = valid_token(&handle)?;
    let token = bearer(&headers)?;
    let req: Status = json_body(&body)?;
    svc.reader_status(handle, token, &req.status, req.tries_left).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
