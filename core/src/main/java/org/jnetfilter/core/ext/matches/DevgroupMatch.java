package org.jnetfilter.core.ext.matches;

import java.nio.file.Path;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m devgroup [!] --src-group value[/mask] [!] --dst-group value[/mask]} (libxt_devgroup,
 * xt_devgroup): the group of the input or output device under a mask. Names come from
 * /etc/iproute2/group. Packet thread: allocates nothing; the host model has no device groups, so every
 * device is in group 0, the group Linux gives a new device (INIT_NETDEV_GROUP).
 */
public final class DevgroupMatch extends MatchExtension {
    static final OptionSpec SRC_GROUP = OptionSpec.withArg("src-group");
    static final OptionSpec DST_GROUP = OptionSpec.withArg("dst-group");
    static final Path GROUP_FILE = Path.of("/etc/iproute2/group");
    // Linux: INIT_NETDEV_GROUP = 0
    static final long DEVICE_GROUP = 0;
    private static final long ALL = 0xFFFFFFFFL;

    public DevgroupMatch() {
        super("devgroup", List.of(SRC_GROUP, DST_GROUP));
    }

    /** One side's test: absent, or a group under a mask, perhaps negated. */
    public record Group(boolean given, long group, long mask, boolean inverted) {
        static final Group NONE = new Group(false, 0, ALL, false);

        /** devgroup_mt: a device whose masked group differs fails the rule, unless negated. */
        boolean admits(long deviceGroup) {
            return !given || (((group ^ deviceGroup) & mask) == 0) != inverted;
        }

        void append(StringBuilder out, String option, boolean numeric) {
            if (!given) {
                return;
            }
            out.append(inverted ? " ! " : " ").append(option);
            String name = mask == ALL && !numeric ? LabelMap.read(GROUP_FILE).name(group) : null;
            if (mask != ALL) {
                out.append(" 0x").append(Long.toHexString(group)).append("/0x").append(Long.toHexString(mask));
            } else if (name != null) {
                out.append(' ').append(name);
            } else {
                out.append(" 0x").append(Long.toHexString(group));
            }
        }
    }

    public record Data(Group src, Group dst) implements ExtensionData {
        @Override
        public boolean matches(PacketContext pkt) {
            return src.admits(DEVICE_GROUP) && dst.admits(DEVICE_GROUP);
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            src.append(out, "--src-group", false);
            dst.append(out, "--dst-group", false);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            src.append(out, "src-group", numeric);
            dst.append(out, "dst-group", numeric);
        }

        /** devgroup_mt_checkentry: the input device exists up to FORWARD, the output device from FORWARD on. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            int inHooks = Hook.PREROUTING.bit() | Hook.INPUT.bit() | Hook.FORWARD.bit();
            int outHooks = Hook.FORWARD.bit() | Hook.OUTPUT.bit() | Hook.POSTROUTING.bit();
            if (src.given() && (hookMask & ~inHooks) != 0 || dst.given() && (hookMask & ~outHooks) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private Group src = Group.NONE;
            private Group dst = Group.NONE;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                long[] valueMask = valueAndMask(option, arg);
                Group g = new Group(true, valueMask[0], valueMask[1], invert);
                if (option == SRC_GROUP) {
                    src = g;
                } else {
                    dst = g;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (!src.given() && !dst.given()) {
                    throw XtablesException.parameter(
                            "devgroup match: You must specify either '--src-group' or '--dst-group'");
                }
                return new Data(src, dst);
            }
        };
    }

    /**
     * xtables_parse_val_mask with the group names: {@code value[/mask]}, numbers as strtoul reads them
     * (base 0), or a name for the whole argument when it does not start with a number followed by
     * nothing or '/'.
     */
    private long[] valueAndMask(OptionSpec option, String arg) {
        int end = numberEnd(arg, 0);
        long value = end > 0 ? parseNumber(arg.substring(0, end)) : -1;
        if (value >= 0 && end == arg.length()) {
            return new long[] {value, ALL};
        }
        if (value < 0 || arg.charAt(end) != '/') {
            long named = LabelMap.read(GROUP_FILE).id(arg);
            if (named < 0) {
                throw XtablesException.parameter(name() + ": could not map name " + arg
                        + " to an integer value for option \"--" + option.name() + "\".\n");
            }
            return new long[] {named, ALL};
        }
        int maskEnd = numberEnd(arg, end + 1);
        long mask = maskEnd > end + 1 ? parseNumber(arg.substring(end + 1, maskEnd)) : -1;
        if (mask < 0) {
            throw XtablesException.parameter(name() + ": bad integer value for option \"--" + option.name()
                    + "\", or out of range.\n");
        }
        if (maskEnd != arg.length()) {
            throw XtablesException.parameter(name() + ": trailing garbage after value for option \"--"
                    + option.name() + "\".\n");
        }
        return new long[] {value, mask};
    }

    private static long parseNumber(String s) {
        return org.jnetfilter.core.ext.Numbers.parseUnsigned(s, 0, ALL);
    }

    /** Where the number strtoul(s + from, &end, 0) reads ends, or {@code from} when there is none. */
    private static int numberEnd(String s, int from) {
        int i = from;
        if (s.startsWith("0x", i) || s.startsWith("0X", i)) {
            int j = i + 2;
            while (j < s.length() && Character.digit(s.charAt(j), 16) >= 0) {
                j++;
            }
            return j > i + 2 ? j : i + 1;
        }
        while (i < s.length() && Character.digit(s.charAt(i), 10) >= 0) {
            i++;
        }
        return i;
    }
}
