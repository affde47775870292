"""`rest_api_source(config)`: dlt's declarative REST API source, run by the engine (paginators,
auth, retries, rate limits, parent-child resources), with dlt's configuration keys."""

from typing import Any, Dict, Optional

from ..extract import NativeSource


def _paths_off(value: Any) -> Any:
    """dlt turns a paginator's `total_path` or `has_more_path` off with None; the engine's
    configuration, from TOML, which has no null, with an empty path."""
    if isinstance(value, dict):
        return {k: ("" if v is None and k.endswith("_path") else _paths_off(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_paths_off(v) for v in value]
    return value


def rest_api_source(config: Dict[str, Any], name: Optional[str] = None) -> NativeSource:
    """The resources of a `RESTAPIConfig` dict: `client` (base_url, headers, auth,
    paginator), `resource_defaults`, `resources`."""
    return NativeSource("rest_api", name or "rest_api", _paths_off(dict(config)))


rest_api_resources = rest_api_source
