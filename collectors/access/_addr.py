"""Addresses as proxies log them: `ip`, `ip:port`, `[v6]:port`, X-Forwarded-For lists.

The client-address rule (README, "Which address is the client"): the connection peer is the client
unless it is an internal address (our own load balancer or sidecar) and an X-Forwarded-For list came
with the request; then the client is the right-most X-Forwarded-For hop that is not internal, because
every hop left of the first one our own proxies appended can be written by the client itself.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Final

# Internal = addresses a company's own proxies sit on. Deliberately not `ipaddress.is_private`, which
# also counts the documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24) and would hide them.
_INTERNAL: Final = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
        "100.64.0.0/10", "::1/128", "fc00::/7", "fe80::/10",
    )
)


@lru_cache(maxsize=4096)
def split_address(value: str) -> tuple[str | None, int | None]:
    """`ip`, `ip:port`, `[v6]:port` or bare IPv6 to (canonical ip, port); (None, None) if not an IP."""
    s = value.strip().strip('"')
    port: int | None = None
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        s = host
    elif s.count(":") == 1:
        host, _, p = s.partition(":")
        if p.isdigit():
            s, port = host, int(p)
    s = s.split("%", 1)[0]  # an IPv6 zone id (fe80::1%eth0) is not part of the address
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return None, None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), port if port is not None and 0 < port < 65536 else None


@lru_cache(maxsize=4096)
def is_internal(ip: str) -> bool:
    """True for RFC 1918, loopback, link-local, CGNAT and IPv6 ULA addresses."""
    addr = ipaddress.ip_address(ip)
    return any(addr in net for net in _INTERNAL if net.version == addr.version)


def forwarded_hops(value: object) -> list[str]:
    """The valid IPs of an X-Forwarded-For value (a comma list or a JSON list), in order."""
    if isinstance(value, list):
        parts = [str(v) for v in value]
    elif isinstance(value, str):
        parts = value.split(",")
    else:
        return []
    hops = []
    for part in parts:
        ip, _ = split_address(part)
        if ip:
            hops.append(ip)
    return hops


def choose_client(peer: str | None, hops: list[str]) -> str | None:
    """The client address by the module rule: the peer, or a forwarded hop when the peer is internal."""
    if not hops or (peer is not None and not is_internal(peer)):
        return peer
    for hop in reversed(hops):
        if not is_internal(hop):
            return hop
    return hops[0]  # all internal: the first hop is the original client inside the network


def split_host(value: str) -> tuple[str, int | None]:
    """A Host / :authority value to (host, port); IPv6 literals lose their brackets."""
    s = value.strip()
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif s.count(":") == 1:
        host, _, port = s.partition(":")
    else:
        host, port = s, ""
    return host.rstrip(".").lower(), int(port) if port.isdigit() and 0 < int(port) < 65536 else None
