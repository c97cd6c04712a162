package org.jnetfilter.core.testkit;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;

/**
 * Tunnelled datagrams for the flow dissector (classic BPF's payload offset): GRE version 1 (PPTP), GRE carrying
 * Ethernet and what that carries, MPLS; each with the payload offset Linux 6.18 gave it (0: the dissection
 * failed), recorded 2026-11-30 with 121 rules {@code -m bpf --bytecode "4,32 0 0 4294963252,21 0 1 N,6 0 0 1,6 0 0
 * 0"} (N = 0..120) in raw PREROUTING of a namespace, each datagram sent from another over a veth pair. From
 * 10.78.0.9 to 10.77.0.1 (IPv6: fd78::9 to fd77::1), IPv4 header checksums right, so that a kernel takes them.
 */
public final class TunnelDatagrams {
    private static final HexFormat HEX = HexFormat.of();

    private TunnelDatagrams() {
    }

    /** One datagram: its IP version, its bytes from the network header, the payload offset Linux found. */
    public record Case(String name, int version, byte[] datagram, int payloadOffset) {
    }

    static byte[] h(String hex) {
        return HEX.parseHex(hex);
    }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.writeBytes(p);
        }
        return o.toByteArray();
    }

    /** An IPv4 datagram with a correct header checksum. */
    public static byte[] ip4(int proto, int src, int dst, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + payload.length)).putShort((short) 7)
                .putShort((short) 0).put((byte) 64).put((byte) proto).putShort((short) 0).putInt(src).putInt(dst)
                .put(payload);
        byte[] a = b.array();
        long s = 0;
        for (int i = 0; i < 20; i += 2) {
            s += (a[i] & 0xFF) << 8 | a[i + 1] & 0xFF;
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        int c = (int) ~s & 0xFFFF;
        a[10] = (byte) (c >>> 8);
        a[11] = (byte) c;
        return a;
    }

    static byte[] ip4(int proto, byte[] payload) {
        return ip4(proto, 0x0A4E0009, 0x0A4D0001, payload);
    }

    static byte[] ip6(int next, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(40 + payload.length);
        b.putInt(0x60000000).putShort((short) payload.length).put((byte) next).put((byte) 64)
                .putLong(0xFD78000000000000L).putLong(9).putLong(0xFD77000000000000L).putLong(1).put(payload);
        return b.array();
    }

    static final byte[] UDP = h("0fa01388000c000061626364");
    static final byte[] INNER4 = ip4(17, 0x0A010101, 0x0A020202, UDP);
    static final byte[] INNER6 = ip6(17, UDP);
    /** The addresses of an Ethernet header inside GRE (TEB); its type follows. */
    static final byte[] ETH = h("020000000001020000000002");
    static final byte[] TEB = h("00006558");
    static final byte[] PPTP = h("2001880b00200001");

    public static List<Case> cases() {
        return List.of(
                new Case("GRE carrying IPv4 UDP", 4, ip4(47, cat(h("00000800"), INNER4)), 52),
                new Case("PPTP: key, PPP IPv4 UDP", 4, ip4(47, cat(PPTP, h("ff030021"), INNER4)), 60),
                new Case("PPTP: key, sequence, acknowledgment, PPP IPv4", 4,
                        ip4(47, cat(h("3081880b00200001"), h("0000000500000004ff030021"), INNER4)), 68),
                new Case("PPTP without a key: stops at GRE", 4, ip4(47, cat(h("0001880b"), h("ff030021"), INNER4)), 20),
                new Case("PPTP carrying LCP: bad", 4, ip4(47, cat(PPTP, h("ff03c021"), new byte[20])), 0),
                new Case("PPTP carrying IPv6 UDP", 4, ip4(47, cat(PPTP, h("ff030057"), INNER6)), 80),
                new Case("PPTP with its PPP header cut short", 4, ip4(47, cat(PPTP, h("ff03"))), 0),
                new Case("PPTP inside IPv6", 6, ip6(47, cat(PPTP, h("ff030021"), INNER4)), 80),
                new Case("GRE Ethernet IPv4 UDP", 4, ip4(47, cat(TEB, ETH, h("0800"), INNER4)), 66),
                new Case("GRE Ethernet with a checksum", 4, ip4(47, cat(h("8000655800000000"), ETH, h("0800"), INNER4)),
                        70),
                new Case("GRE Ethernet IPv6 UDP", 4, ip4(47, cat(TEB, ETH, h("86dd"), INNER6)), 86),
                new Case("GRE Ethernet 802.1Q IPv4", 4, ip4(47, cat(TEB, ETH, h("810000050800"), INNER4)), 70),
                new Case("GRE Ethernet 802.1ad 802.1Q IPv4", 4, ip4(47, cat(TEB, ETH, h("88a80005810000060800"),
                        INNER4)), 74),
                new Case("GRE Ethernet 802.1Q cut short", 4, ip4(47, cat(TEB, ETH, h("810000"))), 0),
                new Case("GRE Ethernet ARP", 4, ip4(47, cat(TEB, ETH, h("0806"), new byte[28])), 38),
                new Case("GRE Ethernet cut short", 4, ip4(47, cat(TEB, new byte[10])), 0),
                new Case("GRE Ethernet of an unknown type", 4, ip4(47, cat(TEB, ETH, h("1234"), new byte[20])), 0),
                new Case("GRE Ethernet inside GRE Ethernet: bad", 4, ip4(47, cat(TEB, ETH, h("6558"), ETH, h("0800"),
                        INNER4)), 0),
                new Case("GRE Ethernet PPPoE IPv4", 4, ip4(47, cat(TEB, ETH, h("88641100000100220021"), INNER4)), 74),
                new Case("GRE Ethernet PPPoE compressed protocol: bad", 4, ip4(47, cat(TEB, ETH,
                        h("886411000001002121"), INNER4)), 0),
                new Case("GRE Ethernet PPPoE LCP: stops after PPPoE", 4, ip4(47, cat(TEB, ETH,
                        h("8864110000010022c021"), new byte[20])), 46),
                new Case("GRE Ethernet PPPoE version 2: bad", 4, ip4(47, cat(TEB, ETH, h("88642100000100220021"),
                        INNER4)), 0),
                new Case("GRE Ethernet PPPoE MPLS", 4, ip4(47, cat(TEB, ETH, h("88641100000100220281"), h("00001140"),
                        INNER4)), 50),
                new Case("GRE Ethernet FCoE", 4, ip4(47, cat(TEB, ETH, h("8906"), new byte[40])), 76),
                new Case("GRE Ethernet CFM", 4, ip4(47, cat(TEB, ETH, h("8902"), new byte[20])), 38),
                new Case("GRE Ethernet TIPC", 4, ip4(47, cat(TEB, ETH, h("88ca"), new byte[20])), 38),
                new Case("GRE Ethernet B.A.T.M.A.N. unicast IPv4", 4, ip4(47, cat(TEB, ETH, h("4305400f0100"),
                        new byte[6], ETH, h("0800"), INNER4)), 90),
                new Case("GRE Ethernet B.A.T.M.A.N. version 14: bad", 4, ip4(47, cat(TEB, ETH, h("4305400e0100"),
                        new byte[6], ETH, h("0800"), INNER4)), 0),
                new Case("MPLS in IPv4: one label", 4, ip4(137, cat(h("00001140"), INNER4)), 24),
                new Case("MPLS in IPv4 cut short: the packet's end", 4, ip4(137, h("0000")), 22),
                new Case("GRE carrying MPLS", 4, ip4(47, cat(h("00008847"), h("00001140"), INNER4)), 28));
    }
}
