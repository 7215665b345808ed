//! `database.table` as ClickHouse writes it in SQL, back to the names themselves.
//!
//! `system.query_log.tables` (26.x) quotes a name that needs it: `` `db`.`t\nx` `` for a table
//! whose name holds a newline; an insert's target read from the query text (18.16) is whatever
//! the client wrote. `system.parts` and the other system tables give the bare names, so without
//! this one table would show as two: its parts under its name, its inserts under the quoted text.

/// The bare `database.table` of `text`: backquoted or double-quoted parts unquoted and their
/// backslash escapes read (`\n`, `\t`, `\xHH`, `` \` ``, `\\`, …). Bytes that are not UTF-8
/// become U+FFFD, as the same name does where the server sends it bare (`clickhouse::text`).
/// Text it cannot read (an unterminated quote, a bad `\x`) comes back as written.
pub fn unquote_qualified(text: &str) -> String {
    if !text.contains(['`', '"']) {
        return text.to_string();
    }
    unquote(text).unwrap_or_else(|| text.to_string())
}

fn unquote(text: &str) -> Option<String> {
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        if b != b'`' && b != b'"' {
            out.push(b);
            continue;
        }
        let quote = b;
        loop {
            match bytes.next()? {
                c if c == quote => break,
                b'\\' => match bytes.next()? {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'0' => out.push(0),
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'v' => out.push(0x0b),
                    b'e' => out.push(0x1b),
                    b'x' => {
                        let hex = [bytes.next()?, bytes.next()?];
                        let hex = std::str::from_utf8(&hex).ok()?;
                        out.push(u8::from_str_radix(hex, 16).ok()?);
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_are_unchanged() {
        assert_eq!(unquote_qualified("default.events"), "default.events");
        assert_eq!(unquote_qualified(""), "");
    }

    #[test]
    fn quoted_parts_are_read_back_to_the_names() {
        assert_eq!(unquote_qualified("`db`.`t\\nx`"), "db.t\nx");
        assert_eq!(unquote_qualified("default.`a b`"), "default.a b");
        assert_eq!(
            unquote_qualified("`d\\x1b[31m数`.`t\\x1b]0;x\\x07表`"),
            "d\u{1b}[31m数.t\u{1b}]0;x\u{7}表"
        );
        assert_eq!(unquote_qualified("`a\\`b`.`c\\\\d`"), "a`b.c\\d");
        assert_eq!(unquote_qualified("\"db\".\"t\""), "db.t");
        // 18.16: a target read from the query text, as written.
        assert_eq!(
            unquote_qualified("`db\\xe6\\x95\\xb0`.t"),
            "db数.t",
            "escaped UTF-8 bytes make one character"
        );
        assert_eq!(unquote_qualified("`bin\\xff`.t"), "bin\u{fffd}.t");
    }

    #[test]
    fn unreadable_text_is_kept_as_written() {
        assert_eq!(unquote_qualified("`db.t"), "`db.t");
        assert_eq!(unquote_qualified("`\\xZZ`"), "`\\xZZ`");
    }
}
