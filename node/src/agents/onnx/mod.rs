//! Neural agents: ONNX models that play Snake, run by ONNX Runtime (loaded at run time, see
//! [`runtime`]).
//!
//! - [`model`]: the model contract (`docs/models.md`) and a loaded [`model::SnakeModel`];
//! - [`batcher`]: one model serving many games at once, in batches;
//! - [`samples`]: observations from seeded games, to check and measure models.
//!
//! The agent that plays a model is [`crate::agents::OnnxAgent`].

pub mod batcher;
pub mod model;
pub mod runtime;
pub mod samples;
