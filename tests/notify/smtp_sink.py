#!/usr/bin/python3
"""A real SMTP server for the notification tests (Debian python3-aiosmtpd).

Writes each message it accepts to DIR/NNNN.eml (the DATA as received, with
the envelope in X-Sink-* lines first). With --cert/--key it offers STARTTLS
and refuses MAIL before it (--require-starttls), as a mail provider does.

  smtp_sink.py --port P --dir D [--cert C --key K --require-starttls]
"""
import argparse
import asyncio
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        tmp = os.path.join(self.dir, ".%04d.tmp" % self.n)
        with open(tmp, "wb") as f:
            f.write(("X-Sink-Mail-From: %s\r\n" % envelope.mail_from).encode())
            f.write(("X-Sink-Rcpt-To: %s\r\n" % ",".join(envelope.rcpt_tos)).encode())
            f.write(("X-Sink-TLS: %s\r\n" % ("yes" if session.ssl else "no")).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.dir, "%04d.eml" % self.n))
        return "250 2.0.0 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--require-starttls", action="store_true")
    a = p.parse_args()
    ctx = None
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
    c = Controller(Sink(a.dir), hostname="127.0.0.1", port=a.port, tls_context=ctx,
                   require_starttls=a.require_starttls and ctx is not None)
    c.start()
    sys.stdout.write("listening on 127.0.0.1:%d\n" % a.port)
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()


if __name__ == "__main__":
    main()
