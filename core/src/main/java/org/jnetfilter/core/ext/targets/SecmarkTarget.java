package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j SECMARK --selctx CONTEXT} (libxt_SECMARK revision 1, xt_SECMARK.c): sets the packet's security
 * mark from an SELinux context. Mangle and security tables only.
 */
public final class SecmarkTarget extends TargetExtension {
    static final OptionSpec SELCTX = OptionSpec.withArg("selctx");

    // Linux: SECMARK_SECCTX_MAX = 256, NUL included
    static final int MAX_LEN = 255;

    public SecmarkTarget() {
        super("SECMARK", List.of(SELCTX));
    }

    public record Data(String context) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --selctx ").append(context);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" SECMARK selctx ").append(context);
        }

        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (!table.equals("mangle") && !table.equals("security")) {
                throw XtablesException.invalidArgument();
            }
            // Linux: security_secctx_to_secid needs an LSM that knows the context; jnetfilter takes the
            // context as given, as a kernel with SELinux and that context loaded does

        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String context;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                if (arg.length() > MAX_LEN) {
                    throw XtablesException.parameter(extName + ": option \"--selctx\" is too long (max: " + MAX_LEN
                            + ")\n");
                }
                context = arg;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("selctx");
                return new Data(context);
            }
        };
    }
}
