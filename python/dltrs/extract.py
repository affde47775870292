"""`@dltrs.resource` and `@dltrs.source`: dlt's decorators over the engine's resources.

A resource is a function (usually a generator) plus table hints. The engine pulls it: when it
asks for the first item, `_Pull.start` calls the function with the resource's state bound
(`dltrs.current.resource_state()`, incremental cursors' `start_value`); then `next_batch`
hands over items a batch at a time (pages flattened, pandas frames as pyarrow tables), and
`finish` gives the state back for the engine to store with the data.
"""

import datetime as _dt
import decimal as _decimal
import functools
import gc
import inspect
import json
import time
import uuid as _uuid
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import _native
from . import current as _current
from .exceptions import ResourceNameMissing
from .incremental import Incremental

# items handed to the engine per batch: the GIL is held while a batch is converted
BATCH_ITEMS = 2000
# a slow generator's batch is handed over after this long, so the engine sees a Ctrl-C (and
# counts progress) between its items
BATCH_SECONDS = 0.05

HINT_KEYS = ("write_disposition", "primary_key", "merge_key", "columns", "max_table_nesting", "schema_contract", "table_format")
COLUMN_KEYS = ("data_type", "nullable", "primary_key", "merge_key", "precision", "scale", "unique", "timezone", "hard_delete", "dedup_sort")


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (_decimal.Decimal, _uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    raise TypeError(f"a state value of type {type(value).__name__} cannot be stored")


def _keys(value: Union[str, Sequence[str], None]) -> Optional[List[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def _columns(columns: Any) -> Optional[Dict[str, Dict[str, Any]]]:
    """dlt's `columns` hint (a dict by name, or a list of column dicts with `name`)."""
    if columns is None:
        return None
    if isinstance(columns, dict):
        named = columns.items()
    else:
        named = [(c["name"], c) for c in columns]
    return {name: {k: v for k, v in spec.items() if k in COLUMN_KEYS and v is not None} for name, spec in named}


def hint_config(**hints: Any) -> Dict[str, Any]:
    """dlt's table hints as the engine's configuration keys (those of a pipeline file's
    resource table): unset hints left out, keys as lists, columns by name."""
    config: Dict[str, Any] = {}
    for key, value in hints.items():
        if value is None:
            continue
        if key in ("primary_key", "merge_key"):
            value = _keys(value)
        elif key == "columns":
            value = _columns(value)
        config[key] = value
    return config


def _is_arrow(item: Any) -> bool:
    """A pyarrow table or batch, or anything speaking Arrow's C stream interface."""
    return hasattr(item, "__arrow_c_stream__") or hasattr(item, "__arrow_c_array__")


def _is_frame(item: Any) -> bool:
    return type(item).__module__.startswith("pandas") and hasattr(item, "to_dict")


def _arrow_of_frame(frame: Any) -> Any:
    import pyarrow

    return pyarrow.Table.from_pandas(frame, preserve_index=False)


class _Pull:
    """The engine's handle on one extraction of a resource."""

    def __init__(self, resource: "DltResource") -> None:
        self._resource = resource
        self._iter: Optional[Iterator[Any]] = None
        self._done = False
        self.state: Dict[str, Any] = {}
        self.source_state: Dict[str, Any] = {}

    def start(self, resource_state: str, source_state: str) -> None:
        self.state = json.loads(resource_state)
        self.source_state = json.loads(source_state)
        _current._push(self)
        try:
            self._iter = iter(self._resource._open(self.state))
        finally:
            _current._pop()

    def next_batch(self) -> Optional[tuple]:
        if self._done or self._iter is None:
            return None
        items: List[Any] = []
        tables: Optional[List[Optional[str]]] = None
        route = self._resource._table_fn
        nxt = self._iter.__next__
        deadline = time.monotonic() + BATCH_SECONDS
        # Python's cyclic collector waits while a batch is pulled: parsed JSON holds no
        # cycles (reference counting frees it), and the collector's passes over the young
        # pages cost a third of a getter's json.loads
        collecting = gc.isenabled()
        gc.disable()
        _current._push(self)
        try:
            while len(items) < BATCH_ITEMS and time.monotonic() < deadline:
                try:
                    item = nxt()
                except StopIteration:
                    self._done = True
                    break
                if item is None:
                    continue
                page = item if type(item) is list else [item]
                if route is None and type(page[0] if page else None) is dict:
                    # a page of records: the engine checks each item's type itself
                    items.extend(page)
                    continue
                for one in page:
                    if type(one) is not dict and _is_frame(one):
                        one = _arrow_of_frame(one)
                    if route is not None:
                        if tables is None:
                            tables = [None] * len(items)
                        tables.append(None if _is_arrow(one) else route(one))
                    items.append(one)
        finally:
            _current._pop()
            if collecting:
                gc.enable()
        if not items:
            return None
        return (items, tables)

    def finish(self) -> tuple:
        return (json.dumps(self.state, default=_json_default), json.dumps(self.source_state, default=_json_default))


class DltResource:
    """A resource: data (a function, a generator, a list, a table) with table hints."""

    def __init__(
        self,
        data: Any,
        name: str,
        table_name: Union[str, Callable[[Any], str], None] = None,
        write_disposition: Any = None,
        primary_key: Any = None,
        merge_key: Any = None,
        columns: Any = None,
        max_table_nesting: Optional[int] = None,
        schema_contract: Any = None,
        table_format: Optional[str] = None,
        selected: bool = True,
        args: tuple = (),
        kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._data = data
        self.name = name
        self._table_name = table_name
        self._hints: Dict[str, Any] = {}
        self.apply_hints(
            write_disposition=write_disposition,
            primary_key=primary_key,
            merge_key=merge_key,
            columns=columns,
            max_table_nesting=max_table_nesting,
            schema_contract=schema_contract,
            table_format=table_format,
        )
        self.selected = selected
        self._args = args
        self._kwargs = kwargs or {}
        self._incremental: Optional[Incremental] = None
        self.section: Optional[str] = None

    # dlt's hint accessors
    @property
    def table_name(self) -> Any:
        return self._table_name if self._table_name is not None else self.name

    @property
    def write_disposition(self) -> Any:
        return self._hints.get("write_disposition", "append")

    @property
    def _table_fn(self) -> Optional[Callable[[Any], str]]:
        return self._table_name if callable(self._table_name) else None

    def apply_hints(
        self,
        table_name: Any = None,
        write_disposition: Any = None,
        primary_key: Any = None,
        merge_key: Any = None,
        columns: Any = None,
        max_table_nesting: Optional[int] = None,
        schema_contract: Any = None,
        incremental: Optional[Incremental] = None,
        table_format: Optional[str] = None,
    ) -> "DltResource":
        """Sets hints (those given; the others stay)."""
        if table_name is not None:
            self._table_name = table_name
        if write_disposition is not None:
            self._hints["write_disposition"] = write_disposition
        if primary_key is not None:
            self._hints["primary_key"] = _keys(primary_key)
        if merge_key is not None:
            self._hints["merge_key"] = _keys(merge_key)
        if columns is not None:
            self._hints["columns"] = _columns(columns)
        if max_table_nesting is not None:
            self._hints["max_table_nesting"] = max_table_nesting
        if schema_contract is not None:
            self._hints["schema_contract"] = schema_contract
        if incremental is not None:
            self._incremental = incremental
        if table_format is not None:
            self._hints["table_format"] = table_format
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> "DltResource":
        """The resource with its function's arguments bound (dlt: calling a resource)."""
        if not callable(self._data):
            raise TypeError(f"resource `{self.name}` is not a function and takes no arguments")
        bound = self._copy()
        bound._args = args
        bound._kwargs = kwargs
        return bound

    def _copy(self) -> "DltResource":
        other = DltResource.__new__(DltResource)
        other.__dict__.update(self.__dict__)
        other._hints = dict(self._hints)
        return other

    def with_name(self, name: str) -> "DltResource":
        other = self._copy()
        other.name = name
        return other

    def _cursor(self) -> Tuple[Optional[str], Optional[Incremental]]:
        """The incremental cursor and the argument of the function that takes it: an argument
        the caller passed one in, or one whose default is one and that the caller did not
        pass; a cursor given by a hint has no argument."""
        if self._incremental is not None:
            return None, self._incremental
        if not callable(self._data):
            return None, None
        for key, value in self._kwargs.items():
            if isinstance(value, Incremental):
                return key, value
        try:
            params = inspect.signature(self._data).parameters.values()
        except (TypeError, ValueError):
            return None, None
        for i, param in enumerate(params):
            if isinstance(param.default, Incremental) and param.name not in self._kwargs and i >= len(self._args):
                return param.name, param.default
        return None, None

    def _open(self, state: Dict[str, Any]) -> Iterable[Any]:
        """The items, the function called with its cursor bound to the state."""
        data = self._data
        if callable(data) and not _is_arrow(data):
            kwargs = dict(self._kwargs)
            name, cursor = self._cursor()
            if name is not None and cursor is not None:
                kwargs[name] = cursor._bind(state)
            data = data(*self._args, **kwargs)
        if isinstance(data, dict) or _is_arrow(data) or _is_frame(data):
            return [data]
        if isinstance(data, (str, bytes)):
            raise TypeError(f"resource `{self.name}` yielded a {type(data).__name__}; give dicts, lists of dicts or tables")
        return data

    def _native(self, secrets: Sequence[str] = ()) -> Any:
        _, cursor = self._cursor()
        hints = {k: v for k, v in self._hints.items() if v is not None}
        table = self._table_name if isinstance(self._table_name, str) else None
        return _native.Resource(
            self.name,
            _Pull(self),
            table_name=table,
            hints=json.dumps(hints) if hints else None,
            incremental=cursor._config() if cursor is not None else None,
            secrets=list(secrets),
        )

    def __repr__(self) -> str:
        return f"<DltResource {self.name}>"


class DltSource:
    """A source: named resources that load together."""

    def __init__(self, name: str, resources: Iterable[DltResource], schema_contract: Any = None, max_table_nesting: Optional[int] = None) -> None:
        self.name = name
        self.schema_contract = schema_contract
        self.max_table_nesting = max_table_nesting
        self._resources: Dict[str, DltResource] = {}
        for resource in resources:
            self._resources[resource.name] = resource._copy()

    @property
    def resources(self) -> Dict[str, DltResource]:
        return self._resources

    @property
    def selected_resources(self) -> Dict[str, DltResource]:
        return {name: r for name, r in self._resources.items() if r.selected}

    def with_resources(self, *names: str) -> "DltSource":
        """The source with only `names` selected."""
        unknown = [n for n in names if n not in self._resources]
        if unknown:
            raise KeyError(f"source `{self.name}` has no resources {unknown}; it has {list(self._resources)}")
        for name, resource in self._resources.items():
            resource.selected = name in names
        return self

    def __getattr__(self, name: str) -> DltResource:
        resources = self.__dict__.get("_resources", {})
        if name in resources:
            return resources[name]
        raise AttributeError(name)

    def __iter__(self) -> Iterator[DltResource]:
        return iter(self.selected_resources.values())

    def __repr__(self) -> str:
        return f"<DltSource {self.name}: {list(self._resources)}>"


def resource(
    data: Any = None,
    /,
    name: Optional[str] = None,
    table_name: Any = None,
    write_disposition: Any = None,
    primary_key: Any = None,
    merge_key: Any = None,
    columns: Any = None,
    max_table_nesting: Optional[int] = None,
    schema_contract: Any = None,
    table_format: Optional[str] = None,
    selected: bool = True,
    **_: Any,
) -> Any:
    """dlt's `@dlt.resource`, on a function (with or without arguments) or on data
    (`dltrs.resource(items, name="x")`)."""

    def make(target: Any) -> DltResource:
        resource_name = name or getattr(target, "__name__", None)
        if resource_name is None or resource_name == "<lambda>":
            if isinstance(table_name, str):
                resource_name = table_name
            else:
                raise ResourceNameMissing("give the resource a name: dltrs.resource(data, name=...)")
        made = DltResource(
            target,
            resource_name,
            table_name=table_name,
            write_disposition=write_disposition,
            primary_key=primary_key,
            merge_key=merge_key,
            columns=columns,
            max_table_nesting=max_table_nesting,
            schema_contract=schema_contract,
            table_format=table_format,
            selected=selected,
        )
        if callable(target):
            functools.update_wrapper(made, target, updated=())
        return made

    if data is None:
        return make
    if callable(data) and not _is_arrow(data):
        return make(data)
    if name is None and not isinstance(table_name, str):
        if inspect.isgenerator(data):
            name = data.__name__
        else:
            raise ResourceNameMissing("give the resource a name: dltrs.resource(data, name=...)")
    return make(data)


def source(
    func: Any = None,
    /,
    name: Optional[str] = None,
    max_table_nesting: Optional[int] = None,
    schema_contract: Any = None,
    **_: Any,
) -> Any:
    """dlt's `@dlt.source`: a function returning (or yielding) resources; calling it gives a
    `DltSource`."""

    def make(target: Callable[..., Any]) -> Callable[..., DltSource]:
        source_name = name or target.__name__

        @functools.wraps(target)
        def build(*args: Any, **kwargs: Any) -> DltSource:
            made = target(*args, **kwargs)
            if isinstance(made, DltResource):
                made = [made]
            resources = []
            for item in made:
                if isinstance(item, DltResource):
                    resources.append(item)
                else:
                    resources.append(resource(item, name=getattr(item, "__name__", None)))
            for r in resources:
                if max_table_nesting is not None and "max_table_nesting" not in r._hints:
                    r._hints["max_table_nesting"] = max_table_nesting
            return DltSource(source_name, resources, schema_contract=schema_contract, max_table_nesting=max_table_nesting)

        return build

    if func is None:
        return make
    return make(func)


class NativeSource:
    """A source of the engine's own (REST API, files, SQL databases), configured with the keys
    of a pipeline file's `[sources.<name>]` table. Its resources are made for each run."""

    def __init__(self, type_name: str, name: str, config: Dict[str, Any]) -> None:
        self.type_name = type_name
        self.name = name
        self.config = config

    def _natives(self) -> List[Any]:
        import os

        return list(_native.source_resources(self.type_name, self.name, json.dumps(self.config, default=_json_default), os.getcwd()))

    @property
    def resources(self) -> Dict[str, Any]:
        return {r.name: r for r in self._natives()}

    def __repr__(self) -> str:
        return f"<{self.type_name} source {self.name}>"
