//! `freed_pages::release` hands the pages freed since jemalloc's last purge back to the system at
//! once, and leaves the allocator's decay time as it found it. Its own test binary: the resident
//! size it reads is the whole process's.
#![cfg(feature = "jemalloc")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use pipetop::freed_pages;
use tikv_jemalloc_ctl::{Access, AsName};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const MIB: usize = 1 << 20;

fn resident_mib() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's resident pages");
    pages * 4096 / MIB
}

#[test]
fn freed_pages_go_back_at_once_and_the_decay_time_stays() {
    let decay = b"arena.0.dirty_decay_ms\0".name();
    // A minute: jemalloc keeps everything this test frees, so only `release` can return it.
    decay.write(60_000isize).expect("set the decay time");

    // 64 blocks of 1 MiB: large allocations of arena 0 (not the thread cache's, and below the
    // 8 MiB that go to jemalloc's arena for huge ones), each page written. Every other one is
    // freed: jemalloc purges at once a freed run that joins up to 8 MiB or more, so the freed
    // blocks are kept apart by live ones, as a poll's freed answers sit between what lives on.
    let mut blocks: Vec<Option<Vec<u8>>> = (0..64).map(|i| Some(vec![i as u8 | 1; MIB])).collect();
    let full = resident_mib();
    for block in blocks.iter_mut().step_by(2) {
        *block = None;
    }
    let freed = resident_mib();
    assert!(
        freed + 8 > full,
        "jemalloc returned the pages on its own ({full} → {freed} MiB): nothing left to test"
    );

    let told = freed_pages::release();
    let after = resident_mib();
    assert!(told.is_some_and(|n| n >= 1), "arenas told: {told:?}");
    assert!(
        after + 24 <= freed,
        "resident {freed} MiB before release, {after} MiB after: the 32 MiB freed stayed"
    );
    let kept: isize = decay.read().expect("read the decay time");
    assert_eq!(kept, 60_000, "release changed the arena's decay time");
    drop(blocks);
}
