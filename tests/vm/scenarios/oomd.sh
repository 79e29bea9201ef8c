# systemd-oomd active and acting first: swap-based kills for the user's units
# (ManagedOOMSwap=kill on user@.service, as Fedora does for -.slice) with a low
# SwapUsedLimit, so oomd kills the scope before the kernel's OOM killer would.
OUT=$1
. /io/lib.sh
mkdir -p /etc/systemd/system/user@.service.d /etc/systemd/oomd.conf.d
printf '[Service]\nManagedOOMSwap=kill\n' >/etc/systemd/system/user@.service.d/oomd-vm.conf
printf '[OOM]\nSwapUsedLimit=8%%\n' >/etc/systemd/oomd.conf.d/oomd-vm.conf
systemctl daemon-reload
systemctl restart systemd-oomd
sleep 3
oomctl >"$OUT/oomctl.txt" 2>&1
since=$(date '+%Y-%m-%d %H:%M:%S')
dmesg | wc -l >"$OUT/dmesg-before"
as_show "oomphony record $OUT/trace.jsonl --memory 160MiB --swap 64MiB --cache 32MiB --rate 8MiB/s" \
    >"$OUT/record.out" 2>"$OUT/record.err"
echo $? >"$OUT/record.rc"
sleep 2
journalctl -u systemd-oomd --since "$since" --no-pager -o cat >"$OUT/oomd.log" 2>&1
dmesg | tail -n +"$(($(cat "$OUT/dmesg-before") + 1))" | grep 'Killed process' >"$OUT/kernel-kills.txt"
leftovers >"$OUT/leftovers.txt"
rm -f /etc/systemd/system/user@.service.d/oomd-vm.conf /etc/systemd/oomd.conf.d/oomd-vm.conf
systemctl daemon-reload
systemctl restart systemd-oomd
