"""The benchmarks' per-process CPU meter: children are found at any depth and named by what they are."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.cpu_split import SANDBOX, CpuMeter, postgres_kind

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

# Burns about 0.6 s of CPU; "sandbox" in its arguments makes it count as the marketplaces' side.
BURN = "import sys, time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n# sandbox"


def test_a_child_and_a_grandchild_are_counted_under_their_kind():
    # The child starts a grandchild (as the process pool's workers are) and both burn CPU.
    parent = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BURN!r}])\n" + BURN
    with CpuMeter(interval=0.05) as meter:
        subprocess.run([sys.executable, "-c", parent], check=True)
    split = meter.split()
    # Two processes of 0.6 s each; the sampler may miss the last 0.05 s of each.
    assert 1.0 <= split[SANDBOX] <= 2.0, split
    assert "flow process" in split


def test_a_process_counts_only_the_cpu_it_used_while_the_meter_ran():
    # It burns 0.6 s, says so, then sleeps: all of its CPU came before the meter started.
    busy_then_idle = BURN.replace("# sandbox", "print('ready', flush=True); time.sleep(30)  # other")
    earlier = subprocess.Popen([sys.executable, "-c", busy_then_idle], stdout=subprocess.PIPE, text=True)
    try:
        assert earlier.stdout.readline().strip() == "ready"
        with CpuMeter(interval=0.05) as meter:
            subprocess.run([sys.executable, "-c", BURN], check=True)
        split = meter.split()
        assert split.get("other children", 0.0) < 0.2, split
        assert split[SANDBOX] >= 0.5, split
    finally:
        earlier.kill()
        earlier.wait()


def test_postgres_backends_are_told_apart_from_its_upkeep():
    # The titles PostgreSQL 15 gives its processes (ps / /proc/<pid>/cmdline).
    assert postgres_kind("postgres: 15/main: postgres shopops_bench 127.0.0.1(52314) COPY") == "PostgreSQL queries"
    assert postgres_kind("postgres: 15/main: parallel worker for PID 4242") == "PostgreSQL queries"
    for upkeep in ("postgres: 15/main: checkpointer", "postgres: 15/main: walwriter",
                   "postgres: 15/main: autovacuum worker shopops_bench", "postgres: 15/main: background writer",
                   "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main"):
        assert postgres_kind(upkeep).startswith("PostgreSQL upkeep"), upkeep
