# The live speedrun with sound, as `show`, through a JACK dummy server in the guest
# (real-time paced, counts underflows; no sound card needed).
OUT=$1
. /io/lib.sh
as_show "export JACK_DEFAULT_SERVER=oomvm JACK_NO_START_SERVER=1 JACK_NO_AUDIO_RESERVATION=1
jackd --no-realtime -n oomvm -d dummy -r 48000 -p 512 >/tmp/jackd.log 2>&1 &
j=\$!
jack_wait -s oomvm -w -t 60 >/dev/null
oomphony run speedrun --display none --latency high --record $OUT/trace.jsonl
rc=\$?
kill \$j
wait \$j
exit \$rc" >"$OUT/show.out" 2>"$OUT/show.err"
echo $? >"$OUT/show.rc"
sleep 2
leftovers >"$OUT/leftovers.txt"
