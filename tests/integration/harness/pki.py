"""The test PKI: made once per test run by certs/make-test-pki.sh, shared by all test files.

The server certificate names every fake public host the tests route to 127.0.0.1, so real
clients verify the origin exactly as they would in production, against the test CA only.
"""

import os
import ssl
import subprocess
from dataclasses import dataclass

from . import env

# Every name a test may CONNECT to and then verify; the script is idempotent for a fixed list.
SERVER_NAMES = (
    "api.prefect.cloud",
    "app.prefect.cloud",
    "auth.workos.com",
    "pypi.org",
    "files.example.com",
    "example.com",
    "api2.amplitude.com",
    "resolved.test.example",
)


@dataclass(frozen=True)
class Pki:
    ca_cert: str
    server_cert: str
    server_key: str

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        return ctx

    def client_context(self):
        """A verifying client context that trusts the test CA and nothing else."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.ca_cert)
        return ctx


_pki = None


def get():
    global _pki
    if _pki is None:
        out = os.path.join(env.scratch_dir(), "pki")
        subprocess.run(
            [env.certs_script(), out, *SERVER_NAMES],
            check=True,
            timeout=60,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _pki = Pki(
            ca_cert=os.path.join(out, "ca.crt"),
            server_cert=os.path.join(out, "server.crt"),
            server_key=os.path.join(out, "server.key"),
        )
    return _pki
