"""Traces: the JSON-lines format, writing and reading it, and `record`'s summary.
Nothing is imported here.
"""
