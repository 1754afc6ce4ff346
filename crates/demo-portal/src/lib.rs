//! The demo relying party: "a registration portal" with one account page that offers 'link my
//! card', 'sign in with my card' and 'verify my identity'. It is an ordinary OpenID Connect
//! client of mynaid, built on the `openidconnect` crate: discovery, the authorization code flow
//! with PKCE, `state` and `nonce`, client authentication `client_secret_basic`, the ID token
//! checked against the provider's JWKS, the claims from UserInfo.
//!
//! * link my card: scope `openid` only, purpose `link_card`; the account keeps the `sub` (the
//!   card's identifier for this portal, pairwise).
//! * sign in with my card: the same request; the account whose linked `sub` matches is signed
//!   in (the browser's cookie moves to it).
//! * verify my identity: scopes `name address birthdate gender`, purpose `verify_identity`;
//!   the account shows the verified claims and how they were verified.
//!
//! * events: it registers a push stream (OpenID Shared Signals Framework) at mynaid when it
//!   first links a card, receives Security Event Tokens at `/portal/events` (checked against
//!   mynaid's JWKS, duplicates dropped by `jti`), and shows an account whose card's
//!   certificate was revoked as "verify again"; 'unlink my card' ends the link at mynaid too.
//!
//! It keeps its accounts in memory: it exists to show the flows, not to be a product.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use maud::{DOCTYPE, Markup, html};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// How the portal reaches mynaid.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// mynaid's issuer (its public URL), e.g. `http://127.0.0.1:8080`.
    pub mynaid_url: String,
    /// The portal's client id at mynaid.
    pub client_id: String,
    /// The portal's client secret (`client_secret_basic`).
    pub client_secret: String,
    /// The portal's own base URL (its redirect URI is `{portal_url}/portal/callback`).
    pub portal_url: String,
}

impl PortalConfig {
    /// The redirect URI to register at mynaid.
    pub fn redirect_uri(&self) -> String {
        format!("{}/portal/callback", self.portal_url)
    }
}

/// What the portal asked for, kept until the browser comes back.
#[derive(Debug, Clone)]
struct Pending {
    action: Action,
    nonce: String,
    pkce_verifier: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Action {
    LinkCard,
    SignIn,
    VerifyIdentity,
}

/// What UserInfo said, shown on the account page.
#[derive(Debug, Clone, Default)]
struct Verified {
    name: String,
    address: String,
    birthdate: String,
    gender: Both,
    how: Both,
}

#[derive(Debug, Default)]
struct Account {
    linked_card: Option<String>,
    /// The linked card's certificate was revoked (the reason's RFC 5280 name): the person
    /// must verify again.
    revoked: Option<String>,
    verified: Option<Verified>,
    pending: HashMap<String, Pending>,
    message: Option<Both>,
}

/// Words in both languages, Japanese first: the English half is marked `lang="en"` (WCAG
/// 3.1.2) so that a screen reader speaks it in English.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Both {
    ja: String,
    en: String,
}

impl Both {
    fn new(ja: impl Into<String>, en: impl Into<String>) -> Both {
        Both {
            ja: ja.into(),
            en: en.into(),
        }
    }
}

impl maud::Render for Both {
    fn render(&self) -> Markup {
        html! { (self.ja) " / " span lang="en" { (self.en) } }
    }
}

#[derive(Clone)]
struct Portal {
    config: PortalConfig,
    http: reqwest::Client,
    // One demo account per browser (cookie), created on first visit.
    accounts: Arc<Mutex<HashMap<String, Account>>>,
    events: Arc<Mutex<Events>>,
}

/// The portal's side of its event stream.
#[derive(Debug, Default)]
struct Events {
    /// The `Authorization` value mynaid sends with each push (registered with the stream).
    secret: String,
    /// Whether the stream is registered.
    registered: bool,
    /// The events taken so far (a push may come twice).
    seen: std::collections::HashSet<String>,
}

/// The card's sex in words (OpenID Connect's `gender` values as mynaid sends them).
fn sex_words(gender: &str) -> Both {
    let (ja, en) = match gender {
        "male" => ("男性", "Male"),
        "female" => ("女性", "Female"),
        "not_applicable" => ("該当なし", "Not applicable"),
        _ => ("記載なし", "Not stated"),
    };
    Both::new(ja, en)
}

/// How the card was read, in words.
fn route_words(route: &str) -> Both {
    let (ja, en) = match route {
        "signature" => (
            "署名用電子証明書とパスワードで確認",
            "Verified with the signature certificate and its password",
        ),
        "user_authentication" => (
            "利用者証明用電子証明書と数字4桁の暗証番号で確認（氏名などはカードの記録から）",
            "Verified with the user-authentication certificate and the 4-digit PINs (name and the rest from the card's records)",
        ),
        _ => ("確認方法不明", "Verified by an unknown route"),
    };
    Both::new(ja, en)
}

/// An RFC 3339 time (`2026-11-27T00:00:00Z`) as Japan's wall-clock time.
fn time_words(time: &str) -> Both {
    let jst = chrono::FixedOffset::east_opt(9 * 3600);
    match (jst, chrono::DateTime::parse_from_rfc3339(time)) {
        (Some(jst), Ok(t)) => {
            let t = t.with_timezone(&jst);
            Both::new(
                t.format("%Y年%m月%d日 %H:%M（日本時間）").to_string(),
                t.format("%-d %B %Y, %H:%M (Japan time)").to_string(),
            )
        }
        _ => Both::new("-", "-"),
    }
}

/// The portal's routes, under `/portal`.
pub fn router(config: PortalConfig) -> Router {
    // openidconnect's advice: a client that follows no redirects (no SSRF through them).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let portal = Portal {
        config,
        http,
        accounts: Arc::default(),
        events: Arc::new(Mutex::new(Events {
            secret: format!("Bearer {:032x}{:032x}", rand_u128(), rand_u128()),
            ..Events::default()
        })),
    };
    Router::new()
        .route("/portal", get(account))
        .route("/portal/start", post(start))
        .route("/portal/callback", get(callback))
        .route("/portal/unlink", post(unlink))
        .route("/portal/events", post(receive_event))
        .with_state(portal)
}

const COOKIE: &str = "portal-account";

fn account_id(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(COOKIE)
        .map(|c| c.value().to_string())
}

fn set_account_cookie(resp: &mut Response, id: &str) {
    let cookie = Cookie::build((COOKIE, id.to_string()))
        .path("/portal")
        .http_only(true)
        .same_site(SameSite::Lax)
        .build();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
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
                header { strong { (Both::new("登録ポータル（デモ）", "Registration portal (demo)")) } }
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
            h1 { (Both::new("アカウント", "Your account")) }
            @if let Some(m) = message { p class="status" role="status" id="portal-message" { (m) } }
            dl class="who" {
                dt { (Both::new("マイナンバーカードの連携", "Linked My Number Card")) }
                dd id="linked" {
                    @match &a.linked_card {
                        Some(c) => {
                            @let short = c.chars().take(8).collect::<String>();
                            (Both::new(format!("連携済み（{short}…）"), format!("linked ({short}…)")))
                        },
                        None => { (Both::new("未連携", "not linked")) }
                    }
                }
            }
            @if let Some(reason) = &a.revoked {
                p class="status error" id="revoked" {
                    (Both::new(
                        format!("カードの電子証明書が失効しました（{}）。もう一度「マイナンバーカードを連携する」でカードを確認してください。", reason_words(reason)),
                        format!("Your card's certificate was revoked ({}). Verify again with 'Link my card'.", reason_words_en(reason)),
                    ))
                }
            }
            @if a.linked_card.is_some() {
                form method="post" action="/portal/unlink" { button id="unlink" type="submit" class="secondary" { (Both::new("カードの連携を解除する", "Unlink my card")) } }
            }
            @if let Some(v) = &a.verified {
                h2 { (Both::new("確認された本人情報", "Verified identity")) }
                table class="face" id="verified" {
                    tr { th { (Both::new("氏名", "Name")) } td id="verified-name" { (v.name) } }
                    tr { th { (Both::new("住所", "Address")) } td id="verified-address" { (v.address) } }
                    tr { th { (Both::new("生年月日", "Birth date")) } td id="verified-birthdate" { (v.birthdate) } }
                    tr { th { (Both::new("性別", "Sex")) } td id="verified-gender" { (v.gender) } }
                    tr { th { (Both::new("確認方法", "Verified by")) } td id="verified-how" { (v.how) } }
                }
            }
            ul class="methods" {
                li { form method="post" action="/portal/start" { input type="hidden" name="action" value="link_card"; button id="link-card" type="submit" { (Both::new("マイナンバーカードを連携する", "Link my card")) } } }
                li { form method="post" action="/portal/start" { input type="hidden" name="action" value="sign_in"; button id="sign-in" type="submit" { (Both::new("マイナンバーカードでサインイン", "Sign in with my card")) } } }
                li { form method="post" action="/portal/start" { input type="hidden" name="action" value="verify_identity"; button id="verify-identity" type="submit" { (Both::new("本人確認をする", "Verify my identity")) } } }
            }
        },
    );
    let mut resp = body.into_response();
    if new {
        set_account_cookie(&mut resp, &id);
    }
    resp
}

/// An RFC 5280 revocation reason in words a person understands.
fn reason_words(reason: &str) -> &'static str {
    match reason {
        "affiliationChanged" => "引っ越しや氏名の変更など",
        "keyCompromise" => "カードの紛失など",
        "superseded" => "カードの更新など",
        "cessationOfOperation" => "カードの返納など",
        _ => "理由は示されていません",
    }
}

fn reason_words_en(reason: &str) -> &'static str {
    match reason {
        "affiliationChanged" => "a move or a new name, for example",
        "keyCompromise" => "a lost card, for example",
        "superseded" => "a renewed card, for example",
        "cessationOfOperation" => "a returned card, for example",
        _ => "no reason given",
    }
}

fn rand_u128() -> u128 {
    let mut b = [0u8; 16];
    // An all-zero id on an RNG failure would only merge demo accounts; never secret.
    let _ = getrandom::fill(&mut b);
    u128::from_be_bytes(b)
}

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Discovery, each time: a rotated signing key is picked up with the JWKS.
async fn client(p: &Portal) -> Option<Client> {
    let issuer = IssuerUrl::new(p.config.mynaid_url.clone()).ok()?;
    let metadata = match CoreProviderMetadata::discover_async(issuer, &p.http).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "OpenID Connect discovery failed");
            return None;
        }
    };
    let redirect = RedirectUrl::new(p.config.redirect_uri()).ok()?;
    Some(
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(p.config.client_id.clone()),
            Some(ClientSecret::new(p.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect),
    )
}

#[derive(Deserialize)]
struct Start {
    action: Action,
}

async fn start(State(p): State<Portal>, headers: HeaderMap, Form(f): Form<Start>) -> Response {
    let Some(id) = account_id(&headers) else {
        return Redirect::to("/portal").into_response();
    };
    let Some(client) = client(&p).await else {
        return back_with(
            &p,
            &id,
            Both::new("mynaid に接続できません", "mynaid cannot be reached"),
        )
        .await;
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    req = match f.action {
        Action::VerifyIdentity => ["name", "address", "birthdate", "gender"]
            .into_iter()
            .fold(req, |r, s| r.add_scope(Scope::new(s.into())))
            .add_extra_param("purpose", "verify_identity"),
        // The card's identifier (sub) is all that linking and signing in need.
        Action::LinkCard | Action::SignIn => req.add_extra_param("purpose", "link_card"),
    };
    let (url, state, nonce) = req.url();
    p.accounts.lock().await.entry(id).or_default().pending.insert(
        state.secret().clone(),
        Pending {
            action: f.action,
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        },
    );
    Redirect::to(url.as_str()).into_response()
}

async fn back_with(p: &Portal, id: &str, message: Both) -> Response {
    p.accounts.lock().await.entry(id.to_string()).or_default().message = Some(message);
    Redirect::to("/portal").into_response()
}

#[derive(Deserialize)]
struct Back {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VerifiedClaims {
    verified_claims: Option<Value>,
}
impl AdditionalClaims for VerifiedClaims {}

async fn callback(State(p): State<Portal>, headers: HeaderMap, Query(q): Query<Back>) -> Response {
    let Some(id) = account_id(&headers) else {
        return Redirect::to("/portal").into_response();
    };
    // Only an answer to a request this browser made (state), once (no login CSRF).
    let pending = {
        let mut accounts = p.accounts.lock().await;
        let a = accounts.entry(id.clone()).or_default();
        q.state.as_ref().and_then(|s| a.pending.remove(s))
    };
    let Some(pending) = pending else {
        return back_with(
            &p,
            &id,
            Both::new("この結果は受け付けられません", "This result was not requested here"),
        )
        .await;
    };
    if let Some(e) = &q.error {
        let m = if e == "access_denied" {
            Both::new(
                "手続きは完了しませんでした（同意しなかったか、カードを確認できませんでした）",
                "Not completed (you declined, or the card could not be verified)",
            )
        } else {
            Both::new(
                "mynaid がリクエストを受け付けませんでした",
                "mynaid refused the request",
            )
        };
        return back_with(&p, &id, m).await;
    }
    let (Some(code), Some(client)) = (q.code.clone(), client(&p).await) else {
        return back_with(
            &p,
            &id,
            Both::new("mynaid に接続できません", "mynaid cannot be reached"),
        )
        .await;
    };
    let failed = || {
        Both::new(
            "マイナンバーカードを確認できませんでした",
            "The card could not be verified",
        )
    };
    let Ok(req) = client.exchange_code(AuthorizationCode::new(code)) else {
        return back_with(&p, &id, failed()).await;
    };
    let tokens = match req
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&p.http)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "token request failed");
            return back_with(&p, &id, failed()).await;
        }
    };
    let verifier = client.id_token_verifier();
    let sub = match tokens
        .id_token()
        .map(|t| t.claims(&verifier, &Nonce::new(pending.nonce.clone())))
    {
        Some(Ok(c)) => c.subject().to_string(),
        _ => {
            tracing::warn!("the ID token did not verify");
            return back_with(&p, &id, failed()).await;
        }
    };
    match pending.action {
        Action::LinkCard => {
            let mut accounts = p.accounts.lock().await;
            // One card, one account.
            for a in accounts.values_mut() {
                if a.linked_card.as_deref() == Some(sub.as_str()) {
                    a.linked_card = None;
                }
            }
            let a = accounts.entry(id).or_default();
            a.linked_card = Some(sub);
            a.revoked = None;
            a.message = Some(Both::new("マイナンバーカードを連携しました", "Your card is linked"));
            drop(accounts);
            // From now on mynaid tells the portal if this card's certificate is revoked.
            register_stream(&p).await;
            Redirect::to("/portal").into_response()
        }
        Action::SignIn => {
            let mut accounts = p.accounts.lock().await;
            let owner = accounts
                .iter()
                .find(|(_, a)| a.linked_card.as_deref() == Some(sub.as_str()))
                .map(|(k, _)| k.clone());
            match owner {
                Some(owner) => {
                    if let Some(a) = accounts.get_mut(&owner) {
                        a.message = Some(Both::new(
                            "マイナンバーカードでサインインしました",
                            "Signed in with your card",
                        ));
                    }
                    let mut resp = Redirect::to("/portal").into_response();
                    set_account_cookie(&mut resp, &owner);
                    resp
                }
                None => {
                    accounts.entry(id).or_default().message = Some(Both::new(
                        "このカードが連携されたアカウントはありません",
                        "No account is linked to this card",
                    ));
                    Redirect::to("/portal").into_response()
                }
            }
        }
        Action::VerifyIdentity => {
            let info: Result<UserInfoClaims<VerifiedClaims, CoreGenderClaim>, _> = match client.user_info(
                tokens.access_token().clone(),
                Some(openidconnect::SubjectIdentifier::new(sub)),
            ) {
                Ok(r) => r.request_async(&p.http).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let info = match info {
                Ok(i) => i,
                Err(e) => {
                    tracing::warn!(error = %e, "UserInfo failed");
                    return back_with(&p, &id, failed()).await;
                }
            };
            let verification = info
                .additional_claims()
                .verified_claims
                .as_ref()
                .map(|v| v["verification"].clone())
                .unwrap_or_default();
            let (route, time) = (
                route_words(verification["mynaid_route"].as_str().unwrap_or_default()),
                time_words(verification["time"].as_str().unwrap_or_default()),
            );
            let how = Both::new(
                format!("{}、{}", route.ja, time.ja),
                format!("{}, {}", route.en, time.en),
            );
            let verified = Verified {
                name: info
                    .name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                address: info
                    .address()
                    .and_then(|a| a.formatted.as_ref())
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                birthdate: info.birthdate().map(|b| b.to_string()).unwrap_or_default(),
                gender: sex_words(info.gender().map(|g| g.as_str()).unwrap_or_default()),
                how,
            };
            let mut accounts = p.accounts.lock().await;
            let a = accounts.entry(id).or_default();
            a.verified = Some(verified);
            a.message = Some(Both::new("本人確認ができました", "Your identity is verified"));
            Redirect::to("/portal").into_response()
        }
    }
}

const CREDENTIAL_CHANGE: &str = "https://schemas.openid.net/secevent/caep/event-type/credential-change";

/// A client-credentials token for the event stream (scope `ssf`).
async fn stream_token(p: &Portal) -> Option<String> {
    let r = p
        .http
        .post(format!("{}/oidc/token", p.config.mynaid_url))
        .basic_auth(&p.config.client_id, Some(&p.config.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "ssf")])
        .send()
        .await
        .ok()?;
    let v: Value = r.json().await.ok()?;
    v["access_token"].as_str().map(str::to_string)
}

/// Registers the portal's push stream at mynaid (once per process; an existing stream is
/// pointed here again, with this process's secret).
async fn register_stream(p: &Portal) {
    let mut events = p.events.lock().await;
    if events.registered {
        return;
    }
    let Some(token) = stream_token(p).await else {
        tracing::warn!("no event-stream token from mynaid; revocations will not reach the portal");
        return;
    };
    let url = format!("{}/ssf/stream", p.config.mynaid_url);
    let config = json!({
        "delivery": {
            "method": "urn:ietf:rfc:8935",
            "endpoint_url": format!("{}/portal/events", p.config.portal_url),
            "authorization_header": events.secret,
        },
        "events_requested": [CREDENTIAL_CHANGE],
        "description": "demo portal",
    });
    let created = p.http.post(&url).bearer_auth(&token).json(&config).send().await;
    let ok = match created {
        Ok(r) if r.status().as_u16() == 201 => true,
        Ok(r) if r.status().as_u16() == 409 => {
            let current: Value = match p.http.get(&url).bearer_auth(&token).send().await {
                Ok(r) => r.json().await.unwrap_or_default(),
                Err(_) => Value::Null,
            };
            let mut update = config.clone();
            update["stream_id"] = current["stream_id"].clone();
            p.http
                .put(&url)
                .bearer_auth(&token)
                .json(&update)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
        _ => false,
    };
    if ok {
        events.registered = true;
    } else {
        tracing::warn!("registering the event stream at mynaid failed; trying again with the next link");
    }
}

/// "Unlink my card": forgets the card here and ends the link at mynaid (which deletes what
/// it kept for the status check).
async fn unlink(State(p): State<Portal>, headers: HeaderMap) -> Response {
    let Some(id) = account_id(&headers) else {
        return Redirect::to("/portal").into_response();
    };
    let sub = {
        let mut accounts = p.accounts.lock().await;
        let a = accounts.entry(id.clone()).or_default();
        a.revoked = None;
        a.linked_card.take()
    };
    if let (Some(sub), Some(token)) = (sub, stream_token(&p).await) {
        let _ = p
            .http
            .post(format!("{}/ssf/subjects/remove", p.config.mynaid_url))
            .bearer_auth(token)
            .json(&json!({ "subject": { "format": "iss_sub", "iss": p.config.mynaid_url, "sub": sub } }))
            .send()
            .await;
    }
    back_with(
        &p,
        &id,
        Both::new("カードの連携を解除しました", "Your card is unlinked"),
    )
    .await
}

fn refused(status: u16, err: &str, description: &str) -> Response {
    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({ "err": err, "description": description }))).into_response()
}

/// RFC 8935: a Security Event Token pushed by mynaid. Taken only with the registered
/// secret and a signature by a key of mynaid's JWKS, for this portal; each `jti` once.
async fn receive_event(State(p): State<Portal>, headers: HeaderMap, body: String) -> Response {
    let secret_ok = {
        let events = p.events.lock().await;
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == events.secret)
    };
    if !secret_ok {
        return refused(401, "authentication_failed", "unknown sender");
    }
    let Ok(head) = jsonwebtoken::decode_header(body.trim()) else {
        return refused(400, "invalid_request", "not a JWT");
    };
    if head.typ.as_deref() != Some("secevent+jwt")
        || !matches!(
            head.alg,
            jsonwebtoken::Algorithm::RS256 | jsonwebtoken::Algorithm::PS256
        )
    {
        return refused(400, "invalid_request", "not a Security Event Token");
    }
    let jwks: Option<jsonwebtoken::jwk::JwkSet> =
        match p.http.get(format!("{}/oidc/jwks", p.config.mynaid_url)).send().await {
            Ok(r) => r.json().await.ok(),
            Err(_) => None,
        };
    let Some(key) = jwks
        .as_ref()
        .and_then(|set| set.find(head.kid.as_deref().unwrap_or_default()))
        .and_then(|jwk| jsonwebtoken::DecodingKey::from_jwk(jwk).ok())
    else {
        return refused(400, "invalid_key", "the signing key is not in the issuer's JWKS");
    };
    let mut validation = jsonwebtoken::Validation::new(head.alg);
    validation.set_issuer(&[p.config.mynaid_url.as_str()]);
    validation.set_audience(&[p.config.client_id.as_str()]);
    // A SET has no `exp` (RFC 8417 §2.2): its `jti` keeps it from being taken twice.
    validation.validate_exp = false;
    validation.required_spec_claims = ["iss", "aud"].into_iter().map(String::from).collect();
    let claims = match jsonwebtoken::decode::<Value>(body.trim(), &key, &validation) {
        Ok(t) => t.claims,
        Err(e) => {
            tracing::warn!(error = %e, "an event did not verify");
            return refused(400, "invalid_key", "the signature or the claims do not verify");
        }
    };
    let Some(jti) = claims["jti"].as_str() else {
        return refused(400, "invalid_request", "no jti");
    };
    if !p.events.lock().await.seen.insert(jti.to_string()) {
        // Delivered before: already taken.
        return axum::http::StatusCode::ACCEPTED.into_response();
    }
    if let Some(change) = claims["events"].get(CREDENTIAL_CHANGE)
        && change["change_type"] == "revoke"
        && let Some(sub) = claims["sub_id"]["sub"].as_str()
    {
        let reason = change["revocation_reason"]
            .as_str()
            .unwrap_or("unspecified")
            .to_string();
        let mut accounts = p.accounts.lock().await;
        for a in accounts.values_mut() {
            if a.linked_card.as_deref() == Some(sub) {
                a.revoked = Some(reason.clone());
            }
        }
        tracing::info!("a linked card's certificate was revoked; the account asks to verify again");
    }
    axum::http::StatusCode::ACCEPTED.into_response()
}

#[cfg(test)]
mod words {
    use super::*;

    #[test]
    fn values_are_shown_in_words() {
        assert_eq!(
            time_words("2026-11-27T15:30:00Z"),
            Both::new(
                "2026年11月28日 00:30（日本時間）",
                "28 November 2026, 00:30 (Japan time)"
            )
        );
        assert_eq!(time_words("not a time"), Both::new("-", "-"));
        assert_eq!(sex_words("female"), Both::new("女性", "Female"));
        assert_eq!(sex_words("unknown"), Both::new("記載なし", "Not stated"));
        assert!(route_words("signature").ja.contains("署名用電子証明書"));
        assert!(!route_words("user_authentication").en.contains("user_authentication"));
    }

    /// The English half of every bilingual text is marked as English (WCAG 3.1.2).
    #[test]
    fn the_english_half_is_marked_english() {
        let shown = maud::Render::render(&Both::new("女性", "Female")).into_string();
        assert_eq!(shown, "女性 / <span lang=\"en\">Female</span>");
    }
}
