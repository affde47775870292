"""`LoadInfo` and `Trace`: what a run did, printed like dlt's."""

from typing import Any, Dict, List, Optional


class LoadInfo:
    """What `run` or `load` did: the packages loaded, their jobs and row counts."""

    def __init__(self, info: Dict[str, Any], text: str, pipeline: Any = None) -> None:
        self._info = info
        self._text = text
        self.pipeline = pipeline
        self.pipeline_name: str = info.get("pipeline_name", "")
        self.destination_name: str = info.get("destination_name", "")
        self.destination_type: str = info.get("destination_type", "")
        self.destination_displayable_credentials: str = info.get("destination_location", "")
        self.dataset_name: str = info.get("dataset_name", "")
        self.loads_ids: List[str] = [p["load_id"] for p in info.get("packages", [])]
        self.load_packages: List[Dict[str, Any]] = info.get("packages", [])
        self.elapsed_secs: float = info.get("elapsed_secs", 0.0)

    @property
    def row_counts(self) -> Dict[str, int]:
        """Rows loaded per table, over all packages."""
        counts: Dict[str, int] = {}
        for package in self.load_packages:
            for table, rows in package.get("row_counts", {}).items():
                counts[table] = counts.get(table, 0) + rows
        return counts

    @property
    def has_failed_jobs(self) -> bool:
        """A package is loaded whole or fails the run: a returned LoadInfo has none."""
        return False

    def raise_on_failed_jobs(self) -> None:
        """dlt's check; a failed package raises PipelineStepFailed before LoadInfo exists."""

    def asdict(self) -> Dict[str, Any]:
        """The load info as a dict (JSON's types)."""
        return dict(self._info)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<LoadInfo {self.pipeline_name}: {len(self.loads_ids)} package(s)>"


class Trace:
    """The last run's record: steps with their timings, the load info or the error."""

    def __init__(self, trace: Dict[str, Any], text: str) -> None:
        self._trace = trace
        self._text = text
        self.pipeline_name: str = trace.get("pipeline_name", "")
        self.started_at: str = trace.get("started_at", "")
        self.finished_at: str = trace.get("finished_at", "")
        self.steps: List[Dict[str, Any]] = trace.get("steps", [])
        self.error: Optional[str] = trace.get("error")
        info = trace.get("load_info")
        self.last_load_info: Optional[LoadInfo] = LoadInfo(info, "") if info else None

    def asdict(self) -> Dict[str, Any]:
        return dict(self._trace)

    def __str__(self) -> str:
        return self._text
