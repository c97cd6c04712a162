package org.jnetfilter.core.ext.matches;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A file of "id name" lines as libxtables' xtables_lmap_init reads it (/etc/iproute2/group for
 * devgroup): '#' starts a comment line, the id is decimal or 0x hex in [0, 255] (iproute2's bounds),
 * the name is the next word; any other line is skipped. A missing file is an empty map. Read when a
 * rule is parsed or printed, never on the packet path.
 */
record LabelMap(List<Entry> entries) {
    record Entry(int id, String name) {
    }

    static LabelMap read(Path file) {
        List<Entry> out = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                Entry e = entry(line);
                if (e != null) {
                    out.add(e);
                }
            }
        } catch (IOException e) {
            // Linux: xtables_lmap_init answers NULL for a file it cannot open; the map is empty
        }
        return new LabelMap(List.copyOf(out));
    }

    private static Entry entry(String line) {
        int i = skipSpace(line, 0);
        if (i == line.length() || line.charAt(i) == '#') {
            return null;
        }
        boolean hex = line.startsWith("0x", i);
        int radix = hex ? 16 : 10;
        int start = hex ? i + 2 : i;
        int end = start;
        while (end < line.length() && Character.digit(line.charAt(end), radix) >= 0 && end - start < 12) {
            end++;
        }
        if (end == start || end == line.length() || !Character.isWhitespace(line.charAt(end))) {
            return null;
        }
        long id = Long.parseLong(line.substring(start, end), radix);
        if (id > 255) {
            return null;
        }
        int n = skipSpace(line, end);
        if (n == line.length() || line.charAt(n) == '#') {
            return null;
        }
        int ne = n;
        while (ne < line.length() && !Character.isWhitespace(line.charAt(ne))) {
            ne++;
        }
        return new Entry((int) id, line.substring(n, ne));
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** The id of {@code name} (the first line naming it), or -1. */
    long id(String name) {
        for (Entry e : entries) {
            if (e.name().equals(name)) {
                return e.id();
            }
        }
        return -1;
    }

    /** The name of {@code id} (the first line with it), or null. */
    String name(long id) {
        for (Entry e : entries) {
            if (e.id() == id) {
                return e.name();
            }
        }
        return null;
    }
}
