"""Test certificates made by the openssl CLI: a CA, and server or client certificates it signs."""
import subprocess


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory, name):
    """A self-signed CA; returns the path of its certificate (`name`.pem, key `name`.key)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=directory)
    return str(directory / f"{name}.pem")


def make_cert(directory, ca, name, alt_names=None):
    """A certificate signed by the CA `ca`, for `alt_names` (subjectAltName syntax, e.g.
    "IP:127.0.0.1,DNS:localhost"; None for a client certificate). Returns (cert, key) paths."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory)
    extra = []
    if alt_names:
        (directory / f"{name}.ext").write_text(f"subjectAltName={alt_names}\n")
        extra = ["-extfile", f"{name}.ext"]
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", *extra, "-out", f"{name}.pem", cwd=directory)
    return str(directory / f"{name}.pem"), str(directory / f"{name}.key")
