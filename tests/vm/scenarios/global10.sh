# tests/vm/scenarios/global.sh ten times in a row (perf/bench_global.py's figure).
GLOBAL_RUNS=10 exec sh /io/scenarios/global.sh "$1"
