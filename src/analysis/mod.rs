//! What the loss tables say: exact statistics, the run summary, fund sizing,
//! and the analyses that run several variants (compare, sweep, stress). No
//! file I/O; results are typed values that [`crate::report`] renders.

pub mod compare;
pub mod policy;
pub mod sizing;
pub mod stats;
pub mod stress;
pub mod summary;
pub mod sweep;
pub mod weighted;
