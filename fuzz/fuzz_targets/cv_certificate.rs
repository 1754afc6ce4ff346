//! Input-support EF 0004, the card-verifiable certificate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_card::formats::CvCertificate;

fuzz_target!(|data: &[u8]| {
    if let Ok(cv) = CvCertificate::parse(data) {
        assert_eq!(cv.signature.len(), 256);
        assert_eq!(&cv.body[..16], &cv.ca_key_id.0);
        assert_eq!(&cv.body[16..32], &cv.subject_key_id.0);
        assert_eq!(cv.public_key.modulus.len(), 256);
        let _ = cv.public_key.to_pkcs1_der();
        let _ = cv.ca_key_id.to_string();
    }
});
