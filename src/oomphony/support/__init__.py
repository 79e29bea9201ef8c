"""Not used by the show: helpers for tests, benchmarks, the sim's calibration.

`demo` (synthetic frames for the picture), `analysis` (sound analysis), `jackdummy` (a
JACK dummy server), `calibrate` (`python -m oomphony.support.calibrate`).
"""
