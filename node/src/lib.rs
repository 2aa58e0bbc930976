//! The nets node: what `netsd` runs, as a library.
//!
//! Besides the command-line tool, this crate holds the node's neural agents: ONNX models that
//! play Snake, run by ONNX Runtime (loaded at run time, see [`runtime`]).
//!
//! - [`model`]: the model contract (`docs/models.md`) and a loaded [`model::SnakeModel`];
//! - [`batcher`]: one model serving many games at once, in batches;
//! - [`agent`]: agents that may fail ([`agent::Player`]), the ONNX agent, and
//!   [`agent::play_game`], where a failing agent forfeits;
//! - [`external_agent`] and [`battlesnake_http`]: agents played by another program, over
//!   JSON lines on its standard input and output, or by a Battlesnake server over HTTP;
//! - [`samples`]: observations from seeded games, to check and measure models.

#[cfg(feature = "adversaries")]
pub mod adversary;
pub mod agent;
pub mod api;
pub mod batcher;
pub mod battlesnake_http;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod deviation;
pub mod devnet;
pub mod external_agent;
pub mod keyfile;
pub mod metrics;
pub mod model;
pub mod players;
pub mod rankings;
pub mod runner;
pub mod runtime;
pub mod samples;
pub mod settle;
pub mod settler;
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
