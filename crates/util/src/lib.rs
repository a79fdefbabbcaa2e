//! NAME
//!   util - mail-agnostic helpers shared by every Postern program
//!
//! DESCRIPTION
//!   The bottom of the crate graph (`util -> global -> ...`). Nothing here
//!   knows about mail: logging (`msg`), and small string helpers.
#![forbid(unsafe_code)]

pub mod msg;
pub mod procfs;
pub mod strings;
