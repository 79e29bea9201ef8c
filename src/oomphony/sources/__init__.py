"""The show's sources of frames: the `Source` protocol (`base`), live (with its kill
watcher and kernel clock), sim (with its model) and replay. Nothing is imported here.
"""
