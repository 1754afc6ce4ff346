//! The words of every message, in both languages.

use super::*;

#[test]
fn the_addresses_stand_on_lines_of_their_own() {
    for lang in [Lang::Ja, Lang::En] {
        let text = who_asks(
            lang,
            "Portal",
            "https://portal.example.jp",
            "Verify",
            "https://id.example.jp",
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"==> https://portal.example.jp"), "{text}");
        assert!(lines.contains(&"==> https://id.example.jp"), "{text}");
    }
    assert!(who_asks(Lang::En, "", "", "", "").contains("Check these addresses before you enter your PIN"));
    assert!(who_asks(Lang::Ja, "", "", "", "").contains("暗証番号を入力する前に"));
}

#[test]
fn the_confirmation_code_says_where_and_that_nobody_asks() {
    let ja = confirmation_code(Lang::Ja, "123456", "https://id.example.jp");
    assert!(ja.starts_with("確認コード: 123456\n"), "{ja}");
    assert!(ja.contains("https://id.example.jp のページにだけ入力"), "{ja}");
    assert!(ja.contains("だれにも教えないでください"), "{ja}");
    let en = confirmation_code(Lang::En, "123456", "https://id.example.jp");
    assert!(en.starts_with("Confirmation code: 123456\n"), "{en}");
    assert!(en.contains("Type it only on the page at https://id.example.jp"), "{en}");
    assert!(en.contains("Nobody will ever ask you for this code"), "{en}");
}

#[test]
fn configuration_words_are_cleaned() {
    let path = Path::new("/tmp/\u{1b}[2Jx.toml");
    let text = server_not_allowed(Lang::En, "https://a\u{202E}b", Some(path));
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202E}'), "{text}");
    let text = config_error(Lang::Ja, &ConfigError::BadServer(None, "\u{1b}]0;x\u{7}".into()));
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text}");
    assert!(first_use(Lang::En, None).contains("--config"));
}

/// Every card and reader failure, in both languages: plain words with what to do next,
/// and wire or Rust detail only on the marked support line at the end.
mod failures {
    use mynaid_card::formats::{Format, FormatError, FormatErrorKind};
    use mynaid_card::transport::{CardTransport, Exchange};
    use mynaid_card::{Application, Op, Session, SigningKey};
    use mynaid_pcsc::ReaderError;

    use super::*;

    const JA_SUPPORT: &str = "\n（お問い合わせ用の情報: ";
    const EN_SUPPORT: &str = "\n(For support: ";

    /// The ASCII a Japanese sentence may hold: a command, an option, letters of the
    /// password's rule, the answer `y`, the reader's name of the test.
    const JA_ASCII: &[&str] = &[
        "sudo systemctl start pcscd",
        "pcscd",
        "--reader",
        "IC",
        "A〜Z",
        " y ",
        READER,
    ];

    /// Wire and Rust text that only the support line may carry.
    const RAW: &[&str] = &[
        "SW",
        "6A82",
        "EF ",
        "0x",
        "::",
        "{",
        "}",
        "offset",
        "malformed",
        "Backend",
        "PC/SC",
        "SCard",
        "Some(",
        "Op",
        "status word",
    ];

    const READER: &str = "ACME Reader 00 00";

    /// One failure: its messages, the phrases each must say (what happened and what to do
    /// next), phrases it must not say, and whether it carries a support line with `detail`.
    struct Case {
        what: String,
        ja: String,
        en: String,
        ja_has: Vec<String>,
        en_has: Vec<String>,
        avoid: &'static [&'static str],
        detail: Option<String>,
    }

    fn case(what: String, text: impl Fn(Lang) -> String, ja: &[&str], en: &[&str]) -> Case {
        Case {
            what,
            ja: text(Lang::Ja),
            en: text(Lang::En),
            ja_has: ja.iter().map(|s| s.to_string()).collect(),
            en_has: en.iter().map(|s| s.to_string()).collect(),
            avoid: &[],
            detail: None,
        }
    }

    fn card(e: CardError, ja: &[&str], en: &[&str]) -> Case {
        case(format!("{e:?}"), |lang| card_error(lang, &e), ja, en)
    }

    fn reader(e: ReaderError, ja: &[&str], en: &[&str]) -> Case {
        case(format!("{e:?}"), |lang| reader_error(lang, &e), ja, en)
    }

    impl Case {
        /// The message carries `e`'s own words on the support line.
        fn detail(mut self, e: &dyn fmt::Display) -> Case {
            self.detail = Some(shown(&e.to_string()));
            self
        }

        fn avoid(mut self, avoid: &'static [&'static str]) -> Case {
            self.avoid = avoid;
            self
        }
    }

    /// One PIN: its names and where its lock is undone, and the route that still works.
    struct Kind {
        kind: PinKind,
        ja: &'static str,
        en: &'static str,
        unlock: [&'static str; 2],
        other: [&'static str; 2],
    }

    const KINDS: [Kind; 3] = [
        Kind {
            kind: PinKind::UserAuthentication,
            ja: "利用者証明用電子証明書の暗証番号（数字4桁）",
            en: "user-authentication certificate PIN (4 digits)",
            unlock: [
                "署名用電子証明書のパスワードが分かれば、コンビニのキオスク端末",
                "with your signature password you can also reset it at a convenience-store kiosk",
            ],
            other: [
                "署名用電子証明書のパスワード（英数字6〜16文字）で読み取ることはできます",
                "you can still read the card with the signature password",
            ],
        },
        Kind {
            kind: PinKind::InputSupport,
            ja: "券面事項入力補助用暗証番号（数字4桁）",
            en: "card-info input-support PIN (4 digits)",
            unlock: [
                "（この暗証番号はコンビニでは初期化できません）",
                "this PIN cannot be reset at a convenience store",
            ],
            other: [
                "署名用電子証明書のパスワード（英数字6〜16文字）で読み取ることはできます",
                "you can still read the card with the signature password",
            ],
        },
        Kind {
            kind: PinKind::Signature,
            ja: "署名用電子証明書のパスワード（英数字6〜16文字）",
            en: "signature certificate password (6 to 16 letters and digits)",
            unlock: [
                "利用者証明用電子証明書の暗証番号（数字4桁）が分かれば、コンビニのキオスク端末",
                "with your 4-digit user-authentication PIN you can also reset it at a convenience-store kiosk",
            ],
            other: [
                "数字4桁の暗証番号で読み取ることはできます",
                "you can still read the card with the 4-digit PINs",
            ],
        },
    ];

    /// A transport that never gets a command: the card library refuses before sending.
    struct Unused;

    impl CardTransport for Unused {
        fn transmit(&mut self, _: &[u8], _: Exchange) -> Result<Vec<u8>, TransportError> {
            Err(TransportError::NoCard)
        }
    }

    fn transport(source: TransportError) -> CardError {
        CardError::Transport {
            op: Op::ReadFile(0x0002),
            source,
        }
    }

    fn backend() -> TransportError {
        TransportError::Backend(Box::new(std::io::Error::other("SCardTransmit: 0x80100016")))
    }

    fn cases() -> Vec<Case> {
        let mut cases = Vec::new();
        for k in &KINDS {
            let (ja, en) = (k.ja, k.en);
            let tries = k.kind.max_tries() - 1;
            let pin = |remaining| CardError::WrongPin {
                kind: k.kind,
                remaining,
            };
            cases.push(card(
                pin(tries),
                &[
                    &format!("{ja}が違います。残り{tries}回です。"),
                    "もう一度読み取ってください",
                ],
                &[&format!("Wrong {en}. {tries} tries left."), "read the card again"],
            ));
            cases.push(card(
                pin(1),
                &[
                    &format!("{ja}が違います。残り1回です。"),
                    "次に間違えるとロックされます",
                    "もう一度読み取って",
                ],
                &[
                    &format!("Wrong {en}. Only 1 try is left"),
                    "one more wrong entry locks it",
                    "read the card again",
                ],
            ));
            // Locked: where this PIN is unlocked, and which route still works.
            let locked = |lang| [k.unlock[lang], k.other[lang], ["市区町村の窓口", "city office"][lang]];
            let [u, o, c] = locked(0);
            let [eu, eo, ec] = locked(1);
            cases.push(card(
                pin(0),
                &[&format!("{ja}が違います。"), "ロックされました", u, o, c],
                &[&format!("Wrong {en}."), "it is now locked", eu, eo, ec],
            ));
            cases.push(card(
                CardError::PinBlocked { kind: k.kind },
                &[&format!("{ja}はロックされています"), u, o, c],
                &[&format!("Your {en} is locked"), eu, eo, ec],
            ));
            cases.push(card(
                CardError::LastTryNotConfirmed { kind: k.kind },
                &[
                    &format!("{ja}は残り1回"),
                    "カードには何も送っていません",
                    "y と答えてください",
                ],
                &[
                    &format!("your {en} has only 1 try left"),
                    "Nothing was sent to the card",
                    "answer y",
                ],
            ));
            cases.push(card(
                CardError::VerifyOutcomeUnknown {
                    kind: k.kind,
                    source: TransportError::CardRemoved,
                },
                &[
                    &format!("{ja}の照合の途中"),
                    "減ったかどうか分かりません",
                    "置き直して、もう一度読み取って",
                ],
                &[
                    &format!("while your {en} was being checked"),
                    "unknown whether a try was used",
                    "Put the card back",
                ],
            ));
        }
        let broken = CardError::VerifyOutcomeUnknown {
            kind: PinKind::UserAuthentication,
            source: backend(),
        };
        let detail = broken.to_string();
        cases.push(
            card(
                broken,
                &["減ったかどうか分かりません", "置き直して"],
                &["unknown whether a try was used", "Put the card back"],
            )
            .detail(&detail),
        );

        // Malformed PINs: nothing sent, and how to type it.
        let nothing_sent = [
            "入力できる回数は減っていません",
            "もう一度読み取って、正しい形で入力してください",
        ];
        let nothing_sent_en = [
            "Nothing was sent to the card; no try was used.",
            "Read the card again and type it",
        ];
        for k in &KINDS[..2] {
            let e = CardError::PinFormat(PinFormatError::NotFourDigits { kind: k.kind });
            let (ja, en) = (format!("{}は数字4桁です。", k.ja), format!("The {} is 4 digits.", k.en));
            cases.push(card(
                e,
                &[&ja, nothing_sent[0], nothing_sent[1]],
                &[&en, nothing_sent_en[0], nothing_sent_en[1]],
            ));
        }
        for (f, ja, en) in [
            (
                PinFormatError::PasswordLength { len: 4 },
                "パスワードは6〜16文字です。",
                "must be 6 to 16 characters long",
            ),
            (
                PinFormatError::PasswordCharacters,
                "英字（A〜Z）と数字（0〜9）だけです。",
                "may use only letters A-Z and digits 0-9",
            ),
            (
                PinFormatError::PasswordNeedsLetterAndDigit,
                "英字と数字の両方",
                "must contain both letters and digits",
            ),
        ] {
            cases.push(card(
                CardError::PinFormat(f),
                &[ja, nothing_sent[0], nothing_sent[1]],
                &[en, nothing_sent_en[0], nothing_sent_en[1]],
            ));
        }

        cases.push(card(
            CardError::NoSignatureCertificate,
            &[
                "署名用電子証明書がない",
                "パスワードでは読み取れません",
                "数字4桁の暗証番号で読み取ることはできます",
            ],
            &[
                "no signature certificate",
                "the signature password cannot be used",
                "with the 4-digit PINs",
            ],
        ));
        cases.push(card(
            CardError::NotMyNumberCard {
                application: Application::Jpki,
                sw: 0x6A82.into(),
            },
            &[
                "マイナンバーカードではありません",
                "マイナンバーカードをリーダーに置いて、もう一度読み取って",
            ],
            &[
                "is not a My Number Card",
                "Put your My Number Card on the reader and read it again",
            ],
        ));

        // Transport failures: removal, the service, the reader, the link.
        for source in [TransportError::CardRemoved, TransportError::CardReset] {
            cases.push(card(
                transport(source),
                &[
                    "カードが取り外されました",
                    "回数は減っていません",
                    "置き直して、もう一度読み取って",
                ],
                &[
                    "The card was removed",
                    "No PIN try was used",
                    "Put it back on the reader and read it again",
                ],
            ));
        }
        cases.push(card(
            transport(TransportError::ServiceUnavailable),
            &["スマートカードサービス（pcscd）が動いていません", "起動してから"],
            &["(pcscd) is not running", "Start it"],
        ));
        cases.push(card(
            transport(TransportError::NoReader),
            &[
                "ICカードリーダーが見つかりません",
                "接続してから、もう一度お試しください",
            ],
            &["No IC card reader was found", "Connect the reader"],
        ));
        cases.push(card(
            transport(TransportError::NoCard),
            &["カードが置かれませんでした", "リーダーに置いて、もう一度お試しください"],
            &[
                "No card was put on the reader",
                "Put your My Number Card on the reader and try again",
            ],
        ));
        cases.push(card(
            transport(TransportError::Timeout),
            &["時間内に応答がありませんでした", "置き直し"],
            &["did not answer in time", "Put it back on the reader"],
        ));
        let too_long = transport(TransportError::CommandTooLong { len: 300 });
        let detail = too_long.to_string();
        let other_reader = [
            "別のカードリーダーで読み取ってください",
            "Read the card with another card reader",
        ];
        cases.push(card(too_long, &[other_reader[0]], &[other_reader[1]]).detail(&detail));
        for source in [TransportError::MalformedResponse { len: 1 }, backend()] {
            let e = transport(source);
            let detail = e.to_string();
            cases.push(
                card(
                    e,
                    &[
                        "カードリーダーとの通信に失敗しました",
                        "つなぎ直して、もう一度読み取って",
                        "別のカードリーダー",
                    ],
                    &[
                        "Communication with the card reader failed",
                        "Reconnect the reader",
                        "another card reader",
                    ],
                )
                .detail(&detail),
            );
        }

        // The card answered, but not as a valid card: not "put it back" (issue 22).
        let unreadable = [
            CardError::Status {
                op: Op::ReadFile(0x0002),
                sw: 0x6A82.into(),
            },
            CardError::UnexpectedResponse {
                op: Op::SelectFile(0x0002),
                what: "no status word",
            },
            CardError::Format(FormatError {
                format: Format::BasicInfo,
                offset: 3,
                kind: FormatErrorKind::UnexpectedData,
            }),
        ];
        for e in unreadable {
            let detail = e.to_string();
            cases.push(
                card(
                    e,
                    &[
                        "カードのデータを正しく読み取れませんでした",
                        "傷んでいるか、有効なマイナンバーカードではない可能性",
                        "もう一度だけ読み取ってみて",
                        "別の読み取り方法",
                        "市区町村の窓口にご相談ください",
                    ],
                    &[
                        "The data on the card could not be read correctly",
                        "damaged, or it may not be a valid My Number Card",
                        "Try once more",
                        "another way of reading",
                        "ask your city office",
                    ],
                )
                .detail(&detail)
                .avoid(&["置き直", "Put the card back", "put it back", "Put it back"]),
            );
        }

        let encode = Session::new(Unused)
            .sign(SigningKey::ApplicationDefault, &[0; 300])
            .expect_err("300 bytes do not fit a short APDU");
        assert!(matches!(encode, CardError::Encode { .. }), "{encode:?}");
        let detail = encode.to_string();
        cases.push(card(encode, &[other_reader[0]], &[other_reader[1]]).detail(&detail));
        let mismatch = CardError::PinKindMismatch {
            expected: PinKind::UserAuthentication,
            given: PinKind::Signature,
        };
        let detail = mismatch.to_string();
        cases.push(
            card(
                mismatch,
                &[
                    "読み取りアプリの内部の誤り",
                    "カードには何も送っていません",
                    "最新の版に更新して",
                ],
                &[
                    "an error inside the reader app",
                    "Nothing was sent to the card",
                    "Update the app",
                ],
            )
            .detail(&detail),
        );
        // The catch-all of a variant added later.
        cases.push(
            case(
                "unexpected".into(),
                |lang| unexpected(lang, &"a new failure"),
                &[
                    "予期しないエラー",
                    "もう一度読み取ってください",
                    "最後の行の情報を添えて",
                ],
                &[
                    "unexpected error",
                    "Read the card again",
                    "give them the last line below",
                ],
            )
            .detail(&"a new failure"),
        );

        // The reader, before any PIN.
        cases.push(reader(
            ReaderError::ServiceNotRunning,
            &["スマートカードサービス（pcscd）が動いていません", "起動してから"],
            &[
                "(pcscd) is not running",
                "Start it (e.g. sudo systemctl start pcscd) and try again",
            ],
        ));
        cases.push(reader(
            ReaderError::NoReader,
            &[
                "ICカードリーダーが見つかりません",
                "接続してから、もう一度お試しください",
            ],
            &[
                "No IC card reader was found",
                "Connect the reader to this computer and try again",
            ],
        ));
        cases.push(reader(
            // The name as typed, cleaned of what would move the cursor or turn the text.
            ReaderError::UnknownReader(format!("{READER}\u{202E}\u{7}")),
            &[
                &format!("「{READER}」という名前のカードリーダーはありません"),
                "名前を確かめるか、--reader を外して",
            ],
            &[
                &format!("no card reader named \"{READER}\""),
                "Check the name, or leave out --reader",
            ],
        ));
        cases.push(reader(
            ReaderError::NoCard,
            &["カードが置かれませんでした", "リーダーに置いて、もう一度お試しください"],
            &[
                "No card was put on the reader",
                "Put your My Number Card on the reader and try again",
            ],
        ));
        cases.push(reader(
            ReaderError::NotMyNumberCard,
            &[
                "マイナンバーカードではありません",
                "マイナンバーカードをリーダーに置いて",
            ],
            &["is not a My Number Card", "Put your My Number Card on the reader"],
        ));
        cases.push(reader(
            ReaderError::CardRemoved,
            &["カードが取り外されました", "回数は減っていません", "置き直して"],
            &[
                "The card was removed",
                "No PIN try was used",
                "Put it back on the reader",
            ],
        ));
        // `ReaderError::Pcsc` holds a `pcsc::Error`, which this crate cannot name: its
        // message (and that of any later variant) is this one.
        cases.push(
            case(
                "ReaderError::Pcsc".into(),
                |lang| reader_failed(lang, &"PC/SC error: Reader is unavailable"),
                &[
                    "カードリーダーを使えませんでした",
                    "つなぎ直して、もう一度お試しください",
                    "別のカードリーダー",
                ],
                &[
                    "The card reader could not be used",
                    "Reconnect it",
                    "try another card reader",
                ],
            )
            .detail(&"PC/SC error: Reader is unavailable"),
        );
        cases
    }

    /// The person's words, and the support line's detail if there is one.
    fn split<'a>(text: &'a str, marker: &str, close: &str) -> (&'a str, Option<&'a str>) {
        match text.split_once(marker) {
            Some((words, rest)) => {
                let detail = rest.strip_suffix(close);
                assert!(
                    detail.is_some_and(|d| !d.contains('\n')),
                    "the support line is the last line, closed: {text:?}"
                );
                (words, detail)
            }
            None => (text, None),
        }
    }

    fn is_japanese(c: char) -> bool {
        matches!(c, '\u{3000}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
    }

    fn check(c: &Case, lang: Lang) {
        let (text, has, marker, close, end) = match lang {
            Lang::Ja => (&c.ja, &c.ja_has, JA_SUPPORT, "）", '。'),
            Lang::En => (&c.en, &c.en_has, EN_SUPPORT, ")", '.'),
        };
        let what = &c.what;
        let (words, detail) = split(text, marker, close);
        assert_eq!(detail, c.detail.as_deref(), "{what} ({lang:?}): support line: {text}");
        for phrase in has {
            assert!(
                words.contains(phrase.as_str()),
                "{what} ({lang:?}) lacks {phrase:?}: {text}"
            );
        }
        for phrase in c.avoid {
            assert!(!words.contains(phrase), "{what} ({lang:?}) says {phrase:?}: {text}");
        }
        for raw in RAW {
            assert!(
                !words.contains(raw),
                "{what} ({lang:?}): raw {raw:?} in the person's words: {text}"
            );
        }
        // No status word, no PIN: never four digits in a row.
        let digits = words
            .split(|ch: char| !ch.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(digits < 4, "{what} ({lang:?}): a number of 4 digits: {text}");
        assert!(
            !words.contains('\n') && !words.contains('\u{1b}'),
            "{what} ({lang:?}): {text:?}"
        );
        assert!(words.ends_with(end), "{what} ({lang:?}): not a whole sentence: {text}");
        match lang {
            Lang::Ja => {
                let mut rest = words.to_string();
                for allowed in JA_ASCII {
                    rest = rest.replace(allowed, "");
                }
                assert!(
                    !rest.chars().any(|ch| ch.is_ascii_alphabetic()),
                    "{what}: English in the Japanese words: {rest}"
                );
            }
            Lang::En => {
                assert!(
                    !words.chars().any(is_japanese),
                    "{what}: Japanese in the English words: {text}"
                );
                assert!(!words.contains("1 tries"), "{what}: {text}");
            }
        }
    }

    #[test]
    fn every_failure_is_said_plainly_with_what_to_do_next_in_both_languages() {
        let cases = cases();
        for c in &cases {
            check(c, Lang::Ja);
            check(c, Lang::En);
        }
        // 6 for each of the 3 PINs, 1 outcome unknown over a broken link, 5 PIN formats,
        // 2 of the card, 9 of the transport, 3 of the card's data, 3 others, 7 of the
        // reader: a table that shrinks by mistake fails here.
        assert_eq!(cases.len(), 48, "cases");
    }

    #[test]
    fn one_try_is_one_try() {
        let status = [(PinKind::InputSupport, RetryStatus::Remaining(1))];
        assert!(tries_left(Lang::En, &status).ends_with(": 1 try left"));
        assert!(wants_pin(Lang::En, PinKind::Signature, Some(1)).ends_with(" 1 try left."));
        assert!(wants_pin(Lang::En, PinKind::Signature, Some(4)).ends_with(" 4 tries left."));
    }

    /// Only the 4-digit JPKI PIN and the password unlock at a kiosk; the input-support PIN
    /// needs the city office.
    #[test]
    fn only_the_jpki_pins_unlock_at_a_kiosk() {
        for k in &KINDS {
            let e = CardError::PinBlocked { kind: k.kind };
            let (ja, en) = (card_error(Lang::Ja, &e), card_error(Lang::En, &e));
            let kiosk = k.kind != PinKind::InputSupport;
            assert_eq!(ja.contains("キオスク"), kiosk, "{ja}");
            assert_eq!(en.contains("kiosk"), kiosk, "{en}");
            // The route said to still work is the other one.
            assert_eq!(
                ja.contains("数字4桁の暗証番号で読み取る"),
                k.kind == PinKind::Signature,
                "{ja}"
            );
        }
    }
}
