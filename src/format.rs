//! Numbers as an engineer reads them at a glance.

use std::time::Duration;

use crate::time::short_duration;

/// 1234567 → "1,234,567": lag is read at a glance, digits counted by nobody.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 1234567 → "1.2M": for columns too narrow for every digit.
pub fn compact(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000_000, "T"),
        (1_000_000_000, "G"),
        (1_000_000, "M"),
        (1_000, "k"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            let v = n as f64 / size as f64;
            return if v < 10.0 {
                format!("{v:.1}{unit}")
            } else {
                format!("{v:.0}{unit}")
            };
        }
    }
    n.to_string()
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// "now" below a second: sub-second ages are poll jitter, not information.
pub fn age(age: Duration) -> String {
    if age < Duration::from_secs(1) {
        "now".to_string()
    } else {
        format!("{} ago", short_duration(age))
    }
}

/// "1 broker", "3 brokers".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn seconds(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".to_string();
    }
    // Figures come from polls a second or more apart: milliseconds would be noise.
    match s {
        0.0 => "0s".to_string(),
        s if s < 1.0 => "<1s".to_string(),
        s => short_duration(Duration::from_secs_f64(s)),
    }
}

/// A configured duration as people write it: "7d", "12h", "90m", "20s", "1500ms" (the largest
/// unit that divides it), not "7d0h".
pub fn whole_duration_ms(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    UNITS
        .iter()
        .find(|(size, _)| ms >= *size && ms % size == 0)
        .map_or_else(
            || format!("{ms}ms"),
            |(size, unit)| format!("{}{unit}", ms / size),
        )
}

pub fn rate(per_second: f64) -> String {
    if !per_second.is_finite() {
        return "-".to_string();
    }
    if per_second >= 1000.0 {
        format!("{}/s", compact(per_second.round() as u64))
    } else if per_second >= 10.0 {
        format!("{per_second:.0}/s")
    } else {
        format!("{per_second:.1}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_durations_read_as_written() {
        assert_eq!(whole_duration_ms(604_800_000), "7d");
        assert_eq!(whole_duration_ms(43_200_000), "12h");
        assert_eq!(whole_duration_ms(5_400_000), "90m");
        assert_eq!(whole_duration_ms(20_000), "20s");
        assert_eq!(whole_duration_ms(1_500), "1500ms");
        assert_eq!(whole_duration_ms(0), "0ms");
    }

    #[test]
    fn numbers_read_at_a_glance() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1234), "1.2k");
        assert_eq!(compact(45_600_000), "46M");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(rate(0.25), "0.2/s");
        assert_eq!(rate(512.4), "512/s");
        assert_eq!(rate(12_345.0), "12k/s");
        assert_eq!(seconds(f64::NAN), "-");
        assert_eq!(age(Duration::from_millis(300)), "now");
        assert_eq!(age(Duration::from_secs(75)), "1m15s ago");
    }
}
