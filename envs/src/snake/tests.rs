//! Table-driven rule tests live in `tests/rules.rs`; this module checks internals.
