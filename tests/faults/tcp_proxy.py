#!/usr/bin/env python3
"""A TCP forwarder for the partition scenario (faults.py): listens on
127.0.0.1:LISTEN and copies bytes both ways to 127.0.0.1:TARGET. Killing it
(kill -9) drops every connection through it at once, like a network
partition; starting it again heals it.
  tcp_proxy.py LISTEN_PORT TARGET_PORT"""
import asyncio
import sys


async def pipe(r, w):
    try:
        while True:
            b = await r.read(65536)
            if not b:
                break
            w.write(b)
            await w.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        w.close()


async def handle(cr, cw, target):
    try:
        sr, sw = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, sw), pipe(sr, cw))


async def main(listen, target):
    srv = await asyncio.start_server(lambda r, w: handle(r, w, target), "127.0.0.1", listen,
                                     reuse_address=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
