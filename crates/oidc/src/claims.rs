//! Scopes → claims. Only what the granted scopes ask for is released: `name`, `address`
//! (`{"formatted": …}`), `birthdate`, `gender`, each at the top level (as the Digital
//! Authentication App's UserInfo has them) and inside `verified_claims` (OpenID Connect for
//! Identity Assurance 1.0) with how they were verified. With `openid` alone, only `sub`.

use mynaid_evidence::Revocation;
use mynaid_protocol::Route;
use mynaid_sessions::VerifiedResult;
use serde_json::{Map, Value, json};

/// RFC 3339 UTC time of seconds since the epoch.
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The `trust_framework` of the user-authentication route's results: the holder proved the
/// 4-digit PIN to a card with a valid, unrevoked user-authentication certificate, and the
/// four items are issuer-signed card records not bound to that certificate — not an
/// identity verification of AML grade (the operator's configured framework, `jp_aml` by
/// default, is claimed for the signature route only).
pub(crate) const USER_AUTHENTICATION_FRAMEWORK: &str = "mynaid_jpki_user_authentication";

/// The UserInfo response for `result` under the granted `scopes`; `trust_framework` is the
/// operator's, for the signature route.
pub(crate) fn userinfo(result: &VerifiedResult, scopes: &[String], trust_framework: &str) -> Value {
    let c = &result.claims;
    let mut released = Map::new();
    for s in scopes {
        let value = match s.as_str() {
            "name" => json!(c.name),
            "address" => json!({ "formatted": c.address }),
            "birthdate" => json!(c.birthdate),
            "gender" => json!(c.gender),
            _ => continue,
        };
        released.insert(s.clone(), value);
    }
    let mut out = Map::new();
    out.insert("sub".into(), json!(result.card_link_id));
    if released.is_empty() {
        return Value::Object(out);
    }
    for (k, v) in &released {
        out.insert(k.clone(), v.clone());
    }
    let v = &c.verification;
    let time = rfc3339(i64::try_from(v.verified_at).unwrap_or(i64::MAX / 2));
    // No certificate serial number or issuer: a serial is the same at every application and
    // would undo the pairwise `sub`.
    let evidence = match v.route {
        Route::Signature => json!([{
            "type": "electronic_signature",
            "signature_type": "jp_jpki_signature_certificate",
            "created_at": time,
        }]),
        // Two pieces: the PIN-proven certificate, and the records the four items come from.
        Route::UserAuthentication => json!([
            {
                "type": "electronic_signature",
                "signature_type": "jp_jpki_user_authentication_certificate",
                "created_at": time,
            },
            {
                "type": "electronic_record",
                "check_details": [{ "check_method": "vcrypt" }],
                "time": time,
                "record": {
                    "type": "jp_my_number_card_input_support_ap",
                    "source": { "name": "J-LIS", "country_code": "JPN" },
                },
            },
        ]),
    };
    let revocation = match v.revocation {
        Revocation::CheckedCrl => "checked_crl",
        Revocation::NotChecked => "not_checked",
    };
    out.insert(
        "verified_claims".into(),
        json!({
            "verification": {
                "trust_framework": match v.route {
                    Route::Signature => trust_framework,
                    Route::UserAuthentication => USER_AUTHENTICATION_FRAMEWORK,
                },
                "time": time,
                "evidence": evidence,
                "mynaid_route": v.route.as_str(),
                "mynaid_revocation": revocation,
            },
            "claims": Value::Object(released),
        }),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_737_600), "2026-11-27T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }
}
