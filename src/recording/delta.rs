//! A delta between two CBOR encodings (what a snapshot serializes to), so that a batch holds only
//! what changed since the snapshot before it. It works on the bytes, with no decoded tree: two
//! items are the same when their bytes are (floats by their bits), and applying a delta copies
//! what did not change as byte ranges of the old encoding.
//!
//! The delta is generic: it knows nothing of snapshots. It is an edit script walked alongside the
//! old item, one op per item (pre-order):
//!
//! ```text
//! op      := SAME (root only: nothing changed) | SET item | ADD zigzag-varint
//!          | ARRAY new-length step* END | MAP new-length step* END
//! step    := KEEP n | SKIP n | INSERT item (a map entry: key item, value item) | op
//! ```
//!
//! In an array (or a map's entries, in order), `KEEP n` copies the next n old items, `SKIP n`
//! drops them, `INSERT` adds a new one, an op patches the next old item (a map entry keeps its
//! key), and `END` copies every old item left. `ADD` turns an integer into another by their
//! difference (offsets move by a little). Counts are LEB128 varints; items are CBOR.
//!
//! Correctness never depends on how `diff` aligns two arrays: any alignment it picks is applied
//! exactly, and `apply(old, diff(old, new))` is `new`, byte for byte (heads and integers are
//! written in CBOR's shortest form, as ciborium writes them). The alignment only decides the
//! size: items are paired by index, except that when an array gained or lost items, its common
//! head and tail are first matched by identity (a map's first value: a topic's name, a group's
//! id, a partition's number), so a group added in the middle costs that group.

const SAME: u8 = 0;
const SET: u8 = 1;
const ADD: u8 = 2;
const ARRAY: u8 = 3;
const MAP: u8 = 4;
const KEEP: u8 = 5;
const SKIP: u8 = 6;
const INSERT: u8 = 7;
const END: u8 = 8;

const UINT: u8 = 0;
const NINT: u8 = 1;
const ARR: u8 = 4;
const OBJ: u8 = 5;

/// The delta that turns the CBOR item `old` into `new`.
pub fn diff(old: &[u8], new: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let (o, n, changed) = node(old, 0, new, 0, &mut out)?;
    if (o, n) != (old.len(), new.len()) {
        return Err("trailing bytes after a CBOR item".into());
    }
    if !changed {
        out.push(SAME);
    }
    Ok(out)
}

/// The CBOR item `delta` was made for, from this same `old`.
pub fn apply(old: &[u8], delta: &[u8]) -> Result<Vec<u8>, String> {
    let mut r = delta;
    let op = byte(&mut r)?;
    if op == SAME {
        return if r.is_empty() {
            Ok(old.to_vec())
        } else {
            Err(MISFIT.into())
        };
    }
    let mut out = Vec::with_capacity(old.len() + old.len() / 8);
    let end = patch(op, old, 0, &mut r, &mut out)?;
    if end != old.len() || !r.is_empty() {
        return Err(MISFIT.into());
    }
    Ok(out)
}

// ---- CBOR items

/// An item's head: major type, argument (a length, a count, an integer), whether its length is
/// indefinite, and the head's size (a float's or simple value's payload included).
#[derive(Clone, Copy)]
struct Head {
    major: u8,
    arg: u64,
    indefinite: bool,
    len: usize,
}

#[inline]
fn head(buf: &[u8], at: usize) -> Result<Head, String> {
    let first = *buf.get(at).ok_or(SHORT)?;
    let (major, info) = (first >> 5, first & 0x1f);
    let size = match info {
        0..=23 => 0,
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 if (2..=5).contains(&major) || major == 7 => {
            return Ok(Head {
                major,
                arg: 0,
                indefinite: true,
                len: 1,
            });
        }
        _ => return Err(format!("CBOR head {first:#04x}")),
    };
    let bytes = buf.get(at + 1..at + 1 + size).ok_or(SHORT)?;
    let arg = if size == 0 {
        u64::from(info)
    } else {
        bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b))
    };
    Ok(Head {
        major,
        arg,
        indefinite: false,
        len: 1 + size,
    })
}

/// Where the item at `at` ends: its heads read in a loop, counting the items still to pass.
fn skip(buf: &[u8], at: usize) -> Result<usize, String> {
    let (mut p, mut left) = (at, 1u64);
    while left > 0 {
        let h = head(buf, p)?;
        left -= 1;
        if h.indefinite {
            p = indefinite_end(buf, p, h)?;
            continue;
        }
        p += h.len;
        match h.major {
            2 | 3 => p = text_end(buf, p, h)?,
            ARR => left = left.checked_add(h.arg).ok_or(SHORT)?,
            OBJ => {
                left = h
                    .arg
                    .checked_mul(2)
                    .and_then(|n| left.checked_add(n))
                    .ok_or(SHORT)?;
            }
            6 => left += 1,
            _ => {}
        }
    }
    Ok(p)
}

/// Where the item at `at`, whose head is `h`, ends.
#[inline]
fn end(buf: &[u8], at: usize, h: Head) -> Result<usize, String> {
    match (h.indefinite, h.major) {
        (false, 2 | 3) => text_end(buf, at + h.len, h),
        (false, UINT | NINT | 7) => Ok(at + h.len),
        _ => skip(buf, at),
    }
}

/// Where a byte or text string's content, from `p`, ends.
fn text_end(buf: &[u8], p: usize, h: Head) -> Result<usize, String> {
    usize::try_from(h.arg)
        .ok()
        .and_then(|n| p.checked_add(n))
        .filter(|&end| end <= buf.len())
        .ok_or_else(|| SHORT.to_string())
}

/// Where an indefinite-length item (chunks or items up to a break) ends.
fn indefinite_end(buf: &[u8], at: usize, h: Head) -> Result<usize, String> {
    if h.major == 7 {
        return Err("a CBOR break out of place".into());
    }
    let mut p = at + h.len;
    while *buf.get(p).ok_or(SHORT)? != 0xff {
        p = skip(buf, p)?;
    }
    Ok(p + 1)
}

/// Where the array element (`map` false) or map entry (true) at `at` ends.
fn skip_step(buf: &[u8], at: usize, map: bool) -> Result<usize, String> {
    let end = skip(buf, at)?;
    if map { skip(buf, end) } else { Ok(end) }
}

fn int(h: Head) -> Option<i128> {
    match (h.major, h.indefinite) {
        (UINT, false) => Some(i128::from(h.arg)),
        (NINT, false) => Some(-1 - i128::from(h.arg)),
        _ => None,
    }
}

/// A head in CBOR's shortest form.
fn write_head(major: u8, arg: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend([m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(arg.to_be_bytes());
        }
    }
}

// ---- diff

/// Writes the op turning the old item at `o` into the new one at `n` (nothing when they are the
/// same); returns where both end and whether they differ.
fn node(
    old: &[u8],
    o: usize,
    new: &[u8],
    n: usize,
    out: &mut Vec<u8>,
) -> Result<(usize, usize, bool), String> {
    let (ho, hn) = (head(old, o)?, head(new, n)?);
    let definite = !ho.indefinite && !hn.indefinite;
    match (ho.major, hn.major) {
        (ARR, ARR) | (OBJ, OBJ) if definite => {
            let at = out.len();
            let map = hn.major == OBJ;
            out.push(if map { MAP } else { ARRAY });
            varint(u128::from(hn.arg), out);
            let ends = script(
                old,
                (o + ho.len, ho.arg),
                new,
                (n + hn.len, hn.arg),
                map,
                out,
            )?;
            if !ends.2 {
                out.truncate(at);
            }
            Ok(ends)
        }
        (UINT | NINT, UINT | NINT) if definite => {
            let (oe, ne) = (o + ho.len, n + hn.len);
            if old[o..oe] == new[n..ne] {
                return Ok((oe, ne, false));
            }
            let (a, b) = (int(ho).ok_or(SHORT)?, int(hn).ok_or(SHORT)?);
            out.push(ADD);
            varint(zigzag(b - a), out);
            Ok((oe, ne, true))
        }
        _ => {
            let (oe, ne) = (end(old, o, ho)?, end(new, n, hn)?);
            if old[o..oe] == new[n..ne] {
                return Ok((oe, ne, false));
            }
            out.push(SET);
            out.extend_from_slice(&new[n..ne]);
            Ok((oe, ne, true))
        }
    }
}

/// How many bytes `a` and `b` share from their start.
fn common(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 64 <= n && a[i..i + 64] == b[i..i + 64] {
        i += 64;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// What an item is matched by when its array gained or lost items: a map's first value, anything
/// else itself; a map entry by its key.
fn ident(buf: &[u8], at: usize, map: bool) -> Result<&[u8], String> {
    if map {
        return Ok(&buf[at..skip(buf, at)?]);
    }
    let h = head(buf, at)?;
    if h.major == OBJ && !h.indefinite && h.arg > 0 {
        let value = skip(buf, at + h.len)?;
        return Ok(&buf[value..skip(buf, value)?]);
    }
    Ok(&buf[at..skip(buf, at)?])
}

/// The edit script from the old items (`count` of them from an offset) to the new ones, then END.
/// Returns where both end and whether anything changed.
fn script(
    old: &[u8],
    (o, o_count): (usize, u64),
    new: &[u8],
    (n, n_count): (usize, u64),
    map: bool,
    out: &mut Vec<u8>,
) -> Result<(usize, usize, bool), String> {
    let mut w = Script {
        out,
        keep: 0,
        changed: false,
    };
    if o_count == n_count {
        // Paired by index, as they come. Most are unchanged: an item that ends within the bytes
        // both encodings share from here is, at the cost of finding its end in one of them.
        let (mut o, mut n) = (o, n);
        let mut same_to = o + common(&old[o..], &new[n..]);
        for _ in 0..o_count {
            let end = skip_step(old, o, map)?;
            if end <= same_to {
                w.keep += 1;
                n += end - o;
                o = end;
                continue;
            }
            (o, n) = w.pair(old, o, new, n, map)?;
            same_to = o + common(&old[o..], &new[n..]);
        }
        w.out.push(END);
        return Ok((o, n, w.changed));
    }
    // Where each item starts (and the end, last).
    let starts = |buf: &[u8], mut p: usize, count: u64| -> Result<Vec<usize>, String> {
        let mut v = vec![p];
        for _ in 0..count {
            p = skip_step(buf, p, map)?;
            v.push(p);
        }
        Ok(v)
    };
    let (os, ns) = (starts(old, o, o_count)?, starts(new, n, n_count)?);
    let (ol, nl) = (os.len() - 1, ns.len() - 1);
    let same_id = |i: usize, j: usize| -> Result<bool, String> {
        Ok(ident(old, os[i], map)? == ident(new, ns[j], map)?)
    };
    let common = ol.min(nl);
    let mut head = 0;
    while head < common && same_id(head, head)? {
        head += 1;
    }
    let mut tail = 0;
    while tail < common - head && same_id(ol - 1 - tail, nl - 1 - tail)? {
        tail += 1;
    }
    let (om, nm) = (ol - head - tail, nl - head - tail);
    // The head and the middle's items paired by index, the middle's extra old ones dropped and
    // new ones added, then the tail.
    for i in 0..head + om.min(nm) {
        w.pair(old, os[i], new, ns[i], map)?;
    }
    if om > nm {
        w.op(SKIP);
        varint((om - nm) as u128, w.out);
    }
    for j in head + om.min(nm)..head + nm {
        w.op(INSERT);
        w.out.extend_from_slice(&new[ns[j]..ns[j + 1]]);
    }
    for k in 0..tail {
        w.pair(old, os[head + om + k], new, ns[head + nm + k], map)?;
    }
    w.out.push(END);
    Ok((os[ol], ns[nl], true))
}

/// Writes an edit script, folding unchanged items into KEEP runs.
struct Script<'a> {
    out: &'a mut Vec<u8>,
    keep: u128,
    changed: bool,
}

impl Script<'_> {
    /// Starts an op: the pending KEEP run first.
    fn op(&mut self, op: u8) {
        if self.keep > 0 {
            self.out.push(KEEP);
            varint(self.keep, self.out);
            self.keep = 0;
        }
        self.changed = true;
        self.out.push(op);
    }

    /// The old item (or entry) at `o` kept as the new one at `n`; returns where both end.
    fn pair(
        &mut self,
        old: &[u8],
        o: usize,
        new: &[u8],
        n: usize,
        map: bool,
    ) -> Result<(usize, usize), String> {
        let at = self.out.len();
        let (o, n, changed) = if map {
            let (ko, kn) = (skip(old, o)?, skip(new, n)?);
            if old[o..ko] != new[n..kn] {
                // Another key: the entry replaced.
                let (oe, ne) = (skip(old, ko)?, skip(new, kn)?);
                self.op(SKIP);
                varint(1, self.out);
                self.op(INSERT);
                self.out.extend_from_slice(&new[n..ne]);
                return Ok((oe, ne));
            }
            node(old, ko, new, kn, self.out)?
        } else {
            node(old, o, new, n, self.out)?
        };
        if !changed {
            self.keep += 1;
        } else {
            // The pending KEEP goes before the item's op, which is short (what changed).
            if self.keep > 0 {
                let end = self.out.len();
                self.out.push(KEEP);
                varint(self.keep, self.out);
                let added = self.out.len() - end;
                self.out[at..].rotate_right(added);
                self.keep = 0;
            }
            self.changed = true;
        }
        Ok((o, n))
    }
}

fn zigzag(d: i128) -> u128 {
    ((d << 1) ^ (d >> 127)) as u128
}

fn unzigzag(z: u128) -> i128 {
    ((z >> 1) as i128) ^ -((z & 1) as i128)
}

fn varint(mut n: u128, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

// ---- apply

const MISFIT: &str = "the delta does not fit the snapshot before it";
const SHORT: &str = "a CBOR item ends early";

fn byte(r: &mut &[u8]) -> Result<u8, String> {
    let (&b, rest) = r.split_first().ok_or("the delta ends early")?;
    *r = rest;
    Ok(b)
}

fn read_varint(r: &mut &[u8]) -> Result<u128, String> {
    let mut n = 0u128;
    for shift in (0..128).step_by(7) {
        let b = byte(r)?;
        n |= u128::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(n);
        }
    }
    Err("a count in the delta is too long".into())
}

fn read_count(r: &mut &[u8]) -> Result<u64, String> {
    u64::try_from(read_varint(r)?).map_err(|_| MISFIT.to_string())
}

/// Copies the CBOR item at the start of `r` (`items` of them) to `out`.
fn copy_items(r: &mut &[u8], items: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut end = 0;
    for _ in 0..items {
        end = skip(r, end)?;
    }
    out.extend_from_slice(&r[..end]);
    *r = &r[end..];
    Ok(())
}

/// Applies `op` to the old item at `o`, writing the new item; returns where the old one ends.
fn patch(op: u8, old: &[u8], o: usize, r: &mut &[u8], out: &mut Vec<u8>) -> Result<usize, String> {
    let h = head(old, o)?;
    match op {
        SET => {
            copy_items(r, 1, out)?;
            skip(old, o)
        }
        ADD => {
            let sum = int(h)
                .ok_or(MISFIT)?
                .checked_add(unzigzag(read_varint(r)?))
                .ok_or(MISFIT)?;
            let (major, arg) = if sum >= 0 {
                (UINT, sum)
            } else {
                (NINT, -1 - sum)
            };
            write_head(major, u64::try_from(arg).map_err(|_| MISFIT)?, out);
            Ok(o + h.len)
        }
        ARRAY | MAP => {
            let map = op == MAP;
            if h.major != (if map { OBJ } else { ARR }) || h.indefinite {
                return Err(MISFIT.into());
            }
            let count = read_count(r)?;
            write_head(h.major, count, out);
            let (end, written) = edit(old, o + h.len, h.arg, map, r, out)?;
            if written != count {
                return Err(MISFIT.into());
            }
            Ok(end)
        }
        _ => Err(format!("{MISFIT} (op {op})")),
    }
}

/// Applies an edit script (up to its END) to `count` old items from `p`; returns where they end
/// and how many new items were written.
fn edit(
    old: &[u8],
    mut p: usize,
    count: u64,
    map: bool,
    r: &mut &[u8],
    out: &mut Vec<u8>,
) -> Result<(usize, u64), String> {
    let (mut left, mut written) = (count, 0u64);
    // Passes `n` old items, copying them or not.
    let pass = |n: u64, left: &mut u64, p: &mut usize, out: &mut Vec<u8>, copy: bool| {
        if n > *left {
            return Err(MISFIT.to_string());
        }
        let start = *p;
        for _ in 0..n {
            *p = skip_step(old, *p, map)?;
        }
        if copy {
            out.extend_from_slice(&old[start..*p]);
        }
        *left -= n;
        Ok(())
    };
    loop {
        match byte(r)? {
            END => {
                let rest = left;
                pass(rest, &mut left, &mut p, out, true)?;
                return Ok((p, written + rest));
            }
            KEEP => {
                let n = read_count(r)?;
                pass(n, &mut left, &mut p, out, true)?;
                written += n;
            }
            SKIP => pass(read_count(r)?, &mut left, &mut p, out, false)?,
            INSERT => {
                copy_items(r, if map { 2 } else { 1 }, out)?;
                written += 1;
            }
            op => {
                if left == 0 {
                    return Err(MISFIT.into());
                }
                let at = if map {
                    let key = skip(old, p)?;
                    out.extend_from_slice(&old[p..key]);
                    key
                } else {
                    p
                };
                p = patch(op, old, at, r, out)?;
                left -= 1;
                written += 1;
            }
        }
    }
}

#[cfg(test)]
#[path = "delta_tests.rs"]
mod tests;
