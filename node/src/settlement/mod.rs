//! Settlement: the chain side ([`chain`]) and the running node's settler task ([`settler`]).

pub mod chain;
pub mod settler;
