//! Hands the heap's freed pages back to the system at a moment pipetop chooses.
//!
//! jemalloc keeps pages freed within its `dirty_decay_ms` (1 s, `.cargo/config.toml`) for reuse
//! and returns them gradually, as allocation goes on. A poll has two high points: the collector's
//! answers, then the session deriving the next model beside the one on screen. The answers are
//! freed between the two, and their pages stayed resident under the derivation: at 20,000
//! partitions and 1,000 groups the derivation's RSS was about 105 MiB, and 97 with them returned
//! first (README, Performance). The session thread calls [`release`] once a poll, before it
//! derives.
//!
//! How: an arena's decay time (`arena.<i>.dirty_decay_ms`) set to 0 purges all of that arena's
//! unused dirty pages as it is set (jemalloc 5.3, `pac_decay_ms_set`), and its own time set back
//! starts the decay afresh. Setting the same time again would not do: jemalloc 5.3 then only
//! restarts the decay, which keeps the pages a full decay time longer. `tikv-jemalloc-ctl` does
//! this through a safe interface; no unsafe code here.

/// Purges every arena's unused dirty pages now, keeping each arena's decay time as it is. A
/// decay time of -1 (purging turned off, e.g. by `MALLOC_CONF`) is respected: jemalloc purges
/// nothing then. Returns how many arenas were told, `None` without jemalloc.
#[cfg(feature = "jemalloc")]
pub fn release() -> Option<u32> {
    use tikv_jemalloc_ctl::{Access, AsName, arenas};
    let narenas = arenas::narenas::read().ok()?;
    let mut decay = b"arena.0.dirty_decay_ms\0"
        .name()
        .mib::<[usize; 3]>()
        .ok()?;
    let mut told = 0;
    for arena in 0..narenas {
        decay[1] = arena as usize;
        // An arena not yet made (jemalloc creates its large-allocation arena on first use)
        // answers with an error: nothing to purge there.
        let Ok(ms) = Access::<isize>::read(&decay) else {
            continue;
        };
        // -1 turns purging off (respected), 0 purges at every free already.
        if ms <= 0 {
            continue;
        }
        // A decay time of 0 purges every unused dirty page as it is set; the arena's own time,
        // set back, starts its decay afresh from none.
        if decay.write(0isize).is_ok() && decay.write(ms).is_ok() {
            told += 1;
        }
    }
    Some(told)
}

/// Without jemalloc (`--no-default-features`, for heaptrack) there is nothing to tell.
#[cfg(not(feature = "jemalloc"))]
pub fn release() -> Option<u32> {
    None
}
