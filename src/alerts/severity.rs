//! How bad a problem is: the one severity scale of alerts, table health and screen colours.
//! "No problem" is the absence of a severity (`Option<Severity>::None`), which sorts below both.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}
