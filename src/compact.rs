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

/// Optional floats: NaN is none. The model's rows never hold NaN (rates and ages are divisions
/// by positive spans), and `Some(NaN)` would print as `null` in the JSON just as none does.
macro_rules! nan_is_none {
    ($($(#[$doc:meta])* $name:ident($float:ty);)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name($float);

        impl $name {
            pub const NONE: $name = $name(<$float>::NAN);

            pub fn new(value: Option<$float>) -> $name {
                value.map_or($name::NONE, $name)
            }

            pub fn get(self) -> Option<$float> {
                (!self.0.is_nan()).then_some(self.0)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &$name) -> bool {
                self.get() == other.get()
            }
        }
    )*};
}

nan_is_none! {
    /// An optional measurement (seconds, a rate).
    OptF64(f64);
    /// An optional measurement kept to 32 bits, for a figure that is shown but never summed (a
    /// row's idle seconds).
    OptF32(f32);
}

/// An optional age in seconds (a row's time lag) in 32 bits: to the millisecond up to 24.8 days,
/// to the second beyond that (up to 68 years). Never negative: a negative age reads back as 0. An
/// age of whole milliseconds (a produce time's distance from a poll time) reads back as the very
/// `f64` that `ms as f64 / 1000.0` gives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OptAge(u32);

impl OptAge {
    pub const NONE: OptAge = OptAge(u32::MAX);
    /// Set on ages kept in whole seconds.
    const IN_SECONDS: u32 = 1 << 31;
    /// The longest age kept, in seconds (one below what would read as none).
    const MAX_SECONDS: u32 = u32::MAX - OptAge::IN_SECONDS - 1;

    pub fn new(seconds: Option<f64>) -> OptAge {
        let Some(s) = seconds.filter(|s| !s.is_nan()) else {
            return OptAge::NONE;
        };
        let s = s.max(0.0);
        let ms = (s * 1000.0).round();
        if ms < f64::from(OptAge::IN_SECONDS) {
            // Within 0..2^31 by the test above: the cast is exact.
            OptAge(ms as u32)
        } else {
            // Within 0..=MAX_SECONDS after the `min` (an infinite age saturates).
            let whole = s.round().min(f64::from(OptAge::MAX_SECONDS)) as u32;
            OptAge(OptAge::IN_SECONDS | whole)
        }
    }

    pub fn get(self) -> Option<f64> {
        match self.0 {
            u32::MAX => None,
            v if v & OptAge::IN_SECONDS != 0 => Some(f64::from(v & !OptAge::IN_SECONDS)),
            ms => Some(f64::from(ms) / 1000.0),
        }
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

as_option!(OptI64, OptU64, OptF64, OptF32, OptAge);

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
        for v in [None, Some(0.0f32), Some(2.5), Some(-1e30)] {
            assert_eq!(OptF32::new(v).get(), v);
            assert_eq!(
                serde_json::to_string(&OptF32::new(v)).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
        }
        assert_eq!(OptF32::new(None), OptF32::new(Some(f32::NAN)));
        assert_eq!(std::mem::size_of::<OptF32>(), 4);
    }

    /// Ages of whole milliseconds read back as the same `f64`, others to the ms (to the second
    /// past 24.8 days), never negative; none stays none and prints as `null`.
    #[test]
    fn an_age_keeps_its_milliseconds() {
        for ms in [0i64, 1, 999, 1_234, 86_400_000, (1 << 31) - 1] {
            let s = ms as f64 / 1000.0;
            assert_eq!(OptAge::new(Some(s)).get(), Some(s), "{ms} ms");
            assert_eq!(
                serde_json::to_string(&OptAge::new(Some(s))).unwrap(),
                serde_json::to_string(&s).unwrap()
            );
        }
        assert_eq!(OptAge::new(Some(1.2344)).get(), Some(1.234));
        assert_eq!(OptAge::new(Some(1.2346)).get(), Some(1.235));
        let day = 86_400.0;
        assert_eq!(OptAge::new(Some(30.0 * day + 0.4)).get(), Some(30.0 * day));
        assert_eq!(
            OptAge::new(Some(30.0 * day + 0.6)).get(),
            Some(30.0 * day + 1.0)
        );
        let most = f64::from(u32::MAX - (1 << 31) - 1);
        assert_eq!(OptAge::new(Some(f64::INFINITY)).get(), Some(most));
        assert_eq!(OptAge::new(Some(1e300)).get(), Some(most));
        assert_eq!(OptAge::new(Some(-3.0)).get(), Some(0.0));
        assert_eq!(OptAge::new(None).get(), None);
        assert_eq!(OptAge::new(Some(f64::NAN)), OptAge::NONE);
        assert_eq!(serde_json::to_string(&OptAge::NONE).unwrap(), "null");
        assert_eq!(std::mem::size_of::<OptAge>(), 4);
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
