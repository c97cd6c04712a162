package org.jnetfilter.iptables;

import java.util.List;
import org.jnetfilter.core.rules.RuleSpec;

/**
 * One parsed iptables command line.
 *
 * @param ruleNum 1-based rule number for -D/-R/-I/-L/-S/-Z with a number; 0 when none
 * @param rules   the rule(s) of -A/-C/-D/-I/-R: several when -s or -d name several addresses
 * @param counters the -c packet and byte counters, or null
 * @param argv     the whole command line, the source a rule is re-parsed from when its save form does
 *                 not read back
 * @param plainSource the rule's own words as written (a restore line after "-A CHAIN"), or null
 * @param warnings the lines parsing printed on stderr and went on (extension and libxtables warnings)
 */
record Command(CommandKind kind, String table, String chain, int ruleNum, String newName, String policy,
               List<RuleSpec> rules, long[] counters, int verbose, boolean numeric, boolean exact,
               boolean lineNumbers, int waitSeconds, boolean zeroAfterList, String[] argv, String plainSource,
               List<String> warnings) {

    /**
     * {@code plainSource} of a command whose rules jump to a chain named like a target extension (see
     * {@link CommandLine#chainOverExtension}): each rule reads back from its save text with every {@code -j}
     * taken as a chain.
     */
    static final String CHAIN_JUMPS = String.valueOf(org.jnetfilter.core.rules.Rule.CHAIN_JUMPS);

    /** The text rule {@code index} of this command reads back from (see RuleParsers). */
    String source(int index) {
        if (CHAIN_JUMPS.equals(plainSource)) {
            return CHAIN_JUMPS + org.jnetfilter.core.rules.RuleText.save(rules.get(index));
        }
        return plainSource != null && rules.size() == 1 ? plainSource : RuleParsers.argvSource(argv, index);
    }
}
