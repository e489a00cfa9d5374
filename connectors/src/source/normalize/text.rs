//! Text rules shared by every source: trimming, Unicode NFC, control characters, the size
//! bound on one field, and e-mail syntax.

use unicode_normalization::UnicodeNormalization;

/// Largest accepted field, in bytes of UTF-8 after normalisation.
pub const MAX_FIELD_BYTES: usize = 4096;

/// Longest text about one record (a reason, a key set aside) that is printed or stored; a
/// damaged row can be megabytes long and must not be copied into every plan and cycle.
pub const MAX_MESSAGE_BYTES: usize = 512;

/// `s` itself when at most `max` bytes, else its first `max` bytes (on a character
/// boundary) followed by `…(cut, N bytes)`, N being the length of the whole text.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…(cut, {} bytes)", &s[..end], s.len())
}

/// The first bytes of a raw row, escaped (`"E12,Ana…"`), so an HR admin can find it
/// without the row itself being copied into reports and the state.
pub fn excerpt(raw: &[u8]) -> String {
    const EXCERPT_BYTES: usize = 60;
    let head = &raw[..raw.len().min(EXCERPT_BYTES)];
    let text = String::from_utf8_lossy(head);
    let more = if raw.len() > EXCERPT_BYTES {
        format!("…(cut, {} bytes)", raw.len())
    } else {
        String::new()
    };
    format!("{:?}{more}", text.as_ref())
}

/// Trims surrounding whitespace and applies Unicode NFC. Idempotent.
pub fn normalize_text(s: &str) -> String {
    let t = s.trim();
    // Most HR text is already composed (ASCII always is): the quick check spares the
    // decomposition and recomposition of every cell.
    if is_nfc(t) {
        return t.to_string();
    }
    let composed: String = s.trim().nfc().collect();
    // NFC never introduces whitespace at the ends, but trimming again keeps the
    // function idempotent whatever the input.
    match composed.trim() {
        t if t.len() == composed.len() => composed,
        t => t.to_string(),
    }
}

/// [`normalize_text`] of an owned text, reusing its buffer when it is already normal.
pub fn normalize_owned(s: String) -> String {
    let t = s.trim();
    if t.len() == s.len() && is_nfc(t) {
        return s;
    }
    normalize_text(&s)
}

/// Whether `t` is certainly in NFC (ASCII, or the quick check says so).
fn is_nfc(t: &str) -> bool {
    t.is_ascii()
        || unicode_normalization::is_nfc_quick(t.chars())
            == unicode_normalization::IsNormalized::Yes
}

/// Checks a normalised field value: no control characters except tab and line breaks
/// (multi-line addresses exist), no more than [`MAX_FIELD_BYTES`].
pub fn check_value(s: &str) -> Result<(), String> {
    if s.len() > MAX_FIELD_BYTES {
        return Err(format!(
            "value is {} bytes, over the {MAX_FIELD_BYTES}-byte limit",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!(
            "value contains the control character U+{:04X}",
            c as u32
        ));
    }
    Ok(())
}

/// Checks a normalised key: as [`check_value`], and no control character at all.
pub fn check_key(s: &str) -> Result<(), String> {
    check_value(s)?;
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "key contains the control character U+{:04X}",
            c as u32
        ));
    }
    Ok(())
}

/// True when `s` is a plausible addr-spec (`local@domain.tld`): what apps will accept as
/// a userName or e-mail. Quoted local parts and IP-literal domains are not accepted.
pub fn is_valid_email(s: &str) -> bool {
    if s.len() > 254 {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return false;
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || domain.len() > 253 {
        return false;
    }
    let labels_ok = labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    let tld_ok = labels
        .last()
        .is_some_and(|t| !t.chars().all(|c| c.is_ascii_digit()));
    labels_ok && tld_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_composes() {
        assert_eq!(normalize_text("  Jose\u{301} \t"), "Jos\u{e9}");
        assert_eq!(normalize_text("\u{2003}x\u{2000}"), "x");
        let once = normalize_text(" a\u{30a} ");
        assert_eq!(normalize_text(&once), once);
    }

    /// The full rule, without the quick check: trim, compose, trim.
    fn composed_the_long_way(s: &str) -> String {
        let composed: String = s.trim().nfc().collect();
        composed.trim().to_string()
    }

    proptest::proptest! {
        #[test]
        fn the_quick_check_changes_no_text(chars in proptest::collection::vec(
            proptest::sample::select(vec![
                'a', 'Z', '1', ' ', '\t', '\u{2003}', '\u{e9}', 'e', '\u{301}', '\u{30a}',
                '\u{327}', 'A', '\u{c5}', '\u{1100}', '\u{1161}', '\u{ac00}', '\u{212b}',
                '\u{2126}', '\u{f900}',
            ]),
            0..12,
        )) {
            let s: String = chars.into_iter().collect();
            let expected = composed_the_long_way(&s);
            proptest::prop_assert_eq!(normalize_text(&s), expected.clone());
            proptest::prop_assert_eq!(normalize_owned(s), expected);
        }
    }

    #[test]
    fn control_characters_and_size() {
        assert!(check_value("two\nlines\tok").is_ok());
        assert!(check_value("bell\u{7}")
            .expect_err("rejected")
            .contains("U+0007"));
        assert!(check_value("esc\u{1b}[31m").is_err());
        assert!(check_value("c1\u{85}").is_err());
        assert!(check_key("E1\n2").is_err());
        assert!(check_value(&"x".repeat(4096)).is_ok());
        assert!(check_value(&"x".repeat(4097))
            .expect_err("rejected")
            .contains("4097 bytes"));
    }

    #[test]
    fn cut_marks_what_it_removed() {
        assert_eq!(cut("short", 10), "short");
        let long = "é".repeat(10);
        let c = cut(&long, 5);
        assert_eq!(c, "éé…(cut, 20 bytes)");
        assert!(excerpt(&[b'x'; 1000]).ends_with("…(cut, 1000 bytes)"));
        assert_eq!(excerpt(b"E1,\x1b[31m"), "\"E1,\\u{1b}[31m\"");
    }

    #[test]
    fn email_syntax() {
        for ok in [
            "a@corp.example",
            "first.last+tag@sub.corp.example",
            "o'brien@corp.example",
            "jos\u{e9}@b\u{fc}cher.example",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "jo@",
            "@corp.example",
            "a@b",
            "a b@corp.example",
            "a@@corp.example",
            "a@corp..example",
            ".a@corp.example",
            "a.@corp.example",
            "a..b@corp.example",
            "a@-corp.example",
            "a@corp.123",
            "plainaddress",
            "a@corp.example\n",
        ] {
            assert!(!is_valid_email(bad), "{bad:?}");
        }
    }
}
