//! The simulation: one trial's draws, claims and waterfall, over the compiled
//! [`Model`](crate::model::Model), into loss tables. No file I/O.
//!
//! - [`engine`] drives trials in parallel and draws each trial's defaults;
//! - [`damage`] draws a trial's disasters and epidemics;
//! - [`claims`] turns a default into what collateral and insurance cover;
//! - [`guarantee`] settles the joint-guarantee groups' calls;
//! - [`importance`] chooses a change of measure for a tail (the pilot) and
//!   gives each trial's likelihood ratio under it;
//! - [`society`] keeps the societies' capital through a trial;
//! - [`waterfall`] routes a year's defaults through the layers, one function
//!   per layer, the guarantee's with the draws and the funds' at settlement;
//! - [`tables`] holds what a trial leaves: the trial, year and account rows.

pub mod claims;
pub mod damage;
pub mod engine;
pub mod guarantee;
pub mod importance;
pub mod society;
pub mod tables;
pub mod waterfall;
