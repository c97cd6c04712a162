package org.jnetfilter.core.ext.targets;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -j TCPOPTSTRIP [--strip-options LIST]} (libxt_TCPOPTSTRIP, xt_TCPOPTSTRIP.c): replaces the listed
 * TCP options with NOPs. The set is a 256-bit map, as the kernel's strip_bmap. mangle table, {@code -p tcp}.
 */
public final class TcpoptstripTarget extends TargetExtension {
    static final OptionSpec STRIP_OPTIONS = OptionSpec.withArg("strip-options");

    // RFC 793/1323/2018/2385 option kinds iptables knows by name, in its table's order
    private static final String[] NAMES = {"wscale", "mss", "sack-permitted", "sack", "timestamp", "md5"};
    private static final int[] KINDS = {3, 2, 4, 5, 8, 19};
    // Linux: sizeof(struct tcphdr), TCPOPT_NOP; tcphdr check at 16
    static final int TCP_HEADER = 20;
    static final int OPT_NOP = 1;
    static final int TCP_CHECKSUM = 16;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    public TcpoptstripTarget() {
        super("TCPOPTSTRIP", List.of(STRIP_OPTIONS));
    }

    /** @param strip four 64-bit words, bit k of word k/64 for option kind k */
    public record Data(long[] strip) implements ExtensionData {
        /*
         * xt_TCPOPTSTRIP tcpoptstrip_mangle_packet: a non-first fragment passes untouched; a TCP header
         * cut short, with a data offset below 5, or whose options run past the packet drops. Each option
         * (EOL and NOP one byte, a zero length taken as 1) whose kind is in the set and which ends inside
         * the header is overwritten with NOPs, the TCP checksum fixed byte by byte with
         * inet_proto_csum_replace2 (a byte at an even offset is the high half of its word). The walk
         * stops one byte before the header's end, as the kernel's does.
         */
        @Override
        public int apply(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return Verdict.CONTINUE;
            }
            if (!pkt.transportAvailable(TCP_HEADER)) {
                return Verdict.DROP;
            }
            int tcpHeaderLength = (pkt.transportU8(12) >>> 4) << 2;
            if (tcpHeaderLength < TCP_HEADER || !pkt.transportAvailable(tcpHeaderLength)) {
                return Verdict.DROP;
            }
            MemorySegment s = pkt.segment();
            long tcp = pkt.networkOffset() + pkt.transportOffset();
            for (int i = TCP_HEADER, optl; i < tcpHeaderLength - 1; i += optl) {
                int kind = pkt.transportU8(i);
                int len = pkt.transportU8(i + 1);
                optl = kind <= OPT_NOP || len == 0 ? 1 : len;
                if (i + optl > tcpHeaderLength) {
                    break;
                }
                if (!strips(kind)) {
                    continue;
                }
                int check = Short.toUnsignedInt(s.get(U16, tcp + TCP_CHECKSUM));
                for (int j = 0; j < optl; j++) {
                    int o = pkt.transportU8(i + j);
                    int n = OPT_NOP;
                    if ((i + j) % 2 == 0) {
                        o <<= 8;
                        n <<= 8;
                    }
                    check = Checksums.update16(check, o, n);
                    s.set(ValueLayout.JAVA_BYTE, tcp + i + j, (byte) OPT_NOP);
                }
                s.set(U16, tcp + TCP_CHECKSUM, (short) check);
            }
            return Verdict.CONTINUE;
        }
        public boolean strips(int kind) {
            return (strip[kind >>> 6] & (1L << (kind & 63))) != 0;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            appendList(out, " --strip-options ", true);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            appendList(out, " TCPOPTSTRIP options ", numeric);
        }

        private void appendList(StringBuilder out, String head, boolean numeric) {
            boolean first = true;
            for (int k = 0; k < 256; k++) {
                if (!strips(k)) {
                    continue;
                }
                out.append(first ? head : ",");
                first = false;
                String name = numeric ? null : nameOf(k);
                out.append(name != null ? name : Integer.toString(k));
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", 0);
            if (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Data d && java.util.Arrays.equals(strip, d.strip);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(strip);
        }

        @Override
        public String toString() {
            return "TCPOPTSTRIP" + java.util.Arrays.toString(strip);
        }
    }

    static String nameOf(int kind) {
        for (int i = 0; i < KINDS.length; i++) {
            if (KINDS[i] == kind) {
                return NAMES[i];
            }
        }
        return null;
    }

    static long[] parseList(String arg) {
        long[] strip = new long[4];
        for (String token : arg.split(",", -1)) {
            long v = org.jnetfilter.core.ext.Numbers.parseUnsigned(token, 0, 255);
            int kind = (int) v;
            if (v < 0) {
                kind = -1;
                for (int i = 0; i < NAMES.length && kind < 0; i++) {
                    if (NAMES[i].equals(token)) {
                        kind = KINDS[i];
                    }
                }
                if (kind < 0) {
                    throw XtablesException.parameter("Bad TCP option value \"" + token + "\"");
                }
            }
            if (kind < 2) {
                throw XtablesException.parameter("Option value may not be 0 or 1");
            }
            if ((strip[kind >>> 6] & (1L << (kind & 63))) != 0) {
                throw XtablesException.parameter("Option \"" + token + "\" already specified");
            }
            strip[kind >>> 6] |= 1L << (kind & 63);
        }
        return strip;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long[] strip = new long[4];

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                noInvert(option, invert);
                strip = parseList(arg);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                return new Data(strip);
            }
        };
    }
}
