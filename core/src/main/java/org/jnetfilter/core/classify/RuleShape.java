package org.jnetfilter.core.classify;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.matches.CommentMatch;
import org.jnetfilter.core.ext.matches.ConntrackMatch;
import org.jnetfilter.core.ext.matches.MarkMatch;
import org.jnetfilter.core.ext.matches.MultiportMatch;
import org.jnetfilter.core.ext.matches.SctpMatch;
import org.jnetfilter.core.ext.matches.StateMatch;
import org.jnetfilter.core.ext.matches.TcpMatch;
import org.jnetfilter.core.ext.matches.UdpMatch;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleSpec;

/**
 * Which parts of a rule a classifier may test before evaluating it, and whether they are all of it.
 *
 * <p>The rule walk (ipt_do_table) tests a rule's fixed part, then its matches in order, and stops
 * at the first that fails. A lookup that skips a rule because an indexed field fails must skip only
 * rules on which that walk would have had no side effect: no state changed (limit, quota, recent,
 * statistic, hashlimit, connlimit, set ... count or remember the packets they see) and no hotdrop.
 * So a rule's indexed fields are
 * <ul>
 * <li>its fixed part (addresses, devices, protocol), tested before any match: on a regular packet
 * ({@link PacketKey}) it has no side effect;</li>
 * <li>the fields of the matches that come before the first match that is not known to be free of
 * side effects on regular packets: comment, mark, conntrack, state, tcp without --tcp-option, udp,
 * sctp without --chunk-types and multiport, the port matches only when the rule's protocol is the
 * match's own (so the packet carries the header the match reads). Of those, mark (value and mask),
 * conntrack states (--ctstate, tested first by conntrack_mt), states and port ranges are indexed; the first match with possible side effects may still have its ports indexed, as the
 * kernel's tcp/udp/sctp matches compare ports before anything that can hotdrop.</li>
 * </ul>
 * Negations, fragments, TCP flags and everything after the barrier are left to the evaluation of
 * the rule that follows a lookup.
 *
 * <p>Compile time only; allocates freely.
 */
final class RuleShape {
    private RuleShape() {
    }

    private static final int ANY_LO = Integer.MIN_VALUE;
    private static final int ANY_HI = Integer.MAX_VALUE;

    /** The entries of {@code rule} at order key {@code key}: one, or one per multiport element. */
    static Entry[] entries(Rule rule, long key) {
        RuleSpec spec = rule.spec();
        IpSpec ip = spec.ip();
        boolean exact = true;
        boolean v4 = ip.family() == Family.IPV4;

        IpNet src = ip.src();
        IpNet dst = ip.dst();
        if (ip.inverted(IpSpec.INV_SRCIP)) {
            src = IpNet.any(ip.family());
            exact = false;
        }
        if (ip.inverted(IpSpec.INV_DSTIP)) {
            dst = IpNet.any(ip.family());
            exact = false;
        }
        String in = ip.inIface();
        String out = ip.outIface();
        if (ip.inverted(IpSpec.INV_VIA_IN)) {
            in = "";
            exact = false;
        }
        if (ip.inverted(IpSpec.INV_VIA_OUT)) {
            out = "";
            exact = false;
        }
        final int protocol = ip.inverted(IpSpec.INV_PROTO) || ip.protocol() == 0 ? Entry.ANY_PROTOCOL : ip.protocol();
        if (ip.inverted(IpSpec.INV_PROTO)) {
            exact = false;
        }
        if (ip.fragment() || ip.inverted(IpSpec.INV_FRAG)) {
            exact = false;
        }
        if (!v4 && ip.protocol() == 0 && ip.inverted(IpSpec.INV_PROTO)) {
            exact = false;
        }

        int sLo = ANY_LO;
        int sHi = ANY_HI;
        int dLo = ANY_LO;
        int dHi = ANY_HI;
        long markValue = 0;
        long markMask = 0;
        boolean markSet = false;
        int ctStates = 0;
        int states = 0;
        // multiport: the side it lists and its elements as {lo, hi}; null when none is indexed
        List<int[]> alternatives = null;
        boolean alternativesOnSource = false;

        boolean pure = true;
        for (Match m : spec.matches()) {
            if (!pure) {
                exact = false;
                continue;
            }
            ExtensionData data = m.data();
            switch (data) {
                case CommentMatch.Data c -> {
                }
                case MarkMatch.Data d -> {
                    if (!d.inverted() && !markSet) {
                        markSet = true;
                        markValue = d.mark();
                        markMask = d.mask();
                    } else {
                        exact = false;
                    }
                }
                case ConntrackMatch.Data d -> {
                    // Linux: conntrack_mt tests the state first; a mismatch returns before anything else
                    boolean state = (d.flags() & ConntrackMatch.F_STATE) != 0
                            && (d.invert() & ConntrackMatch.F_STATE) == 0 && d.stateMask() != 0;
                    if (state && ctStates == 0) {
                        ctStates = d.stateMask();
                    }
                    if (!state || ctStates != d.stateMask() || d.flags() != ConntrackMatch.F_STATE) {
                        exact = false;
                    }
                }
                case StateMatch.Data d -> {
                    if (!d.inverted() && d.stateMask() != 0 && states == 0) {
                        states = d.stateMask();
                    } else {
                        exact = false;
                    }
                }
                case TcpMatch.Data _, UdpMatch.Data _, SctpMatch.Data _ when portProtocol(data) == protocol -> {
                    int[] ports = PortText.ranges(data, ip);
                    if (ports == null) {
                        exact = false;
                        pure = false;
                        break;
                    }
                    boolean[] indexed = narrow(ports, sLo != ANY_LO || (alternatives != null && alternativesOnSource),
                            dLo != ANY_LO || (alternatives != null && !alternativesOnSource));
                    if (indexed[0]) {
                        sLo = ports[0];
                        sHi = ports[1];
                    }
                    if (indexed[1]) {
                        dLo = ports[3];
                        dHi = ports[4];
                    }
                    exact &= indexed[2];
                    if (data instanceof TcpMatch.Data d) {
                        if (d.flagMask() != 0 || d.flagsInverted()) {
                            exact = false;
                        }
                        if (d.option() != 0) {
                            // Linux: tcp_find_option may hotdrop once the ports have matched
                            exact = false;
                            pure = false;
                        }
                    } else if (data instanceof SctpMatch.Data d && d.chunkMap() != null) {
                        // Linux: the chunk walk of sctp_mt may hotdrop once the ports have matched
                        exact = false;
                        pure = false;
                    }
                }
                case MultiportMatch.Data d when multiportProtocol(protocol) -> {
                    boolean source = d.flags() == MultiportMatch.SOURCE;
                    boolean onSide = d.flags() != MultiportMatch.EITHER
                            && (source ? sLo == ANY_LO : dLo == ANY_LO);
                    if (d.inverted() || !onSide || alternatives != null) {
                        exact = false;
                        break;
                    }
                    alternatives = new ArrayList<>();
                    alternativesOnSource = source;
                    List<Integer> ports = d.ports();
                    for (int i = 0; i < ports.size(); i++) {
                        int lo = ports.get(i);
                        int hi = lo;
                        if (d.rangeStart().get(i)) {
                            hi = ports.get(++i);
                        }
                        alternatives.add(new int[] {lo, hi});
                    }
                }
                default -> {
                    exact = false;
                    pure = false;
                }
            }
        }

        long srcMaskHi = src.maskHi();
        long srcMaskLo = src.maskLo();
        int srcLen = Math.max(0, src.prefixLength());
        long dstMaskHi = dst.maskHi();
        long dstMaskLo = dst.maskLo();
        int dstLen = Math.max(0, dst.prefixLength());
        String inName = null;
        boolean inPrefix = false;
        if (!in.isEmpty() && !in.equals("+")) {
            inPrefix = in.endsWith("+");
            inName = inPrefix ? in.substring(0, in.length() - 1) : in;
        }
        String outName = null;
        boolean outPrefix = false;
        if (!out.isEmpty() && !out.equals("+")) {
            outPrefix = out.endsWith("+");
            outName = outPrefix ? out.substring(0, out.length() - 1) : out;
        }
        if (alternatives != null && alternatives.isEmpty()) {
            alternatives = null;
            exact = false;
        }
        if (alternatives == null) {
            return new Entry[] {new Entry(rule, key, exact, src.hi(), src.lo(), srcMaskHi, srcMaskLo, srcLen,
                    dst.hi(), dst.lo(), dstMaskHi, dstMaskLo, dstLen, protocol, sLo, sHi, dLo, dHi, markValue,
                    markMask, ctStates, states, inName, inPrefix, outName, outPrefix)};
        }
        Entry[] all = new Entry[alternatives.size()];
        for (int i = 0; i < all.length; i++) {
            int[] a = alternatives.get(i);
            int lo = a[0];
            int hi = a[1];
            all[i] = new Entry(rule, key, exact, src.hi(), src.lo(), srcMaskHi, srcMaskLo, srcLen,
                    dst.hi(), dst.lo(), dstMaskHi, dstMaskLo, dstLen, protocol,
                    alternativesOnSource ? lo : sLo, alternativesOnSource ? hi : sHi,
                    alternativesOnSource ? dLo : lo, alternativesOnSource ? dHi : hi,
                    markValue, markMask, ctStates, states, inName, inPrefix, outName, outPrefix);
        }
        return all;
    }

    /**
     * Which of a match's port ranges ({sLo, sHi, sInv, dLo, dHi, dInv}) can be indexed beside what
     * is indexed already: {source, destination, everything}. An inverted range, or a side indexed
     * already by an earlier match, is left to the rule's evaluation.
     */
    private static boolean[] narrow(int[] ports, boolean sourceTaken, boolean destinationTaken) {
        boolean sAny = ports[0] == 0 && ports[1] == 65535 && ports[2] == 0;
        boolean dAny = ports[3] == 0 && ports[4] == 65535 && ports[5] == 0;
        boolean s = !sAny && ports[2] == 0 && !sourceTaken;
        boolean d = !dAny && ports[5] == 0 && !destinationTaken;
        boolean all = (sAny || s) && (dAny || d);
        return new boolean[] {s, d, all};
    }

    /** Linux: xt_multiport's checkentry accepts these protocols (and no inverted -p). */
    /** The protocol whose header a port match reads (tcp, udp, sctp). */
    private static int portProtocol(ExtensionData data) {
        return switch (data) {
            case TcpMatch.Data _ -> Protocols.TCP;
            case UdpMatch.Data _ -> Protocols.UDP;
            default -> Protocols.SCTP;
        };
    }

    private static boolean multiportProtocol(int protocol) {
        return protocol == Protocols.TCP || protocol == Protocols.UDP || protocol == Protocols.UDPLITE
                || protocol == Protocols.SCTP || protocol == Protocols.DCCP;
    }
}
