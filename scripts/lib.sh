# Shared set-up for scripts/demo, scripts/test and scripts/bench.
# Sourced, not run. Installs what a fresh Debian machine lacks, as root.

set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '==> %s\n' "$*" >&2; }

# apt_install PKG...: install the Debian packages that are missing.
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        say "missing Debian packages: ${missing[*]} (run as root to install them)"
        return 1
    fi
    say "installing ${missing[*]}"
    # Debian's postfix package is the reference for comparisons and brings
    # smtp-sink/smtp-source/posttls-finger; it must not ask questions.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_accounts: the mail_owner and setgid_group accounts Postfix uses.
ensure_accounts() {
    [ "$(id -u)" -eq 0 ] || return 0
    getent group postdrop >/dev/null || groupadd --system postdrop
    getent passwd postfix >/dev/null || useradd --system --no-create-home --home-dir /var/spool/postfix \
        --shell /usr/sbin/nologin --user-group postfix
}

# stop_debian_postfix: the Debian package may start its own master on
# port 25; the tests and the demo run their own instances instead.
stop_debian_postfix() {
    if [ -x /usr/sbin/postfix ] && [ -f /var/spool/postfix/pid/master.pid ]; then
        /usr/sbin/postfix stop >/dev/null 2>&1 || true
    fi
}

build_workspace() {
    command -v cargo >/dev/null || { say "cargo not found: install Rust (rustup) first"; exit 1; }
    say "building the workspace (debug)"
    (cd "$TOP" && cargo build --workspace --quiet)
}
