"""A slow feed server for the polling benchmarks: every answer waits DELAY seconds.

It runs in its own process (an asyncio HTTP/1.1 server on each given loopback address),
answers a matching If-None-Match with 304, and sends the parent its ports through a pipe,
serving until the parent says stop or goes away.
"""

from __future__ import annotations

import asyncio
from multiprocessing.connection import Connection

DELAY = 0.1


async def _serve(bodies: dict[str, bytes], hosts: list[str], conn: Connection) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                await asyncio.sleep(DELAY)
                body = bodies.get(path)
                etag = f'"{path}-v1"'
                if body is None:
                    status, out, extra = "404 Not Found", b"", ""
                elif headers.get("if-none-match") == etag:
                    status, out, extra = "304 Not Modified", b"", f"ETag: {etag}\r\n"
                else:
                    status, out, extra = "200 OK", body, f"ETag: {etag}\r\n"
                writer.write(
                    (
                        f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\n{extra}"
                        f"Content-Length: {len(out)}\r\n\r\n"
                    ).encode()
                    + out
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, host, 0, backlog=1024) for host in hosts]
    ports = {host: s.sockets[0].getsockname()[1] for host, s in zip(hosts, servers, strict=True)}
    conn.send(ports)
    loop = asyncio.get_running_loop()
    # Serve until the parent says stop (or goes away).
    await loop.run_in_executor(None, conn.recv)
    for s in servers:
        s.close()


def server_main(bodies: dict[str, bytes], hosts: list[str], conn: Connection) -> None:
    try:
        asyncio.run(_serve(bodies, hosts, conn))
    except EOFError:
        pass
