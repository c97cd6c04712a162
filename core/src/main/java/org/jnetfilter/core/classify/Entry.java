package org.jnetfilter.core.classify;

import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Rule;

/**
 * One rule as a classifier indexes it: the fields of the rule that a lookup may test before the
 * rule is evaluated (its indexed fields), its order key in the chain and, when those fields say
 * everything the rule tests, {@code exact}. A rule with a multiport list has one entry per port
 * or range, all with the rule's key.
 *
 * <p>An entry's test is a necessary condition of the rule matching: a packet it rejects is one the
 * linear walk rejects too, without side effects (see {@link RuleShape}). A packet it accepts is
 * evaluated by the full rule unless the entry is exact.
 *
 * <p>Immutable but for {@link #site}, a cache of where the rule's jump led last time (a racy but
 * benign write of an immutable pair). Shared between the classifiers of successive generations of
 * a chain.
 */
final class Entry {
    static final int ANY_PROTOCOL = -1;

    /*
     * Layout: 112 bytes (it was 160). IPv4 entries, nearly all of them, leave the high halves of the
     * addresses in no field ({@link Wide} is null), marks are 32 bits as skb->mark, prefix lengths a byte.
     */

    final Rule rule;
    /** Order in the chain: keys grow with the rule's position, with gaps for insertions. */
    final long key;
    final boolean exact;

    final long srcLo;
    final long srcMaskLo;
    final long dstLo;
    final long dstMaskLo;
    /** The high 64 bits of IPv6 addresses and masks; null when all are 0 (IPv4, and IPv6 any). */
    final Wide wide;
    /** ANY_PROTOCOL or the protocol the rule requires. */
    final short protocol;
    final int sportLo;
    final int sportHi;
    final int dportLo;
    final int dportHi;
    final int markValue;
    final int markMask;
    /** Conntrack states (the conntrack match's bits), 0 for any. */
    final int ctStates;
    /** States (the state match's bits), 0 for any. */
    final int states;
    /** null: any device; else the exact name or, with {@code inPrefix}, the prefix ("eth" of "eth+"). */
    final String in;
    final boolean inPrefix;
    final String out;
    final boolean outPrefix;

    /** The tuple: how much of the entry a hash table may hash (prefix lengths 0-128, unsigned bytes). */
    private final byte srcLen;
    private final byte dstLen;

    volatile JumpSite site;

    /** High halves of IPv6 addresses and masks, network order as {@link org.jnetfilter.core.rules.IpNet}. */
    record Wide(long srcHi, long srcMaskHi, long dstHi, long dstMaskHi) {
    }

    /**
     * Where a jump of this rule went in a table generation: the chain and its classifier. The table is
     * held weakly, so a site does not keep an old generation alive.
     */
    record JumpSite(java.lang.ref.WeakReference<org.jnetfilter.core.rules.Table> table, Chain chain,
                    ChainClassifier classifier) {
    }

    Entry(Rule rule, long key, boolean exact, long srcHi, long srcLo, long srcMaskHi, long srcMaskLo, int srcLen,
          long dstHi, long dstLo, long dstMaskHi, long dstMaskLo, int dstLen, int protocol, int sportLo, int sportHi,
          int dportLo, int dportHi, long markValue, long markMask, int ctStates, int states, String in,
          boolean inPrefix, String out, boolean outPrefix) {
        this(rule, key, exact, srcLo, srcMaskLo, srcLen, dstLo, dstMaskLo, dstLen,
                (srcHi | srcMaskHi | dstHi | dstMaskHi) == 0 ? null : new Wide(srcHi, srcMaskHi, dstHi, dstMaskHi),
                protocol, sportLo, sportHi, dportLo, dportHi, (int) markValue, (int) markMask, ctStates, states, in,
                inPrefix, out, outPrefix);
    }

    private Entry(Rule rule, long key, boolean exact, long srcLo, long srcMaskLo, int srcLen, long dstLo,
                  long dstMaskLo, int dstLen, Wide wide, int protocol, int sportLo, int sportHi, int dportLo,
                  int dportHi, int markValue, int markMask, int ctStates, int states, String in, boolean inPrefix,
                  String out, boolean outPrefix) {
        this.rule = rule;
        this.key = key;
        this.exact = exact;
        this.srcLo = srcLo;
        this.srcMaskLo = srcMaskLo;
        this.srcLen = (byte) srcLen;
        this.dstLo = dstLo;
        this.dstMaskLo = dstMaskLo;
        this.dstLen = (byte) dstLen;
        this.wide = wide;
        this.protocol = (short) protocol;
        this.sportLo = sportLo;
        this.sportHi = sportHi;
        this.dportLo = dportLo;
        this.dportHi = dportHi;
        this.markValue = markValue;
        this.markMask = markMask;
        this.ctStates = ctStates;
        this.states = states;
        this.in = in;
        this.inPrefix = inPrefix;
        this.out = out;
        this.outPrefix = outPrefix;
    }

    int srcLen() {
        return srcLen & 0xFF;
    }

    int dstLen() {
        return dstLen & 0xFF;
    }

    long srcHi() {
        return wide == null ? 0 : wide.srcHi;
    }

    long dstHi() {
        return wide == null ? 0 : wide.dstHi;
    }

    /** The same entry at another order key (a rule that moved in its chain). */
    Entry at(long newKey) {
        return new Entry(rule, newKey, exact, srcLo, srcMaskLo, srcLen(), dstLo, dstMaskLo, dstLen(), wide, protocol,
                sportLo, sportHi, dportLo, dportHi, markValue, markMask, ctStates, states, in, inPrefix, out,
                outPrefix);
    }

    boolean sportExact() {
        return sportLo == sportHi;
    }

    boolean dportExact() {
        return dportLo == dportHi;
    }

    boolean inExact() {
        return in != null && !inPrefix;
    }

    boolean outExact() {
        return out != null && !outPrefix;
    }

    /** The indexed fields' test; the packet's mark is read by the caller (targets change it). */
    boolean matches(PacketKey k, long mark) {
        return (k.dstLo & dstMaskLo) == dstLo
                && (k.srcLo & srcMaskLo) == srcLo
                && (wide == null || (k.dstHi & wide.dstMaskHi) == wide.dstHi && (k.srcHi & wide.srcMaskHi) == wide.srcHi)
                && (protocol == ANY_PROTOCOL || protocol == k.protocol)
                && k.dport >= dportLo && k.dport <= dportHi
                && k.sport >= sportLo && k.sport <= sportHi
                && ((int) mark & markMask) == markValue
                && (ctStates == 0 || (k.ctState & ctStates) != 0)
                && (states == 0 || (k.state & states) != 0)
                && (in == null || device(in, inPrefix, k.in))
                && (out == null || device(out, outPrefix, k.out));
    }

    /** As TableWalk compares interfaces: an exact name, or a prefix (the rule's name without its '+'). */
    private static boolean device(String name, boolean prefix, String device) {
        return prefix ? device.startsWith(name) : device.equals(name);
    }
}
