"""Paths handed in by ctest (see tests/CMakeLists.txt)."""

import os
import unittest


def _required(name):
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest(f"{name} is not set; run through ctest or set it by hand")
    return value


def binary():
    return _required("FQDNGATE_BIN")


def certs_script():
    return _required("FQDNGATE_CERTS_SCRIPT")


def scratch_dir():
    path = _required("FQDNGATE_TEST_TMP")
    os.makedirs(path, exist_ok=True)
    return path
