//! Reading and atomically writing card state files.
//!
//! A PIN counter that goes back up after a crash would let a test "pass" that burns tries on
//! a real card, so a counter change must be on disk before the card answers, and a crash in
//! the middle of a write must leave either the old file or the new one, never half of each:
//! write a temporary file in the same directory, fsync it, rename it over the old one, then
//! fsync the directory.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::EmulatorError;
use crate::state::CardState;

/// Reads and parses a state file (the structure is checked later, by the card).
pub(crate) fn read(path: &Path) -> Result<CardState, EmulatorError> {
    let bytes = fs::read(path).map_err(|error| EmulatorError::Read {
        path: path.to_owned(),
        error,
    })?;
    serde_json::from_slice(&bytes).map_err(|error| EmulatorError::Parse {
        path: path.to_owned(),
        error,
    })
}

/// Replaces `path` with `state`, atomically and durably.
pub(crate) fn write(path: &Path, state: &CardState) -> Result<(), EmulatorError> {
    let fail = |error| EmulatorError::Write {
        path: path.to_owned(),
        error,
    };
    let mut json = serde_json::to_vec_pretty(state).map_err(|e| fail(e.into()))?;
    json.push(b'\n');
    let tmp = temp_path(path);
    let written = write_synced(&tmp, &json).and_then(|()| fs::rename(&tmp, path));
    if let Err(error) = written {
        // Best effort: the temporary file is garbage now.
        let _ = fs::remove_file(&tmp);
        return Err(fail(error));
    }
    sync_dir(path);
    Ok(())
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A temporary name next to `path`, unique within this process.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Makes the rename itself durable. Directories cannot be opened for syncing on every
/// platform, so failures are ignored: the data itself is already synced.
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(label: &str) -> CardState {
        CardState {
            format: crate::state::FORMAT.to_owned(),
            label: label.to_owned(),
            atr: vec![0x3B, 0x00],
            applications: Vec::new(),
        }
    }

    #[test]
    fn write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.json");
        write(&path, &state("one")).unwrap();
        write(&path, &state("two")).unwrap();
        assert_eq!(read(&path).unwrap().label, "two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["card.json"]);
    }

    #[test]
    fn write_into_a_missing_directory_fails_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("card.json");
        let err = write(&path, &state("x")).unwrap_err();
        assert!(matches!(err, EmulatorError::Write { .. }), "{err:?}");
        assert!(err.to_string().contains("card.json"), "{err}");
    }
}
