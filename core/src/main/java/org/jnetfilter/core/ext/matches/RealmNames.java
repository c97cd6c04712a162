package org.jnetfilter.core.ext.matches;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Realm names from /etc/iproute2/rt_realms, as libxt_realm reads them with xtables_lmap_init. */
final class RealmNames {
    private RealmNames() {
    }

    /** The name of a realm id, or null. */
    static String name(long id) {
        for (String[] f : entries()) {
            if (org.jnetfilter.core.ext.Numbers.parseStrtoul(f[0]) == id) {
                return f[1];
            }
        }
        return null;
    }

    private static java.util.List<String[]> entries() {
        java.util.List<String[]> out = new java.util.ArrayList<>();
        Path file = Path.of("/etc/iproute2/rt_realms");
        if (!Files.isReadable(file)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(file)) {
                String body = line.strip();
                if (body.isEmpty() || body.startsWith("#")) {
                    continue;
                }
                String[] f = body.split("\\s+");
                if (f.length >= 2) {
                    out.add(f);
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }

    static long lookup(String name) {
        Path file = Path.of("/etc/iproute2/rt_realms");
        if (!Files.isReadable(file)) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(file)) {
                String body = line.strip();
                if (body.isEmpty() || body.startsWith("#")) {
                    continue;
                }
                String[] f = body.split("\\s+");
                if (f.length >= 2 && f[1].equals(name)) {
                    long v = org.jnetfilter.core.ext.Numbers.parseStrtoul(f[0]);
                    if (v >= 0) {
                        return v;
                    }
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
