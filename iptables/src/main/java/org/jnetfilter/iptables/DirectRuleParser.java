package org.jnetfilter.iptables;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.Extension;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Target;

/**
 * The common shape of a rule's words, parsed without getopt: {@code -s -d -i -o -p} (each at most once,
 * {@code !} before it), {@code -m NAME} followed by that match's options under their exact long names,
 * {@code -j}/{@code -g TARGET} with the target's options, as iptables-save writes every rule. It calls the
 * same extension parsers as {@link CommandLine}, in the same order, seeing the same fixed part of the rule at
 * each step, so what it returns is what CommandLine returns for the same words.
 *
 * <p>Anything else is left to CommandLine: an option given by an abbreviation, attached ({@code -sX},
 * {@code --opt=X}) or in its long global form, short options clustered, {@code -f -c -v -t -w}, the implicit
 * protocol match ({@code -p tcp --dport 22}), a list of addresses, a second command, a warning. Then, and
 * whenever a step fails, {@link #parse} returns null and the caller parses the words through CommandLine,
 * which gives the rule or iptables' error: this class has no error messages of its own. A restore of a
 * Kubernetes node's 160k rules spends most of its parsing in getopt's generic machinery otherwise (the
 * option tables merged per match, abbreviation searches, argv arrays).
 *
 * <p>Single use per rule; any number of threads may parse at once (nothing shared is written).
 */
final class DirectRuleParser implements ParseContext {

    /** The words are not of the common shape, or a step failed: CommandLine must parse them. */
    private static final class NotCommon extends RuntimeException {
        private static final NotCommon INSTANCE = new NotCommon();

        private NotCommon() {
            super(null, null, false, false);
        }
    }


    // Linux: IFNAMSIZ = 16; chain and target names under XT_EXTENSION_MAXNAMELEN = 29
    private static final int IFNAMSIZ = 16;

    private final Family family;
    private final Extensions extensions;
    private final String table;
    private final List<String> words;
    /** Names -j takes as chains even where a target extension has the name (see CommandLine#notTargets). */
    private final java.util.function.Predicate<String> notTargets;
    private int next;
    private IpSpec ip;

    private DirectRuleParser(Family family, Extensions extensions, String table, List<String> words, int from,
                             java.util.function.Predicate<String> notTargets) {
        this.family = family;
        this.extensions = extensions;
        this.table = table;
        this.words = words;
        this.next = from;
        this.notTargets = notTargets;
        this.ip = IpSpec.any(family);
    }

    /**
     * The rule that {@code words} (from index {@code from} on, everything after {@code -A CHAIN}) say, or
     * null when CommandLine must parse them.
     */
    static RuleSpec parse(Family family, Extensions extensions, String table, List<String> words, int from,
                          java.util.function.Predicate<String> notTargets) {
        try {
            return new DirectRuleParser(family, extensions, table, words, from, notTargets).rule();
        } catch (RuntimeException e) {
            // NotCommon, or an extension's or an address's error: CommandLine finds it again, in its order
            return null;
        }
    }

    /**
     * The command of a restore line already split into words, {@code -A CHAIN rule...}, or null when
     * CommandLine must parse it; {@code plainSource} is the rule's words as written (see
     * {@link Restore#plainRuleWords}), required; {@code counters} the line's {@code [P:B]} under -c, or null.
     */
    static Command append(Family family, Extensions extensions, String table, List<String> words, String plainSource,
                          long[] counters, java.util.function.Predicate<String> notTargets) {
        if (plainSource == null || words.size() < 2 || !words.get(0).equals("-A")) {
            return null;
        }
        String chain = words.get(1);
        if (chain.length() >= CommandLine.MAX_CHAIN_NAME) {
            return null;
        }
        RuleSpec spec = parse(family, extensions, table, words, 2, notTargets);
        if (spec == null) {
            return null;
        }
        return new Command(CommandKind.APPEND, table, chain, 0, null, null, List.of(spec), counters, 0, false, false,
                false, -1, false, null, plainSource, List.of());
    }

    private static RuntimeException notCommon() {
        return NotCommon.INSTANCE;
    }

    private String argument() {
        if (next >= words.size()) {
            throw notCommon();
        }
        return words.get(next++);
    }

    private RuleSpec rule() {
        int given = 0;
        boolean invert = false;
        String srcText = null;
        String dstText = null;
        String jumpTo = null;
        boolean isGoto = false;
        List<CommandLine.Loaded> matches = new ArrayList<>(4);
        CommandLine.Loaded target = null;
        // the loaded extensions newest first is the order getopt searches their options in
        List<CommandLine.Loaded> loadOrder = new ArrayList<>(5);
        int n = words.size();
        while (next < n) {
            String w = words.get(next++);
            if (w.equals("!")) {
                if (invert) {
                    throw notCommon();
                }
                invert = true;
                continue;
            }
            if (w.length() > 2 && w.charAt(0) == '-' && w.charAt(1) == '-') {
                if (w.indexOf('=', 2) >= 0 || CommandLine.isGlobalOptionWord(family, w)) {
                    throw notCommon();
                }
                CommandLine.Loaded holder = null;
                OptionSpec option = null;
                for (int i = loadOrder.size() - 1; i >= 0 && option == null; i--) {
                    holder = loadOrder.get(i);
                    option = CommandLine.exactOptionOfWord(holder.extension, w);
                }
                if (option == null) {
                    throw notCommon();
                }
                String arg = option.hasArg() == OptionSpec.HasArg.REQUIRED ? argument() : null;
                boolean inv = invert;
                invert = false;
                holder.parser.parse(option, inv, arg, this);
                continue;
            }
            if (w.length() != 2 || w.charAt(0) != '-') {
                throw notCommon();
            }
            char c = w.charAt(1);
            // bits as CommandLine's OPT_* for the options taken here: each once, '!' only where it inverts
            int bit;
            int invFlag;
            switch (c) {
                case 's' -> {
                    bit = 1 << 1;
                    invFlag = IpSpec.INV_SRCIP;
                }
                case 'd' -> {
                    bit = 1 << 2;
                    invFlag = IpSpec.INV_DSTIP;
                }
                case 'p' -> {
                    bit = 1 << 3;
                    invFlag = IpSpec.INV_PROTO;
                }
                case 'j', 'g' -> {
                    bit = 1 << 4;
                    invFlag = 0;
                }
                case 'i' -> {
                    bit = 1 << 7;
                    invFlag = IpSpec.INV_VIA_IN;
                }
                case 'o' -> {
                    bit = 1 << 8;
                    invFlag = IpSpec.INV_VIA_OUT;
                }
                case 'm' -> {
                    bit = 0;
                    invFlag = 0;
                }
                default -> throw notCommon();
            }
            String arg = argument();
            if (c == 'm') {
                if (invert) {
                    throw notCommon();
                }
                MatchExtension m = extensions.match(arg, family);
                if (m == null || m.loadWarning() != null) {
                    throw notCommon();
                }
                CommandLine.Loaded l = new CommandLine.Loaded(m, m.newParser(this));
                matches.add(l);
                loadOrder.add(l);
                continue;
            }
            if ((c == 'i' || c == 'o') && arg.isEmpty()) {
                throw notCommon();
            }
            if ((given & bit) != 0 || invert && invFlag == 0) {
                throw notCommon();
            }
            given |= bit;
            if (invert) {
                ip = ip.withInverted(invFlag, true);
            }
            switch (c) {
                case 's' -> srcText = arg;
                case 'd' -> dstText = arg;
                case 'p' -> {
                    OptionalInt proto = Protocols.parse(arg.toLowerCase(Locale.ROOT));
                    if (proto.isEmpty() || proto.getAsInt() == 0 && ip.inverted(IpSpec.INV_PROTO)) {
                        throw notCommon();
                    }
                    // ip6tables warns of an extension header given as -p: CommandLine's to print
                    if (family == Family.IPV6 && CommandLine.isExtensionHeader(proto.getAsInt())
                            && !ip.inverted(IpSpec.INV_PROTO)) {
                        throw notCommon();
                    }
                    ip = ip.withProtocol(proto.getAsInt());
                }
                case 'i', 'o' -> {
                    // longer than IFNAMSIZ is an error, '/' or ' ' a warning: CommandLine's to give
                    if (arg.length() + 1 > IFNAMSIZ || arg.indexOf('/') >= 0 || arg.indexOf(' ') >= 0) {
                        throw notCommon();
                    }
                    ip = c == 'i' ? ip.withInIface(arg) : ip.withOutIface(arg);
                }
                default -> {
                    if (arg.isEmpty() || arg.length() >= CommandLine.MAX_CHAIN_NAME) {
                        throw notCommon();
                    }
                    jumpTo = arg;
                    isGoto = c == 'g';
                    if (Target.verdictOrNull(arg) == null && !isGoto && !notTargets.test(arg)) {
                        TargetExtension t = extensions.target(arg, family);
                        if (t != null && t.loadWarning() != null) {
                            throw notCommon();
                        }
                        if (t != null) {
                            target = new CommandLine.Loaded(t, t.newParser(this));
                            loadOrder.add(target);
                        }
                    }
                }
            }
            invert = false;
        }
        for (CommandLine.Loaded l : matches) {
            l.data = l.parser.finish(this);
        }
        if (target != null) {
            target.data = target.parser.finish(this);
        }
        if (invert) {
            throw notCommon();
        }
        IpNet src = onlyAddress(srcText);
        IpNet dst = onlyAddress(dstText);
        List<Match> ms = new ArrayList<>(matches.size());
        for (CommandLine.Loaded l : matches) {
            ms.add(new Match((MatchExtension) l.extension, l.data));
        }
        Target t = target != null ? CommandLine.target(jumpTo, isGoto, (TargetExtension) target.extension, target.data)
                : CommandLine.target(jumpTo, isGoto, null, null);
        return new RuleSpec(ip.withSrc(src).withDst(dst), ms, t);
    }

    /** The one address {@code text} names (none given: any); several are CommandLine's to expand. */
    private IpNet onlyAddress(String text) {
        if (text == null) {
            return IpNet.any(family);
        }
        if (family == Family.IPV4) {
            IpNet plain = Addresses.plainIpv4Net(text);
            if (plain != null) {
                return plain;
            }
        }
        List<IpNet> nets = Addresses.parseMultiple(family, text);
        if (nets.size() != 1) {
            throw notCommon();
        }
        return nets.get(0);
    }

    @Override
    public Family family() {
        return family;
    }

    @Override
    public String table() {
        return table;
    }

    @Override
    public IpSpec ip() {
        return ip;
    }

    @Override
    public String nextWord() {
        return next < words.size() ? words.get(next++) : null;
    }

    @Override
    public String peekWord() {
        return next < words.size() ? words.get(next) : null;
    }

    @Override
    public void warn(String line) {
        // CommandLine collects the warning (an interactive command prints it): leave the rule to it
        throw notCommon();
    }
}
