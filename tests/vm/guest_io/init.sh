#!/bin/sh
# Runs in the guest as root (oomphony-vm.service) at every boot: common set-up, then each
# job in /io/jobs ("<scenario> <timeout_s>"), its output in /io/out/<scenario>/.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /io/lib.sh
chmod 1777 /io/out
# A small swap file: the swap act needs some (the image's disk is a throw-away overlay).
fallocate -l 256M /swapfile && chmod 600 /swapfile && mkswap /swapfile >/dev/null &&
    swapon /swapfile
wait_user_manager 60
{
    uname -r
    cat /proc/swaps
    echo "controllers(user@1000): $(cat /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers 2>&1)"
    echo "dmesg_restrict=$(cat /proc/sys/kernel/dmesg_restrict)"
} >/io/out/guest-info.txt 2>&1
while read -r name timeout; do
    out=/io/out/$name
    mkdir -p "$out" && chmod 1777 "$out"
    say "scenario $name"
    t0=$(date +%s)
    timeout -k 10 "$timeout" sh /io/scenarios/"$name".sh "$out" >"$out/stdout" 2>"$out/stderr"
    echo $? >"$out/rc"
    say "scenario $name rc=$(cat "$out/rc") in $(($(date +%s) - t0)) s"
done </io/jobs
swapoff /swapfile
