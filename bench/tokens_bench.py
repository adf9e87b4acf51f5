"""Cost of the token path: access logs with signed tokens vs the same logs without Authorization.

An access-log corpus where `--tokens` distinct RS256 tokens (issuer configured, JWKS file) are each
used `--uses` times, interleaved, one client address per token. Both corpora go through the same
Processor as the enrich stage (parse, normalize, scrub, tokens, apps, correlate, findings, scrub,
encode) in this process; CPU time by `time.process_time()`, side by side in one run. Prints events
per CPU-second of each and their ratio (target: 0.5 or better).

    .venv/bin/python bench/tokens_bench.py [--tokens 1000] [--uses 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from collectors import SOURCES
from enrichers import build_chain
from tokentrail import config
from tokentrail.pipeline import Processor, Raw

ISSUER = "https://bench.okta.example/oauth2/default"
CLIENT = "0oabench1CLIENT"
T0 = 1772442000  # 2026-03-02T09:00:00Z


def make_tokens(n: int) -> tuple[list[str], dict]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "bench-1", "alg": "RS256", "use": "sig"}
    tokens = [
        jwt.encode({"ver": 1, "jti": f"AT.bench-{i:06d}", "iss": ISSUER, "aud": "api://confluence", "iat": T0,
                    "exp": T0 + 3600, "cid": CLIENT, "uid": f"00ubench{i:06d}", "sub": f"user{i}@example.com",
                    "scp": ["read:confluence-content.all"]}, key, "RS256", {"kid": "bench-1"})
        for i in range(n)
    ]
    return tokens, {"keys": [jwk]}


def corpus(tokens: list[str], uses: int, with_auth: bool, seed: int = 7) -> list[bytes]:
    order = [i for i in range(len(tokens)) for _ in range(uses)]
    random.Random(seed).shuffle(order)
    lines = []
    for n, i in enumerate(order):
        rec = {"timestamp": T0 + 60 + n * 0.03, "client_ip": f"198.51.{100 + i // 250}.{i % 250 + 1}",
               "method": "GET", "url": f"/wiki/rest/api/content/{65536 + n % 5000}?expand=body.storage",
               "status": 200, "user_agent": "confluence-sync/2.3 python-requests/2.31.0",
               "host": "wiki.example.com", "request_id": f"bench-{n:08d}", "duration_ms": 12 + n % 90}
        if with_auth:
            rec["authorization"] = f"Bearer {tokens[i]}"
        lines.append(json.dumps(rec, separators=(",", ":")).encode())
    return lines


def processor(jwks_path: Path) -> Processor:
    cfg = config.from_dict({
        "tokens": {"issuers": [{"issuer": ISSUER, "jwks_file": str(jwks_path), "algorithms": ["RS256"],
                                "audiences": ["api://confluence"]}]},
        "apps": [{"id": "bench-app", "client_ids": [CLIENT], "allowed_scopes": ["read:confluence-content.all"],
                  "refresh_tokens": False}],
    })
    return Processor(SOURCES, build_chain(cfg))


def run(proc: Processor, lines: list[bytes]) -> tuple[float, int, int]:
    """(CPU seconds, events out, findings documents) for the whole corpus."""
    gc.collect()
    events = alerts = 0
    t0 = time.process_time()
    for n, line in enumerate(lines):
        result = proc.process(Raw("access", line, f"bench:{n}"))
        for event in result.events:
            proc.encode(event, result.clean)
            events += 1
            if event["event"]["dataset"] == "tokentrail.findings":
                alerts += 1
    return time.process_time() - t0, events, alerts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=1000, help="distinct signed tokens")
    ap.add_argument("--uses", type=int, default=100, help="uses of each token")
    ap.add_argument("--rounds", type=int, default=3, help="alternating measurements; the best of each is kept")
    args = ap.parse_args()
    t = time.process_time()
    tokens, jwks = make_tokens(args.tokens)
    print(f"signed {len(tokens)} RS256 tokens in {time.process_time() - t:.1f} CPU s")
    with_auth = corpus(tokens, args.uses, True)
    without = corpus(tokens, args.uses, False)
    with tempfile.TemporaryDirectory() as tmp:
        jwks_path = Path(tmp) / "jwks.json"
        jwks_path.write_text(json.dumps(jwks))
        best_tok = best_plain = float("inf")
        checks = 0
        for _ in range(args.rounds):
            # A fresh chain per round: the first use of each token pays its verification every time.
            proc = processor(jwks_path)
            cpu, events, alerts = run(proc, with_auth)
            assert alerts == 0, f"{alerts} findings: the bench corpus should raise none"
            best_tok = min(best_tok, cpu)
            tokens_step = dict(proc.chain.steps)["tokens"]
            checks = tokens_step.checks
            cpu, plain_events, _ = run(processor(jwks_path), without)
            best_plain = min(best_plain, cpu)
    eps_tok, eps_plain = events / best_tok, plain_events / best_plain
    print(f"corpus: {len(with_auth)} access-log lines, {args.tokens} distinct tokens x {args.uses} uses")
    print(f"with Authorization:    {eps_tok:10,.0f} events per CPU-second ({1e6 / eps_tok:.1f} us/event), "
          f"{checks} signature verifications")
    print(f"without Authorization: {eps_plain:10,.0f} events per CPU-second ({1e6 / eps_plain:.1f} us/event)")
    print(f"ratio: {eps_tok / eps_plain:.2f} (target >= 0.50); token path {1e6 / eps_tok - 1e6 / eps_plain:.1f} us/event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
