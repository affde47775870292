"""The exceptions dlt scripts catch, with dlt's class names."""

from typing import Any, Optional


class DltException(Exception):
    """The base of every dltrs exception (dlt's name)."""


class PipelineException(DltException):
    """An error of one pipeline."""

    def __init__(self, pipeline_name: str, msg: str) -> None:
        self.pipeline_name = pipeline_name
        super().__init__(msg)


class PipelineStepFailed(PipelineException):
    """A step (`extract`, `normalize`, `load`, ...) failed. `exception` is what the user's
    code raised when it raised (also the `__cause__`, with its traceback); the message is
    the engine's, naming the resource, item, file, table and what to do."""

    def __init__(
        self,
        pipeline_name: str,
        step: str,
        msg: str,
        load_id: Optional[str] = None,
        exception: Optional[BaseException] = None,
        step_info: Any = None,
    ) -> None:
        self.step = step
        self.load_id = load_id
        self.exception = exception
        self.step_info = step_info
        super().__init__(pipeline_name, f"Pipeline execution failed at stage {step}: {msg}")


class CannotRestorePipelineException(PipelineException):
    """`attach` found no pipeline of that name."""


class PipelineNotActive(PipelineException):
    """`dltrs.current.pipeline()` outside of a pipeline."""


class ResourceNameMissing(DltException):
    """A resource made from data, not from a function, needs a name."""


class DestinationUndefinedEntity(DltException):
    """A dataset or table that is not in the destination."""


class SqlClientNotAvailable(DltException):
    """The destination cannot be queried."""
