//! What the fuzz targets share: a verifier built once from the committed test PKI
//! (`fixtures/testpki`, embedded at compile time), the session binding and the time.

use std::sync::OnceLock;

use mynaid_evidence::{CrlSet, CvCaKey, RevocationPolicy, TrustStore, Verifier};
use mynaid_protocol::Binding;

/// 2026-11-27T00:00:00Z: inside the validity of every test certificate and CRL.
pub const NOW: u64 = 1_795_737_600;

/// The challenge of the fixed session (`examples/seeds.rs` signs the same binding).
pub const CHALLENGE: [u8; 32] = *b"mynaid-fuzz-challenge-0123456789";

/// The binding every document is verified against.
pub fn binding() -> Binding<'static> {
    Binding {
        origin: "https://portal.example.jp",
        challenge: &CHALLENGE,
        session: b"fuzz-session",
        purpose: mynaid_protocol::Purpose::VerifyIdentity,
    }
}

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/testpki/", $path)).as_slice()
    };
}

fn test_roots() -> TrustStore {
    let roots = [
        fixture!("trust/jpki-sign-root-g1.der"),
        fixture!("trust/jpki-sign-root-g2.der"),
        fixture!("trust/jpki-auth-root-g1.der"),
        fixture!("trust/jpki-auth-root-g2.der"),
    ]
    .map(<[u8]>::to_vec);
    TrustStore::test_roots(&roots).expect("test roots")
}

/// The 4 test roots, for the CRLs a refresh would fetch.
pub fn trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(test_roots)
}

/// The verifier of the test suite: the 4 test roots, their CRLs, `RequireCrl`, the test CV CA.
pub fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let trust = test_roots();
        let mut crls = CrlSet::new();
        for crl in [
            fixture!("crl/jpki-sign-g1.crl"),
            fixture!("crl/jpki-sign-g2.crl"),
            fixture!("crl/jpki-auth-g1.crl"),
            fixture!("crl/jpki-auth-g2.crl"),
        ] {
            crls.load(crl, &trust).expect("CRL");
        }
        let cv = std::str::from_utf8(fixture!("trust/cv-ca.json")).expect("UTF-8");
        let cv = CvCaKey::from_json(cv).expect("cv-ca.json");
        Verifier::new(trust, crls, RevocationPolicy::RequireCrl, vec![cv])
    })
}
