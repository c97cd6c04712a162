package org.jnetfilter.core.ext.matches;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.conntrack.Connection;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m connlabel --label NAME [--set]} (libxt_connlabel, xt_connlabel.c): one bit of the
 * connection's label bitmap; names come from /etc/xtables/connlabel.conf ("BIT NAME" lines).
 */
public final class ConnlabelMatch extends MatchExtension {
    static final OptionSpec LABEL = OptionSpec.withArg("label");
    static final OptionSpec SET = OptionSpec.flag("set");

    static final Path LABEL_FILE = Path.of("/etc/xtables/connlabel.conf");
    // Linux: XT_CONNLABEL_MAXBIT = 127
    static final int MAX_BIT = 127;

    public ConnlabelMatch() {
        super("connlabel", List.of(LABEL, SET));
    }

    /**
     * Linux: libxt_connlabel's userspacesize is offsetof(struct xt_connlabel_mtinfo, bit), 0: -D and -C
     * compare none of its data, so label, '!' and --set all differ unnoticed (checked with iptables-legacy
     * 1.8.9 on Linux 6.18).
     */
    @Override
    public boolean deleteComparesOptions() {
        return false;
    }

    public record Data(int bit, boolean inverted, boolean set) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --label \"" : " --label \"").append(labelName(bit)).append('"');
            if (set) {
                out.append(" --set");
            }
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" connlabel").append(inverted ? " ! " : " ").append(labelName(bit));
            if (set) {
                out.append(" set");
            }
        }

        /**
         * xt_connlabel connlabel_mt: whether the label bit is set; {@code --set} sets it and matches. Without
         * an entry or a label area (connlabel rules did not exist when the connection was created) the
         * answer is the negation flag.
         */
        @Override
        public boolean matches(PacketContext pkt) {
            Connection ct = pkt.conntrack();
            if (ct == null || !ct.hasLabels()) {
                return inverted;
            }
            if (ct.label(bit)) {
                return !inverted;
            }
            if (set) {
                ct.setLabel(bit);
                return !inverted;
            }
            return inverted;
        }

        /** connlabel_get_name opens the label file at every print, and warns each time it cannot. */
        @Override
        public String printWarning() {
            return labelFileWarning();
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (bit > MAX_BIT) {
                throw XtablesException.kernel("Numerical result out of range");
            }
        }
    }

    /** libxt_connlabel's warning when nfct_labelmap_new cannot open the label file, or null. */
    static String labelFileWarning() {
        if (Files.isReadable(LABEL_FILE)) {
            return null;
        }
        return "Warning: cannot open " + LABEL_FILE + ": "
                + (Files.exists(LABEL_FILE) ? "Permission denied" : "No such file or directory");
    }

    /** The name of a bit in the label file, else the number. */
    static String labelName(int bit) {
        for (String[] entry : labels()) {
            if (Numbers.parseUnsigned(entry[0], 0, 0xFFFF) == bit) {
                return entry[1];
            }
        }
        return Integer.toString(bit);
    }

    private static List<String[]> labels() {
        if (!Files.isReadable(LABEL_FILE)) {
            return List.of();
        }
        try {
            return Files.readAllLines(LABEL_FILE).stream().map(String::trim)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).map(l -> l.split("\\s+", 2))
                    .filter(f -> f.length == 2).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private int bit;
            private boolean inverted;
            private boolean set;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == SET) {
                    plain(option, invert);
                    set = true;
                    return;
                }
                once(option);
                inverted = invert;
                long n = Numbers.parseUnsigned(arg, 0, 0xFFFF);
                String warning = n < 0 ? labelFileWarning() : null;
                if (warning != null) {
                    c.warn(warning);
                }
                if (n < 0) {
                    for (String[] entry : labels()) {
                        if (entry[1].equals(arg)) {
                            n = Numbers.parseUnsigned(entry[0], 0, 0xFFFF);
                        }
                    }
                }
                if (n < 0) {
                    throw XtablesException.parameter("label '" + arg + "' not found or invalid value");
                }
                bit = (int) n;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("label");
                return new Data(bit, inverted, set);
            }
        };
    }
}
