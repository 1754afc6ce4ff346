//! Which mynaid servers the person trusts: a list in a TOML file, plus `--server` on the
//! command line, judged by the device core's [`ServerPolicy`] before a handle is redeemed.
//!
//! ```toml
//! # ~/.config/mynaid/config.toml
//! servers = ["https://id.example.jp"]
//! ```
//!
//! Where the file is: `--config <path>`, else `$MYNAID_CONFIG`, else
//! `$XDG_CONFIG_HOME/mynaid/config.toml`, else `$HOME/.config/mynaid/config.toml`. A file the
//! person named must exist; the default one may be missing (no list yet: any server is
//! accepted, and the app warns before the PIN). A link to a server not on a non-empty list
//! is refused before anything is sent to that server.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use mynaid_device::{ServerPolicy, normalize_origin};
use serde::Deserialize;

/// `--config` and `--server`, shared by `mynaid read` and the phone stand-in.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TrustArgs {
    /// The file that lists the trusted mynaid servers (`servers = ["https://…"]`). Default:
    /// `$XDG_CONFIG_HOME/mynaid/config.toml` or `~/.config/mynaid/config.toml`.
    #[arg(long, value_name = "FILE", env = "MYNAID_CONFIG")]
    pub config: Option<PathBuf>,
    /// A trusted mynaid server (`https://id.example.jp`), in addition to the file's list;
    /// may be given more than once.
    #[arg(long = "server", value_name = "ORIGIN")]
    pub servers: Vec<String>,
}

/// The list in force and where it lives.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// The servers.
    pub policy: ServerPolicy,
    /// The file the list is read from (or would be: the default path), so that messages can
    /// say where to add a server. `None` when no home directory is known.
    pub file: Option<PathBuf>,
}

/// Why the list could not be read. Nothing is sent anywhere then.
#[derive(Debug)]
pub enum ConfigError {
    /// The file the person named does not exist.
    Missing(PathBuf),
    /// The file exists but could not be read.
    Unreadable(PathBuf, io::Error),
    /// Not TOML, or not the expected keys (the parser's words).
    Invalid(PathBuf, String),
    /// An entry that is not a server origin (`https://host[:port]`); from the file, or from
    /// `--server` when the path is `None`.
    BadServer(Option<PathBuf>, String),
}

/// The file's keys; unknown keys are refused, so a typo (`server = …`) does not silently
/// leave the list empty.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    servers: Vec<String>,
}

/// The default file: `$XDG_CONFIG_HOME/mynaid/config.toml` (when it is an absolute path, as
/// the XDG specification requires), else `$HOME/.config/mynaid/config.toml`.
pub fn default_file(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let absolute = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    absolute(xdg_config_home)
        .or_else(|| absolute(home).map(|h| h.join(".config")))
        .map(|dir| dir.join("mynaid").join("config.toml"))
}

fn read_file(path: &Path, must_exist: bool) -> Result<Vec<String>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !must_exist => return Ok(Vec::new()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ConfigError::Missing(path.to_path_buf())),
        Err(e) => return Err(ConfigError::Unreadable(path.to_path_buf(), e)),
    };
    let file: ConfigFile =
        toml::from_str(&text).map_err(|e| ConfigError::Invalid(path.to_path_buf(), e.message().to_string()))?;
    for entry in &file.servers {
        if normalize_origin(entry).is_none() {
            return Err(ConfigError::BadServer(Some(path.to_path_buf()), entry.clone()));
        }
    }
    Ok(file.servers)
}

impl TrustArgs {
    /// Reads the list: the named file (which must exist) or the default one (which may be
    /// missing), plus `--server`.
    pub fn load(&self) -> Result<Trust, ConfigError> {
        let (file, must_exist) = match &self.config {
            Some(path) => (Some(path.clone()), true),
            None => (
                default_file(std::env::var_os("XDG_CONFIG_HOME"), std::env::var_os("HOME")),
                false,
            ),
        };
        let mut allowed = match &file {
            Some(path) => read_file(path, must_exist)?,
            None => Vec::new(),
        };
        for server in &self.servers {
            if normalize_origin(server).is_none() {
                return Err(ConfigError::BadServer(None, server.clone()));
            }
            allowed.push(server.clone());
        }
        Ok(Trust {
            policy: ServerPolicy { allowed },
            file,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(config: Option<&Path>, servers: &[&str]) -> TrustArgs {
        TrustArgs {
            config: config.map(Path::to_path_buf),
            servers: servers.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn default_file_follows_xdg() {
        assert_eq!(
            default_file(Some("/x".into()), Some("/home/a".into())),
            Some(PathBuf::from("/x/mynaid/config.toml"))
        );
        assert_eq!(
            default_file(Some("relative".into()), Some("/home/a".into())),
            Some(PathBuf::from("/home/a/.config/mynaid/config.toml"))
        );
        assert_eq!(
            default_file(None, Some("/home/a".into())),
            Some(PathBuf::from("/home/a/.config/mynaid/config.toml"))
        );
        assert_eq!(default_file(Some("".into()), None), None);
    }

    #[test]
    fn a_named_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "servers = [\"https://id.example.jp\", \"http://127.0.0.1:8080\"]\n",
        )
        .unwrap();
        let t = args(Some(&path), &["https://other.example.jp"]).load().unwrap();
        assert_eq!(
            t.policy.allowed,
            [
                "https://id.example.jp",
                "http://127.0.0.1:8080",
                "https://other.example.jp"
            ]
        );
        assert_eq!(t.file.as_deref(), Some(path.as_path()));
        // An empty file is no list (first use).
        std::fs::write(&path, "").unwrap();
        assert!(args(Some(&path), &[]).load().unwrap().policy.is_first_use());
    }

    #[test]
    fn refusals() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        assert!(matches!(args(Some(&missing), &[]).load(), Err(ConfigError::Missing(p)) if p == missing));
        let path = dir.path().join("config.toml");
        for (text, what) in [
            ("servers = [", "not TOML"),
            ("server = [\"https://id.example.jp\"]", "a typo"),
            ("servers = \"https://id.example.jp\"", "not a list"),
        ] {
            std::fs::write(&path, text).unwrap();
            assert!(
                matches!(args(Some(&path), &[]).load(), Err(ConfigError::Invalid(..))),
                "{what}"
            );
        }
        std::fs::write(&path, "servers = [\"id.example.jp\"]").unwrap();
        assert!(matches!(
            args(Some(&path), &[]).load(),
            Err(ConfigError::BadServer(Some(_), s)) if s == "id.example.jp"
        ));
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            args(Some(&path), &["http://id.example.jp"]).load(),
            Err(ConfigError::BadServer(None, _))
        ));
    }
}
