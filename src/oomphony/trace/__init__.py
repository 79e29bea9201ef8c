"""Traces: the JSON-lines format, writing and reading it, the story facts of a frame stream
(`story.py`) and `record`'s summary. Nothing is imported here.
"""
