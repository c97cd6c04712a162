package org.jnetfilter.core.netfilter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.packet.Ipv4Header;
import org.jnetfilter.core.reply.Reply;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;
import org.jnetfilter.core.rules.TableKind;

/**
 * A datapath on a small router for scenario tests, with a sink and a trace that record what happens as text, and a
 * reply builder that makes simple but real ICMP errors (what the path asked for, not the kernel's exact bytes:
 * those are the reply builders' own tests).
 *
 * <pre>
 *   eth0 02:00:00:00:00:01 10.0.1.1/24   (clients; 10.0.1.10 is 02:00:00:00:01:0a)
 *   eth1 02:00:00:00:00:02 10.0.2.1/24   (servers; 10.0.2.20 is 02:00:00:00:02:14), mtu 1500
 *   eth2 02:00:00:00:00:03 10.0.3.1/24   (the fwmark 0x1 uplink: table 100 default via 10.0.3.254)
 *   default via 10.0.2.254
 * </pre>
 */
final class DatapathHarness {
    static final long ETH0_MAC = 0x020000000001L;
    static final long ETH1_MAC = 0x020000000002L;
    static final long CLIENT_MAC = 0x02000000010AL;
    static final long SERVER_MAC = 0x020000000214L;
    static final int CLIENT = Fixtures.ip(10, 0, 1, 10);
    static final int SERVER = Fixtures.ip(10, 0, 2, 20);
    static final int ETH0_ADDR = Fixtures.ip(10, 0, 1, 1);
    static final int ETH1_ADDR = Fixtures.ip(10, 0, 2, 1);

    static final String HOST = """
            link add eth0 address 02:00:00:00:00:01
            link set eth0 up
            addr add 10.0.1.1/24 dev eth0
            addr add fd00:1::1/64 dev eth0
            link add eth1 address 02:00:00:00:00:02
            link set eth1 up
            addr add 10.0.2.1/24 dev eth1
            addr add fd00:2::1/64 dev eth1
            link add eth2 address 02:00:00:00:00:03
            link set eth2 up
            addr add 10.0.3.1/24 dev eth2
            neigh add 10.0.1.10 lladdr 02:00:00:00:01:0a dev eth0
            neigh add 10.0.2.20 lladdr 02:00:00:00:02:14 dev eth1
            route add default via 10.0.2.254
            route add default via 10.0.3.254 table 100
            rule add fwmark 0x1 table 100
            sysctl net.ipv4.ip_forward=1
            sysctl net.ipv6.conf.all.forwarding=1
            """;

    final Host host;
    final List<String> out = new ArrayList<>();
    final List<MemorySegment> frames = new ArrayList<>();
    final List<String> events = new ArrayList<>();
    final List<String> replyRequests = new ArrayList<>();
    final Datapath datapath;

    final Trace trace = new Trace() {
        @Override
        public void hookEntered(Netfilter.Registration f) {
            events.add(f.hook() + " " + f.name());
        }

        @Override
        public void hookVerdict(Netfilter.Registration f, int verdict) {
            if (verdict != Verdict.ACCEPT) {
                events.add(f.hook() + " " + f.name() + " " + Verdict.toString(verdict));
            }
        }

        @Override
        public void routed(Hook where, RouteDecision d) {
            events.add("route " + d);
        }

        @Override
        public void generated(String kind, MemorySegment datagram) {
            events.add("generated " + kind);
        }

        @Override
        public void dropped(DropReason reason) {
            events.add("dropped " + reason);
        }

        @Override
        public void loopedBack(MemorySegment datagram) {
            events.add("looped back");
        }

        @Override
        public void queued(int queueNumber, int answer) {
            events.add("queued " + queueNumber + " -> " + (answer == QueueHandler.NOT_BOUND ? "not bound"
                    : Verdict.toString(answer)));
        }
    };

    DatapathHarness() {
        this(HOST);
    }

    DatapathHarness(String hostFile) {
        try {
            host = HostFile.parse("test", hostFile);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        datapath = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                MemorySegment copy = MemorySegment.ofArray(frame.toArray(ValueLayout.JAVA_BYTE));
                frames.add(copy);
                out.add("tx " + ifname);
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
                frames.add(MemorySegment.ofArray(ipPacket.toArray(ValueLayout.JAVA_BYTE)));
                out.add("local " + ifname);
            }
        });
        datapath.replies(new Replies() {
            @Override
            public Reply reject(PacketContext pkt, int rejectWith) {
                replyRequests.add("reject " + rejectWith + " at " + pkt.hook());
                return reply(icmp4((int) pkt.destinationLo(), (int) pkt.sourceLo(), 3, 3, pkt));
            }

            @Override
            public Reply icmpError(PacketContext pkt, int type, int code, int info) {
                replyRequests.add("icmp " + type + "/" + code + " info " + Integer.toUnsignedLong(info));
                if (pkt.family() == Family.IPV6) {
                    return null;
                }
                return reply(icmp4(0, (int) pkt.sourceLo(), type, code, pkt));
            }
        });
    }

    static Reply reply(MemorySegment datagram) {
        return new Reply(Family.IPV4, datagram, null, 0, null);
    }

    /** An ICMP error quoting the IP header and 8 bytes, source 0 (the datapath selects it). */
    static MemorySegment icmp4(int src, int dst, int type, int code, PacketContext about) {
        int quote = Math.min(about.length(), 28);
        ByteBuffer b = ByteBuffer.allocate(20 + 8 + quote);
        b.put((byte) 0x45).put((byte) 0xC0).putShort((short) (28 + quote)).putShort((short) 0).putShort((short) 0)
                .put((byte) 64).put((byte) 1).putShort((short) 0).putInt(src).putInt(dst);
        b.put((byte) type).put((byte) code).putShort((short) 0).putInt(0);
        for (int i = 0; i < quote; i++) {
            b.put((byte) about.networkU8(i));
        }
        MemorySegment s = MemorySegment.ofArray(b.array());
        new Ipv4Header().wrap(s, 0).updateChecksum();
        return s;
    }

    // ---- rules ----

    /** A ruleset with these tables, each from its initial form (ACCEPT policies) with the given chains. */
    static Ruleset rules(Family family, Table... tables) {
        Ruleset r = Ruleset.empty(family);
        for (Table t : tables) {
            r = r.with(t);
        }
        return r;
    }

    static Table table(TableKind kind, Family family, Chain... chains) {
        Table t = Table.initial(kind, family);
        for (Chain c : chains) {
            t = t.with(c);
        }
        return t;
    }

    // ---- packets ----

    /** A TCP SYN with a valid IP header checksum; {@code fragWord} the flags/offset word, {@code pad} payload bytes. */
    static MemorySegment tcp(int src, int dst, int ttl, int fragWord, int pad) {
        byte[] t = Fixtures.tcp(40000, 80, 0x02);
        byte[] transport = new byte[t.length + pad];
        System.arraycopy(t, 0, transport, 0, t.length);
        for (int i = t.length; i < transport.length; i++) {
            transport[i] = (byte) i;
        }
        MemorySegment s = Fixtures.ipv4(src, dst, 6, fragWord, ttl, transport);
        Ipv4Header h = new Ipv4Header().wrap(s, 0);
        h.updateChecksum();
        int sum = Checksums.tcpV4(s, 20, transport.length, src, dst);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 36, (short) sum);
        return s;
    }

    static MemorySegment tcp(int src, int dst) {
        return tcp(src, dst, 64, 0, 0);
    }

    /** {@code ip} in an Ethernet frame from {@code srcMac} to {@code dstMac}. */
    static MemorySegment frame(long dstMac, long srcMac, MemorySegment ip) {
        boolean v6 = (Byte.toUnsignedInt(ip.get(ValueLayout.JAVA_BYTE, 0)) >>> 4) == 6;
        ByteBuffer b = ByteBuffer.allocate(14 + (int) ip.byteSize());
        b.putShort((short) (dstMac >>> 32)).putInt((int) dstMac).putShort((short) (srcMac >>> 32)).putInt((int) srcMac)
                .putShort((short) (v6 ? 0x86DD : 0x0800)).put(ip.toArray(ValueLayout.JAVA_BYTE));
        return MemorySegment.ofArray(b.array());
    }

    void receive(String ifname, MemorySegment frame) {
        datapath.receive(ifname, frame, true, 1_000_000_000L, trace);
    }

    void sendLocal(MemorySegment ip) {
        datapath.sendLocal(ip, 1_000_000_000L, trace);
    }

    MemorySegment lastFrame() {
        return frames.get(frames.size() - 1);
    }

    static Ipv4Header ipOf(MemorySegment frame) {
        return new Ipv4Header().wrap(frame, 14);
    }

    static long u48(MemorySegment s, long at) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = v << 8 | Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + i));
        }
        return v;
    }
}
