//! The library side of the `preflight` binary: the engines a check runs on, shared with the
//! cross-host conformance tests (`tests/tests/hosts.rs`), and the input reader with its
//! error type, shared with the fuzz targets (`fuzz/`).

// `error.rs` names the engine's error as `host_cli::engine::EngineError`.
extern crate self as host_cli;

pub mod engine;
pub mod error;
pub mod input;
pub mod names;
pub mod split;
