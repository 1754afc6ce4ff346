//! Linked cards stay true (issue 19): a card linked by an application is re-checked against
//! every fresh CRL; when its certificate is revoked the application receives one signed
//! Security Event Token (RFC 8417) — pushed (RFC 8935) after an outage of its endpoint, or
//! polled (RFC 8936) — and the demo portal asks the person to verify again. One event per
//! revocation with two instances on PostgreSQL, also when an instance dies mid-push; an
//! unlinked card is no longer checked; a client reaches only its own stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod oidc_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use common::{copy_pki, page_text, pki_revoke, real_now};
use mynaid_server::config::TrustConfig;
use mynaid_signals::{CREDENTIAL_CHANGE, Delivered, VERIFICATION};
use oidc_support::{
    BASIC_CLIENT, BASIC_SECRET, Op, POST_CLIENT, POST_SECRET, Remote, browser, code_for, consent_and_read, exchange,
    jwt_header, location, new_rp, payload, to_consent,
};
use serde_json::{Value, json};

/// `rp-basic` links `person`'s card (purpose link_card, scope openid): the `sub` it keeps.
async fn link(op: &Op, person: &str) -> String {
    let mut rp = new_rp(op, BASIC_CLIENT, &[], &[("purpose", "link_card")]).await;
    let code = code_for(op, &rp, person).await;
    let tokens = exchange(&mut rp, &code, None).await;
    use openidconnect::TokenResponse;
    let id_token = tokens.id_token().unwrap().to_string();
    payload(&id_token)["sub"].as_str().unwrap().to_string()
}

/// A client-credentials token request for `scope` (`client_secret_basic`): the answer.
async fn client_credentials(base: &str, client: &str, secret: &str, scope: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/oidc/token"))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap()
}

/// A client-credentials token of scope `ssf` (`client_secret_basic`).
async fn ssf_token(base: &str, client: &str, secret: &str) -> String {
    let r = client_credentials(base, client, secret, "ssf").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["scope"], "ssf");
    assert!(v.get("id_token").is_none(), "no person, no ID token");
    v["access_token"].as_str().unwrap().to_string()
}

/// Sends `request` with `token` as its bearer: the answer.
async fn with_bearer(request: reqwest::RequestBuilder, token: &str) -> reqwest::Response {
    request.bearer_auth(token).send().await.unwrap()
}

/// Sends `request` with `token` as its bearer and `body` as JSON: the answer.
async fn json_with_bearer(request: reqwest::RequestBuilder, token: &str, body: &Value) -> reqwest::Response {
    with_bearer(request.json(body), token).await
}

/// An application's event receiver: answers 202 when up, 503 when down; keeps what it took.
#[derive(Clone, Default)]
struct Receiver {
    up: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
    taken: Arc<Mutex<Vec<String>>>,
    url: String,
}

const RECEIVER_AUTH: &str = "Bearer receiver-secret-6f1e";

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            url: format!("http://{}/events", listener.local_addr().unwrap()),
            ..Receiver::default()
        };
        r.up.store(true, Ordering::SeqCst);
        let state = r.clone();
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let s = state.clone();
                async move {
                    s.attempts.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(headers["content-type"], "application/secevent+jwt");
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(RECEIVER_AUTH) {
                        return StatusCode::UNAUTHORIZED;
                    }
                    if !s.up.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    s.taken.lock().unwrap().push(body);
                    StatusCode::ACCEPTED
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    fn taken(&self) -> Vec<String> {
        self.taken.lock().unwrap().clone()
    }
}

/// `client`'s push stream to `rx`, created with `token`: the stream's id.
async fn push_stream(base: &str, token: &str, rx: &Receiver) -> String {
    let r = json_with_bearer(
        reqwest::Client::new().post(format!("{base}/ssf/stream")),
        token,
        &json!({
            "delivery": { "method": "urn:ietf:rfc:8935", "endpoint_url": rx.url, "authorization_header": RECEIVER_AUTH },
            "events_requested": [CREDENTIAL_CHANGE],
        }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["events_delivered"], json!([CREDENTIAL_CHANGE]));
    assert!(
        v["delivery"].get("authorization_header").is_none(),
        "the receiver's secret is not shown back"
    );
    v["stream_id"].as_str().unwrap().to_string()
}

/// The claims of a SET after checking its signature with the provider's JWKS, as a receiver
/// does with any JOSE library.
async fn verified_set(base: &str, set: &str, audience: &str) -> Value {
    let head = jwt_header(set);
    assert_eq!(head["typ"], "secevent+jwt", "never taken for an ID token");
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{base}/oidc/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks
        .find(head["kid"].as_str().unwrap())
        .expect("the signing key is published");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_issuer(&[base]);
    v.set_audience(&[audience]);
    v.validate_exp = false;
    v.required_spec_claims = ["iss".to_string(), "aud".to_string()].into_iter().collect();
    jsonwebtoken::decode::<Value>(set, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &v)
        .expect("the SET verifies with the provider's JWKS")
        .claims
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_is_pushed_once_after_the_endpoint_comes_back_and_an_unlinked_card_is_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    copy_pki(dir.path());
    let op = Op::with(|c| {
        c.trust = TrustConfig::test_pki(dir.path());
        c.signals.retry_base_secs = 10;
    })
    .await;
    // The CRLs `pki revoke` writes are dated now: the service's clock too.
    op.clock.store(real_now() + 60, Ordering::SeqCst);
    let moved = link(&op, "p01").await;
    let stays = link(&op, "p02").await;
    assert_ne!(moved, stays);
    let rx = Receiver::start().await;
    let token = ssf_token(&op.base, BASIC_CLIENT, BASIC_SECRET).await;
    push_stream(&op.base, &token, &rx).await;
    let signals = op.server.signals.clone();

    // Nothing is revoked: a check finds nothing, nothing is sent.
    let check = op.svc.recheck_links().await.unwrap();
    assert_eq!((check.checked, check.revoked), (2, 0));
    assert_eq!(signals.deliver_due().await.unwrap(), Delivered::default());

    // p01 moves while the application's endpoint is down.
    rx.up.store(false, Ordering::SeqCst);
    pki_revoke(dir.path(), "p01", "affiliationChanged", Some("auth"));
    assert!(op.server.refresh_crls().await.taken >= 1, "the fresh CRL is taken");
    let check = op.svc.recheck_links().await.unwrap();
    assert_eq!((check.checked, check.revoked), (2, 1));
    let d = signals.deliver_due().await.unwrap();
    assert_eq!((d.accepted, d.retrying), (0, 1), "the endpoint is down: retried later");
    assert_eq!(rx.attempts.load(Ordering::SeqCst), 1);
    // Not again before the backoff, not even when checked again: one event per revocation.
    assert_eq!(op.svc.recheck_links().await.unwrap().revoked, 0);
    assert_eq!(signals.deliver_due().await.unwrap(), Delivered::default());
    assert_eq!(rx.attempts.load(Ordering::SeqCst), 1);

    // The endpoint comes back; after the backoff the event is delivered, once.
    rx.up.store(true, Ordering::SeqCst);
    op.advance(11);
    assert_eq!(signals.deliver_due().await.unwrap().accepted, 1);
    op.advance(3600);
    assert_eq!(signals.deliver_due().await.unwrap(), Delivered::default());
    let taken = rx.taken();
    assert_eq!(taken.len(), 1, "exactly one event");
    let set = verified_set(&op.base, &taken[0], BASIC_CLIENT).await;
    assert_eq!(
        set["sub_id"],
        json!({ "format": "iss_sub", "iss": op.base, "sub": moved })
    );
    let change = &set["events"][CREDENTIAL_CHANGE];
    assert_eq!(change["change_type"], "revoke");
    assert_eq!(change["credential_type"], "x509");
    assert_eq!(change["revocation_reason"], "affiliationChanged");
    assert!((change["event_timestamp"].as_i64().unwrap() - real_now()).abs() < 600);
    assert!(set["jti"].as_str().is_some_and(|j| j.len() >= 16));
    // The event says nothing that would undo the pairwise identifier.
    let text = set.to_string();
    assert!(!text.contains("serial") && !text.contains("issuer"), "{text}");

    // p02's link is ended by the application (the person unlinked there): its data goes at
    // once, and its revocation later raises nothing.
    let token = ssf_token(&op.base, BASIC_CLIENT, BASIC_SECRET).await;
    let r = json_with_bearer(
        reqwest::Client::new().post(format!("{}/ssf/subjects/remove", op.base)),
        &token,
        &json!({ "subject": { "format": "iss_sub", "iss": op.base, "sub": stays } }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!op.svc.links().has_link(BASIC_CLIENT, &stays).await.unwrap());
    pki_revoke(dir.path(), "p02", "keyCompromise", Some("auth"));
    op.advance(60);
    assert!(op.server.refresh_crls().await.taken >= 1);
    let check = op.svc.recheck_links().await.unwrap();
    assert_eq!((check.checked, check.revoked), (0, 0), "no link is left to check");
    assert_eq!(signals.deliver_due().await.unwrap(), Delivered::default());
    assert_eq!(rx.taken().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_delivery_and_the_verification_event_and_a_client_reaches_only_its_own_stream() {
    let op = Op::start().await;
    let token = ssf_token(&op.base, BASIC_CLIENT, BASIC_SECRET).await;
    let http = reqwest::Client::new();
    // A push endpoint in the clear on another host is refused: events name people's links.
    let streams = format!("{}/ssf/stream", op.base);
    let r = json_with_bearer(
        http.post(&streams),
        &token,
        &json!({ "delivery": { "method": "urn:ietf:rfc:8935", "endpoint_url": "http://rp.example.jp/events" } }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["err"], "invalid_configuration");
    let r = json_with_bearer(
        http.post(&streams),
        &token,
        &json!({ "delivery": { "method": "urn:ietf:rfc:8936" }, "events_requested": [CREDENTIAL_CHANGE] }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let stream: Value = r.json().await.unwrap();
    let stream_id = stream["stream_id"].as_str().unwrap().to_string();
    let this_stream = format!("{streams}?stream_id={stream_id}");
    let poll_url = stream["delivery"]["endpoint_url"].as_str().unwrap().to_string();
    assert_eq!(poll_url, format!("{}/ssf/poll/{stream_id}", op.base));
    // The metadata names the endpoints.
    let meta: Value = reqwest::get(format!("{}/.well-known/ssf-configuration", op.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], op.base.as_str());
    assert_eq!(
        meta["delivery_methods_supported"],
        json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"])
    );

    // The attacker is another registered client, with its own valid token: it cannot read,
    // poll, change or delete this client's stream, nor end its links.
    let other = {
        let r = http
            .post(format!("{}/oidc/token", op.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "ssf"),
                ("client_id", POST_CLIENT),
                ("client_secret", POST_SECRET),
            ])
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let get = with_bearer(http.get(&this_stream), &other).await;
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
    let polled = json_with_bearer(http.post(&poll_url), &other, &json!({})).await;
    assert_eq!(polled.status(), StatusCode::NOT_FOUND);
    let deleted = with_bearer(http.delete(&this_stream), &other).await;
    assert_eq!(deleted.status(), StatusCode::NOT_FOUND);
    // Without a token, or with a token that is not for streams, nothing.
    let anonymous = http.post(&poll_url).json(&json!({})).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let openid_only = client_credentials(&op.base, BASIC_CLIENT, BASIC_SECRET, "openid name").await;
    assert_eq!(openid_only.status(), StatusCode::BAD_REQUEST);
    assert_eq!(openid_only.json::<Value>().await.unwrap()["error"], "invalid_scope");
    // …and a stream token opens no UserInfo.
    let userinfo = with_bearer(http.get(format!("{}/oidc/userinfo", op.base)), &token).await;
    assert_eq!(userinfo.status(), StatusCode::FORBIDDEN);

    // The client asks for a verification event and polls it.
    let v = json_with_bearer(
        http.post(format!("{}/ssf/verify", op.base)),
        &token,
        &json!({ "stream_id": stream_id, "state": "state-123" }),
    )
    .await;
    assert_eq!(v.status(), StatusCode::NO_CONTENT);
    let poll = |body: Value| {
        let (http, url, token) = (http.clone(), poll_url.clone(), token.clone());
        async move {
            let r = json_with_bearer(http.post(url), &token, &body).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    let first = poll(json!({ "returnImmediately": true })).await;
    let sets = first["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(first["moreAvailable"], false);
    let (jti, set) = sets.iter().next().unwrap();
    let claims = verified_set(&op.base, set.as_str().unwrap(), BASIC_CLIENT).await;
    assert_eq!(&claims["jti"], jti);
    assert_eq!(claims["events"][VERIFICATION]["state"], "state-123");
    assert_eq!(claims["sub_id"], json!({ "format": "opaque", "id": stream_id }));
    // Not acknowledged: polled again (at least once) …
    let again = poll(json!({ "returnImmediately": true })).await;
    assert!(again["sets"].get(jti).is_some());
    // … acknowledged: gone.
    let after = poll(json!({ "ack": [jti], "returnImmediately": true })).await;
    assert_eq!(after["sets"], json!({}));
    // The client deletes its stream.
    let deleted = with_bearer(http.delete(&this_stream), &token).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = json_with_bearer(http.post(&poll_url), &token, &json!({})).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgresql_raise_one_event_also_when_one_dies_while_pushing() {
    let pg = common::PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    copy_pki(dir.path());
    let instance = || {
        Op::with(|c| {
            c.database_url = pg.url.clone();
            c.trust = TrustConfig::test_pki(dir.path());
            c.signals.lease_secs = 30;
        })
    };
    let a = instance().await;
    let b = instance().await;
    for op in [&a, &b] {
        op.clock.store(real_now() + 60, Ordering::SeqCst);
    }
    let sub = link(&a, "p01").await;
    let rx = Receiver::start().await;
    let token = ssf_token(&b.base, BASIC_CLIENT, BASIC_SECRET).await;
    push_stream(&a.base, &token, &rx).await;

    pki_revoke(dir.path(), "p01", "affiliationChanged", Some("auth"));
    let (ra, rb) = tokio::join!(a.server.refresh_crls(), b.server.refresh_crls());
    assert!(ra.taken >= 1 && rb.taken >= 1, "both instances take the fresh CRL");
    let (ca, cb) = tokio::join!(a.svc.recheck_links(), b.svc.recheck_links());
    assert_eq!(
        ca.unwrap().revoked + cb.unwrap().revoked,
        1,
        "one event for one revocation"
    );

    // Instance a takes the event to push it and dies before it is sent.
    let leased = a
        .svc
        .links()
        .take_due(&[BASIC_CLIENT.to_string()], a.now(), 30, 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    drop(leased);
    // b does not send it while a's lease holds …
    assert_eq!(b.server.signals.deliver_due().await.unwrap(), Delivered::default());
    assert!(rx.taken().is_empty());
    // … and sends it, once, when the lease has run out.
    b.advance(31);
    assert_eq!(b.server.signals.deliver_due().await.unwrap().accepted, 1);
    a.advance(31);
    assert_eq!(a.server.signals.deliver_due().await.unwrap(), Delivered::default());
    let taken = rx.taken();
    assert_eq!(taken.len(), 1);
    // Signed by b (each test instance has its own address, hence issuer), with the key both share.
    let set = verified_set(&b.base, &taken[0], BASIC_CLIENT).await;
    assert_eq!(set["sub_id"]["sub"], sub.as_str());
}

/// The demo as `mynaid-server demo` runs it (server and portal, real clock, the scheduled
/// CRL refresh and pushes): a person links p01 at the portal; the card is revoked while the
/// server runs; the portal shows that account "verify again", and another person's account
/// (p02) stays linked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_portal_asks_to_verify_again_after_the_cards_certificate_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    copy_pki(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secret = "demo-portal-secret-for-the-event-test-0123";
    let mut config = common::test_config(&base, &format!("sqlite://{}", dir.path().join("db.sqlite").display()));
    config.trust = TrustConfig::test_pki(dir.path());
    config.trust.crl_refresh_secs = 1;
    config.signals.push_interval_secs = 1;
    config.oidc.clients = vec![mynaid_oidc::config::OidcClientConfig {
        client_id: "demo-portal".into(),
        name: "登録ポータル（デモ）".into(),
        name_en: "Registration portal (demo)".into(),
        origin: None,
        redirect_uris: vec![format!("{base}/portal/callback")],
        scopes: vec!["name".into(), "address".into(), "birthdate".into(), "gender".into()],
        purposes: vec![
            mynaid_protocol::Purpose::VerifyIdentity,
            mynaid_protocol::Purpose::LinkCard,
        ],
        auth_method: mynaid_oidc::config::AuthMethod::ClientSecretBasic,
        require_nonce: false,
        require_pkce: true,
        profile: mynaid_oidc::config::ClientProfile::Oidc,
        client_secret: Some(secret.into()),
        jwks: None,
        jwks_file: None,
        id_token_ttl_secs: 300,
        access_token_ttl_secs: 300,
        accepted_routes: mynaid_protocol::Route::ALL.to_vec(),
    }];
    let server = mynaid_server::start(config, mynaid_sessions::system_clock())
        .await
        .unwrap();
    let app = mynaid_server::app(&server).merge(mynaid_demo_portal::router(mynaid_demo_portal::PortalConfig {
        mynaid_url: base.clone(),
        client_id: "demo-portal".into(),
        client_secret: secret.into(),
        portal_url: base.clone(),
    }));
    tokio::spawn(mynaid_server::serve_router(
        server,
        app,
        listener,
        std::future::pending(),
    ));
    let site = Remote(base.clone());

    // Two people link their cards at the portal, each in their own browser.
    let mut browsers = Vec::new();
    for person in ["p01", "p02"] {
        let b = browser();
        let page = b.get(format!("{base}/portal")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let start = b
            .post(format!("{base}/portal/start"))
            .form(&[("action", "link_card")])
            .send()
            .await
            .unwrap();
        let (consent, html) = to_consent(&site, &b, &location(&start)).await;
        assert!(
            html.contains("id=\"consent-status\""),
            "the consent says the card's status will be told: {html}"
        );
        let back = consent_and_read(&site, &b, &consent, person).await;
        let done = b.get(&back).send().await.unwrap();
        assert_eq!(location(&done), "/portal");
        let account = page_text(b.get(format!("{base}/portal"))).await;
        assert!(
            account.contains("連携済み（") && account.contains("<span lang=\"en\">linked ("),
            "{account}"
        );
        browsers.push(b);
    }

    pki_revoke(dir.path(), "p01", "affiliationChanged", Some("auth"));
    // Within a few refresh intervals the portal hears it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = page_text(browsers[0].get(format!("{base}/portal"))).await;
        if page.contains("id=\"revoked\"") {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the portal never heard of the revocation: {page}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        page.contains("引っ越しや氏名の変更など") && page.contains("Verify again"),
        "{page}"
    );
    let other = page_text(browsers[1].get(format!("{base}/portal"))).await;
    assert!(
        other.contains("<span lang=\"en\">linked (") && !other.contains("id=\"revoked\""),
        "{other}"
    );
}
