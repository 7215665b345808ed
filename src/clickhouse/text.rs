//! Text columns as ClickHouse sends them: any bytes. A `String` column may hold invalid UTF-8 (a
//! table named with `\xff`, an exception quoting a binary Kafka message); decoded strictly, one
//! such value fails the whole answer, and with it the section for every table. Decoded here
//! lossily instead: each invalid sequence becomes U+FFFD (shown as `�`), the row stays.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Error, SeqAccess, Visitor};

/// A text value decoded lossily: for tuple elements, where a field attribute cannot reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        // As bytes: the clickhouse crate accepts a String column for them, and checks no UTF-8.
        deserializer.deserialize_byte_buf(TextVisitor).map(Text)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("text, in any encoding")
    }
    fn visit_str<E: Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<String, E> {
        Ok(String::from_utf8_lossy(v).into_owned())
    }
    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<String, E> {
        Ok(String::from_utf8(v)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
    // serde_json (tests) hands bytes over as a sequence of numbers.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut bytes = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        self.visit_byte_buf(bytes)
    }
}

/// `#[serde(deserialize_with = "lossy")]` for a `String` field.
pub fn lossy<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Text::deserialize(deserializer).map(|t| t.0)
}

/// The same for an `Option<String>` (a Nullable(String) column).
pub fn lossy_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<Text>::deserialize(deserializer).map(|t| t.map(|t| t.0))
}

/// The same for a `Vec<String>` (an Array(String) column).
pub fn lossy_vec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Vec::<Text>::deserialize(deserializer).map(|v| v.into_iter().map(|t| t.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_marked_and_the_rest_kept() {
        let bytes = |json: &str| serde_json::from_str::<Text>(json).map(|t| t.0).ok();
        assert_eq!(bytes("[104, 105, 255, 33]").as_deref(), Some("hi\u{fffd}!"));
        assert_eq!(bytes("[230, 149, 176]").as_deref(), Some("数"));
        assert_eq!(bytes("\"plain\"").as_deref(), Some("plain"));
    }
}
