package org.jnetfilter.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.HostFileException;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.NfnetlinkLog;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.io.CaptureFormatException;
import org.jnetfilter.io.CaptureReader;
import org.jnetfilter.io.LinkType;
import org.jnetfilter.io.PcapngWriter;
import org.jnetfilter.iptables.SaveFiles;

/**
 * {@code jnf replay}: a capture through a host's packet path, as issue 3 specifies it (other tools depend on
 * this contract):
 *
 * <pre>
 * jnf replay --host HOST --rules SAVE [--rules6 SAVE6] --in IN --out OUT.pcapng
 *            [--counters FILE] [--verdicts FILE.jsonl] [--seed N] [--iface NAME]
 *            [--nflog FILE.pcapng] [--uid N [--gid N]] [--local-offload]
 * </pre>
 *
 * A packet enters on its pcapng interface's name ({@code --iface} for classic pcap and unnamed interfaces);
 * {@code @local} means the host sent it (it enters at OUTPUT). Timestamps are the clock. OUT gets one
 * interface per egress interface (Ethernet) and {@code @local} (raw IP) for local delivery, in order of first
 * use, each packet stamped with the time of the input packet that caused it; generated packets (REJECT
 * replies, ICMP errors) included. {@code --counters} writes every table in {@code iptables-save -c} form
 * (then {@code ip6tables-save -c}), {@code --verdicts} one JSON object per input packet
 * ({@link VerdictRecorder}). {@code --nflog} writes what NFLOG rules send, as {@code tcpdump -i nflog:N -w}
 * captures it (one LINKTYPE_NFLOG interface {@code nflog:N} per group, each record stamped with the time
 * nfnetlink_log delivers its batch; {@link NfnetlinkLog}). {@code --uid}/{@code --gid} give {@code @local} packets
 * a sending socket with those credentials. {@code --local-offload}: {@code @local} TCP and UDP datagrams leave their
 * socket with the checksum left to the device (CHECKSUM_PARTIAL, as Linux's sockets leave it on a device with
 * transmit checksum offload, veth's default; {@link org.jnetfilter.core.netfilter.Datapath#sendLocal(
 * java.lang.foreign.MemorySegment, long, org.jnetfilter.core.netfilter.Trace, long, long, int, boolean)}).
 *
 * <p>Errors: a malformed capture is reported with its byte offset; everything before it has been replayed and
 * the outputs are written, and the exit code is 1.
 */
final class ReplayCommand {
    private ReplayCommand() {
    }

    static final String USAGE = """
            Usage: jnf replay --host HOST --rules SAVE [--rules6 SAVE6] --in IN --out OUT.pcapng
                              [--counters FILE] [--verdicts FILE.jsonl] [--conntrack FILE] [--seed N]
                              [--ipsets FILE] [--iface NAME] [--nflog FILE.pcapng] [--uid N [--gid N]]
                              [--linear] [--local-offload]

            Runs the packets of IN (pcap or pcapng; Ethernet, raw IP or Linux cooked) through a host with
            the rules of SAVE (iptables-save) and SAVE6 (ip6tables-save), and writes what leaves each
            interface, and what is delivered locally (interface @local), to OUT.pcapng.

              --host HOST        ip commands without the leading `ip` (link add, addr add, route add, rule
                                 add, neigh add) and sysctl name=value lines; links are up once added
              --in IN            a packet's ingress interface is its pcapng interface name; @local means
                                 sent by the host (enters at OUTPUT)
              --iface NAME       the ingress of classic pcap packets and unnamed pcapng interfaces
              --counters FILE    the counters of every table afterwards, iptables-save -c format
              --verdicts FILE    one JSON object per input packet: verdict, rules hit, NAT, ctstate, egress
              --conntrack FILE   the connection tracking table at the end, as conntrack -L lists it (sorted)
              --ipsets FILE      the sets the rules use, as ipset save writes them (timeouts start at the
                                 first packet's time)
              --nflog FILE       what NFLOG rules send, as tcpdump -i nflog:N -w writes it: one interface
                                 nflog:N (link type NFLOG) per group; each record is stamped with the time
                                 the kernel delivers it (a batch goes at --nflog-threshold messages, at a
                                 full buffer, or 1 s after its first message)
              --uid N            @local packets come from a socket of user N, group --gid (else N): what
                                 -m owner matches, LOG --log-uid prints and NFLOG sends; without it they are
                                 the kernel's own packets (no socket)
              --local-offload    @local TCP and UDP datagrams are checksum-offloaded, as from a socket on
                                 a device with tx checksum offload (veth, most NICs): the checksum the
                                 capture shows is the one the device writes, and what the path does to the
                                 partial sum (an ICMP error's quote, nf_nat_snmp_basic) shows as on Linux
              --seed N           the seed of everything random (statistic, NAT ports, IP IDs); default 0
              --linear           walk every rule in order (the reference), not the compiled classifiers
                                 (the results are the same; the classifiers are faster on large rulesets)""";

    static int run(String[] args, PrintStream out, PrintStream err) {
        String hostFile = null;
        String rules = null;
        String rules6 = null;
        String in = null;
        String outFile = null;
        String counters = null;
        String verdicts = null;
        String conntrackFile = null;
        String ipsets = null;
        String iface = null;
        String nflog = null;
        long uid = -1;
        long gid = -1;
        long seed = 0;
        boolean linear = false;
        boolean localOffload = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                out.println(USAGE);
                return 0;
            }
            if (a.equals("--linear")) {
                linear = true;
                continue;
            }
            if (a.equals("--local-offload")) {
                localOffload = true;
                continue;
            }
            if (!a.startsWith("--")) {
                err.println("jnf replay: unexpected argument '" + a + "'");
                err.println(USAGE);
                return 2;
            }
            if (i + 1 >= args.length) {
                err.println("jnf replay: " + a + " needs a value");
                return 2;
            }
            String v = args[++i];
            switch (a) {
                case "--host" -> hostFile = v;
                case "--rules" -> rules = v;
                case "--rules6" -> rules6 = v;
                case "--in" -> in = v;
                case "--out" -> outFile = v;
                case "--counters" -> counters = v;
                case "--verdicts" -> verdicts = v;
                case "--conntrack" -> conntrackFile = v;
                case "--ipsets" -> ipsets = v;
                case "--iface" -> iface = v;
                case "--nflog" -> nflog = v;
                case "--uid", "--gid" -> {
                    long id = id(v);
                    if (id < 0) {
                        err.println("jnf replay: " + a + " wants a number from 0 to 4294967294, not '" + v + "'");
                        return 2;
                    }
                    if (a.equals("--uid")) {
                        uid = id;
                    } else {
                        gid = id;
                    }
                }
                case "--seed" -> {
                    try {
                        seed = Long.parseLong(v);
                    } catch (NumberFormatException e) {
                        err.println("jnf replay: --seed wants a number, not '" + v + "'");
                        return 2;
                    }
                }
                default -> {
                    err.println("jnf replay: unknown option " + a);
                    err.println(USAGE);
                    return 2;
                }
            }
        }
        if (hostFile == null || rules == null || in == null || outFile == null) {
            err.println("jnf replay: --host, --rules, --in and --out are required");
            err.println(USAGE);
            return 2;
        }
        Host host;
        Ruleset rs4;
        Ruleset rs6;
        try {
            if (ipsets != null) {
                // before the rules: iptables refuses -m set and -j SET naming a set that does not exist
                String problem = SetFiles.install(Path.of(ipsets), firstTimestamp(Path.of(in), iface));
                if (problem != null) {
                    err.println("jnf replay: " + problem);
                    return 1;
                }
            }
            host = HostFile.readRunning(Path.of(hostFile));
            for (String notice : host.notices()) {
                err.println("jnf replay: %s: %s".formatted(hostFile, notice));
            }
            rs4 = SaveFiles.read(Family.IPV4, Path.of(rules));
            rs6 = rules6 == null ? Ruleset.empty(Family.IPV6) : SaveFiles.read(Family.IPV6, Path.of(rules6));
        } catch (NoSuchFileException e) {
            err.println("jnf replay: " + e.getFile() + ": No such file or directory");
            return 1;
        } catch (HostFileException e) {
            err.println("jnf replay: " + e.getMessage());
            return 1;
        } catch (SaveFiles.Invalid e) {
            err.println("jnf replay: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("jnf replay: " + e.getMessage());
            return 1;
        }
        String defaultIface = iface;
        if (defaultIface == null) {
            // a host with one interface besides lo: that one
            List<String> named = new ArrayList<>();
            for (Link l : host.links()) {
                if (!l.name().equals("lo")) {
                    named.add(l.name());
                }
            }
            defaultIface = named.size() == 1 ? named.get(0) : null;
        }
        if (gid >= 0 && uid < 0) {
            err.println("jnf replay: --gid needs --uid");
            return 2;
        }
        try (Replay replay = new Replay(host, Path.of(outFile), seed, verdicts == null ? null : Path.of(verdicts),
                nflog == null ? null : Path.of(nflog), uid, gid < 0 ? uid : gid)) {
            replay.localOffload = localOffload;
            replay.datapath.walker(linear ? org.jnetfilter.core.netfilter.TableWalker.LINEAR
                    : org.jnetfilter.core.netfilter.TableWalker.CLASSIFIED);
            replay.datapath.rules(Family.IPV4, rs4);
            replay.datapath.rules(Family.IPV6, rs6);
            long t0 = System.nanoTime();
            int code = replay.run(Path.of(in), defaultIface, err);
            if (Boolean.getBoolean("jnf.timing")) {
                long ns = System.nanoTime() - t0;
                err.printf("jnf timing: replay loop %d packets in %d ms (%.0f packets/s)%n", replay.packets, ns / 1_000_000,
                        replay.packets * 1e9 / Math.max(ns, 1));
            }
            if (counters != null) {
                StringBuilder sb = new StringBuilder();
                sb.append("# jnf replay: iptables-save -c\n").append(SaveFiles.write(replay.datapath.rules(Family.IPV4)));
                if (rules6 != null) {
                    sb.append("# jnf replay: ip6tables-save -c\n").append(SaveFiles.write(replay.datapath.rules(Family.IPV6)));
                }
                Files.writeString(Path.of(counters), sb.toString(), StandardCharsets.UTF_8);
            }
            if (conntrackFile != null) {
                // the table as conntrack -L would list it when the last packet was seen
                Files.writeString(Path.of(conntrackFile), replay.conntrack.list(null, replay.now), StandardCharsets.UTF_8);
            }
            return code;
        } catch (NoSuchFileException e) {
            err.println("jnf replay: " + e.getFile() + ": No such file or directory");
            return 1;
        } catch (IOException | UncheckedIOException e) {
            err.println("jnf replay: " + e.getMessage());
            return 1;
        }
    }

    /** A uid or gid: 0 to 4294967294 ((uid_t) -1 is no id); -1 for anything else. */
    static long id(String v) {
        try {
            long n = Long.parseLong(v);
            return n >= 0 && n < 0xFFFF_FFFFL ? n : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The first packet's timestamp (the clock of set timeouts), or 0 for an empty or unreadable capture. */
    private static long firstTimestamp(Path capture, String iface) {
        try (CaptureReader c = CaptureReader.open(capture, iface == null ? "" : iface)) {
            return c.next() ? c.timestampNanos() : 0;
        } catch (IOException | CaptureFormatException e) {
            return 0;
        }
    }

    /** One replay: the datapath, the output capture and the verdict log. */
    static final class Replay implements AutoCloseable, PacketSink {
        final Datapath datapath;
        final org.jnetfilter.core.conntrack.Conntrack conntrack;
        private final PcapngWriter writer;
        private final BufferedWriter verdictOut;
        private final VerdictRecorder recorder;
        private final PcapngWriter nflogWriter;
        private final NfnetlinkLog nflog;
        private final long uid;
        private final long gid;
        /** Whether @local packets are sent checksum-offloaded (--local-offload). */
        boolean localOffload;
        long now;
        long packets;

        Replay(Host host, Path outFile, long seed, Path verdicts) throws IOException {
            this(host, outFile, seed, verdicts, null, -1, -1);
        }

        Replay(Host host, Path outFile, long seed, Path verdicts, Path nflogFile, long uid, long gid)
                throws IOException {
            writer = PcapngWriter.create(outFile, LinkType.ETHERNET, List.of());
            Engine.Parts parts = Engine.build(host, this, seed);
            datapath = parts.datapath();
            this.uid = uid;
            this.gid = gid;
            if (nflogFile != null) {
                nflogWriter = PcapngWriter.create(nflogFile, LinkType.NFLOG, List.of());
                nflog = NfnetlinkLog.allGroups(this::nflogged);
                datapath.nflogSink(nflog);
            } else {
                nflogWriter = null;
                nflog = null;
            }
            conntrack = parts.conntrack();
            if (verdicts != null) {
                verdictOut = Files.newBufferedWriter(verdicts, StandardCharsets.UTF_8);
                recorder = new VerdictRecorder();
                recorder.observe(datapath);
            } else {
                verdictOut = null;
                recorder = null;
            }
        }

        @Override
        public void transmit(String ifname, MemorySegment frame) {
            write(ifname, LinkType.ETHERNET, frame);
        }

        @Override
        public void deliverLocal(String ifname, MemorySegment packet) {
            write(PcapngWriter.LOCAL, LinkType.RAW, packet);
        }

        /** A message nfnetlink_log delivered: a record on the group's interface, at the delivery time. */
        private void nflogged(int group, long nowNanos, byte[] message) {
            try {
                String name = "nflog:" + group;
                int index = nflogWriter.interfaceIndex(name);
                if (index < 0) {
                    index = nflogWriter.addInterface(name, LinkType.NFLOG, 0);
                }
                nflogWriter.write(index, nowNanos, MemorySegment.ofArray(message));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void write(String name, int linkType, MemorySegment data) {
            try {
                int index = writer.interfaceIndex(name);
                if (index < 0) {
                    index = writer.addInterface(name, linkType, 0);
                }
                writer.write(index, now, data);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        int run(Path inFile, String defaultIface, PrintStream err) throws IOException {
            long size = Files.size(inFile);
            Progress progress = Progress.onTerminal(err, size);
            try (CaptureReader capture = CaptureReader.open(inFile, defaultIface == null ? "" : defaultIface)) {
                Trace trace = recorder == null ? Trace.NONE : recorder;
                while (capture.next()) {
                    now = capture.timestampNanos();
                    if (nflog != null) {
                        nflog.advance(now);
                    }
                    String name = capture.interfaceName();
                    if (name == null || name.isEmpty()) {
                        err.println("jnf replay: packet " + (packets + 1) + " (byte " + capture.recordOffset()
                                + "): no interface name; give --iface NAME");
                        return 1;
                    }
                    MemorySegment p = capture.packet();
                    boolean ethernet;
                    switch (capture.linkType()) {
                        case LinkType.ETHERNET -> ethernet = true;
                        case LinkType.RAW, LinkType.IPV4, LinkType.IPV6 -> ethernet = false;
                        case LinkType.LINUX_SLL -> {
                            ethernet = false;
                            p = p.byteSize() >= 16 ? p.asSlice(16) : MemorySegment.ofArray(new byte[0]);
                        }
                        default -> {
                            err.println("jnf replay: packet " + (packets + 1) + " (byte " + capture.recordOffset()
                                    + "): link type " + LinkType.name(capture.linkType()) + " is not supported");
                            return 1;
                        }
                    }
                    if (recorder != null) {
                        recorder.start(packets, name, now);
                    }
                    if (name.equals(PcapngWriter.LOCAL)) {
                        MemorySegment ip = ethernet ? ipOfFrame(p) : p;
                        if (ip == null) {
                            if (recorder != null) {
                                recorder.unusable("not an IP datagram");
                            }
                        } else {
                            try {
                                datapath.sendLocal(ip, now, trace, uid, gid, 0, localOffload);
                            } catch (UnsupportedOperationException e) {
                                err.println("jnf replay: packet " + (packets + 1) + ": " + e.getMessage()
                                        + " (jnetfilter cannot evaluate this rule on packets yet)");
                                return 3;
                            } catch (IllegalArgumentException e) {
                                if (recorder != null) {
                                    recorder.unusable(e.getMessage());
                                }
                            }
                        }
                    } else {
                        try {
                            datapath.receive(name, p, ethernet, now, trace);
                        } catch (UnsupportedOperationException e) {
                            err.println("jnf replay: packet " + (packets + 1) + " (byte " + capture.recordOffset() + "): "
                                    + e.getMessage() + " (jnetfilter cannot evaluate this rule on packets yet)");
                            return 3;
                        } catch (IllegalArgumentException e) {
                            err.println("jnf replay: packet " + (packets + 1) + " (byte " + capture.recordOffset() + "): "
                                    + e.getMessage());
                            return 1;
                        }
                    }
                    if (recorder != null) {
                        verdictOut.write(recorder.json());
                        verdictOut.write('\n');
                    }
                    packets++;
                    progress.update(capture.recordOffset(), packets);
                }
            } catch (CaptureFormatException e) {
                progress.done(packets);
                err.println("jnf replay: " + inFile + ": malformed capture at byte " + e.offset() + ": " + e.getMessage());
                return 1;
            }
            progress.done(packets);
            return 0;
        }

        private static MemorySegment ipOfFrame(MemorySegment frame) {
            long at = PacketText.ipOfFrame(frame);
            return at < 0 ? null : frame.asSlice(at);
        }

        @Override
        public void close() throws IOException {
            try {
                writer.close();
            } finally {
                try {
                    if (verdictOut != null) {
                        verdictOut.close();
                    }
                } finally {
                    if (nflog != null) {
                        // the listener stays: what is queued goes when its timer fires
                        nflog.close();
                        nflogWriter.close();
                    }
                }
            }
        }
    }

    /** A progress line on a terminal (stderr), redrawn at most five times a second; nothing otherwise. */
    static final class Progress {
        private final PrintStream err;
        private final long total;
        private final long start = System.nanoTime();
        private long last;

        private Progress(PrintStream err, long total) {
            this.err = err;
            this.total = total;
        }

        static Progress onTerminal(PrintStream err, long total) {
            java.io.Console c = System.console();
            return new Progress(c != null && c.isTerminal() ? err : null, total);
        }

        void update(long offset, long packets) {
            if (err == null || (packets & 1023) != 0) {
                return;
            }
            long t = System.nanoTime();
            if (t - last < 200_000_000L) {
                return;
            }
            last = t;
            double seconds = (t - start) / 1e9;
            int width = 30;
            int filled = total == 0 ? width : (int) Math.min(width, width * offset / total);
            err.printf("\rreplay [%s%s] %3d%%  %,d packets  %,.0f packets/s ", "#".repeat(filled), ".".repeat(width - filled),
                    total == 0 ? 100 : 100 * offset / total, packets, packets / Math.max(seconds, 1e-9));
        }

        void done(long packets) {
            if (err != null && last != 0) {
                double seconds = (System.nanoTime() - start) / 1e9;
                err.printf("\rreplay: %,d packets in %.1f s (%,.0f packets/s)%s%n", packets, seconds,
                        packets / Math.max(seconds, 1e-9), " ".repeat(30));
            }
        }
    }

    static int u8(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at));
    }
}
