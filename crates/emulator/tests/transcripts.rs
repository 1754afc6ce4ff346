//! Conformance transcripts: declarative APDU scripts under `tests/transcripts/`, one per
//! behaviour of the card (`shared/spec/card-protocol.md` §12), run against the fixture card.
//!
//! A transcript is JSON:
//!
//! ```json
//! { "about": "what this shows",
//!   "persistence": "memory" | "file",
//!   "steps": [
//!     { "send": "00 A4 04 0C 0A <JPKI>", "sw": "9000" },
//!     { "send": "00 B0 00 00 00", "sw": "9000", "len": 3, "data": "8F8F00" },
//!     { "do": "reset" | "power_off" | "restart" },
//!     { "remaining": { "app": "jpki", "pin": "0018", "is": 2 } } ] }
//! ```
//!
//! In `send`, tokens are hex bytes, `'ascii'`, `N*HH` (N copies of byte HH), or a name in
//! angle brackets: `<JPKI>`, `<SUPPORT>`, `<FACE>` (AIDs), `<AUTH_PIN>`, `<SIGN_PASSWORD>`,
//! `<SUPPORT_PIN>`, `<CODE_B>`, `<DI>` (a 51-byte SHA-256 DigestInfo). A `send` step may also
//! check `ends_with` (hex) and `signed_by` (`"app/FID"`: the data is a valid PKCS#1 v1.5
//! signature of the command data under that key). `restart` re-opens the card from its state
//! file, as a new process would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use mynaid_apdu::Command;
use mynaid_card::ids::{AID_FACE, AID_INPUT_SUPPORT, AID_JPKI};
use mynaid_emulator::{Card, Persistence};
use rsa::Pkcs1v15Sign;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Transcript {
    about: String,
    #[serde(default)]
    persistence: Store,
    steps: Vec<Step>,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Store {
    #[default]
    Memory,
    File,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Step {
    Send(SendStep),
    Do {
        #[serde(rename = "do")]
        action: Action,
    },
    Remaining {
        remaining: RemainingCheck,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendStep {
    send: String,
    sw: String,
    len: Option<usize>,
    data: Option<String>,
    ends_with: Option<String>,
    signed_by: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize, Clone, Copy, Debug)]
#[serde(rename_all = "snake_case")]
enum Action {
    Reset,
    PowerOff,
    Restart,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemainingCheck {
    app: String,
    pin: String,
    is: u8,
}

fn transcripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("transcripts")
}

/// Expands the `send` mini-language to bytes.
fn assemble(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for token in text.split_whitespace() {
        if let Some(ascii) = token.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            out.extend_from_slice(ascii.as_bytes());
        } else if let Some(name) = token.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
            out.extend_from_slice(&match name {
                "JPKI" => AID_JPKI.to_vec(),
                "SUPPORT" => AID_INPUT_SUPPORT.to_vec(),
                "FACE" => AID_FACE.to_vec(),
                "AUTH_PIN" => common::AUTH_PIN.to_vec(),
                "SIGN_PASSWORD" => common::SIGN_PASSWORD.to_vec(),
                "SUPPORT_PIN" => common::SUPPORT_PIN.to_vec(),
                "CODE_B" => common::CODE_B.to_vec(),
                "DI" => common::digest_info(b"transcript challenge"),
                other => panic!("unknown name <{other}>"),
            });
        } else if let Some((count, byte)) = token.split_once('*') {
            let count: usize = count.parse().expect("repeat count");
            let byte = u8::from_str_radix(byte, 16).expect("repeat byte");
            out.extend(std::iter::repeat_n(byte, count));
        } else {
            out.extend(hex::decode(token).unwrap_or_else(|e| panic!("bad hex {token:?}: {e}")));
        }
    }
    out
}

fn run(name: &str) {
    let path = transcripts_dir().join(format!("{name}.json"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let transcript: Transcript = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        !transcript.about.is_empty() && !transcript.steps.is_empty(),
        "{name}: empty transcript"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let state_file = dir.path().join("card.json");
    let persistence = match transcript.persistence {
        Store::Memory => Persistence::None,
        Store::File => Persistence::File(state_file.clone()),
    };
    let mut card = Card::from_state(common::test_state(), persistence).expect("fixture card");
    let mut checks = 0;
    for (i, step) in transcript.steps.iter().enumerate() {
        let at = format!("{name} step {i}");
        match step {
            Step::Send(s) => {
                checks += 1;
                let command = assemble(&s.send);
                let (data, sw) = common::send(&mut card, &command);
                let note = s.note.as_deref().unwrap_or("");
                assert_eq!(
                    format!("{sw:04X}"),
                    s.sw.to_uppercase(),
                    "{at} ({}) {note}: status word",
                    s.send
                );
                if let Some(len) = s.len {
                    assert_eq!(data.len(), len, "{at} ({}) {note}: response length", s.send);
                }
                if let Some(expected) = &s.data {
                    assert_eq!(
                        hex::encode_upper(&data),
                        assemble_hex(expected),
                        "{at} {note}: response data"
                    );
                }
                if let Some(tail) = &s.ends_with {
                    let tail = hex::decode(assemble_hex(tail)).expect("hex");
                    assert!(
                        data.ends_with(&tail),
                        "{at} {note}: response does not end with {tail:02X?}"
                    );
                }
                if let Some(signer) = &s.signed_by {
                    check_signature(&card, signer, &command, &data, &at);
                }
                if s.len.is_none() && s.data.is_none() && s.ends_with.is_none() && s.signed_by.is_none() {
                    assert!(data.is_empty() || sw == 0x9000, "{at}: an error status came with data");
                }
            }
            Step::Do { action } => match action {
                Action::Reset => card.reset(),
                Action::PowerOff => card.power_off(),
                Action::Restart => {
                    assert!(
                        transcript.persistence == Store::File,
                        "{at}: restart needs \"persistence\": \"file\""
                    );
                    drop(card);
                    card = Card::open(&state_file).unwrap_or_else(|e| panic!("{at}: {e}"));
                }
            },
            Step::Remaining { remaining } => {
                checks += 1;
                let fid = u16::from_str_radix(&remaining.pin, 16).expect("PIN EF hex");
                let left = common::remaining(card.state(), &remaining.app, fid);
                assert_eq!(
                    left, remaining.is,
                    "{at}: tries left on {}/{}",
                    remaining.app, remaining.pin
                );
                if transcript.persistence == Store::File {
                    let on_disk: mynaid_emulator::state::CardState =
                        serde_json::from_slice(&fs::read(&state_file).expect("state file")).expect("state JSON");
                    assert_eq!(
                        common::remaining(&on_disk, &remaining.app, fid),
                        remaining.is,
                        "{at}: state file"
                    );
                }
            }
        }
    }
    assert!(checks > 0, "{name}: no expectation");
}

fn assemble_hex(text: &str) -> String {
    hex::encode_upper(assemble(text))
}

fn check_signature(card: &Card, signer: &str, command: &[u8], signature: &[u8], at: &str) {
    let (app, fid) = signer.split_once('/').expect("signed_by is app/FID");
    let fid = u16::from_str_radix(fid, 16).expect("FID hex");
    let key = common::public_key(card.state(), app, fid);
    let command = Command::parse(command).expect("a signed command is well formed");
    assert_eq!(signature.len(), 256, "{at}: RSA-2048 signature length");
    key.verify(Pkcs1v15Sign::new_unprefixed(), command.data_bytes(), signature)
        .unwrap_or_else(|e| panic!("{at}: signature does not verify under {signer}: {e}"));
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
            }
        )*

        /// Every transcript file has a test, and every test has a file.
        #[test]
        fn every_transcript_file_runs() {
            let mut files: Vec<String> = fs::read_dir(transcripts_dir())
                .expect("transcripts dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let mut names: Vec<String> = [$(stringify!($name)),*].iter().map(|n| format!("{n}.json")).collect();
            names.sort();
            assert_eq!(files, names);
        }
    };
}

transcripts! {
    select_unknown_aid,
    select_application,
    select_ef,
    read_beyond_end,
    read_le_larger_than_rest,
    read_sfi,
    read_extended_le_whole_ef,
    read_errors,
    access_rules,
    pin_counter_blocks,
    pin_success_restores_counter,
    empty_verify_never_decrements,
    query_after_verify,
    verify_errors,
    blocked_at_issuance,
    reset_clears_verification,
    reselect_clears_verification,
    counters_survive_restart,
    sign_password_five_tries,
    sign_current_key_ef,
    sign_sfi,
    sign_default_key,
    sign_without_pin,
    sign_errors,
    signing_keeps_verification,
    change_reference_data,
    get_challenge,
    unknown_ins,
    bad_cla,
    malformed_lengths,
    face_application,
}
