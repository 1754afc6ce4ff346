//! A whole evidence document: `Evidence::parse`, then `Verifier::verify` of what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_fuzz::{NOW, binding, verifier};
use mynaid_protocol::Evidence;

fuzz_target!(|data: &[u8]| {
    if let Ok(evidence) = Evidence::parse(data) {
        // Anything that parses goes through every check the bytes reach.
        let _ = verifier().verify(&evidence, &binding(), NOW);
        // What parsed writes back to a document that parses to the same thing.
        assert_eq!(Evidence::parse(evidence.to_json().as_bytes()).as_ref(), Ok(&evidence));
    }
});
