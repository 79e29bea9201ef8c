"""The show's sound: a noise instrument whose voice follows the memory state.

- `map_frame` (mapping.py): MemoryFrame + Cues → SoundParams, pure, presets by name;
- `render` / `render_into` (synth.py, voices.py): SoundParams → stereo 48 kHz blocks;
- `AudioOutput` (output.py): what the show uses — an audio process that owns the
  device stream (process.py, engine.py, shm.py) and/or a WAV sink (sinks.py).
"""

from oomphony.sound.mapping import MappingState, map_frame
from oomphony.sound.output import AudioOutput
from oomphony.sound.params import BLOCK_FRAMES, SAMPLE_RATE_HZ, SoundParams
from oomphony.sound.presets import PRESETS
from oomphony.sound.state import SynthState
from oomphony.sound.synth import new_state, render, render_into

__all__ = [
    "BLOCK_FRAMES",
    "PRESETS",
    "SAMPLE_RATE_HZ",
    "AudioOutput",
    "MappingState",
    "SoundParams",
    "SynthState",
    "map_frame",
    "new_state",
    "render",
    "render_into",
]
