//! A small test card built in code: the JPKI, input-support and card-face applications with
//! the EF map of `shared/spec/card-protocol.md` §3, fake contents of the right shapes and
//! sizes (filler included), deterministic RSA-2048 keys and known PINs.
//!
//! The real card content comes from the test-PKI generator; these tests only need the
//! shapes the emulator's rules act on.
#![allow(dead_code)]

use std::sync::OnceLock;

use mynaid_card::ids::{AID_FACE, AID_INPUT_SUPPORT, AID_JPKI};
use mynaid_emulator::state::{Access, Application, CardState, FORMAT, File, Key, Pin};
use mynaid_emulator::{Card, Persistence};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::{PrivateKey, PublicKey};
use sha2::{Digest, Sha256};

/// 利用者証明用暗証番号 (JPKI EF 0018, 3 tries).
pub(crate) const AUTH_PIN: &[u8] = b"7391";
/// 署名用パスワード (JPKI EF 001B, 5 tries).
pub(crate) const SIGN_PASSWORD: &[u8] = b"MYNA2024";
/// 券面事項入力補助用暗証番号 (input-support EF 0011, 3 tries).
pub(crate) const SUPPORT_PIN: &[u8] = b"4826";
/// 照合番号B of the fixture (input-support EF 0015).
pub(crate) const CODE_B: &[u8] = b"55021720352285";

/// Physical size of JPKI EF 000A (auth certificate TLV + filler).
pub(crate) const AUTH_CERT_SIZE: usize = 4 + 1100 + 20;

/// PKCS#8 documents of the fixture keys: auth, sign, input-support AP key. Generated once
/// per test binary from a fixed seed.
pub(crate) fn keys() -> &'static [Vec<u8>; 3] {
    static KEYS: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        std::array::from_fn(|_| {
            let key = PrivateKey::new(&mut rng, 2048).expect("RSA key generation");
            key.to_pkcs8_der().expect("PKCS#8").as_bytes().to_vec()
        })
    })
}

/// The public half of a fixture key, from the state (so it is the key the card signs with).
pub(crate) fn public_key(state: &CardState, app: &str, fid: u16) -> PublicKey {
    let app = state.applications.iter().find(|a| a.name == app).expect("application");
    let key = app.keys.iter().find(|k| k.fid == fid).expect("key EF");
    PrivateKey::from_pkcs8_der(&key.pkcs8).expect("PKCS#8").to_public_key()
}

/// `tag ‖ length (2 bytes) ‖ body ‖ filler`: a DER-looking object of the given sizes.
fn object(tag: &[u8], body_len: usize, fill: u8, filler_len: usize) -> Vec<u8> {
    let mut v = tag.to_vec();
    v.push(0x82);
    v.extend_from_slice(&u16::try_from(body_len).expect("fits").to_be_bytes());
    v.extend((0..body_len).map(|i| (i % 251) as u8));
    v.extend(std::iter::repeat_n(fill, filler_len));
    v
}

fn file(fid: u16, content: Vec<u8>, read: Access) -> File {
    File { fid, content, read }
}

fn pin(fid: u16, value: &[u8], max_tries: u8) -> Pin {
    Pin::new(fid, format!("salt-{fid:04X}").into_bytes(), value, max_tries)
}

fn any(pins: &[u16]) -> Access {
    Access::AnyPin(pins.to_vec())
}

/// JPKI AP (§3.1).
fn jpki() -> Application {
    let mut token = b"JPKIAPICCTOKEN2".to_vec();
    token.resize(32, b' ');
    token.resize(160, 0);
    Application {
        name: "jpki".to_owned(),
        aid: AID_JPKI.to_vec(),
        files: vec![
            file(0x0001, object(&[0x30], 272, 0xFF, 16), any(&[0x001B])),
            file(0x0002, object(&[0x30], 512, 0, 0), Access::Always),
            file(0x0006, token, Access::Always),
            file(0x0008, vec![0x8F, 0x8F, 0x00], Access::Always),
            file(0x0009, vec![0xFF; 16], Access::Never),
            file(0x000A, object(&[0x30], 1100, 0x00, 20), Access::Always),
            file(0x000B, object(&[0x30], 296, 0, 0), Access::Always),
        ],
        keys: vec![
            Key {
                fid: 0x0017,
                pkcs8: keys()[0].clone(),
                usage: any(&[0x0018]),
            },
            Key {
                fid: 0x001A,
                pkcs8: keys()[1].clone(),
                usage: any(&[0x001B]),
            },
        ],
        pins: vec![pin(0x0018, AUTH_PIN, 3), pin(0x001B, SIGN_PASSWORD, 5)],
        default_key: None,
    }
}

/// 券面事項入力補助AP (§3.2).
fn input_support() -> Application {
    let mut number = vec![0xFF, 0x10, 0x0C];
    number.extend_from_slice(b"000000000000");
    number.extend_from_slice(&[0xFF, 0xFF]);
    let mut blocked = pin(0x0012, b"unused", 3);
    blocked.remaining = 0;
    Application {
        name: "input-support".to_owned(),
        aid: AID_INPUT_SUPPORT.to_vec(),
        files: vec![
            file(0x0001, number, any(&[0x0011, 0x0014])),
            file(0x0002, object(&[0xFF, 0x20], 180, 0xFF, 12), any(&[0x0011, 0x0015])),
            file(0x0003, object(&[0xFF, 0x30], 331, 0, 0), any(&[0x0011, 0x0014, 0x0015])),
            file(0x0004, object(&[0x7F, 0x21], 563, 0, 0), Access::Always),
            file(0x0005, object(&[0xFF, 0x40], 150, 0, 0), Access::Always),
            file(0x0007, object(&[0xFF, 0x50], 531, 0, 0), any(&[0x0011, 0x0014, 0x0015])),
        ],
        keys: vec![Key {
            fid: 0x0013,
            pkcs8: keys()[2].clone(),
            usage: Access::Always,
        }],
        pins: vec![
            pin(0x0011, SUPPORT_PIN, 3),
            blocked,
            pin(0x0014, b"000000000000", 10),
            pin(0x0015, CODE_B, 10),
        ],
        default_key: Some(0x0013),
    }
}

/// 券面事項確認AP (§3.3): only its free basic-info EF; no key.
fn face() -> Application {
    Application {
        name: "face".to_owned(),
        aid: AID_FACE.to_vec(),
        files: vec![file(0x0003, object(&[0xFF, 0x30], 60, 0, 0), Access::Always)],
        keys: Vec::new(),
        pins: Vec::new(),
        default_key: None,
    }
}

/// The whole fixture card.
pub(crate) fn test_state() -> CardState {
    CardState {
        format: FORMAT.to_owned(),
        label: "test-person-01".to_owned(),
        atr: vec![0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14],
        applications: vec![jpki(), input_support(), face()],
    }
}

/// The fixture card, in memory.
pub(crate) fn test_card() -> Card {
    Card::from_state(test_state(), Persistence::None).expect("fixture card loads")
}

/// The SHA-256 DigestInfo (§7.1) of `message`: what a reader sends to be signed.
pub(crate) fn digest_info(message: &[u8]) -> Vec<u8> {
    let mut di = vec![
        0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    di.extend_from_slice(&Sha256::digest(message));
    di
}

/// Builds a command APDU from space-separated hex.
pub(crate) fn apdu(hex_str: &str) -> Vec<u8> {
    hex::decode(hex_str.replace(' ', "")).expect("hex")
}

/// Sends `command` and returns (data, SW).
pub(crate) fn send(card: &mut Card, command: &[u8]) -> (Vec<u8>, u16) {
    let response = card.handle(command);
    assert!(response.len() >= 2, "response without a status word");
    let (data, sw) = response.split_at(response.len() - 2);
    (data.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

/// Sends a command given in hex and returns its SW (data ignored).
pub(crate) fn sw(card: &mut Card, hex_str: &str) -> u16 {
    send(card, &apdu(hex_str)).1
}

/// SELECT by DF name.
pub(crate) fn select_app(aid: &[u8]) -> Vec<u8> {
    let mut c = vec![0x00, 0xA4, 0x04, 0x0C, u8::try_from(aid.len()).expect("short")];
    c.extend_from_slice(aid);
    c
}

/// SELECT EF by FID.
pub(crate) fn select_ef(fid: u16) -> Vec<u8> {
    let [hi, lo] = fid.to_be_bytes();
    vec![0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo]
}

/// VERIFY with P2 and data (empty data = retry query).
pub(crate) fn verify(p2: u8, pin: &[u8]) -> Vec<u8> {
    let mut c = vec![0x00, 0x20, 0x00, p2];
    if !pin.is_empty() {
        c.push(u8::try_from(pin.len()).expect("short"));
        c.extend_from_slice(pin);
    }
    c
}

/// COMPUTE DIGITAL SIGNATURE with P2, data and Le 00.
pub(crate) fn sign(p2: u8, data: &[u8]) -> Vec<u8> {
    let mut c = vec![0x80, 0x2A, 0x00, p2, u8::try_from(data.len()).expect("short")];
    c.extend_from_slice(data);
    c.push(0x00);
    c
}

/// Remaining tries of a PIN EF in the card's current persistent state.
pub(crate) fn remaining(state: &CardState, app: &str, fid: u16) -> u8 {
    let app = state.applications.iter().find(|a| a.name == app).expect("application");
    app.pins.iter().find(|p| p.fid == fid).expect("PIN EF").remaining
}

/// Every way a PIN could show up in text: ASCII, hex (upper/lower, spaced or not), and the
/// decimal byte list `Debug` prints for a `Vec<u8>`.
pub(crate) fn pin_renderings(pin: &[u8]) -> Vec<String> {
    let upper = hex::encode_upper(pin);
    let spaced: Vec<String> = pin.iter().map(|b| format!("{b:02X}")).collect();
    let decimal: Vec<String> = pin.iter().map(u8::to_string).collect();
    vec![
        String::from_utf8_lossy(pin).into_owned(),
        upper.clone(),
        upper.to_lowercase(),
        spaced.join(" "),
        spaced.join(" ").to_lowercase(),
        decimal.join(", "),
    ]
}
