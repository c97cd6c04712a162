#!/usr/bin/env bash
# ipset side by side: the real ipset (kernel, in a network namespace of its own, root) and jnf ipset
# (through ./jnf, JVM start included; and in-process through the API, JMH IpsetBench).
# Usage: bench/ipset-bench.sh [ELEMENTS] [REPS]     (defaults 100000 and 5; medians in milliseconds)
#   JNF_BEFORE=DIR  also runs DIR/jnf (another checkout, e.g. a worktree of an older commit) in a column beside
#   JMH=0           leaves out the in-process JMH part
set -euo pipefail
n="${1:-100000}"
reps="${2:-5}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
ns="jnf-ipset-bench-$$"
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

python3 - "$n" > "$work/set.restore" <<'PY'
import sys
n = int(sys.argv[1])
print(f"create bench hash:ip maxelem {4 * n}")
for i in range(n):
    a = 0x0A000000 | i
    print(f"add bench {a >> 24 & 255}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}")
PY

jnf() { JNF_STATE_DIR="$work/state" "$root/jnf" ipset "$@"; }
old() { JNF_STATE_DIR="$work/state-before" "$JNF_BEFORE/jnf" ipset "$@"; }
"$root/jnf" version >/dev/null  # builds on first use

jr=$(for k in $(seq "$reps"); do rm -rf "$work/state"; ms jnf restore -file "$work/set.restore"; done | median)
ja=$(for k in $(seq "$reps"); do ms jnf add bench 192.0.2.$k; done | median)
jd=$(for k in $(seq "$reps"); do ms jnf del bench 192.0.2.$k; done | median)
jt=$(for k in $(seq "$reps"); do ms jnf test bench 10.0.0.$k; done | median)
# where one add's time goes (load: the sets, or "in place": the snapshot's index and the journal)
jtiming=$(JAVA_TOOL_OPTIONS=-Djnf.timing=true jnf add bench 192.0.2.200 2>&1 | grep jnf.timing || true)

br=-; ba=-; bd=-; bt=-; btiming=
if [ -n "${JNF_BEFORE:-}" ]; then
  "$JNF_BEFORE/jnf" version >/dev/null
  br=$(for k in $(seq "$reps"); do rm -rf "$work/state-before"; ms old restore -file "$work/set.restore"; done | median)
  ba=$(for k in $(seq "$reps"); do ms old add bench 192.0.2.$k; done | median)
  bd=$(for k in $(seq "$reps"); do ms old del bench 192.0.2.$k; done | median)
  bt=$(for k in $(seq "$reps"); do ms old test bench 10.0.0.$k; done | median)
  btiming=$(JAVA_TOOL_OPTIONS=-Djnf.timing=true old add bench 192.0.2.200 2>&1 | grep jnf.timing || true)
fi

kr=-; ka=-; kd=-; kt=-
if [ "$(id -u)" = 0 ] && command -v ipset >/dev/null && ip netns add "$ns" 2>/dev/null; then
  X="ip netns exec $ns"
  kr=$(for k in $(seq "$reps"); do $X ipset destroy bench 2>/dev/null || true; ms $X ipset restore -file "$work/set.restore"; done | median)
  ka=$(for k in $(seq "$reps"); do ms $X ipset add bench 192.0.2.$k; done | median)
  kd=$(for k in $(seq "$reps"); do ms $X ipset del bench 192.0.2.$k; done | median)
  kt=$(for k in $(seq "$reps"); do ms $X ipset test bench 10.0.0.$k; done | median)
fi

echo "ipset, hash:ip of $n elements, median of $reps, milliseconds per command (process start included)"
printf '%-34s %12s %12s %14s\n' "operation" "jnf ipset" "jnf before" "ipset (kernel)"
printf '%-34s %12s %12s %14s\n' "restore of $n elements" "$jr" "$br" "$kr"
printf '%-34s %12s %12s %14s\n' "add one element" "$ja" "$ba" "$ka"
printf '%-34s %12s %12s %14s\n' "del one element" "$jd" "$bd" "$kd"
printf '%-34s %12s %12s %14s\n' "test one element" "$jt" "$bt" "$kt"
echo "one add, -Djnf.timing=true: $jtiming"
[ -n "$btiming" ] && echo "one add before, -Djnf.timing=true: $btiming"

if [ "${JMH:-1}" = 1 ]; then
  echo
  echo "in-process (JMH IpsetBench, ns per operation; the kernel's per-packet cost is not measured here)"
  (cd "$root" && mvn -o -B -q package -pl bench -am -DskipTests >/dev/null)
  "${JAVA_HOME:+$JAVA_HOME/bin/}java" -cp "$root/bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*" -Djmh.ignoreLock=true org.openjdk.jmh.Main \
    IpsetBench -wi 2 -i 3 -w 1 -r 1 -f 1 2>/dev/null | grep -E '^(Benchmark|IpsetBench)'
fi
