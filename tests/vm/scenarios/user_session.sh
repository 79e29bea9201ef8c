# A normal user (`show`, uid 1000) with a lingering systemd user session, no sudo:
# doctor, a recorded live run in a cage made through the user's systemd, then SIGKILLs.
OUT=$1
. /io/lib.sh
cat /proc/sys/kernel/dmesg_restrict >"$OUT/dmesg_restrict"
as_show "oomphony doctor" >"$OUT/doctor.txt" 2>&1
echo $? >"$OUT/doctor.rc"
dmesg | wc -l >"$OUT/dmesg-before"
as_show "oomphony record $OUT/trace.jsonl --memory 160MiB --swap 64MiB --cache 32MiB --rate 20MiB/s" \
    >"$OUT/record.out" 2>"$OUT/record.err"
echo $? >"$OUT/record.rc"
sleep 3
leftovers >"$OUT/leftovers.txt"
dmesg | tail -n +"$(($(cat "$OUT/dmesg-before") + 1))" >"$OUT/dmesg.txt"
for at in start cage swap; do
    kill_at show as_show "$at" "$OUT/leftovers-kill$at.txt"
done
# A sleeper beside the allocator (the `rearrange` setlist's): it must join the scope,
# though the show (in a login session's scope) may not move it there itself.
# A slow fill: under emulation the sleeper's start and join take seconds; it must have
# filled before the allocator's kill ends the record.
as_show "oomphony record $OUT/sleeper.jsonl --memory 128MiB --swap 32MiB --sleeper 24MiB --rate 5MiB/s" \
    >"$OUT/sleeper.out" 2>"$OUT/sleeper.err" &
rec=$!
i=0
while [ "$i" -lt 300 ]; do # where the sleeper is once it has joined (or given up)
    spid=$(pgrep -u show -f -- '-m oomphony.allocator --sleeper' | head -n 1)
    if [ -n "$spid" ] && grep -q 'oomphony-' "/proc/$spid/cgroup" 2>/dev/null; then
        cat "/proc/$spid/cgroup" >"$OUT/sleeper-cgroup.txt"
        break
    fi
    sleep 0.2
    i=$((i + 1))
done
wait "$rec"
echo $? >"$OUT/sleeper.rc"
sleep 3
leftovers >"$OUT/leftovers-sleeper.txt"
