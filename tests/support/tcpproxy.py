"""A loopback TCP forwarder that tests put in front of a service to make it fail on cue.

Three states, switched at any time from the test's thread:

* ``start()``: forward every byte both ways (the service is healthy);
* ``stop()``: close the listener and cut every open connection (the port is closed:
  clients get "connection refused" at once);
* ``blackhole()``: keep accepting connections but forward nothing, and freeze the open
  ones (bytes already sent are held, never delivered). Clients see a server that
  stopped answering: the failure that only timeouts can turn into an error.

Leaving a blackhole (``start()`` or ``stop()``) cuts the connections it held: their
clients have given up on them, and a real network would reset them in the end.
"""

import socket
import threading
from contextlib import suppress

FORWARD, BLACKHOLE = "forward", "blackhole"


class TcpProxy:
    """A TCP forwarder from 127.0.0.1:<port> to ``target`` that can be cut off and restored."""

    def __init__(self, target_host="127.0.0.1", target_port=5672):
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.mode = FORWARD
        self._listener = None
        self._accepting = None
        self._sockets = set()
        self._threads = []
        self._lock = threading.Lock()
        self._flowing = threading.Event()  # cleared while blackholed: pipes hold their data

    @property
    def running(self):
        return self._listener is not None

    def start(self):
        """Forward again (listening on the same port); connections a blackhole held are cut."""
        if self.mode == BLACKHOLE:
            self._cut_all()
        self.mode = FORWARD
        self._flowing.set()
        if self._listener is None:
            self._listen()
        return self

    def blackhole(self):
        """Accept and hold new connections, forward nothing, freeze the open ones."""
        self.mode = BLACKHOLE
        self._flowing.clear()
        if self._listener is None:
            self._listen()
        return self

    def stop(self):
        """Refuse new connections and cut every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
            self._accepting.join(timeout=5)
        self._cut_all()
        self.mode = FORWARD

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _listen(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def _cut_all(self):
        """Close every connection and let data flow again (callers then forward or stop)."""
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)
        self._flowing.set()  # wake frozen pipes so that they notice their closed sockets
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout=5)

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            if self.mode == BLACKHOLE:
                with self._lock:
                    self._sockets.add(client)  # held open, never read: cut on leaving
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
                for src, dst in ((client, upstream), (upstream, client)):
                    thread = threading.Thread(target=self._pipe, args=(src, dst), daemon=True)
                    self._threads.append(thread)
                    thread.start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self._flowing.wait()  # blackholed: hold the data until the connection is cut
                with self._lock:
                    if src not in self._sockets:
                        break  # cut while frozen: what it held is dropped
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended: end both (the other pipe sees EOF or an error and exits).
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)
            _close(src)
            _close(dst)


def _close(sock):
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
