package org.jnetfilter.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.HostFileException;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.iptables.SaveFiles;

/**
 * {@code jnf trace --rules SAVE [--rules6 SAVE6] [--host HOST] 'PACKET'}: what a node's rules do to one
 * packet, hook by hook and rule by rule (see {@link PacketSpec} for the packet, {@link TracePrinter} for the
 * output, {@link DerivedHost} for the host assumed without {@code --host}).
 */
final class TraceCommand {
    private TraceCommand() {
    }

    static final String USAGE = """
            Usage: jnf trace --rules SAVE [--rules6 SAVE6] [--host HOST] [--ipsets SETS] [--uid N [--gid N]]
                             [--json] 'PACKET'

            Shows every hook, table, chain and rule PACKET visits on a host with the rules of SAVE (an
            iptables-save file; SAVE6 for IPv6 packets, else SAVE is read as ip6tables-save for them),
            what each target did, the route decisions, and how the packet ends.

            PACKET:  PROTO SRC[:PORT] -> DST[:PORT] [in IF|@local] [out IF] [flags S|SA|A|F|R|P...]
                     [mark M] [len N] [ttl N] [tos N] [type T] [code C] [df] [payload TEXT]
              e.g.   'tcp 10.0.0.2:40000 -> 172.30.0.44:80 in eth0'
                     'udp [2001:db8::2]:5000 -> [2001:db8::1]:53 in eth0'
                     'icmp 10.1.0.1 -> 8.8.8.8 in @local'
            The packet is the first of a new connection (TCP: a SYN) unless its flags say otherwise.

            HOST:    a file of ip commands without the leading `ip` (link add, addr add, route add, rule add,
                     neigh add) and sysctl name=value lines; without it a host is derived from the packet and
                     the rules, and printed first.
            SETS:    the sets the rules name (-m set, -j SET), as ipset save writes them.
            --uid N  a locally generated packet comes from a socket of user N (group --gid, else N): what
                     -m owner matches, LOG --log-uid prints and NFLOG sends; without it the packet is the
                     kernel's own (no socket). NFLOG events show the group and the bytes copied.
            --json   one JSON object: the packet, the host, the events (each with its depth of nesting,
                     kind, text and fields) and the verdict.""";

    /** An Ethernet frame to {@code mac} from the neighbour 02:00:00:00:00:fe carrying {@code datagram}. */
    static MemorySegment frame(long mac, MemorySegment datagram) {
        byte[] f = new byte[14 + (int) datagram.byteSize()];
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) (mac >>> (40 - 8 * i));
        }
        f[6] = 0x02;
        f[11] = (byte) 0xfe;
        boolean v4 = (Byte.toUnsignedInt(datagram.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)) >>> 4) == 4;
        f[12] = (byte) (v4 ? 0x08 : 0x86);
        f[13] = (byte) (v4 ? 0x00 : 0xDD);
        MemorySegment.copy(datagram, 0, MemorySegment.ofArray(f), 14, datagram.byteSize());
        return MemorySegment.ofArray(f);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        String rules = null;
        String rules6 = null;
        String hostFile = null;
        boolean json = false;
        String ipsets = null;
        long uid = -1;
        long gid = -1;
        List<String> words = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-h", "--help" -> {
                    out.println(USAGE);
                    return 0;
                }
                case "--json" -> json = true;
                case "--uid", "--gid" -> {
                    long id = i + 1 < args.length ? ReplayCommand.id(args[i + 1]) : -1;
                    if (id < 0) {
                        err.println("jnf trace: " + a + " wants a number from 0 to 4294967294");
                        return 2;
                    }
                    i++;
                    if (a.equals("--uid")) {
                        uid = id;
                    } else {
                        gid = id;
                    }
                }
                case "--rules", "--rules6", "--host", "--ipsets" -> {
                    if (i + 1 >= args.length) {
                        err.println("jnf trace: " + a + " needs a file");
                        return 2;
                    }
                    String v = args[++i];
                    switch (a) {
                        case "--rules" -> rules = v;
                        case "--rules6" -> rules6 = v;
                        case "--ipsets" -> ipsets = v;
                        default -> hostFile = v;
                    }
                }
                default -> {
                    if (a.startsWith("--")) {
                        err.println("jnf trace: unknown option " + a);
                        err.println(USAGE);
                        return 2;
                    }
                    words.add(a);
                }
            }
        }
        if (rules == null || words.isEmpty()) {
            err.println(USAGE);
            return 2;
        }
        PacketSpec spec;
        try {
            spec = PacketSpec.parse(String.join(" ", words));
        } catch (PacketSpec.Invalid e) {
            err.println("jnf trace: " + e.getMessage());
            return 2;
        }
        Ruleset ruleset;
        Ruleset other = null;
        long now = System.currentTimeMillis() * 1_000_000L;
        try {
            if (ipsets != null) {
                String problem = SetFiles.install(Path.of(ipsets), now);
                if (problem != null) {
                    err.println("jnf trace: " + problem);
                    return 1;
                }
            }
            if (spec.family() == Family.IPV4) {
                ruleset = SaveFiles.read(Family.IPV4, Path.of(rules));
            } else {
                ruleset = SaveFiles.read(Family.IPV6, Path.of(rules6 != null ? rules6 : rules));
            }
        } catch (NoSuchFileException e) {
            err.println("jnf trace: " + e.getFile() + ": No such file or directory");
            return 1;
        } catch (IOException e) {
            err.println("jnf trace: " + e.getMessage());
            return 1;
        } catch (SaveFiles.Invalid e) {
            err.println("jnf trace: " + (spec.family() == Family.IPV4 || rules6 == null ? rules : rules6) + ":");
            err.println(e.getMessage());
            return 1;
        }
        Host host;
        String derived = null;
        try {
            if (hostFile != null) {
                host = HostFile.readRunning(Path.of(hostFile));
            for (String notice : host.notices()) {
                err.println("jnf trace: %s: %s".formatted(hostFile, notice));
            }
            } else {
                derived = DerivedHost.forPacket(spec, other == null ? List.of(ruleset) : List.of(ruleset, other));
                host = HostFile.parseRunning("derived host", derived);
            }
        } catch (NoSuchFileException e) {
            err.println("jnf trace: " + e.getFile() + ": No such file or directory");
            return 1;
        } catch (IOException e) {
            err.println("jnf trace: " + e.getMessage());
            return 1;
        } catch (HostFileException e) {
            err.println("jnf trace: " + e.getMessage());
            return 1;
        }
        String in = spec.locallyGenerated() ? null : spec.in().isEmpty() ? "eth0" : spec.in();
        if (in != null && host.link(in) == null) {
            err.println("jnf trace: the host has no interface " + in + (hostFile != null ? " (" + hostFile + ")" : ""));
            return 1;
        }
        TracePrinter printer = new TracePrinter();
        Datapath datapath = Engine.datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet) {
            }
        }, 0);
        datapath.logSink((level, line) -> printer.logged(line));
        datapath.nflogSink((pkt, group, prefix, copyLength, threshold) -> printer.nflogged(group, prefix, copyLength,
                pkt.length()));
        datapath.rules(spec.family(), ruleset);
        printer.observe(datapath, spec.mark());

        MemorySegment bytes = spec.bytes();
        try {
            if (in == null) {
                datapath.sendLocal(bytes, now, printer, uid, uid < 0 ? -1 : gid < 0 ? uid : gid);
            } else if (host.link(in).isBridgePort()) {
                // a bridge port: the datapath frames it as a host on the segment would address it (the bridge's MAC
                // when routed by this host, else the destination's), so that it is bridged or goes up as it would
                datapath.receive(in, bytes, false, now, printer);
            } else {
                // as a frame from a neighbour to the interface's MAC, so that LOG shows MAC= as Linux does
                datapath.receive(in, frame(host.link(in).mac(), bytes), true, now, printer);
            }
        } catch (UnsupportedOperationException e) {
            out.print(printer.text());
            err.println("jnf trace: " + e.getMessage() + " (jnetfilter cannot evaluate this rule on packets yet)");
            return 3;
        }
        TracePrinter.Outcome o = printer.outcome();
        if (json) {
            StringBuilder sb = new StringBuilder("{\"packet\":");
            VerdictRecorder.str(sb, spec.describe());
            sb.append(",\"host\":");
            VerdictRecorder.str(sb, derived != null ? derived : hostFile);
            sb.append(",\"host_derived\":").append(derived != null);
            sb.append(",\"events\":").append(printer.json());
            sb.append(",\"verdict\":");
            VerdictRecorder.str(sb, o == null ? null : o.verdict());
            sb.append(",\"egress\":");
            VerdictRecorder.str(sb, o == null ? null : o.egress());
            sb.append(",\"egress_packet\":");
            VerdictRecorder.str(sb, o == null ? null : o.packet());
            out.println(sb.append('}'));
            return 0;
        }
        out.println("packet  " + spec.describe());
        if (derived != null) {
            out.println("host    derived from the packet and the rules (give --host FILE for your own):");
            for (String l : derived.split("\n")) {
                out.println("          " + l);
            }
        } else {
            out.println("host    " + hostFile);
        }
        out.println();
        out.print(printer.text());
        out.println();
        if (o == null) {
            out.println("verdict (no outcome reported)");
        } else if (o.egress() == null) {
            out.println("verdict " + o.verdict());
        } else if (o.egress().equals("@local")) {
            out.println("verdict " + o.verdict() + ": delivered to a local socket as " + o.packet());
        } else {
            out.println("verdict " + o.verdict() + ": out " + o.egress() + " as " + o.packet());
        }
        return 0;
    }
}
