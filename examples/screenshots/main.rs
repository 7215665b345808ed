//! Screenshots of the real app against the live stack. Reads a scenario on standard input and
//! polls the configured sources every refresh throughout, exactly as the dashboard does, so the
//! pictures show what an engineer who had pipetop open would see:
//!
//!   sleep 20                          keep polling for 20 s
//!   sh <command>                      run a shell command (make the pipeline misbehave)
//!   shot <name> <view>                write screenshots/<name>.svg of <view>
//!
//! Views: overview, groups, topics, tables, merges, failures, consumers, errors, alerts,
//! group:<id>, table:<db.table>, first-failure, first-partition:<db.table>.
//! `scripts/screenshots` holds the scenario the README's pictures come from.

mod svg;

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use pipetop::config::{Config, ProcessEnv};
use pipetop::poll_window::Poller;
use pipetop::ui::app::{Action, App};
use pipetop::ui::theme::{ColorDepth, Theme};
use pipetop::ui::view::View;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    refresh: Duration,
    #[arg(long, default_value_t = 120)]
    width: u16,
    #[arg(long, default_value_t = 34)]
    height: u16,
    #[arg(long, default_value = "dark")]
    theme: String,
    #[arg(long, default_value = "screenshots")]
    out: PathBuf,
}

/// The app on screen, fed by the same poller as `snapshot` and `check`.
struct Screen {
    poller: Poller,
    app: App,
}

impl Screen {
    async fn poll(&mut self) {
        self.poller.poll().await;
        self.app
            .set_model(Arc::clone(self.poller.session().model()));
    }

    async fn keep_polling(&mut self, how_long: Duration, refresh: Duration) {
        let until = Instant::now() + how_long;
        loop {
            self.poll().await;
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(refresh.min(left)).await;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = Config::load(args.config.as_deref(), &ProcessEnv)?;
    config.refresh = args.refresh;
    let theme = Theme::load(&args.theme, ColorDepth::TrueColor).map_err(anyhow::Error::msg)?;
    let poller = Poller::new(&config)?;
    let model = Arc::clone(poller.session().model());
    let mut session = Screen {
        poller,
        app: App::new(
            config.context.clone(),
            config.refresh,
            model,
            theme,
            ColorDepth::TrueColor,
        ),
    };
    std::fs::create_dir_all(&args.out)?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let line = line.trim();
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "" => {}
            v if v.starts_with('#') => {}
            "sleep" => {
                let secs: u64 = rest.trim().parse()?;
                session
                    .keep_polling(Duration::from_secs(secs), args.refresh)
                    .await;
            }
            "sh" => {
                let status = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(rest)
                    .status()
                    .await?;
                anyhow::ensure!(status.success(), "`{rest}` failed: {status}");
            }
            "shot" => {
                let (name, view) = rest
                    .split_once(' ')
                    .ok_or_else(|| anyhow::anyhow!("shot <name> <view>"))?;
                shot(&mut session, &args, name, view.trim()).await?;
            }
            other => anyhow::bail!("unknown step `{other}`"),
        }
    }
    Ok(())
}

async fn shot(session: &mut Screen, args: &Args, name: &str, view: &str) -> anyhow::Result<()> {
    let mut terminal = Terminal::new(TestBackend::new(args.width, args.height))?;
    // From the overview, like a user: a render first so lists know their rows.
    session.app.apply(Action::StartCommand);
    for c in "overview".chars() {
        session.app.apply(Action::Input(c));
    }
    session.app.apply(Action::Submit);
    terminal.draw(|f| pipetop::ui::render(f, &mut session.app))?;
    navigate(&mut session.app, view)?;
    let focus = pipetop::ui::screens::focus_of(&session.app.level().view);
    if focus.is_some() {
        session.poller.set_focus(focus);
        session.poll().await;
    }
    session.app.now = SystemTime::now();
    terminal.draw(|f| pipetop::ui::render(f, &mut session.app))?;
    let path = args.out.join(format!("{name}.svg"));
    std::fs::write(&path, svg::render(terminal.backend().buffer()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn navigate(app: &mut App, view: &str) -> anyhow::Result<()> {
    let (name, arg) = view.split_once(':').unwrap_or((view, ""));
    match name {
        "group" => app.open(View::Group {
            group: arg.to_string(),
        }),
        "table" => {
            let (database, table) = arg
                .split_once('.')
                .ok_or_else(|| anyhow::anyhow!("table:<db.table>"))?;
            app.open(View::Table {
                database: database.into(),
                table: table.into(),
            });
        }
        "first-failure" => {
            app.open(View::Failures);
            app.apply(Action::Open);
        }
        "first-partition" => {
            navigate(app, &format!("table:{arg}"))?;
            app.apply(Action::Open);
        }
        "overview" => {}
        other => match pipetop::ui::view::command(other) {
            Some(v) => app.open(v),
            None => anyhow::bail!("unknown view {other}"),
        },
    }
    Ok(())
}
