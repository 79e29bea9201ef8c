"""In the guest, beside a --global show: a heartbeat and a responsiveness probe.

Every 0.1 s it appends the wall clock (ms) to HEARTBEAT: a stalled guest (or a stalled
unprotected process: this one is not locked, like any program) leaves a gap. It polls
/proc/vmstat's oom_kill every 50 ms; when it rises, it times a shell command
(`sh -c true`, a fork and an exec) and writes `seen_ms=… answer_ms=…` to PROBE.

    python3 heartbeat.py HEARTBEAT PROBE
"""

import subprocess
import sys
import time


def oom_kills() -> int:
    with open("/proc/vmstat") as f:
        for line in f:
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    return 0


def main(heartbeat: str, probe: str) -> None:
    start = oom_kills()
    probed = False
    next_beat = 0.0
    with open(heartbeat, "a") as beat:
        while True:
            now = time.monotonic()
            if now >= next_beat:
                beat.write(f"{int(time.time() * 1000)}\n")
                beat.flush()
                next_beat = now + 0.1
            if not probed and oom_kills() != start:
                seen = time.time()
                subprocess.run(["sh", "-c", "true"], check=False)
                answer_ms = (time.time() - seen) * 1000.0
                with open(probe, "w") as f:
                    f.write(f"seen_ms={int(seen * 1000)} answer_ms={answer_ms:.0f}\n")
                probed = True
            time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
