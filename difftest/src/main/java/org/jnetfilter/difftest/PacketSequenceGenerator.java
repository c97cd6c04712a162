package org.jnetfilter.difftest;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.IcmpHeader;
import org.jnetfilter.core.packet.Icmpv6Header;
import org.jnetfilter.core.packet.TcpHeader;
import org.jnetfilter.difftest.PacketCrafter.Address;
import org.jnetfilter.difftest.PacketCrafter.Ip;

/**
 * Random packet sequences, seeded: scenarios of a few packets each, both directions crafted as the
 * peers would send them, mixed IPv4 and IPv6. Scenarios: TCP handshake, data and teardown (cut at a
 * random point); TCP to a closed port of dut; out-of-window and invalid-flag TCP; UDP request and
 * reply; UDP to dut; ICMP echo through and to dut; an ICMP error quoting an earlier packet (related);
 * fragments; broadcast; TTL/hop limit 1; no route; malformed headers (IPv4 checksum, IHL, total length,
 * TCP data offset, truncated transport).
 */
public final class PacketSequenceGenerator {
    /** A service a realistic ruleset publishes: packets are aimed at it now and then. */
    public record Target(String protocol, Address address, int port) {
    }

    /**
     * The pause before one packet of a sequence with {@link #pauses}: a bucket refilled at 1/s or 2/s gains 1.2
     * or 2.4 tokens, a recent entry ages past {@code --seconds 1}, each by a margin far beyond a jiffy and the
     * wake-up jitter of a sleep, so the kernel and jnetfilter (run on the kernel side's clock) decide alike.
     */
    public static final int PAUSE_MILLIS = 1200;
    /** The short pauses of sequences with {@link #refills}: this many, each of 100 to 400 ms. */
    public static final int SHORT_PAUSES = 2;
    private boolean refills;
    private final SplittableRandom rnd;
    private List<Target> targets = List.of();
    private boolean pauses;
    private int spacingMillis;
    private RulesetGenerator.Features features = RulesetGenerator.Features.ALL;
    private int ephemeral = 30000;
    private int ipId = 1;

    public PacketSequenceGenerator(long seed) {
        this.rnd = new SplittableRandom(seed);
    }

    /** Leaves out the scenarios of features turned off (by the known gaps). */
    public PacketSequenceGenerator features(RulesetGenerator.Features f) {
        this.features = f;
        return this;
    }

    /**
     * At least this many milliseconds between packets (for rulesets whose decisions depend on the jiffy a packet
     * falls in: see {@link RulesetGenerator#jiffySensitive}).
     */
    public PacketSequenceGenerator spacing(int millis) {
        this.spacingMillis = millis;
        return this;
    }

    /** One pause of {@link #PAUSE_MILLIS} before a scenario chosen at random (for time-sensitive rulesets). */
    public PacketSequenceGenerator pauses(boolean on) {
        this.pauses = on;
        return this;
    }

    /**
     * Besides the pause, {@link #SHORT_PAUSES} pauses of 100 to 400 ms before scenarios chosen at random (for token
     * buckets refilled by the second: a token or a few come back, or not, in each).
     */
    public PacketSequenceGenerator refills(boolean on) {
        this.refills = on;
        return this;
    }

    /** Aims a third of the scenarios at these services (ports and addresses a realistic ruleset names). */
    public PacketSequenceGenerator targets(List<Target> t) {
        this.targets = List.copyOf(t);
        return this;
    }

    /**
     * At least {@code n} packets, whole scenarios only: a cut fragment series would leave a reassembly
     * queue in the kernel that outlives the case.
     */
    public List<Injection> generate(int n) {
        List<Injection> out = new ArrayList<>();
        // drawn from a random stream of its own, so sequences without pauses stay as they were
        int pauseAt = pauses ? n / 4 + new SplittableRandom(rnd.nextLong()).nextInt(Math.max(1, n / 2)) : -1;
        boolean paused = false;
        // where each scenario starts: a pause goes before a scenario, never inside one
        List<Integer> starts = new ArrayList<>();
        while (out.size() < n) {
            int first = out.size();
            starts.add(first);
            scenario(out, rnd.nextInt(4) == 0);
            if (!paused && pauseAt >= 0 && first >= pauseAt && first < out.size()) {
                out.set(first, out.get(first).afterPause(PAUSE_MILLIS));
                paused = true;
            }
        }
        if (refills) {
            // a random stream of its own again, so that sequences without short pauses stay as they were
            SplittableRandom r = new SplittableRandom(rnd.nextLong() ^ 0x5EED);
            for (int i = 0; i < SHORT_PAUSES && starts.size() > 1; i++) {
                int at = starts.get(1 + r.nextInt(starts.size() - 1));
                out.set(at, out.get(at).afterPause(Math.max(out.get(at).pauseMillis(), 100 + r.nextInt(301))));
            }
        }
        if (spacingMillis > 0) {
            for (int i = 1; i < out.size(); i++) {
                out.set(i, out.get(i).afterPause(Math.max(out.get(i).pauseMillis(), spacingMillis)));
            }
        }
        return out;
    }

    private Address host(String side, boolean v6, int i) {
        if (v6) {
            return Address.v6(side.equals(Topology.A) ? Topology.NET_A_V6 : Topology.NET_B_V6, 2 + i);
        }
        return Address.v4((side.equals(Topology.A) ? Topology.HOST_A_V4 : Topology.HOST_B_V4) + i);
    }

    private Address anyHost(String side, boolean v6) {
        return host(side, v6, rnd.nextInt(Topology.HOSTS));
    }

    private Address dut(String side, boolean v6) {
        if (v6) {
            return Address.v6(side.equals(Topology.A) ? Topology.NET_A_V6 : Topology.NET_B_V6, 1);
        }
        return Address.v4(side.equals(Topology.A) ? Topology.DUT_A_V4 : Topology.DUT_B_V4);
    }

    private static String other(String side) {
        return side.equals(Topology.A) ? Topology.B : Topology.A;
    }

    private int port() {
        return RulesetGenerator.PORTS[rnd.nextInt(RulesetGenerator.PORTS.length)];
    }

    private int sourcePort() {
        return rnd.nextInt(4) == 0 ? port() : ephemeral++;
    }

    private Ip ip(Address s, Address d) {
        return Ip.of(s, d).id(ipId++ & 0xFFFF);
    }

    private static int tcpProto(boolean v6) {
        return Checksums.PROTO_TCP;
    }

    private static Injection inj(String side, byte[] ipPacket, String label) {
        return new Injection(side, PacketCrafter.frame(side, ipPacket), label);
    }

    private void scenario(List<Injection> out, boolean v6) {
        String side = rnd.nextInt(3) == 0 ? Topology.B : Topology.A;
        if (!targets.isEmpty() && rnd.nextInt(3) == 0) {
            Target t = targets.get(rnd.nextInt(targets.size()));
            if (t.address().v6() == v6 || !targets.stream().anyMatch(x -> x.address().v6() == v6)) {
                toTarget(out, t, t.address().v6());
                return;
            }
        }
        int kind = rnd.nextInt(16);
        switch (kind) {
            case 14 -> {
                if (v6 ? features.on("srh") : features.on("ipv4-options")) {
                    if (v6) {
                        segmentRouted(out, side);
                    } else {
                        withOptions(out, side);
                    }
                } else {
                    udpFlow(out, v6, side);
                }
                return;
            }
            case 15 -> {
                udpFlow(out, v6, side);
                return;
            }
            case 0, 1, 2 -> tcpFlow(out, v6, side, anyHost(side, v6), anyHost(other(side), v6), true);
            case 3 -> tcpFlow(out, v6, side, anyHost(side, v6), rnd.nextBoolean() ? dut(side, v6)
                    : dut(other(side), v6), false);
            case 4 -> tcpInvalid(out, v6, side);
            case 5, 6 -> udpFlow(out, v6, side);
            case 7 -> echo(out, v6, side);
            case 8 -> fragments(out, v6, side);
            case 9 -> ttlOne(out, v6, side);
            case 10 -> {
                if (v6 || features.on("ipv4-no-route")) {
                    noRoute(out, v6, side);
                } else {
                    ttlOne(out, v6, side);
                }
            }
            case 11 -> broadcast(out, side);
            default -> malformed(out, v6, side);
        }
    }

    private void tcpFlow(List<Injection> out, boolean v6, String side, Address client, Address server,
            boolean serverAnswers) {
        int sport = sourcePort();
        int dport = port();
        long cseq = rnd.nextLong(1L << 32);
        long sseq = rnd.nextLong(1L << 32);
        String peer = other(side);
        String f = "tcp " + client + ":" + sport + " > " + server + ":" + dport;
        int steps = 1 + rnd.nextInt(8);
        out.add(inj(side, PacketCrafter.ip(ip(client, server), tcpProto(v6),
                PacketCrafter.tcpSyn(sport, dport, cseq, 0, TcpHeader.SYN, 1460)), f + " SYN"));
        if (!serverAnswers || steps < 2) {
            return;
        }
        out.add(inj(peer, PacketCrafter.ip(ip(server, client), tcpProto(v6),
                PacketCrafter.tcpSyn(dport, sport, sseq, cseq + 1, TcpHeader.SYN | TcpHeader.ACK, 1400)),
                f + " SYN-ACK"));
        long c = cseq + 1;
        long s = sseq + 1;
        if (steps < 3) {
            return;
        }
        out.add(inj(side, PacketCrafter.ip(ip(client, server), tcpProto(v6),
                PacketCrafter.tcp(sport, dport, c, s, TcpHeader.ACK, 502, 0)), f + " ACK"));
        if (steps < 4) {
            return;
        }
        int data = 1 + rnd.nextInt(100);
        if (rnd.nextInt(4) == 0) {
            // out of window: far beyond what the server advertised
            out.add(inj(side, PacketCrafter.ip(ip(client, server), tcpProto(v6),
                    PacketCrafter.tcp(sport, dport, (c + 5_000_000) & 0xFFFF_FFFFL, s,
                            TcpHeader.ACK | TcpHeader.PSH, 502, data)), f + " data out of window"));
        } else {
            out.add(inj(side, PacketCrafter.ip(ip(client, server), tcpProto(v6),
                    PacketCrafter.tcp(sport, dport, c, s, TcpHeader.ACK | TcpHeader.PSH, 502, data)), f + " data"));
            c = (c + data) & 0xFFFF_FFFFL;
        }
        if (steps < 5) {
            return;
        }
        out.add(inj(peer, PacketCrafter.ip(ip(server, client), tcpProto(v6),
                PacketCrafter.tcp(dport, sport, s, c, TcpHeader.ACK, 510, 0)), f + " ACK of data"));
        if (steps < 6) {
            return;
        }
        if (rnd.nextInt(3) == 0) {
            out.add(inj(peer, PacketCrafter.ip(ip(server, client), tcpProto(v6),
                    PacketCrafter.tcp(dport, sport, s, c, TcpHeader.RST | TcpHeader.ACK, 0, 0)), f + " RST"));
            return;
        }
        out.add(inj(side, PacketCrafter.ip(ip(client, server), tcpProto(v6),
                PacketCrafter.tcp(sport, dport, c, s, TcpHeader.FIN | TcpHeader.ACK, 502, 0)), f + " FIN"));
        if (steps < 7) {
            return;
        }
        out.add(inj(peer, PacketCrafter.ip(ip(server, client), tcpProto(v6),
                PacketCrafter.tcp(dport, sport, s, c + 1, TcpHeader.FIN | TcpHeader.ACK, 510, 0)), f + " FIN-ACK"));
        if (steps < 8) {
            return;
        }
        out.add(inj(side, PacketCrafter.ip(ip(client, server), tcpProto(v6),
                PacketCrafter.tcp(sport, dport, c + 1, s + 1, TcpHeader.ACK, 502, 0)), f + " last ACK"));
    }

    private void toTarget(List<Injection> out, Target t, boolean v6) {
        // from the side the target is not on: a packet that left by the interface it came in on would
        // make dut send a redirect, which the kernel limits per source across cases
        boolean onA = !v6 && (t.address().lo() & 0xFFFFFF00L) == (Topology.HOST_A_V4 & 0xFFFFFF00L);
        String side = onA ? Topology.B : Topology.A;
        Address client = anyHost(side, v6);
        if (t.protocol().equals("tcp")) {
            tcpFlowTo(out, v6, side, client, t.address(), t.port());
        } else {
            int sport = sourcePort();
            out.add(inj(side, PacketCrafter.ip(ip(client, t.address()), Checksums.PROTO_UDP,
                    PacketCrafter.udp(sport, t.port(), rnd.nextInt(64))),
                    "udp " + client + ":" + sport + " > " + t.address() + ":" + t.port()));
        }
    }

    private void tcpFlowTo(List<Injection> out, boolean v6, String side, Address client, Address server, int dport) {
        int sport = sourcePort();
        long cseq = rnd.nextLong(1L << 32);
        String f = "tcp " + client + ":" + sport + " > " + server + ":" + dport;
        out.add(inj(side, PacketCrafter.ip(ip(client, server), Checksums.PROTO_TCP,
                PacketCrafter.tcpSyn(sport, dport, cseq, 0, TcpHeader.SYN, 1460)), f + " SYN"));
        if (rnd.nextBoolean()) {
            out.add(inj(side, PacketCrafter.ip(ip(client, server), Checksums.PROTO_TCP,
                    PacketCrafter.tcp(sport, dport, cseq + 1, 0, TcpHeader.RST, 0, 0)), f + " RST"));
        }
    }

    private void tcpInvalid(List<Injection> out, boolean v6, String side) {
        Address client = anyHost(side, v6);
        Address server = anyHost(other(side), v6);
        int[] flags = {TcpHeader.SYN | TcpHeader.FIN, 0, TcpHeader.SYN | TcpHeader.RST, TcpHeader.ACK,
            TcpHeader.FIN | TcpHeader.PSH | TcpHeader.URG, TcpHeader.RST};
        int f = flags[rnd.nextInt(flags.length)];
        int sport = sourcePort();
        int dport = port();
        out.add(inj(side, PacketCrafter.ip(ip(client, server), Checksums.PROTO_TCP,
                PacketCrafter.tcp(sport, dport, rnd.nextLong(1L << 32), rnd.nextLong(1L << 32), f, 1000, 0)),
                "tcp " + client + ":" + sport + " > " + server + ":" + dport + " flags [" + Frames.flags(f) + "]"));
    }

    private void udpFlow(List<Injection> out, boolean v6, String side) {
        Address client = anyHost(side, v6);
        boolean toDut = rnd.nextInt(4) == 0;
        Address server = toDut ? dut(rnd.nextBoolean() ? side : other(side), v6) : anyHost(other(side), v6);
        int sport = sourcePort();
        int dport = port();
        String f = "udp " + client + ":" + sport + " > " + server + ":" + dport;
        byte[] request = PacketCrafter.ip(ip(client, server), Checksums.PROTO_UDP,
                PacketCrafter.udp(sport, dport, rnd.nextInt(64)));
        out.add(inj(side, request, f));
        if (toDut) {
            return;
        }
        switch (rnd.nextInt(3)) {
            case 0 -> out.add(inj(other(side), PacketCrafter.ip(ip(server, client), Checksums.PROTO_UDP,
                    PacketCrafter.udp(dport, sport, rnd.nextInt(64))), f + " reply"));
            case 1 -> {
                // the server's host says port unreachable: an error related to the flow
                byte[] err = v6 ? PacketCrafter.icmpError(true, Icmpv6Header.DEST_UNREACH, 4, 0, request)
                        : PacketCrafter.icmpError(false, IcmpHeader.DEST_UNREACH, IcmpHeader.CODE_PORT_UNREACH, 0,
                                request);
                out.add(inj(other(side), PacketCrafter.ip(ip(server, client),
                        v6 ? Checksums.PROTO_ICMPV6 : Checksums.PROTO_ICMP, err), f + " port unreachable"));
            }
            default -> {
            }
        }
    }

    private void echo(List<Injection> out, boolean v6, String side) {
        Address client = anyHost(side, v6);
        boolean toDut = rnd.nextInt(3) == 0;
        Address server = toDut ? dut(rnd.nextBoolean() ? side : other(side), v6) : anyHost(other(side), v6);
        int id = rnd.nextInt(65536);
        int proto = v6 ? Checksums.PROTO_ICMPV6 : Checksums.PROTO_ICMP;
        String f = "echo " + client + " > " + server + " id " + id;
        out.add(inj(side, PacketCrafter.ip(ip(client, server), proto,
                PacketCrafter.echo(v6 ? Icmpv6Header.ECHO_REQUEST : IcmpHeader.ECHO_REQUEST, id, 1, 16)), f));
        if (!toDut && rnd.nextBoolean()) {
            out.add(inj(other(side), PacketCrafter.ip(ip(server, client), proto,
                    PacketCrafter.echo(v6 ? Icmpv6Header.ECHO_REPLY : IcmpHeader.ECHO_REPLY, id, 1, 16)), f + " reply"));
        }
    }

    private void fragments(List<Injection> out, boolean v6, String side) {
        Address client = anyHost(side, v6);
        boolean toDut = rnd.nextInt(4) == 0 && features.on("local-fragments");
        Address server = toDut ? dut(side, v6) : anyHost(other(side), v6);
        int sport = sourcePort();
        int dport = port();
        byte[] whole = PacketCrafter.ip(ip(client, server).flags(0), Checksums.PROTO_UDP,
                PacketCrafter.udp(sport, dport, 40 + rnd.nextInt(120)));
        // at least two fragments: a lone "atomic" fragment is quoted with its Fragment header by Linux's
        // IPv6 errors, which the harness's local stack does not model
        int payload = whole.length - (v6 ? 40 : 20);
        int chunk = Math.min(8 * (3 + rnd.nextInt(6)), ((payload - 1) / 8) * 8);
        List<byte[]> frags = PacketCrafter.fragments(whole, chunk, ipId++);
        String f = "udp " + client + ":" + sport + " > " + server + ":" + dport + " fragment ";
        boolean reverse = rnd.nextInt(3) == 0;
        for (int i = 0; i < frags.size(); i++) {
            int k = reverse ? frags.size() - 1 - i : i;
            out.add(inj(side, frags.get(k), f + (k + 1) + "/" + frags.size()));
        }
    }

    /**
     * An IPv4 datagram with options (RFC 791): a TCP SYN, a UDP datagram or an echo request, forwarded or (a third of
     * the time) addressed to dut, whose answers (a closed port's reset, a port unreachable, an echo reply) echo the
     * options; forwarded ones now and then with TTL 1 (the time exceeded error echoes them). The options
     * ({@link #ipv4Options}) are record route and timestamp in their states (room left, full, overflowing), source
     * routes (dut refuses them: accept_source_route is off), router alert, security, unknown options and NOPs, and
     * a few malformed ones (parameter problem). dut writes its clock into timestamp options: the comparison takes
     * a time of day written by both sides by rule ({@link Comparison}).
     */
    private void withOptions(List<Injection> out, String side) {
        Address client = anyHost(side, false);
        boolean toDut = rnd.nextInt(3) == 0;
        Address server = toDut ? dut(rnd.nextBoolean() ? side : other(side), false) : anyHost(other(side), false);
        int sport = sourcePort();
        int dport = port();
        int kind = rnd.nextInt(3);
        boolean ttlOne = !toDut && rnd.nextInt(5) == 0;
        Ip header = ip(client, server).ttl(ttlOne ? 1 : 64);
        byte[] plain = switch (kind) {
            case 0 -> PacketCrafter.ip(header, Checksums.PROTO_UDP, PacketCrafter.udp(sport, dport, rnd.nextInt(40)));
            case 1 -> PacketCrafter.ip(header, Checksums.PROTO_TCP,
                    PacketCrafter.tcpSyn(sport, dport, rnd.nextLong(1L << 32), 0, TcpHeader.SYN, 1460));
            default -> PacketCrafter.ip(header, Checksums.PROTO_ICMP,
                    PacketCrafter.echo(IcmpHeader.ECHO_REQUEST, rnd.nextInt(65536), 1, 8 + rnd.nextInt(24)));
        };
        StringBuilder names = new StringBuilder();
        byte[] opts = ipv4Options(client, server, names);
        byte[] p = new byte[plain.length + opts.length];
        System.arraycopy(plain, 0, p, 0, 20);
        System.arraycopy(opts, 0, p, 20, opts.length);
        System.arraycopy(plain, 20, p, 20 + opts.length, plain.length - 20);
        p[0] = (byte) (0x40 | (20 + opts.length) / 4);
        p[2] = (byte) (p.length >> 8);
        p[3] = (byte) p.length;
        fixV4Checksum(p);
        String what = kind == 0 ? "udp " + client + ":" + sport + " > " + server + ":" + dport
                : kind == 1 ? "tcp SYN " + client + ":" + sport + " > " + server + ":" + dport
                        : "echo " + client + " > " + server;
        out.add(inj(side, p, what + " with IPv4 options (" + names + ")" + (ttlOne ? " ttl 1" : "")));
    }

    /**
     * One or two IPv4 options, padded with end-of-list bytes to a multiple of 4 (at most 40 bytes); their names go to
     * {@code names}. Addresses in them are dut's, the sender's or the destination's.
     */
    private byte[] ipv4Options(Address client, Address server, StringBuilder names) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        int count = rnd.nextInt(4) == 0 ? 2 : 1;
        boolean rr = false;
        boolean ts = false;
        for (int i = 0; i < count; i++) {
            int pick = rnd.nextInt(12);
            if (pick < 3 && rr || pick >= 3 && pick < 7 && ts) {
                pick = 9; // one record route and one timestamp at most (a second is a parameter problem, drawn below)
            }
            if (names.length() > 0) {
                names.append(", ");
            }
            switch (pick) {
                case 0, 1, 2 -> {
                    rr = true;
                    // record route: 1 to 3 slots, pointer at the first, a later one, or past the end (full)
                    int slots = 1 + rnd.nextInt(3);
                    int filled = rnd.nextInt(slots + 1);
                    o.write(7);
                    o.write(3 + 4 * slots);
                    o.write(4 + 4 * filled);
                    for (int k = 0; k < slots; k++) {
                        writeAddress(o, k < filled ? client.v4() : 0);
                    }
                    names.append("record route ").append(filled).append('/').append(slots);
                }
                case 3, 4, 5, 6 -> {
                    ts = true;
                    names.append(timestamp(o, client, server));
                }
                case 7 -> {
                    // a source route through the destination: refused (accept_source_route 0), dropped silently
                    boolean strict = rnd.nextBoolean();
                    o.write(strict ? 137 : 131);
                    o.write(7);
                    o.write(4);
                    writeAddress(o, server.v4());
                    names.append(strict ? "strict" : "loose").append(" source route");
                }
                case 8 -> {
                    o.write(0x94);
                    o.write(4);
                    o.write(0);
                    o.write(0);
                    names.append("router alert");
                }
                case 9 -> {
                    // unknown options, copied (0x9f) or not (0x1e), and the security option (130): passed, not echoed
                    int[] types = {0x9f, 0x1e, 130};
                    int type = types[rnd.nextInt(types.length)];
                    int len = type == 130 ? 11 : 2 + rnd.nextInt(4);
                    o.write(type);
                    o.write(len);
                    for (int k = 2; k < len; k++) {
                        o.write(rnd.nextInt(256));
                    }
                    names.append("option ").append(type);
                }
                case 10 -> {
                    o.write(1);
                    o.write(1);
                    names.append("NOPs");
                }
                default -> {
                    // malformed: parameter problem at the offending byte
                    switch (rnd.nextInt(4)) {
                        case 0 -> {
                            o.write(7);
                            o.write(7);
                            o.write(3); // pointer below 4
                            writeAddress(o, 0);
                            names.append("record route pointer 3");
                        }
                        case 1 -> {
                            o.write(68);
                            o.write(3); // shorter than 4
                            o.write(5);
                            names.append("timestamp length 3");
                        }
                        case 2 -> {
                            o.write(0x9f);
                            o.write(1); // length below 2
                            names.append("option length 1");
                        }
                        default -> {
                            // two record routes
                            for (int k = 0; k < 2; k++) {
                                o.write(7);
                                o.write(7);
                                o.write(4);
                                writeAddress(o, 0);
                            }
                            names.append("two record routes");
                        }
                    }
                }
            }
        }
        byte[] b = o.toByteArray();
        if (b.length > 40) {
            b = java.util.Arrays.copyOf(b, 40);
            names.append(" (cut at 40 bytes)");
        }
        return java.util.Arrays.copyOf(b, (b.length + 3) & ~3);
    }

    /**
     * A timestamp option (type 68): flag 0 (times), 1 (address and time) or 3 (prespecified addresses: dut's
     * interfaces, the sender or the destination), 1 to 3 entries, the pointer at the first, a later one or past the
     * end, then an overflow count (15 now and then: a full option that overflows once more is a parameter problem).
     * Returns its name.
     */
    private String timestamp(java.io.ByteArrayOutputStream o, Address client, Address server) {
        int[] flagChoices = {0, 1, 3};
        int flag = flagChoices[rnd.nextInt(flagChoices.length)];
        int entry = flag == 0 ? 4 : 8;
        int entries = 1 + rnd.nextInt(flag == 0 ? 4 : 3);
        int done = rnd.nextInt(3) == 0 ? entries : rnd.nextInt(entries);
        int overflow = done == entries ? new int[] {0, 1, 14, 15}[rnd.nextInt(4)] : 0;
        o.write(68);
        o.write(4 + entry * entries);
        o.write(5 + entry * done);
        o.write(overflow << 4 | flag);
        int[] prespecified = {Topology.DUT_A_V4, Topology.DUT_B_V4, client.v4(), server.v4()};
        for (int k = 0; k < entries; k++) {
            if (flag != 0) {
                writeAddress(o, flag == 3 ? prespecified[rnd.nextInt(prespecified.length)] : k < done ? client.v4() : 0);
            }
            // times others wrote before dut: fixed values, compared as they are
            writeAddress(o, k < done ? 1000 * (k + 1) : 0);
        }
        return "timestamp flag " + flag + " " + done + "/" + entries + (overflow != 0 ? " overflow " + overflow : "");
    }

    private static void writeAddress(java.io.ByteArrayOutputStream o, int a) {
        o.write(a >>> 24);
        o.write(a >>> 16);
        o.write(a >>> 8);
        o.write(a);
    }

    /**
     * A forwarded IPv6 UDP datagram with a Segment Routing Header (RFC 8754, routing type 4): two segments, both
     * the destination (so the transport checksum's destination is the same whichever a node takes), segments
     * left 1 or 0; dut is not the destination, so it forwards the datagram as it is.
     */
    private void segmentRouted(List<Injection> out, String side) {
        Address client = anyHost(side, true);
        Address server = anyHost(other(side), true);
        int sport = sourcePort();
        int dport = port();
        byte[] udp = PacketCrafter.udp(sport, dport, rnd.nextInt(40));
        int left = rnd.nextInt(2);
        int tag = rnd.nextInt(3) == 0 ? 7 : 0;
        byte[] srh = new byte[8 + 32];
        srh[0] = (byte) Checksums.PROTO_UDP;
        srh[1] = 4; // 8-octet units beyond the first 8: two segments
        srh[2] = 4; // routing type: segment routing
        srh[3] = (byte) left;
        srh[4] = 1; // last entry
        srh[6] = (byte) (tag >> 8);
        srh[7] = (byte) tag;
        for (int seg = 0; seg < 2; seg++) {
            for (int i = 0; i < 8; i++) {
                srh[8 + 16 * seg + i] = (byte) (server.hi() >>> (56 - 8 * i));
                srh[8 + 16 * seg + 8 + i] = (byte) (server.lo() >>> (56 - 8 * i));
            }
        }
        byte[] whole = PacketCrafter.ip(ip(client, server), Checksums.PROTO_UDP, udp);
        byte[] p = new byte[whole.length + srh.length];
        System.arraycopy(whole, 0, p, 0, 40);
        System.arraycopy(srh, 0, p, 40, srh.length);
        System.arraycopy(whole, 40, p, 40 + srh.length, whole.length - 40);
        p[6] = 43; // next header: routing
        int payload = p.length - 40;
        p[4] = (byte) (payload >> 8);
        p[5] = (byte) payload;
        out.add(inj(side, p, "udp " + client + ":" + sport + " > " + server + ":" + dport + " with SRH (segments left "
                + left + (tag != 0 ? ", tag " + tag : "") + ")"));
    }

    private void ttlOne(List<Injection> out, boolean v6, String side) {
        Address client = anyHost(side, v6);
        Address server = anyHost(other(side), v6);
        int sport = sourcePort();
        int dport = port();
        out.add(inj(side, PacketCrafter.ip(ip(client, server).ttl(1), Checksums.PROTO_UDP,
                PacketCrafter.udp(sport, dport, 8)), "udp ttl 1 " + client + ":" + sport + " > " + server + ":" + dport));
    }

    private void noRoute(List<Injection> out, boolean v6, String side) {
        // IPv4: a sender of the no-route pool (Topology.NO_ROUTE_FIRST), drawn afresh for every run
        Address client = v6 ? anyHost(side, v6) : Address.v4((side.equals(Topology.A) ? Topology.HOST_A_V4
                : Topology.HOST_B_V4) - 2 + Topology.NO_ROUTE_FIRST + rnd.nextInt(Topology.NO_ROUTE_SENDERS));
        Address nowhere = v6 ? Address.v6(0x2001_0db9_0000_0000L, 1) : Address.v4(0x0a090001);
        int sport = sourcePort();
        out.add(inj(side, PacketCrafter.ip(ip(client, nowhere), Checksums.PROTO_TCP,
                PacketCrafter.tcpSyn(sport, 80, rnd.nextLong(1L << 32), 0, TcpHeader.SYN, 1460)),
                "tcp SYN to nowhere " + client + ":" + sport + " > " + nowhere + ":80"));
    }

    private void broadcast(List<Injection> out, String side) {
        Address client = anyHost(side, false);
        boolean limited = rnd.nextBoolean();
        Address to = limited ? Address.v4(0xFFFF_FFFF) : Address.v4((side.equals(Topology.A) ? 0x0a0100ff : 0x0a0200ff));
        int dport = port();
        byte[] p = PacketCrafter.ip(ip(client, to), Checksums.PROTO_UDP, PacketCrafter.udp(sourcePort(), dport, 12));
        out.add(new Injection(side, PacketCrafter.frame(side, org.jnetfilter.core.packet.EthernetHeader.BROADCAST, p),
                "udp broadcast " + client + " > " + to + ":" + dport));
    }

    private void malformed(List<Injection> out, boolean v6, String side) {
        Address client = anyHost(side, v6);
        int kind = rnd.nextInt(v6 ? 3 : 6);
        // a lone fragment for dut would sit in its reassembly queue past the case: always a forwarded one
        boolean lonelyFragment = kind == 5;
        Address server = rnd.nextBoolean() || lonelyFragment ? anyHost(other(side), v6) : dut(side, v6);
        int sport = sourcePort();
        int dport = port();
        byte[] p = PacketCrafter.ip(ip(client, server), Checksums.PROTO_TCP,
                PacketCrafter.tcp(sport, dport, 1, 0, TcpHeader.SYN, 1000, 0));
        String f = "tcp " + client + ":" + sport + " > " + server + ":" + dport;
        switch (kind) {
            case 0 -> {
                int l4 = v6 ? 40 : 20;
                p[l4 + 12] = (byte) 0x30; // data offset 3 words: shorter than the header
                out.add(inj(side, p, f + " data offset 3"));
            }
            case 1 -> {
                byte[] cut = java.util.Arrays.copyOf(p, p.length - 8);
                if (v6) {
                    cut[5] = (byte) (cut.length - 40);
                } else {
                    cut[3] = (byte) cut.length;
                    fixV4Checksum(cut);
                }
                out.add(inj(side, cut, f + " truncated TCP header"));
            }
            case 2 -> {
                if (v6) {
                    p[5] = (byte) (p[5] + 20); // payload length beyond the frame
                } else {
                    p[3] = (byte) (p[3] + 20);
                    fixV4Checksum(p);
                }
                out.add(inj(side, p, f + " length beyond frame"));
            }
            case 3 -> {
                p[10] ^= 0x5A;
                out.add(inj(side, p, f + " bad IPv4 header checksum"));
            }
            case 4 -> {
                p[0] = 0x44; // IHL 4
                fixV4Checksum(p);
                out.add(inj(side, p, f + " IHL 4"));
            }
            default -> {
                p[6] = 0x20; // MF on a non-fragment-sized first fragment whose rest never comes
                fixV4Checksum(p);
                out.add(inj(side, p, f + " lone first fragment"));
            }
        }
    }

    private static void fixV4Checksum(byte[] p) {
        var s = java.lang.foreign.MemorySegment.ofArray(p);
        new org.jnetfilter.core.packet.Ipv4Header().wrap(s, 0).checksum(0);
        int hl = Math.max(20, (p[0] & 0xF) * 4);
        if (hl > p.length) {
            return;
        }
        Be.u16(s, 10, Checksums.internet(s, 0, hl));
    }
}
