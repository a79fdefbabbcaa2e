//! NAME
//!   bounce - the bounce, defer and trace service's library
//!
//! DESCRIPTION
//!   [`compose`] builds RFC 3464 notifications; [`service`] serves the
//!   `flush`, `warn` and `expire` requests of doc/PIPELINE.md.
#![forbid(unsafe_code)]

pub mod compose;
pub mod service;
