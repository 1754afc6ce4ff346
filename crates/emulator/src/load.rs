//! Checking a card state before the card runs, and parsing its keys once.
//!
//! A state file is produced by another tool and may be edited by hand. Checking it up front
//! means a broken file fails at load with a message naming the application and EF, instead of
//! producing odd status words in the middle of a test; parsing the PKCS#8 keys here means a
//! signature costs only the RSA operation.

use std::collections::BTreeSet;

use rsa::PrivateKey;
use rsa::pkcs8::DecodePrivateKey;

use crate::error::StateProblem;
use crate::state::{Access, Application, CardState, FORMAT};

/// The highest retry counter a `63Cx` status word can report.
const MAX_TRIES_LIMIT: u8 = 0x0F;

/// The private keys of one application, in the order of [`Application::keys`].
pub(crate) type AppKeys = Vec<PrivateKey>;

/// Checks `state` and parses its keys: one [`AppKeys`] per application, in order.
pub(crate) fn load(state: &CardState) -> Result<Vec<AppKeys>, StateProblem> {
    if state.format != FORMAT {
        return Err(StateProblem::WrongFormat {
            found: state.format.clone(),
        });
    }
    check_aids(&state.applications)?;
    state.applications.iter().map(load_app).collect()
}

fn check_aids(apps: &[Application]) -> Result<(), StateProblem> {
    for (i, app) in apps.iter().enumerate() {
        if !(5..=16).contains(&app.aid.len()) {
            return Err(StateProblem::BadAid {
                app: app.name.clone(),
                len: app.aid.len(),
            });
        }
        if let Some(other) = apps[..i].iter().find(|o| o.aid == app.aid) {
            return Err(StateProblem::DuplicateAid {
                first: other.name.clone(),
                second: app.name.clone(),
            });
        }
    }
    Ok(())
}

fn load_app(app: &Application) -> Result<AppKeys, StateProblem> {
    let name = || app.name.clone();
    let fids = app
        .files
        .iter()
        .map(|f| f.fid)
        .chain(app.keys.iter().map(|k| k.fid))
        .chain(app.pins.iter().map(|p| p.fid));
    let mut seen = BTreeSet::new();
    for fid in fids {
        if !(0x0001..=0x001E).contains(&fid) {
            return Err(StateProblem::FidOutOfRange { app: name(), fid });
        }
        if !seen.insert(fid) {
            return Err(StateProblem::DuplicateFid { app: name(), fid });
        }
    }
    for pin in &app.pins {
        let what = if pin.reference.len() != 32 {
            Some("reference must be the 32-byte SHA-256(salt ‖ PIN)")
        } else if pin.max_tries == 0 || pin.max_tries > MAX_TRIES_LIMIT {
            Some("max_tries must be 1 to 15 (a 63Cx status word reports at most 15)")
        } else if pin.remaining > pin.max_tries {
            Some("remaining is larger than max_tries")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(StateProblem::BadPin {
                app: name(),
                fid: pin.fid,
                what,
            });
        }
    }
    let rules = app
        .files
        .iter()
        .map(|f| (f.fid, &f.read))
        .chain(app.keys.iter().map(|k| (k.fid, &k.usage)));
    for (fid, rule) in rules {
        if let Access::AnyPin(pins) = rule
            && let Some(&pin) = pins.iter().find(|p| !app.pins.iter().any(|q| q.fid == **p))
        {
            return Err(StateProblem::UnknownPin { app: name(), fid, pin });
        }
    }
    if let Some(fid) = app.default_key
        && !app.keys.iter().any(|k| k.fid == fid)
    {
        return Err(StateProblem::UnknownDefaultKey { app: name(), fid });
    }
    app.keys
        .iter()
        .map(|k| {
            PrivateKey::from_pkcs8_der(&k.pkcs8).map_err(|error| StateProblem::BadKey {
                app: name(),
                fid: k.fid,
                error,
            })
        })
        .collect()
}
