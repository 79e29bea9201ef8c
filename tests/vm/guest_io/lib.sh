# Helpers for the scenarios (sourced; run as root in the guest).
say() { echo "oomphony-vm: $*" >/dev/ttyS0; }

# Wait (up to $1 s) for the lingering user session of `show` (uid 1000).
wait_user_manager() {
    i=0
    while [ "$i" -lt "$1" ]; do
        [ -S /run/user/1000/bus ] && systemctl is-active -q user@1000.service && return 0
        sleep 1
        i=$((i + 1))
    done
    say "user@1000.service not up after $1 s"
    return 1
}

# Run a command line as `show` through a login (PAM: pam_systemd, XDG_RUNTIME_DIR).
as_show() { runuser -l show -c "cd /tmp && $*"; }

# Run a command as `nosession` (uid 1001): no login, no user manager, no delegation.
as_nosession() {
    setpriv --reuid=1001 --regid=1001 --init-groups \
        env -i HOME=/home/nosession PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"
}

# What a show left behind: cgroups named oomphony-*, and oomphony processes.
leftovers() {
    find /sys/fs/cgroup -name 'oomphony-[0-9]*' 2>/dev/null
    pgrep -a -f -- '-m oomphony' 2>/dev/null
    pgrep -a -f -- 'oomphony-keep' 2>/dev/null
    true
}

# The pid of the oldest `oomphony <cmd>` process of user $1.
show_pid() { pgrep -u "$1" -o -f -- "-m oomphony $2"; }

# The cage of a running show, if any.
cage_dir() { find /sys/fs/cgroup -name 'oomphony-[0-9]*' -type d 2>/dev/null | head -n 1; }

# SIGKILL `oomphony record` (run by user $1 through $2) at moment $3 — `start` (1 s in,
# before the cage), `cage` (the cage exists), `swap` (the cage has swapped) — and list
# what is left 6 s later in $4.
kill_at() {
    user=$1 runner=$2 at=$3 out=$4
    $runner "exec oomphony record /tmp/k-$user-$at.jsonl --memory 160MiB --swap 64MiB --cache 32MiB --rate 20MiB/s" \
        >"$out.log" 2>&1 &
    i=0
    while [ "$i" -lt 600 ]; do
        sleep 0.2
        i=$((i + 1))
        c=$(cage_dir)
        case $at in
        start) [ "$i" -ge 5 ] && break ;;
        cage) [ -n "$c" ] && break ;;
        swap) [ -n "$c" ] && [ "$(cat "$c/memory.swap.current" 2>/dev/null || echo 0)" -gt 0 ] && break ;;
        esac
    done
    pid=$(show_pid "$user" record)
    echo "moment $at after $i polls: killing show pid $pid; cage ${c:-none}" >>"$out.log"
    [ -n "$pid" ] && kill -9 "$pid"
    wait
    sleep 6
    leftovers >"$out"
}
