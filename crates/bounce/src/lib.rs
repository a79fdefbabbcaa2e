//! NAME
//!   bounce - delivery status notifications (work in progress)
#![forbid(unsafe_code)]
