# The machine-wide show (--global --yes) as root, RUNS times in a row in one boot, beside
# a 384 MiB bystander process and a JACK dummy server (swap: see below). Per run: the trace,
# the kernel's log, a heartbeat and a probe that times a shell command as soon as
# /proc/vmstat's oom_kill rises (/io/heartbeat.py).
# perf/bench_global.py and tests/test_vm.py read the results.
OUT=$1
RUNS=${GLOBAL_RUNS:-2}
. /io/lib.sh
PY=/opt/oomphony/venv/bin/python
# Nothing of the show on the shared folder while memory runs out: its code is copied to
# the guest's own disk (PYTHONPATH comes before the venv's .pth to /io/src), and each run
# writes to /var/tmp, copied to $OUT afterwards. (A 9p request under memory pressure can
# block every writer: measured, the guest sat idle, both vCPUs halted, for minutes.)
rm -rf /var/tmp/oomphony-src && cp -r /io/src /var/tmp/oomphony-src
export PYTHONPATH=/var/tmp/oomphony-src
cp /io/scenarios/global.toml /io/heartbeat.py /var/tmp/
# A small swap (SWAP_MIB, 32 by default; 0: none): the swap act comes and goes quickly.
swapoff /swapfile 2>/dev/null
if [ "${SWAP_MIB:-32}" -gt 0 ]; then
    fallocate -l "${SWAP_MIB:-32}M" /var/tmp/swap-global && chmod 600 /var/tmp/swap-global &&
        mkswap /var/tmp/swap-global >/dev/null && swapon /var/tmp/swap-global
fi
# The kernel's own relief valve against thrashing (multi-gen LRU, Debian's 6.1 has it
# built in, off): a working set of the last second that cannot stay in memory calls the
# OOM killer, instead of minutes of reclaiming and re-reading file pages under emulation.
if [ -w /sys/kernel/mm/lru_gen/enabled ]; then
    echo y >/sys/kernel/mm/lru_gen/enabled
    echo "${MIN_TTL_MS:-1000}" >/sys/kernel/mm/lru_gen/min_ttl_ms
fi
# systemd-oomd (in the image for the oomd scenario) kills whole cgroups on swap use or
# pressure, before the kernel would: the show is about the kernel's OOM killer, so oomd
# is stopped for this scenario.
systemctl stop systemd-oomd.service systemd-oomd.socket 2>/dev/null
echo "systemd-oomd: $(systemctl is-active systemd-oomd.service)" >"$OUT/oomd.txt"
# For a post-mortem when the guest stops: the harness may send SysRq keys (qemu's
# monitor: sendkey alt-sysrq-w shows the blocked tasks on the serial console).
sysctl -q kernel.sysrq=1
{
    echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
    cat /proc/swaps
    grep -E 'MemTotal|MemAvailable' /proc/meminfo
    nproc
    echo "lru_gen: $(cat /sys/kernel/mm/lru_gen/enabled 2>&1) min_ttl_ms=$(cat /sys/kernel/mm/lru_gen/min_ttl_ms 2>&1)"
} >"$OUT/machine.txt"
export JACK_DEFAULT_SERVER=oomvm JACK_NO_START_SERVER=1 JACK_NO_AUDIO_RESERVATION=1
jackd -R -n oomvm -d dummy -r 48000 -p 512 >"$OUT/jackd.log" 2>&1 &
jack=$!
jack_wait -s oomvm -w -t 60 >/dev/null
oomphony doctor >"$OUT/doctor.txt" 2>&1
# Where the show cannot protect itself (a normal user), --global is refused.
runuser -u show -- /usr/local/bin/oomphony record /tmp/refused.jsonl --global --yes \
    >"$OUT/refused.out" 2>"$OUT/refused.err"
echo $? >"$OUT/refused.rc"
# The bystander: 384 MiB touched, then asleep (oom_score_adj 0, like any program). It
# takes much of the guest's memory, so the allocator (~2–10 MiB/s under emulation on a
# shared host) reaches the kill within minutes; its cold pages are the swap act's too.
$PY -c "import time; b = bytearray(384 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(1e6)" &
bystander=$!
i=1
while [ "$i" -le "$RUNS" ]; do
    d=/var/tmp/run$i
    rm -rf "$d" && mkdir -p "$d"
    say "global run $i of $RUNS"
    dmesg | wc -l >"$d/dmesg-before"
    python3 /var/tmp/heartbeat.py "$d/heartbeat" "$d/probe" &
    beat=$!
    # In its own scope with OOMPolicy=continue: this scenario runs in a systemd service,
    # whose default OOMPolicy=stop has systemd stop the whole unit (the show, the audio
    # process, this script) as soon as the kernel OOM-kills one of its processes: in the
    # first boots the guest then sat idle, nothing left to run, until the time limit.
    systemd-run --scope --quiet -p OOMPolicy=continue --unit="oomphony-global-$i" \
        /usr/local/bin/oomphony run /var/tmp/global.toml --global --yes --display none \
        --screenshots "$d/shots" --record "$d/trace.jsonl" >"$d/show.out" 2>"$d/show.err"
    echo $? >"$d/show.rc"
    kill "$beat" 2>/dev/null
    wait "$beat" 2>/dev/null
    dmesg | tail -n +"$(($(cat "$d/dmesg-before") + 1))" >"$d/dmesg.txt"
    if kill -0 "$bystander" 2>/dev/null; then echo alive; else echo gone; fi >"$d/bystander"
    if kill -0 "$jack" 2>/dev/null; then echo alive; else echo gone; fi >"$d/jackd"
    leftovers >"$d/leftovers.txt"
    cp -r "$d" "$OUT/run$i"
    i=$((i + 1))
done
kill "$bystander" "$jack" 2>/dev/null
wait
[ -f /var/tmp/swap-global ] && swapoff /var/tmp/swap-global && rm -f /var/tmp/swap-global
swapon /swapfile 2>/dev/null
true
