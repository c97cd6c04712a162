package org.jnetfilter.core.rules;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Protocol names and numbers as iptables resolves them: the system's /etc/protocols first (getprotobyname,
 * getprotobynumber), then xtables' own table {@code xtables_chain_protos}.
 */
public final class Protocols {
    public static final int TCP = 6;
    public static final int UDP = 17;
    public static final int ICMP = 1;
    public static final int ICMPV6 = 58;
    public static final int SCTP = 132;
    public static final int UDPLITE = 136;
    public static final int DCCP = 33;
    public static final int ESP = 50;
    public static final int AH = 51;
    public static final int GRE = 47;
    public static final int MH = 135;

    /** xtables.c xtables_chain_protos. */
    private static final List<Map.Entry<String, Integer>> XTABLES_PROTOS = List.of(
            Map.entry("tcp", TCP), Map.entry("sctp", SCTP), Map.entry("udp", UDP),
            Map.entry("udplite", UDPLITE), Map.entry("icmp", ICMP), Map.entry("icmpv6", ICMPV6),
            Map.entry("ipv6-icmp", ICMPV6), Map.entry("esp", ESP), Map.entry("ah", AH),
            Map.entry("ipv6-mh", MH), Map.entry("mh", MH), Map.entry("all", 0));

    private static final Map<String, Integer> NUMBER_BY_NAME = new HashMap<>();
    private static final Map<Integer, String> NAME_BY_NUMBER = new HashMap<>();

    static {
        Path file = Path.of("/etc/protocols");
        List<String> lines = List.of();
        try {
            if (Files.isReadable(file)) {
                lines = Files.readAllLines(file);
            }
        } catch (IOException e) {
            lines = List.of();
        }
        for (String line : lines) {
            int hash = line.indexOf('#');
            String body = hash >= 0 ? line.substring(0, hash) : line;
            String[] f = body.trim().split("\\s+");
            if (f.length < 2) {
                continue;
            }
            int number;
            try {
                number = Integer.parseInt(f[1]);
            } catch (NumberFormatException e) {
                continue;
            }
            NAME_BY_NUMBER.putIfAbsent(number, f[0]);
            NUMBER_BY_NAME.putIfAbsent(f[0], number);
            for (int i = 2; i < f.length; i++) {
                NUMBER_BY_NAME.putIfAbsent(f[i], number);
            }
        }
        if (NAME_BY_NUMBER.isEmpty()) {
            for (Map.Entry<String, Integer> e : XTABLES_PROTOS) {
                NAME_BY_NUMBER.putIfAbsent(e.getValue(), e.getKey());
            }
            NAME_BY_NUMBER.put(GRE, "gre");
            NAME_BY_NUMBER.put(ICMPV6, "ipv6-icmp");
        }
    }

    private Protocols() {
    }

    /** xtables_parse_protocol: a number 0-255, a name, "all"; empty when unknown. */
    public static OptionalInt parse(String s) {
        try {
            if (!s.isEmpty() && Character.isDigit(s.charAt(0))) {
                long v = Long.parseLong(s);
                return v >= 0 && v <= 255 ? OptionalInt.of((int) v) : OptionalInt.empty();
            }
        } catch (NumberFormatException e) {
            return OptionalInt.empty();
        }
        if (s.equals("all")) {
            return OptionalInt.of(0);
        }
        Integer n = NUMBER_BY_NAME.get(s);
        if (n != null) {
            return OptionalInt.of(n);
        }
        String lower = s.toLowerCase(Locale.ROOT);
        for (Map.Entry<String, Integer> e : XTABLES_PROTOS) {
            if (e.getKey().equals(lower)) {
                return OptionalInt.of(e.getValue());
            }
        }
        return OptionalInt.empty();
    }

    /** The name iptables-save prints after -p (a number when it has no name). */
    public static String saveName(int protocol) {
        String n = name(protocol);
        return n != null ? n : Integer.toString(protocol);
    }

    /** The name for a number, or null: getprotobynumber, then xtables' table. */
    public static String name(int protocol) {
        if (protocol == 0) {
            return "all";
        }
        String n = NAME_BY_NUMBER.get(protocol);
        if (n != null) {
            return n;
        }
        for (Map.Entry<String, Integer> e : XTABLES_PROTOS) {
            if (e.getValue() == protocol) {
                return e.getKey();
            }
        }
        return null;
    }

    /** The name of the match extension that `-p NAME` loads implicitly, for protocols that have one. */
    public static String implicitMatchName(int protocol) {
        for (Map.Entry<String, Integer> e : XTABLES_PROTOS) {
            if (e.getValue() == protocol && protocol != 0) {
                return e.getKey();
            }
        }
        return null;
    }
}
