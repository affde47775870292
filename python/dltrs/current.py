"""`dltrs.current`: the state of the resource being extracted, as `dlt.current` gives it."""

import threading
from typing import Any, Dict, List

_local = threading.local()


def _stack() -> List[Any]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _push(pull: Any) -> None:
    _stack().append(pull)


def _pop() -> None:
    _stack().pop()


def _active() -> Any:
    stack = _stack()
    if not stack:
        raise RuntimeError("dltrs.current is read inside a resource while a pipeline extracts it")
    return stack[-1]


def resource_state() -> Dict[str, Any]:
    """The state of the resource being extracted: a dict that the next run gets back."""
    return _active().state


def source_state() -> Dict[str, Any]:
    """The state of its source, shared by the source's resources."""
    return _active().source_state


def state() -> Dict[str, Any]:
    """dlt's name for the source state."""
    return source_state()
