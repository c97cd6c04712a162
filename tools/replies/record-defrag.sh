#!/usr/bin/env bash
# Records what a Linux router with conntrack (hence nf_defrag_ipv4/ipv6) does with fragments: how it
# forwards a reassembled datagram (refragmentation), what it drops, and which ICMP errors expired queues
# produce (forwarded and local destinations). Three namespaces of its own: src -- rtr -- dst. Writes
# core/src/test/resources/reply/kernel-defrag.txt. Needs root, ip netns, iptables-legacy, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../core/src/test/resources/reply}
mkdir -p "$out"
exec 9>/tmp/jnf-replies-record.lock
flock -w 600 9
S=jnf-replies-src-$$; R=jnf-replies-rtr-$$; D=jnf-replies-dst-$$
export JNF_REPLIES_RTR=$R
cleanup() { for n in $S $R $D; do ip netns del $n 2>/dev/null || true; done; }
trap cleanup EXIT
# KEEP=1 leaves the namespaces for a look (delete them with ip netns del)
[ -n "${KEEP:-}" ] && trap - EXIT
cleanup
for n in $S $R $D; do ip netns add $n; ip -n $n link set lo up; done
ip -n $S link add s0 type veth peer name r0 netns $R
ip -n $R link add r1 type veth peer name d0 netns $D
ip -n $S link set s0 address 02:00:00:00:01:02 up
ip -n $R link set r0 address 02:00:00:00:01:01 up
ip -n $R link set r1 address 02:00:00:00:02:01 up
ip -n $D link set d0 address 02:00:00:00:02:02 up
ip -n $S addr add 10.98.1.2/24 dev s0; ip -n $S addr add fd98:1::2/64 dev s0 nodad
ip -n $R addr add 10.98.1.1/24 dev r0; ip -n $R addr add fd98:1::1/64 dev r0 nodad
ip -n $R addr add 10.98.2.1/24 dev r1; ip -n $R addr add fd98:2::1/64 dev r1 nodad
ip -n $D addr add 10.98.2.2/24 dev d0; ip -n $D addr add fd98:2::2/64 dev d0 nodad
ip -n $S route add default via 10.98.1.1; ip -n $S -6 route add default via fd98:1::1
ip -n $D route add default via 10.98.2.1; ip -n $D -6 route add default via fd98:2::1
ip -n $S neigh add 10.98.1.1 lladdr 02:00:00:00:01:01 dev s0; ip -n $S neigh add fd98:1::1 lladdr 02:00:00:00:01:01 dev s0
ip -n $R neigh add 10.98.1.2 lladdr 02:00:00:00:01:02 dev r0; ip -n $R neigh add fd98:1::2 lladdr 02:00:00:00:01:02 dev r0
ip -n $R neigh add 10.98.2.2 lladdr 02:00:00:00:02:02 dev r1; ip -n $R neigh add fd98:2::2 lladdr 02:00:00:00:02:02 dev r1
ip -n $D neigh add 10.98.2.1 lladdr 02:00:00:00:02:01 dev d0; ip -n $D neigh add fd98:2::1 lladdr 02:00:00:00:02:01 dev d0
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.ipfrag_time=2
ip netns exec $R sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
for t in iptables-legacy ip6tables-legacy; do
  ip netns exec $R $t -A FORWARD -m conntrack --ctstate NEW,ESTABLISHED,RELATED,INVALID -j ACCEPT
  ip netns exec $R $t -A INPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED,INVALID -j ACCEPT
done
ip netns exec $R sysctl -qw net.netfilter.nf_conntrack_frag6_timeout=2
rm -f /tmp/jnf-replies-ready.$$
ip netns exec $D timeout 40 python3 "$here/probes_defrag.py" listen d0 /tmp/jnf-replies-ready.$$ > /tmp/jnf-replies-dst.$$ &
listener=$!
for i in $(seq 200); do [ -e /tmp/jnf-replies-ready.$$ ] && break; sleep 0.05; done
[ -e /tmp/jnf-replies-ready.$$ ] || { echo "the listener in $D did not start" >&2; exit 1; }
ip netns exec $S python3 "$here/probes_defrag.py" send s0 > /tmp/jnf-replies-src.$$
sleep 0.3
kill $listener 2>/dev/null || true
wait $listener 2>/dev/null || true
python3 "$here/probes_defrag.py" merge /tmp/jnf-replies-src.$$ /tmp/jnf-replies-dst.$$ > "$out/kernel-defrag.txt"
rm -f /tmp/jnf-replies-src.$$ /tmp/jnf-replies-dst.$$ /tmp/jnf-replies-ready.$$
echo "wrote $out/kernel-defrag.txt ($(grep -c '^probe' "$out/kernel-defrag.txt") probes)"
