"""Runs the fqdngate binary under test.

Writes the policy YAML to a file of its own (so rule_source "file:line" is predictable), starts
`fqdngate --config FILE --listen 127.0.0.1:0`, waits for the "listening on" line on stderr,
collects the JSON audit lines from stdout in a thread, and stops the process with SIGTERM,
asserting a clean, prompt exit.
"""

import itertools
import json
import os
import re
import resource
import signal
import subprocess
import threading
import time

from . import env

READY_RE = re.compile(r"^fqdngate: listening on 127\.0\.0\.1:(\d+)(?: |$)")
START_TIMEOUT = 20.0  # sanitizer builds start slowly
STOP_TIMEOUT = 10.0

_file_counter = itertools.count()


def line_of(text, needle):
    """1-based line number of the first line of text containing needle (for rule_source)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise ValueError(f"{needle!r} not in policy text")


def write_policy(text, stem):
    path = os.path.join(
        env.scratch_dir(), f"{stem}-{os.getpid()}-{next(_file_counter)}.yaml"
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class ProxyProcess:
    def __init__(self, policy_text=None, stem="policy", extra_args=(), extra_env=None,
                 max_open_files=None):
        """policy_text None runs with the embedded default policy (no --config); extra_env is
        added to the inherited environment."""
        self.policy_text = policy_text
        self.policy_path = write_policy(policy_text, stem) if policy_text is not None else None
        self.extra_args = list(extra_args)
        self.env = {**os.environ, **(extra_env or {})}
        self.max_open_files = max_open_files  # RLIMIT_NOFILE for the proxy, e.g. 64
        self.port = None
        self.proc = None
        self._cond = threading.Condition()
        self._audit = []
        self._bad_stdout = []
        self._stderr = []
        self._ready = threading.Event()
        self._readers = []

    # Lifecycle.

    def start(self):
        args = [env.binary()]
        if self.policy_path is not None:
            args += ["--config", self.policy_path]
        args += ["--listen", "127.0.0.1:0", *self.extra_args]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            env=self.env,
            preexec_fn=self._limit_files if self.max_open_files else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        for target in (self._read_stdout, self._read_stderr):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._readers.append(t)
        if not self._ready.wait(START_TIMEOUT) or self.port is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(
                "fqdngate did not print 'fqdngate: listening on 127.0.0.1:PORT'; stderr:\n"
                + self.stderr_text()
            )
        return self

    def _limit_files(self):
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.max_open_files, self.max_open_files))

    def cpu_seconds(self):
        """User + system CPU time the proxy has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def open_files(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self):
        """SIGTERM; returns the exit code after asserting it is 0 within STOP_TIMEOUT."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(
                f"fqdngate did not exit within {STOP_TIMEOUT}s of SIGTERM; stderr:\n"
                + self.stderr_text()
            )
        finally:
            for t in self._readers:
                t.join(timeout=STOP_TIMEOUT)
        if code != 0:
            raise AssertionError(
                f"fqdngate exited {code} after SIGTERM; stderr:\n" + self.stderr_text()
            )
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def proxy_url(self):
        return f"http://127.0.0.1:{self.port}"

    # Output.

    def stderr_text(self):
        with self._cond:
            return "".join(self._stderr)

    def audit_records(self):
        with self._cond:
            return list(self._audit)

    def non_json_stdout(self):
        with self._cond:
            return list(self._bad_stdout)

    def audit_mark(self):
        """A position; wait_for_audit(since=mark) only looks at records after it."""
        with self._cond:
            return len(self._audit)

    def wait_for_audit(self, predicate, timeout=10.0, since=0):
        """The first audit record (after `since`) for which predicate holds, else AssertionError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            for _ in range(100000):
                for record in self._audit[since:]:
                    if predicate(record):
                        return record
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            seen = "\n".join(json.dumps(r) for r in self._audit[since:])
        raise AssertionError(f"no matching audit record within {timeout}s; records:\n{seen}")

    def wait_for(self, timeout=10.0, since=0, **fields):
        """The first record whose fields equal all given values (e.g. event="close", host=...)."""
        return self.wait_for_audit(
            lambda r: all(r.get(k) == v for k, v in fields.items()), timeout=timeout, since=since
        )

    def matching(self, since=0, **fields):
        return [
            r for r in self.audit_records()[since:] if all(r.get(k) == v for k, v in fields.items())
        ]

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            with self._cond:
                try:
                    record = json.loads(line)
                except ValueError:
                    self._bad_stdout.append(line)
                else:
                    self._audit.append(record)
                self._cond.notify_all()

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self._cond:
                self._stderr.append(line)
            match = READY_RE.match(line)
            if match and self.port is None:
                self.port = int(match.group(1))
                self._ready.set()
        self._ready.set()  # EOF before the ready line: let start() fail fast
