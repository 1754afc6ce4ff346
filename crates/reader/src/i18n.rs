//! What the person sees, in Japanese first and English second.
//!
//! Every message says what happened and what to do next ("2 tries left", "ask the city
//! office to unlock"). Messages are chosen from error *variants*, never built from a
//! low-level error's text, and never contain a PIN.

use mynaid_card::formats::Sex;
use mynaid_card::{CardError, PinFormatError, PinKind};
pub use mynaid_protocol::Lang;

/// The message of `lang`.
fn pick(lang: Lang, ja: impl Into<String>, en: impl Into<String>) -> String {
    lang.pick(ja.into(), en.into())
}

fn pin_name(lang: Lang, kind: PinKind) -> String {
    match kind {
        PinKind::InputSupport => pick(
            lang,
            "券面事項入力補助用暗証番号（数字4桁）",
            "card-info input-support PIN (4 digits)",
        ),
        PinKind::UserAuthentication => pick(
            lang,
            "利用者証明用電子証明書の暗証番号（数字4桁）",
            "user-authentication PIN (4 digits)",
        ),
        PinKind::Signature => pick(
            lang,
            "署名用電子証明書のパスワード（英大文字と数字の6〜16文字）",
            "signature password (6-16 letters and digits)",
        ),
    }
}

/// Before the prompt: which PIN and how many tries are left.
pub fn wants_pin(lang: Lang, kind: PinKind, remaining: Option<u8>) -> String {
    let name = pin_name(lang, kind);
    match remaining {
        Some(n) => pick(
            lang,
            format!("{name}を入力してください。残り{n}回入力できます。"),
            format!("Enter your {name}. {n} tries left."),
        ),
        None => pick(
            lang,
            format!("{name}を入力してください。"),
            format!("Enter your {name}."),
        ),
    }
}

/// The prompt itself.
pub fn prompt(lang: Lang, kind: PinKind) -> String {
    match kind {
        PinKind::Signature => pick(lang, "パスワード: ", "Password: "),
        _ => pick(lang, "暗証番号: ", "PIN: "),
    }
}

/// The warning and question before the last try.
pub fn last_try_question(lang: Lang, kind: PinKind) -> String {
    let name = pin_name(lang, kind);
    pick(
        lang,
        format!(
            "残り1回です。{name}を間違えるとロックされ、市区町村の窓口での手続きが必要になります。\n\
             正しいことを確かめてから続けてください。続けますか？ [y/N] "
        ),
        format!(
            "Only 1 try is left. A wrong {name} locks it, and unlocking needs a visit to your city office.\n\
             Make sure it is right before you go on. Continue? [y/N] "
        ),
    )
}

/// Where to unlock a blocked PIN.
fn unlock_advice(lang: Lang, kind: PinKind) -> String {
    match kind {
        PinKind::Signature => pick(
            lang,
            "住民票のある市区町村の窓口で初期化の手続きをしてください（署名用電子証明書のパスワードは、利用者証明用の暗証番号があればコンビニのキオスク端末でも初期化できます）。",
            "Ask your city office to reset it (the signature password can also be reset at a convenience-store kiosk with your 4-digit user-authentication PIN).",
        ),
        _ => pick(
            lang,
            "住民票のある市区町村の窓口でロック解除（初期化）の手続きをしてください。",
            "Ask your city office (where you are registered) to unlock it.",
        ),
    }
}

/// The PIN is blocked; nothing was sent.
pub fn blocked(lang: Lang, kind: PinKind) -> String {
    let name = pin_name(lang, kind);
    let advice = unlock_advice(lang, kind);
    pick(
        lang,
        format!("{name}はロックされています。{advice}"),
        format!("Your {name} is locked. {advice}"),
    )
}

/// A malformed PIN: nothing was sent.
pub fn bad_format(lang: Lang, e: &PinFormatError) -> String {
    let what = match e {
        PinFormatError::NotFourDigits { kind } => pick(
            lang,
            format!("{}は数字4桁です。", pin_name(lang, *kind)),
            format!("The {} is 4 digits.", pin_name(lang, *kind)),
        ),
        PinFormatError::PasswordLength { .. } => pick(
            lang,
            "パスワードは6〜16文字です。",
            "The password is 6 to 16 characters long.",
        ),
        PinFormatError::PasswordCharacters => pick(
            lang,
            "パスワードに使える文字は英字（A〜Z）と数字（0〜9）だけです。",
            "The password uses only letters A-Z and digits 0-9.",
        ),
        PinFormatError::PasswordNeedsLetterAndDigit => pick(
            lang,
            "パスワードには英字と数字の両方が含まれます。",
            "The password contains both letters and digits.",
        ),
        _ => pick(lang, "入力の形式が正しくありません。", "The input has the wrong form."),
    };
    pick(
        lang,
        format!("{what}カードには送っていないため、入力できる回数は減っていません。"),
        format!("{what} Nothing was sent to the card; no try was used."),
    )
}

/// The message for a failed read, with what to do next.
pub fn card_error(lang: Lang, e: &CardError) -> String {
    match e {
        CardError::WrongPin { kind, remaining: 0 } => {
            let advice = unlock_advice(lang, *kind);
            pick(
                lang,
                format!("{}が違います。ロックされました。{advice}", pin_name(lang, *kind)),
                format!("Wrong {}. It is now locked. {advice}", pin_name(lang, *kind)),
            )
        }
        CardError::WrongPin { kind, remaining } => pick(
            lang,
            format!("{}が違います。残り{remaining}回です。", pin_name(lang, *kind)),
            format!("Wrong {}. {remaining} tries left.", pin_name(lang, *kind)),
        ),
        CardError::PinBlocked { kind } => blocked(lang, *kind),
        CardError::LastTryNotConfirmed { .. } => pick(
            lang,
            "残り1回のため、確認が得られなかったので中止しました。カードには何も送っていません。",
            "Stopped: only 1 try is left and it was not confirmed. Nothing was sent to the card.",
        ),
        CardError::VerifyOutcomeUnknown { .. } => pick(
            lang,
            "照合の途中でカードとの通信が途切れ、結果が分かりません。カードを置き直してから、もう一度読み取ってください（先に残り回数を確認します）。",
            "The link to the card broke while the PIN was being checked, so the result is unknown. Put the card back and read again (the tries left will be checked first).",
        ),
        CardError::PinFormat(f) => bad_format(lang, f),
        CardError::NoSignatureCertificate => pick(
            lang,
            "このカードには署名用電子証明書がありません（15歳未満の方など）。数字4桁の暗証番号で読み取ってください。",
            "This card has no signature certificate (for example, a card of a child under 15). Read it with the 4-digit PIN instead.",
        ),
        CardError::NotMyNumberCard { .. } => pick(
            lang,
            "マイナンバーカードではありません。マイナンバーカードを置いてください。",
            "This is not a My Number Card. Put your My Number Card on the reader.",
        ),
        e if e.is_card_removed() => pick(
            lang,
            "カードが取り外されました。カードを置き直して、もう一度読み取ってください。入力できる回数は減っていません。",
            "The card was removed. Put it back and read again. No PIN try was used.",
        ),
        CardError::Transport { .. } => pick(
            lang,
            "カードリーダーとの通信に失敗しました。リーダーの接続を確かめて、もう一度お試しください。",
            "Communication with the card reader failed. Check the reader's connection and try again.",
        ),
        CardError::Format(_) | CardError::UnexpectedResponse { .. } | CardError::Status { .. } => pick(
            lang,
            format!("カードのデータを読み取れませんでした（{e}）。カードを置き直してもう一度お試しください。"),
            format!("The card's data could not be read ({e}). Put the card back and try again."),
        ),
        _ => pick(
            lang,
            format!("読み取りに失敗しました（{e}）。"),
            format!("Reading failed ({e})."),
        ),
    }
}

/// While waiting for a card.
pub fn put_card(lang: Lang) -> String {
    pick(
        lang,
        "マイナンバーカードをカードリーダーに置いてください…",
        "Put your My Number Card on the card reader…",
    )
}

/// Reader-level failures (before any PIN).
pub fn reader_error(lang: Lang, e: &mynaid_pcsc::ReaderError) -> String {
    use mynaid_pcsc::ReaderError as R;
    match e {
        R::ServiceNotRunning => pick(
            lang,
            "スマートカードサービス（pcscd）が動いていません。起動してから（例: sudo systemctl start pcscd）もう一度お試しください。",
            "The smart card service (pcscd) is not running. Start it (e.g. sudo systemctl start pcscd) and try again.",
        ),
        R::NoReader => pick(
            lang,
            "ICカードリーダーが見つかりません。リーダーがパソコンに接続されているか確かめてください。",
            "No IC card reader was found. Check that the reader is connected to this computer.",
        ),
        R::UnknownReader(name) => pick(
            lang,
            format!("「{name}」という名前のカードリーダーはありません。"),
            format!("There is no card reader named \"{name}\"."),
        ),
        R::NoCard => pick(
            lang,
            "カードが置かれませんでした。マイナンバーカードをカードリーダーに置いて、もう一度お試しください。",
            "No card was put on the reader. Put your My Number Card on the reader and try again.",
        ),
        R::NotMyNumberCard => pick(
            lang,
            "カードリーダーのカードはマイナンバーカードではありません。マイナンバーカードを置いてください。",
            "The card on the reader is not a My Number Card. Put your My Number Card on the reader.",
        ),
        R::CardRemoved => pick(
            lang,
            "カードが取り外されました。カードを置き直して、もう一度お試しください。",
            "The card was removed. Put it back and try again.",
        ),
        _ => pick(
            lang,
            format!("カードリーダーのエラーです（{e}）。"),
            format!("Card reader error ({e})."),
        ),
    }
}

/// Who asks for the card, shown before anything else.
pub fn who_asks(lang: Lang, service: &str, origin: &str, purpose: &str, server: &str) -> String {
    pick(
        lang,
        format!(
            "次のサービスの手続きのために、マイナンバーカードを読み取ります。\n  サービス: {service}\n  アドレス: {origin}\n  目的: {purpose}\n  確認サーバー: {server}\nブラウザの画面の表示と同じであることを確かめてください。違う場合は、ここで中止してください（Ctrl+C）。"
        ),
        format!(
            "Your My Number Card will be read for this procedure:\n  Service: {service}\n  Address: {origin}\n  Purpose: {purpose}\n  Verifying server: {server}\nCheck that this matches the page in your browser. If it does not, stop now (Ctrl+C)."
        ),
    )
}

/// Pattern 2: the PC's code, to compare before the PIN.
pub fn pc_code(lang: Lang, code: &str) -> String {
    pick(
        lang,
        format!(
            "パソコンの画面に「{code}」と表示されていることを確かめてください。違う場合は中止してください（Ctrl+C）。"
        ),
        format!("Check that your PC's screen shows \"{code}\". If it does not, stop now (Ctrl+C)."),
    )
}

/// Before reading over NFC.
pub fn hold_card(lang: Lang) -> String {
    pick(
        lang,
        "マイナンバーカードをスマートフォンの背面にかざし、終わるまで動かさないでください。",
        "Hold your My Number Card against the back of the phone and keep it still until done.",
    )
}

/// The confirmation code to type on the PC page (or, pattern 3, in the first browser).
pub fn confirmation_code(lang: Lang, code: &str, same_device: bool) -> String {
    if same_device {
        pick(
            lang,
            format!(
                "確認できました。ブラウザに戻ります。手続きを始めたブラウザと別のブラウザが開いた場合は、最初のブラウザでこの確認コードを入力してください: {code}"
            ),
            format!(
                "Verified. Returning to the browser. If a different browser opens than the one you started in, type this confirmation code in the first one: {code}"
            ),
        )
    } else {
        pick(
            lang,
            format!("確認できました。パソコンの画面に次の確認コードを入力してください: {code}"),
            format!("Verified. Type this confirmation code on your PC's screen: {code}"),
        )
    }
}

/// Pattern 3: where the browser goes back to.
pub fn returning(lang: Lang, url: &str) -> String {
    pick(
        lang,
        format!("ブラウザで開きます: {url}"),
        format!("Opening in the browser: {url}"),
    )
}

/// A screenshot without a readable QR code.
pub fn qr_unreadable(lang: Lang, detail: &str) -> String {
    pick(
        lang,
        format!("QRコードを読み取れませんでした（{detail}）。画面全体が写るようにしてください。"),
        format!("The QR code could not be read ({detail}). Make sure the whole code is visible."),
    )
}

/// The menu of credentials.
pub fn route_question(lang: Lang) -> String {
    pick(
        lang,
        "どちらで読み取りますか？\n  1) 数字4桁の暗証番号（券面事項入力補助用）\n  2) 英数字6〜16文字の署名用電子証明書のパスワード\n番号を入力してください [1/2]: ",
        "Which do you want to use?\n  1) the 4-digit PIN (card-info input support)\n  2) the 6-16 character signature password\nType 1 or 2: ",
    )
}

/// No valid choice.
pub fn route_not_chosen(lang: Lang) -> String {
    pick(
        lang,
        "1 か 2 を選んでください。カードには何も送っていません。",
        "Choose 1 or 2. Nothing was sent to the card.",
    )
}

/// The service does not accept that credential.
pub fn route_not_accepted(lang: Lang) -> String {
    pick(
        lang,
        "この手続きでは、その暗証番号での読み取りは使えません。",
        "This procedure does not accept that kind of PIN.",
    )
}

/// A link that is not a mynaid link.
pub fn bad_link(lang: Lang) -> String {
    pick(
        lang,
        "読み取り用リンクの形式が正しくありません。手続きの画面に表示されたコマンドをそのまま使ってください。",
        "The reading link is not valid. Use the command exactly as the procedure page shows it.",
    )
}

/// A link to a plain-HTTP server elsewhere than this machine.
pub fn insecure_server(lang: Lang, server: &str) -> String {
    pick(
        lang,
        format!("安全でない接続（{server}）のため中止しました。https:// のサーバーだけが使えます。"),
        format!("Stopped: the connection to {server} is not secure. Only https:// servers can be used."),
    )
}

/// The app is older than the server accepts.
pub fn outdated(lang: Lang, min: &str) -> String {
    pick(
        lang,
        format!(
            "この読み取りアプリは古いため使えません。バージョン{min}以降に更新してください（手続きの画面に更新方法があります）。カードには何も送っていません。"
        ),
        format!(
            "This reader app is too old. Update it to version {min} or later (the procedure page says how). Nothing was sent to the card."
        ),
    )
}

/// Evidence accepted.
pub fn sent(lang: Lang) -> String {
    pick(
        lang,
        "マイナンバーカードの確認が終わりました。ブラウザの画面に戻ってください。",
        "Your My Number Card was verified. Go back to the page in your browser.",
    )
}

/// Labels of the card face.
pub fn labels(lang: Lang) -> [&'static str; 4] {
    match lang {
        Lang::Ja => ["氏名", "住所", "生年月日", "性別"],
        Lang::En => ["Name", "Address", "Date of birth", "Sex"],
    }
}

/// 性別 in words.
pub fn sex(lang: Lang, s: Sex) -> &'static str {
    match (lang, s) {
        (Lang::Ja, Sex::Male) => "男性",
        (Lang::Ja, Sex::Female) => "女性",
        (Lang::Ja, Sex::NotApplicable) => "該当なし",
        (Lang::Ja, Sex::Unknown) => "不明",
        (Lang::En, Sex::Male) => "male",
        (Lang::En, Sex::Female) => "female",
        (Lang::En, Sex::NotApplicable) => "not applicable",
        (Lang::En, Sex::Unknown) => "unknown",
    }
}

/// Progress step names.
pub fn step(lang: Lang, step: &mynaid_card::Step) -> String {
    use mynaid_card::Step;
    use mynaid_card::routes::Document;
    match step {
        Step::Selecting(_) => pick(lang, "カードに接続しています", "Connecting to the card"),
        Step::VerifyingPin(_) => pick(lang, "暗証番号を照合しています", "Checking the PIN"),
        Step::Reading(doc) => match doc {
            Document::BasicInfo => pick(
                lang,
                "基本4情報を読み取っています",
                "Reading name, address, birth date and sex",
            ),
            Document::IntegrityRecord => pick(
                lang,
                "改ざん検知用データを読み取っています",
                "Reading the integrity record",
            ),
            Document::CvCertificate | Document::SignedKey => pick(
                lang,
                "カードの証明書を読み取っています",
                "Reading the card's certificates",
            ),
            Document::CertAvailability => pick(
                lang,
                "電子証明書の有無を確認しています",
                "Checking which certificates the card has",
            ),
            Document::SignatureCertificate => pick(
                lang,
                "署名用電子証明書を読み取っています",
                "Reading the signature certificate",
            ),
        },
        Step::Signing => pick(lang, "カードが署名しています", "The card is signing"),
    }
}
