"""moto's server with each DynamoDB request served whole before the next begins.

DynamoDB applies a TransactWriteItems atomically. moto undoes a failed one by putting back a copy
of the table taken before it began, so under concurrent requests a transaction that fails undoes
the writes other requests made meanwhile (a guarded "one call per run" then saw two calls win).
Serving DynamoDB requests one at a time gives the tests DynamoDB's atomicity; the other services
moto serves are left as they are.

    python tests/stores/moto_serial.py -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_ONE_AT_A_TIME = threading.RLock()
_call_action = DynamoHandler.call_action


@functools.wraps(_call_action)
def _serial_call_action(self: DynamoHandler) -> Any:
    with _ONE_AT_A_TIME:
        return _call_action(self)


DynamoHandler.call_action = _serial_call_action  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
