//! The one place where a refusal becomes an HTTP answer: its status, its stable code and what
//! to tell the person in Japanese and English (what happened, what to do next). Built from
//! the domain's variants ([`SessionError`], [`Failure`]), never from low-level error text, so
//! nothing internal (and nothing personal) leaks into a response. As JSON for the APIs
//! (`{"error": {"code", "message": {"ja", "en"}}}`), as a page for the browser.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mynaid_protocol::api::{ErrorBody, ErrorDetail};
use mynaid_protocol::{Lang, Text};
use mynaid_sessions::{Failure, SessionError};

use crate::PageError;

/// A refusal as answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What to tell the person.
    pub message: Text,
    /// Seconds until a retry is accepted (`Retry-After`), for a rate limit.
    pub retry_after: Option<u64>,
}

fn answer(status: StatusCode, code: &'static str, ja: impl Into<String>, en: impl Into<String>) -> Answer {
    Answer {
        status,
        code,
        message: Text::new(ja, en),
        retry_after: None,
    }
}

impl Answer {
    /// The storage is unavailable; nothing was changed.
    pub fn unavailable() -> Answer {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "ただいま処理できません。しばらくしてからもう一度お試しください。",
            "The service cannot process this right now. Please try again shortly.",
        )
    }

    /// A post from another site, or without its form's token: refused, nothing changed.
    pub fn forbidden_request() -> Answer {
        answer(
            StatusCode::FORBIDDEN,
            "request_forbidden",
            "このリクエストは受け付けられません。手続きの画面を開き直してから、もう一度操作してください。",
            "This request cannot be accepted. Reload the procedure page and try again.",
        )
    }

    /// Too many requests for this handle or from this address; `retry_after` seconds until
    /// the next one is accepted (also in the `Retry-After` header).
    pub fn rate_limited(retry_after: u64) -> Answer {
        let secs = retry_after.max(1);
        Answer {
            retry_after: Some(secs),
            ..answer(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("短い時間に多くの操作がありました。{secs}秒ほど待ってからもう一度お試しください。"),
                format!("Too many attempts in a short time. Wait about {secs} seconds and try again."),
            )
        }
    }

    /// A request that is not valid (says which part).
    pub fn bad_request(what: &str) -> Answer {
        answer(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("リクエストが正しくありません（{what}）。"),
            format!("The request is not valid ({what})."),
        )
    }

    /// Why a session failed, as its page says it.
    pub fn failure(f: Failure) -> Answer {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        let code = f.as_str();
        match f {
            Failure::EvidenceMalformed => answer(
                status,
                code,
                "読み取りアプリから届いたデータが正しくありません。アプリを更新してやり直してください。",
                "The data from the reader app is not valid. Update the app and try again.",
            ),
            Failure::CardDataInvalid => answer(
                status,
                code,
                "カードのデータを確認できませんでした。もう一度読み取ってください。",
                "The card's data could not be checked. Read the card again.",
            ),
            Failure::CertificateExpired => answer(
                status,
                code,
                "電子証明書の有効期限が切れています。市区町村の窓口で更新してください。",
                "The card's certificate has expired. Renew it at your city office.",
            ),
            Failure::CertificateRevoked => answer(
                status,
                code,
                "署名用電子証明書が失効しています（引っ越しや氏名の変更などで失効します）。数字4桁の暗証番号での読み取りを選べる手続きなら、そちらをお試しください。市区町村の窓口で再発行もできます。",
                "The signature certificate has been revoked (a move or a change of name revokes it). If the procedure accepts the 4-digit PINs, read the card with them; the city office can also issue a new certificate.",
            ),
            Failure::UserAuthenticationRevoked => answer(
                status,
                code,
                "利用者証明用電子証明書が失効しています（カードの紛失の届出や再交付などで失効します）。住民票のある市区町村の窓口で電子証明書を発行し直してください。",
                "The card's user-authentication certificate has been revoked (a lost-card report or a new card revokes it). Have new certificates issued at your city office.",
            ),
            Failure::RevocationUnknown => answer(
                status,
                code,
                "電子証明書の失効確認ができませんでした。時間をおいてもう一度お試しください。",
                "The certificate's revocation status could not be checked. Please try again later.",
            ),
            Failure::SignatureMismatch => answer(
                status,
                code,
                "カードの署名がこの手続きと一致しません。手続きの画面からやり直してください。",
                "The card's signature does not match this procedure. Start again from the procedure page.",
            ),
            Failure::CardNotTrusted => answer(
                status,
                code,
                "このカードのデータを信頼できるものと確認できませんでした。",
                "The card's data could not be verified as genuine.",
            ),
            Failure::RedeemedTwice => answer(
                StatusCode::GONE,
                code,
                "読み取り用のリンク（QRコード）が2台目の端末でも使われたため、安全のためこの手続きを中止しました。カードの情報はどこにも渡していません。QRコードやリンクをだれにも見せず、サービスの画面から最初からやり直してください。",
                "The reading link (QR code) was used by a second device, so this procedure was stopped for your safety. Your card's information went nowhere. Start again from the service, and show the QR code or link to nobody.",
            ),
            Failure::ConfirmationFailed => answer(
                StatusCode::GONE,
                code,
                "確認コードを何度も間違えたため、この手続きは中止されました。最初からやり直してください。",
                "The confirmation code was wrong too many times, so this procedure was stopped. Start again.",
            ),
        }
    }

    /// This answer as the page a browser sees.
    pub fn page(&self, lang: Lang) -> PageError {
        PageError::new(self.status, lang, self.message.clone())
    }
}

impl From<&SessionError> for Answer {
    fn from(e: &SessionError) -> Answer {
        use SessionError as E;
        match e {
            E::HandleUnknown => answer(
                StatusCode::NOT_FOUND,
                "handle_unknown",
                "この読み取り用リンクは無効です。手続きの画面からやり直してください。",
                "This reading link is not valid. Start again from the procedure page.",
            ),
            E::HandleUsed => answer(
                StatusCode::CONFLICT,
                "handle_already_used",
                "この読み取り用リンクは別の端末ですでに使われたため、安全のため手続きを中止しました。暗証番号は入力しないでください。ご自身の手続きであれば、サービスの画面から最初からやり直してください。",
                "This reading link was already used by another device, so the procedure was stopped for your safety. Do not enter your PIN. If this is your own procedure, start again from the service.",
            ),
            E::StartLinkUsed => answer(
                StatusCode::FORBIDDEN,
                "start_link_used",
                "このリンクは、すでに別のブラウザで開かれています。だれかから送られたリンクであれば、この先に進まず、カードを読み取らないでください。ご自身の手続きは、サービスの画面から最初からやり直してください。",
                "This link has already been opened in another browser. If somebody sent you this link, stop here and do not read your card. To do your own procedure, start again from the service.",
            ),
            E::WrongDevice => answer(
                StatusCode::CONFLICT,
                "wrong_device",
                "このリンクは別の種類の機器のためのものです。だれかから送られたリンクであれば、暗証番号を入力しないでください。手続きは、ご自身で開いたサービスの画面から始めてください。",
                "This link is meant for another kind of device. If somebody sent you this link, do not enter your PIN. Start the procedure from the service's own page, opened yourself.",
            ),
            E::Expired => answer(
                StatusCode::GONE,
                "session_expired",
                "有効期限が過ぎました。手続きの画面からやり直してください。",
                "The time limit has passed. Start again from the procedure page.",
            ),
            E::Finished => answer(
                StatusCode::CONFLICT,
                "session_finished",
                "この手続きはすでに終わっています。",
                "This procedure has already ended.",
            ),
            E::Unauthorized => answer(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "認証に失敗しました。",
                "Authentication failed.",
            ),
            E::NotFound => answer(StatusCode::NOT_FOUND, "not_found", "見つかりません。", "Not found."),
            E::BadRequest(what) => Answer::bad_request(what),
            E::WrongCode { attempts_left } => {
                let (ja, en) = match attempts_left {
                    Some(n) => (
                        format!(
                            "確認コードが違います。カードの読み取りに使ったアプリに表示された6桁の数字を入力してください（あと{n}回）。"
                        ),
                        format!(
                            "Wrong confirmation code. Type the 6 digits shown by the app you read the card with ({n} attempts left)."
                        ),
                    ),
                    None => (
                        "確認コードは6桁の数字です。カードの読み取りに使ったアプリに表示された数字を入力してください。"
                            .to_string(),
                        "The confirmation code is 6 digits. Type the number shown by the app you read the card with."
                            .to_string(),
                    ),
                };
                answer(StatusCode::UNPROCESSABLE_ENTITY, "wrong_confirmation_code", ja, en)
            }
            E::NoMoreTime => answer(
                StatusCode::CONFLICT,
                "no_more_time",
                "これ以上、時間を延長できません。残り時間のうちに終わらないときは、サービスの画面から最初からやり直してください。",
                "The time cannot be extended any more. If you cannot finish in the time left, start again from the service.",
            ),
            E::ConfirmationLocked => Answer::failure(Failure::ConfirmationFailed),
            E::OtherBrowser => answer(
                StatusCode::FORBIDDEN,
                "other_browser",
                "この画面は手続きを始めたブラウザでしか使えないため、ここでは何も表示・受け渡ししていません。だれかから送られたリンクであれば、先に進まず、カードを読み取ったり確認コードを教えたりしないでください。ご自身で手続きを始めた場合は、そのブラウザに戻ってください（アプリに表示された確認コードは、そのブラウザで入力できます）。",
                "This page works only in the browser where the procedure started, so nothing was shown or given here. If somebody sent you this link, stop: do not read your card and tell nobody a code. If you started the procedure yourself, go back to that browser (the confirmation code the app shows can be typed there).",
            ),
            E::ReaderOutdated { min } => answer(
                StatusCode::UPGRADE_REQUIRED,
                "reader_outdated",
                format!(
                    "読み取りアプリが古いため使えません。バージョン{min}以降に更新してください（手続きの画面に更新方法があります）。"
                ),
                format!(
                    "The reader app is too old. Update it to version {min} or later (the procedure page says how)."
                ),
            ),
            E::RouteNotAccepted => answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                "route_not_accepted",
                "この手続きでは、その暗証番号での読み取りは使えません。",
                "This procedure does not accept that kind of PIN.",
            ),
            E::Refused(f) => Answer::failure(*f),
            E::NotConfirmed => answer(
                StatusCode::CONFLICT,
                "result_not_ready",
                "本人の確認（確認コードの入力）がまだ終わっていません。",
                "The person has not confirmed yet (confirmation code).",
            ),
            E::NotRead => answer(
                StatusCode::CONFLICT,
                "result_not_ready",
                "まだ読み取りが終わっていません。",
                "The card has not been read yet.",
            ),
            E::Failed => answer(
                StatusCode::CONFLICT,
                "session_failed",
                "この手続きは失敗しました。",
                "This procedure failed.",
            ),
            E::Unavailable => Answer::unavailable(),
        }
    }
}

impl From<SessionError> for Answer {
    fn from(e: SessionError) -> Answer {
        Answer::from(&e)
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.into(),
                message: self.message,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
