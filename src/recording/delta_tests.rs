//! The delta's one promise: `apply(old, diff(old, new))` is `new`, byte for byte, whatever the two
//! values are (random trees, random edits: items added and removed anywhere, maps gaining keys,
//! types changing, integers crossing their encoded width, floats that compare equal but differ in
//! bits). And that what did not change costs next to nothing.

use ciborium::Value;
use ciborium::value::Integer;

use super::{apply, diff};

fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

fn leaf(rng: &mut fastrand::Rng) -> Value {
    match rng.u8(0..9) {
        0 => Value::Null,
        1 => Value::Bool(rng.bool()),
        2 => Value::Integer(Integer::from(rng.i64(-300..300))),
        3 => Value::Integer(Integer::from(rng.u64(..))),
        4 => Value::Integer(Integer::from(-(rng.i64(0..i64::MAX)) - 1)),
        5 => Value::Float([0.0, -0.0, f64::NAN, 1.5, f64::INFINITY][rng.usize(0..5)] * rng.f64()),
        6 => Value::Text(format!("t{}", rng.u16(0..40))),
        7 => Value::Bytes(vec![rng.u8(..); rng.usize(0..4)]),
        _ => Value::Float(f64::from_bits(rng.u64(..))),
    }
}

fn tree(rng: &mut fastrand::Rng, depth: u32) -> Value {
    if depth == 0 || rng.u8(0..4) == 0 {
        return leaf(rng);
    }
    let n = rng.usize(0..6);
    if rng.bool() {
        Value::Array((0..n).map(|_| tree(rng, depth - 1)).collect())
    } else {
        Value::Map(
            (0..n)
                .map(|i| (Value::Text(format!("k{i}")), tree(rng, depth - 1)))
                .collect(),
        )
    }
}

/// A few random edits, anywhere in the tree.
fn edit(rng: &mut fastrand::Rng, v: &mut Value, depth: u32) {
    match v {
        Value::Array(items) if !items.is_empty() || rng.bool() => match rng.u8(0..5) {
            0 => items.insert(rng.usize(0..=items.len()), tree(rng, depth)),
            1 if !items.is_empty() => {
                items.remove(rng.usize(0..items.len()));
            }
            _ => {
                for item in items.iter_mut() {
                    if rng.u8(0..3) == 0 {
                        edit(rng, item, depth.saturating_sub(1));
                    }
                }
            }
        },
        Value::Map(entries) => match rng.u8(0..5) {
            0 => entries.insert(
                rng.usize(0..=entries.len()),
                (Value::Text(format!("new{}", rng.u8(..))), tree(rng, depth)),
            ),
            1 if !entries.is_empty() => {
                entries.remove(rng.usize(0..entries.len()));
            }
            _ => {
                for (_, value) in entries.iter_mut() {
                    if rng.u8(0..3) == 0 {
                        edit(rng, value, depth.saturating_sub(1));
                    }
                }
            }
        },
        Value::Integer(i) if rng.bool() => {
            let moved = i128::from(*i) + i128::from(rng.i64(-70_000..70_000));
            if let Ok(moved) = Integer::try_from(moved) {
                *i = moved;
            }
        }
        other => *other = tree(rng, depth),
    }
}

#[test]
fn applying_a_diff_gives_the_new_value_byte_for_byte() {
    let mut rng = fastrand::Rng::with_seed(2026);
    for round in 0..3_000 {
        let mut old = tree(&mut rng, 5);
        // Successive values, as successive polls.
        for _ in 0..4 {
            let mut new = old.clone();
            for _ in 0..rng.usize(0..4) {
                edit(&mut rng, &mut new, 3);
            }
            let (a, b) = (cbor(&old), cbor(&new));
            let delta = diff(&a, &b).unwrap();
            assert_eq!(
                apply(&a, &delta).unwrap(),
                b,
                "round {round}: {old:?} -> {new:?}"
            );
            old = new;
        }
    }
}

#[test]
fn what_did_not_change_costs_next_to_nothing() {
    // 2,000 rows like a group's commits; 1 % of the offsets move.
    let rows = |moved: &dyn Fn(i64) -> i64| {
        Value::Array(
            (0..2_000)
                .map(|p| {
                    Value::Map(vec![
                        (Value::Text("topic".into()), Value::Text("events".into())),
                        (Value::Text("partition".into()), Value::Integer(p.into())),
                        (
                            Value::Text("offset".into()),
                            Value::Integer((1_000_000 + moved(p)).into()),
                        ),
                    ])
                })
                .collect(),
        )
    };
    let (a, b) = (
        cbor(&rows(&|_| 0)),
        cbor(&rows(&|p| if p % 100 == 7 { 40 } else { 0 })),
    );
    let delta = diff(&a, &b).unwrap();
    assert_eq!(apply(&a, &delta).unwrap(), b);
    assert!(
        delta.len() < 20 * 20,
        "{} bytes for 20 moved offsets",
        delta.len()
    );
    assert_eq!(diff(&a, &a).unwrap(), vec![super::SAME]);
    // A row added in the middle costs that row.
    let mut c = rows(&|_| 0);
    if let Value::Array(items) = &mut c {
        items.insert(
            1_000,
            Value::Map(vec![(Value::Text("topic".into()), Value::Null)]),
        );
    }
    let delta = diff(&a, &cbor(&c)).unwrap();
    assert!(delta.len() < 64, "{} bytes for one row added", delta.len());
}

#[test]
fn a_delta_that_does_not_fit_is_an_error_not_a_panic() {
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..2_000 {
        let (a, b, c) = (tree(&mut rng, 4), tree(&mut rng, 4), tree(&mut rng, 4));
        let delta = diff(&cbor(&a), &cbor(&b)).unwrap();
        // Applied to another value, or cut short, or with a byte flipped: an error or some
        // value, never a panic.
        let _ = apply(&cbor(&c), &delta);
        let _ = apply(&cbor(&a), &delta[..delta.len() / 2]);
        let mut flipped = delta.clone();
        let at = rng.usize(0..flipped.len());
        flipped[at] ^= 1 << rng.u8(0..8);
        let _ = apply(&cbor(&a), &flipped);
    }
}
