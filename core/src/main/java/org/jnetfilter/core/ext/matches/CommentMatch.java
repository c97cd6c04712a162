package org.jnetfilter.core.ext.matches;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.SaveText;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/** {@code -m comment --comment TEXT} (libxt_comment, xt_comment): always matches. */
public final class CommentMatch extends MatchExtension {
    static final OptionSpec COMMENT = OptionSpec.withArg("comment");

    // Linux: XT_MAX_COMMENT_LEN = 256, including the terminating NUL
    static final int MAX_LEN = 255;

    public CommentMatch() {
        super("comment", List.of(COMMENT));
    }

    public record Data(String comment) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --comment");
            SaveText.appendQuoted(out, comment);
        }

        /** xt_comment: always. */
        @Override
        public boolean matches(PacketContext pkt) {
            return true;
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(" /* ").append(comment).append(" */");
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private String comment;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                plain(option, invert);
                // iptables-legacy 1.8.9 copies the text into the kernel's 256-byte field and keeps what fits
                byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
                comment = bytes.length > MAX_LEN ? new String(bytes, 0, MAX_LEN, StandardCharsets.UTF_8) : arg;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("comment");
                return new Data(comment);
            }
        };
    }
}
