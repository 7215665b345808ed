//! Screenshots of the real app against the live stack. Reads a scenario on standard input and
//! polls the configured sources every refresh throughout, exactly as the dashboard does, so the
//! pictures show what an engineer who had pipetop open would see:
//!
//!   sleep 20                          keep polling for 20 s
//!   sh <command>                      run a shell command (make the pipeline misbehave)
//!   shot <name> <view>                write screenshots/<name>.svg of <view>
//!   zoom <5m|15m|1h>                  the charts' reach from now on (the z / Z keys)
//!   mark <label>                      remember this instant as @<label>
//!   replay <name> <view> <file> <at>  write <name>.svg of <view> in `pipetop replay <file>` with
//!                                     the cursor at <at> (@<label>, or what `--at` takes)
//!
//! Views: overview, groups, topics, tables, merges, failures, consumers, errors, alerts,
//! group:<id>, table:<db.table>, first-failure, first-partition:<db.table>.
//! `scripts/screenshots` holds the scenario the README's pictures come from.

mod replay;
mod svg;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use pipetop::config::{Config, ProcessEnv};
use pipetop::poll_window::Poller;
use pipetop::ui::app::{Action, App};
use pipetop::ui::theme::{ColorDepth, Theme};
use pipetop::ui::view::{View, Zoom};

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
            theme.clone(),
            ColorDepth::TrueColor,
        ),
    };
    std::fs::create_dir_all(&args.out)?;
    let mut marks: HashMap<String, SystemTime> = HashMap::new();
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
            "zoom" => session.app.zoom = zoom(rest.trim())?,
            "mark" => {
                marks.insert(rest.trim().to_string(), SystemTime::now());
            }
            "replay" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let [name, view, file, at] = words[..] else {
                    anyhow::bail!("replay <name> <view> <file> <at>");
                };
                let at = match at.strip_prefix('@') {
                    Some(label) => replay::At::Instant(
                        *marks
                            .get(label)
                            .ok_or_else(|| anyhow::anyhow!("no mark {label}"))?,
                    ),
                    None => replay::At::Text(at.to_string()),
                };
                let app = replay::app_at(file.as_ref(), &at, theme.clone(), session.app.zoom)?;
                let buffer = draw(&args, app, view)?;
                write(&args, name, &buffer)?;
            }
            other => anyhow::bail!("unknown step `{other}`"),
        }
    }
    Ok(())
}

async fn shot(session: &mut Screen, args: &Args, name: &str, view: &str) -> anyhow::Result<()> {
    let mut terminal = Terminal::new(TestBackend::new(args.width, args.height))?;
    back_to_overview(&mut terminal, &mut session.app)?;
    navigate(&mut session.app, view)?;
    let focus = pipetop::ui::screens::focus_of(&session.app.level().view);
    if focus.is_some() {
        session.poller.set_focus(focus);
        session.poll().await;
    }
    session.app.now = SystemTime::now();
    terminal.draw(|f| pipetop::ui::render(f, &mut session.app))?;
    write(args, name, terminal.backend().buffer())
}

/// `view` of an app whose model and clock are set (a replay's), drawn as the user reaches it.
fn draw(args: &Args, mut app: App, view: &str) -> anyhow::Result<Buffer> {
    let mut terminal = Terminal::new(TestBackend::new(args.width, args.height))?;
    back_to_overview(&mut terminal, &mut app)?;
    navigate(&mut app, view)?;
    terminal.draw(|f| pipetop::ui::render(f, &mut app))?;
    Ok(terminal.backend().buffer().clone())
}

/// From the overview, like a user: `:overview` and a render first so lists know their rows.
fn back_to_overview(terminal: &mut Terminal<TestBackend>, app: &mut App) -> anyhow::Result<()> {
    app.apply(Action::StartCommand);
    for c in "overview".chars() {
        app.apply(Action::Input(c));
    }
    app.apply(Action::Submit);
    terminal.draw(|f| pipetop::ui::render(f, app))?;
    Ok(())
}

fn write(args: &Args, name: &str, buffer: &Buffer) -> anyhow::Result<()> {
    let path = args.out.join(format!("{name}.svg"));
    std::fs::write(&path, svg::render(buffer))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn zoom(text: &str) -> anyhow::Result<Zoom> {
    Ok(match text {
        "5m" => Zoom::FiveMinutes,
        "15m" => Zoom::FifteenMinutes,
        "1h" => Zoom::Hour,
        other => anyhow::bail!("zoom {other}: 5m, 15m or 1h"),
    })
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
