//! Golden files for seeded games: the transcript and the final board of a few fixed games.
//! A change to the rules, the random stream or an agent shows up here as a diff.
//!
//! Rewrite them after an intended change with `INSTA_UPDATE=always cargo test -p nets-envs
//! --test golden` (or `cargo insta review`), and read the diff before committing.

use nets_envs::agents::{Agent, BuiltIn, agent_seed};
use nets_envs::log::{ActionLog, EnvSpec};
use nets_envs::snake::{Direction, SnakeParams};
use nets_envs::transcript::Transcript;

fn game(spec: EnvSpec, seed_byte: u8, kinds: &[BuiltIn]) -> (Transcript, String) {
    let seed = [seed_byte; 32];
    let mut game = spec.start(seed).unwrap();
    let mut agents: Vec<Box<dyn Agent + Send>> = kinds
        .iter()
        .enumerate()
        .map(|(p, k)| k.build(agent_seed(seed, p)))
        .collect();
    let mut log = ActionLog::new(spec, seed);
    while !game.is_over() {
        let moves: Vec<Direction> = agents
            .iter_mut()
            .enumerate()
            .map(|(p, a)| {
                if game.snakes()[p].is_alive() {
                    a.choose(&game, p)
                } else {
                    Direction::Up
                }
            })
            .collect();
        log.record_turn(&game, &moves);
        game.step(&moves).unwrap();
    }
    let names = agents.iter().map(|a| a.name()).collect();
    let transcript = Transcript::from_log(&log, names).unwrap();
    // The golden transcript must itself verify and replay to the same board.
    let replayed = transcript.verify().unwrap();
    assert_eq!(replayed, game);
    (transcript, game.to_string())
}

#[test]
fn duel_search_vs_greedy_11x11() {
    let (t, board) = game(
        EnvSpec::Snake(SnakeParams::duel(11)),
        1,
        &[BuiltIn::Search, BuiltIn::Greedy],
    );
    insta::assert_snapshot!("duel_search_vs_greedy_11x11.transcript", t.to_json());
    insta::assert_snapshot!("duel_search_vs_greedy_11x11.board", board);
}

#[test]
fn duel_greedy_vs_random_7x7() {
    let (t, board) = game(
        EnvSpec::Snake(SnakeParams::duel(7)),
        2,
        &[BuiltIn::Greedy, BuiltIn::Random],
    );
    insta::assert_snapshot!("duel_greedy_vs_random_7x7.transcript", t.to_json());
    insta::assert_snapshot!("duel_greedy_vs_random_7x7.board", board);
}

#[test]
fn free_for_all_19x19() {
    let params = SnakeParams {
        snakes: 4,
        ..SnakeParams::duel(19)
    };
    let kinds = [
        BuiltIn::Search,
        BuiltIn::Greedy,
        BuiltIn::Random,
        BuiltIn::Greedy,
    ];
    let (t, board) = game(EnvSpec::Snake(params), 3, &kinds);
    insta::assert_snapshot!("free_for_all_19x19.transcript", t.to_json());
    insta::assert_snapshot!("free_for_all_19x19.board", board);
}

#[test]
fn solo_score_task_11x11() {
    let (t, board) = game(
        EnvSpec::Snake(SnakeParams::solo(11, 150)),
        4,
        &[BuiltIn::Greedy],
    );
    insta::assert_snapshot!("solo_score_task_11x11.transcript", t.to_json());
    insta::assert_snapshot!("solo_score_task_11x11.board", board);
}
