//! The table ownership guard: every table has one owning crate, and only its owner writes it.
//!
//! The map is the "Table ownership" section of `docs/ARCHITECTURE.md`, read here, so the doc and
//! the guard cannot disagree. Each crate's source (`crates/<crate>/src`, test code left out) is
//! scanned for writes — `insert_into(t::table`, `diesel::update(t::table`,
//! `diesel::delete(t::table` (through `use … t as alias` too) and raw `INSERT INTO t`,
//! `UPDATE t`, `DELETE FROM t` — and a write to a table another crate owns fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The owner of each table and the crates exempt from the guard, as the doc says.
struct Map {
    owners: BTreeMap<String, String>,
    exempt: BTreeSet<String>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reads the "Table ownership" table of `docs/ARCHITECTURE.md`: `| \`crate\` | \`t\`, \`u\` |`,
/// or `| \`crate\` | exempt: why |`.
fn map() -> Map {
    let doc = std::fs::read_to_string(workspace().join("docs/ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("\n## Table ownership")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has a \"Table ownership\" section");
    let section = section.split("\n## ").next().unwrap();
    let mut owners = BTreeMap::new();
    let mut exempt = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let krate = cells[0].trim_matches('`').to_owned();
        if cells[1].starts_with("exempt") {
            exempt.insert(krate);
            continue;
        }
        for table in cells[1].split(',') {
            let table = table.trim().trim_matches('`').to_owned();
            if let Some(other) = owners.insert(table.clone(), krate.clone()) {
                panic!("{table} is owned by both {other} and {krate} in the map");
            }
        }
    }
    Map { owners, exempt }
}

/// The tables `schema.rs` declares.
fn tables() -> BTreeSet<String> {
    include_str!("../schema.rs")
        .split("diesel::table! {")
        .skip(1)
        .map(|t| {
            // A table with a custom SQL type starts with its `use` lines.
            let body = t
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("use "))
                .unwrap();
            let name = body.split([' ', '(']).next().unwrap();
            name.to_owned()
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            // Test code writes its fixtures directly.
            if name != "tests" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The tables `source` writes, by name (aliases resolved against `tables`).
fn writes(source: &str, tables: &BTreeSet<String>) -> BTreeSet<String> {
    // Inline test modules come last in a file; their fixtures are not the crate's writes.
    let source = source.split("#[cfg(test)]\nmod tests").next().unwrap();
    let mut aliases: BTreeMap<&str, &str> = BTreeMap::new();
    for (at, _) in source.match_indices(" as ") {
        let before = source[..at]
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap();
        if tables.contains(before) {
            aliases.insert(ident(&source[at + 4..]), before);
        }
    }
    let mut found = BTreeSet::new();
    let builders = ["insert_into(", "diesel::update(", "diesel::delete("];
    let raw = ["INSERT INTO ", "UPDATE ", "DELETE FROM "];
    for pattern in builders.iter().chain(&raw) {
        for (at, _) in source.match_indices(pattern) {
            let rest = source[at + pattern.len()..].trim_start_matches([' ', '\n', '\t', '(', '"']);
            let name = ident(rest);
            // A query builder names `t::table`; raw SQL names the table.
            if builders.contains(pattern) && !rest[name.len()..].starts_with("::table") {
                continue;
            }
            let name = aliases.get(name).copied().unwrap_or(name);
            if tables.contains(name) {
                found.insert(name.to_owned());
            }
        }
    }
    found
}

#[test]
fn every_table_has_one_owner_in_the_map() {
    let map = map();
    let declared = tables();
    let mapped: BTreeSet<String> = map.owners.keys().cloned().collect();
    let unowned: Vec<_> = declared.difference(&mapped).collect();
    let unknown: Vec<_> = mapped.difference(&declared).collect();
    assert!(unowned.is_empty(), "tables without an owner: {unowned:?}");
    assert!(
        unknown.is_empty(),
        "the map names tables that do not exist: {unknown:?}"
    );
}

#[test]
fn a_crate_writes_only_the_tables_it_owns() {
    let map = map();
    let tables = tables();
    let mut foreign = Vec::new();
    let crates = workspace().join("crates");
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let krate = dir.file_name().unwrap().to_string_lossy().into_owned();
        if map.exempt.contains(&krate) || !dir.join("src").is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for table in writes(&source, &tables) {
                if map.owners.get(&table) != Some(&krate) {
                    let owner = map.owners.get(&table).map_or("nobody", String::as_str);
                    let file = file.strip_prefix(&crates).unwrap().display();
                    foreign.push(format!("{file} writes {table}, owned by {owner}"));
                }
            }
        }
    }
    assert!(
        foreign.is_empty(),
        "writes to tables of other crates:\n{}",
        foreign.join("\n")
    );
}

#[test]
fn the_scan_sees_every_form_of_write() {
    let tables: BTreeSet<String> = ["modules", "reward_redemptions", "jobs"]
        .into_iter()
        .map(String::from)
        .collect();
    let seen = |source: &str| writes(source, &tables);
    assert_eq!(
        seen("diesel::insert_into(modules::table)"),
        tables_of(&["modules"])
    );
    assert_eq!(
        seen("diesel::update(\n  modules::table.find(id))"),
        tables_of(&["modules"])
    );
    assert_eq!(
        seen("diesel::delete(modules::table)"),
        tables_of(&["modules"])
    );
    assert_eq!(
        seen("use s::{reward_redemptions as rr};\ndiesel::update(rr::table)"),
        tables_of(&["reward_redemptions"])
    );
    assert_eq!(seen("sql(\"INSERT INTO jobs (id)\")"), tables_of(&["jobs"]));
    assert_eq!(
        seen("\"UPDATE modules SET x = 1\""),
        tables_of(&["modules"])
    );
    assert_eq!(seen("\"DELETE FROM modules\""), tables_of(&["modules"]));
    // Not writes: a conflict clause, a row lock, a read.
    assert!(seen("ON CONFLICT DO UPDATE SET x = 1; FOR UPDATE SKIP LOCKED").is_empty());
    assert!(seen("modules::table.filter(x)").is_empty());
    assert!(seen("#[cfg(test)]\nmod tests { \"INSERT INTO jobs\" }").is_empty());
}

fn tables_of(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}
