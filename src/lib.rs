//! riskshare: a Monte Carlo risk engine for county loan risk-sharing schemes.
//!
//! Loans to poor households, cooperatives and firms are protected by four
//! layers: insurance, a village risk mutual fund, a county risk compensation
//! fund deposited at each bank, and a 60:40 government:bank split of what
//! remains. The engine simulates possible futures (trials) of a loan book
//! under defaults, disasters, epidemics and personal shocks, routes every
//! loss through the layers, and reports how adequate each fund is.
//!
//! Data flows in stages (see `ARCHITECTURE.md`): [`scenario`] (YAML) ->
//! [`model`] (validated, dense) -> [`engine`] (trials) -> [`tables`] (loss
//! tables) -> [`stats`] and [`report`]. Only [`io`], [`output`] and
//! [`runner`] touch files.

pub mod charts;
pub mod claims;
pub mod compare;
pub mod engine;
pub mod guarantee;
pub mod hazard;
pub mod io;
pub mod limits;
pub mod mechanisms;
pub mod model;
pub mod money;
pub mod output;
pub mod portfolio;
pub mod report;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod shard;
pub mod sizing;
pub mod society;
pub mod stats;
pub mod stress;
pub mod sweep;
pub mod tables;
pub mod waterfall;

/// The engine's version, recorded in every output.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
