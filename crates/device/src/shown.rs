//! Text from a server, made safe to show on a terminal or a phone screen.
//!
//! Whatever a server says is untrusted: a service name with an escape sequence could clear
//! the terminal and draw a fake prompt, retitle the window (OSC), or hide characters; a
//! bidirectional override could make `jp.example.evil` read as something else. Every text
//! that a server sends and the person is shown goes through [`shown`] first, inside this
//! crate, so no host can forget it.

/// Characters that end a line or move the cursor: one space in their place, so words do
/// not run together and nothing can start a line of its own (a fake "PIN:" prompt).
fn is_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\t' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Characters that are dropped: every control character (C0 with ESC and BEL, DEL, C1 —
/// `char::is_control` is exactly these), the bidirectional marks, embeddings, overrides and
/// isolates, and the invisible format characters that could hide a difference between two
/// names that look alike.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{206A}'..='\u{206F}'
                | '\u{FEFF}'
        )
}

/// The text with control and bidi/format characters removed and line breaks and tabs turned
/// into one space, ready to be shown as one line.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_break(c) {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else if !is_hidden(c) {
            out.push(c);
        }
    }
    // A break at the end leaves a space nobody sees.
    if text.chars().last().is_some_and(is_break) && out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Both languages of a text, [`shown`].
pub(crate) fn shown_text(text: &mynaid_protocol::Text) -> mynaid_protocol::Text {
    mynaid_protocol::Text::new(shown(&text.ja), shown(&text.en))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_clean(s: &str) -> bool {
        !s.chars().any(|c| is_hidden(c) || is_break(c))
    }

    #[test]
    fn ansi_escapes_are_removed() {
        assert_eq!(shown("\u{1b}[2J\u{1b}[1;1HPortal"), "[2J[1;1HPortal");
        assert_eq!(shown("\u{1b}]0;title\u{7}"), "]0;title");
        assert_eq!(shown("a\u{7f}b\u{9b}31mc\u{90}d"), "ab31mcd");
        assert!(is_clean(&shown(
            "\u{1b}[2J\u{1b}[1;1HPortal\u{1b}]8;;https://evil\u{1b}\\x"
        )));
    }

    #[test]
    fn bidi_and_format_controls_are_removed() {
        // U+202E would show "gnp.exe" reversed; the person must see the real order.
        assert_eq!(shown("Port\u{202E}lanoitan\u{202C}"), "Portlanoitan");
        assert_eq!(
            shown("\u{2066}a\u{2069}\u{200E}b\u{200F}\u{061C}c\u{FEFF}\u{200B}"),
            "abc"
        );
        // Letters, kana, kanji, emoji joiners are kept.
        assert_eq!(shown("ポータル 市役所 👩\u{200D}💻"), "ポータル 市役所 👩\u{200D}💻");
    }

    #[test]
    fn line_breaks_and_tabs_become_one_space() {
        assert_eq!(shown("a\nPIN: \r\n\tb"), "a PIN: b");
        assert_eq!(shown("\n\nname\n"), "name");
        assert_eq!(shown("x\u{2028}y\u{85}z"), "x y z");
        assert_eq!(shown(""), "");
    }
}
