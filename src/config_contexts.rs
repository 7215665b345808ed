//! Where the config file is looked for, and named contexts in it.
//!
//! Without `--config` (or `PIPETOP_CONFIG`) the file is `$XDG_CONFIG_HOME/pipetop/config.toml`,
//! then `~/.config/pipetop/config.toml`, when one exists; otherwise the built-in defaults.
//!
//! A file may name several clusters: `[contexts.<name>]` tables, each with any of `kafka`,
//! `clickhouse`, `pipelines`, `alerts`, `refresh` and `theme`, over shared settings at the top
//! level. The chosen context's table is merged over the top level key by key (a table merges into
//! the table of the same name, recursively; arrays and plain values replace), and the merged table
//! is deserialized as one `Config`. The merge keeps every value's position in the file, so an error
//! inside a context names its line and its whole key (`contexts.prod-eu.kafka.request_timeout`).
//! A file without `[contexts]` is read exactly as before.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::{Config, ConfigError, Env, describe_toml_error};

/// The top-level key holding the named contexts.
pub const CONTEXTS: &str = "contexts";
/// The top-level key naming the context used when none is asked for.
pub const DEFAULT_CONTEXT: &str = "default_context";

/// Keys a context may not set: they choose contexts or name one, which the context itself does.
const NOT_IN_A_CONTEXT: [&str; 3] = ["context", CONTEXTS, DEFAULT_CONTEXT];

/// The contexts a file defines (by name), and its `default_context`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contexts {
    pub names: Vec<String>,
    pub default: Option<String>,
}

/// A config as read for one context: what `pipetop` runs with, and what `config check` prints.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file read, if any (given, or found at the default location).
    pub path: Option<PathBuf>,
    /// The chosen context, when the file has contexts.
    pub context: Option<String>,
    pub contexts: Contexts,
    /// The settings as written (the context merged over the top level), without defaults.
    pub table: toml::Table,
}

/// The file read when none is named: `$XDG_CONFIG_HOME/pipetop/config.toml`, then
/// `$HOME/.config/pipetop/config.toml`, the first that exists.
pub fn default_path(env: &dyn Env) -> Option<PathBuf> {
    let xdg = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let home = env.var("HOME").map(|h| PathBuf::from(h).join(".config"));
    [xdg, home]
        .into_iter()
        .flatten()
        .map(|dir| dir.join("pipetop").join("config.toml"))
        .find(|path| path.is_file())
}

/// Reads `path`, or the default file when `path` is None and one exists, or else starts from the
/// built-in defaults; picks `context` (or the file's `default_context`); applies secrets from the
/// environment and validates.
pub fn load(
    path: Option<&Path>,
    context: Option<&str>,
    env: &dyn Env,
) -> Result<Loaded, ConfigError> {
    let path = path.map(Path::to_path_buf).or_else(|| default_path(env));
    let Some(path) = path else {
        if let Some(wanted) = context {
            return Err(unknown_context(None, wanted, &Contexts::default()));
        }
        let config = Config::default();
        config.validate(None)?;
        return Ok(Loaded {
            config,
            path: None,
            context: None,
            contexts: Contexts::default(),
            table: toml::Table::new(),
        });
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let mut loaded = select(&text, &path, context)?;
    let name = loaded.context.as_deref();
    loaded.config.apply_env_in(env, Some(&path), name)?;
    loaded.config.validate_in(Some(&path), Some(&text), name)?;
    loaded.path = Some(path);
    Ok(loaded)
}

/// The contexts `text` defines (none for a file without `[contexts]`).
pub fn contexts_of(text: &str, path: &Path) -> Result<Contexts, ConfigError> {
    let mut root = DeTable::parse(text).map_err(|e| parse_error(text, path, &e))?;
    split(text, path, root.get_mut()).map(|(contexts, _)| contexts)
}

/// `text` parsed for `wanted` (or the default context): the merged settings deserialized, not yet
/// validated nor given the environment's secrets.
pub fn select(text: &str, path: &Path, wanted: Option<&str>) -> Result<Loaded, ConfigError> {
    let root = DeTable::parse(text).map_err(|e| parse_error(text, path, &e))?;
    let span = root.span();
    let mut root = root.into_inner();
    let (contexts, mut tables) = split(text, path, &mut root)?;
    let chosen = match wanted.or(contexts.default.as_deref()) {
        None if contexts.names.is_empty() => None,
        None => {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!(
                    "no context chosen: set `{DEFAULT_CONTEXT}`, --context or PIPETOP_CONTEXT to one of {}",
                    list(&contexts.names)
                ),
            });
        }
        Some(name) if contexts.names.iter().any(|n| n == name) => Some(name.to_string()),
        Some(name) => return Err(unknown_context(Some(path), name, &contexts)),
    };
    if let Some(name) = &chosen {
        let table = tables
            .remove(name.as_str())
            .map(Spanned::into_inner)
            .unwrap_or_default();
        merge(&mut root, table);
    }
    let merged = Spanned::new(span, root);
    let parse = |e: toml::de::Error| parse_error(text, path, &e);
    let mut config =
        Config::deserialize(toml::de::Deserializer::from(merged.clone())).map_err(parse)?;
    let table = toml::Table::deserialize(toml::de::Deserializer::from(merged)).map_err(parse)?;
    if let Some(name) = &chosen {
        config.context = name.clone();
    }
    Ok(Loaded {
        config,
        path: Some(path.to_path_buf()),
        context: chosen,
        contexts,
        table,
    })
}

type ContextTables<'i> = toml::map::Map<String, Spanned<DeTable<'i>>>;

/// Takes `contexts` and `default_context` out of the top level, checking their shape.
fn split<'i>(
    text: &str,
    path: &Path,
    root: &mut DeTable<'i>,
) -> Result<(Contexts, ContextTables<'i>), ConfigError> {
    let at = |span: std::ops::Range<usize>, key: &str, message: &str| ConfigError::Parse {
        path: path.to_path_buf(),
        message: format!("line {}, key `{key}`: {message}", line_of(text, span.start)),
    };
    let mut tables = ContextTables::new();
    let mut names = Vec::new();
    if let Some(value) = root.remove(CONTEXTS) {
        let span = value.span();
        let DeValue::Table(contexts) = value.into_inner() else {
            return Err(at(span, CONTEXTS, "expected a table of named contexts"));
        };
        for (name, value) in contexts {
            let name = name.into_inner().into_owned();
            let key = format!("{CONTEXTS}.{name}");
            let span = value.span();
            let DeValue::Table(table) = value.into_inner() else {
                return Err(at(span, &key, "expected a table"));
            };
            if let Some((k, _)) = table
                .iter()
                .find(|(k, _)| NOT_IN_A_CONTEXT.contains(&k.get_ref().as_ref()))
            {
                return Err(at(
                    k.span(),
                    &format!("{key}.{}", k.get_ref()),
                    "not allowed in a context (a context is named by its table)",
                ));
            }
            names.push(name.clone());
            tables.insert(name, Spanned::new(span, table));
        }
    }
    let default = match root.remove(DEFAULT_CONTEXT) {
        None => None,
        Some(value) => {
            let span = value.span();
            match value.into_inner() {
                DeValue::String(name) if names.iter().any(|n| *n == name) => {
                    Some(name.into_owned())
                }
                DeValue::String(name) => {
                    let message =
                        format!("unknown context `{name}`, expected one of {}", list(&names));
                    return Err(at(span, DEFAULT_CONTEXT, &message));
                }
                _ => return Err(at(span, DEFAULT_CONTEXT, "expected a context's name")),
            }
        }
    };
    Ok((Contexts { names, default }, tables))
}

/// `over` merged into `base`: tables into tables of the same name, recursively; everything else
/// replaces. Values keep their spans, so errors still point into the file.
fn merge<'i>(base: &mut DeTable<'i>, over: DeTable<'i>) {
    for (key, value) in over {
        let both_tables = matches!(value.get_ref(), DeValue::Table(_))
            && matches!(
                base.get(key.get_ref().as_ref()).map(Spanned::get_ref),
                Some(DeValue::Table(_))
            );
        if both_tables {
            let base_table = base.get_mut(key.get_ref().as_ref()).map(Spanned::get_mut);
            if let (Some(DeValue::Table(base_table)), DeValue::Table(table)) =
                (base_table, value.into_inner())
            {
                merge(base_table, table);
            }
        } else {
            base.insert(key, value);
        }
    }
}

fn unknown_context(path: Option<&Path>, name: &str, contexts: &Contexts) -> ConfigError {
    let (origin, expected) = match path {
        Some(path) if contexts.names.is_empty() => (
            format!("config file {}", path.display()),
            "no context: the file defines no [contexts]".to_string(),
        ),
        Some(path) => (
            format!("config file {}", path.display()),
            format!("one of {}", list(&contexts.names)),
        ),
        None => (
            "command line".to_string(),
            "no context: no config file was found, so there are none".to_string(),
        ),
    };
    ConfigError::Invalid {
        origin,
        key: "--context (PIPETOP_CONTEXT)".to_string(),
        expected: format!("{expected}, found `{name}`"),
    }
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn parse_error(text: &str, path: &Path, e: &toml::de::Error) -> ConfigError {
    ConfigError::Parse {
        path: path.to_path_buf(),
        message: describe_toml_error(text, e),
    }
}

/// librdkafka properties whose values are shown by `config check`; every other value may be a
/// secret (passwords, keys, JAAS and OAUTHBEARER configs) and is masked.
const PLAIN_PROPERTIES: [&str; 14] = [
    "security.protocol",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.kerberos.service.name",
    "sasl.kerberos.principal",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.token.endpoint.url",
    "client.id",
    "ssl.endpoint.identification.algorithm",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
];

/// What `config check` prints for the masked values.
pub const MASK: &str = "***";

/// The effective settings as TOML: the file's (the context merged over the top level) with the
/// main values as pipetop uses them (defaults and command-line overrides filled in), and every
/// secret shown as `"***"`: the ClickHouse password however it was given, and every librdkafka
/// property value that is not known to be harmless.
pub fn effective_toml(loaded: &Loaded) -> String {
    use toml::Value;
    let c = &loaded.config;
    let duration =
        |d: std::time::Duration| Value::String(humantime::format_duration(d).to_string());
    let mut t = loaded.table.clone();
    t.insert("context".into(), Value::String(c.context.clone()));
    t.insert("refresh".into(), duration(c.refresh));
    t.insert("history".into(), duration(c.history));
    t.insert("theme".into(), Value::String(c.theme.clone()));

    let kafka = sub_table(&mut t, "kafka");
    kafka.insert(
        "bootstrap_servers".into(),
        Value::String(c.kafka.bootstrap_servers.clone()),
    );
    kafka.insert("request_timeout".into(), duration(c.kafka.request_timeout));
    if let Some(Value::Table(properties)) = kafka.get_mut("properties") {
        for (name, value) in properties.iter_mut() {
            if !PLAIN_PROPERTIES.contains(&name.as_str()) {
                *value = Value::String(MASK.into());
            }
        }
    }

    let ch = &c.clickhouse;
    let clickhouse = sub_table(&mut t, "clickhouse");
    for (key, value) in [
        ("url", &ch.url),
        ("user", &ch.user),
        ("database", &ch.database),
    ] {
        clickhouse.insert(key.into(), Value::String(value.clone()));
    }
    clickhouse.insert("query_timeout".into(), duration(ch.query_timeout));
    clickhouse.insert("window".into(), duration(ch.window));
    if ch.password.is_empty() {
        clickhouse.remove("password");
    } else {
        clickhouse.insert("password".into(), Value::String(MASK.into()));
    }

    if !t.contains_key("pipelines") {
        let pipelines = c.pipelines.iter().map(|p| {
            let mut row = toml::Table::new();
            if let Some(name) = &p.name {
                row.insert("name".into(), Value::String(name.clone()));
            }
            row.insert("topic".into(), Value::String(p.topic.clone()));
            row.insert("group".into(), Value::String(p.group.clone()));
            let tables = p.tables.iter().cloned().map(Value::String).collect();
            row.insert("tables".into(), Value::Array(tables));
            Value::Table(row)
        });
        t.insert("pipelines".into(), Value::Array(pipelines.collect()));
    }
    toml::to_string(&t).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
}

fn sub_table<'t>(t: &'t mut toml::Table, key: &str) -> &'t mut toml::Table {
    let value = t
        .entry(key)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !value.is_table() {
        *value = toml::Value::Table(toml::Table::new());
    }
    match value {
        toml::Value::Table(table) => table,
        _ => unreachable!("replaced by a table above"),
    }
}

/// `config contexts`: one name a line, the default marked.
pub fn describe_contexts(contexts: &Contexts, path: Option<&Path>) -> String {
    if contexts.names.is_empty() {
        return match path {
            Some(path) => format!("no contexts in {}\n", path.display()),
            None => "no config file, so no contexts (built-in defaults)\n".to_string(),
        };
    }
    contexts
        .names
        .iter()
        .map(|name| {
            if contexts.default.as_deref() == Some(name.as_str()) {
                format!("{name} (default)\n")
            } else {
                format!("{name}\n")
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "config_contexts_tests.rs"]
mod tests;
