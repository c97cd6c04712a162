package org.jnetfilter.core.host;

import java.util.ArrayList;
import java.util.List;

/**
 * The passive OS fingerprints the osf match compares TCP SYNs with: what {@code nfnl_osf -f pf.os} loads into the
 * kernel (nfnetlink_osf's {@code nf_osf_fingers}, one list per value of the DF bit, in load order; one list for the
 * whole machine in Linux, here per {@link Host}). Empty until loaded, as on every Linux host.
 *
 * <p>The file format is OpenBSD's pf.os, read as iptables 1.8's nfnl_osf reads it: {@code #} and empty lines are
 * skipped; other lines have nine fields separated by {@code :} (blanks after a {@code :} skipped)
 * <pre>
 *   window : ttl : df : size : options : genre : version : subtype : description
 *   S4 (4 x MSS)  T4 (4 x MTU)  %8192 (a multiple)  1024 (that window)  * (any)
 *   options: M (MSS, 4 bytes) N (NOP, 1) S (SACK permitted, 2) T (timestamp, 10) W (window scale, 3) E (end, 1),
 *            separated by commas, values after the letter ignored; "." for none
 *   genre: a leading @ or * dropped; genre, version and subtype cut to 31 characters
 * </pre>
 * A line without exactly eight colons ends the load with an error (nfnl_osf stops there; the lines before it stay
 * loaded). Loading a fingerprint already present leaves one copy; {@code -d} removes each listed one.
 *
 * <p>Immutable: loading returns a new database. Any thread.
 */
public final class OsfFingerprints {
    /** nfnetlink_osf's window kinds (OSF_WSS_*). */
    public static final int WSS_PLAIN = 0;
    public static final int WSS_MSS = 1;
    public static final int WSS_MTU = 2;
    public static final int WSS_MODULO = 3;
    // Linux: MAXGENRELEN 32, MAX_IPOPTLEN 40
    static final int MAX_NAME = 31;
    static final int MAX_OPTIONS = 40;

    /** A TCP option of a fingerprint: its kind and the length the match steps over. */
    public record Option(int kind, int length) {
    }

    /** One fingerprint (struct nf_osf_user_finger). */
    public record Fingerprint(int windowKind, long window, int ttl, boolean df, int size, List<Option> options,
            String genre, String version, String subtype) {
        /** The bytes of TCP options the fingerprint expects. */
        public int optionsLength() {
            int n = 0;
            for (Option o : options) {
                n += o.length();
            }
            return n;
        }
    }

    public static final OsfFingerprints EMPTY = new OsfFingerprints(List.of());

    private final List<Fingerprint> fingerprints;
    private final List<Fingerprint> withDf;
    private final List<Fingerprint> withoutDf;

    private OsfFingerprints(List<Fingerprint> fingerprints) {
        this.fingerprints = List.copyOf(fingerprints);
        this.withDf = fingerprints.stream().filter(Fingerprint::df).toList();
        this.withoutDf = fingerprints.stream().filter(f -> !f.df()).toList();
    }

    /** Every fingerprint in load order. */
    public List<Fingerprint> all() {
        return fingerprints;
    }

    /** The fingerprints for packets with DF set or not (nf_osf_fingers[df]), in load order. */
    public List<Fingerprint> withDf(boolean df) {
        return df ? withDf : withoutDf;
    }

    /**
     * {@code nfnl_osf -f FILE} ({@code remove}: {@code -d}) with the file's {@code text}: the new database.
     *
     * @throws IllegalArgumentException for a line nfnl_osf refuses, naming it (nothing is loaded then)
     */
    public OsfFingerprints load(String text, boolean remove) {
        List<Fingerprint> out = new ArrayList<>(fingerprints);
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty() || line.charAt(0) == '#' || line.charAt(0) == '\r') {
                continue;
            }
            Fingerprint f = parse(line, i + 1);
            if (remove) {
                out.remove(f);
            } else if (!out.contains(f)) {
                out.add(f);
            }
        }
        return new OsfFingerprints(out);
    }

    /** osf_load_line: one pf.os line. */
    static Fingerprint parse(String line, int number) {
        String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
        int colons = 0;
        for (int i = 0; i < l.length(); i++) {
            if (l.charAt(i) == ':') {
                colons++;
            }
        }
        if (colons != 8) {
            throw new IllegalArgumentException("nfnl_osf: wrong input line " + number + " '" + l + "': " + colons
                    + " fields separators, must be 8");
        }
        String[] f = new String[9];
        int at = 0;
        for (int i = 0; i < 9; i++) {
            int end = i < 8 ? l.indexOf(':', at) : l.length();
            f[i] = l.substring(at, end);
            at = end + 1;
            // Linux (nfnl_osf): blanks after a separator are skipped
            while (i < 8 && at < l.length() && Character.isWhitespace(l.charAt(at))) {
                at++;
            }
        }
        int windowKind = WSS_PLAIN;
        long window = 0;
        String w = f[0];
        if (w.startsWith("S") || w.startsWith("T")) {
            windowKind = w.charAt(0) == 'S' ? WSS_MSS : WSS_MTU;
            window = w.length() > 1 && w.charAt(1) == '%' ? number(w.substring(2))
                    : w.length() > 1 && w.charAt(1) == '*' ? 0 : number(w.substring(1));
        } else if (w.startsWith("%")) {
            windowKind = WSS_MODULO;
            window = number(w.substring(1));
        } else if (!w.isEmpty() && Character.isDigit(w.charAt(0))) {
            window = number(w);
        }
        String genre = f[5].startsWith("@") || f[5].startsWith("*") ? f[5].substring(1) : f[5];
        return new Fingerprint(windowKind, window, (int) (number(f[1]) & 0xFF), (number(f[2]) & 0xFF) != 0,
                (int) (number(f[3]) & 0xFFFF), options(f[4]), cut(genre), cut(f[6]), cut(f[7]));
    }

    /** xt_osf_parse_opt: the option letters, each up to a comma; unknown ones skipped. */
    static List<Option> options(String text) {
        List<Option> out = new ArrayList<>();
        for (String part : (text + ",").split(",")) {
            if (part.isEmpty() || out.size() == MAX_OPTIONS) {
                continue;
            }
            Option o = switch (part.charAt(0)) {
                case 'E' -> new Option(0, 1);
                case 'N' -> new Option(1, 1);
                case 'M' -> new Option(2, 4);
                case 'W' -> new Option(3, 3);
                case 'S' -> new Option(4, 2);
                case 'T' -> new Option(8, 10);
                default -> null;
            };
            if (o != null) {
                out.add(o);
            }
        }
        return List.copyOf(out);
    }

    /** strtoul as nfnl_osf calls it: the leading digits, 0 without any. */
    static long number(String s) {
        int i = 0;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        long v = 0;
        for (; i < s.length() && Character.isDigit(s.charAt(i)); i++) {
            v = v * 10 + (s.charAt(i) - '0');
            if (v > 0xFFFFFFFFL) {
                v = 0xFFFFFFFFL;
            }
        }
        return v;
    }

    private static String cut(String s) {
        return s.length() > MAX_NAME ? s.substring(0, MAX_NAME) : s;
    }
}
