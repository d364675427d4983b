"""TLS: redis-py's ``ssl_*`` keywords on both pools, against a redis-server
this file starts with ``--tls-port`` and certificates made with openssl."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

import redkeep
import redkeep.asyncio
from conftest import free_port, wait_until

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def make_certs(d: Path) -> None:
    """A test CA (ca.crt), a server certificate for 127.0.0.1 and a client
    certificate signed by it, and a second CA that signed nothing
    (other-ca.crt). The extensions make them X.509 v3, as rustls requires."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", f"/CN=redkeep Python test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.crt")
    (d / "server.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    (d / "client.cnf").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=redkeep Python test {name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", f"{name}.cnf", "-out", f"{name}.crt")


def ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.settimeout(0.5)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class TlsServer:
    def __init__(self, certs: Path, tls_port: int) -> None:
        self.certs = certs
        self.tls_port = tls_port

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.tls_port}"

    def file(self, name: str) -> str:
        return str(self.certs / name)


def start_tls_server(certs: Path, mutual: bool) -> tuple[subprocess.Popen[bytes], TlsServer]:
    binary = os.environ.get("REDKEEP_REDIS_SERVER", "redis-server")
    for _ in range(5):
        port, tls_port = free_port(), free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--tls-port", str(tls_port),
             "--tls-cert-file", str(certs / "server.crt"),
             "--tls-key-file", str(certs / "server.key"),
             "--tls-ca-cert-file", str(certs / "ca.crt"),
             "--tls-auth-clients", "yes" if mutual else "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        if wait_until(lambda: proc.poll() is not None or ping(port)) and proc.poll() is None:
            return proc, TlsServer(certs, tls_port)
        proc.kill()
        proc.wait()
    raise RuntimeError("redis-server with TLS did not start after 5 tries")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tls")
    make_certs(d)
    return d


@pytest.fixture(scope="module")
def tls_server(certs: Path) -> Iterator[TlsServer]:
    proc, server = start_tls_server(certs, mutual=False)
    yield server
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def mtls_server(certs: Path) -> Iterator[TlsServer]:
    proc, server = start_tls_server(certs, mutual=True)
    yield server
    proc.kill()
    proc.wait()


def round_trip(pool: redkeep.Pool) -> None:
    assert pool.execute("SET", "py:tls", "over tls") == "OK"
    assert pool.execute("GET", "py:tls") == b"over tls"


def test_ssl_ca_certs_connects(tls_server: TlsServer) -> None:
    with redkeep.Pool(tls_server.url, ssl_ca_certs=tls_server.file("ca.crt")) as pool:
        round_trip(pool)


def test_ssl_on_a_redis_url_upgrades_it(tls_server: TlsServer) -> None:
    url = f"redis://127.0.0.1:{tls_server.tls_port}"
    with redkeep.Pool(url, ssl=True, ssl_ca_certs=Path(tls_server.file("ca.crt"))) as pool:
        round_trip(pool)


@pytest.mark.parametrize("reqs", ["none", ssl.CERT_NONE])
def test_ssl_cert_reqs_none_skips_verification(tls_server: TlsServer, reqs: object) -> None:
    with redkeep.Pool(tls_server.url, ssl_cert_reqs=reqs) as pool:  # type: ignore[arg-type]
        round_trip(pool)


def test_mutual_tls_with_ssl_certfile_and_keyfile(mtls_server: TlsServer) -> None:
    with redkeep.Pool(
        mtls_server.url,
        ssl_ca_certs=mtls_server.file("ca.crt"),
        ssl_certfile=mtls_server.file("client.crt"),
        ssl_keyfile=mtls_server.file("client.key"),
        ssl_cert_reqs="required",
    ) as pool:
        round_trip(pool)
    # Without a client certificate the server ends the handshake.
    with pytest.raises(redkeep.ConnectionError):
        redkeep.Pool(mtls_server.url, ssl_ca_certs=mtls_server.file("ca.crt"))


def test_a_wrong_ca_is_a_connection_error(tls_server: TlsServer) -> None:
    with pytest.raises(redkeep.ConnectionError) as info:
        redkeep.Pool(tls_server.url, ssl_ca_certs=tls_server.file("other-ca.crt"))
    assert isinstance(info.value, ConnectionError)  # the builtin too


def test_asyncio_pool_takes_the_same_keywords(mtls_server: TlsServer) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(
            mtls_server.url,
            ssl_ca_certs=mtls_server.file("ca.crt"),
            ssl_certfile=mtls_server.file("client.crt"),
            ssl_keyfile=mtls_server.file("client.key"),
        ) as pool:
            assert await pool.execute("SET", "py:atls", "v") == "OK"
            assert await pool.execute("GET", "py:atls") == b"v"
        bad = redkeep.asyncio.Pool(mtls_server.url, ssl_ca_certs=mtls_server.file("other-ca.crt"))
        with pytest.raises(redkeep.ConnectionError):
            await bad.connect()
        await bad.aclose()

    asyncio.run(main())


def test_bad_ssl_options_are_config_errors(tls_server: TlsServer, tmp_path: Path) -> None:
    with pytest.raises(redkeep.ConfigError, match="ssl_keyfile"):
        redkeep.Pool(tls_server.url, ssl_certfile=tls_server.file("client.crt"))
    missing = str(tmp_path / "nope.crt")
    with pytest.raises(redkeep.ConfigError, match="nope.crt"):
        redkeep.Pool(tls_server.url, ssl_ca_certs=missing)
    with pytest.raises(redkeep.ConfigError, match="ssl_cert_reqs"):
        redkeep.Pool(tls_server.url, ssl_cert_reqs="optional")  # type: ignore[arg-type]


def test_redis_server_tls_fixture_serves_rediss_with_its_ca(redis_server_tls: redkeep.Server) -> None:
    """The plugin's TLS fixture: a rediss:// URL, its CA for ssl_ca_certs=;
    without that CA the server's certificate is not trusted."""
    server = redis_server_tls
    assert server.spawned and server.url.startswith("rediss://")
    assert server.ca_cert_path is not None and server.ca_cert_path.is_file()
    with redkeep.Pool(server.url, ssl_ca_certs=str(server.ca_cert_path)) as pool:
        assert pool.execute("SET", "py:fixture-tls", "v") == "OK"
        assert pool.execute("GET", "py:fixture-tls") == b"v"
    with pytest.raises(redkeep.ConnectionError):
        with redkeep.Pool(server.url, socket_connect_timeout=2.0) as pool:
            pool.execute("PING")


def test_a_plain_server_has_no_ca(redis_server: redkeep.Server) -> None:
    assert redis_server.ca_cert_path is None
