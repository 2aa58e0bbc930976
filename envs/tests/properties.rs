//! Property tests: random games never panic and replay exactly; malformed inputs are refused
//! with an error, never a panic; Battlesnake JSON round-trips; action logs are canonical; the
//! seed alone decides the start.

use std::collections::BTreeSet;

use nets_envs::log::{ActionLog, EnvSpec, PackedActions, ReplayError, replay_with};
use nets_envs::snake::battlesnake::{self, BattlesnakeMeta};
use nets_envs::snake::{
    Direction, MAX_BOARD_SIDE, MAX_SNAKES, MIN_BOARD_SIDE, SnakeError, SnakeGame, SnakeParams,
};
use nets_envs::transcript::Transcript;
use nets_envs::{Outcome, ToMove};
use proptest::prelude::*;
use serde_json::Value;

// ---- strategies and helpers -------------------------------------------------------------

/// Valid parameters: any board 5..=25 a side, 1..=4 snakes (3–4 from 7x7 up), any spawn settings, a turn limit.
fn params() -> impl Strategy<Value = SnakeParams> {
    (
        (
            MIN_BOARD_SIDE..=MAX_BOARD_SIDE,
            MIN_BOARD_SIDE..=MAX_BOARD_SIDE,
        ),
        1..=MAX_SNAKES,
        1u8..=100,
        1u8..=6,
        0u8..=100,
        prop_oneof![0u8..=4, 0u8..=60],
        1u32..300,
    )
        .prop_map(
            |((width, height), snakes, max_health, start_length, chance, minimum, max_turns)| {
                // A free-for-all needs a board of at least 7x7.
                let snakes = if width.min(height) < 7 {
                    snakes.min(2)
                } else {
                    snakes
                };
                SnakeParams {
                    width,
                    height,
                    snakes,
                    max_health,
                    start_length,
                    food_spawn_chance: chance,
                    minimum_food: minimum,
                    max_turns,
                }
            },
        )
}

/// How the players choose: raw moves (most games end fast in walls and bodies) or moves
/// steered away from immediate death (long games with eating, growth and spawning).
#[derive(Clone, Copy, Debug)]
enum Policy {
    Raw,
    Steered,
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![Just(Policy::Raw), Just(Policy::Steered)]
}

/// The move of `player`, from the random byte `r`.
fn choose(game: &SnakeGame, player: usize, r: u8, policy: Policy) -> Direction {
    let raw = Direction::from_code(r);
    let Policy::Steered = policy else {
        return raw;
    };
    let Some(snake) = game.snakes().get(player) else {
        return raw;
    };
    let safe: Vec<Direction> = Direction::ALL
        .into_iter()
        .filter(|&d| {
            let next = snake.head().step(d);
            game.in_bounds(next)
                && !game.snakes().iter().filter(|o| o.is_alive()).any(|o| {
                    o.body
                        .iter()
                        .take(o.len().saturating_sub(1))
                        .any(|&p| p == next)
                })
        })
        .collect();
    if safe.is_empty() {
        raw
    } else {
        safe[usize::from(r) % safe.len()]
    }
}

/// Checks the invariants every state reached by play keeps.
fn check_invariants(game: &SnakeGame) -> Result<(), TestCaseError> {
    check_state(game, true)
}

/// Checks the invariants of a valid state. Imported states (`reached` false) may hold what
/// play never produces but the import accepts: food under a body, a live snake at health 0.
fn check_state(game: &SnakeGame, reached: bool) -> Result<(), TestCaseError> {
    let p = game.params();
    prop_assert_eq!(game.is_over(), game.outcome().is_some());
    prop_assert_eq!(game.to_move() == ToMove::Over, game.is_over());
    if p.max_turns > 0 {
        prop_assert!(game.turn() <= p.max_turns);
    }
    let mut food = BTreeSet::new();
    for f in game.food() {
        prop_assert!(game.in_bounds(*f), "food off the board at {:?}", f);
        prop_assert!(food.insert(*f), "two food on {:?}", f);
    }
    for (i, s) in game.snakes().iter().enumerate() {
        prop_assert!(!s.body.is_empty());
        prop_assert!(s.health <= p.max_health);
        if s.is_alive() {
            prop_assert!(!reached || s.health > 0, "live snake {} at 0 health", i);
            for q in &s.body {
                prop_assert!(game.in_bounds(*q), "live snake {} off the board", i);
                prop_assert!(!reached || !food.contains(q), "food under live snake {}", i);
            }
            for (a, b) in s.body.iter().zip(s.body.iter().skip(1)) {
                prop_assert!(a.distance(*b) <= 1, "gap in snake {}", i);
            }
        }
    }
    Ok(())
}

/// Plays `params` from `seed` with moves drawn from `bytes` (cycled) until the game ends,
/// recording the log. `None` if the parameters admit no start for this seed.
fn play(
    params: &SnakeParams,
    seed: [u8; 32],
    bytes: &[u8],
    policy: Policy,
) -> Result<Option<(SnakeGame, ActionLog)>, TestCaseError> {
    let mut game = match SnakeGame::new(params.clone(), seed) {
        Ok(game) => game,
        Err(e) => return Err(TestCaseError::fail(format!("unexpected error: {e}"))),
    };
    let mut log = ActionLog::new(EnvSpec::Snake(params.clone()), seed);
    let players = usize::from(params.snakes);
    let mut k = 0usize;
    let mut next = || {
        let b = bytes.get(k % bytes.len().max(1)).copied().unwrap_or(0);
        k += 1;
        b
    };
    check_invariants(&game)?;
    while !game.is_over() {
        let moves: Vec<Direction> = (0..players)
            .map(|p| choose(&game, p, next(), policy))
            .collect();
        log.record_turn(&game, &moves);
        game.step(&moves)
            .map_err(|e| TestCaseError::fail(format!("step failed: {e}")))?;
        check_invariants(&game)?;
    }
    prop_assert!(game.turn() <= params.max_turns);
    Ok(Some((game, log)))
}

fn seed() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

/// All the moves of a log, turn by turn, as `replay_with` hands them out.
fn moves_of(log: &ActionLog) -> Result<Vec<(SnakeGame, Vec<Direction>)>, ReplayError> {
    let mut turns = Vec::new();
    replay_with(log, |state, moves| {
        turns.push((state.clone(), moves.to_vec()));
    })?;
    Ok(turns)
}

// ---- (a) random play replays exactly ------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_games_replay_exactly(
        params in params(),
        seed in seed(),
        bytes in prop::collection::vec(any::<u8>(), 1..600),
        policy in policy(),
    ) {
        let Some((game, log)) = play(&params, seed, &bytes, policy)? else {
            return Ok(());
        };
        prop_assert_eq!(log.actions.turns, game.turn());
        prop_assert_eq!(
            log.actions.bytes.len(),
            PackedActions::byte_len(game.turn(), usize::from(params.snakes), 2)
        );

        // The compact log replays to the very same state, random stream included.
        let replayed = log.replay().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&replayed, &game);

        // The log survives JSON.
        let text = serde_json::to_string(&log).unwrap();
        let back: ActionLog = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &log);

        // The transcript survives JSON and verifies to the same state.
        let names: Vec<String> = (0..params.snakes).map(|i| format!("agent-{i}")).collect();
        let transcript = Transcript::from_log(&log, names)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(transcript.result, game.outcome().copied());
        prop_assert_eq!(transcript.moves.len() as u32, game.turn());
        let json = transcript.to_json();
        let parsed = Transcript::from_json(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&parsed, &transcript);
        let verified = parsed.verify().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&verified, &game);
        let relog = parsed.to_log().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&relog, &log);
    }
}

// ---- (b) invalid parameters are refused -----------------------------------------------------

fn any_params() -> impl Strategy<Value = SnakeParams> {
    let side = prop_oneof![0u8..=30, any::<u8>()];
    (
        (side.clone(), side),
        prop_oneof![0u8..=6, any::<u8>()],
        prop_oneof![0u8..=3, any::<u8>()],
        prop_oneof![0u8..=3, any::<u8>()],
        prop_oneof![95u8..=110, any::<u8>()],
        any::<u8>(),
        prop_oneof![0u32..=3, any::<u32>()],
    )
        .prop_map(
            |((width, height), snakes, max_health, start_length, chance, minimum, max_turns)| {
                SnakeParams {
                    width,
                    height,
                    snakes,
                    max_health,
                    start_length,
                    food_spawn_chance: chance,
                    minimum_food: minimum,
                    max_turns,
                }
            },
        )
}

fn expected_valid(p: &SnakeParams) -> bool {
    let side = |s: u8| (MIN_BOARD_SIDE..=MAX_BOARD_SIDE).contains(&s);
    side(p.width)
        && side(p.height)
        && (1..=MAX_SNAKES).contains(&p.snakes)
        && (p.snakes <= 2 || p.width.min(p.height) >= 7)
        && p.max_health >= 1
        && p.start_length >= 1
        && p.food_spawn_chance <= 100
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invalid_params_are_refused(p in any_params(), seed in seed()) {
        let valid = expected_valid(&p);
        prop_assert_eq!(p.validate().is_ok(), valid, "{:?}", p);
        let spec = EnvSpec::Snake(p.clone());
        let spec_valid = valid && !(p.snakes == 1 && p.max_turns == 0);
        prop_assert_eq!(spec.validate().is_ok(), spec_valid, "{:?}", p);
        let log = ActionLog::new(spec.clone(), seed);
        if valid {
            // Valid parameters always start.
            match SnakeGame::new(p.clone(), seed) {
                Ok(game) => check_invariants(&game)?,
                Err(e) => prop_assert!(false, "unexpected {}", e),
            }
        } else {
            match SnakeGame::new(p.clone(), seed) {
                Err(SnakeError::InvalidParams(m)) => prop_assert!(!m.is_empty()),
                other => prop_assert!(false, "{:?} accepted: {:?}", p, other.map(|_| ())),
            }
            prop_assert!(matches!(
                SnakeGame::from_parts(p.clone(), 0, vec![], vec![], seed),
                Err(SnakeError::InvalidParams(_))
            ));
            prop_assert!(spec.start(seed).is_err());
            prop_assert!(log.replay().is_err());
            let t = Transcript {
                format: nets_envs::transcript::FORMAT.into(),
                spec: spec.clone(),
                seed,
                players: vec!["x".into(); usize::from(p.snakes).min(8)],
                moves: vec![],
                result: None,
            };
            prop_assert!(t.verify().is_err());
            let t2 = Transcript::from_json(&t.to_json()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(t2.verify().is_err());
        }
        if valid && !spec_valid {
            let err = log.replay().unwrap_err().to_string();
            prop_assert!(err.contains("turn limit"), "{}", err);
        }
    }
}

// ---- (c) arbitrary packed actions never panic ----------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_packed_actions_never_panic(
        p in prop_oneof![params(), any_params()],
        seed in seed(),
        turns in prop_oneof![0u32..400, any::<u32>()],
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        exact in any::<bool>(),
    ) {
        let players = usize::from(p.snakes);
        let mut bytes = bytes;
        // Often give exactly the right length so that decoding goes past the length check.
        if exact && players <= usize::from(MAX_SNAKES) && turns < 400 {
            let need = PackedActions::byte_len(turns, players, 2);
            bytes.resize(need, 0x5a);
        }
        let log = ActionLog {
            spec: EnvSpec::Snake(p),
            seed,
            actions: PackedActions { turns, bytes },
        };
        match log.replay() {
            Ok(game) => {
                check_invariants(&game)?;
                prop_assert_eq!(game.turn(), turns);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let _ = Transcript::from_log(&log, vec!["a".into(); players]);
    }

    #[test]
    fn arbitrary_log_json_never_panics(text in ".{0,200}", hexes in "[0-9a-f]{0,80}", turns in any::<u32>()) {
        let _ = serde_json::from_str::<ActionLog>(&text);
        let built = format!(
            r#"{{"spec":{{"env":"snake","width":7,"height":7,"snakes":2}},"seed":"{hexes}","actions":{{"turns":{turns},"bytes":"{hexes}"}}}}"#
        );
        if let Ok(log) = serde_json::from_str::<ActionLog>(&built) {
            let _ = log.replay();
        }
    }
}

// ---- (d) arbitrary text never panics the parsers --------------------------------------------

/// A real `/move` request, as documented by Battlesnake (hazards left out: the standard rules
/// have none).
const MOVE_REQUEST: &str = r##"{
  "game": {
    "id": "totally-unique-game-id",
    "ruleset": {
      "name": "standard",
      "version": "v1.2.3",
      "settings": {
        "foodSpawnChance": 25,
        "minimumFood": 1,
        "hazardDamagePerTurn": 14,
        "royale": { "shrinkEveryNTurns": 5 },
        "squad": {
          "allowBodyCollisions": true,
          "sharedElimination": true,
          "sharedHealth": true,
          "sharedLength": true
        }
      }
    },
    "map": "standard",
    "timeout": 500,
    "source": "league"
  },
  "turn": 14,
  "board": {
    "height": 11,
    "width": 11,
    "food": [
      { "x": 5, "y": 5 },
      { "x": 9, "y": 0 },
      { "x": 2, "y": 6 }
    ],
    "hazards": [],
    "snakes": [
      {
        "id": "snake-508e96ac-94ad-11ea-bb37",
        "name": "My Snake",
        "health": 54,
        "body": [
          { "x": 0, "y": 0 },
          { "x": 1, "y": 0 },
          { "x": 2, "y": 0 }
        ],
        "latency": "111",
        "head": { "x": 0, "y": 0 },
        "length": 3,
        "shout": "why are we shouting??",
        "squad": "",
        "customizations": { "color": "#FF0000", "head": "pixel", "tail": "pixel" }
      },
      {
        "id": "snake-b67f4906-94ae-11ea-bb37",
        "name": "Another Snake",
        "health": 16,
        "body": [
          { "x": 5, "y": 4 },
          { "x": 5, "y": 3 },
          { "x": 6, "y": 3 },
          { "x": 6, "y": 2 }
        ],
        "latency": "222",
        "head": { "x": 5, "y": 4 },
        "length": 4,
        "shout": "I'm not really sure...",
        "squad": "",
        "customizations": { "color": "#26CF04", "head": "silly", "tail": "curled" }
      }
    ]
  },
  "you": {
    "id": "snake-508e96ac-94ad-11ea-bb37",
    "name": "My Snake",
    "health": 54,
    "body": [
      { "x": 0, "y": 0 },
      { "x": 1, "y": 0 },
      { "x": 2, "y": 0 }
    ],
    "latency": "111",
    "head": { "x": 0, "y": 0 },
    "length": 3,
    "shout": "why are we shouting??",
    "squad": "",
    "customizations": { "color": "#FF0000", "head": "pixel", "tail": "pixel" }
  }
}"##;

/// Paths to the numbers of [`MOVE_REQUEST`], for targeted corruption.
const NUMBER_PATHS: &[&str] = &[
    "/turn",
    "/board/height",
    "/board/width",
    "/board/food/0/x",
    "/board/food/2/y",
    "/board/snakes/0/health",
    "/board/snakes/0/body/0/x",
    "/board/snakes/0/body/2/y",
    "/board/snakes/0/head/x",
    "/board/snakes/0/length",
    "/board/snakes/1/health",
    "/board/snakes/1/body/3/x",
    "/board/snakes/1/length",
    "/game/ruleset/settings/foodSpawnChance",
    "/game/ruleset/settings/minimumFood",
    "/game/timeout",
    "/you/health",
];

fn transcript_text() -> String {
    let p = SnakeParams {
        max_turns: 12,
        ..SnakeParams::duel(7)
    };
    let (_, log) = play(&p, [9; 32], &[0, 1, 2, 3, 3, 2], Policy::Steered)
        .ok()
        .flatten()
        .expect("the fixed game starts");
    Transcript::from_log(&log, vec!["a".into(), "b".into()])
        .unwrap()
        .to_json()
}

fn mutate(text: &str, at: usize, byte: u8, truncate: bool) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = at % bytes.len().max(1);
    if truncate {
        bytes.truncate(at);
    } else if let Some(b) = bytes.get_mut(at) {
        *b = byte;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}", seed in seed()) {
        let _ = Transcript::from_json(&text);
        let _ = battlesnake::from_json(&text, seed);
    }

    #[test]
    fn mutated_documents_never_panic(
        at in any::<usize>(),
        byte in prop_oneof![Just(b'0'), Just(b'9'), Just(b'-'), Just(b'"'), Just(b'}'), Just(b'x'), any::<u8>()],
        truncate in any::<bool>(),
        seed in seed(),
    ) {
        let bs = mutate(MOVE_REQUEST, at, byte, truncate);
        if let Ok((game, meta)) = battlesnake::from_json(&bs, seed) {
            check_state(&game, false)?;
            let _ = battlesnake::export(&game, &meta, 0).map(|r| battlesnake::to_json(&r));
        }
        let t = mutate(&transcript_text(), at, byte, truncate);
        if let Ok(t) = Transcript::from_json(&t) {
            let _ = t.verify();
        }
    }

    #[test]
    fn out_of_range_numbers_are_refused_not_panics(
        path in prop::sample::select(NUMBER_PATHS),
        value in prop_oneof![
            any::<i64>(),
            -3i64..30,
            Just(i64::MIN),
            Just(i64::MAX),
            Just(i64::from(u32::MAX) + 1),
            Just(256),
        ],
        seed in seed(),
    ) {
        let mut doc: Value = serde_json::from_str(MOVE_REQUEST).unwrap();
        *doc.pointer_mut(path).unwrap() = Value::from(value);
        let text = doc.to_string();
        match battlesnake::from_json(&text, seed) {
            Ok((game, _)) => check_state(&game, false)?,
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn structurally_random_transcripts_never_panic(
        p in prop_oneof![params(), any_params()],
        seed in seed(),
        names in 0usize..6,
        moves in prop::collection::vec("[udlrUDLRx-]{0,5}", 0..40),
        result in prop_oneof![
            Just(None),
            Just(Some(Outcome::Draw)),
            (0u8..6).prop_map(|w| Some(Outcome::Winner(w))),
            (0u32..5).prop_map(|s| Some(Outcome::Score(s))),
        ],
    ) {
        let t = Transcript {
            format: nets_envs::transcript::FORMAT.into(),
            spec: EnvSpec::Snake(p),
            seed,
            players: vec!["n".into(); names],
            moves,
            result,
        };
        let _ = t.to_log();
        if let Ok(game) = t.verify() {
            check_invariants(&game)?;
            prop_assert_eq!(game.outcome().copied(), t.result);
        }
    }
}

// ---- (e) Battlesnake JSON round trip ---------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn live_states_round_trip_through_battlesnake_json(
        params in params(),
        seed in seed(),
        import_seed in seed(),
        bytes in prop::collection::vec(any::<u8>(), 1..200),
        stop in 0u32..120,
    ) {
        let Ok(mut game) = SnakeGame::new(params.clone(), seed) else {
            return Ok(());
        };
        let players = usize::from(params.snakes);
        let mut k = 0usize;
        // Play steered moves while every snake lives, up to `stop` turns.
        while game.turn() < stop && !game.is_over() {
            let moves: Vec<Direction> = (0..players)
                .map(|p| {
                    k += 1;
                    choose(&game, p, bytes[k % bytes.len()], Policy::Steered)
                })
                .collect();
            let mut next = game.clone();
            next.step(&moves).unwrap();
            if next.alive().len() < players || next.is_over() {
                break;
            }
            game = next;
        }
        prop_assert_eq!(game.alive().len(), players);

        let meta = BattlesnakeMeta::for_game(&game, "prop-game");
        let request = battlesnake::export(&game, &meta, 0).unwrap();
        let json = battlesnake::to_json(&request);
        let (imported, imported_meta) = battlesnake::from_json(&json, import_seed)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;

        prop_assert_eq!(imported.turn(), game.turn());
        prop_assert_eq!(imported.food(), game.food());
        prop_assert_eq!(imported.snakes().len(), game.snakes().len());
        for (a, b) in imported.snakes().iter().zip(game.snakes()) {
            prop_assert_eq!(&a.body, &b.body);
            prop_assert_eq!(a.health, b.health);
            prop_assert!(a.is_alive());
        }
        let (ip, gp) = (imported.params(), game.params());
        prop_assert_eq!(
            (ip.width, ip.height, ip.snakes, ip.food_spawn_chance, ip.minimum_food),
            (gp.width, gp.height, gp.snakes, gp.food_spawn_chance, gp.minimum_food)
        );
        prop_assert!(!imported.is_over());

        let again = battlesnake::to_json(&battlesnake::export(&imported, &imported_meta, 0).unwrap());
        prop_assert_eq!(&again, &json);

        // Every player's view exports, and names that player as `you`.
        for p in 0..players {
            let r = battlesnake::export(&imported, &imported_meta, p).unwrap();
            prop_assert_eq!(&r.you.id, &format!("snake-{p}"));
            prop_assert_eq!(r.you.length as usize, game.snakes()[p].len());
        }
    }
}

#[test]
fn documented_move_request_round_trips() {
    let (game, meta) = battlesnake::from_json(MOVE_REQUEST, [1; 32]).unwrap();
    assert_eq!(game.turn(), 14);
    assert_eq!(game.params().width, 11);
    assert_eq!(game.params().food_spawn_chance, 25);
    assert_eq!(game.params().minimum_food, 1);
    assert_eq!(game.snakes().len(), 2);
    assert_eq!(game.snakes()[0].health, 54);
    assert_eq!(game.snakes()[1].len(), 4);
    assert_eq!(game.snakes()[1].head(), nets_envs::snake::Point::new(5, 4));
    assert_eq!(game.food().len(), 3);
    let you = meta.index_of("snake-508e96ac-94ad-11ea-bb37").unwrap();
    assert_eq!(you, 0);
    let exported = battlesnake::to_json(&battlesnake::export(&game, &meta, you).unwrap());
    let original: Value = serde_json::from_str(MOVE_REQUEST).unwrap();
    let back: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(back, original, "re-exported request differs:\n{exported}");

    // From the other snake's point of view only `you` changes.
    let other = battlesnake::export(&game, &meta, 1).unwrap();
    let mut other: Value = serde_json::to_value(&other).unwrap();
    assert_eq!(other["you"], original["board"]["snakes"][1]);
    other["you"] = original["you"].clone();
    assert_eq!(other, original);
}

#[test]
fn imported_state_steps_like_the_standard_rules() {
    let (mut game, meta) = battlesnake::from_json(MOVE_REQUEST, [1; 32]).unwrap();
    // My Snake (health 54) moves up; Another Snake moves left to (4, 4).
    game.step(&[Direction::Up, Direction::Left]).unwrap();
    assert_eq!(game.turn(), 15);
    assert_eq!(game.snakes()[0].head(), nets_envs::snake::Point::new(0, 1));
    assert_eq!(game.snakes()[0].health, 53);
    assert_eq!(game.snakes()[1].health, 15);
    assert!(game.snakes().iter().all(|s| s.is_alive()));
    let out = battlesnake::export(&game, &meta, 0).unwrap();
    assert_eq!(out.turn, 15);
    assert_eq!(out.board.snakes[0].body.len(), 3);
}

// ---- (f) bit flips in action logs -----------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn flipped_bits_never_alias_a_log(
        params in params(),
        seed in seed(),
        bytes in prop::collection::vec(any::<u8>(), 1..300),
        policy in policy(),
        flip in any::<prop::sample::Index>(),
        seed_flip in any::<prop::sample::Index>(),
    ) {
        let Some((game, log)) = play(&params, seed, &bytes, policy)? else {
            return Ok(());
        };
        let players = usize::from(params.snakes);
        let used = log.actions.turns as usize * players * 2;
        let total = log.actions.bytes.len() * 8;
        if total > 0 {
            let bit = flip.index(total);
            let mut flipped = log.clone();
            flipped.actions.bytes[bit / 8] ^= 1 << (bit % 8);
            match flipped.replay() {
                Err(e) => {
                    if bit >= used {
                        prop_assert!(
                            matches!(e, ReplayError::NonCanonical(_)),
                            "padding bit {} flipped: {:?}", bit, e
                        );
                    }
                }
                Ok(other) => {
                    prop_assert!(bit < used, "a padding bit flip was accepted");
                    // The flipped log is itself the canonical record of the game it plays: the
                    // same moves recorded afresh give exactly its bytes, so no two accepted
                    // logs describe one game.
                    let turns = moves_of(&flipped).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let mut rebuilt = ActionLog::new(flipped.spec.clone(), flipped.seed);
                    for (state, moves) in &turns {
                        rebuilt.record_turn(state, moves);
                    }
                    prop_assert_eq!(&rebuilt, &flipped);
                    prop_assert_ne!(&rebuilt, &log);
                    // The moves differ in the flipped slot.
                    let turn = bit / (players * 2);
                    let player = (bit / 2) % players;
                    let original = moves_of(&log).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_ne!(original[turn].1[player], turns[turn].1[player]);
                    check_invariants(&other)?;
                }
            }
        }
        // Flipping a seed bit gives another game or a refusal, never a panic.
        let mut reseeded = log.clone();
        let sb = seed_flip.index(256);
        reseeded.seed[sb / 8] ^= 1 << (sb % 8);
        if let Ok(g) = reseeded.replay() {
            check_invariants(&g)?;
        }
        let _ = game;
    }
}

#[test]
fn non_canonical_padding_and_idle_slots_are_rejected() {
    // A duel where snake 0 dies on turn 1 and snake 1 plays on: find one by search.
    let p = SnakeParams {
        max_turns: 20,
        ..SnakeParams::default()
    };
    let mut log = ActionLog::new(EnvSpec::Snake(p.clone()), [5; 32]);
    let mut game = SnakeGame::new(p, [5; 32]).unwrap();
    // Three turns: everyone moves by the steered policy.
    for _ in 0..3 {
        let moves: Vec<Direction> = (0..2)
            .map(|i| choose(&game, i, 1, Policy::Steered))
            .collect();
        log.record_turn(&game, &moves);
        game.step(&moves).unwrap();
    }
    assert_eq!(log.replay().unwrap(), game);
    // 3 turns * 2 players * 2 bits = 12 bits: 4 padding bits in the second byte.
    assert_eq!(log.actions.bytes.len(), 2);
    for bit in 12..16 {
        let mut bad = log.clone();
        bad.actions.bytes[1] ^= 1 << (bit - 8);
        let err = bad.replay().unwrap_err();
        assert!(matches!(err, ReplayError::NonCanonical(_)), "{err:?}");
        assert!(err.to_string().contains("padding"), "{err}");
    }
    // An extra zero byte is a wrong length, not silently ignored.
    let mut long = log.clone();
    long.actions.bytes.push(0);
    assert!(matches!(
        long.replay(),
        Err(ReplayError::WrongLength {
            expected: 2,
            got: 3,
            ..
        })
    ));

    // A player who is out must have code 0 in its slot.
    let p = SnakeParams {
        food_spawn_chance: 0,
        minimum_food: 0,
        snakes: 3,
        max_turns: 50,
        ..SnakeParams::default()
    };
    let mut game = SnakeGame::new(p.clone(), [8; 32]).unwrap();
    let mut log = ActionLog::new(EnvSpec::Snake(p), [8; 32]);
    // Snake 0 runs into the nearest wall; the others steer clear.
    let mut dead_turn = None;
    for _ in 0..30 {
        if game.is_over() {
            break;
        }
        let moves: Vec<Direction> = (0..3)
            .map(|i| {
                if i == 0 {
                    Direction::Down
                } else {
                    choose(&game, i, 7, Policy::Steered)
                }
            })
            .collect();
        log.record_turn(&game, &moves);
        game.step(&moves).unwrap();
        if dead_turn.is_none() && !game.snakes()[0].is_alive() {
            dead_turn = Some(game.turn());
        }
        if dead_turn.is_some_and(|t| game.turn() > t) {
            break;
        }
    }
    let dead_turn = dead_turn.expect("snake 0 reaches the bottom wall");
    assert!(!game.is_over(), "two snakes are still playing");
    // The last recorded turn came after snake 0 died: its slot there is zero.
    let last = log.actions.turns - 1;
    assert!(last >= dead_turn);
    assert_eq!(log.actions.code(last, 0, 3, 2), 0);
    assert_eq!(log.replay().unwrap(), game);
    for b in 0..2 {
        let mut bad = log.clone();
        let at = (last as usize * 3) * 2 + b;
        bad.actions.bytes[at / 8] ^= 1 << (at % 8);
        let err = bad.replay().unwrap_err();
        assert!(matches!(err, ReplayError::NonCanonical(_)), "{err:?}");
        assert!(err.to_string().contains("not to move"), "{err}");
    }
}

// ---- (g) the seed decides the game -----------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn same_seed_same_game(params in params(), seed in seed(), bytes in prop::collection::vec(any::<u8>(), 1..100)) {
        let a = play(&params, seed, &bytes, Policy::Steered)?;
        let b = play(&params, seed, &bytes, Policy::Steered)?;
        prop_assert_eq!(a, b);
        let x = SnakeGame::new(params.clone(), seed);
        let y = SnakeGame::new(params, seed);
        prop_assert_eq!(x, y);
    }
}

#[test]
fn different_seeds_usually_differ() {
    let params = SnakeParams::duel(11);
    let mut starts = BTreeSet::new();
    let mut games = Vec::new();
    for s in 0..64u8 {
        let mut seed = [0u8; 32];
        seed[0] = s;
        seed[31] = s.wrapping_mul(37);
        let game = SnakeGame::new(params.clone(), seed).unwrap();
        let heads: Vec<_> = game.snakes().iter().map(|s| s.head()).collect();
        starts.insert((heads, game.food().to_vec()));
        games.push(game);
    }
    // 8 start cells in two shuffled groups and two food choices each: many distinct starts.
    assert!(starts.len() >= 24, "only {} distinct starts", starts.len());
    // The random streams differ for every pair of seeds.
    for (i, a) in games.iter().enumerate() {
        for b in &games[i + 1..] {
            assert_ne!(a, b);
        }
    }
    // And the food spawned during play differs too.
    let spawn = SnakeParams {
        food_spawn_chance: 100,
        ..SnakeParams::solo(11, 10)
    };
    let mut foods = BTreeSet::new();
    for s in 0..16u8 {
        let (game, _) = play(&spawn, [s; 32], &[0, 1, 2, 3], Policy::Steered)
            .unwrap()
            .unwrap();
        foods.insert(game.food().to_vec());
    }
    assert!(
        foods.len() >= 12,
        "only {} distinct food layouts",
        foods.len()
    );
}
