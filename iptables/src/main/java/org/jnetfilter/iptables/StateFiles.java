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
 *   jnf-state 1 GENERATION                  GENERATION  T  table                 (table now exists)
 *   *TABLE                                  GENERATION  N  table chain           (new user chain)
 *   :CHAIN POLICY PKTS BYTES  (built-in)    GENERATION  X  table chain           (chain deleted)
 *   :CHAIN -                  (user)        GENERATION  P  table chain policy pkts bytes
 *   PKTS BYTES CHAIN TEXT [SOURCE]          GENERATION  E  table chain at removed   then the inserted rules:
 *                                           GENERATION  +  pkts bytes text [source]
 *                                           COMMIT GENERATION CRC32-of-the-record's-lines
 * </pre>
 *
 * Fields are tab-separated, with backslash, tab and newline escaped. Rules are kept as their save text and
 * parsed only when needed (see {@link Rule#lazy}), so loading 160k rules is reading lines, not parsing
 * iptables. A transaction appends one journal record and forces it to disk: a crash leaves a torn record,
 * which the loader ignores (and the next writer cuts off). When the journal has grown past a quarter of the
 * snapshot the next transaction writes a new snapshot (temporary file, forced, renamed) and empties the
 * journal; records at or below the snapshot's generation are skipped, so a crash between the two is safe.
 */
final class StateFiles {
    private static final String MAGIC = "jnf-state 2 ";
    private static final long MIN_COMPACT_BYTES = 256 * 1024;

    private final Path snapshot;
    private final Path journal;
    private final Family family;
    private final Extensions extensions;
    private final Map<String, RuleParsers> parserByTable = new HashMap<>();

    /** What was loaded: the generation, and where the valid journal ends. */
    private Ruleset loaded;
    private long journalValidLength;
    private long snapshotLength;

    StateFiles(Path dir, Family family, Extensions extensions) {
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
            String text = Files.readString(snapshot, StandardCharsets.UTF_8);
            snapshotLength = text.length();
            int eol = text.indexOf('\n');
            if (eol < 0 || !text.startsWith(MAGIC)) {
                throw new IllegalStateException("state file " + snapshot + " is not a jnetfilter state (no '" + MAGIC + "')");
            }
            snapGen = Long.parseLong(text.substring(MAGIC.length(), eol));
            rs = readSnapshot(text, eol + 1).withGeneration(snapGen);
        }
        journalValidLength = 0;
        if (Files.exists(journal)) {
            rs = replay(rs, Files.readString(journal, StandardCharsets.UTF_8), snapGen);
        }
        loaded = rs;
        return rs;
    }

    /**
     * Reads the chain directories only; each chain's rules stay unread text until a command needs them
     * (see RuleList.unread), so a command on a 160k-rule state reads what it touches.
     */
    private Ruleset readSnapshot(String text, int pos) {
        Ruleset rs = Ruleset.empty(family);
        int n = text.length();
        while (pos < n) {
            int eol = text.indexOf('\n', pos);
            String line = text.substring(pos, eol);
            pos = eol + 1;
            if (line.isEmpty()) {
                continue;
            }
            if (line.charAt(0) != '*') {
                throw new IllegalStateException("state file " + snapshot + ": expected a table, got: " + line);
            }
            TableKind kind = TableKind.byName(line.substring(1)).orElseThrow();
            RuleParsers parser = parser(kind.tableName());
            List<String[]> directory = new ArrayList<>();
            int sectionLength = -1;
            while (sectionLength < 0) {
                eol = text.indexOf('\n', pos);
                String d = text.substring(pos, eol);
                pos = eol + 1;
                if (d.startsWith(".\t")) {
                    sectionLength = Integer.parseInt(d.substring(2));
                } else {
                    directory.add(fields(d.substring(1)));
                }
            }
            int section = pos;
            pos += sectionLength;
            List<Chain> builtins = new ArrayList<>();
            List<Chain> users = new ArrayList<>();
            for (String[] f : directory) {
                // NAME POLICY PKTS BYTES COUNT OFFSET LENGTH JUMPS...
                int count = Integer.parseInt(f[4]);
                int from = section + Integer.parseInt(f[5]);
                int to = from + Integer.parseInt(f[6]);
                String[] jumps = java.util.Arrays.copyOfRange(f, 7, f.length);
                RuleList rules = RuleList.unread(count, new UnreadChain(text, from, to, jumps, parser));
                if (f[1].equals("-")) {
                    users.add(new Chain(f[0], null, null, rules));
                } else {
                    builtins.add(new Chain(f[0], f[1], new Counters(Long.parseUnsignedLong(f[2]),
                            Long.parseUnsignedLong(f[3])), rules));
                }
            }
            rs = rs.with(Table.of(kind, family, builtins, users));
        }
        return rs;
    }

    /** One chain's lines in a snapshot, read into rules when first needed. */
    private static final class UnreadChain implements RuleList.Unread {
        private final String text;
        private final int from;
        private final int to;
        private final String[] jumps;
        private final RuleParsers parser;

        UnreadChain(String text, int from, int to, String[] jumps, RuleParsers parser) {
            this.text = text;
            this.from = from;
            this.to = to;
            this.jumps = jumps;
            this.parser = parser;
        }

        @Override
        public Rule[] read() {
            List<Rule> rules = new ArrayList<>();
            int pos = from;
            while (pos < to) {
                int eol = text.indexOf('\n', pos);
                String[] f = fields(text.substring(pos, eol));
                pos = eol + 1;
                Counters counters = new Counters(Long.parseUnsignedLong(f[0]), Long.parseUnsignedLong(f[1]));
                rules.add(Rule.lazy(f[2], f.length > 3 ? f[3] : null, counters, parser));
            }
            return rules.toArray(new Rule[0]);
        }

        @Override
        public String[] jumps() {
            return jumps;
        }

        @Override
        public CharSequence raw() {
            return java.nio.CharBuffer.wrap(text, from, to);
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

    private Ruleset apply(Ruleset rs, List<String> record) {
        Ruleset out = rs;
        for (int i = 0; i < record.size(); i++) {
            String[] f = fields(record.get(i));
            TableKind kind = TableKind.byName(f[2]).orElseThrow();
            Table t = out.tableOrInitial(kind);
            switch (f[1]) {
                case "T" -> {
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
                    t = t.with(c.withRules(splice(c.rules(), at, removed, inserted)));
                }
                default -> throw new IllegalStateException("journal " + journal + ": unknown op " + f[1]);
            }
            out = out.with(t);
        }
        return out;
    }

    private static RuleList splice(RuleList rules, int at, int removed, List<Rule> inserted) {
        if (removed == 0 && at == rules.size()) {
            RuleList r = rules;
            for (Rule x : inserted) {
                r = r.appending(x);
            }
            return r;
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
        diff(loaded != null ? loaded : Ruleset.empty(family), next, record);
        long gen = next.generation();
        long journalLength = journalValidLength;
        if (loaded == null || !Files.exists(snapshot) || journalLength + estimate(record) > Math.max(MIN_COMPACT_BYTES, snapshotLength / 4)) {
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
    }

    private static long estimate(List<String> record) {
        long n = 0;
        for (String l : record) {
            n += l.length() + 24;
        }
        return n;
    }

    private void writeSnapshot(Ruleset rs) throws IOException {
        StringBuilder sb = new StringBuilder(1 << 16);
        sb.append(MAGIC).append(rs.generation()).append('\n');
        List<Table> tables = rs.tables();
        for (int i = tables.size() - 1; i >= 0; i--) {
            Table t = tables.get(i);
            sb.append('*').append(t.name()).append('\n');
            StringBuilder section = new StringBuilder(1 << 12);
            for (Chain c : t.chains()) {
                int offset = section.length();
                RuleList.Unread unread = c.rules().unreadSource();
                if (unread != null) {
                    section.append(unread.raw());
                } else {
                    for (Rule r : c.rules()) {
                        appendRule(section, t.name(), r, null);
                        section.append('\n');
                    }
                }
                sb.append(':').append(escape(c.name())).append('\t');
                if (c.isBuiltin()) {
                    sb.append(c.policy()).append('\t').append(Long.toUnsignedString(c.policyCounters().packets()))
                            .append('\t').append(Long.toUnsignedString(c.policyCounters().bytes()));
                } else {
                    sb.append("-\t0\t0");
                }
                sb.append('\t').append(c.rules().size()).append('\t').append(offset).append('\t')
                        .append(section.length() - offset);
                for (String j : c.rules().jumpTargets()) {
                    sb.append('\t').append(escape(j));
                }
                sb.append('\n');
            }
            sb.append(".\t").append(section.length()).append('\n').append(section);
        }
        Path tmp = Files.createTempFile(snapshot.getParent(), snapshot.getFileName().toString(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(sb));
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, snapshot, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, snapshot, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        snapshotLength = sb.length();
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
            for (Chain pc : p.chains()) {
                if (!t.hasChain(pc.name())) {
                    out.add("X\t" + tn + "\t" + escape(pc.name()));
                }
            }
            for (Chain c : t.chains()) {
                Chain pc = p.chain(c.name());
                if (pc == c) {
                    continue;
                }
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
