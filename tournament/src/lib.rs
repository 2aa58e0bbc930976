//! The rulebook of the nets market: identities and signatures, the match protocol, outcome
//! records and their verification by replay, evidence of fraud, Merkle batching and ratings.
//!
//! Like `nets-envs`, this crate is sans-IO: no clock reads, sockets, threads, disks or OS
//! randomness, so that the daemon (`netsd`, over libp2p) and the simulator (`simnet`, over a
//! virtual network) drive the same code. Time is a `u64` the caller passes in (milliseconds
//! in both drivers); randomness comes in as secret bytes.
//!
//! Three state machines, nested: the match ([`protocol::MatchMachine`], one match's
//! conversation), the epoch ([`epoch::EpochLedger`], an epoch's items folded into ratings,
//! roots and rewards) and the node ([`node::NodeCore`], everything one node decides around
//! them: schedule, entries, draw, intake, catch-up, close, settlement hand-off). The node
//! core's run loop is in [`node`]'s documentation.
//!
//! # Run loop
//! One [`protocol::MatchMachine`] per match and player. The driver feeds it what arrives and
//! when time passes, answers its requests for moves, and ships what it wants to send:
//!
//! ```
//! use nets_envs::agents::{Agent, Greedy};
//! use nets_envs::log::EnvSpec;
//! use nets_envs::snake::SnakeParams;
//! use nets_tournament::identity::Keypair;
//! use nets_tournament::messages::MatchHeader;
//! use nets_tournament::protocol::{Event, MatchConfig, MatchMachine};
//!
//! let (ka, kb) = (Keypair::from_secret([1; 32]), Keypair::from_secret([2; 32]));
//! let header = MatchHeader {
//!     epoch: 0,
//!     round: 0,
//!     env: EnvSpec::Snake(SnakeParams::duel(11)),
//!     a: ka.id(),
//!     b: kb.id(),
//! };
//! let cfg = MatchConfig::default();
//! let mut now = 0;
//! let mut players = [
//!     MatchMachine::new(now, header.clone(), ka, [7; 32], cfg).unwrap(),
//!     MatchMachine::new(now, header, kb, [8; 32], cfg).unwrap(),
//! ];
//! let mut agents = [Greedy, Greedy];
//! let mut outcomes = Vec::new();
//! while outcomes.len() < 2 {
//!     for me in 0..2 {
//!         // Events: answer move requests, collect results.
//!         while let Some(event) = players[me].poll_event() {
//!             match event {
//!                 Event::ActionNeeded { .. } => {
//!                     let game = players[me].pending_game().unwrap().clone();
//!                     let seat = players[me].seat().index() as usize;
//!                     let mv = agents[me].choose(&game, seat);
//!                     players[me].supply_action(now, mv.code()).unwrap();
//!                 }
//!                 Event::Finished(record) => outcomes.push(record),
//!                 other => panic!("unexpected {other:?}"),
//!             }
//!         }
//!         // Transmit: here the "network" delivers at once.
//!         while let Some(msg) = players[me].poll_transmit() {
//!             players[1 - me].handle_message(now, msg);
//!         }
//!     }
//!     // Time: jump to the next deadline if nothing else is going on.
//!     now += 1;
//! }
//! assert_eq!(outcomes[0], outcomes[1]);
//! assert!(nets_tournament::verify::verify(&outcomes[0]).is_ok());
//! ```

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod conversation;
pub mod economics;
pub mod epoch;
pub mod evidence;
#[doc(hidden)]
pub mod fuzzing;
pub mod hash;
pub mod identity;
pub mod league;
pub mod merkle;
pub mod messages;
pub mod node;
pub mod pairing;
pub mod protocol;
pub mod rating;
pub mod timeout;
pub mod verify;
pub mod wire;

/// Errors of the match machine's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key does not play in this match.
    #[error("this key is not a player of the match")]
    NotAPlayer,
    /// The league's environment refused.
    #[error(transparent)]
    Env(#[from] nets_envs::log::ReplayError),
    /// `supply_action` without an outstanding request.
    #[error("no action was asked for")]
    NoActionPending,
    /// Not an action of this game.
    #[error("action code {0} is not a move")]
    BadAction(u8),
}
