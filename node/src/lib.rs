//! The nets node: what `netsd` runs, as a library.
//!
//! Its folders follow the architecture:
//!
//! - [`daemon`]: the adapter that drives the node core (`nets_tournament::node`) over libp2p,
//!   the store, the agents, the settler, the API and metrics; with the [`daemon::deviation`]
//!   hook simulated adversaries plug into (compiled only with the `adversaries` feature);
//! - [`agents`]: agents that may fail ([`agents::Player`]) and games where a failing agent
//!   forfeits ([`agents::play_game`]); [`agents::players`] makes a match's agent from its spec;
//!   [`agents::exec`] and [`agents::battlesnake`] are agents played by another program (JSON
//!   lines on its standard input and output) or by a Battlesnake server over HTTP;
//!   [`agents::onnx`] holds the neural agents: the model contract and a loaded model, one
//!   model serving many games in batches, ONNX Runtime (loaded at run time), and sample
//!   observations to check and measure models;
//! - [`settlement`]: the chain side ([`settlement::chain`]: deploy, stake, deposit, claim
//!   on any chain) and the running node's settler task ([`settlement::settler`]);
//! - [`store`] (sled), [`config`], [`keyfile`], [`rankings`] (tables of the core's epoch fold),
//!   [`api`] (HTTP), [`metrics`] (Prometheus), [`clock`], [`runner`] (starts a node from
//!   its data dir) and [`devnet`] (a local network in one process).
//!
//! The command-line tool's subcommands are in `src/commands/`.

pub mod agents;
pub mod api;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod devnet;
pub mod keyfile;
pub mod metrics;
pub mod rankings;
pub mod runner;
pub mod settlement;
pub mod store;

/// Logs to stderr, filtered by `RUST_LOG` (`info` if unset or invalid). Does nothing if a
/// subscriber is already installed.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
