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
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    // Linux: the MSS a peer assumes without the option, RFC 1122 (IPv4) and RFC 2460 (IPv6)
    static final int DEFAULT_MSS_IPV4 = 536;
    static final int DEFAULT_MSS_IPV6 = 1220;

    public TcpmssTarget() {
        super("TCPMSS", List.of(SET_MSS, CLAMP_MSS_TO_PMTU));
    }

    /** @param mss CLAMP_PMTU for --clamp-mss-to-pmtu */
    public record Data(int mss) implements ExtensionData, MatchAwareCheck {
        /*
         * xt_TCPMSS tcpmss_mangle_packet: a non-first fragment passes untouched; a TCP header cut short
         * or with a bad data offset drops. --clamp-mss-to-pmtu takes the smaller of the packet's route MTU and
         * the MTU of the route back to its source (tcpmss_reverse_mtu; no such route: no limit) less 40 (IPv4) or
         * 60 (IPv6) bytes of headers; an MTU not above that drops the packet ("unknown or invalid path-MTU").
         * The first MSS option (kind 2, length 4) starting at most 4 bytes before the header's end is lowered to
         * the new value, never raised, and the TCP checksum fixed with inet_proto_csum_replace2. Without one the
         * kernel leaves a segment carrying data, or a header already 60 bytes long, alone; otherwise it inserts an
         * MSS option right after the fixed header (of at most 536 for IPv4, 1220 for IPv6: the defaults a peer
         * assumes without the option), the packet grows by 4 bytes and the IP length follows.
         */
        @Override
        public int apply(PacketContext pkt) {
            if (pkt.fragmentOffset() != 0) {
                return Verdict.CONTINUE;
            }
            // Linux: tcpmss_mangle_packet makes the whole packet writable, pulling it into the linear area
            pkt.linearize();
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
            boolean ipv4 = pkt.family() == Family.IPV4;
            int newMss = mss;
            if (mss == CLAMP_PMTU) {
                // Linux: minlen = sizeof(iphdr or ipv6hdr) + sizeof(tcphdr)
                int minLength = (ipv4 ? 20 : 40) + TCP_HEADER;
                long reverse = pkt.reverseRouteMtu();
                long inMtu = reverse == 0 ? 0xFFFFFFFFL : reverse;
                long minMtu = Math.min(pkt.routeMtu(), inMtu);
                if (minMtu <= minLength) {
                    return Verdict.DROP;
                }
                newMss = (int) Math.min(minMtu - minLength, 0xFFFF);
            }
            for (int i = TCP_HEADER; i <= tcpHeaderLength - OPT_MSS_LENGTH; i += optionLength(pkt, tcphoff + i)) {
                if (pkt.networkU8(tcphoff + i) == OPT_MSS && pkt.networkU8(tcphoff + i + 1) == OPT_MSS_LENGTH) {
                    int oldMss = pkt.networkU16(tcphoff + i + 2);
                    if (oldMss <= newMss) {
                        return Verdict.CONTINUE;
                    }
                    MemorySegment s = pkt.segment();
                    long tcp = pkt.networkOffset() + tcphoff;
                    s.set(U16, tcp + i + 2, (short) newMss);
                    int check = Short.toUnsignedInt(s.get(U16, tcp + TCP_CHECKSUM));
                    s.set(U16, tcp + TCP_CHECKSUM, (short) Checksums.update16(check, oldMss, newMss));
                    return Verdict.CONTINUE;
                }
            }
            if (len > tcpHeaderLength || tcpHeaderLength >= MAX_TCP_HEADER) {
                return Verdict.CONTINUE;
            }
            if (pkt.capacity() < pkt.length() + OPT_MSS_LENGTH) {
                // Linux: pskb_expand_head failed
                return Verdict.DROP;
            }
            newMss = Math.min(newMss, ipv4 ? DEFAULT_MSS_IPV4 : DEFAULT_MSS_IPV6);
            MemorySegment s = pkt.segment();
            long tcp = pkt.networkOffset() + tcphoff;
            MemorySegment.copy(s, tcp + TCP_HEADER, s, tcp + TCP_HEADER + OPT_MSS_LENGTH, len - TCP_HEADER);
            int check = Short.toUnsignedInt(s.get(U16, tcp + TCP_CHECKSUM));
            // the pseudo-header's TCP length, the new option word, the data offset: three incremental updates
            check = Checksums.update16(check, len, len + OPT_MSS_LENGTH);
            int option = OPT_MSS << 24 | OPT_MSS_LENGTH << 16 | newMss;
            s.set(U32, tcp + TCP_HEADER, option);
            check = Checksums.update32(check, 0, option);
            int oldWord = Short.toUnsignedInt(s.get(U16, tcp + 12));
            int newWord = oldWord + ((OPT_MSS_LENGTH / 4) << 12);
            s.set(U16, tcp + 12, (short) newWord);
            check = Checksums.update16(check, oldWord, newWord);
            s.set(U16, tcp + TCP_CHECKSUM, (short) check);
            long ip = pkt.networkOffset();
            if (ipv4) {
                int oldLength = Short.toUnsignedInt(s.get(U16, ip + 2));
                int newLength = oldLength + OPT_MSS_LENGTH;
                s.set(U16, ip + 2, (short) newLength);
                int ipCheck = Short.toUnsignedInt(s.get(U16, ip + 10));
                s.set(U16, ip + 10, (short) Checksums.update16(ipCheck, oldLength, newLength));
            } else {
                s.set(U16, ip + 4, (short) (Short.toUnsignedInt(s.get(U16, ip + 4)) + OPT_MSS_LENGTH));
            }
            pkt.resize(pkt.length() + OPT_MSS_LENGTH);
            return Verdict.CONTINUE;
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
