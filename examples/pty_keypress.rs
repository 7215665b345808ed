//! Keypress → frame latency of the real `pipetop` binary in a pseudo-terminal, as a person at a
//! terminal sees it: from writing a key to the PTY until the terminal's output shows the frame
//! that key caused. Unlike `keypress_latency` (which drives the UI loop inside one process), this
//! covers everything: the tty, crossterm's input reader, the event loop, the draw and its write.
//!
//! ```sh
//! cargo build --release --bin pipetop --example pty_keypress
//! target/release/examples/pty_keypress                      # normal: the local stack
//! target/release/examples/pty_keypress --stall-pid PID      # SIGSTOP PID after the warm-up, SIGCONT at the end
//! target/release/examples/pty_keypress --kill-pid PID       # SIGKILL PID after the warm-up
//! target/release/examples/pty_keypress -- --clickhouse http://127.0.0.1:18124 --refresh 1s
//! ```
//!
//! Everything after `--` is passed to pipetop (default: `--refresh 1s`, the local stack). The key
//! is `?`, typed again and again: it opens the help overlay and closes it, so every key changes the
//! screen in a way nothing else does (data refreshes and ticking ages change other cells). A key's
//! frame has arrived when the screen, parsed from the PTY's output with `vt100`, shows the overlay
//! (or no longer does) and its hint bar, the bottom row and so the last one drawn, agrees. Each
//! key waits for the previous key's frame and a short pause, so keys never queue behind each other.
//!
//! The fault is made by the operator (e.g. `kill -STOP` a server in another shell) or by the flags
//! above, which signal a process of the operator's choosing once the warm-up is over: this tool
//! measures and never starts or breaks a server itself. It prints one line:
//! `pty keypress→frame: N keys, p50 … p95 … p99 … max … ms (fault: …)`.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

#[derive(Parser)]
#[command(about = "Keypress → frame latency of the real pipetop binary in a pseudo-terminal")]
struct Args {
    /// The pipetop binary (default: the one beside this example's directory, i.e. the same
    /// profile's `target/<profile>/pipetop`).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Keys to measure.
    #[arg(long, default_value_t = 200)]
    keys: usize,
    /// Pause after each key's frame before the next key.
    #[arg(long, default_value = "50ms", value_parser = humantime::parse_duration)]
    pause: Duration,
    /// How long pipetop runs before the first key (its first polls, and the fault, land first).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// SIGSTOP this process when the warm-up is over, SIGCONT it when the keys are done.
    #[arg(long)]
    stall_pid: Option<u32>,
    /// SIGKILL this process when the warm-up is over.
    #[arg(long)]
    kill_pid: Option<u32>,
    /// After the fault, wait this long before the first key (e.g. past a request timeout, so
    /// the keys land while the source is shown DOWN).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    settle: Duration,
    #[arg(long, default_value = "120")]
    cols: NonZeroU16,
    #[arg(long, default_value = "40")]
    rows: NonZeroU16,
    /// A key whose frame does not arrive within this long is a failure.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    frame_timeout: Duration,
    /// Arguments for pipetop (after `--`).
    #[arg(last = true)]
    pipetop_args: Vec<String>,
}

/// The help overlay's bottom border: on screen exactly while the overlay is open.
const OVERLAY: &str = " any key closes ";
/// The hint bar's text in help mode (the bottom row, the last one a frame draws).
const HINT: &str = "any key";

/// What the PTY's output shows, updated by the reader thread after every read.
struct Screen {
    /// Whether the help overlay is fully drawn (overlay and hint bar both), or fully gone.
    help: Option<bool>,
    /// When `help` last changed: the end of the read that completed the frame.
    changed_at: Instant,
    /// The reader hit the end of the output (pipetop exited).
    closed: bool,
    /// The whole screen, for error messages.
    text: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = match &args.binary {
        Some(path) => path.clone(),
        None => beside_examples("pipetop")?,
    };
    anyhow::ensure!(
        binary.exists(),
        "{} does not exist: cargo build --release --bin pipetop",
        binary.display()
    );
    let pipetop_args = if args.pipetop_args.is_empty() {
        vec!["--refresh".to_string(), "1s".to_string()]
    } else {
        args.pipetop_args.clone()
    };

    let pty = native_pty_system().openpty(PtySize {
        rows: args.rows.get(),
        cols: args.cols.get(),
        pixel_width: 0,
        pixel_height: 0,
    })?;
    let mut command = CommandBuilder::new(&binary);
    command.args(&pipetop_args);
    command.env("TERM", "xterm-256color");
    if let Ok(dir) = std::env::current_dir() {
        command.cwd(dir);
    }
    let mut child = pty.slave.spawn_command(command)?;
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader()?;
    let mut writer = pty.master.take_writer()?;

    let screen = Arc::new((
        Mutex::new(Screen {
            help: Some(false),
            changed_at: Instant::now(),
            closed: false,
            text: String::new(),
        }),
        Condvar::new(),
    ));
    let shared = Arc::clone(&screen);
    let (rows, cols) = (args.rows, args.cols);
    std::thread::spawn(move || {
        let mut parser = vt100::Parser::new(rows, cols, 0);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) | Err(_) => 0,
                Ok(n) => n,
            };
            let read_at = Instant::now();
            let (lock, changed) = &*shared;
            let Ok(mut s) = lock.lock() else { return };
            if n == 0 {
                s.closed = true;
                changed.notify_all();
                return;
            }
            parser.process(&buf[..n]);
            let text = parser.screen().contents();
            let overlay = text.contains(OVERLAY);
            let hint = text.lines().last().is_some_and(|l| l.contains(HINT));
            let help = (overlay == hint).then_some(overlay);
            if help.is_some() && help != s.help {
                s.changed_at = read_at;
            }
            if help.is_some() {
                s.help = help;
            }
            s.text = text;
            changed.notify_all();
        }
    });

    std::thread::sleep(args.warmup);
    let fault = match (args.stall_pid, args.kill_pid) {
        (Some(pid), _) => {
            signal("STOP", pid)?;
            format!("process {pid} stalled (SIGSTOP)")
        }
        (None, Some(pid)) => {
            signal("KILL", pid)?;
            format!("process {pid} killed (SIGKILL)")
        }
        (None, None) => "none".to_string(),
    };
    std::thread::sleep(args.settle);

    let result = measure(&args, &screen, &mut writer);
    if let Some(pid) = args.stall_pid {
        signal("CONT", pid)?;
    }
    // q quits; the child is killed if it does not.
    let _ = writer.write_all(b"q");
    let _ = writer.flush();
    std::thread::sleep(Duration::from_millis(500));
    let _ = child.kill();
    let _ = child.wait();

    let mut latencies = result?;
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    println!(
        "pty keypress→frame: {} keys, p50 {} p95 {} p99 {} max {} ms (fault: {fault}; pipetop {})",
        latencies.len(),
        ms(at(0.50)),
        ms(at(0.95)),
        ms(at(0.99)),
        ms(at(1.0)),
        pipetop_args.join(" ")
    );
    Ok(())
}

/// Types `?` `args.keys` times, each after the previous key's frame, and returns each key's
/// latency.
fn measure(
    args: &Args,
    screen: &(Mutex<Screen>, Condvar),
    writer: &mut Box<dyn Write + Send>,
) -> anyhow::Result<Vec<Duration>> {
    let (lock, changed) = screen;
    let mut latencies = Vec::with_capacity(args.keys);
    for i in 0..args.keys {
        let guard = lock
            .lock()
            .map_err(|_| anyhow::anyhow!("reader panicked"))?;
        let before = guard.help.unwrap_or(false);
        drop(guard);
        let sent = Instant::now();
        writer.write_all(b"?")?;
        writer.flush()?;
        let guard = lock
            .lock()
            .map_err(|_| anyhow::anyhow!("reader panicked"))?;
        let (guard, timeout) = changed
            .wait_timeout_while(guard, args.frame_timeout, |s| {
                !s.closed && s.help == Some(before)
            })
            .map_err(|_| anyhow::anyhow!("reader panicked"))?;
        anyhow::ensure!(!guard.closed, "pipetop exited; screen:\n{}", guard.text);
        anyhow::ensure!(
            !timeout.timed_out(),
            "key {i}: no frame within {:?}; screen:\n{}",
            args.frame_timeout,
            guard.text
        );
        latencies.push(guard.changed_at.saturating_duration_since(sent));
        drop(guard);
        std::thread::sleep(args.pause);
    }
    Ok(latencies)
}

/// `kill -NAME PID`.
fn signal(name: &str, pid: u32) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()?;
    anyhow::ensure!(status.success(), "kill -{name} {pid}: {status}");
    Ok(())
}

/// `target/<profile>/NAME` for this example at `target/<profile>/examples/pty_keypress`.
fn beside_examples(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or_else(|| anyhow::anyhow!("{} has no parent directory", exe.display()))?;
    Ok(profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}
