package org.jnetfilter.iptables;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.HookReach;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;

/**
 * One table of a mapped snapshot, read in place: a command looks chains up in the directory through its
 * index and makes only the chains (and hook reach entries) it reaches; a chain's rules stay mapped bytes until
 * the command reads them. A Kubernetes node's nat table has 60k chains; one {@code -A} makes about 40.
 *
 * <pre>
 *   *TABLE  DIRECTORY-BYTES  SECTION-BYTES  CHAINS  MASKS      MASKS: "reach", "masks" or "-" (not known)
 *   directory   a line per chain, built-in chains in hook order, then user chains in name order:
 *               :NAME POLICY PKTS BYTES COUNT OFFSET LENGTH REACH CUT JUMPS...
 *               REACH: the hook bits; with MASKS "reach" then ":" and the jump edges carrying each hook
 *               into the chain, comma-separated (see HookReach)
 *   index       CHAINS big-endian 32-bit offsets of the directory lines, from the directory's start
 *   section     the chains' rule lines
 * </pre>
 *
 * A version-5 snapshot (header of three fields, masks without edges, no index) is read by finding the lines
 * once. Lookups may come from any thread (a published generation); the mapping is never written.
 */
final class ChainDirectory {
    static final String REACH = "reach";
    static final String MASKS = "masks";

    private final ByteBuffer map;
    private final int directoryStart;
    private final int directoryEnd;
    private final int sectionStart;
    private final int count;
    /** Where the index starts in the map; -1 when the lines were found by a scan ({@link #scanned}). */
    private final int indexAt;
    private final int[] scanned;
    private final String masksMode;
    private final RuleParsers parser;
    private final int builtins;

    private ChainDirectory(ByteBuffer map, int directoryStart, int directoryEnd, int sectionStart, int count,
                           int indexAt, int[] scanned, String masksMode, RuleParsers parser) {
        this.map = map;
        this.directoryStart = directoryStart;
        this.directoryEnd = directoryEnd;
        this.sectionStart = sectionStart;
        this.count = count;
        this.indexAt = indexAt;
        this.scanned = scanned;
        this.masksMode = masksMode;
        this.parser = parser;
        int b = 0;
        while (b < count && b < 8 && !fields(b)[1].equals("-")) {
            b++;
        }
        this.builtins = b;
    }

    /**
     * The table whose header fields are {@code h} (after the '*') and whose directory starts at {@code pos};
     * returns the position after its section.
     */
    static ChainDirectory read(ByteBuffer map, int pos, String[] h, RuleParsers parser) {
        int directoryLength = Integer.parseInt(h[1]);
        int sectionLength = Integer.parseInt(h[2]);
        int directoryEnd = pos + directoryLength;
        if (h.length >= 5) {
            int count = Integer.parseInt(h[3]);
            int section = directoryEnd + 4 * count;
            return new ChainDirectory(map, pos, directoryEnd, section, count, directoryEnd, null, h[4], parser)
                    .checkedEnd(section + sectionLength);
        }
        // version 5: the lines found once, masks without their edges
        int[] starts = new int[64];
        int n = 0;
        boolean masksKnown = true;
        for (int p = pos; p < directoryEnd; ) {
            if (n == starts.length) {
                starts = Arrays.copyOf(starts, n * 2);
            }
            starts[n++] = p;
            int eol = p;
            while (map.get(eol) != '\n') {
                eol++;
            }
            p = eol + 1;
        }
        ChainDirectory d = new ChainDirectory(map, pos, directoryEnd, directoryEnd, n, -1, Arrays.copyOf(starts, n),
                MASKS, parser);
        for (int i = 0; i < n && masksKnown; i++) {
            masksKnown = !d.fields(i)[7].equals("-");
        }
        return new ChainDirectory(map, pos, directoryEnd, directoryEnd, n, -1, d.scanned, masksKnown ? MASKS : "-",
                parser).checkedEnd(directoryEnd + sectionLength);
    }

    private int end;

    private ChainDirectory checkedEnd(int sectionEnd) {
        if (sectionEnd > map.limit()) {
            throw new IllegalStateException("state file: table section runs past the end of the file");
        }
        end = sectionEnd;
        return this;
    }

    /** The position after this table's section: the next table's header. */
    int end() {
        return end;
    }

    private int lineStart(int i) {
        return indexAt < 0 ? scanned[i] : directoryStart + map.getInt(indexAt + 4 * i);
    }

    /** Line {@code i} without its newline. */
    private String line(int i) {
        int from = lineStart(i);
        int to = (i + 1 < count ? lineStart(i + 1) : directoryEnd) - 1;
        byte[] b = new byte[to - from];
        map.get(from, b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private String[] fields(int i) {
        return StateFiles.directoryFields(line(i));
    }

    private String name(int i) {
        int from = lineStart(i) + 1;
        int to = from;
        while (map.get(to) != '\t') {
            to++;
        }
        byte[] b = new byte[to - from];
        map.get(from, b);
        return StateFiles.unescape(new String(b, StandardCharsets.UTF_8));
    }

    /** Line {@code i} as a chain whose rules are read from the section when first needed. */
    private Chain chain(int i) {
        String[] f = fields(i);
        // NAME POLICY PKTS BYTES COUNT OFFSET LENGTH REACH CUT JUMPS...
        int rules = Integer.parseInt(f[4]);
        int from = sectionStart + Integer.parseInt(f[5]);
        int to = from + Integer.parseInt(f[6]);
        RuleList list = RuleList.unread(rules, new StateFiles.UnreadChain(map, from, to, f[9], f[8].equals("1"), parser));
        if (f[1].equals("-")) {
            return new Chain(f[0], null, null, list);
        }
        return new Chain(f[0], f[1], new Counters(Long.parseUnsignedLong(f[2]), Long.parseUnsignedLong(f[3])), list);
    }

    /** Line {@code i}'s hook bits and edges per hook ({@link HookReach}'s entry). */
    private int[] reachEntry(int i) {
        String r = fields(i)[7];
        int[] e = new int[1 + HookReach.hooks()];
        int colon = r.indexOf(':');
        e[0] = Integer.parseInt(colon < 0 ? r : r.substring(0, colon));
        if (colon >= 0) {
            String[] s = r.substring(colon + 1).split(",");
            for (int h = 0; h < s.length && h < HookReach.hooks(); h++) {
                e[1 + h] = Integer.parseInt(s[h]);
            }
        }
        return e;
    }

    private int mask(int i) {
        String r = fields(i)[7];
        int colon = r.indexOf(':');
        return Integer.parseInt(colon < 0 ? r : r.substring(0, colon));
    }

    /** The table: built-in chains made now, user chains and reach entries when a command reaches them. */
    Table table(TableKind kind, Family family) {
        List<Chain> builtinChains = new ArrayList<>();
        for (int i = 0; i < builtins; i++) {
            builtinChains.add(chain(i));
        }
        Table t = Table.ofLazy(kind, family, builtinChains, count - builtins, i -> name(builtins + i),
                i -> chain(builtins + i));
        if (masksMode.equals(REACH)) {
            t.knowReach(reach());
        } else if (masksMode.equals(MASKS)) {
            // a version-5 snapshot: its masks read once (the next snapshot keeps the reach, read in place)
            Map<String, Integer> masks = new java.util.HashMap<>();
            for (int i = 0; i < count; i++) {
                int m = mask(i);
                if (m != 0) {
                    masks.put(name(i), m);
                }
            }
            t.knowHookMasks(masks);
        }
        return t;
    }

    /** The reach over all chains in name order: the built-in ones merged into the sorted user lines. */
    private HookReach reach() {
        int[] builtinLine = new int[builtins];
        String[] builtinName = new String[builtins];
        for (int i = 0; i < builtins; i++) {
            builtinLine[i] = i;
            builtinName[i] = name(i);
        }
        // sort the few built-in lines by name, and find each one's place among the user lines
        for (int i = 1; i < builtins; i++) {
            for (int k = i; k > 0 && builtinName[k - 1].compareTo(builtinName[k]) > 0; k--) {
                String n = builtinName[k];
                builtinName[k] = builtinName[k - 1];
                builtinName[k - 1] = n;
                int l = builtinLine[k];
                builtinLine[k] = builtinLine[k - 1];
                builtinLine[k - 1] = l;
            }
        }
        int[] mergedAt = new int[builtins];
        for (int k = 0; k < builtins; k++) {
            int lo = builtins;
            int hi = count;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (name(mid).compareTo(builtinName[k]) < 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            mergedAt[k] = (lo - builtins) + k;
        }
        java.util.function.IntUnaryOperator lineOf = i -> {
            int before = 0;
            for (int k = 0; k < builtins; k++) {
                if (mergedAt[k] == i) {
                    return builtinLine[k];
                }
                if (mergedAt[k] < i) {
                    before++;
                }
            }
            return builtins + i - before;
        };
        return HookReach.lazy(count, i -> name(lineOf.applyAsInt(i)), i -> reachEntry(lineOf.applyAsInt(i)));
    }
}
