//! Input-support EF 0002 (基本4情報): `BasicInfo::parse` and `BasicInfo::digest_source`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_card::formats::BasicInfo;

fuzz_target!(|data: &[u8]| {
    let parsed = BasicInfo::parse(data);
    let source = BasicInfo::digest_source(data);
    if let (Ok(info), Ok(source)) = (parsed, source) {
        // What is shown must be what the issuer's digest covers.
        for field in [info.name.expose().as_bytes(), info.address.expose().as_bytes()] {
            assert!(field.is_empty() || source.windows(field.len()).any(|w| w == field));
        }
    }
});
