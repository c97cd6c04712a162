#!/usr/bin/env bash
# End-to-end timings of the iptables language at Kubernetes scale, jnetfilter beside the kernel, in one
# run: restore of kubegen.py N (N services, 8 rules each) into an empty state, save of it, one -A into it
# through the CLI (JVM start included). The kernel is measured in a network namespace of the script's
# own when root with iptables-legacy/-nft; otherwise those columns say "n/a". Then issue 5's full restore
# in-process (RestoreFigures: Transactions.restore from an empty ruleset, and Iptables.run of
# iptables-restore into an empty state directory), and jnetfilter's restore as a ratio of legacy's.
# On a machine others are loading, JNF_BENCH_PRIO runs every timed command (jnetfilter's and the kernel's alike)
# under a prefix that puts it ahead of them, e.g. JNF_BENCH_PRIO="chrt -r 50" (round-robin real-time: the
# command's own threads still share the cores fairly, the JIT compiler thread included; "chrt -f" would starve it).
# Usage: bench/language-bench.sh [SERVICES=20000] [REPEATS=5]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-20000}"; reps="${2:-5}"
ns="${JNF_BENCH_NETNS:-jnf-bench}"   # the network namespace of the kernel columns
work="$(mktemp -d)"; trap 'rm -rf "$work"; ip netns del "$ns" 2>/dev/null || true' EXIT
python3 "$root/../shared/bench/kubegen.py" "$n" > "$work/rules.save"
rules=$(grep -c '^-A' "$work/rules.save")
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
(cd "$root" && mvn -o -B -q package -DskipTests -pl bench -am) >&2
"$root/jnf" version >/dev/null   # build and AOT cache first

read -r -a prio <<<"${JNF_BENCH_PRIO:-}"
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
# CPU time (user + system, ms) of a command and its children: steadier than wall time on a shared machine
cpu_ms() { local t; t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 ) || { echo "FAILED: $*" >&2; return 1; }
  awk '{printf "%d\n", ($1 + $2) * 1000}' <<<"$t"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

jnf_restore() { rm -rf "$work/state"; JNF_STATE_DIR="$work/state" "${prio[@]}" "$root/jnf" iptables-restore "$work/rules.save"; }
jnf_save() { JNF_STATE_DIR="$work/state" "${prio[@]}" "$root/jnf" iptables-save; }
i=0
jnf_append() { i=$((i+1)); JNF_STATE_DIR="$work/state" "${prio[@]}" "$root/jnf" iptables -t nat -A KUBE-SERVICES -d 10.200.$((i/250)).$((i%250))/32 -p tcp -m comment --comment bench -m tcp --dport 80 -j KUBE-MARK-MASQ; }

row() { printf '%-34s %12s %12s %12s\n' "$@"; }
jr=$(for _ in $(seq "$reps"); do ms jnf_restore; done | median)
jrc=$(for _ in $(seq "$reps"); do cpu_ms jnf_restore; done | median)
js=$(for _ in $(seq "$reps"); do ms jnf_save; done | median)
ja=$(for _ in $(seq "$reps"); do ms jnf_append; done | median)

kr=n/a; ks=n/a; ka=n/a; nr=n/a; ns_=n/a; na=n/a
if [ "$(id -u)" = 0 ] && command -v iptables-legacy >/dev/null && ip netns add "$ns" 2>/dev/null; then
  X="${JNF_BENCH_PRIO:+$JNF_BENCH_PRIO }ip netns exec $ns"
  kr=$(for _ in $(seq "$reps"); do ms $X iptables-legacy-restore "$work/rules.save"; done | median)
  ks=$(for _ in $(seq "$reps"); do ms $X iptables-legacy-save; done | median)
  ka=$(for k in $(seq "$reps"); do ms $X iptables-legacy -t nat -A KUBE-SERVICES -d 10.201.0.$k/32 -p tcp -m comment --comment bench -m tcp --dport 80 -j KUBE-MARK-MASQ; done | median)
  $X iptables-legacy -t nat -F; $X iptables-legacy -t nat -X; $X iptables-legacy -F; $X iptables-legacy -X
  if command -v iptables-nft >/dev/null; then
    nr=$(for _ in $(seq "$reps"); do ms $X iptables-nft-restore "$work/rules.save"; done | median)
    ns_=$(for _ in $(seq "$reps"); do ms $X iptables-nft-save; done | median)
    na=$(for k in $(seq "$reps"); do ms $X iptables-nft -t nat -A KUBE-SERVICES -d 10.201.0.$k/32 -p tcp -m comment --comment bench -m tcp --dport 80 -j KUBE-MARK-MASQ; done | median)
  fi
fi
echo "kubegen.py $n: $rules rules; median of $reps runs, milliseconds, JVM start included for jnf${JNF_BENCH_PRIO:+ (each command under $JNF_BENCH_PRIO)}"
row "" "jnetfilter" "legacy" "nft"
row "restore into empty state" "$jr" "$kr" "$nr"
row "save" "$js" "$ks" "$ns_"
row "one -A through the CLI" "$ja" "$ka" "$na"
echo "jnetfilter restore CPU time (user + system, median): $jrc ms"
if [ "$kr" != n/a ]; then
  awk -v j="$jr" -v k="$kr" 'BEGIN {printf "restore, jnetfilter CLI / iptables-legacy-restore: %.2f\n", j / k}'
fi
# issue 5's full restore through the in-process API (one JVM; medians after as many warm-up runs)
"${prio[@]}" "$JAVA_HOME/bin/java" -XX:+UseParallelGC -Xms2g -Xmn1536m \
  -cp "$root/bench/target/jnetfilter-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*" \
  org.jnetfilter.bench.RestoreFigures "$work" "$work/rules.save" "$reps" | tr '=' ' ' |
  awk '{printf "in-process full restore: Transactions.restore %s ms, Iptables.run into a state directory %s ms (%s MB allocated)\n", $5, $7, $9}'
