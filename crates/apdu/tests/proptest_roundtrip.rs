//! Property tests: encoding then parsing gives back what was encoded, for APDUs and TLVs,
//! and no input makes a parser panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mynaid_apdu::tlv::{self, Tag};
use mynaid_apdu::{Command, LengthMode, Response, StatusWord};
use proptest::prelude::*;

fn tag() -> impl Strategy<Value = Tag> {
    prop_oneof![
        // One-byte tags: low five bits must not be 11111.
        any::<u8>()
            .prop_filter("single byte tag", |b| b & 0x1F != 0x1F)
            .prop_map(|b| Tag(u32::from(b))),
        // Two-byte tags: first byte xx11111, second byte without the continuation bit.
        (any::<u8>(), 0u8..0x80).prop_map(|(a, b)| Tag((u32::from(a | 0x1F) << 8) | u32::from(b))),
        // Three-byte tags.
        (any::<u8>(), 0x80u8..=0xFF, 0u8..0x80)
            .prop_map(|(a, b, c)| Tag((u32::from(a | 0x1F) << 16) | (u32::from(b) << 8) | u32::from(c))),
    ]
}

proptest! {
    #[test]
    fn command_round_trip(
        cla in any::<u8>(), ins in any::<u8>(), p1 in any::<u8>(), p2 in any::<u8>(),
        data in proptest::collection::vec(any::<u8>(), 0..700),
        ne in proptest::option::of(1u32..=65536),
        extended in any::<bool>(),
    ) {
        let mut cmd = Command::new(cla, ins, p1, p2).with_data(data.clone());
        if let Some(ne) = ne { cmd = cmd.with_ne(ne); }
        let mode = if extended { LengthMode::ExtendedAllowed } else { LengthMode::ShortOnly };
        match cmd.encode(mode) {
            Ok(bytes) => {
                let back = Command::parse(&bytes).unwrap();
                prop_assert_eq!((back.cla, back.ins, back.p1, back.p2), (cla, ins, p1, p2));
                prop_assert_eq!(back.data_bytes(), &data[..]);
                prop_assert_eq!(back.ne(), ne);
                let short_fits = data.len() <= 255 && ne.is_none_or(|n| n <= 256);
                prop_assert_eq!(back.is_extended(), !short_fits);
                if !extended { prop_assert!(bytes.len() <= 261); }
            }
            Err(_) => prop_assert!(!extended && (data.len() > 255 || ne.is_some_and(|n| n > 256))),
        }
    }

    #[test]
    fn command_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(cmd) = Command::parse(&bytes) {
            // Whatever parses re-encodes to the same bytes in the same form.
            let mode = if cmd.is_extended() { LengthMode::ExtendedAllowed } else { LengthMode::ShortOnly };
            if let Ok(again) = cmd.encode(mode) {
                // A parsed extended command whose fields would fit short form re-encodes shorter.
                if !cmd.is_extended() { prop_assert_eq!(&again[..], &bytes[..]); }
            }
        }
    }

    #[test]
    fn response_round_trip(data in proptest::collection::vec(any::<u8>(), 0..600), sw in any::<u16>()) {
        let r = Response::new(data, StatusWord::from(sw));
        prop_assert_eq!(Response::parse(&r.encode()).unwrap(), r);
    }

    #[test]
    fn tlv_round_trip(items in proptest::collection::vec((tag(), proptest::collection::vec(any::<u8>(), 0..400)), 0..6)) {
        let mut buf = Vec::new();
        for (t, v) in &items { tlv::encode(*t, v, &mut buf); }
        let parsed = tlv::parse_all(&buf, 0).unwrap();
        prop_assert_eq!(parsed.len(), items.len());
        for (p, (t, v)) in parsed.iter().zip(&items) {
            prop_assert_eq!(p.tag, *t);
            prop_assert_eq!(p.value, &v[..]);
        }
    }

    #[test]
    fn tlv_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        match tlv::parse_all(&bytes, 0) {
            Ok(items) => prop_assert_eq!(items.iter().map(|t| t.raw.len()).sum::<usize>(), bytes.len()),
            Err(e) => prop_assert!(e.offset <= bytes.len()),
        }
    }
}
