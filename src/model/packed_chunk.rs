//! A sealed chunk of series points kept as a straight line and each point's distance from it,
//! in as few bits as the largest distance needs (a "linear frame of reference").
//!
//! An hour of charts is mostly figures that move a little every poll along a trend: a stopped
//! consumer's time lag grows by one poll interval per poll, a backlog drains, poll times step by
//! the refresh. Stored whole, each point takes 4 bytes (8 for a time) whatever it holds; along its
//! line a time lag's point takes the few bits of the poll timing's jitter. Points are read by
//! index in constant time, as whole chunks are.
//!
//! Points are taken as their bit patterns (`u64`): exact whatever the value (NaN, -0.0), since
//! decoding adds back exactly what encoding took away. A float's bit pattern grows with the value
//! while the sign and exponent stay, which is when the line fits; where it does not (a series
//! that jumps between signs or orders of magnitude) the distances need many bits and the chunk
//! keeps its plain slots instead.

use triomphe::ThinArc;

/// The line: point `i` is `first + i × step + min + distance[i]`.
#[derive(Debug, Clone, Copy)]
struct Line {
    first: u64,
    step: i64,
    /// The smallest distance from the line: the stored distances count from it.
    min: i64,
    /// Bits per stored distance.
    width: u32,
}

/// Points along a [`Line`], each distance in `width` bits. One allocation behind a thin pointer,
/// so a chunk list entry stays as small as one of plain chunks.
#[derive(Debug, Clone)]
pub struct PackedChunk {
    /// The distances: `len × width` bits, little end first.
    words: ThinArc<Line, u64>,
}

impl PackedChunk {
    /// `points` packed, or None when that would not take fewer heap bytes than `plain_bytes`
    /// (the plain chunk's allocation) or the distances would need 64 bits.
    pub fn pack(points: &[u64], plain_bytes: usize) -> Option<PackedChunk> {
        let (&first, &last) = (points.first()?, points.last()?);
        let n = i128::try_from(points.len()).ok()?;
        let step = (i128::from(last) - i128::from(first)) / (n - 1).max(1);
        let distance = |i: usize, p: u64| i128::from(p) - i128::from(first) - i as i128 * step;
        let (min, max) = points
            .iter()
            .enumerate()
            .map(|(i, &p)| distance(i, p))
            .fold((i128::MAX, i128::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
        let spread = u64::try_from(max - min).ok()?;
        let width = u64::BITS - spread.leading_zeros();
        if width >= u64::BITS {
            return None;
        }
        let data_words = (points.len() * width as usize).div_ceil(64);
        if heap_bytes(data_words) >= plain_bytes {
            return None;
        }
        let line = Line {
            first,
            step: i64::try_from(step).ok()?,
            min: i64::try_from(min).ok()?,
            width,
        };
        let mut words = vec![0u64; data_words];
        for (i, &p) in points.iter().enumerate() {
            // In 0..2^width: fits, and is below 2^63.
            let d = (distance(i, p) - min) as u64;
            write_bits(&mut words, i * width as usize, width, d);
        }
        Some(PackedChunk {
            words: ThinArc::from_header_and_slice(line, &words),
        })
    }

    /// The bit pattern of point `i` (below the packed length).
    pub fn get(&self, i: usize) -> u64 {
        let line = self.words.header.header;
        let d = read_bits(&self.words.slice, i * line.width as usize, line.width);
        let value = i128::from(line.first)
            + i as i128 * i128::from(line.step)
            + i128::from(line.min)
            + i128::from(d);
        // Encoding took exactly this from the point's own bits, so it is in u64's range.
        value as u64
    }

    /// Whether two packed chunks are one allocation.
    pub fn same_storage(&self, other: &PackedChunk) -> bool {
        self.words.ptr() == other.words.ptr()
    }

    /// Heap bytes of the allocation.
    pub fn heap_bytes(&self) -> usize {
        heap_bytes(self.words.slice.len())
    }
}

/// The allocation for `data_words` words: the count, the line and the slice's length, the words.
fn heap_bytes(data_words: usize) -> usize {
    2 * std::mem::size_of::<usize>() + std::mem::size_of::<Line>() + 8 * data_words
}

fn write_bits(data: &mut [u64], at: usize, width: u32, value: u64) {
    if width == 0 {
        return;
    }
    let (word, shift) = (at / 64, (at % 64) as u32);
    data[word] |= value << shift;
    if shift + width > 64 {
        data[word + 1] |= value >> (64 - shift);
    }
}

fn read_bits(data: &[u64], at: usize, width: u32) -> u64 {
    if width == 0 {
        return 0;
    }
    let (word, shift) = (at / 64, (at % 64) as u32);
    let mut value = data[word] >> shift;
    if shift + width > 64 {
        value |= data[word + 1] << (64 - shift);
    }
    value & (u64::MAX >> (64 - width))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: usize = 16 + 64 * 4;

    fn roundtrip(points: &[u64]) -> Option<PackedChunk> {
        let packed = PackedChunk::pack(points, usize::MAX)?;
        for (i, &p) in points.iter().enumerate() {
            assert_eq!(packed.get(i), p, "point {i}");
        }
        Some(packed)
    }

    fn f32_bits(values: impl Iterator<Item = f32>) -> Vec<u64> {
        values.map(|v| u64::from(v.to_bits())).collect()
    }

    #[test]
    fn a_growing_time_lag_packs_into_a_few_bits_a_point() {
        // A stopped consumer's time lag: one poll interval more each poll, with the poll's jitter.
        let points =
            f32_bits((0..64).map(|i| 3_600.0 + i as f32 * 2.0 + (i * 7 % 5) as f32 * 0.003));
        let packed = roundtrip(&points).expect("packs");
        assert!(packed.heap_bytes() <= 112, "{}", packed.heap_bytes());
        assert!(PackedChunk::pack(&points, PLAIN).is_some());
    }

    #[test]
    fn poll_times_pack_exactly() {
        let points: Vec<u64> = (0..64)
            .map(|i| (1_764_800_000_000i64 + i * 2_000 + (i * 13 % 17)) as u64)
            .collect();
        let packed = roundtrip(&points).expect("packs");
        assert!(
            packed.heap_bytes() < 16 + 64 * 8 / 4,
            "{}",
            packed.heap_bytes()
        );
    }

    #[test]
    fn any_points_come_back_exactly_or_stay_plain() {
        let cases: Vec<Vec<u64>> = vec![
            f32_bits((0..64).map(|i| if i % 3 == 0 { f32::NAN } else { i as f32 })),
            f32_bits((0..64).map(|i| if i % 2 == 0 { -1.0e30 } else { 1.0e-30 })),
            f32_bits((0..64).map(|i| -(i as f32) * 0.5)),
            f32_bits(std::iter::repeat_n(-0.0, 64)),
            (0..64)
                .map(|i| if i % 2 == 0 { u64::MAX } else { 0 })
                .collect(),
            (0..64).map(|i| (i64::MIN + i) as u64).collect(),
            (0..64).map(|i| u64::MAX - i * 3).collect(),
            (0..64u64)
                .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 8)
                .collect(),
            vec![7],
            (0..64).map(|i| u64::from(i % 4 == 0)).collect(),
        ];
        for points in &cases {
            roundtrip(points);
        }
        // Full-range noise would need 64 bits a point: not packed.
        assert!(PackedChunk::pack(&cases[4], usize::MAX).is_none());
    }

    #[test]
    fn a_chunk_that_would_not_shrink_stays_plain() {
        let noise: Vec<u64> = (0..64u64)
            .map(|i| u64::from((i.wrapping_mul(0x9E37_79B9) as u32).rotate_left(7)))
            .collect();
        assert!(PackedChunk::pack(&noise, PLAIN).is_none());
        assert!(PackedChunk::pack(&[], PLAIN).is_none());
    }
}
