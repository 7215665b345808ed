//! Where the user is: one screen, possibly a drill-down into one item. The app keeps a stack of
//! these; Enter pushes, Esc pops, `:name` jumps.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    Overview,
    Groups,
    Group {
        group: String,
    },
    Topics,
    Topic {
        topic: String,
    },
    Tables,
    Table {
        database: String,
        table: String,
    },
    Partition {
        host: String,
        database: String,
        table: String,
        partition_id: String,
    },
    Failures,
    Failure {
        key: String,
    },
    Merges,
    Consumers,
    Consumer {
        key: String,
    },
    Errors,
    Alerts,
    Events,
    /// Replicas of every replicated table, the replication queues, the Keeper sessions.
    Replicas,
    /// Every host's disks and memory.
    Disks,
    /// The send queues of the Distributed tables.
    Distribution,
    /// What pipetop itself costs the servers.
    OwnLoad,
}

/// How far back the drill-down charts reach; `z` / `Z` step through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zoom {
    FiveMinutes,
    #[default]
    FifteenMinutes,
    Hour,
}

impl Zoom {
    pub fn seconds(self) -> f64 {
        match self {
            Zoom::FiveMinutes => 300.0,
            Zoom::FifteenMinutes => 900.0,
            Zoom::Hour => 3600.0,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Zoom::FiveMinutes => "5m",
            Zoom::FifteenMinutes => "15m",
            Zoom::Hour => "1h",
        }
    }

    /// `z`: further out, wrapping from an hour back to five minutes.
    pub fn wider(self) -> Zoom {
        match self {
            Zoom::FiveMinutes => Zoom::FifteenMinutes,
            Zoom::FifteenMinutes => Zoom::Hour,
            Zoom::Hour => Zoom::FiveMinutes,
        }
    }

    /// `Z`: closer in, wrapping from five minutes to an hour.
    pub fn closer(self) -> Zoom {
        match self {
            Zoom::FiveMinutes => Zoom::Hour,
            Zoom::FifteenMinutes => Zoom::FiveMinutes,
            Zoom::Hour => Zoom::FifteenMinutes,
        }
    }
}

impl View {
    /// Whether the view draws charts (and so whether the zoom keys do anything).
    pub fn has_charts(&self) -> bool {
        matches!(self, View::Group { .. } | View::Table { .. })
    }
}

/// `:name` targets, in the order completion offers them.
pub const COMMANDS: &[(&str, View)] = &[
    ("overview", View::Overview),
    ("groups", View::Groups),
    ("topics", View::Topics),
    ("tables", View::Tables),
    ("merges", View::Merges),
    ("failures", View::Failures),
    ("consumers", View::Consumers),
    ("errors", View::Errors),
    ("alerts", View::Alerts),
    ("events", View::Events),
    ("replicas", View::Replicas),
    ("disks", View::Disks),
    ("distribution", View::Distribution),
    ("self", View::OwnLoad),
];

impl View {
    /// The breadcrumb label of this level.
    pub fn label(&self) -> String {
        match self {
            View::Overview => "overview".into(),
            View::Groups => "groups".into(),
            View::Group { group } => group.clone(),
            View::Topics => "topics".into(),
            View::Topic { topic } => topic.clone(),
            View::Tables => "tables".into(),
            View::Table { database, table } => format!("{database}.{table}"),
            View::Partition { partition_id, .. } => format!("partition {partition_id}"),
            View::Failures => "failed inserts".into(),
            View::Failure { .. } => "failure".into(),
            View::Merges => "merges".into(),
            View::Consumers => "kafka engine consumers".into(),
            View::Consumer { key } => key.clone(),
            View::Errors => "server errors".into(),
            View::Alerts => "alerts".into(),
            View::Events => "events".into(),
            View::Replicas => "replicas".into(),
            View::Disks => "disks and memory".into(),
            View::Distribution => "distributed send queues".into(),
            View::OwnLoad => "pipetop's own load".into(),
        }
    }
}

/// The command that lists the config file's contexts (`:ctx`) or switches to one (`:ctx NAME`).
pub const CONTEXT_COMMAND: &str = "ctx";

/// Commands that start with what was typed, for completion.
pub fn complete(prefix: &str) -> Vec<&'static str> {
    let prefix = prefix.trim().to_lowercase();
    COMMANDS
        .iter()
        .map(|(name, _)| *name)
        .chain([CONTEXT_COMMAND])
        .filter(|name| name.starts_with(&prefix))
        .collect()
}

/// `ctx` → Some(None) (list the contexts), `ctx NAME` → Some(Some(NAME)); None for anything else.
pub fn context_command(text: &str) -> Option<Option<String>> {
    let mut words = text.split_whitespace();
    if words.next()? != CONTEXT_COMMAND {
        return None;
    }
    match (words.next(), words.next()) {
        (None, _) => Some(None),
        (Some(name), None) => Some(Some(name.to_string())),
        // Context names have no spaces: `ctx a b` is not a command.
        (Some(_), Some(_)) => None,
    }
}

/// Context names that start with what was typed after `ctx `, for completion.
pub fn complete_context<'a>(prefix: &str, contexts: &'a [String]) -> Vec<&'a str> {
    contexts
        .iter()
        .map(String::as_str)
        .filter(|name| name.starts_with(prefix.trim()))
        .collect()
}

pub fn command(name: &str) -> Option<View> {
    let matches: Vec<_> = complete(name)
        .into_iter()
        .filter(|n| *n != CONTEXT_COMMAND)
        .collect();
    match matches.as_slice() {
        [only] => COMMANDS
            .iter()
            .find(|(n, _)| n == only)
            .map(|(_, v)| v.clone()),
        _ => COMMANDS
            .iter()
            .find(|(n, _)| *n == name.trim())
            .map(|(_, v)| v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_complete_and_resolve_unique_prefixes() {
        assert_eq!(complete("t"), ["topics", "tables"]);
        assert_eq!(command("ev"), Some(View::Events));
        assert_eq!(command("gr"), Some(View::Groups));
        assert_eq!(command("t"), None, "ambiguous");
        assert_eq!(command("merges"), Some(View::Merges));
        assert_eq!(command("nope"), None);
        assert_eq!(complete("c"), ["consumers", "ctx"]);
        assert_eq!(
            command("c"),
            Some(View::Consumers),
            "views resolve as before"
        );
        assert_eq!(command("ctx"), None, "not a view");
        assert_eq!(complete("d"), ["disks", "distribution"]);
        assert_eq!(command("dis"), None, "ambiguous");
        assert_eq!(command("disks"), Some(View::Disks));
        assert_eq!(command("distr"), Some(View::Distribution));
    }

    #[test]
    fn ctx_lists_or_names_a_context() {
        assert_eq!(context_command("ctx"), Some(None));
        assert_eq!(context_command(" ctx  "), Some(None));
        assert_eq!(context_command("ctx staging"), Some(Some("staging".into())));
        assert_eq!(context_command("ctx a b"), None);
        assert_eq!(context_command("ctxx"), None);
        assert_eq!(context_command("groups"), None);
        let names = ["prod-eu".to_string(), "prod-us".into(), "staging".into()];
        assert_eq!(complete_context("prod", &names), ["prod-eu", "prod-us"]);
        assert_eq!(complete_context("s", &names), ["staging"]);
    }
}
