//! Composition root: settings, telemetry, startup. `main.rs` only parses the command line.

pub mod agent_calls;
pub mod load_users;
pub mod loadgen;
pub mod node_cli;
pub mod node_workers;
pub mod probe_cli;
mod procs;
pub mod redis_master;
pub mod seed;
pub mod settings;
pub mod startup;
pub mod status;
mod storm;
pub mod telemetry;
