package org.jnetfilter.core.rules;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * One generation of one family's rules: the tables that exist (a table exists once something used it, as
 * the kernel instantiates tables per network namespace on first use) in the order
 * {@code /proc/net/ip_tables_names} lists them, newest first. Immutable; publish by swapping the reference.
 */
public final class Ruleset {
    private final Family family;
    private final long generation;
    private final Map<TableKind, Table> tableByKind;
    private final List<TableKind> order;

    private Ruleset(Family family, long generation, Map<TableKind, Table> tableByKind, List<TableKind> order) {
        this.family = family;
        this.generation = generation;
        this.tableByKind = tableByKind;
        this.order = order;
    }

    public static Ruleset empty(Family family) {
        return new Ruleset(family, 0, Collections.unmodifiableMap(new EnumMap<>(TableKind.class)), List.of());
    }

    public Family family() {
        return family;
    }

    /** Counts transactions; a transaction based on an older generation may be refused. */
    public long generation() {
        return generation;
    }

    /** The table, or null when it was never used. */
    public Table table(TableKind kind) {
        return tableByKind.get(kind);
    }

    /** The table, created as the kernel creates it when first used. */
    public Table tableOrInitial(TableKind kind) {
        Table t = tableByKind.get(kind);
        return t != null ? t : Table.initial(kind, family);
    }

    /** Existing tables, newest first (iptables-save's order). */
    public List<Table> tables() {
        List<Table> l = new ArrayList<>(order.size());
        for (TableKind k : order) {
            l.add(tableByKind.get(k));
        }
        return l;
    }

    public Ruleset with(Table table) {
        EnumMap<TableKind, Table> m = new EnumMap<>(TableKind.class);
        m.putAll(tableByKind);
        List<TableKind> o = order;
        if (m.put(table.kind(), table) == null) {
            List<TableKind> n = new ArrayList<>(order.size() + 1);
            n.add(table.kind());
            n.addAll(order);
            o = List.copyOf(n);
        }
        return new Ruleset(family, generation, Collections.unmodifiableMap(m), o);
    }

    public Ruleset withGeneration(long newGeneration) {
        return new Ruleset(family, newGeneration, tableByKind, order);
    }

    public int ruleCount() {
        int n = 0;
        for (Table t : tableByKind.values()) {
            n += t.ruleCount();
        }
        return n;
    }
}
