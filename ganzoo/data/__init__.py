"""Data sources: built-in procedural sets, standard data sets, folders and arrays."""

from .base import DataInfo, DataOptions, DataSource

__all__ = ["DataInfo", "DataOptions", "DataSource"]
