//! Data text as it may be shown: the one place that turns names and messages from the servers
//! into text for a terminal.
//!
//! Group ids, client ids and hosts, database and table names, exception and query texts are set
//! by anyone. Sent as they are, an ESC starts a terminal escape sequence (colours, cursor moves,
//! an OSC that retitles the window), a newline breaks a row, a bidi override reverses what
//! follows, and invisible characters make two different names look the same. So they are shown
//! escaped, in Rust's (and the filter regex's) notation:
//!
//! * `\\` for a backslash, so every other backslash starts an escape and the shown form is
//!   unambiguous: two different names never show the same;
//! * `\n`, `\r`, `\t` for those three, `\xNN` for the other C0 controls, DEL and the C1 controls
//!   (U+0000–U+001F, U+007F–U+009F; `NN` is the code point, not a byte);
//! * `\u{NNNN}` for characters that are invisible or reorder or break text: every format (Cf)
//!   character — bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), marks
//!   (U+200E, U+200F, U+061C), zero-width space and non-joiner (U+200B, U+200C), word joiner and
//!   invisible operators (U+2060–U+2064), the BOM (U+FEFF), the soft hyphen, tag characters
//!   (U+E0000–U+E007F, used to hide text) — the line and paragraph separators (U+2028, U+2029),
//!   and the invisible Hangul fillers (U+115F, U+1160, U+3164, U+FFA0).
//!
//! The zero-width joiner (U+200D) is kept between two emoji: it joins 👩 and 💻 into one glyph,
//! and escaping it would break every such emoji. Anywhere else it is invisible, so it is escaped.
//! Combining marks and variation selectors stay: they belong to the character before them.
//!
//! Invalid UTF-8 never gets here: the collectors decode bytes from the servers with
//! `String::from_utf8_lossy`, which marks each bad byte sequence with U+FFFD (shown as `�`).

use std::borrow::Cow;
use std::fmt::Write;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` as it may be shown: unchanged (and not copied) when nothing in it needs escaping.
pub fn shown(text: &str) -> Cow<'_, str> {
    let chars: Vec<(usize, char)> = match text.char_indices().position(|(i, c)| escaped(text, i, c))
    {
        None => return Cow::Borrowed(text),
        Some(_) => text.char_indices().collect(),
    };
    let mut out = String::with_capacity(text.len() + 16);
    for &(i, c) in &chars {
        if escaped(text, i, c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The shown form cut to at most `width` terminal columns, ending in `…` when cut, so a
/// 10,000-character name costs what a screen row costs and says that it goes on.
pub fn fit(text: &str, width: usize) -> Cow<'_, str> {
    let shown = shown(text);
    if shown.width() <= width {
        return shown;
    }
    let mut out = prefix(&shown, width.saturating_sub(1)).to_string();
    if width > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

/// The longest start of already shown text that takes at most `columns` terminal columns.
pub fn prefix(shown: &str, columns: usize) -> &str {
    let mut used = 0;
    let mut end = 0;
    for (i, c) in shown.char_indices() {
        used += c.width().unwrap_or(0);
        if used > columns {
            break;
        }
        end = i + c.len_utf8();
    }
    // A joiner with nothing after it to join would be shown escaped, wider than counted.
    shown[..end].trim_end_matches('\u{200d}')
}

/// The shown form padded with spaces to `columns` terminal columns (`{:<w$}` counts chars, not
/// columns: a CJK name would come out twice as wide as its padding thinks).
pub fn padded(text: &str, columns: usize) -> String {
    let shown = shown(text);
    let pad = columns.saturating_sub(shown.width());
    format!("{shown}{}", " ".repeat(pad))
}

/// The terminal columns text takes once shown.
pub fn width(text: &str) -> usize {
    columns(&shown(text))
}

/// The terminal columns already shown text takes (a screen read back, a cell being cut).
pub fn columns(shown: &str) -> usize {
    shown.width()
}

/// Whether the character at byte `i` of `text` is shown escaped.
fn escaped(text: &str, i: usize, c: char) -> bool {
    match c {
        '\\' => true,
        '\u{200d}' => !joins_emoji(text, i),
        c => c.is_control() || invisible(c),
    }
}

/// Format (Cf) characters, separators and fillers that are invisible or reorder text.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200c}'
            | '\u{200e}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// A ZWJ between two emoji (an emoji's variation selector or skin tone counts as the emoji).
fn joins_emoji(text: &str, i: usize) -> bool {
    let before = text[..i].chars().next_back();
    let after = text[i + '\u{200d}'.len_utf8()..].chars().next();
    before.is_some_and(|c| emoji(c) || c == '\u{fe0f}') && after.is_some_and(emoji)
}

/// Pictographs (an approximation of Extended_Pictographic that covers the emoji blocks).
fn emoji(c: char) -> bool {
    matches!(c, '\u{2300}'..='\u{23ff}' | '\u{2600}'..='\u{27bf}' | '\u{2b00}'..='\u{2bff}' | '\u{1f000}'..='\u{1faff}')
}

fn push_escape(out: &mut String, c: char) {
    let _ = match c {
        '\\' => out.write_str("\\\\"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        c if u32::from(c) < 0x100 => write!(out, "\\x{:02x}", u32::from(c)),
        c => write!(out, "\\u{{{:x}}}", u32::from(c)),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of `shown`: that it exists proves two names never show the same.
    fn unshown(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(code_point(&hex));
                }
                Some('u') => {
                    assert_eq!(chars.next(), Some('{'), "{text}");
                    let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    out.push(code_point(&hex));
                }
                other => panic!("a lone backslash before {other:?} in {text:?}"),
            }
        }
        out
    }

    fn code_point(hex: &str) -> char {
        u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or_else(|| panic!("bad escape {hex}"))
    }

    /// Nothing that reaches the terminal is a control, an invisible character or a lone ZWJ.
    fn safe(shown: &str) -> bool {
        shown.char_indices().all(|(i, c)| {
            !(c.is_control() || invisible(c)) && (c != '\u{200d}' || joins_emoji(shown, i))
        })
    }

    const HOSTILE: &[&str] = &[
        "\u{1b}[31mred\u{1b}[0m",
        "\u{1b}]0;title\u{7}",
        "line\nbreak\r\tand tab",
        "nul\0del\u{7f}c1\u{85}\u{9b}",
        "abc\u{202e}fed",
        "\u{2066}isolate\u{2069}",
        "zero\u{200b}width\u{200c}non\u{2060}joiner\u{feff}",
        "tag\u{e0041}\u{e007f}",
        "sep\u{2028}\u{2029}",
        "a\u{200d}b",
        "\u{200d}👩",
        "👩\u{200d}",
        "back\\slash \\x1b \\\\",
        "\\u{202e}",
        "消费者组-🦀",
        "👩\u{200d}💻 ❤\u{fe0f}\u{200d}🔥",
        "",
        "\\",
    ];

    #[test]
    fn ordinary_names_are_borrowed_unchanged() {
        for name in [
            "events_topic",
            "clickhouse-group.1",
            "消费者组",
            "café",
            "🦀 crab",
            "👩\u{200d}💻",
        ] {
            assert!(
                matches!(shown(name), Cow::Borrowed(n) if n == name),
                "{name}"
            );
        }
    }

    #[test]
    fn controls_are_shown_in_rust_notation() {
        assert_eq!(shown("a\u{1b}[2Jb\n"), "a\\x1b[2Jb\\n");
        assert_eq!(shown("\u{1b}]0;t\u{7}"), "\\x1b]0;t\\x07");
        assert_eq!(shown("a\tb\r"), "a\\tb\\r");
        assert_eq!(shown("\u{7f}\u{85}"), "\\x7f\\x85");
        assert_eq!(shown("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(shown("x\u{200b}y\u{feff}"), "x\\u{200b}y\\u{feff}");
        assert_eq!(shown("a\\b"), "a\\\\b");
    }

    #[test]
    fn a_zero_width_joiner_stays_only_between_emoji() {
        assert_eq!(shown("👩\u{200d}💻"), "👩\u{200d}💻");
        assert_eq!(shown("❤\u{fe0f}\u{200d}🔥"), "❤\u{fe0f}\u{200d}🔥");
        assert_eq!(shown("a\u{200d}b"), "a\\u{200d}b");
        assert_eq!(shown("👩\u{200d}"), "👩\\u{200d}");
    }

    #[test]
    fn the_shown_form_is_safe_and_means_exactly_one_name() {
        for name in HOSTILE {
            let s = shown(name);
            assert!(safe(&s), "{name:?} shows as {s:?}");
            assert_eq!(unshown(&s), *name, "{name:?} shows as {s:?}");
        }
    }

    #[test]
    fn random_text_is_safe_and_round_trips() {
        // Seeded: a failure names its input and happens again.
        let mut rng = fastrand::Rng::with_seed(15);
        let pool: Vec<char> = [
            '\\', 'x', 'u', '{', '}', '1', 'b', 'n', '\u{200d}', '\u{fe0f}',
        ]
        .into_iter()
        .chain([
            '\u{1b}',
            '\n',
            '\u{85}',
            '\u{202e}',
            '\u{200b}',
            '消',
            '👩',
            '💻',
            '\u{e0041}',
        ])
        .collect();
        for _ in 0..20_000 {
            let name: String = (0..rng.usize(0..12))
                .map(|_| {
                    if rng.bool() {
                        pool[rng.usize(..pool.len())]
                    } else {
                        rng.char(..)
                    }
                })
                .collect();
            let s = shown(&name);
            assert!(safe(&s), "{name:?} shows as {s:?}");
            assert_eq!(unshown(&s), name, "{name:?} shows as {s:?}");
        }
    }

    #[test]
    fn fit_cuts_by_display_width_with_an_ellipsis() {
        assert_eq!(fit("events", 6), "events");
        assert_eq!(fit("events_topic", 6), "event…");
        // CJK and emoji take two columns: never one more than asked for.
        assert_eq!(fit("消费者组", 5), "消费…");
        assert_eq!(fit("消费者组", 6), "消费…");
        assert_eq!(fit("🦀🦀🦀", 4), "🦀…");
        assert_eq!(fit("a\u{1b}b", 4), "a\\x…");
        let long = "g".repeat(10_000);
        assert_eq!(width(&fit(&long, 80)), 80);
        assert_eq!(fit(&long, 0), "");
        assert_eq!(padded("消费", 6), "消费  ");
        assert_eq!(padded("a\u{1b}", 6), "a\\x1b ");
        for w in 0..12 {
            assert!(width(&fit("消a费👩\u{200d}💻b\u{1b}", w)) <= w, "{w}");
        }
    }
}
