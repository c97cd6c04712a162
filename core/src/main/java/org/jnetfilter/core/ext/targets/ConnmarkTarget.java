package org.jnetfilter.core.ext.targets;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j CONNMARK} (libxt_CONNMARK revision 2, xt_connmark.c connmark_tg): set the conntrack mark
 * ({@code ctmark = (ctmark & ~ctmask) ^ mark}), save the packet mark into it, or restore it into the
 * packet, with masks and a shift.
 */
public final class ConnmarkTarget extends TargetExtension {
    static final OptionSpec SET_XMARK = OptionSpec.withArg("set-xmark");
    static final OptionSpec SET_MARK = OptionSpec.withArg("set-mark");
    static final OptionSpec AND_MARK = OptionSpec.withArg("and-mark");
    static final OptionSpec OR_MARK = OptionSpec.withArg("or-mark");
    static final OptionSpec XOR_MARK = OptionSpec.withArg("xor-mark");
    static final OptionSpec SAVE_MARK = OptionSpec.flag("save-mark");
    static final OptionSpec RESTORE_MARK = OptionSpec.flag("restore-mark");
    static final OptionSpec CTMASK = OptionSpec.withArg("ctmask");
    static final OptionSpec NFMASK = OptionSpec.withArg("nfmask");
    static final OptionSpec MASK = OptionSpec.withArg("mask");
    static final OptionSpec LEFT_SHIFT_MARK = OptionSpec.withArg("left-shift-mark");
    static final OptionSpec RIGHT_SHIFT_MARK = OptionSpec.withArg("right-shift-mark");
    static final List<String> TABLE = List.of("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark",
            "save-mark", "restore-mark", "ctmask", "nfmask", "mask", "left-shift-mark", "right-shift-mark");
    static final Set<String> OPERATIONS = Set.of("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark",
            "save-mark", "restore-mark");

    // Linux: XT_CONNMARK_SET, XT_CONNMARK_SAVE, XT_CONNMARK_RESTORE; D_SHIFT_LEFT, D_SHIFT_RIGHT
    public static final int MODE_SET = 0;
    public static final int MODE_SAVE = 1;
    public static final int MODE_RESTORE = 2;
    public static final int SHIFT_LEFT = 0;
    public static final int SHIFT_RIGHT = 1;

    public ConnmarkTarget() {
        super("CONNMARK", List.of(SET_XMARK, SET_MARK, AND_MARK, OR_MARK, XOR_MARK, SAVE_MARK, RESTORE_MARK,
                CTMASK, NFMASK, MASK, LEFT_SHIFT_MARK, RIGHT_SHIFT_MARK));
    }

    public record Data(int mode, long ctmark, long ctmask, long nfmask, int shiftDir, int shiftBits)
            implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            switch (mode) {
                case MODE_SET -> out.append(" --set-xmark 0x").append(Long.toHexString(ctmark)).append("/0x")
                        .append(Long.toHexString(ctmask));
                case MODE_SAVE -> out.append(" --save-mark --nfmask 0x").append(Long.toHexString(nfmask))
                        .append(" --ctmask 0x").append(Long.toHexString(ctmask));
                default -> out.append(" --restore-mark --nfmask 0x").append(Long.toHexString(nfmask))
                        .append(" --ctmask 0x").append(Long.toHexString(ctmask));
            }
            appendShift(out, "--");
        }

        /**
         * xt_connmark connmark_tg_shift: set {@code ctmark = ((ctmark & ~ctmask) ^ ctmark') shifted}; save
         * {@code ctmark = (ctmark & ~ctmask) ^ ((mark & nfmask) shifted)}; restore
         * {@code mark = (mark & ~nfmask) ^ ((ctmark & ctmask) shifted)}; 32-bit shifts. Nothing without an
         * entry; always goes on with the next rule.
         */
        @Override
        public int apply(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null || ct.isTemplate()) {
                return Verdict.CONTINUE;
            }
            switch (mode) {
                case MODE_SET -> ct.mark(shift((ct.mark() & ~ctmask) ^ ctmark));
                case MODE_SAVE -> ct.mark((ct.mark() & ~ctmask) ^ shift(pkt.mark() & nfmask));
                default -> pkt.mark((pkt.mark() & ~nfmask) ^ shift(ct.mark() & ctmask));
            }
            return Verdict.CONTINUE;
        }

        private long shift(long v) {
            v &= MarkValues.U32;
            // Linux on x86: a 32-bit shift count is taken modulo 32 (a shift by 32 changes nothing)
            int shiftBits = this.shiftBits & 31;
            return (shiftDir == SHIFT_RIGHT ? v >>> shiftBits : v << shiftBits) & MarkValues.U32;
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" CONNMARK ");
            if (mode == MODE_SET) {
                MarkValues.appendOperation(out, ctmark, ctmask);
            } else {
                String what = mode == MODE_SAVE ? "save" : "restore";
                out.append(what);
                if (nfmask == MarkValues.U32 && ctmask == MarkValues.U32) {
                    // plain
                } else if (nfmask == ctmask) {
                    out.append(" mask 0x").append(Long.toHexString(nfmask));
                } else if (mode == MODE_SAVE) {
                    out.append(" nfmask 0x").append(Long.toHexString(nfmask)).append(" ctmask ~0x")
                            .append(Long.toHexString(ctmask));
                } else {
                    out.append(" ctmask 0x").append(Long.toHexString(ctmask)).append(" nfmask ~0x")
                            .append(Long.toHexString(nfmask));
                }
            }
            appendShift(out, "");
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            // Linux: connmark_tg_check refuses shift_bits >= 32 (the revision-2 shift)
            if (shiftBits > 31) {
                throw XtablesException.invalidArgument();
            }
        }

        private void appendShift(StringBuilder out, String dash) {
            if (shiftBits != 0) {
                out.append(' ').append(dash).append(shiftDir == SHIFT_LEFT ? "left" : "right").append("-shift-mark ")
                        .append(shiftBits);
            }
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private final Set<String> given = new HashSet<>();
            private int mode = -1;
            private long ctmark;
            private long ctmask;
            private long nfmask;
            private int shiftDir;
            private int shiftBits;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                given.add(option.name());
                if (option == SET_XMARK || option == SET_MARK) {
                    long[] mm = MarkValues.markMask(extName, option.name(), arg);
                    mode = MODE_SET;
                    ctmark = mm[0];
                    ctmask = option == SET_MARK ? mm[0] | mm[1] : mm[1];
                } else if (option == AND_MARK || option == OR_MARK || option == XOR_MARK) {
                    long v = uint(option, arg, 0, MarkValues.U32);
                    mode = MODE_SET;
                    ctmark = option == AND_MARK ? 0 : v;
                    ctmask = option == AND_MARK ? ~v & MarkValues.U32 : option == OR_MARK ? v : 0;
                } else if (option == SAVE_MARK || option == RESTORE_MARK) {
                    mode = option == SAVE_MARK ? MODE_SAVE : MODE_RESTORE;
                    nfmask = MarkValues.U32;
                    ctmask = MarkValues.U32;
                } else if (option == CTMASK) {
                    ctmask = uint(option, arg, 0, MarkValues.U32);
                } else if (option == NFMASK) {
                    nfmask = uint(option, arg, 0, MarkValues.U32);
                } else if (option == MASK) {
                    ctmask = uint(option, arg, 0, MarkValues.U32);
                    nfmask = ctmask;
                } else {
                    shiftBits = (int) uint(option, arg, 0, 32);
                    shiftDir = option == LEFT_SHIFT_MARK ? SHIFT_LEFT : SHIFT_RIGHT;
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (mode < 0) {
                    throw XtablesException.parameter("CONNMARK target: No operation specified");
                }
                MarkValues.exclusive(extName, TABLE, given, List.of(OPERATIONS, Set.of("ctmask", "mask"),
                        Set.of("nfmask", "mask")));
                return new Data(mode, ctmark, ctmask, nfmask, shiftDir, shiftBits);
            }
        };
    }
}
