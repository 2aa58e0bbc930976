//! Table-driven rule tests live in `tests/rules.rs`; this module checks internals: that the
//! one-pass turn of [`SnakeGame::step`] gives what the stages give one at a time, and that the
//! occupancy cache follows the bodies and changes no result.

use std::collections::VecDeque;

use super::occupancy::Occupancy;
use super::{Direction, Elimination, EliminationCause, Point, Snake, SnakeGame, SnakeParams};
use crate::rng::GameRng;

/// Parameters of every kind: board sides, snake counts, spawn settings, long stacks.
fn random_params(rng: &mut GameRng) -> SnakeParams {
    let side = |rng: &mut GameRng| 5 + rng.below(21) as u8;
    let (width, height) = (side(rng), side(rng));
    let mut snakes = 1 + rng.below(4) as u8;
    if width.min(height) < 7 {
        snakes = snakes.min(2);
    }
    SnakeParams {
        width,
        height,
        snakes,
        max_health: 1 + rng.below(120) as u8,
        start_length: [1, 3, 3, 5, 40, 255][rng.below(6) as usize],
        food_spawn_chance: [0, 15, 60, 100][rng.below(4) as usize],
        minimum_food: [0, 1, 3, 40][rng.below(4) as usize],
        max_turns: 1 + rng.below(400),
    }
}

/// A position play may never reach but the import accepts: random walks that may overlap or
/// stack (sometimes hundreds deep), food anywhere (piled up, under bodies), eliminated
/// snakes, live snakes at 0 health.
fn random_position(rng: &mut GameRng, params: SnakeParams, seed: [u8; 32]) -> SnakeGame {
    let (w, h) = (params.width as i8, params.height as i8);
    let mut snakes = Vec::new();
    for _ in 0..params.snakes {
        let mut p = Point::new(rng.below(w as u32) as i8, rng.below(h as u32) as i8);
        let length = [1, 4, 20, 300][rng.below(4) as usize];
        let stay = [0, 30, 90, 100][rng.below(4) as usize];
        let mut body = VecDeque::new();
        for _ in 0..length {
            body.push_back(p);
            let q = p.step(Direction::from_code(rng.below(4) as u8));
            if rng.below(100) >= stay && q.x >= 0 && q.y >= 0 && q.x < w && q.y < h {
                p = q;
            }
        }
        let eliminated = (rng.below(5) == 0).then_some(Elimination {
            cause: EliminationCause::Collision,
            by: Some(0),
            turn: 0,
        });
        snakes.push(Snake {
            body,
            health: rng.below(u32::from(params.max_health) + 1) as u8,
            eaten: 0,
            eliminated,
        });
    }
    let mut food: Vec<Point> = (0..rng.below(6))
        .map(|_| Point::new(rng.below(w as u32) as i8, rng.below(h as u32) as i8))
        .collect();
    if rng.below(4) == 0
        && let Some(&f) = food.first()
    {
        food.extend(std::iter::repeat_n(f, 300));
    }
    SnakeGame::from_parts(params, 0, snakes, food, seed).expect("a valid position")
}

/// Moves that mostly avoid walls and bodies, so that games run long.
fn random_moves(rng: &mut GameRng, game: &SnakeGame) -> Vec<Direction> {
    game.snakes()
        .iter()
        .map(|s| {
            let safe = |d: &Direction| {
                let q = s.head().step(*d);
                game.in_bounds(q) && !game.snakes().iter().any(|o| o.body.contains(&q))
            };
            let options: Vec<Direction> = Direction::ALL.into_iter().filter(safe).collect();
            match options.get(rng.below(options.len() as u32) as usize) {
                Some(&d) if rng.below(50) > 0 => d,
                _ => Direction::from_code(rng.below(4) as u8),
            }
        })
        .collect()
}

/// One turn through the public stages, one at a time.
fn step_by_stages(game: &mut SnakeGame, moves: &[Direction]) {
    game.stage_move(moves);
    game.stage_starve();
    game.stage_feed();
    game.stage_eliminate();
    game.turn += 1;
    game.outcome = game.judge();
    game.stage_spawn_food();
}

/// Starting points: new games and imported positions.
fn starts(cases: u32) -> Vec<SnakeGame> {
    let mut rng = GameRng::from_seed([9; 32]);
    let mut games = Vec::new();
    for case in 0..cases {
        let params = random_params(&mut rng);
        let mut seed = [0; 32];
        seed[..4].copy_from_slice(&case.to_le_bytes());
        if let Ok(game) = SnakeGame::new(params.clone(), seed) {
            games.push(game);
        }
        games.push(random_position(&mut rng, params, seed));
    }
    games
}

#[test]
fn one_pass_turn_matches_the_stages_and_occupancy_follows_the_bodies() {
    let mut rng = GameRng::from_seed([5; 32]);
    let mut turns = 0;
    for start in starts(1000) {
        let mut game = start;
        while !game.is_over() && game.turn() < 300 {
            let moves = random_moves(&mut rng, &game);
            let mut staged = game.clone();
            step_by_stages(&mut staged, &moves);
            game.step(&moves).unwrap();
            assert_eq!(game, staged, "turn {}", game.turn());
            let (w, h) = (game.params.width, game.params.height);
            let rebuilt = Occupancy::new(w, h, &game.snakes, &game.food);
            assert_eq!(
                game.occupancy.food(),
                rebuilt.food(),
                "turn {}",
                game.turn()
            );
            assert_eq!(
                staged.occupancy.food(),
                rebuilt.food(),
                "turn {}",
                game.turn()
            );
            // Once a count overflows, what is left of the counts depends on the order of the
            // updates; only tracked counts must agree.
            if game.occupancy.is_exact() && staged.occupancy.is_exact() {
                assert_eq!(game.occupancy, staged.occupancy, "turn {}", game.turn());
                assert_eq!(game.occupancy, rebuilt, "turn {}", game.turn());
            }
            turns += 1;
        }
    }
    assert!(turns > 30_000, "only {turns} turns played");
}

#[test]
fn games_without_occupancy_are_the_same() {
    let mut rng = GameRng::from_seed([6; 32]);
    let mut untracked_turns = 0;
    for start in starts(1000) {
        let mut game = start;
        let mut untracked = game.clone();
        untracked.occupancy.forget();
        while !game.is_over() && game.turn() < 300 {
            let moves = random_moves(&mut rng, &game);
            game.step(&moves).unwrap();
            untracked.step(&moves).unwrap();
            assert_eq!(game, untracked, "turn {}", game.turn());
            untracked_turns += u32::from(!game.occupancy.is_exact());
        }
    }
    // Some games overflow the counts by themselves (stacks and piles of food).
    assert!(untracked_turns > 0);
}
