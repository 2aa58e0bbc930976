//! Outcome verification throughput, next to the bound set by signature checking alone.
//!
//! Records are real: 200-turn-limit duels between search agents played through the match
//! machines. Reported per record: full `verify` (two strict signature checks + replay) and, as
//! the baselines measured in the same run, the two signature checks alone, strict one by one
//! (the acceptance rule) and batched (for reference: batch verification is not used for
//! acceptance, see `verify::verify_many`). Before the criterion groups, the ratio of `verify`
//! to the strict signature bound is printed from paired rounds (baseline and verifier timed
//! back to back), which a shared machine's drifts do not skew the way separate groups minutes
//! apart can. The transcript hash and the replay are timed on their own for the breakdown.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nets_envs::agents::{Agent, Search};
use nets_envs::log::EnvSpec;
use nets_envs::log::replay_actions;
use nets_envs::snake::SnakeParams;
use nets_tournament::identity::{Domain, Keypair, SignedItem, verify_batch};
use nets_tournament::messages::{MatchHeader, OutcomeRecord, match_seed};
use nets_tournament::protocol::{Event, MatchConfig, MatchMachine};
use nets_tournament::verify::verify;
use nets_tournament::wire;

fn play(round: u32) -> OutcomeRecord {
    let (ka, kb) = (Keypair::from_secret([1; 32]), Keypair::from_secret([2; 32]));
    let header = MatchHeader {
        epoch: 0,
        round,
        env: EnvSpec::Snake(SnakeParams {
            max_turns: 200,
            ..SnakeParams::duel(11)
        }),
        a: ka.id(),
        b: kb.id(),
    };
    let cfg = MatchConfig::default();
    let mut m = [
        MatchMachine::new(0, header.clone(), ka, [3; 32], cfg).unwrap(),
        MatchMachine::new(0, header, kb, [4; 32], cfg).unwrap(),
    ];
    let mut agents = [
        Search {
            budget: 150,
            max_depth: 2,
        },
        Search {
            budget: 150,
            max_depth: 2,
        },
    ];
    loop {
        for me in 0..2 {
            while let Some(ev) = m[me].poll_event() {
                match ev {
                    Event::ActionNeeded { .. } => {
                        let g = m[me].pending_game().unwrap().clone();
                        let seat = m[me].seat().index() as usize;
                        let mv = agents[me].choose(&g, seat);
                        m[me].supply_action(0, mv.code()).unwrap();
                    }
                    Event::Finished(r) => return r,
                    other => panic!("unexpected {other:?}"),
                }
            }
            while let Some(msg) = m[me].poll_transmit() {
                m[1 - me].handle_message(0, msg);
            }
        }
    }
}

fn signatures(records: &[OutcomeRecord]) -> Vec<SignedItem> {
    records
        .iter()
        .flat_map(|r| {
            let bytes = r.payload.signed_bytes();
            [
                SignedItem {
                    signer: r.payload.header.a,
                    domain: Domain::MatchResult,
                    payload: bytes.clone(),
                    signature: r.sig_a,
                },
                SignedItem {
                    signer: r.payload.header.b,
                    domain: Domain::MatchResult,
                    payload: bytes,
                    signature: r.sig_b,
                },
            ]
        })
        .collect()
}

/// Times `f` over `reps` calls, in seconds.
fn seconds(reps: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed().as_secs_f64()
}

/// The ratio of `verify` to the signature bound, measured in paired rounds: each round times
/// the baseline and the verifier back to back, so drifts in the machine's speed (it is shared)
/// hit both alike. Prints the median ratio with its range over the rounds.
fn paired_ratio(records: &[OutcomeRecord], items: &[SignedItem]) {
    const ROUNDS: usize = 21;
    const REPS: u32 = 20;
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let bound = seconds(REPS, || {
                for i in items {
                    black_box(i.signer.verify(i.domain, &i.payload, &i.signature)).unwrap();
                }
            });
            let full = seconds(REPS, || {
                for r in records {
                    black_box(verify(r)).unwrap();
                }
            });
            bound / full
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "verify runs at {:.1} % of the signature bound (median of {ROUNDS} paired rounds; {:.1}..{:.1} %)",
        100.0 * ratios[ROUNDS / 2],
        100.0 * ratios[0],
        100.0 * ratios[ROUNDS - 1],
    );
}

fn bench(c: &mut Criterion) {
    let records: Vec<OutcomeRecord> = (0..64).map(play).collect();
    let turns: u64 = records
        .iter()
        .map(|r| u64::from(r.payload.actions[0].turns))
        .sum();
    eprintln!(
        "{} records, {:.0} turns on average, {} bytes of payload each",
        records.len(),
        turns as f64 / records.len() as f64,
        wire::encode(&records[0].payload).len()
    );
    let items = signatures(&records);
    paired_ratio(&records, &items);
    let n = records.len() as u64;
    let mut g = c.benchmark_group("outcomes");
    g.throughput(Throughput::Elements(n));
    g.bench_function("signatures_only_single", |b| {
        b.iter(|| {
            for i in &items {
                black_box(i.signer.verify(i.domain, &i.payload, &i.signature)).unwrap();
            }
        })
    });
    g.bench_function("signatures_only_batched", |b| {
        b.iter(|| black_box(verify_batch(&items)).unwrap())
    });
    g.bench_function("verify_single", |b| {
        b.iter(|| {
            for r in &records {
                black_box(verify(r)).unwrap();
            }
        })
    });
    // The two parts of `verify` besides its signatures, for the breakdown.
    g.bench_function("part_transcript_hash", |b| {
        b.iter(|| {
            for r in &records {
                black_box(r.payload.transcript_hash_and_match_id());
            }
        })
    });
    let seeds: Vec<[u8; 32]> = records
        .iter()
        .map(|r| {
            let p = &r.payload;
            match_seed(&p.header.match_id(), &p.seed_a, &p.seed_b)
        })
        .collect();
    g.bench_function("part_replay", |b| {
        b.iter(|| {
            for (r, seed) in records.iter().zip(&seeds) {
                let game = r.payload.header.env.start(*seed).unwrap();
                black_box(replay_actions(game, &r.payload.actions[0], |_, _| {})).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
