//! The demo relying party: "a registration portal" with one account page that offers
//! 'link my card' and 'verify my identity', talking to mynaid like any application would —
//! over HTTP, with its API key.
//!
//! It keeps its accounts in memory: it exists to show the flows, not to be a product.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// How the portal reaches mynaid.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// mynaid's base URL, e.g. `http://127.0.0.1:8080`.
    pub mynaid_url: String,
    /// The portal's API key at mynaid.
    pub api_key: String,
    /// The portal's own base URL (for the return address).
    pub portal_url: String,
}

#[derive(Debug, Default)]
struct Account {
    linked_card: Option<String>,
    verified: Option<Value>,
    pending: Vec<String>,
    message: Option<String>,
}

#[derive(Clone)]
struct Portal {
    config: PortalConfig,
    http: reqwest::Client,
    // One demo account per browser (cookie), created on first visit.
    accounts: Arc<Mutex<HashMap<String, Account>>>,
}

/// The portal's routes, under `/portal`.
pub fn router(config: PortalConfig) -> Router {
    let portal = Portal {
        config,
        http: reqwest::Client::new(),
        accounts: Arc::default(),
    };
    Router::new()
        .route("/portal", get(account))
        .route("/portal/start", post(start))
        .route("/portal/return", get(back))
        .with_state(portal)
}

fn account_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "portal-account")
        .map(|(_, v)| v.to_string())
}

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header { strong { "登録ポータル（デモ） / Registration portal (demo)" } }
                main { (body) }
            }
        }
    }
}

async fn account(State(p): State<Portal>, headers: HeaderMap) -> Response {
    let (id, new) = match account_id(&headers) {
        Some(id) => (id, false),
        None => (format!("{:032x}", rand_u128()), true),
    };
    let mut accounts = p.accounts.lock().await;
    let a = accounts.entry(id.clone()).or_default();
    let message = a.message.take();
    let body = page(
        "アカウント / Account",
        html! {
            h1 { "アカウント / Your account" }
            @if let Some(m) = message { p class="status" role="status" id="portal-message" { (m) } }
            dl class="who" {
                dt { "マイナンバーカードの連携 / Linked My Number Card" }
                dd id="linked" { @match &a.linked_card { Some(c) => { "連携済み / linked (" (c.chars().take(8).collect::<String>()) "…)" }, None => { "未連携 / not linked" } } }
            }
            @if let Some(v) = &a.verified {
                h2 { "確認された本人情報 / Verified identity" }
                table class="face" id="verified" {
                    tr { th { "氏名 / Name" } td id="verified-name" { (v["claims"]["name"].as_str().unwrap_or("")) } }
                    tr { th { "住所 / Address" } td { (v["claims"]["address"].as_str().unwrap_or("")) } }
                    tr { th { "生年月日 / Birth date" } td { (v["claims"]["birthdate"].as_str().unwrap_or("")) } }
                    tr { th { "性別 / Sex" } td { (v["claims"]["gender"].as_str().unwrap_or("")) } }
                    tr { th { "確認方法 / Verified by" } td { (v["claims"]["verification"]["route"].as_str().unwrap_or("")) } }
                }
            }
            ul class="methods" {
                li { form method="post" action="/portal/start" { input type="hidden" name="purpose" value="link_card"; button id="link-card" type="submit" { "マイナンバーカードを連携する / Link my card" } } }
                li { form method="post" action="/portal/start" { input type="hidden" name="purpose" value="verify_identity"; button id="verify-identity" type="submit" { "本人確認をする / Verify my identity" } } }
            }
        },
    );
    let mut resp = body.into_response();
    if new && let Ok(v) = HeaderValue::from_str(&format!("portal-account={id}; Path=/portal; HttpOnly; SameSite=Lax")) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn rand_u128() -> u128 {
    let mut b = [0u8; 16];
    // An all-zero id on an RNG failure would only merge demo accounts; never secret.
    let _ = getrandom::fill(&mut b);
    u128::from_be_bytes(b)
}

#[derive(Deserialize)]
struct Start {
    purpose: String,
}

async fn start(State(p): State<Portal>, headers: HeaderMap, Form(f): Form<Start>) -> Response {
    let Some(id) = account_id(&headers) else {
        return Redirect::to("/portal").into_response();
    };
    let resp = p
        .http
        .post(format!("{}/api/v1/sessions", p.config.mynaid_url))
        .bearer_auth(&p.config.api_key)
        .json(&json!({ "purpose": f.purpose, "return_url": format!("{}/portal/return", p.config.portal_url) }))
        .send()
        .await;
    let created: Value = match resp {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
        _ => return Redirect::to("/portal").into_response(),
    };
    let (Some(session), Some(url)) = (created["session_id"].as_str(), created["browser_url"].as_str()) else {
        return Redirect::to("/portal").into_response();
    };
    p.accounts
        .lock()
        .await
        .entry(id)
        .or_default()
        .pending
        .push(session.to_string());
    Redirect::to(url).into_response()
}

#[derive(Deserialize)]
struct Back {
    session: String,
}

async fn back(State(p): State<Portal>, headers: HeaderMap, Query(q): Query<Back>) -> Response {
    let Some(id) = account_id(&headers) else {
        return Redirect::to("/portal").into_response();
    };
    let mut accounts = p.accounts.lock().await;
    let a = accounts.entry(id).or_default();
    // Only a session this browser started (no login CSRF).
    if !a.pending.contains(&q.session) {
        a.message = Some("この結果は受け付けられません / This result was not requested here".into());
        return Redirect::to("/portal").into_response();
    }
    a.pending.retain(|s| s != &q.session);
    let resp = p
        .http
        .get(format!("{}/api/v1/sessions/{}/result", p.config.mynaid_url, q.session))
        .bearer_auth(&p.config.api_key)
        .send()
        .await;
    let result: Value = match resp {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
        _ => {
            a.message = Some("マイナンバーカードを確認できませんでした / The card could not be verified".into());
            return Redirect::to("/portal").into_response();
        }
    };
    match result["purpose"].as_str() {
        Some("link_card") => {
            a.linked_card = result["card_link_id"].as_str().map(str::to_string);
            a.message = Some("マイナンバーカードを連携しました / Your card is linked".into());
        }
        _ => {
            a.message = Some("本人確認ができました / Your identity is verified".into());
            a.verified = Some(result);
        }
    }
    Redirect::to("/portal").into_response()
}
