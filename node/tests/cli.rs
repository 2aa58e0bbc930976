//! The command-line tool end to end: happy paths, a golden of what a person reads, and bad
//! input that must end in a clear error and a non-zero exit, never a panic.

use std::path::PathBuf;
use std::process::{Command, Output};

fn netsd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netsd"))
        .args(args)
        .output()
        .expect("netsd runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netsd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Asserts a failed run: exit code 1, an error line naming `needle`, no panic.
fn assert_fails_with(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("netsd: error:"), "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
}

const STATE: &str = r##"{
  "game": {"id": "g1", "ruleset": {"name": "standard", "version": "v1.2.3",
           "settings": {"foodSpawnChance": 15, "minimumFood": 1}}, "map": "standard",
           "timeout": 500, "source": "custom"},
  "turn": 4,
  "board": {"height": 11, "width": 11, "food": [{"x": 5, "y": 5}], "hazards": [],
    "snakes": [
      {"id": "a", "name": "A", "health": 96, "body": [{"x": 1, "y": 3}, {"x": 1, "y": 2}, {"x": 1, "y": 1}],
       "head": {"x": 1, "y": 3}, "length": 3, "latency": "12", "shout": "", "squad": "",
       "customizations": {"color": "#ff0000", "head": "default", "tail": "default"}},
      {"id": "b", "name": "B", "health": 96, "body": [{"x": 9, "y": 7}, {"x": 9, "y": 8}, {"x": 9, "y": 9}],
       "head": {"x": 9, "y": 7}, "length": 3, "latency": "20", "shout": "", "squad": "",
       "customizations": {"color": "#0000ff", "head": "default", "tail": "default"}}
    ]},
  "you": {"id": "a", "name": "A", "health": 96, "body": [{"x": 1, "y": 3}, {"x": 1, "y": 2}, {"x": 1, "y": 1}],
          "head": {"x": 1, "y": 3}, "length": 3, "latency": "12", "shout": "", "squad": "",
          "customizations": {"color": "#ff0000", "head": "default", "tail": "default"}}
}"##;

#[test]
fn play_then_replay_verifies() {
    let path = temp("game.json");
    let out = netsd(&["play", "--seed", "11", "-o", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("result: "));
    let out = netsd(&["replay", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("the recorded result matches the replay"));
}

#[test]
fn play_output_is_golden() {
    let out = netsd(&["play", "--seed", "5", "-a", "search", "-a", "greedy"]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn replay_rejects_a_tampered_transcript() {
    let path = temp("tampered.json");
    let out = netsd(&["play", "--seed", "12", "-o", path.to_str().unwrap()]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    let mut t: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Claim the other player won.
    let claimed = t["result"].clone();
    t["result"] = if claimed == serde_json::json!({"winner": 0}) {
        serde_json::json!({"winner": 1})
    } else {
        serde_json::json!({"winner": 0})
    };
    std::fs::write(&path, t.to_string()).unwrap();
    assert_fails_with(
        &netsd(&["replay", path.to_str().unwrap()]),
        "does not verify",
    );
}

#[test]
fn replay_rejects_truncated_and_garbage_files() {
    let path = temp("truncated.json");
    let out = netsd(&["play", "--seed", "13", "-o", path.to_str().unwrap()]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    assert_fails_with(
        &netsd(&["replay", path.to_str().unwrap()]),
        "not a valid transcript",
    );
    std::fs::write(&path, [0xff, 0x00, 0x13]).unwrap();
    assert_fails_with(
        &netsd(&["replay", path.to_str().unwrap()]),
        "did not contain valid UTF-8",
    );
    assert_fails_with(
        &netsd(&["replay", "/nonexistent/x.json"]),
        "reading /nonexistent/x.json",
    );
}

#[test]
fn step_moves_a_battlesnake_state() {
    let path = temp("state.json");
    std::fs::write(&path, STATE).unwrap();
    let out = netsd(&[
        "step",
        path.to_str().unwrap(),
        "--moves",
        "a=right,b=down",
        "--spawn",
        "off",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let next: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(next["turn"], 5);
    assert_eq!(
        next["board"]["snakes"][0]["head"],
        serde_json::json!({"x": 2, "y": 3})
    );
    assert_eq!(
        next["board"]["snakes"][1]["head"],
        serde_json::json!({"x": 9, "y": 6})
    );
    assert_eq!(next["board"]["snakes"][0]["health"], 95);
    assert_eq!(next["you"]["id"], "a");
    assert_eq!(
        next["board"]["snakes"][1]["customizations"]["color"],
        "#0000ff"
    );
    assert_eq!(next["board"]["food"], serde_json::json!([{"x": 5, "y": 5}]));
}

#[test]
fn step_rejects_bad_states_and_moves() {
    let path = temp("bad-state.json");
    let p = path.to_str().unwrap();
    let off_board = STATE.replacen(r#"{"x": 1, "y": 1}]"#, r#"{"x": 1, "y": 11}]"#, 1);
    std::fs::write(&path, off_board).unwrap();
    assert_fails_with(
        &netsd(&["step", p]),
        "board.snakes[0].body[2] is (1, 11), off the 11x11 board",
    );

    std::fs::write(
        &path,
        STATE.replacen("\"health\": 96", "\"health\": 150", 1),
    )
    .unwrap();
    assert_fails_with(&netsd(&["step", p]), "board.snakes[0].health is 150");

    std::fs::write(&path, STATE.replace("\"width\": 11", "\"width\": 300")).unwrap();
    assert_fails_with(&netsd(&["step", p]), "board.width is 300");

    std::fs::write(&path, &STATE[..200]).unwrap();
    assert_fails_with(&netsd(&["step", p]), "not a Battlesnake move request");

    std::fs::write(&path, STATE).unwrap();
    assert_fails_with(
        &netsd(&["step", p, "--moves", "a=sideways"]),
        "\"sideways\" is not up, down, left or right",
    );
    assert_fails_with(
        &netsd(&["step", p, "--moves", "zz=up"]),
        "no snake has id \"zz\"",
    );
    assert_fails_with(
        &netsd(&["step", p, "--moves", "up,up,up"]),
        "3 moves given for 2 snakes",
    );
    assert_fails_with(&netsd(&["step", p, "--seed", "xyz"]), "seed \"xyz\"");
}

#[test]
fn play_rejects_unplayable_parameters() {
    assert_fails_with(
        &netsd(&["play", "--board", "3"]),
        "each side must be 5..=25",
    );
    assert_fails_with(
        &netsd(&["play", "-a", "search", "--max-turns", "0"]),
        "needs a turn limit",
    );
    assert_fails_with(
        &netsd(&["play", "--food-spawn-chance", "101"]),
        "food_spawn_chance is 101",
    );
    // Unknown agents are refused by the argument parser (exit code 2) with the valid names.
    let out = netsd(&["play", "-a", "wizard"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values: random, greedy, search"));
}

#[test]
fn show_prints_a_board() {
    let path = temp("show.json");
    std::fs::write(&path, STATE).unwrap();
    let out = netsd(&["show", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
    std::fs::write(&path, "{}").unwrap();
    assert_fails_with(
        &netsd(&["show", path.to_str().unwrap()]),
        "neither a transcript nor a valid Battlesnake state",
    );
}
