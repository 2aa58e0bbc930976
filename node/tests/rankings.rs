//! Rankings from a store: the cache a running node keeps gives exactly what a replay from
//! genesis gives, also after items arrive late for an epoch already summarized.

mod common;

use nets_envs::log::EnvSpec;
use nets_node::config::Config;
use nets_node::rankings::{SummaryCache, summaries, summaries_cached};
use nets_node::store::{Durability, Store};
use nets_tournament::identity::Keypair;
use nets_tournament::messages::{MatchHeader, OutcomeRecord};
use nets_tournament::node::item::Item;

/// A real outcome in `env`, played by two greedy agents.
fn outcome(epoch: u64, round: u32, a: u8, b: u8, env: &EnvSpec) -> OutcomeRecord {
    let (ka, kb) = (Keypair::from_secret([a; 32]), Keypair::from_secret([b; 32]));
    let header = MatchHeader {
        epoch,
        round,
        env: env.clone(),
        a: ka.id(),
        b: kb.id(),
    };
    common::greedy_outcome(header, ka, kb, [[a; 32], [b; 32]])
}

fn put(store: &Store, record: OutcomeRecord) {
    let item = Item::Outcome(record);
    assert!(
        store
            .put_item(&item, &item.to_bytes(), Durability::Background)
            .unwrap()
    );
}

#[test]
fn cached_summaries_equal_a_replay_from_genesis_also_after_a_late_item() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let league = Config::default().leagues().unwrap().remove(0);
    let env = league.env.clone();
    put(&store, outcome(0, 0, 1, 2, &env));
    put(&store, outcome(0, 0, 3, 4, &env));
    put(&store, outcome(2, 0, 1, 3, &env));
    let mut cache = SummaryCache::default();
    let first = summaries_cached(&store, &league, 3, &mut cache).unwrap();
    assert_eq!(first, summaries(&store, &league, 3).unwrap());
    assert_eq!(first.iter().map(|s| s.epoch).collect::<Vec<_>>(), [0, 2]);
    // A prefix comes from the cache too.
    assert_eq!(
        summaries_cached(&store, &league, 1, &mut cache).unwrap(),
        first[..1]
    );
    // An outcome of epoch 0 arrives late, and one of epoch 1, which had no games: epoch 0's
    // summary changes, and with it every later one.
    put(&store, outcome(0, 1, 2, 4, &env));
    put(&store, outcome(1, 0, 4, 1, &env));
    let again = summaries_cached(&store, &league, 3, &mut cache).unwrap();
    assert_eq!(again, summaries(&store, &league, 3).unwrap());
    assert_eq!(again.iter().map(|s| s.epoch).collect::<Vec<_>>(), [0, 1, 2]);
    assert_ne!(again[0], first[0]);
    assert_ne!(again[2].ratings, first[1].ratings);
}
