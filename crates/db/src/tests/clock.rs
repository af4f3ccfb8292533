//! The clock guard: time that decides a rule or is stamped on a row comes in as a `now` from the
//! caller (the request's `ctx.now`, a reaction's or job's clock), so tests can move it. No crate
//! below the api layer reads the wall clock with `Utc::now()`, except the few places listed in
//! [`ALLOWED`], each with its reason.
//!
//! Test code is left out: `tests.rs`, `tests/` folders and inline `#[cfg(test)]` modules (which
//! come last in a file).

use std::path::{Path, PathBuf};

/// The crates that are the edge, where the clock lives: they are not scanned.
const EDGE: [&str; 4] = [
    // Handlers pass `ctx.now`, reactions and jobs their clock's `now`.
    "api",    // The benchmark data set generator.
    "bench",  // `SystemClock`, the one wall clock every other reads.
    "kernel", // Test databases.
    "testkit",
];

/// `(file under crates/, how many calls, why)`: the justified reads of the wall clock.
const ALLOWED: [(&str, usize, &str); 2] = [
    (
        "db/src/worker.rs",
        1,
        "the worker loop ticks schedules at the wall clock's time; tests call `tick_schedules` \
         with their own `now`",
    ),
    (
        "learning/src/modules.rs",
        2,
        "`ModuleAvailable.at` is compared with `memberships.created_at`, which the database \
         stamps, to leave out members who joined later: both must come from the same clock",
    ),
];

const CALL: &str = "Utc::now()";

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// How many times `source` reads the wall clock outside its inline test module.
fn calls(source: &str) -> usize {
    let source = source.split("#[cfg(test)]\nmod ").next().unwrap();
    source.matches(CALL).count()
}

#[test]
fn no_crate_below_the_api_reads_the_wall_clock_outside_the_allow_list() {
    let crates = crates_dir();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let krate = dir.file_name().unwrap().to_string_lossy().into_owned();
        if EDGE.contains(&krate.as_str()) || !dir.join("src").is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in files {
            let n = calls(&std::fs::read_to_string(&file).unwrap());
            if n > 0 {
                let name = file.strip_prefix(&crates).unwrap().display().to_string();
                found.push((name.replace('\\', "/"), n));
            }
        }
    }
    found.sort();
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(file, n)| {
            !ALLOWED
                .iter()
                .any(|(allowed, max, _)| allowed == file && n <= max)
        })
        .map(|(file, n)| format!("{file}: {n} × {CALL}"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "take a `now: DateTime<Utc>` from the caller instead of reading the wall clock:\n{}",
        unexpected.join("\n")
    );
    // An allowance nobody uses any more goes too, so the list stays the truth.
    let stale: Vec<&str> = ALLOWED
        .iter()
        .filter(|(allowed, _, _)| !found.iter().any(|(file, _)| file == allowed))
        .map(|(allowed, _, _)| *allowed)
        .collect();
    assert!(
        stale.is_empty(),
        "allowed but no longer reading the clock: {stale:?}"
    );
}

#[test]
fn the_scan_counts_calls_outside_inline_tests_only() {
    assert_eq!(calls("let a = Utc::now();\nlet b = chrono::Utc::now();"), 2);
    assert_eq!(calls("fn f(now: DateTime<Utc>) { now }"), 0);
    assert_eq!(
        calls("let a = Utc::now();\n#[cfg(test)]\nmod tests { let b = Utc::now(); }"),
        1
    );
    assert_eq!(calls("#[cfg(test)]\nmod unit { let b = Utc::now(); }"), 0);
}
