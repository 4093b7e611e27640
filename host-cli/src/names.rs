//! Names from untrusted input (file and ZIP entry names, header cells) made safe to print
//! on a terminal.

use std::borrow::Cow;

/// A name (file, ZIP entry, argument) made safe for a terminal: control characters (C0,
/// DEL, C1: ESC sequences, CR, LF, BEL) and the invisible direction and format characters
/// that reorder or hide text (U+202E and the other bidi controls, zero-width characters)
/// are written as Rust escapes (`\u{1b}`, `\n`, `\u{202e}`); a backslash is doubled only
/// when the name needs escaping, so ordinary names are shown as they are. JSON output
/// keeps names exact (JSON escapes them itself).
pub fn escape(name: &str) -> Cow<'_, str> {
    if !name.chars().any(unsafe_char) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if unsafe_char(c) || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Characters a terminal would act on or that change how the text around them reads.
pub fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}
