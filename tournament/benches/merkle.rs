//! Merkle batching throughput: building a one-million-leaf tree (its root), generating proofs
//! from it and verifying them. Criterion prints the throughput in leaves or proofs per second.

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use nets_tournament::hash::Hash32;
use nets_tournament::merkle::{MerkleTree, Proof, leaf_hash, verify};

const LEAVES: u64 = 1_000_000;
/// How many proofs each proof and verification iteration handles.
const PROOFS: usize = 1_000;

fn leaves() -> Vec<Hash32> {
    (0..LEAVES).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

/// Spread-out leaf indices (a fixed multiplicative stride, so no randomness is needed).
fn indices(n: usize) -> Vec<usize> {
    (0..PROOFS).map(|k| k.wrapping_mul(7_919_993) % n).collect()
}

fn bench_merkle(c: &mut Criterion) {
    let leaves = leaves();

    let mut group = c.benchmark_group("merkle/build");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.throughput(Throughput::Elements(LEAVES));
    group.bench_function("root_1m_leaves", |b| {
        b.iter(|| MerkleTree::new(black_box(&leaves).iter().copied()).root())
    });
    group.finish();

    let tree = MerkleTree::new(leaves.iter().copied());
    let root = tree.root();
    let indices = indices(tree.len());

    let mut group = c.benchmark_group("merkle/proofs_1m_leaves");
    group.throughput(Throughput::Elements(PROOFS as u64));
    group.bench_function("generate", |b| {
        b.iter(|| {
            indices
                .iter()
                .map(|&i| tree.proof(black_box(i)).map_or(0, |p| p.0.len()))
                .sum::<usize>()
        })
    });
    let proofs: Vec<(Hash32, Proof)> = indices
        .iter()
        .map(|&i| (leaves[i], tree.proof(i).expect("index in range")))
        .collect();
    group.bench_function("verify", |b| {
        b.iter(|| {
            proofs
                .iter()
                .filter(|(leaf, proof)| verify(black_box(root), *leaf, proof))
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_merkle);
criterion_main!(benches);
