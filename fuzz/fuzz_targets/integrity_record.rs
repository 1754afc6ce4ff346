//! Input-support EF 0003, the integrity record (DF31 ‖ DF32 ‖ DF33).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_card::formats::IntegrityRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = IntegrityRecord::parse(data) {
        // The signed part is exactly DF31 ‖ DF32, each a 32-byte digest.
        let signed = record.signed_data();
        assert_eq!(signed.len(), 70);
        assert_eq!(&signed[..3], &[0xDF, 0x31, 0x20]);
        assert_eq!(&signed[35..38], &[0xDF, 0x32, 0x20]);
        assert_eq!(&signed[38..], record.basic_info_digest());
        assert_eq!(record.signature().len(), 256);
    }
});
