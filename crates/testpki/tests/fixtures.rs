//! What lands on disk: byte-identical for one seed, different for another, equal to the
//! committed `fixtures/testpki/` (seed 1), and self-consistent (persons.json ↔ card files).
//!
//! After an intended generator change, regenerate the fixtures with
//! `cargo run -p mynaid-testpki --example regen`.

// Helpers outside #[test] functions panic on malformed material too: that is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mynaid_card::formats::Sex;
use mynaid_emulator::state::{Application, CardState, FORMAT};
use mynaid_testpki::rsa::PublicKey;
use mynaid_testpki::rsa::pkcs8::DecodePublicKey;
use mynaid_testpki::{CvCaFile, DEFAULT_SEED, PersonRecord, generate, keys};
use sha2::{Digest, Sha256};

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/testpki")
}

/// Every file under `dir`, by path relative to `dir`.
fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn assert_same_tree(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    let names_a: Vec<&String> = a.keys().collect();
    let names_b: Vec<&String> = b.keys().collect();
    assert_eq!(names_a, names_b, "{what}: different file sets");
    for (name, bytes) in a {
        assert!(bytes == &b[name], "{what}: {name} differs");
    }
}

#[test]
fn one_seed_gives_byte_identical_output() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let summary_a = generate(a.path(), 7).unwrap();
    let summary_b = generate(b.path(), 7).unwrap();
    assert_eq!(summary_a, summary_b);
    let tree = read_tree(a.path());
    assert_same_tree(&tree, &read_tree(b.path()), "two runs with seed 7");
    // The summary lists exactly what was written.
    assert_eq!(summary_a.files, tree.keys().cloned().collect::<Vec<_>>());
    assert_eq!(tree.len(), 24);
    assert_eq!(summary_a.revoked, ["p08", "p10"]);
    let text = summary_a.to_string();
    assert!(text.starts_with("test PKI (seed 7), 24 files:"), "{text}");
    assert!(text.ends_with("revoked: p08, p10"), "{text}");
    for (name, bytes) in &tree {
        if name.ends_with(".json") {
            assert_eq!(bytes.last(), Some(&b'\n'), "{name} ends with a newline");
        }
    }
}

#[test]
fn the_committed_fixtures_match_a_fresh_run() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path(), DEFAULT_SEED).unwrap();
    assert_same_tree(
        &read_tree(&committed()),
        &read_tree(dir.path()),
        "fixtures/testpki vs. a fresh run (regenerate with `cargo run -p mynaid-testpki --example regen`)",
    );
    // The summary's fingerprints are those of the committed roots.
    for (file, sha256) in &summary.root_fingerprints {
        let der = std::fs::read(committed().join(file)).unwrap();
        assert_eq!(*sha256, hex::encode_upper(Sha256::digest(der)));
    }
}

#[test]
fn another_seed_gives_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 2).unwrap();
    let other = read_tree(dir.path());
    let ours = read_tree(&committed());
    for name in ours.keys() {
        if name.ends_with(".der") || name.ends_with(".crl") || name.starts_with("cards/") {
            assert_ne!(ours[name], other[name], "{name} is the same for seeds 1 and 2");
        }
    }
    // Persons are fixed test data and do not depend on the seed.
    assert_eq!(ours["persons.json"], other["persons.json"]);
    let key = |tree: &BTreeMap<String, Vec<u8>>| {
        serde_json::from_slice::<CvCaFile>(&tree["trust/cv-ca.json"])
            .unwrap()
            .modulus
    };
    assert_ne!(key(&ours), key(&other));
}

fn app<'a>(card: &'a CardState, name: &str) -> &'a Application {
    card.applications.iter().find(|a| a.name == name).unwrap()
}

fn pin_matches(app: &Application, fid: u16, value: &str) -> bool {
    let pin = app.pins.iter().find(|p| p.fid == fid).unwrap();
    let mut h = Sha256::new();
    h.update(&pin.salt);
    h.update(value.as_bytes());
    pin.reference == h.finalize().as_slice()
}

#[test]
fn persons_json_matches_the_card_files() {
    let dir = committed();
    let persons: Vec<PersonRecord> = serde_json::from_slice(&std::fs::read(dir.join("persons.json")).unwrap()).unwrap();
    let ids: Vec<&str> = persons.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09", "p10", "p11", "p12"
        ]
    );
    for person in &persons {
        let card: CardState = serde_json::from_slice(&std::fs::read(dir.join(&person.card)).unwrap()).unwrap();
        assert_eq!(card.format, FORMAT);
        assert_eq!(card.label, person.id);
        assert!(pin_matches(app(&card, "input-support"), 0x0011, &person.pin));
        assert!(pin_matches(app(&card, "jpki"), 0x0018, &person.auth_pin));
        assert!(!pin_matches(app(&card, "jpki"), 0x0018, "0000"));
        let jpki = app(&card, "jpki");
        match &person.sign_password {
            Some(pw) => assert!(pin_matches(jpki, 0x001B, pw)),
            None => assert!(jpki.pins.iter().all(|p| p.fid != 0x001B)),
        }
        // DF22 of the card carries the name persons.json gives.
        let ef0002 = &app(&card, "input-support")
            .files
            .iter()
            .find(|f| f.fid == 0x0002)
            .unwrap()
            .content;
        let name = person.name.as_bytes();
        assert!(ef0002.windows(name.len()).any(|w| w == name), "{}", person.id);
    }
    let remaining = |id: &str, app_name: &str, fid: u16| {
        let p = persons.iter().find(|p| p.id == id).unwrap();
        let card: CardState = serde_json::from_slice(&std::fs::read(dir.join(&p.card)).unwrap()).unwrap();
        app(&card, app_name)
            .pins
            .iter()
            .find(|x| x.fid == fid)
            .unwrap()
            .remaining
    };
    assert_eq!(remaining("p04", "jpki", 0x001B), 0);
    assert_eq!(remaining("p05", "input-support", 0x0011), 1);
    assert_eq!(remaining("p05", "jpki", 0x001B), 1);
    // One 4-digit PIN blocked, the other not, each way round.
    assert_eq!(
        (
            remaining("p11", "jpki", 0x0018),
            remaining("p11", "input-support", 0x0011)
        ),
        (0, 3)
    );
    assert_eq!(
        (
            remaining("p12", "jpki", 0x0018),
            remaining("p12", "input-support", 0x0011)
        ),
        (3, 0)
    );
    let p03 = persons.iter().find(|p| p.id == "p03").unwrap();
    assert_eq!(p03.sex, Sex::NotApplicable);
    assert_eq!(serde_json::to_value(p03).unwrap()["sex"], "not_applicable");
    assert!(persons.iter().find(|p| p.id == "p06").unwrap().sign_password.is_none());
}

#[test]
fn the_cv_ca_file_verifies_every_cards_cv_certificate() {
    let dir = committed();
    let ca: CvCaFile = serde_json::from_slice(&std::fs::read(dir.join("trust/cv-ca.json")).unwrap()).unwrap();
    assert_eq!(ca.key_id_text, "9000033/001");
    assert_eq!(ca.key_id, "39303030303333080530303100000000");
    assert_eq!(ca.exponent, "010001");
    assert_eq!(ca.modulus.len(), 512);
    let spki = std::fs::read(dir.join("trust/cv-ca.spki.der")).unwrap();
    let key = PublicKey::from_public_key_der(&spki).unwrap();
    assert_eq!(hex::encode_upper(keys::modulus(&key)), ca.modulus);
    let card: CardState = serde_json::from_slice(&std::fs::read(dir.join("cards/p01.json")).unwrap()).unwrap();
    let ef0004 = &app(&card, "input-support")
        .files
        .iter()
        .find(|f| f.fid == 0x0004)
        .unwrap()
        .content;
    assert_eq!(hex::encode_upper(&ef0004[10..26]), ca.key_id);
    let body = &ef0004[10..10 + 297];
    let signature = &ef0004[ef0004.len() - 256..];
    keys::verify(&key, keys::SignatureHash::Sha256, body, signature).unwrap();
}
