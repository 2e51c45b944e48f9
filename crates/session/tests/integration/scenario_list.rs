//! One list of end-to-end scenarios (`e2e/scenarios.json`), two runners: the Python harness
//! (`e2e/harness/scenarios.py`, our core through its bindings over `livekit.rtc`) and the
//! native test (`e2e.rs`, `--features e2e`, only type-checked here). This checks, on every
//! `cargo test`, that both implement exactly the listed ids in the listed order.

use std::{fs, path::PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn listed() -> Vec<String> {
    let text = fs::read_to_string(repo().join("e2e/scenarios.json")).expect("e2e/scenarios.json");
    let list: Vec<Value> = serde_json::from_str(&text).expect("a JSON list");
    list.iter()
        .map(|entry| {
            assert!(
                entry.get("asserts").and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
                "every scenario says what it asserts: {entry}"
            );
            entry["id"].as_str().expect("an id").to_owned()
        })
        .collect()
}

/// The ids a runner implements, in order: the entries of its table, from `start` to `end`.
fn implemented(
    path: &str,
    start: &str,
    end: &str,
    entry: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let text = fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let table = text.split_once(start).unwrap_or_else(|| panic!("{path}: no `{start}`")).1;
    let table = table.split_once(end).unwrap_or_else(|| panic!("{path}: no `{end}`")).0;
    table.lines().filter_map(|line| entry(line.trim())).collect()
}

fn quoted_prefix(line: &str, open: &str) -> Option<String> {
    let rest = line.strip_prefix(open)?;
    Some(rest.split_once('"')?.0.to_owned())
}

#[test]
fn the_python_harness_and_the_native_test_run_the_shared_list() {
    let list = listed();
    assert!(list.len() >= 12, "{list:?}");
    let python = implemented(
        "e2e/harness/scenarios.py",
        "SCENARIOS: dict[str, tuple[Scenario, bool]] = {",
        "\n}",
        |line| quoted_prefix(line, "\""),
    );
    assert_eq!(python, list, "e2e/harness/scenarios.py SCENARIOS against e2e/scenarios.json");
    let native = implemented(
        "crates/session/tests/integration/e2e.rs",
        "const SCENARIOS: &[Scenario] = &[",
        "\n];",
        |line| quoted_prefix(line, "(\""),
    );
    assert_eq!(native, list, "e2e.rs SCENARIOS against e2e/scenarios.json");
}
