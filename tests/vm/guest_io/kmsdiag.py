"""Diagnose SDL's KMSDRM output: fill the screen with a known picture and keep flipping."""

import os
import sys
import time

import pygame

pygame.display.init()
surf = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
print("driver", pygame.display.get_driver(), surf.get_size(), os.environ.get("ENVTAG"), flush=True)
t0 = time.monotonic()
n = 0
while time.monotonic() - t0 < float(sys.argv[1]):
    surf.fill((200, 30, 30))
    pygame.draw.rect(surf, (30, 200, 30), (100, 100, 400, 300))
    pygame.display.flip()
    n += 1
print("flips", n, flush=True)
