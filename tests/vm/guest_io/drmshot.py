"""Read what the guest's display shows: the framebuffer its CRTC scans out, as a PPM.

Runs as root in the guest (GETFB hands out the buffer's handle only to root or the DRM
master). It asks libdrm for the first active CRTC's framebuffer, maps it as a dumb
buffer and converts XRGB8888 to RGB. This is the picture the display hardware is sent,
read back from video memory: not a photograph of a monitor, but not a re-render either.

    python drmshot.py OUT.ppm [/dev/dri/card0]
"""

from __future__ import annotations

import ctypes
import fcntl
import mmap
import os
import struct
import sys

import numpy as np

DRM_IOCTL_MODE_MAP_DUMB = 0xC01064B3  # _IOWR('d', 0xB3, struct drm_mode_map_dumb)
DRM_IOCTL_GEM_CLOSE = 0x40086409  # _IOW('d', 0x09, struct drm_gem_close)


class ModeRes(ctypes.Structure):
    _fields_ = [
        ("count_fbs", ctypes.c_int), ("fbs", ctypes.POINTER(ctypes.c_uint32)),
        ("count_crtcs", ctypes.c_int), ("crtcs", ctypes.POINTER(ctypes.c_uint32)),
        ("count_connectors", ctypes.c_int), ("connectors", ctypes.POINTER(ctypes.c_uint32)),
        ("count_encoders", ctypes.c_int), ("encoders", ctypes.POINTER(ctypes.c_uint32)),
        ("min_width", ctypes.c_uint32), ("max_width", ctypes.c_uint32),
        ("min_height", ctypes.c_uint32), ("max_height", ctypes.c_uint32),
    ]  # fmt: skip


class ModeCrtc(ctypes.Structure):
    # Only the head of drmModeCrtc: the mode and gamma_size follow, not needed here.
    _fields_ = [
        ("crtc_id", ctypes.c_uint32), ("buffer_id", ctypes.c_uint32),
        ("x", ctypes.c_uint32), ("y", ctypes.c_uint32),
        ("width", ctypes.c_uint32), ("height", ctypes.c_uint32),
        ("mode_valid", ctypes.c_int),
    ]  # fmt: skip


class ModeFB(ctypes.Structure):
    _fields_ = [
        ("fb_id", ctypes.c_uint32), ("width", ctypes.c_uint32), ("height", ctypes.c_uint32),
        ("pitch", ctypes.c_uint32), ("bpp", ctypes.c_uint32), ("depth", ctypes.c_uint32),
        ("handle", ctypes.c_uint32),
    ]  # fmt: skip


def grab(card: str) -> np.ndarray:
    drm = ctypes.CDLL("libdrm.so.2", use_errno=True)
    drm.drmModeGetResources.restype = ctypes.POINTER(ModeRes)
    drm.drmModeGetCrtc.restype = ctypes.POINTER(ModeCrtc)
    drm.drmModeGetFB.restype = ctypes.POINTER(ModeFB)
    fd = os.open(card, os.O_RDWR | os.O_CLOEXEC)
    try:
        res = drm.drmModeGetResources(fd)
        if not res:
            raise OSError(ctypes.get_errno(), "drmModeGetResources")
        fb_id = 0
        for i in range(res.contents.count_crtcs):
            crtc = drm.drmModeGetCrtc(fd, res.contents.crtcs[i])
            if crtc and crtc.contents.buffer_id:
                fb_id = crtc.contents.buffer_id
                break
        if not fb_id:
            raise RuntimeError("no active CRTC")
        fb = drm.drmModeGetFB(fd, fb_id)
        if not fb or not fb.contents.handle:
            raise OSError(ctypes.get_errno(), "drmModeGetFB (needs root)")
        w, h, pitch, bpp = fb.contents.width, fb.contents.height, fb.contents.pitch, fb.contents.bpp
        if bpp != 32:
            raise RuntimeError(f"{bpp} bits per pixel: only XRGB8888 is read")
        req = bytearray(struct.pack("IIQ", fb.contents.handle, 0, 0))
        fcntl.ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, req)
        offset = struct.unpack("IIQ", req)[2]
        with mmap.mmap(fd, pitch * h, mmap.MAP_SHARED, mmap.PROT_READ, offset=offset) as m:
            raw = np.frombuffer(m, dtype=np.uint8).reshape(h, pitch)[:, : w * 4].copy()
        fcntl.ioctl(fd, DRM_IOCTL_GEM_CLOSE, struct.pack("II", fb.contents.handle, 0))
    finally:
        os.close(fd)
    px = raw.reshape(h, w, 4)
    return px[:, :, 2::-1].copy()  # B, G, R, X in memory → R, G, B


def main(argv: list[str]) -> int:
    rgb = grab(argv[1] if len(argv) > 1 else "/dev/dri/card0")
    h, w, _ = rgb.shape
    with open(argv[0], "wb") as f:
        f.write(f"P6\n{w} {h}\n255\n".encode() + rgb.tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
