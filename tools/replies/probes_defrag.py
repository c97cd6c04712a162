#!/usr/bin/env python3
"""Fragment probes for record-defrag.sh.
  send IFACE      in the source namespace: sends each probe's fragments to the router, prints
                  "probe NAME t0 t1", "sent HEX", and "back HEX" for what came back to the source
  listen IFACE    in the destination namespace: prints "TIME HEX" for every IP datagram received
  merge SRC DST   joins both: per probe, "fwd HEX" lines for what reached the destination in its window"""
import os, socket, struct, subprocess, sys, time

RTR = os.environ.get("JNF_REPLIES_RTR", "jnf-replies-rtr")

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def ip4(src, dst, proto, payload, ident, frag, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload

def udp4(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(seg)) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]

def frags4(src, dst, ident, l4, cuts, df=False):
    out = []
    for i, (a, b) in enumerate(cuts):
        more = 0x2000 if i < len(cuts) - 1 else 0
        out.append(ip4(src, dst, 17, l4[a:b], ident, (0x4000 if df else 0) | more | (a >> 3)))
    return out

def udp6(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    ph = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!IxxxB", len(seg), 17)
    c = csum(ph + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]

def frags6(src, dst, ident, l4, cuts):
    out = []
    for i, (a, b) in enumerate(cuts):
        more = 1 if i < len(cuts) - 1 else 0
        fh = struct.pack("!BBHI", 17, 0, a | more, ident)
        payload = fh + l4[a:b]
        out.append(struct.pack("!IHBB", 6 << 28, len(payload), 44, 64) + socket.inet_pton(socket.AF_INET6, src)
                   + socket.inet_pton(socket.AF_INET6, dst) + payload)
    return out

def raw(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(0.02)
    return s

def ip_of(frame, addr, mine):
    if addr[2] == socket.PACKET_OUTGOING:
        return None
    et = struct.unpack("!H", frame[12:14])[0]
    d = frame[14:]
    if et == 0x86DD and (d[24] == 0xFF or (d[6] == 58 and d[40] in (133, 134, 135, 136))):
        return None
    return d if et in (0x0800, 0x86DD) else None

def send_mode(iface):
    s = raw(iface)
    rtr = bytes.fromhex("020000000101")
    me = bytes.fromhex("020000000102")
    def probe(name, datagrams, wait=0.3, before=None):
        if before:
            subprocess.run(before, check=True)
        t0 = time.time()
        print("probe", name, "%.6f" % t0)
        for d in datagrams:
            print("sent", d.hex())
            et = 0x0800 if d[0] >> 4 == 4 else 0x86DD
            s.send(rtr + me + struct.pack("!H", et) + d)
        end = time.time() + wait
        while time.time() < end:
            try:
                frame, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            d = ip_of(frame, addr, me)
            if d is not None:
                print("back", d.hex())
        print("end %.6f" % time.time())
        sys.stdout.flush()
    S4, D4, R4 = "10.98.1.2", "10.98.2.2", "10.98.1.1"
    S6, D6, R6 = "fd98:1::2", "fd98:2::2", "fd98:1::1"
    data = bytes((i * 7) & 0xFF for i in range(3000))
    l4 = udp4(S4, D4, 4000, 9999, data)
    three = [(0, 1480), (1480, 2960), (2960, len(l4))]
    probe("v4-in-order", frags4(S4, D4, 0x100, l4, three))
    probe("v4-in-order-df", frags4(S4, D4, 0x101, l4, three, df=True))
    probe("v4-out-of-order", list(reversed(frags4(S4, D4, 0x102, l4, [(0, 1000), (1000, 2000), (2000, len(l4))]))))
    probe("v4-overlap-dropped", frags4(S4, D4, 0x103, l4, [(0, 1480), (1000, 2480), (2480, len(l4))]))
    probe("v4-duplicate-ignored", frags4(S4, D4, 0x104, l4, [(0, 1480), (0, 1480), (1480, 2960), (2960, len(l4))])[:1]
          + frags4(S4, D4, 0x104, l4, three))
    mtu = ["ip", "netns", "exec", RTR, "ip", "link", "set", "r1", "mtu", "1300"]
    probe("v4-egress-mtu-1300", frags4(S4, D4, 0x105, l4, three), before=mtu)
    probe("v4-egress-mtu-1300-df", frags4(S4, D4, 0x106, l4, three, df=True))
    subprocess.run(["ip", "netns", "exec", RTR, "ip", "link", "set", "r1", "mtu", "1500"], check=True)
    l4r = udp4(S4, R4, 4000, 9999, data)
    probe("v4-expire-forwarded", frags4(S4, D4, 0x107, l4, three)[:1], wait=3.5)
    probe("v4-expire-local", frags4(S4, R4, 0x108, l4r, three)[:1], wait=3.5)
    probe("v4-expire-forwarded-no-first", frags4(S4, D4, 0x109, l4, three)[1:2], wait=3.5)
    l6 = udp6(S6, D6, 4000, 9999, data)
    six = [(0, 1232), (1232, 2464), (2464, len(l6))]
    probe("v6-in-order", frags6(S6, D6, 0x200, l6, six))
    probe("v6-out-of-order", list(reversed(frags6(S6, D6, 0x201, l6, six))))
    probe("v6-overlap-dropped", frags6(S6, D6, 0x202, l6, [(0, 1232), (1000, 2232), (2464, len(l6))]))
    l6r = udp6(S6, R6, 4000, 9999, data)
    probe("v6-expire-forwarded", frags6(S6, D6, 0x203, l6, six)[:1], wait=3.5)
    probe("v6-expire-local", frags6(S6, R6, 0x204, l6r, six)[:1], wait=3.5)

def listen_mode(iface, ready=None):
    s = raw(iface)
    if ready:
        # the socket is bound: the sender may start (under load the interpreter's start-up alone can take
        # longer than any fixed sleep)
        open(ready, "w").close()
    while True:
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        d = ip_of(frame, addr, None)
        if d is not None:
            print("%.6f %s" % (time.time(), d.hex()))
            sys.stdout.flush()

def merge(src, dst):
    arrivals = []
    for line in open(dst):
        t, h = line.split()
        arrivals.append((float(t), h))
    lines = open(src).read().split("\n")
    start = None
    for line in lines:
        if not line:
            continue
        w = line.split()
        if w[0] == "probe":
            start = float(w[2])
            print("probe", w[1])
        elif w[0] == "end":
            for t, h in arrivals:
                if start <= t <= float(w[1]):
                    print("fwd", h)
        else:
            print(line)

if __name__ == "__main__":
    if sys.argv[1] == "send":
        send_mode(sys.argv[2])
    elif sys.argv[1] == "listen":
        listen_mode(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        merge(sys.argv[2], sys.argv[3])
