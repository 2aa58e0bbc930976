//! Merkle trees: every proof verifies for its own leaf and nothing else, exhaustively for small
//! trees and by property for larger ones, and the committed contract test vectors are current.
//!
//! Run with `NETS_UPDATE_VECTORS=1` to rewrite `tests/vectors/merkle.json` instead of checking it.

use std::path::PathBuf;

use nets_tournament::hash::Hash32;
use nets_tournament::merkle::{EMPTY_ROOT, MerkleTree, Proof, leaf_hash, verify};
use proptest::prelude::*;
use serde_json::{Value, json};

/// `ceil(log2 n)` for `n >= 1`.
fn ceil_log2(n: usize) -> usize {
    n.next_power_of_two().trailing_zeros() as usize
}

fn flip_bit(hash: Hash32, bit: usize) -> Hash32 {
    let mut bytes = hash.0;
    bytes[bit / 8 % 32] ^= 1 << (bit % 8);
    Hash32(bytes)
}

/// Checks every proof of the tree over `leaves`: it verifies for its leaf, is short enough, and
/// fails for every other leaf value, for any changed sibling and for a wrong root.
fn check_tree(leaves: &[Hash32]) {
    let tree = MerkleTree::new(leaves.iter().copied());
    let n = leaves.len();
    assert_eq!(tree.len(), n);
    assert_eq!(tree.leaves(), leaves);
    let root = tree.root();
    assert_ne!(root, EMPTY_ROOT);
    assert_eq!(tree.proof(n), None);
    for (i, &leaf) in leaves.iter().enumerate() {
        let proof = tree.proof(i).expect("index in range");
        assert!(verify(root, leaf, &proof), "n = {n}, i = {i}");
        assert!(proof.siblings().len() <= ceil_log2(n), "n = {n}, i = {i}");
        for &other in leaves {
            if other != leaf {
                assert!(!verify(root, other, &proof), "n = {n}, i = {i}");
            }
        }
        assert!(!verify(root, leaf_hash(b"not a leaf"), &proof));
        for s in 0..proof.siblings().len() {
            let mut changed = proof.clone();
            changed.0[s] = flip_bit(changed.0[s], i + s);
            assert!(!verify(root, leaf, &changed), "n = {n}, i = {i}, s = {s}");
        }
        assert!(!verify(flip_bit(root, i), leaf, &proof), "n = {n}, i = {i}");
        assert!(!verify(EMPTY_ROOT, leaf, &proof));
    }
}

#[test]
fn every_tree_of_1_to_70_leaves() {
    for n in 1..=70u64 {
        let leaves: Vec<Hash32> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        check_tree(&leaves);
    }
}

#[test]
fn proof_lengths_are_exactly_the_levels_with_a_sibling() {
    // A power of two gives every leaf a full-length proof; one more leaf adds a level, which the
    // new last leaf reaches with a single sibling after being promoted all the way up.
    let leaves: Vec<Hash32> = (0..65u64).map(|i| leaf_hash(&i.to_le_bytes())).collect();
    let tree = MerkleTree::new(leaves[..64].iter().copied());
    assert!((0..64).all(|i| tree.proof(i).map(|p| p.0.len()) == Some(6)));
    let tree = MerkleTree::new(leaves.iter().copied());
    assert_eq!(tree.proof(64).map(|p| p.0.len()), Some(1));
    assert!((0..64).all(|i| tree.proof(i).map(|p| p.0.len()) == Some(7)));
}

proptest! {
    #[test]
    fn random_trees(raw in prop::collection::vec(any::<[u8; 32]>(), 1..300)) {
        let leaves: Vec<Hash32> = raw.iter().map(|bytes| leaf_hash(bytes)).collect();
        let tree = MerkleTree::new(leaves.iter().copied());
        let root = tree.root();
        for (i, &leaf) in leaves.iter().enumerate() {
            let proof = tree.proof(i).expect("index in range");
            prop_assert!(verify(root, leaf, &proof));
            prop_assert!(proof.siblings().len() <= ceil_log2(leaves.len()));
        }
    }

    #[test]
    fn random_tampering_is_rejected(
        raw in prop::collection::vec(any::<[u8; 32]>(), 2..200),
        index in any::<prop::sample::Index>(),
        other in any::<prop::sample::Index>(),
        sibling in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let leaves: Vec<Hash32> = raw.iter().map(|bytes| leaf_hash(bytes)).collect();
        let tree = MerkleTree::new(leaves.iter().copied());
        let root = tree.root();
        let i = index.index(leaves.len());
        let leaf = leaves[i];
        let proof = tree.proof(i).expect("index in range");
        prop_assert!(verify(root, leaf, &proof));

        let other = leaves[other.index(leaves.len())];
        prop_assert_eq!(verify(root, other, &proof), other == leaf);
        prop_assert!(!verify(flip_bit(root, bit), leaf, &proof));
        prop_assert!(!verify(root, flip_bit(leaf, bit), &proof));
        // Every leaf has a sibling at the first level except a promoted odd last one, and a
        // tree of at least two leaves gives every leaf at least one sibling somewhere.
        prop_assert!(!proof.siblings().is_empty());
        let mut changed = proof.clone();
        let s = sibling.index(changed.0.len());
        changed.0[s] = flip_bit(changed.0[s], bit);
        prop_assert!(!verify(root, leaf, &changed));
    }

    #[test]
    fn proofs_round_trip_through_json(
        raw in prop::collection::vec(any::<[u8; 32]>(), 1..50),
        index in any::<prop::sample::Index>(),
    ) {
        let tree = MerkleTree::new(raw.iter().map(|bytes| leaf_hash(bytes)));
        let proof = tree.proof(index.index(tree.len())).expect("index in range");
        let json = serde_json::to_string(&proof).expect("serialises");
        prop_assert_eq!(serde_json::from_str::<Proof>(&json).expect("parses"), proof);
    }
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// The contract's test vectors: for each `n`, the leaves are the 8-byte little-endian integers
/// `0..n`, given both as the bytes the contract hashes and as their leaf hashes.
fn vectors() -> Value {
    let trees: Vec<Value> = [1u64, 2, 3, 5, 8, 13]
        .into_iter()
        .map(|n| {
            let data: Vec<[u8; 8]> = (0..n).map(u64::to_le_bytes).collect();
            let tree = MerkleTree::new(data.iter().map(|bytes| leaf_hash(bytes)));
            let proofs: Vec<Vec<String>> = (0..tree.len())
                .map(|i| {
                    let proof = tree.proof(i).expect("index in range");
                    proof.siblings().iter().map(|h| hex0x(&h.0)).collect()
                })
                .collect();
            json!({
                "n": n,
                "leaf_data": data.iter().map(|d| hex0x(d)).collect::<Vec<_>>(),
                "leaves": tree.leaves().iter().map(|h| hex0x(&h.0)).collect::<Vec<_>>(),
                "root": hex0x(&tree.root().0),
                "proofs": proofs,
            })
        })
        .collect();
    json!({
        "scheme": "leaf = keccak256(0x00 ++ leaf_data); node = keccak256(0x01 ++ min(a, b) ++ \
                   max(a, b)) comparing hashes as big-endian uint256; an odd last node of a level \
                   is promoted unchanged; single leaf: root = leaf; empty tree: root = 0x00..00 \
                   and nothing verifies; proofs list siblings from the leaf up",
        "empty_root": hex0x(&EMPTY_ROOT.0),
        "trees": trees,
    })
}

#[test]
fn committed_vectors_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/merkle.json");
    let generated = vectors();
    let mut text = serde_json::to_string_pretty(&generated).expect("serialises");
    text.push('\n');
    if std::env::var_os("NETS_UPDATE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("creates dir");
        std::fs::write(&path, text).expect("writes vectors");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with NETS_UPDATE_VECTORS=1 to create it",
            path.display()
        )
    });
    assert!(
        committed == text,
        "{} is stale; run with NETS_UPDATE_VECTORS=1 to rewrite it",
        path.display()
    );

    // The vectors verify, read back from the file as the contract's tests would read them.
    let parsed: Value = serde_json::from_str(&committed).expect("valid JSON");
    let parse_hash = |v: &Value| {
        let s = v.as_str().expect("hex string");
        let bytes = hex::decode(s.strip_prefix("0x").expect("0x prefix")).expect("hex");
        Hash32(bytes.try_into().expect("32 bytes"))
    };
    for tree in parsed["trees"].as_array().expect("trees") {
        let root = parse_hash(&tree["root"]);
        let leaves = tree["leaves"].as_array().expect("leaves");
        for (leaf, proof) in leaves
            .iter()
            .zip(tree["proofs"].as_array().expect("proofs"))
        {
            let proof = Proof(
                proof
                    .as_array()
                    .expect("proof")
                    .iter()
                    .map(parse_hash)
                    .collect(),
            );
            assert!(verify(root, parse_hash(leaf), &proof));
        }
    }
}
