# The bare console: `show` (group video) runs the speedrun live through SDL's KMSDRM on
# the guest's display (bochs-drm, qemu -vga std). At the cache, swap and kill acts the
# screen is captured twice: first by qemu's own `screendump` (the host's runner serves
# the request: what a monitor on the VM would show), then from inside the guest, the
# framebuffer the CRTC scans out read back from video memory (drmshot.py, as root).
# Under software emulation a frame takes ~1 s (Mesa's llvmpipe presents each one), so
# each capture waits a little after the act's first trace line.
OUT=$1
. /io/lib.sh
PY=/opt/oomphony/venv/bin/python
ls -l /dev/dri >"$OUT/dri.txt" 2>&1
as_show "PYTHONFAULTHANDLER=1 oomphony -v run speedrun --display console --no-audio --record $OUT/trace.jsonl" \
    >"$OUT/show.out" 2>"$OUT/show.err" &
show=$!
# capture LABEL PATTERN DELAY_S: once PATTERN is in the trace, wait DELAY_S, then capture.
capture() {
    i=0
    until grep -q "$2" "$OUT/trace.jsonl" 2>/dev/null; do
        kill -0 "$show" 2>/dev/null || return 1 # the show ended (or crashed)
        sleep 0.2
        i=$((i + 1))
        [ "$i" -gt 1500 ] && return 1
    done
    sleep "$3"
    touch "$OUT/screendump-$1.request"
    i=0
    until [ -e "$OUT/screendump-$1.done" ] || [ "$i" -gt 150 ]; do sleep 0.2; i=$((i + 1)); done
    echo "$1: $(date +%s.%N)" >>"$OUT/drmshot.log"
    $PY /io/drmshot.py "$OUT/console-$1.ppm" >>"$OUT/drmshot.log" 2>&1
}
capture cache '"kind":"cache"' 1.5 &&
    capture swap '"kind":"swap","recognised":true' 2 &&
    capture kill '"event":"oom_kill"' 1.5
wait "$show"
echo $? >"$OUT/show.rc"
sleep 2
leftovers >"$OUT/leftovers.txt"
