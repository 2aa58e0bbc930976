//! simnet (in progress).
pub mod agent;
pub mod matchplay;
pub mod metrics;
pub mod network;
pub mod output;
pub mod scenario;
pub mod settlement;
pub mod sim;
