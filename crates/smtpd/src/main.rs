//! NAME
//!   smtpd - Postern SMTP server
//!
//! SYNOPSIS
//!   master.cf: `smtp inet n - y - - smtpd`; stand-alone: `smtpd -S`
//!
//! DESCRIPTION
//!   Runs under the skeleton's single-client framework: before chroot it
//!   reads the parameters, opens every table the restrictions name,
//!   loads the time zone and the resolver configuration; then serves one
//!   client at a time with [`smtpd::serve`]. See smtpd(8).
#![forbid(unsafe_code)]

use skeleton::{ClientStream, Context, Hooks};
use smtpd::peer::Peer;
use util::msg_fatal;

fn init(ctx: &Context) -> smtpd::Server {
    let settings =
        smtpd::settings::Settings::from_config(&ctx.config).unwrap_or_else(|e| msg_fatal!("{e}"));
    let dns = smtpd::dns::system();
    let checks = smtpd::check::Checks::new(&ctx.config, dns);
    let cleanup = smtpd::cleanup::SocketCleanup {
        config: ctx.config.clone(),
    };
    let mut server = smtpd::Server::new(
        settings,
        checks,
        Box::new(cleanup),
        smtpd::received::Clock::local(),
    );
    server.stand_alone = ctx.args.stand_alone;
    server.service = ctx.service.clone();
    server.anvil = smtpd::anvil::Limiter::from_config(&ctx.config);
    let allowed = smtpd::starttls::allowed(&ctx.config, server.stand_alone);
    server.tls = smtpd::starttls::TlsPolicy::from_config(&ctx.config, allowed)
        .unwrap_or_else(|e| msg_fatal!("{e}"));
    server.sasl =
        smtpd::sasl::SaslPolicy::from_config(&ctx.config).unwrap_or_else(|e| msg_fatal!("{e}"));
    server
}

fn serve(server: &mut smtpd::Server, client: &mut ClientStream, _ctx: &Context) {
    // smtpd writes each batch of replies at once, so Nagle only delays
    // them: after STARTTLS the reply to EHLO would wait ~40 ms for the
    // client's delayed ACK of the session tickets.
    if let ClientStream::Tcp(t) = client {
        let _ = t.set_nodelay(true);
    }
    let st = &server.settings;
    let peer = match client.peer_addr() {
        Some(a) if st.peername_lookup => {
            Peer::lookup(a.ip(), a.port(), server.checks.dns(), st.port_logging)
        }
        Some(a) => {
            let mut p = Peer::unknown(a.ip(), a.port());
            p.set_namaddr(st.port_logging);
            p
        }
        None => Peer::local(),
    };
    smtpd::serve(server, client, peer);
}

fn main() {
    skeleton::single_server("smtpd", Hooks::pre_init(init), serve)
}
