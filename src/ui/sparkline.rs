//! A series as a row of block characters, for a list cell or a one-line chart fallback: each
//! cell is an equal slice of time ending at the newest poll, drawn at the highest value the slice
//! holds (a spike between two cells is never lost), scaled from the window's lowest to its highest
//! so the shape shows even far from zero. A flat window is a row of `▄` (or `▁` when it is zero):
//! the figures beside it say how much; the sparkline says which way.

use crate::model::series::{Times, Values};

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The list columns' window: long enough to show a trend, short enough to show it at a glance.
pub const LIST_WINDOW_S: f64 = 900.0;

/// `width` cells covering the last `window_s` of the series; a blank where nothing is known.
pub fn blocks(times: &Times, values: &Values, window_s: f64, width: usize) -> String {
    let cells = maxima(times, values, window_s, width);
    let known = || cells.iter().flatten().copied();
    let top = known().fold(f32::MIN, f32::max);
    let bottom = known().fold(f32::MAX, f32::min);
    // Moves under 1% of the level are noise, not a trend.
    let flat = top - bottom <= 0.01 * top.abs();
    cells
        .iter()
        .map(|cell| match cell {
            None => ' ',
            Some(_) if flat && top == 0.0 => LEVELS[0],
            Some(_) if flat => LEVELS[3],
            Some(v) => {
                let share = (v - bottom) / (top - bottom);
                let level = (share * (LEVELS.len() - 1) as f32).round() as usize;
                LEVELS[level.min(LEVELS.len() - 1)]
            }
        })
        .collect()
}

/// The highest known value in each of `width` equal slices of the last `window_s` seconds.
fn maxima(times: &Times, values: &Values, window_s: f64, width: usize) -> Vec<Option<f32>> {
    let mut cells = vec![None; width];
    let Some(newest) = times.last() else {
        return cells;
    };
    if width == 0 {
        return cells;
    }
    let window_ms = (window_s * 1000.0).max(1.0);
    let since = newest - window_ms as i64;
    for (t, v) in crate::model::series::timed(times, values, since) {
        // The newest point lands in the last cell; the window's start in the first.
        let age = (newest - t) as f64;
        let from_end = ((age / window_ms) * width as f64).floor() as usize;
        let Some(i) = width.checked_sub(1 + from_end.min(width - 1)) else {
            continue;
        };
        cells[i] = Some(cells[i].map_or(v, |m: f32| m.max(v)));
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::series::{TimeRecorder, ValueRecorder};

    fn series(values: &[f32]) -> (Times, Values) {
        let mut times = TimeRecorder::new(1_000, 0);
        let mut recorded = ValueRecorder::new(1_000, 0);
        for (i, v) in values.iter().enumerate() {
            times.push(i as i64 * 1_000);
            recorded.push(*v);
        }
        (times.view(), recorded.view())
    }

    #[test]
    fn rising_values_rise_and_the_newest_is_on_the_right() {
        let (t, v) = series(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(blocks(&t, &v, 8.0, 8), "▁▂▃▄▅▆▇█");
    }

    #[test]
    fn unknown_and_missing_slices_are_blank_and_spikes_are_kept() {
        let (t, v) = series(&[f32::NAN, 0.0, 9.0, 0.0]);
        // Four seconds into eight cells: the older half has no points.
        assert_eq!(
            blocks(&t, &v, 8.0, 8).chars().filter(|c| *c == ' ').count(),
            5
        );
        // Two points a cell: the spike wins its cell.
        assert_eq!(blocks(&t, &v, 4.0, 2), "▁█");
        let (t, v) = series(&[0.0, 0.0]);
        assert_eq!(blocks(&t, &v, 2.0, 2), "▁▁");
        // Steady far from zero: a level row, not a full one.
        let (t, v) = series(&[1_200.0, 1_201.0, 1_200.0]);
        assert_eq!(blocks(&t, &v, 3.0, 3), "▄▄▄");
        // A rise far from zero still shows its shape.
        let (t, v) = series(&[280.0, 285.0, 290.0]);
        assert_eq!(blocks(&t, &v, 3.0, 3), "▁▅█");
        let (t, v) = series(&[]);
        assert_eq!(blocks(&t, &v, 2.0, 3), "   ");
    }
}
