//! The times `--at` takes, against a recording's span: RFC 3339 (`2026-12-02T03:12:40Z`), a UTC
//! time of day (`03:12:40`: its first occurrence from the recording's start), or an offset from
//! the start (`+5m`) or from the end (`-30s`).

use std::time::{Duration, SystemTime};

pub fn parse_at(text: &str, start: SystemTime, end: SystemTime) -> Result<SystemTime, String> {
    let t = text.trim();
    if let Some(offset) = t.strip_prefix('+') {
        return Ok(start + duration(offset)?);
    }
    if let Some(offset) = t.strip_prefix('-') {
        return end
            .checked_sub(duration(offset)?)
            .ok_or_else(|| format!("`{text}` is before the epoch"));
    }
    if let Some(of_day) = time_of_day(t) {
        let since = start
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let midnight = since - since % 86_400;
        let mut at = SystemTime::UNIX_EPOCH + Duration::from_secs(midnight) + of_day;
        if at < start {
            at += Duration::from_secs(86_400);
        }
        return Ok(at);
    }
    humantime::parse_rfc3339_weak(t).map_err(|_| {
        format!(
            "`{text}` is not a time: use RFC 3339, a UTC time of day like 03:12:40, or +5m / -30s"
        )
    })
}

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("`{text}`: {e}"))
}

/// `HH:MM` or `HH:MM:SS` (UTC).
fn time_of_day(t: &str) -> Option<Duration> {
    let parts: Vec<&str> = t.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let num = |p: &str| p.parse::<u64>().ok();
    let (h, m) = (num(parts[0])?, num(parts[1])?);
    let s = match parts.get(2) {
        Some(p) => num(p)?,
        None => 0,
    };
    (h < 24 && m < 60 && s < 60).then(|| Duration::from_secs(h * 3600 + m * 60 + s))
}

/// The cursor as the header shows it: a UTC time of day.
pub fn clock(t: SystemTime) -> String {
    let s = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_times_of_day_and_rfc3339() {
        // 2026-12-02 03:10:00 UTC to 04:10:00.
        let start = SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_796_180_000 - 1_796_180_000 % 86_400 + 3 * 3600 + 600);
        let end = start + Duration::from_secs(3600);
        let secs = |t: SystemTime| t.duration_since(start).unwrap().as_secs();
        assert_eq!(secs(parse_at("+5m", start, end).unwrap()), 300);
        assert_eq!(secs(parse_at("-30s", start, end).unwrap()), 3570);
        assert_eq!(secs(parse_at("03:12:40", start, end).unwrap()), 160);
        assert_eq!(clock(parse_at("03:12:40", start, end).unwrap()), "03:12:40");
        // Before the start's time of day: the next day's.
        assert_eq!(secs(parse_at("03:00", start, end).unwrap()), 86_400 - 600);
        let rfc = parse_at("2026-12-02T03:12:40Z", start, end).unwrap();
        assert_eq!(clock(rfc), "03:12:40");
        assert!(
            parse_at("soon", start, end)
                .unwrap_err()
                .contains("not a time")
        );
    }
}
