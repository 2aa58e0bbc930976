//! Outcome verification throughput, next to the bound set by signature checking alone.
//!
//! Records are real: 200-turn-limit duels between search agents played through the match
//! machines. Reported per record: full `verify` (two strict signature checks + replay) and, as
//! the baselines measured in the same run, the two signature checks alone, strict one by one
//! (the acceptance rule) and batched (for reference: batch verification is not used for
//! acceptance, see `verify::verify_many`). Before the criterion groups, the ratio of `verify`
//! to the strict signature bound is printed from paired rounds (baseline and verifier timed
//! back to back), which a shared machine's drifts do not skew the way separate groups minutes
//! apart can. The same rounds time the transcript hash and the replay on their own: the table
//! printed after the ratio gives each part per record, and the ceiling they set (the ratio
//! `verify` would reach if it cost no more than its parts run alone).

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nets_envs::agents::{Agent, Search};
use nets_envs::log::EnvSpec;
use nets_envs::log::replay_actions;
use nets_envs::snake::SnakeParams;
use nets_tournament::hash::Hash32;
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

/// Replays a record's game from its seed shares, as `verify` does after the signatures.
fn replay(record: &OutcomeRecord, match_id: &Hash32) {
    let p = &record.payload;
    let seed = match_seed(match_id, &p.seed_a, &p.seed_b);
    let game = p.header.env.start(seed).unwrap();
    black_box(replay_actions(game, &p.actions[0], |_, _| {})).unwrap();
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The ratio of `verify` to the signature bound, measured in paired rounds: each round times
/// the baseline, the verifier and the two other parts of `verify` back to back, so drifts in
/// the machine's speed (it is shared) hit all alike. Prints the median ratio with its range
/// over the rounds, then the cost of each part per record and the ceiling they set: the ratio
/// `verify` would reach if it cost exactly the sum of its parts, run on their own.
fn paired_ratio(records: &[OutcomeRecord], match_ids: &[Hash32], items: &[SignedItem]) {
    const ROUNDS: usize = 21;
    const REPS: u32 = 20;
    let per_record = |secs: f64| secs / f64::from(REPS) / records.len() as f64 * 1e6;
    let (mut bounds, mut fulls, mut hashes, mut replays) = (vec![], vec![], vec![], vec![]);
    let (mut ratios, mut ceilings) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        let bound = per_record(seconds(REPS, || {
            for i in items {
                black_box(i.signer.verify(i.domain, &i.payload, &i.signature)).unwrap();
            }
        }));
        let full = per_record(seconds(REPS, || {
            for r in records {
                black_box(verify(r)).unwrap();
            }
        }));
        let hash = per_record(seconds(REPS, || {
            for r in records {
                black_box(r.payload.transcript_hash_and_match_id());
            }
        }));
        let replayed = per_record(seconds(REPS, || {
            for (r, id) in records.iter().zip(match_ids) {
                replay(r, id);
            }
        }));
        ratios.push(bound / full);
        ceilings.push(bound / (bound + hash + replayed));
        bounds.push(bound);
        fulls.push(full);
        hashes.push(hash);
        replays.push(replayed);
    }
    let range = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        format!("{:.1}..{:.1} %", 100.0 * lo, 100.0 * hi)
    };
    eprintln!(
        "verify runs at {:.1} % of the signature bound (median of {ROUNDS} paired rounds; {})",
        100.0 * median(ratios.clone()),
        range(&ratios),
    );
    let (bound, full, hash, replayed) = (
        median(bounds),
        median(fulls),
        median(hashes),
        median(replays),
    );
    eprintln!("| part of verify, per record | µs |");
    eprintln!("|---|---|");
    eprintln!("| two signatures, strict (the bound) | {bound:.2} |");
    eprintln!("| transcript hash and match id | {hash:.2} |");
    eprintln!("| replay (seed, start, every turn) | {replayed:.2} |");
    eprintln!("| verify | {full:.2} |");
    eprintln!(
        "| verify beyond its parts run alone | {:.2} |",
        full - bound - hash - replayed
    );
    eprintln!(
        "ceiling set by the parts: {:.1} % of the bound (median; {})",
        100.0 * median(ceilings.clone()),
        range(&ceilings),
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
    let match_ids: Vec<Hash32> = records
        .iter()
        .map(|r| r.payload.header.match_id())
        .collect();
    paired_ratio(&records, &match_ids, &items);
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
    g.bench_function("part_replay", |b| {
        b.iter(|| {
            for (r, id) in records.iter().zip(&match_ids) {
                replay(r, id);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
