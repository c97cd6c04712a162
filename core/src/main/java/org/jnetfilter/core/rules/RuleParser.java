package org.jnetfilter.core.rules;

/**
 * Turns the save form of a rule (what follows {@code -A CHAIN}) back into its spec; bound to a family and
 * a table. Rules loaded from a state file keep their text and are parsed only when something needs more
 * than the text (a listing, a packet, a table check).
 */
public interface RuleParser {
    RuleSpec parse(String saveText);

    /** Whether {@code -j name} names a target extension (else it is a chain). */
    boolean isTargetExtension(String name);
}
