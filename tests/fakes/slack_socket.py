"""A local Socket Mode endpoint: a minimal RFC 6455 WebSocket server on 127.0.0.1.

FakeSlack's apps.connections.open hands out ``url``; slack_sdk's builtin SocketModeClient
connects to it (plain ws:// on a port other than 443). On each connection the server sends
Slack's ``hello``; tests push envelopes with ``send`` and read the client's acks in
``acks``; ``drop`` closes every connection, as Slack does when it rotates its servers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SocketModeServer:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.clients: list[socket.socket] = []
        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=t-1&app_id=A1"

    def __enter__(self) -> SocketModeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True
        self.drop()
        self.listener.close()

    # -- what tests do ------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        with self.lock:
            for client in self.clients:
                client.sendall(_frame(0x1, data))

    def drop(self) -> None:
        with self.lock:
            for client in self.clients:
                try:
                    client.sendall(_frame(0x8, struct.pack("!H", 1001)))
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                client.close()
            self.clients.clear()

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [a for a in self.acks if a.get("envelope_id") == envelope_id]
            if found:
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"no ack for envelope {envelope_id} within {timeout}s")

    # -- the protocol -------------------------------------------------------------------

    def _accept(self) -> None:
        while not self.closed:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                return
            request += chunk
        headers = dict(
            line.split(": ", 1) for line in request.decode().split("\r\n")[1:] if ": " in line
        )
        key = next(v for k, v in headers.items() if k.lower() == "sec-websocket-key")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        hello = {"type": "hello", "num_connections": 1,
                 "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                 "connection_info": {"app_id": "A1"}}
        sock.sendall(_frame(0x1, json.dumps(hello).encode()))
        with self.lock:
            self.clients.append(sock)
            self.connections += 1
        reader = sock.makefile("rb")
        try:
            while True:
                opcode, payload = _read_frame(reader)
                if opcode == 0x1:
                    with self.lock:
                        self.acks.append(json.loads(payload))
                elif opcode == 0x9:
                    with self.lock:
                        sock.sendall(_frame(0xA, payload))
                elif opcode == 0x8:
                    return
        except (OSError, ValueError, struct.error):
            return
        finally:
            with self.lock:
                if sock in self.clients:
                    self.clients.remove(sock)
            sock.close()


def _frame(opcode: int, payload: bytes) -> bytes:
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 65536:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


def _read_frame(reader: Any) -> tuple[int, bytes]:
    first = reader.read(2)
    if len(first) < 2:
        raise ValueError("closed")
    opcode, size = first[0] & 0x0F, first[1] & 0x7F
    if size == 126:
        size = struct.unpack("!H", reader.read(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", reader.read(8))[0]
    mask = reader.read(4) if first[1] & 0x80 else b"\0\0\0\0"
    data = reader.read(size)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))
