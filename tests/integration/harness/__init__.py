"""Test harness for the fqdngate integration tests.

Everything here runs on loopback only: TLS origins, a tiny DNS server, the proxy process under
test and a throw-away PKI. Every wait has a timeout and every loop a deadline.
"""
