#!/usr/bin/env bash
# Records what the Linux kernel answers to crafted packets (REJECT replies, ICMP errors and their rate
# limits, LOG lines) in two network namespaces of its own, and writes the fixtures the reply tests compare
# against byte for byte: core/src/test/resources/reply/kernel-replies.txt and kernel-log-lines.txt.
# Needs root, ip netns, iptables-legacy, ip6tables-legacy, python3. Usage: tools/replies/record.sh [OUTDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../core/src/test/resources/reply}
mkdir -p "$out"
# one recording at a time on this machine (nf_log_all_netns is global), namespaces named per run
exec 9>/tmp/jnf-replies-record.lock
flock -w 600 9
A=jnf-replies-fw-$$
B=jnf-replies-peer-$$
export JNF_REPLIES_FW=$A
cleanup() {
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
  if [ -n "${old_log_all:-}" ]; then echo "$old_log_all" > /proc/sys/net/netfilter/nf_log_all_netns; fi
}
trap cleanup EXIT
cleanup
ip netns add $A
ip netns add $B
ip -n $A link add a0 type veth peer name b0 netns $B
ip -n $A link set lo up; ip -n $B link set lo up
ip -n $A addr add 10.99.0.1/24 dev a0
ip -n $B addr add 10.99.0.2/24 dev b0
ip -n $A addr add fd99::1/64 dev a0 nodad
ip -n $B addr add fd99::2/64 dev b0 nodad
ip -n $A link set a0 address 02:00:00:00:00:a0 up
ip -n $B link set b0 address 02:00:00:00:00:b0 up
ip -n $A neigh add 10.99.0.2 lladdr 02:00:00:00:00:b0 dev a0
ip -n $B neigh add 10.99.0.1 lladdr 02:00:00:00:00:a0 dev b0
ip -n $A neigh add fd99::2 lladdr 02:00:00:00:00:b0 dev a0
# fresh peers for the rate-limit probes
ip -n $B addr add 10.99.0.3/24 dev b0
ip -n $B addr add fd99::3/64 dev b0 nodad
ip -n $A neigh add 10.99.0.3 lladdr 02:00:00:00:00:b0 dev a0
ip -n $A neigh add fd99::3 lladdr 02:00:00:00:00:b0 dev a0
ip -n $B neigh add fd99::1 lladdr 02:00:00:00:00:a0 dev b0
# LOG lines of other namespaces reach the kernel log only with nf_log_all_netns (restored on exit)
old_log_all=$(cat /proc/sys/net/netfilter/nf_log_all_netns)
echo 1 > /proc/sys/net/netfilter/nf_log_all_netns
ip netns exec $A iptables-restore -w < "$here/rules.v4"
ip netns exec $A ip6tables-restore -w < "$here/rules.v6"
sleep 1
marker="jnf-replies-record-$$-$(date +%s%N)"
echo "$marker" > /dev/kmsg
ip netns exec $B python3 "$here/probes.py" b0 > "$out/kernel-replies.txt"
sleep 0.5
dmesg | sed -n "/$marker/,\$p" | grep -o 'jnf-[a-z0-9]*: .*' > "$out/kernel-log-lines.txt" || true
echo "wrote $out/kernel-replies.txt ($(grep -c '^probe' "$out/kernel-replies.txt") probes), $(wc -l < "$out/kernel-log-lines.txt") log lines"
