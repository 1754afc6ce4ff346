//! The server's answers as a reading device judges them (`mynaid_device::Offer::from_response`
//! for the redeem answer, `Offer::submitted` for the evidence answer). A reading
//! device must not trust the server a link names more than the link does: the answer's URLs
//! must stay on that server, an app link's promised origin must match, a return address must
//! be the server's own page.
//!
//! Input: byte 0 picks the link (bit 0: app link or reader link) and the parser (bit 1:
//! the evidence answer, judged against a fixed offer); bytes 1-2 are the HTTP status
//! (big-endian); the rest is the body.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mynaid_device::{Device, Link, Offer, ReaderStatus};
use mynaid_protocol::Body;

const HANDLE: &str = "abcdefghijklmnopqrstuvwx";

fn links() -> &'static [Link; 2] {
    static LINKS: OnceLock<[Link; 2]> = OnceLock::new();
    LINKS.get_or_init(|| {
        [
            Link::parse(&format!(
                "mynaid://read?server=https%3A%2F%2Fid.example.jp&handle={HANDLE}"
            ))
            .expect("reader link"),
            Link::parse(&format!(
                "https://id.example.jp/app/read#h={HANDLE}&o=https%3A%2F%2Fportal.example.jp"
            ))
            .expect("app link"),
        ]
    })
}

/// A genuine offer, for judging evidence answers.
fn offer() -> &'static Offer {
    static OFFER: OnceLock<Offer> = OnceLock::new();
    OFFER.get_or_init(|| {
        let answer = format!(
            r#"{{"origin":"https://portal.example.jp","service_name":{{"ja":"ポータル","en":"Portal"}},
            "purpose":"verify_identity","purpose_text":{{"ja":"本人確認","en":"Verify"}},
            "challenge":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","session_binding":"AgICAgICAgICAgICAgICAg",
            "expires_at":10,"accepted_credentials":["user_authentication","signature"],"min_reader_version":"0.0.1",
            "submission_token":"t","evidence_url":"https://id.example.jp/api/v1/handles/{HANDLE}/evidence",
            "status_url":"https://id.example.jp/api/v1/handles/{HANDLE}/status","pattern":"cross_device","pc_code":"K7Q2"}}"#
        );
        Offer::from_response(&links()[1], Device::PhoneApp, 200, answer.as_bytes()).expect("offer")
    })
}

fuzz_target!(|data: &[u8]| {
    let [select, hi, lo, body @ ..] = data else {
        return;
    };
    let status = u16::from_be_bytes([*hi, *lo]);
    let link = &links()[usize::from(select & 1)];
    if select & 2 == 0 {
        // Both kinds of device judge every answer.
        let device = if select & 4 == 0 {
            Device::PhoneApp
        } else {
            Device::PcReaderApp
        };
        match Offer::from_response(link, device, status, body) {
            Ok(offer) => {
                assert!((200..300).contains(&status));
                assert_eq!(offer.server, link.server);
                assert_eq!(offer.pattern.device(), device, "an offer for another kind of device");
                if let Some(promised) = &link.origin {
                    assert_eq!(&offer.origin, promised, "an app link's origin is kept");
                }
                let prefix = format!("{}/api/v1/handles/{}/", link.server, link.handle);
                let report = offer.status_request(ReaderStatus::Reading, Some(2));
                assert!(report.url.starts_with(&prefix), "status URL off the link's server");
                let evidence = offer.evidence_request(
                    "fuzz",
                    Body::Signature {
                        certificate: vec![0x30, 0x00].into(),
                        signature: vec![0; 256],
                    },
                );
                assert!(evidence.url.starts_with(&prefix), "evidence URL off the link's server");
                let _ = (offer.to_be_signed(), offer.app_is_outdated());
            }
            Err(e) => {
                let _ = e.to_string();
                if (200..300).contains(&status) {
                    assert_eq!(e.status, 0, "a 2xx answer refused locally");
                } else {
                    assert_eq!(e.status, status);
                }
            }
        }
    } else {
        let offer = offer();
        match offer.submitted(status, body) {
            Ok(s) => {
                assert!((200..300).contains(&status));
                if let Some(url) = &s.return_url {
                    assert!(url.starts_with(&format!("{}/return#", offer.server)), "return URL");
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
