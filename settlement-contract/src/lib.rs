//! Settlement: the Solidity contract for stakes, epoch roots, reward claims and slashing, its
//! reproducible build, Rust bindings and the chain backends (embedded EVM, JSON-RPC). Not
//! written yet; only its place in the workspace exists.
