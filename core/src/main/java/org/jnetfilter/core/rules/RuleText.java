package org.jnetfilter.core.rules;

/**
 * The save form of a rule, as iptables-save and {@code iptables -S} print it (xshared.c save_rule /
 * print_rule4): {@code -s -d -i -o -p -f}, the matches in the order they were given, then the target.
 */
public final class RuleText {
    private RuleText() {
    }

    /** The rule after {@code -A CHAIN}, without a leading space: {@code "-p tcp -m tcp --dport 22 -j ACCEPT"}. */
    public static String save(RuleSpec spec) {
        StringBuilder sb = new StringBuilder(96);
        appendSave(sb, spec, null);
        return sb.length() > 0 && sb.charAt(0) == ' ' ? sb.substring(1) : sb.toString();
    }

    /**
     * The save text of {@code spec}, or {@code candidate} itself when it is exactly that text (a restore line
     * usually is): then nothing is allocated, the text having been written into this thread's scratch
     * builder and compared there. Parsing threads of a restore call this for every rule.
     */
    public static String save(RuleSpec spec, String candidate) {
        Scratch scratch = SCRATCH.get();
        StringBuilder sb = scratch.busy ? new StringBuilder(96) : scratch.sb;
        scratch.busy = true;
        try {
            sb.setLength(0);
            appendSave(sb, spec, null);
            if (sb.length() > 0 && sb.charAt(0) == ' ') {
                sb.deleteCharAt(0);
            }
            // compared as the builder's bytes in one vectorised mismatch, not char by char: a cold restore
            // compares 160k texts before the JIT has compiled a per-char loop
            if (candidate != null && candidate.contentEquals(sb)) {
                return candidate;
            }
            return sb.toString();
        } finally {
            scratch.busy = false;
            if (sb == scratch.sb && sb.capacity() > SCRATCH_KEEP) {
                scratch.sb = new StringBuilder(256);
            }
        }
    }

    /** A builder a thread writes save texts into; busy while in use (an extension's save never nests one). */
    private static final class Scratch {
        StringBuilder sb = new StringBuilder(256);
        boolean busy;
    }

    private static final int SCRATCH_KEEP = 1 << 16;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Appends " -s ... -j X", each part preceded by a space; {@code counters} non-null puts
     * {@code -c P B} before the target as {@code iptables -S -v} does.
     */
    public static void appendSave(StringBuilder sb, RuleSpec spec, Counters counters) {
        appendSave(sb, spec, counters, false);
    }

    /**
     * @param readBack quote interface names that iptables-restore would split (iptables-save prints
     *                 {@code -i eth 0} as it is; a state file must read back to the same rule)
     */
    public static void appendSave(StringBuilder sb, RuleSpec spec, Counters counters, boolean readBack) {
        IpSpec ip = spec.ip();
        appendAddress(sb, "-s", ip.src(), ip.inverted(IpSpec.INV_SRCIP));
        appendAddress(sb, "-d", ip.dst(), ip.inverted(IpSpec.INV_DSTIP));
        appendIface(sb, "-i", ip.inIface(), ip.inverted(IpSpec.INV_VIA_IN), readBack);
        appendIface(sb, "-o", ip.outIface(), ip.inverted(IpSpec.INV_VIA_OUT), readBack);
        if (ip.protocol() != 0 || ip.inverted(IpSpec.INV_PROTO)) {
            sb.append(ip.inverted(IpSpec.INV_PROTO) ? " ! -p " : " -p ").append(Protocols.saveName(ip.protocol()));
        }
        if (ip.fragment()) {
            sb.append(ip.inverted(IpSpec.INV_FRAG) ? " ! -f" : " -f");
        }
        for (Match m : spec.matches()) {
            sb.append(" -m ").append(m.saveName());
            m.data().save(sb, ip);
        }
        if (counters != null) {
            sb.append(" -c ").append(Long.toUnsignedString(counters.packets()))
                    .append(' ').append(Long.toUnsignedString(counters.bytes()));
        }
        switch (spec.target()) {
            case Target.None n -> {
            }
            case Target.Verdict v -> sb.append(" -j ").append(v.name());
            case Target.Jump j -> sb.append(j.isGoto() ? " -g " : " -j ").append(j.chain());
            case Target.Extension e -> {
                sb.append(" -j ").append(e.name());
                e.data().save(sb, ip);
            }
        }
    }

    private static void appendAddress(StringBuilder sb, String flag, IpNet net, boolean inverted) {
        if (net.isAny() && !inverted) {
            return;
        }
        sb.append(inverted ? " ! " : " ").append(flag).append(' ');
        net.appendSaveText(sb);
    }

    private static void appendIface(StringBuilder sb, String flag, String iface, boolean inverted,
                                    boolean readBack) {
        // "+" has an empty mask: the save form leaves it out unless it is negated
        if ((iface.isEmpty() || (iface.equals("+") && !readBack)) && !inverted) {
            return;
        }
        sb.append(inverted ? " ! " : " ").append(flag).append(' ');
        if (readBack && (iface.isEmpty() || iface.chars().anyMatch(c -> c <= ' ' || c == '"' || c == '\\'))) {
            sb.append('"');
            for (int i = 0; i < iface.length(); i++) {
                char c = iface.charAt(i);
                if (c == '"' || c == '\\') {
                    sb.append('\\');
                }
                sb.append(c);
            }
            sb.append('"');
        } else {
            sb.append(iface);
        }
    }
}
