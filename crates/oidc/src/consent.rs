//! The consent page of the OpenID Connect flow (before the card is read), Japanese first,
//! with an English switch, in the frame and style of the other pages (`mynaid-web`). The
//! error page of a request that cannot be sent back is `mynaid_web::PageError`'s.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mynaid_protocol::{Lang, Purpose};
use mynaid_web::hardening::{CSRF_FIELD, csp_source, page_csp};
use mynaid_web::{page, query};

use super::config::Client;

fn t<'a>(lang: Lang, ja: &'a str, en: &'a str) -> &'a str {
    lang.pick(ja, en)
}

/// What each scope releases, in words.
fn scope_words(lang: Lang, scope: &str) -> Option<&'static str> {
    Some(match (scope, lang) {
        ("name", Lang::Ja) => "氏名",
        ("name", Lang::En) => "Your name",
        ("address", Lang::Ja) => "住所",
        ("address", Lang::En) => "Your address",
        ("birthdate", Lang::Ja) => "生年月日",
        ("birthdate", Lang::En) => "Your date of birth",
        ("gender", Lang::Ja) => "性別",
        ("gender", Lang::En) => "Your sex",
        _ => return None,
    })
}

/// What the consent page shows and where its form leads.
pub(super) struct ConsentPage<'a> {
    pub(super) request_id: &'a str,
    pub(super) client: &'a Client,
    pub(super) scopes: &'a [String],
    pub(super) purpose: Purpose,
    /// The form's token (bound to this browser's request cookie).
    pub(super) csrf: &'a str,
    /// Where "do not agree" redirects the form to.
    pub(super) redirect_uri: &'a str,
}

/// The consent page: who asks, for what, why; agree (the card is read next) or decline.
pub(super) fn consent(lang: Lang, p: &ConsentPage<'_>) -> Response {
    let (request_id, client, scopes, purpose) = (p.request_id, p.client, p.scopes, p.purpose);
    let here = format!("/oidc/consent/{request_id}");
    let name = t(lang, &client.config.name, &client.config.name_en).to_string();
    let claims: Vec<&str> = scopes.iter().filter_map(|s| scope_words(lang, s)).collect();
    let body = page(
        lang,
        t(lang, "情報提供の確認", "Sharing your information"),
        &here,
        maud::html! {
            h1 { (t(lang, "次のサービスに情報を提供しますか", "Share your information with this service?")) }
            dl class="who" {
                dt { (t(lang, "情報を求めているサービス", "Service asking")) } dd id="consent-service" { (name) }
                dt { (t(lang, "サービスのアドレス", "Service address")) } dd id="consent-origin" { (client.origin) }
                dt { (t(lang, "目的", "Purpose")) } dd id="consent-purpose" { (t(lang, purpose.ja(), purpose.en())) }
            }
            h2 id="claims-title" { (t(lang, "提供される情報", "What the service will receive")) }
            ul id="consent-claims" aria-labelledby="claims-title" {
                @for c in &claims { li { (c) } }
                li { (t(lang, "このサービス専用の利用者識別子（個人番号ではありません）", "An identifier for you that only this service gets (not your Individual Number)")) }
                @if !claims.is_empty() {
                    li { (t(lang, "これらがマイナンバーカードで確認されたことと、その確認方法", "That these were verified with your My Number Card, and how")) }
                }
            }
            @if purpose == Purpose::LinkCard {
                p id="consent-status" {
                    (t(lang,
                       "連携のあと、カードの電子証明書が失効したとき（引っ越し、氏名の変更、カードの紛失や更新など）は、その事実と理由だけがこのサービスに知らされます。そのために、この連携が終わるまで、証明書の発行者と番号を暗号化して保管します（氏名・住所などは保管しません）。連携はこのサービスでいつでも解除でき、解除するとすぐに削除されます。",
                       "After linking, if your card's certificate is revoked (a move, a new name, a lost or renewed card), only that fact and its reason are told to this service. For this, the certificate's issuer and number are kept encrypted until the link ends (not your name, address or other details). You can end the link at the service at any time; it is then deleted at once."))
                }
            }
            p {
                (t(lang, "同意すると、次の画面でマイナンバーカードを読み取ります。カードで確認できた情報だけが、上のサービスに渡されます。",
                   "If you agree, your My Number Card is read on the next page. Only the information the card confirms goes to the service above."))
            }
            form method="post" action=(format!("{here}{}", query(lang))) {
                input type="hidden" name=(CSRF_FIELD) value=(p.csrf);
                ul class="methods" {
                    li { button type="submit" name="decision" value="allow" id="consent-allow" { (t(lang, "同意してカードを読み取る", "Agree and read my card")) } }
                    li { button type="submit" name="decision" value="deny" id="consent-deny" class="secondary" { (t(lang, "同意しない（サービスに戻る）", "Do not agree (back to the service)")) } }
                }
            }
        },
    );
    // "Do not agree" answers the form with a redirect to the client, which browsers check
    // against `form-action` too.
    let csp = page_csp(&csp_source(p.redirect_uri).into_iter().collect::<Vec<_>>());
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp),
        ],
        body,
    )
        .into_response()
}
