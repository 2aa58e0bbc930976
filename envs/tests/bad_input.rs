//! Specific malformed inputs, and that the error message names the problem.

use nets_envs::log::{ActionLog, EnvSpec, ReplayError};
use nets_envs::snake::battlesnake;
use nets_envs::snake::{Direction, SnakeError, SnakeGame, SnakeParams};
use nets_envs::transcript::{FORMAT, Transcript, TranscriptError};
use nets_envs::{Outcome, ToMove};
use serde_json::{Value, json};

// ---- Battlesnake /move requests ---------------------------------------------------------------

fn coord(x: i64, y: i64) -> Value {
    json!({ "x": x, "y": y })
}

fn snake(id: &str, health: i64, body: &[(i64, i64)]) -> Value {
    let body: Vec<Value> = body.iter().map(|&(x, y)| coord(x, y)).collect();
    json!({
        "id": id,
        "name": id,
        "health": health,
        "body": body,
        "head": body[0],
        "length": body.len(),
        "latency": "12",
        "shout": "",
        "squad": "",
        "customizations": { "color": "#888888", "head": "default", "tail": "default" }
    })
}

/// A valid duel request on 11x11.
fn request() -> Value {
    let me = snake("me", 90, &[(1, 1), (1, 2), (1, 3)]);
    json!({
        "game": {
            "id": "g",
            "ruleset": {
                "name": "standard",
                "version": "v1.2.3",
                "settings": { "foodSpawnChance": 15, "minimumFood": 1, "hazardDamagePerTurn": 0 }
            },
            "map": "standard",
            "timeout": 500,
            "source": "custom"
        },
        "turn": 3,
        "board": {
            "height": 11,
            "width": 11,
            "food": [coord(5, 5)],
            "hazards": [],
            "snakes": [me.clone(), snake("them", 80, &[(9, 9), (9, 8), (9, 7)])]
        },
        "you": me
    })
}

fn import_err(doc: &Value) -> String {
    import_text_err(&doc.to_string())
}

fn import_text_err(text: &str) -> String {
    match battlesnake::from_json(text, [0; 32]) {
        Ok((game, _)) => panic!("accepted:\n{text}\n{game}"),
        Err(e) => {
            assert!(matches!(e, SnakeError::InvalidState(_)), "{e:?}");
            e.to_string()
        }
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "error {message:?} does not mention {part:?}"
        );
    }
}

#[test]
fn valid_request_imports() {
    let (game, meta) = battlesnake::from_json(&request().to_string(), [0; 32]).unwrap();
    assert_eq!(game.turn(), 3);
    assert_eq!(game.snakes().len(), 2);
    assert_eq!(meta.index_of("them"), Some(1));
}

#[test]
fn truncated_request() {
    let text = request().to_string();
    for cut in [0, 1, text.len() / 3, text.len() / 2, text.len() - 1] {
        let msg = import_text_err(&text[..cut]);
        assert_mentions(&msg, &["not a Battlesnake move request", "EOF"]);
    }
}

#[test]
fn not_json_at_all() {
    let msg = import_text_err("up");
    assert_mentions(&msg, &["not a Battlesnake move request"]);
    let msg = import_text_err("{}");
    assert_mentions(&msg, &["missing field"]);
}

#[test]
fn body_segment_off_the_board() {
    let mut doc = request();
    doc["board"]["snakes"][1]["body"][2] = coord(9, 11);
    let msg = import_err(&doc);
    assert_mentions(
        &msg,
        &["board.snakes[1].body[2]", "(9, 11)", "off the 11x11 board"],
    );

    let mut doc = request();
    doc["board"]["snakes"][0]["body"][1] = coord(-1, 1);
    doc["board"]["snakes"][0]["body"][2] = coord(-1, 2);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.snakes[0].body[1]", "(-1, 1)"]);
}

#[test]
fn food_off_the_board() {
    let mut doc = request();
    doc["board"]["food"] = json!([coord(5, 5), coord(11, 0)]);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.food[1]", "(11, 0)", "off the"]);
}

#[test]
fn health_above_the_maximum() {
    let mut doc = request();
    doc["board"]["snakes"][0]["health"] = json!(150);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.snakes[0].health", "150", "0..=100"]);

    let mut doc = request();
    doc["board"]["snakes"][1]["health"] = json!(-1);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.snakes[1].health", "-1"]);
}

#[test]
fn board_too_wide() {
    let mut doc = request();
    doc["board"]["width"] = json!(300);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.width", "300", "5..=25"]);

    let mut doc = request();
    doc["board"]["height"] = json!(4);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.height", "4", "5..=25"]);
}

#[test]
fn duplicate_snake_ids() {
    let mut doc = request();
    doc["board"]["snakes"][1]["id"] = json!("me");
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.snakes[1].id", "\"me\"", "not unique"]);
}

#[test]
fn head_is_not_the_first_body_segment() {
    let mut doc = request();
    doc["board"]["snakes"][1]["head"] = coord(9, 8);
    let msg = import_err(&doc);
    assert_mentions(
        &msg,
        &["board.snakes[1].head", "not the first body segment"],
    );
}

#[test]
fn length_differs_from_body() {
    let mut doc = request();
    doc["board"]["snakes"][0]["length"] = json!(4);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.snakes[0].length", "4", "3 segments"]);
}

#[test]
fn empty_body() {
    let mut doc = request();
    doc["board"]["snakes"][1]["body"] = json!([]);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.snakes[1].body is empty"]);
}

#[test]
fn body_with_a_gap() {
    let mut doc = request();
    doc["board"]["snakes"][1]["body"][2] = coord(8, 7);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["snake 1", "gap", "(9, 8)", "(8, 7)"]);
}

#[test]
fn hazards_are_refused() {
    let mut doc = request();
    doc["board"]["hazards"] = json!([coord(0, 0)]);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.hazards", "1 cells", "no hazards"]);
}

#[test]
fn other_rulesets_are_refused() {
    for name in ["royale", "constrictor", "wrapped", "squad"] {
        let mut doc = request();
        doc["game"]["ruleset"]["name"] = json!(name);
        let msg = import_err(&doc);
        assert_mentions(&msg, &["game.ruleset.name", name, "\"standard\""]);
    }
}

#[test]
fn snake_counts() {
    let mut doc = request();
    doc["board"]["snakes"] = json!([]);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.snakes has 0 snakes", "1..=4"]);

    let mut doc = request();
    let five: Vec<Value> = (0..5)
        .map(|i| snake(&format!("s{i}"), 50, &[(i * 2, 0)]))
        .collect();
    doc["board"]["snakes"] = json!(five);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["board.snakes has 5 snakes"]);
}

#[test]
fn you_must_be_on_the_board() {
    let mut doc = request();
    doc["you"]["id"] = json!("ghost");
    let msg = import_err(&doc);
    assert_mentions(&msg, &["you.id", "\"ghost\"", "not one of board.snakes"]);
}

#[test]
fn settings_out_of_range() {
    let mut doc = request();
    doc["game"]["ruleset"]["settings"]["foodSpawnChance"] = json!(101);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["foodSpawnChance", "101", "0..=100"]);

    let mut doc = request();
    doc["game"]["ruleset"]["settings"]["minimumFood"] = json!(-2);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["minimumFood", "-2"]);

    let mut doc = request();
    doc["turn"] = json!(-1);
    let msg = import_err(&doc);
    assert_mentions(&msg, &["turn is -1"]);
}

#[test]
fn wrong_json_types() {
    let mut doc = request();
    doc["board"]["width"] = json!("eleven");
    let msg = import_err(&doc);
    assert_mentions(&msg, &["not a Battlesnake move request", "invalid type"]);

    let mut doc = request();
    doc["board"]["snakes"][0]["body"][0] = json!({ "x": 1.5, "y": 1 });
    let msg = import_err(&doc);
    assert_mentions(&msg, &["not a Battlesnake move request"]);
}

#[test]
fn export_of_a_missing_player() {
    let (game, meta) = battlesnake::from_json(&request().to_string(), [0; 32]).unwrap();
    let err = battlesnake::export(&game, &meta, 2).unwrap_err();
    assert_mentions(&err.to_string(), &["player 2 is not in this game"]);
}

// ---- transcripts --------------------------------------------------------------------------------

/// A finished duel on 7x7: both snakes walk; the game ends by the turn limit or earlier.
fn finished() -> (Transcript, SnakeGame) {
    let params = SnakeParams {
        max_turns: 6,
        food_spawn_chance: 0,
        minimum_food: 0,
        ..SnakeParams::duel(7)
    };
    let seed = [4; 32];
    let mut game = SnakeGame::new(params.clone(), seed).unwrap();
    let mut log = ActionLog::new(EnvSpec::Snake(params), seed);
    while !game.is_over() {
        // Each snake takes the first move that keeps it on the board and off bodies.
        let moves: Vec<Direction> = game
            .snakes()
            .iter()
            .map(|s| {
                Direction::ALL
                    .into_iter()
                    .find(|&d| {
                        let n = s.head().step(d);
                        game.in_bounds(n)
                            && game.snakes().iter().all(|o| {
                                o.body
                                    .iter()
                                    .take(o.len().saturating_sub(1))
                                    .all(|&p| p != n)
                            })
                    })
                    .unwrap_or(Direction::Up)
            })
            .collect();
        log.record_turn(&game, &moves);
        game.step(&moves).unwrap();
    }
    let t = Transcript::from_log(&log, vec!["alice".into(), "bob".into()]).unwrap();
    (t, game)
}

fn transcript_json() -> Value {
    serde_json::from_str(&finished().0.to_json()).unwrap()
}

/// Parses and verifies; returns the error's text.
fn verify_err(doc: &Value) -> (TranscriptError, String) {
    let text = serde_json::to_string_pretty(doc).unwrap();
    let err = match Transcript::from_json(&text) {
        Err(e) => e,
        Ok(t) => match t.verify() {
            Err(e) => e,
            Ok(game) => panic!("accepted:\n{text}\n{game}"),
        },
    };
    let msg = err.to_string();
    (err, msg)
}

#[test]
fn valid_transcript_verifies() {
    let (t, game) = finished();
    assert!(game.is_over());
    assert_eq!(t.result, game.outcome().copied());
    let parsed = Transcript::from_json(&t.to_json()).unwrap();
    assert_eq!(parsed.verify().unwrap(), game);
}

#[test]
fn wrong_format_tag() {
    let mut doc = transcript_json();
    doc["format"] = json!("nets-transcript/2");
    let (err, msg) = verify_err(&doc);
    assert!(matches!(err, TranscriptError::Format(_)), "{err:?}");
    assert_mentions(&msg, &["nets-transcript/2", FORMAT]);
}

#[test]
fn bad_move_letter() {
    let mut doc = transcript_json();
    doc["moves"][1] = json!("ux");
    let (err, msg) = verify_err(&doc);
    assert!(
        matches!(err, TranscriptError::Moves { turn: 1, .. }),
        "{err:?}"
    );
    assert_mentions(&msg, &["turn 1", "'x'", "is not a move"]);
}

#[test]
fn wrong_number_of_moves_in_a_turn() {
    for line in ["u", "uuu", ""] {
        let mut doc = transcript_json();
        doc["moves"][0] = json!(line);
        let (err, msg) = verify_err(&doc);
        assert!(
            matches!(err, TranscriptError::Moves { turn: 0, .. }),
            "{err:?}"
        );
        assert_mentions(
            &msg,
            &["turn 0", &format!("{} moves for 2 players", line.len())],
        );
    }
}

#[test]
fn wrong_number_of_player_names() {
    let mut doc = transcript_json();
    doc["players"] = json!(["solo"]);
    let (err, msg) = verify_err(&doc);
    assert!(matches!(err, TranscriptError::Players { .. }), "{err:?}");
    assert_mentions(&msg, &["1 player names", "2 players"]);
}

#[test]
fn claimed_result_differs_from_replay() {
    let (t, game) = finished();
    let real = game.outcome().copied().unwrap();
    let claims = [
        Some(Outcome::Winner(0)),
        Some(Outcome::Winner(1)),
        Some(Outcome::Draw),
        None,
    ];
    for claim in claims.into_iter().filter(|c| *c != Some(real)) {
        let mut doc: Value = serde_json::from_str(&t.to_json()).unwrap();
        doc["result"] = serde_json::to_value(claim).unwrap();
        let (err, msg) = verify_err(&doc);
        assert!(
            matches!(err, TranscriptError::ResultMismatch { .. }),
            "{err:?}"
        );
        assert_mentions(
            &msg,
            &["claims", &format!("{claim:?}"), &format!("{real:?}")],
        );
    }
}

#[test]
fn moves_after_the_game_ended() {
    let (t, game) = finished();
    let ended = game.turn();
    let mut doc: Value = serde_json::from_str(&t.to_json()).unwrap();
    doc["moves"].as_array_mut().unwrap().push(json!("uu"));
    let (err, msg) = verify_err(&doc);
    assert!(
        matches!(
            err,
            TranscriptError::Replay(ReplayError::MovesAfterEnd { .. })
        ),
        "{err:?}"
    );
    assert_mentions(
        &msg,
        &[
            &format!("ended at turn {ended}"),
            &format!("{} turns", ended + 1),
        ],
    );
}

#[test]
fn unknown_field_in_params() {
    let mut doc = transcript_json();
    doc["spec"]["food_spawn_rate"] = json!(10);
    let (err, msg) = verify_err(&doc);
    assert!(matches!(err, TranscriptError::Parse(_)), "{err:?}");
    assert_mentions(
        &msg,
        &["not a transcript", "unknown field", "food_spawn_rate"],
    );
}

#[test]
fn unknown_top_level_field_and_env() {
    let mut doc = transcript_json();
    doc["winner"] = json!("alice");
    let (_, msg) = verify_err(&doc);
    assert_mentions(&msg, &["unknown field", "winner"]);

    let mut doc = transcript_json();
    doc["spec"]["env"] = json!("chess");
    let (_, msg) = verify_err(&doc);
    assert_mentions(&msg, &["not a transcript", "chess"]);
}

#[test]
fn invalid_params_in_a_transcript() {
    let mut doc = transcript_json();
    doc["spec"]["width"] = json!(3);
    let (err, msg) = verify_err(&doc);
    assert!(
        matches!(
            err,
            TranscriptError::Replay(ReplayError::Env(SnakeError::InvalidParams(_)))
        ),
        "{err:?}"
    );
    assert_mentions(&msg, &["invalid snake parameters", "3x7", "5..=25"]);

    let mut doc = transcript_json();
    doc["spec"]["width"] = json!(256);
    let (_, msg) = verify_err(&doc);
    assert_mentions(&msg, &["not a transcript", "256"]);
}

#[test]
fn bad_seed() {
    let mut doc = transcript_json();
    doc["seed"] = json!("abcd");
    let (_, msg) = verify_err(&doc);
    assert_mentions(&msg, &["seed is 2 bytes", "must be 32"]);

    let mut doc = transcript_json();
    doc["seed"] = json!("zz");
    let (_, msg) = verify_err(&doc);
    assert_mentions(&msg, &["not a transcript", "seed"]);
}

#[test]
fn non_canonical_move_strings() {
    // Upper-case letters parse but are not the canonical record.
    let mut doc = transcript_json();
    let first = doc["moves"][0].as_str().unwrap().to_uppercase();
    doc["moves"][0] = json!(first);
    let (err, msg) = verify_err(&doc);
    assert!(
        matches!(err, TranscriptError::Moves { turn: 0, .. }),
        "{err:?}"
    );
    assert_mentions(&msg, &["not canonical"]);

    // '-' for a player who is to move.
    let mut doc = transcript_json();
    doc["moves"][0] = json!("-u");
    let (_, msg) = verify_err(&doc);
    assert_mentions(&msg, &["turn 0", "canonical"]);
}

#[test]
fn a_letter_for_an_eliminated_player() {
    // Snake 0 walks off the board at once; snake 1 plays on in a free-for-all of three.
    let params = SnakeParams {
        snakes: 3,
        max_turns: 10,
        food_spawn_chance: 0,
        minimum_food: 0,
        ..SnakeParams::default()
    };
    let seed = [2; 32];
    let game = SnakeGame::new(params.clone(), seed).unwrap();
    // Snake 0 heads for the nearest edge (its start cell is one in from an edge); the
    // others head for the centre, which they cannot reach in the few turns this takes.
    let head = game.snakes()[0].head();
    let towards = if head.x == 1 {
        Direction::Left
    } else if head.y == 1 {
        Direction::Down
    } else if head.x == 9 {
        Direction::Right
    } else {
        Direction::Up
    };
    let inward = |p: nets_envs::snake::Point| {
        if p.x == 1 {
            Direction::Right
        } else if p.x == 9 {
            Direction::Left
        } else if p.y == 1 {
            Direction::Up
        } else {
            Direction::Down
        }
    };
    let starts: Vec<_> = game.snakes().iter().map(|s| s.head()).collect();
    let mut g = game.clone();
    let mut log = ActionLog::new(EnvSpec::Snake(params), seed);
    while g.snakes()[0].is_alive() {
        let moves = [towards, inward(starts[1]), inward(starts[2])];
        log.record_turn(&g, &moves);
        g.step(&moves).unwrap();
    }
    assert!(!g.is_over(), "{g}");
    assert_eq!(
        g.to_move(),
        ToMove::Simultaneous({
            let mut s = nets_envs::PlayerSet::EMPTY;
            s.insert(1);
            s.insert(2);
            s
        })
    );
    let t = Transcript::from_log(&log, vec!["a".into(), "b".into(), "c".into()]).unwrap();
    let mut doc: Value = serde_json::from_str(&t.to_json()).unwrap();
    let dead_turn = log.actions.turns as usize;
    let next: String = ['-', inward(starts[1]).letter(), inward(starts[2]).letter()]
        .into_iter()
        .collect();
    doc["moves"].as_array_mut().unwrap().push(json!(next));
    doc["result"] = Value::Null;
    // The canonical line for the next turn verifies…
    let text = serde_json::to_string(&doc).unwrap();
    Transcript::from_json(&text).unwrap().verify().unwrap();
    // …but a letter in the eliminated player's slot does not. `u` has code 0 like `-`, so
    // it replays, and the canonical check names it;
    doc["moves"][dead_turn] = json!(format!("u{}", &next[1..]));
    let (err, msg) = verify_err(&doc);
    assert!(
        matches!(err, TranscriptError::Moves { turn, .. } if turn == dead_turn),
        "{err:?}"
    );
    assert_mentions(
        &msg,
        &[
            &format!("turn {dead_turn}"),
            "not canonical",
            &format!("{next:?}"),
        ],
    );
    // any other letter is a non-zero code in an idle slot, refused by the replay.
    doc["moves"][dead_turn] = json!(format!("r{}", &next[1..]));
    let (err, msg) = verify_err(&doc);
    assert_mentions(
        &msg,
        &[&format!("turn {dead_turn}"), "player 0", "not to move"],
    );
    assert!(
        matches!(err, TranscriptError::Replay(ReplayError::NonCanonical(_))),
        "{err:?}"
    );
}

// ---- action logs --------------------------------------------------------------------------------

/// A log claiming billions of turns is refused by its length, without trying to allocate for
/// them (this once aborted the process in `Transcript::from_log`).
#[test]
fn huge_turn_count_in_a_log() {
    let mut log = ActionLog::new(EnvSpec::Snake(SnakeParams::duel(11)), [1; 32]);
    log.actions.turns = u32::MAX;
    log.actions.bytes = vec![0; 3];
    let err = log.replay().unwrap_err();
    assert!(matches!(err, ReplayError::WrongLength { .. }), "{err:?}");
    assert_mentions(
        &err.to_string(),
        &[
            "packed actions are 3 bytes",
            "4294967295 turns of 2 players",
        ],
    );
    let err = Transcript::from_log(&log, vec!["a".into(), "b".into()]).unwrap_err();
    assert!(matches!(err, ReplayError::WrongLength { .. }), "{err:?}");
}

#[test]
fn bad_action_log_json() {
    let good = serde_json::to_value(ActionLog::new(
        EnvSpec::Snake(SnakeParams::duel(11)),
        [1; 32],
    ))
    .unwrap();
    let mut doc = good.clone();
    doc["actions"]["bytes"] = json!("0g");
    let err = serde_json::from_value::<ActionLog>(doc).unwrap_err();
    assert_mentions(&err.to_string(), &["Invalid character"]);
    let mut doc = good.clone();
    doc["spec"]["snakes_count"] = json!(2);
    let err = serde_json::from_value::<ActionLog>(doc).unwrap_err();
    assert_mentions(&err.to_string(), &["unknown field", "snakes_count"]);
    let mut doc = good;
    doc["seed"] = json!("00");
    let err = serde_json::from_value::<ActionLog>(doc).unwrap_err();
    assert_mentions(&err.to_string(), &["seed is 1 bytes"]);
}
