//! Optional numbers stored without an `Option` tag, for what there is one of per group-partition
//! (a million at scale: the snapshot's commits, the model's rows), where `Option<i64>` and
//! `Option<f64>` take 16 bytes instead of 8. Each type keeps one value the data never holds as "none" and reads back
//! as an `Option`; they print, compare and serialize exactly as the `Option` they stand for.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An optional offset (or other `i64`): `i64::MIN` is none. Kafka offsets are never negative
/// beyond its few special values (-1, -2), so no offset is lost.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptI64(i64);

impl OptI64 {
    pub const NONE: OptI64 = OptI64(i64::MIN);

    pub fn new(value: Option<i64>) -> OptI64 {
        match value {
            Some(v) if v != i64::MIN => OptI64(v),
            _ => OptI64::NONE,
        }
    }

    pub fn get(self) -> Option<i64> {
        (self.0 != i64::MIN).then_some(self.0)
    }
}

/// An optional count (a lag in messages): `u64::MAX` is none. A lag is the difference of two
/// `i64` offsets, so it never reaches it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptU64(u64);

impl OptU64 {
    pub const NONE: OptU64 = OptU64(u64::MAX);

    pub fn new(value: Option<u64>) -> OptU64 {
        match value {
            Some(v) if v != u64::MAX => OptU64(v),
            _ => OptU64::NONE,
        }
    }

    pub fn get(self) -> Option<u64> {
        (self.0 != u64::MAX).then_some(self.0)
    }
}

/// An optional measurement (seconds, a rate): NaN is none. The model's rows never hold NaN
/// (rates and ages are divisions by positive spans), and `Some(NaN)` would print as `null` in
/// the JSON just as none does.
#[derive(Clone, Copy)]
pub struct OptF64(f64);

impl OptF64 {
    pub const NONE: OptF64 = OptF64(f64::NAN);

    pub fn new(value: Option<f64>) -> OptF64 {
        value.map_or(OptF64::NONE, OptF64)
    }

    pub fn get(self) -> Option<f64> {
        (!self.0.is_nan()).then_some(self.0)
    }
}

impl PartialEq for OptF64 {
    fn eq(&self, other: &OptF64) -> bool {
        self.get() == other.get()
    }
}

/// An optional measurement kept to 32 bits, for a figure that is shown but never summed (a
/// row's idle seconds): NaN is none, as for `OptF64`.
#[derive(Clone, Copy)]
pub struct OptF32(f32);

impl OptF32 {
    pub const NONE: OptF32 = OptF32(f32::NAN);

    pub fn new(value: Option<f32>) -> OptF32 {
        value.map_or(OptF32::NONE, OptF32)
    }

    pub fn get(self) -> Option<f32> {
        (!self.0.is_nan()).then_some(self.0)
    }
}

impl PartialEq for OptF32 {
    fn eq(&self, other: &OptF32) -> bool {
        self.get() == other.get()
    }
}

macro_rules! as_option {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> $t {
                <$t>::NONE
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.get().fmt(f)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.get().serialize(serializer)
            }
        }
    )*};
}

as_option!(OptI64, OptU64, OptF64, OptF32);

impl<'de> Deserialize<'de> for OptI64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OptI64, D::Error> {
        Option::<i64>::deserialize(deserializer).map(OptI64::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reads_back_what_it_was_given_and_prints_as_the_option() {
        for v in [None, Some(0), Some(-1), Some(i64::MAX)] {
            assert_eq!(OptI64::new(v).get(), v);
            assert_eq!(format!("{:?}", OptI64::new(v)), format!("{v:?}"));
            assert_eq!(
                serde_json::to_string(&OptI64::new(v)).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
        }
        for v in [None, Some(0), Some(i64::MAX as u64)] {
            assert_eq!(OptU64::new(v).get(), v);
        }
        for v in [
            None,
            Some(0.0),
            Some(-0.5),
            Some(1e300),
            Some(f64::INFINITY),
        ] {
            assert_eq!(OptF64::new(v).get(), v);
            assert_eq!(
                serde_json::to_string(&OptF64::new(v)).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
        }
        assert_eq!(OptF64::new(None), OptF64::new(Some(f64::NAN)));
        assert_ne!(OptF64::new(None), OptF64::new(Some(0.0)));
        assert_eq!(std::mem::size_of::<OptF64>(), 8);
    }

    /// A commit's produce time reads back from what an `Option` wrote, and from nothing at all
    /// (recordings of an older pipetop), and keeps a commit at 40 bytes.
    #[test]
    fn a_commit_reads_as_before() {
        let read = |json: &str| serde_json::from_str::<crate::kafka::snapshot::Committed>(json);
        let c = read(r#"{"topic":"t","partition":1,"offset":5,"produced_ms":7}"#).unwrap();
        assert_eq!(c.produced_ms.get(), Some(7));
        let c = read(r#"{"topic":"t","partition":1,"offset":5,"produced_ms":null}"#).unwrap();
        assert_eq!(c.produced_ms.get(), None);
        let c = read(r#"{"topic":"t","partition":1,"offset":5}"#).unwrap();
        assert_eq!(c.produced_ms.get(), None);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"topic":"t","partition":1,"offset":5,"produced_ms":null}"#
        );
        assert_eq!(std::mem::size_of::<crate::kafka::snapshot::Committed>(), 40);
    }
}
