# A user with no systemd user session and no delegated cgroup: the one-line message,
# and the auto backend falls back to the simulator with one notice.
OUT=$1
. /io/lib.sh
cd /tmp
as_nosession oomphony doctor >"$OUT/doctor.txt" 2>&1
echo $? >"$OUT/doctor.rc"
as_nosession oomphony record /tmp/nos.jsonl --memory 64MiB >"$OUT/record.out" 2>"$OUT/record.err"
echo $? >"$OUT/record.rc"
as_nosession oomphony run speedrun --display none --no-audio --record /tmp/nos-auto.jsonl \
    >"$OUT/auto.out" 2>"$OUT/auto.err"
echo $? >"$OUT/auto.rc"
head -c 4000 /tmp/nos-auto.jsonl >"$OUT/auto-head.jsonl"
leftovers >"$OUT/leftovers.txt"
