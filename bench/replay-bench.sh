#!/usr/bin/env bash
# jnf replay throughput: a capture of N forwarded packets (TCP and UDP from 1,000 clients to 100 servers,
# 64 to 1500 bytes, Ethernet) through a router with a 20-rule filter ruleset, with and without --verdicts.
# Usage: bench/replay-bench.sh [PACKETS=1000000]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-1000000}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cat > "$work/host" <<'H'
link add eth0 address 02:00:00:00:00:01
addr add 10.0.0.1/16 dev eth0
link add eth1 address 02:00:00:00:00:02
addr add 10.1.0.1/16 dev eth1
neigh add 10.1.0.254 lladdr 02:00:00:00:01:fe dev eth1
route add default via 10.1.0.254 dev eth1
sysctl net.ipv4.ip_forward=1
H
{
  echo '*filter'; echo ':INPUT ACCEPT [0:0]'; echo ':FORWARD DROP [0:0]'; echo ':OUTPUT ACCEPT [0:0]'
  for i in $(seq 1 18); do echo "-A FORWARD -s 10.9.$i.0/24 -p tcp -m tcp --dport $((1000 + i)) -j DROP"; done
  echo '-A FORWARD -p tcp -m tcp --dport 80 -j ACCEPT'
  echo '-A FORWARD -p udp -m udp --dport 53 -j ACCEPT'
  echo 'COMMIT'
} > "$work/rules"
python3 - "$n" "$work/in.pcap" <<'PY'
import struct, sys, random
n, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(1)
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
frames = []
for k in range(4096):
    src = bytes([10, 0, rnd.randrange(1, 4), rnd.randrange(1, 250)]); dst = bytes([192, 0, 2, rnd.randrange(1, 100)])
    size = rnd.choice([64, 64, 128, 576, 1500]) - 14
    if k % 4 == 0:
        proto, l4 = 17, struct.pack('!HHHH', rnd.randrange(1024, 65535), 53, size - 20, 0) + bytes(size - 28)
    else:
        l4 = struct.pack('!HHIIBBHHH', rnd.randrange(1024, 65535), 80, 1, 1, 0x50, 0x10, 65535, 0, 0) + bytes(size - 40)
        proto = 6
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, size, k, 0x4000, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    pseudo = src + dst + struct.pack('!BBH', 0, proto, len(l4))
    c = csum(pseudo + l4)
    l4 = l4[:16] + struct.pack('!H', c) + l4[18:] if proto == 6 else l4[:6] + struct.pack('!H', c or 0xffff) + l4[8:]
    frames.append(b'\x02\0\0\0\0\x01' + b'\x02\0\0\0\x09\x09' + b'\x08\x00' + ip + l4)
with open(path, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
    out = []
    for i in range(n):
        fr = frames[i % len(frames)]
        out.append(struct.pack('<IIII', 1700000000 + i // 1000000, i % 1000000, len(fr), len(fr)) + fr)
        if len(out) == 65536:
            f.write(b''.join(out)); out = []
    f.write(b''.join(out))
PY
"$root/jnf" version >/dev/null
# prints "WALL_MS LOOP_MS": the whole command (JVM start included) and the replay loop alone (jnf.timing)
run() {
  local s e loop; s=$(date +%s%N)
  loop=$(JAVA_TOOL_OPTIONS=-Djnf.timing=true "$root/jnf" replay --host "$work/host" --rules "$work/rules" \
    --in "$work/in.pcap" --iface eth0 --out "$work/out.pcapng" "$@" 2>&1 >/dev/null | sed -n 's/.*replay loop [0-9]* packets in \([0-9]*\) ms.*/\1/p')
  e=$(date +%s%N); echo "$(( (e - s) / 1000000 )) $loop"
}
read -r plain plainLoop < <(run); read -r verd verdLoop < <(run --verdicts "$work/v.jsonl")
out=$(stat -c %s "$work/out.pcapng")
echo "jnf replay of $n packets ($(stat -c %s "$work/in.pcap") bytes of pcap; 20-rule filter)"
printf '%-22s %9s %14s %12s %14s\n' "" "wall ms" "packets/s" "loop ms" "packets/s"
printf '%-22s %9s %14s %12s %14s\n' "replay" "$plain" "$(( n * 1000 / plain ))" "$plainLoop" "$(( n * 1000 / plainLoop ))"
printf '%-22s %9s %14s %12s %14s\n' "replay --verdicts" "$verd" "$(( n * 1000 / verd ))" "$verdLoop" "$(( n * 1000 / verdLoop ))"
echo "(wall: the whole command, JVM start included; loop: reading, the datapath and writing, after start-up)"
echo "output: $out bytes"
