//! Everything that touches files: reading scenarios and tapes ([`io`]),
//! writing an output folder whole or not at all ([`output`]), running a
//! scenario into its tables and reports ([`runner`]), and shards and their
//! merge ([`shard`]).

pub mod io;
pub mod output;
pub mod runner;
pub mod shard;
