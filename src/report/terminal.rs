//! The one escaping of text output: HR data and app answers may hold control characters
//! (ESC sequences that recolour, retitle or clear a terminal, carriage returns that
//! overwrite a line, bidi overrides that reorder it). Every text report, table and error
//! message passes through [`printable`] before it is shown, so they are shown as escapes
//! (`\x1b`, `\u{202e}`) instead of acting on the terminal.

use std::borrow::Cow;
use std::fmt::Write;

/// The text with every control character escaped, except the newlines that separate its
/// lines: C0 controls (tab and carriage return included) as `\xNN`, DEL and C1 controls
/// as `\u{NN}`, and the invisible characters that reorder or split a line (bidi marks,
/// embeddings, overrides and isolates; line and paragraph separators) as `\u{NNNN}`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) < 0x20 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// True for a character that must not reach a terminal as it is.
fn needs_escape(c: char) -> bool {
    match c {
        '\n' => false,
        c if c.is_control() => true,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_lines_kept() {
        assert_eq!(printable("plain\ntext ünïcode"), "plain\ntext ünïcode");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(
            printable("a\u{1b}[31mred\u{7}\r\tb"),
            "a\\x1b[31mred\\x07\\x0d\\x09b"
        );
        assert_eq!(printable("\u{9b}2J\u{7f}"), "\\u{9b}2J\\u{7f}");
        assert_eq!(
            printable("x\u{202e}gpj.exe\u{2066}\u{200f}"),
            "x\\u{202e}gpj.exe\\u{2066}\\u{200f}"
        );
    }

    proptest::proptest! {
        /// Whatever the input, the output holds no control character but newlines, and
        /// nothing is lost: unescaped text is kept as it is.
        #[test]
        fn output_never_holds_a_control(s in "\\PC*|[\\x00-\\x{9f}\\x{2028}-\\x{206f}]*") {
            let out = printable(&s);
            proptest::prop_assert!(!out.chars().any(needs_escape));
            if !s.chars().any(needs_escape) {
                proptest::prop_assert_eq!(out.as_ref(), s.as_str());
            }
        }
    }
}
