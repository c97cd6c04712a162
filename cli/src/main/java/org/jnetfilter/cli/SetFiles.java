package org.jnetfilter.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import org.jnetfilter.core.ipset.Ipsets;
import org.jnetfilter.iptables.IpsetCommand;
import org.jnetfilter.iptables.IpsetStore;

/**
 * The sets of {@code jnf replay --ipsets} and {@code jnf trace --ipsets}: an {@code ipset save} file restored
 * (as {@code ipset restore} would, in a scratch state directory) and installed as this JVM's sets, before the
 * rules that name them are read. {@code clockNanos} is the time the sets' timeouts start from.
 */
final class SetFiles {
    private SetFiles() {
    }

    /** Null when loaded, else the message (ipset's own, with the file's line). */
    static String install(Path file, long clockNanos) throws IOException {
        Path dir = Files.createTempDirectory("jnf-ipsets");
        try (InputStream in = Files.newInputStream(file)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            IpsetCommand cmd = new IpsetCommand(new IpsetStore(dir), () -> clockNanos, new SplittableRandom(0));
            int code = cmd.run(new String[] {"restore"}, in, new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            if (code != 0) {
                return file + ": " + err.toString(StandardCharsets.UTF_8).strip();
            }
            Ipsets.install(cmd.loadForRules());
            return null;
        } finally {
            try (var walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
