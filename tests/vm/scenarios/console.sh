# The bare console: `show` (group video) runs the speedrun live through SDL's KMSDRM on
# the guest's display (bochs-drm, qemu -vga std). At the cache, swap and kill acts the
# screen is captured twice: the framebuffer the CRTC scans out, read back from video
# memory in the guest (drmshot.py, as root), and qemu's own `screendump` (the host's
# runner serves the request).
OUT=$1
. /io/lib.sh
PY=/opt/oomphony/venv/bin/python
ls -l /dev/dri >"$OUT/dri.txt" 2>&1
as_show "PYTHONFAULTHANDLER=1 SDL_VIDEODRIVER=kmsdrm oomphony -v run speedrun --display console --no-audio --record $OUT/trace.jsonl" \
    >"$OUT/show.out" 2>"$OUT/show.err" &
show=$!
for kind in cache swap kill; do
    i=0
    until grep -q "\"kind\":\"$kind\"" "$OUT/trace.jsonl" 2>/dev/null; do
        kill -0 "$show" 2>/dev/null || break 2  # the show ended (or crashed)
        sleep 0.5
        i=$((i + 1))
        [ "$i" -gt 600 ] && break
    done
    sleep 2  # the act's first frames reach the screen (software rendering, emulated)
    $PY /io/drmshot.py "$OUT/console-$kind.ppm" >>"$OUT/drmshot.log" 2>&1
    touch "$OUT/screendump-$kind.request"
done
wait "$show"
echo $? >"$OUT/show.rc"
sleep 2
leftovers >"$OUT/leftovers.txt"
