//! Property tests: `Evidence::parse` never panics, whatever the bytes, and `Verifier::verify`
//! never panics on documents of the right shape whose binary fields are random, truncated or
//! flipped; and no such change to a genuine document is accepted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::*;
use mynaid_evidence::Verifier;
use mynaid_protocol::{Body, Evidence};
use proptest::prelude::*;
use zeroize::Zeroizing;

/// Genuine documents of both routes (p01 signature, p07 user-authentication: long EF 0002),
/// and the verifier, made once.
struct Fixture {
    verifier: Verifier,
    signature: Evidence,
    user_authentication: Evidence,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        verifier: verifier(),
        signature: read_signature("p01", &binding()).unwrap(),
        user_authentication: read_user_authentication("p07", &binding()).unwrap(),
    })
}

/// The binary fields of a document, in a fixed order.
fn fields(e: &Evidence) -> Vec<Vec<u8>> {
    match &e.body {
        Body::Signature { certificate, signature } => vec![certificate.to_vec(), signature.clone()],
        Body::UserAuthentication {
            certificate,
            signature,
            basic_info,
            integrity_record,
            cv_certificate,
        } => vec![
            certificate.to_vec(),
            basic_info.to_vec(),
            integrity_record.to_vec(),
            cv_certificate.clone(),
            signature.clone(),
        ],
    }
}

/// A document of the same route as `e` with these binary fields.
fn with_fields(e: &Evidence, f: Vec<Vec<u8>>) -> Evidence {
    let body = match e.body {
        Body::Signature { .. } => Body::Signature {
            certificate: f[0].clone().into(),
            signature: f[1].clone(),
        },
        Body::UserAuthentication { .. } => Body::UserAuthentication {
            certificate: f[0].clone().into(),
            basic_info: f[1].clone().into(),
            integrity_record: Zeroizing::new(f[2].clone()),
            cv_certificate: f[3].clone(),
            signature: f[4].clone(),
        },
    };
    Evidence {
        reader: e.reader.clone(),
        body,
    }
}

/// Whether `e` carries what `genuine` carries, up to filler (`00`/`FF`) after an
/// input-support record (fields 1 to 3 of a user-authentication document), which cards have
/// and the verifier ignores. A certificate takes no filler.
fn same_content(e: &Evidence, genuine: &Evidence) -> bool {
    if e.route() != genuine.route() {
        return false;
    }
    let records = if matches!(genuine.body, Body::UserAuthentication { .. }) {
        1..4
    } else {
        0..0
    };
    fields(e)
        .iter()
        .zip(fields(genuine))
        .enumerate()
        .all(|(i, (new, old))| {
            new == &old
                || (records.contains(&i)
                    && new.starts_with(&old)
                    && new[old.len()..].iter().all(|b| *b == 0x00 || *b == 0xFF))
        })
}

/// One change to a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    /// Keep the first `n` bytes (n taken modulo the length).
    Truncate(usize),
    /// XOR the byte at `at` (modulo the length) with a non-zero mask.
    Flip { at: usize, mask: u8 },
    /// Insert a byte at `at` (modulo the length + 1).
    Insert { at: usize, byte: u8 },
    /// Replace everything with these bytes.
    Replace(Vec<u8>),
}

impl Mutation {
    fn apply(&self, v: &[u8]) -> Vec<u8> {
        let mut v = v.to_vec();
        match self {
            Mutation::Truncate(n) => v.truncate(n % v.len().max(1)),
            Mutation::Flip { at, mask } => {
                if !v.is_empty() {
                    let i = at % v.len();
                    v[i] ^= mask;
                }
            }
            Mutation::Insert { at, byte } => v.insert(at % (v.len() + 1), *byte),
            Mutation::Replace(bytes) => v = bytes.clone(),
        }
        v
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        prop::collection::vec(any::<u8>(), 0..700).prop_map(Mutation::Replace),
    ]
}

/// JSON-like text built from the document's own vocabulary, so the parser gets past
/// the first byte more often than with random bytes.
fn json_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("\"format\"".to_string()),
        Just("\"mynaid-evidence/2\"".to_string()),
        Just("\"route\"".to_string()),
        Just("\"signature\"".to_string()),
        Just("\"user_authentication\"".to_string()),
        Just("\"certificate\"".to_string()),
        Just("\"basic_info\"".to_string()),
        Just("\"integrity_record\"".to_string()),
        Just("\"cv_certificate\"".to_string()),
        Just("\"reader\"".to_string()),
        Just("null".to_string()),
        "\"[A-Za-z0-9_-]{0,40}\"",
        "[ -~]{0,8}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..20_000)) {
        let _ = Evidence::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_json_like_text(text in json_like()) {
        if let Ok(e) = Evidence::parse(text.as_bytes()) {
            // Whatever parses must also go through the verifier without a panic.
            prop_assert!(fixture().verifier.verify(&e, &binding(), NOW).is_err());
        }
    }

    #[test]
    fn parse_and_verify_never_panic_on_mutated_documents(
        user_authentication in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let f = fixture();
        let genuine = if user_authentication { &f.user_authentication } else { &f.signature };
        let json = genuine.to_json().into_bytes();
        let mutated = mutations.iter().fold(json.clone(), |doc, m| m.apply(&doc));
        if let Ok(e) = Evidence::parse(&mutated) {
            let result = f.verifier.verify(&e, &binding(), NOW);
            // Only a document with the genuine content can verify.
            prop_assert_eq!(result.is_ok(), same_content(&e, genuine));
        }
    }

    #[test]
    fn verify_never_panics_and_refuses_changed_binary_fields(
        user_authentication in any::<bool>(),
        field in any::<prop::sample::Index>(),
        mutation in mutation(),
    ) {
        let f = fixture();
        let genuine = if user_authentication { &f.user_authentication } else { &f.signature };
        let mut values = fields(genuine);
        let i = field.index(values.len());
        values[i] = mutation.apply(&values[i]);
        let evidence = with_fields(genuine, values);
        let result = f.verifier.verify(&evidence, &binding(), NOW);
        prop_assert_eq!(result.is_ok(), same_content(&evidence, genuine), "field {} after {:?}", i, mutation);
    }

    #[test]
    fn verify_never_panics_on_random_binary_fields(
        user_authentication in any::<bool>(),
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 5),
    ) {
        let f = fixture();
        let genuine = if user_authentication { &f.user_authentication } else { &f.signature };
        let evidence = with_fields(genuine, values);
        prop_assert!(f.verifier.verify(&evidence, &binding(), NOW).is_err());
    }
}
