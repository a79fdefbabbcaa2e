//! NAME
//!   smtp_tls - STARTTLS in the smtp(8) client, against Debian's Postfix
//!
//! DESCRIPTION
//!   The cases of module `smtp_tls_matrix` (certificate matrix × levels
//!   may/encrypt/verify/secure/fingerprint, session cache, per-site
//!   table, plain-text retry, "not offered") with Debian's Postfix smtpd
//!   as the receiver. `smtp_tls_postern` runs the same cases against
//!   Postern's own smtpd.
//!
//!   Needs Debian's postfix package and root; skips otherwise.
//!   Run: `cargo build --workspace` then `cargo test -p systest --test smtp_tls`.
mod smtp_tls_matrix;

use smtp_tls_matrix::Server::Debian;

#[test]
fn valid_chain_wrong_name_upper_case_name_and_chain_order() {
    smtp_tls_matrix::valid_chain_wrong_name_upper_case_name_and_chain_order(Debian);
}

#[test]
fn wildcard_cn_only_and_san_beats_cn() {
    smtp_tls_matrix::wildcard_cn_only_and_san_beats_cn(Debian);
}

#[test]
fn untrusted_chains_expired_self_signed_missing_intermediate() {
    smtp_tls_matrix::untrusted_chains_expired_self_signed_missing_intermediate(Debian);
}

#[test]
fn second_delivery_resumes_and_a_replaced_certificate_is_not_trusted_2000_11_29() {
    smtp_tls_matrix::second_delivery_resumes_and_a_replaced_certificate_is_not_trusted(Debian);
}

#[test]
fn a_session_made_at_may_is_never_resumed_at_verify_2000_11_29() {
    smtp_tls_matrix::a_session_made_at_may_is_never_resumed_at_verify(Debian);
}

#[test]
fn per_site_must_nopeermatch_2000_11_26_and_none_2002_03_29() {
    smtp_tls_matrix::per_site_must_nopeermatch_and_none(Debian);
}

#[test]
fn may_handshake_failure_retries_in_plain_text_mandatory_defers() {
    smtp_tls_matrix::may_handshake_failure_retries_in_plain_text_mandatory_defers(Debian);
}

#[test]
fn not_offered_defers_encrypt_and_note_starttls_offer() {
    smtp_tls_matrix::not_offered_defers_encrypt_and_note_starttls_offer(Debian);
}
