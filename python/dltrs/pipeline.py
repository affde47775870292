"""`dltrs.pipeline(...)` and `Pipeline`: dlt's pipeline API on the engine."""

import datetime as _dt
import json
import os
import shutil
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence

from . import _native
from .dataset import Dataset, SqlClient
from .destinations import Destination, resolve
from .exceptions import CannotRestorePipelineException
from .extract import DltResource, DltSource, NativeSource, _is_arrow, hint_config, resource as _resource
from .load_info import LoadInfo, Trace
from .schema import Schema


def _default_name() -> str:
    """dlt's default: `dlt_<name of the script>`."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem and stem != "__main__":
            return "dlt_" + stem
    return "dlt_pipeline"


class Pipeline:
    """A pipeline: a name, a working directory, a destination and a dataset."""

    def __init__(
        self,
        pipeline_name: str,
        destination: Destination,
        dataset_name: Optional[str],
        pipelines_dir: Optional[str],
        dev_mode: bool,
        progress: Any,
    ) -> None:
        self.pipeline_name = pipeline_name
        self.pipelines_dir = pipelines_dir
        self.dev_mode = dev_mode
        self._destination = destination
        self._progress = bool(progress)
        if dev_mode:
            suffix = _dt.datetime.now().strftime("%Y%m%d%H%M%S")
            dataset_name = f"{dataset_name or pipeline_name + '_dataset'}_{suffix}"
        self._native = self._open(dataset_name)
        if dev_mode:
            # dlt's dev mode starts from nothing: no state, schema or packages of earlier runs
            shutil.rmtree(self._native.working_dir, ignore_errors=True)
            self._native = self._open(dataset_name)

    def _open(self, dataset_name: Optional[str]) -> Any:
        return _native.Pipeline(
            self.pipeline_name,
            destination=self._destination.spec,
            dataset_name=dataset_name,
            pipelines_dir=self.pipelines_dir,
            project_dir=os.getcwd(),
            progress=self._progress,
            secrets=self._destination.secrets,
            options=list(self._destination.options.items()),
        )

    @property
    def dataset_name(self) -> str:
        return self._native.dataset_name

    @property
    def working_dir(self) -> str:
        return str(self._native.working_dir)

    @property
    def destination(self) -> Destination:
        return self._destination

    @property
    def default_schema_name(self) -> str:
        return self.pipeline_name

    @property
    def default_schema(self) -> Schema:
        """The schema of the pipeline's data, as stored after the last normalize."""
        return Schema(json.loads(self._native.schema()))

    @property
    def schemas(self) -> Dict[str, Schema]:
        schema = self.default_schema
        return {schema.name: schema}

    @property
    def state(self) -> Dict[str, Any]:
        """The pipeline state (dlt's document: sources, resources, incremental cursors)."""
        return json.loads(self._native.state())

    @property
    def last_trace(self) -> Optional[Trace]:
        """What the last `run` did (steps, timings, load info, or the error)."""
        trace = self._native.last_trace()
        return None if trace is None else Trace(json.loads(trace[0]), trace[1])

    @property
    def has_pending_data(self) -> bool:
        return bool(self._native.pending_packages())

    def list_extracted_load_packages(self) -> List[str]:
        return list(self._native.pending_packages())

    def _resources(
        self,
        data: Any,
        table_name: Any = None,
        write_disposition: Any = None,
        primary_key: Any = None,
        merge_key: Any = None,
        columns: Any = None,
        schema_contract: Any = None,
    ) -> List[Any]:
        """The engine resources of what `run`/`extract` take."""
        if data is None:
            return []
        resources: List[DltResource] = []
        engine: List[Any] = []
        source_contract = None

        def add(item: Any) -> None:
            nonlocal source_contract
            if isinstance(item, NativeSource):
                engine.extend(item._natives())
            elif isinstance(item, DltSource):
                source_contract = item.schema_contract
                resources.extend(item.selected_resources.values())
            elif isinstance(item, DltResource):
                resources.append(item)
            elif callable(item) and hasattr(item, "__wrapped__") and not _is_arrow(item):
                made = item()
                add(made)
            else:
                name = table_name if isinstance(table_name, str) else getattr(item, "__name__", None)
                if name is None or name == "<genexpr>":
                    if not isinstance(table_name, str):
                        raise ValueError(
                            "data without a name needs a table: pipeline.run(data, table_name=...)"
                        )
                    name = table_name
                resources.append(_resource(item, name=name))

        if isinstance(data, (list, tuple)) and data and all(isinstance(d, (DltResource, DltSource, NativeSource)) for d in data):
            for item in data:
                add(item)
        else:
            add(data)
        natives = []
        for r in resources:
            if not r.selected:
                continue
            if any(h is not None for h in (table_name, write_disposition, primary_key, merge_key, columns, schema_contract)) or source_contract:
                r = r._copy()
                r.apply_hints(
                    table_name=table_name,
                    write_disposition=write_disposition,
                    primary_key=primary_key,
                    merge_key=merge_key,
                    columns=columns,
                    schema_contract=schema_contract,
                )
                if source_contract is not None and "schema_contract" not in r._hints:
                    r._hints["schema_contract"] = source_contract
            natives.append(r._native(self._destination.secrets))
        run_hints = hint_config(
            table_name=table_name if isinstance(table_name, str) else None,
            write_disposition=write_disposition,
            primary_key=primary_key,
            merge_key=merge_key,
            columns=columns,
            schema_contract=schema_contract,
        )
        for native in engine:
            if run_hints:
                native.apply_hints(json.dumps(run_hints))
            natives.append(native)
        return natives

    def run(
        self,
        data: Any = None,
        *,
        destination: Any = None,
        dataset_name: Optional[str] = None,
        credentials: Any = None,
        table_name: Any = None,
        write_disposition: Any = None,
        columns: Any = None,
        primary_key: Any = None,
        merge_key: Any = None,
        schema: Any = None,
        loader_file_format: Optional[str] = None,
        table_format: Optional[str] = None,
        schema_contract: Any = None,
        refresh: Optional[str] = None,
    ) -> LoadInfo:
        """Extracts, normalizes and loads `data` (a resource, a source, a generator, a list of
        dicts, a pyarrow table, a pandas frame); pending packages of an interrupted run are
        finished first. `loader_file_format` is accepted for dlt's scripts: the engine
        always picks its own format."""
        self._reconfigure(destination, dataset_name, credentials)
        resources = self._resources(data, table_name, write_disposition, primary_key, merge_key, columns, schema_contract)
        info, text = self._native.run(resources)
        return LoadInfo(json.loads(info), text, self)

    def extract(
        self,
        data: Any,
        *,
        table_name: Any = None,
        write_disposition: Any = None,
        columns: Any = None,
        primary_key: Any = None,
        merge_key: Any = None,
        schema_contract: Any = None,
        **_: Any,
    ) -> Dict[str, Any]:
        """Extracts `data` into a load package; its load id and items per resource."""
        resources = self._resources(data, table_name, write_disposition, primary_key, merge_key, columns, schema_contract)
        load_id, items = self._native.extract(resources)
        return {"load_id": load_id, "items": json.loads(items)}

    def normalize(self, workers: int = 1, loader_file_format: Optional[str] = None) -> List[str]:
        """Normalizes the extracted packages; their load ids."""
        return list(self._native.normalize())

    def load(self, destination: Any = None, dataset_name: Optional[str] = None, credentials: Any = None, **_: Any) -> LoadInfo:
        """Loads the normalized packages."""
        self._reconfigure(destination, dataset_name, credentials)
        info, text = self._native.load()
        return LoadInfo(json.loads(info), text, self)

    def _reconfigure(self, destination: Any, dataset_name: Optional[str], credentials: Any) -> None:
        if destination is None and dataset_name is None and credentials is None:
            return
        if destination is not None or credentials is not None:
            name = resolve(destination).destination_name if destination is not None else self._destination.destination_name
            if credentials is not None:
                from . import destinations

                factory = getattr(destinations, name, None)
                self._destination = factory(credentials) if factory else resolve(destination)
            else:
                self._destination = resolve(destination)
        self._native = self._open(dataset_name or self.dataset_name)

    def sync_destination(self) -> None:
        """Replaces the working directory's state and schema with the destination's."""
        self._native.sync_destination()

    def drop(self, pipeline_name: Optional[str] = None) -> "Pipeline":
        """Deletes the working directory (state, schemas, packages); the data in the
        destination stays. Returns the pipeline, re-created empty."""
        shutil.rmtree(self._native.working_dir, ignore_errors=True)
        if pipeline_name:
            self.pipeline_name = pipeline_name
        self._native = self._open(self.dataset_name)
        return self

    def dataset(self, dataset_name: Optional[str] = None) -> Dataset:
        """The loaded tables: `pipeline.dataset().rides.df()`."""
        if dataset_name and dataset_name != self.dataset_name:
            other = self._open(dataset_name)
            return Dataset(other, self)
        return Dataset(self._native, self)

    def sql_client(self) -> SqlClient:
        """Runs SQL in the dataset (`with pipeline.sql_client() as c: c.execute_sql(...)`)."""
        return SqlClient(self._native)

    def __repr__(self) -> str:
        return f"<dltrs Pipeline {self.pipeline_name} -> {self._native.location} dataset {self.dataset_name}>"


def pipeline(
    pipeline_name: Optional[str] = None,
    pipelines_dir: Optional[str] = None,
    pipeline_salt: Any = None,
    destination: Any = None,
    staging: Any = None,
    dataset_name: Optional[str] = None,
    import_schema_path: Optional[str] = None,
    export_schema_path: Optional[str] = None,
    dev_mode: bool = False,
    refresh: Optional[str] = None,
    progress: Any = None,
    **_: Any,
) -> Pipeline:
    """A pipeline with dlt's defaults: name `dlt_<script>`, DuckDB file
    `<pipeline_name>.duckdb` in the current folder, dataset `<pipeline_name>_dataset`."""
    name = pipeline_name or _default_name()
    return Pipeline(name, resolve(destination), dataset_name, pipelines_dir, dev_mode, progress)


def attach(
    pipeline_name: Optional[str] = None,
    pipelines_dir: Optional[str] = None,
    destination: Any = None,
    dataset_name: Optional[str] = None,
    **_: Any,
) -> Pipeline:
    """The existing pipeline `pipeline_name`, with the destination and dataset it recorded."""
    name = pipeline_name or _default_name()
    recorded = _native.recorded(name, pipelines_dir)
    if recorded is None:
        raise CannotRestorePipelineException(name, f"pipeline `{name}` has no working directory here; run it first")
    spec, dataset = recorded
    if destination is not None:
        dest = resolve(destination)
    elif spec is not None:
        dest = resolve(spec)
    else:
        dest = resolve(None)
    return Pipeline(name, dest, dataset_name or dataset, pipelines_dir, False, None)
