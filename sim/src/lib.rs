//! A deterministic simulator for the reference engine: it generates builds from a seed, mutates
//! workspace files at exact probe points between hashing and consumption, and checks SPEC §8's
//! invariants after every schedule.
#![deny(missing_docs)]

pub mod attacks;
pub mod campaign;
pub mod chaos;
pub mod cli;
pub mod conformance;
pub mod corpus;
pub mod coverage;
pub mod diff;
pub mod exhaustive;
pub mod faults;
pub mod fsops;
pub mod fuzz;
pub mod generate;
pub mod journal;
#[cfg(feature = "regressions")]
pub mod mutants;
pub mod mutation;
pub mod observer;
pub mod oracle;
pub mod panics;
pub mod policies;
pub mod replay;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod schedule;
pub mod shrink;
pub mod structural;
pub mod tap;
pub mod targets;
pub mod tools;
pub mod watchdog;
pub mod wire;
