//! The live-status texts of the pages, per pattern, in the page's language. Each says what
//! is happening and what to do next. The keys are the names the page's script sees: the
//! event's `state`, a reader status, or `failed_` and a failure; every reader status has
//! its text (the match below is exhaustive).

use mynaid_protocol::{Lang, Pattern, PinName, ReaderStatus};
use mynaid_sessions::Failure;
use serde_json::{Map, Value};

/// What a reading device's status means on the page of `pattern`.
fn reader_text(lang: Lang, pattern: Pattern, status: ReaderStatus) -> &'static str {
    let phone = pattern != Pattern::PcReader;
    let m = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    match status {
        ReaderStatus::Reading if phone => m(
            "スマートフォンでカードを読み取っています。カードをスマートフォンにかざしたまま動かさないでください。",
            "Your smartphone is reading the card. Hold the card against the phone without moving it.",
        ),
        ReaderStatus::Reading => m(
            "読み取りアプリがカードを読み取っています。カードをリーダーから離さないでください。",
            "The reader app is reading your card. Keep the card on the reader.",
        ),
        ReaderStatus::PinWrong if pattern == Pattern::CrossDevice => m(
            "{pin}が違います。残り{n}回です。「QRコードを新しくする」を押して、もう一度読み取ってください。",
            "Wrong {pin}. {n} tries left. Press 'Show a new QR code' and read the card again.",
        ),
        ReaderStatus::PinWrong => m(
            "{pin}が違います。残り{n}回です。「もう一度読み取る」を押して、やり直してください。",
            "Wrong {pin}. {n} tries left. Press 'Read again' to try once more.",
        ),
        ReaderStatus::PinBlocked => m(
            "{pin}はロックされています（入力できる回数を使い切りました）。利用者証明用電子証明書の暗証番号と署名用電子証明書のパスワードは、もう一方を使ってコンビニのマルチコピー機（暗証番号の初期化・再設定サービス）か住民票のある市区町村の窓口で、券面事項入力補助用暗証番号は市区町村の窓口でだけ解除できます。もう一方の読み取り方法（数字4桁の暗証番号か、署名用電子証明書のパスワード）は、この手続きが受け付けていれば使えます。",
            "Your {pin} is locked (no tries left). The user-authentication PIN and the signature password can each be reset with the other at a convenience store's multi-copy machine (PIN reset service) or at your city office; the card-info input-support PIN only at your city office. The other way of reading (the 4-digit PINs or the signature password) still works if this procedure accepts it.",
        ),
        ReaderStatus::CardRemoved if phone => m(
            "カードがスマートフォンから離れました。入力できる回数は減っていません。もう一度読み取ってください。",
            "The card moved away from the phone. No PIN try was used. Read the card again.",
        ),
        ReaderStatus::CardRemoved => m(
            "カードが取り外されました。入力できる回数は減っていません。カードをリーダーに置き直して、「もう一度読み取る」を押してください。",
            "The card was removed. No PIN try was used. Put it back on the reader and press 'Read again'.",
        ),
        ReaderStatus::NoCard if phone => m(
            "カードが見つかりません。マイナンバーカードをスマートフォンにかざしてください。",
            "No card found. Hold your My Number Card against the smartphone.",
        ),
        ReaderStatus::NoCard => m(
            "カードが見つかりません。マイナンバーカードをICカードリーダーに置いてください。",
            "No card found. Put your My Number Card on the IC card reader.",
        ),
        ReaderStatus::NotMyNumberCard => m(
            "マイナンバーカードではないカードが使われています。",
            "The card is not a My Number Card.",
        ),
        ReaderStatus::NoSignatureCertificate => m(
            "このカードには署名用電子証明書がありません。数字4桁の暗証番号で読み取ってください。",
            "This card has no signature certificate. Read it with the 4-digit PIN.",
        ),
        ReaderStatus::ReaderError => m(
            "カードリーダーとの通信に失敗しました。リーダーの接続を確かめてください。",
            "Communication with the card reader failed. Check the reader's connection.",
        ),
        ReaderStatus::Cancelled => m(
            "読み取りが中止されました。カードには何も送っていません。もう一度読み取ることができます。",
            "Reading was cancelled. Nothing was sent to the card. You can read it again.",
        ),
    }
}

/// What a failure says on the live page (the ones without their own text say "unknown").
fn failure_text(lang: Lang, failure: Failure) -> Option<&'static str> {
    let m = |ja: &'static str, en: &'static str| Some(lang.pick(ja, en));
    match failure {
        Failure::CertificateRevoked => m(
            "署名用電子証明書が失効しています（引っ越しや氏名の変更などで失効します）。この手続きが受け付けていれば、数字4桁の暗証番号での読み取りをお試しください。住民票のある市区町村の窓口で発行し直すこともできます。",
            "The signature certificate has been revoked (a move or a change of name revokes it). If this procedure accepts them, try reading with the 4-digit PINs; your city office can also issue a new certificate.",
        ),
        Failure::UserAuthenticationRevoked => m(
            "利用者証明用電子証明書が失効しています（カードの紛失の届出や、カードの再交付などで失効します）。このカードでは手続きできません。住民票のある市区町村の窓口で電子証明書を発行し直してください。",
            "The card's user-authentication certificate has been revoked (a lost-card report or a new card revokes it). This card cannot be used for the procedure; have new certificates issued at your city office.",
        ),
        Failure::CertificateExpired => m(
            "電子証明書の有効期限が切れています。市区町村の窓口で更新してください。",
            "The certificate has expired. Renew it at your city office.",
        ),
        Failure::SignatureMismatch => m(
            "カードの署名がこの手続きと一致しません。最初からやり直してください。",
            "The card's signature does not match this procedure. Start again.",
        ),
        Failure::ConfirmationFailed => m(
            "確認コードを何度も間違えたため、この手続きは中止されました。最初からやり直してください。",
            "The confirmation code was wrong too many times, so this procedure was stopped. Start again.",
        ),
        Failure::RedeemedTwice => m(
            "読み取り用のリンク（QRコード）が2台目の端末でも使われたため、安全のためこの手続きを中止しました。カードの情報はどこにも渡していません。QRコードをだれにも見せず、最初からやり直してください。",
            "The reading link (QR code) was used by a second device, so this procedure was stopped for your safety. Your card's information went nowhere. Show the QR code to nobody and start again.",
        ),
        Failure::EvidenceMalformed
        | Failure::CardDataInvalid
        | Failure::RevocationUnknown
        | Failure::CardNotTrusted => None,
    }
}

/// The text of a failed session on the result page.
pub(super) fn failed(lang: Lang, failure: Option<Failure>) -> &'static str {
    failure.and_then(|f| failure_text(lang, f)).unwrap_or(lang.pick(
        "確認できませんでした。最初からやり直してください。",
        "The card could not be verified. Start again.",
    ))
}

/// Texts for the page's status line, keyed as the page's script looks them up. `{n}` is
/// replaced by a number (tries or attempts left), `{pin}` by the text of `pin_<name>`.
pub(super) fn messages(lang: Lang, pattern: Pattern) -> Value {
    let m = |ja: &str, en: &str| Value::String(lang.pick(ja, en).to_string());
    let mut v = Map::new();
    v.insert(
        "waiting".into(),
        match pattern {
            Pattern::PcReader => m(
                "読み取りアプリの起動を待っています。アプリで暗証番号を入力してください。",
                "Waiting for the reader app. Enter your PIN in the app.",
            ),
            Pattern::CrossDevice => m(
                "スマートフォンのmynaidアプリで、このQRコードを読み取ってください。",
                "Scan this QR code with the mynaid app on your smartphone.",
            ),
            Pattern::SameDevice => m(
                "mynaidアプリでカードを読み取ってください。終わるとこの画面に戻ります。",
                "Read your card in the mynaid app. You will come back to this page afterwards.",
            ),
        },
    );
    for status in ReaderStatus::ALL {
        v.insert(status.as_str().into(), reader_text(lang, pattern, *status).into());
    }
    // `{pin}` of a wrong or locked PIN: the name on the card's papers, or "the PIN" when
    // the reading device did not say which.
    for name in PinName::ALL {
        v.insert(format!("pin_{}", name.as_str()), name.text().get(lang).into());
    }
    v.insert("pin_".into(), m("暗証番号", "PIN"));
    v.insert(
        "confirm_needed".into(),
        match pattern {
            Pattern::SameDevice => m(
                "確認できました。アプリからこのブラウザに戻るのを待っています。別のブラウザが開いた場合は、アプリに表示された6桁の確認コードをここに入力してください。",
                "Verified. Waiting for the app to return to this browser. If another browser opened, type the 6-digit confirmation code the app shows here.",
            ),
            Pattern::PcReader => m(
                "カードを読み取りました。読み取りアプリがこのブラウザで確認のページを開くのを待っています。別のブラウザが開いた場合は、アプリに表示された6桁の確認コードをここに入力してください。",
                "Your card was read. Waiting for the reader app to open the confirmation page in this browser. If another browser opened, type the 6-digit confirmation code the app shows here.",
            ),
            Pattern::CrossDevice => m(
                "スマートフォンに表示された6桁の確認コードを入力してください。",
                "Type the 6-digit confirmation code your smartphone shows.",
            ),
        },
    );
    v.insert(
        "wrong_code".into(),
        m(
            "確認コードが違います。あと{n}回入力できます。",
            "Wrong confirmation code. {n} attempts left.",
        ),
    );
    v.insert(
        "verified".into(),
        m("確認できました。次の画面に進みます。", "Verified. Moving on."),
    );
    v.insert(
        "expired".into(),
        m(
            "有効期限が過ぎました。ページを再読み込みしてやり直してください。",
            "The time limit has passed. Reload the page to start again.",
        ),
    );
    for failure in Failure::ALL {
        if let Some(text) = failure_text(lang, *failure) {
            v.insert(format!("failed_{failure}"), text.into());
        }
    }
    v.insert("unknown".into(), failed(lang, None).into());
    Value::Object(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_known_failure_has_a_text_in_both_languages() {
        for pattern in Pattern::ALL {
            for lang in Lang::ALL {
                let v = messages(*lang, *pattern);
                for status in ReaderStatus::ALL {
                    assert!(v[status.as_str()].as_str().is_some_and(|t| !t.is_empty()));
                }
                assert!(v["failed_certificate_revoked"].is_string());
                assert!(v["unknown"].is_string());
            }
        }
        assert_ne!(
            messages(Lang::En, Pattern::CrossDevice)["card_removed"],
            messages(Lang::En, Pattern::PcReader)["card_removed"]
        );
    }
}
