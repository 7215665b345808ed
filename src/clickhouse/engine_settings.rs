//! The `SETTINGS` clause of a table's engine definition (`system.tables.engine_full`), read with a
//! small tokenizer rather than a regex: names and values can sit inside quoted strings, TTL or
//! codec expressions, and a table comment can contain the word SETTINGS.

use std::collections::BTreeMap;

/// `name → value` of the engine's own SETTINGS; quoted values lose their quotes.
pub fn engine_settings(engine_full: &str) -> BTreeMap<String, String> {
    let tokens = tokenize(engine_full);
    // The last top-level SETTINGS keyword: the engine's own clause comes after ORDER BY, TTL, etc.
    let Some(start) = tokens
        .iter()
        .rposition(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("SETTINGS")))
    else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    let mut rest = tokens[start + 1..].iter().peekable();
    while let Some(Token::Word(name)) = rest.next() {
        if !matches!(rest.next(), Some(Token::Eq)) {
            break;
        }
        match rest.next() {
            Some(Token::Word(v) | Token::Str(v)) => {
                out.insert(name.clone(), v.clone());
            }
            _ => break,
        }
        if !matches!(rest.next(), Some(Token::Comma)) {
            break;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word or number at paren depth 0.
    Word(String),
    /// A single-quoted string at depth 0, unescaped.
    Str(String),
    Eq,
    Comma,
    /// Anything else at depth 0, or a whole parenthesised group: never part of a setting.
    Other,
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '`' | '"' => {
                let (value, next) = quoted(&chars, i);
                if depth == 0 {
                    // A quoted identifier is never the SETTINGS keyword nor a setting name.
                    tokens.push(if c == '\'' {
                        Token::Str(value)
                    } else {
                        Token::Other
                    });
                }
                i = next;
                continue;
            }
            '(' | '[' => {
                depth += 1;
                if depth == 1 {
                    tokens.push(Token::Other);
                }
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            '=' => tokens.push(Token::Eq),
            ',' => tokens.push(Token::Comma),
            c if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '-'))
                {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
                continue;
            }
            c if c.is_whitespace() => {}
            _ => tokens.push(Token::Other),
        }
        i += 1;
    }
    tokens
}

/// The string starting at `chars[start]` (a quote) up to its closing quote, with backslash escapes
/// and doubled quotes resolved; returns the index after it.
fn quoted(chars: &[char], start: usize) -> (String, usize) {
    let quote = chars[start];
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            out.push(chars[i + 1]);
            i += 2;
        } else if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                out.push(quote);
                i += 2;
            } else {
                return (out, i + 1);
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    (out, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(engine: &str, name: &str) -> Option<String> {
        engine_settings(engine).get(name).cloned()
    }

    #[test]
    fn plain_settings_are_read() {
        let e = "MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY (timestamp, event_id) SETTINGS parts_to_delay_insert = 50, parts_to_throw_insert = 80, index_granularity = 8192";
        assert_eq!(get(e, "parts_to_delay_insert").as_deref(), Some("50"));
        assert_eq!(get(e, "parts_to_throw_insert").as_deref(), Some("80"));
        assert_eq!(get(e, "index_granularity").as_deref(), Some("8192"));
    }

    #[test]
    fn no_settings_clause_is_empty() {
        assert!(engine_settings("MergeTree ORDER BY x").is_empty());
        assert!(engine_settings("").is_empty());
    }

    #[test]
    fn quoted_values_may_hold_commas_and_the_keyword() {
        let e = "MergeTree ORDER BY x SETTINGS storage_policy = 'a, SETTINGS parts_to_delay_insert = 1', parts_to_throw_insert = 7";
        assert_eq!(
            get(e, "storage_policy").as_deref(),
            Some("a, SETTINGS parts_to_delay_insert = 1")
        );
        assert_eq!(get(e, "parts_to_delay_insert"), None);
        assert_eq!(get(e, "parts_to_throw_insert").as_deref(), Some("7"));
    }

    #[test]
    fn settings_inside_expressions_or_identifiers_are_ignored() {
        let e = "MergeTree ORDER BY `SETTINGS`";
        assert!(engine_settings(e).is_empty());
        let e = "MergeTree ORDER BY (`SETTINGS`, x) TTL ts + toIntervalDay(if(1, 2, 3)) SETTINGS parts_to_delay_insert = 20";
        assert_eq!(get(e, "parts_to_delay_insert").as_deref(), Some("20"));
        let e = "ReplicatedMergeTree('/ch/{shard}/t, SETTINGS parts_to_throw_insert = 9', '{replica}') ORDER BY x";
        assert!(engine_settings(e).is_empty());
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        let e =
            r"MergeTree ORDER BY x SETTINGS storage_policy = 'it\'s', parts_to_delay_insert = 3";
        assert_eq!(get(e, "storage_policy").as_deref(), Some("it's"));
        assert_eq!(get(e, "parts_to_delay_insert").as_deref(), Some("3"));
    }

    #[test]
    fn lowercase_keyword_and_trailing_clause_stop_cleanly() {
        let e = "MergeTree ORDER BY x settings parts_to_delay_insert=5 COMMENT 'x'";
        assert_eq!(get(e, "parts_to_delay_insert").as_deref(), Some("5"));
        assert_eq!(engine_settings(e).len(), 1);
    }
}
