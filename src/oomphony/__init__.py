"""oomphony: a live audiovisual performance of the Linux memory manager."""

__version__ = "0.1.0"
