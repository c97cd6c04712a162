package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -m ecn} (libxt_ecn, xt_ecn.c): the TCP CWR and ECE flags and the IP header's ECN codepoint. The
 * TCP flags need {@code -p tcp}, which the kernel checks.
 */
public final class EcnMatch extends MatchExtension {
    static final OptionSpec TCP_CWR = OptionSpec.flag("ecn-tcp-cwr");
    static final OptionSpec TCP_ECE = OptionSpec.flag("ecn-tcp-ece");
    static final OptionSpec IP_ECT = OptionSpec.withArg("ecn-ip-ect");

    // Linux: XT_ECN_OP_MATCH_IP = 0x01, _ECE = 0x10, _CWR = 0x20
    public static final int OP_IP = 0x01;
    public static final int OP_ECE = 0x10;
    public static final int OP_CWR = 0x20;
    // Linux: sizeof(struct tcphdr); ECE and CWR are bits 0x40 and 0x80 of byte 13
    static final int TCP_HEADER = 20;
    static final int TCP_FLAGS = 13;
    static final int ECE_BIT = 0x40;
    static final int CWR_BIT = 0x80;

    public EcnMatch() {
        super("ecn", List.of(TCP_CWR, TCP_ECE, IP_ECT));
    }

    /** @param operation OP_* bits given; invert the same bits negated */
    public record Data(int operation, int invert, int ipEct) implements ExtensionData {
        /**
         * xt_ecn ecn_mt4 / ecn_mt6: the ECN codepoint (the DS field's low two bits, XT_ECN_IP_MASK), then
         * ECE and CWR of the TCP header at thoff. Neither the fragment offset is looked at nor is a short
         * TCP header dropped: the kernel answers "no match" for it ("the tcp match does this").
         */
        @Override
        public boolean matches(PacketContext pkt) {
            if ((operation & OP_IP) != 0
                    && ((TypeOfService.dsfield(pkt) & 0x03) == ipEct) == ((invert & OP_IP) != 0)) {
                return false;
            }
            if ((operation & (OP_ECE | OP_CWR)) == 0) {
                return true;
            }
            if (!pkt.transportAvailable(TCP_HEADER)) {
                return false;
            }
            int flags = pkt.transportU8(TCP_FLAGS);
            return flagMatches(flags, OP_ECE, ECE_BIT) && flagMatches(flags, OP_CWR, CWR_BIT);
        }

        private boolean flagMatches(int flags, int op, int bit) {
            return (operation & op) == 0 || ((flags & bit) != 0) != ((invert & op) != 0);
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if ((operation & OP_ECE) != 0) {
                out.append((invert & OP_ECE) != 0 ? " !" : "").append(" --ecn-tcp-ece");
            }
            if ((operation & OP_CWR) != 0) {
                out.append((invert & OP_CWR) != 0 ? " !" : "").append(" --ecn-tcp-cwr");
            }
            if ((operation & OP_IP) != 0) {
                out.append((invert & OP_IP) != 0 ? " !" : "").append(" --ecn-ip-ect ").append(ipEct);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" ECN match");
            if ((operation & OP_ECE) != 0) {
                out.append((invert & OP_ECE) != 0 ? " !" : " ").append("ECE");
            }
            if ((operation & OP_CWR) != 0) {
                out.append((invert & OP_CWR) != 0 ? " !" : " ").append("CWR");
            }
            if ((operation & OP_IP) != 0) {
                out.append((invert & OP_IP) != 0 ? " !" : " ").append("ECT=").append(ipEct);
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if ((operation & (OP_ECE | OP_CWR)) != 0
                    && (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO))) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int operation;
            private int invert;
            private int ipEct;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                int bit;
                if (option == TCP_CWR) {
                    bit = OP_CWR;
                } else if (option == TCP_ECE) {
                    bit = OP_ECE;
                } else {
                    bit = OP_IP;
                    ipEct = (int) uint(option, arg, 0, 3);
                }
                operation |= bit;
                if (inv) {
                    invert |= bit;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (operation == 0) {
                    throw XtablesException.parameter("ECN match: some option required");
                }
                return new Data(operation, invert, ipEct);
            }
        };
    }
}
