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
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;

/**
 * The IPv4 TTL and IPv6 hop limit targets share one shape: set, decrement or increment an 8-bit field,
 * in the mangle table. {@code TTL} and {@code HL} differ only in names.
 */
abstract class HopCountTarget extends TargetExtension {
    // Linux: IPT_TTL_SET/INC/DEC = IP6T_HL_SET/INC/DEC = 0..2
    public static final int SET = 0;
    public static final int INC = 1;
    public static final int DEC = 2;
    // Linux: struct iphdr ttl and check, struct ipv6hdr hop_limit
    static final int TTL_AT = 8;
    static final int CHECKSUM_AT = 10;
    static final int HOP_LIMIT_AT = 7;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final OptionSpec set;
    private final OptionSpec dec;

    /** @param prefix "ttl" or "hl": the option names' prefix; the target name is its upper case */
    HopCountTarget(String prefix, Family family) {
        this(prefix, family, OptionSpec.withArg(prefix + "-set"), OptionSpec.withArg(prefix + "-dec"),
                OptionSpec.withArg(prefix + "-inc"));
    }

    private HopCountTarget(String prefix, Family family, OptionSpec set, OptionSpec dec, OptionSpec inc) {
        super(prefix.toUpperCase(), Set.of(family), List.of(set, dec, inc));
        this.set = set;
        this.dec = dec;
    }

    /** @param mode SET, INC or DEC */
    public record Data(String prefix, int mode, int value) implements ExtensionData {
        /*
         * xt_HL ttl_tg / hl_tg6: set, or add / subtract with the result held to 0..255 (a decrement
         * never goes below 0, an increment never past 255); the walk goes on. An IPv4 TTL change fixes
         * the header checksum with csum_replace2 on the TTL/protocol word, and only when the value
         * changes; IPv6 has no header checksum.
         */
        @Override
        public int apply(PacketContext pkt) {
            boolean ipv4 = pkt.family() == Family.IPV4;
            int field = ipv4 ? TTL_AT : HOP_LIMIT_AT;
            int old = pkt.networkU8(field);
            int neu = switch (mode) {
                case SET -> value;
                case INC -> Math.min(old + value, 255);
                case DEC -> Math.max(old - value, 0);
                default -> old;
            };
            if (neu == old) {
                return Verdict.CONTINUE;
            }
            MemorySegment s = pkt.segment();
            long at = pkt.networkOffset();
            if (ipv4) {
                int check = Short.toUnsignedInt(s.get(U16, at + CHECKSUM_AT));
                s.set(U16, at + CHECKSUM_AT, (short) Checksums.update16(check, old << 8, neu << 8));
            }
            s.set(ValueLayout.JAVA_BYTE, at + field, (byte) neu);
            return Verdict.CONTINUE;
        }
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --").append(prefix).append(mode == SET ? "-set " : mode == DEC ? "-dec " : "-inc ")
                    .append(value);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(' ').append(prefix.toUpperCase())
                    .append(mode == SET ? " set to " : mode == DEC ? " decrement by " : " increment by ").append(value);
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            TargetScope.require(table, hookMask, "mangle", 0);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        String prefix = name().toLowerCase();
        return new OptionParser(name()) {
            private int mode = -1;
            private int value;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                noInvert(option, invert);
                if (option == set) {
                    value = (int) uint(option, arg, 0, 255);
                    mode = SET;
                } else {
                    value = (int) uint(option, arg, 1, 255);
                    mode = option == dec ? DEC : INC;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                // xtables_options_fcheck: the three exclude each other, reported in table order
                String[] names = {prefix + "-set", prefix + "-dec", prefix + "-inc"};
                for (String entry : names) {
                    for (String other : names) {
                        if (!other.equals(entry) && seen(entry) && seen(other)) {
                            exclusive(other, entry);
                        }
                    }
                }
                if (mode < 0) {
                    throw XtablesException.parameter(name() + ": You must specify an action");
                }
                return new Data(prefix, mode, value);
            }
        };
    }
}
