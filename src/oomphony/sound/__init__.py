"""The show's sound: a noise instrument whose voice follows the memory state.

- `map_frame` (mapping.py): MemoryFrame + Cues → SoundParams, pure, presets by name;
- `render` / `render_into` (synth.py, voices.py, iir.py): SoundParams → stereo 48 kHz blocks;
- `AudioOutput` (output.py): what the show uses — an audio process that owns the
  device stream (process.py, engine.py, shm.py) and/or a WAV sink (sinks.py).

The names below are loaded on first use: the audio process (`python -m
oomphony.sound.process`) imports this package too, and must load only what its callback
needs (numpy, PortAudio, the synth), not the mapping, the story or the WAV sink.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "MappingState": "mapping",
    "map_frame": "mapping",
    "AudioOutput": "output",
    "BLOCK_FRAMES": "params",
    "SAMPLE_RATE_HZ": "params",
    "SoundParams": "params",
    "PRESETS": "presets",
    "SynthState": "state",
    "new_state": "synth",
    "render": "synth",
    "render_into": "synth",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
