//! Engine speed: turns per second for 11x11 duels between random agents, full games per
//! second, replay of stored action logs per second (and the same turns stepped without
//! decoding or setting up), and the agents' move rates.
//!
//! Run with `cargo bench -p nets-envs --bench engine`. Throughput is printed as elements per
//! second, where an element is a turn, a game or a move as each group's name says.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nets_envs::agents::{Agent, Greedy, RandomAgent, Search};
use nets_envs::log::{ActionLog, EnvSpec, replay_with};
use nets_envs::snake::{Direction, SnakeGame, SnakeParams};

fn seed(i: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&i.to_le_bytes());
    s
}

/// Plays one random-vs-random duel; returns the turns played.
fn random_duel(i: u64) -> u32 {
    let mut game = SnakeGame::new(SnakeParams::duel(11), seed(i)).unwrap();
    let mut a = RandomAgent::new(seed(i ^ 0xa));
    let mut b = RandomAgent::new(seed(i ^ 0xb));
    while !game.is_over() {
        let moves = [a.choose(&game, 0), b.choose(&game, 1)];
        game.step(&moves).unwrap();
    }
    game.turn()
}

/// Logs of games between greedy agents (long enough to be representative).
fn greedy_logs(n: u64) -> (Vec<ActionLog>, u64) {
    let mut logs = Vec::new();
    let mut turns = 0;
    for i in 0..n {
        let spec = EnvSpec::Snake(SnakeParams::duel(11));
        let mut game = spec.start(seed(i)).unwrap();
        let mut log = ActionLog::new(spec, seed(i));
        let (mut a, mut b) = (Greedy, Greedy);
        while !game.is_over() {
            let moves = [a.choose(&game, 0), b.choose(&game, 1)];
            log.record_turn(&game, &moves);
            game.step(&moves).unwrap();
        }
        turns += u64::from(game.turn());
        logs.push(log);
    }
    (logs, turns)
}

fn engine(c: &mut Criterion) {
    // Random duels: how many turns does a batch of 100 games take?
    let batch: u64 = 100;
    let turns: u64 = (0..batch).map(|i| u64::from(random_duel(i))).sum();
    let mut g = c.benchmark_group("random_duels_11x11");
    g.throughput(Throughput::Elements(turns));
    g.bench_function("turns", |b| {
        b.iter(|| (0..batch).map(|i| black_box(random_duel(i))).sum::<u32>())
    });
    g.throughput(Throughput::Elements(batch));
    g.bench_function("games", |b| {
        b.iter(|| (0..batch).map(|i| black_box(random_duel(i))).sum::<u32>())
    });
    g.finish();

    // The engine alone on a long game: step a pre-recorded greedy duel, no agent cost.
    let (logs, log_turns) = greedy_logs(50);
    let mut g = c.benchmark_group("replay_greedy_duels_11x11");
    g.throughput(Throughput::Elements(log_turns));
    g.bench_function("turns", |b| {
        b.iter(|| {
            logs.iter()
                .map(|l| black_box(l.replay().unwrap()).turn())
                .sum::<u32>()
        })
    });
    g.throughput(Throughput::Elements(logs.len() as u64));
    g.bench_function("logs", |b| {
        b.iter(|| {
            logs.iter()
                .map(|l| black_box(l.replay().unwrap()).turn())
                .sum::<u32>()
        })
    });
    g.finish();

    // The turns alone: the same games' moves stepped on copies of their start positions, with
    // no log to decode and no game to set up (the per-game part of a replay).
    let games: Vec<(SnakeGame, Vec<[Direction; 2]>)> = logs
        .iter()
        .map(|l| {
            let mut turns = Vec::new();
            replay_with(l, |_, moves| turns.push([moves[0], moves[1]])).unwrap();
            (l.spec.start(l.seed).unwrap(), turns)
        })
        .collect();
    let mut g = c.benchmark_group("step_greedy_duels_11x11");
    g.throughput(Throughput::Elements(log_turns));
    g.bench_function("turns", |b| {
        b.iter(|| {
            games
                .iter()
                .map(|(start, turns)| {
                    let mut game = start.clone();
                    for moves in turns {
                        game.step(moves).unwrap();
                    }
                    black_box(game).turn()
                })
                .sum::<u32>()
        })
    });
    g.finish();

    // Agents: moves per second on a mid-game position.
    let (logs, _) = greedy_logs(1);
    let mut mid = logs[0].spec.start(logs[0].seed).unwrap();
    let turns = logs[0].actions.turns / 2;
    for t in 0..turns {
        let moves: Vec<Direction> = (0..2)
            .map(|p| Direction::from_code(logs[0].actions.code(t, p, 2, 2) as u8))
            .collect();
        mid.step(&moves).unwrap();
    }
    let mut g = c.benchmark_group("agent_moves");
    g.throughput(Throughput::Elements(1));
    g.bench_function("random", |b| {
        let mut a = RandomAgent::new(seed(1));
        b.iter(|| black_box(a.choose(&mid, 0)))
    });
    g.bench_function("greedy", |b| b.iter(|| black_box(Greedy.choose(&mid, 0))));
    g.bench_function("search", |b| {
        let mut s = Search::default();
        b.iter(|| black_box(s.choose(&mid, 0)))
    });
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
