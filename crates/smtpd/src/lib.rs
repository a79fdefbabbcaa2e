//! NAME
//!   smtpd - the Postern SMTP server as a library
//!
//! SYNOPSIS
//!   let mut server = smtpd::Server::new(settings, checks, cleanup, clock);
//!   smtpd::serve(&mut server, &mut conn, peer);
//!
//! DESCRIPTION
//!   The whole SMTP session lives here, so that the in-process tests drive
//!   it over an in-memory stream and the `smtpd` binary is a thin
//!   adapter between the skeleton's single-client server and [`serve`].
//!
//!   Modules, by topic (after Postfix's smtpd_*.c):
//!   [`conn`] the stream and its upgrade path (TLS later); [`chat`] line
//!   input and reply output; [`session`] the command loop, limits and
//!   logs; [`guard`] non-SMTP commands, bare LF and pipelining checks;
//!   [`cmd`] HELO/EHLO/MAIL/RCPT/RSET/VRFY; [`etrn`] ETRN; [`xclient`]
//!   XCLIENT/XFORWARD (refused); [`data`] DATA and
//!   BDAT; [`received`] the Received: header; [`token`] address and
//!   parameter syntax; [`check`] the restrictions; [`peer`] the client
//!   and its DNS names; [`dns`] the resolver; [`cleanup`] the hand-off to
//!   the cleanup service; [`settings`] the parameters; [`starttls`] the
//!   TLS policy (STARTTLS, wrapper mode, client certificates); [`sasl`]
//!   SMTP AUTH through a Dovecot auth server.
//!
//! SEE ALSO
//!   smtpd(8), access(5), postconf(5), doc/PIPELINE.md.
#![forbid(unsafe_code)]

pub mod anvil;
pub mod chat;
pub mod check;
pub mod cleanup;
pub mod cmd;
pub mod conn;
pub mod data;
pub mod dns;
pub mod etrn;
pub mod guard;
pub mod peer;
pub mod received;
pub mod sasl;
pub mod session;
pub mod settings;
pub mod starttls;
pub mod token;
pub mod xclient;

pub use conn::{Conn, Outcome, Transport};
pub use session::{serve, Server};
