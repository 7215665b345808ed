//! Projections from the history: when a figure reaches a level if it keeps moving as it has.
//!
//! A projection is made only when the recent points support it, never from a guess:
//! 1. at least [`MIN_POINTS`] known points, spanning at least [`MIN_SPAN_S`], from the last
//!    [`FIT_WINDOW_S`];
//! 2. a least-squares line through them heading towards the level (rising to a ceiling, falling
//!    to zero), by more than [`MIN_CHANGE`] of the level over the span;
//! 3. the moves agree with it: at least [`MIN_AGREEING`] of the steps between consecutive points
//!    that move at all move that way;
//! 4. the line fits: its R² is at least [`MIN_R2`] (noise around a flat line fits badly);
//! 5. the level is reached within [`HORIZON_S`]: further out, a line is not a forecast.
//!
//! Otherwise the answer is None, shown as "–".

/// Points further back than this do not say where things are heading now.
pub const FIT_WINDOW_S: f64 = 300.0;
pub const MIN_POINTS: usize = 6;
pub const MIN_SPAN_S: f64 = 20.0;
pub const MIN_AGREEING: f64 = 0.75;
pub const MIN_R2: f64 = 0.8;
/// The share of the distance to the level that the fitted line must cover over the span: a
/// line creeping a hair's breadth towards it is flat.
pub const MIN_CHANGE: f64 = 0.01;
pub const HORIZON_S: f64 = 24.0 * 3600.0;

/// [`time_to_reach`] on a recorded series against its source's time axis.
pub fn series_time_to_reach(
    times: &crate::model::series::Times,
    values: &crate::model::series::Values,
    level: f64,
) -> Option<f64> {
    let newest = times.last()?;
    let since = newest - (FIT_WINDOW_S * 1000.0) as i64;
    let points: Vec<(f64, f64)> = crate::model::series::timed(times, values, since)
        .into_iter()
        .map(|(t, v)| (t as f64 / 1000.0, f64::from(v)))
        .collect();
    time_to_reach(&points, level)
}

/// Seconds from the newest point until the fitted line reaches `level`, when the rule above
/// holds. `points` are (seconds, value), oldest first; NaN values are skipped.
pub fn time_to_reach(points: &[(f64, f64)], level: f64) -> Option<f64> {
    time_to_reach_within(points, level, FIT_WINDOW_S)
}

/// [`time_to_reach`] fitted over the last `window_s` instead of [`FIT_WINDOW_S`]: a slow figure
/// (a disk filling over a day moves well under 1 % of its free space in five minutes) needs a
/// longer look to pass rule 2.
pub fn time_to_reach_within(points: &[(f64, f64)], level: f64, window_s: f64) -> Option<f64> {
    let newest = points.iter().rev().find(|(_, v)| v.is_finite())?.0;
    let recent: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| v.is_finite() && t.is_finite() && *t >= newest - window_s)
        .collect();
    if recent.len() < MIN_POINTS {
        return None;
    }
    let span = newest - recent[0].0;
    if span < MIN_SPAN_S {
        return None;
    }
    let fit = Fit::of(&recent)?;
    let now_value = fit.at(newest);
    let distance = level - now_value;
    // Heading towards the level, and already moving by a visible share of the way.
    if distance == 0.0 || fit.slope.signum() != distance.signum() {
        return None;
    }
    if (fit.slope * span).abs() < MIN_CHANGE * distance.abs().max(1.0) {
        return None;
    }
    let steps: Vec<f64> = recent
        .windows(2)
        .map(|w| w[1].1 - w[0].1)
        .filter(|d| *d != 0.0)
        .collect();
    let agreeing = steps
        .iter()
        .filter(|d| d.signum() == fit.slope.signum())
        .count();
    if steps.is_empty() || (agreeing as f64) < MIN_AGREEING * steps.len() as f64 {
        return None;
    }
    if fit.r2 < MIN_R2 {
        return None;
    }
    let seconds = distance / fit.slope;
    (seconds.is_finite() && seconds <= HORIZON_S).then_some(seconds.max(0.0))
}

/// An ordinary least-squares line.
struct Fit {
    slope: f64,
    intercept: f64,
    r2: f64,
}

impl Fit {
    fn of(points: &[(f64, f64)]) -> Option<Fit> {
        let n = points.len() as f64;
        // Centred on the first point: Unix seconds squared lose precision in f64 sums.
        let t0 = points.first()?.0;
        let (sx, sy) = points
            .iter()
            .fold((0.0, 0.0), |(sx, sy), (t, v)| (sx + (t - t0), sy + v));
        let (mx, my) = (sx / n, sy / n);
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for (t, v) in points {
            let (dx, dy) = (t - t0 - mx, v - my);
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        if sxx == 0.0 || syy == 0.0 {
            // All at one instant, or a flat line: no direction to project.
            return None;
        }
        let slope = sxy / sxx;
        let r2 = (sxy * sxy) / (sxx * syy);
        Some(Fit {
            slope,
            intercept: my - slope * (mx + t0),
            r2,
        })
    }

    fn at(&self, t: f64) -> f64 {
        self.intercept + self.slope * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One point every 2 s from t = 1,000,000 s.
    fn series(values: impl IntoIterator<Item = f64>) -> Vec<(f64, f64)> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (1_000_000.0 + 2.0 * i as f64, v))
            .collect()
    }

    #[test]
    fn rising_towards_a_ceiling_reaches_it() {
        // 100 parts, +1 part a poll (0.5/s): 300 more parts to 400 take 600 s.
        let points = series((0..30).map(|i| 100.0 + f64::from(i)));
        let t = time_to_reach(&points, 429.0).unwrap();
        assert!((t - 600.0).abs() < 1.0, "{t}");
        // Below the newest value: the line heads away from it.
        assert_eq!(time_to_reach(&points, 100.0), None);
    }

    #[test]
    fn falling_towards_zero_drains() {
        // 10,000 messages, -100 a poll (50/s): the last point is 7,100, 142 s to go.
        let points = series((0..30).map(|i| 10_000.0 - 100.0 * f64::from(i)));
        let t = time_to_reach(&points, 0.0).unwrap();
        assert!((t - 142.0).abs() < 1.0, "{t}");
        assert_eq!(time_to_reach(&points, 20_000.0), None);
    }

    #[test]
    fn flat_is_no_projection() {
        let points = series((0..30).map(|_| 500.0));
        assert_eq!(time_to_reach(&points, 0.0), None);
        assert_eq!(time_to_reach(&points, 1_000.0), None);
        // A hair's creep is flat too.
        let points = series((0..30).map(|i| 500.0 + 0.001 * f64::from(i)));
        assert_eq!(time_to_reach(&points, 1_000.0), None);
    }

    #[test]
    fn noisy_is_no_projection() {
        // A saw around 500 with a slight upward drift: neither consistent nor a good fit.
        let points = series(
            (0..40).map(|i| 500.0 + f64::from(i) * 0.5 + if i % 2 == 0 { 40.0 } else { -40.0 }),
        );
        assert_eq!(time_to_reach(&points, 1_000.0), None);
        // Mostly up, but one step in three back down: not consistent enough.
        let points = series(
            (0..30).map(|i| f64::from(i / 3 * 10 + if i % 3 == 2 { -4 } else { i % 3 * 3 })),
        );
        assert_eq!(time_to_reach(&points, 1_000.0), None);
    }

    #[test]
    fn too_short_is_no_projection() {
        // Five points, or six over 10 s only.
        assert_eq!(time_to_reach(&series((0..5).map(f64::from)), 100.0), None);
        let close: Vec<(f64, f64)> = (0..6).map(|i| (f64::from(i), f64::from(i))).collect();
        assert_eq!(time_to_reach(&close, 100.0), None);
        assert_eq!(time_to_reach(&[], 100.0), None);
        // Unknown points do not count.
        let mut gaps = series((0..30).map(f64::from));
        for p in gaps.iter_mut().skip(3) {
            p.1 = f64::NAN;
        }
        assert_eq!(time_to_reach(&gaps, 100.0), None);
    }

    #[test]
    fn only_the_recent_window_counts_and_far_levels_are_not_forecast() {
        // Rising for an hour, flat for the last five minutes: no projection.
        let mut values: Vec<f64> = (0..1_800).map(f64::from).collect();
        values.extend(std::iter::repeat_n(1_800.0, 150));
        assert_eq!(time_to_reach(&series(values), 5_000.0), None);
        // One part an hour: the ceiling is days away.
        let points: Vec<(f64, f64)> = (0..30)
            .map(|i| (f64::from(i) * 10.0, 100.0 + f64::from(i) * 0.1))
            .collect();
        assert_eq!(time_to_reach(&points, 1_000_000.0), None);
    }
}
