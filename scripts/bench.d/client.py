"""NAME
    client - a small blocking SMTP client for the benchmark

SYNOPSIS
    from client import Smtp
    c = Smtp(port)                      # connects, reads the greeting
    c.cmd(b"EHLO bench.client")         # -> (code, text)
    c.starttls(ctx, session=None)       # STARTTLS and the handshake
    c.message(b"a@b", [b"c@d"], body)   # MAIL, RCPT, DATA pipelined; -> code
    c.close()                           # QUIT

DESCRIPTION
    Just enough SMTP to drive the TLS and latency figures of scripts/bench
    and to see what a server offers. Replies are read whole (multi-line
    replies joined); a reply other than the one expected raises SmtpError
    with the server's text.
"""
import socket
import ssl


class SmtpError(Exception):
    pass


class Smtp:
    def __init__(self, port, host="127.0.0.1", timeout=60):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        self.greeting = self.expect(b"220")

    def reply(self):
        """One reply: (code as bytes, all its lines joined)."""
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise SmtpError("connection closed by the server")
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return line[:3], b"\n".join(lines)

    def expect(self, code):
        got, text = self.reply()
        if got != code:
            raise SmtpError(f"expected {code.decode()}, got: {text.decode(errors='replace')}")
        return text

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, line, code=b"250"):
        self.send(line + b"\r\n")
        return self.expect(code)

    def starttls(self, ctx, session=None):
        """STARTTLS, then the handshake; afterwards reads go over TLS."""
        self.cmd(b"STARTTLS", b"220")
        self.sock = ctx.wrap_socket(self.sock, session=session)
        self.file = self.sock.makefile("rb")

    def message(self, sender, rcpts, body):
        """MAIL, RCPT..., DATA pipelined, then the body; returns the final reply text."""
        out = [b"MAIL FROM:<" + sender + b">"]
        out += [b"RCPT TO:<" + r + b">" for r in rcpts]
        out.append(b"DATA")
        self.send(b"\r\n".join(out) + b"\r\n")
        for _ in range(1 + len(rcpts)):
            self.expect(b"250")
        self.expect(b"354")
        self.send(body + b".\r\n")
        return self.expect(b"250")

    def close(self):
        try:
            self.send(b"QUIT\r\n")
            self.reply()
        except (OSError, SmtpError):
            pass
        self.sock.close()


def client_context():
    """A TLS client context that accepts any certificate (a benchmark, not a check)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def body(size, ident=None):
    """A message of about `size` bytes, CRLF lines, dot-safe."""
    head = b"From: <bench@client.test>\r\nTo: <sink@sink.test>\r\nSubject: bench\r\n"
    if ident is not None:
        head += b"X-Bench-Id: " + str(ident).encode() + b"\r\n"
    line = b"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789\r\n"
    n = max(1, (size - len(head)) // len(line))
    return head + b"\r\n" + line * n
