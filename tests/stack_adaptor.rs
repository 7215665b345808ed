//! The ClickHouse HTTP adaptor of tests/stack speaks the interface as real servers do: auth is
//! checked, and errors come back as HTTP 500 with the exception code header.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::process::Command;

/// (status, headers, body) of one request made with curl, as an ops engineer would.
fn curl(args: &[&str]) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "-", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body.to_string())
}

#[test]
fn ping_answers_ok() {
    common::needs!(ClickHouse, Curl);
    let (status, _, body) = curl(&["http://127.0.0.1:8123/ping"]);
    assert_eq!((status, body.as_str()), (200, "Ok.\n"));
}

#[test]
fn wrong_password_is_rejected() {
    common::needs!(ClickHouse, Curl);
    let (status, head, body) = curl(&[
        "-H",
        "X-ClickHouse-User: default",
        "-H",
        "X-ClickHouse-Key: wrong",
        "--data-binary",
        "SELECT 1",
        "http://127.0.0.1:8123/",
    ]);
    assert_ne!(status, 200, "{body}");
    assert!(head.contains("x-clickhouse-exception-code: 516"), "{head}");
    assert!(body.contains("Authentication failed"), "{body}");
    let (status, _, _) = curl(&[
        "-u",
        "default:wrong",
        "--data-binary",
        "SELECT 1",
        "http://127.0.0.1:8123/",
    ]);
    assert_ne!(status, 200);
}

#[test]
fn bad_query_is_500_with_exception_code() {
    common::needs!(ClickHouse, Curl);
    let (status, head, body) = curl(&["--data-binary", "SELEC 1", "http://127.0.0.1:8123/"]);
    assert_eq!(status, 500, "{body}");
    assert!(head.contains("x-clickhouse-exception-code: 62"), "{head}");
    assert!(body.starts_with("Code: 62. DB::Exception:"), "{body}");
}

#[test]
fn settings_and_parameters_are_the_engine_s() {
    common::needs!(ClickHouse, Curl);
    let (status, _, body) = curl(&[
        "--data-binary",
        "SELECT {x:UInt32} + 1",
        "http://127.0.0.1:8123/?param_x=41",
    ]);
    assert_eq!((status, body.trim()), (200, "42"));
    let (status, head, body) = curl(&[
        "--data-binary",
        "CREATE TABLE never_created (x UInt8) ENGINE = Memory",
        "http://127.0.0.1:8123/?readonly=1",
    ]);
    assert_eq!(status, 500, "{body}");
    assert!(head.contains("x-clickhouse-exception-code: 164"), "{head}");
}
