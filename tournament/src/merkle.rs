//! Merkle batching: one 32-byte root commits to a whole batch (an epoch's results, say), and a
//! short proof shows that one item is in it, cheaply enough for the settlement contract to check.
//!
//! # The scheme
//!
//! All hashes are keccak256, `++` is concatenation and pairs are ordered by comparing the 32-byte
//! hashes as big-endian unsigned integers (the same as lexicographic byte order, and the same as
//! Solidity's `<` on `bytes32`).
//!
//! * **Leaf:** `leaf = keccak256(0x00 ++ leaf_bytes)` ([`leaf_hash`]).
//! * **Inner node:** `node = keccak256(0x01 ++ min(a, b) ++ max(a, b))` ([`node_hash`]). The pair
//!   is *sorted*, so hashing is commutative, as in OpenZeppelin's `MerkleProof` with commutative
//!   hashing: a proof is just the list of sibling hashes from the leaf up, with no direction bits,
//!   and verification is one loop (see below).
//! * **Levels:** level 0 is the leaves in the order given. Each next level pairs the nodes of the
//!   level below left to right: nodes `2i` and `2i + 1` become `node_hash(n[2i], n[2i + 1])`. If a
//!   level has an odd number of nodes, its last node is **promoted unchanged** to the next level
//!   (it is neither hashed with itself nor paired with a duplicate); its proof simply has no
//!   sibling for that level. Levels are built until one node is left: the root.
//! * **Single leaf:** the root is that leaf's hash, and its proof is empty.
//! * **Empty tree:** the root is defined as all zeros ([`EMPTY_ROOT`], Solidity's `bytes32(0)`,
//!   the value of a root the contract never stored). The empty tree has no members, so
//!   [`verify`] rejects every proof against it; the contract does the same with one comparison.
//! * **Proof length:** at most `ceil(log2 n)` siblings for a tree of `n` leaves (20 for a million).
//!
//! # Why leaves and inner nodes are domain-separated
//!
//! Without the `0x00` / `0x01` prefixes, an inner node is the hash of 64 bytes, and so is the leaf
//! for any 64-byte item: someone could present the two children of an inner node as a "leaf" and
//! prove its membership with the rest of a genuine proof (a second-preimage attack on the tree).
//! With the prefixes, a leaf is the hash of something starting with `0x00` and an inner node of
//! something starting with `0x01`, so an inner node can never be presented as a leaf, nor a leaf
//! as an inner node, short of a keccak256 collision. This only holds if the verifier computes the
//! leaf hash itself from the item's bytes, as the contract below does: it must never take a leaf
//! hash from the caller.
//!
//! Because pairs are sorted, a proof shows *membership*, not *position*: it does not say at which
//! index the leaf sits. Anything whose position matters must be inside the leaf bytes.
//!
//! # Verifying in Solidity
//!
//! ```solidity
//! function verify(bytes32 root, bytes calldata leafData, bytes32[] calldata proof)
//!     internal pure returns (bool)
//! {
//!     if (root == bytes32(0)) return false; // the empty tree has no members
//!     bytes32 node = keccak256(abi.encodePacked(bytes1(0x00), leafData));
//!     for (uint256 i = 0; i < proof.length; ++i) {
//!         bytes32 sibling = proof[i];
//!         node = node < sibling
//!             ? keccak256(abi.encodePacked(bytes1(0x01), node, sibling))
//!             : keccak256(abi.encodePacked(bytes1(0x01), sibling, node));
//!     }
//!     return node == root;
//! }
//! ```
//!
//! Test vectors for the contract are in `tournament/tests/vectors/merkle.json`.

use serde::{Deserialize, Serialize};

use crate::hash::{Hash32, keccak256};

/// The prefix byte of a leaf hash's preimage.
const LEAF_PREFIX: u8 = 0x00;
/// The prefix byte of an inner node hash's preimage.
const NODE_PREFIX: u8 = 0x01;

/// The root of the empty tree: all zeros, which is also what the contract reads for a root it
/// never stored. Nothing verifies against it.
pub const EMPTY_ROOT: Hash32 = Hash32::ZERO;

/// The hash of a leaf, `keccak256(0x00 ++ bytes)`: what callers put in a [`MerkleTree`] and pass
/// to [`verify`]. The prefix keeps leaves apart from inner nodes (see the module docs).
pub fn leaf_hash(bytes: &[u8]) -> Hash32 {
    keccak256(&[&[LEAF_PREFIX], bytes])
}

/// The parent of two nodes, `keccak256(0x01 ++ min(a, b) ++ max(a, b))`. Sorting the pair makes
/// it commutative, so proofs need no direction bits. Public so that other code (and the
/// contract's tests) can recompute a root step by step.
pub fn node_hash(a: &Hash32, b: &Hash32) -> Hash32 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    keccak256(&[&[NODE_PREFIX], lo.as_bytes(), hi.as_bytes()])
}

/// A membership proof: the sibling hashes from the leaf's level up to just below the root, one
/// per level at which the leaf's ancestor had a sibling. It is exactly the `bytes32[]` the
/// contract takes. Serialised as a plain list of hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Proof(pub Vec<Hash32>);

impl Proof {
    /// The sibling hashes, leaf level first.
    pub fn siblings(&self) -> &[Hash32] {
        &self.0
    }
}

impl From<Vec<Hash32>> for Proof {
    fn from(siblings: Vec<Hash32>) -> Self {
        Self(siblings)
    }
}

/// A Merkle tree over already-hashed leaves (see [`leaf_hash`]), keeping every level so that it
/// can hand out proofs. It stores about `2n` hashes (64 MiB for a million leaves) in one `Vec`
/// per level and allocates nothing per node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    /// `levels[0]` is the leaves; each next level is the one below, paired up; the last level
    /// holds the root alone. An empty tree has a single, empty level.
    levels: Vec<Vec<Hash32>>,
}

impl MerkleTree {
    /// Builds the tree over `leaves`, which must already be leaf hashes (see [`leaf_hash`]), in
    /// the order they should take. Runs in `O(n)` time and memory.
    pub fn new(leaves: impl IntoIterator<Item = Hash32>) -> Self {
        let leaves: Vec<Hash32> = leaves.into_iter().collect();
        let mut levels = Vec::with_capacity(depth_for(leaves.len()).saturating_add(1));
        levels.push(leaves);
        while let Some(next) = levels.last().and_then(|level| parent_level(level)) {
            levels.push(next);
        }
        Self { levels }
    }

    /// The root, which commits to every leaf; [`EMPTY_ROOT`] for an empty tree.
    pub fn root(&self) -> Hash32 {
        match self.levels.last().map(Vec::as_slice) {
            Some([root]) => *root,
            _ => EMPTY_ROOT,
        }
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.leaves().len()
    }

    /// Whether the tree has no leaves (its root is then [`EMPTY_ROOT`]).
    pub fn is_empty(&self) -> bool {
        self.leaves().is_empty()
    }

    /// The leaf hashes, in order.
    pub fn leaves(&self) -> &[Hash32] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// The proof that the leaf at `index` is in the tree, or `None` if there is no such leaf.
    /// It has at most `ceil(log2 len)` siblings.
    pub fn proof(&self, index: usize) -> Option<Proof> {
        if index >= self.len() {
            return None;
        }
        let below_root = self.levels.len().saturating_sub(1);
        let mut siblings = Vec::with_capacity(below_root);
        let mut index = index;
        for level in self.levels.iter().take(below_root) {
            // The last node of an odd level has no sibling: it was promoted unchanged.
            if let Some(sibling) = level.get(index ^ 1) {
                siblings.push(*sibling);
            }
            index /= 2;
        }
        Some(Proof(siblings))
    }
}

/// Whether `proof` shows that `leaf` (a [`leaf_hash`], computed by the caller from the item's
/// bytes) is in the tree with root `root`. Always false against [`EMPTY_ROOT`].
#[must_use]
pub fn verify(root: Hash32, leaf: Hash32, proof: &Proof) -> bool {
    if root == EMPTY_ROOT {
        return false;
    }
    let computed = proof
        .siblings()
        .iter()
        .fold(leaf, |node, sibling| node_hash(&node, sibling));
    computed == root
}

/// The next level up: pairs hashed left to right, an odd last node promoted unchanged. `None` for
/// a level of at most one node, which is the top.
fn parent_level(level: &[Hash32]) -> Option<Vec<Hash32>> {
    if level.len() <= 1 {
        return None;
    }
    let mut next = Vec::with_capacity(level.len().div_ceil(2));
    for pair in level.chunks(2) {
        match pair {
            [a, b] => next.push(node_hash(a, b)),
            [odd] => next.push(*odd),
            _ => {}
        }
    }
    Some(next)
}

/// The number of levels above the leaves in a tree of `n` leaves: `ceil(log2 n)`, 0 for `n <= 1`.
fn depth_for(n: usize) -> usize {
    let levels = n.max(1).next_power_of_two().trailing_zeros();
    usize::try_from(levels).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash32> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn leaf_and_node_hashes_are_prefixed_keccak() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        assert_eq!(a, keccak256(&[&[0x00], b"a"]));
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        assert_eq!(node_hash(&a, &b), keccak256(&[&[0x01], &lo.0, &hi.0]));
        assert_eq!(node_hash(&a, &b), node_hash(&b, &a));
        // Domain separation: the node over (a, b) is not the leaf of the 64 bytes a ++ b.
        assert_ne!(node_hash(&a, &b), leaf_hash(&[lo.0, hi.0].concat()));
        assert_ne!(leaf_hash(b""), keccak256(&[]));
    }

    #[test]
    fn empty_tree_has_zero_root_and_no_members() {
        let tree = MerkleTree::new([]);
        assert!(tree.is_empty());
        assert_eq!(tree.len(), 0);
        assert_eq!(tree.root(), EMPTY_ROOT);
        assert_eq!(tree.root(), Hash32::ZERO);
        assert_eq!(tree.proof(0), None);
        assert!(!verify(EMPTY_ROOT, Hash32::ZERO, &Proof::default()));
        assert!(!verify(EMPTY_ROOT, leaf_hash(b""), &Proof::default()));
    }

    #[test]
    fn single_leaf_root_is_the_leaf() {
        let leaf = leaf_hash(b"only");
        let tree = MerkleTree::new([leaf]);
        assert_eq!(tree.len(), 1);
        assert_eq!(tree.root(), leaf);
        let proof = tree.proof(0).unwrap();
        assert!(proof.siblings().is_empty());
        assert!(verify(tree.root(), leaf, &proof));
        assert!(!verify(tree.root(), leaf_hash(b"other"), &proof));
        assert_eq!(tree.proof(1), None);
    }

    #[test]
    fn two_and_three_leaves_by_hand() {
        let l = leaves(3);
        let two = MerkleTree::new(l[..2].iter().copied());
        assert_eq!(two.root(), node_hash(&l[0], &l[1]));
        assert_eq!(two.proof(0).unwrap().0, vec![l[1]]);
        assert_eq!(two.proof(1).unwrap().0, vec![l[0]]);

        // The third leaf is promoted unchanged past the first level.
        let three = MerkleTree::new(l.iter().copied());
        let n01 = node_hash(&l[0], &l[1]);
        assert_eq!(three.root(), node_hash(&n01, &l[2]));
        assert_eq!(three.proof(0).unwrap().0, vec![l[1], l[2]]);
        assert_eq!(three.proof(2).unwrap().0, vec![n01]);
        for (i, leaf) in l.iter().enumerate() {
            assert!(verify(three.root(), *leaf, &three.proof(i).unwrap()));
        }
    }

    #[test]
    fn five_leaves_by_hand() {
        let l = leaves(5);
        let tree = MerkleTree::new(l.iter().copied());
        let n01 = node_hash(&l[0], &l[1]);
        let n23 = node_hash(&l[2], &l[3]);
        let n0123 = node_hash(&n01, &n23);
        assert_eq!(tree.root(), node_hash(&n0123, &l[4]));
        assert_eq!(tree.proof(4).unwrap().0, vec![n0123]);
        assert_eq!(tree.proof(3).unwrap().0, vec![l[2], n01, l[4]]);
    }

    #[test]
    fn depth_is_ceil_log2() {
        for (n, depth) in [
            (0, 0),
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 3),
            (8, 3),
            (9, 4),
        ] {
            assert_eq!(depth_for(n), depth, "n = {n}");
        }
        assert_eq!(depth_for(1 << 20), 20);
        assert_eq!(depth_for((1 << 20) + 1), 21);
    }

    #[test]
    fn proof_rejects_tampering() {
        let l = leaves(6);
        let tree = MerkleTree::new(l.iter().copied());
        let proof = tree.proof(1).unwrap();
        assert!(verify(tree.root(), l[1], &proof));
        assert!(!verify(tree.root(), l[2], &proof));
        let mut wrong_root = tree.root();
        wrong_root.0[31] ^= 1;
        assert!(!verify(wrong_root, l[1], &proof));
        let mut truncated = proof.clone();
        truncated.0.pop();
        assert!(!verify(tree.root(), l[1], &truncated));
        let mut extended = proof.clone();
        extended.0.push(l[0]);
        assert!(!verify(tree.root(), l[1], &extended));
    }

    #[test]
    fn proof_serialises_as_a_list_of_hashes() {
        let proof = Proof(vec![Hash32([7; 32])]);
        let json = serde_json::to_string(&proof).unwrap();
        assert_eq!(json, format!("[{:?}]", [7u8; 32]).replace(' ', ""));
        assert_eq!(serde_json::from_str::<Proof>(&json).unwrap(), proof);
    }
}
