#!/usr/bin/env python3
"""Sends crafted IPv4/IPv6 packets out of IFACE (in the peer namespace) and prints, per probe, the datagram
sent and every IP datagram the firewall namespace sent back within the probe's window, as hex:
    probe NAME
    sent HEX
    recv HEX
Called by record.sh; sysctls of the firewall namespace are changed through `ip netns exec`."""
import os, socket, struct, subprocess, sys, time

IFACE = sys.argv[1]
FW = os.environ.get("JNF_REPLIES_FW", "jnf-replies-fw")
MAC_FW = bytes.fromhex("0200000000a0")
MAC_PEER = bytes.fromhex("0200000000b0")
A4, B4, C4 = "10.99.0.1", "10.99.0.2", "10.99.0.3"
A6, B6, C6 = "fd99::1", "fd99::2", "fd99::3"

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def ip4(src, dst, proto, payload, tos=0, ident=0x1234, flags_frag=0x4000, ttl=64, options=b"", fix_l4=True):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + len(payload), ident, flags_frag, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload

def pseudo4(src, dst, proto, length):
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, length)

def pseudo6(src, dst, proto, length):
    return socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!IxxxB", length, proto)

def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", options=b"", window=29200, v6=False, bad=False):
    doff = 5 + len(options) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, window, 0, 0) + options + payload
    ph = (pseudo6 if v6 else pseudo4)(src, dst, 6, len(seg))
    c = csum(ph + seg) ^ (0x5555 if bad else 0)
    return seg[:16] + struct.pack("!H", c) + seg[18:]

def udp(src, dst, sport, dport, payload, v6=False, zero=False):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if zero:
        return seg
    ph = (pseudo6 if v6 else pseudo4)(src, dst, 17, len(seg))
    c = csum(ph + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]

def icmp(typ, code, rest, payload):
    m = struct.pack("!BBH", typ, code, 0) + rest + payload
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]

def ip6(src, dst, nxt, payload, tclass=0, flow=0, hlim=64):
    first = (6 << 28) | (tclass << 20) | flow
    return struct.pack("!IHBB", first, len(payload), nxt, hlim) + socket.inet_pton(socket.AF_INET6, src) + \
        socket.inet_pton(socket.AF_INET6, dst) + payload

def icmp6(src, dst, typ, code, rest, payload):
    m = struct.pack("!BBH", typ, code, 0) + rest + payload
    c = csum(pseudo6(src, dst, 58, len(m)) + m)
    return m[:2] + struct.pack("!H", c) + m[4:]

sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.bind((IFACE, 0))
sock.settimeout(0.02)

def drain():
    while True:
        try:
            sock.recv(65535)
        except socket.timeout:
            return

def send(datagram):
    et = 0x0800 if datagram[0] >> 4 == 4 else 0x86DD
    sock.send(MAC_FW + MAC_PEER + struct.pack("!H", et) + datagram)

def collect(window):
    got = []
    end = time.time() + window
    while time.time() < end:
        try:
            frame, addr = sock.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[4] != MAC_FW or addr[2] == socket.PACKET_OUTGOING:
            continue
        et = struct.unpack("!H", frame[12:14])[0]
        d = frame[14:]
        if et == 0x86DD and (d[24] == 0xFF or (d[6] == 58 and d[40] in (133, 134, 135, 136))):
            continue  # neighbour discovery and MLD
        if et in (0x0800, 0x86DD):
            got.append(d)
    return got

def fw_sysctl(name, value):
    subprocess.run(["ip", "netns", "exec", FW, "sysctl", "-qw", "%s=%s" % (name, value)], check=True)

def probe(name, datagrams, window=0.25, gap=0.0):
    drain()
    print("probe", name)
    for d in datagrams:
        print("sent", d.hex())
        send(d)
        if gap:
            time.sleep(gap)
    for r in collect(window):
        print("recv", r.hex())
    sys.stdout.flush()

fw_sysctl("net.ipv4.icmp_ratelimit", 0)
fw_sysctl("net.ipv6.icmp.ratelimit", 0)
time.sleep(0.3)

# ---- IPv4 REJECT with tcp-reset ----
probe("v4-tcp-syn-reset", [ip4(B4, A4, 6, tcp(B4, A4, 40000, 81, 1000, 0, 0x02,
      options=bytes.fromhex("020405b40402080a000000010000000001030307")), tos=0x10, ident=0x4321)])
probe("v4-tcp-ack-data-reset", [ip4(B4, A4, 6, tcp(B4, A4, 40001, 81, 2000, 5000, 0x18, payload=b"hello world"))])
probe("v4-tcp-fin-reset", [ip4(B4, A4, 6, tcp(B4, A4, 40002, 81, 3000, 0, 0x01, payload=b"abc"))])
probe("v4-tcp-rst-no-reply", [ip4(B4, A4, 6, tcp(B4, A4, 40003, 81, 4000, 0, 0x04))])
probe("v4-tcp-bad-checksum-no-reply", [ip4(B4, A4, 6, tcp(B4, A4, 40004, 81, 4000, 0, 0x02, bad=True))])
probe("v4-tcp-seq-log", [ip4(B4, A4, 6, tcp(B4, A4, 40005, 7000, 0xfffffff0, 77, 0x12,
      options=bytes.fromhex("020405b4010303070101080a0000000100000002"), window=512),
      options=bytes.fromhex("07070400000000" + "00"), flags_frag=0x4000, tos=0x03)])

# ---- IPv4 REJECT with ICMP ----
big = bytes(range(256)) * 3
probe("v4-udp-port-unreach", [ip4(B4, A4, 17, udp(B4, A4, 5000, 82, b"ping!"), tos=0x1c)])
probe("v4-udp-port-unreach-large", [ip4(B4, A4, 17, udp(B4, A4, 5001, 82, big[:700]), tos=0xb8, flags_frag=0)])
for port, kind in ((90, "net-unreach"), (91, "host-unreach"), (92, "proto-unreach"), (93, "net-prohib"),
                   (94, "host-prohib"), (95, "admin-prohib"), (96, "port-unreach")):
    probe("v4-with-" + kind, [ip4(B4, A4, 17, udp(B4, A4, 5002, port, b"x" * 16), tos=0x02)])
probe("v4-udp-zero-checksum", [ip4(B4, A4, 17, udp(B4, A4, 5003, 82, b"zero", zero=True))])
probe("v4-udp-bad-checksum-no-reply", [ip4(B4, A4, 17, udp(B4, A4, 5004, 82, b"bad")[:6] + b"\x12\x34" + b"bad")])
probe("v4-udp-first-fragment", [ip4(B4, A4, 17, udp(B4, A4, 5005, 82, b"y" * 40)[:24], ident=0x777, flags_frag=0x2000)])
probe("v4-udp-later-fragment-no-reply", [ip4(B4, A4, 17, b"z" * 16, ident=0x778, flags_frag=0x0003)])
probe("v4-icmp-echo", [ip4(B4, A4, 1, icmp(8, 0, struct.pack("!HH", 0x99, 1), b"echo-data"))])
inner = ip4(A4, B4, 17, udp(A4, B4, 53, 6000, b"q" * 12))
probe("v4-icmp-error-no-reply", [ip4(B4, A4, 1, icmp(3, 3, b"\0\0\0\0", inner))])
probe("v4-gre-proto", [ip4(B4, A4, 47, b"\x00\x00\x08\x00" + b"g" * 20)])
probe("v4-udp-options", [ip4(B4, A4, 17, udp(B4, A4, 5006, 82, b"opt"), options=bytes.fromhex("01010100"))])

# ---- IPv6 ----
probe("v6-tcp-syn-reset", [ip6(B6, A6, 6, tcp(B6, A6, 40000, 81, 1000, 0, 0x02, v6=True), tclass=0x28, flow=0x12345)])
probe("v6-tcp-ack-reset", [ip6(B6, A6, 6, tcp(B6, A6, 40001, 81, 2000, 5000, 0x18, payload=b"hello", v6=True))])
probe("v6-tcp-rst-no-reply", [ip6(B6, A6, 6, tcp(B6, A6, 40002, 81, 2000, 0, 0x04, v6=True))])
probe("v6-udp-port-unreach", [ip6(B6, A6, 17, udp(B6, A6, 5000, 82, b"ping6", v6=True), tclass=0x10)])
probe("v6-udp-port-unreach-large", [ip6(B6, A6, 17, udp(B6, A6, 5001, 82, (big * 2)[:1400], v6=True))])
for port, kind in ((90, "no-route"), (91, "adm-prohibited"), (92, "addr-unreach"), (93, "policy-fail"),
                   (94, "reject-route")):
    probe("v6-udp-" + kind, [ip6(B6, A6, 17, udp(B6, A6, 5002, port, b"x" * 8, v6=True))])
hbh = bytes([60, 0, 1, 4, 0, 0, 0, 0])          # hop-by-hop, next: destination options, PadN
dst = bytes([17, 0, 1, 4, 0, 0, 0, 0])          # destination options, next: UDP
probe("v6-udp-ext-headers", [ip6(B6, A6, 0, hbh + dst + udp(B6, A6, 5003, 82, b"ext", v6=True))])
frag = bytes([17, 0, 0, 1, 0, 0, 0, 0x42])      # fragment header, offset 0, M set
probe("v6-udp-first-fragment", [ip6(B6, A6, 44, frag + udp(B6, A6, 5004, 82, b"f" * 40, v6=True)[:24])])
probe("v6-icmp-echo", [ip6(B6, A6, 58, icmp6(B6, A6, 128, 0, struct.pack("!HH", 0x99, 1), b"echo6"))])
inner6 = ip6(A6, B6, 17, udp(A6, B6, 53, 6000, b"q" * 8, v6=True))
probe("v6-icmp-error-no-reply", [ip6(B6, A6, 58, icmp6(B6, A6, 1, 4, b"\0\0\0\0", inner6))])

# ---- rate limits: fresh peers, default ratelimits ----
fw_sysctl("net.ipv4.icmp_ratelimit", 1000)
fw_sysctl("net.ipv6.icmp.ratelimit", 100)
time.sleep(0.3)
probe("v4-ratelimit-10-udp", [ip4(C4, A4, 17, udp(C4, A4, 7000 + i, 82, b"r")) for i in range(10)], window=0.3)
time.sleep(0.7)
probe("v4-ratelimit-after-1s-10-udp", [ip4(C4, A4, 17, udp(C4, A4, 7100 + i, 82, b"r")) for i in range(10)],
      window=0.3)
probe("v6-ratelimit-10-udp", [ip6(C6, A6, 17, udp(C6, A6, 7000 + i, 82, b"r", v6=True)) for i in range(10)],
      window=0.3)
