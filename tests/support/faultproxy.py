"""A TCP proxy on 127.0.0.1 between one client (an operator) and one server (the API server), whose behaviour
the test switches at run time, to make the network fail as it does in production:

- `pass`: bytes flow both ways;
- `refuse`: the port stops listening (connect: ECONNREFUSED) and open connections are reset;
- `blackhole`: connections are accepted and held, nothing is forwarded either way (a hung API server or a
  partition: the client's requests, Lease renewals included, wait for their timeouts);
- `reset`: every open and every new connection is reset (RST).

It forwards TCP only, so TLS passes through untouched (the API server's certificate must name 127.0.0.1).
The proxy runs an asyncio loop on a thread of its own; `mode` may be set from any thread.

Does not: look into the traffic, delay or drop single requests, or serve more than one upstream.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from pathlib import Path

import yaml

MODES = ("pass", "refuse", "blackhole", "reset")


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.accepted = 0
        self._mode = "pass"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._open: set[asyncio.StreamWriter] = set()

    # -- from the test's thread ---------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        self._run(self._start())
        return self

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self._run(self._switch(mode))

    def close(self) -> None:
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _run(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    # -- on the loop --------------------------------------------------------------------------------------

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _switch(self, mode: str) -> None:
        before, self._mode = self._mode, mode
        if mode == "blackhole":
            self._flowing.clear()
        else:
            self._flowing.set()
        if mode in ("refuse", "reset"):
            self._reset_all()
        if mode == "refuse" and self._server is not None:
            self._server.close()
            self._server = None
        elif mode != "refuse" and before == "refuse":
            await self._listen()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _reset_all(self) -> None:
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._mode == "reset":
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(writer)
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction; while blackholed, neither read nor write (bytes stay in the kernel's buffers)."""
        try:
            while True:
                await self._flowing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                await self._flowing.wait()  # blackholed while reading: this chunk waits too
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


def proxied_kubeconfig(kubeconfig: Path, proxy: FaultProxy, path: Path) -> Path:
    """A copy of `kubeconfig` whose clusters point at `proxy` (same credentials and CA: TLS is end to end)."""
    config = yaml.safe_load(kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    path.write_text(yaml.safe_dump(config))
    return path


def upstream_of(kubeconfig: Path) -> tuple[str, int]:
    """(host, port) of the current cluster's server in `kubeconfig`."""
    config = yaml.safe_load(kubeconfig.read_text())
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    server = next(c["cluster"]["server"] for c in config["clusters"] if c["name"] == context["cluster"])
    host, _, port = server.removeprefix("https://").rstrip("/").rpartition(":")
    return host, int(port)
