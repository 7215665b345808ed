use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use pipetop::collect::Collectors;
use pipetop::config::{Config, ConfigError, ProcessEnv};
use pipetop::config_contexts::{self, Loaded};
use pipetop::config_effective;
use pipetop::recording::recorder::RecordTo;
use pipetop::report::{self, Report};
use pipetop::ui::UiOptions;
use pipetop::ui::theme::{ColorDepth, Theme};

/// jemalloc, with one arena (`.cargo/config.toml`); its unprefixed `malloc` serves librdkafka too.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// top for a Kafka → ClickHouse ingestion pipeline.
#[derive(Parser)]
#[command(
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("PIPETOP_COMMIT"), ")"),
    about
)]
struct Cli {
    /// TOML config file (see README). Without one, $XDG_CONFIG_HOME/pipetop/config.toml or
    /// ~/.config/pipetop/config.toml when it exists, otherwise localhost:9092 and
    /// http://localhost:8123.
    #[arg(long, short, global = true, env = "PIPETOP_CONFIG")]
    config: Option<PathBuf>,
    /// The config file's context to use (`[contexts.NAME]`), instead of its `default_context`.
    #[arg(long, global = true, env = "PIPETOP_CONTEXT")]
    context: Option<String>,
    /// Kafka bootstrap servers (overrides the config file).
    #[arg(long, global = true)]
    kafka: Option<String>,
    /// ClickHouse HTTP URL (overrides the config file).
    #[arg(long, global = true)]
    clickhouse: Option<String>,
    /// Refresh interval, e.g. 2s (minimum 500ms).
    #[arg(long, global = true, value_parser = humantime::parse_duration)]
    refresh: Option<std::time::Duration>,
    /// Colour theme: dark, light, high-contrast, colorblind, or a path to a theme file.
    #[arg(long, global = true, env = "PIPETOP_THEME")]
    theme: Option<String>,
    /// Scroll and click with the mouse (the terminal's own text selection then needs Shift).
    #[arg(long)]
    mouse: bool,
    /// Where the dashboard's `e` key writes the model and alert history as JSON.
    #[arg(long, default_value = "pipetop-export.json")]
    export: PathBuf,
    /// Record what the collectors publish to FILE while the dashboard runs (see `record`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// A recording's size limit: at it, FILE is renamed FILE.1 and a new FILE starts (e.g. 512MiB).
    #[arg(long, global = true, default_value = "512MiB", value_parser = pipetop::recording::writer::parse_size)]
    record_limit: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// `--replay FILE --at TIME`: answer from a recording instead of polling.
#[derive(clap::Args)]
struct ReplayAt {
    /// A recording to answer from (`pipetop record`), instead of polling the servers.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// With --replay: when (RFC 3339, a UTC time of day like 03:12:40, +5m from the start or
    /// -30s from the end); the end by default.
    #[arg(long, requires = "replay", allow_hyphen_values = true)]
    at: Option<String>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the config (as a normal start does) and print the effective settings of the
    /// chosen context as TOML, every secret shown as "***". Exit 0, or 2 with the error.
    Check {
        /// The file to check (default: --config, PIPETOP_CONFIG, then the default location).
        file: Option<PathBuf>,
    },
    /// List the config file's contexts, the default marked.
    Contexts {
        /// The file to read (default: --config, PIPETOP_CONFIG, then the default location).
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Check the config file or list its contexts, without connecting anywhere.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Print a shell completion script: `pipetop completions bash > /etc/bash_completion.d/pipetop`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `pipetop man > /usr/local/share/man/man1/pipetop.1`.
    Man,
    /// Judge the alerts and exit like a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (a
    /// source could not be reached).
    Check {
        /// Poll at once, then every refresh, the last poll starting no later than this after the
        /// first, so `for` durations and rates can be judged (0s: one poll).
        #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
        window: std::time::Duration,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[command(flatten)]
        replay: ReplayAt,
    },
    /// Poll every source and print a summary (or with --json everything), then exit (non-zero
    /// if a source failed).
    Snapshot {
        /// Print the whole model as JSON (stable field names, see README) instead of a summary.
        #[arg(long)]
        json: bool,
        /// Poll at once, then every refresh, the last poll starting no later than this after the
        /// first, so time lag, rates and status have history (e.g. 10s; 0s: one poll). The same
        /// as `check --window`.
        #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
        window: std::time::Duration,
        #[command(flatten)]
        replay: ReplayAt,
    },
    /// Record what the collectors publish (the dashboard's collectors and session, headless) to
    /// FILE until SIGINT or SIGTERM; `--record-limit` bounds its size (see README, Record and
    /// replay).
    Record { file: PathBuf },
    /// Open the dashboard on a recording, with a time cursor (space plays, arrows step, `[` `]`
    /// jump a minute, `>` changes the speed).
    Replay { file: PathBuf },
    /// Run headless (the dashboard's collectors and session) and serve Prometheus metrics on
    /// /metrics and a health check on /healthz, until SIGTERM or SIGINT.
    Serve {
        /// Address to listen on (loopback by default: put a proxy in front to expose it).
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: std::net::SocketAddr,
        /// Also one lag and time-lag series per group and partition (many: filter groups first).
        #[arg(long)]
        partition_series: bool,
    },
}

fn main() -> ExitCode {
    // OpenSSL (librdkafka's, the ClickHouse client's) is initialised here first, without the
    // `atexit` handler that would otherwise free its global state when main returns: the collector
    // threads are not joined at exit (a request under way may take its whole timeout), and a
    // tokio worker dropping a Kafka or TLS client while that handler ran crashed the process on
    // quit (a SIGSEGV seen in CI; `OPENSSL_cleanup` ran beside `AdminClient`'s drop). The kernel
    // frees it all when the process ends anyway.
    openssl::init();
    let cli = Cli::parse();
    if let Some(code) = describe_command_line(cli.command.as_ref()) {
        return code;
    }
    if let Some(Command::Config { action }) = &cli.command {
        return match config_command(&cli, action) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pipetop: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(code) = from_recording(&cli) {
        return code;
    }
    let loaded = match load_config(&cli, None) {
        Ok(loaded) => loaded,
        // A check that cannot run is UNKNOWN to a monitoring agent, not CRITICAL.
        Err(e) => {
            let check = matches!(cli.command, Some(Command::Check { .. }));
            return cannot_answer(check, e);
        }
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        match cli.command {
            None => dashboard(&loaded, &cli).await,
            Some(Command::Snapshot { json, window, .. }) => {
                print_snapshot(&loaded.config, window, json).await
            }
            Some(Command::Check { window, format, .. }) => {
                check(&loaded.config, window, format).await
            }
            Some(Command::Record { ref file }) => record(&loaded, file, cli.record_limit).await,
            Some(Command::Serve {
                listen,
                partition_series,
            }) => {
                let series = if partition_series {
                    pipetop::serve::metrics::Series::WithPartitions
                } else {
                    pipetop::serve::metrics::Series::Bounded
                };
                pipetop::serve::run(&loaded.config, listen, series)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            }
            // Printed above, before any servers were asked.
            Some(
                Command::Completions { .. }
                | Command::Man
                | Command::Config { .. }
                | Command::Replay { .. },
            ) => Ok(ExitCode::SUCCESS),
        }
    });
    // Collector tasks may be mid-request; do not wait for them.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pipetop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `completions` and `man` describe the command line itself: no config, no servers.
fn describe_command_line(command: Option<&Command>) -> Option<ExitCode> {
    let mut out = std::io::stdout();
    match command? {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "pipetop", &mut out);
            Some(ExitCode::SUCCESS)
        }
        Command::Man => Some(
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("pipetop: {e}");
                    ExitCode::FAILURE
                }
            },
        ),
        Command::Check { .. }
        | Command::Snapshot { .. }
        | Command::Serve { .. }
        | Command::Record { .. }
        | Command::Replay { .. }
        | Command::Config { .. } => None,
    }
}

async fn check(
    config: &Config,
    window: std::time::Duration,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let report = match pipetop::check::run(config, window).await {
        Ok(report) => report,
        Err(e) => {
            // Nagios: a check that cannot run at all is UNKNOWN, not a crash.
            println!("PIPETOP UNKNOWN - {e:#}");
            return Ok(ExitCode::from(pipetop::check::Outcome::Unknown.code()));
        }
    };
    match format {
        Format::Text => print!(
            "{}",
            pipetop::check::text(&report, std::time::SystemTime::now())
        ),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(ExitCode::from(report.code))
}

/// `config check` and `config contexts`: the text to print.
fn config_command(cli: &Cli, action: &ConfigCommand) -> Result<String, ConfigError> {
    match action {
        ConfigCommand::Check { file } => {
            let loaded = load_config(cli, file.as_deref())?;
            let from = match &loaded.path {
                Some(path) => format!("{}", path.display()),
                None => "built-in defaults (no config file found)".to_string(),
            };
            let mut text = format!("# valid: {from}\n");
            if let Some(context) = &loaded.context {
                text += &format!(
                    "# context {context} (of: {})\n",
                    loaded.contexts.names.join(", ")
                );
            }
            text += "# effective settings; secrets shown as \"***\"\n\n";
            text += &config_effective::effective_toml(&loaded);
            Ok(text)
        }
        ConfigCommand::Contexts { file } => {
            let path = file
                .clone()
                .or_else(|| cli.config.clone())
                .or_else(|| config_contexts::default_path(&ProcessEnv));
            let contexts = match &path {
                Some(path) => {
                    let text =
                        std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    config_contexts::contexts_of(&text, path)?
                }
                None => Default::default(),
            };
            Ok(config_contexts::describe_contexts(
                &contexts,
                path.as_deref(),
            ))
        }
    }
}

/// The config file (`file`, else --config / PIPETOP_CONFIG, else the default location, else the
/// built-in defaults) for --context / PIPETOP_CONTEXT, with the command line's overrides.
fn load_config(cli: &Cli, file: Option<&std::path::Path>) -> Result<Loaded, ConfigError> {
    let file = file.or(cli.config.as_deref());
    load_with(file, cli.context.as_deref(), &Overrides::of(cli))
}

/// The settings given on the command line, which win over every context's.
#[derive(Clone)]
struct Overrides {
    kafka: Option<String>,
    clickhouse: Option<String>,
    refresh: Option<std::time::Duration>,
}

impl Overrides {
    fn of(cli: &Cli) -> Overrides {
        Overrides {
            kafka: cli.kafka.clone(),
            clickhouse: cli.clickhouse.clone(),
            refresh: cli.refresh,
        }
    }
}

fn load_with(
    file: Option<&std::path::Path>,
    context: Option<&str>,
    overrides: &Overrides,
) -> Result<Loaded, ConfigError> {
    let mut loaded = config_contexts::load(file, context, &ProcessEnv)?;
    let config = &mut loaded.config;
    if let Some(kafka) = &overrides.kafka {
        config.kafka.bootstrap_servers = kafka.clone();
    }
    if let Some(url) = &overrides.clickhouse {
        config.clickhouse.url = url.clone();
    }
    if let Some(refresh) = overrides.refresh {
        config.refresh = refresh;
    }
    config.validate(None)?;
    Ok(loaded)
}

async fn dashboard(loaded: &Loaded, cli: &Cli) -> anyhow::Result<ExitCode> {
    let config = &loaded.config;
    let depth = ColorDepth::from_env();
    let theme_name = cli.theme.as_deref().unwrap_or(&config.theme);
    // A bad theme is reported before the screen takes over the terminal.
    let theme = Theme::load(theme_name, depth).map_err(anyhow::Error::msg)?;
    let collectors = Collectors::spawn(config)?;
    let options = UiOptions {
        theme,
        depth,
        mouse: cli.mouse,
        export: cli.export.clone(),
        contexts: loaded.contexts.names.clone(),
        record: cli.record.clone().map(|path| RecordTo {
            path,
            config_toml: config_effective::effective_toml(loaded),
            limit: cli.record_limit,
        }),
        // `:ctx NAME` reads the same file again (it may have been edited) for that context.
        load_context: loaded.path.clone().map(|path| {
            let overrides = Overrides::of(cli);
            Box::new(move |name: &str| {
                load_with(Some(&path), Some(name), &overrides)
                    .map(|loaded| loaded.config)
                    .map_err(|e| e.to_string())
            }) as pipetop::ui::ContextLoader
        }),
    };
    pipetop::ui::run(config, collectors, options).await?;
    Ok(ExitCode::SUCCESS)
}

async fn print_snapshot(
    config: &Config,
    window: std::time::Duration,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let poller = pipetop::poll_window::poll_window(config, window).await?;
    let model = poller.session().model();
    if json {
        let report = Report::new(&config.context, poller.rounds(), model)?;
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::summary(&config.context, model));
    }
    let failures = report::failures(model);
    for failure in &failures {
        eprintln!("pipetop: {failure}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `record FILE`: the dashboard's collectors and session without a screen, recording until
/// SIGINT or SIGTERM.
async fn record(loaded: &Loaded, file: &std::path::Path, limit: u64) -> anyhow::Result<ExitCode> {
    let config = &loaded.config;
    let to = RecordTo {
        path: file.to_path_buf(),
        config_toml: config_effective::effective_toml(loaded),
        limit,
    };
    let (tap, recorder) = pipetop::recording::recorder::start(&to).map_err(anyhow::Error::msg)?;
    let collectors = Collectors::spawn(config)?;
    let session =
        pipetop::live::spawn_session(config, collectors.kafka, collectors.clickhouse, Some(tap))?;
    eprintln!(
        "pipetop: recording to {} (limit {}, then rotated to {}.1); SIGINT or SIGTERM stops",
        file.display(),
        pipetop::format::bytes(limit),
        file.display()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    // The session stops, and with it the tap; the recorder writes what was queued and ends.
    drop(session);
    let stats = tokio::task::spawn_blocking(move || recorder.finish()).await?;
    eprintln!("pipetop: {}", stats.describe(file));
    Ok(if stats.error().is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `replay`, and `snapshot` / `check` with `--replay`: everything comes from the recording (its
/// own config, secrets masked), nothing is polled. None: not one of those.
fn from_recording(cli: &Cli) -> Option<ExitCode> {
    let (file, at) = match &cli.command {
        Some(Command::Replay { file }) => (file, None),
        Some(Command::Snapshot { replay, .. } | Command::Check { replay, .. }) => {
            (replay.replay.as_ref()?, replay.at.as_deref())
        }
        _ => return None,
    };
    let check = matches!(cli.command, Some(Command::Check { .. }));
    let mut player = match pipetop::recording::player::Player::open(file) {
        Ok(player) => player,
        Err(e) => return Some(cannot_answer(check, e)),
    };
    if let Some(problem) = player.problem() {
        eprintln!("pipetop: {}: {problem}", file.display());
    }
    if let Some(Command::Replay { .. }) = &cli.command {
        return Some(replay(cli, player));
    }
    let Some((start, end)) = player.span() else {
        let e = format!("{}: the recording holds no data", file.display());
        return Some(cannot_answer(check, e));
    };
    let to = match at {
        Some(at) => match pipetop::recording::at::parse_at(at, start, end) {
            Ok(to) => to,
            Err(e) => return Some(cannot_answer(check, format!("--at {e}"))),
        },
        None => end,
    };
    player.seek(to);
    let model = player.model();
    let polls = u32::try_from(model.sources.kafka.polls).unwrap_or(u32::MAX);
    let now = player.cursor().unwrap_or(to);
    let printed = match &cli.command {
        Some(Command::Check { format, .. }) => {
            let report = pipetop::check::verdict(model, polls);
            let out = match format {
                Format::Text => Ok(pipetop::check::text(&report, now)),
                Format::Json => serde_json::to_string_pretty(&report).map(|t| t + "\n"),
            };
            out.map(|text| (text, ExitCode::from(report.code)))
        }
        Some(Command::Snapshot { json: true, .. }) => {
            // The player keeps the snapshots of the model its session just derived.
            Report::new(&player.config().context, polls, model)
                .map_err(serde::ser::Error::custom)
                .and_then(|report| serde_json::to_string_pretty(&report))
                .map(|t| (t + "\n", ExitCode::SUCCESS))
        }
        _ => Ok((
            report::summary(&player.config().context, model),
            ExitCode::SUCCESS,
        )),
    };
    match printed {
        Ok((text, code)) => {
            print!("{text}");
            Some(code)
        }
        Err(e) => {
            eprintln!("pipetop: {e}");
            Some(ExitCode::FAILURE)
        }
    }
}

/// `replay FILE`: the dashboard on a recording.
fn replay(cli: &Cli, player: pipetop::recording::player::Player) -> ExitCode {
    let depth = ColorDepth::from_env();
    let theme_name = cli
        .theme
        .clone()
        .unwrap_or_else(|| player.config().theme.clone());
    let theme = match Theme::load(&theme_name, depth) {
        Ok(theme) => theme,
        Err(e) => {
            eprintln!("pipetop: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let options = pipetop::ui::replay::ReplayOptions {
        theme,
        depth,
        mouse: cli.mouse,
    };
    match runtime.block_on(pipetop::ui::replay::run(player, options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pipetop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The tokio runtime every command runs on; when it cannot start, the exit code after saying so.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("pipetop: cannot start the runtime: {e}");
        ExitCode::FAILURE
    })
}

/// A command that cannot answer: `check` says UNKNOWN (what a monitoring agent expects), the
/// others say why on stderr and exit 2.
fn cannot_answer(check: bool, why: impl std::fmt::Display) -> ExitCode {
    if check {
        println!("PIPETOP UNKNOWN - {why}");
        ExitCode::from(pipetop::check::Outcome::Unknown.code())
    } else {
        eprintln!("pipetop: {why}");
        ExitCode::from(2)
    }
}
