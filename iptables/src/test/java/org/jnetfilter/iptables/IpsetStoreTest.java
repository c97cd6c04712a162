package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The sets' snapshot and journal: a command appends a record instead of writing the sets again, a crash
 * leaves the old or the new state, and what is read back always equals what the commands made (checked
 * against a store that writes a snapshot at every change).
 */
class IpsetStoreTest {
    private static final long S = 1_000_000_000L;
    private final long[] clock = {1_800_000_000L * S};

    private IpsetCommand ipset(Path dir, boolean journal) {
        return new IpsetCommand(new IpsetStore(dir, journal), () -> clock[0], new SplittableRandom(9));
    }

    private static IpsetKernelDifferentialTest.Outcome run(IpsetCommand c, String line) {
        return IpsetKernelDifferentialTest.mine(c, List.of(line.split(" ")), "");
    }

    private static IpsetKernelDifferentialTest.Outcome restore(IpsetCommand c, String text) {
        return IpsetKernelDifferentialTest.mine(c, List.of("restore"), text);
    }

    private static String elements(int n) {
        StringBuilder sb = new StringBuilder("create big hash:ip maxelem 100000\n");
        for (int i = 1; i <= n; i++) {
            sb.append("add big 10.0.").append(i / 250).append('.').append(i % 250 + 1).append('\n');
        }
        return sb.toString();
    }

    @Test
    void anAddToALargeSetAppendsARecordAndLeavesTheSnapshotAlone() throws IOException {
        Path dir = Files.createTempDirectory("jnf-ipset-journal");
        IpsetCommand c = ipset(dir, true);
        assertThat(restore(c, elements(5000)).code()).isZero();
        byte[] snapshot = Files.readAllBytes(dir.resolve(IpsetStore.FILE));

        assertThat(run(c, "add big 192.0.2.1").code()).isZero();
        assertThat(run(c, "del big 10.0.0.2").code()).isZero();

        assertThat(Files.readAllBytes(dir.resolve(IpsetStore.FILE))).isEqualTo(snapshot);
        assertThat(Files.size(dir.resolve(IpsetStore.JOURNAL))).isLessThan(200);
        assertThat(run(c, "test big 192.0.2.1").code()).isZero();
        assertThat(run(c, "test big 10.0.0.2").code()).isEqualTo(1);
        assertThat(run(c, "list big -t").out()).contains("Number of entries: 5000");
    }

    @Test
    void tornJournalRecordFromACrashIsIgnoredAndCutOff() throws IOException {
        Path dir = Files.createTempDirectory("jnf-ipset-journal");
        IpsetCommand c = ipset(dir, true);
        run(c, "create s hash:ip");
        run(c, "add s 10.0.0.1");
        run(c, "add s 10.0.0.2");
        String before = run(c, "save").out();
        Path journal = dir.resolve(IpsetStore.JOURNAL);
        long length = Files.size(journal);
        // a crash in the middle of appending the next record: its length, checksum and part of the payload
        Files.write(journal, new byte[] {0, 0, 0, 40, 1, 2, 3, 4, 0, 0, 0}, StandardOpenOption.APPEND);

        assertThat(run(c, "save").out()).isEqualTo(before);
        assertThat(run(c, "add s 10.0.0.3").code()).isZero();
        assertThat(run(c, "save").out()).isEqualTo(before + "add s 10.0.0.3\n");
        assertThat(Files.size(journal)).isGreaterThan(length).isLessThan(length + 100);
    }

    @Test
    void recordsOfAnOlderSnapshotLeftByACrashDuringCompactionAreSkipped() throws IOException {
        Path dir = Files.createTempDirectory("jnf-ipset-journal");
        IpsetCommand c = ipset(dir, true);
        run(c, "create s hash:ip");
        run(c, "add s 10.0.0.1");
        Path journal = dir.resolve(IpsetStore.JOURNAL);
        byte[] stale = Files.readAllBytes(journal);
        // a command that writes a snapshot (a restore of many elements), then a crash before the journal's
        // removal: the old journal is back beside the new snapshot
        assertThat(restore(c, "flush s\n" + "add s 10.9.0.1\n".repeat(1)
                + elements(3000).replace("create big hash:ip maxelem 100000\n", "").replace("big", "s")).code())
                .isZero();
        String after = run(c, "save").out();
        assertThat(journal).doesNotExist();
        Files.write(journal, stale);

        assertThat(run(c, "save").out()).isEqualTo(after);
        assertThat(run(c, "test s 10.0.0.1").code()).isEqualTo(1);
    }

    @Test
    void manyCommandsCompactTheJournalIntoASnapshot() throws IOException {
        Path dir = Files.createTempDirectory("jnf-ipset-journal");
        IpsetCommand c = ipset(dir, true);
        run(c, "create s hash:ip comment");
        for (int i = 0; i < 3000; i++) {
            assertThat(run(c, "add s 10.1." + (i / 250) + "." + (i % 250 + 1) + " comment element-" + i).code())
                    .isZero();
        }
        assertThat(Files.size(dir.resolve(IpsetStore.JOURNAL))).isLessThan(IpsetStore.MIN_COMPACT_BYTES + 200);
        assertThat(run(c, "list s -t").out()).contains("Number of entries: 3000");
        assertThat(run(c, "save").out()).contains("add s 10.1.11.250 comment \"element-2999\"\n");
    }

    /**
     * Seeded random command sequences (creates of every set type the command supports with timeouts,
     * counters and comments, adds with -exist and nomatch, dels, tests, flushes, renames, swaps, destroys,
     * time passing) give after every command the same answer, save and listing through the journal (with a
     * small journal, so that snapshots come often and adds, dels and tests read their set in place from
     * the snapshot's index) as through a snapshot per change.
     */
    @Test
    void journalReadsBackWhatASnapshotPerChangeHoldsOnRandomCommands() throws IOException {
        long inPlace = 0;
        for (long seed = 1; seed <= 12; seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            Path a = Files.createTempDirectory("jnf-ipset-journal");
            Path b = Files.createTempDirectory("jnf-ipset-snapshots");
            IpsetStore small = new IpsetStore(a, true, 1 + seed % 3 * 400);
            List<String> done = new ArrayList<>();
            for (int step = 0; step < 160; step++) {
                String cmd = randomCommand(r);
                done.add(cmd);
                // a command per process, as the CLI runs them (the same seed for a create's initval)
                IpsetCommand journaled = new IpsetCommand(small, () -> clock[0], new SplittableRandom(9));
                IpsetKernelDifferentialTest.Outcome x = run(journaled, cmd);
                inPlace += journaled.inPlaceCommands;
                IpsetKernelDifferentialTest.Outcome y = run(ipset(b, false), cmd);
                assertThat(x).as("seed %d: %s", seed, done).isEqualTo(y);
                if (r.nextInt(8) == 0) {
                    clock[0] += r.nextInt(20) * S;
                }
                for (String q : new String[] {"save", "list"}) {
                    assertThat(run(ipset(a, true), q)).as("seed %d %s after %s", seed, q, done)
                            .isEqualTo(run(ipset(b, false), q));
                }
            }
        }
        assertThat(inPlace).as("commands that read their set in place").isGreaterThan(700);
    }

    /**
     * Sets of every type the command supports, filled by a restore (a snapshot with its index), then seeded
     * random adds, dels and tests with extensions and time passing: each reads its set in place from the
     * snapshot's index and the journal, and answers, saves and lists as through a snapshot per change.
     */
    @Test
    void elementCommandsReadTheirSetInPlaceAndAnswerAsTheLoadedSets() throws IOException {
        for (long seed = 1; seed <= 6; seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            Path a = Files.createTempDirectory("jnf-ipset-journal");
            Path b = Files.createTempDirectory("jnf-ipset-snapshots");
            IpsetStore journaled = new IpsetStore(a, true, 4096);
            StringBuilder restore = new StringBuilder();
            for (int i = 0; i < NAMES.length; i++) {
                restore.append("create ").append(NAMES[i]).append(' ')
                        .append(CREATES[(int) ((seed * 3 + i) % (CREATES.length - 2))]).append('\n');
            }
            for (int k = 0; k < 150; k++) {
                String add = randomCommand(r);
                if (add.startsWith("add ")) {
                    restore.append(add).append(" -exist\n");
                }
            }
            String text = restore.toString().replace(" -exist -exist", " -exist");
            assertThat(restore(new IpsetCommand(journaled, () -> clock[0], new SplittableRandom(9)), text))
                    .isEqualTo(restore(ipset(b, false), text));
            long inPlace = 0;
            int element = 0;
            List<String> done = new ArrayList<>();
            while (element < 150) {
                String cmd = randomCommand(r);
                if (!cmd.startsWith("add ") && !cmd.startsWith("del ") && !cmd.startsWith("test ")) {
                    continue;
                }
                element++;
                done.add(cmd);
                IpsetCommand c = new IpsetCommand(journaled, () -> clock[0], new SplittableRandom(9));
                assertThat(run(c, cmd)).as("seed %d: %s", seed, done).isEqualTo(run(ipset(b, false), cmd));
                inPlace += c.inPlaceCommands;
                if (r.nextInt(8) == 0) {
                    clock[0] += r.nextInt(5) * S;
                }
                for (String q : new String[] {"save", "list"}) {
                    assertThat(run(ipset(a, true), q)).as("seed %d %s after %s", seed, q, done)
                            .isEqualTo(run(ipset(b, false), q));
                }
            }
            assertThat(inPlace).as("seed %d: commands that read their set in place", seed).isGreaterThan(60);
        }
    }

    /**
     * After a snapshot, creates, swaps, renames, flushes and destroys go to the journal; adds, dels and tests
     * still read their set in place, from the snapshot set its elements came from, and answer as the loaded
     * sets do.
     */
    @Test
    void elementCommandsFollowSwapsRenamesFlushesAndDestroysSinceTheSnapshot() throws IOException {
        Path a = Files.createTempDirectory("jnf-ipset-journal");
        Path b = Files.createTempDirectory("jnf-ipset-snapshots");
        String text = "create a hash:ip counters\ncreate b hash:ip counters\nadd a 10.0.0.1 packets 5 bytes 50\n"
                + "add b 10.0.0.2\n" + elements(3000).replace("maxelem 100000", "maxelem 4000");
        IpsetStore journaled = new IpsetStore(a);
        assertThat(restore(new IpsetCommand(journaled, () -> clock[0], new SplittableRandom(9)), text))
                .isEqualTo(restore(ipset(b, false), text));
        String[] commands = {"swap a b", "test a 10.0.0.1", "test a 10.0.0.2", "add a 10.0.0.2", "test b 10.0.0.1",
            "add b 10.0.0.1 -exist packets 7 bytes 70", "del b 10.0.0.2", "swap big a", "test a 10.0.1.1",
            "test big 10.0.0.2", "rename a c", "test c 10.0.1.1", "add c 10.0.1.1", "del c 10.0.1.2", "flush c",
            "test c 10.0.1.3", "add c 10.0.1.3", "create a hash:net", "add a 10.0.0.0/24", "test a 10.0.0.1",
            "destroy b", "create b hash:ip", "test b 10.0.0.1", "add b 10.0.0.1", "test big 10.0.0.2"};
        long inPlace = 0;
        long elementCommands = 0;
        for (String cmd : commands) {
            IpsetCommand c = new IpsetCommand(journaled, () -> clock[0], new SplittableRandom(9));
            assertThat(run(c, cmd)).as(cmd).isEqualTo(run(ipset(b, false), cmd));
            inPlace += c.inPlaceCommands;
            elementCommands += cmd.startsWith("add ") || cmd.startsWith("del ") || cmd.startsWith("test ") ? 1 : 0;
            assertThat(run(ipset(a, true), "save")).as("save after %s", cmd).isEqualTo(run(ipset(b, false), "save"));
        }
        assertThat(Files.exists(a.resolve(IpsetStore.JOURNAL))).isTrue();
        assertThat(inPlace).isEqualTo(elementCommands);
    }

    private static final String[] NAMES = {"a", "b", "c"};
    private static final String[] CREATES = {"hash:ip timeout 10 counters", "hash:net comment", "hash:ip,port",
        "hash:ip counters comment maxelem 8", "bitmap:port range 1000-1010", "hash:net,port timeout 20",
        "hash:ip,port,ip counters", "hash:net,iface comment", "list:set", "hash:net maxelem 3"};

    private static String randomCommand(SplittableRandom r) {
        String n = NAMES[r.nextInt(NAMES.length)];
        String element = switch (r.nextInt(6)) {
            case 0 -> "10.0.0." + (1 + r.nextInt(6));
            case 1 -> "10.0." + r.nextInt(3) + ".0/" + (16 + 8 * r.nextInt(2));
            case 2 -> "10.0.0." + (1 + r.nextInt(6)) + ",tcp:" + (1000 + r.nextInt(4)) + ",10.0.1." + r.nextInt(3);
            case 3 -> "10.0." + r.nextInt(2) + "." + (r.nextBoolean() ? "0/24" : r.nextInt(4)) + ",eth" + r.nextInt(2);
            case 4 -> NAMES[r.nextInt(NAMES.length)];
            default -> "10.0.0." + (1 + r.nextInt(6)) + ",tcp:" + (1000 + r.nextInt(4));
        };
        String port = Integer.toString(1000 + r.nextInt(12));
        String extras = switch (r.nextInt(6)) {
            case 0 -> " timeout " + r.nextInt(30);
            case 1 -> " comment c" + r.nextInt(3);
            case 2 -> " packets " + r.nextInt(100) + " bytes " + r.nextInt(10000);
            case 3 -> " nomatch";
            default -> "";
        };
        return switch (r.nextInt(17)) {
            case 0, 1 -> "create " + n + " " + CREATES[r.nextInt(CREATES.length)];
            case 2 -> "destroy " + n;
            case 3 -> "flush " + n;
            case 4 -> "rename " + n + " " + NAMES[r.nextInt(NAMES.length)];
            case 5 -> "swap " + n + " " + NAMES[r.nextInt(NAMES.length)];
            case 6, 7 -> "del " + n + " " + (r.nextBoolean() ? element : port) + (r.nextBoolean() ? " -exist" : "");
            case 8, 9, 10 -> "test " + n + " " + (r.nextInt(4) == 0 ? port : element);
            default -> "add " + n + " " + (r.nextInt(4) == 0 ? port : element) + extras
                    + (r.nextBoolean() ? " -exist" : "");
        };
    }
}
