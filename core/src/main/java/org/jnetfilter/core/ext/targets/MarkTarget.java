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
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j MARK} (libxt_MARK revision 2, xt_mark.c mark_tg): {@code skb->mark = (skb->mark & ~mask) ^ mark}.
 * Every option is a form of that one operation, which is what iptables-save prints.
 */
public final class MarkTarget extends TargetExtension {
    static final OptionSpec SET_XMARK = OptionSpec.withArg("set-xmark");
    static final OptionSpec SET_MARK = OptionSpec.withArg("set-mark");
    static final OptionSpec AND_MARK = OptionSpec.withArg("and-mark");
    static final OptionSpec OR_MARK = OptionSpec.withArg("or-mark");
    static final OptionSpec XOR_MARK = OptionSpec.withArg("xor-mark");
    static final List<String> TABLE = List.of("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark");

    public MarkTarget() {
        super("MARK", List.of(SET_XMARK, SET_MARK, AND_MARK, OR_MARK, XOR_MARK));
    }

    public record Data(long mark, long mask) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --set-xmark 0x").append(Long.toHexString(mark)).append("/0x").append(Long.toHexString(mask));
        }

        /** xt_mark mark_tg: {@code skb->mark = (skb->mark & ~mask) ^ mark}; the walk goes on. */
        @Override
        public int apply(PacketContext pkt) {
            pkt.mark((pkt.mark() & ~mask) ^ mark);
            return Verdict.CONTINUE;
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" MARK ");
            MarkValues.appendOperation(out, mark, mask);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private final Set<String> given = new HashSet<>();
            private long mark;
            private long mask;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                given.add(option.name());
                if (option == SET_XMARK || option == SET_MARK) {
                    long[] mm = MarkValues.markMask(extName, option.name(), arg);
                    mark = mm[0];
                    mask = option == SET_MARK ? mm[0] | mm[1] : mm[1];
                } else {
                    long v = uint(option, arg, 0, MarkValues.U32);
                    if (option == AND_MARK) {
                        mark = 0;
                        mask = ~v & MarkValues.U32;
                    } else if (option == OR_MARK) {
                        mark = v;
                        mask = v;
                    } else {
                        mark = v;
                        mask = 0;
                    }
                }
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (given.isEmpty()) {
                    throw XtablesException.parameter(
                            "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required");
                }
                MarkValues.exclusive(extName, TABLE, given, List.of(Set.copyOf(TABLE)));
                return new Data(mark, mask);
            }
        };
    }
}
