//! The fault tests' harness: the fault cluster, what the tests set up on it, and pipetop's
//! collector and session watching it.

pub mod cluster;
pub mod fixture;
pub mod scenario;
pub mod screen;
pub mod watcher;
