pub mod client;
pub mod collector;
pub mod snapshot;
