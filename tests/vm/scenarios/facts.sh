# Facts about the guest's cgroup v2 tree, for the fixture trees of the unit tests:
# a user's scope made through systemd-run (controllers, ownership, the files' texts).
OUT=$1
. /io/lib.sh
as_show "systemd-run --user --scope --unit=facts.scope -p MemoryMax=64M -p MemorySwapMax=16M sleep 30" \
    >/dev/null 2>&1 &
sleep 5
s=/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/facts.scope
{
    for d in / /user.slice /user.slice/user-1000.slice /user.slice/user-1000.slice/user@1000.service \
        /user.slice/user-1000.slice/user@1000.service/app.slice; do
        echo "## $d controllers=[$(cat /sys/fs/cgroup$d/cgroup.controllers)] subtree=[$(cat /sys/fs/cgroup$d/cgroup.subtree_control)] owner=$(stat -c %U /sys/fs/cgroup$d)"
    done
    echo "## session: $(runuser -l show -c 'cat /proc/self/cgroup')"
    echo "## scope owner: $(stat -c '%U %a' $s) procs: $(stat -c '%U %a' $s/cgroup.procs) kill: $(stat -c '%U %a' $s/cgroup.kill)"
    for f in cgroup.controllers memory.max memory.swap.max memory.current memory.swap.current memory.events memory.events.local memory.swap.events memory.pressure memory.stat; do
        echo "## $f"
        cat "$s/$f"
    done
} >"$OUT/facts.txt" 2>&1
kill %1 2>/dev/null
wait
