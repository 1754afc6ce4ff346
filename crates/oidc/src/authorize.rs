//! The authorization endpoint, the consent decision and the callback that turns a verified
//! session into a single-use authorization code.

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mynaid_protocol::{Lang, Purpose, Route, Text};
use mynaid_sessions::secrets::{hash, same, token};
use mynaid_sessions::{Presence, SessionError};
use mynaid_web::hardening::{CSRF_FIELD, csrf_token, csrf_valid};
use mynaid_web::{Answer, Form, LangQuery, PageError, cookies};

use super::config::{CLAIM_SCOPES, Client, ClientProfile};
use super::consent;
use super::store::{RequestRow, RequestStatus};
use super::{AuthParams, Grant, Oidc, claims};

/// The language of a page of an authorization request: the switch on this page (`?lang=`),
/// else the request's `ui_locales`, else the person's earlier switch or their browser's
/// (`Accept-Language`), else Japanese.
fn request_lang(q: Option<&LangQuery>, ui_lang: Option<Lang>, headers: &HeaderMap) -> Lang {
    q.and_then(LangQuery::chosen)
        .or(ui_lang)
        .or_else(|| mynaid_web::preferred_lang(headers))
        .unwrap_or_default()
}

/// A refusal shown on a page, never redirected (the redirect URI is not known good, or the
/// person's own request is not in order).
fn refused(lang: Lang, status: StatusCode, ja: &str, en: &str) -> Response {
    PageError::cannot_start(status, lang, Text::new(ja, en)).into_response()
}

/// A refusal of the session core or the store, as the page says it.
fn refused_by(lang: Lang, e: SessionError) -> Response {
    let a = Answer::from(e);
    PageError::cannot_start(a.status, lang, a.message).into_response()
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

fn printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn form_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

pub(super) async fn authorize_get(State(o): State<Oidc>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    authorize(&o, &headers, q.as_deref().unwrap_or("").as_bytes()).await
}

pub(super) async fn authorize_post(State(o): State<Oidc>, headers: HeaderMap, body: Bytes) -> Response {
    if !form_type(&headers) {
        return refused(
            Lang::Ja,
            StatusCode::BAD_REQUEST,
            "リクエストの形式が正しくありません。",
            "The request is not in the right form.",
        );
    }
    authorize(&o, &headers, &body).await
}

/// Validates an authorization request. Until client and redirect URI are known good, errors
/// are shown here; after that, they go back to the client.
async fn authorize(o: &Oidc, headers: &HeaderMap, query: &[u8]) -> Response {
    // A repeated parameter is refused; where the refusal goes depends on whether client and
    // redirect URI (their first values) are known good.
    let (params, repeated) = match Form::parse(query) {
        Ok(f) => (f, None),
        Err(r) => (r.first, Some(r.name)),
    };
    if repeated
        .as_deref()
        .is_some_and(|d| d == "client_id" || d == "redirect_uri")
    {
        return refused(
            Lang::Ja,
            StatusCode::BAD_REQUEST,
            "パラメータが重複しています。",
            "A parameter is given twice.",
        );
    }
    let lang = request_lang(None, ui_lang(&params), headers);
    let bad = |ja: &str, en_text: &str| refused(lang, StatusCode::BAD_REQUEST, ja, en_text);
    let Some(client) = params.get("client_id").and_then(|id| o.client(id)) else {
        return bad(
            "このサービスは登録されていません（client_id）。",
            "This service is not registered (client_id).",
        );
    };
    if repeated.is_none() && params.get("request_uri").is_some_and(|u| u.starts_with(PAR_URN)) {
        return pushed(o, client, &params, headers).await;
    }
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|r| client.config.redirect_uris.iter().any(|u| u == r))
    else {
        return bad(
            "戻り先のアドレスが登録されたものと一致しません（redirect_uri）。",
            "The return address does not match a registered one (redirect_uri).",
        );
    };
    let issuer = o.issuer();
    let state_ok = params.get("state").filter(|s| printable(s, 255));
    let fail = |error: &str, description: &str| error_back(redirect_uri, issuer, error, description, state_ok);
    if params.has("request_uri") {
        // Only this provider's own, from its PAR endpoint (request objects by reference are
        // not fetched).
        return fail(
            "request_uri_not_supported",
            "only request_uri values from this provider's pushed authorization request endpoint are accepted",
        );
    }
    // A FAPI 2.0 client's parameters come only by PAR, authenticated and out of the browser.
    if client.config.profile == ClientProfile::Fapi2 {
        return fail(
            "invalid_request",
            "this client must push its authorization requests (PAR, RFC 9126)",
        );
    }
    let auth = match validate(client, &params, repeated.is_some(), redirect_uri) {
        Ok(a) => a,
        Err(r) => return fail(r.error, r.description),
    };
    start(o, client, auth, lang)
}

/// A request whose parameters were pushed (RFC 9126): `client_id` and `request_uri` only; the
/// rest was validated when it was pushed. Each `request_uri` works once, before it expires.
async fn pushed(o: &Oidc, client: &Client, params: &Form, headers: &HeaderMap) -> Response {
    let lang = request_lang(None, None, headers);
    let bad = |ja: &str, en_text: &str| refused(lang, StatusCode::BAD_REQUEST, ja, en_text);
    let gone = || {
        bad(
            "この要求は期限切れか、すでに使われています。サービスに戻って、最初からやり直してください。",
            "This request has expired or was used already. Go back to the service and start again.",
        )
    };
    let Some(pushed) = params
        .get("request_uri")
        .and_then(|u| u.strip_prefix(PAR_URN))
        .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
        .and_then(|sealed| o.open::<Pushed>(PAR_CONTEXT, &sealed))
    else {
        return gone();
    };
    let now = o.now();
    if pushed.client_id != client.config.client_id || pushed.expires_at < now {
        return gone();
    }
    match o
        .store
        .use_jti(&format!("par:{}", pushed.client_id), &pushed.id, pushed.expires_at, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return gone(),
        Err(e) => return refused_by(lang, SessionError::from(e)),
    }
    let lang = request_lang(None, pushed.params.ui_lang, headers);
    start(o, client, pushed.params, lang)
}

/// The prefix of this provider's `request_uri`s.
pub(super) const PAR_URN: &str = "urn:ietf:params:oauth:request_uri:";
/// What a pushed request is sealed for.
pub(super) const PAR_CONTEXT: &str = "mynaid-oidc-par";

/// A pushed authorization request: validated, sealed into its own `request_uri` (no row
/// until it is used: its id is recorded then, once).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Pushed {
    pub(super) id: String,
    pub(super) client_id: String,
    pub(super) params: AuthParams,
    pub(super) expires_at: i64,
}

/// After validation: the request travels sealed in the browser's cookie to the consent page.
fn start(o: &Oidc, client: &Client, auth: AuthParams, lang: Lang) -> Response {
    let (redirect_uri, state) = (auth.redirect_uri.clone(), auth.state.clone());
    let fail = |error: &str, description: &str| error_back(&redirect_uri, o.issuer(), error, description, Some(&state));
    // Nothing is stored before the person decides: the validated request travels sealed in
    // this browser's cookie (a stranger's flood of authorization requests writes nothing).
    let now = o.now();
    let id = token::<16>();
    let pending = Pending {
        client_id: client.config.client_id.clone(),
        params: auth,
        secret: token::<24>(),
        created_at: now,
        expires_at: now + o.settings.request_ttl_secs as i64,
    };
    let Some(sealed) = o.seal(&pending_context(&id), &pending) else {
        return fail("server_error", "internal error");
    };
    let cookie = cookies::secret(
        o.cookie_name(&id),
        URL_SAFE_NO_PAD.encode(sealed),
        o.settings.request_ttl_secs,
        o.https,
    );
    let mut resp = (
        CookieJar::new().add(cookie),
        Redirect::to(&format!("/oidc/consent/{id}{}", mynaid_web::query(lang))),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Why an authorization request's parameters are refused, once client and redirect URI are
/// known good (it goes back to the client, or as the pushed request's answer).
pub(super) struct Refusal {
    pub(super) error: &'static str,
    pub(super) description: &'static str,
}

impl Refusal {
    fn new(error: &'static str, description: &'static str) -> Refusal {
        Refusal { error, description }
    }
}

/// The first of Japanese and English that `ui_locales` names (BCP 47 tags in the person's
/// order of preference), if it names either.
pub(super) fn ui_lang(params: &Form) -> Option<Lang> {
    params.get("ui_locales")?.split(' ').find_map(|tag| {
        let tag = tag.to_ascii_lowercase();
        match tag.split('-').next() {
            Some("ja") => Some(Lang::Ja),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    })
}

/// Validates the parameters of an authorization request of `client` to `redirect_uri` (known
/// good): at the authorization endpoint, or pushed (RFC 9126).
pub(super) fn validate(
    client: &Client,
    params: &Form,
    repeated: bool,
    redirect_uri: &str,
) -> Result<AuthParams, Refusal> {
    if repeated {
        return Err(Refusal::new("invalid_request", "a parameter is given twice"));
    }
    if params.has("request") {
        return Err(Refusal::new(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.get("response_type") != Some("code") {
        return Err(Refusal::new(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    let Some(state) = params.get("state").filter(|s| printable(s, 255)) else {
        return Err(Refusal::new(
            "invalid_request",
            "state is required (1-255 printable ASCII characters)",
        ));
    };
    let scopes: Vec<String> = params
        .get("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(Refusal::new("invalid_scope", "the openid scope is required"));
    }
    // Scopes this provider does not know (`profile`, `email`, `offline_access`…) are ignored,
    // as OpenID Connect Core §3.1.2.1 asks: they release nothing here (nor are they granted
    // in the token response's `scope`). The scope itself is the client's text: not logged.
    if scopes
        .iter()
        .any(|s| *s != "openid" && !CLAIM_SCOPES.contains(&s.as_str()))
    {
        tracing::info!(client = %client.config.client_id, "unknown scopes ignored");
    }
    let scopes: Vec<String> = scopes
        .into_iter()
        .filter(|s| s == "openid" || CLAIM_SCOPES.contains(&s.as_str()))
        .collect();
    if scopes
        .iter()
        .any(|s| *s != "openid" && !client.config.scopes.contains(s))
    {
        return Err(Refusal::new("invalid_scope", "a scope is not allowed for this client"));
    }
    let nonce = match params.get("nonce") {
        Some(n) if printable(n, 255) => Some(n.to_string()),
        Some(_) => {
            return Err(Refusal::new(
                "invalid_request",
                "nonce must be 1-255 printable ASCII characters",
            ));
        }
        None if client.config.require_nonce => return Err(Refusal::new("invalid_request", "nonce is required")),
        None => None,
    };
    // Only the query response mode exists here; any other is refused, not ignored (OAuth 2.0
    // Multiple Response Types §2.1), so a client never waits for a form post or fragment.
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(Refusal::new(
            "invalid_request",
            "response_mode: only query is supported",
        ));
    }
    let challenge = match (params.get("code_challenge_method"), params.get("code_challenge")) {
        (None, None) if !client.config.require_pkce => None,
        (Some("S256"), Some(c)) if c.len() == 43 && unreserved(c) => Some(c.to_string()),
        (Some("S256"), _) => {
            return Err(Refusal::new(
                "invalid_request",
                "code_challenge must be 43 characters (S256)",
            ));
        }
        (Some("plain"), _) => {
            return Err(Refusal::new(
                "invalid_request",
                "PKCE plain is refused: use code_challenge_method=S256",
            ));
        }
        (Some(_), _) => return Err(Refusal::new("invalid_request", "unsupported code_challenge_method")),
        (None, _) => {
            return Err(Refusal::new(
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required",
            ));
        }
    };
    let purpose = match params.get("purpose") {
        None => client.config.purposes[0],
        Some(p) => match p.parse::<Purpose>().ok().filter(|p| client.config.purposes.contains(p)) {
            Some(p) => p,
            None => {
                return Err(Refusal::new(
                    "invalid_request",
                    "purpose is not allowed for this client",
                ));
            }
        },
    };
    // The assurance the client asks for (`acr_values`, or `acr` in `claims`: OpenID Connect
    // Core §3.1.2.1, §5.5.1.1) is honoured as a restriction: only the routes that give one of
    // the asked values are offered, and the result must come from one of them.
    let asked = match asked_acrs(params) {
        Ok(a) => a,
        Err(why) => return Err(Refusal::new("invalid_request", why)),
    };
    let routes: Vec<Route> = match &asked {
        None => Vec::new(),
        Some(acrs) => client
            .routes_for(purpose)
            .into_iter()
            .filter(|r| acrs.iter().any(|a| a == r.acr()))
            .collect(),
    };
    if asked.is_some() && routes.is_empty() {
        return Err(Refusal::new(
            "unmet_authentication_requirements",
            "no route this client accepts gives the requested acr",
        ));
    }
    if params.get("prompt").is_some_and(|p| p.split(' ').any(|p| p == "none")) {
        return Err(Refusal::new(
            "login_required",
            "the card must be read: prompt=none cannot be satisfied",
        ));
    }
    let mut granted: Vec<String> = vec!["openid".into()];
    for s in CLAIM_SCOPES {
        if scopes.iter().any(|x| x == s) {
            granted.push(s.into());
        }
    }
    let auth = AuthParams {
        redirect_uri: redirect_uri.to_string(),
        scopes: granted,
        state: state.to_string(),
        nonce,
        code_challenge: challenge,
        purpose,
        ui_lang: ui_lang(params),
        routes,
    };
    Ok(auth)
}

/// The `acr` values a request asks for, from `acr_values` and from `claims`
/// (`{"id_token": {"acr": {"value": …}}}` or `"values": […]`), or `None` when it asks for none.
fn asked_acrs(params: &Form) -> Result<Option<Vec<String>>, &'static str> {
    let mut asked: Vec<String> = params
        .get("acr_values")
        .map(|v| v.split(' ').filter(|a| !a.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(text) = params.get("claims") {
        let claims: serde_json::Value = serde_json::from_str(text).map_err(|_| "claims is not JSON")?;
        let acr = &claims["id_token"]["acr"];
        if let Some(v) = acr["value"].as_str() {
            asked.push(v.to_string());
        }
        if let Some(vs) = acr["values"].as_array() {
            asked.extend(vs.iter().filter_map(|v| v.as_str()).map(str::to_string));
        }
    }
    Ok((!asked.is_empty()).then_some(asked))
}

/// Why this browser's request cannot go on: shown on a page.
struct NotYours {
    status: StatusCode,
    ja: &'static str,
    en: &'static str,
}

impl NotYours {
    fn page(&self, lang: Lang) -> Response {
        refused(lang, self.status, self.ja, self.en)
    }
}

/// An authorization request until the person decides: validated, sealed for its id, in the
/// browser's cookie. `secret` binds the consent form's token to this browser.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    client_id: String,
    params: AuthParams,
    secret: String,
    created_at: i64,
    expires_at: i64,
}

fn pending_context(id: &str) -> String {
    format!("mynaid-oidc-request\0{id}")
}

/// The request of this browser (its cookie opens for `id`), not expired, and its stored row
/// once the person decided.
async fn own_request(o: &Oidc, jar: &CookieJar, id: &str) -> Result<(Pending, Option<RequestRow>), NotYours> {
    let gone = NotYours {
        status: StatusCode::NOT_FOUND,
        ja: "この手続きは見つからないか、有効期限が過ぎています。サービスの画面から最初からやり直してください。",
        en: "This procedure was not found or has expired. Start again from the service.",
    };
    if id.len() > 64 {
        return Err(gone);
    }
    let pending: Option<Pending> = cookies::read(jar, &o.cookie_name(id))
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|sealed| o.open(&pending_context(id), &sealed));
    let Some(pending) = pending else {
        return Err(NotYours {
            status: StatusCode::FORBIDDEN,
            ja: "この手続きは、別のブラウザで始められたものです。手続きを始めたブラウザで続けてください。だれかから送られたリンクであれば、先に進まないでください。",
            en: "This procedure was started in another browser. Continue in the browser where you started; if somebody sent you this link, stop here.",
        });
    };
    if pending.expires_at < o.now() {
        return Err(gone);
    }
    match o.store.request(id).await {
        Ok(row) => Ok((pending, row)),
        Err(_) => Err(NotYours {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ja: "ただいま処理できません。しばらくしてからもう一度お試しください。",
            en: "The service cannot process this right now. Please try again shortly.",
        }),
    }
}

const CONSENT_CSRF_SCOPE: &str = "oidc-consent";

fn moved_on(lang: Lang) -> Response {
    refused(
        lang,
        StatusCode::CONFLICT,
        "この手続きはすでに進んでいます。サービスの画面から最初からやり直してください。",
        "This procedure has already moved on. Start again from the service.",
    )
}

pub(super) async fn consent_page(
    State(o): State<Oidc>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (pending, decided) = match own_request(&o, &jar, &id).await {
        Ok(v) => v,
        Err(e) => return e.page(request_lang(Some(&q), None, &headers)),
    };
    let (params, secret) = (&pending.params, &pending.secret);
    let lang = request_lang(Some(&q), params.ui_lang, &headers);
    if decided.is_some() {
        return moved_on(lang);
    }
    let Some(client) = o.client(&pending.client_id) else {
        return refused(
            lang,
            StatusCode::NOT_FOUND,
            "サービスが見つかりません。",
            "Service not found.",
        );
    };
    let csrf = csrf_token(CONSENT_CSRF_SCOPE, &id, secret);
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

pub(super) async fn consent_decision(
    State(o): State<Oidc>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let (pending, decided) = match own_request(&o, &jar, &id).await {
        Ok(v) => v,
        Err(e) => return e.page(request_lang(Some(&q), None, &headers)),
    };
    let params = &pending.params;
    let lang = request_lang(Some(&q), params.ui_lang, &headers);
    let form = Form::parse(&body).unwrap_or_default();
    if !csrf_valid(CONSENT_CSRF_SCOPE, &id, &pending.secret, form.get(CSRF_FIELD)) {
        tracing::warn!("consent form without its token refused");
        let a = Answer::forbidden_request();
        return PageError::cannot_start(a.status, lang, a.message).into_response();
    }
    if decided.is_some() {
        return moved_on(lang);
    }
    let issuer = o.issuer();
    // The decision is the first thing stored of this request: once (a second decision, in
    // another tab, finds it taken).
    let decide = |status: RequestStatus, session_id: Option<String>| {
        let row = RequestRow {
            id: id.clone(),
            client_id: pending.client_id.clone(),
            browser_hash: hash(&pending.secret),
            params: serde_json::to_string(&pending.params).unwrap_or_default(),
            session_id,
            status,
            created_at: pending.created_at,
            expires_at: pending.expires_at,
        };
        let store = o.store.clone();
        async move { store.add_request(&row).await }
    };
    match form.get("decision") {
        Some("deny") => {
            if decide(RequestStatus::Done, None).await.is_err() {
                return moved_on(lang);
            }
            error_back(
                &params.redirect_uri,
                issuer,
                "access_denied",
                "the person did not agree",
                Some(&params.state),
            )
        }
        Some("allow") => {
            let callback = format!("{}{}", issuer, super::config::CALLBACK_PATH);
            // The session belongs to this browser from the start: its cookie comes with this
            // answer, and no address carries a secret that could hand it to another browser.
            let created = match o
                .sessions
                .create_session_in_browser(
                    &pending.client_id,
                    params.purpose,
                    Some(callback),
                    (!params.routes.is_empty()).then_some(params.routes.as_slice()),
                )
                .await
            {
                Ok(c) => c,
                Err(e) => return refused_by(lang, e),
            };
            // Refused: decided in another tab (the session made here expires unused).
            if decide(RequestStatus::Reading, Some(created.id.clone())).await.is_err() {
                return moved_on(lang);
            }
            let cookie = cookies::secret(
                cookies::session_name(&created.id, o.https),
                created.browser_token,
                cookies::SESSION_MAX_AGE_SECS,
                o.https,
            );
            (
                CookieJar::new().add(cookie),
                Redirect::to(&format!("/s/{}{}", created.id, mynaid_web::query(lang))),
            )
                .into_response()
        }
        _ => refused(
            lang,
            StatusCode::BAD_REQUEST,
            "「同意する」か「同意しない」を選んでください。",
            "Choose 'agree' or 'do not agree'.",
        ),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct Back {
    session: String,
}

/// The verification session came back: take its result once, keep what the scopes release,
/// issue a code. Only in the browser that holds both the request's cookie and the session's
/// (the one that agreed and read the card): a link to here is worth nothing elsewhere.
pub(super) async fn callback(
    State(o): State<Oidc>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(b): Query<Back>,
) -> Response {
    let browser_lang = request_lang(None, None, &headers);
    let unknown = |lang: Lang| {
        refused(
            lang,
            StatusCode::NOT_FOUND,
            "この手続きは見つからないか、すでに終わっています。サービスの画面から最初からやり直してください。",
            "This procedure was not found or has already ended. Start again from the service.",
        )
    };
    if b.session.len() > 64 {
        return unknown(browser_lang);
    }
    let row = match o.store.request_by_session(&b.session).await {
        Ok(Some(r)) => r,
        _ => return unknown(browser_lang),
    };
    // This browser's request cookie must open for the request this session belongs to.
    let pending = match own_request(&o, &jar, &row.id).await {
        Ok((pending, _)) if same(&hash(&pending.secret), &row.browser_hash) => pending,
        Ok(_) => return unknown(browser_lang),
        Err(e) => return e.page(browser_lang),
    };
    let params = &pending.params;
    let lang = request_lang(None, params.ui_lang, &headers);
    let Some(session_cookie) = cookies::read(&jar, &cookies::session_name(&b.session, o.https)) else {
        tracing::warn!(client = %row.client_id, "callback without the session's cookie: refused");
        return Answer::from(SessionError::OtherBrowser).page(lang).into_response();
    };
    let now = o.now();
    // Once: a second visit (reload, another tab) finds it done.
    if !o
        .store
        .move_request(&row.id, RequestStatus::Reading, RequestStatus::Done, None, now)
        .await
        .unwrap_or(false)
    {
        return unknown(lang);
    }
    let issuer = o.issuer();
    let Some(client) = o.client(&row.client_id) else {
        return unknown(lang);
    };
    let presence = Presence::Cookie(&session_cookie);
    let result = match o.sessions.take_result(&row.client_id, &b.session, presence).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(client = %row.client_id, error = %e, "verification session did not give a result");
            return error_back(
                &params.redirect_uri,
                issuer,
                "access_denied",
                "the My Number Card was not verified",
                Some(&params.state),
            );
        }
    };
    // The result must give what the request asked for (the session accepted only those
    // routes; this holds even if it had not).
    let route = result.claims.verification.route;
    if !params.routes.is_empty() && !params.routes.contains(&route) {
        return error_back(
            &params.redirect_uri,
            issuer,
            "unmet_authentication_requirements",
            "the card was read by a route that does not give the requested acr",
            Some(&params.state),
        );
    }
    let grant = Grant {
        acr: route.acr().to_string(),
        amr: route.amr().iter().map(|a| a.to_string()).collect(),
        client_id: row.client_id.clone(),
        redirect_uri: params.redirect_uri.clone(),
        code_challenge: params.code_challenge.clone(),
        nonce: params.nonce.clone(),
        auth_time: i64::try_from(result.claims.verification.verified_at).unwrap_or(now),
        userinfo: claims::userinfo(&result, &params.scopes, &o.settings.trust_framework),
        scopes: params.scopes.clone(),
        sub: result.card_link_id.clone(),
        dpop_jkt: None,
    };
    drop(result);
    let code = token::<32>();
    let code_hash = hash(&code);
    let stored = match o.seal_grant("code", &code_hash, &grant) {
        Ok(sealed) => o
            .store
            .add_code(
                &code_hash,
                &client.config.client_id,
                &sealed,
                now,
                now + o.settings.code_ttl_secs as i64,
            )
            .await
            .is_ok(),
        Err(_) => false,
    };
    if !stored {
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
