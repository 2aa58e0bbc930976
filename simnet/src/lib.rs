//! A seeded, single-process, discrete-event simulator of many nets nodes.
//!
//! Each simulated node runs the real tournament core (`nets-tournament`: pairing draws,
//! match machines, outcome records and their verification, epoch ledgers, Glicko-2 ratings,
//! reward tables, attestations, evidence) and real games and agents (`nets-envs`), over a
//! modelled network ([`network`]: a gossip mesh with per-link latency, loss, partitions that
//! heal and churn), settling on the real contract on the embedded chain ([`contract`]) or a
//! model of it, behind the [`settlement::Settlement`] seam. Scenarios
//! ([`scenario`]) set the population, its adversaries, the leagues and the network; the run
//! ([`sim`]) yields a [`sim::Report`] that [`output`] writes as rankings, metrics, plots and a
//! summary. Virtual time is a `u64` in milliseconds; everything random derives from the
//! scenario's seed, so a seed and a scenario give byte-identical outputs.
//!
//! What it is not: a network stack (no sockets, no libp2p). The fidelity
//! choices (honest matches played locally into the records both players sign, verification
//! memoised by record id, identical views closed once) are set out in `docs/simnet.md`.
//!
//! # Running a scenario
//! ```no_run
//! use nets_simnet::scenario::Scenario;
//! use nets_simnet::sim::Simulation;
//!
//! let mut scenario = Scenario::default_scenario();
//! scenario.scale_population(100);
//! let report = Simulation::new(scenario)?.run(&mut |tick| {
//!     eprintln!("{}/{}", tick.done, tick.total);
//! })?;
//! nets_simnet::output::write_all(&report, std::path::Path::new("simnet-out"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod agent;
pub mod contract;
pub mod full_stack;
pub mod matchplay;
pub mod metrics;
pub mod network;
pub mod output;
pub mod scenario;
pub mod settlement;
pub mod sim;
