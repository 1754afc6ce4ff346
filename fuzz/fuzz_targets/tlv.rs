//! BER-TLV (`mynaid_apdu::tlv::parse_all`), the base of every card record parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_apdu::tlv;

fuzz_target!(|data: &[u8]| {
    if let Ok(items) = tlv::parse_all(data, 0) {
        // The objects tile the input exactly, and each value is the end of its object.
        let mut at = 0;
        for item in &items {
            assert_eq!(item.offset, at);
            assert_eq!(&data[at..at + item.raw.len()], item.raw);
            assert!(item.raw.ends_with(item.value));
            assert_eq!(item.value_offset() + item.value.len(), at + item.raw.len());
            at += item.raw.len();
        }
        assert_eq!(at, data.len());
    }
    let _ = tlv::parse_header(data);
});
