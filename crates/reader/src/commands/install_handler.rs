//! `mynaid install-handler`: registers the reader app as the handler of `mynaid://` links
//! on a Linux desktop (a freedesktop `.desktop` file and `xdg-mime`), so the procedure page's
//! button opens it.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::Args;

use mynaid_reader::exit;

#[derive(Args)]
pub(crate) struct InstallHandlerArgs {
    /// Where the applications directory is (default: $XDG_DATA_HOME/applications or
    /// ~/.local/share/applications).
    #[arg(long, value_name = "DIR")]
    applications_dir: Option<PathBuf>,
}

/// The desktop entry text for the reader app at `exe`.
pub(crate) fn desktop_entry(exe: &str) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=mynaid reader\nName[ja]=mynaid 読み取りアプリ\n\
         Comment=Reads your My Number Card for an online procedure\nComment[ja]=オンライン手続きのためにマイナンバーカードを読み取ります\n\
         Exec=\"{exe}\" read --link %u\nTerminal=true\nNoDisplay=true\nMimeType=x-scheme-handler/mynaid;\n\
         Categories=Utility;\n"
    )
}

pub(crate) fn run(args: InstallHandlerArgs) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(p) => p.display().to_string(),
        Err(e) => {
            eprintln!("mynaid install-handler: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let dir = args.applications_dir.unwrap_or_else(|| {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("applications")
    });
    let file = dir.join("mynaid-reader.desktop");
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, desktop_entry(&exe))) {
        eprintln!("mynaid install-handler: writing {}: {e}", file.display());
        return ExitCode::from(exit::FAILURE);
    }
    println!("{}", file.display());
    // Make it the default handler; without xdg-utils the file alone is picked up by most
    // desktops after update-desktop-database.
    let registered = Command::new("xdg-mime")
        .args(["default", "mynaid-reader.desktop", "x-scheme-handler/mynaid"])
        .status()
        .is_ok_and(|s| s.success());
    let _ = Command::new("update-desktop-database").arg(&dir).status();
    if registered {
        println!("mynaid:// リンクはこのアプリで開きます。/ mynaid:// links now open this app.");
    } else {
        println!(
            "xdg-mime が見つかりません。デスクトップの設定で mynaid:// を {} に関連付けてください。/ xdg-mime not found: associate mynaid:// with {} in your desktop settings.",
            file.display(),
            file.display()
        );
    }
    ExitCode::from(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_declares_the_scheme_and_passes_the_link() {
        let e = desktop_entry("/opt/mynaid/bin/mynaid");
        assert!(e.contains("MimeType=x-scheme-handler/mynaid;"));
        assert!(e.contains("Exec=\"/opt/mynaid/bin/mynaid\" read --link %u"));
        assert!(e.starts_with("[Desktop Entry]\n"));
    }
}
