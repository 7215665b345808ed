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
        }
    }
}

/// Commands that start with what was typed, for completion.
pub fn complete(prefix: &str) -> Vec<&'static str> {
    let prefix = prefix.trim().to_lowercase();
    COMMANDS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| name.starts_with(&prefix))
        .collect()
}

pub fn command(name: &str) -> Option<View> {
    let matches = complete(name);
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
        assert_eq!(command("gr"), Some(View::Groups));
        assert_eq!(command("t"), None, "ambiguous");
        assert_eq!(command("merges"), Some(View::Merges));
        assert_eq!(command("nope"), None);
    }
}
