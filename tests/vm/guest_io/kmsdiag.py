"""Diagnose SDL's KMSDRM output: fill the screen with a known picture and keep flipping.

    python kmsdiag.py SECONDS READY_FILE

READY_FILE is created once the picture has been flipped for a while (the scenario then
captures the screen); the number of flips per second is printed at the end.
"""

import os
import sys
import time
from pathlib import Path

import pygame

pygame.display.init()
surf = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
print("driver", pygame.display.get_driver(), surf.get_size(), os.environ.get("ENVTAG"), flush=True)
t0 = time.monotonic()
n = 0
ready = False
while time.monotonic() - t0 < float(sys.argv[1]):
    surf.fill((200, 30, 30))
    pygame.draw.rect(surf, (30, 200, 30), (100, 100, 400, 300))
    pygame.display.flip()
    n += 1
    if not ready and n >= 20:
        Path(sys.argv[2]).touch()
        ready = True
dt = time.monotonic() - t0
print(f"flips {n} in {dt:.1f} s: {n / dt:.1f}/s", flush=True)
