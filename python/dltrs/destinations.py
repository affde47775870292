"""Destination factories with dlt's names: `dltrs.destinations.duckdb(path)`,
`dltrs.destinations.postgres(credentials)`, `dltrs.destinations.filesystem(bucket_url)`."""

from typing import Any, Dict, List, Optional, Union
from urllib.parse import quote, urlsplit


class Destination:
    """A destination as the engine names it (`spec`) and the secrets its spec holds."""

    def __init__(
        self,
        destination_name: str,
        spec: Optional[str],
        secrets: Optional[List[str]] = None,
        options: Optional[Dict[str, str]] = None,
    ) -> None:
        self.destination_name = destination_name
        self.spec = spec
        self.secrets = secrets or []
        # `destination.<name>.<key>` settings over the configuration layers
        self.options = options or {}

    def __repr__(self) -> str:
        return f"<dltrs destination {self.destination_name}>"


def duckdb(credentials: Any = None, **_: Any) -> Destination:
    """DuckDB: `credentials` is the database file (default `<pipeline_name>.duckdb` in the
    working directory)."""
    if credentials is None:
        return Destination("duckdb", "duckdb")
    if isinstance(credentials, dict):
        credentials = credentials.get("database")
    return Destination("duckdb", f"duckdb:{credentials}")


def postgres(credentials: Union[str, Dict[str, Any], None] = None, **_: Any) -> Destination:
    """PostgreSQL: a connection string (`postgresql://user:password@host:5432/db`) or dlt's
    fields (`database`, `username`, `password`, `host`, `port`); without them the
    configuration layers (`destination.postgres.credentials`) are read."""
    if credentials is None:
        return Destination("postgres", "postgres")
    if isinstance(credentials, dict):
        user = quote(str(credentials.get("username") or credentials.get("user") or ""), safe="")
        password = credentials.get("password")
        auth = user + (":" + quote(str(password), safe="") if password else "")
        host = credentials.get("host") or "localhost"
        port = credentials.get("port") or 5432
        database = credentials.get("database") or ""
        url = f"postgresql://{auth}@{host}:{port}/{database}"
        secrets = [str(password), quote(str(password), safe="")] if password else []
        return Destination("postgres", url, secrets)
    text = str(credentials)
    password = urlsplit(text).password
    return Destination("postgres", text, [password] if password else [])


def filesystem(
    bucket_url: Optional[str] = None,
    credentials: Optional[Dict[str, Any]] = None,
    layout: Optional[str] = None,
    loader_file_format: Optional[str] = None,
    disable_compression: Optional[bool] = None,
    table_format: Optional[str] = None,
    **_: Any,
) -> Destination:
    """Files in a folder or an S3 bucket, in dlt's layout: `bucket_url` is a path,
    `file:///path` or `s3://bucket/path` (else `destination.filesystem.bucket_url` from the
    configuration); `credentials` takes dlt's AWS fields (`aws_access_key_id`,
    `aws_secret_access_key`, `aws_session_token`, `region_name`, `endpoint_url`);
    `loader_file_format` is `jsonl` (the default), `parquet` or `csv`; `table_format="delta"`
    keeps every table as a Delta Lake table (which merges)."""
    options: Dict[str, str] = {}
    secrets: List[str] = []
    for key, value in (credentials or {}).items():
        if value is not None:
            options[f"credentials.{key}"] = str(value)
            if key in ("aws_secret_access_key", "aws_session_token"):
                secrets.append(str(value))
    if layout is not None:
        options["layout"] = layout
    if loader_file_format is not None:
        options["loader_file_format"] = loader_file_format
    if table_format is not None:
        options["table_format"] = table_format
    if disable_compression is not None:
        options["disable_compression"] = "true" if disable_compression else "false"
    spec = "filesystem" if bucket_url is None else f"filesystem:{bucket_url}"
    return Destination("filesystem", spec, secrets, options)


def resolve(destination: Union[str, Destination, None]) -> Destination:
    """A destination from what `pipeline(destination=...)` takes."""
    if destination is None:
        return Destination("duckdb", None)
    if isinstance(destination, Destination):
        return destination
    if isinstance(destination, str):
        if destination in ("duckdb", "dlt.destinations.duckdb"):
            return duckdb()
        if destination in ("postgres", "postgresql", "dlt.destinations.postgres"):
            return postgres()
        if destination.startswith(("postgres://", "postgresql://")):
            return postgres(destination)
        if destination in ("filesystem", "dlt.destinations.filesystem"):
            return filesystem()
        return Destination(destination.split(":")[0], destination)
    raise TypeError(f"destination must be a name or dltrs.destinations.<kind>(...), not {type(destination).__name__}")
