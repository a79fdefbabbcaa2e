//! NAME
//!   cleanup - canonicalize and enqueue a message (the library behind cleanup(8))
//!
//! SYNOPSIS
//!   let state = cleanup::State::from_config(&cfg)?;   // before the chroot
//!   cleanup::serve(&state, &mut client_stream);        // per client
//!
//! DESCRIPTION
//!   The cleanup service takes one message per connection from its
//!   clients (smtpd, pickup, bounce, local) over the protocol of
//!   doc/PIPELINE.md, writes it to the `incoming` queue in canonical form,
//!   and wakes qmgr. Modules:
//!
//!   - [`session`]: the protocol and the queue file.
//!   - `bounced`: messages cleanup returns to the sender itself.
//!   - [`protocol`]: envelope decoding and content chunks.
//!   - [`headers`]: the primary message headers.
//!   - [`addrlist`]: addresses inside header values.
//!   - [`mapping`]: canonical(5) and virtual(5) mapping.
//!   - [`settings`]: parameters and tables.
//!   - [`checks`], [`mime`], [`inspect`], `verdict`: header_checks(5)
//!     and body_checks: tables and actions, MIME structure, inspection
//!     of one message, and what the session does with the decisions.
//!
//!   Who logs what: cleanup logs `ID: message-id=<...>` (and
//!   `resent-message-id=`), its warnings and rejects; smtpd logs
//!   `ID: client=host[addr]` and pickup `ID: uid=N from=<sender>` before
//!   they send the message; qmgr logs `ID: from=<...>, size=N, nrcpt=N
//!   (queue active)`.
//!
//! SEE ALSO
//!   cleanup(8), doc/PIPELINE.md, doc/QUEUE_FORMAT.md.
#![forbid(unsafe_code)]

pub mod addrlist;
mod bounced;
pub mod checks;
pub mod headers;
pub mod inspect;
pub mod mapping;
pub mod mime;
pub mod protocol;
pub mod session;
pub mod settings;
mod verdict;

pub use session::serve;
pub use settings::State;
