"""dltrs: dlt's API on a Rust engine. `import dltrs as dlt`, then write dlt scripts as usual:

    import dltrs as dlt

    @dlt.resource(write_disposition="replace")
    def rides():
        yield [{"id": 1, "fare": 9.5}]

    pipeline = dlt.pipeline(pipeline_name="taxi", destination="duckdb", dataset_name="rides")
    print(pipeline.run(rides()))
"""

from . import _native
from . import current, destinations, sources
from .exceptions import PipelineStepFailed, CannotRestorePipelineException
from .extract import DltResource, DltSource, resource, source
from .incremental import Incremental
from .load_info import LoadInfo
from .pipeline import Pipeline, attach, pipeline

__version__ = _native.__version__

__all__ = [
    "pipeline",
    "attach",
    "resource",
    "source",
    "current",
    "destinations",
    "sources",
    "Pipeline",
    "LoadInfo",
    "DltResource",
    "DltSource",
    "Incremental",
    "PipelineStepFailed",
    "CannotRestorePipelineException",
]
