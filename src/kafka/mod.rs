pub mod admin;
pub mod collector;
pub mod metadata;
pub mod snapshot;
