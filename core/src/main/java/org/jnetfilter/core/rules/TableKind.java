package org.jnetfilter.core.rules;

import java.util.List;
import java.util.Optional;

/**
 * The built-in tables and their hooks, as the kernel registers them (iptable_filter.c, iptable_nat.c,
 * iptable_mangle.c, iptable_raw.c, iptable_security.c and their ip6 twins: the same hooks for both
 * families).
 */
public enum TableKind {
    FILTER("filter", List.of(Hook.INPUT, Hook.FORWARD, Hook.OUTPUT)),
    NAT("nat", List.of(Hook.PREROUTING, Hook.INPUT, Hook.OUTPUT, Hook.POSTROUTING)),
    MANGLE("mangle", List.of(Hook.PREROUTING, Hook.INPUT, Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING)),
    RAW("raw", List.of(Hook.PREROUTING, Hook.OUTPUT)),
    SECURITY("security", List.of(Hook.INPUT, Hook.FORWARD, Hook.OUTPUT));

    private final String tableName;
    private final List<Hook> hooks;

    TableKind(String tableName, List<Hook> hooks) {
        this.tableName = tableName;
        this.hooks = hooks;
    }

    public String tableName() {
        return tableName;
    }

    /** Built-in chains in the order iptables lists them. */
    public List<Hook> hooks() {
        return hooks;
    }

    public boolean hasHook(Hook hook) {
        return hooks.contains(hook);
    }

    /** values() once: each call copies the array, and a restore asks by name per line. */
    private static final TableKind[] ALL = values();

    public static Optional<TableKind> byName(String name) {
        for (TableKind k : ALL) {
            if (k.tableName.equals(name)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }

    /** The order iptables-save walks tables in: the order /proc/net/ip_tables_names lists them after a fresh boot. */
    public static List<TableKind> saveOrder() {
        return List.of(values());
    }
}
