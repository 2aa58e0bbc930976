//! Table-driven tests of the Battlesnake standard rules.
//!
//! Each case is a position (snakes as head-first body lists with health, and food), one or
//! more turns of moves, and the full expected position afterwards: every snake's body,
//! health, food eaten and fate, the food left and the outcome. Food spawning is switched off
//! (`food_spawn_chance` 0, `minimum_food` 0) and every case is played both with
//! [`SnakeGame::step`] and [`SnakeGame::step_no_spawn`], which must agree.
//!
//! The expectations follow the Battlesnake standard ruleset (`BattlesnakeOfficial/rules`,
//! `standard.go`): move, reduce health, feed (health to max, tail doubled), then eliminate:
//! out of health / out of bounds first, then self collision, body collision and lost
//! head-to-head (not strictly longer), all judged against the snakes that survived the first
//! pass and applied together. Coordinates: `(0, 0)` is bottom-left and `Up` is `y + 1`.

use std::collections::VecDeque;

use nets_envs::snake::{
    Direction, Elimination, EliminationCause, Point, Snake, SnakeError, SnakeGame, SnakeParams,
};
use nets_envs::{Outcome, PlayerSet, ToMove};

const U: Direction = Direction::Up;
const D: Direction = Direction::Down;
const L: Direction = Direction::Left;
const R: Direction = Direction::Right;

use EliminationCause::{Collision, HeadToHead, OutOfBounds, OutOfHealth, SelfCollision};

type P = (i8, i8);

/// A snake's fate: in the game, or eliminated with (cause, by, turn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Alive,
    Dead(EliminationCause, Option<u8>, u32),
}

/// One snake, before or after.
#[derive(Clone, Copy, Debug)]
struct S {
    body: &'static [P],
    health: u8,
    eaten: u32,
    fate: Fate,
}

/// A live snake with this body (head first) and health, no food eaten yet.
const fn s(body: &'static [P], health: u8) -> S {
    S {
        body,
        health,
        eaten: 0,
        fate: Fate::Alive,
    }
}

impl S {
    const fn eaten(self, eaten: u32) -> S {
        S { eaten, ..self }
    }
    const fn dead(self, cause: EliminationCause, by: Option<u8>, turn: u32) -> S {
        S {
            fate: Fate::Dead(cause, by, turn),
            ..self
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Case {
    name: &'static str,
    width: u8,
    height: u8,
    max_health: u8,
    max_turns: u32,
    /// The turn the position is at.
    turn: u32,
    before: &'static [S],
    food: &'static [P],
    /// One entry per turn, one move per snake.
    moves: &'static [&'static [Direction]],
    after: &'static [S],
    food_after: &'static [P],
    outcome: Option<Outcome>,
}

const BASE: Case = Case {
    name: "",
    width: 11,
    height: 11,
    max_health: 100,
    max_turns: 0,
    turn: 0,
    before: &[],
    food: &[],
    moves: &[],
    after: &[],
    food_after: &[],
    outcome: None,
};

fn pt(&(x, y): &P) -> Point {
    Point::new(x, y)
}

fn params(c: &Case) -> SnakeParams {
    SnakeParams {
        width: c.width,
        height: c.height,
        snakes: c.before.len() as u8,
        max_health: c.max_health,
        start_length: 3,
        food_spawn_chance: 0,
        minimum_food: 0,
        max_turns: c.max_turns,
    }
}

fn build_snake(s: &S) -> Snake {
    Snake {
        body: s.body.iter().map(pt).collect::<VecDeque<_>>(),
        health: s.health,
        eaten: s.eaten,
        eliminated: match s.fate {
            Fate::Alive => None,
            Fate::Dead(cause, by, turn) => Some(Elimination { cause, by, turn }),
        },
    }
}

/// The position before the case's moves.
fn build(c: &Case) -> SnakeGame {
    SnakeGame::from_parts(
        params(c),
        c.turn,
        c.before.iter().map(build_snake).collect(),
        c.food.iter().map(pt).collect(),
        [7; 32],
    )
    .unwrap_or_else(|e| panic!("case {:?}: invalid start position: {e}", c.name))
}

fn fate_of(snake: &Snake) -> Fate {
    match snake.eliminated {
        None => Fate::Alive,
        Some(e) => Fate::Dead(e.cause, e.by, e.turn),
    }
}

fn check(c: &Case, game: &SnakeGame, how: &str) {
    let ctx = format!("case {:?} ({how})", c.name);
    assert_eq!(game.snakes().len(), c.after.len(), "{ctx}: snake count");
    for (i, (got, want)) in game.snakes().iter().zip(c.after).enumerate() {
        let body: Vec<Point> = got.body.iter().copied().collect();
        let want_body: Vec<Point> = want.body.iter().map(pt).collect();
        assert_eq!(body, want_body, "{ctx}: snake {i} body");
        assert_eq!(got.health, want.health, "{ctx}: snake {i} health");
        assert_eq!(got.eaten, want.eaten, "{ctx}: snake {i} eaten");
        assert_eq!(fate_of(got), want.fate, "{ctx}: snake {i} fate");
    }
    let food: Vec<Point> = c.food_after.iter().map(pt).collect();
    assert_eq!(game.food(), food.as_slice(), "{ctx}: food");
    assert_eq!(game.outcome(), c.outcome.as_ref(), "{ctx}: outcome");
    assert_eq!(game.is_over(), c.outcome.is_some(), "{ctx}: is_over");
    assert_eq!(
        game.turn(),
        c.turn + c.moves.len() as u32,
        "{ctx}: turn counter"
    );
    let mut alive = PlayerSet::EMPTY;
    for (i, snake) in game.snakes().iter().enumerate() {
        if snake.is_alive() {
            alive.insert(i);
        }
    }
    assert_eq!(game.alive(), alive, "{ctx}: alive set");
    let to_move = if c.outcome.is_some() {
        ToMove::Over
    } else {
        ToMove::Simultaneous(alive)
    };
    assert_eq!(game.to_move(), to_move, "{ctx}: to_move");
}

fn run(c: &Case) {
    for (k, turn) in c.moves.iter().enumerate() {
        assert_eq!(
            turn.len(),
            c.before.len(),
            "case {:?}: turn {k} needs one move per snake",
            c.name
        );
    }
    let mut a = build(c);
    let mut b = build(c);
    for (k, moves) in c.moves.iter().enumerate() {
        a.step(moves)
            .unwrap_or_else(|e| panic!("case {:?}: step {k}: {e}", c.name));
        b.step_no_spawn(moves)
            .unwrap_or_else(|e| panic!("case {:?}: step_no_spawn {k}: {e}", c.name));
    }
    check(c, &a, "step");
    check(c, &b, "step_no_spawn");
    assert_eq!(
        a, b,
        "case {:?}: step and step_no_spawn disagree without spawning",
        c.name
    );
}

/// Snake `B` of the out-of-bounds duels: parked away from the action, moving down safely.
const PARKED: S = s(&[(2, 2), (2, 3), (2, 4)], 90);
const PARKED_AFTER: S = s(&[(2, 1), (2, 2), (2, 3)], 89);

fn cases() -> Vec<Case> {
    CASES.to_vec()
}

const CASES: &[Case] = &[
    // ---- plain movement -------------------------------------------------------------
    Case {
        name: "move up",
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 90)],
        moves: &[&[U]],
        after: &[s(&[(5, 6), (5, 5), (5, 4)], 89)],
        ..BASE
    },
    Case {
        name: "move down",
        before: &[s(&[(5, 5), (5, 6), (5, 7)], 90)],
        moves: &[&[D]],
        after: &[s(&[(5, 4), (5, 5), (5, 6)], 89)],
        ..BASE
    },
    Case {
        name: "move left",
        before: &[s(&[(5, 5), (6, 5), (7, 5)], 90)],
        moves: &[&[L]],
        after: &[s(&[(4, 5), (5, 5), (6, 5)], 89)],
        ..BASE
    },
    Case {
        name: "move right",
        before: &[s(&[(5, 5), (4, 5), (3, 5)], 90)],
        moves: &[&[R]],
        after: &[s(&[(6, 5), (5, 5), (4, 5)], 89)],
        ..BASE
    },
    Case {
        name: "turn a corner",
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 90)],
        moves: &[&[R]],
        after: &[s(&[(6, 5), (5, 5), (5, 4)], 89)],
        ..BASE
    },
    Case {
        name: "moving along the edge stays on the board",
        before: &[s(&[(10, 10), (9, 10), (8, 10)], 90)],
        moves: &[&[D], &[D]],
        after: &[s(&[(10, 8), (10, 9), (10, 10)], 88)],
        ..BASE
    },
    Case {
        name: "duel: both snakes move at once",
        before: &[
            s(&[(5, 5), (5, 4), (5, 3)], 90),
            s(&[(8, 8), (9, 8), (10, 8)], 50),
        ],
        moves: &[&[L, D]],
        after: &[
            s(&[(4, 5), (5, 5), (5, 4)], 89),
            s(&[(8, 7), (8, 8), (9, 8)], 49),
        ],
        ..BASE
    },
    // ---- stacked start ----------------------------------------------------------------
    Case {
        name: "stacked start grows out over the first turns",
        before: &[s(&[(1, 1), (1, 1), (1, 1)], 100)],
        moves: &[&[U]],
        after: &[s(&[(1, 2), (1, 1), (1, 1)], 99)],
        ..BASE
    },
    Case {
        name: "stacked start unstacks after two moves",
        before: &[s(&[(1, 1), (1, 1), (1, 1)], 100)],
        moves: &[&[U], &[R]],
        after: &[s(&[(2, 2), (1, 2), (1, 1)], 98)],
        ..BASE
    },
    Case {
        name: "stacked start may move in any direction (no neck yet)",
        before: &[
            s(&[(5, 5), (5, 5), (5, 5)], 100),
            s(&[(1, 1), (1, 1), (1, 1)], 100),
        ],
        moves: &[&[D, L]],
        after: &[
            s(&[(5, 4), (5, 5), (5, 5)], 99),
            s(&[(0, 1), (1, 1), (1, 1)], 99),
        ],
        ..BASE
    },
    Case {
        name: "stacked start then reversing hits the stacked segments",
        before: &[s(&[(5, 5), (5, 5), (5, 5)], 100)],
        moves: &[&[U], &[D]],
        after: &[s(&[(5, 5), (5, 6), (5, 5)], 98).dead(SelfCollision, Some(0), 2)],
        outcome: Some(Outcome::Score(0)),
        ..BASE
    },
    Case {
        name: "length two may reverse onto its own tail",
        before: &[s(&[(5, 5), (5, 4)], 90)],
        moves: &[&[D]],
        after: &[s(&[(5, 4), (5, 5)], 89)],
        ..BASE
    },
    // ---- starvation and feeding -------------------------------------------------------
    Case {
        name: "starvation: health 1 reaches 0",
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 1)],
        moves: &[&[U]],
        after: &[s(&[(5, 6), (5, 5), (5, 4)], 0).dead(OutOfHealth, None, 1)],
        outcome: Some(Outcome::Score(0)),
        ..BASE
    },
    Case {
        name: "health 2 survives at 1",
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 2)],
        moves: &[&[U]],
        after: &[s(&[(5, 6), (5, 5), (5, 4)], 1)],
        ..BASE
    },
    Case {
        name: "eating on the last health point saves the snake",
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 1)],
        food: &[(5, 6)],
        moves: &[&[U]],
        after: &[s(&[(5, 6), (5, 5), (5, 4), (5, 4)], 100).eaten(1)],
        ..BASE
    },
    Case {
        name: "starving in a duel hands the win to the other snake",
        before: &[
            s(&[(5, 5), (5, 4), (5, 3)], 1),
            s(&[(8, 8), (8, 7), (8, 6)], 1),
        ],
        food: &[(8, 9)],
        moves: &[&[U, U]],
        after: &[
            s(&[(5, 6), (5, 5), (5, 4)], 0).dead(OutOfHealth, None, 1),
            s(&[(8, 9), (8, 8), (8, 7), (8, 7)], 100).eaten(1),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "feeding restores max health and doubles the tail",
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 40)],
        food: &[(5, 6), (8, 8)],
        moves: &[&[U]],
        after: &[s(&[(5, 6), (5, 5), (5, 4), (5, 4)], 100).eaten(1)],
        food_after: &[(8, 8)],
        ..BASE
    },
    Case {
        name: "growth shows after the next move",
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 40)],
        food: &[(5, 6), (8, 8)],
        moves: &[&[U], &[U]],
        after: &[s(&[(5, 7), (5, 6), (5, 5), (5, 4)], 99).eaten(1)],
        food_after: &[(8, 8)],
        ..BASE
    },
    Case {
        name: "eating restores the configured max_health",
        max_health: 50,
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 10)],
        food: &[(4, 5)],
        moves: &[&[L]],
        after: &[s(&[(4, 5), (5, 5), (5, 4), (5, 4)], 50).eaten(1)],
        ..BASE
    },
    Case {
        name: "two snakes eat two foods in one turn",
        before: &[
            s(&[(5, 5), (5, 4), (5, 3)], 30),
            s(&[(8, 8), (8, 7), (8, 6)], 20),
        ],
        food: &[(1, 1), (8, 9), (5, 6)],
        moves: &[&[U, U]],
        after: &[
            s(&[(5, 6), (5, 5), (5, 4), (5, 4)], 100).eaten(1),
            s(&[(8, 9), (8, 8), (8, 7), (8, 7)], 100).eaten(1),
        ],
        food_after: &[(1, 1)],
        ..BASE
    },
    // ---- head-to-head -----------------------------------------------------------------
    Case {
        name: "head-to-head on food: both eat, the shorter dies, the longer grew",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5), (1, 5)], 50),
            s(&[(6, 5), (7, 5), (8, 5)], 50),
        ],
        food: &[(5, 5)],
        moves: &[&[R, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5), (2, 5), (2, 5)], 100).eaten(1),
            s(&[(5, 5), (6, 5), (7, 5), (7, 5)], 100)
                .eaten(1)
                .dead(HeadToHead, Some(0), 1),
        ],
        outcome: Some(Outcome::Winner(0)),
        ..BASE
    },
    Case {
        name: "head-to-head on food, equal lengths: both eat and both die",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 50),
            s(&[(6, 5), (7, 5), (8, 5)], 50),
        ],
        food: &[(5, 5), (0, 0)],
        moves: &[&[R, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5), (3, 5)], 100)
                .eaten(1)
                .dead(HeadToHead, Some(1), 1),
            s(&[(5, 5), (6, 5), (7, 5), (7, 5)], 100)
                .eaten(1)
                .dead(HeadToHead, Some(0), 1),
        ],
        food_after: &[(0, 0)],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    Case {
        name: "head-to-head away from food, equal lengths: both die, draw",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 50),
            s(&[(6, 5), (7, 5), (8, 5)], 60),
        ],
        moves: &[&[R, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 49).dead(HeadToHead, Some(1), 1),
            s(&[(5, 5), (6, 5), (7, 5)], 59).dead(HeadToHead, Some(0), 1),
        ],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    Case {
        name: "longer snake wins head-to-head",
        before: &[
            s(&[(6, 5), (7, 5), (8, 5)], 50),
            s(&[(4, 5), (3, 5), (2, 5), (1, 5)], 50),
        ],
        moves: &[&[L, R]],
        after: &[
            s(&[(5, 5), (6, 5), (7, 5)], 49).dead(HeadToHead, Some(1), 1),
            s(&[(5, 5), (4, 5), (3, 5), (2, 5)], 49),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "a doubled tail counts towards length in head-to-head",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5), (2, 5)], 100).eaten(1),
            s(&[(6, 5), (7, 5), (8, 5), (9, 5)], 50),
        ],
        moves: &[&[R, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5), (2, 5)], 99)
                .eaten(1)
                .dead(HeadToHead, Some(1), 1),
            s(&[(5, 5), (6, 5), (7, 5), (8, 5)], 49).dead(HeadToHead, Some(0), 1),
        ],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    Case {
        name: "heads swapping cells hit each other's necks",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 50),
            s(&[(5, 5), (6, 5), (7, 5), (8, 5)], 50),
        ],
        moves: &[&[R, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 49).dead(Collision, Some(1), 1),
            s(&[(4, 5), (5, 5), (6, 5), (7, 5)], 49).dead(Collision, Some(0), 1),
        ],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    // ---- tails ------------------------------------------------------------------------
    Case {
        name: "moving into the cell its own tail is leaving is legal",
        before: &[s(&[(1, 1), (1, 2), (2, 2), (2, 1)], 90)],
        moves: &[&[R]],
        after: &[s(&[(2, 1), (1, 1), (1, 2), (2, 2)], 89)],
        ..BASE
    },
    Case {
        name: "moving into the cell another snake's tail is leaving is legal",
        before: &[
            s(&[(3, 3), (2, 3), (1, 3)], 90),
            s(&[(5, 2), (5, 3), (4, 3)], 90),
        ],
        moves: &[&[R, D]],
        after: &[
            s(&[(4, 3), (3, 3), (2, 3)], 89),
            s(&[(5, 1), (5, 2), (5, 3)], 89),
        ],
        ..BASE
    },
    Case {
        name: "two snakes chasing each other's tails",
        before: &[s(&[(1, 1), (1, 2)], 90), s(&[(2, 2), (2, 1)], 90)],
        moves: &[&[R, L]],
        after: &[s(&[(2, 1), (1, 1)], 89), s(&[(1, 2), (2, 2)], 89)],
        ..BASE
    },
    Case {
        name: "the tail of a snake that ate last turn stays: collision",
        before: &[
            s(&[(4, 1), (3, 1), (2, 1)], 90),
            s(&[(5, 3), (5, 2), (5, 1), (5, 1)], 100).eaten(1),
        ],
        moves: &[&[R, U]],
        after: &[
            s(&[(5, 1), (4, 1), (3, 1)], 89).dead(Collision, Some(1), 1),
            s(&[(5, 4), (5, 3), (5, 2), (5, 1)], 99).eaten(1),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "its own tail after eating stays: self collision",
        before: &[s(&[(1, 1), (1, 2), (2, 2), (2, 1), (2, 1)], 100)],
        moves: &[&[R]],
        after: &[s(&[(2, 1), (1, 1), (1, 2), (2, 2), (2, 1)], 99).dead(SelfCollision, Some(0), 1)],
        outcome: Some(Outcome::Score(0)),
        ..BASE
    },
    Case {
        name: "the tail of a snake eating this very turn is already free",
        before: &[
            s(&[(4, 1), (3, 1), (2, 1)], 90),
            s(&[(5, 3), (5, 2), (5, 1)], 90),
        ],
        food: &[(5, 4)],
        moves: &[&[R, U]],
        after: &[
            s(&[(5, 1), (4, 1), (3, 1)], 89),
            s(&[(5, 4), (5, 3), (5, 2), (5, 2)], 100).eaten(1),
        ],
        ..BASE
    },
    Case {
        name: "eat, then the doubled tail blocks on the next turn",
        before: &[
            s(&[(3, 2), (2, 2), (1, 2)], 90),
            s(&[(5, 3), (5, 2), (5, 1)], 90),
        ],
        food: &[(5, 4)],
        moves: &[&[R, U], &[R, U]],
        after: &[
            s(&[(5, 2), (4, 2), (3, 2)], 88).dead(Collision, Some(1), 2),
            s(&[(5, 5), (5, 4), (5, 3), (5, 2)], 99).eaten(1),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    // ---- leaving the board ------------------------------------------------------------
    Case {
        name: "out of bounds at the top",
        before: &[s(&[(5, 10), (5, 9), (5, 8)], 90), PARKED],
        moves: &[&[U, D]],
        after: &[
            s(&[(5, 11), (5, 10), (5, 9)], 89).dead(OutOfBounds, None, 1),
            PARKED_AFTER,
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "out of bounds at the bottom",
        before: &[s(&[(5, 0), (5, 1), (5, 2)], 90), PARKED],
        moves: &[&[D, D]],
        after: &[
            s(&[(5, -1), (5, 0), (5, 1)], 89).dead(OutOfBounds, None, 1),
            PARKED_AFTER,
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "out of bounds at the left",
        before: &[s(&[(0, 5), (1, 5), (2, 5)], 90), PARKED],
        moves: &[&[L, D]],
        after: &[
            s(&[(-1, 5), (0, 5), (1, 5)], 89).dead(OutOfBounds, None, 1),
            PARKED_AFTER,
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "out of bounds at the right",
        before: &[s(&[(10, 5), (9, 5), (8, 5)], 90), PARKED],
        moves: &[&[R, D]],
        after: &[
            s(&[(11, 5), (10, 5), (9, 5)], 89).dead(OutOfBounds, None, 1),
            PARKED_AFTER,
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "non-square board: out of bounds at the right (x = width)",
        width: 7,
        height: 13,
        before: &[s(&[(6, 12), (5, 12), (4, 12)], 90)],
        moves: &[&[R]],
        after: &[s(&[(7, 12), (6, 12), (5, 12)], 89).dead(OutOfBounds, None, 1)],
        outcome: Some(Outcome::Score(0)),
        ..BASE
    },
    Case {
        name: "non-square board: out of bounds at the top (y = height)",
        width: 7,
        height: 13,
        before: &[s(&[(3, 12), (3, 11), (3, 10)], 90)],
        moves: &[&[U]],
        after: &[s(&[(3, 13), (3, 12), (3, 11)], 89).dead(OutOfBounds, None, 1)],
        outcome: Some(Outcome::Score(0)),
        ..BASE
    },
    Case {
        name: "starving and leaving the board at once counts as out of health",
        before: &[s(&[(0, 5), (1, 5), (2, 5)], 1), PARKED],
        moves: &[&[L, D]],
        after: &[
            s(&[(-1, 5), (0, 5), (1, 5)], 0).dead(OutOfHealth, None, 1),
            PARKED_AFTER,
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    // ---- collisions -------------------------------------------------------------------
    Case {
        name: "reversing onto the neck is a self collision",
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 90)],
        moves: &[&[D]],
        after: &[s(&[(5, 4), (5, 5), (5, 4)], 89).dead(SelfCollision, Some(0), 1)],
        outcome: Some(Outcome::Score(0)),
        ..BASE
    },
    Case {
        name: "self collision into its own coil",
        before: &[s(&[(2, 2), (2, 3), (3, 3), (3, 2), (3, 1)], 90)],
        moves: &[&[R]],
        after: &[s(&[(3, 2), (2, 2), (2, 3), (3, 3), (3, 2)], 89).dead(SelfCollision, Some(0), 1)],
        outcome: Some(Outcome::Score(0)),
        ..BASE
    },
    Case {
        name: "body collision with another snake names that snake",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 90),
            s(&[(5, 6), (5, 5), (5, 4), (5, 3)], 90),
        ],
        moves: &[&[R, U]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 89).dead(Collision, Some(1), 1),
            s(&[(5, 7), (5, 6), (5, 5), (5, 4)], 89),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "a longer snake also dies hitting a shorter snake's body",
        before: &[
            s(&[(4, 4), (3, 4), (2, 4), (1, 4), (0, 4)], 90),
            s(&[(5, 5), (5, 4), (5, 3)], 90),
        ],
        moves: &[&[R, U]],
        after: &[
            s(&[(5, 4), (4, 4), (3, 4), (2, 4), (1, 4)], 89).dead(Collision, Some(1), 1),
            s(&[(5, 6), (5, 5), (5, 4)], 89),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "mutual body collisions eliminate both: draw",
        before: &[
            s(&[(3, 4), (3, 3), (3, 2), (3, 1)], 90),
            s(&[(4, 3), (4, 4), (4, 5), (4, 6)], 90),
        ],
        moves: &[&[R, L]],
        after: &[
            s(&[(4, 4), (3, 4), (3, 3), (3, 2)], 89).dead(Collision, Some(1), 1),
            s(&[(3, 3), (4, 3), (4, 4), (4, 5)], 89).dead(Collision, Some(0), 1),
        ],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    // ---- three and four snakes --------------------------------------------------------
    Case {
        name: "three heads meet, distinct lengths: only the longest survives",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 90),
            s(&[(5, 4), (5, 3), (5, 2), (5, 1)], 90),
            s(&[(6, 5), (7, 5), (8, 5), (9, 5), (10, 5)], 90),
        ],
        moves: &[&[R, U, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 89).dead(HeadToHead, Some(2), 1),
            s(&[(5, 5), (5, 4), (5, 3), (5, 2)], 89).dead(HeadToHead, Some(2), 1),
            s(&[(5, 5), (6, 5), (7, 5), (8, 5), (9, 5)], 89),
        ],
        outcome: Some(Outcome::Winner(2)),
        ..BASE
    },
    Case {
        name: "three heads meet, two longest tie: nobody survives",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 90),
            s(&[(5, 4), (5, 3), (5, 2), (5, 1)], 90),
            s(&[(6, 5), (7, 5), (8, 5), (9, 5)], 90),
        ],
        moves: &[&[R, U, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 89).dead(HeadToHead, Some(1), 1),
            s(&[(5, 5), (5, 4), (5, 3), (5, 2)], 89).dead(HeadToHead, Some(2), 1),
            s(&[(5, 5), (6, 5), (7, 5), (8, 5)], 89).dead(HeadToHead, Some(1), 1),
        ],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    Case {
        name: "three-way: a body collision and a head-to-head in one turn",
        before: &[
            s(&[(4, 4), (3, 4), (2, 4)], 90),
            s(&[(5, 4), (5, 3), (5, 2), (5, 1)], 90),
            s(&[(6, 5), (7, 5), (8, 5)], 90),
        ],
        moves: &[&[R, U, L]],
        after: &[
            s(&[(5, 4), (4, 4), (3, 4)], 89).dead(Collision, Some(1), 1),
            s(&[(5, 5), (5, 4), (5, 3), (5, 2)], 89),
            s(&[(5, 5), (6, 5), (7, 5)], 89).dead(HeadToHead, Some(1), 1),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "a snake losing a head-to-head still blocks with its body that turn",
        before: &[
            s(&[(4, 4), (3, 4), (2, 4)], 90),
            s(&[(5, 4), (5, 3), (5, 2)], 90),
            s(&[(6, 5), (7, 5), (8, 5), (9, 5), (10, 5)], 90),
        ],
        moves: &[&[R, U, L]],
        after: &[
            s(&[(5, 4), (4, 4), (3, 4)], 89).dead(Collision, Some(1), 1),
            s(&[(5, 5), (5, 4), (5, 3)], 89).dead(HeadToHead, Some(2), 1),
            s(&[(5, 5), (6, 5), (7, 5), (8, 5), (9, 5)], 89),
        ],
        outcome: Some(Outcome::Winner(2)),
        ..BASE
    },
    Case {
        name: "four snakes: three eliminated at once, the last one standing wins",
        before: &[
            s(&[(5, 10), (5, 9), (5, 8)], 90),
            s(&[(1, 1), (1, 2), (1, 3)], 1),
            s(&[(4, 4), (3, 4), (2, 4)], 90),
            s(&[(5, 3), (5, 4), (5, 5), (5, 6)], 90),
        ],
        moves: &[&[U, D, R, D]],
        after: &[
            s(&[(5, 11), (5, 10), (5, 9)], 89).dead(OutOfBounds, None, 1),
            s(&[(1, 0), (1, 1), (1, 2)], 0).dead(OutOfHealth, None, 1),
            s(&[(5, 4), (4, 4), (3, 4)], 89).dead(Collision, Some(3), 1),
            s(&[(5, 2), (5, 3), (5, 4), (5, 5)], 89),
        ],
        outcome: Some(Outcome::Winner(3)),
        ..BASE
    },
    Case {
        name: "four snakes: two eliminated, the game goes on",
        before: &[
            s(&[(5, 10), (5, 9), (5, 8)], 90),
            s(&[(1, 5), (1, 6), (1, 7)], 90),
            s(&[(9, 1), (9, 2), (9, 3)], 90),
            s(&[(7, 7), (7, 8), (7, 9)], 1),
        ],
        moves: &[&[U, D, D, D]],
        after: &[
            s(&[(5, 11), (5, 10), (5, 9)], 89).dead(OutOfBounds, None, 1),
            s(&[(1, 4), (1, 5), (1, 6)], 89),
            s(&[(9, 0), (9, 1), (9, 2)], 89),
            s(&[(7, 6), (7, 7), (7, 8)], 0).dead(OutOfHealth, None, 1),
        ],
        outcome: None,
        ..BASE
    },
    Case {
        name: "four snakes: eliminated snakes stay put, last one standing wins later",
        before: &[
            s(&[(5, 10), (5, 9), (5, 8)], 90),
            s(&[(1, 5), (1, 6), (1, 7)], 90),
            s(&[(9, 1), (9, 2), (9, 3)], 90),
            s(&[(7, 7), (7, 8), (7, 9)], 1),
        ],
        moves: &[&[U, D, D, D], &[L, D, D, R]],
        after: &[
            s(&[(5, 11), (5, 10), (5, 9)], 89).dead(OutOfBounds, None, 1),
            s(&[(1, 3), (1, 4), (1, 5)], 88),
            s(&[(9, -1), (9, 0), (9, 1)], 88).dead(OutOfBounds, None, 2),
            s(&[(7, 6), (7, 7), (7, 8)], 0).dead(OutOfHealth, None, 1),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "four heads meet with equal lengths: all die, draw",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 90),
            s(&[(5, 4), (5, 3), (5, 2)], 90),
            s(&[(6, 5), (7, 5), (8, 5)], 90),
            s(&[(5, 6), (5, 7), (5, 8)], 90),
        ],
        moves: &[&[R, U, L, D]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 89).dead(HeadToHead, Some(1), 1),
            s(&[(5, 5), (5, 4), (5, 3)], 89).dead(HeadToHead, Some(0), 1),
            s(&[(5, 5), (6, 5), (7, 5)], 89).dead(HeadToHead, Some(0), 1),
            s(&[(5, 5), (5, 6), (5, 7)], 89).dead(HeadToHead, Some(0), 1),
        ],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    // ---- first-pass eliminations are no obstacle ---------------------------------------
    Case {
        name: "a starving snake's body is no obstacle that turn",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 90),
            s(&[(5, 6), (5, 5), (5, 4), (5, 3)], 1),
        ],
        moves: &[&[R, U]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 89),
            s(&[(5, 7), (5, 6), (5, 5), (5, 4)], 0).dead(OutOfHealth, None, 1),
        ],
        outcome: Some(Outcome::Winner(0)),
        ..BASE
    },
    Case {
        name: "a snake that left the board is no obstacle that turn",
        turn: 41,
        before: &[
            s(&[(9, 4), (8, 4), (7, 4)], 90),
            s(&[(10, 5), (9, 5), (8, 5)], 90),
        ],
        moves: &[&[U, R]],
        after: &[
            s(&[(9, 5), (9, 4), (8, 4)], 89),
            s(&[(11, 5), (10, 5), (9, 5)], 89).dead(OutOfBounds, None, 42),
        ],
        outcome: Some(Outcome::Winner(0)),
        ..BASE
    },
    Case {
        name: "a starving longer snake wins no head-to-head",
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 90),
            s(&[(6, 5), (7, 5), (8, 5), (9, 5), (10, 5)], 1),
        ],
        moves: &[&[R, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 89),
            s(&[(5, 5), (6, 5), (7, 5), (8, 5), (9, 5)], 0).dead(OutOfHealth, None, 1),
        ],
        outcome: Some(Outcome::Winner(0)),
        ..BASE
    },
    Case {
        name: "snakes eliminated on earlier turns neither move nor block",
        turn: 3,
        before: &[
            s(&[(4, 5), (3, 5), (2, 5)], 90),
            s(&[(1, 1), (1, 2), (1, 3)], 90),
            s(&[(5, 5), (5, 6), (5, 7)], 50).dead(OutOfHealth, None, 3),
        ],
        moves: &[&[R, D, L]],
        after: &[
            s(&[(5, 5), (4, 5), (3, 5)], 89),
            s(&[(1, 0), (1, 1), (1, 2)], 89),
            s(&[(5, 5), (5, 6), (5, 7)], 50).dead(OutOfHealth, None, 3),
        ],
        outcome: None,
        ..BASE
    },
    // ---- end of the game --------------------------------------------------------------
    Case {
        name: "solo: the run ends when the snake dies, scoring the food eaten",
        before: &[s(&[(5, 9), (5, 8), (5, 7)], 90)],
        food: &[(5, 10)],
        moves: &[&[U], &[U]],
        after: &[s(&[(5, 11), (5, 10), (5, 9), (5, 8)], 99)
            .eaten(1)
            .dead(OutOfBounds, None, 2)],
        outcome: Some(Outcome::Score(1)),
        ..BASE
    },
    Case {
        name: "solo: the run ends at max_turns with its score",
        max_turns: 2,
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 90)],
        food: &[(5, 6)],
        moves: &[&[U], &[U]],
        after: &[s(&[(5, 7), (5, 6), (5, 5), (5, 4)], 99).eaten(1)],
        outcome: Some(Outcome::Score(1)),
        ..BASE
    },
    Case {
        name: "solo: the limit counts from the position's turn",
        max_turns: 10,
        turn: 9,
        before: &[s(&[(5, 5), (5, 4), (5, 3)], 90).eaten(3)],
        moves: &[&[U]],
        after: &[s(&[(5, 6), (5, 5), (5, 4)], 89).eaten(3)],
        outcome: Some(Outcome::Score(3)),
        ..BASE
    },
    Case {
        name: "duel: the turn limit with both alive is a draw",
        max_turns: 1,
        before: &[
            s(&[(5, 5), (5, 4), (5, 3)], 90),
            s(&[(8, 8), (8, 7), (8, 6)], 90),
        ],
        moves: &[&[U, U]],
        after: &[
            s(&[(5, 6), (5, 5), (5, 4)], 89),
            s(&[(8, 9), (8, 8), (8, 7)], 89),
        ],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    Case {
        name: "duel: a win on the last turn beats the turn limit",
        max_turns: 1,
        before: &[
            s(&[(5, 10), (5, 9), (5, 8)], 90),
            s(&[(8, 8), (8, 7), (8, 6)], 90),
        ],
        moves: &[&[U, U]],
        after: &[
            s(&[(5, 11), (5, 10), (5, 9)], 89).dead(OutOfBounds, None, 1),
            s(&[(8, 9), (8, 8), (8, 7)], 89),
        ],
        outcome: Some(Outcome::Winner(1)),
        ..BASE
    },
    Case {
        name: "free-for-all: the turn limit with several alive is a draw",
        max_turns: 5,
        turn: 4,
        before: &[
            s(&[(5, 10), (5, 9), (5, 8)], 90),
            s(&[(1, 1), (1, 2), (1, 3)], 90),
            s(&[(8, 8), (8, 7), (8, 6)], 90),
        ],
        moves: &[&[U, D, U]],
        after: &[
            s(&[(5, 11), (5, 10), (5, 9)], 89).dead(OutOfBounds, None, 5),
            s(&[(1, 0), (1, 1), (1, 2)], 89),
            s(&[(8, 9), (8, 8), (8, 7)], 89),
        ],
        outcome: Some(Outcome::Draw),
        ..BASE
    },
    Case {
        name: "duel: the turn limit is not reached one turn early",
        max_turns: 2,
        before: &[
            s(&[(5, 5), (5, 4), (5, 3)], 90),
            s(&[(8, 8), (8, 7), (8, 6)], 90),
        ],
        moves: &[&[U, U]],
        after: &[
            s(&[(5, 6), (5, 5), (5, 4)], 89),
            s(&[(8, 9), (8, 8), (8, 7)], 89),
        ],
        outcome: None,
        ..BASE
    },
];

#[test]
fn rule_table() {
    let cases = cases();
    let mut names = std::collections::BTreeSet::new();
    for c in &cases {
        assert!(names.insert(c.name), "duplicate case name {:?}", c.name);
        run(c);
    }
    assert!(cases.len() >= 50, "{} cases", cases.len());
}

/// `step` is exactly the documented pipeline of stages, in order.
#[test]
fn step_is_the_stage_pipeline() {
    for c in cases().iter().filter(|c| c.moves.len() == 1) {
        let moves = c.moves.first().copied().unwrap_or(&[]);
        let mut stepped = build(c);
        stepped.step_no_spawn(moves).unwrap();
        let mut staged = build(c);
        staged.stage_move(moves);
        staged.stage_starve();
        staged.stage_feed();
        staged.stage_eliminate();
        assert_eq!(staged.snakes(), stepped.snakes(), "case {:?}", c.name);
        assert_eq!(staged.food(), stepped.food(), "case {:?}", c.name);
        // Spawning with both settings at zero places nothing.
        staged.stage_spawn_food();
        assert_eq!(staged.food(), stepped.food(), "case {:?}", c.name);
    }
}

/// Running the stages out of order gives other results: the order matters and is the
/// Battlesnake one (feed before eliminate: eating on the last health point saves).
#[test]
fn feeding_comes_before_starvation_check() {
    let c = cases()
        .into_iter()
        .find(|c| c.name == "eating on the last health point saves the snake")
        .unwrap();
    let mut game = build(&c);
    game.stage_move(&[U]);
    game.stage_starve();
    assert_eq!(game.snakes()[0].health, 0);
    game.stage_feed();
    assert_eq!(game.snakes()[0].health, 100);
    game.stage_eliminate();
    assert!(game.snakes()[0].is_alive());
}

fn snake(body: &[P]) -> Snake {
    Snake {
        body: body.iter().map(pt).collect(),
        health: 100,
        eaten: 0,
        eliminated: None,
    }
}

#[test]
fn default_move_continues_from_neck_to_head() {
    assert_eq!(snake(&[(1, 1), (1, 1), (1, 1)]).default_move(), U);
    assert_eq!(snake(&[(4, 4)]).default_move(), U);
    assert_eq!(snake(&[(5, 6), (5, 5), (5, 4)]).default_move(), U);
    assert_eq!(snake(&[(5, 4), (5, 5), (5, 6)]).default_move(), D);
    assert_eq!(snake(&[(4, 5), (5, 5), (6, 5)]).default_move(), L);
    assert_eq!(snake(&[(6, 5), (5, 5), (4, 5)]).default_move(), R);
    // Only head and neck matter.
    assert_eq!(snake(&[(6, 5), (5, 5), (5, 4)]).default_move(), R);
    // After one move from a stacked start the neck is known.
    let mut game = SnakeGame::from_parts(
        SnakeParams {
            snakes: 1,
            food_spawn_chance: 0,
            minimum_food: 0,
            ..SnakeParams::default()
        },
        0,
        vec![snake(&[(1, 1), (1, 1), (1, 1)])],
        vec![],
        [0; 32],
    )
    .unwrap();
    let d = game.snakes()[0].default_move();
    assert_eq!(d, U);
    game.step(&[R]).unwrap();
    assert_eq!(game.snakes()[0].default_move(), R);
}

fn duel_position() -> SnakeGame {
    SnakeGame::from_parts(
        SnakeParams {
            food_spawn_chance: 0,
            minimum_food: 0,
            ..SnakeParams::default()
        },
        0,
        vec![
            snake(&[(5, 10), (5, 9), (5, 8)]),
            snake(&[(1, 1), (1, 2), (1, 3)]),
        ],
        vec![],
        [3; 32],
    )
    .unwrap()
}

#[test]
fn stepping_a_finished_game_is_refused() {
    let mut game = duel_position();
    game.step(&[U, D]).unwrap();
    assert_eq!(game.outcome(), Some(&Outcome::Winner(1)));
    assert_eq!(game.to_move(), ToMove::Over);
    let before = game.clone();
    assert_eq!(game.step(&[U, D]), Err(SnakeError::GameOver { turn: 1 }));
    assert_eq!(
        game.step_no_spawn(&[U, D]),
        Err(SnakeError::GameOver { turn: 1 })
    );
    // Even a wrong move count reports the finished game first.
    assert_eq!(game.step(&[U]), Err(SnakeError::GameOver { turn: 1 }));
    assert_eq!(game, before, "a refused step changes nothing");
    assert_eq!(
        SnakeError::GameOver { turn: 1 }.to_string(),
        "the game is over (turn 1)"
    );
}

#[test]
fn a_position_that_is_already_decided_is_over() {
    let mut one_left = duel_position();
    one_left.step(&[U, D]).unwrap();
    let snakes = one_left.snakes().to_vec();
    let game =
        SnakeGame::from_parts(one_left.params().clone(), 7, snakes, vec![], [0; 32]).unwrap();
    assert_eq!(game.outcome(), Some(&Outcome::Winner(1)));
    let mut game = game;
    assert_eq!(game.step(&[U, D]), Err(SnakeError::GameOver { turn: 7 }));
}

#[test]
fn wrong_move_count_is_refused() {
    let mut game = duel_position();
    let before = game.clone();
    for moves in [&[][..], &[U][..], &[U, D, L][..]] {
        let want = SnakeError::WrongMoveCount {
            expected: 2,
            got: moves.len(),
        };
        assert_eq!(game.step(moves), Err(want.clone()));
        assert_eq!(game.step_no_spawn(moves), Err(want));
        assert_eq!(game, before, "a refused step changes nothing");
    }
    assert_eq!(
        SnakeError::WrongMoveCount {
            expected: 2,
            got: 3
        }
        .to_string(),
        "expected 2 moves (one per snake), got 3"
    );
    // Eliminated snakes still need a (ignored) move slot.
    let mut game = SnakeGame::from_parts(
        SnakeParams {
            snakes: 3,
            food_spawn_chance: 0,
            minimum_food: 0,
            ..SnakeParams::default()
        },
        0,
        vec![
            snake(&[(5, 5), (5, 4), (5, 3)]),
            snake(&[(1, 5), (1, 4), (1, 3)]),
            Snake {
                eliminated: Some(Elimination {
                    cause: OutOfBounds,
                    by: None,
                    turn: 0,
                }),
                ..snake(&[(9, 9), (9, 8), (9, 7)])
            },
        ],
        vec![],
        [0; 32],
    )
    .unwrap();
    assert_eq!(
        game.step(&[U, U]),
        Err(SnakeError::WrongMoveCount {
            expected: 3,
            got: 2
        })
    );
    game.step(&[U, U, U]).unwrap();
}

/// The standard start: stacked snakes on the fixed start cells, full health, one food
/// diagonal to each snake (away from the centre, not a corner) and one in the centre.
#[test]
fn standard_start_position() {
    for n in 1..=4u8 {
        for seed in 0..16u8 {
            let params = SnakeParams {
                snakes: n,
                ..SnakeParams::default()
            };
            let game = SnakeGame::new(params, [seed; 32]).unwrap();
            let starts = [
                (1, 1),
                (1, 9),
                (9, 1),
                (9, 9),
                (1, 5),
                (5, 1),
                (5, 9),
                (9, 5),
            ]
            .map(|p| pt(&p));
            let heads: Vec<Point> = game.snakes().iter().map(|s| s.head()).collect();
            for s in game.snakes() {
                assert_eq!(s.len(), 3);
                assert!(s.body.iter().all(|&p| p == s.head()), "stacked start");
                assert_eq!(s.health, 100);
                assert!(s.is_alive());
                assert!(starts.contains(&s.head()));
            }
            let corners = heads.iter().filter(|h| starts[..4].contains(h)).count();
            let edges = heads.len() - corners;
            // Up to four snakes all start in one group (corners or edge centres).
            assert!(corners == heads.len() || edges == heads.len(), "{heads:?}");
            let mut distinct = heads.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), heads.len(), "distinct start cells");
            assert_eq!(game.food().len(), usize::from(n) + 1);
            assert_eq!(game.food().last(), Some(&Point::new(5, 5)));
            for (food, head) in game.food().iter().zip(&heads) {
                assert_eq!(food.distance(*head), 2);
                assert!(food.x != head.x && food.y != head.y, "diagonal");
                let corner = (food.x == 0 || food.x == 10) && (food.y == 0 || food.y == 10);
                assert!(!corner, "no food in a corner");
                assert!(
                    (food.x - 5).abs() > (head.x - 5).abs()
                        || (food.y - 5).abs() > (head.y - 5).abs(),
                    "food lies away from the centre"
                );
            }
            assert_eq!(game.turn(), 0);
            assert_eq!(game.outcome(), None);
        }
    }
}
