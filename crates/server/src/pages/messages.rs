//! The live-status texts of the pages, per pattern, in the page's language. Each says what
//! is happening and what to do next. The keys are the names the page's script sees: the
//! event's `state`, a reader status, or `failed_` and a failure; every reader status has
//! its text (the match below is exhaustive).

use mynaid_protocol::{Lang, Pattern, PinName, ReaderStatus, Route};
use mynaid_sessions::Failure;
use mynaid_sessions::events::Event;
use serde_json::{Map, Value};

/// The page's button that starts a new reading (a new link, a new QR code), as a sentence
/// names it: "「もう一度読み取る」を押して" / "press 'Read again'".
fn again(lang: Lang, pattern: Pattern) -> &'static str {
    match pattern {
        Pattern::CrossDevice => lang.pick("「QRコードを新しくする」を押して", "press 'Show a new QR code'"),
        Pattern::PcReader | Pattern::SameDevice => lang.pick("「もう一度読み取る」を押して", "press 'Read again'"),
    }
}

/// What a person whose `pin` is locked can do: where to unlock that PIN, and whether the
/// other route (the 4-digit PINs, or the signature password) finishes this procedure now.
/// `None`: the reading device did not say which PIN.
fn unlock(lang: Lang, pattern: Pattern, accepted: &[Route], pin: Option<PinName>) -> String {
    let Some(pin) = pin else {
        return lang
            .pick(
                "利用者証明用電子証明書の暗証番号と署名用電子証明書のパスワードは、もう一方を使ってコンビニのキオスク端末（マルチコピー機）か住民票のある市区町村の窓口で、券面事項入力補助用暗証番号は市区町村の窓口でだけ解除できます。もう一方の読み取り方法（数字4桁の暗証番号か、署名用電子証明書のパスワード）は、この手続きが受け付けていれば使えます。",
                "The user-authentication PIN and the signature password can each be reset with the other at a convenience-store kiosk (multi-copy machine) or at your city office; the card-info input-support PIN only at your city office. The other way of reading (the 4-digit PINs or the signature password) still works if this procedure accepts it.",
            )
            .to_string();
    };
    let other = match pin.route() {
        Route::Signature => Route::UserAuthentication,
        Route::UserAuthentication => Route::Signature,
    };
    let (other_ja, other_en) = match other {
        Route::UserAuthentication => ("数字4桁の暗証番号", "the 4-digit PINs"),
        Route::Signature => ("署名用電子証明書のパスワード", "the signature password"),
    };
    let next = if accepted.contains(&other) {
        lang.pick(
            format!(
                "{other_ja}なら、いまこの手続きを続けられます。{}、アプリで{other_ja}を選んでください。",
                again(lang, pattern)
            ),
            format!(
                "You can finish this procedure now with {other_en}: {}, and choose {other_en} in the app.",
                again(lang, pattern)
            ),
        )
    } else {
        lang.pick(
            "この手続きはほかの読み取り方法を受け付けていないため、解除してから、サービスの画面で最初からやり直してください。".to_string(),
            "This procedure accepts no other way of reading: once it is unlocked, start again from the service.".to_string(),
        )
    };
    format!("{}{}{next}", pin.where_to_unlock().get(lang), lang.pick("", " "))
}

/// The label of the page's button that starts a new reading.
pub(super) fn again_label(lang: Lang, pattern: Pattern) -> &'static str {
    match pattern {
        Pattern::PcReader => lang.pick("もう一度読み取る（新しいリンク）", "Read again (new link)"),
        Pattern::CrossDevice => lang.pick("QRコードを新しくする", "Show a new QR code"),
        Pattern::SameDevice => lang.pick("もう一度読み取る", "Read again"),
    }
}

/// What a reading device's status means on the page of `pattern`, for a procedure that
/// accepts the routes `accepted`.
fn reader_text(lang: Lang, pattern: Pattern, accepted: &[Route], status: ReaderStatus) -> String {
    let phone = pattern != Pattern::PcReader;
    let m = |ja: &'static str, en: &'static str| lang.pick(ja, en).to_string();
    match status {
        ReaderStatus::Reading if phone => m(
            "スマートフォンでカードを読み取っています。カードをスマートフォンにかざしたまま動かさないでください。",
            "Your smartphone is reading the card. Hold the card against the phone without moving it.",
        ),
        ReaderStatus::Reading => m(
            "読み取りアプリがカードを読み取っています。カードをリーダーから離さないでください。",
            "The reader app is reading your card. Keep the card on the reader.",
        ),
        ReaderStatus::PinWrong => lang.pick(
            format!("{{pin}}が違います。残り{{n}}回です。{}、もう一度読み取ってください。", again(lang, pattern)),
            format!("Wrong {{pin}}. {{n}} tries left. To try once more, {}.", again(lang, pattern)),
        ),
        // `{unlock}`: where that PIN is unlocked and which way of reading still works
        // ([`unlock`]).
        ReaderStatus::PinBlocked => m(
            "{pin}はロックされています（入力できる回数を使い切りました）。{unlock}",
            "Your {pin} is locked (no tries left). {unlock}",
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
        ReaderStatus::NotMyNumberCard if phone => m(
            "マイナンバーカードではないカードが使われています。マイナンバーカードをスマートフォンにかざしてください。",
            "The card is not a My Number Card. Hold your My Number Card against the smartphone.",
        ),
        ReaderStatus::NotMyNumberCard => m(
            "マイナンバーカードではないカードが使われています。マイナンバーカードをICカードリーダーに置いてください。",
            "The card is not a My Number Card. Put your My Number Card on the IC card reader.",
        ),
        ReaderStatus::NoSignatureCertificate if accepted.contains(&Route::UserAuthentication) => lang.pick(
            format!(
                "このカードには署名用電子証明書がないため、英数字のパスワードでは読み取れません（15歳未満の方のカードなど）。数字4桁の暗証番号なら読み取れます。{}、アプリで数字4桁の暗証番号を選んでください。",
                again(lang, pattern)
            ),
            format!(
                "This card has no signature certificate (for example, a card of a child under 15), so the signature password cannot be used. The 4-digit PINs can: {}, and choose the 4-digit PIN in the app.",
                again(lang, pattern)
            ),
        ),
        ReaderStatus::NoSignatureCertificate => m(
            "このカードには署名用電子証明書がありません（15歳未満の方のカードなど）。この手続きは署名用電子証明書のパスワードでしか行えないため、このカードでは手続きできません。サービスの画面に戻ってください。",
            "This card has no signature certificate (for example, a card of a child under 15). This procedure takes the signature password only, so it cannot be done with this card. Go back to the service.",
        ),
        ReaderStatus::CardUnreadable => lang.pick(
            format!(
                "カードのデータを正しく読み取れませんでした。カードが傷んでいるか、有効なマイナンバーカードではない可能性があります。{}、もう一度読み取ってください。続けて起きるときは、別の読み取り方法（別のカードリーダーやスマートフォン）を使うか、住民票のある市区町村の窓口にご相談ください。",
                again(lang, pattern)
            ),
            format!(
                "The card's data could not be read correctly. The card may be damaged, or not a valid My Number Card. To read it once more, {}. If it happens again, use another way of reading (another card reader or a smartphone), or ask your city office.",
                again(lang, pattern)
            ),
        ),
        ReaderStatus::ReaderError => lang.pick(
            format!(
                "カードリーダーとの通信に失敗しました。リーダーの接続を確かめてから、{}ください。",
                again(lang, pattern)
            ),
            format!(
                "Communication with the card reader failed. Check the reader's connection, then {}.",
                again(lang, pattern)
            ),
        ),
        ReaderStatus::Cancelled => lang.pick(
            format!(
                "読み取りが中止されました。カードには何も送っていません。{}、もう一度読み取ることができます。",
                again(lang, pattern)
            ),
            format!(
                "Reading was cancelled. Nothing was sent to the card. To read it again, {}.",
                again(lang, pattern)
            ),
        ),
    }
}

/// What a failure says on the page of `pattern` (the live status and the result page), for
/// a procedure that accepts `accepted`: what happened and what to do next. A failure that
/// allows another attempt ([`Failure::allows_another_attempt`]) names the button that
/// starts it; the others send the person back to the service.
pub(super) fn failed(lang: Lang, pattern: Pattern, accepted: &[Route], failure: Option<Failure>) -> String {
    let m = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    let Some(failure) = failure else {
        return m(
            "確認できませんでした。サービスの画面から最初からやり直してください。",
            "The card could not be verified. Start again from the service.",
        );
    };
    let again = again(lang, pattern);
    match failure {
        Failure::CertificateRevoked if accepted.contains(&Route::UserAuthentication) => lang.pick(
            format!(
                "署名用電子証明書が失効しています（引っ越しや氏名の変更などで失効します）。数字4桁の暗証番号なら読み取れます。{again}、アプリで数字4桁の暗証番号を選んでください。署名用電子証明書は、住民票のある市区町村の窓口で発行し直せます。"
            ),
            format!(
                "The signature certificate has been revoked (a move or a change of name revokes it). The 4-digit PINs still work: {again}, and choose the 4-digit PIN in the app. Your city office can issue a new signature certificate."
            ),
        ),
        Failure::CertificateRevoked => m(
            "署名用電子証明書が失効しています（引っ越しや氏名の変更などで失効します）。この手続きは署名用電子証明書でしか行えないため、住民票のある市区町村の窓口で発行し直してから、サービスの画面で最初からやり直してください。",
            "The signature certificate has been revoked (a move or a change of name revokes it). This procedure takes the signature certificate only: have a new one issued at your city office, then start again from the service.",
        ),
        Failure::UserAuthenticationRevoked => m(
            "利用者証明用電子証明書が失効しています（カードの紛失の届出や、カードの再交付などで失効します）。このカードでは手続きできません。住民票のある市区町村の窓口で電子証明書を発行し直してから、サービスの画面で最初からやり直してください。",
            "The card's user-authentication certificate has been revoked (a lost-card report or a new card revokes it). This card cannot be used for the procedure: have new certificates issued at your city office, then start again from the service.",
        ),
        Failure::CertificateExpired => m(
            "電子証明書の有効期限が切れています。住民票のある市区町村の窓口で更新してから、サービスの画面で最初からやり直してください。",
            "The certificate has expired. Renew it at your city office, then start again from the service.",
        ),
        Failure::RevocationUnknown => lang.pick(
            format!("電子証明書が失効していないかを、いま確かめられませんでした。しばらく待ってから{again}、もう一度読み取ってください。"),
            format!("Whether the certificate is revoked could not be checked just now. Wait a while, then {again} and read the card again."),
        ),
        Failure::CardDataInvalid => lang.pick(
            format!("カードのデータを確かめられませんでした。{again}、もう一度読み取ってください。"),
            format!("The card's data could not be checked. To read it again, {again}."),
        ),
        Failure::EvidenceMalformed => lang.pick(
            format!("読み取りアプリから届いたデータが正しくありません。アプリを最新版に更新してから、{again}ください。"),
            format!("The data from the reader app is not valid. Update the app to the latest version, then {again}."),
        ),
        Failure::CardNotTrusted => m(
            "このカードのデータを本物と確かめられませんでした。ご自身のマイナンバーカードで、サービスの画面から最初からやり直してください。",
            "The card's data could not be verified as genuine. Start again from the service with your own My Number Card.",
        ),
        Failure::SignatureMismatch => m(
            "カードの署名がこの手続きと一致しません。サービスの画面から最初からやり直してください。",
            "The card's signature does not match this procedure. Start again from the service.",
        ),
        Failure::ConfirmationFailed => m(
            "確認コードを何度も間違えたため、この手続きは中止されました。サービスの画面から最初からやり直してください。",
            "The confirmation code was wrong too many times, so this procedure was stopped. Start again from the service.",
        ),
        Failure::RedeemedTwice => match pattern {
            Pattern::CrossDevice => m(
                "読み取り用のQRコードが2台目の端末でも使われたため、安全のためこの手続きを中止しました。カードの情報はどこにも渡していません。QRコードをだれにも見せず、サービスの画面から最初からやり直してください。",
                "The QR code was used by a second device, so this procedure was stopped for your safety. Your card's information went nowhere. Show the QR code to nobody, and start again from the service.",
            ),
            Pattern::PcReader => m(
                "読み取り用のリンクが2回使われた（別の端末やアプリからも使われた）ため、安全のためこの手続きを中止しました。カードの情報はどこにも渡していません。リンクやコマンドをだれにも送らず、サービスの画面から最初からやり直してください。",
                "The reading link was used twice (by another device or app too), so this procedure was stopped for your safety. Your card's information went nowhere. Send the link or the command to nobody, and start again from the service.",
            ),
            Pattern::SameDevice => m(
                "読み取り用のリンクが2台目の端末でも使われたため、安全のためこの手続きを中止しました。カードの情報はどこにも渡していません。リンクをだれにも送らず、サービスの画面から最初からやり直してください。",
                "The reading link was used by a second device, so this procedure was stopped for your safety. Your card's information went nowhere. Send the link to nobody, and start again from the service.",
            ),
        },
    }
}

/// Texts for the page's status line, keyed as the page's script looks them up. `{n}` is
/// replaced by a number (tries or attempts left), `{pin}` by the text of `pin_<name>`,
/// `{time}` by the time left. `accepted`: the routes the procedure accepts.
pub(super) fn messages(lang: Lang, pattern: Pattern, accepted: &[Route]) -> Value {
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
        v.insert(
            status.as_str().into(),
            reader_text(lang, pattern, accepted, *status).into(),
        );
    }
    // A wrong PIN without the count (a page opened again after it): what to do all the same.
    v.insert(
        "pin_wrong_again".into(),
        lang.pick(
            format!(
                "{{pin}}が違いました。{}、もう一度読み取ってください。",
                again(lang, pattern)
            ),
            format!("The {{pin}} was wrong. To try once more, {}.", again(lang, pattern)),
        )
        .into(),
    );
    // `{pin}` of a wrong or locked PIN: the name on the card's papers, or "the PIN" when
    // the reading device did not say which.
    for name in PinName::ALL {
        v.insert(format!("pin_{}", name.as_str()), name.text().get(lang).into());
    }
    v.insert("pin_".into(), m("暗証番号", "PIN"));
    for name in PinName::ALL {
        v.insert(
            format!("unlock_{}", name.as_str()),
            unlock(lang, pattern, accepted, Some(*name)).into(),
        );
    }
    v.insert("unlock_".into(), unlock(lang, pattern, accepted, None).into());
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
    // Time up while a new reading can still start (before the session's longest life)...
    v.insert(
        "expired".into(),
        lang.pick(
            format!(
                "有効期限が過ぎました。{}、新しい時間で読み取ってください。",
                again(lang, pattern)
            ),
            format!(
                "The time limit has passed. To read the card with new time, {}.",
                again(lang, pattern)
            ),
        )
        .into(),
    );
    // ...and after.
    v.insert(
        "expired_final".into(),
        m(
            "有効期限が過ぎました。サービスの画面から最初からやり直してください。",
            "The time limit has passed. Start again from the service.",
        ),
    );
    v.insert(
        "extended".into(),
        m(
            "時間を延長しました。残り時間は{time}です。",
            "The time was extended. Time left: {time}.",
        ),
    );
    v.insert(
        "extended_last".into(),
        m(
            "時間を延長しました。残り時間は{time}です。これ以上は延長できません。",
            "The time was extended. Time left: {time}. It cannot be extended again.",
        ),
    );
    v.insert(
        "time_warning".into(),
        m(
            "残り時間はあと{time}です。時間が足りないときは「時間を延長する」を押してください。",
            "Only {time} left. If you need more time, press 'Extend the time'.",
        ),
    );
    v.insert(
        "time_warning_final".into(),
        m("残り時間はあと{time}です。", "Only {time} left."),
    );
    for failure in Failure::ALL {
        v.insert(
            format!("failed_{failure}"),
            failed(lang, pattern, accepted, Some(*failure)).into(),
        );
    }
    v.insert("unknown".into(), failed(lang, pattern, accepted, None).into());
    Value::Object(v)
}

/// The status line a page shows first for `event` (its script takes over with the live
/// events): the key (`data-state`) and the text, as the script would show them.
pub(super) fn status_line(lang: Lang, pattern: Pattern, accepted: &[Route], event: &Event) -> (String, String) {
    let v = messages(lang, pattern, accepted);
    let (key, n, pin) = match event {
        Event::Waiting => ("waiting".to_string(), None, None),
        Event::Reading => ("reading".to_string(), None, None),
        Event::Reader {
            status: ReaderStatus::PinWrong,
            tries_left: None,
            pin,
        } => ("pin_wrong_again".to_string(), None, *pin),
        Event::Reader {
            status,
            tries_left,
            pin,
        } => (status.as_str().to_string(), *tries_left, *pin),
        Event::ConfirmNeeded { .. } => ("confirm_needed".to_string(), None, None),
        Event::Verified => ("verified".to_string(), None, None),
        Event::Failed { code } => (format!("failed_{code}"), None, None),
        Event::Expired => ("expired".to_string(), None, None),
    };
    let text = v[key.as_str()].as_str().or(v["unknown"].as_str()).unwrap_or_default();
    let named = |prefix: &str| {
        pin.and_then(|p| v[format!("{prefix}_{}", p.as_str()).as_str()].as_str())
            .or(v[format!("{prefix}_").as_str()].as_str())
            .unwrap_or_default()
    };
    let text = text.replace("{pin}", named("pin")).replace("{unlock}", named("unlock"));
    let text = match n {
        Some(n) => text.replace("{n}", &n.to_string()),
        None => text,
    };
    (key, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_known_failure_has_a_text_in_both_languages() {
        for pattern in Pattern::ALL {
            for lang in Lang::ALL {
                let v = messages(*lang, *pattern, Route::ALL);
                for status in ReaderStatus::ALL {
                    assert!(v[status.as_str()].as_str().is_some_and(|t| !t.is_empty()));
                }
                for failure in Failure::ALL {
                    assert!(v[format!("failed_{failure}").as_str()].is_string());
                }
                assert!(v["unknown"].is_string());
            }
        }
        assert_ne!(
            messages(Lang::En, Pattern::CrossDevice, Route::ALL)["card_removed"],
            messages(Lang::En, Pattern::PcReader, Route::ALL)["card_removed"]
        );
    }

    /// Pattern 1 has no QR code: its words never mention one.
    #[test]
    fn the_reader_page_never_speaks_of_a_qr_code() {
        for lang in Lang::ALL {
            let v = messages(*lang, Pattern::PcReader, Route::ALL).to_string();
            assert!(!v.contains("QR"), "{v}");
        }
        let v = messages(Lang::Ja, Pattern::CrossDevice, Route::ALL);
        assert!(v["failed_redeemed_twice"].as_str().unwrap().contains("QRコード"));
    }

    /// Every failure says what to do next: the button that starts another attempt when the
    /// session allows one, otherwise the way back to the service.
    #[test]
    fn every_failure_says_what_to_do_next() {
        for pattern in Pattern::ALL {
            for failure in Failure::ALL {
                let text = failed(Lang::Ja, *pattern, Route::ALL, Some(*failure));
                let next = if failure.allows_another_attempt(Route::ALL) {
                    again(Lang::Ja, *pattern)
                } else {
                    "サービスの画面"
                };
                assert!(text.contains(next), "{pattern} {failure}: {text}");
            }
        }
    }

    /// A locked PIN is named, with where *that* PIN is unlocked and whether the other route
    /// finishes this procedure now (issue 22).
    #[test]
    fn a_locked_pin_says_where_it_is_unlocked_and_which_route_still_works() {
        let blocked = |lang, accepted: &[Route], pin| {
            status_line(
                lang,
                Pattern::PcReader,
                accepted,
                &Event::Reader {
                    status: ReaderStatus::PinBlocked,
                    tries_left: Some(0),
                    pin: Some(pin),
                },
            )
            .1
        };
        let both = Route::ALL;
        let t = blocked(Lang::Ja, both, PinName::InputSupportPin);
        assert!(
            t.starts_with("券面事項入力補助用暗証番号（数字4桁）はロックされています"),
            "{t}"
        );
        assert!(t.contains("コンビニでは初期化できません"), "{t}");
        assert!(
            t.contains("署名用電子証明書のパスワードなら、いまこの手続きを続けられます"),
            "{t}"
        );
        let t = blocked(Lang::Ja, both, PinName::UserAuthenticationPin);
        assert!(
            t.contains("署名用電子証明書のパスワードが分かれば、コンビニのキオスク端末"),
            "{t}"
        );
        let t = blocked(Lang::Ja, both, PinName::SignaturePassword);
        assert!(
            t.contains("利用者証明用電子証明書の暗証番号（数字4桁）が分かれば、コンビニ"),
            "{t}"
        );
        assert!(t.contains("数字4桁の暗証番号なら、いまこの手続きを続けられます"), "{t}");
        assert!(t.contains("「もう一度読み取る」を押して"), "{t}");
        // A procedure that takes the signature password only: unlock, then start again.
        let t = blocked(Lang::Ja, &[Route::Signature], PinName::SignaturePassword);
        assert!(
            !t.contains("続けられます") && t.contains("最初からやり直してください"),
            "{t}"
        );
        let t = blocked(Lang::En, both, PinName::InputSupportPin);
        assert!(
            t.starts_with("Your card-info input-support PIN (4 digits) is locked")
                && t.contains("cannot be reset at a convenience store")
                && t.contains("You can finish this procedure now with the signature password"),
            "{t}"
        );
        // Every placeholder is filled, for every PIN and none.
        for pin in PinName::ALL {
            for lang in Lang::ALL {
                assert!(!blocked(*lang, both, *pin).contains('{'));
            }
        }
    }
}
