package org.jnetfilter.core.ext.targets;

import java.math.BigInteger;
import java.util.List;
import java.util.Set;
import org.jnetfilter.core.ext.MarkMask;
import org.jnetfilter.core.ext.XtablesException;

/** Value syntaxes and checks shared by the mark-setting targets (MARK, CONNMARK, CT, HMARK, ...). */
final class MarkValues {
    static final long U32 = 0xFFFFFFFFL;

    private MarkValues() {
    }

    /** xtopt_parse_markmask: {@code value[/mask]}; see {@link MarkMask#markMask}. */
    static long[] markMask(String ext, String opt, String arg) {
        return MarkMask.markMask(ext, opt, arg);
    }

    /** See {@link MarkMask#strtoul32}. */
    static long[] strtoul32(String s, int from) {
        return MarkMask.strtoul32(s, from);
    }

    /**
     * xtables_options_fcheck's exclusion test: walking the option table in order, the first given option
     * that excludes another given one is reported with that other one.
     *
     * @param groups each group: options of which at most one may be given
     */
    static void exclusive(String ext, List<String> table, Set<String> seen, List<Set<String>> groups) {
        for (String a : table) {
            if (!seen.contains(a)) {
                continue;
            }
            for (String b : table) {
                if (b.equals(a) || !seen.contains(b)) {
                    continue;
                }
                for (Set<String> g : groups) {
                    if (g.contains(a) && g.contains(b)) {
                        throw XtablesException.parameter(ext + ": option \"--" + a
                                + "\" cannot be used together with \"--" + b + "\".\n");
                    }
                }
            }
        }
    }

    /** The list form of an xset operation (libxt_MARK and libxt_CONNMARK print). */
    static void appendOperation(StringBuilder out, long mark, long mask) {
        if (mark == 0) {
            out.append("and 0x").append(Long.toHexString(~mask & U32));
        } else if (mark == mask) {
            out.append("or 0x").append(Long.toHexString(mark));
        } else if (mask == 0) {
            out.append("xor 0x").append(Long.toHexString(mark));
        } else if (mask == U32) {
            out.append("set 0x").append(Long.toHexString(mark));
        } else {
            out.append("xset 0x").append(Long.toHexString(mark)).append("/0x").append(Long.toHexString(mask));
        }
    }
}
