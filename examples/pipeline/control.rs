//! The sink's knobs, flipped at run time through a small text file so a test or an engineer can
//! make the pipeline misbehave on demand: `pipeline ctl pause`, `ctl slow 100`, `ctl tiny 5`, ...

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Control {
    /// Consume nothing (the consumer stays in the group; lag grows).
    pub paused: bool,
    /// Process at most this many messages per second (0 = unlimited).
    pub max_rate: u64,
    /// Flush every N messages instead of 10,000 / 2 s: many tiny parts.
    pub tiny_batches: u64,
    /// Each increment makes the sink send one batch ClickHouse rejects.
    pub reject_seq: u64,
}

impl Control {
    pub fn read(path: &Path) -> Control {
        let Ok(text) = std::fs::read_to_string(path) else {
            return Control::default();
        };
        let fields: BTreeMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let num = |k: &str| fields.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
        Control {
            paused: fields.get("paused").is_some_and(|v| *v == "true"),
            max_rate: num("max_rate"),
            tiny_batches: num("tiny_batches"),
            reject_seq: num("reject_seq"),
        }
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = format!(
            "paused={}\nmax_rate={}\ntiny_batches={}\nreject_seq={}\n",
            self.paused, self.max_rate, self.tiny_batches, self.reject_seq
        );
        // Write then rename, so the sink never reads half a file.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)
    }

    /// Applies `ctl` words: run | pause | slow N | tiny N | normal | reject.
    pub fn apply(&mut self, words: &[String]) -> Result<(), String> {
        let arg = |i: usize| -> Result<u64, String> {
            words
                .get(i)
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| format!("`{}` needs a number", words[0]))
        };
        match words.first().map(String::as_str) {
            Some("pause") => self.paused = true,
            Some("run") | Some("resume") => self.paused = false,
            Some("slow") => self.max_rate = arg(1)?,
            Some("tiny") => self.tiny_batches = arg(1)?,
            Some("normal") => {
                *self = Control {
                    reject_seq: self.reject_seq,
                    ..Control::default()
                }
            }
            Some("reject") => self.reject_seq += 1,
            _ => return Err("expected one of: pause, run, slow N, tiny N, normal, reject".into()),
        }
        Ok(())
    }
}
