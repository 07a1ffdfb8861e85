//! riskshare: a Monte Carlo risk engine for county loan risk-sharing schemes.
//!
//! Loans to poor households, cooperatives and firms are protected by four
//! layers: insurance, a village risk mutual fund, a county risk compensation
//! fund deposited at each bank, and a 60:40 government:bank split of what
//! remains. The engine simulates possible futures (trials) of a loan book
//! under defaults, disasters, epidemics and personal shocks, routes every
//! loss through the layers, and reports how adequate each fund is.
//!
//! Data flows in stages (see `ARCHITECTURE.md`), one folder each:
//! [`scenario`] (YAML) -> [`model`] (validated, compiled book) -> [`sim`]
//! (trials into loss tables) -> [`analysis`] (statistics, sizing, variants)
//! -> [`report`] (CSV, text, charts, HTML). Only [`app`] touches files.
//! [`money`], [`rng`] and [`limits`] are the foundations every stage uses.

pub mod analysis;
pub mod app;
pub mod limits;
pub mod model;
pub mod money;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;

/// The engine's version, recorded in every output.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
