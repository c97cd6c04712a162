#!/usr/bin/env bash
# Per-packet classification, jnetfilter's classifier (ClassifiedWalk) beside the linear reference
# (TableWalk, = ipt_do_table) in the same run, with memory per rule and compile/update costs.
# Workloads (issue 5): 50k non-matching `-d X/32 -p udp --dport 80` rules; the nat PREROUTING walk of a
# new connection at kubegen.py 20000 (160k rules); ClassBench acl1/fw1/ipc1 10k with their traces; 100k
# generated rules. The kernel's figures for the first are in ../shared/bench/README.md.
# Usage: bench/classify-bench.sh [JMH_OPTIONS...]   (default: -f 1 -wi 2 -i 3 -w 1s -r 2s: brief)
#        bench/classify-bench.sh memory     the memory table alone: bytes per rule at kubegen 1k-20k services,
#        ClassBench 10k, 50k host rules and 100k generated, beside the kernel's (root: iptables-legacy-restore
#        in a network namespace; its table size from IPT_SO_GET_INFO plus 16 bytes of counters per rule and CPU)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared/bench"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
java="$JAVA_HOME/bin/java"
suffix="${JNF_SUFFIX:--bench}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

(cd "$root" && mvn -o -B -q package -DskipTests -Djnf.suffix="$suffix" -pl core,io,iptables,bench) >&2
cp="$root/bench/target$suffix/classes:$root/bench/target$suffix/lib/*"

for s in acl1 fw1 ipc1; do
  python3 "$shared/classbench/classbench2iptables.py" "$shared/classbench/${s}_10k" > "$work/$s.save"
  ln -s "$shared/classbench/${s}_10k_trace" "$work/${s}_trace"
done
python3 "$shared/kubegen.py" 20000 > "$work/kube20k.save"

if [ "${1:-}" = memory ]; then
  for n in 1000 5000 10000; do python3 "$shared/kubegen.py" "$n" > "$work/kube$((n / 1000))k.save"; done
  for s in host50k gen100k; do
    "$java" -cp "$cp" org.jnetfilter.bench.ClassifyFigures save "$s" > "$work/$s.save"
  done
  echo "memory per rule (bytes; jnetfilter: heap after full collections, rules parsed, classifiers compiled)"
  printf '%-9s %8s %12s %12s %10s %16s\n' workload rules "jnf rules" "classifier" "jnf total" "kernel (legacy)"
  ns="jnf-classify-mem-$$"
  for s in kube1k kube5k kube10k kube20k acl1 fw1 ipc1 host50k gen100k; do
    "$java" -Xmx4g -XX:+UseSerialGC -Djnf.bench.memoryOnly=true -Djnf.bench.dir="$work" -cp "$cp" \
      org.jnetfilter.bench.ClassifyFigures "$s" > "$work/mem.tsv"
    rules=$(awk -F'\t' '$2=="rules"{print $3}' "$work/mem.tsv")
    r=$(awk -F'\t' '$2=="bytesPerRule"{print $3}' "$work/mem.tsv")
    c=$(awk -F'\t' '$2=="classifierBytesPerRule"{print $3}' "$work/mem.tsv")
    k=-
    if [ "$(id -u)" = 0 ] && [ -f "$work/$s.save" ] && command -v iptables-legacy-restore >/dev/null \
        && ip netns add "$ns" 2>/dev/null; then
      if ip netns exec "$ns" iptables-legacy-restore < "$work/$s.save" 2>/dev/null; then
        read -r entries size < <(ip netns exec "$ns" python3 "$root/bench/ipt-table-size.py" filter nat mangle raw)
        k=$(( size / rules + 16 * $(nproc) ))
      fi
      ip netns del "$ns"
    fi
    printf '%-9s %8s %12s %12s %10s %16s\n' "$s" "$rules" "$r" "$c" "$((r + c))" "$k"
  done
  exit 0
fi

opts=("$@"); [ ${#opts[@]} -eq 0 ] && opts=(-f 1 -wi 2 -i 3 -w 1s -r 2s)
for s in host50k kube20k acl1 fw1 ipc1 gen100k chains; do
  "$java" -Xmx4g -XX:+UseSerialGC -Djnf.bench.dir="$work" -cp "$cp" org.jnetfilter.bench.ClassifyFigures "$s" \
    >> "$work/figures.tsv"
done
"$java" -Xmx4g -cp "$cp" org.openjdk.jmh.Main ClassifyBench "${opts[@]}" -jvmArgs "-Xmx4g -Djnf.bench.dir=$work" \
  -rf csv -rff "$work/jmh.csv" >&2

python3 - "$work/figures.tsv" "$work/jmh.csv" <<'PY'
import csv, sys
fig = {}
for line in open(sys.argv[1]):
    k, f, v = line.rstrip("\n").split("\t", 2)
    fig[(k, f)] = v
ns = {}
for row in csv.DictReader(open(sys.argv[2])):
    ns[(row["Param: scenario"], row["Param: walk"])] = (float(row["Score"]), float(row["Score Error (99.9%)"] or 0))
target = {"host50k": 150, "acl1": 500, "fw1": 500, "ipc1": 500, "gen100k": 1000}
print("per-packet classification, ns/packet on one core, linear reference (TableWalk) beside the classifier:")
print("JMH avgt (wall clock) and thread CPU time per packet (less inflated when the machine is shared)")
print(f"{'workload':10} {'rules':>8} {'linear ns':>12} {'classified ns':>14} {'linear cpu':>11} {'class. cpu':>11} "
      f"{'speed-up':>9} {'target':>7} {'B/rule rules':>13} {'B/rule classifier':>18}  {'verdicts':>12}  largest chain  note")
for s in ["host50k", "kube20k", "acl1", "fw1", "ipc1", "gen100k"]:
    lin = ns.get((s, "linear"), (float("nan"), 0))[0]
    cla = ns.get((s, "classified"), (float("nan"), 0))[0]
    t = target.get(s)
    print(f"{s:10} {fig[(s,'rules')]:>8} {lin:12,.0f} {cla:14,.0f} {int(fig[(s,'cpuNsLinear')]):11,} "
          f"{int(fig[(s,'cpuNsClassified')]):11,} {lin/cla:8.0f}x {('≤'+str(t)) if t else '-':>7} "
          f"{fig[(s,'bytesPerRule')]:>13} {fig[(s,'classifierBytesPerRule')]:>18}  "
          f"{'equal ' + fig[(s,'mismatches')].split('/')[1] if fig[(s,'mismatches')].startswith('0/') else 'DIFFER ' + fig[(s,'mismatches')]:>12}  "
          f"{fig[(s,'largestChain')]}  {fig[(s,'note')] if fig[(s,'note')] != '-' else ''}")
print()
print("one chain of N host rules: compile from scratch (median of 5), one rule replaced (median of 40; "
      "the RuleList change itself beside it)")
for n in ["50000", "160000"]:
    k = "chain" + n
    print(f"{n:>7} rules: compile {fig[(k,'compileMs')]} ms, one-rule update {fig[(k,'updateUs')]} µs "
          f"(RuleList {fig[(k,'ruleListUpdateUs')]} µs), classifier {fig[(k,'classifierBytesPerRule')]} B/rule")
PY
