package org.jnetfilter.core.ext;

import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * The parsed, immutable options of one match or target in one rule. Implementations are records, so two
 * rules with the same options are equal (what {@code -D rule-spec} and {@code -C} compare).
 */
public interface ExtensionData {

    /** The save form of the options, each preceded by one space: {@code " --dport 22"}. */
    void save(StringBuilder out, IpSpec ip);

    /** The {@code -L} form, preceded by one space: {@code " tcp dpt:22"}. */
    void list(StringBuilder out, IpSpec ip, boolean numeric);

    /**
     * A line iptables prints on stderr each time it prints these options ({@code -L}, {@code -S}, save),
     * or null: libxt_connlabel warns while it cannot open its label file.
     */
    default String printWarning() {
        return null;
    }

    /**
     * The kernel's checkentry: where this match or target may be used. Called when a table is committed,
     * with the hooks the rule's chain is reachable from ({@link org.jnetfilter.core.rules.Hook#bit()}).
     * Throws the error iptables shows, usually {@link XtablesException#invalidArgument()}.
     */
    default void check(String table, int hookMask, IpSpec ip) {
    }

    /**
     * Whether rules may share one instance of these options: a plain value, with no state of its own (a
     * counter, a remembered address, a rate bucket) and nothing the kernel keeps per rule. Rules repeat
     * such options by the thousand (comments, ports, marks): shared, they are held once.
     */
    default boolean shareable() {
        return false;
    }

    /**
     * The extension name printed in the save form ({@code -m NAME}, {@code -j NAME}); an alias such as
     * NOTRACK prints the real extension it stands for. Null: the extension's own name.
     */
    default String saveName() {
        return null;
    }

    /**
     * The name in -L's target column when it differs from the save name (NOTRACK is listed as the CT
     * target it is in the kernel). Null: the save name.
     */
    default String listName() {
        return null;
    }

    /**
     * A match's packet test, the kernel's {@code xt_match.match}: whether {@code pkt} matches these
     * options. A match that cannot examine the packet (its header is cut short) sets
     * {@link PacketContext#hotdrop(boolean)} and answers false, as the kernel's matches do.
     * Packet thread; allocates nothing. Throws for an extension without packet semantics yet.
     */
    default boolean matches(PacketContext pkt) {
        throw new UnsupportedOperationException("no packet semantics yet: " + extensionName());
    }

    /**
     * A target's action, the kernel's {@code xt_target.target}: changes {@code pkt} as the target
     * does and answers its verdict ({@link org.jnetfilter.core.netfilter.Verdict}), or
     * {@link org.jnetfilter.core.netfilter.Verdict#CONTINUE} to go on with the next rule. Packet thread;
     * allocates nothing. Throws for an extension without packet semantics yet.
     */
    default int apply(PacketContext pkt) {
        throw new UnsupportedOperationException("no packet semantics yet: " + extensionName());
    }

    /** The extension these options belong to, for messages: the save name, else the declaring class. */
    private String extensionName() {
        String n = saveName();
        if (n != null) {
            return n;
        }
        Class<?> c = getClass().getEnclosingClass();
        return (c != null ? c : getClass()).getSimpleName();
    }
}
