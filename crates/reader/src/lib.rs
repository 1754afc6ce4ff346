//! The mynaid reader app's core: what the PC reader app (`mynaid read`, this crate's binary)
//! and the smartphone app's stand-in (`mynaid-server phone`) share. Messages for the person
//! ([`i18n`], Japanese first), the PIN prompt ([`input`]), the guarded reading sequence and
//! its failures ([`reading`]), the server conversation over HTTP ([`http`]), the list of
//! trusted servers ([`trust`]) and the exit codes ([`exit`]).
//!
//! Nothing of the server is linked here: no HTTP server, no database, no HTML, no test PKI.

pub mod http;
pub mod i18n;
pub mod input;
mod progress;
pub mod reading;
pub mod trust;

/// Exit codes, stable for scripts (documented in the README).
pub mod exit {
    /// Read and printed.
    pub const OK: u8 = 0;
    /// Anything else (I/O, configuration).
    pub const FAILURE: u8 = 1;
    /// Bad input (a PIN of the wrong form, a bad link or configuration file, a server not
    /// on the list of trusted servers: nothing was sent).
    pub const BAD_INPUT: u8 = 2;
    /// Wrong PIN (one try used).
    pub const WRONG_PIN: u8 = 3;
    /// PIN blocked (nothing sent).
    pub const BLOCKED: u8 = 4;
    /// The last try was not confirmed (nothing sent).
    pub const NOT_CONFIRMED: u8 = 5;
    /// The card was removed or the reader failed.
    pub const CARD_GONE: u8 = 6;
    /// Not a My Number Card, or no card / reader.
    pub const NO_CARD: u8 = 7;
    /// The server refused (expired, already used, evidence not accepted) or is unreachable.
    pub const SERVER: u8 = 8;
    /// The reader app is older than the server accepts.
    pub const OUTDATED: u8 = 9;

    /// Every code, for the README's table.
    pub const ALL: [u8; 10] = [
        OK,
        FAILURE,
        BAD_INPUT,
        WRONG_PIN,
        BLOCKED,
        NOT_CONFIRMED,
        CARD_GONE,
        NO_CARD,
        SERVER,
        OUTDATED,
    ];

    #[cfg(test)]
    mod tests {
        /// Scripts read the README: every code is in its table, once.
        #[test]
        fn the_readme_lists_every_exit_code() {
            let readme = include_str!("../../../README.md");
            let table = &readme[readme.find("## Exit codes of `mynaid read`").unwrap_or(0)..];
            for code in super::ALL {
                let row = format!("\n| {code} |");
                assert_eq!(table.matches(&row).count(), 1, "exit code {code} in the README's table");
            }
        }
    }
}

/// Logs go to stderr and carry no personal data (the libraries log APDU headers, status
/// words, session ids and outcomes only). `RUST_LOG=mynaid_card=debug` shows the APDU flow.
///
/// `json`: one JSON object a line (what log collectors read); else text, coloured only on a
/// terminal. Either way one event is one line: JSON escapes control characters, and the
/// text format escapes ESC (terminal escapes); values a client chose are logged with `?`
/// (Debug), which escapes CR and LF too.
pub fn init_logging(default: &str, json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = !json && std::io::stderr().is_terminal();
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = log_subscriber(filter, json, ansi, std::io::stderr).try_init();
}

/// The subscriber of [`init_logging`], writing to `writer` (tests capture its lines).
pub fn log_subscriber<W>(
    filter: tracing_subscriber::EnvFilter,
    json: bool,
    ansi: bool,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    if json {
        Box::new(builder.json().finish())
    } else {
        Box::new(builder.finish())
    }
}

/// The language of the person's environment when `--lang` is not given: the first of
/// `LC_ALL`, `LC_MESSAGES`, `LANG` that is set; English when it names English (`en_US.UTF-8`),
/// Japanese otherwise (Japanese first, also for `C`/`POSIX` or nothing set).
pub fn lang_from_env() -> i18n::Lang {
    lang_of_locale(
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .as_deref(),
    )
}

/// [`lang_from_env`] for a given locale value.
pub fn lang_of_locale(locale: Option<&str>) -> i18n::Lang {
    match locale {
        Some(l) if l.starts_with("en") => i18n::Lang::En,
        _ => i18n::Lang::Ja,
    }
}

/// `--lang ja|en`, for clap.
pub fn parse_lang(text: &str) -> Result<i18n::Lang, String> {
    text.parse().map_err(|_| "ja or en".to_string())
}

/// `--route pin|password`, for clap: the routes named by what the person types.
pub fn parse_route(text: &str) -> Result<mynaid_device::Route, String> {
    match text {
        "pin" => Ok(mynaid_device::Route::UserAuthentication),
        "password" => Ok(mynaid_device::Route::Signature),
        _ => Err("pin (the 4-digit PINs) or password (the 6-16 character signature password)".to_string()),
    }
}
