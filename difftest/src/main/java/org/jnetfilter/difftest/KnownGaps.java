package org.jnetfilter.difftest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The known-gaps file: what the harness may not yet generate or compare, each with its reason, one a
 * line as {@code key: reason}. Only the keys in {@link #KEYS} exist; an unknown key is an error, so a
 * gap cannot be listed for something the harness does not know. Every gap in force is printed with
 * the run's figures; the list only shrinks as jnetfilter gains the features.
 */
public final class KnownGaps {
    /** The gaps the harness understands, and what each turns off. */
    public static final Map<String, String> KEYS = Map.ofEntries(
            Map.entry("generate.conntrack", "rules with ctstate/state/connmark matches and CONNMARK/CT targets"),
            Map.entry("generate.nat", "rules in the nat table"),
            Map.entry("generate.reject", "REJECT targets"),
            Map.entry("generate.mangle-targets", "TTL/HL/TOS/DSCP/TCPMSS targets"),
            Map.entry("generate.tcpmss", "TCPMSS --set-mss targets"),
            Map.entry("generate.local-fragments", "fragments addressed to dut itself"),
            Map.entry("generate.statistic-nth", "statistic --mode nth matches"),
            Map.entry("generate.ipv4-no-route", "IPv4 packets to destinations without a route"),
            Map.entry("generate.limit", "limit matches"),
            Map.entry("generate.hashlimit", "hashlimit matches"),
            Map.entry("generate.recent", "recent matches"),
            Map.entry("generate.time", "time matches"),
            Map.entry("generate.connlimit", "connlimit matches"),
            Map.entry("generate.ipset", "set matches and SET targets (and the sets' members)"),
            Map.entry("generate.owner", "owner matches"),
            Map.entry("generate.cluster", "cluster matches"),
            Map.entry("generate.bpf", "bpf matches"),
            Map.entry("generate.osf", "osf matches"),
            Map.entry("generate.srh", "srh matches and IPv6 packets with a Segment Routing Header"),
            Map.entry("generate.helper", "helper matches and CT --helper targets"),
            Map.entry("generate.hmark", "HMARK targets"),
            Map.entry("generate.tee", "TEE targets"),
            Map.entry("generate.tee-ipv6-early", "TEE targets in IPv6 PREROUTING and INPUT chains"),
            Map.entry("generate.npt", "SNPT and DNPT targets"),
            Map.entry("generate.ipv4-options", "IPv4 packets with options"),
            Map.entry("compare.conntrack", "the conntrack table"),
            Map.entry("compare.packets", "the frames dut sends (forwarded, generated)"),
            Map.entry("compare.counters", "per-rule and policy counters"),
            Map.entry("workaround.nat-table-conntrack",
                    "the engine is told to track only while a rule asks for it, not for the nat table alone"),
            Map.entry("engine", "the whole jnetfilter side (nothing to compare with yet)"));

    private final Map<String, String> reasonByKey;

    private KnownGaps(Map<String, String> reasonByKey) {
        this.reasonByKey = reasonByKey;
    }

    public static KnownGaps parse(String text) {
        Map<String, String> gaps = new LinkedHashMap<>();
        int n = 0;
        for (String line : text.split("\n")) {
            n++;
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            int colon = l.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("known gaps line " + n + ": expected `key: reason': " + l);
            }
            String key = l.substring(0, colon).strip();
            String reason = l.substring(colon + 1).strip();
            if (!KEYS.containsKey(key)) {
                throw new IllegalArgumentException("known gaps line " + n + ": unknown key " + key + " (known: "
                        + KEYS.keySet() + ")");
            }
            if (reason.isEmpty()) {
                throw new IllegalArgumentException("known gaps line " + n + ": " + key + " has no reason");
            }
            gaps.put(key, reason);
        }
        return new KnownGaps(gaps);
    }

    public static KnownGaps load(String resource) {
        try (InputStream in = KnownGaps.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("no resource " + resource);
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean has(String key) {
        if (!KEYS.containsKey(key)) {
            throw new IllegalArgumentException("unknown gap key " + key);
        }
        return reasonByKey.containsKey(key);
    }

    public Set<String> keys() {
        return reasonByKey.keySet();
    }

    public RulesetGenerator.Features features() {
        java.util.Set<String> off = new java.util.HashSet<>();
        for (String key : reasonByKey.keySet()) {
            if (key.startsWith("generate.")) {
                off.add(key.substring("generate.".length()));
            }
        }
        return new RulesetGenerator.Features(java.util.Set.copyOf(off));
    }

    /** One line per gap: "key (what it turns off): reason". */
    public String describe() {
        StringBuilder s = new StringBuilder();
        for (var e : reasonByKey.entrySet()) {
            s.append("  gap ").append(e.getKey()).append(" (").append(KEYS.get(e.getKey())).append("): ")
                    .append(e.getValue()).append('\n');
        }
        return s.toString();
    }
}
