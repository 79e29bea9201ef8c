"""The show's sources of frames: the `Source` protocol (`base`), live (with its kill
watcher and kernel clock), sim (with its model) and replay, and the factory that makes a
started one for each show (`factory`). Nothing is imported here.
"""
