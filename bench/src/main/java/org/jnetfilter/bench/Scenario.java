package org.jnetfilter.bench;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.TableWalk;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;
import org.jnetfilter.iptables.SaveFiles;

/**
 * The classification workloads of issue 5, each a table, a hook and packets to walk through it:
 * <ul>
 * <li>{@code host50k}: 50k non-matching {@code -d X/32 -p udp --dport 80 -j DROP} rules in OUTPUT
 * (the kernel's own figures are in ../shared/bench/README.md);</li>
 * <li>{@code kube20k}: the nat PREROUTING walk of a new connection to a random ClusterIP service of
 * {@code kubegen.py 20000} (160k rules in all); {@code kube1k}, {@code kube5k}, {@code kube10k} the same at
 * 1k, 5k and 10k services (the memory table);</li>
 * <li>{@code acl1}, {@code fw1}, {@code ipc1}: ClassBench 10k rule sets in FORWARD, with their
 * header traces;</li>
 * <li>{@code gen100k}: 100k generated rules in FORWARD, of ClassBench-like shapes (address
 * prefixes of every length, tcp/udp, exact ports and ranges, devices), half the packets drawn from
 * the rules, half at random.</li>
 * </ul>
 * Input files come from {@code bench/classify-bench.sh} in the directory {@code jnf.bench.dir}.
 */
final class Scenario {
    final String name;
    final Table table;
    final Hook hook;
    final MemorySegment[] packets;
    final String in;
    final String out;
    final int rules;
    /** What had to change for the walk to run (a target without packet semantics yet), or "". */
    final String note;

    private Scenario(String name, Table table, Hook hook, MemorySegment[] packets, String in, String out,
                     int rules, String note) {
        this.name = name;
        this.table = table;
        this.hook = hook;
        this.packets = packets;
        this.in = in;
        this.out = out;
        this.rules = rules;
        this.note = note;
    }

    static Path dir() {
        return Path.of(System.getProperty("jnf.bench.dir", "target/bench-input"));
    }

    static Scenario load(String name) throws Exception {
        return switch (name) {
            case "host50k" -> host(50_000);
            case "kube1k", "kube5k", "kube10k", "kube20k" -> kube(dir().resolve(name + ".save"));
            case "acl1", "fw1", "ipc1" -> classbench(name);
            case "gen100k" -> generated(100_000);
            default -> throw new IllegalArgumentException("no scenario " + name);
        };
    }

    void loadPacket(PacketContext pkt, int i) {
        pkt.ipv4(packets[i], 0).inInterface(in).outInterface(out);
    }

    // ---- the workloads ----

    static String hostRules(int n, String chain) {
        StringBuilder sb = new StringBuilder("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for (int i = 0; i < n; i++) {
            sb.append("-A ").append(chain).append(" -d 10.").append((i >> 16) & 0xFF).append('.').append((i >> 8) & 0xFF)
                    .append('.').append(i & 0xFF).append("/32 -p udp -m udp --dport 80 -j DROP\n");
        }
        return sb.append("COMMIT\n").toString();
    }

    static Scenario host(int n) throws Exception {
        Table t = SaveFiles.read(Family.IPV4, hostRules(n, "OUTPUT")).table(TableKind.FILTER);
        MemorySegment[] p = new MemorySegment[1024];
        for (int i = 0; i < p.length; i++) {
            p[i] = packet(0xC0A80001, 0xC0A80100 + i, 17, 40000 + i, 80);
        }
        return new Scenario("host50k", t, Hook.OUTPUT, p, "", "eth0", n, "");
    }

    private static final Pattern SERVICE = Pattern.compile(
            "^-A KUBE-SERVICES -d (\\d+\\.\\d+\\.\\d+\\.\\d+)/32 -p (tcp|udp) .*--dport (\\d+) ", Pattern.MULTILINE);

    static Scenario kube(Path file) throws Exception {
        String text = Files.readString(file);
        String note = "";
        Table t = SaveFiles.read(Family.IPV4, text).table(TableKind.NAT);
        List<int[]> services = new ArrayList<>();
        Matcher m = SERVICE.matcher(text);
        while (m.find()) {
            services.add(new int[] {address(m.group(1)), m.group(2).equals("tcp") ? 6 : 17, Integer.parseInt(m.group(3))});
        }
        SplittableRandom r = new SplittableRandom(20_000);
        MemorySegment[] p = new MemorySegment[4096];
        for (int i = 0; i < p.length; i++) {
            int[] s = services.get(r.nextInt(services.size()));
            p[i] = packet(0xC0A80000 + r.nextInt(1 << 16), s[0], s[1], 1024 + r.nextInt(60000), s[2]);
        }
        try {
            PacketContext pkt = new PacketContext();
            pkt.ipv4(p[0], 0).inInterface("eth0");
            TableWalk.run(t, Hook.PREROUTING, pkt, Trace.NONE);
        } catch (UnsupportedOperationException e) {
            // DNAT has no packet semantics yet: the walk ends at the same rule with ACCEPT, DNAT's verdict
            text = text.replaceAll("-j DNAT --to-destination \\S+", "-j ACCEPT");
            t = SaveFiles.read(Family.IPV4, text).table(TableKind.NAT);
            note = "DNAT -> ACCEPT (no NAT semantics yet)";
        }
        int rules = SaveFiles.read(Family.IPV4, text).ruleCount();
        String name = file.getFileName().toString().replace(".save", "");
        return new Scenario(name, t, Hook.PREROUTING, p, "eth0", "", rules, note);
    }

    static Scenario classbench(String name) throws Exception {
        Ruleset rs = SaveFiles.read(Family.IPV4, dir().resolve(name + ".save"));
        Table t = rs.table(TableKind.FILTER);
        List<String> lines = Files.readAllLines(dir().resolve(name + "_trace"));
        int n = Integer.highestOneBit(lines.size());
        MemorySegment[] p = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            String[] f = lines.get(i).trim().split("\\s+");
            p[i] = packet((int) Long.parseLong(f[0]), (int) Long.parseLong(f[1]), Integer.parseInt(f[4]),
                    Integer.parseInt(f[2]), Integer.parseInt(f[3]));
        }
        return new Scenario(name, t, Hook.FORWARD, p, "eth0", "eth1", t.ruleCount(), "");
    }

    static final String[] DEVICES = {"eth0", "eth1", "eth2", "veth+", "wg0"};

    static Scenario generated(int n) throws Exception {
        SplittableRandom r = new SplittableRandom(100_000);
        int[][] hits = new int[n][];
        String text = generatedRules(n, r, hits);
        Table t = SaveFiles.read(Family.IPV4, text).table(TableKind.FILTER);
        MemorySegment[] p = new MemorySegment[4096];
        for (int i = 0; i < p.length; i++) {
            int[] h = i % 2 == 0 ? hits[r.nextInt(n)]
                    : new int[] {0x0A000000 | r.nextInt(1 << 24), 0xAC100000 | r.nextInt(1 << 20), r.nextBoolean() ? 6 : 17,
                    r.nextInt(65536), r.nextInt(65536)};
            p[i] = packet(h[0], h[1], h[2], h[3], h[4]);
        }
        return new Scenario("gen100k", t, Hook.FORWARD, p, "eth0", "eth1", n, "");
    }

    /** The save text of {@code n} generated rules; {@code hits[i]}: a packet that rule i matches. */
    static String generatedRules(int n, SplittableRandom r, int[][] hits) {
        StringBuilder sb = new StringBuilder("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        int[] srcLens = {0, 8, 16, 20, 24, 28, 32, 32};
        int[] dstLens = {16, 24, 24, 28, 32, 32, 32};
        for (int i = 0; i < n; i++) {
            int sLen = srcLens[r.nextInt(srcLens.length)];
            int dLen = dstLens[r.nextInt(dstLens.length)];
            int src = mask(0x0A000000 | r.nextInt(1 << 24), sLen);
            int dst = mask(0xAC100000 | r.nextInt(1 << 20), dLen);
            int proto = r.nextInt(3) == 0 ? 17 : 6;
            sb.append("-A FORWARD");
            if (sLen > 0) {
                sb.append(" -s ").append(text(src)).append('/').append(sLen);
            }
            sb.append(" -d ").append(text(dst)).append('/').append(dLen);
            if (r.nextInt(8) == 0) {
                sb.append(" -i ").append(DEVICES[r.nextInt(DEVICES.length)]);
            }
            sb.append(" -p ").append(proto == 6 ? "tcp" : "udp").append(" -m ").append(proto == 6 ? "tcp" : "udp");
            int dport = 1 + r.nextInt(65000);
            int dHi = dport;
            if (r.nextInt(5) == 0) {
                dHi = Math.min(65535, dport + r.nextInt(1000));
                sb.append(" --dport ").append(dport).append(':').append(dHi);
            } else {
                sb.append(" --dport ").append(dport);
            }
            if (r.nextInt(6) == 0) {
                sb.append(" --sport 1024:65535");
            }
            sb.append(i % 2 == 0 ? " -j ACCEPT\n" : " -j DROP\n");
            hits[i] = new int[] {sLen == 0 ? r.nextInt() : src | (sLen == 32 ? 0 : r.nextInt(1 << (32 - sLen))), dst | (dLen == 32 ? 0 : r.nextInt(1 << (32 - dLen))),
                    proto, 1024 + r.nextInt(60000), dport + (dHi > dport ? r.nextInt(dHi - dport) : 0)};
        }
        return sb.append("COMMIT\n").toString();
    }

    /** The save text of a generated scenario (host50k, gen100k), for the kernel's side of the memory table. */
    static String saveText(String name) {
        return switch (name) {
            case "host50k" -> hostRules(50_000, "OUTPUT");
            case "gen100k" -> generatedRules(100_000, new SplittableRandom(100_000), new int[100_000][]);
            default -> throw new IllegalArgumentException("no generated scenario " + name);
        };
    }

    // ---- bytes ----

    /** IPv4 with a 20-byte transport header carrying the ports (TCP-shaped; UDP reads its first 8 bytes). */
    static MemorySegment packet(int src, int dst, int protocol, int sport, int dport) {
        ByteBuffer b = ByteBuffer.allocate(40);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 40).putShort((short) 1).putShort((short) 0x4000)
                .put((byte) 64).put((byte) protocol).putShort((short) 0).putInt(src).putInt(dst)
                .putShort((short) sport).putShort((short) dport).putInt(1).putInt(0)
                .put((byte) 0x50).put((byte) 0x02).putShort((short) 1024).putInt(0);
        return MemorySegment.ofArray(b.array());
    }

    static int address(String dotted) {
        String[] p = dotted.split("\\.");
        return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8
                | Integer.parseInt(p[3]);
    }

    static String text(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xFF) + "." + ((a >>> 8) & 0xFF) + "." + (a & 0xFF);
    }

    static int mask(int a, int len) {
        return len == 0 ? 0 : a & (int) (0xFFFFFFFFL << (32 - len));
    }
}
