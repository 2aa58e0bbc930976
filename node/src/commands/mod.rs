//! `netsd`'s subcommands.

pub(crate) mod games;
pub(crate) mod model;
pub(crate) mod node;
pub(crate) mod settle;
