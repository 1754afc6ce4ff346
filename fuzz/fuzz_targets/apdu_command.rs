//! Command APDUs as the emulator receives them (`mynaid_apdu::Command::parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_apdu::{Command, LengthMode};

fuzz_target!(|data: &[u8]| {
    if let Ok(command) = Command::parse(data) {
        let _ = command.summary();
        // Encoding what parsed and parsing it again gives the same command (the form may
        // change: the encoder picks the short form whenever it fits).
        let encoded = command
            .encode(LengthMode::ExtendedAllowed)
            .expect("a parsed command encodes");
        let again = Command::parse(&encoded).expect("an encoded command parses");
        assert_eq!(
            (again.cla, again.ins, again.p1, again.p2, again.data_bytes(), again.ne()),
            (
                command.cla,
                command.ins,
                command.p1,
                command.p2,
                command.data_bytes(),
                command.ne()
            )
        );
    }
});
