//! The rulebook of the nets market: identities and signatures, the match protocol, transcripts
//! and their verification by replay, ratings, epochs, Merkle batching and the economics.
//!
//! Like `nets-envs`, this crate is sans-IO: no clock reads, sockets, threads, disks or OS
//! randomness, so that the daemon and the simulator drive the same code.

pub mod hash;
pub mod identity;
