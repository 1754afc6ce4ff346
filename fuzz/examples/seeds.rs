//! Writes seed corpora for every fuzz target from the committed test PKI.
//!
//! `cargo run --release --manifest-path fuzz/Cargo.toml --example seeds -- [OUT]` (OUT
//! defaults to `fuzz/corpus`). The emulated cards of `fixtures/testpki/cards` are read in
//! process on both routes, so the `evidence_document` seeds are complete documents that
//! verify (or are refused for a reason, like p08's revoked certificate); the other targets
//! get the card files themselves. The fixtures are only read: cards are loaded without
//! persistence, so no PIN counter is written back.

use std::fs;
use std::path::{Path, PathBuf};

use mynaid_apdu::tlv;
use mynaid_card::transport::{CardTransport, Exchange, TransportError};
use mynaid_card::{FourDigitPins, InputSupportPin, LastTries, LastTry, Pin, PinKind, Session, routes};
use mynaid_device::{Credentials, Route};
use mynaid_emulator::state::CardState;
use mynaid_emulator::transport::InProcessTransport;
use mynaid_emulator::{Card, Persistence};
use mynaid_fuzz::binding;
use mynaid_protocol::{Body, Evidence, ReaderApp};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// (id, (user-authentication PIN, input-support PIN), signature password).
const PERSONS: [(&str, (&str, &str), Option<&str>); 9] = [
    ("p01", ("1234", "1234"), Some("ABC123")),
    ("p02", ("8642", "2468"), Some("SUZUKI95")),
    ("p03", ("5926", "3141"), Some("HIKARI62")),
    ("p04", ("4141", "4040"), None), // signature password blocked
    ("p05", ("1515", "5151"), Some("MISAKI88")),
    ("p06", ("6161", "6060"), None), // no signature certificate
    ("p07", ("7171", "7070"), Some("YOSHIDA1925")),
    ("p08", ("8181", "8080"), Some("NAOKI90R")),
    ("p09", ("9191", "9090"), Some("YUI2019G1")),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/testpki")
}

fn state(id: &str) -> Result<CardState> {
    Ok(serde_json::from_slice(&fs::read(
        fixtures().join(format!("cards/{id}.json")),
    )?)?)
}

fn file<'a>(state: &'a CardState, app: &str, fid: u16) -> Option<&'a [u8]> {
    let app = state.applications.iter().find(|a| a.name == app)?;
    app.files.iter().find(|f| f.fid == fid).map(|f| f.content.as_slice())
}

/// The TLV object at the start of a file, without its filler.
fn object(content: &[u8]) -> Option<Vec<u8>> {
    tlv::parse(content).ok().map(|(t, _)| t.raw.to_vec())
}

fn session(state: &CardState) -> Result<Session<InProcessTransport>> {
    Ok(Session::new(InProcessTransport::new(Card::from_state(
        state.clone(),
        Persistence::None,
    )?)))
}

fn reader() -> Option<ReaderApp> {
    Some(ReaderApp {
        name: "mynaid-reader".into(),
        version: "0.1.0".into(),
    })
}

fn evidence(state: &CardState, pins: (&str, &str), password: Option<&str>) -> Result<Vec<Evidence>> {
    let tbs = binding().to_be_signed();
    let mut out = Vec::new();
    let pins = FourDigitPins::new(
        Pin::new(PinKind::UserAuthentication, pins.0)?,
        InputSupportPin::Typed(Pin::new(PinKind::InputSupport, pins.1)?),
    )?;
    let r = routes::read_user_authentication(
        &mut session(state)?,
        &pins,
        LastTries::both(LastTry::Confirmed),
        &tbs,
        &mut |_| {},
    )?;
    out.push(Evidence {
        reader: reader(),
        body: Body::UserAuthentication {
            certificate: r.certificate_der.into(),
            signature: r.signature,
            basic_info: r.basic_info_raw.into(),
            integrity_record: r.integrity_raw,
            cv_certificate: r.cv_certificate_raw,
        },
    });
    if let Some(password) = password {
        let pin = Pin::new(PinKind::Signature, password)?;
        let r = routes::read_signature(&mut session(state)?, &pin, LastTry::Confirmed, &tbs, &mut |_| {})?;
        out.push(Evidence {
            reader: None,
            body: Body::Signature {
                certificate: r.certificate.der.into(),
                signature: r.signature,
            },
        });
    }
    Ok(out)
}

/// Typical commands of both routes, short and extended.
fn apdus() -> Vec<Vec<u8>> {
    let mut select_jpki = vec![0x00, 0xA4, 0x04, 0x0C, 0x0A];
    select_jpki.extend_from_slice(&[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]);
    let mut sign = vec![0x80, 0x2A, 0x00, 0x80, 0x33];
    sign.extend_from_slice(&[0x30; 0x33]);
    sign.push(0x00);
    let mut sign_extended = vec![0x80, 0x2A, 0x00, 0x80, 0x00, 0x00, 0x33];
    sign_extended.extend_from_slice(&[0x30; 0x33]);
    sign_extended.extend_from_slice(&[0x00, 0x00]);
    vec![
        select_jpki,
        vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01],
        vec![0x00, 0xB0, 0x00, 0x00, 0x00],
        vec![0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00],
        vec![0x00, 0xB0, 0x01, 0x00, 0x00, 0x02, 0x00],
        vec![0x00, 0x20, 0x00, 0x80],
        vec![0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
        vec![0x00, 0xC0, 0x00, 0x00, 0x00],
        sign,
        sign_extended,
    ]
}

/// Records every response of a card in the `card_responses` input format: a 2-byte
/// little-endian length, then the response.
struct Recorder<T> {
    inner: T,
    script: Vec<u8>,
}

impl<T: CardTransport> CardTransport for Recorder<T> {
    fn transmit(&mut self, command: &[u8], exchange: Exchange) -> std::result::Result<Vec<u8>, TransportError> {
        let response = self.inner.transmit(command, exchange)?;
        let len = u16::try_from(response.len()).unwrap_or(u16::MAX);
        self.script.extend_from_slice(&len.to_le_bytes());
        self.script.extend_from_slice(&response);
        Ok(response)
    }

    fn capabilities(&self) -> mynaid_card::transport::Capabilities {
        self.inner.capabilities()
    }
}

/// Conversations of the emulated card with the apps' code, as `card_responses` inputs:
/// the selector byte (operation, extended length, last try confirmed), then the responses.
fn conversations(state: &CardState, pins: (&str, &str), password: Option<&str>) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for extended in [false, true] {
        for (credential, secret) in [
            (Route::UserAuthentication, Some(pins)),
            (Route::Signature, password.map(|p| (p, ""))),
        ] {
            let card = Card::from_state(state.clone(), Persistence::None)?;
            let transport = if extended {
                InProcessTransport::extended(card)
            } else {
                InProcessTransport::new(card)
            };
            let mut recorder = Recorder {
                inner: transport,
                script: Vec::new(),
            };
            let signature = u8::from(credential == Route::Signature);
            let mut select = signature | if extended { 4 } else { 0 } | 8;
            let name = match secret {
                Some(secret) => {
                    select |= 2;
                    let credentials = match credential {
                        Route::UserAuthentication => Credentials::FourDigit {
                            pins: FourDigitPins::new(
                                Pin::new(PinKind::UserAuthentication, secret.0)?,
                                InputSupportPin::Typed(Pin::new(PinKind::InputSupport, secret.1)?),
                            )?,
                            last_tries: LastTries::both(LastTry::Confirmed),
                        },
                        Route::Signature => Credentials::Password {
                            password: Pin::new(PinKind::Signature, secret.0)?,
                            last_try: LastTry::Confirmed,
                        },
                    };
                    // Errors (a blocked password) are conversations too.
                    let _ = mynaid_device::read(&mut recorder, &credentials, &[0x5A; 32], &mut |_| {});
                    format!("read-{}-{extended}", credential.as_str())
                }
                None => {
                    let _ = mynaid_device::pin_statuses(&mut recorder, credential);
                    format!("status-{}-{extended}", credential.as_str())
                }
            };
            let mut input = vec![select];
            input.extend_from_slice(&recorder.script);
            out.push((name, input));
        }
    }
    Ok(out)
}

/// Both link forms, as the server's pages write them, and near misses.
fn links() -> Vec<String> {
    let h = "Zq3kR8vN2xW5bT7yL1mC4dFh";
    vec![
        format!("mynaid://read?server=http%3A%2F%2F127.0.0.1%3A8080&handle={h}"),
        format!("mynaid://read?server=https%3A%2F%2Fid.example.jp&handle={h}"),
        format!("https://id.example.jp/app/read#h={h}&o=https%3A%2F%2Fportal.example.jp"),
        format!("http://127.0.0.1:8080/app/read#h={h}&o=http%3A%2F%2F127.0.0.1%3A8080"),
        format!("http://localhost:8080/app/read#o=http%3A%2F%2Flocalhost%3A8080&h={h}"),
        format!("mynaid://read?handle={h}&server=https%3A%2F%2F%5B%3A%3A1%5D%3A8443"),
        format!("mynaid://read?server=http%3A%2F%2Fevil.example&handle={h}"),
        format!("https://id.example.jp/app/read#h={h}"),
    ]
}

/// Answers of the server to redeem (selector bit 1 clear) and evidence (set) requests: the
/// selector byte, the HTTP status (big-endian), the body.
fn answers() -> Vec<(String, Vec<u8>)> {
    let h = "abcdefghijklmnopqrstuvwx";
    let redeem = |origin: &str| {
        format!(
            r#"{{"origin":"{origin}","service_name":{{"ja":"登録ポータル","en":"Portal"}},"purpose":"verify_identity","purpose_text":{{"ja":"本人確認","en":"Verify your identity"}},"challenge":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","session_binding":"AgICAgICAgICAgICAgICAg","expires_at":1795737900,"accepted_credentials":["user_authentication","signature"],"min_reader_version":"0.1.0","submission_token":"c3VibWlzc2lvbi10b2tlbi0wMTIzNDU2Nzg5","evidence_url":"https://id.example.jp/api/v1/handles/{h}/evidence","status_url":"https://id.example.jp/api/v1/handles/{h}/status","pattern":"cross_device","pc_code":"K7Q2"}}"#
        )
    };
    let error = r#"{"error":{"code":"handle_already_used","message":{"ja":"使用済み","en":"Already used"}}}"#;
    let mut out = Vec::new();
    let mut put = |name: &str, select: u8, status: u16, body: &str| {
        let mut input = vec![select];
        input.extend_from_slice(&status.to_be_bytes());
        input.extend_from_slice(body.as_bytes());
        out.push((name.to_owned(), input));
    };
    put("redeem-reader", 0, 200, &redeem("https://portal.example.jp"));
    put("redeem-app", 1, 200, &redeem("https://portal.example.jp"));
    put("redeem-app-other-origin", 1, 200, &redeem("https://evil.example"));
    put("redeem-409", 1, 409, error);
    put(
        "redeem-503",
        0,
        503,
        r#"{"error":{"code":"storage_unavailable","message":{"ja":"j","en":"e"}}}"#,
    );
    put("evidence-pc", 2, 200, r#"{"status":"verified"}"#);
    put(
        "evidence-cross",
        2,
        200,
        r#"{"status":"verified","confirmation_code":"123456"}"#,
    );
    put(
        "evidence-same",
        3,
        200,
        r#"{"status":"verified","confirmation_code":"123456","return_url":"https://id.example.jp/return#Zq3kR8vN2xW5bT7yL1mC4dFh"}"#,
    );
    put(
        "evidence-422",
        2,
        422,
        r#"{"error":{"code":"signature_mismatch","message":{"ja":"j","en":"e"}}}"#,
    );
    out
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"), PathBuf::from);
    let mut written = 0;
    let mut put = |target: &str, name: &str, bytes: &[u8]| -> Result<()> {
        let dir = out.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(name), bytes)?;
        written += 1;
        Ok(())
    };
    for (id, pin, password) in PERSONS {
        let state = state(id)?;
        for (i, e) in evidence(&state, pin, password)?.iter().enumerate() {
            put(
                "evidence_document",
                &format!("{id}-{}-{i}.json", e.route()),
                e.to_json().as_bytes(),
            )?;
        }
        for fid in 1..=8u16 {
            if let Some(content) = file(&state, "input-support", fid).filter(|_| fid != 1) {
                // EF 0001 holds the (fictional) Individual Number: no target reads it.
                put("tlv", &format!("{id}-is-{fid:04X}"), content)?;
            }
        }
        if let Some(content) = file(&state, "input-support", 2) {
            put("basic_info", &format!("{id}-physical"), content)?;
            if let Some(o) = object(content) {
                put("basic_info", &format!("{id}-object"), &o)?;
            }
        }
        if let Some(content) = file(&state, "input-support", 3) {
            put("integrity_record", id, content)?;
        }
        if let Some(content) = file(&state, "input-support", 7) {
            put("tlv", &format!("{id}-signed-key"), content)?;
        }
        for (fid, what) in [
            (0x0001, "sign"),
            (0x000A, "auth"),
            (0x0002, "sign-root"),
            (0x000B, "auth-root"),
        ] {
            if let Some(der) = file(&state, "jpki", fid).and_then(object) {
                put("san", &format!("{id}-{what}"), &der)?;
            }
        }
    }
    let p01 = state("p01")?;
    for (app, name) in [("input-support", "input-support"), ("face", "face")] {
        if let Some(content) = file(&p01, app, 4) {
            put("cv_certificate", name, content)?;
            put("tlv", &format!("cv-{name}"), content)?;
        }
    }
    for (id, pin, password) in [PERSONS[0], PERSONS[3], PERSONS[6]] {
        for (name, input) in conversations(&state(id)?, pin, password)? {
            put("card_responses", &format!("{id}-{name}"), &input)?;
        }
    }
    for (i, link) in links().iter().enumerate() {
        put("link", &format!("link-{i:02}"), link.as_bytes())?;
    }
    for (name, input) in answers() {
        put("server_answers", &name, &input)?;
    }
    for (i, apdu) in apdus().iter().enumerate() {
        put("apdu_command", &format!("apdu-{i:02}"), apdu)?;
    }
    for name in ["sign-g1", "sign-g2", "auth-g1", "auth-g2"] {
        put("crl", name, &fs::read(fixtures().join(format!("crl/jpki-{name}.crl")))?)?;
    }
    println!("wrote {written} seeds under {}", out.display());
    Ok(())
}
