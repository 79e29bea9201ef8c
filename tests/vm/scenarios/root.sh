# Root on cgroup v2: the same show through the path root takes (a child cgroup of its own).
OUT=$1
. /io/lib.sh
as_root() { sh -c "cd /tmp && $*"; }
oomphony doctor >"$OUT/doctor.txt" 2>&1
echo $? >"$OUT/doctor.rc"
dmesg | wc -l >"$OUT/dmesg-before"
as_root "oomphony record $OUT/trace.jsonl --memory 160MiB --swap 64MiB --cache 32MiB --rate 20MiB/s" \
    >"$OUT/record.out" 2>"$OUT/record.err"
echo $? >"$OUT/record.rc"
sleep 3
leftovers >"$OUT/leftovers.txt"
dmesg | tail -n +"$(($(cat "$OUT/dmesg-before") + 1))" >"$OUT/dmesg.txt"
for at in start cage swap; do
    kill_at root as_root "$at" "$OUT/leftovers-kill$at.txt"
done
