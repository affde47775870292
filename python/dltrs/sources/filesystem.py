"""`filesystem(...)`: files as a resource, read by the engine (JSON Lines, JSON arrays, CSV,
Parquet; local paths and globs, http(s) URLs, gzip). dlt's readers pipe in:
`filesystem(bucket_url, file_glob="*.jsonl") | read_jsonl()`."""

import os
from typing import Any, Dict, Optional

from ..extract import NativeSource, hint_config


class _Reader:
    def __init__(self, format: str, **options: Any) -> None:
        self.format = format
        self.options = {k: v for k, v in options.items() if v is not None}


def read_jsonl(**_: Any) -> _Reader:
    return _Reader("jsonl")


def read_json(**_: Any) -> _Reader:
    return _Reader("json")


def read_csv(delimiter: Optional[str] = None, quotechar: Optional[str] = None, **_: Any) -> _Reader:
    return _Reader("csv", delimiter=delimiter, quote_char=quotechar)


def read_parquet(**_: Any) -> _Reader:
    return _Reader("parquet")


class FilesystemSource(NativeSource):
    def __or__(self, reader: _Reader) -> "FilesystemSource":
        resource = dict(self.config["resources"][0])
        resource["format"] = reader.format
        resource.update(reader.options)
        return FilesystemSource(self.type_name, self.name, {"resources": [resource]})

    def with_name(self, name: str) -> "FilesystemSource":
        resource = dict(self.config["resources"][0], name=name)
        return FilesystemSource(self.type_name, self.name, {"resources": [resource]})

    def apply_hints(self, **hints: Any) -> "FilesystemSource":
        resource = dict(self.config["resources"][0], **hint_config(**hints))
        return FilesystemSource(self.type_name, self.name, {"resources": [resource]})


def filesystem(
    bucket_url: str,
    file_glob: Optional[str] = "*",
    name: str = "filesystem",
    format: Optional[str] = None,
    file_name_column: Optional[str] = None,
    **_: Any,
) -> FilesystemSource:
    """The files under `bucket_url` matching `file_glob` (or the URL itself) as one resource."""
    resource: Dict[str, Any] = {"name": name}
    if bucket_url.startswith(("http://", "https://")):
        resource["url"] = bucket_url
    else:
        base = bucket_url[len("file://"):] if bucket_url.startswith("file://") else bucket_url
        resource["path"] = os.path.join(base, file_glob) if file_glob else base
    if format:
        resource["format"] = format
    if file_name_column:
        resource["file_name_column"] = file_name_column
    return FilesystemSource("filesystem", name, {"resources": [resource]})
