"""A benchmark's helper in a process of its own (a sandbox, an SMTP server), so that serving does not
compete with the code under test for one interpreter lock.

The helper writes each answer as one JSON line behind a mark on stdout (`say`), the first one
saying where it serves, and reads one command per line on stdin until EOF. Other output it
prints is passed through.
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.flow_profile import REPO


def say(mark: str, value) -> None:
    sys.stdout.write(mark + json.dumps(value) + "\n")
    sys.stdout.flush()


class HelperProcess:
    def __init__(self, arguments: list[str], mark: str, what: str) -> None:
        self.mark, self.what = mark, what
        self.process = subprocess.Popen([sys.executable, *arguments], cwd=REPO, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.hello = self._read()

    def ask(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self):
        for line in self.process.stdout:
            if line.startswith(self.mark):
                return json.loads(line[len(self.mark):])
            sys.stdout.write(line)
        raise RuntimeError(f"{self.what}'s process ended (exit code {self.process.wait()})")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
