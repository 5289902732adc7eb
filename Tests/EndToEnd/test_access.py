"""TLS, mutual TLS and tokens as operators deploy them: the real server and CLI processes, with
certificates made by openssl at test time, and SeaweedFS behind."""
import hashlib
import signal
import subprocess
import time

import pytest

from conftest import object_sha256


MiB = 1 << 20
UNKNOWN = "0123456789abcdef0123456789abcdef"  # a session id no server has: NOT_FOUND proves the call got through


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA,
    and a second CA that signed nothing we trust."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ["ca", "other-ca"]:
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN={ca}",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign", cwd=d)
    for name, extensions in [("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
                             ("client", "extendedKeyUsage=clientAuth\n")]:
        (d / f"{name}.ext").write_text(extensions)
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return d


def tokens_file(path, grants):
    path.write_text("".join(f"{p} {hashlib.sha256(t.encode()).hexdigest()}\n" for p, t in grants.items()))
    return path


def test_tls_with_a_token_uploads_and_plaintext_is_refused(cli, start_server, pki, random_file, s3, bucket, tmp_path):
    path, digest = random_file(12 * MiB)
    tokens = tokens_file(tmp_path / "tokens", {"alice": "alice-token"})
    server = start_server("--s3-bucket", bucket, "--tls-cert", str(pki / "server.pem"), "--tls-key",
                          str(pki / "server.key"), "--auth-tokens", str(tokens))
    cli("upload", str(path), "--key", "tls/ok.bin", "--ca-cert", str(pki / "ca.pem"), "--token", "alice-token",
        "--no-progress", server=server.address)
    assert object_sha256(s3, bucket, "tls/ok.bin") == digest

    wrong_token = cli("upload", str(path), "--key", "tls/no.bin", "--ca-cert", str(pki / "ca.pem"), "--token", "nope",
                      "--no-progress", server=server.address, check=False)
    assert wrong_token.returncode == 1
    assert "the token is not valid on this server" in wrong_token.stderr

    untrusted = cli("status", UNKNOWN, "--remote", "--ca-cert", str(pki / "other-ca.pem"), "--token", "alice-token",
                    server=server.address, check=False, timeout=60)
    assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, untrusted.stderr

    plaintext = cli("status", UNKNOWN, "--remote", "--token", "alice-token", server=server.address, check=False)
    # Plaintext to a TLS server: nothing a client can read answers; the message says to check --tls.
    assert plaintext.returncode == 1 and "nothing answered" in plaintext.stderr and "--tls" in plaintext.stderr, \
        plaintext.stderr


def test_mutual_tls_requires_a_client_certificate_from_the_ca(cli, start_server, pki, random_file, s3, bucket):
    path, digest = random_file(3 * MiB)
    server = start_server("--s3-bucket", bucket, "--tls-cert", str(pki / "server.pem"), "--tls-key",
                          str(pki / "server.key"), "--tls-client-ca", str(pki / "ca.pem"))
    without = cli("status", UNKNOWN, "--remote", "--ca-cert", str(pki / "ca.pem"), server=server.address, check=False)
    assert without.returncode == 1 and "TLS handshake failed" in without.stderr, without.stderr
    assert "CERTIFICATE_REQUIRED" in without.stderr and "--client-cert" in without.stderr, without.stderr
    with_cert = cli("status", UNKNOWN, "--remote", "--ca-cert", str(pki / "ca.pem"), "--client-cert",
                    str(pki / "client.pem"), "--client-key", str(pki / "client.key"), server=server.address, check=False)
    assert with_cert.returncode == 1 and f"no session {UNKNOWN}" in with_cert.stderr, with_cert.stderr
    cli("upload", str(path), "--key", "mtls/ok.bin", "--ca-cert", str(pki / "ca.pem"), "--client-cert",
        str(pki / "client.pem"), "--client-key", str(pki / "client.key"), "--no-progress", server=server.address)
    assert object_sha256(s3, bucket, "mtls/ok.bin") == digest


def test_sighup_reloads_the_tokens(cli, start_server, random_file, bucket, tmp_path):
    path, _ = random_file(1 * MiB)
    tokens = tokens_file(tmp_path / "tokens", {"alice": "alice-token"})
    server = start_server("--s3-bucket", bucket, "--auth-tokens", str(tokens))
    tokens_file(tokens, {"bob": "bob-token"})
    server.process.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "tokens reloaded" not in server.output() and time.time() < deadline:
        time.sleep(0.05)
    assert "tokens reloaded" in server.output()
    cli("upload", str(path), "--key", "hup/bob.bin", "--token", "bob-token", "--no-progress", server=server.address)
    revoked = cli("upload", str(path), "--key", "hup/alice.bin", "--token", "alice-token", "--no-progress",
                  server=server.address, check=False)
    assert revoked.returncode == 1 and "not valid" in revoked.stderr

    tokens.write_text("bob not-a-digest\n")
    server.process.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "tokens not reloaded" not in server.output() and time.time() < deadline:
        time.sleep(0.05)
    assert "line 1: the second field must be the token's SHA-256" in server.output()
    still = cli("status", UNKNOWN, "--remote", "--token", "bob-token", server=server.address, check=False)
    assert f"no session {UNKNOWN}" in still.stderr, "bob's token still works"
    assert server.process.poll() is None


def test_refuses_a_public_address_without_tokens(tmp_path):
    import os
    binary = os.environ["UPLOADER_SERVER_BIN"]
    result = subprocess.run([binary, "--listen", "0.0.0.0:0", "--data-dir", str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--allow-unauthenticated" in result.stderr and "--auth-tokens" in result.stderr


def test_unusable_tls_files_stop_the_server_naming_the_flag(pki, tmp_path):
    import os
    binary = os.environ["UPLOADER_SERVER_BIN"]
    cases = [(["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.pem")], "--tls-key"),
             (["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(pki / "server.key")], "--tls-cert"),
             (["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
               "--tls-client-ca", str(pki / "server.key")], "--tls-client-ca")]
    for args, flag in cases:
        result = subprocess.run([binary, "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"), *args],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 1, result.stderr
        assert f"cannot start: {flag} " in result.stderr, result.stderr
