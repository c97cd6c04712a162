package org.jnetfilter.iptables;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.jnetfilter.core.ext.Extensions;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Counters;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.HookReach;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.RuleList;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;

/**
 * The on-disk form of one family's rules: a snapshot and a journal of the transactions since it.
 *
 * <pre>
 *   snapshot ("ipv4.rules")                 journal ("ipv4.journal"), appended per transaction
 *   jnf-state 6 GENERATION                  GENERATION  T  table                 (table now exists)
 *   *TABLE ... (see ChainDirectory)         GENERATION  N  table chain           (new user chain)
 *   directory: a line per chain             GENERATION  X  table chain           (chain deleted)
 *   index: each line's offset               GENERATION  P  table chain policy pkts bytes
 *   section: PKTS BYTES TEXT [SOURCE]       GENERATION  E  table chain at removed   then the inserted rules:
 *     per rule, chain after chain           GENERATION  +  pkts bytes text [source]
 *                                           GENERATION  R  table                 (hook masks listed anew)
 *                                           GENERATION  U  table                 (hook masks not known)
 *                                           GENERATION  M  table chain mask [edges per hook...]
 *                                           GENERATION  J  table chain cut jumps... (after E lines)
 *                                           COMMIT GENERATION CRC32-of-the-record's-lines
 * </pre>
 *
 * A command maps the snapshot and makes only the chains it reaches ({@link ChainDirectory}); the journal is
 * replayed over them. "M" lines with the edges per hook keep the table's {@link HookReach}, so the next
 * command's table checks cost its change; a change the reach update does not follow writes a snapshot.
 *
 * Fields are tab-separated, with backslash, tab and newline escaped. Rules are kept as their save text and
 * parsed only when needed (see {@link Rule#lazy}), so loading 160k rules is reading lines, not parsing
 * iptables. A transaction appends one journal record and forces it to disk: a crash leaves a torn record,
 * which the loader ignores (and the next writer cuts off). When the journal has grown past a quarter of the
 * snapshot the next transaction writes a new snapshot (temporary file, forced, renamed) and empties the
 * journal; records at or below the snapshot's generation are skipped, so a crash between the two is safe.
 */
final class StateFiles {
    private static final String MAGIC = "jnf-state 6 ";
    /** The previous version: no directory index, masks without their edges (read, never written). */
    private static final String MAGIC_5 = "jnf-state 5 ";
    static final long MIN_COMPACT_BYTES = 256 * 1024;

    private final Path snapshot;
    private final Path journal;
    private final Family family;
    private final Extensions extensions;
    private final Map<String, RuleParsers> parserByTable = new HashMap<>();

    /** Tables whose hook masks the state did not have when it was loaded. */
    private final java.util.Set<TableKind> unknownMasksAtLoad = java.util.EnumSet.noneOf(TableKind.class);

    /** What was loaded: the generation, and where the valid journal ends. */
    private Ruleset loaded;
    private long journalValidLength;
    private long snapshotLength;

    private final long compactFromBytes;

    StateFiles(Path dir, Family family, Extensions extensions, long compactFromBytes) {
        this.compactFromBytes = compactFromBytes;
        this.family = family;
        this.extensions = extensions;
        String base = family == Family.IPV4 ? "ipv4" : "ipv6";
        this.snapshot = dir.resolve(base + ".rules");
        this.journal = dir.resolve(base + ".journal");
    }

    RuleParsers parser(String table) {
        return parserByTable.computeIfAbsent(table, t -> new RuleParsers(family, t, extensions));
    }

    // ---- loading

    Ruleset load() throws IOException {
        Ruleset rs = Ruleset.empty(family);
        long snapGen = 0;
        snapshotLength = 0;
        if (Files.exists(snapshot)) {
            ByteBuffer map;
            try (FileChannel ch = FileChannel.open(snapshot, StandardOpenOption.READ)) {
                // mapped, not read: a command pages in the chain directories and the chains it touches;
                // the mapping outlives the channel and a later rename of a new snapshot over the file
                map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            }
            snapshotLength = map.limit();
            int[] pos = {0};
            String header = line(map, pos);
            if (header == null || !(header.startsWith(MAGIC) || header.startsWith(MAGIC_5))) {
                throw new IllegalStateException("state file " + snapshot + " is not a jnetfilter state (no '" + MAGIC + "')");
            }
            snapGen = Long.parseLong(header.substring(MAGIC.length()));
            rs = readSnapshot(map, pos).withGeneration(snapGen);
        }
        journalValidLength = 0;
        long t0 = System.nanoTime();
        if (Files.exists(journal)) {
            rs = replay(rs, Files.readString(journal, StandardCharsets.UTF_8), snapGen);
        }
        if (Boolean.getBoolean("jnf.timing")) {
            System.err.printf("jnf timing: journal replay %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        }
        loaded = rs;
        unknownMasksAtLoad.clear();
        for (Table t : rs.tables()) {
            if (t.knownHookMasks() == null) {
                unknownMasksAtLoad.add(t.kind());
            }
        }
        return rs;
    }

    /** The next line of {@code map} from {@code pos[0]} (UTF-8, without its newline), or null at the end. */
    private static String line(ByteBuffer map, int[] pos) {
        int start = pos[0];
        int limit = map.limit();
        if (start >= limit) {
            return null;
        }
        int i = start;
        boolean ascii = true;
        while (i < limit) {
            byte b = map.get(i);
            if (b == '\n') {
                break;
            }
            ascii &= b >= 0;
            i++;
        }
        pos[0] = i + 1;
        byte[] bytes = new byte[i - start];
        map.get(start, bytes);
        return new String(bytes, ascii ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
    }

    /**
     * Reads each table's header only; the chains are looked up in the mapped directory when a command reaches
     * them (see {@link ChainDirectory}), and their rules stay unread bytes until needed (RuleList.unread), so a
     * command on a 160k-rule state makes what it touches.
     */
    private Ruleset readSnapshot(ByteBuffer map, int[] pos) {
        Ruleset rs = Ruleset.empty(family);
        String line;
        while ((line = line(map, pos)) != null) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.charAt(0) != '*') {
                throw new IllegalStateException("state file " + snapshot + ": expected a table, got: " + line);
            }
            // "*TABLE DIRECTORY-BYTES SECTION-BYTES [CHAINS MASKS]"
            String[] h = line.substring(1).split("\t");
            TableKind kind = TableKind.byName(h[0]).orElseThrow();
            ChainDirectory d = ChainDirectory.read(map, pos[0], h, parser(kind.tableName()));
            pos[0] = d.end();
            rs = rs.with(d.table(kind, family));
        }
        return rs;
    }

    /** A directory line ":NAME\tPOLICY\t...\tCUT\tJUMPS..." as 9 fields and the jumps left as text. */
    static String[] directoryFields(String d) {
        String[] f = new String[10];
        int pos = 1;
        for (int i = 0; i < 9; i++) {
            int tab = d.indexOf('\t', pos);
            f[i] = tab < 0 ? d.substring(pos) : d.substring(pos, tab);
            pos = tab < 0 ? d.length() : tab + 1;
        }
        f[0] = unescape(f[0]);
        f[9] = pos >= d.length() ? "" : d.substring(pos);
        return f;
    }

    private static long counter(String s, int from, int to) {
        if (to - from == 1 && s.charAt(from) == '0') {
            return 0;
        }
        return Long.parseUnsignedLong(s, from, to, 10);
    }

    /** One chain's lines in a snapshot, read into rules when first needed. */
    static final class UnreadChain implements RuleList.Unread {
        private final ByteBuffer map;
        private final int from;
        private final int to;
        /** The jump targets as the directory has them: tab-separated, split when first asked for. */
        private final String jumpsText;
        private String[] jumps;
        private final boolean cut;
        private final RuleParsers parser;

        UnreadChain(ByteBuffer map, int from, int to, String jumpsText, boolean cut, RuleParsers parser) {
            this.map = map;
            this.from = from;
            this.to = to;
            this.jumpsText = jumpsText;
            this.cut = cut;
            this.parser = parser;
        }

        @Override
        public boolean cut() {
            return cut;
        }

        @Override
        public Rule[] read() {
            List<Rule> rules = new ArrayList<>();
            byte[] bytes = new byte[to - from];
            map.get(from, bytes);
            String all = new String(bytes, StandardCharsets.UTF_8);
            for (int p = 0; p < all.length(); ) {
                int eol = all.indexOf('\n', p);
                String l = all.substring(p, eol);
                p = eol + 1;
                int t1 = l.indexOf('\t');
                int t2 = l.indexOf('\t', t1 + 1);
                int t3 = l.indexOf('\t', t2 + 1);
                String text = unescape(t3 < 0 ? l.substring(t2 + 1) : l.substring(t2 + 1, t3));
                String source = t3 < 0 ? null : unescape(l.substring(t3 + 1));
                Counters counters = new Counters(counter(l, 0, t1), counter(l, t1 + 1, t2));
                rules.add(Rule.lazy(text, source, counters, parser));
            }
            return rules.toArray(new Rule[0]);
        }

        @Override
        public synchronized String[] jumps() {
            if (jumps == null) {
                jumps = jumpsText.isEmpty() ? new String[0] : fields(jumpsText);
            }
            return jumps;
        }

        @Override
        public ByteBuffer raw() {
            return map.slice(from, to - from);
        }
    }

    /** A rule from fields {@code pkts bytes [chain] text [source]} starting at {@code from} = 0 (with chain). */
    private Rule rule(String table, String[] f, int shift) {
        int textAt = shift == 0 ? 3 : 2;
        Counters counters = new Counters(Long.parseUnsignedLong(f[0]), Long.parseUnsignedLong(f[1]));
        String source = f.length > textAt + 1 ? f[textAt + 1] : null;
        return Rule.lazy(f[textAt], source, counters, parser(table));
    }

    private Ruleset replay(Ruleset start, String text, long snapGen) {
        Ruleset rs = start;
        int pos = 0;
        int n = text.length();
        List<String> record = new ArrayList<>();
        while (pos < n) {
            int eol = text.indexOf('\n', pos);
            if (eol < 0) {
                break;
            }
            String line = text.substring(pos, eol);
            pos = eol + 1;
            if (line.startsWith("COMMIT\t")) {
                String[] f = line.split("\t");
                CRC32 crc = new CRC32();
                for (String l : record) {
                    crc.update(l.getBytes(StandardCharsets.UTF_8));
                    crc.update('\n');
                }
                if (f.length != 3 || Long.parseLong(f[2]) != crc.getValue()) {
                    break;
                }
                long gen = Long.parseLong(f[1]);
                if (gen > snapGen) {
                    rs = apply(rs, record).withGeneration(gen);
                }
                record.clear();
                journalValidLength = text.substring(0, pos).getBytes(StandardCharsets.UTF_8).length;
            } else {
                record.add(line);
            }
        }
        return rs;
    }

    /**
     * Applies one record. Hook masks: "M" lines with the chain's edges per hook update the table's reach (an
     * edit of the reach it had, or of an empty one after "R"); "M" lines without them update its masks; a
     * table the record changes without an "M" line keeps what it had.
     */
    private Ruleset apply(Ruleset rs, List<String> record) {
        Ruleset out = rs;
        Map<TableKind, Map<String, Integer>> masks = new HashMap<>();
        Map<TableKind, HookReach.Editor> reachByKind = new HashMap<>();
        java.util.Set<TableKind> unknown = new java.util.HashSet<>();
        java.util.Set<TableKind> reset = new java.util.HashSet<>();
        for (int i = 0; i < record.size(); i++) {
            String[] f = fields(record.get(i));
            TableKind kind = TableKind.byName(f[2]).orElseThrow();
            Table t = out.tableOrInitial(kind);
            switch (f[1]) {
                case "T" -> {
                }
                case "U" -> {
                    unknown.add(kind);
                    masks.remove(kind);
                    reachByKind.remove(kind);
                }
                case "R" -> {
                    unknown.remove(kind);
                    reset.add(kind);
                    masks.put(kind, new HashMap<>());
                    reachByKind.put(kind, HookReach.empty().edit());
                }
                case "M" -> {
                    if (unknown.contains(kind)) {
                        break;
                    }
                    if (f.length > 5) {
                        HookReach.Editor ed = reachByKind.computeIfAbsent(kind, k -> {
                            HookReach known = rs.table(k) == null ? null : rs.table(k).knownReach();
                            return known == null ? null : known.edit();
                        });
                        if (ed != null) {
                            setEntry(ed, f[3], f);
                        }
                    } else {
                        // masks alone: the reach is no longer known
                        reachByKind.remove(kind);
                        reset.remove(kind);
                    }
                    Map<String, Integer> m = masks.computeIfAbsent(kind, k -> {
                        Map<String, Integer> known = rs.table(k) == null ? null : rs.table(k).knownHookMasks();
                        if (known == null) {
                            unknown.add(k);
                        }
                        return known == null ? new HashMap<>() : new MaskOverlay(known);
                    });
                    int v = Integer.parseInt(f[4]);
                    if (v == 0) {
                        m.remove(f[3]);
                    } else {
                        m.put(f[3], v);
                    }
                }
                case "N" -> t = t.with(Chain.user(f[3]));
                case "X" -> t = t.withoutUserChain(f[3]);
                case "P" -> t = t.with(t.chain(f[3]).withPolicy(f[4], new Counters(Long.parseUnsignedLong(f[5]),
                        Long.parseUnsignedLong(f[6]))));
                case "E" -> {
                    Chain c = t.chain(f[3]);
                    int at = Integer.parseInt(f[4]);
                    int removed = Integer.parseInt(f[5]);
                    List<Rule> inserted = new ArrayList<>();
                    while (i + 1 < record.size() && record.get(i + 1).startsWith(f[0] + "\t+\t")) {
                        String[] r = fields(record.get(++i));
                        inserted.add(rule(kind.tableName(), java.util.Arrays.copyOfRange(r, 2, r.length), 1));
                    }
                    String[] jumps = c.rules().isRead() ? null : jumpsAfter(record, i, f[0], f[2], f[3]);
                    t = t.with(c.withRules(jumps == null ? splice(c.rules(), at, removed, inserted)
                            : RuleList.unread(c.rules().size() - removed + inserted.size(),
                                    new EditedUnread(c.rules(), at, removed, inserted, jumps))));
                }
                case "J" -> {
                    // read with its chain's "E" lines
                }
                default -> throw new IllegalStateException("journal " + journal + ": unknown op " + f[1]);
            }
            out = out.with(t);
        }
        for (Table t : out.tables()) {
            TableKind k = t.kind();
            Table before = rs.table(k);
            HookReach.Editor ed = reachByKind.get(k);
            Map<String, Integer> m = masks.get(k);
            if (unknown.contains(k)) {
                continue;
            }
            if (ed != null) {
                t.knowReach(ed.done());
            } else if (m != null) {
                t.knowHookMasks(m);
            } else if (before != null && t != before) {
                // the record changed the table but not its masks
                if (before.knownReach() != null) {
                    t.knowReach(before.knownReach());
                } else if (before.knownHookMasks() != null) {
                    t.knowHookMasks(before.knownHookMasks());
                }
            }
        }
        return out;
    }

    /** Sets {@code chain}'s reach entry to the mask and edge counts of an "M" line's fields. */
    private static void setEntry(HookReach.Editor ed, String chain, String[] f) {
        for (int h = 0; h < HookReach.hooks(); h++) {
            int want = Integer.parseInt(f[5 + h]);
            int delta = want - ed.support(chain, h);
            if (delta != 0) {
                ed.addSupport(chain, 1 << h, delta);
            }
        }
        ed.setMask(chain, Integer.parseInt(f[4]));
    }

    /**
     * Masks changed over a base left as it is (a loaded table's masks are looked up in the mapped directory):
     * a record's few changes cost themselves, not a copy of every chain's mask.
     */
    static final class MaskOverlay extends java.util.AbstractMap<String, Integer> {
        private final Map<String, Integer> base;
        private final Map<String, Integer> changed = new HashMap<>();

        MaskOverlay(Map<String, Integer> base) {
            this.base = base;
        }

        @Override
        public Integer get(Object key) {
            if (changed.containsKey(key)) {
                return changed.get(key);
            }
            return base.get(key);
        }

        @Override
        public boolean containsKey(Object key) {
            return get(key) != null;
        }

        @Override
        public Integer put(String key, Integer value) {
            Integer was = get(key);
            changed.put(key, value);
            return was;
        }

        @Override
        public Integer remove(Object key) {
            Integer was = get(key);
            if (was != null) {
                changed.put((String) key, null);
            }
            return was;
        }

        @Override
        public java.util.Set<Map.Entry<String, Integer>> entrySet() {
            Map<String, Integer> all = new HashMap<>(base);
            for (Map.Entry<String, Integer> e : changed.entrySet()) {
                if (e.getValue() == null) {
                    all.remove(e.getKey());
                } else {
                    all.put(e.getKey(), e.getValue());
                }
            }
            return java.util.Collections.unmodifiableMap(all).entrySet();
        }
    }

    /**
     * The "J" line of the chain whose "E" line is at {@code i} (after its chain's other "E" and "+" lines): the
     * chain's cut, then its jump targets, after the record; null when the record has none.
     */
    private static String[] jumpsAfter(List<String> record, int i, String gen, String table, String chain) {
        String prefix = gen + "\tJ\t" + table + "\t" + escape(chain) + "\t";
        String edits = gen + "\tE\t" + table + "\t" + escape(chain) + "\t";
        for (int k = i + 1; k < record.size(); k++) {
            String l = record.get(k);
            if (l.startsWith(prefix)) {
                String[] f = fields(l);
                return java.util.Arrays.copyOfRange(f, 4, f.length);
            }
            if (!l.startsWith(edits) && !l.startsWith(gen + "\t+\t")) {
                return null;
            }
        }
        return null;
    }

    /**
     * A chain of the snapshot not read yet, with a journal record's edit over it: replaying a {@code -D} of one
     * rule of a 20k-rule chain leaves the chain unread for the next command (which may only append to it), its
     * jump targets and cut as the record's "J" line has them; read, and the edit made, when first needed.
     */
    static final class EditedUnread implements RuleList.Unread {
        private final RuleList base;
        private final int at;
        private final int removed;
        private final List<Rule> inserted;
        private final String[] jumps;
        private final boolean cut;

        /** {@code jumpLine}: the cut ("1" or "0") and the jump targets. */
        EditedUnread(RuleList base, int at, int removed, List<Rule> inserted, String[] jumpLine) {
            this.base = base;
            this.at = at;
            this.removed = removed;
            this.inserted = List.copyOf(inserted);
            this.cut = jumpLine[0].equals("1");
            this.jumps = java.util.Arrays.copyOfRange(jumpLine, 1, jumpLine.length);
        }

        @Override
        public Rule[] read() {
            Rule[] b = base.toArray(new Rule[0]);
            Rule[] out = new Rule[b.length - removed + inserted.size()];
            System.arraycopy(b, 0, out, 0, at);
            for (int k = 0; k < inserted.size(); k++) {
                out[at + k] = inserted.get(k);
            }
            System.arraycopy(b, at + removed, out, at + inserted.size(), b.length - at - removed);
            return out;
        }

        @Override
        public String[] jumps() {
            return jumps;
        }

        @Override
        public boolean cut() {
            return cut;
        }

        @Override
        public ByteBuffer raw() {
            return null;
        }
    }

    private static RuleList splice(RuleList rules, int at, int removed, List<Rule> inserted) {
        if (removed == 0 && at == rules.size()) {
            RuleList r = rules;
            for (Rule x : inserted) {
                r = r.appending(x);
            }
            return r;
        }
        // one rule inserted, deleted or replaced (a command's record): a chunk copied, not the chain
        if (removed == 0 && inserted.size() == 1) {
            return rules.inserting(at, inserted.get(0));
        }
        if (removed == 1 && inserted.isEmpty()) {
            return rules.removing(at);
        }
        if (removed == 1 && inserted.size() == 1) {
            return rules.replacing(at, inserted.get(0));
        }
        List<Rule> all = new ArrayList<>(rules.size() - removed + inserted.size());
        all.addAll(rules.subList(0, at));
        all.addAll(inserted);
        all.addAll(rules.subList(at + removed, rules.size()));
        return RuleList.of(all);
    }

    // ---- storing

    /** Persists {@code next}, the successor of what {@link #load} returned. */
    void store(Ruleset next) throws IOException {
        Files.createDirectories(snapshot.getParent());
        List<String> record = new ArrayList<>();
        // a bulk change (a restore) goes straight to a new snapshot: a journal record of it would be as big
        boolean bulk = loaded == null || changedRules(loaded, next) > 4096 || reachLost(loaded, next);
        if (!bulk) {
            diff(loaded, next, record);
        }
        long gen = next.generation();
        long journalLength = journalValidLength;
        if (bulk || !Files.exists(snapshot) || journalLength + estimate(record) > Math.max(compactFromBytes, snapshotLength / 4)) {
            writeSnapshot(next);
            Files.deleteIfExists(journal);
            journalValidLength = 0;
        } else if (!record.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            CRC32 crc = new CRC32();
            for (String l : record) {
                String line = gen + "\t" + l;
                byte[] b = line.getBytes(StandardCharsets.UTF_8);
                crc.update(b);
                crc.update('\n');
                sb.append(line).append('\n');
            }
            sb.append("COMMIT\t").append(gen).append('\t').append(crc.getValue()).append('\n');
            byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ch.truncate(journalValidLength);
                ch.position(journalValidLength);
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(false);
            }
            journalValidLength += bytes.length;
        }
        loaded = next;
        unknownMasksAtLoad.clear();
        for (Table t : next.tables()) {
            if (t.knownHookMasks() == null) {
                unknownMasksAtLoad.add(t.kind());
            }
        }
    }

    /**
     * How many rules the chains that differ between the generations hold, counted over the changed chains only
     * (a bulk change goes to a snapshot); stops counting past {@code 4096}.
     */
    private static long changedRules(Ruleset prev, Ruleset next) {
        long[] n = {0};
        for (Table t : next.tables()) {
            Table p = prev.table(t.kind());
            if (p == t) {
                continue;
            }
            if (p == null) {
                p = Table.initial(t.kind(), t.family());
            }
            t.forEachChange(p, (before, after) -> {
                if (n[0] <= 4096) {
                    n[0] += Math.abs((after == null ? 0 : after.rules().size()) - (before == null ? 0 : before.rules().size()));
                }
            });
        }
        return n[0];
    }

    /**
     * Whether a table that had its hook reach (masks with their edges) has only masks now (a change the reach
     * update did not follow): a snapshot then keeps the reach, counted again, for the next commands.
     */
    private static boolean reachLost(Ruleset prev, Ruleset next) {
        for (Table t : next.tables()) {
            Table p = prev.table(t.kind());
            if (p != null && p != t && p.knownReach() != null && t.knownReach() == null && t.knownHookMasks() != null) {
                return true;
            }
        }
        return false;
    }

    private static long estimate(List<String> record) {
        long n = 0;
        for (String l : record) {
            n += l.length() + 24;
        }
        return n;
    }

    private void writeSnapshot(Ruleset rs) throws IOException {
        long started = System.nanoTime();
        // each table: its header line, its directory, then its section: the chains' bytes as formatted (or
        // as the previous snapshot had them), written in order without being copied into one buffer first
        List<ByteBuffer> pieces = new ArrayList<>();
        pieces.add(ByteBuffer.wrap((MAGIC + rs.generation() + "\n").getBytes(StandardCharsets.UTF_8)));
        List<Table> tables = rs.tables();
        for (int i = tables.size() - 1; i >= 0; i--) {
            Table t = tables.get(i);
            Map<String, Integer> masks = t.knownHookMasks();
            List<Chain> chains = t.chains();
            ByteBuffer[] formatted = formatRules(t.name(), chains);
            ByteBuffer[] section = new ByteBuffer[chains.size()];
            int[] offsets = new int[chains.size() + 1];
            for (int ci = 0; ci < chains.size(); ci++) {
                section[ci] = formatted[ci] != null ? formatted[ci] : chains.get(ci).rules().unreadSource().raw();
                offsets[ci + 1] = offsets[ci] + section[ci].remaining();
            }
            int sectionSize = offsets[chains.size()];
            ReachEntries reach = masks == null ? null : new ReachEntries(t, chains);
            int[] lineAt = new int[chains.size()];
            List<ByteBuffer> directory = directory(chains, reach, offsets, lineAt);
            long directorySize = 0;
            for (ByteBuffer d : directory) {
                directorySize += d.remaining();
            }
            ByteBuffer index = ByteBuffer.allocate(4 * chains.size());
            for (int at : lineAt) {
                index.putInt(at);
            }
            pieces.add(ByteBuffer.wrap(("*" + t.name() + "\t" + directorySize + "\t" + sectionSize + "\t" + chains.size()
                    + "\t" + (reach == null ? "-" : ChainDirectory.REACH) + "\n").getBytes(StandardCharsets.UTF_8)));
            pieces.addAll(directory);
            pieces.add(index.flip());
            pieces.addAll(java.util.Arrays.asList(section));
        }
        long total = 0;
        for (ByteBuffer b : pieces) {
            total += b.remaining();
        }
        long formatted = System.nanoTime();
        Path tmp = Files.createTempFile(snapshot.getParent(), snapshot.getFileName().toString(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeAll(ch, pieces);
                long written = System.nanoTime();
                ch.force(true);
                if (Boolean.getBoolean("jnf.timing")) {
                    System.err.printf("jnf timing: snapshot of %d bytes: format %d ms, write %d ms, force %d ms%n",
                            total, (formatted - started) / 1_000_000, (written - formatted) / 1_000_000,
                            (System.nanoTime() - written) / 1_000_000);
                }
            }
            try {
                Files.move(tmp, snapshot, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, snapshot, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        snapshotLength = total;
    }

    /** Chains per block of directory lines; a Kubernetes node's 60k chains are formatted in blocks on all cores. */
    private static final int DIRECTORY_BLOCK = 4096;

    /**
     * A table's directory: a line per chain, in blocks (each line depends on its chain, its reach entry and its
     * section's offsets only); {@code lineAt} gets each line's offset from the directory's start.
     */
    private static List<ByteBuffer> directory(List<Chain> chains, ReachEntries reach, int[] offsets, int[] lineAt) {
        int blocks = (chains.size() + DIRECTORY_BLOCK - 1) / DIRECTORY_BLOCK;
        ByteBuffer[] out = new ByteBuffer[Math.max(1, blocks)];
        java.util.function.IntConsumer block = k -> {
            int from = k * DIRECTORY_BLOCK;
            int to = Math.min(chains.size(), from + DIRECTORY_BLOCK);
            // room for the block's lines without growing the buffer: the fixed fields, the name and a jump
            // target's name per rule at most (a Kubernetes node's lines are ~100 bytes, some chains list 20k jumps)
            int size = 1 << 12;
            for (int ci = from; ci < to; ci++) {
                Chain c = chains.get(ci);
                size += 64 + c.name().length() + 32 * c.rules().size();
            }
            Bytes d = new Bytes(size, SCRATCH_CHARS.get());
            for (int ci = from; ci < to; ci++) {
                lineAt[ci] = d.size();
                directoryLine(d, ci, chains.get(ci), reach, offsets[ci], offsets[ci + 1] - offsets[ci]);
            }
            out[k] = d.buffer();
        };
        if (blocks < 2) {
            out[0] = ByteBuffer.allocate(0);
            for (int k = 0; k < blocks; k++) {
                block.accept(k);
            }
        } else {
            java.util.stream.IntStream.range(0, blocks).parallel().forEach(block);
        }
        // the blocks' own offsets made into the directory's
        int base = 0;
        for (int k = 0; k < blocks; k++) {
            int from = k * DIRECTORY_BLOCK;
            int to = Math.min(chains.size(), from + DIRECTORY_BLOCK);
            for (int ci = from; ci < to; ci++) {
                lineAt[ci] += base;
            }
            base += out[k].remaining();
        }
        return java.util.Arrays.asList(out);
    }

    /**
     * The hook reach entries a snapshot keeps for a table whose masks are known: the table's {@link HookReach}
     * when it has one, else the edges counted now from its masks and jumps (after a full check, a restore:
     * the snapshot is written at the cost of the whole table anyway), so that the commands that load it
     * update the reach at the cost of their change.
     */
    static final class ReachEntries {
        private final HookReach reach;
        private final Map<String, Integer> masks;
        private final Map<String, int[]> supportByChain;
        /** Masks and edge counts by position in {@code chains}, as the table's full check counted them; or null. */
        private final int[] byPosition;

        ReachEntries(Table t, List<Chain> chains) {
            reach = t.knownReach();
            masks = t.knownHookMasks();
            int[] counted = t.takeReachByPosition();
            // a full check's counts serve only the same numbering (the table's chains, in order)
            byPosition = reach == null && counted != null && counted.length == chains.size() * Table.REACH_STRIDE
                    ? counted : null;
            supportByChain = reach != null || byPosition != null ? null : ReachUpdate.supports(chains, masks);
        }

        int mask(int position, String chain) {
            if (byPosition != null) {
                return byPosition[position * Table.REACH_STRIDE];
            }
            return reach != null ? reach.mask(chain) : masks.getOrDefault(chain, 0);
        }

        int support(int position, String chain, int hook) {
            if (byPosition != null) {
                return byPosition[position * Table.REACH_STRIDE + 1 + hook];
            }
            if (reach != null) {
                return reach.support(chain, org.jnetfilter.core.rules.Hook.values()[hook]);
            }
            int[] s = supportByChain.get(chain);
            return s == null ? 0 : s[hook];
        }
    }

    /** A user chain's policy and counters in its directory line. */
    private static final byte[] NO_POLICY = "-\t0\t0".getBytes(StandardCharsets.US_ASCII);

    /** ":NAME POLICY PKTS BYTES COUNT OFFSET LENGTH REACH CUT JUMPS...", tab-separated. */
    private static void directoryLine(Bytes directory, int position, Chain c, ReachEntries reach, int offset, int length) {
        directory.add(':');
        directory.addEscaped(c.name());
        directory.add('\t');
        if (c.isBuiltin()) {
            directory.add(c.policy());
            directory.add('\t');
            directory.unsigned(c.policyCounters().packets());
            directory.add('\t');
            directory.unsigned(c.policyCounters().bytes());
        } else {
            directory.add(NO_POLICY);
        }
        directory.add('\t');
        directory.unsigned(c.rules().size());
        directory.add('\t');
        directory.unsigned(offset);
        directory.add('\t');
        directory.unsigned(length);
        directory.add('\t');
        if (reach == null) {
            directory.add('-');
        } else {
            int mask = reach.mask(position, c.name());
            boolean edges = false;
            for (int h = 0; h < HookReach.hooks() && !edges; h++) {
                edges = reach.support(position, c.name(), h) != 0;
            }
            directory.unsigned(mask);
            for (int h = 0; edges && h < HookReach.hooks(); h++) {
                // no edges (a chain no hook reaches, or a built-in chain only its hook reaches): the mask alone
                directory.add(h == 0 ? ':' : ',');
                directory.unsigned(reach.support(position, c.name(), h));
            }
        }
        String[] jumpTargets = c.rules().jumpTargets();
        directory.add('\t');
        directory.add(c.rules().endsInVerdict() ? '1' : '0');
        for (String j : jumpTargets) {
            directory.add('\t');
            directory.addEscaped(j);
        }
        directory.add('\n');
    }

    /**
     * Writes {@code pieces} in order: small ones gathered in one direct buffer (a chain's lines are often a few
     * hundred bytes, and a write per chain would be 60k system calls for a Kubernetes node), large ones and
     * mapped ones as they are.
     */
    private static void writeAll(FileChannel ch, List<ByteBuffer> pieces) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        for (ByteBuffer p : pieces) {
            ByteBuffer b = p.duplicate();
            if (b.remaining() > buf.remaining()) {
                drain(ch, buf.flip());
                buf.clear();
            }
            if (b.remaining() > buf.capacity() / 2) {
                drain(ch, b);
            } else {
                buf.put(b);
            }
        }
        drain(ch, buf.flip());
    }

    private static void drain(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /**
     * Each chain's rule lines in snapshot form (UTF-8), or null for a chain whose rules are still the
     * unread bytes of the previous snapshot (copied as they are). A restore of 160k rules formats them
     * on all cores: each chain's bytes depend on its rules only.
     */
    private ByteBuffer[] formatRules(String table, List<Chain> chains) {
        ByteBuffer[] out = new ByteBuffer[chains.size()];
        int toFormat = 0;
        for (Chain c : chains) {
            RuleList.Unread unread = c.rules().unreadSource();
            if (unread == null || unread.raw() == null) {
                toFormat += c.rules().size();
            }
        }
        parser(table);
        java.util.function.IntConsumer formatChain = ci -> {
            Chain c = chains.get(ci);
            RuleList.Unread unread = c.rules().unreadSource();
            if (unread != null && unread.raw() != null) {
                return;
            }
            // sized for the common line "0\t0\ttext\n" of each rule (the texts are made by now), so that a
            // Kubernetes node's 60k chains are formatted without growing a buffer or leaving a third of it unused
            int size = 16;
            for (Rule r : c.rules()) {
                size += r.text().length() + 8;
            }
            Bytes b = new Bytes(size, SCRATCH_CHARS.get());
            for (Rule r : c.rules()) {
                appendRule(b, table, r);
            }
            out[ci] = b.buffer();
        };
        if (toFormat < 8192) {
            for (int ci = 0; ci < chains.size(); ci++) {
                formatChain.accept(ci);
            }
        } else {
            java.util.stream.IntStream.range(0, chains.size()).parallel().forEach(formatChain);
        }
        return out;
    }

    /** "pkts\tbytes\ttext[\tsource]\n" of a snapshot, encoded as it is written. */
    private void appendRule(Bytes b, String table, Rule r) {
        b.unsigned(r.counters().packets());
        b.add('\t');
        b.unsigned(r.counters().bytes());
        b.add('\t');
        String text = r.text();
        b.addEscaped(text);
        String source = readBackSource(table, r, text);
        if (source != null) {
            b.add('\t');
            b.addEscaped(source);
        }
        b.add('\n');
    }

    /** Each formatting thread's scratch for {@link Bytes#addEscaped}: a holder, so that a grown array is kept. */
    private static final ThreadLocal<char[][]> SCRATCH_CHARS = ThreadLocal.withInitial(() -> new char[][] {new char[512]});

    /** A growable byte buffer for writing snapshots. */
    static final class Bytes {
        private byte[] data;
        private int size;
        /** Holds the array the texts' chars are copied into: a formatting thread's own, grown when short. */
        private final char[][] scratch;

        Bytes(int capacity) {
            this(capacity, new char[][] {new char[256]});
        }

        /** With {@code scratch} for the texts' chars (one per thread: formatting threads make many buffers). */
        Bytes(int capacity, char[][] scratch) {
            data = new byte[capacity];
            this.scratch = scratch;
        }

        int size() {
            return size;
        }

        private void room(int n) {
            if (size + n > data.length) {
                data = java.util.Arrays.copyOf(data, Math.max(data.length * 2, size + n));
            }
        }

        void add(String s) {
            add(s.getBytes(StandardCharsets.UTF_8));
        }

        void add(byte[] b) {
            room(b.length);
            System.arraycopy(b, 0, data, size, b.length);
            size += b.length;
        }

        void add(char ascii) {
            room(1);
            data[size++] = (byte) ascii;
        }

        /** Long.toUnsignedString(v) in ASCII. */
        void unsigned(long v) {
            if (v >= 0 && v < 10) {
                add((char) ('0' + v));
            } else {
                add(Long.toUnsignedString(v));
            }
        }

        /**
         * {@code escape(s)} in UTF-8, as {@code escape(s).getBytes(UTF_8)} makes it (a lone surrogate becomes
         * '?'), without the two intermediate copies: every rule of a snapshot goes through here.
         */
        void addEscaped(String s) {
            int n = s.length();
            room(n + 8);
            // the common case, a rule's ASCII text with nothing to escape: its chars copied out in one piece (no
            // byte array per text, as getBytes made) and stored as bytes in the same pass that looks for a
            // character to escape or encode; from the first such character on, the general loop below
            char[] cs = scratch[0];
            if (cs.length < n) {
                cs = new char[Math.max(n, 2 * cs.length)];
                scratch[0] = cs;
            }
            s.getChars(0, n, cs, 0);
            byte[] d = data;
            int at = size;
            int i = 0;
            for (; i < n; i++) {
                char c = cs[i];
                if (c >= 0x80 || c == '\\' || c == '\t' || c == '\n') {
                    break;
                }
                d[at + i] = (byte) c;
            }
            size = at + i;
            if (i == n) {
                return;
            }
            for (; i < n; i++) {
                char c = s.charAt(i);
                if (c < 0x80) {
                    if (c == '\\' || c == '\t' || c == '\n') {
                        room(2 + n - i);
                        data[size++] = '\\';
                        data[size++] = (byte) (c == '\\' ? '\\' : c == '\t' ? 't' : 'n');
                    } else {
                        data[size++] = (byte) c;
                    }
                    continue;
                }
                room(4 + 3 * (n - i));
                if (c < 0x800) {
                    data[size++] = (byte) (0xC0 | c >> 6);
                    data[size++] = (byte) (0x80 | c & 0x3F);
                } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, s.charAt(++i));
                    data[size++] = (byte) (0xF0 | cp >> 18);
                    data[size++] = (byte) (0x80 | cp >> 12 & 0x3F);
                    data[size++] = (byte) (0x80 | cp >> 6 & 0x3F);
                    data[size++] = (byte) (0x80 | cp & 0x3F);
                } else if (Character.isSurrogate(c)) {
                    data[size++] = '?';
                } else {
                    data[size++] = (byte) (0xE0 | c >> 12);
                    data[size++] = (byte) (0x80 | c >> 6 & 0x3F);
                    data[size++] = (byte) (0x80 | c & 0x3F);
                }
            }
        }

        ByteBuffer buffer() {
            return ByteBuffer.wrap(data, 0, size);
        }
    }

    /** "pkts bytes [chain] text [source]"; the source only when the text does not read back. */
    private void appendRule(StringBuilder sb, String table, Rule r, String chainOrNull) {
        sb.append(Long.toUnsignedString(r.counters().packets())).append('\t')
                .append(Long.toUnsignedString(r.counters().bytes())).append('\t');
        if (chainOrNull != null) {
            sb.append(chainOrNull).append('\t');
        }
        String text = r.text();
        sb.append(escape(text));
        String source = readBackSource(table, r, text);
        if (source != null) {
            sb.append('\t').append(escape(source));
        }
    }

    /**
     * Null when the save text reads back to the rule; else a text that does. A rule loaded from a state
     * file keeps what it was loaded with; a restore line's words are their own source; a rule from a
     * command line is checked by parsing its save text back.
     */
    private String readBackSource(String table, Rule r, String text) {
        String source = r.source();
        if (!r.isParsed()) {
            return source;
        }
        if (source != null && source.equals(text)) {
            return null;
        }
        if (source != null && source.charAt(0) != RuleParsers.ARGV) {
            return source;
        }
        if (parser(table).readsBack(r.spec(), text)) {
            return null;
        }
        return source;
    }

    /** Journal lines turning {@code prev} into {@code next}: only what changed, by object identity. */
    private void diff(Ruleset prev, Ruleset next, List<String> out) {
        for (Table t : reversed(next.tables())) {
            Table p = prev.table(t.kind());
            String tn = t.name();
            if (p == null) {
                out.add("T\t" + tn);
                p = Table.initial(t.kind(), family);
            }
            if (p == t) {
                continue;
            }
            diffMasks(prev.table(t.kind()), t, out);
            List<Chain[]> changes = new ArrayList<>();
            t.forEachChange(p, (before, after) -> {
                if (after == null) {
                    out.add("X\t" + tn + "\t" + escape(before.name()));
                } else {
                    changes.add(new Chain[] {before, after});
                }
            });
            for (Chain[] change : changes) {
                Chain pc = change[0];
                Chain c = change[1];
                if (pc == null) {
                    out.add("N\t" + tn + "\t" + escape(c.name()));
                    pc = Chain.user(c.name());
                }
                if (c.isBuiltin() && (!c.policy().equals(pc.policy()) || c.policyCounters() != pc.policyCounters())) {
                    out.add("P\t" + tn + "\t" + c.name() + "\t" + c.policy() + "\t"
                            + Long.toUnsignedString(c.policyCounters().packets()) + "\t"
                            + Long.toUnsignedString(c.policyCounters().bytes()));
                }
                RuleList a = pc.rules();
                RuleList b = c.rules();
                if (a == b) {
                    continue;
                }
                List<Rule> appended = b.appendedTo(a);
                if (appended != null) {
                    out.add("E\t" + tn + "\t" + escape(c.name()) + "\t" + a.size() + "\t0");
                    for (Rule r : appended) {
                        StringBuilder sb = new StringBuilder("+\t");
                        appendRule(sb, tn, r, null);
                        out.add(sb.toString());
                    }
                    continue;
                }
                List<RuleList.Edit> edits = b.editsSince(a);
                if (edits != null) {
                    // the list remembers the changes that made it: one record line each, no comparison
                    for (RuleList.Edit e : edits) {
                        out.add("E\t" + tn + "\t" + escape(c.name()) + "\t" + e.index() + "\t" + (e.removed() == null ? 0 : 1));
                        if (e.added() != null) {
                            StringBuilder sb = new StringBuilder("+\t");
                            appendRule(sb, tn, e.added(), null);
                            out.add(sb.toString());
                        }
                    }
                    jumpLine(tn, c.name(), a, b, out);
                    continue;
                }
                int prefix = 0;
                int max = Math.min(a.size(), b.size());
                while (prefix < max && a.get(prefix) == b.get(prefix)) {
                    prefix++;
                }
                int suffix = 0;
                while (suffix < max - prefix && a.get(a.size() - 1 - suffix) == b.get(b.size() - 1 - suffix)) {
                    suffix++;
                }
                int removed = a.size() - prefix - suffix;
                int inserted = b.size() - prefix - suffix;
                if (removed == 0 && inserted == 0) {
                    continue;
                }
                out.add("E\t" + tn + "\t" + escape(c.name()) + "\t" + prefix + "\t" + removed);
                for (int i = prefix; i < prefix + inserted; i++) {
                    StringBuilder sb = new StringBuilder("+\t");
                    appendRule(sb, tn, b.get(i), null);
                    out.add(sb.toString());
                }
                jumpLine(tn, c.name(), a, b, out);
            }
        }
    }

    /**
     * "J table chain cut targets..." after the "E" lines of a chain the state file kept unread: the replay
     * then keeps it unread too (see {@link EditedUnread}) instead of reading it to make the edit.
     */
    private static void jumpLine(String table, String chain, RuleList before, RuleList after, List<String> out) {
        if (before.unreadSource() == null) {
            return;
        }
        StringBuilder sb = new StringBuilder("J\t").append(table).append('\t').append(escape(chain)).append('\t')
                .append(after.endsInVerdict() ? '1' : '0');
        for (String j : after.jumpTargets()) {
            sb.append('\t').append(escape(j));
        }
        out.add(sb.toString());
    }

    /** "M table chain mask" for hook masks that changed; "U table" when they are not known. */
    private void diffMasks(Table prev, Table next, List<String> out) {
        Map<String, Integer> now = next.knownHookMasks();
        String tn = next.name();
        if (now == null) {
            out.add("U\t" + tn);
            return;
        }
        HookReach reach = next.knownReach();
        if (reach != null) {
            // the entries that changed (a loaded table's reach is read in place: this costs the change), or all
            // of them after "R" when the state had no reach for the table
            HookReach was = prev == null || unknownMasksAtLoad.contains(next.kind()) ? null : prev.knownReach();
            if (was == null) {
                out.add("R\t" + tn);
            }
            reach.forEachEntryChange(was == null ? HookReach.empty() : was, (chain, before, after) -> {
                StringBuilder sb = new StringBuilder("M\t").append(tn).append('\t').append(escape(chain));
                for (int i = 0; i < 1 + HookReach.hooks(); i++) {
                    sb.append('\t').append(after == null ? 0 : after[i]);
                }
                out.add(sb.toString());
            });
            return;
        }
        // masks computed in this process for a table whose stored masks were unknown are new to the state
        Map<String, Integer> before = prev == null || unknownMasksAtLoad.contains(next.kind()) ? null
                : prev.knownHookMasks();
        if (before == null) {
            out.add("R\t" + tn);
            before = Map.of();
        }
        for (Map.Entry<String, Integer> e : now.entrySet()) {
            if (!e.getValue().equals(before.get(e.getKey()))) {
                out.add("M\t" + tn + "\t" + escape(e.getKey()) + "\t" + e.getValue());
            }
        }
        for (String k : before.keySet()) {
            if (!now.containsKey(k)) {
                out.add("M\t" + tn + "\t" + escape(k) + "\t0");
            }
        }
    }

    private static <T> List<T> reversed(List<T> l) {
        List<T> r = new ArrayList<>(l);
        java.util.Collections.reverse(r);
        return r;
    }

    static String escape(String s) {
        if (s.indexOf('\\') < 0 && s.indexOf('\t') < 0 && s.indexOf('\n') < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\t' -> sb.append("\\t");
                case '\n' -> sb.append("\\n");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char d = s.charAt(++i);
                sb.append(d == 't' ? '\t' : d == 'n' ? '\n' : d);
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String[] fields(String line) {
        String[] f = line.split("\t", -1);
        for (int i = 0; i < f.length; i++) {
            f[i] = unescape(f[i]);
        }
        return f;
    }
}
