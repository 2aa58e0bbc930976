//! simnet: a seeded discrete-event simulator of many nets nodes running the real tournament
//! core over a modelled network. Not written yet; only its place in the workspace exists.
