"""`picgraph serve`'s embedded emulator: moto (S3 + DynamoDB) in a process of its own.

    python -m resolvers.emulator --port N [--host 127.0.0.1]

moto's own `moto.server` runs on werkzeug's development server, which closes the
connection after every response ("Connection: close"), starts a thread per connection
and logs every request: each DynamoDB call from an API worker then paid a TCP
handshake, a new emulator thread and a log line, and the emulator's process spent more
time in its HTTP server than in moto. Here moto's WSGI application (the very one
`moto.server` builds) runs on granian: HTTP/1.1 keep-alive parsed in Rust, the
application called on a few Python threads (as moto's own threaded server does: a slow
upload does not hold up DynamoDB calls, and a request moto sends to itself is answered),
no access log. Without granian installed the emulator falls back to moto's own server.

Two per-request costs of moto's dispatcher are also paid once instead: resolving the
backend for a host (a listing of moto's package directory per request) and listing a
response class's methods (`inspect.getmembers` per request). Both depend only on
code, never on state. moto's Flask apps run without debug mode (which builds a class per
request to word one error message). And DynamoDB's attribute values, which moto already holds in
their wire form ({"S": "..."}), are written as they are instead of through moto's
generic, shape-driven serializer (ten member look-ups per attribute, 55 % of the
emulator's time on a 20-attribute GetItem); tests/unit/test_emulator.py checks that
both write the same JSON for every attribute type.

One difference from `moto.server`: an S3 user-metadata key with an underscore comes back
with a dash (WSGI cannot tell `my_key` from `my-key`; moto patches werkzeug's request
handler to keep the spelling). picgraph writes no user metadata.
"""

from __future__ import annotations

import argparse
import base64
import functools
import sys
import threading
from typing import Any

BLOCKING_THREADS = 4  # granian's threads that call moto (the GIL makes more pointless)
ATTRIBUTE_VALUE = "AttributeValue"  # DynamoDB's shape for one attribute's typed value


def create_app() -> Any:
    """moto's WSGI application (S3, DynamoDB and every other moto service)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    _end_with_parent()
    _cache_method_listing()
    _register_dynamodb_serializer()
    serialize_dynamodb_requests()

    class CachedDispatcher(DomainDispatcherApplication):
        """Resolves each host's backend once (a pure function of the host name)."""

        @functools.cache  # noqa: B019 (one dispatcher per process; hosts are few)
        def get_backend_for_host(self, host: str | None) -> Any:
            return super().get_backend_for_host(host)

    def quiet_backend_app(service: Any) -> Any:
        # moto turns on Flask's debug mode, whose form parsing builds a new class per request
        # (flask.debughelpers); an error still answers 500, from Flask instead of granian.
        app = create_backend_app(service)
        app.debug = False
        return app

    return CachedDispatcher(quiet_backend_app)


_DYNAMODB_REQUESTS = threading.RLock()


@functools.cache
def serialize_dynamodb_requests() -> None:
    """moto answers one DynamoDB request at a time in this process, as isolated as DynamoDB.

    moto applies a transaction's actions one by one and, when one fails, puts back a copy
    of the tables taken when the transaction began: a write another thread made meanwhile
    is lost (two images for one idempotency key), and a concurrent read sees half a
    transaction. Its other actions are quick, so a lock costs nothing measurable.
    """
    from moto.dynamodb.responses import DynamoHandler

    unlocked = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _DYNAMODB_REQUESTS:
            return unlocked(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _end_with_parent() -> None:
    """granian calls this in the worker process it spawned: that worker must not outlive
    the emulator's main process, even one killed with -9 (it would keep the port)."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _cache_method_listing() -> None:
    import moto.core.responses as responses

    listing = getattr(responses, "method_names_from_class", None)
    if listing is not None and not hasattr(listing, "cache_info"):
        responses.method_names_from_class = functools.cache(listing)  # type: ignore[attr-defined]


def wire_attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value as DynamoDB's JSON writes it (binaries in base64)."""
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return {kind: str(inner)}
    if kind in ("SS", "NS"):
        return {kind: [str(member) for member in inner]}
    if kind == "B":
        return {kind: _base64(inner)}
    if kind == "BS":
        return {kind: [_base64(member) for member in inner]}
    if kind == "M":
        return {kind: {name: wire_attribute_value(member) for name, member in inner.items()}}
    if kind == "L":
        return {kind: [wire_attribute_value(member) for member in inner]}
    return {kind: inner}  # BOOL, NULL


def _base64(blob: str | bytes) -> str:
    raw = blob.encode("utf-8") if isinstance(blob, str) else blob
    return base64.b64encode(raw).strip().decode("utf-8")


def dynamodb_serializer() -> type[Any]:
    """moto's JSON serializer, with DynamoDB attribute values written as they are."""
    from moto.core.serialize import JSONSerializer

    class DynamoDBJSONSerializer(JSONSerializer):
        def _serialize_type_structure(
            self, serialized: Any, value: Any, shape: Any, key: str
        ) -> None:
            if shape.name == ATTRIBUTE_VALUE and isinstance(value, dict) and len(value) == 1:
                self._default_serialize(serialized, wire_attribute_value(value), shape, key)
                return
            super()._serialize_type_structure(serialized, value, shape, key)

    return DynamoDBJSONSerializer


def _register_dynamodb_serializer() -> None:
    from moto.core import serialize

    registry = getattr(serialize, "SERVICE_SPECIFIC_SERIALIZERS", None)
    if isinstance(registry, dict):
        registry.setdefault("dynamodb", {}).setdefault("json", dynamodb_serializer())


def serve(host: str, port: int) -> None:
    try:
        from granian.constants import Interfaces
        from granian.log import LogLevels
        from granian.server import Server
    except ImportError:  # moto's own (slower) server
        from moto.server import main as moto_main

        moto_main(["-H", host, "-p", str(port)])
        return
    Server(
        "resolvers.emulator:create_app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        factory=True,
        workers=1,
        blocking_threads=BLOCKING_THREADS,
        websockets=False,
        log_level=LogLevels.warning,
        log_access=False,
    ).serve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve(args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
