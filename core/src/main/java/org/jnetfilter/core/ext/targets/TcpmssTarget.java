package org.jnetfilter.core.ext.targets;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchAwareCheck;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ext.matches.TcpMatch;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -j TCPMSS --set-mss N | --clamp-mss-to-pmtu} (libxt_TCPMSS, xt_TCPMSS.c). The kernel wants
 * {@code -p tcp} and a tcp match on SYN (as {@code --tcp-flags SYN,RST SYN}); clamping to the path MTU
 * needs a route, so only FORWARD, OUTPUT and POSTROUTING.
 */
public final class TcpmssTarget extends TargetExtension {
    static final OptionSpec SET_MSS = OptionSpec.withArg("set-mss");
    static final OptionSpec CLAMP_MSS_TO_PMTU = OptionSpec.flag("clamp-mss-to-pmtu");

    // Linux: XT_TCPMSS_CLAMP_PMTU = 0xffff
    public static final int CLAMP_PMTU = 0xffff;
    // the largest packet less the fixed IP header: 20 bytes for IPv4, 40 for IPv6
    static final int MAX_MSS_IPV4 = 65535 - 20;
    static final int MAX_MSS_IPV6 = 65535 - 40;
    // Linux: TCPHDR_SYN
    static final int SYN = 0x02;
    // Linux: sizeof(struct tcphdr), 15 * 4, TCPOPT_MSS, TCPOLEN_MSS; tcphdr check at 16
    static final int TCP_HEADER = 20;
    static final int MAX_TCP_HEADER = 60;
    static final int OPT_MSS = 2;
    static final int OPT_MSS_LENGTH = 4;
    static final int TCP_CHECKSUM = 16;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    public TcpmssTarget() {
        super("TCPMSS", List.of(SET_MSS, CLAMP_MSS_TO_PMTU));
    }

    /** @param mss CLAMP_PMTU for --clamp-mss-to-pmtu */
    public record Data(int mss) implements ExtensionData, MatchAwareCheck {
        /*
         * xt_TCPMSS tcpmss_mangle_packet: a non-first fragment passes untouched; a TCP header cut short
         * or with a bad data offset drops. The first MSS option (kind 2, length 4) starting at most 4
         * bytes before the header's end is lowered to the new value, never raised, and the TCP checksum
         * fixed with inet_proto_csum_replace2. Without one the kernel leaves a segment carrying data, or
         * a header already 60 bytes long, alone; otherwise it grows the packet by a new MSS option.
         *
         * Not here (UnsupportedOperationException): --clamp-mss-to-pmtu needs the MTUs of the packet's
         * route and of the reverse route, which PacketContext does not carry; adding the option needs
         * the packet to grow by 4 bytes, and PacketContext's length is fixed at load.
         */
        @Override
        public int apply(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return Verdict.CONTINUE;
            }
            if (pkt.protocol() < 0) {
                return Verdict.DROP;
            }
            int tcphoff = pkt.transportOffset();
            int len = pkt.length() - tcphoff;
            if (len < TCP_HEADER) {
                return Verdict.DROP;
            }
            int tcpHeaderLength = (pkt.networkU8(tcphoff + 12) >>> 4) << 2;
            if (len < tcpHeaderLength || tcpHeaderLength < TCP_HEADER) {
                return Verdict.DROP;
            }
            if (mss == CLAMP_PMTU) {
                throw new UnsupportedOperationException(
                        "TCPMSS --clamp-mss-to-pmtu: needs route MTUs, which PacketContext does not carry");
            }
            for (int i = TCP_HEADER; i <= tcpHeaderLength - OPT_MSS_LENGTH; i += optionLength(pkt, tcphoff + i)) {
                if (pkt.networkU8(tcphoff + i) == OPT_MSS && pkt.networkU8(tcphoff + i + 1) == OPT_MSS_LENGTH) {
                    int oldMss = pkt.networkU16(tcphoff + i + 2);
                    if (oldMss <= mss) {
                        return Verdict.CONTINUE;
                    }
                    MemorySegment s = pkt.segment();
                    long tcp = pkt.networkOffset() + tcphoff;
                    s.set(U16, tcp + i + 2, (short) mss);
                    int check = Short.toUnsignedInt(s.get(U16, tcp + TCP_CHECKSUM));
                    s.set(U16, tcp + TCP_CHECKSUM, (short) Checksums.update16(check, oldMss, mss));
                    return Verdict.CONTINUE;
                }
            }
            if (len > tcpHeaderLength || tcpHeaderLength >= MAX_TCP_HEADER) {
                return Verdict.CONTINUE;
            }
            throw new UnsupportedOperationException(
                    "TCPMSS: adding an MSS option grows the packet, and PacketContext's length is fixed");
        }

        /** The kernel's optlen: EOL, NOP and a zero length byte step one byte. */
        private static int optionLength(PacketContext pkt, int at) {
            int kind = pkt.networkU8(at);
            int len = pkt.networkU8(at + 1);
            return kind <= 1 || len == 0 ? 1 : len;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(mss == CLAMP_PMTU ? " --clamp-mss-to-pmtu" : " --set-mss " + mss);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(mss == CLAMP_PMTU ? " TCPMSS clamp to PMTU" : " TCPMSS set " + mss);
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (ip.protocol() != Protocols.TCP || ip.inverted(IpSpec.INV_PROTO)) {
                throw XtablesException.invalidArgument();
            }
            int routed = Hook.FORWARD.bit() | Hook.OUTPUT.bit() | Hook.POSTROUTING.bit();
            if (mss == CLAMP_PMTU && (hookMask & ~routed) != 0) {
                throw XtablesException.invalidArgument();
            }
        }

        @Override
        public void checkMatches(List<ExtensionData> matches) {
            for (ExtensionData m : matches) {
                if (m instanceof TcpMatch.Data t && (t.flagComp() & SYN) != 0 && !t.flagsInverted()) {
                    return;
                }
            }
            throw XtablesException.invalidArgument();
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        int max = ctx.family() == Family.IPV4 ? MAX_MSS_IPV4 : MAX_MSS_IPV6;
        return new OptionParser(name()) {
            private int mss = -1;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                noInvert(option, invert);
                mss = option == SET_MSS ? (int) uint(option, arg, 0, max) : CLAMP_PMTU;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (mss < 0) {
                    throw XtablesException.parameter("TCPMSS target: At least one parameter is required");
                }
                return new Data(mss);
            }
        };
    }
}
