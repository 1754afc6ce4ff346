//! The OpenID Connect part of the privacy scan: a browser that keeps every response, and the
//! authorization code flow through consent, the card reading and the token and UserInfo
//! requests.

use super::*;

/// A browser for the OIDC flow: cookies kept (all sent everywhere: one server), redirects not
/// followed. Every response body, and its `Location` and `Set-Cookie` headers, are kept.
pub(super) struct Browser {
    pub(super) agent: ureq::Agent,
    pub(super) base: String,
    pub(super) cookies: Vec<(String, String)>,
}

/// One response the browser got.
pub(super) struct Got {
    pub(super) status: u16,
    pub(super) location: Option<String>,
    pub(super) body: String,
}

impl Browser {
    pub(super) fn new(base: &str) -> Browser {
        Browser {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into(),
            base: base.to_string(),
            cookies: Vec::new(),
        }
    }

    /// An absolute URL for a path or URL.
    pub(super) fn url(&self, to: &str) -> String {
        if to.starts_with('/') {
            format!("{}{to}", self.base)
        } else {
            to.to_string()
        }
    }

    pub(super) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(super) fn get(&mut self, bodies: &mut Bodies, what: &str, to: &str) -> Got {
        let mut req = self.agent.get(&self.url(to));
        if !self.cookies.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        self.keep(bodies, what, req.call())
    }

    /// A form posted by one of the server's own pages (same origin).
    pub(super) fn post_form(&mut self, bodies: &mut Bodies, what: &str, to: &str, form: &str) -> Got {
        let mut req = self
            .agent
            .post(&self.url(to))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Sec-Fetch-Site", "same-origin")
            .header("Origin", &self.base);
        if !self.cookies.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        self.keep(bodies, what, req.send(form.as_bytes()))
    }

    /// A script's JSON post from a page of this origin (the return page's).
    pub(super) fn post_json(&mut self, bodies: &mut Bodies, what: &str, to: &str, json: &str) -> Got {
        let mut req = self
            .agent
            .post(&self.url(to))
            .header("Content-Type", "application/json")
            .header("Sec-Fetch-Site", "same-origin")
            .header("Origin", &self.base);
        if !self.cookies.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        self.keep(bodies, what, req.send(json.as_bytes()))
    }

    pub(super) fn keep(
        &mut self,
        bodies: &mut Bodies,
        what: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Got {
        let r = resp.unwrap();
        let header = |name: &str| {
            r.headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let location = header("location").into_iter().next();
        let set_cookies = header("set-cookie");
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            self.cookies.push((name.trim().to_string(), value.to_string()));
        }
        let headers: String = location
            .iter()
            .map(|l| format!("location: {l}\n"))
            .chain(set_cookies.iter().map(|c| format!("set-cookie: {c}\n")))
            .collect();
        if !headers.is_empty() {
            bodies.0.push((format!("{what} (headers)"), headers.into_bytes()));
        }
        let (status, body) = bodies.keep(what, Ok(r));
        Got {
            status,
            location,
            body: String::from_utf8(body).unwrap(),
        }
    }
}

/// The decoding of unpadded base64url.
pub(super) fn unbase64url(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        acc = acc << 6 | alphabet.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// 32 random bytes, base64url (a PKCE verifier, a state, a nonce).
pub(super) fn random_text() -> String {
    let bytes = aws_lc_rs::rand::generate::<[u8; 32]>(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    base64(&bytes.expose(), true)
}

/// What the relying party got from one OIDC flow.
pub(super) struct OidcAnswers {
    /// The token response (`access_token`, `id_token`, …).
    pub(super) token: Vec<u8>,
    /// The UserInfo response.
    pub(super) userinfo: Vec<u8>,
    /// The access token (it must not appear anywhere else).
    pub(super) access_token: String,
}

/// The OpenID Connect authorization code flow of `p` on `route`: the browser from the
/// authorization request through consent, the procedure page and the card reading to the
/// redirect to the client; then the relying party's token request, UserInfo, a replay of the
/// code and UserInfo with the revoked token. Every response is kept in `bodies` except the
/// token response and UserInfo, which are returned.
pub(super) fn oidc_flow(
    base: &str,
    p: &PersonRecord,
    route: &str,
    secret: &str,
    bodies: &mut Bodies,
    reader_out: &mut Vec<u8>,
) -> OidcAnswers {
    let mut b = Browser::new(base);
    let (state, nonce, verifier) = (random_text(), random_text(), random_text());
    let challenge = base64(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
        true,
    );
    let authorize = format!(
        "/oidc/authorize?response_type=code&client_id={OIDC_CLIENT}&redirect_uri={}&scope={}\
         &state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        percent(OIDC_REDIRECT),
        percent("openid name address birthdate gender"),
    );
    let r = b.get(bodies, "OIDC authorize", &authorize);
    assert_eq!(r.status, 303, "{}", r.body);
    let consent = r.location.unwrap();
    assert!(consent.starts_with("/oidc/consent/"), "{consent}");
    let r = b.get(bodies, "OIDC consent page", &consent);
    assert_eq!(r.status, 200);
    let csrf = form_token(&r.body).expect("the consent form's token");
    let r = b.post_form(
        bodies,
        "OIDC consent (allow)",
        &consent,
        &format!("decision=allow&csrf={}", percent(&csrf)),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    // The session's cookie comes with the consent's answer.
    let procedure = r.location.unwrap();
    assert!(procedure.starts_with("/s/"), "{procedure}");
    let id = procedure
        .trim_start_matches("/s/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let r = b.get(bodies, "OIDC procedure page", &procedure);
    assert_eq!(r.status, 200);
    let csrf = form_token(&r.body).expect("the procedure page's token");
    let r = b.post_form(
        bodies,
        "OIDC pattern-1 choice",
        &format!("/s/{id}/pc"),
        &format!("csrf={}", percent(&csrf)),
    );
    // Answered with the page's address, which the browser gets.
    assert_eq!(r.status, 303, "{}", r.body);
    let r = b.get(bodies, "OIDC pattern-1 page", &format!("/s/{id}/pc"));
    assert_eq!(r.status, 200, "{}", r.body);
    let link = reader_link(&r.body);
    let back =
        read_card(p, &link, route, secret, reader_out).unwrap_or_else(|| panic!("{} {route}: OIDC reader exit", p.id));
    let handle = back.split_once("/return#").unwrap().1;
    let r = b.post_json(
        bodies,
        "OIDC return",
        "/return",
        &serde_json::json!({ "result_handle": handle }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = b.get(bodies, "OIDC done page", &format!("/s/{id}/done"));
    assert_eq!(r.status, 200);
    let at = r.body.find(r#"id="back""#).expect("the way back to the provider");
    let rest = &r.body[at..];
    let from = rest.find(r#"href=""#).unwrap() + r#"href=""#.len();
    let back = rest[from..from + rest[from..].find('"').unwrap()].replace("&amp;", "&");
    assert!(back.starts_with(&format!("{base}/oidc/callback?session=")), "{back}");
    let r = b.get(bodies, "OIDC callback", &back);
    assert_eq!(r.status, 303, "{}", r.body);
    // The browser would now go to the client: only the code is taken from the redirect.
    let to_client = r.location.unwrap();
    let (at, query) = to_client.split_once('?').unwrap();
    assert_eq!(at, OIDC_REDIRECT, "{to_client}");
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {to_client}"))
            .to_string()
    };
    assert_eq!(param("state"), state);
    let code = param("code");

    // The relying party: the token request (client_secret_basic, PKCE), UserInfo.
    let rp = agent();
    let basic = {
        let mut b64 = base64(format!("{OIDC_CLIENT}:{OIDC_SECRET}").as_bytes(), false);
        while b64.len() % 4 != 0 {
            b64.push('=');
        }
        format!("Basic {b64}")
    };
    let form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
        percent(&code),
        percent(OIDC_REDIRECT)
    );
    let token_request = || {
        rp.post(&format!("{base}/oidc/token"))
            .header("Authorization", &basic)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form.as_bytes())
    };
    let (status, token) = bodies.keep("OIDC token (allowed)", token_request());
    assert_eq!(status, 200, "{} {route}: token request", p.id);
    bodies.0.pop();
    let v: Value = serde_json::from_slice(&token).unwrap();
    let access_token = v["access_token"].as_str().unwrap().to_string();
    let userinfo_request = || {
        rp.get(&format!("{base}/oidc/userinfo"))
            .header("Authorization", &format!("Bearer {access_token}"))
            .call()
    };
    let (status, userinfo) = bodies.keep("OIDC UserInfo (allowed)", userinfo_request());
    assert_eq!(status, 200, "{} {route}: UserInfo", p.id);
    bodies.0.pop();
    // The code replayed: refused, and it revokes the access token; nothing personal in
    // either refusal.
    let (status, _) = bodies.keep("OIDC token (code replayed)", token_request());
    assert_eq!(status, 400);
    let (status, _) = bodies.keep("OIDC UserInfo (revoked token)", userinfo_request());
    assert_eq!(status, 401);
    OidcAnswers {
        token,
        userinfo,
        access_token,
    }
}
