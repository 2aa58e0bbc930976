//! Bad input from the network or the disk: every decoder of the node refuses it with an error,
//! never a panic, and a forged or altered item never validates.

mod common;

use nets_envs::log::EnvSpec;
use nets_envs::snake::SnakeParams;
use nets_node::config::Config;
use nets_node::settlement::settler::AttestationMsg;
use nets_node::store::{Durability, Store};
use nets_tournament::identity::Keypair;
use nets_tournament::messages::{MatchHeader, OutcomeRecord};
use nets_tournament::node::frames::{FetchRequest, FetchResponse, Frame};
use nets_tournament::node::item::Item;
use nets_tournament::wire;
use proptest::prelude::*;

/// A real outcome record, played by two greedy agents through the match protocol.
fn outcome() -> OutcomeRecord {
    let (ka, kb) = (Keypair::from_secret([1; 32]), Keypair::from_secret([2; 32]));
    let header = MatchHeader {
        epoch: 3,
        round: 1,
        env: EnvSpec::Snake(SnakeParams::duel(7)),
        a: ka.id(),
        b: kb.id(),
    };
    common::greedy_outcome(header, ka, kb, [[7; 32], [8; 32]])
}

/// Flips every `stride`-th byte of `bytes` in turn: the result either does not decode or
/// does not validate.
fn assert_no_changed_byte_validates(bytes: &[u8], stride: usize) {
    for i in (0..bytes.len()).step_by(stride) {
        let mut b = bytes.to_vec();
        b[i] ^= 0x41;
        if let Ok(decoded) = Item::from_bytes(&b) {
            assert!(
                decoded.validate().is_err(),
                "byte {i} changed and still valid"
            );
        }
    }
}

#[test]
fn a_valid_outcome_validates_and_any_changed_byte_is_refused() {
    let item = Item::Outcome(outcome());
    item.validate().unwrap();
    let bytes = item.to_bytes();
    assert_eq!(Item::from_bytes(&bytes).unwrap(), item);
    // Every third byte changed (a stride keeps the test short).
    assert_no_changed_byte_validates(&bytes, 3);
    // Truncations never decode.
    for n in 0..bytes.len() {
        assert!(Item::from_bytes(&bytes[..n]).is_err());
    }
}

#[test]
fn a_forged_or_altered_entry_is_refused() {
    let key = Keypair::from_secret([3; 32]);
    let entry = nets_tournament::league::Entry::sign(
        &key,
        nets_tournament::hash::Hash32([9; 32]),
        5,
        vec!["/ip4/127.0.0.1/tcp/4100".into()],
    );
    let item = Item::Entry(entry.clone());
    item.validate().unwrap();
    let bytes = item.to_bytes();
    assert_eq!(Item::from_bytes(&bytes).unwrap(), item);
    assert_no_changed_byte_validates(&bytes, 1);
    // Someone else's entry in our name.
    let mut forged = entry;
    forged.player = Keypair::from_secret([4; 32]).id();
    let e = Item::Entry(forged).validate().unwrap_err();
    assert!(e.to_string().contains("invalid entry"), "{e}");
}

proptest! {
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Item::from_bytes(&bytes).map(|i| i.validate());
        let _ = wire::decode::<Frame>(&bytes, 8192);
        let _ = wire::decode::<FetchRequest>(&bytes, 4096);
        let _ = wire::decode::<FetchResponse>(&bytes, 1 << 20);
        let _ = AttestationMsg::from_bytes(&bytes).map(|m| m.check());
        let _ = Config::parse(&String::from_utf8_lossy(&bytes), "fuzz.toml");
    }
}

/// Opens a sled database directly. sled's flusher thread lets go of the directory's lock a
/// moment after the last handle is dropped, so a busy machine may need a few tries.
fn open_raw(path: &std::path::Path) -> sled::Db {
    let start = std::time::Instant::now();
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(_) if start.elapsed() < std::time::Duration::from_secs(10) => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("cannot open {}: {e}", path.display()),
        }
    }
}

#[test]
fn a_store_from_another_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = Store::open(&path).unwrap();
        let item = Item::Outcome(outcome());
        assert!(
            store
                .put_item(&item, &item.to_bytes(), Durability::Now)
                .unwrap()
        );
    }
    {
        let db = open_raw(&path);
        db.open_tree("meta")
            .unwrap()
            .insert("schema", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let start = std::time::Instant::now();
    let err = loop {
        let err = Store::open(&path).unwrap_err();
        if !err.to_string().contains("lock") || start.elapsed().as_secs() > 10 {
            break err;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(err.to_string().contains("99"), "{err}");
    // The data is still there for a build that reads that schema.
    let db = open_raw(&path);
    assert_eq!(db.open_tree("items").unwrap().len(), 1);
}
