package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m mac --mac-source XX:XX:XX:XX:XX:XX} (libxt_mac, xt_mac.c): the Ethernet source address,
 * only known where a packet came in (PREROUTING, INPUT, FORWARD).
 */
public final class MacMatch extends MatchExtension {
    static final OptionSpec MAC_SOURCE = OptionSpec.withArg("mac-source");

    public MacMatch() {
        super("mac", List.of(MAC_SOURCE));
    }

    /** @param address the 48-bit MAC address in the low bits */
    public record Data(long address, boolean inverted) implements ExtensionData {
        /** xt_mac: no Ethernet header, no match (whatever the '!'); else the source address compared. */
        @Override
        public boolean matches(org.jnetfilter.core.netfilter.PacketContext pkt) {
            long src = pkt.macSource();
            if (src < 0) {
                return false;
            }
            return (src == address) != inverted;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(inverted ? " ! --mac-source " : " --mac-source ");
            appendMac(out);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(inverted ? " MAC ! " : " MAC ");
            appendMac(out);
        }

        private void appendMac(StringBuilder out) {
            for (int i = 5; i >= 0; i--) {
                out.append(String.format("%02x", (address >>> (8 * i)) & 0xff)).append(i > 0 ? ":" : "");
            }
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            int allowed = Hook.PREROUTING.bit() | Hook.INPUT.bit() | Hook.FORWARD.bit();
            if ((hookMask & ~allowed) != 0) {
                throw XtablesException.invalidArgument();
            }
        }
    }

    /** Six hex numbers 0-ff separated by ':', as strtoul(.., 16) reads each. */
    static long parseMac(String arg) {
        String[] parts = arg.split(":", -1);
        if (parts.length != 6) {
            throw XtablesException.parameter("Invalid MAC address specified.");
        }
        long mac = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 8) {
                throw XtablesException.parameter("Invalid MAC address specified.");
            }
            long v = 0;
            for (int i = 0; i < p.length(); i++) {
                int d = Character.digit(p.charAt(i), 16);
                if (d < 0) {
                    throw XtablesException.parameter("Invalid MAC address specified.");
                }
                v = v * 16 + d;
            }
            if (v > 0xff) {
                throw XtablesException.parameter("Invalid MAC address specified.");
            }
            mac = (mac << 8) | v;
        }
        return mac;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long address;
            private boolean inverted;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                once(option);
                address = parseMac(arg);
                inverted = invert;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("mac-source");
                return new Data(address, inverted);
            }
        };
    }
}
