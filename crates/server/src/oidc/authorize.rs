//! The authorization endpoint, the consent decision and the callback that turns a verified
//! session into a single-use authorization code.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::config::CLAIM_SCOPES;
use super::consent;
use super::store::RequestRow;
use super::{AuthParams, Grant, Oidc, claims};
use crate::pages::Lang;
use crate::secrets::{hash, same, token};
use crate::service::Purpose;

fn lang_of(en: bool) -> Lang {
    if en { Lang::En } else { Lang::Ja }
}

/// `redirect_uri` with the response parameters appended (its own query kept), and `iss`
/// (RFC 9207) so that a client talking to several providers can tell them apart.
fn back_to(redirect_uri: &str, issuer: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        q.append_pair("iss", issuer);
    }
    let mut resp = Redirect::to(url.as_str()).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// An error sent back to a validated redirect URI (RFC 6749 §4.1.2.1).
fn error_back(redirect_uri: &str, issuer: &str, error: &str, description: &str, state: Option<&str>) -> Response {
    let mut p = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        p.push(("state", s));
    }
    back_to(redirect_uri, issuer, &p)
}

fn cookie_name(o: &Oidc, request_id: &str) -> String {
    if o.svc.config().public_url.starts_with("https://") {
        format!("__Host-mynaid-oidc-{request_id}")
    } else {
        format!("mynaid-oidc-{request_id}")
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

pub(super) async fn authorize_get(State(o): State<Oidc>, RawQuery(q): RawQuery) -> Response {
    authorize(&o, q.as_deref().unwrap_or("")).await
}

pub(super) async fn authorize_post(State(o): State<Oidc>, headers: HeaderMap, body: Bytes) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return consent::error_page(
            Lang::Ja,
            StatusCode::BAD_REQUEST,
            "リクエストの形式が正しくありません。",
            "The request is not in the right form.",
        );
    }
    authorize(&o, &String::from_utf8_lossy(&body)).await
}

/// Validates an authorization request. Until client and redirect URI are known good, errors
/// are shown here; after that, they go back to the client.
async fn authorize(o: &Oidc, query: &str) -> Response {
    let bad = |ja: &str, en: &str| consent::error_page(Lang::Ja, StatusCode::BAD_REQUEST, ja, en);
    // First occurrence wins for finding client and redirect URI; a repeated parameter is
    // then refused (back to the client, unless it is one of those two).
    let mut params: HashMap<String, String> = HashMap::new();
    let mut duplicate = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if params.contains_key(k.as_ref()) {
            duplicate = Some(k.to_string());
        } else {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    if duplicate
        .as_deref()
        .is_some_and(|d| d == "client_id" || d == "redirect_uri")
    {
        return bad("パラメータが重複しています。", "A parameter is given twice.");
    }
    let en = params
        .get("ui_locales")
        .and_then(|l| l.split(' ').next())
        .is_some_and(|l| l.starts_with("en"));
    let lang = lang_of(en);
    let bad = |ja: &str, en_text: &str| consent::error_page(lang, StatusCode::BAD_REQUEST, ja, en_text);
    let Some(client) = params.get("client_id").and_then(|id| o.be.client(id)) else {
        return bad(
            "このサービスは登録されていません（client_id）。",
            "This service is not registered (client_id).",
        );
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|r| client.config.redirect_uris.iter().any(|u| u == *r))
    else {
        return bad(
            "戻り先のアドレスが登録されたものと一致しません（redirect_uri）。",
            "The return address does not match a registered one (redirect_uri).",
        );
    };
    let issuer = o.be.issuer();
    let state = params.get("state").map(String::as_str);
    let state_ok = state.filter(|s| printable(s, 255));
    let fail = |error: &str, description: &str| error_back(redirect_uri, issuer, error, description, state_ok);
    if duplicate.is_some() {
        return fail("invalid_request", "a parameter is given twice");
    }
    if params.contains_key("request") {
        return fail("request_not_supported", "request objects are not supported");
    }
    if params.contains_key("request_uri") {
        return fail("request_uri_not_supported", "request_uri is not supported");
    }
    if params.get("response_type").map(String::as_str) != Some("code") {
        return fail("unsupported_response_type", "only response_type=code is supported");
    }
    if state_ok.is_none() {
        return fail(
            "invalid_request",
            "state is required (1-255 printable ASCII characters)",
        );
    }
    let Some(state) = state_ok else {
        return fail("invalid_request", "state is required");
    };
    let scopes: Vec<String> = params
        .get("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    if !scopes.iter().any(|s| s == "openid") {
        return fail("invalid_scope", "the openid scope is required");
    }
    if let Some(s) = scopes
        .iter()
        .find(|s| *s != "openid" && !CLAIM_SCOPES.contains(&s.as_str()))
    {
        tracing::info!(client = %client.config.client_id, scope = %s, "unknown scope refused");
        return fail("invalid_scope", "unknown scope");
    }
    if scopes
        .iter()
        .any(|s| *s != "openid" && !client.config.scopes.contains(s))
    {
        return fail("invalid_scope", "a scope is not allowed for this client");
    }
    let Some(nonce) = params.get("nonce").filter(|n| printable(n, 255)) else {
        return fail("invalid_request", "nonce is required");
    };
    match params.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        Some("plain") | None => {
            return fail(
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required (plain is refused)",
            );
        }
        Some(_) => return fail("invalid_request", "unsupported code_challenge_method"),
    }
    let Some(challenge) = params.get("code_challenge").filter(|c| c.len() == 43 && unreserved(c)) else {
        return fail("invalid_request", "code_challenge is required (43 characters, S256)");
    };
    let purpose = match params.get("purpose") {
        None => client.config.purposes[0],
        Some(p) => match Purpose::parse(p).filter(|p| client.config.purposes.contains(p)) {
            Some(p) => p,
            None => return fail("invalid_request", "purpose is not allowed for this client"),
        },
    };
    if params.get("prompt").is_some_and(|p| p.split(' ').any(|p| p == "none")) {
        return fail(
            "login_required",
            "the card must be read: prompt=none cannot be satisfied",
        );
    }
    let mut granted: Vec<String> = vec!["openid".into()];
    for s in CLAIM_SCOPES {
        if scopes.iter().any(|x| x == s) {
            granted.push(s.into());
        }
    }
    let auth = AuthParams {
        redirect_uri: redirect_uri.clone(),
        scopes: granted,
        state: state.to_string(),
        nonce: nonce.clone(),
        code_challenge: challenge.clone(),
        purpose,
        en,
    };
    let Ok(params_json) = serde_json::to_string(&auth) else {
        return fail("server_error", "internal error");
    };
    let now = o.svc.now();
    let id = token::<16>();
    let browser = token::<24>();
    let row = RequestRow {
        id: id.clone(),
        client_id: client.config.client_id.clone(),
        browser_hash: hash(&browser),
        params: params_json,
        session_id: None,
        status: "pending".into(),
        created_at: now,
        expires_at: now + o.be.settings.request_ttl_secs as i64,
    };
    if o.be.store.add_request(&row).await.is_err() {
        return fail("temporarily_unavailable", "the service cannot process this right now");
    }
    let secure = o.svc.config().public_url.starts_with("https://");
    let set_cookie = format!(
        "{}={browser}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        cookie_name(o, &id),
        o.be.settings.request_ttl_secs,
        if secure { "; Secure" } else { "" }
    );
    let mut resp = Redirect::to(&format!("/oidc/consent/{id}{}", if en { "?lang=en" } else { "" })).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

/// The request of this browser, still waiting for consent.
async fn own_request(
    o: &Oidc,
    headers: &HeaderMap,
    id: &str,
) -> Result<(RequestRow, AuthParams), (StatusCode, &'static str, &'static str)> {
    let gone = (
        StatusCode::NOT_FOUND,
        "この手続きは見つからないか、有効期限が過ぎています。サービスの画面から最初からやり直してください。",
        "This procedure was not found or has expired. Start again from the service.",
    );
    if id.len() > 64 {
        return Err(gone);
    }
    let row = match o.be.store.request(id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(gone),
        Err(_) => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "ただいま処理できません。しばらくしてからもう一度お試しください。",
                "The service cannot process this right now. Please try again shortly.",
            ));
        }
    };
    let mine = cookie(headers, &cookie_name(o, id)).is_some_and(|c| same(&hash(&c), &row.browser_hash));
    if !mine {
        return Err((
            StatusCode::FORBIDDEN,
            "この手続きは、別のブラウザで始められたものです。手続きを始めたブラウザで続けてください。",
            "This procedure was started in another browser. Continue in the browser where you started.",
        ));
    }
    if row.expires_at < o.svc.now() {
        return Err(gone);
    }
    let params: AuthParams = serde_json::from_str(&row.params).map_err(|_| gone)?;
    Ok((row, params))
}

fn chosen_lang(q: &LangQuery, params_en: bool) -> Lang {
    match q.lang.as_deref() {
        Some("en") => Lang::En,
        Some("ja") => Lang::Ja,
        _ => lang_of(params_en),
    }
}

pub(super) async fn consent_page(
    State(o): State<Oidc>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (row, params) = match own_request(&o, &headers, &id).await {
        Ok(v) => v,
        Err((status, ja, en)) => return consent::error_page(chosen_lang(&q, false), status, ja, en),
    };
    let lang = chosen_lang(&q, params.en);
    if row.status != "pending" {
        return consent::error_page(
            lang,
            StatusCode::CONFLICT,
            "この手続きはすでに進んでいます。サービスの画面から最初からやり直してください。",
            "This procedure has already moved on. Start again from the service.",
        );
    }
    let Some(client) = o.be.client(&row.client_id) else {
        return consent::error_page(
            lang,
            StatusCode::NOT_FOUND,
            "サービスが見つかりません。",
            "Service not found.",
        );
    };
    let secret = cookie(&headers, &cookie_name(&o, &id)).unwrap_or_default();
    let csrf = crate::hardening::csrf_token(CONSENT_CSRF_SCOPE, &id, &secret);
    consent::consent(
        lang,
        &consent::ConsentPage {
            request_id: &id,
            client,
            scopes: &params.scopes,
            purpose: params.purpose,
            csrf: &csrf,
            redirect_uri: &params.redirect_uri,
        },
    )
}

const CONSENT_CSRF_SCOPE: &str = "oidc-consent";

#[derive(Deserialize)]
pub(super) struct Decision {
    decision: String,
    #[serde(default)]
    csrf: Option<String>,
}

pub(super) async fn consent_decision(
    State(o): State<Oidc>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    axum::Form(d): axum::Form<Decision>,
) -> Response {
    let (row, params) = match own_request(&o, &headers, &id).await {
        Ok(v) => v,
        Err((status, ja, en)) => return consent::error_page(chosen_lang(&q, false), status, ja, en),
    };
    let lang = chosen_lang(&q, params.en);
    let secret = cookie(&headers, &cookie_name(&o, &id)).unwrap_or_default();
    if !crate::hardening::csrf_valid(CONSENT_CSRF_SCOPE, &id, &secret, d.csrf.as_deref()) {
        tracing::warn!("consent form without its token refused");
        let e = crate::error::ApiError::forbidden_request();
        return consent::error_page(lang, e.status, &e.ja, &e.en);
    }
    let issuer = o.be.issuer();
    let now = o.svc.now();
    let moved_on = || {
        consent::error_page(
            lang,
            StatusCode::CONFLICT,
            "この手続きはすでに進んでいます。サービスの画面から最初からやり直してください。",
            "This procedure has already moved on. Start again from the service.",
        )
    };
    match d.decision.as_str() {
        "deny" => {
            if !o
                .be
                .store
                .move_request(&id, "pending", "done", None, now)
                .await
                .unwrap_or(false)
            {
                return moved_on();
            }
            error_back(
                &params.redirect_uri,
                issuer,
                "access_denied",
                "the person did not agree",
                Some(&params.state),
            )
        }
        "allow" => {
            let callback = format!("{}{}", issuer, super::config::CALLBACK_PATH);
            let created = match o
                .svc
                .create_session(&row.client_id, params.purpose, Some(callback))
                .await
            {
                Ok(c) => c,
                Err(e) => return consent::error_page(lang, e.status, &e.ja, &e.en),
            };
            match o
                .be
                .store
                .move_request(&id, "pending", "reading", Some(&created.id), now)
                .await
            {
                Ok(true) => {}
                Ok(false) => return moved_on(),
                Err(e) => {
                    let e = crate::error::ApiError::from(e);
                    return consent::error_page(lang, e.status, &e.ja, &e.en);
                }
            }
            let lang_q = if lang == Lang::En { "&lang=en" } else { "" };
            Redirect::to(&format!("/s/{}/start?t={}{lang_q}", created.id, created.browser_token)).into_response()
        }
        _ => consent::error_page(
            lang,
            StatusCode::BAD_REQUEST,
            "「同意する」か「同意しない」を選んでください。",
            "Choose 'agree' or 'do not agree'.",
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct Back {
    session: String,
}

/// The verification session came back: take its result once, keep what the scopes release,
/// issue a code.
pub(super) async fn callback(State(o): State<Oidc>, headers: HeaderMap, Query(b): Query<Back>) -> Response {
    let unknown = |lang: Lang| {
        consent::error_page(
            lang,
            StatusCode::NOT_FOUND,
            "この手続きは見つからないか、すでに終わっています。サービスの画面から最初からやり直してください。",
            "This procedure was not found or has already ended. Start again from the service.",
        )
    };
    if b.session.len() > 64 {
        return unknown(Lang::Ja);
    }
    let row = match o.be.store.request_by_session(&b.session).await {
        Ok(Some(r)) => r,
        _ => return unknown(Lang::Ja),
    };
    let (row, params) = match own_request(&o, &headers, &row.id).await {
        Ok(v) => v,
        Err((status, ja, en)) => return consent::error_page(Lang::Ja, status, ja, en),
    };
    let lang = lang_of(params.en);
    let now = o.svc.now();
    // Once: a second visit (reload, another tab) finds it done.
    if !o
        .be
        .store
        .move_request(&row.id, "reading", "done", None, now)
        .await
        .unwrap_or(false)
    {
        return unknown(lang);
    }
    let issuer = o.be.issuer();
    let Some(client) = o.be.client(&row.client_id) else {
        return unknown(lang);
    };
    let result = match o.svc.take_result(&row.client_id, &b.session).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(client = %row.client_id, code = e.code, "verification session did not give a result");
            return error_back(
                &params.redirect_uri,
                issuer,
                "access_denied",
                "the My Number Card was not verified",
                Some(&params.state),
            );
        }
    };
    let grant = Grant {
        client_id: row.client_id.clone(),
        redirect_uri: params.redirect_uri.clone(),
        code_challenge: params.code_challenge.clone(),
        nonce: params.nonce.clone(),
        auth_time: i64::try_from(result.claims.verification.verified_at).unwrap_or(now),
        userinfo: claims::userinfo(&result, &params.scopes, &o.be.settings.trust_framework),
        scopes: params.scopes.clone(),
        sub: result.card_link_id.clone(),
    };
    drop(result);
    let code = token::<32>();
    let code_hash = hash(&code);
    let stored = match o.be.seal_grant("code", &code_hash, &grant) {
        Ok(sealed) => {
            o.be.store
                .add_code(
                    &code_hash,
                    &client.config.client_id,
                    &sealed,
                    now,
                    now + o.be.settings.code_ttl_secs as i64,
                )
                .await
        }
        Err(_) => Err(crate::store::StoreError::Unavailable("seal".into())),
    };
    if stored.is_err() {
        return error_back(
            &params.redirect_uri,
            issuer,
            "temporarily_unavailable",
            "the service cannot process this right now",
            Some(&params.state),
        );
    }
    tracing::info!(client = %row.client_id, "authorization code issued");
    back_to(
        &params.redirect_uri,
        issuer,
        &[("code", &code), ("state", &params.state)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_keeps_the_clients_query_and_adds_iss() {
        let r = back_to(
            "https://rp.example/cb?x=1",
            "https://id.example",
            &[("code", "c d"), ("state", "s")],
        );
        let loc = r.headers()[header::LOCATION].to_str().unwrap_or_default().to_string();
        assert_eq!(
            loc,
            "https://rp.example/cb?x=1&code=c+d&state=s&iss=https%3A%2F%2Fid.example"
        );
    }

    #[test]
    fn state_and_challenge_forms() {
        assert!(printable("abc ~", 255));
        assert!(!printable("", 255));
        assert!(!printable("é", 255));
        assert!(!printable(&"a".repeat(256), 255));
        assert!(unreserved("aZ09-._~"));
        assert!(!unreserved("a+b"));
    }
}
