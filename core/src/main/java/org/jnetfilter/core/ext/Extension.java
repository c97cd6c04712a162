package org.jnetfilter.core.ext;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.jnetfilter.core.rules.Family;

/**
 * A match ({@code -m name}, lower-case) or a target ({@code -j NAME}, upper-case), as an xtables
 * extension module: its option table, its parser, and through the parsed data its save and list forms.
 * One class per extension; instances are stateless and shared.
 */
public abstract class Extension {
    private final String name;
    private final Set<Family> families;
    private final List<OptionSpec> options;

    protected Extension(String name, Set<Family> families, List<OptionSpec> options) {
        this.name = name;
        this.families = Set.copyOf(families);
        this.options = List.copyOf(options);
    }

    protected Extension(String name, List<OptionSpec> options) {
        this(name, EnumSet.allOf(Family.class), options);
    }

    public final String name() {
        return name;
    }

    public final Set<Family> families() {
        return families;
    }

    /** The long options, in the order getopt_long sees them (it matters for abbreviations). */
    public final List<OptionSpec> options() {
        return options;
    }

    public final boolean isTarget() {
        return this instanceof TargetExtension;
    }

    /**
     * The extension's part of {@code iptables -h} (libxt_*'s help function), or null when jnetfilter does
     * not have it; read from {@code help/NAME.txt} beside this class.
     */
    public String help() {
        return helpText(name);
    }

    /** The help text stored for extension {@code extName}, or null. */
    protected static String helpText(String extName) {
        try (java.io.InputStream in = Extension.class.getResourceAsStream("help/" + extName + ".txt")) {
            return in == null ? null : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** Starts parsing one occurrence of this extension in a rule. */
    public abstract ExtensionParser newParser(ParseContext ctx);

    @Override
    public String toString() {
        return (isTarget() ? "target " : "match ") + name;
    }
}
