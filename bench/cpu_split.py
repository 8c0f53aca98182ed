"""Where a benchmark's CPU went, by process: the flow, its worker processes, the sandbox, the local
Prefect API server and PostgreSQL (its backends running our statements apart from its upkeep).

On this 2-core machine every process of a run shares two cores, so the flow's own CPU tells only
part of the story: the figure that bounds orders/s is the CPU of all of them per order. Linux only
(/proc); elsewhere `CpuMeter.split()` is empty and nothing is printed.

A sampler thread reads /proc twice a second; a process that appears during the run counts from
zero, and one that ends counts up to its last sample (at most half a second is missed).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC = Path("/proc")
SANDBOX = "sandbox (marketplaces)"


class CpuMeter:
    """`with CpuMeter() as meter: …` then `meter.split()` → {kind: CPU seconds} and `meter.print(n)`."""

    def __init__(self, interval: float = 0.5):
        self._interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-cpu-meter", daemon=True)

    def __enter__(self) -> "CpuMeter":
        if _PROC.is_dir():
            self._first = {pid: cpu for pid, (_, cpu) in self._processes().items()}
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            self._sample()

    def split(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for pid, (kind, cpu) in self._last.items():
            totals[kind] = totals.get(kind, 0.0) + cpu - self._first.get(pid, 0.0)
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def print(self, orders: int) -> None:
        split = self.split()
        if not split:
            return
        total = sum(split.values())
        print(f"  CPU of every process of the run: {total:.1f} s ({_per_order(total, orders)})")
        for kind, seconds in split.items():
            print(f"    {kind:<22} {seconds:7.1f} s  {100 * seconds / total:5.1f}%  ({_per_order(seconds, orders)})")
        ours = total - split.get(SANDBOX, 0.0)
        cores = os.cpu_count() or 1
        if ours > 0:
            print(f"  without the sandbox (the marketplaces' side): {_per_order(ours, orders)}, so at most "
                  f"{cores * orders / ours:,.0f} orders/s on this machine's {cores} cores")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _sample(self) -> None:
        for pid, (kind, cpu) in self._processes().items():
            # A process keeps the kind it was first seen as: a zombie's cmdline reads empty.
            self._last[pid] = (self._last[pid][0] if pid in self._last else kind, cpu)

    def _processes(self) -> dict[int, tuple[str, float]]:
        """{pid: (kind, CPU seconds)} of this process, its descendants and every PostgreSQL process."""
        table = {}
        for entry in _PROC.iterdir():
            if entry.name.isdigit():
                stat = _stat(entry)
                if stat is not None:
                    table[int(entry.name)] = stat
        ours, grew = {os.getpid()}, True
        while grew:  # descendants at any depth (the worker pool's processes are grandchildren)
            more = {pid for pid, (_, parent, _) in table.items() if parent in ours} - ours
            ours |= more
            grew = bool(more)
        found = {}
        for pid, (command, parent, cpu) in table.items():
            kind = _kind(pid, command) if pid in ours else (_postgres_kind(pid) if command == "postgres" else None)
            if kind is not None:
                found[pid] = (kind, cpu)
        return found


def _stat(entry: Path) -> tuple[str, int, float] | None:
    """(command, parent pid, user + system CPU seconds) from /proc/<pid>/stat."""
    try:
        text = (entry / "stat").read_text()
    except OSError:  # gone meanwhile
        return None
    command = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return command, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _kind(pid: int, command: str) -> str:
    if pid == os.getpid():
        return "flow process"
    arguments = _arguments(pid) or command
    if "sandbox" in arguments:
        return SANDBOX
    if "prefect.server" in arguments or "uvicorn" in arguments:
        return "Prefect API server"
    if "multiprocessing" in arguments:
        return "worker processes"
    return "other children"


# PostgreSQL's own processes, apart from the backends that run our statements (and their parallel
# workers): what a load costs later, in WAL writing, checkpoints and autovacuum.
_POSTGRES_UPKEEP = ("autovacuum", "checkpointer", "walwriter", "background writer", "launcher", "archiver")


def _postgres_kind(pid: int) -> str:
    return postgres_kind(_arguments(pid))


def postgres_kind(arguments: str) -> str:
    """"PostgreSQL queries" for a backend or parallel worker, else "PostgreSQL upkeep" (the server
    process itself, WAL, checkpoints, autovacuum)."""
    if not arguments.startswith("postgres:") or any(word in arguments for word in _POSTGRES_UPKEEP):
        return "PostgreSQL upkeep"
    return "PostgreSQL queries"


def _arguments(pid: int) -> str:
    """The process's command line ("" once it is gone, or for a zombie)."""
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _per_order(seconds: float, orders: int) -> str:
    return f"{1e6 * seconds / max(orders, 1):,.0f} µs per order"
