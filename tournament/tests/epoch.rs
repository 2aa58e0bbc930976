//! Epoch close: the same set of items gives the same summary whatever the order they came in,
//! duplicates change nothing, conflicting records and forfeits are accounted for, and the pot
//! is paid out to the unit.

use std::collections::BTreeMap;

use nets_envs::agents::{Agent, Greedy, RandomAgent, Search};
use nets_envs::log::EnvSpec;
use nets_envs::snake::SnakeParams;
use nets_tournament::economics::RewardTable;
use nets_tournament::epoch::{Added, EpochLedger};
use nets_tournament::evidence::Evidence;
use nets_tournament::identity::{Keypair, PlayerId};
use nets_tournament::league::Attestation;
use nets_tournament::messages::{MatchHeader, OutcomeRecord};
use nets_tournament::protocol::{Event, MatchConfig, MatchMachine};
use nets_tournament::rating::{Glicko2Params, Ratings, canonical_bytes};
use nets_tournament::timeout::TimeoutClaim;
use proptest::strategy::Strategy;

fn key(i: u8) -> Keypair {
    Keypair::from_secret([i.wrapping_add(100); 32])
}

fn agent(i: u8) -> Box<dyn Agent> {
    match i % 3 {
        0 => Box::new(Search {
            budget: 200,
            max_depth: 3,
        }),
        1 => Box::new(Greedy),
        _ => Box::new(RandomAgent::new([i; 32])),
    }
}

/// Plays one duel between players `i` and `j` over a lossless instant link.
fn play(epoch: u64, round: u32, i: u8, j: u8) -> OutcomeRecord {
    let header = MatchHeader {
        epoch,
        round,
        env: EnvSpec::Snake(SnakeParams {
            max_turns: 120,
            ..SnakeParams::duel(11)
        }),
        a: key(i).id(),
        b: key(j).id(),
    };
    let cfg = MatchConfig::default();
    let mut m = [
        MatchMachine::new(0, header.clone(), key(i), [i; 32], cfg).unwrap(),
        MatchMachine::new(0, header, key(j), [j; 32], cfg).unwrap(),
    ];
    let mut agents = [agent(i), agent(j)];
    let mut done: Vec<OutcomeRecord> = Vec::new();
    for _ in 0..100_000 {
        for me in 0..2 {
            while let Some(ev) = m[me].poll_event() {
                match ev {
                    Event::ActionNeeded { .. } => {
                        let g = m[me].pending_game().unwrap().clone();
                        let seat = m[me].seat().index() as usize;
                        let mv = agents[me].choose(&g, seat);
                        m[me].supply_action(0, mv.code()).unwrap();
                    }
                    Event::Finished(r) => done.push(r),
                    other => panic!("unexpected {other:?}"),
                }
            }
            while let Some(msg) = m[me].poll_transmit() {
                m[1 - me].handle_message(0, msg);
            }
        }
        if done.len() == 2 {
            assert_eq!(done[0], done[1]);
            return done.remove(0);
        }
    }
    panic!("match did not finish");
}

fn entries(n: u8, fee: u128) -> BTreeMap<PlayerId, u128> {
    (0..n).map(|i| (key(i).id(), fee)).collect()
}

#[test]
fn summaries_do_not_depend_on_arrival_order() {
    let mut records = Vec::new();
    for i in 0..6u8 {
        for j in (i + 1)..6 {
            records.push(play(7, 0, i, j));
        }
    }
    let params = Glicko2Params::default();
    let entries = entries(6, 1_000);
    let summarise = |order: &[OutcomeRecord]| {
        let mut ledger = EpochLedger::new(7);
        for r in order {
            let added = ledger.add_outcome(r.clone()).unwrap();
            assert!(matches!(added, Added::New | Added::Duplicate));
        }
        ledger
            .close(&Ratings::new(), &params, &entries, &RewardTable::default())
            .unwrap()
    };
    let forward = summarise(&records);
    let mut shuffled: Vec<OutcomeRecord> = records.iter().rev().cloned().collect();
    shuffled.extend(records.iter().step_by(3).cloned()); // duplicates
    shuffled.rotate_left(5);
    let backward = summarise(&shuffled);
    assert_eq!(forward.outcomes_root, backward.outcomes_root);
    assert_eq!(forward.rewards_root, backward.rewards_root);
    assert_eq!(
        canonical_bytes(&forward.ratings),
        canonical_bytes(&backward.ratings)
    );
    assert_eq!(forward.payout, backward.payout);
    assert_eq!(forward.games.len(), 15);
    // Solvency: the pot is paid out to the unit.
    let paid: u128 = forward.payout.paid.values().sum();
    assert_eq!(paid + forward.payout.carried, 6_000);
    assert_eq!(forward.rewards.total(), Some(paid));
    // Search agents (players 0 and 3) out-earn random ones (2 and 5).
    let earned = |i: u8| forward.payout.paid.get(&key(i).id()).copied().unwrap_or(0);
    assert!(earned(0) + earned(3) > earned(2) + earned(5));
}

#[test]
fn records_of_another_epoch_and_tampered_records_are_refused() {
    let r = play(3, 0, 0, 1);
    let mut ledger = EpochLedger::new(4);
    assert!(ledger.add_outcome(r.clone()).is_err());
    let mut ledger = EpochLedger::new(3);
    let mut bad = r.clone();
    bad.payload.result = match r.payload.result {
        nets_envs::Outcome::Winner(0) => nets_envs::Outcome::Winner(1),
        _ => nets_envs::Outcome::Winner(0),
    };
    assert!(ledger.add_outcome(bad).is_err());
    assert_eq!(ledger.add_outcome(r.clone()).unwrap(), Added::New);
    assert_eq!(ledger.add_outcome(r).unwrap(), Added::Duplicate);
}

#[test]
fn an_unanswered_claim_is_a_forfeit_and_an_answered_one_is_not() {
    // Player 0 (seat A) commits, player 1 answers, and A never reveals; B claims.
    let header = MatchHeader {
        epoch: 1,
        round: 0,
        env: EnvSpec::Snake(SnakeParams::duel(7)),
        a: key(0).id(),
        b: key(1).id(),
    };
    let cfg = MatchConfig::default();
    let mut a = MatchMachine::new(0, header.clone(), key(0), [1; 32], cfg).unwrap();
    let mut b = MatchMachine::new(0, header.clone(), key(1), [2; 32], cfg).unwrap();
    let commit = a.poll_transmit().unwrap();
    b.handle_message(0, commit);
    let answer = b.poll_transmit().unwrap();
    a.handle_message(0, answer);
    // A would now ask its agent and reveal; it goes silent instead.
    b.handle_timeout(cfg.step_timeout);
    let claim: TimeoutClaim = std::iter::from_fn(|| b.poll_event())
        .find_map(|e| match e {
            Event::TimeoutClaimed(c) => Some(c),
            _ => None,
        })
        .expect("B claims");
    let entries = entries(2, 500);
    let mut ledger = EpochLedger::new(1);
    assert_eq!(ledger.add_claim(claim.clone()).unwrap(), Added::New);
    assert_eq!(ledger.add_claim(claim.clone()).unwrap(), Added::Duplicate);
    let s = ledger
        .close(
            &Ratings::new(),
            &Glicko2Params::default(),
            &entries,
            &RewardTable::default(),
        )
        .unwrap();
    assert_eq!(s.standings[&key(0).id()].forfeits, 1);
    assert_eq!(s.standings[&key(1).id()].wins, 1);
    assert_eq!(s.payout.paid.get(&key(1).id()), Some(&1000));
    assert!(s.ratings[&key(1).id()].rating > s.ratings[&key(0).id()].rating);

    // A claimant convicted of fraud in the epoch cannot win by timeout.
    let mut convicted = ledger.clone();
    let league = nets_tournament::hash::Hash32([1; 32]);
    let root = nets_tournament::hash::Hash32([2; 32]);
    let first = Attestation::sign(&key(1), league, 1, root, root, 1);
    let second = Attestation::sign(&key(1), league, 1, root, root, 2);
    convicted
        .add_evidence(Evidence::ConflictingAttestations { first, second })
        .unwrap();
    let s = convicted
        .close(
            &Ratings::new(),
            &Glicko2Params::default(),
            &entries,
            &RewardTable::default(),
        )
        .unwrap();
    assert!(s.games.is_empty());
    assert!(s.standings[&key(1).id()].fraud);
    assert_eq!(s.payout.paid.get(&key(0).id()), Some(&1000));
    // The reward table lists the conviction, under the root the stakers attest.
    let listed: Vec<_> = s.rewards.convicted.iter().copied().collect();
    assert_eq!(listed, vec![key(1).id()]);
    let proof = s.rewards.conviction_proof(&key(1).id()).unwrap();
    assert!(nets_tournament::merkle::verify(
        s.rewards_root,
        RewardTable::conviction_leaf(&key(1).id()),
        &proof
    ));
    // Convictions are cumulative: the next epoch's table still lists it.
    let next = EpochLedger::new(2)
        .close(&s.ratings, &Glicko2Params::default(), &entries, &s.rewards)
        .unwrap();
    assert!(next.rewards.convicted.contains(&key(1).id()));

    // Now A answers with its reveal: the claim is void.
    while let Some(Event::ActionNeeded { .. }) = a.poll_event() {
        a.supply_action(0, 0).unwrap();
    }
    let reveal = a.poll_transmit().unwrap();
    assert_eq!(ledger.add_answer(&reveal).unwrap(), Added::New);
    let s = ledger
        .close(
            &Ratings::new(),
            &Glicko2Params::default(),
            &entries,
            &RewardTable::default(),
        )
        .unwrap();
    assert_eq!(s.games.len(), 0);
    // Nobody scored: both get their fee back.
    assert_eq!(s.payout.paid.get(&key(0).id()), Some(&500));
}

/// One item of an epoch, as a node may receive it.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum Any {
    Outcome(OutcomeRecord),
    Claim(TimeoutClaim),
    Answer(nets_tournament::messages::MatchMessage),
    Evidence(Evidence),
}

/// A claim by seat B in a duel of `a` and `b` where A went silent after B's answer, and A's
/// late reveal, which answers it.
fn claim_and_answer(
    epoch: u64,
    a: u8,
    b: u8,
) -> (TimeoutClaim, nets_tournament::messages::MatchMessage) {
    let header = MatchHeader {
        epoch,
        round: 9,
        env: EnvSpec::Snake(SnakeParams::duel(7)),
        a: key(a).id(),
        b: key(b).id(),
    };
    let cfg = MatchConfig::default();
    let mut ma = MatchMachine::new(0, header.clone(), key(a), [a; 32], cfg).unwrap();
    let mut mb = MatchMachine::new(0, header, key(b), [b; 32], cfg).unwrap();
    mb.handle_message(0, ma.poll_transmit().unwrap());
    ma.handle_message(0, mb.poll_transmit().unwrap());
    mb.handle_timeout(cfg.step_timeout);
    let claim = std::iter::from_fn(|| mb.poll_event())
        .find_map(|e| match e {
            Event::TimeoutClaimed(c) => Some(c),
            _ => None,
        })
        .unwrap();
    while let Some(Event::ActionNeeded { .. }) = ma.poll_event() {
        ma.supply_action(0, 0).unwrap();
    }
    (claim, ma.poll_transmit().unwrap())
}

/// Every kind of item of one epoch: records, an answered and an unanswered claim, the
/// answer, and evidence against two keys (one of them twice).
fn epoch_items() -> &'static [Any] {
    static ITEMS: std::sync::OnceLock<Vec<Any>> = std::sync::OnceLock::new();
    ITEMS.get_or_init(|| {
        let mut items: Vec<Any> = [(0, 1), (1, 2), (2, 3), (0, 3)]
            .into_iter()
            .map(|(i, j)| Any::Outcome(play(7, 0, i, j)))
            .collect();
        let (answered, answer) = claim_and_answer(7, 4, 5);
        let (unanswered, _) = claim_and_answer(7, 5, 0);
        items.push(Any::Claim(answered));
        items.push(Any::Answer(answer));
        items.push(Any::Claim(unanswered));
        let league = nets_tournament::hash::Hash32([1; 32]);
        let root = nets_tournament::hash::Hash32([2; 32]);
        for (culprit, totals) in [(3u8, [1u128, 2]), (3, [1, 3]), (2, [5, 6])] {
            let first = Attestation::sign(&key(culprit), league, 7, root, root, totals[0]);
            let second = Attestation::sign(&key(culprit), league, 7, root, root, totals[1]);
            items.push(Any::Evidence(Evidence::ConflictingAttestations {
                first,
                second,
            }));
        }
        items
    })
}

fn close_in_order(order: &[usize]) -> nets_tournament::epoch::EpochSummary {
    let items = epoch_items();
    let mut ledger = EpochLedger::new(7);
    for i in order {
        // Refusals (an answer to no claim before close) change nothing either.
        let _ = match &items[*i] {
            Any::Outcome(r) => ledger.add_outcome(r.clone()),
            Any::Claim(c) => ledger.add_claim(c.clone()),
            Any::Answer(m) => ledger.add_answer(m),
            Any::Evidence(e) => ledger.add_evidence(e.clone()),
        };
    }
    ledger
        .close(
            &Ratings::new(),
            &Glicko2Params::default(),
            &entries(6, 1_000),
            &RewardTable::default(),
        )
        .unwrap()
}

#[test]
fn an_answer_that_comes_before_its_claim_still_voids_it() {
    let (claim, answer) = claim_and_answer(7, 4, 5);
    let mut ledger = EpochLedger::new(7);
    assert_eq!(ledger.add_answer(&answer).unwrap(), Added::Held);
    assert_eq!(ledger.add_answer(&answer).unwrap(), Added::Duplicate);
    ledger.add_claim(claim).unwrap();
    let s = ledger
        .close(
            &Ratings::new(),
            &Glicko2Params::default(),
            &entries(6, 1_000),
            &RewardTable::default(),
        )
        .unwrap();
    assert!(s.games.is_empty(), "the claim was answered: no forfeit");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Records, claims, answers, evidence and duplicates of them, in any order: the same
    /// summary, byte for byte.
    #[test]
    fn the_summary_does_not_depend_on_arrival_order(
        order in proptest::strategy::Just((0..epoch_items().len()).collect::<Vec<usize>>())
            .prop_shuffle(),
        dups in proptest::collection::vec(0..epoch_items().len(), 0..6),
    ) {
        let reference = close_in_order(&(0..epoch_items().len()).collect::<Vec<_>>());
        let mut shuffled = order.clone();
        shuffled.extend(dups);
        let summary = close_in_order(&shuffled);
        proptest::prop_assert_eq!(&summary, &reference);
        proptest::prop_assert_eq!(
            canonical_bytes(&summary.ratings),
            canonical_bytes(&reference.ratings)
        );
        // The answered claim is no forfeit; the unanswered one is; both frauds are listed.
        proptest::prop_assert_eq!(reference.standings[&key(0).id()].forfeits, 0);
        proptest::prop_assert_eq!(reference.standings[&key(5).id()].forfeits, 1);
        proptest::prop_assert_eq!(reference.rewards.convicted.len(), 2);
    }
}
