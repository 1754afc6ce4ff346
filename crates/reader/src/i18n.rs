//! What the person sees, in Japanese first and English second.
//!
//! Every message says what happened and what to do next ("2 tries left", "ask the city
//! office to unlock"). Messages are chosen from error *variants*, never built from a
//! low-level error's text, and never contain a PIN. What a server sent arrives here already
//! cleaned by the device core (`mynaid_device::shown`); paths and entries of the person's
//! own configuration are cleaned here.

use std::fmt;
use std::path::Path;

use mynaid_card::formats::Sex;
use mynaid_card::transport::TransportError;
use mynaid_card::{CardError, PinFormatError, PinKind, RetryStatus};
use mynaid_device::{Route, shown};
pub use mynaid_protocol::Lang;

use crate::trust::ConfigError;

/// The message of `lang`.
fn pick(lang: Lang, ja: impl Into<String>, en: impl Into<String>) -> String {
    lang.pick(ja.into(), en.into())
}

/// What the card's papers call the PIN (one wording with the pages: `PinName::text`).
fn pin_name(lang: Lang, kind: PinKind) -> String {
    mynaid_device::pin_name(kind).text().get(lang).to_string()
}

/// "1 try left", "3 tries left".
fn tries(n: u8) -> String {
    match n {
        1 => "1 try left".into(),
        n => format!("{n} tries left"),
    }
}

/// Before any prompt: the tries left of every PIN the route will use (the 4-digit route
/// has two counters), so the person knows both before typing.
pub fn tries_left(lang: Lang, statuses: &[(PinKind, RetryStatus)]) -> String {
    let lines: Vec<String> = statuses
        .iter()
        .map(|(kind, status)| {
            let name = pin_name(lang, *kind);
            match status {
                RetryStatus::Remaining(n) => {
                    pick(lang, format!("  {name}: 残り{n}回"), format!("  {name}: {}", tries(*n)))
                }
                RetryStatus::Blocked => pick(lang, format!("  {name}: ロック中"), format!("  {name}: locked")),
                RetryStatus::NotReported => pick(
                    lang,
                    format!("  {name}: 照合済み"),
                    format!("  {name}: already verified"),
                ),
            }
        })
        .collect();
    pick(
        lang,
        format!("入力できる残り回数:\n{}", lines.join("\n")),
        format!("Tries left:\n{}", lines.join("\n")),
    )
}

/// The question after the user-authentication PIN: the input-support PIN, which is usually
/// the same digits; pressing Enter alone is the person's choice of "the same".
pub fn input_support_prompt(lang: Lang) -> String {
    pick(
        lang,
        "券面事項入力補助用暗証番号（利用者証明用と同じ数字ならEnterだけ押してください）: ",
        "Card-info input-support PIN (press Enter alone if it is the same 4 digits): ",
    )
}

/// What other route still works when one PIN of `route` is locked.
pub fn other_route(lang: Lang, route: Route) -> String {
    match route {
        Route::UserAuthentication => pick(
            lang,
            "手続きが認めていれば、署名用電子証明書のパスワード（英数字6〜16文字）で読み取ることはできます。",
            "If the procedure accepts it, you can still read the card with the signature password (6-16 characters).",
        ),
        Route::Signature => pick(
            lang,
            "手続きが認めていれば、数字4桁の暗証番号で読み取ることはできます。",
            "If the procedure accepts it, you can still read the card with the 4-digit PINs.",
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
            format!("Enter your {name}. {}.", tries(n)),
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
    let unlock = unlock_advice(lang, kind);
    pick(
        lang,
        format!(
            "残り1回です。{name}を間違えるとロックされます（ロックされたら: {unlock}）\n\
             正しいことを確かめてから続けてください。続けますか？ [y/N] "
        ),
        format!(
            "Only 1 try is left. A wrong {name} locks it (then: {unlock})\n\
             Make sure it is right before you go on. Continue? [y/N] "
        ),
    )
}

/// Where to unlock a blocked PIN (in the pages' words): the two JPKI PINs each with the
/// other one at a convenience store's kiosk (or the city office), the input-support PIN
/// only at the city office.
fn unlock_advice(lang: Lang, kind: PinKind) -> String {
    // One wording with the pages.
    mynaid_device::pin_name(kind).where_to_unlock().get(lang).to_string()
}

/// The other route, which still works when a PIN of `kind` (and so its route) is locked.
fn other_route_than(lang: Lang, kind: PinKind) -> String {
    let route = match kind {
        PinKind::Signature => Route::Signature,
        PinKind::UserAuthentication | PinKind::InputSupport => Route::UserAuthentication,
    };
    other_route(lang, route)
}

/// The technical detail for support, apart from the person's words: on a line of its own at
/// the end, marked, cleaned to one line. Never a PIN: no error carries one.
fn for_support(lang: Lang, detail: &dyn fmt::Display) -> String {
    let detail = shown(&detail.to_string());
    pick(
        lang,
        format!("\n（お問い合わせ用の情報: {detail}）"),
        format!("\n(For support: {detail})"),
    )
}

/// The PIN is blocked: where to unlock it and which route still works.
pub fn blocked(lang: Lang, kind: PinKind) -> String {
    let name = pin_name(lang, kind);
    let advice = unlock_advice(lang, kind);
    let other = other_route_than(lang, kind);
    pick(
        lang,
        format!("{name}はロックされています（入力できる回数を使い切りました）。{advice}{other}"),
        format!("Your {name} is locked (no tries left). {advice} {other}"),
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
            "The password must be 6 to 16 characters long.",
        ),
        PinFormatError::PasswordCharacters => pick(
            lang,
            "パスワードに使える文字は英字（A〜Z）と数字（0〜9）だけです。",
            "The password may use only letters A-Z and digits 0-9.",
        ),
        PinFormatError::PasswordNeedsLetterAndDigit => pick(
            lang,
            "パスワードには英字と数字の両方が含まれます。",
            "The password must contain both letters and digits.",
        ),
        _ => pick(lang, "入力の形式が正しくありません。", "The input has the wrong form."),
    };
    pick(
        lang,
        format!("{what}カードには送っていないため、入力できる回数は減っていません。"),
        format!("{what} Nothing was sent to the card; no try was used."),
    )
}

/// The card is not a My Number Card (no JPKI application).
fn not_my_number_card(lang: Lang) -> String {
    pick(
        lang,
        "カードリーダーのカードはマイナンバーカードではありません。マイナンバーカードをリーダーに置いて、もう一度読み取ってください。",
        "The card on the reader is not a My Number Card. Put your My Number Card on the reader and read it again.",
    )
}

/// The card left the reader before any PIN was presented on this connection.
fn card_removed(lang: Lang) -> String {
    pick(
        lang,
        "カードが取り外されました。入力できる回数は減っていません。カードをリーダーに置き直して、もう一度読み取ってください。",
        "The card was removed. No PIN try was used. Put it back on the reader and read it again.",
    )
}

/// pcscd is not running.
fn service_not_running(lang: Lang) -> String {
    pick(
        lang,
        "スマートカードサービス（pcscd）が動いていません。起動してから（例: sudo systemctl start pcscd）、もう一度お試しください。",
        "The smart card service (pcscd) is not running. Start it (e.g. sudo systemctl start pcscd) and try again.",
    )
}

/// No reader is connected.
fn no_reader(lang: Lang) -> String {
    pick(
        lang,
        "ICカードリーダーが見つかりません。リーダーをパソコンに接続してから、もう一度お試しください。",
        "No IC card reader was found. Connect the reader to this computer and try again.",
    )
}

/// No card on the reader.
fn no_card(lang: Lang) -> String {
    pick(
        lang,
        "カードが置かれませんでした。マイナンバーカードをカードリーダーに置いて、もう一度お試しください。",
        "No card was put on the reader. Put your My Number Card on the reader and try again.",
    )
}

/// The reader cannot carry a command the card needs (or the command could not be encoded
/// for it): another reader, not the card put back, is what helps.
fn reader_cannot_carry(lang: Lang, detail: &dyn fmt::Display) -> String {
    pick(
        lang,
        "このカードリーダーでは、カードとのやり取りに必要な長さのデータを送れませんでした。カードを置き直しても変わらないため、別のカードリーダーで読み取ってください。",
        "This card reader cannot carry the data the card needs, and putting the card back does not change that. Read the card with another card reader.",
    ) + &for_support(lang, detail)
}

/// Any other failure of the link to the reader.
fn reader_link_failed(lang: Lang, detail: &dyn fmt::Display) -> String {
    pick(
        lang,
        "カードリーダーとの通信に失敗しました。リーダーをパソコンにつなぎ直して、もう一度読み取ってください。繰り返す場合は、別のカードリーダーをお試しください。",
        "Communication with the card reader failed. Reconnect the reader to this computer and read the card again. If it happens again, try another card reader.",
    ) + &for_support(lang, detail)
}

/// A failure nobody foresaw.
fn unexpected(lang: Lang, detail: &dyn fmt::Display) -> String {
    pick(
        lang,
        "予期しないエラーのため、読み取りを中止しました。もう一度読み取ってください。繰り返す場合は、最後の行の情報を添えて、手続きのサービスにお問い合わせください。",
        "Reading stopped because of an unexpected error. Read the card again. If it happens again, contact the service of your procedure and give them the last line below.",
    ) + &for_support(lang, detail)
}

/// A transport failure of the card library (the card removed is said before this).
fn transport_error(lang: Lang, source: &TransportError, e: &CardError) -> String {
    match source {
        TransportError::ServiceUnavailable => service_not_running(lang),
        TransportError::NoReader => no_reader(lang),
        TransportError::NoCard => no_card(lang),
        TransportError::Timeout => pick(
            lang,
            "カードから時間内に応答がありませんでした。カードをリーダーに置き直し、動かさないようにして、もう一度読み取ってください。",
            "The card did not answer in time. Put it back on the reader, keep it still, and read it again.",
        ),
        TransportError::CommandTooLong { .. } => reader_cannot_carry(lang, e),
        _ => reader_link_failed(lang, e),
    }
}

/// The message for a failed read, with what to do next. Technical detail, where it helps
/// support, stands apart on the last line (`for_support`).
pub fn card_error(lang: Lang, e: &CardError) -> String {
    match e {
        CardError::WrongPin { kind, remaining: 0 } => {
            let name = pin_name(lang, *kind);
            let advice = unlock_advice(lang, *kind);
            let other = other_route_than(lang, *kind);
            pick(
                lang,
                format!("{name}が違います。入力できる回数を使い切ったため、ロックされました。{advice}{other}"),
                format!("Wrong {name}. No tries are left, so it is now locked. {advice} {other}"),
            )
        }
        CardError::WrongPin { kind, remaining: 1 } => {
            let name = pin_name(lang, *kind);
            pick(
                lang,
                format!(
                    "{name}が違います。残り1回です。次に間違えるとロックされます。正しいことを確かめてから、もう一度読み取ってください。思い出せない場合は、推測で入力しないでください。"
                ),
                format!(
                    "Wrong {name}. Only 1 try is left: one more wrong entry locks it. Make sure it is right, then read the card again. If you cannot remember it, do not guess."
                ),
            )
        }
        CardError::WrongPin { kind, remaining } => {
            let name = pin_name(lang, *kind);
            pick(
                lang,
                format!(
                    "{name}が違います。残り{remaining}回です。正しいことを確かめてから、もう一度読み取ってください。"
                ),
                format!("Wrong {name}. {remaining} tries left. Check it, then read the card again."),
            )
        }
        CardError::PinBlocked { kind } => blocked(lang, *kind),
        CardError::LastTryNotConfirmed { kind } => {
            let name = pin_name(lang, *kind);
            pick(
                lang,
                format!(
                    "{name}は残り1回のため、使ってよいかを確かめましたが、確認が得られなかったので中止しました。カードには何も送っていません。正しいことを確かめてから、もう一度読み取り、確認の質問に y と答えてください。"
                ),
                format!(
                    "Stopped: your {name} has only 1 try left, and using it was not confirmed. Nothing was sent to the card. Make sure it is right, then read the card again and answer y to the question."
                ),
            )
        }
        CardError::VerifyOutcomeUnknown { kind, source } => {
            let name = pin_name(lang, *kind);
            let text = pick(
                lang,
                format!(
                    "{name}の照合の途中でカードとの通信が途切れたため、入力できる回数が減ったかどうか分かりません。カードをリーダーに置き直して、もう一度読み取ってください（最初に残り回数を確かめます）。"
                ),
                format!(
                    "The link to the card broke while your {name} was being checked, so it is unknown whether a try was used. Put the card back on the reader and read it again (the tries left are checked first)."
                ),
            );
            match source {
                TransportError::CardRemoved | TransportError::CardReset => text,
                _ => text + &for_support(lang, e),
            }
        }
        CardError::PinFormat(f) => {
            let what = bad_format(lang, f);
            pick(
                lang,
                format!("{what}もう一度読み取って、正しい形で入力してください。"),
                format!("{what} Read the card again and type it in that form."),
            )
        }
        CardError::NoSignatureCertificate => {
            let other = other_route_than(lang, PinKind::Signature);
            pick(
                lang,
                format!(
                    "このカードには署名用電子証明書がないため（15歳未満の方のカードなど）、署名用電子証明書のパスワードでは読み取れません。{other}"
                ),
                format!(
                    "This card has no signature certificate (for example, a card of a child under 15), so the signature password cannot be used. {other}"
                ),
            )
        }
        CardError::NotMyNumberCard { .. } => not_my_number_card(lang),
        e if e.is_card_removed() => card_removed(lang),
        CardError::Transport { source, .. } => transport_error(lang, source, e),
        // The card answered, but not what a valid My Number Card answers: putting it back
        // does not help; once more, then another reader, the phone or the city office.
        CardError::Format(_) | CardError::UnexpectedResponse { .. } | CardError::Status { .. } => {
            pick(
                lang,
                "カードのデータを正しく読み取れませんでした。カードが傷んでいるか、有効なマイナンバーカードではない可能性があります。もう一度だけ読み取ってみて、同じ表示が出る場合は、別の読み取り方法（別のカードリーダーやスマートフォン）を使うか、住民票のある市区町村の窓口にご相談ください。",
                "The data on the card could not be read correctly. The card may be damaged, or it may not be a valid My Number Card. Try once more; if this message comes back, use another way of reading (another card reader or a smartphone) or ask your city office.",
            ) + &for_support(lang, e)
        }
        CardError::Encode { .. } => reader_cannot_carry(lang, e),
        // A PIN of the wrong kind for the operation: the app's own mistake; nothing was sent.
        CardError::PinKindMismatch { .. } => {
            pick(
                lang,
                "読み取りアプリの内部の誤りのため中止しました。カードには何も送っていません。アプリを最新の版に更新してから、もう一度お試しください。直らない場合は、最後の行の情報を添えて、手続きのサービスにお問い合わせください。",
                "Stopped because of an error inside the reader app. Nothing was sent to the card. Update the app to the latest version and try again. If that does not help, contact the service of your procedure and give them the last line below.",
            ) + &for_support(lang, e)
        }
        _ => unexpected(lang, e),
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
        R::ServiceNotRunning => service_not_running(lang),
        R::NoReader => no_reader(lang),
        R::UnknownReader(name) => {
            let name = shown(name);
            pick(
                lang,
                format!(
                    "「{name}」という名前のカードリーダーはありません。名前を確かめるか、--reader を外して（マイナンバーカードが置かれたリーダーを使います）、もう一度お試しください。"
                ),
                format!(
                    "There is no card reader named \"{name}\". Check the name, or leave out --reader to use the reader that holds your My Number Card, and try again."
                ),
            )
        }
        R::NoCard => no_card(lang),
        R::NotMyNumberCard => not_my_number_card(lang),
        R::CardRemoved => card_removed(lang),
        _ => reader_failed(lang, e),
    }
}

/// PC/SC failed in a way it does not name (`ReaderError::Pcsc`).
fn reader_failed(lang: Lang, detail: &dyn fmt::Display) -> String {
    pick(
        lang,
        "カードリーダーを使えませんでした。リーダーをパソコンにつなぎ直して、もう一度お試しください。繰り返す場合は、パソコンを再起動するか、別のカードリーダーをお試しください。",
        "The card reader could not be used. Reconnect it to this computer and try again. If it happens again, restart the computer or try another card reader.",
    ) + &for_support(lang, detail)
}

/// Who asks for the card, shown before anything else. The two addresses stand on lines of
/// their own, marked, because they are what a look-alike service name cannot fake.
pub fn who_asks(lang: Lang, service: &str, origin: &str, purpose: &str, server: &str) -> String {
    pick(
        lang,
        format!(
            "次のサービスの手続きのために、マイナンバーカードを読み取ります。\n  サービス: {service}\n  目的: {purpose}\n  サービスのアドレス:\n==> {origin}\n  確認サーバー（カードの証拠を受け取るサーバー）:\n==> {server}\n暗証番号を入力する前に、これらのアドレスを確かめてください。ご自身で開いたブラウザの画面の表示と同じであることを確かめ、違う場合は、ここで中止してください（Ctrl+C）。"
        ),
        format!(
            "Your My Number Card will be read for this procedure:\n  Service: {service}\n  Purpose: {purpose}\n  Service's address:\n==> {origin}\n  Verifying server (receives the card's evidence):\n==> {server}\nCheck these addresses before you enter your PIN: they must match the page you opened yourself in your browser. If it does not, stop now (Ctrl+C)."
        ),
    )
}

/// How to name the file of trusted servers in a message.
fn config_file(lang: Lang, file: Option<&Path>) -> String {
    match file {
        Some(f) => shown(&f.display().to_string()),
        None => pick(
            lang,
            "設定ファイル（--config で指定）",
            "a configuration file (--config)",
        ),
    }
}

/// Before the PIN, when there is no list of trusted servers yet.
pub fn first_use(lang: Lang, file: Option<&Path>) -> String {
    let file = config_file(lang, file);
    pick(
        lang,
        format!(
            "注意: この読み取りアプリには、信頼できるサーバーの一覧がまだありません。上の「==>」のアドレスが、ご自身で開いた手続きの画面のものと同じであることを必ず確かめてください。\n使うサーバーは {file} に servers = [\"https://…\"] と書いて登録できます（または --server <アドレス>）。登録すると、ほかのサーバーへのリンクは送信の前に止められます。"
        ),
        format!(
            "Note: this reader app has no list of trusted servers yet. Make sure the addresses after \"==>\" above are those of the procedure page you opened yourself.\nTo add the servers you use, write servers = [\"https://…\"] in {file} (or give --server <address>); links to any other server are then stopped before anything is sent."
        ),
    )
}

/// The link's server is not on the person's list; nothing was sent to it.
pub fn server_not_allowed(lang: Lang, server: &str, file: Option<&Path>) -> String {
    let server = shown(server);
    let file = config_file(lang, file);
    pick(
        lang,
        format!(
            "中止しました: {server} は信頼できるサーバーの一覧（{file} と --server）にありません。このサーバーには何も送っていません。だれかから送られたリンクであれば、暗証番号を入力しないでください。ご自身で使うサーバーであれば、一覧に追加してから、もう一度お試しください。"
        ),
        format!(
            "Stopped: {server} is not on your list of trusted servers ({file} and --server). Nothing was sent to it. If somebody sent you this link, do not enter your PIN. If it is a server you use, add it to the list and try again."
        ),
    )
}

/// The list of trusted servers could not be read; nothing was sent.
pub fn config_error(lang: Lang, e: &ConfigError) -> String {
    let path = |p: &Path| shown(&p.display().to_string());
    match e {
        ConfigError::Missing(p) => pick(
            lang,
            format!(
                "設定ファイル {} が見つかりません。パスを確かめるか、--config（または環境変数 MYNAID_CONFIG）を外してください。",
                path(p)
            ),
            format!(
                "The configuration file {} does not exist. Check the path, or leave out --config (or MYNAID_CONFIG).",
                path(p)
            ),
        ),
        ConfigError::Unreadable(p, err) => pick(
            lang,
            format!(
                "設定ファイル {} を読めません（{}）。ファイルの権限を確かめてください。",
                path(p),
                shown(&err.to_string())
            ),
            format!(
                "The configuration file {} cannot be read ({}). Check its permissions.",
                path(p),
                shown(&err.to_string())
            ),
        ),
        ConfigError::Invalid(p, msg) => pick(
            lang,
            format!(
                "設定ファイル {} の書き方が正しくありません（{}）。servers = [\"https://id.example.jp\"] の形で書いてください。",
                path(p),
                shown(msg)
            ),
            format!(
                "The configuration file {} is not valid ({}). Write it as servers = [\"https://id.example.jp\"].",
                path(p),
                shown(msg)
            ),
        ),
        ConfigError::BadServer(from, entry) => {
            let from = match from {
                Some(p) => path(p),
                None => "--server".into(),
            };
            let entry = shown(entry);
            pick(
                lang,
                format!(
                    "{from} の「{entry}」はサーバーのアドレスではありません。https://ホスト名 または https://ホスト名:ポート の形で書いてください。"
                ),
                format!(
                    "\"{entry}\" in {from} is not a server address. Write it as https://host or https://host:port."
                ),
            )
        }
    }
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

/// The 6-digit confirmation code: where it may be typed (only on the mynaid server's page,
/// in the browser that started), and that nobody will ever ask for it — a person who is
/// phoned for it is being deceived.
pub fn confirmation_code(lang: Lang, code: &str, server: &str) -> String {
    let server = shown(server);
    pick(
        lang,
        format!(
            "確認コード: {code}\nこのコードは、手続きを始めたブラウザで、{server} のページにだけ入力してください。電話・メール・メッセージなどでこのコードを尋ねられることはありません（サービスや市区町村の職員も尋ねません）。だれにも教えないでください。"
        ),
        format!(
            "Confirmation code: {code}\nType it only on the page at {server}, in the browser where you started the procedure. Nobody will ever ask you for this code by phone, e-mail or message — not the service, not the city office. Do not tell it to anyone."
        ),
    )
}

/// Pattern 2: verified; the code goes to the PC's page.
pub fn type_code_on_pc(lang: Lang) -> String {
    pick(
        lang,
        "確認できました。パソコンの画面（手続きを始めたブラウザ）に、次の確認コードを入力してください。",
        "Verified. Type the confirmation code below on your PC's screen (the browser where you started).",
    )
}

/// Patterns 1 and 3: verified; the default browser goes back to the procedure, and the code
/// is the fallback.
pub fn returning_to_browser(lang: Lang) -> String {
    pick(
        lang,
        "確認できました。ブラウザで手続きの画面に戻ります…\n画面が先に進まない場合や、手続きを始めたのと別のブラウザが開いた場合は、手続きを始めたブラウザに、次の確認コードを入力してください。",
        "Verified. Returning to the procedure's page in your browser…\nIf the page does not move on, or a different browser opens than the one you started in, type the confirmation code below in the browser where you started.",
    )
}

/// Pattern 1: the default browser could not be opened (or `--no-browser`).
pub fn open_yourself(lang: Lang, url: &str) -> String {
    let url = shown(url);
    pick(
        lang,
        format!(
            "ブラウザを開けませんでした。手続きを始めたブラウザで次のアドレスを開くか、下の確認コードを入力してください:\n  {url}"
        ),
        format!(
            "The browser was not opened. Open this address in the browser where you started, or type the confirmation code below there:\n  {url}"
        ),
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
        "どちらで読み取りますか？\n  1) 数字4桁の暗証番号（利用者証明用電子証明書と券面事項入力補助用）\n  2) 英数字6〜16文字の署名用電子証明書のパスワード\n番号を入力してください [1/2]: ",
        "Which do you want to use?\n  1) the 4-digit PINs (user-authentication certificate and card-info input support)\n  2) the 6-16 character signature password\nType 1 or 2: ",
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
    let server = shown(server);
    pick(
        lang,
        format!(
            "安全でない接続（{server}）のため中止しました。https:// のサーバーだけが使えます。暗証番号は入力せず、手続きの画面から、もう一度始めてください。"
        ),
        format!(
            "Stopped: the connection to {server} is not secure. Only https:// servers can be used. Do not enter your PIN; start again from the procedure's page."
        ),
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
        Step::VerifyingPin(kind) => pick(
            lang,
            format!("{}を照合しています", pin_name(lang, *kind)),
            format!("Checking the {}", pin_name(lang, *kind)),
        ),
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
            Document::CvCertificate => pick(
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
            Document::UserAuthenticationCertificate => pick(
                lang,
                "利用者証明用電子証明書を読み取っています",
                "Reading the user-authentication certificate",
            ),
        },
        Step::Signing => pick(lang, "カードが署名しています", "The card is signing"),
    }
}

#[cfg(test)]
mod tests;
