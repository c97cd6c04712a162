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
     * The extension's part of {@code iptables -h} / {@code ip6tables -h} (the help function of the
     * libxt_, libipt_ or libip6t_ module iptables 1.8.9 loads for this name and family), or null when
     * jnetfilter does not have it. Read from {@code help/matches/NAME.txt} or {@code help/targets/NAME.txt}
     * beside this class; {@code NAME.ipv6.txt} there holds ip6tables' text where it differs (REJECT, ah,
     * TCPMSS). The directories keep match and target apart: {@code dscp} and {@code DSCP} would share a
     * file on a case-insensitive file system.
     */
    public String help(Family family) {
        return helpText(name, family);
    }

    /** The help text stored for this kind of extension (match or target) named {@code extName}, or null. */
    protected final String helpText(String extName, Family family) {
        String dir = "help/" + (isTarget() ? "targets/" : "matches/");
        String text = family == Family.IPV6 ? resourceText(dir + extName + ".ipv6.txt") : null;
        return text != null ? text : resourceText(dir + extName + ".txt");
    }

    private static String resourceText(String path) {
        try (java.io.InputStream in = Extension.class.getResourceAsStream(path)) {
            return in == null ? null : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("help text " + path, e);
        }
    }

    /**
     * The line libxtables prints on stderr when it loads this extension, or null: its revision probe
     * finds no kernel module for an extension the kernel jnetfilter reproduces no longer has.
     */
    public String loadWarning() {
        return null;
    }

    /** Starts parsing one occurrence of this extension in a rule. */
    public abstract ExtensionParser newParser(ParseContext ctx);

    @Override
    public String toString() {
        return (isTarget() ? "target " : "match ") + name;
    }
}
