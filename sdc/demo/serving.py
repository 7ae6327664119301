"""Run ASGI apps under uvicorn in background threads on free loopback ports."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI


@dataclass
class Served:
    """A running server: its base URL and how to stop it."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Ask the server to exit and wait for it."""
        self.server.should_exit = True
        self.thread.join(10)


def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, http: str = "auto"
) -> Served:
    """Start `app` and return once it accepts connections (port 0: any free port; `http`:
    uvicorn's HTTP implementation, "auto" (httptools) or "h11")."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", http=http, loop="asyncio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"no server could start on {host}:{port} (is the port in use?)")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return Served(f"http://{host}:{bound}", server, thread)
