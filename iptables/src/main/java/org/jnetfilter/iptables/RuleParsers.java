package org.jnetfilter.iptables;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.RuleParser;
import org.jnetfilter.core.rules.RuleSpec;
import org.jnetfilter.core.rules.RuleText;

/**
 * Parses rules kept as text (state files) back into specs, with the same command-line parser as
 * everything else. A source beginning with {@link #ARGV} is a whole iptables command line (words
 * separated by that character, the first being the index of the rule among those the command made),
 * for the rare rule whose save form does not read back to itself.
 */
final class RuleParsers implements RuleParser {
    static final char ARGV = '\u0001';

    private final Family family;
    private final String table;
    private final Extensions extensions;

    RuleParsers(Family family, String table, Extensions extensions) {
        this.family = family;
        this.table = table;
        this.extensions = extensions;
    }

    @Override
    public RuleSpec parse(String text) {
        if (!text.isEmpty() && text.charAt(0) == ARGV) {
            String[] f = text.substring(1).split(String.valueOf(ARGV), -1);
            int index = Integer.parseInt(f[0]);
            String[] argv = new String[f.length - 1];
            System.arraycopy(f, 1, argv, 0, argv.length);
            return new CommandLine(family, extensions, argv, false, null).parse().rules().get(index);
        }
        // a rule that jumps to a chain named like a target: its text with every -j taken as a chain
        boolean chainJumps = !text.isEmpty() && text.charAt(0) == org.jnetfilter.core.rules.Rule.CHAIN_JUMPS;
        java.util.function.Predicate<String> notTargets = chainJumps ? name -> true : name -> false;
        List<String> words = Restore.tokenize(chainJumps ? text.substring(1) : text, 0);
        RuleSpec direct = DirectRuleParser.parse(family, extensions, table, words, 0, notTargets);
        if (direct != null) {
            return direct;
        }
        List<String> argv = new ArrayList<>(List.of(family.program(), "-t", table, "-A", "X"));
        argv.addAll(words);
        return new CommandLine(family, extensions, argv.toArray(new String[0]), true, table).notTargets(notTargets)
                .parse().rules().get(0);
    }

    @Override
    public boolean isTargetExtension(String name) {
        return extensions.target(name, family) != null;
    }

    /** The source to record for rule {@code index} of a command line. */
    static String argvSource(String[] argv, int index) {
        StringBuilder sb = new StringBuilder().append(ARGV).append(index);
        for (String w : argv) {
            sb.append(ARGV).append(w);
        }
        return sb.toString();
    }

    /** Whether the save text of {@code spec} parses back to it (else the state must keep a source). */
    boolean readsBack(RuleSpec spec, String text) {
        try {
            RuleSpec back = parse(text);
            return back.equals(spec) && RuleText.save(back).equals(text);
        } catch (RuntimeException e) {
            return false;
        }
    }
}
