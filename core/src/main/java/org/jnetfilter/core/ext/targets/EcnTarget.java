package org.jnetfilter.core.ext.targets;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Set;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ext.matches.TypeOfService;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Protocols;

/**
 * {@code -j ECN} (libipt_ECN, ipt_ECN.c): rewrites the IPv4 ECN codepoint and the TCP ECE/CWR flags.
 * mangle table only; the TCP operations need {@code -p tcp}.
 */
public final class EcnTarget extends TargetExtension {
    static final OptionSpec TCP_REMOVE = OptionSpec.flag("ecn-tcp-remove");
    static final OptionSpec TCP_CWR = OptionSpec.withArg("ecn-tcp-cwr");
    static final OptionSpec TCP_ECE = OptionSpec.withArg("ecn-tcp-ece");
    static final OptionSpec IP_ECT = OptionSpec.withArg("ecn-ip-ect");

    // Linux: IPT_ECN_OP_SET_IP = 0x01, _SET_ECE = 0x10, _SET_CWR = 0x20
    public static final int OP_IP = 0x01;
    public static final int OP_ECE = 0x10;
    public static final int OP_CWR = 0x20;
    // Linux: iphdr protocol; tcphdr: the data offset/flags word at 12 (ECE 0x0040, CWR 0x0080), check at 16
    static final int PROTOCOL_AT = 9;
    static final int TCP_HEADER = 20;
    static final int TCP_FLAGS_WORD = 12;
    static final int TCP_CHECKSUM = 16;
    static final int ECE_BIT = 0x0040;
    static final int CWR_BIT = 0x0080;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    public EcnTarget() {
        super("ECN", Set.of(Family.IPV4), List.of(TCP_REMOVE, TCP_CWR, TCP_ECE, IP_ECT));
    }

    public record Data(int operation, int ipEct, int ece, int cwr) implements ExtensionData {
        /*
         * ipt_ECN ecn_tg: first the IP ECN codepoint (rewritten only when it differs, header checksum
         * fixed incrementally), then, for a TCP packet, ECE and CWR: if any asked-for flag differs, the
         * flags word (header bytes 12-13) is rewritten and the TCP checksum fixed with
         * inet_proto_csum_replace2. The TCP header is read at the IP header's length, whatever the
         * fragment offset, as the kernel does; if its 20 bytes are not there the packet is dropped.
         */
        @Override
        public int apply(PacketContext pkt) {
            if ((operation & OP_IP) != 0 && (TypeOfService.dsfield(pkt) & 0x03) != (ipEct & 0x03)) {
                TypeOfService.changeDsfield(pkt, ~0x03 & 0xFF, ipEct & 0x03);
            }
            if ((operation & (OP_ECE | OP_CWR)) != 0 && pkt.networkU8(PROTOCOL_AT) == Protocols.TCP) {
                int ihl = (pkt.networkU8(0) & 0x0F) << 2;
                if (ihl + TCP_HEADER > pkt.length()) {
                    return Verdict.DROP;
                }
                int old = pkt.networkU16(ihl + TCP_FLAGS_WORD);
                int neu = old;
                if ((operation & OP_ECE) != 0) {
                    neu = ece != 0 ? neu | ECE_BIT : neu & ~ECE_BIT;
                }
                if ((operation & OP_CWR) != 0) {
                    neu = cwr != 0 ? neu | CWR_BIT : neu & ~CWR_BIT;
                }
                if (neu != old) {
                    MemorySegment s = pkt.segment();
                    long tcp = pkt.networkOffset() + ihl;
                    s.set(U16, tcp + TCP_FLAGS_WORD, (short) neu);
                    int check = Short.toUnsignedInt(s.get(U16, tcp + TCP_CHECKSUM));
                    s.set(U16, tcp + TCP_CHECKSUM, (short) Checksums.update16(check, old, neu));
                }
            }
            return Verdict.CONTINUE;
        }
        private boolean isRemove() {
            return operation == (OP_ECE | OP_CWR) && ece == 0 && cwr == 0;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            if (isRemove()) {
                out.append(" --ecn-tcp-remove");
                return;
            }
            if ((operation & OP_ECE) != 0) {
                out.append(" --ecn-tcp-ece ").append(ece);
            }
            if ((operation & OP_CWR) != 0) {
                out.append(" --ecn-tcp-cwr ").append(cwr);
            }
            if ((operation & OP_IP) != 0) {
                out.append(" --ecn-ip-ect ").append(ipEct);
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" ECN");
            if (isRemove()) {
                out.append(" TCP remove");
                return;
            }
            if ((operation & OP_ECE) != 0) {
                out.append(" ECE=").append(ece);
            }
            if ((operation & OP_CWR) != 0) {
                out.append(" CWR=").append(cwr);
            }
            if ((operation & OP_IP) != 0) {
                out.append(" ECT codepoint=").append(ipEct);
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", 0);
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
            private int ipEct;
            private int ece;
            private int cwr;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                noInvert(option, invert);
                if (option == TCP_REMOVE) {
                    operation |= OP_ECE | OP_CWR;
                    ece = 0;
                    cwr = 0;
                } else if (option == TCP_CWR) {
                    cwr = (int) uint(option, arg, 0, 1);
                    operation |= OP_CWR;
                } else if (option == TCP_ECE) {
                    ece = (int) uint(option, arg, 0, 1);
                    operation |= OP_ECE;
                } else {
                    ipEct = (int) uint(option, arg, 0, 3);
                    operation |= OP_IP;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (operation == 0) {
                    throw XtablesException.parameter("ECN target: An operation is required");
                }
                return new Data(operation, ipEct, ece, cwr);
            }
        };
    }
}
