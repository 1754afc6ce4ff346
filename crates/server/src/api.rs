//! The JSON API: for reading devices (redeem a handle, submit evidence, report status) and
//! for relying parties (create a session, take the result). Described in `openapi.json`,
//! served at `/api/openapi.json`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mynaid_protocol::Purpose;
use mynaid_protocol::api::{RedeemRequest, StatusReport};
use mynaid_sessions::{Presence, SessionError};
use mynaid_web::Answer;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroize;

use crate::Server;

/// The API routes.
pub fn routes() -> Router<Arc<Server>> {
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

fn bearer(headers: &HeaderMap) -> Result<&str, Answer> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(|| SessionError::Unauthorized.into())
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Answer> {
    if body.is_empty() {
        return serde_json::from_slice(b"{}").map_err(|_| Answer::bad_request("a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| Answer::bad_request(&format!("JSON: {}", e.classify_name())))
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

/// Whether `t` has the form of a handle or id (base64url of 16-24 bytes); anything else is
/// not ours.
pub(crate) fn well_formed_token(t: &str) -> bool {
    (16..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn valid_token(t: &str) -> Result<&str, Answer> {
    if well_formed_token(t) {
        Ok(t)
    } else {
        Err(SessionError::HandleUnknown.into())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSession {
    purpose: Purpose,
    #[serde(default)]
    return_url: Option<String>,
}

async fn create_session(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Result<Response, Answer> {
    let rp = s
        .sessions
        .relying_party_by_key(bearer(&headers)?)
        .ok_or(SessionError::Unauthorized)?
        .id
        .clone();
    let req: CreateSession = json_body(&body)?;
    let created = s.sessions.create_session(&rp, req.purpose, req.return_url).await?;
    let base = &s.origin;
    let body = json!({
        "session_id": created.id,
        "browser_url": format!("{base}/s/{}/start?t={}", created.id, created.start_token),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The result's query: the code the session's browser brought back (`code` of the return
/// address).
#[derive(Deserialize)]
struct ResultQuery {
    code: Option<String>,
}

async fn take_result(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ResultQuery>,
) -> Result<Response, Answer> {
    let rp = s
        .sessions
        .relying_party_by_key(bearer(&headers)?)
        .ok_or(SessionError::Unauthorized)?
        .id
        .clone();
    let id = valid_token(&id).map_err(|_| Answer::from(SessionError::NotFound))?;
    let code = q.code.unwrap_or_default();
    let result = s.sessions.take_result(&rp, id, Presence::ReturnCode(&code)).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(result)).into_response())
}

async fn redeem(State(s): State<Arc<Server>>, Path(handle): Path<String>, body: Bytes) -> Result<Response, Answer> {
    let handle = valid_token(&handle)?;
    let req: RedeemRequest = json_body(&body)?;
    let answer = s
        .sessions
        .redeem(handle, req.reader.as_ref().map(|r| r.version.as_str()), req.device)
        .await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response())
}

async fn evidence(
    State(s): State<Arc<Server>>,
    Path(handle): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Answer> {
    let handle = valid_token(&handle)?;
    let token = bearer(&headers)?;
    let submitted = s.sessions.submit_evidence(handle, token, &body).await;
    // The document names the person (records, certificate): wiped here, once it is used,
    // rather than left in a freed buffer.
    if let Ok(mut bytes) = body.try_into_mut() {
        bytes.as_mut().zeroize();
    }
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(submitted?)).into_response())
}

async fn status(
    State(s): State<Arc<Server>>,
    Path(handle): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Answer> {
    let handle = valid_token(&handle)?;
    let token = bearer(&headers)?;
    let req: StatusReport = json_body(&body)?;
    s.sessions
        .reader_status(handle, token, req.status, req.tries_left, req.pin)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
