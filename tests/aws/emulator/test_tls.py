"""The generated certificate is valid for localhost and 127.0.0.1 and verifies as its own CA."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509

from agentstream.aws.emulator.tls import self_signed, server_context


def test_certificate_names_localhost_and_loopback(tmp_path: Path) -> None:
    """SAN has localhost and 127.0.0.1; the key file is private to the user."""
    cert_path, key_path = self_signed(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert key_path.stat().st_mode & 0o077 == 0


def test_client_trusting_the_bundle_accepts_the_server(tmp_path: Path) -> None:
    """A client context loading cert.pem as its CA verifies the server's certificate."""
    cert, key = self_signed(tmp_path)
    server = server_context(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname="localhost")
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (c, s):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    assert c.getpeercert()["subjectAltName"] == (("DNS", "localhost"), ("IP Address", "127.0.0.1"))
