package org.jnetfilter.iptables;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.RuleText;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.core.rules.Target;

/**
 * Applies one parsed command to one generation and yields the next, as libiptc does to its copy of the
 * table before committing it, with libiptc's errors. Pure: the input generation is never changed, so a
 * failing command changes nothing.
 */
final class Executor {
    private Executor() {
    }

    /** The outcome: the next generation (the same object when nothing changed) and what to print. */
    record Result(Ruleset ruleset, String stdout, boolean changed) {
    }

    static TableKind tableKind(String name, String program) {
        return TableKind.byName(name).orElseThrow(() -> new XtablesException(XtablesException.VERSION_PROBLEM,
                XtablesException.Kind.PARAMETER, "can't initialize " + program + " table `" + name
                + "': Table does not exist (do you need to insmod?)\nPerhaps " + program
                + " or your kernel needs to be upgraded."));
    }

    static XtablesException noSuchChain() {
        return XtablesException.kernel("No chain/target/match by that name");
    }

    static Result execute(Command cmd, Ruleset rs) {
        return execute(cmd, rs, true);
    }

    /** @param checkTable run the kernel's table checks now (false inside a restore: they run at COMMIT) */
    static Result execute(Command cmd, Ruleset rs, boolean checkTable) {
        return execute(cmd, rs, checkTable, new StringBuilder());
    }

    /**
     * @param out receives what the command prints, also when it then fails (iptables echoes a -v rule
     *            before the kernel refuses it)
     */
    static Result execute(Command cmd, Ruleset rs, boolean checkTable, StringBuilder out) {
        TableKind kind = tableKind(cmd.table(), rs.family().program());
        Table table = rs.tableOrInitial(kind);
        Ruleset touched = rs.table(kind) == null ? rs.with(table) : rs;
        Table next = switch (cmd.kind()) {
            case APPEND, INSERT, REPLACE, DELETE, CHECK -> ruleCommand(cmd, table, out);
            case DELETE_NUM -> {
                Chain c = chain(table, cmd.chain());
                if (cmd.ruleNum() > c.rules().size()) {
                    throw XtablesException.kernel("Index of deletion too big");
                }
                yield table.with(c.withRules(c.rules().removing(cmd.ruleNum() - 1)));
            }
            case LIST -> {
                list(cmd, table, out);
                yield cmd.zeroAfterList() ? zero(cmd, table, out) : table;
            }
            case LIST_RULES -> {
                listRules(cmd, table, out);
                yield cmd.zeroAfterList() ? zero(cmd, table, out) : table;
            }
            case FLUSH -> flush(cmd, table, out);
            case ZERO, ZERO_NUM -> zero(cmd, table, out);
            case NEW_CHAIN -> {
                if (table.hasChain(cmd.chain())) {
                    throw XtablesException.kernel("Chain already exists");
                }
                yield table.with(Chain.user(cmd.chain()));
            }
            case DELETE_CHAIN -> deleteChain(cmd, table, out);
            case SET_POLICY -> setPolicy(cmd, table);
            case RENAME_CHAIN -> rename(cmd, table);
        };
        if (next == table) {
            return new Result(touched, out.toString(), touched != rs);
        }
        if (checkTable) {
            TableChecks.check(next, table);
        }
        return new Result(touched.with(next), out.toString(), true);
    }

    private static Chain chain(Table table, String name) {
        Chain c = table.chain(name);
        if (c == null) {
            throw noSuchChain();
        }
        return c;
    }

    /**
     * The checks of -A/-I/-R/-D/-C before the rule goes into its chain, in iptables' order and with its
     * messages; returns the chain. {@code chains} finds a chain by name (a table, or a restore's builder).
     */
    static Chain validateRuleCommand(Command cmd, java.util.function.Function<String, Chain> chains, StringBuilder out) {
        String chainName = cmd.chain();
        if (chainName.equals("PREROUTING") || chainName.equals("INPUT")) {
            if (!cmd.rules().get(0).ip().outIface().isEmpty() || cmd.rules().get(0).ip().inverted(
                    org.jnetfilter.core.rules.IpSpec.INV_VIA_OUT)) {
                throw XtablesException.parameter("Can't use -o with " + chainName + "\n");
            }
        }
        if (chainName.equals("POSTROUTING") || chainName.equals("OUTPUT")) {
            if (!cmd.rules().get(0).ip().inIface().isEmpty() || cmd.rules().get(0).ip().inverted(
                    org.jnetfilter.core.rules.IpSpec.INV_VIA_IN)) {
                throw XtablesException.parameter("Can't use -i with " + chainName + "\n");
            }
        }
        Target target = cmd.rules().get(0).target();
        Chain jumpTo = target instanceof Target.Jump j ? chains.apply(j.chain()) : null;
        if (target instanceof Target.Jump j && jumpTo == null) {
            if (j.isGoto()) {
                throw XtablesException.parameter("goto '" + j.chain() + "' is not a chain");
            }
            throw XtablesException.parameter("Couldn't load target `" + j.chain() + "':No such file or directory\n");
        }
        Chain c = chains.apply(chainName);
        if (c == null) {
            // legacy echoes the rule (-v) before libiptc finds that the chain is missing
            if (cmd.verbose() > 0) {
                // and legacy goes on with the next address pair after each failure
                for (RuleSpec spec : cmd.rules()) {
                    Listing.rule(out, new Rule(spec, Counters.zero()), 0, Listing.FMT_PRINT_RULE);
                }
            }
            if (cmd.kind() == CommandKind.DELETE || cmd.kind() == CommandKind.CHECK) {
                // libiptc looks the rule up in a chain it cannot find: the same "no such rule" error
                throw XtablesException.kernel("Bad rule (does a matching rule exist in that chain?)");
            }
            throw noSuchChain();
        }
        if (jumpTo != null && jumpTo.isBuiltin()) {
            throw XtablesException.invalidArgument();
        }
        return c;
    }

    private static boolean comparesAllOptions(RuleSpec spec) {
        for (org.jnetfilter.core.rules.Match m : spec.matches()) {
            if (!m.extension().deleteComparesOptions()) {
                return false;
            }
        }
        return true;
    }

    /**
     * The first rule libiptc's is_same takes for {@code spec} when one of its matches compares no options
     * (see MatchExtension#deleteComparesOptions): a scan, parsing the rules kept as text.
     */
    private static int indexOfSame(RuleList rules, RuleSpec spec) {
        for (int i = 0; i < rules.size(); i++) {
            RuleSpec r = rules.get(i).spec();
            if (!r.ip().equals(spec.ip()) || !r.target().equals(spec.target())
                    || r.matches().size() != spec.matches().size()) {
                continue;
            }
            boolean same = true;
            for (int k = 0; k < r.matches().size() && same; k++) {
                org.jnetfilter.core.rules.Match a = r.matches().get(k);
                org.jnetfilter.core.rules.Match b = spec.matches().get(k);
                same = a.extension().name().equals(b.extension().name()) && (!a.extension().deleteComparesOptions() || a.data().equals(b.data()));
            }
            if (same) {
                return i;
            }
        }
        return -1;
    }

    private static Table ruleCommand(Command cmd, Table table, StringBuilder out) {
        Chain c = validateRuleCommand(cmd, table::chain, out);
        RuleList rules = c.rules();
        int ruleIndex = -1;
        for (RuleSpec spec : cmd.rules()) {
            ruleIndex++;
            if (cmd.verbose() > 0) {
                Listing.rule(out, new Rule(spec, Counters.zero()), 0, Listing.FMT_PRINT_RULE);
            }
            Counters counters = cmd.counters() != null
                    ? new Counters(cmd.counters()[0], cmd.counters()[1]) : Counters.zero();
            switch (cmd.kind()) {
                case APPEND -> rules = rules.appending(new Rule(spec, counters, cmd.source(ruleIndex)));
                case INSERT -> {
                    if (cmd.ruleNum() - 1 > rules.size()) {
                        throw XtablesException.kernel("Index of insertion too big");
                    }
                    rules = rules.inserting(cmd.ruleNum() - 1, new Rule(spec, counters, cmd.source(ruleIndex)));
                }
                case REPLACE -> {
                    if (cmd.ruleNum() > rules.size()) {
                        throw XtablesException.kernel("Index of replacement too big");
                    }
                    rules = rules.replacing(cmd.ruleNum() - 1, new Rule(spec, counters, cmd.source(ruleIndex)));
                }
                case DELETE, CHECK -> {
                    // rules kept as text compare by their canonical save text: no parsing
                    int idx = comparesAllOptions(spec) ? rules.indexOfText(RuleText.save(spec)) : indexOfSame(rules, spec);
                    if (idx < 0) {
                        // observed with iptables-legacy 1.8.9: a missing rule whose target is a chain or a
                        // target extension reports ENOENT's generic text, a verdict target "Bad rule"
                        if (spec.target() instanceof Target.Jump || spec.target() instanceof Target.Extension) {
                            throw noSuchChain();
                        }
                        throw XtablesException.kernel("Bad rule (does a matching rule exist in that chain?)");
                    }
                    if (cmd.kind() == CommandKind.DELETE) {
                        rules = rules.removing(idx);
                    }
                }
                default -> throw new IllegalStateException(cmd.kind().name());
            }
        }
        if (cmd.kind() == CommandKind.CHECK) {
            return table;
        }
        return table.with(c.withRules(rules));
    }

    /**
     * What -v's echo of the rules of -A, -I, -R, -D or -C prints on stderr (ExtensionData.printWarning):
     * iptables prints each rule before it hands it to the kernel, so also when the kernel then refuses it.
     */
    static String echoWarnings(Command cmd) {
        boolean echoed = switch (cmd.kind()) {
            case APPEND, INSERT, REPLACE, DELETE, CHECK -> cmd.verbose() > 0;
            default -> false;
        };
        StringBuilder warned = new StringBuilder();
        for (int i = 0; echoed && i < cmd.rules().size(); i++) {
            for (org.jnetfilter.core.rules.Match m : cmd.rules().get(i).matches()) {
                String w = m.data().printWarning();
                if (w != null) {
                    warned.append(w).append('\n');
                }
            }
        }
        return warned.toString();
    }

    /** The rules -L or -S prints for {@code cmd}, in order. */
    static List<Rule> listedRules(Command cmd, Table table) {
        if (cmd.chain() == null) {
            List<Rule> all = new ArrayList<>();
            for (Chain c : table.chains()) {
                all.addAll(c.rules());
            }
            return all;
        }
        Chain c = table.chain(cmd.chain());
        if (c == null) {
            return List.of();
        }
        if (cmd.ruleNum() > 0) {
            return cmd.ruleNum() <= c.rules().size() ? List.of(c.rules().get(cmd.ruleNum() - 1)) : List.of();
        }
        return c.rules();
    }

    /**
     * What printing {@code rules} writes to stderr besides the rules (see ExtensionData.printWarning), in
     * order. Only a rule whose text names a match that may warn (connlabel) is parsed for it, so listing
     * or saving a large table parses nothing.
     */
    static void printWarnings(Iterable<Rule> rules, StringBuilder err) {
        for (Rule r : rules) {
            if (!r.text().contains("-m connlabel")) {
                continue;
            }
            for (org.jnetfilter.core.rules.Match m : r.spec().matches()) {
                String w = m.data().printWarning();
                if (w != null) {
                    err.append(w).append('\n');
                }
            }
        }
    }

    private static void list(Command cmd, Table table, StringBuilder out) {
        int format = Listing.format(cmd);
        if (cmd.chain() != null) {
            Chain c = chain(table, cmd.chain());
            if (cmd.ruleNum() > 0) {
                if (cmd.ruleNum() <= c.rules().size()) {
                    Listing.rule(out, c.rules().get(cmd.ruleNum() - 1), cmd.ruleNum(), format);
                }
                return;
            }
            Listing.header(out, table, c, format);
            listRulesOf(out, c, format);
            return;
        }
        boolean first = true;
        for (Chain c : table.chains()) {
            if (!first) {
                out.append('\n');
            }
            first = false;
            Listing.header(out, table, c, format);
            listRulesOf(out, c, format);
        }
    }

    private static void listRulesOf(StringBuilder out, Chain c, int format) {
        int n = 1;
        for (Rule r : c.rules()) {
            Listing.rule(out, r, n++, format);
        }
    }

    private static void listRules(Command cmd, Table table, StringBuilder out) {
        boolean counters = cmd.verbose() > 0;
        List<Chain> chains;
        if (cmd.chain() != null) {
            Chain c = chain(table, cmd.chain());
            if (cmd.ruleNum() > 0) {
                if (cmd.ruleNum() <= c.rules().size()) {
                    appendRule(out, c.name(), c.rules().get(cmd.ruleNum() - 1), counters);
                }
                return;
            }
            chains = List.of(c);
        } else {
            chains = table.chains();
        }
        for (Chain c : chains) {
            if (c.isBuiltin()) {
                out.append("-P ").append(c.name()).append(' ').append(c.policy());
                if (counters) {
                    out.append(" -c ").append(Long.toUnsignedString(c.policyCounters().packets())).append(' ')
                            .append(Long.toUnsignedString(c.policyCounters().bytes()));
                }
                out.append('\n');
            } else {
                out.append("-N ").append(c.name()).append('\n');
            }
        }
        for (Chain c : chains) {
            for (Rule r : c.rules()) {
                appendRule(out, c.name(), r, counters);
            }
        }
    }

    /** "-j NAME" or "-g NAME" as it stands in the text. */
    private static String targetWord(String text, String name) {
        String g = "-g " + name;
        int gi = text.lastIndexOf(g);
        int ji = text.lastIndexOf("-j " + name);
        return gi > ji ? g : "-j " + name;
    }

    static void appendRule(StringBuilder out, String chain, Rule r, boolean counters) {
        out.append("-A ").append(chain);
        String text = r.text();
        if (!counters) {
            if (!text.isEmpty()) {
                out.append(' ').append(text);
            }
        } else {
            // -S -v: "-c PKTS BYTES" goes before the target
            String c = "-c " + Long.toUnsignedString(r.counters().packets()) + " "
                    + Long.toUnsignedString(r.counters().bytes());
            int at = r.targetName().isEmpty() ? -1 : text.lastIndexOf(targetWord(text, r.targetName()));
            if (at < 0) {
                out.append(text.isEmpty() ? "" : " " + text).append(' ').append(c);
            } else {
                out.append(' ').append(text, 0, at).append(c).append(' ').append(text, at, text.length());
            }
        }
        out.append('\n');
    }

    private static Table flush(Command cmd, Table table, StringBuilder out) {
        if (cmd.chain() != null) {
            // legacy announces the chain before libiptc looks it up
            verboseNote(cmd, out, "Flushing", cmd.chain());
            Chain c = chain(table, cmd.chain());
            return table.with(c.withRules(RuleList.empty()));
        }
        Table t = table;
        for (Chain c : table.chains()) {
            verboseNote(cmd, out, "Flushing", c.name());
            if (!c.rules().isEmpty()) {
                t = t.with(c.withRules(RuleList.empty()));
            }
        }
        return t;
    }

    /**
     * -Z: counters are zeroed in place (they are shared with the generation that is being replaced, like
     * the kernel's per-rule counters), so the table is returned with new counter objects to make the
     * change visible as a new generation.
     */
    private static void verboseNote(Command cmd, StringBuilder out, String what, String chain) {
        if (cmd.verbose() > 0) {
            out.append(what).append(" chain `").append(chain).append("'\n");
        }
    }

    private static Table zero(Command cmd, Table table, StringBuilder out) {
        List<Chain> chains;
        if (cmd.chain() != null) {
            if (cmd.kind() != CommandKind.ZERO_NUM) {
                verboseNote(cmd, out, "Zeroing", cmd.chain());
            }
            chains = List.of(chain(table, cmd.chain()));
        } else {
            chains = table.chains();
        }
        Table t = table;
        for (Chain c : chains) {
            if (cmd.ruleNum() > 0 && cmd.kind() == CommandKind.ZERO_NUM) {
                if (cmd.ruleNum() > c.rules().size()) {
                    throw XtablesException.kernel("Index of counter too big");
                }
                Rule r = c.rules().get(cmd.ruleNum() - 1);
                return t.with(c.withRules(c.rules().replacing(cmd.ruleNum() - 1, r.withCounters(Counters.zero()))));
            }
            if (cmd.chain() == null) {
                verboseNote(cmd, out, "Zeroing", c.name());
            }
            List<Rule> fresh = new ArrayList<>(c.rules().size());
            for (Rule r : c.rules()) {
                fresh.add(r.withCounters(Counters.zero()));
            }
            Chain z = c.withRules(RuleList.of(fresh));
            if (c.isBuiltin()) {
                z = z.withPolicy(c.policy(), Counters.zero());
            }
            t = t.with(z);
        }
        return t;
    }

    private static Table deleteChain(Command cmd, Table table, StringBuilder out) {
        if (cmd.chain() != null) {
            verboseNote(cmd, out, "Deleting", cmd.chain());
            Chain c = table.chain(cmd.chain());
            if (c == null) {
                throw noSuchChain();
            }
            if (c.isBuiltin()) {
                throw XtablesException.invalidArgument();
            }
            if (table.references(c.name()) > 0) {
                throw XtablesException.kernel("Too many links");
            }
            if (!c.rules().isEmpty()) {
                throw XtablesException.kernel("Directory not empty");
            }
            return table.withoutUserChain(c.name());
        }
        // Legacy tries every user chain in turn, keeps going after a failure and then reports the last
        // failure's errno; as the table is then not committed, nothing is deleted.
        Table t = table;
        XtablesException last = null;
        for (String name : table.userChains().keySet()) {
            Chain c = t.chain(name);
            verboseNote(cmd, out, "Deleting", name);
            if (t.references(name) > 0) {
                last = XtablesException.kernel("Too many links");
            } else if (!c.rules().isEmpty()) {
                last = XtablesException.kernel("Directory not empty");
            } else {
                t = t.withoutUserChain(name);
            }
        }
        if (last != null) {
            throw last;
        }
        return t;
    }

    private static Table setPolicy(Command cmd, Table table) {
        Chain c = table.chain(cmd.chain());
        if (c == null || !c.isBuiltin()) {
            throw XtablesException.kernel("Bad built-in chain name");
        }
        String p = cmd.policy();
        if (!p.equals("ACCEPT") && !p.equals("DROP")) {
            throw XtablesException.kernel("Bad policy name. Run `dmesg' for more information");
        }
        if (table.kind() == TableKind.NAT && p.equals("DROP")) {
            throw XtablesException.parameter(CommandLine.NAT_DROP);
        }
        Counters counters = cmd.counters() != null ? new Counters(cmd.counters()[0], cmd.counters()[1])
                : c.policyCounters();
        return table.with(c.withPolicy(p, counters));
    }

    private static Table rename(Command cmd, Table table) {
        Chain c = table.chain(cmd.chain());
        if (c == null || c.isBuiltin()) {
            throw noSuchChain();
        }
        String newName = cmd.newName();
        if (table.hasChain(newName) || Target.verdictOrNull(newName) != null) {
            throw XtablesException.kernel("File exists");
        }
        if (newName.length() >= 32) {
            throw XtablesException.invalidArgument();
        }
        // only the chains that jump to the old name change (the table's references name them), and in each
        // only those rules; a chain that jumped to itself is found under its new name
        List<String> referrers = table.referrers(c.name());
        Table t = table.withoutUserChain(c.name()).with(c.renamed(newName));
        for (String name : referrers) {
            Chain other = t.chain(name.equals(c.name()) ? newName : name);
            t = t.with(other.withRules(retargeted(other.rules(), c.name(), newName)));
        }
        return t;
    }

    /**
     * {@code rules} with each jump or goto to {@code from} made to {@code to}, counters kept: a rule replaced
     * in place when few change (the list remembers the edits), the list made anew when many do.
     */
    private static RuleList retargeted(RuleList rules, String from, String to) {
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i < rules.size(); i++) {
            if (from.equals(rules.get(i).jumpChain())) {
                at.add(i);
            }
        }
        if (at.size() <= 8) {
            RuleList out = rules;
            for (int i : at) {
                out = out.replacing(i, retargeted(rules.get(i), to));
            }
            return out;
        }
        List<Rule> all = new ArrayList<>(rules);
        for (int i : at) {
            all.set(i, retargeted(all.get(i), to));
        }
        return RuleList.of(all);
    }

    private static Rule retargeted(Rule r, String to) {
        Target.Jump j = (Target.Jump) r.target();
        return new Rule(new RuleSpec(r.ip(), r.spec().matches(), new Target.Jump(to, j.isGoto())), r.counters());
    }
}
