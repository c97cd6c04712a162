package org.jnetfilter.iptables;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import org.jnetfilter.core.ipset.CreateOptions;
import org.jnetfilter.core.ipset.Element;
import org.jnetfilter.core.ipset.Entry;
import org.jnetfilter.core.ipset.IpSet;
import org.jnetfilter.core.ipset.IpsetException;
import org.jnetfilter.core.ipset.Ipsets;
import org.jnetfilter.core.ipset.SetType;
import org.jnetfilter.core.rules.Family;

/**
 * The {@code ipset} program (ipset 7.17, src/ipset.c and libipset's session, parse and print): its
 * commands, options, output formats, messages and exit codes, over the sets of an {@link IpsetStore}.
 * Every command is one transaction under the store's lock: the sets are read (the snapshot and the journal's
 * records), the command runs, and what it changed is appended to the journal as one record (or, past the
 * journal's share, written as a new snapshot). {@code restore} runs its lines as the kernel receives them,
 * one after another: a failing line stops the restore and the lines before it stay done, as with ipset.
 */
public final class IpsetCommand {
    public static final String VERSION = "7.17";
    static final String PREFIX = "ipset v" + VERSION + ": ";
    // Linux: IPSET_MAX_TIMEOUT = (UINT_MAX >> 1) / MSEC_PER_SEC
    static final long MAX_TIMEOUT = 2147483;
    private static final long NANOS = 1_000_000_000L;
    private static final boolean TIMING = Boolean.getBoolean("jnf.timing");
    // "JNFIPST1": the stored form's magic and first version (no generation)
    private static final long MAGIC_V1 = 0x4A4E464950535431L;
    // "JNFIPST2": with the generation the journal's records follow
    private static final long MAGIC_V2 = 0x4A4E464950535433L - 1;
    // "JNFIPST3": with an index of every set's elements after them (see render)
    private static final long MAGIC = 0x4A4E464950535433L;
    /** At most this many elements (a range) are looked up in place; more load the sets. */
    private static final int MAX_LOOKED_UP = 64;
    /** Bound of one element's change in a journal record (name, key, interface, comment, extensions). */
    private static final int MAX_CHANGE_BYTES = 512;

    private final IpsetStore store;
    private final LongSupplier clock;
    private final RandomGenerator random;

    /** What the last {@link #load} read: the snapshot's generation and length, the journal's valid length. */
    private long generation;
    private long snapshotLength;
    private long journalLength;
    /** Commands that read their set in place ({@link #around}) rather than loading the sets. */
    long inPlaceCommands;
    /** The journal record of the running command, or null while none is recorded (loading). */
    private Changes changes;

    /** {@code clock}: nanoseconds since the epoch (timeouts age on it); {@code random}: the sets' initvals. */
    public IpsetCommand(IpsetStore store, LongSupplier clock, RandomGenerator random) {
        this.store = store;
        this.clock = clock;
        this.random = random;
    }

    /** Output options of one invocation. */
    private static final class Flags {
        boolean exist;
        boolean quiet;
        boolean terse;
        boolean namesOnly;
        String output = "plain";
        String file;
    }

    private enum Cmd {
        CREATE("create", "n", "-N"), ADD("add", null, "-A"), DEL("del", null, "-D"), TEST("test", null, "-T"),
        DESTROY("destroy", "x", "-X"), LIST("list", null, "-L"), SAVE("save", null, "-S"),
        RESTORE("restore", null, "-R"), FLUSH("flush", null, "-F"), RENAME("rename", "e", "-E"),
        SWAP("swap", "w", "-W"), HELP("help", null, "-H"), VERSION("version", null, "-V"), QUIT("quit", null, null);

        final String word;
        final String alias;
        final String option;

        Cmd(String word, String alias, String option) {
            this.word = word;
            this.alias = alias;
            this.option = option;
        }

        static Cmd of(String a) {
            for (Cmd c : values()) {
                if (a.equals(c.word) || a.equals(c.alias) || a.equals(c.option)
                        || (c.option != null && a.equals("-" + c.word)) || a.equals("--" + c.word)) {
                    return c;
                }
            }
            return null;
        }
    }

    /** Runs {@code ipset ARGS}; answers the exit code. */
    public int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        Flags flags = new Flags();
        try {
            Parsed p = parse(List.of(args), flags, false);
            if (p.cmd == Cmd.HELP) {
                out.print(help());
                return 0;
            }
            if (p.cmd == Cmd.VERSION) {
                out.println("ipset v" + VERSION + ", protocol version: 7");
                return 0;
            }
            try (IpsetStore.Held lock = store.lock()) {
                long now = clock.getAsLong();
                long t0 = System.nanoTime();
                Ipsets sets = around(p, now);
                boolean partly = sets != null;
                if (sets == null) {
                    sets = load(now);
                } else {
                    inPlaceCommands++;
                }
                long t1 = System.nanoTime();
                long loadedChanges = sets.changes();
                changes = new Changes(generation, room());
                // the rules are read only by the commands that ask for references (destroy, rename, list)
                var refs = new Object() {
                    java.util.Map<String, Integer> byName;
                };
                sets.ruleReferences(name -> {
                    if (refs.byName == null) {
                        refs.byName = ruleReferences();
                    }
                    return refs.byName.getOrDefault(name, 0);
                });
                StringBuilder sb = new StringBuilder();
                boolean[] changed = {false};
                int code;
                try {
                    if (p.cmd == Cmd.RESTORE) {
                        code = restore(in, flags, sets, now, sb, err, changed);
                    } else {
                        code = execute(p, flags, sets, now, sb, err, changed);
                    }
                } finally {
                    out.print(sb);
                    long t2 = System.nanoTime();
                    if (changed[0] && sets.changes() != loadedChanges) {
                        byte[] record = snapshotLength == 0 || !store.journals() ? null : changes.payload();
                        changes = null;
                        long t3;
                        if (record == null && partly) {
                            throw new IllegalStateException("a change to a partly loaded set outgrew its journal"
                                    + " record in " + store.directory());
                        }
                        if (record == null) {
                            // no snapshot yet, a journal grown past its share, or a change no record holds
                            byte[] state = render(sets, now, generation + 1);
                            t3 = System.nanoTime();
                            store.write(state);
                        } else {
                            t3 = System.nanoTime();
                            store.append(record, journalLength);
                        }
                        if (TIMING) {
                            err.printf("jnf.timing: load%s %d ms, command %d ms, %s %d ms, write %d ms%n",
                                    partly ? " (in place)" : "", (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000,
                                    record == null ? "snapshot" : "journal record", (t3 - t2) / 1_000_000,
                                    (System.nanoTime() - t3) / 1_000_000);
                        }
                        Ipsets.storedSetsChanged();
                    }
                    changes = null;
                }
                return code;
            }
        } catch (IpsetException e) {
            if (!flags.quiet) {
                err.println(PREFIX + e.getMessage());
                if (e.exitCode() == IpsetException.PARAMETER_PROBLEM) {
                    err.println("Try `ipset help' for more information.");
                }
            }
            return e.exitCode();
        }
    }

    private static String help() {
        try (InputStream in = IpsetCommand.class.getResourceAsStream("ipset-help.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A parsed command: the command and its positional arguments, in order. */
    private record Parsed(Cmd cmd, List<String> args) {
    }

    private static Parsed parse(List<String> argv, Flags flags, boolean inRestore) {
        Cmd cmd = null;
        List<String> positional = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.startsWith("-") && cmd != null && isGeneralOption(a) == null && Cmd.of(a) == null) {
                positional.add(a);
                continue;
            }
            String opt = a.startsWith("-") ? isGeneralOption(a) : null;
            if (opt != null) {
                switch (opt) {
                    case "exist" -> flags.exist = true;
                    case "quiet" -> flags.quiet = true;
                    case "terse" -> flags.terse = true;
                    case "name" -> flags.namesOnly = true;
                    case "resolve", "sorted" -> {
                    }
                    case "output", "file" -> {
                        if (i + 1 >= argv.size()) {
                            throw IpsetException.parameter("Missing mandatory argument to option -" + opt);
                        }
                        String v = argv.get(++i);
                        if (opt.equals("file")) {
                            flags.file = v;
                        } else if (v.equals("plain") || v.equals("save") || v.equals("xml")) {
                            flags.output = v;
                        } else {
                            throw IpsetException.syntax("Syntax error: unknown output mode '" + v + "'");
                        }
                    }
                    default -> throw new IllegalStateException(opt);
                }
                continue;
            }
            if (cmd == null) {
                cmd = Cmd.of(a);
                if (cmd == null) {
                    throw IpsetException.parameter("No command specified: unknown argument " + a);
                }
                if (inRestore && (cmd == Cmd.RESTORE || cmd == Cmd.HELP || cmd == Cmd.VERSION)) {
                    throw IpsetException.parameter("Command `" + cmd.word + "' is invalid in restore mode.");
                }
                continue;
            }
            positional.add(a);
        }
        if (cmd == null) {
            throw IpsetException.parameter("No command specified.");
        }
        return new Parsed(cmd, positional);
    }

    private static String isGeneralOption(String a) {
        String s = a.startsWith("--") ? a.substring(2) : a.substring(1);
        return switch (s) {
            case "exist", "!" -> "exist";
            case "quiet", "q" -> "quiet";
            case "terse", "t" -> "terse";
            case "name", "n" -> "name";
            case "resolve", "r" -> "resolve";
            case "sorted", "s" -> "sorted";
            case "output", "o" -> "output";
            case "file", "f" -> "file";
            default -> null;
        };
    }

    // ---- commands ----

    private int execute(Parsed p, Flags flags, Ipsets sets, long now, StringBuilder out, PrintStream err,
            boolean[] changed) {
        List<String> a = p.args();
        switch (p.cmd()) {
            case CREATE -> {
                String name = mandatory(a, 0, "create", false);
                String typeName = mandatory(a, 1, "create", true);
                checkName(name);
                SetType type = SetType.byName(typeName);
                if (type == null) {
                    throw IpsetException.syntax("typename '" + typeName + "' is unknown");
                }
                CreateOptions o = createOptions(type, a.subList(2, a.size()));
                long before = sets.changes();
                IpSet created = sets.create(name, type, o, flags.exist, random);
                if (sets.changes() != before) {
                    changes.created(created);
                }
                changed[0] = true;
            }
            case ADD, DEL, TEST -> {
                Runnable apply = prepareAdt(p, flags, sets, now, err);
                if (p.cmd() == Cmd.TEST) {
                    try {
                        apply.run();
                        return 0;
                    } catch (NotInSet e) {
                        return 1;
                    }
                }
                changed[0] = true;
                apply.run();
            }
            case DESTROY, FLUSH -> {
                String name = optionalName(a, p.cmd());
                if (p.cmd() == Cmd.DESTROY) {
                    sets.destroy(name);
                } else {
                    sets.flush(name);
                }
                changes.named(p.cmd() == Cmd.DESTROY ? Changes.DESTROY : Changes.FLUSH, name);
                changed[0] = true;
            }
            case LIST, SAVE -> {
                String name = optionalName(a, p.cmd());
                List<IpSet> which = name == null ? sets.dumpOrder() : List.of(sets.require(name));
                String mode = p.cmd() == Cmd.SAVE ? (flags.output.equals("plain") ? "save" : flags.output)
                        : flags.output;
                print(out, sets, which, mode, flags, now);
            }
            case RENAME, SWAP -> {
                String from = mandatory(a, 0, p.cmd().word, false);
                String to = mandatory(a, 1, p.cmd().word, true);
                if (a.size() > 2) {
                    throw IpsetException.parameter("Unknown argument " + a.get(2));
                }
                checkName(from);
                checkName(to);
                if (p.cmd() == Cmd.RENAME) {
                    sets.rename(from, to);
                } else {
                    sets.swap(from, to);
                }
                changes.pair(p.cmd() == Cmd.RENAME ? Changes.RENAME : Changes.SWAP, from, to);
                changed[0] = true;
            }
            case QUIT -> {
                return 0;
            }
            case HELP -> out.append(help());
            case VERSION -> out.append("ipset v" + VERSION + ", protocol version: 7\n");
            default -> throw new IllegalStateException(p.cmd().name());
        }
        return 0;
    }

    /** The test verdict "not in set": exit code 1 after the message. */
    private static final class NotInSet extends RuntimeException {
        NotInSet() {
            super(null, null, false, false);
        }
    }

    /**
     * The userspace part of add, del and test (names, element syntax, options: its errors come at once) and,
     * as the returned action, the kernel's part (checks and the change; test prints its verdict).
     */
    private Runnable prepareAdt(Parsed p, Flags flags, Ipsets sets, long now, PrintStream err) {
        List<String> a = p.args();
        String cmdWord = p.cmd().word;
        String name = mandatory(a, 0, cmdWord, false);
        String elem = mandatory(a, 1, cmdWord, true);
        checkName(name);
        IpSet set = sets.require(name);
        List<Element> elements = set.parseElements(elem);
        Adt adt = adtOptions(set, p.cmd(), a.subList(2, a.size()), false);
        if (p.cmd() == Cmd.TEST) {
            checkTestable(set, elem);
            return () -> {
                Element first = elements.get(0);
                String shown = testedText(set, elem, first);
                boolean in;
                try {
                    set.checkElement(first, () -> checkExtensions(set, adt.params));
                    in = testElement(sets, set, first, adt, now);
                } catch (IpsetException e) {
                    if (e.getMessage().startsWith("Syntax error")) {
                        throw e;
                    }
                    // Linux: ip_set_utest answers every failure as "not in the set"
                    in = false;
                }
                if (in) {
                    if (!flags.quiet) {
                        err.println("Warning: " + shown + " is in set " + name + ".");
                    }
                    return;
                }
                if (!flags.quiet) {
                    err.println(shown + " is NOT in set " + name + ".");
                }
                throw new NotInSet();
            };
        }
        boolean exist = flags.exist;
        return () -> {
            for (Element e : elements) {
                set.checkElement(e, () -> checkExtensions(set, adt.params));
                if (p.cmd() == Cmd.ADD) {
                    sets.add(set, e, adt.params, exist, now, random, adt.where, adt.ref);
                } else {
                    sets.del(set, e, exist, now);
                }
                changes.element(set, e, now);
            }
        };
    }

    /** ipset refuses ranges in test for the types whose kernel side would add a range. */
    private static void checkTestable(IpSet set, String elem) {
        SetType t = set.type();
        if (t == SetType.HASH_IP || t == SetType.LIST_SET || t == SetType.BITMAP_PORT) {
            return;
        }
        String first = elem.split(",", -1)[0];
        String what = set.family() == Family.IPV4 ? "inet" : "inet6";
        String tail = " is not allowed in command test with set type " + t.text() + " and family " + what;
        if (first.indexOf('-') >= 0) {
            throw IpsetException.error("FROM-TO IP range" + tail);
        }
        if (first.indexOf('/') >= 0 && (t == SetType.HASH_IP_PORT || t == SetType.HASH_IP_PORT_IP)) {
            throw IpsetException.error("IP/CIDR range" + tail);
        }
        String[] parts = elem.split(",", -1);
        if (parts.length > 1 && t.text().contains("port")) {
            String port = parts[1].substring(parts[1].indexOf(':') + 1);
            if (port.indexOf('-') > 0) {
                throw IpsetException.error("FROM-TO port range" + tail);
            }
        }
    }

    /** The element as ipset echoes it in the test verdict: as parsed, with the prefix given. */
    private static String testedText(IpSet set, String elem, Element first) {
        SetType t = set.type();
        if (t == SetType.HASH_IP || t == SetType.HASH_NET || t == SetType.LIST_SET) {
            return elem;
        }
        String s = set.format(first);
        return t == SetType.HASH_NET_IFACE ? s.replace(",physdev:", ",") : s;
    }

    private static boolean testElement(Ipsets sets, IpSet set, Element e, Adt adt, long now) {
        if (set.type() == SetType.LIST_SET) {
            int at = set.elements(now).stream().map(me -> me.getKey().setName()).toList().indexOf(e.setName());
            if (at < 0 || adt.where == 0) {
                return at >= 0;
            }
            List<String> names = set.elements(now).stream().map(me -> me.getKey().setName()).toList();
            int refAt = names.indexOf(adt.ref);
            return refAt >= 0 && (adt.where > 0 ? at + 1 == refAt : at == refAt + 1);
        }
        return set.test(e, now);
    }

    private static String optionalName(List<String> a, Cmd cmd) {
        if (a.size() > 1) {
            throw IpsetException.parameter("Unknown argument " + a.get(1));
        }
        if (a.isEmpty()) {
            return null;
        }
        checkName(a.get(0));
        return a.get(0);
    }

    private static String mandatory(List<String> a, int i, String cmd, boolean second) {
        if (a.size() <= i) {
            throw IpsetException.parameter("Missing " + (second ? "second " : "") + "mandatory argument to command "
                    + cmd);
        }
        return a.get(i);
    }

    private static void checkName(String name) {
        if (name.length() > Ipsets.MAX_NAME) {
            throw IpsetException.syntax("setname '" + name + "' is longer than " + Ipsets.MAX_NAME + " characters");
        }
    }

    // ---- create options ----

    private static CreateOptions createOptions(SetType type, List<String> a) {
        Family family = Family.IPV4;
        int hashsize = CreateOptions.DEFAULT_HASHSIZE;
        long maxelem = CreateOptions.DEFAULT_MAXELEM;
        int netmask = -1;
        long timeout = -1;
        boolean counters = false;
        boolean comment = false;
        boolean skbinfo = false;
        boolean forceadd = false;
        int bucketsize = CreateOptions.DEFAULT_BUCKETSIZE;
        long initval = 0;
        int from = -1;
        int to = -1;
        int size = CreateOptions.LIST_DEFAULT_SIZE;
        boolean hash = type != SetType.BITMAP_PORT && type != SetType.LIST_SET;
        for (int i = 0; i < a.size(); i++) {
            String o = a.get(i);
            String key = o.startsWith("--") ? o.substring(2) : o.startsWith("-") ? o.substring(1) : o;
            boolean takesValue = switch (key) {
                case "family", "hashsize", "maxelem", "netmask", "timeout", "bucketsize", "initval", "range",
                        "size" -> true;
                default -> false;
            };
            boolean allowed = switch (key) {
                case "timeout", "counters", "comment", "skbinfo" -> true;
                case "family", "hashsize", "maxelem", "bucketsize", "initval", "forceadd" -> hash;
                case "netmask" -> type == SetType.HASH_IP;
                case "range" -> type == SetType.BITMAP_PORT;
                case "size" -> type == SetType.LIST_SET;
                case "4", "6", "inet", "inet6" -> hash && o.startsWith("-");
                default -> false;
            };
            if (!allowed) {
                throw IpsetException.parameter("Unknown argument: `" + o + "'");
            }
            String v = null;
            if (takesValue) {
                if (i + 1 >= a.size()) {
                    throw IpsetException.parameter("Missing mandatory argument to option " + key);
                }
                v = a.get(++i);
            }
            switch (key) {
                case "family" -> family = switch (v) {
                    case "inet", "ipv4" -> Family.IPV4;
                    case "inet6", "ipv6" -> Family.IPV6;
                    default -> throw IpsetException.syntax("unknown inet family " + v);
                };
                case "4", "inet" -> family = Family.IPV4;
                case "6", "inet6" -> family = Family.IPV6;
                case "hashsize" -> hashsize = (int) number(v, 0, 0xFFFFFFFFL);
                case "maxelem" -> maxelem = number(v, 0, 0xFFFFFFFFL);
                case "netmask" -> netmask = (int) number(v, 1, 128);
                case "timeout" -> timeout = number(v, 0, MAX_TIMEOUT);
                case "bucketsize" -> bucketsize = (int) number(v, 2, 255);
                case "initval" -> initval = number(v, 0, 0xFFFFFFFFL);
                case "size" -> size = (int) number(v, 0, 0xFFFFFFFFL);
                case "counters" -> counters = true;
                case "comment" -> comment = true;
                case "skbinfo" -> skbinfo = true;
                case "forceadd" -> forceadd = true;
                case "range" -> {
                    int dash = v.indexOf('-');
                    if (dash <= 0) {
                        from = (int) number(v, 0, 65535);
                        to = from;
                    } else {
                        from = (int) number(v.substring(0, dash), 0, 65535);
                        to = (int) number(v.substring(dash + 1), 0, 65535);
                    }
                }
                default -> throw new IllegalStateException(key);
            }
        }
        int bits = family.addressBits();
        if (netmask == -1) {
            netmask = bits;
        } else if (netmask > bits) {
            throw IpsetException.syntax("'" + netmask + "' is out of range 1-" + bits);
        }
        if (type == SetType.BITMAP_PORT) {
            if (from < 0) {
                throw IpsetException.parameter("Mandatory option `range' is missing");
            }
            if (from > to) {
                int t = from;
                from = to;
                to = t;
            }
        }
        // Linux: hashsize rounded up to a power of two, at least IPSET_MIMINAL_HASHSIZE
        int hs = Math.max(CreateOptions.MINIMAL_HASHSIZE, hashsize);
        hs = Integer.bitCount(hs) == 1 ? hs : Integer.highestOneBit(hs) << 1;
        if (type == SetType.LIST_SET) {
            size = Math.max(CreateOptions.LIST_MIN_SIZE, size);
        }
        if (bucketsize % 2 == 1) {
            bucketsize++;
        }
        return new CreateOptions(hash ? family : Family.IPV4, hash ? hs : 0, hash ? maxelem : 0, netmask, timeout,
                counters, comment, skbinfo, forceadd, bucketsize, initval, from, to, size);
    }

    private static long number(String v, long min, long max) {
        long n;
        try {
            n = v.startsWith("0x") || v.startsWith("0X") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw IpsetException.syntax("'" + v + "' is invalid as number");
        }
        if (n < min || n > max) {
            throw IpsetException.syntax("'" + v + "' is out of range " + min + "-" + max);
        }
        return n;
    }

    // ---- add/del/test options ----

    private record Adt(IpSet.AddParams params, int where, String ref) {
    }

    private static Adt adtOptions(IpSet set, Cmd cmd, List<String> a, boolean fromStore) {
        long timeout = -1;
        long packets = -1;
        long bytes = -1;
        String comment = null;
        boolean nomatch = false;
        long mark = -1;
        long markMask = 0;
        long prio = -1;
        int queue = -1;
        int where = 0;
        String ref = null;
        long expires = -1;
        boolean add = cmd == Cmd.ADD;
        for (int i = 0; i < a.size(); i++) {
            String o = a.get(i);
            boolean allowed = switch (o) {
                case "timeout", "packets", "bytes", "comment", "skbmark", "skbprio", "skbqueue" -> add;
                case "nomatch" -> set.type().hasNomatch() && cmd != Cmd.DEL;
                case "before", "after" -> set.type() == SetType.LIST_SET;
                case "expires" -> fromStore;
                default -> false;
            };
            if (!allowed) {
                throw IpsetException.parameter("Unknown argument: `" + o + "'");
            }
            if (o.equals("nomatch")) {
                nomatch = true;
                continue;
            }
            if (i + 1 >= a.size()) {
                throw IpsetException.parameter("Missing mandatory argument to option " + o);
            }
            String v = a.get(++i);
            switch (o) {
                case "timeout" -> timeout = number(v, 0, MAX_TIMEOUT);
                case "expires" -> expires = Long.parseLong(v);
                case "packets" -> packets = unsigned(v);
                case "bytes" -> bytes = unsigned(v);
                case "comment" -> {
                    // ipset: IPSET_MAX_COMMENT_SIZE = 255
                    if (v.length() > 255) {
                        throw IpsetException.syntax("Comment is longer than the maximum allowed 255 characters");
                    }
                    comment = v;
                }
                case "skbmark" -> {
                    int slash = v.indexOf('/');
                    mark = number(slash < 0 ? v : v.substring(0, slash), 0, 0xFFFFFFFFL);
                    markMask = slash < 0 ? 0xFFFFFFFFL : number(v.substring(slash + 1), 0, 0xFFFFFFFFL);
                }
                case "skbprio" -> {
                    int colon = v.indexOf(':');
                    if (colon < 0) {
                        throw IpsetException.syntax("Invalid skbprio format, it should be:MAJOR:MINOR (see manpage)");
                    }
                    prio = Long.parseLong(v.substring(0, colon), 16) << 16 | Long.parseLong(v.substring(colon + 1), 16);
                }
                case "skbqueue" -> queue = (int) number(v, 0, 65535);
                case "before", "after" -> {
                    where = o.equals("before") ? 1 : -1;
                    ref = v;
                }
                default -> throw new IllegalStateException(o);
            }
        }
        return new Adt(new IpSet.AddParams(timeout, expires, packets, bytes, comment, nomatch, mark, markMask, prio,
                queue), where, ref);
    }

    /** The kernel's ip_set_get_extensions: an extension the set was created without is refused. */
    private static void checkExtensions(IpSet set, IpSet.AddParams p) {
        CreateOptions opts = set.options();
        long timeout = p.timeoutSeconds();
        long expires = p.expiresAt();
        long packets = p.packets();
        long bytes = p.bytes();
        String comment = p.comment();
        long mark = p.skbMark();
        long prio = p.skbPrio();
        int queue = p.skbQueue();
        if ((timeout >= 0 || expires >= 0) && !opts.hasTimeout()) {
            throw IpsetException.error("Timeout cannot be used: set was created without timeout support");
        }
        if ((packets >= 0 || bytes >= 0) && !opts.counters()) {
            throw IpsetException.error("Packet/byte counters cannot be used: set was created without counter support");
        }
        if (comment != null && !opts.comment()) {
            throw IpsetException.error("Comment cannot be used: set was created without comment support");
        }
        if ((mark >= 0 || prio >= 0 || queue >= 0) && !opts.skbinfo()) {
            throw IpsetException.error("Skbinfo mapping cannot be used:  set was created without skbinfo support");
        }
    }

    private static long unsigned(String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw IpsetException.syntax("'" + v + "' is invalid as number");
        }
    }

    // ---- restore ----

    private int restore(InputStream in, Flags flags, Ipsets sets, long now, StringBuilder out, PrintStream err,
            boolean[] changed) {
        List<String> lines;
        try {
            if (flags.file != null) {
                lines = Files.readAllLines(Path.of(flags.file), StandardCharsets.UTF_8);
            } else {
                lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines().toList();
            }
        } catch (IOException e) {
            throw IpsetException.error("Cannot open file " + flags.file + " for reading: " + e.getMessage());
        }
        return restoreLines(lines, flags, sets, now, out, err, changed);
    }

    /**
     * Runs the lines of a restore. Like ipset, consecutive adds (or dels) to one set are parsed at once but
     * reach the sets together when the batch ends (another command, another set, the end of the input): an
     * error in parsing a later line of the batch drops the whole batch, an error of the kernel's part stops
     * at that element, the elements before it staying.
     */
    private int restoreLines(List<String> lines, Flags flags, Ipsets sets, long now, StringBuilder out, PrintStream err,
            boolean[] changed) {
        int lineNo = 0;
        List<Runnable> batch = new ArrayList<>();
        List<Integer> batchLines = new ArrayList<>();
        String batchKey = null;
        for (String line : lines) {
            lineNo++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            List<String> words = words(t);
            Flags lineFlags = new Flags();
            lineFlags.exist = flags.exist;
            lineFlags.quiet = flags.quiet;
            lineFlags.output = flags.output;
            Parsed lp = parse(words, lineFlags, true);
            if (lp.cmd() == Cmd.QUIT) {
                break;
            }
            boolean batchable = (lp.cmd() == Cmd.ADD || lp.cmd() == Cmd.DEL) && !lp.args().isEmpty();
            String key = batchable ? lp.cmd() + " " + lp.args().get(0) : null;
            try {
                if (batchable) {
                    Runnable apply = prepareAdt(lp, lineFlags, sets, now, err);
                    if (!key.equals(batchKey)) {
                        runBatch(batch, batchLines);
                    }
                    batch.add(apply);
                    batchLines.add(lineNo);
                    batchKey = key;
                    changed[0] = true;
                } else {
                    runBatch(batch, batchLines);
                    batchKey = null;
                    execute(lp, lineFlags, sets, now, out, err, changed);
                }
            } catch (IpsetException e) {
                if (e.getMessage().startsWith("Error in line ")) {
                    throw e;
                }
                throw new IpsetException(e.exitCode(), "Error in line " + lineNo + ": " + e.getMessage());
            }
        }
        runBatch(batch, batchLines);
        return 0;
    }

    private static void runBatch(List<Runnable> batch, List<Integer> lines) {
        try {
            for (int i = 0; i < batch.size(); i++) {
                try {
                    batch.get(i).run();
                } catch (IpsetException e) {
                    throw new IpsetException(e.exitCode(), "Error in line " + lines.get(i) + ": " + e.getMessage());
                }
            }
        } finally {
            batch.clear();
            lines.clear();
        }
    }

    /** Splits a restore line into words; double quotes group words (comments) and are dropped. */
    static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') {
                quoted = !quoted;
                any = true;
            } else if (!quoted && (c == ' ' || c == '\t')) {
                if (any) {
                    out.add(w.toString());
                    w.setLength(0);
                    any = false;
                }
            } else {
                w.append(c);
                any = true;
            }
        }
        if (any) {
            out.add(w.toString());
        }
        return out;
    }

    // ---- the state ----

    /**
     * The stored sets, read without the lock (the state file is replaced atomically): what the iptables
     * commands of this JVM resolve {@code -m set} and {@code -j SET} names in.
     */
    public Ipsets loadForRules() {
        return load(clock.getAsLong());
    }

    /**
     * How many rules of the stored rulesets name each set (the kernel counts the references of xt_set's
     * checkentry): read from the rules' save text under the xtables lock, only by the commands that need it.
     */
    private java.util.Map<String, Integer> ruleReferences() {
        java.util.Map<String, Integer> refs = new java.util.HashMap<>();
        StateStore rules = new StateStore(store.directory(), org.jnetfilter.core.ext.Extensions.standard());
        try (StateStore.Held held = rules.lock(Integer.MAX_VALUE)) {
            for (Family f : Family.values()) {
                for (org.jnetfilter.core.rules.Table t : rules.load(f).tables()) {
                    for (org.jnetfilter.core.rules.Chain c : t.chains()) {
                        for (org.jnetfilter.core.rules.Rule r : c.rules()) {
                            countReferences(r.text(), refs);
                        }
                    }
                }
            }
        }
        return refs;
    }

    private static void countReferences(String text, java.util.Map<String, Integer> refs) {
        if (!text.contains("-set ")) {
            return;
        }
        List<String> w = words(text);
        for (int i = 0; i + 1 < w.size(); i++) {
            String o = w.get(i);
            if (o.equals("--match-set") || o.equals("--set") || o.equals("--add-set") || o.equals("--del-set")
                    || o.equals("--map-set")) {
                refs.merge(w.get(i + 1), 1, Integer::sum);
            }
        }
    }

    /** How many bytes this command's journal record may take before a snapshot is written instead. */
    private long room() {
        return Math.max(store.minCompactBytes(), snapshotLength / 4) - journalLength;
    }

    /**
     * The sets as an add, del or test of one set needs them, read in place (its cost does not grow with the
     * set's size): every set created, empty, with its options, and of the command's set only the entries
     * that decide the command ({@link IpSet#decidingKeys}), looked up in the snapshot's index, then the
     * journal's changes replayed over them (creates, renames, swaps, flushes and destroys since the snapshot
     * followed). Null when the command must load every set: another command, no indexed snapshot, a
     * list:set or forceadd set (their changes need a snapshot), more than {@value #MAX_LOOKED_UP} elements, a record
     * that might not fit the journal's room, or an add that might meet maxelem (only the full count knows).
     */
    private Ipsets around(Parsed p, long now) {
        if (!store.journals() || (p.cmd() != Cmd.ADD && p.cmd() != Cmd.DEL && p.cmd() != Cmd.TEST)
                || p.args().size() < 2) {
            return null;
        }
        byte[] journal = store.readJournal();
        try {
            return store.readMapped(b -> around(b, journal, p, now));
        } catch (IpsetException e) {
            return null;
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IllegalStateException("corrupt ipset state in " + store.directory(), e);
        }
    }

    private Ipsets around(java.nio.ByteBuffer b, byte[] journal, Parsed p, long now) {
        if (b.capacity() < 16 || b.getLong(0) != MAGIC) {
            return null;
        }
        long snapshotGeneration = b.getLong(8);
        // first the journal over the sets without elements: which set the command meets, and where its
        // stored elements come from (created, renamed, swapped, flushed since the snapshot)
        Ipsets after = emptySets(b);
        Origins origin = new Origins();
        after.names().forEach(n -> origin.bySet.put(n, n));
        long valid = IpsetStore.records(journal, payload -> {
            StateReader r = new StateReader(payload);
            if (r.readLong() == snapshotGeneration) {
                replay(r, after, now, origin);
            }
        });
        generation = snapshotGeneration;
        snapshotLength = b.capacity();
        journalLength = valid;
        String name = p.args().get(0);
        IpSet set = after.get(name);
        if (set == null) {
            return after;
        }
        if (set.type() == SetType.LIST_SET || set.options().forceadd()) {
            return null;
        }
        List<Element> elements;
        try {
            elements = set.parseElements(p.args().get(1));
        } catch (IpsetException e) {
            // the command stops at the same mistake before it looks at any element
            return after;
        }
        if (elements.size() > MAX_LOOKED_UP
                || p.cmd() != Cmd.TEST && room() < 16 + (long) MAX_CHANGE_BYTES * elements.size()) {
            return null;
        }
        // then the entries that decide the command, looked up in the snapshot's index under the name its
        // elements had there, and the journal again over them
        String stored = origin.bySet.get(name);
        Ipsets sets = emptySets(b);
        long storedCount = 0;
        if (stored != null) {
            StateReader in = new StateReader(b.duplicate().position((int) b.getLong(b.capacity() - 8)));
            int indexed = in.readInt();
            for (int i = 0; i < indexed; i++) {
                String setName = in.readUTF();
                int count = in.readInt();
                long table = in.readLong();
                int capacity = in.readInt();
                if (setName.equals(stored)) {
                    storedCount = count;
                    IpSet base = sets.require(stored);
                    java.util.Set<Element> looked = new java.util.HashSet<>();
                    for (Element e : elements) {
                        for (Element key : set.decidingKeys(e)) {
                            IpSet.AddParams entry = looked.add(key) ? lookUp(b, table, capacity, base.type(), key, now)
                                    : null;
                            if (entry != null) {
                                sets.add(base, key, entry, true, now, random, 0, null);
                            }
                        }
                    }
                }
            }
        }
        if (p.cmd() == Cmd.ADD && set.type() != SetType.BITMAP_PORT
                && storedCount + origin.elementChanges + elements.size() > set.options().maxelem()) {
            return null;
        }
        IpsetStore.records(journal, payload -> {
            StateReader r = new StateReader(payload);
            if (r.readLong() == snapshotGeneration) {
                replay(r, sets, now);
            }
        });
        return sets;
    }

    /** The snapshot's sets, created with their options and without elements. */
    private Ipsets emptySets(java.nio.ByteBuffer b) {
        Ipsets sets = new Ipsets();
        readSets(new StateReader(b.duplicate().position(16)), sets);
        return sets;
    }

    /**
     * The stored entry of exactly {@code key} in a set's index at {@code table} (slots holding an element's
     * offset plus one, 0 for a free slot, linear probing), or null when absent or expired.
     */
    private static IpSet.AddParams lookUp(java.nio.ByteBuffer b, long table, int capacity, SetType type, Element key,
            long now) {
        int at = spread(key.hashCode()) & (capacity - 1);
        for (int probes = 0; probes < capacity; probes++) {
            int offset = b.getInt((int) (table + 4L * at));
            if (offset == 0) {
                return null;
            }
            StateReader r = new StateReader(b.duplicate().position(offset - 1));
            if (readElement(r, type).equals(key)) {
                return readEntry(r, now);
            }
            at = (at + 1) & (capacity - 1);
        }
        return null;
    }

    /**
     * The stored sets (see {@link IpsetStore} for the form): the snapshot, then the journal's records of its
     * generation; expired elements are left out.
     */
    private Ipsets load(long now) {
        Ipsets sets = new Ipsets();
        byte[] bytes = store.read();
        generation = 0;
        snapshotLength = bytes.length;
        journalLength = 0;
        if (bytes.length == 0) {
            return sets;
        }
        try {
            StateReader in = new StateReader(java.nio.ByteBuffer.wrap(bytes));
            long magic = in.readLong();
            if (magic != MAGIC && magic != MAGIC_V2 && magic != MAGIC_V1) {
                throw new IllegalStateException("not an ipset state: " + store.directory());
            }
            generation = magic == MAGIC_V1 ? 0 : in.readLong();
            int count = readSets(in, sets);
            for (int i = 0; i < count; i++) {
                IpSet set = sets.require(in.readUTF());
                int elements = in.readInt();
                for (int k = 0; k < elements; k++) {
                    Element e = readElement(in, set.type());
                    IpSet.AddParams p = readEntry(in, now);
                    if (p != null) {
                        sets.add(set, e, p, true, now, random, 0, null);
                    }
                }
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalStateException("corrupt ipset state in " + store.directory(), e);
        }
        long snapshotGeneration = generation;
        journalLength = IpsetStore.records(store.readJournal(), payload -> {
            StateReader in = new StateReader(payload);
            if (in.readLong() == snapshotGeneration) {
                replay(in, sets, now);
            }
        });
        return sets;
    }

    /**
     * Reads the snapshot's set names by index and the sets' create options, creating them empty in
     * {@code sets}; answers how many sets there are.
     */
    private int readSets(StateReader in, Ipsets sets) {
        List<String> slots = new ArrayList<>();
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            slots.add(in.readBoolean() ? in.readUTF() : null);
        }
        int count = in.readInt();
        for (int i = 0; i < count; i++) {
            String name = in.readUTF();
            SetType type = SetType.byName(in.readUTF());
            sets.create(name, type, readOptions(in), false, random);
        }
        sets.arrange(slots);
        return count;
    }

    /** Create options, as the snapshot and the journal hold them. */
    private static CreateOptions readOptions(StateReader in) {
        return new CreateOptions(in.readBoolean() ? Family.IPV6 : Family.IPV4, in.readInt(),
                in.readLong(), in.readInt(), in.readLong(), in.readBoolean(), in.readBoolean(),
                in.readBoolean(), in.readBoolean(), in.readInt(), in.readLong(), in.readInt(), in.readInt(),
                in.readInt());
    }

    private static void writeOptions(StateWriter out, CreateOptions o) {
        out.writeBoolean(o.family() == Family.IPV6);
        out.writeInt(o.hashsize());
        out.writeLong(o.maxelem());
        out.writeInt(o.netmask());
        out.writeLong(o.timeout());
        out.writeBoolean(o.counters());
        out.writeBoolean(o.comment());
        out.writeBoolean(o.skbinfo());
        out.writeBoolean(o.forceadd());
        out.writeInt(o.bucketsize());
        out.writeLong(o.initval());
        out.writeInt(o.rangeFrom());
        out.writeInt(o.rangeTo());
        out.writeInt(o.size());
    }

    /** An element's key fields, as the snapshot and the journal hold them. */
    private static Element readElement(StateReader in, SetType type) {
        long hi = in.readLong();
        long lo = in.readLong();
        int cidr = in.readUnsignedByte();
        int proto = in.readUnsignedByte();
        int port = in.readUnsignedShort();
        long hi2 = 0;
        long lo2 = 0;
        int cidr2 = 0;
        if (type == SetType.HASH_IP_PORT_IP) {
            hi2 = in.readLong();
            lo2 = in.readLong();
            cidr2 = in.readUnsignedByte();
        }
        String iface = type == SetType.HASH_NET_IFACE ? in.readUTF() : null;
        String member = type == SetType.LIST_SET ? in.readUTF() : null;
        return Element.of(hi, lo, cidr, proto, port, hi2, lo2, cidr2, iface, member);
    }

    private static void writeElement(StateWriter out, SetType type, Element e) {
        out.writeLong(e.hi());
        out.writeLong(e.lo());
        out.writeByte(e.cidr());
        out.writeByte(e.proto());
        out.writeShort(e.port());
        if (type == SetType.HASH_IP_PORT_IP) {
            out.writeLong(e.hi2());
            out.writeLong(e.lo2());
            out.writeByte(e.cidr2());
        }
        if (type == SetType.HASH_NET_IFACE) {
            out.writeUTF(e.iface());
        }
        if (type == SetType.LIST_SET) {
            out.writeUTF(e.setName());
        }
    }

    /** Reads an element's extensions as the parameters of an add; null when it has expired by {@code now}. */
    private static IpSet.AddParams readEntry(StateReader in, long now) {
        int f = in.readUnsignedByte();
        long expires = (f & 2) != 0 ? in.readLong() : -1;
        long packets = (f & 4) != 0 ? in.readLong() : -1;
        long bytesCount = (f & 4) != 0 ? in.readLong() : -1;
        String comment = (f & 8) != 0 ? in.readUTF() : null;
        long mark = -1;
        long mask = 0;
        long prio = -1;
        int queue = -1;
        if ((f & 16) != 0) {
            mark = in.readLong();
            mask = in.readLong();
            prio = in.readLong();
            queue = in.readInt();
        }
        if (expires >= 0 && expires <= now) {
            return null;
        }
        return new IpSet.AddParams(expires >= 0 ? -1 : 0, expires, packets, bytesCount, comment, (f & 1) != 0,
                mark, mask, prio, queue);
    }

    /** Writes an element's extensions: nomatch, absolute expiry, counters, comment, skbinfo, as flagged. */
    private static void writeEntry(StateWriter out, IpSet s, Entry en) {
        boolean expires = s.options().hasTimeout() && en.expiresAt() != Long.MAX_VALUE;
        boolean skb = s.options().skbinfo();
        int f = (en.nomatch() ? 1 : 0) | (expires ? 2 : 0) | (s.options().counters() ? 4 : 0)
                | (en.comment() != null ? 8 : 0) | (skb ? 16 : 0);
        out.writeByte(f);
        if (expires) {
            out.writeLong(en.expiresAt());
        }
        if (s.options().counters()) {
            out.writeLong(en.packets());
            out.writeLong(en.bytes());
        }
        if (en.comment() != null) {
            out.writeUTF(en.comment());
        }
        if (skb) {
            out.writeLong(en.skbMark());
            out.writeLong(en.skbMarkMask());
            out.writeLong(en.skbPrio());
            out.writeInt(en.skbQueue());
        }
    }

    /** Applies one journal record's changes (after its generation) to the sets loaded so far. */
    private void replay(StateReader in, Ipsets sets, long now) {
        replay(in, sets, now, null);
    }

    /**
     * {@link #replay}, following in {@code origin} (when not null) which snapshot set each set's stored
     * elements come from (null: none, the set was created or flushed since) and counting element changes.
     */
    private void replay(StateReader in, Ipsets sets, long now, Origins origin) {
        try {
            int count = in.readInt();
            for (int i = 0; i < count; i++) {
                int kind = in.readUnsignedByte();
                switch (kind) {
                    case Changes.CREATE -> {
                        String name = in.readUTF();
                        SetType type = SetType.byName(in.readUTF());
                        sets.create(name, type, readOptions(in), false, random);
                        if (origin != null) {
                            origin.bySet.put(name, null);
                        }
                    }
                    case Changes.DESTROY -> {
                        String name = in.readBoolean() ? in.readUTF() : null;
                        sets.destroy(name);
                        if (origin != null && name == null) {
                            origin.bySet.clear();
                        } else if (origin != null) {
                            origin.bySet.remove(name);
                        }
                    }
                    case Changes.FLUSH -> {
                        String name = in.readBoolean() ? in.readUTF() : null;
                        sets.flush(name);
                        if (origin != null && name == null) {
                            origin.bySet.replaceAll((k, v) -> null);
                        } else if (origin != null) {
                            origin.bySet.put(name, null);
                        }
                    }
                    case Changes.RENAME -> {
                        String from = in.readUTF();
                        String to = in.readUTF();
                        sets.rename(from, to);
                        if (origin != null) {
                            origin.bySet.put(to, origin.bySet.remove(from));
                        }
                    }
                    case Changes.SWAP -> {
                        String a = in.readUTF();
                        String b = in.readUTF();
                        sets.swap(a, b);
                        if (origin != null) {
                            origin.bySet.put(a, origin.bySet.put(b, origin.bySet.get(a)));
                        }
                    }
                    case Changes.ELEMENT -> {
                        IpSet set = sets.require(in.readUTF());
                        Element e = readElement(in, set.type());
                        IpSet.AddParams p = readEntry(in, now);
                        if (p != null) {
                            sets.add(set, e, p, true, now, random, 0, null);
                        } else {
                            sets.del(set, e, true, now);
                        }
                        if (origin != null) {
                            origin.elementChanges++;
                        }
                    }
                    case Changes.GONE -> {
                        IpSet set = sets.require(in.readUTF());
                        sets.del(set, readElement(in, set.type()), true, now);
                    }
                    default -> throw new IllegalStateException("unknown change " + kind);
                }
            }
        } catch (IpsetException | java.nio.BufferUnderflowException e) {
            throw new IllegalStateException("ipset journal does not apply to its snapshot in " + store.directory(), e);
        }
    }

    /** What a replay followed: each set's snapshot set (null: none) and how many elements it changed. */
    private static final class Origins {
        final Map<String, String> bySet = new java.util.HashMap<>();
        long elementChanges;
    }

    /**
     * One command's journal record: its changes in order, each written as it is made (an element as it is
     * right after the change). Gives up, asking for a snapshot instead, when it outgrows {@code room} or meets
     * a change whose outcome a replay could not repeat: an element of a list:set (positions, references) or
     * of a forceadd set (a full set evicts at random).
     */
    private static final class Changes {
        static final int CREATE = 1;
        static final int DESTROY = 2;
        static final int FLUSH = 3;
        static final int RENAME = 4;
        static final int SWAP = 5;
        static final int ELEMENT = 6;
        static final int GONE = 7;

        private final StateWriter out = new StateWriter();
        private final long room;
        private int count;
        private boolean snapshot;

        Changes(long generation, long room) {
            this.room = room;
            out.writeLong(generation);
            out.writeInt(0);
        }

        void created(IpSet s) {
            if (begin(CREATE)) {
                out.writeUTF(s.name());
                out.writeUTF(s.type().text());
                writeOptions(out, s.options());
            }
        }

        void named(int kind, String nameOrAll) {
            if (begin(kind)) {
                out.writeBoolean(nameOrAll != null);
                if (nameOrAll != null) {
                    out.writeUTF(nameOrAll);
                }
            }
        }

        void pair(int kind, String a, String b) {
            if (begin(kind)) {
                out.writeUTF(a);
                out.writeUTF(b);
            }
        }

        void element(IpSet s, Element e, long now) {
            if (s.type() == SetType.LIST_SET || s.options().forceadd()) {
                snapshot = true;
                return;
            }
            Entry en = s.entry(e, now);
            if (begin(en == null ? GONE : ELEMENT)) {
                out.writeUTF(s.name());
                writeElement(out, s.type(), e);
                if (en != null) {
                    writeEntry(out, s, en);
                }
            }
        }

        private boolean begin(int kind) {
            if (snapshot || out.size() > room) {
                snapshot = true;
                return false;
            }
            count++;
            out.writeByte(kind);
            return true;
        }

        /** The record's payload, or null when the command needs a snapshot instead. */
        byte[] payload() {
            if (snapshot || out.size() > room) {
                return null;
            }
            byte[] b = out.bytes();
            java.nio.ByteBuffer.wrap(b).putInt(8, count);
            return b;
        }
    }

    /**
     * The stored form, binary (a set of 100k elements is read back in tens of milliseconds): the
     * generation, the set names by index ({@code null} for a free index, so that later creates take the
     * indices the kernel would give them and listings keep the kernel's order), the sets' create options,
     * then every set's elements with absolute expiry times; then each set's index (a power-of-two table of
     * int slots, an element record's offset plus one or 0 for free, linear probing from the spread
     * {@link Element#hashCode}), a directory (per set: name, elements, table offset, slots) and, last, the
     * directory's offset. Loaders of whole sets stop after the elements.
     */
    private static byte[] render(Ipsets sets, long now, long generation) {
        StateWriter out = new StateWriter();
        out.writeLong(MAGIC);
        out.writeLong(generation);
        List<String> slots = sets.slots();
        out.writeInt(slots.size());
        for (String name : slots) {
            out.writeBoolean(name != null);
            if (name != null) {
                out.writeUTF(name);
            }
        }
        List<IpSet> all = sets.dumpOrder();
        out.writeInt(all.size());
        for (IpSet s : all) {
            out.writeUTF(s.name());
            out.writeUTF(s.type().text());
            writeOptions(out, s.options());
        }
        int[][] offsets = new int[all.size()][];
        int[][] hashes = new int[all.size()][];
        for (int i = 0; i < all.size(); i++) {
            IpSet s = all.get(i);
            out.writeUTF(s.name());
            List<Map.Entry<Element, Entry>> elems = s.elements(now);
            out.writeInt(elems.size());
            offsets[i] = new int[elems.size()];
            hashes[i] = new int[elems.size()];
            int k = 0;
            for (Map.Entry<Element, Entry> me : elems) {
                offsets[i][k] = out.size();
                hashes[i][k++] = me.getKey().hashCode();
                writeElement(out, s.type(), me.getKey());
                writeEntry(out, s, me.getValue());
            }
        }
        long[] tableAt = new long[all.size()];
        int[] capacities = new int[all.size()];
        for (int i = 0; i < all.size(); i++) {
            int capacity = tableCapacity(offsets[i].length);
            int[] index = new int[capacity];
            for (int k = 0; k < offsets[i].length; k++) {
                int at = spread(hashes[i][k]) & (capacity - 1);
                while (index[at] != 0) {
                    at = (at + 1) & (capacity - 1);
                }
                index[at] = offsets[i][k] + 1;
            }
            tableAt[i] = out.size();
            capacities[i] = capacity;
            for (int slot : index) {
                out.writeInt(slot);
            }
        }
        long directory = out.size();
        out.writeInt(all.size());
        for (int i = 0; i < all.size(); i++) {
            out.writeUTF(all.get(i).name());
            out.writeInt(offsets[i].length);
            out.writeLong(tableAt[i]);
            out.writeInt(capacities[i]);
        }
        out.writeLong(directory);
        return out.bytes();
    }

    /** Slots of a set's index: a power of two at least twice its elements (linear probing stays short). */
    private static int tableCapacity(int elements) {
        int capacity = 2;
        while (capacity < 2L * elements) {
            capacity <<= 1;
        }
        return capacity;
    }

    /** The index slot an element's hash starts from (Element.hashCode is stable: fields and String hashes). */
    private static int spread(int hash) {
        int x = hash * 0x9E3779B9;
        return x ^ (x >>> 16);
    }

    /** Reads the stored form: big-endian numbers, strings as a length and UTF-8 bytes. */
    private static final class StateReader {
        private final java.nio.ByteBuffer b;

        StateReader(java.nio.ByteBuffer b) {
            this.b = b;
        }

        long readLong() {
            return b.getLong();
        }

        int readInt() {
            return b.getInt();
        }

        boolean readBoolean() {
            return b.get() != 0;
        }

        int readUnsignedByte() {
            return Byte.toUnsignedInt(b.get());
        }

        int readUnsignedShort() {
            return Short.toUnsignedInt(b.getShort());
        }

        String readUTF() {
            int n = readUnsignedShort();
            if (!b.hasArray()) {
                byte[] u = new byte[n];
                b.get(u);
                return new String(u, StandardCharsets.UTF_8);
            }
            String v = new String(b.array(), b.arrayOffset() + b.position(), n, StandardCharsets.UTF_8);
            b.position(b.position() + n);
            return v;
        }
    }

    /** Writes the stored form into a growing buffer. */
    private static final class StateWriter {
        private java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 << 16);

        private void room(int n) {
            if (b.remaining() < n) {
                java.nio.ByteBuffer bigger = java.nio.ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n));
                b.flip();
                bigger.put(b);
                b = bigger;
            }
        }

        void writeLong(long v) {
            room(8);
            b.putLong(v);
        }

        void writeInt(int v) {
            room(4);
            b.putInt(v);
        }

        void writeBoolean(boolean v) {
            room(1);
            b.put((byte) (v ? 1 : 0));
        }

        void writeByte(int v) {
            room(1);
            b.put((byte) v);
        }

        void writeShort(int v) {
            room(2);
            b.putShort((short) v);
        }

        void writeUTF(String v) {
            byte[] u = v.getBytes(StandardCharsets.UTF_8);
            room(2 + u.length);
            b.putShort((short) u.length);
            b.put(u);
        }

        int size() {
            return b.position();
        }

        byte[] bytes() {
            return java.util.Arrays.copyOf(b.array(), b.position());
        }
    }

    // ---- listing ----

    private static void print(StringBuilder out, Ipsets sets, List<IpSet> which, String mode, Flags flags,
            long now) {
        if (mode.equals("xml")) {
            out.append("<ipsets>\n");
        }
        boolean first = true;
        for (IpSet s : which) {
            if (flags.namesOnly) {
                out.append(s.name()).append('\n');
                continue;
            }
            List<Map.Entry<Element, Entry>> elems = s.elements(now);
            switch (mode) {
                case "save" -> {
                    out.append("create ").append(s.name()).append(' ').append(s.type().text()).append(' ');
                    header(out, s, false);
                    out.append('\n');
                    if (!flags.terse) {
                        for (Map.Entry<Element, Entry> me : elems) {
                            out.append("add ").append(s.name()).append(' ');
                            element(out, s, me.getKey(), me.getValue(), now, false);
                            out.append('\n');
                        }
                    }
                }
                case "xml" -> xml(out, sets, s, elems, flags, now);
                default -> {
                    if (!first) {
                        out.append('\n');
                    }
                    out.append("Name: ").append(s.name()).append('\n');
                    out.append("Type: ").append(s.type().text()).append('\n');
                    out.append("Revision: ").append(s.type().revision()).append('\n');
                    out.append("Header: ");
                    header(out, s, false);
                    out.append('\n');
                    out.append("Size in memory: ").append(s.memorySize()).append('\n');
                    out.append("References: ").append(sets.references(s.name())).append('\n');
                    out.append("Number of entries: ").append(elems.size()).append('\n');
                    if (!flags.terse) {
                        out.append("Members:\n");
                        for (Map.Entry<Element, Entry> me : elems) {
                            element(out, s, me.getKey(), me.getValue(), now, false);
                            out.append('\n');
                        }
                    }
                }
            }
            first = false;
        }
        if (mode.equals("xml")) {
            out.append("</ipsets>\n");
        }
    }

    private static void xml(StringBuilder out, Ipsets sets, IpSet s, List<Map.Entry<Element, Entry>> elems,
            Flags flags, long now) {
        out.append("<ipset name=\"").append(s.name()).append("\">\n");
        out.append("<type>").append(s.type().text()).append("</type>\n");
        out.append("<revision>").append(s.type().revision()).append("</revision>\n");
        StringBuilder h = new StringBuilder();
        header(h, s, false);
        out.append("<header>");
        String[] w = h.toString().split(" ");
        for (int i = 0; i < w.length; i++) {
            String k = w[i];
            boolean flag = k.equals("counters") || k.equals("comment") || k.equals("skbinfo") || k.equals("forceadd");
            if (flag) {
                out.append('<').append(k).append("/>");
            } else {
                out.append('<').append(k).append('>').append(w[++i]).append("</").append(k).append('>');
            }
        }
        out.append("\n<memsize>").append(s.memorySize()).append("</memsize>\n");
        out.append("<references>").append(sets.references(s.name())).append("</references>\n");
        out.append("<numentries>").append(elems.size()).append("</numentries>\n");
        out.append("</header>\n");
        if (!flags.terse) {
            out.append("<members>\n");
            for (Map.Entry<Element, Entry> me : elems) {
                out.append("<member><elem>").append(s.format(me.getKey())).append("</elem>");
                StringBuilder ext = new StringBuilder();
                extensions(ext, s, me.getValue(), now, false);
                String[] x = ext.toString().strip().split(" ");
                for (int i = 0; i < x.length && !x[0].isEmpty(); i++) {
                    if (x[i].equals("nomatch")) {
                        out.append("<nomatch/>");
                    } else {
                        String v = x[++i];
                        out.append('<').append(x[i - 1]).append('>').append(v.replace("\"", "")).append("</")
                                .append(x[i - 1]).append('>');
                    }
                }
                out.append("</member>\n");
            }
            out.append("</members>\n");
        }
        out.append("</ipset>\n");
    }

    /** The create options as the Header line and the save form print them. */
    private static void header(StringBuilder out, IpSet s, boolean forStore) {
        CreateOptions o = s.options();
        StringBuilder h = new StringBuilder();
        switch (s.type()) {
            case BITMAP_PORT -> h.append("range ").append(o.rangeFrom()).append('-').append(o.rangeTo());
            case LIST_SET -> h.append("size ").append(o.size());
            default -> {
                h.append("family ").append(o.family() == Family.IPV4 ? "inet" : "inet6");
                h.append(" hashsize ").append(o.hashsize()).append(" maxelem ").append(o.maxelem());
                if (s.type() == SetType.HASH_IP && o.netmask() != o.family().addressBits()) {
                    h.append(" netmask ").append(o.netmask());
                }
            }
        }
        if (o.hasTimeout()) {
            h.append(" timeout ").append(o.timeout());
        }
        if (o.counters()) {
            h.append(" counters");
        }
        if (o.comment()) {
            h.append(" comment");
        }
        if (o.skbinfo()) {
            h.append(" skbinfo");
        }
        if (forStore && o.forceadd()) {
            h.append(" forceadd");
        }
        if (s.type() != SetType.BITMAP_PORT && s.type() != SetType.LIST_SET) {
            h.append(" bucketsize ").append(o.bucketsize());
            h.append(" initval 0x").append(String.format("%08x", o.initval()));
        }
        out.append(h);
    }

    private static void element(StringBuilder out, IpSet s, Element e, Entry en, long now, boolean forStore) {
        out.append(s.format(e));
        extensions(out, s, en, now, forStore);
    }

    private static void extensions(StringBuilder out, IpSet s, Entry en, long now, boolean forStore) {
        CreateOptions o = s.options();
        if (o.hasTimeout()) {
            if (forStore) {
                if (en.expiresAt() != Long.MAX_VALUE) {
                    out.append(" expires ").append(en.expiresAt());
                } else {
                    out.append(" timeout 0");
                }
            } else {
                // Linux: ip_set_timeout_get: the whole seconds left, 0 for a permanent element
                long left = en.expiresAt() == Long.MAX_VALUE ? 0 : Math.max(0, (en.expiresAt() - now) / NANOS);
                out.append(" timeout ").append(left);
            }
        }
        if (en.nomatch()) {
            out.append(" nomatch");
        }
        if (o.counters()) {
            out.append(" packets ").append(en.packets()).append(" bytes ").append(en.bytes());
        }
        if (o.comment() && en.comment() != null) {
            out.append(" comment \"").append(en.comment()).append('"');
        }
        if (o.skbinfo()) {
            en.appendSkbinfo(out);
        }
    }
}
