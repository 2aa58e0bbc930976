//! The baselines are clearly apart in strength: search beats greedy and greedy beats random
//! in at least 90% of 200 seeded duels each (draws count as not won).

use nets_envs::Outcome;
use nets_envs::agents::{BuiltIn, agent_seed, play};
use nets_envs::snake::{SnakeGame, SnakeParams};

/// Plays `games` duels of `strong` against `weak`, alternating seats, and returns how many
/// `strong` won.
fn wins(strong: BuiltIn, weak: BuiltIn, games: u32) -> (u32, u32) {
    let mut won = 0;
    let mut drawn = 0;
    for g in 0..games {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&g.to_le_bytes());
        seed[4] = strong as u8 * 16 + weak as u8;
        let strong_seat = (g % 2) as usize;
        let mut agents = if strong_seat == 0 {
            vec![
                strong.build(agent_seed(seed, 0)),
                weak.build(agent_seed(seed, 1)),
            ]
        } else {
            vec![
                weak.build(agent_seed(seed, 0)),
                strong.build(agent_seed(seed, 1)),
            ]
        };
        let game = SnakeGame::new(SnakeParams::duel(11), seed).unwrap();
        let (end, _) = play(game, &mut agents).unwrap();
        match end.outcome() {
            Some(Outcome::Winner(w)) if usize::from(*w) == strong_seat => won += 1,
            Some(Outcome::Draw) => drawn += 1,
            _ => {}
        }
    }
    (won, drawn)
}

#[test]
fn greedy_beats_random() {
    let (won, drawn) = wins(BuiltIn::Greedy, BuiltIn::Random, 200);
    eprintln!("greedy beat random in {won}/200 ({drawn} draws)");
    assert!(
        won >= 180,
        "greedy won only {won}/200 against random ({drawn} draws)"
    );
}

#[test]
fn search_beats_greedy() {
    let (won, drawn) = wins(BuiltIn::Search, BuiltIn::Greedy, 200);
    eprintln!("search beat greedy in {won}/200 ({drawn} draws)");
    assert!(
        won >= 180,
        "search won only {won}/200 against greedy ({drawn} draws)"
    );
}
