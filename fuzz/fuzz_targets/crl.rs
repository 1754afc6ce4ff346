//! A CRL as a refresh takes it from a file or an http(s) URL (`CrlSet::load`): DER
//! (x509-cert), the CRL and entry extensions (issuing distribution point, reason codes,
//! unknown critical ones), the dates, the signature under the trusted roots.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_evidence::CrlSet;

fuzz_target!(|data: &[u8]| {
    let trust = mynaid_fuzz::trust();
    let mut set = CrlSet::new();
    if let Ok(info) = set.load(data, trust) {
        assert_eq!(set.len(), 1);
        assert!(info.next_update.is_some(), "a CRL without nextUpdate is refused");
        assert!(info.changed);
        // The same CRL again is taken and changes nothing.
        let again = set.load(data, trust).expect("the same CRL again");
        assert!(!again.changed);
        assert_eq!(set.len(), 1);
    }
});
