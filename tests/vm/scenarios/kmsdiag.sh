# Which SDL settings put pixels in the scanout buffer (bochs-drm, no Mesa driver)? Each
# variant flips a known picture (SDL's log on), then the screen is captured in the guest
# (drmshot.py) and by qemu (screendump), and the DRM state is dumped from debugfs.
# Measured: SDL's default picks its `opengl` renderer on the GLES library (no libGL.so.1
# here) and scans out black buffers at ~180 flips/s; with `opengles2` (what
# --display console asks for) the picture shows, at ~1.4 flips/s under emulation.
# Not in test_vm.py's list: run it by hand (python tests/vm/vm_boot.py OUT kmsdiag:300).
OUT=$1
. /io/lib.sh
PY=/opt/oomphony/venv/bin/python
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
i=0
for env in "ENVTAG=sdl_default" "ENVTAG=opengles2 SDL_FRAMEBUFFER_ACCELERATION=opengles2"; do
    i=$((i + 1))
    rm -f /tmp/ready
    as_show "env $env SDL_LOGGING='*=verbose' SDL_VIDEODRIVER=kmsdrm $PY /io/kmsdiag.py 60 /tmp/ready" \
        >"$OUT/diag-$i.log" 2>&1 &
    j=0
    until [ -e /tmp/ready ] || [ "$j" -gt 240 ]; do sleep 0.5; j=$((j + 1)); done
    sleep 2
    cat /sys/kernel/debug/dri/0/state >"$OUT/state-$i.txt" 2>&1
    cat /sys/kernel/debug/dri/0/framebuffer >"$OUT/fb-$i.txt" 2>&1
    $PY /io/drmshot.py "$OUT/diag-$i.ppm" >>"$OUT/diag-$i.log" 2>&1
    touch "$OUT/screendump-diag$i.request"
    j=0
    until [ -e "$OUT/screendump-diag$i.done" ] || [ "$j" -gt 60 ]; do sleep 0.5; j=$((j + 1)); done
    pkill -INT -u show -f kmsdiag.py
    wait
done
