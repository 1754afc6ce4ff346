//! The whole test PKI in memory: roots, CRLs, CV keys and the persons with their cards.
//!
//! [`TestPki::generate`] builds everything from a seed without touching the disk, so tests
//! can re-sign or tamper with material using the same keys; [`TestPki::write`] puts it on
//! disk in the layout the crate docs describe.

use der::DateTime;
use mynaid_emulator::state::CardState;
use rsa::{PrivateKey, PublicKey};
use x509_cert::ext::pkix::crl::CrlReason;

use crate::card::{CardInputs, build_card_state};
use crate::crl::{CrlSpec, RevokedEntry, build_crl};
use crate::cv::{KEY_ID_LEN, build_cv_certificate, key_id, key_id_text};
use crate::keys::{SignatureHash, derive_bytes, generate_key, key_identifier};
use crate::persons::{Profile, profiles};
use crate::x509::{CertSpec, Dn, DnAttr, KeyUsageSpec, build_certificate, oid};
use crate::{PkiError, times};

/// Which JPKI hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RootKind {
    /// 署名用 (digital signature).
    Sign,
    /// 利用者証明用 (user authentication).
    Auth,
}

impl RootKind {
    /// `sign` / `auth`, as used in file names.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sign => "sign",
            Self::Auth => "auth",
        }
    }

    /// The root subject DN (shared by both generations).
    pub fn root_dn(self) -> Dn {
        let ou = match self {
            Self::Sign => "JPKI for digital signature",
            Self::Auth => "JPKI for user authentication",
        };
        Dn(vec![
            (DnAttr::Country, "JP".into()),
            (DnAttr::Organization, "JPKI-TEST".into()),
            (DnAttr::OrganizationalUnit, ou.into()),
            (DnAttr::OrganizationalUnit, "mynaid test PKI".into()),
        ])
    }
}

/// Root generation. Both generations of one kind share a DN and differ in key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// The old generation: valid 2019-04-01 → 2029-03-31.
    G1,
    /// The current generation: valid 2023-07-16 → 2033-07-15.
    G2,
}

impl Generation {
    /// `g1` / `g2`, as used in file names.
    pub fn label(self) -> &'static str {
        match self {
            Self::G1 => "g1",
            Self::G2 => "g2",
        }
    }

    /// Root validity.
    pub fn root_validity(self) -> (DateTime, DateTime) {
        match self {
            Self::G1 => (times::ROOT_G1_NOT_BEFORE, times::ROOT_G1_NOT_AFTER),
            Self::G2 => (times::ROOT_G2_NOT_BEFORE, times::ROOT_G2_NOT_AFTER),
        }
    }

    /// Validity of the end-entity certificates this generation issues.
    pub fn end_entity_validity(self) -> (DateTime, DateTime) {
        match self {
            Self::G1 => (times::EE_NOT_BEFORE, times::EE_G1_NOT_AFTER),
            Self::G2 => (times::EE_NOT_BEFORE, times::EE_G2_NOT_AFTER),
        }
    }
}

/// A self-signed JPKI test root.
#[derive(Debug, Clone)]
pub struct Root {
    /// Sign or auth.
    pub kind: RootKind,
    /// g1 or g2.
    pub generation: Generation,
    /// The root's private key.
    pub key: PrivateKey,
    /// Subject = issuer DN.
    pub dn: Dn,
    /// Subject key identifier (SHA-1 of the RSAPublicKey, RFC 5280 method 1).
    pub key_id: Vec<u8>,
    /// Serial number (big-endian magnitude).
    pub serial: Vec<u8>,
    /// The certificate (DER).
    pub certificate: Vec<u8>,
}

impl Root {
    /// `trust/jpki-<kind>-root-<gen>.der` (relative to the output directory).
    pub fn file_name(&self) -> String {
        format!("trust/jpki-{}-root-{}.der", self.kind.label(), self.generation.label())
    }

    /// `crl/jpki-<kind>-<gen>.crl` (relative to the output directory).
    pub fn crl_file_name(&self) -> String {
        format!("crl/jpki-{}-{}.crl", self.kind.label(), self.generation.label())
    }

    /// The spec this root certificate was built from (self-signed, CA:TRUE critical,
    /// keyCertSign + cRLSign critical, SKI = AKI = [`Root::key_id`]).
    pub fn spec(&self) -> CertSpec<'_> {
        let (not_before, not_after) = self.generation.root_validity();
        CertSpec {
            serial: self.serial.clone(),
            issuer: self.dn.clone(),
            issuer_key: &self.key,
            authority_key_id: Some(self.key_id.clone()),
            subject: self.dn.clone(),
            subject_public_key: self.key.to_public_key(),
            subject_key_id: Some(self.key_id.clone()),
            not_before,
            not_after,
            key_usage: Some(KeyUsageSpec::ca()),
            ca: Some(true),
            san: None,
            issuer_alt_name: None,
            policies: Vec::new(),
            signature_hash: SignatureHash::Sha256,
            extra_extensions: Vec::new(),
        }
    }

    /// The spec of an end-entity certificate issued by this root, in the JPKI profile.
    /// `san` is used for signature certificates only.
    ///
    /// # Errors
    /// [`PkiError::KeyEncoding`] if the subject key id cannot be computed.
    pub fn end_entity_spec(
        &self,
        serial: Vec<u8>,
        subject: Dn,
        subject_key: &PublicKey,
        san: Option<Vec<(der::asn1::ObjectIdentifier, String)>>,
    ) -> Result<CertSpec<'_>, PkiError> {
        let (not_before, not_after) = self.generation.end_entity_validity();
        let (key_usage, policy) = match self.kind {
            RootKind::Sign => (KeyUsageSpec::signature(), oid::POLICY_SIGN),
            RootKind::Auth => (KeyUsageSpec::authentication(), oid::POLICY_AUTH),
        };
        Ok(CertSpec {
            serial,
            issuer: self.dn.clone(),
            issuer_key: &self.key,
            authority_key_id: Some(self.key_id.clone()),
            subject,
            subject_public_key: subject_key.clone(),
            subject_key_id: Some(key_identifier(subject_key)?),
            not_before,
            not_after,
            key_usage: Some(key_usage),
            ca: None,
            san: match self.kind {
                RootKind::Sign => san,
                RootKind::Auth => None,
            },
            issuer_alt_name: Some(issuer_alt_dn()),
            policies: vec![policy],
            signature_hash: SignatureHash::Sha256,
            extra_extensions: Vec::new(),
        })
    }
}

/// The IssuerAltName directoryName of end-entity certificates.
pub fn issuer_alt_dn() -> Dn {
    Dn(vec![
        (DnAttr::Country, "JP".into()),
        (DnAttr::Organization, "公的個人認証サービス(テスト)".into()),
    ])
}

/// A CRL of one root.
#[derive(Debug, Clone)]
pub struct Crl {
    /// Sign or auth.
    pub kind: RootKind,
    /// g1 or g2.
    pub generation: Generation,
    /// `(person id, serial)` of each revoked certificate.
    pub revoked: Vec<(String, Vec<u8>)>,
    /// The CRL (DER).
    pub der: Vec<u8>,
}

/// A key with a CV-certificate key id.
#[derive(Debug, Clone)]
pub struct CvKey {
    /// The 16-byte key id.
    pub id: [u8; KEY_ID_LEN],
    /// The private key.
    pub key: PrivateKey,
}

impl CvKey {
    /// The printed key id, e.g. `9000033/001`.
    pub fn id_text(&self) -> String {
        key_id_text(&self.id)
    }
}

/// A certificate issued to a person, with its key.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// The certified key (also on the card).
    pub key: PrivateKey,
    /// Serial number (big-endian magnitude).
    pub serial: Vec<u8>,
    /// Subject DN.
    pub subject: Dn,
    /// The certificate (DER, without the EF filler).
    pub certificate: Vec<u8>,
}

/// A test person with everything generated for them.
#[derive(Debug, Clone)]
pub struct Person {
    /// The fixed description.
    pub profile: Profile,
    /// The 12-digit Individual Number.
    pub my_number: String,
    /// 署名用電子証明書, if the card has one.
    pub sign: Option<IssuedCert>,
    /// 利用者証明用電子証明書.
    pub auth: IssuedCert,
    /// The input-support AP's own key (EF 0013, public half in EF 0007).
    pub card_key: PrivateKey,
    /// The card state file content.
    pub card: CardState,
}

impl Person {
    /// The physical content of an EF, by application name (`jpki`, `input-support`,
    /// `face`) and file id.
    pub fn file(&self, application: &str, fid: u16) -> Option<&[u8]> {
        self.card
            .applications
            .iter()
            .find(|a| a.name == application)?
            .files
            .iter()
            .find(|f| f.fid == fid)
            .map(|f| f.content.as_slice())
    }
}

/// Key ids of the CV hierarchy (see the crate docs).
pub mod cv_ids {
    /// The test CV CA of the input-support AP (analogue of production `5000033`).
    pub const CV_CA: &str = "9000033/001";
    /// The AP data key certified by EF 0004 of the input-support AP; signs EF 0003 and EF 0007.
    pub const INPUT_SUPPORT_DATA_KEY: &str = "9100033/001";
    /// Subject id of the card-face AP's EF 0004 (same data key, certified again).
    pub const FACE_DATA_KEY: &str = "9100023/001";
    /// The key id in input-support EF 0005 DF42 (names no key of this PKI, like real cards).
    pub const INPUT_SUPPORT_BASIC_INFO: &str = "9000034/001";
    /// The key id in card-face EF 0003 DF32.
    pub const FACE_BASIC_INFO: &str = "9000024/001";
    /// The key id at the start of card-face EF 0003 DF35.
    pub const FACE_DF35: &str = "9000025/001";
}

/// The generated test PKI.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The seed everything was derived from.
    pub seed: u64,
    /// Roots in the order sign-g1, sign-g2, auth-g1, auth-g2 (see [`TestPki::root`]).
    pub roots: [Root; 4],
    /// CRLs in the same order as the roots.
    pub crls: [Crl; 4],
    /// The test CV CA (`9000033/001`).
    pub cv_ca: CvKey,
    /// The issuer AP data key (`9100033/001`), shared by all cards.
    pub ap_data_key: CvKey,
    /// Input-support EF 0004: CV CA → AP data key (568 bytes).
    pub input_support_cv_certificate: Vec<u8>,
    /// Card-face EF 0004: CV CA → AP data key under id `9100023/001` (568 bytes).
    pub face_cv_certificate: Vec<u8>,
    /// The key in input-support EF 0006 (shared by all cards).
    pub session_key: PrivateKey,
    /// The persons, in id order.
    pub persons: Vec<Person>,
}

fn root_index(kind: RootKind, generation: Generation) -> usize {
    let k = match kind {
        RootKind::Sign => 0,
        RootKind::Auth => 2,
    };
    k + match generation {
        Generation::G1 => 0,
        Generation::G2 => 1,
    }
}

/// A positive 8-byte serial number.
fn serial(seed: u64, purpose: &str) -> Vec<u8> {
    let mut s = derive_bytes(seed, purpose, 8);
    s[0] = (s[0] & 0x3F) | 0x40;
    s
}

/// A serial-like subject CN, e.g. `1A2B3C4DKQZTRE13101001S` (23 characters).
fn subject_cn(seed: u64, profile: &Profile, index: usize, kind: RootKind) -> String {
    let bytes = derive_bytes(seed, &format!("cn/{}/{}", profile.id, kind.label()), 10);
    let hex = hex::encode_upper(&bytes[..4]);
    let letters: String = bytes[4..].iter().map(|b| char::from(b'A' + b % 26)).collect();
    let suffix = match kind {
        RootKind::Sign => 'S',
        RootKind::Auth => 'A',
    };
    format!("{hex}{letters}{}{:03}{suffix}", profile.municipality_code, index + 1)
}

impl TestPki {
    /// Generates the whole PKI from `seed` (about 33 RSA keys; a few seconds).
    ///
    /// # Errors
    /// [`PkiError`] if a key cannot be generated or a structure cannot be encoded.
    pub fn generate(seed: u64) -> Result<Self, PkiError> {
        let roots = [
            make_root(seed, RootKind::Sign, Generation::G1)?,
            make_root(seed, RootKind::Sign, Generation::G2)?,
            make_root(seed, RootKind::Auth, Generation::G1)?,
            make_root(seed, RootKind::Auth, Generation::G2)?,
        ];
        let cv_ca = CvKey {
            id: key_id(cv_ids::CV_CA)?,
            key: generate_key(seed, "cv-ca")?,
        };
        let ap_data_key = CvKey {
            id: key_id(cv_ids::INPUT_SUPPORT_DATA_KEY)?,
            key: generate_key(seed, "ap-data-key")?,
        };
        let data_public = ap_data_key.key.to_public_key();
        let input_support_cv_certificate = build_cv_certificate(&cv_ca.id, &ap_data_key.id, &data_public, &cv_ca.key)?;
        let face_cv_certificate =
            build_cv_certificate(&cv_ca.id, &key_id(cv_ids::FACE_DATA_KEY)?, &data_public, &cv_ca.key)?;
        let session_key = generate_key(seed, "session-key")?;

        let mut persons = Vec::new();
        for (index, profile) in profiles().iter().enumerate() {
            let sign_root = &roots[root_index(RootKind::Sign, profile.generation)];
            let auth_root = &roots[root_index(RootKind::Auth, profile.generation)];
            let sign = match profile.sign_password {
                Some(_) => Some(issue(seed, profile, index, sign_root)?),
                None => None,
            };
            let auth = issue(seed, profile, index, auth_root)?;
            let card_key = generate_key(seed, &format!("person/{}/card-ap", profile.id))?;
            let my_number = profile.my_number()?;
            let card = build_card_state(&CardInputs {
                seed,
                profile,
                my_number: &my_number,
                sign: sign.as_ref(),
                auth: &auth,
                card_key: &card_key,
                sign_root: &sign_root.certificate,
                auth_root: &auth_root.certificate,
                ap_data_key: &ap_data_key.key,
                input_support_cv_certificate: &input_support_cv_certificate,
                face_cv_certificate: &face_cv_certificate,
                session_key: &session_key.to_public_key(),
            })?;
            persons.push(Person {
                profile: profile.clone(),
                my_number,
                sign,
                auth,
                card_key,
                card,
            });
        }

        let crls = [
            make_crl(&roots[0], &persons)?,
            make_crl(&roots[1], &persons)?,
            make_crl(&roots[2], &persons)?,
            make_crl(&roots[3], &persons)?,
        ];
        Ok(Self {
            seed,
            roots,
            crls,
            cv_ca,
            ap_data_key,
            input_support_cv_certificate,
            face_cv_certificate,
            session_key,
            persons,
        })
    }

    /// One root.
    pub fn root(&self, kind: RootKind, generation: Generation) -> &Root {
        &self.roots[root_index(kind, generation)]
    }

    /// The CRL of one root.
    pub fn crl(&self, kind: RootKind, generation: Generation) -> &Crl {
        &self.crls[root_index(kind, generation)]
    }

    /// A person by id (`p01` …).
    pub fn person(&self, id: &str) -> Option<&Person> {
        self.persons.iter().find(|p| p.profile.id == id)
    }

    /// The spec that `person`'s signature certificate was built from, for building
    /// variants; `None` when the person has none.
    ///
    /// # Errors
    /// [`PkiError::KeyEncoding`] if the key id cannot be computed.
    pub fn sign_cert_spec(&self, person: &Person) -> Result<Option<CertSpec<'_>>, PkiError> {
        let Some(sign) = &person.sign else {
            return Ok(None);
        };
        let root = self.root(RootKind::Sign, person.profile.generation);
        let spec = root.end_entity_spec(
            sign.serial.clone(),
            sign.subject.clone(),
            &sign.key.to_public_key(),
            Some(person.profile.san_entries()),
        )?;
        Ok(Some(spec))
    }

    /// The spec that `person`'s user-authentication certificate was built from.
    ///
    /// # Errors
    /// [`PkiError::KeyEncoding`] if the key id cannot be computed.
    pub fn auth_cert_spec(&self, person: &Person) -> Result<CertSpec<'_>, PkiError> {
        let root = self.root(RootKind::Auth, person.profile.generation);
        root.end_entity_spec(
            person.auth.serial.clone(),
            person.auth.subject.clone(),
            &person.auth.key.to_public_key(),
            None,
        )
    }

    /// The spec that one root's CRL was built from.
    pub fn crl_spec(&self, kind: RootKind, generation: Generation) -> CrlSpec<'_> {
        crl_spec(self.root(kind, generation), &self.crl(kind, generation).revoked)
    }
}

fn make_root(seed: u64, kind: RootKind, generation: Generation) -> Result<Root, PkiError> {
    let name = format!("jpki-{}-root-{}", kind.label(), generation.label());
    let key = generate_key(seed, &name)?;
    let mut root = Root {
        kind,
        generation,
        key_id: key_identifier(&key.to_public_key())?,
        key,
        dn: kind.root_dn(),
        serial: serial(seed, &format!("serial/{name}")),
        certificate: Vec::new(),
    };
    root.certificate = build_certificate(&root.spec())?;
    Ok(root)
}

fn issue(seed: u64, profile: &Profile, index: usize, root: &Root) -> Result<IssuedCert, PkiError> {
    let label = root.kind.label();
    let key = generate_key(seed, &format!("person/{}/{label}", profile.id))?;
    let serial = serial(seed, &format!("serial/{}/{label}", profile.id));
    let cn = subject_cn(seed, profile, index, root.kind);
    let subject = match root.kind {
        RootKind::Sign => Dn(vec![
            (DnAttr::Country, "JP".into()),
            (DnAttr::Locality, profile.municipality.into()),
            (DnAttr::CommonName, cn),
        ]),
        RootKind::Auth => Dn(vec![(DnAttr::Country, "JP".into()), (DnAttr::CommonName, cn)]),
    };
    let spec = root.end_entity_spec(
        serial.clone(),
        subject.clone(),
        &key.to_public_key(),
        Some(profile.san_entries()),
    )?;
    let certificate = build_certificate(&spec)?;
    Ok(IssuedCert {
        key,
        serial,
        subject,
        certificate,
    })
}

fn crl_spec<'a>(root: &'a Root, revoked: &[(String, Vec<u8>)]) -> CrlSpec<'a> {
    CrlSpec {
        issuer: root.dn.clone(),
        issuer_key: &root.key,
        authority_key_id: Some(root.key_id.clone()),
        crl_number: Some(1),
        this_update: times::CRL_THIS_UPDATE,
        next_update: Some(times::CRL_NEXT_UPDATE),
        revoked: revoked
            .iter()
            .map(|(_, serial)| RevokedEntry {
                serial: serial.clone(),
                revocation_date: times::REVOCATION_DATE,
                reason: Some(CrlReason::KeyCompromise),
            })
            .collect(),
        signature_hash: SignatureHash::Sha256,
        extra_extensions: Vec::new(),
    }
}

fn make_crl(root: &Root, persons: &[Person]) -> Result<Crl, PkiError> {
    let revoked: Vec<(String, Vec<u8>)> = match root.kind {
        RootKind::Sign => persons
            .iter()
            .filter(|p| p.profile.sign_revoked && p.profile.generation == root.generation)
            .filter_map(|p| {
                let sign = p.sign.as_ref()?;
                Some((p.profile.id.to_owned(), sign.serial.clone()))
            })
            .collect(),
        RootKind::Auth => persons
            .iter()
            .filter(|p| p.profile.auth_revoked && p.profile.generation == root.generation)
            .map(|p| (p.profile.id.to_owned(), p.auth.serial.clone()))
            .collect(),
    };
    let der = build_crl(&crl_spec(root, &revoked))?;
    Ok(Crl {
        kind: root.kind,
        generation: root.generation,
        revoked,
        der,
    })
}
