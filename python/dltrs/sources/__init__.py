"""`dltrs.sources`: the incremental cursor (`dltrs.sources.incremental`) and the engine's own
sources: `rest_api`, `filesystem`, `sql_database`."""

from ..incremental import Incremental, incremental
from . import filesystem, rest_api, sql_database

__all__ = ["incremental", "Incremental", "rest_api", "filesystem", "sql_database"]
