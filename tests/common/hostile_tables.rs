//! Names anyone can give on a ClickHouse server: a database whose name holds an ESC sequence and
//! CJK, a table in it whose name holds an OSC title sequence, a BEL, CJK and a newline, a table of
//! 140 characters (26.9 refuses a table name once it and its database's name, escaped for the
//! filesystem with each non-ASCII byte as `%XX`, pass about 213 bytes: 60 CJK characters are 540;
//! 18.16 refuses paths its filesystem layer finds too long), and an insert that
//! fails on a value holding ESC sequences (26.9 quotes the value in its exception; 18.16 does not,
//! but its query_log keeps the query text), and a table whose name is not UTF-8 (`bin\xff`: a
//! String may hold any bytes; pipetop shows U+FFFD for the bad byte). Dropped on drop.

/// The value the failing insert tries to put into an Int32 column.
pub const BAD_VALUE: &str = "\u{1b}[31mbad\u{1b}[0m";

pub struct HostileTables {
    pub url: String,
    pub tag: String,
    pub database: String,
    /// `database.table`, as pipetop names tables: the hostile one first, then the long one, then
    /// the one named with an invalid byte (U+FFFD in its place).
    pub tables: Vec<String>,
}

/// A backquoted identifier: backslash, backquote and control characters escaped as ClickHouse
/// reads them, so the name arrives exactly.
pub fn ident(name: &str) -> String {
    let mut out = String::from("`");
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '`' => out.push_str("\\`"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('`');
    out
}

/// A single-quoted string literal, escaped the same way.
pub fn literal(text: &str) -> String {
    let quoted = ident(text);
    format!("'{}'", quoted[1..quoted.len() - 1].replace('\'', "\\'"))
}

impl HostileTables {
    pub async fn create(url: &str) -> HostileTables {
        let tag = super::unique("hostile_ch");
        let database = format!("{tag}_db\u{1b}[31m数据库");
        let names = [
            "t\u{1b}]0;pwned-title\u{7}表\nline".to_string(),
            "L".repeat(140),
        ];
        super::exec(url, &format!("CREATE DATABASE {}", ident(&database))).await;
        let mut tables = HostileTables {
            url: url.to_string(),
            tag,
            tables: names.iter().map(|t| format!("{database}.{t}")).collect(),
            database: database.clone(),
        };
        tables.tables.push(format!("{database}.bin\u{fffd}"));
        // `\xff` in a quoted identifier is the byte itself, which no Rust string can hold.
        let sql_names = names
            .iter()
            .map(|n| ident(n))
            .chain(["`bin\\xff`".to_string()]);
        for name in sql_names {
            let table = format!("{}.{name}", ident(&database));
            super::exec(
                url,
                &format!("CREATE TABLE {table} (n Int32) ENGINE = MergeTree ORDER BY n"),
            )
            .await;
            super::exec(url, &format!("INSERT INTO {table} VALUES (1), (2)")).await;
        }
        let table = format!("{}.{}", ident(&database), ident(&names[0]));
        let failed = super::writer(url)
            .query(&format!(
                "INSERT INTO {table} VALUES ({})",
                literal(BAD_VALUE)
            ))
            .execute()
            .await;
        assert!(failed.is_err(), "a string into an Int32 column must fail");
        super::flush_logs(url).await;
        tables
    }

    /// A config for the server with no table filter: `include_tables` is matched by the server's
    /// RE2 (UTF-8), whose `.` never matches the invalid byte, so it would leave `bin\xff` out.
    /// The dashboard's own `/` filter (Rust regex, on the decoded names) finds them instead.
    pub fn config_toml(&self) -> String {
        format!(
            "refresh = \"1s\"\n[kafka]\nbootstrap_servers = \"{}\"\ninclude_groups = ['{}']\n\
             [clickhouse]\nurl = \"{}\"\n",
            super::KAFKA,
            self.tag,
            self.url,
        )
    }
}

impl Drop for HostileTables {
    fn drop(&mut self) {
        let (url, sql) = (
            self.url.clone(),
            format!("DROP DATABASE {}", ident(&self.database)),
        );
        // Drop may run inside a test's runtime: clean up on a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let _ = super::writer(&url).query(&sql).execute().await;
            });
        })
        .join();
    }
}
