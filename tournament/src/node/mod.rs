//! The node core: everything one node decides, as a sans-IO state machine.
//!
//! A node's rules around its matches live here: the schedule, entries and the pairing draw,
//! which invitations to accept, the intake of gossiped and fetched items with a typed
//! [`Verdict`], catch-up fetches, the close of each epoch and what is handed to settlement.
//! The core never reads a clock, a socket or a disk: time comes in as `now`, the store is the
//! [`ItemLog`] trait, and everything the node must do comes out of [`NodeCore::poll_output`].
//! `netsd` drives it over libp2p and sled; tests drive it over a virtual clock.
//!
//! It is nested like quinn-proto's `Endpoint` around its `Connection`s: the core decides which
//! matches to open and which invitations to accept, and each match is a
//! [`crate::protocol::MatchMachine`].
//!
//! # Run loop
//! ```
//! use nets_envs::log::EnvSpec;
//! use nets_envs::snake::SnakeParams;
//! use nets_tournament::identity::Keypair;
//! use nets_tournament::league::League;
//! use nets_tournament::node::{CoreConfig, NodeCore, Output, Schedule, log::MemLog};
//!
//! let schedule = Schedule { genesis_ms: 0, epoch_ms: 60_000, ..Schedule::default() };
//! let config = CoreConfig {
//!     schedule,
//!     leagues: vec![League { env: EnvSpec::Snake(SnakeParams::duel(11)), tier: 0 }],
//!     enter: true,
//!     max_matches: 4,
//!     settles: false,
//!     bootstrap: true,
//! };
//! let mut now = 1_000;
//! // Randomness is an input: 32 bytes from the OS in a real node.
//! let seed = [9; 32];
//! let mut core: NodeCore<u32, MemLog> =
//!     NodeCore::new(now, Keypair::from_secret([7; 32]), seed, config, MemLog::default());
//! core.handle_listening(vec!["/ip4/127.0.0.1/tcp/4100".into()]);
//! for _ in 0..3 {
//!     core.handle_tick(now);
//!     while let Some(output) = core.poll_output() {
//!         match output {
//!             // A driver dials its bootstrap list here; the core asks again, with backoff,
//!             // for as long as the node holds no peer.
//!             Output::DialBootstrap => core.handle_peer_connected(now, 1),
//!             // ... publish, fetch, open links and send frames, ask agents, settle; and
//!             // what comes back goes in through handle_gossip, handle_fetch_response,
//!             // handle_frame, handle_move ...
//!             _ => {}
//!         }
//!     }
//!     now = core.poll_timeout(now);
//! }
//! // Connected, the node entered its league for the next epoch and stored its entry.
//! assert_eq!(core.log().len(), 1);
//! ```

pub mod entrants;
pub mod fold;
pub mod frames;
pub mod item;
pub mod log;
pub mod schedule;
mod state;

pub use log::{Durability, ItemLog};
pub use schedule::{CLOCK_SKEW_MS, Schedule};
pub use state::{CoreConfig, Ignored, Intake, NodeCore, NodeEvent, Output, Verdict};

/// A gossip topic of the network: which item kinds travel on it is
/// [`item::Item::topic`]'s rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Players' signed entries into leagues.
    Entries,
    /// Outcome records.
    Outcomes,
    /// Timeout claims and answers to them.
    Claims,
    /// Equivocation and invalid-message evidence.
    Evidence,
    /// Settlement attestations: stakers' signatures over an epoch's roots.
    Attestations,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 5] = [
        Topic::Entries,
        Topic::Outcomes,
        Topic::Claims,
        Topic::Evidence,
        Topic::Attestations,
    ];

    /// The topic's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Entries => "nets/1/entries",
            Topic::Outcomes => "nets/1/outcomes",
            Topic::Claims => "nets/1/claims",
            Topic::Evidence => "nets/1/evidence",
            Topic::Attestations => "nets/1/attestations",
        }
    }
}
