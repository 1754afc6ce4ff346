//! The generated material has the card's exact shapes, and every signature verifies under
//! the key the spec says signed it (§8, §9) — and not under the obvious wrong ones.

// Helpers outside #[test] functions panic on malformed material too: that is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use der::{Decode, Encode};
use mynaid_apdu::tlv::{self, Tag};
use mynaid_testpki::cv::{self, CV_CERTIFICATE_LEN, INTEGRITY_RECORD_LEN, SIGNED_KEY_LEN};
use mynaid_testpki::keys::{self, SignatureHash};
use mynaid_testpki::rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use mynaid_testpki::rsa::{BoxedUint, PrivateKey, PublicKey};
use mynaid_testpki::x509::oid;
use mynaid_testpki::x509_cert::crl::CertificateList;
use mynaid_testpki::x509_cert::ext::pkix::name::GeneralName;
use mynaid_testpki::x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use mynaid_testpki::x509_cert::{Certificate, Version};
use mynaid_testpki::{
    Generation, Person, RootKind, TestPki, compact_date, era_digit, generate_in_memory, kenhojo_sex_code, profiles,
    san_sex_code,
};
use sha2::{Digest, Sha256};

fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| generate_in_memory(1).expect("generate"))
}

fn person(id: &str) -> &'static Person {
    pki().person(id).expect("person")
}

fn ef<'a>(p: &'a Person, app: &str, fid: u16) -> &'a [u8] {
    p.file(app, fid)
        .unwrap_or_else(|| panic!("{} {app} {fid:04X}", p.profile.id))
}

/// Parses `90 e 91 n` into an RSA public key.
fn card_public_key(record: &[u8]) -> PublicKey {
    let (e, rest) = tlv::expect_at(record, Tag(0x90), 0).unwrap();
    let (n, rest) = tlv::expect_at(rest, Tag(0x91), e.raw.len()).unwrap();
    assert!(rest.is_empty());
    assert_eq!(e.value, [1, 0, 1]);
    assert_eq!(n.value.len(), 256);
    PublicKey::new(
        BoxedUint::from_be_slice_vartime(n.value),
        BoxedUint::from_be_slice_vartime(e.value),
    )
    .unwrap()
}

/// The AP data key as certified by an EF 0004 CV certificate, after checking it.
fn cv_certificate_key(cert: &[u8], ca: &PublicKey) -> ([u8; 16], [u8; 16], PublicKey) {
    assert_eq!(cert.len(), CV_CERTIFICATE_LEN);
    assert_eq!(&cert[..5], &[0x7F, 0x21, 0x82, 0x02, 0x33]);
    let (outer, _) = tlv::expect_at(cert, Tag(0x7F21), 0).unwrap();
    let (body, rest) = tlv::expect_at(outer.value, Tag(0x5F4E), 5).unwrap();
    let (sig, rest) = tlv::expect_at(rest, Tag(0x5F37), 0).unwrap();
    assert!(rest.is_empty());
    assert_eq!(body.value.len(), 297);
    assert_eq!(sig.value.len(), 256);
    keys::verify(ca, SignatureHash::Sha256, body.value, sig.value).expect("CV signature");
    let ca_id: [u8; 16] = body.value[..16].try_into().unwrap();
    let subject_id: [u8; 16] = body.value[16..32].try_into().unwrap();
    (ca_id, subject_id, card_public_key(&body.value[32..]))
}

#[test]
fn input_support_files_have_the_card_sizes() {
    for p in &pki().persons {
        let f = |fid| ef(p, "input-support", fid);
        assert_eq!(f(0x0001).len(), 17);
        assert_eq!(&f(0x0001)[..3], &[0xFF, 0x10, 0x0C]);
        assert_eq!(&f(0x0001)[3..15], p.my_number.as_bytes());
        assert_eq!(&f(0x0001)[15..], &[0xFF, 0xFF]);
        assert_eq!(f(0x0003).len(), INTEGRITY_RECORD_LEN);
        assert_eq!(&f(0x0003)[..5], &[0xFF, 0x30, 0x82, 0x01, 0x4B]);
        assert_eq!(f(0x0004).len(), CV_CERTIFICATE_LEN);
        assert_eq!(f(0x0007).len(), SIGNED_KEY_LEN);
        assert_eq!(&f(0x0007)[..5], &[0xFF, 0x50, 0x82, 0x02, 0x13]);
        assert_eq!(f(0x0002).len(), 0x200);
        assert_eq!(f(0x0008), &[0xFF; 16]);
        assert_eq!(ef(p, "jpki", 0x0006).len(), 160);
    }
}

#[test]
fn basic_info_offsets_point_at_the_fields() {
    for p in &pki().persons {
        let file = ef(p, "input-support", 0x0002);
        let (outer, filler) = tlv::expect_at(file, Tag(0xFF20), 0).unwrap();
        assert!(filler.iter().all(|&b| b == 0xFF));
        let (df21, _) = tlv::expect_at(outer.value, Tag(0xDF21), outer.value_offset()).unwrap();
        let expected = [
            (0xDF22, p.profile.name.to_owned()),
            (0xDF23, p.profile.address.to_owned()),
            (0xDF24, compact_date(p.profile.birthdate)),
            (0xDF25, kenhojo_sex_code(p.profile.sex).to_owned()),
        ];
        for (i, (tag, value)) in expected.iter().enumerate() {
            let offset = u16::from_be_bytes([df21.value[2 * i], df21.value[2 * i + 1]]) as usize;
            let (field, _) = tlv::expect_at(&file[offset..], Tag(*tag), offset).unwrap();
            assert_eq!(field.value, value.as_bytes(), "{} {tag:X}", p.profile.id);
        }
    }
    // p07 needs two 256-byte reads, and its TLV uses the long length form.
    let p07 = ef(person("p07"), "input-support", 0x0002);
    let (outer, _) = tlv::parse(p07).unwrap();
    assert!(outer.raw.len() > 256, "{}", outer.raw.len());
    assert_eq!(&p07[..3], &[0xFF, 0x20, 0x82]);
}

#[test]
fn integrity_record_covers_both_files_and_is_signed_by_the_data_key() {
    let ca = pki().cv_ca.key.to_public_key();
    for p in &pki().persons {
        let (_, _, data_key) = cv_certificate_key(ef(p, "input-support", 0x0004), &ca);
        let ef0001 = ef(p, "input-support", 0x0001);
        let ef0002 = ef(p, "input-support", 0x0002);
        let record = ef(p, "input-support", 0x0003);

        let (outer, rest) = tlv::expect_at(record, Tag(0xFF30), 0).unwrap();
        assert!(rest.is_empty());
        let (df31, after) = tlv::expect_at(outer.value, Tag(0xDF31), 5).unwrap();
        let (df32, after) = tlv::expect_at(after, Tag(0xDF32), 0).unwrap();
        let (df33, after) = tlv::expect_at(after, Tag(0xDF33), 0).unwrap();
        assert!(after.is_empty());

        assert_eq!(df31.value, Sha256::digest(ef0001).as_slice());
        assert_ne!(df31.value, Sha256::digest(&ef0001[..15]).as_slice());
        // DF32: from the DF22 offset to the end of FF20 (filler and DF21 excluded).
        let off0 = u16::from_be_bytes([ef0002[df21_at(ef0002)], ef0002[df21_at(ef0002) + 1]]);
        let (ff20, _) = tlv::parse(ef0002).unwrap();
        let digest_source = &ef0002[off0 as usize..ff20.raw.len()];
        assert_eq!(df32.value, Sha256::digest(digest_source).as_slice());
        assert_eq!(cv::basic_info_digest_source(ef0002).unwrap(), digest_source);

        let signed = [df31.raw, df32.raw].concat();
        assert_eq!(signed.len(), 70);
        keys::verify(&data_key, SignatureHash::Sha256, &signed, df33.value).expect("integrity signature");
        // Not the card's own key, not the CV CA.
        let card = p.card_key.to_public_key();
        assert!(keys::verify(&card, SignatureHash::Sha256, &signed, df33.value).is_err());
        assert!(keys::verify(&ca, SignatureHash::Sha256, &signed, df33.value).is_err());
    }
}

/// Offset of the first DF21 offset value (after the FF20 header and `DF 21 08`).
fn df21_at(file: &[u8]) -> usize {
    let (outer, _) = tlv::parse(file).unwrap();
    outer.value_offset() + 3
}

#[test]
fn cv_certificates_verify_under_the_cv_ca() {
    let pki = pki();
    let ca = pki.cv_ca.key.to_public_key();
    let (ca_id, subject_id, key) = cv_certificate_key(&pki.input_support_cv_certificate, &ca);
    assert_eq!(ca_id, cv::key_id("9000033/001").unwrap());
    assert_eq!(subject_id, cv::key_id("9100033/001").unwrap());
    assert_eq!(key, pki.ap_data_key.key.to_public_key());
    let (_, face_subject, face_key) = cv_certificate_key(&pki.face_cv_certificate, &ca);
    assert_eq!(face_subject, cv::key_id("9100023/001").unwrap());
    assert_eq!(face_key, key);
    for p in &pki.persons {
        assert_eq!(ef(p, "input-support", 0x0004), pki.input_support_cv_certificate);
        assert_eq!(ef(p, "face", 0x0004), pki.face_cv_certificate);
    }
    // A different key does not verify it.
    let wrong = pki.ap_data_key.key.to_public_key();
    let body = &pki.input_support_cv_certificate[10..10 + 297];
    let sig = &pki.input_support_cv_certificate[568 - 256..];
    keys::verify(&ca, SignatureHash::Sha256, body, sig).unwrap();
    assert!(keys::verify(&wrong, SignatureHash::Sha256, body, sig).is_err());
}

#[test]
fn signed_card_key_is_the_ap_key_and_verifies_under_the_data_key() {
    let data_key = pki().ap_data_key.key.to_public_key();
    for p in &pki().persons {
        let record = ef(p, "input-support", 0x0007);
        let (outer, _) = tlv::expect_at(record, Tag(0xFF50), 0).unwrap();
        let (df51, after) = tlv::expect_at(outer.value, Tag(0xDF51), 5).unwrap();
        let (df52, after) = tlv::expect_at(after, Tag(0xDF52), 0).unwrap();
        assert!(after.is_empty());
        assert_eq!(df51.value.len(), 265);
        let card_key = card_public_key(df51.value);
        assert_eq!(card_key, p.card_key.to_public_key());
        keys::verify(&data_key, SignatureHash::Sha256, df51.raw, df52.value).expect("DF52");

        // The private key on the card (EF 0013, the AP default key) is that same key.
        let app = p.card.applications.iter().find(|a| a.name == "input-support").unwrap();
        assert_eq!(app.default_key, Some(0x0013));
        let key = PrivateKey::from_pkcs8_der(&app.keys[0].pkcs8).unwrap();
        assert_eq!(key.to_public_key(), card_key);
    }
}

fn public_key_of(cert: &Certificate) -> PublicKey {
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().unwrap();
    PublicKey::from_public_key_der(&spki).unwrap()
}

fn verify_cert(cert: &Certificate, issuer: &PublicKey) -> bool {
    let tbs = cert.tbs_certificate().to_der().unwrap();
    let sig = cert.signature().raw_bytes();
    keys::verify(issuer, SignatureHash::Sha256, &tbs, sig).is_ok()
}

fn ski(cert: &Certificate) -> Vec<u8> {
    let (_, ski) = cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    ski.0.as_bytes().to_vec()
}

#[test]
fn generations_share_a_dn_but_not_a_key() {
    let pki = pki();
    for kind in [RootKind::Sign, RootKind::Auth] {
        let g1 = Certificate::from_der(&pki.root(kind, Generation::G1).certificate).unwrap();
        let g2 = Certificate::from_der(&pki.root(kind, Generation::G2).certificate).unwrap();
        assert_eq!(g1.tbs_certificate().subject(), g2.tbs_certificate().subject());
        assert_eq!(g1.tbs_certificate().subject(), g1.tbs_certificate().issuer());
        assert_ne!(ski(&g1), ski(&g2));
        assert_ne!(public_key_of(&g1), public_key_of(&g2));
        for root in [&g1, &g2] {
            assert!(verify_cert(root, &public_key_of(root)), "self-signed");
            let tbs = root.tbs_certificate();
            let (critical, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
            assert!(critical && bc.ca);
            let (critical, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
            assert!(critical);
            assert_eq!(ku.0, KeyUsages::KeyCertSign | KeyUsages::CRLSign);
            let (_, aki) = tbs.get_extension::<AuthorityKeyIdentifier>().unwrap().unwrap();
            assert_eq!(aki.key_identifier.unwrap().as_bytes(), ski(root));
        }
        assert!(!verify_cert(&g1, &public_key_of(&g2)));
    }
    let sign = Certificate::from_der(&pki.root(RootKind::Sign, Generation::G2).certificate).unwrap();
    assert_eq!(
        sign.tbs_certificate().subject().to_string(),
        "OU=mynaid test PKI,OU=JPKI for digital signature,O=JPKI-TEST,C=JP"
    );
}

/// The SAN OtherNames as `(oid, value)` in certificate order.
fn san(cert: &Certificate) -> Vec<(String, String)> {
    let (critical, san) = cert
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .unwrap()
        .expect("SAN");
    assert!(!critical);
    san.0
        .iter()
        .map(|name| match name {
            GeneralName::OtherName(other) => {
                let value = der::asn1::Utf8StringRef::try_from(&other.value).unwrap();
                (other.type_id.to_string(), value.as_str().to_owned())
            }
            other => panic!("unexpected general name {other:?}"),
        })
        .collect()
}

#[test]
fn end_entity_certificates_verify_under_their_root_and_carry_the_san() {
    let pki = pki();
    for p in &pki.persons {
        let generation = p.profile.generation;
        let other = match generation {
            Generation::G1 => Generation::G2,
            Generation::G2 => Generation::G1,
        };
        // Auth certificate: EF 000A, verifies under the auth root of its generation only.
        let auth_der = &p.auth.certificate;
        let stored = ef(p, "jpki", 0x000A);
        assert_eq!(&stored[..auth_der.len()], auth_der.as_slice());
        assert!(stored[auth_der.len()..].iter().all(|&b| b == 0));
        let auth = Certificate::from_der(auth_der).unwrap();
        let auth_root = pki.root(RootKind::Auth, generation);
        let auth_root_cert = Certificate::from_der(&auth_root.certificate).unwrap();
        assert!(verify_cert(&auth, &auth_root.key.to_public_key()));
        assert!(!verify_cert(
            &auth,
            &pki.root(RootKind::Auth, other).key.to_public_key()
        ));
        assert_eq!(
            auth.tbs_certificate().issuer(),
            auth_root_cert.tbs_certificate().subject()
        );
        assert!(
            auth.tbs_certificate()
                .get_extension::<SubjectAltName>()
                .unwrap()
                .is_none()
        );
        let (critical, ku) = auth.tbs_certificate().get_extension::<KeyUsage>().unwrap().unwrap();
        assert!(critical);
        assert_eq!(ku.0, der::flagset::FlagSet::from(KeyUsages::DigitalSignature));
        assert_eq!(ef(p, "jpki", 0x000B), pad(&auth_root.certificate));

        let Some(sign) = &p.sign else {
            assert_eq!(p.profile.id, "p06");
            continue;
        };
        let cert = Certificate::from_der(&sign.certificate).unwrap();
        let root = pki.root(RootKind::Sign, generation);
        let root_cert = Certificate::from_der(&root.certificate).unwrap();
        assert!(verify_cert(&cert, &root.key.to_public_key()), "{}", p.profile.id);
        assert!(!verify_cert(
            &cert,
            &pki.root(RootKind::Sign, other).key.to_public_key()
        ));
        let tbs = cert.tbs_certificate();
        assert_eq!(tbs.issuer(), root_cert.tbs_certificate().subject());
        let (_, aki) = tbs.get_extension::<AuthorityKeyIdentifier>().unwrap().unwrap();
        assert_eq!(aki.key_identifier.unwrap().as_bytes(), root.key_id.as_slice());
        assert!(tbs.get_extension::<BasicConstraints>().unwrap().is_none());
        let (critical, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
        assert!(critical);
        assert_eq!(ku.0, KeyUsages::DigitalSignature | KeyUsages::NonRepudiation);
        assert_eq!(public_key_of(&cert), sign.key.to_public_key());
        assert_eq!(ef(p, "jpki", 0x0002), pad(&root.certificate));

        let entries = san(&cert);
        let oids: Vec<&str> = entries.iter().map(|(o, _)| o.as_str()).collect();
        let base = "1.2.392.200149.8.5.5.";
        let order: Vec<String> = [1, 4, 3, 5, 2, 6].iter().map(|n| format!("{base}{n}")).collect();
        assert_eq!(oids, order);
        let (name, name_flags) = p.profile.san_name();
        let (address, address_flags) = p.profile.san_address();
        let b = p.profile.birthdate;
        assert_eq!(entries[0].1, name);
        assert_eq!(entries[1].1, format!("{}{}", era_digit(b), compact_date(b)));
        assert_eq!(entries[2].1, san_sex_code(p.profile.sex));
        assert_eq!(entries[3].1, address);
        assert_eq!(entries[4].1, name_flags);
        assert_eq!(entries[5].1, address_flags);
        assert_eq!(name_flags.chars().count(), name.chars().count());
        assert_eq!(address_flags.chars().count(), address.chars().count());
    }
    let p07 = san(&Certificate::from_der(&person("p07").sign.as_ref().unwrap().certificate).unwrap());
    assert_eq!(p07[0].1, "吉田\u{3000}一郎");
    assert_eq!(p07[4].1, "10000");
    assert!(p07[5].1.contains('1'));
    assert_eq!(p07[1].1, "219250101");
    let p03 = san(&Certificate::from_der(&person("p03").sign.as_ref().unwrap().certificate).unwrap());
    assert_eq!(p03[2].1, "3");
    let p09 = san(&Certificate::from_der(&person("p09").sign.as_ref().unwrap().certificate).unwrap());
    assert_eq!(p09[1].1, "520190501");
    assert_eq!(oid::SAN_NAME.to_string(), "1.2.392.200149.8.5.5.1");
}

fn pad(der: &[u8]) -> Vec<u8> {
    let mut v = der.to_vec();
    v.resize(0x800, 0);
    v
}

#[test]
fn the_revoked_certificates_are_on_their_crls_and_the_crls_verify() {
    let pki = pki();
    let p08 = person("p08").sign.as_ref().unwrap();
    // p10 reported the card lost: both of its certificates; p08 moved: the signature one.
    let p10_sign = person("p10").sign.as_ref().unwrap();
    let p10_auth = &person("p10").auth;
    for kind in [RootKind::Sign, RootKind::Auth] {
        for generation in [Generation::G1, Generation::G2] {
            let root = pki.root(kind, generation);
            let crl = <CertificateList>::from_der(&pki.crl(kind, generation).der).unwrap();
            let tbs = &crl.tbs_cert_list;
            let tbs_der = tbs.to_der().unwrap();
            keys::verify(
                &root.key.to_public_key(),
                SignatureHash::Sha256,
                &tbs_der,
                crl.signature.raw_bytes(),
            )
            .expect("CRL signature");
            assert_eq!(tbs.issuer.to_der().unwrap(), root.dn.to_der().unwrap());
            assert_eq!(tbs.version, Version::V2);
            let exts = tbs.crl_extensions.as_ref().unwrap();
            assert!(exts.iter().any(|e| e.extn_id.to_string() == "2.5.29.35"));
            assert!(exts.iter().any(|e| e.extn_id.to_string() == "2.5.29.20"));
            let serials: Vec<Vec<u8>> = tbs
                .revoked_certificates
                .iter()
                .flatten()
                .map(|r| r.serial_number.as_bytes().to_vec())
                .collect();
            match (kind, generation) {
                (RootKind::Sign, Generation::G2) => {
                    assert_eq!(serials, vec![p08.serial.clone(), p10_sign.serial.clone()]);
                }
                (RootKind::Auth, Generation::G2) => assert_eq!(serials, vec![p10_auth.serial.clone()]),
                _ => assert!(serials.is_empty()),
            }
        }
    }
    // p08's certificate itself is fine: only the CRL says otherwise.
    let cert = Certificate::from_der(&p08.certificate).unwrap();
    assert_eq!(cert.tbs_certificate().serial_number().as_bytes(), p08.serial);
}

#[test]
fn card_states_match_the_profiles() {
    for p in &pki().persons {
        let pin = |app: &str, fid: u16| {
            p.card
                .applications
                .iter()
                .find(|a| a.name == app)
                .unwrap()
                .pins
                .iter()
                .find(|x| x.fid == fid)
                .cloned()
        };
        let check = |app: &str, fid: u16, value: &str, max: u8, remaining: u8| {
            let pin = pin(app, fid).unwrap_or_else(|| panic!("{} {app} {fid:04X}", p.profile.id));
            let mut h = Sha256::new();
            h.update(&pin.salt);
            h.update(value.as_bytes());
            assert_eq!(pin.reference, h.finalize().as_slice(), "{} {fid:04X}", p.profile.id);
            assert_eq!(pin.salt.len(), 16);
            assert_eq!((pin.max_tries, pin.remaining), (max, remaining));
        };
        let pr = &p.profile;
        check("input-support", 0x0011, pr.pin, 3, pr.pin_remaining);
        check("input-support", 0x0014, &p.my_number, 10, 10);
        check("input-support", 0x0015, &pr.verification_code_b().unwrap(), 10, 10);
        assert_eq!(pin("input-support", 0x0012).unwrap().remaining, 0);
        check("jpki", 0x0018, pr.auth_pin, 3, pr.auth_pin_remaining);
        check("face", 0x0011, &pr.birth_date_key().unwrap(), 10, 10);
        check("face", 0x0012, &pr.verification_code_b().unwrap(), 10, 10);
        check("face", 0x0013, &p.my_number, 10, 10);
        match pr.sign_password {
            Some(pw) => {
                check("jpki", 0x001B, pw, 5, pr.sign_password_remaining);
                assert_eq!(ef(p, "jpki", 0x0008), &[0x8F, 0x8F, 0x00]);
            }
            None => {
                assert!(pin("jpki", 0x001B).is_none());
                assert!(p.file("jpki", 0x0001).is_none());
                assert_eq!(ef(p, "jpki", 0x0008), &[0x00, 0x8F, 0x00]);
            }
        }
    }
    let remaining = |id: &str, app: &str, fid: u16| {
        person(id)
            .card
            .applications
            .iter()
            .find(|a| a.name == app)
            .unwrap()
            .pins
            .iter()
            .find(|x| x.fid == fid)
            .unwrap()
            .remaining
    };
    assert_eq!(remaining("p04", "jpki", 0x001B), 0);
    assert_eq!(remaining("p05", "input-support", 0x0011), 1);
    assert_eq!(remaining("p05", "jpki", 0x001B), 1);
    assert_eq!(remaining("p01", "jpki", 0x001B), 5);
    assert_eq!(profiles().len(), pki().persons.len());
}

#[test]
fn card_keys_match_their_certificates() {
    for p in &pki().persons {
        let jpki = p.card.applications.iter().find(|a| a.name == "jpki").unwrap();
        let key = |fid: u16| {
            jpki.keys
                .iter()
                .find(|k| k.fid == fid)
                .map(|k| PrivateKey::from_pkcs8_der(&k.pkcs8).unwrap().to_public_key())
        };
        let auth = Certificate::from_der(&p.auth.certificate).unwrap();
        assert_eq!(key(0x0017), Some(public_key_of(&auth)));
        match &p.sign {
            Some(sign) => {
                let cert = Certificate::from_der(&sign.certificate).unwrap();
                assert_eq!(key(0x001A), Some(public_key_of(&cert)));
            }
            None => assert_eq!(key(0x001A), None),
        }
    }
}

#[test]
fn specs_rebuild_the_same_certificates_and_one_change_breaks_them() {
    let pki = pki();
    let p01 = person("p01");
    let spec = pki.sign_cert_spec(p01).unwrap().unwrap();
    assert_eq!(
        mynaid_testpki::build_certificate(&spec).unwrap(),
        p01.sign.as_ref().unwrap().certificate
    );
    let auth = pki.auth_cert_spec(p01).unwrap();
    assert_eq!(mynaid_testpki::build_certificate(&auth).unwrap(), p01.auth.certificate);
    let crl = pki.crl_spec(RootKind::Sign, Generation::G2);
    assert_eq!(
        mynaid_testpki::build_crl(&crl).unwrap(),
        pki.crl(RootKind::Sign, Generation::G2).der
    );
    // A SHA-1 variant signed by the right key still verifies — with SHA-1.
    let sha1 = mynaid_testpki::CertSpec {
        signature_hash: SignatureHash::Sha1,
        ..spec.clone()
    };
    let cert = Certificate::from_der(&mynaid_testpki::build_certificate(&sha1).unwrap()).unwrap();
    assert_eq!(cert.signature_algorithm().oid.to_string(), "1.2.840.113549.1.1.5");
    let root = pki.root(RootKind::Sign, Generation::G2).key.to_public_key();
    let tbs = cert.tbs_certificate().to_der().unwrap();
    keys::verify(&root, SignatureHash::Sha1, &tbs, cert.signature().raw_bytes()).unwrap();
    assert!(!verify_cert(&cert, &root));
    assert!(pki.sign_cert_spec(person("p06")).unwrap().is_none());
}
