"""The per-site storage service (DSS): server, client, backends, audit and transfer decisions."""

from dss.backend import FileStat, StorageBackend
from dss.checksums import Checksums
from dss.client import StorageClient
from dss.config import DssConfig

__all__ = ["Checksums", "DssConfig", "FileStat", "StorageBackend", "StorageClient"]
