//! A real terminal for the real binary: a detached tmux session, keys in, the screen out.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    session: String,
}

impl Tmux {
    /// Runs `command` in a new detached session of `width` × `height` cells.
    pub fn start(width: u16, height: u16, command: &str) -> Tmux {
        let session = super::unique("pipetop_tui");
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                command,
            ])
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        Tmux { session }
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// The screen with the escape sequences that draw it (`capture-pane -e`: tmux's own SGR
    /// colour and attribute sequences), as bytes.
    pub fn screen_with_escapes(&self) -> Vec<u8> {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-e", "-t", &self.session])
            .output()
            .unwrap();
        out.stdout
    }

    /// The pane's title: what an OSC 0 or 2 sequence sent by the program would have set.
    pub fn title(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "display-message",
                "-p",
                "-t",
                &self.session,
                "#{pane_title}",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Ends the session as a dropped ssh connection would: the pane's processes get SIGHUP and
    /// its terminal goes away (writes to it fail from then on).
    pub fn hang_up(&self) {
        let status = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until the screen shows `text`, and returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("to see {text:?}"), |screen| screen.contains(text))
    }

    /// Waits until `done` holds for the screen, and returns the screen.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "waited in vain {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}
