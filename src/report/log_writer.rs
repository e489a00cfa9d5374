//! Standard error for log lines, escaped like every other text output: a log field may hold
//! HR data or an app's answer, and its control characters must not act on the terminal or
//! forge lines in a journal. With colours on, the colour sequences the formatter itself
//! writes (`ESC [ digits ; m`) pass; every other control character is shown as an escape.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

use super::terminal::printable;

/// Makes one [`LogLine`] per event.
#[derive(Debug, Clone, Copy)]
pub struct LogWriter {
    /// Whether the formatter writes colour sequences (a terminal).
    pub ansi: bool,
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine {
            ansi: self.ansi,
            buf: Vec::new(),
        }
    }
}

/// One event's text, escaped and written to standard error when dropped, so the event
/// reaches stderr in one write.
pub struct LogLine {
    ansi: bool,
    buf: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let safe = escape_log(&text, self.ansi);
        // Bars on the terminal are cleared around the line so the two never tear. Nowhere
        // to report a failed write to stderr.
        crate::progress::suspend(|| {
            let _ = io::stderr().lock().write_all(safe.as_bytes());
        });
    }
}

/// The log text with control characters escaped line by line; with `ansi`, SGR colour
/// sequences are kept.
pub fn escape_log(text: &str, ansi: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['\x1b', '\n']) {
        out.push_str(&printable(&rest[..pos]));
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix('\n') {
            out.push('\n');
            rest = after;
            continue;
        }
        let sgr = if ansi { sgr_len(tail) } else { 0 };
        if sgr > 0 {
            out.push_str(&tail[..sgr]);
            rest = &tail[sgr..];
        } else {
            out.push_str("\\x1b");
            rest = &tail[1..];
        }
    }
    out.push_str(&printable(rest));
    out
}

/// The length of a colour sequence (`ESC [ [0-9;]* m`) at the start of `text`, or 0.
fn sgr_len(text: &str) -> usize {
    let Some(params) = text.strip_prefix("\x1b[") else {
        return 0;
    };
    let digits = params
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    if params.as_bytes().get(digits) == Some(&b'm') {
        2 + digits + 1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_controls_are_escaped_and_colours_kept_only_on_a_terminal() {
        let line = "\x1b[33mWARN\x1b[0m error=title \x1b[2J\x1b]0;pwned\x07\r\u{202e}x\n";
        assert_eq!(
            escape_log(line, true),
            "\x1b[33mWARN\x1b[0m error=title \\x1b[2J\\x1b]0;pwned\\x07\\x0d\\u{202e}x\n"
        );
        assert_eq!(
            escape_log(line, false),
            "\\x1b[33mWARN\\x1b[0m error=title \\x1b[2J\\x1b]0;pwned\\x07\\x0d\\u{202e}x\n"
        );
    }
}
