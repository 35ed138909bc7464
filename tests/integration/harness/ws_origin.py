"""A TLS websocket echo origin (websockets, asyncio) in a thread of its own, on 127.0.0.1:0.

Prefect workers hold a websocket to Prefect Cloud through the proxy (python-socks opens the
tunnel); this origin lets a test do the same. It counts connections and echoed payload bytes.
"""

import asyncio
import threading

import websockets

START_TIMEOUT = 10.0


class WebsocketEchoOrigin:
    def __init__(self, pki):
        self._ctx = pki.server_context()
        self._lock = threading.Lock()
        self._connections = 0
        self._payload_bytes = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop = None
        self.port = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self.port is None:
            raise RuntimeError("websocket origin did not start")

    @property
    def connections(self):
        with self._lock:
            return self._connections

    @property
    def payload_bytes(self):
        with self._lock:
            return self._payload_bytes

    def stop(self):
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(timeout=10)

    def _run(self):
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._ready.set()
            self._loop.close()

    async def _serve(self):
        self._stop = self._loop.create_future()
        async with websockets.serve(self._echo, "127.0.0.1", 0, ssl=self._ctx) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    async def _echo(self, ws, path=None):
        with self._lock:
            self._connections += 1
        async for message in ws:
            with self._lock:
                self._payload_bytes += len(message)
            await ws.send(message)
