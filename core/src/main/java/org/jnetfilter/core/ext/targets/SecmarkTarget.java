package org.jnetfilter.core.ext.targets;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j SECMARK --selctx CONTEXT} (libxt_SECMARK revision 1, xt_SECMARK.c): sets the packet's security
 * mark from an SELinux context. Mangle and security tables only.
 *
 * <p>The kernel asks its LSM for the context's security id when the rule is committed
 * (security_secctx_to_secid). On a host without an LSM that knows contexts, like the Linux 6.18 machine these
 * semantics were checked on (no LSM loaded), the answer is id 0 and the rule is refused: the kernel logs
 * "xt_SECMARK: unable to map security context 'CONTEXT'" and iptables-legacy says "iptables: No
 * chain/target/match by that name." (ENOENT), exit 1. jnetfilter is not bound to one host's LSM (as with the
 * modules: see LED) and accepts the rule as a kernel with SELinux and the context loaded does, which is what
 * iptables' own test file expects: each distinct context gets a security id of its own (1, 2, ... in the order
 * first seen, as an LSM's SID table hands them out), and the target sets skb->secmark to it. Nothing in
 * iptables matches on the secmark; CONNSECMARK copies it to and from the connection. A ruleset without
 * SECMARK (all that the machine above accepts) behaves exactly as there: every secmark stays 0.
 */
public final class SecmarkTarget extends TargetExtension {
    static final OptionSpec SELCTX = OptionSpec.withArg("selctx");

    // Linux: SECMARK_SECCTX_MAX = 256, NUL included
    static final int MAX_LEN = 255;

    public SecmarkTarget() {
        super("SECMARK", List.of(SELCTX));
    }

    private static final Map<String, Long> SECID_BY_CONTEXT = new ConcurrentHashMap<>();
    private static final AtomicLong LAST_SECID = new AtomicLong();

    /** The security id of a context: the same for equal contexts, distinct and not 0 for different ones. */
    static long secid(String context) {
        return SECID_BY_CONTEXT.computeIfAbsent(context, c -> LAST_SECID.incrementAndGet());
    }

    /** @param secid the context's security id ({@link #secid(String)}), a function of the context */
    public record Data(String context, long secid) implements ExtensionData {
        /** xt_SECMARK secmark_tg (SECMARK_MODE_SEL): skb->secmark = the rule's security id; next rule. */
        @Override
        public int apply(PacketContext pkt) {
            pkt.secmark(secid);
            return Verdict.CONTINUE;
        }

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
            // Linux: security_secctx_to_secid needs an LSM that knows the context; accepted as a kernel with
            // SELinux and the context loaded accepts it (see the class comment for a kernel without an LSM)
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
                return new Data(context, secid(context));
            }
        };
    }
}
