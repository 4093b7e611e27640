//! The library side of the `preflight` binary: the engines a check runs on, shared with the
//! cross-host conformance tests (`tests/tests/hosts.rs`).

pub mod engine;
