# Which SDL/Mesa settings put pixels in the scanout buffer (bochs-drm, no Mesa driver)?
OUT=$1
. /io/lib.sh
PY=/opt/oomphony/venv/bin/python
i=0
for env in "ENVTAG=plain" "ENVTAG=kms_swrast MESA_LOADER_DRIVER_OVERRIDE=kms_swrast" \
    "ENVTAG=gbm_sw GBM_ALWAYS_SOFTWARE=1" "ENVTAG=no_accel SDL_FRAMEBUFFER_ACCELERATION=0" \
    "ENVTAG=render_sw SDL_RENDER_DRIVER=software"; do
    i=$((i + 1))
    as_show "env $env SDL_VIDEODRIVER=kmsdrm $PY /io/kmsdiag.py 25" >"$OUT/diag-$i.log" 2>&1 &
    sleep 20
    $PY /io/drmshot.py "$OUT/diag-$i.ppm" >>"$OUT/diag-$i.log" 2>&1
    wait
done
