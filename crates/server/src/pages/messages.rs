//! The live-status texts of the pages, per pattern, in the page's language. Each says what
//! is happening and what to do next.

use serde_json::json;

use super::layout::Lang;
use crate::service::Pattern;

/// Texts for the page's status line, keyed by event (and reader status). `{n}` is replaced
/// by a number (tries or attempts left).
pub(super) fn messages(lang: Lang, pattern: Pattern) -> serde_json::Value {
    let m = |ja: &str, en: &str| lang.t(ja, en).to_string();
    let phone = pattern != Pattern::PcReader;
    let mut v = json!({
        "waiting": match pattern {
            Pattern::PcReader => m("読み取りアプリの起動を待っています。アプリで暗証番号を入力してください。", "Waiting for the reader app. Enter your PIN in the app."),
            Pattern::CrossDevice => m("スマートフォンのmynaidアプリで、このQRコードを読み取ってください。", "Scan this QR code with the mynaid app on your smartphone."),
            Pattern::SameDevice => m("mynaidアプリでカードを読み取ってください。終わるとこの画面に戻ります。", "Read your card in the mynaid app. You will come back to this page afterwards."),
        },
        "reading": if phone {
            m("スマートフォンでカードを読み取っています。カードをスマートフォンにかざしたまま動かさないでください。", "Your smartphone is reading the card. Hold the card against the phone without moving it.")
        } else {
            m("読み取りアプリがカードを読み取っています。カードをリーダーから離さないでください。", "The reader app is reading your card. Keep the card on the reader.")
        },
        "pin_wrong": match pattern {
            Pattern::CrossDevice => m("暗証番号が違います。残り{n}回です。「QRコードを新しくする」を押して、もう一度読み取ってください。", "Wrong PIN. {n} tries left. Press 'Show a new QR code' and read the card again."),
            _ => m("暗証番号が違います。残り{n}回です。「もう一度読み取る」を押して、やり直してください。", "Wrong PIN. {n} tries left. Press 'Read again' to try once more."),
        },
        "pin_blocked": m("暗証番号がロックされています。住民票のある市区町村の窓口でロック解除の手続きをしてください。", "The PIN is locked. Ask your city office to unlock it."),
        "card_removed": if phone {
            m("カードがスマートフォンから離れました。入力できる回数は減っていません。もう一度読み取ってください。", "The card moved away from the phone. No PIN try was used. Read the card again.")
        } else {
            m("カードが取り外されました。入力できる回数は減っていません。カードをリーダーに置き直して、「もう一度読み取る」を押してください。", "The card was removed. No PIN try was used. Put it back on the reader and press 'Read again'.")
        },
        "no_card": if phone {
            m("カードが見つかりません。マイナンバーカードをスマートフォンにかざしてください。", "No card found. Hold your My Number Card against the smartphone.")
        } else {
            m("カードが見つかりません。マイナンバーカードをICカードリーダーに置いてください。", "No card found. Put your My Number Card on the IC card reader.")
        },
        "not_my_number_card": m("マイナンバーカードではないカードが使われています。", "The card is not a My Number Card."),
        "no_signature_certificate": m("このカードには署名用電子証明書がありません。数字4桁の暗証番号で読み取ってください。", "This card has no signature certificate. Read it with the 4-digit PIN."),
        "reader_error": m("カードリーダーとの通信に失敗しました。リーダーの接続を確かめてください。", "Communication with the card reader failed. Check the reader's connection."),
        "cancelled": m("読み取りが中止されました。カードには何も送っていません。もう一度読み取ることができます。", "Reading was cancelled. Nothing was sent to the card. You can read it again."),
        "second_redeem": m("別の端末がこのQRコード（読み取り用リンク）を使おうとしたため、受け付けませんでした。心当たりがない場合は、この手続きを中止してください。", "Another device tried to use this QR code (reading link) and was refused. If that was not you, stop this procedure."),
        "confirm_needed": match pattern {
            Pattern::SameDevice => m("確認できました。アプリからこのブラウザに戻るのを待っています。別のブラウザが開いた場合は、アプリに表示された6桁の確認コードをここに入力してください。", "Verified. Waiting for the app to return to this browser. If another browser opened, type the 6-digit confirmation code the app shows here."),
            _ => m("スマートフォンに表示された6桁の確認コードを入力してください。", "Type the 6-digit confirmation code your smartphone shows."),
        },
        "wrong_code": m("確認コードが違います。あと{n}回入力できます。", "Wrong confirmation code. {n} attempts left."),
        "verified": m("確認できました。次の画面に進みます。", "Verified. Moving on."),
        "expired": m("有効期限が過ぎました。ページを再読み込みしてやり直してください。", "The time limit has passed. Reload the page to start again."),
        "failed_certificate_revoked": m("電子証明書が失効しています。数字4桁の暗証番号での読み取りをお試しください。", "The certificate has been revoked. Try reading with the 4-digit PIN."),
        "failed_certificate_expired": m("電子証明書の有効期限が切れています。市区町村の窓口で更新してください。", "The certificate has expired. Renew it at your city office."),
        "failed_signature_mismatch": m("カードの署名がこの手続きと一致しません。最初からやり直してください。", "The card's signature does not match this procedure. Start again."),
        "failed_confirmation_failed": m("確認コードを何度も間違えたため、この手続きは中止されました。最初からやり直してください。", "The confirmation code was wrong too many times, so this procedure was stopped. Start again."),
        "unknown": m("確認できませんでした。最初からやり直してください。", "The card could not be verified. Start again."),
    });
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    v
}
