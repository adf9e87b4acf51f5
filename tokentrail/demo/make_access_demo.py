"""Regenerate the access-log demo: `access.ndjson` and the demo issuer's public `demo-jwks.json`.

    .venv/bin/python tokentrail/demo/make_access_demo.py [--key demo-key.pem] [--out-dir DIR]

The records are requests to a Confluence site (wiki.example.com) in the four dialects the `access`
source reads (canonical, NGINX, Envoy, Traefik), carrying `Authorization` headers with tokens shaped
like Okta and Entra ID v2 access tokens and a few bad ones. Each run makes a fresh RSA key unless
`--key` names a PEM private key; only the public key is written (as a JWKS). Never commit a private key.

Tokens and what the token and app enrichers should make of them (with the demo config: issuers
https://demo.okta.example/oauth2/default and https://login.microsoftonline.com/<TENANT>/v2.0, both
verified with demo-jwks.json, audience api://confluence; one registered app, confluence-sync, client id
0oa1abcd2EFGH3ijk4l5, allowed scope read:confluence-content.all, refresh_tokens: false):

| name         | shape                                           | expected findings                        |
|--------------|-------------------------------------------------|------------------------------------------|
| okta-sync    | Okta, registered client, 1 h, read scope        | none                                     |
| okta-24h     | Okta, unregistered client, 24 h, write scope    | token.lifetime_over_policy, app.unregistered |
| okta-expired | Okta, registered client, expired 08:00          | token.expired_at_use                     |
| okta-write   | Okta, registered client, write scope            | app.scope_not_allowed                    |
| okta-jku     | `jku` header, signed by an outside key          | token.untrusted_key_reference, token.signature_invalid, app.unregistered |
| forged       | demo kid, signed by another key                 | token.signature_invalid                  |
| alg-none     | `alg: none`, no signature                       | token.alg_none, app.unregistered         |
| entra-user   | Entra v2 delegated (scp, space-separated)       | app.unregistered                         |
| entra-app    | Entra v2 app-only (roles), aud Microsoft Graph  | token.audience_mismatch, app.unregistered |
| refresh      | opaque refresh-like token sent as a bearer      | (opaque: fingerprint only)               |
| ssws         | Okta SSWS API token                             | (opaque: fingerprint only)               |
| basic        | Basic with an Atlassian API token               | (fingerprint only)                       |
"""

from __future__ import annotations

import argparse
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from hashlib import sha256
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

HERE = Path(__file__).resolve().parent
OKTA_ISS = "https://demo.okta.example/oauth2/default"
TENANT = "9b1c3d5e-7f90-4a2b-8c4d-6e8f0a1b2c3d"
ENTRA_ISS = f"https://login.microsoftonline.com/{TENANT}/v2.0"
AUDIENCE = "api://confluence"
GRAPH = "00000003-0000-0000-c000-000000000000"
SYNC_CLIENT = "0oa1abcd2EFGH3ijk4l5"          # registered in the demo config (confluence-sync)
REPORT_CLIENT = "0oa7wiki2REPT3cli4x9"        # not registered
ROGUE_CLIENT = "0oa9rogue8APP7x6y5z4"         # not registered
ENTRA_USER_CLIENT = "c0ffee00-1234-4abc-9def-0123456789ab"   # not registered
ENTRA_APP_CLIENT = "5e7a9c31-2b4d-4f60-8a1e-3c5d7f9b0a24"    # not registered
HOST = "wiki.example.com"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
CET = timezone(timedelta(hours=1))  # the NGINX host's local time, as $time_local writes it
NS = uuid.UUID("6b1f7c1e-3d2a-4e5b-9c8d-7a6f5e4d3c2b")


def at(hh: int, mm: int, ss: float = 0) -> datetime:
    return DAY + timedelta(hours=hh, minutes=mm, seconds=ss)


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def load_key(path: str | None) -> rsa.RSAPrivateKey:
    if path is None:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SystemExit(f"{path}: not an RSA private key")
    return key


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    # RFC 7638 thumbprint as the kid: stable for a given key.
    canon = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    kid = base64.urlsafe_b64encode(sha256(canon.encode()).digest()).rstrip(b"=").decode()
    jwk.pop("key_ops", None)  # `use` says it; RFC 7517 advises against both
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()

    return f"{b64(header)}.{b64(claims)}."


def okta_claims(name: str, cid: str, uid: str | None, sub: str, scp: list[str], iat: datetime,
                lifetime: timedelta) -> dict[str, Any]:
    claims = {"ver": 1, "jti": f"AT.demo-{name}", "iss": OKTA_ISS, "aud": AUDIENCE, "iat": epoch(iat),
              "exp": epoch(iat + lifetime), "cid": cid, "scp": scp, "sub": sub}
    if uid:
        claims["uid"] = uid
        claims["auth_time"] = epoch(iat) - 120
    return claims


def entra_claims(name: str, azp: str, aud: str, iat: datetime, *, scp: str | None = None,
                 roles: list[str] | None = None, upn: str | None = None) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "aud": aud, "iss": ENTRA_ISS, "iat": epoch(iat), "nbf": epoch(iat), "exp": epoch(iat + timedelta(hours=1)),
        "azp": azp, "azpacr": "1", "tid": TENANT, "uti": f"demo{name.replace('-', '')}UTI0001", "ver": "2.0",
        "oid": str(uuid.uuid5(NS, f"oid-{name}")), "sub": str(uuid.uuid5(NS, f"sub-{name}")),
    }
    if scp:
        claims["scp"] = scp
    if roles:
        claims["roles"] = roles
    if upn:
        claims["preferred_username"] = upn
        claims["name"] = upn.split("@")[0].replace(".", " ").title()
    return claims


def make_tokens(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    """Every demo credential by name, ready for an Authorization header (scheme included)."""
    outsider = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # never written anywhere
    read = ["read:confluence-content.all"]
    write = ["read:confluence-content.all", "write:confluence-content"]
    hdr = {"kid": kid}
    t = {
        "okta-sync": jwt.encode(okta_claims("sync-0001", SYNC_CLIENT, None, SYNC_CLIENT, read, at(8, 55),
                                            timedelta(hours=1)), key, "RS256", hdr),
        "okta-24h": jwt.encode(okta_claims("report-0002", REPORT_CLIENT, "00u3ana0SILVA4usr5x6",
                                           "ana.silva@example.com", write, at(6, 0), timedelta(hours=24)),
                               key, "RS256", hdr),
        "okta-expired": jwt.encode(okta_claims("expired-0003", SYNC_CLIENT, None, SYNC_CLIENT, read, at(7, 0),
                                               timedelta(hours=1)), key, "RS256", hdr),
        "okta-write": jwt.encode(okta_claims("write-0004", SYNC_CLIENT, None, SYNC_CLIENT, write, at(9, 30),
                                             timedelta(hours=1)), key, "RS256", hdr),
        "okta-jku": jwt.encode(okta_claims("jku-0005", ROGUE_CLIENT, None, ROGUE_CLIENT, write, at(9, 10),
                                           timedelta(hours=1)), outsider, "RS256",
                               {"kid": "rogue-1", "jku": "https://keys.attacker.example/jwks.json"}),
        "forged": jwt.encode(okta_claims("forged-0006", SYNC_CLIENT, None, SYNC_CLIENT, write, at(9, 40),
                                         timedelta(hours=1)), outsider, "RS256", hdr),
        "alg-none": unsigned({"alg": "none", "typ": "JWT"},
                             okta_claims("none-0007", ROGUE_CLIENT, None, ROGUE_CLIENT, write, at(9, 20),
                                         timedelta(hours=1))),
        "entra-user": jwt.encode(entra_claims("entra-user", ENTRA_USER_CLIENT, AUDIENCE, at(9, 5),
                                              scp="Content.Read Content.Write", upn="li.wei@example.com"),
                                 key, "RS256", {**hdr, "typ": "JWT"}),
        "entra-app": jwt.encode(entra_claims("entra-app", ENTRA_APP_CLIENT, GRAPH, at(9, 15),
                                             roles=["Sites.Read.All"]), key, "RS256", {**hdr, "typ": "JWT"}),
    }
    out = {name: f"Bearer {token}" for name, token in t.items()}
    out["refresh"] = "Bearer rt.demo-7Qh2LkVt9xWm4ZpB8sRc3Nf6Yd1Ja5Ue0GoKiT"
    out["ssws"] = "SSWS 00demoSswsApiToken-9fK2mQ7xR4tV8wZ1bN5cJ3h"
    out["basic"] = "Basic " + base64.b64encode(b"bot@example.com:ATATTdemoAtlassianApiToken0123456789").decode()
    return out


CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")
UAS = {
    "sync": "confluence-sync/2.3 python-requests/2.31.0",
    "report": "atlassian-python-api/3.41.10",
    "browser": CHROME,
    "curl": "curl/8.5.0",
    "go": "Go-http-client/1.1",
    "java": "Apache-HttpClient/4.5.14 (Java/17.0.9)",
}

# (minute, second, dialect, client ip, method, url, status, user agent, token, ms, bytes)
PLAN: list[tuple[int, float, str, str, str, str, int, str, str | None, int, int]] = [
    (1, 2.114, "canonical", "203.0.113.10", "GET", "/wiki/rest/api/content?spaceKey=ENG&type=page&limit=25", 200, "sync", "okta-sync", 84, 18211),
    (2, 15.870, "nginx", "203.0.113.10", "GET", "/wiki/rest/api/content/65538?expand=body.storage,version", 200, "sync", "okta-sync", 41, 9120),
    (4, 40.020, "envoy", "203.0.113.10", "GET", "/wiki/rest/api/space?limit=50", 200, "sync", "okta-sync", 37, 4410),
    (6, 3.500, "traefik", "203.0.113.10", "GET", "/wiki/rest/api/content/search?cql=space%3DENG%20and%20type%3Dpage", 200, "sync", "okta-sync", 212, 30552),
    (7, 11.000, "nginx", "198.51.100.23", "GET", "/wiki/rest/api/space/ENG/content?depth=all", 200, "report", "okta-24h", 390, 88120),
    (9, 48.250, "canonical", "198.51.100.23", "PUT", "/wiki/rest/api/content/65538", 200, "report", "okta-24h", 512, 2210),
    (11, 5.125, "traefik", "198.51.100.23", "POST", "/wiki/rest/api/content", 201, "report", "okta-24h", 645, 1998),
    (12, 30.000, "envoy", "203.0.113.45", "GET", "/wiki/rest/api/content?spaceKey=HR&limit=100", 200, "browser", "entra-user", 120, 40213),
    (14, 1.750, "nginx", "203.0.113.45", "POST", "/wiki/rest/api/content/65540/child/comment", 201, "browser", "entra-user", 233, 1402),
    (15, 59.000, "canonical", "203.0.113.45", "GET", "/wiki/rest/api/user/current", 200, "browser", "entra-user", 18, 612),
    (17, 22.500, "traefik", "192.0.2.77", "GET", "/wiki/rest/api/space", 200, "go", "entra-app", 51, 4410),
    (18, 3.000, "envoy", "192.0.2.77", "GET", "/wiki/rest/api/content?spaceKey=FIN&limit=200", 200, "go", "entra-app", 402, 120043),
    (19, 44.900, "nginx", "192.0.2.77", "GET", "/rest/api/space", 200, "go", "entra-app", 35, 4410),
    (21, 9.000, "canonical", "203.0.113.10", "GET", "/wiki/rest/api/content?spaceKey=ENG&type=page&start=25&limit=25", 401, "sync", "okta-expired", 4, 132),
    (21, 39.000, "envoy", "203.0.113.10", "GET", "/wiki/rest/api/content?spaceKey=ENG&type=page&start=25&limit=25", 401, "sync", "okta-expired", 3, 132),
    (22, 10.000, "traefik", "203.0.113.10", "GET", "/wiki/rest/api/space?limit=50", 401, "sync", "okta-expired", 3, 132),
    (24, 18.200, "nginx", "198.51.100.200", "DELETE", "/wiki/rest/api/content/65601", 204, "curl", "alg-none", 77, 0),
    (25, 2.000, "envoy", "198.51.100.200", "PUT", "/wiki/rest/api/space/ENG/permission", 403, "curl", "alg-none", 12, 96),
    (27, 33.000, "traefik", "198.51.100.201", "GET", "/wiki/rest/api/content?spaceKey=ENG&expand=body.storage&limit=250", 200, "go", "okta-jku", 1880, 512004),
    (28, 7.400, "canonical", "198.51.100.201", "POST", "/wiki/rest/api/content", 201, "go", "okta-jku", 301, 1877),
    (31, 0.500, "nginx", "203.0.113.10", "POST", "/wiki/rest/api/content", 201, "sync", "okta-write", 288, 1934),
    (32, 12.000, "traefik", "203.0.113.10", "PUT", "/wiki/rest/api/content/65538", 200, "sync", "okta-write", 264, 2205),
    (35, 45.000, "envoy", "203.0.113.88", "GET", "/wiki/rest/api/content/65538", 200, "java", "refresh", 58, 9120),
    (36, 14.000, "canonical", "203.0.113.88", "GET", "/wiki/rest/api/space", 200, "java", "refresh", 33, 4410),
    (38, 21.000, "nginx", "192.0.2.15", "GET", "/rest/api/space/ENG", 200, "curl", "ssws", 14, 880),
    (39, 5.000, "traefik", "192.0.2.15", "GET", "/rest/api/content?spaceKey=ENG", 200, "curl", "ssws", 66, 15022),
    (41, 30.000, "envoy", "198.51.100.61", "PUT", "/wiki/rest/api/content/65540", 200, "go", "forged", 205, 2230),
    (42, 1.000, "canonical", "198.51.100.61", "DELETE", "/wiki/rest/api/content/65541", 204, "go", "forged", 90, 0),
    (44, 16.000, "traefik", "192.0.2.90", "GET", "/wiki/rest/api/content?spaceKey=OPS&limit=25", 200, "java", "basic", 102, 14001),
    (45, 50.000, "nginx", "192.0.2.90", "POST", "/wiki/rest/api/content", 201, "java", "basic", 310, 1788),
]


def record(i: int, row: tuple, tokens: dict[str, str]) -> dict[str, Any]:
    mm, ss, dialect, ip, method, url, status, ua, token, ms, size = row
    when = at(9, mm, ss)
    auth = tokens[token] if token else None
    rid = str(uuid.uuid5(NS, f"req-{i}"))
    proxy = f"10.20.0.{5 + i % 3}"
    if dialect == "canonical":
        return {"timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "client_ip": ip,
                "method": method, "url": url, "status": status, "user_agent": UAS[ua], "host": HOST,
                "authorization": auth, "request_id": rid, "duration_ms": ms}
    if dialect == "nginx":
        rec: dict[str, Any] = {"remote_addr": proxy, "remote_user": "", "request_method": method, "request_uri": url,
                               "server_protocol": "HTTP/1.1", "status": str(status), "body_bytes_sent": str(size),
                               "request_time": f"{ms / 1000:.3f}", "http_referer": "", "http_user_agent": UAS[ua],
                               "http_x_forwarded_for": ip, "http_host": HOST, "http_authorization": auth or "",
                               "request_id": rid.replace("-", ""), "upstream_addr": "10.20.1.10:8090"}
        # NGINX's three clocks: $time_local in some lines, $time_iso8601 or $msec in others.
        if i % 3 == 0:
            rec["time_local"] = when.astimezone(CET).strftime("%d/%b/%Y:%H:%M:%S +0100")
        elif i % 3 == 1:
            rec["time_iso8601"] = when.isoformat(timespec="seconds")
        else:
            rec["msec"] = f"{when.timestamp():.3f}"
        return rec
    if dialect == "envoy":
        return {"start_time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "method": method,
                "path": url, "protocol": "HTTP/2", "response_code": status, "response_flags": "-",
                "bytes_received": 0 if method in ("GET", "DELETE") else 2048, "bytes_sent": size, "duration": ms,
                "upstream_service_time": str(max(ms - 2, 1)), "x-forwarded-for": ip, "user-agent": UAS[ua],
                "x-request-id": rid, "authority": HOST, "upstream_host": "10.20.1.10:8090",
                "downstream_remote_address": f"{proxy}:{40000 + i}", "authorization": auth,
                "route_name": "confluence", "upstream_cluster": "outbound|8090||confluence.wiki.svc.cluster.local"}
    return {"ClientAddr": f"{ip}:{50000 + i}", "ClientHost": ip, "ClientPort": str(50000 + i), "ClientUsername": "-",
            "DownstreamContentSize": size, "DownstreamStatus": status, "Duration": ms * 1_000_000,
            "OriginContentSize": size, "OriginDuration": (ms - 1) * 1_000_000, "OriginStatus": status,
            "Overhead": 1_000_000, "RequestAddr": HOST, "RequestContentSize": 0, "RequestCount": 100 + i,
            "RequestHost": HOST, "RequestMethod": method, "RequestPath": url, "RequestPort": "-",
            "RequestProtocol": "HTTP/2.0", "RequestScheme": "https", "RetryAttempts": 0,
            "RouterName": "confluence@kubernetescrd", "ServiceName": "wiki-confluence-8090@kubernetescrd",
            "ServiceURL": "http://10.20.1.10:8090", "StartLocal": when.isoformat(timespec="microseconds"),
            "StartUTC": when.isoformat(timespec="microseconds").replace("+00:00", "Z"), "entryPointName": "websecure",
            "level": "info", "msg": "", "request_Authorization": auth, "request_User-Agent": UAS[ua],
            "request_X-Request-Id": rid, "time": (when + timedelta(milliseconds=ms)).isoformat(timespec="seconds")}


def build(tokens: dict[str, str]) -> list[str]:
    lines = [json.dumps({k: v for k, v in record(i, row, tokens).items() if v is not None}, separators=(",", ":"))
             for i, row in enumerate(PLAN)]
    # A legacy client putting its token in the query string: the scrubber redacts it in url.original.
    legacy = {"timestamp": "2026-03-02T09:47:12.000Z", "client_ip": "203.0.113.10", "method": "GET",
              "url": "/wiki/rest/api/content/65538?access_token=" + tokens["okta-sync"].split()[1],
              "status": 200, "user_agent": UAS["sync"], "host": HOST}
    lines.insert(24, json.dumps(legacy, separators=(",", ":")))
    # Bad input for the DLQ: a record cut short, and one without any timestamp.
    cut = json.dumps({"StartUTC": "2026-03-02T09:48:00Z", "ClientHost": "192.0.2.90", "RequestMethod": "GET",
                      "RequestPath": "/wiki/rest/api/space", "request_Authorization": tokens["basic"]})
    lines.append(cut[: len(cut) - 20])
    lines.append(json.dumps({"client_ip": "203.0.113.10", "method": "GET", "url": "/wiki/rest/api/space",
                             "status": 200, "authorization": tokens["okta-sync"]}, separators=(",", ":")))
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--key", help="PEM RSA private key to sign with (default: a fresh key, not saved)")
    parser.add_argument("--out-dir", default=str(HERE), help="where access.ndjson and demo-jwks.json go")
    args = parser.parse_args(argv)
    key = load_key(args.key)
    jwk = public_jwk(key)
    out = Path(args.out_dir)
    lines = build(make_tokens(key, jwk["kid"]))
    (out / "access.ndjson").write_text("\n".join(lines) + "\n")
    (out / "demo-jwks.json").write_text(json.dumps({"keys": [jwk]}, indent=2) + "\n")
    print(f"wrote {len(lines)} lines to {out / 'access.ndjson'} and the JWKS (kid {jwk['kid']})")


if __name__ == "__main__":
    main()
