//! NAME
//!   local - the local delivery agent's library
#![forbid(unsafe_code)]

pub mod attrs;
pub mod command;
pub mod copy;
pub mod dispatch;
pub mod errors;
pub mod leaves;
pub mod limit;
pub mod lock;
pub mod maildir;
pub mod mbox;
pub mod notify;
pub mod privs;
pub mod serve;
pub mod settings;
pub mod state;

#[cfg(test)]
mod tests;
