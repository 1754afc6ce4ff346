//! API errors: a stable code, an HTTP status, and what to tell the person in Japanese and
//! English. Built from variants, never from low-level error text, so nothing internal (and
//! nothing personal) leaks into a response.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mynaid_evidence::EvidenceError;
use serde_json::json;

use crate::store::StoreError;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Japanese message (what happened, what to do next).
    pub ja: String,
    /// English message.
    pub en: String,
}

impl ApiError {
    /// An error with its messages.
    pub fn new(status: StatusCode, code: &'static str, ja: impl Into<String>, en: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The handle is not known (never issued, or replaced by a newer one).
    pub fn handle_unknown() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "handle_unknown",
            "この読み取り用リンクは無効です。手続きの画面からやり直してください。",
            "This reading link is not valid. Start again from the procedure page.",
        )
    }

    /// The handle was already used.
    pub fn handle_used() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "handle_already_used",
            "この読み取り用リンクはすでに使われています。手続きの画面で新しいリンクを表示してください。",
            "This reading link has already been used. Show a new one on the procedure page.",
        )
    }

    /// The session expired.
    pub fn expired() -> Self {
        Self::new(
            StatusCode::GONE,
            "session_expired",
            "有効期限が過ぎました。手続きの画面からやり直してください。",
            "The time limit has passed. Start again from the procedure page.",
        )
    }

    /// The session is over.
    pub fn finished() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "session_finished",
            "この手続きはすでに終わっています。",
            "This procedure has already ended.",
        )
    }

    /// Missing or wrong credentials.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "認証に失敗しました。",
            "Authentication failed.",
        )
    }

    /// Not found.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "見つかりません。", "Not found.")
    }

    /// A malformed request.
    pub fn bad_request(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("リクエストが正しくありません（{what}）。"),
            format!("The request is not valid ({what})."),
        )
    }

    /// A wrong confirmation code.
    pub fn wrong_code(attempts_left: Option<i64>) -> Self {
        let (ja, en) = match attempts_left {
            Some(n) => (
                format!("確認コードが違います。スマートフォンに表示された6桁の数字を入力してください（あと{n}回）。"),
                format!("Wrong confirmation code. Type the 6 digits your smartphone shows ({n} attempts left)."),
            ),
            None => (
                "確認コードは6桁の数字です。スマートフォンに表示された数字を入力してください。".to_string(),
                "The confirmation code is 6 digits. Type the number your smartphone shows.".to_string(),
            ),
        };
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "wrong_confirmation_code", ja, en)
    }

    /// Too many wrong confirmation codes.
    pub fn confirmation_locked() -> Self {
        Self::new(
            StatusCode::GONE,
            "confirmation_failed",
            "確認コードを何度も間違えたため、この手続きは中止されました。最初からやり直してください。",
            "The confirmation code was wrong too many times, so this procedure was stopped. Start again.",
        )
    }

    /// The result handle came back to a browser that did not start the session.
    pub fn other_browser() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "other_browser",
            "手続きを始めたブラウザとは別のブラウザで開かれました。手続きを始めたブラウザに戻り、アプリに表示された確認コードを入力してください。",
            "This page opened in a different browser from the one where you started. Go back to that browser and enter the confirmation code the app shows.",
        )
    }

    /// The reader app is older than the server accepts.
    pub fn reader_outdated(min: &str) -> Self {
        Self::new(
            StatusCode::UPGRADE_REQUIRED,
            "reader_outdated",
            format!(
                "読み取りアプリが古いため使えません。バージョン{min}以降に更新してください（手続きの画面に更新方法があります）。"
            ),
            format!("The reader app is too old. Update it to version {min} or later (the procedure page says how)."),
        )
    }

    /// Too many requests for this handle or from this address; `retry_after` seconds until
    /// the next one is accepted (also in the `Retry-After` header, see [`RateLimited`]).
    pub fn rate_limited(retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("短い時間に多くの操作がありました。{retry_after}秒ほど待ってからもう一度お試しください。"),
            format!("Too many attempts in a short time. Wait about {retry_after} seconds and try again."),
        )
    }

    /// A form without this page's token, or a post from another site: refused, nothing
    /// changed.
    pub fn forbidden_request() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "request_forbidden",
            "このリクエストは受け付けられません。手続きの画面を開き直してから、もう一度操作してください。",
            "This request cannot be accepted. Reload the procedure page and try again.",
        )
    }

    /// The storage is unavailable; nothing was changed.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "ただいま処理できません。しばらくしてからもう一度お試しください。",
            "The service cannot process this right now. Please try again shortly.",
        )
    }

    /// The evidence was refused.
    pub fn evidence(e: &EvidenceError) -> Self {
        use EvidenceError as E;
        let (code, ja, en) = match e {
            E::Document(_) => (
                "evidence_malformed",
                "読み取りアプリから届いたデータが正しくありません。アプリを更新してやり直してください。",
                "The data from the reader app is not valid. Update the app and try again.",
            ),
            E::CardData(_) | E::CertificateMalformed(_) => (
                "card_data_invalid",
                "カードのデータを確認できませんでした。もう一度読み取ってください。",
                "The card's data could not be checked. Read the card again.",
            ),
            E::Expired { .. } | E::NotYetValid { .. } => (
                "certificate_expired",
                "電子証明書の有効期限が切れています。市区町村の窓口で更新してください。",
                "The card's certificate has expired. Renew it at your city office.",
            ),
            E::Revoked => (
                "certificate_revoked",
                "電子証明書が失効しています（住所の変更などで失効します）。市区町村の窓口で再発行してください。数字4桁の暗証番号での読み取りも選べます。",
                "The card's certificate has been revoked (a move revokes it, for example). Have it reissued at your city office, or read the card with the 4-digit PIN instead.",
            ),
            E::RevocationUnknown | E::CrlOutOfDate { .. } => (
                "revocation_unknown",
                "電子証明書の失効確認ができませんでした。時間をおいてもう一度お試しください。",
                "The certificate's revocation status could not be checked. Please try again later.",
            ),
            E::CardSignatureInvalid => (
                "signature_mismatch",
                "カードの署名がこの手続きと一致しません。手続きの画面からやり直してください。",
                "The card's signature does not match this procedure. Start again from the procedure page.",
            ),
            _ => (
                "card_not_trusted",
                "このカードのデータを信頼できるものと確認できませんでした。",
                "The card's data could not be verified as genuine.",
            ),
        };
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, ja, en)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        ApiError::unavailable()
    }
}

/// A [`ApiError::rate_limited`] answer with its `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Seconds until the next request is accepted (at least 1).
    pub retry_after: u64,
}

impl IntoResponse for RateLimited {
    fn into_response(self) -> Response {
        let secs = self.retry_after.max(1);
        let mut resp = ApiError::rate_limited(secs).into_response();
        resp.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": { "ja": self.ja, "en": self.en } } });
        (self.status, Json(body)).into_response()
    }
}
