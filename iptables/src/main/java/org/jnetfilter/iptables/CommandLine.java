package org.jnetfilter.iptables;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.Set;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.ext.Extension;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.ext.InterfaceNames;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Match;
import org.jnetfilter.core.rules.Protocols;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.Target;

/**
 * The iptables command line, parsed as iptables 1.8 legacy parses it (xshared.c do_parse, iptables.c
 * do_command4): getopt_long over the global options merged with the options of every loaded extension
 * (newest first), '!' as its own word before what it negates, the protocol match loaded implicitly when
 * an unknown option follows {@code -p}, and the same checks in the same order with the same messages.
 * Single use, single thread.
 */
final class CommandLine implements ParseContext {

    // Options: bit i is optflags[i] of xshared.c: "nsdpjvxio0cf"
    private static final String OPT_LETTERS = "nsdpjvxio0cf";
    private static final int OPT_NUMERIC = 1;
    private static final int OPT_SOURCE = 1 << 1;
    private static final int OPT_DESTINATION = 1 << 2;
    private static final int OPT_PROTOCOL = 1 << 3;
    private static final int OPT_JUMP = 1 << 4;
    private static final int OPT_VERBOSE = 1 << 5;
    private static final int OPT_EXPANDED = 1 << 6;
    private static final int OPT_VIANAMEIN = 1 << 7;
    private static final int OPT_VIANAMEOUT = 1 << 8;
    private static final int OPT_LINENUMBERS = 1 << 9;
    private static final int OPT_COUNTERS = 1 << 10;
    private static final int OPT_FRAGMENT = 1 << 11;
    private static final int[] INVERSE_FOR_OPTIONS = {
        0, IpSpec.INV_SRCIP, IpSpec.INV_DSTIP, IpSpec.INV_PROTO, 0, 0, 0, IpSpec.INV_VIA_IN, IpSpec.INV_VIA_OUT,
        0, 0, IpSpec.INV_FRAG};

    /** xshared.c commands_v_options: per command, per option: 'x' illegal, ' ' optional. */
    private static final String[] COMMANDS_V_OPTIONS = {
        /*INSERT*/     "x     x  x  ",
        /*DELETE*/     "x     x  xx ",
        /*DELETE_NUM*/ "xxxxx xxxxxx",
        /*REPLACE*/    "x     x  x  ",
        /*APPEND*/     "x     x  x  ",
        /*LIST*/       " xxxx  xx xx",
        /*FLUSH*/      "xxxxx xxxxxx",
        /*ZERO*/       "xxxxx xxxxxx",
        /*NEW_CHAIN*/  "xxxxx xxxxxx",
        /*DEL_CHAIN*/  "xxxxx xxxxxx",
        /*SET_POLICY*/ "xxxxx xxxx x",
        /*RENAME*/     "xxxxx xxxxxx",
        /*LIST_RULES*/ "xxxxx xxxxxx",
        /*ZERO_NUM*/   "xxxxx xxxxxx",
        /*CHECK*/      "x     x  xx ",
    };

    // Linux: XT_EXTENSION_MAXNAMELEN = 29 (chain names must be under it)
    static final int MAX_CHAIN_NAME = 29;

    static final String NAT_DROP =
            "\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n";

    /**
     * Target extensions shipped with iptables 1.8.9 (libxt_*, libipt_*, libip6t_*): -N refuses their
     * names even where jnetfilter does not implement them, because legacy finds them on disk. The empty
     * name is the standard target.
     */
    private static final Set<String> SHIPPED_TARGETS = Set.of("AUDIT", "CHECKSUM",
            "CLASSIFY", "CONNMARK", "CONNSECMARK", "CT", "DNAT", "DSCP", "HMARK", "IDLETIMER", "LED", "LOG", "MARK",
            "MASQUERADE", "NETMAP", "NFLOG", "NFQUEUE", "NOTRACK", "RATEEST", "REDIRECT", "REJECT", "SECMARK", "SET",
            "SNAT", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP", "TEE", "TOS", "TPROXY", "TRACE");
    private static final Set<String> SHIPPED_TARGETS_IPV4 = Set.of("CLUSTERIP", "ECN", "TTL",
            "ULOG");
    private static final Set<String> SHIPPED_TARGETS_IPV6 = Set.of("DNPT", "HL", "SNPT");

    /** CommandKind.values() once (each call copies the array). */
    private static final CommandKind[] KINDS = CommandKind.values();

    private final Family family;
    private final Extensions extensions;
    private final boolean restore;
    private final Getopt getopt;
    private final List<Getopt.LongOpt> globalOpts;
    private final List<String> warnings = new ArrayList<>();

    private int command;
    private String table = "filter";
    private boolean tableSet;
    private String chain;
    private int ruleNum;
    private String newName;
    private String policy;
    private int options;
    private int verbose;
    private int waitSeconds = -1;
    private boolean invert;
    private long[] counters;

    private IpSpec ip;
    private String srcText;
    private String dstText;
    private String protocolText;
    private boolean protoUsed;
    private String jumpTo;
    private boolean isGoto;

    private final List<Loaded> matches = new ArrayList<>();
    /** A restore line's rule words after "-A CHAIN", when the line was that simple; else null. */
    private String plainSource;

    CommandLine plainSource(String words) {
        this.plainSource = words;
        return this;
    }

    /** Names that are chains, not targets, for -j (libxtables' notargets: see {@link #notTargets(Predicate)}). */
    private java.util.function.Predicate<String> notTargets = name -> false;

    /**
     * Linux (libxtables xtables_announce_chain): iptables-restore announces each chain of a {@code :CHAIN} line,
     * and from then on {@code -j} of that name loads no target extension, so it jumps to the chain (and the
     * target's options are unknown options); {@code -N} of that name no longer clashes with the target.
     */
    CommandLine notTargets(java.util.function.Predicate<String> names) {
        this.notTargets = names;
        return this;
    }

    /**
     * Linux (iptables.c do_command4): when {@code -j} loaded a target extension and the table has a chain of
     * that name, iptables warns "using chain NAME, not extension" on stderr and drops the extension (its
     * options with it): the rules jump to the chain. {@code cmd} itself when that is not the case.
     */
    static Command chainOverExtension(Command cmd, java.util.function.Function<String, org.jnetfilter.core.rules.Chain> chains,
                                      StringBuilder warned) {
        switch (cmd.kind()) {
            case APPEND, INSERT, REPLACE, DELETE, CHECK -> {
            }
            default -> {
                return cmd;
            }
        }
        if (cmd.rules().isEmpty() || !(cmd.rules().get(0).target() instanceof Target.Extension e)) {
            return cmd;
        }
        String name = e.extension().name();
        if (chains.apply(name) == null) {
            return cmd;
        }
        warned.append("Warning: using chain ").append(name).append(", not extension\n");
        List<org.jnetfilter.core.rules.RuleSpec> rules = new ArrayList<>(cmd.rules().size());
        for (org.jnetfilter.core.rules.RuleSpec r : cmd.rules()) {
            rules.add(new org.jnetfilter.core.rules.RuleSpec(r.ip(), r.matches(), new Target.Jump(name, false)));
        }
        return new Command(cmd.kind(), cmd.table(), cmd.chain(), cmd.ruleNum(), cmd.newName(), cmd.policy(),
                List.copyOf(rules), cmd.counters(), cmd.verbose(), cmd.numeric(), cmd.exact(), cmd.lineNumbers(),
                cmd.waitSeconds(), cmd.zeroAfterList(), cmd.argv(), Command.CHAIN_JUMPS, cmd.warnings());
    }
    private Loaded target;
    private boolean standardTargetLoaded;

    /** One loaded match or target in this rule, with its running parser (also DirectRuleParser's). */
    static final class Loaded {
        final Extension extension;
        final ExtensionParser parser;
        ExtensionData data;

        Loaded(Extension extension, ExtensionParser parser) {
            this.extension = extension;
            this.parser = parser;
        }
    }

    CommandLine(Family family, Extensions extensions, String[] argv, boolean restore, String restoreTable) {
        this.family = family;
        this.extensions = extensions;
        this.restore = restore;
        this.getopt = new Getopt(argv, family == Family.IPV4
                ? "-:A:C:D:R:I:L::S::M:F::Z::N:X::E:P:Vh::o:p:s:d:j:i:fbvw::W::nt:m:xc:g:46"
                : "-:A:C:D:R:I:L::S::M:F::Z::N:X::E:P:Vh::o:p:s:d:j:i:fbvw::W::nt:m:xc:g:46");
        this.ip = IpSpec.any(family);
        if (restoreTable != null) {
            this.table = restoreTable;
        }
        this.globalOpts = family == Family.IPV4 ? GLOBAL_OPTS_V4 : GLOBAL_OPTS_V6;
        this.globalIndex = family == Family.IPV4 ? GLOBAL_INDEX_V4 : GLOBAL_INDEX_V6;
        rebuildLongOpts();
    }

    private static final List<Getopt.LongOpt> GLOBAL_OPTS_V4 = globalOptions(Family.IPV4);
    private static final List<Getopt.LongOpt> GLOBAL_OPTS_V6 = globalOptions(Family.IPV6);

    private static List<Getopt.LongOpt> globalOptions(Family family) {
        List<Getopt.LongOpt> l = new ArrayList<>();
        Object[][] t = {
            {"append", 1, 'A'}, {"delete", 1, 'D'}, {"check", 1, 'C'}, {"insert", 1, 'I'}, {"replace", 1, 'R'},
            {"list", 2, 'L'}, {"list-rules", 2, 'S'}, {"flush", 2, 'F'}, {"zero", 2, 'Z'}, {"new-chain", 1, 'N'},
            {"delete-chain", 2, 'X'}, {"rename-chain", 1, 'E'}, {"policy", 1, 'P'}, {"source", 1, 's'},
            {"destination", 1, 'd'}, {"src", 1, 's'}, {"dst", 1, 'd'}, {"protocol", 1, 'p'},
            {"in-interface", 1, 'i'}, {"jump", 1, 'j'}, {"table", 1, 't'}, {"match", 1, 'm'}, {"numeric", 0, 'n'},
            {"out-interface", 1, 'o'}, {"verbose", 0, 'v'}, {"wait", 2, 'w'}, {"wait-interval", 2, 'W'},
            {"exact", 0, 'x'}, {"fragments", 0, 'f'}, {"version", 0, 'V'}, {"help", 2, 'h'},
            {"line-numbers", 0, '0'}, {"modprobe", 1, 'M'}, {"set-counters", 1, 'c'}, {"goto", 1, 'g'},
            {"ipv4", 0, '4'}, {"ipv6", 0, '6'},
        };
        for (Object[] o : t) {
            Getopt.HasArg h = switch ((Integer) o[1]) {
                case 0 -> Getopt.HasArg.NONE;
                case 1 -> Getopt.HasArg.REQUIRED;
                default -> Getopt.HasArg.OPTIONAL;
            };
            l.add(new Getopt.LongOpt((String) o[0], h, (Character) o[2], null));
        }
        return List.copyOf(l);
    }

    /**
     * Global options first, then the newest extension's options, down to the oldest (xtables_merge_options):
     * as segments of option lists made once per extension, not copied per load.
     */
    private void rebuildLongOpts() {
        List<Loaded> loaded = new ArrayList<>(matches);
        if (target != null) {
            loaded.add(target);
        }
        loadOrder.retainAll(loaded);
    }

    /** The merged option table getopt reads: the global options, then each loaded extension's, newest first. */
    private final Getopt.LongOpts longOpts = new Getopt.LongOpts() {
        @Override
        public int segments() {
            return 1 + loadOrder.size();
        }

        @Override
        public List<Getopt.LongOpt> segment(int s) {
            return s == 0 ? globalOpts : longOptsOf(loadOrder.get(loadOrder.size() - s).extension);
        }

        @Override
        public Object holder(int s) {
            return s == 0 ? null : loadOrder.get(loadOrder.size() - s);
        }

        @Override
        public int exactIndex(int s, String name) {
            Integer i = (s == 0 ? globalIndex : indexOf(loadOrder.get(loadOrder.size() - s).extension)).get(name);
            return i == null ? -1 : i;
        }
    };

    /** First position of each option name in an option list. */
    private static java.util.Map<String, Integer> firstIndexByName(List<Getopt.LongOpt> opts) {
        java.util.Map<String, Integer> m = new java.util.HashMap<>();
        for (int i = 0; i < opts.size(); i++) {
            m.putIfAbsent(opts.get(i).name(), i);
        }
        return java.util.Map.copyOf(m);
    }

    private final java.util.Map<String, Integer> globalIndex;
    private static final java.util.Map<String, Integer> GLOBAL_INDEX_V4 = firstIndexByName(GLOBAL_OPTS_V4);
    private static final java.util.Map<String, Integer> GLOBAL_INDEX_V6 = firstIndexByName(GLOBAL_OPTS_V6);

    private static final java.util.Map<Extension, java.util.Map<String, Integer>> INDEX_BY_EXTENSION =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static java.util.Map<String, Integer> indexOf(Extension extension) {
        java.util.Map<String, Integer> m = INDEX_BY_EXTENSION.get(extension);
        if (m == null) {
            m = firstIndexByName(longOptsOf(extension));
            INDEX_BY_EXTENSION.putIfAbsent(extension, m);
        }
        return m;
    }

    /** An extension's options as getopt entries (owner: the OptionSpec), made once per extension. */
    private static final java.util.Map<Extension, List<Getopt.LongOpt>> LONG_OPTS_BY_EXTENSION =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static List<Getopt.LongOpt> longOptsOf(Extension extension) {
        List<Getopt.LongOpt> cached = LONG_OPTS_BY_EXTENSION.get(extension);
        if (cached != null) {
            return cached;
        }
        List<Getopt.LongOpt> l = new ArrayList<>();
        for (OptionSpec o : extension.options()) {
            Getopt.HasArg h = switch (o.hasArg()) {
                case NONE -> Getopt.HasArg.NONE;
                case REQUIRED -> Getopt.HasArg.REQUIRED;
                case OPTIONAL -> Getopt.HasArg.OPTIONAL;
            };
            l.add(new Getopt.LongOpt(o.name(), h, 0x1000, o));
        }
        List<Getopt.LongOpt> made = List.copyOf(l);
        LONG_OPTS_BY_EXTENSION.putIfAbsent(extension, made);
        return made;
    }

    private final List<Loaded> loadOrder = new ArrayList<>();

    /** Whether {@code name} is a global long option (getopt finds those before any extension's). */
    static boolean isGlobalOption(Family family, String name) {
        return (family == Family.IPV4 ? GLOBAL_INDEX_V4 : GLOBAL_INDEX_V6).containsKey(name);
    }

    /** The option of {@code extension} getopt takes for exactly {@code --name}, or null. */
    static OptionSpec exactOption(Extension extension, String name) {
        Integer i = indexOf(extension).get(name);
        return i == null ? null : (OptionSpec) longOptsOf(extension).get(i).owner();
    }

    /**
     * {@link #exactOption} for a whole word {@code --name} as a restore line has it: no substring per option
     * (a restore's words are shared strings whose hash is kept, so the lookup hashes nothing).
     */
    static OptionSpec exactOptionOfWord(Extension extension, String word) {
        java.util.Map<String, OptionSpec> m = OPTION_BY_WORD.get(extension);
        if (m == null) {
            java.util.Map<String, OptionSpec> byWord = new java.util.HashMap<>();
            for (Getopt.LongOpt o : longOptsOf(extension)) {
                byWord.putIfAbsent("--" + o.name(), (OptionSpec) o.owner());
            }
            m = java.util.Map.copyOf(byWord);
            OPTION_BY_WORD.putIfAbsent(extension, m);
        }
        return m.get(word);
    }

    /** Whether {@code word} is {@code --name} of a global long option ({@link #isGlobalOption}). */
    static boolean isGlobalOptionWord(Family family, String word) {
        return (family == Family.IPV4 ? GLOBAL_WORDS_V4 : GLOBAL_WORDS_V6).contains(word);
    }

    private static final java.util.Map<Extension, java.util.Map<String, OptionSpec>> OPTION_BY_WORD =
            new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.util.Set<String> GLOBAL_WORDS_V4 = optionWords(GLOBAL_OPTS_V4);
    private static final java.util.Set<String> GLOBAL_WORDS_V6 = optionWords(GLOBAL_OPTS_V6);

    private static java.util.Set<String> optionWords(List<Getopt.LongOpt> opts) {
        java.util.Set<String> words = new java.util.HashSet<>();
        for (Getopt.LongOpt o : opts) {
            words.add("--" + o.name());
        }
        return java.util.Set.copyOf(words);
    }

    private void load(Loaded l) {
        loadOrder.add(l);
        rebuildLongOpts();
    }

    @Override
    public void warn(String line) {
        warnings.add(line);
    }

    List<String> warnings() {
        return warnings;
    }

    @Override
    public String table() {
        return table;
    }

    @Override
    public Family family() {
        return family;
    }

    @Override
    public IpSpec ip() {
        return ip;
    }

    @Override
    public String nextWord() {
        String[] argv = getopt.argv();
        return getopt.optind < argv.length ? argv[getopt.optind++] : null;
    }

    @Override
    public String peekWord() {
        String[] argv = getopt.argv();
        return getopt.optind < argv.length ? argv[getopt.optind] : null;
    }

    private static XtablesException error(String message) {
        return XtablesException.parameter(message);
    }

    /**
     * The argument of -p, -s, -d, -i, -o and -j. iptables-legacy 1.8.9 took it from argv[optind - 1], so
     * "-s10.0.0.1" and "--jump=DROP" failed there; iptables 1.8.11's own tests (libipt_standard.t) require
     * the attached forms to work, and the test files win over the installed binary.
     */
    private String wordAsWritten() {
        return getopt.optarg;
    }

    /** -W: still validated, then ignored (the xtables lock no longer polls). */
    static void parseWaitInterval(String arg) {
        if (arg == null) {
            throw error("wait interval value required");
        }
        Long usec = scanUnsigned(arg);
        if (usec == null || !arg.strip().matches("[+-]?\\d+")) {
            throw error("wait interval not numeric");
        }
        // Linux: the interval was a struct timeval's tv_usec, so under one second
        if (usec > 999999 || usec < 0) {
            throw error("too long usec wait " + usec + " > 999999 usec");
        }
    }

    private boolean waitIntervalGiven;

    /** Parses the whole command line. */
    Command parse() {
        String[] argv = getopt.argv();
        while (true) {
            int c = getopt.next(longOpts);
            if (c == Getopt.END) {
                break;
            }
            String optarg = getopt.optarg;
            switch (c) {
                case 'A' -> {
                    addCommand(CommandKind.APPEND);
                    chain = optarg;
                }
                case 'C' -> {
                    addCommand(CommandKind.CHECK);
                    chain = optarg;
                }
                case 'D' -> {
                    addCommand(CommandKind.DELETE);
                    chain = optarg;
                    if (getopt.hasArg()) {
                        ruleNum = parseRuleNumber(argv[getopt.optind++]);
                        command = CommandKind.DELETE_NUM.bit();
                    }
                }
                case 'R' -> {
                    addCommand(CommandKind.REPLACE);
                    chain = optarg;
                    if (getopt.hasArg()) {
                        ruleNum = parseRuleNumber(argv[getopt.optind++]);
                    } else {
                        throw error("-R requires a rule number");
                    }
                }
                case 'I' -> {
                    addCommand(CommandKind.INSERT);
                    chain = optarg;
                    ruleNum = getopt.hasArg() ? parseRuleNumber(argv[getopt.optind++]) : 1;
                }
                case 'L' -> {
                    addCommand(CommandKind.LIST);
                    optionalChainAndNumber(optarg);
                }
                case 'S' -> {
                    addCommand(CommandKind.LIST_RULES);
                    optionalChainAndNumber(optarg);
                }
                case 'F' -> {
                    addCommand(CommandKind.FLUSH);
                    optionalChain(optarg);
                }
                case 'Z' -> {
                    addCommand(CommandKind.ZERO);
                    optionalChain(optarg);
                    if (chain != null && getopt.hasArg()) {
                        ruleNum = parseRuleNumber(argv[getopt.optind++]);
                        command = (command & ~CommandKind.ZERO.bit()) | CommandKind.ZERO_NUM.bit();
                    }
                }
                case 'N' -> {
                    if (optarg.startsWith("-") || optarg.startsWith("!")) {
                        throw error("chain name not allowed to start with `" + optarg.charAt(0) + "'");
                    }
                    // an announced chain is no target (libxtables' notargets), but the verdicts always are
                    boolean announced = notTargets.test(optarg);
                    TargetExtension named = announced ? null : extensions.target(optarg, family);
                    if (named != null) {
                        loaded(named);
                    }
                    if (optarg.isEmpty() || named != null || Target.verdictOrNull(optarg) != null
                            || !announced && (SHIPPED_TARGETS.contains(optarg)
                            || (family == Family.IPV4 ? SHIPPED_TARGETS_IPV4 : SHIPPED_TARGETS_IPV6).contains(optarg))) {
                        throw error("chain name may not clash with target name");
                    }
                    if (optarg.chars().anyMatch(ch -> ch == ' ' || (ch >= '\t' && ch <= '\r'))) {
                        throw error("Invalid chain name `" + optarg + "'");
                    }
                    addCommand(CommandKind.NEW_CHAIN);
                    chain = optarg;
                }
                case 'X' -> {
                    addCommand(CommandKind.DELETE_CHAIN);
                    optionalChain(optarg);
                }
                case 'E' -> {
                    addCommand(CommandKind.RENAME_CHAIN);
                    chain = optarg;
                    if (getopt.hasArg()) {
                        newName = argv[getopt.optind++];
                    } else {
                        throw error("-E requires old-chain-name and new-chain-name");
                    }
                }
                case 'P' -> {
                    addCommand(CommandKind.SET_POLICY);
                    chain = optarg;
                    if (getopt.hasArg()) {
                        policy = argv[getopt.optind++];
                    } else {
                        throw error("-P requires a chain and a policy");
                    }
                }
                case 'h' -> throw helpRequested();
                case 'p' -> {
                    setOption(OPT_PROTOCOL, IpSpec.INV_PROTO);
                    String word = wordAsWritten();
                    protocolText = word.toLowerCase(Locale.ROOT);
                    OptionalInt proto = Protocols.parse(protocolText);
                    if (proto.isEmpty()) {
                        throw error("unknown protocol \"" + word + "\" specified");
                    }
                    ip = ip.withProtocol(proto.getAsInt());
                    if (proto.getAsInt() == 0 && ip.inverted(IpSpec.INV_PROTO)) {
                        throw error("rule would never match protocol");
                    }
                    // Linux: ip6_packet_match compares -p with the upper-layer protocol, past these headers
                    if (family == Family.IPV6 && isExtensionHeader(proto.getAsInt()) && !ip.inverted(IpSpec.INV_PROTO)) {
                        warnings.add("Warning: never matched protocol: " + protocolText
                                + ". use extension match instead.");
                    }
                }
                case 's' -> {
                    setOption(OPT_SOURCE, IpSpec.INV_SRCIP);
                    srcText = wordAsWritten();
                }
                case 'd' -> {
                    setOption(OPT_DESTINATION, IpSpec.INV_DSTIP);
                    dstText = wordAsWritten();
                }
                case 'j', 'g' -> {
                    setOption(OPT_JUMP, 0);
                    jump(c == 'j' ? wordAsWritten() : optarg, c == 'g');
                }
                case 'i' -> {
                    if (optarg.isEmpty()) {
                        throw error("Empty interface is likely to be undesired");
                    }
                    setOption(OPT_VIANAMEIN, IpSpec.INV_VIA_IN);
                    ip = ip.withInIface(parseInterface(wordAsWritten(), ip.inverted(IpSpec.INV_VIA_IN)));
                }
                case 'o' -> {
                    if (optarg.isEmpty()) {
                        throw error("Empty interface is likely to be undesired");
                    }
                    setOption(OPT_VIANAMEOUT, IpSpec.INV_VIA_OUT);
                    ip = ip.withOutIface(parseInterface(wordAsWritten(), ip.inverted(IpSpec.INV_VIA_OUT)));
                }
                case 'f' -> {
                    if (family == Family.IPV6) {
                        throw error("`-f' is not supported in IPv6, use -m frag instead");
                    }
                    setOption(OPT_FRAGMENT, IpSpec.INV_FRAG);
                    ip = ip.withFragment(true);
                }
                case 'v' -> {
                    if (verbose == 0) {
                        setOption(OPT_VERBOSE, 0);
                    }
                    verbose++;
                }
                case 'm' -> {
                    if (invert) {
                        throw error("unexpected ! flag before --match");
                    }
                    loadMatch(optarg);
                }
                case 'n' -> setOption(OPT_NUMERIC, 0);
                case 't' -> {
                    if (invert) {
                        throw error("unexpected ! flag before --table");
                    }
                    if (restore && tableSet) {
                        throw error("The -t option cannot be used in " + family.program() + "-restore.\n");
                    }
                    table = optarg;
                    tableSet = true;
                }
                case 'x' -> setOption(OPT_EXPANDED, 0);
                case 'V' -> throw new VersionRequested(invert);
                case 'w' -> {
                    if (restore) {
                        throw error("You cannot use `-w' from " + family.program() + "-restore");
                    }
                    waitSeconds = parseWait(optarg);
                }
                case 'W' -> {
                    String arg = optarg;
                    if (arg == null && getopt.hasArg()) {
                        arg = argv[getopt.optind++];
                    }
                    parseWaitInterval(arg);
                    waitIntervalGiven = true;
                }
                case '0' -> setOption(OPT_LINENUMBERS, 0);
                case 'M' -> {
                    // --modprobe: jnetfilter loads no kernel modules; the option is accepted and ignored
                }
                case 'c' -> {
                    setOption(OPT_COUNTERS, 0);
                    counters = parseCounters(optarg);
                }
                case '4' -> {
                    if (family != Family.IPV4) {
                        throw new WrongFamily();
                    }
                }
                case '6' -> {
                    if (family != Family.IPV6) {
                        throw new WrongFamily();
                    }
                }
                case Getopt.NON_OPTION -> {
                    if (optarg.equals("!")) {
                        if (invert) {
                            throw error("multiple consecutive ! not allowed");
                        }
                        invert = true;
                        continue;
                    }
                    throw new BadArgument(optarg);
                }
                default -> {
                    if (commandDefault(c)) {
                        continue;
                    }
                }
            }
            invert = false;
        }
        if (waitIntervalGiven) {
            warnings.add("Ignoring deprecated --wait-interval option.");
            if (waitSeconds < 0 && !restore) {
                throw error("--wait-interval only makes sense with --wait\n");
            }
        }
        return finish();
    }

    /** An extension option, or the implicit protocol match, or an unknown option (command_default). */
    private boolean commandDefault(int c) {
        Getopt.LongOpt m = getopt.matched;
        if (c == 0x1000 && m != null && m.owner() instanceof OptionSpec o) {
            Loaded l = (Loaded) getopt.matchedHolder;
            String arg = getopt.optarg;
            boolean inv = invert;
            invert = false;
            l.parser.parse(o, inv, arg, this);
            return true;
        }
        if (shouldLoadProto()) {
            MatchExtension pm = extensions.match(protoMatchName(), family);
            if (pm != null) {
                protoUsed = true;
                Loaded l = new Loaded(pm, pm.newParser(this));
                matches.add(l);
                load(l);
                getopt.optind--;
                return true;
            }
        }
        String[] argv = getopt.argv();
        String word = argv[Math.max(0, Math.min(getopt.optind, argv.length) - 1)];
        if (c == Getopt.MISSING_ARG) {
            throw error("option \"" + word + "\" requires an argument");
        }
        throw error("unknown option \"" + word + "\"");
    }

    /** IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_AH, IPPROTO_DSTOPTS: ip6tables' is_exthdr. */
    static boolean isExtensionHeader(int proto) {
        return proto == 43 || proto == 44 || proto == 51 || proto == 60;
    }

    private String protoMatchName() {
        OptionalInt p = Protocols.parse(protocolText);
        if (p.isPresent()) {
            String n = Protocols.implicitMatchName(p.getAsInt());
            return n != null ? n : protocolText;
        }
        return protocolText;
    }

    private boolean shouldLoadProto() {
        if (protocolText == null) {
            return false;
        }
        String name = protoMatchName();
        for (Loaded l : matches) {
            if (l.extension.name().equals(name)) {
                return !protoUsed;
            }
        }
        return true;
    }

    private void loadMatch(String name) {
        MatchExtension m = extensions.match(name, family);
        if (m == null) {
            throw XtablesException.parameter("Couldn't load match `" + name + "':No such file or directory\n");
        }
        loaded(m);
        Loaded l = new Loaded(m, m.newParser(this));
        matches.add(l);
        load(l);
    }

    /** What libxtables prints when it loads an extension (its kernel module missing), if anything. */
    private void loaded(Extension x) {
        String w = x.loadWarning();
        if (w != null) {
            warnings.add(w);
        }
    }

    private void jump(String name, boolean viaGoto) {
        if (name.isEmpty()) {
            throw error("Invalid target name (too short)");
        }
        if (name.length() >= MAX_CHAIN_NAME) {
            throw error("Invalid target name `" + name + "' (" + (MAX_CHAIN_NAME - 1) + " chars max)");
        }
        jumpTo = name;
        isGoto = viaGoto;
        // Linux: xtables_find_target loads libxt_standard for the verdicts (and its own name)
        standardTargetLoaded = !viaGoto && (Target.verdictOrNull(name) != null || name.equals("standard"));
        if (Target.verdictOrNull(name) != null || notTargets.test(name)) {
            return;
        }
        TargetExtension t = extensions.target(name, family);
        if (t != null && !viaGoto) {
            loaded(t);
            target = new Loaded(t, t.newParser(this));
            load(target);
        }
    }

    private void addCommand(CommandKind kind) {
        if (invert) {
            throw error("unexpected '!' flag");
        }
        // -Z may join -L or -S (list, then zero)
        int others = kind == CommandKind.LIST || kind == CommandKind.LIST_RULES
                ? CommandKind.ZERO.bit() | CommandKind.ZERO_NUM.bit()
                : kind == CommandKind.ZERO ? CommandKind.LIST.bit() | CommandKind.LIST_RULES.bit() : 0;
        if ((command & ~others) != 0) {
            CommandKind prev = null;
            for (CommandKind k : KINDS) {
                if ((command & ~others & k.bit()) != 0) {
                    prev = k;
                    break;
                }
            }
            throw error("Cannot use -" + kind.letter + " with -" + prev.letter);
        }
        command |= kind.bit();
    }

    private void optionalChain(String optarg) {
        if (optarg != null) {
            chain = optarg;
        } else if (getopt.hasArg()) {
            chain = getopt.argv()[getopt.optind++];
        }
    }

    private void optionalChainAndNumber(String optarg) {
        optionalChain(optarg);
        if (chain != null && getopt.hasArg()) {
            ruleNum = parseRuleNumber(getopt.argv()[getopt.optind++]);
        }
    }

    private static int parseRuleNumber(String s) {
        long v = org.jnetfilter.core.ext.Numbers.parseUnsigned(s, 1, Integer.MAX_VALUE);
        if (v < 0) {
            throw error("Invalid rule number `" + s + "'");
        }
        return (int) v;
    }

    private void setOption(int option, int invFlag) {
        if ((options & option) != 0) {
            throw error("multiple -" + optChar(option) + " flags not allowed");
        }
        options |= option;
        if (invert) {
            if (invFlag == 0) {
                throw error("cannot have ! before -" + optChar(option));
            }
            ip = ip.withInverted(invFlag, true);
        }
    }

    private static char optChar(int option) {
        return OPT_LETTERS.charAt(Integer.numberOfTrailingZeros(option));
    }

    /** xtables_parse_interface; "+" alone matches any interface but is kept, as -L -v shows it. */
    private String parseInterface(String name, boolean inverted) {
        return InterfaceNames.parse(name, this);
    }

    private int parseWait(String optarg) {
        String arg = optarg;
        if (arg == null && getopt.hasArg()) {
            arg = getopt.argv()[getopt.optind++];
        }
        if (arg == null) {
            return Integer.MAX_VALUE;
        }
        long v = org.jnetfilter.core.ext.Numbers.parseUnsigned(arg, 0, Integer.MAX_VALUE);
        if (v < 0) {
            throw error("wait seconds not numeric");
        }
        return (int) v;
    }

    /** -c PKTS BYTES or -c PKTS,BYTES; values are read as sscanf("%llu") reads them. */
    private long[] parseCounters(String pcnt) {
        String bcnt = null;
        int comma = pcnt.indexOf(',', 1);
        String p = pcnt;
        if (comma >= 0) {
            bcnt = pcnt.substring(comma + 1);
            p = pcnt.substring(0, comma);
        }
        if (bcnt == null && getopt.hasArg()) {
            bcnt = getopt.argv()[getopt.optind++];
        }
        if (bcnt == null) {
            throw error("-c requires packet and byte counter");
        }
        Long pv = scanUnsigned(p);
        if (pv == null) {
            throw error("-c packet counter not numeric");
        }
        Long bv = scanUnsigned(bcnt);
        if (bv == null) {
            throw error("-c byte counter not numeric");
        }
        return new long[] {pv, bv};
    }

    /** sscanf("%llu"): leading digits in decimal, saturating at 2^64-1; null when none. */
    static Long scanUnsigned(String s) {
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        boolean neg = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            neg = s.charAt(i) == '-';
            i++;
        }
        int start = i;
        long v = 0;
        boolean overflow = false;
        while (i < s.length() && Character.isDigit(s.charAt(i))) {
            int d = s.charAt(i) - '0';
            if (Long.compareUnsigned(v, Long.divideUnsigned(-1L - d, 10)) > 0) {
                overflow = true;
            }
            v = v * 10 + d;
            i++;
        }
        if (i == start) {
            return null;
        }
        if (overflow) {
            return -1L;
        }
        return neg ? -v : v;
    }

    private Command finish() {
        for (Loaded l : matches) {
            l.data = l.parser.finish(this);
        }
        if (target != null) {
            target.data = target.parser.finish(this);
        }
        String[] argv = getopt.argv();
        if (getopt.optind < argv.length) {
            throw error("unknown arguments found on commandline");
        }
        if (command == 0) {
            throw error("no command specified");
        }
        if (invert) {
            throw error("nothing appropriate following !");
        }
        CommandKind kind = null;
        for (CommandKind k : KINDS) {
            if ((command & k.bit()) != 0 && k != CommandKind.ZERO && k != CommandKind.ZERO_NUM) {
                kind = k;
                break;
            }
        }
        boolean zeroAfterList = false;
        if (kind == null) {
            kind = (command & CommandKind.ZERO_NUM.bit()) != 0 ? CommandKind.ZERO_NUM : CommandKind.ZERO;
        } else if ((kind == CommandKind.LIST || kind == CommandKind.LIST_RULES) && (command & (CommandKind.ZERO.bit() | CommandKind.ZERO_NUM.bit())) != 0) {
            zeroAfterList = true;
        }
        genericOptCheck();
        if (kind == CommandKind.SET_POLICY && table.equals("nat") && "DROP".equals(policy)) {
            throw error(NAT_DROP);
        }
        boolean ruleCommand = kind == CommandKind.APPEND || kind == CommandKind.DELETE || kind == CommandKind.CHECK
                || kind == CommandKind.INSERT || kind == CommandKind.REPLACE;
        List<RuleSpec> rules = List.of();
        if (ruleCommand) {
            // no -s/-d: the parse of "0.0.0.0/0" (or "::/0"), which is the same every time
            List<IpNet> anyNet = List.of(IpNet.any(family));
            List<IpNet> srcs = srcText != null ? Addresses.parseMultiple(family, srcText) : anyNet;
            List<IpNet> dsts = dstText != null ? Addresses.parseMultiple(family, dstText) : anyNet;
            if ((srcs.size() > 1 || dsts.size() > 1)
                    && (ip.inverted(IpSpec.INV_SRCIP) || ip.inverted(IpSpec.INV_DSTIP))) {
                throw error("! not allowed with multiple source or destination IP addresses");
            }
            if (kind == CommandKind.REPLACE && (srcs.size() != 1 || dsts.size() != 1)) {
                throw error("Replacement rule does not specify a unique address");
            }
            List<Match> ms = new ArrayList<>();
            for (Loaded l : matches) {
                ms.add(new Match((MatchExtension) l.extension, l.data));
            }
            Target t = buildTarget();
            List<RuleSpec> out = new ArrayList<>();
            for (IpNet s : srcs) {
                for (IpNet d : dsts) {
                    out.add(new RuleSpec(ip.withSrc(s).withDst(d), ms, t));
                }
            }
            rules = out;
        }
        if (chain != null && chain.length() >= MAX_CHAIN_NAME && kind != CommandKind.RENAME_CHAIN) {
            throw error("chain name `" + chain + "' too long (must be under " + MAX_CHAIN_NAME + " chars)");
        }
        return new Command(kind, table, chain, ruleNum, newName, policy, rules, counters, verbose,
                (options & OPT_NUMERIC) != 0, (options & OPT_EXPANDED) != 0, (options & OPT_LINENUMBERS) != 0,
                waitSeconds, zeroAfterList, getopt.argv(), plainSource, List.copyOf(warnings));
    }

    private Target buildTarget() {
        return target != null ? target(jumpTo, isGoto, (TargetExtension) target.extension, target.data)
                : target(jumpTo, isGoto, null, null);
    }

    /** The target of {@code -j}/{@code -g jumpTo} (null: none), with the target extension loaded for it, if any. */
    static Target target(String jumpTo, boolean isGoto, TargetExtension extension, ExtensionData data) {
        if (jumpTo == null || jumpTo.isEmpty()) {
            return new Target.None();
        }
        Target.Verdict v = Target.verdictOrNull(jumpTo);
        if (v != null && !isGoto) {
            return v;
        }
        if (extension != null) {
            return new Target.Extension(extension, data);
        }
        return new Target.Jump(jumpTo, isGoto);
    }

    private void genericOptCheck() {
        for (int i = 0; i < OPT_LETTERS.length(); i++) {
            if ((options & (1 << i)) == 0) {
                continue;
            }
            int legal = 0;
            for (CommandKind k : KINDS) {
                if ((command & k.bit()) == 0) {
                    continue;
                }
                if (COMMANDS_V_OPTIONS[k.ordinal()].charAt(i) != 'x') {
                    legal = 1;
                } else if (legal == 0) {
                    legal = -1;
                }
            }
            if (legal == -1) {
                throw error("Illegal option `-" + OPT_LETTERS.charAt(i) + "' with this command");
            }
        }
    }

    /**
     * What -h describes besides the command: the target loaded so far, then the matches (with the
     * protocol's match when -p came and no match was loaded), as print_extension_helps orders them.
     * A verdict ({@code -j ACCEPT}) loaded the standard target; -p finds its match by the name as
     * written, lower-cased, so {@code -p 6 -h} shows no tcp help (iptables looks for libxt_6.so).
     */
    private HelpRequested helpRequested() {
        List<Extension> l = new ArrayList<>();
        if (target != null) {
            l.add(target.extension);
        }
        if (matches.isEmpty() && protocolText != null) {
            MatchExtension pm = extensions.match(protocolText, family);
            if (pm != null) {
                l.add(pm);
            }
        }
        for (Loaded m : matches) {
            l.add(m.extension);
        }
        return new HelpRequested(standardTargetLoaded, l);
    }

    /** -h: iptables prints its help and exits 0. */
    static final class HelpRequested extends RuntimeException {
        /** Whether the standard target's help comes first ({@code -j} gave a verdict or "standard"). */
        final boolean standardTarget;
        final List<Extension> extensions;

        HelpRequested(boolean standardTarget, List<Extension> extensions) {
            super(null, null, false, false);
            this.standardTarget = standardTarget;
            this.extensions = extensions;
        }
    }

    /** -V (or "! -V"). */
    static final class VersionRequested extends RuntimeException {
        final boolean negated;

        VersionRequested(boolean negated) {
            super(null, null, false, false);
            this.negated = negated;
        }
    }

    /** -6 given to iptables or -4 to ip6tables. */
    static final class WrongFamily extends RuntimeException {
        WrongFamily() {
            super(null, null, false, false);
        }
    }

    /** A word that is no option: "Bad argument `x'". */
    static final class BadArgument extends RuntimeException {
        final String word;

        BadArgument(String word) {
            super(null, null, false, false);
            this.word = word;
        }
    }
}
