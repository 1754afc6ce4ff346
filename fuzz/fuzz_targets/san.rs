//! The signature certificate's SubjectAltName attributes (`SanAttributes::from_certificate`),
//! DER certificate parsing included.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_card::formats::SanAttributes;

fuzz_target!(|data: &[u8]| {
    if let Ok(san) = SanAttributes::from_certificate(data) {
        assert_eq!(san.name_substitutes.len(), san.name.expose().chars().count());
        assert_eq!(san.address_substitutes.len(), san.address.expose().chars().count());
        let _ = san.birth_date.expose().iso();
    }
});
