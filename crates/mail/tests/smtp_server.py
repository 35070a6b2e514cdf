"""A real SMTP server on loopback for crates/mail/tests/smtp.rs (aiosmtpd).

Every message received is saved in --maildir as <n>.eml (the DATA as sent) with <n>.json beside
it (envelope sender and recipients, whether the session was encrypted and authenticated).
Prints "READY" on stdout once it accepts connections, then serves until stdin closes, so the
server goes away with the test that started it.

Exits with status 3 when aiosmtpd cannot be imported, so the test can tell "not installed"
from a crash.
"""

import argparse
import json
import os
import ssl
import sys

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError as error:
    print(f"aiosmtpd is not installed: {error}", file=sys.stderr)
    sys.exit(3)


class SavingHandler:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.maildir, str(self.count))
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
        }
        # The .json last, through a rename: a reader that sees it sees the whole message.
        with open(stem + ".eml", "wb") as out:
            out.write(envelope.original_content)
        with open(stem + ".json.tmp", "w") as out:
            json.dump(meta, out)
        os.rename(stem + ".json.tmp", stem + ".json")
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd then answers "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=ok, handled=False)

    return check


def server_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--cert", help="PEM certificate, for --starttls and --implicit-tls")
    parser.add_argument("--key", help="PEM private key, for --starttls and --implicit-tls")
    parser.add_argument("--starttls", action="store_true", help="offer and require STARTTLS")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte")
    parser.add_argument("--user", help="require AUTH (PLAIN or LOGIN) as this user")
    parser.add_argument("--password")
    args = parser.parse_args()

    kwargs = {}
    if args.starttls:
        kwargs["tls_context"] = server_context(args.cert, args.key)
        kwargs["require_starttls"] = True
    if args.implicit_tls:
        kwargs["ssl_context"] = server_context(args.cert, args.key)
    if args.user:
        kwargs["authenticator"] = authenticator(args.user, args.password)
        kwargs["auth_required"] = True
        # AUTH only over TLS, as a real relay does; aiosmtpd counts only STARTTLS as TLS.
        kwargs["auth_require_tls"] = not args.implicit_tls
    controller = Controller(
        SavingHandler(args.maildir),
        hostname="127.0.0.1",
        port=args.port,
        server_hostname="smtp.test",
        **kwargs,
    )
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
