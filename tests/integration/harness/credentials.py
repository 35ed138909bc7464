"""Proxy users for tests: `fqdngate passwd FILE USER` with the password on stdin, and the Basic
Proxy-Authorization header a client sends."""

import base64
import os
import subprocess

from . import env


def passwd(path, user, password, *options, timeout=60):
    """Runs `fqdngate passwd [OPTIONS] FILE USER`, password plus newline on stdin; returns the
    CompletedProcess (text). Hashing is slow on purpose, hence the generous timeout."""
    return subprocess.run(
        [env.binary(), "passwd", *options, path, user],
        input=password + "\n",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )


def make_file(stem, users, pbkdf2_users=()):
    """A fresh credentials file in the scratch directory holding users ({name: password});
    names in pbkdf2_users are hashed with --pbkdf2. Returns its path."""
    path = os.path.join(env.scratch_dir(), f"{stem}-{os.getpid()}.passwd")
    if os.path.exists(path):
        os.unlink(path)
    for user, password in users.items():
        options = ("--pbkdf2",) if user in pbkdf2_users else ()
        result = passwd(path, user, password, *options)
        if result.returncode != 0:
            raise AssertionError(f"fqdngate passwd {user} failed: {result.stderr}")
    return path


def basic(user, password):
    """The Proxy-Authorization header line for Basic credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Proxy-Authorization: Basic {token}"
