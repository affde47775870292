"""`dltrs.sources.incremental`: dlt's incremental cursor, kept by the engine (its filter drops
what earlier runs loaded; its state is stored in the destination with the data)."""

import datetime as _dt
import json
from typing import Any, Callable, Optional, Sequence, Union

from . import _native


def _jsonable(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        if isinstance(value, _dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    return value


class Incremental:
    """An incremental cursor at `cursor_path`, with dlt's options and defaults. Used as the
    default of a resource function's argument; inside the function `start_value` is where
    this run starts (the last value of earlier runs, or `initial_value`)."""

    def __init__(
        self,
        cursor_path: str,
        initial_value: Any = None,
        last_value_func: Union[Callable[..., Any], str] = max,
        primary_key: Optional[Union[str, Sequence[str]]] = None,
        end_value: Any = None,
        row_order: Optional[str] = None,
        allow_external_schedulers: bool = False,
        on_cursor_value_missing: str = "raise",
        lag: Optional[float] = None,
        range_start: str = "closed",
        range_end: str = "open",
    ) -> None:
        if last_value_func in (max, "max"):
            func = "max"
        elif last_value_func in (min, "min"):
            func = "min"
        else:
            raise ValueError("last_value_func must be max or min")
        if on_cursor_value_missing not in ("raise", "include", "exclude"):
            raise ValueError("on_cursor_value_missing must be raise, include or exclude")
        if range_start not in ("open", "closed") or range_end not in ("open", "closed"):
            raise ValueError("range_start and range_end must be open or closed")
        if row_order not in (None, "asc", "desc"):
            raise ValueError("row_order must be asc or desc")
        self.cursor_path = cursor_path
        self.initial_value = initial_value
        self.end_value = end_value
        self.last_value_func = last_value_func
        self.primary_key = primary_key
        self.row_order = row_order
        self.on_cursor_value_missing = on_cursor_value_missing
        self.lag = lag
        self.range_start = range_start
        self.range_end = range_end
        self._func = func
        self._start: Any = initial_value

    def _config(self) -> str:
        config = {
            "cursor_path": self.cursor_path,
            "initial_value": _jsonable(self.initial_value),
            "end_value": _jsonable(self.end_value),
            "last_value_func": self._func,
            "row_order": self.row_order,
            "lag": self.lag,
            "on_cursor_value_missing": self.on_cursor_value_missing,
            "range_start": self.range_start,
            "range_end": self.range_end,
        }
        if self.primary_key is not None:
            config["primary_key"] = [self.primary_key] if isinstance(self.primary_key, str) else list(self.primary_key)
        return json.dumps({k: v for k, v in config.items() if v is not None})

    def _bind(self, resource_state: dict) -> "Incremental":
        """A copy bound to a resource's state: its start is known."""
        bound = Incremental.__new__(Incremental)
        bound.__dict__.update(self.__dict__)
        start = json.loads(_native.incremental_start(self._config(), json.dumps(resource_state, default=str)))
        bound._start = self._typed(start)
        return bound

    def _typed(self, value: Any) -> Any:
        """A stored value back in the type of the initial value (state keeps datetimes as text)."""
        if isinstance(value, str) and isinstance(self.initial_value, (_dt.datetime, _dt.date)):
            try:
                parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
            if type(self.initial_value) is _dt.date:
                return parsed.date()
            if parsed.tzinfo is None and self.initial_value.tzinfo is not None:
                parsed = parsed.replace(tzinfo=_dt.timezone.utc)
            if parsed.tzinfo is not None and self.initial_value.tzinfo is None:
                parsed = parsed.astimezone(_dt.timezone.utc).replace(tzinfo=None)
            return parsed
        return value

    @property
    def start_value(self) -> Any:
        """Where this run starts."""
        return self._start

    @property
    def last_value(self) -> Any:
        """The last value earlier runs loaded (the start, before this run moves it)."""
        return self._start

    def __repr__(self) -> str:
        return f"Incremental({self.cursor_path!r}, start_value={self._start!r})"


incremental = Incremental
