"""Helpers of the token-audit tests: seeded signing keys, a token factory (tokens.yml specs -> raw
tokens, forged ones included) and a loopback listener that records connections.

The RSA keys are derived from fixed seeds (a seeded prime search, about a second per session) so the
golden tokens, their fingerprints and the event ids derived from the records are the same on every
run. They are test keys: they protect nothing, and no key file is committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import random
import socket
import threading
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
KID = "test-1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def _probable_prime(n: int, rng: random.Random, rounds: int = 20) -> bool:
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):  # Miller-Rabin
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def seeded_rsa_key(seed: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The same RSA key for the same seed (test use only)."""
    rng = random.Random(seed)
    e = 65537
    while True:
        p, q = (_prime(rng, bits // 2) for _ in range(2))
        phi = (p - 1) * (q - 1)
        if p == q or math.gcd(e, phi) != 1:
            continue
        d = pow(e, -1, phi)
        numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                        rsa.RSAPublicNumbers(e, p * q))
        return numbers.private_key()


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _probable_prime(candidate, rng):
            return candidate


class Keys:
    """An issuer key (published in the JWKS) and an outsider key (never published)."""

    def __init__(self) -> None:
        self.good = seeded_rsa_key("tokentrail test issuer")
        self.outsider = seeded_rsa_key("tokentrail test outsider")
        self.public_pem = self.good.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.good.public_key()))
        return {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def make(self, spec: dict[str, Any], **subst: str) -> str:
        """A raw token from a spec: `key` good | outsider | none | hs256-rsa-public, `header`, `claims`."""
        header = dict(spec.get("header") or {})
        claims = json.loads(json.dumps(spec.get("claims") or {}))
        for k, v in list(header.items()):
            if isinstance(v, str):
                header[k] = v.format(**subst)
        kind = spec.get("key", "good")
        if kind == "none":
            return f"{b64json({'alg': 'none', **header})}.{b64json(claims)}."
        if kind == "hs256-rsa-public":
            # The classic key-confusion forgery: the issuer's RSA public key used as an HMAC secret.
            signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', **header})}.{b64json(claims)}"
            sig = hmac.new(self.public_pem, signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{b64(sig)}"
        key = self.good if kind == "good" else self.outsider
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID, **header})


class Listener:
    """A loopback TCP listener that records every connection (a `jku` URL must never be fetched)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
