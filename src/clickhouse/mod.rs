pub mod capabilities;
pub mod client;
pub mod collector;
pub mod engine_settings;
pub mod host;
pub mod section_id;
pub mod sections;
pub mod snapshot;
