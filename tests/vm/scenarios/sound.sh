# The live speedrun with sound, as `show`, through a JACK dummy server in the guest
# (real-time paced, counts underflows; no sound card needed).
OUT=$1
. /io/lib.sh
# What the audio process's start costs here (numpy, scipy, PortAudio under emulation).
t0=$(date +%s%N)
as_show "/opt/oomphony/venv/bin/python -c 'import numpy, scipy.signal, sounddevice'" >/dev/null 2>&1
echo "audio imports: $((($(date +%s%N) - t0) / 1000000)) ms" >"$OUT/imports.txt"
# What one block of the synth costs here (the callback renders it): can this CPU keep
# real time at all? Compare with the same script on the host.
as_show "/opt/oomphony/venv/bin/python /io/dspcost.py 60" >"$OUT/dspcost.txt" 2>&1
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
