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
