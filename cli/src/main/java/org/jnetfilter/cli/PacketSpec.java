package org.jnetfilter.cli;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Protocols;

/**
 * The packet of {@code jnf trace}, written as an engineer says it:
 *
 * <pre>
 * PROTO SRC[:PORT] -&gt; DST[:PORT] [in IF] [out IF] [flags F] [mark M] [len N] [ttl N] [tos N]
 *                              [type T] [code C] [id N] [df] [payload TEXT]
 * </pre>
 *
 * PROTO is tcp, udp, udplite, sctp, icmp, icmpv6 (icmp6), or a number or name of /etc/protocols. IPv6
 * addresses with a port are bracketed: {@code [2001:db8::1]:443}. {@code in @local}, or an {@code out}
 * without {@code in}, makes the packet locally generated: it enters at OUTPUT.
 *
 * <p>Defaults describe the first packet of a new connection as Linux sends it: TCP a SYN of 60 bytes
 * with the options Linux puts in one (MSS 1460, SACK permitted, timestamps, window scale 7), UDP an empty
 * datagram, ICMP an echo request of 84 bytes as {@code ping} sends; TTL 64 (hop limit 64), DF set for TCP
 * as Linux sets it on connected sockets. {@code flags} takes letters (S, A, F, R, P, U, E, C: SYN, ACK,
 * FIN, RST, PSH, URG, ECE, CWR) or names separated by commas ({@code SYN,ACK}); {@code len} is the whole IP
 * datagram, padded with zero bytes of payload.
 */
public record PacketSpec(Family family, int protocol, IpAddress source, int sourcePort, IpAddress destination,
        int destinationPort, String in, String out, int tcpFlags, long mark, int length, int ttl, int tos,
        int icmpType, int icmpCode, int ipId, boolean dontFragment, byte[] payload) {

    public static final String LOCAL = "@local";

    // Linux: TCP flag bits in the 13th byte of the header
    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int RST = 0x04;
    static final int PSH = 0x08;
    static final int ACK = 0x10;
    static final int URG = 0x20;
    static final int ECE = 0x40;
    static final int CWR = 0x80;

    /** A spec that cannot be read: the message says which word and why. */
    public static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    public boolean locallyGenerated() {
        return in.equals(LOCAL) || (in.isEmpty() && !out.isEmpty());
    }

    public static PacketSpec parse(String text) throws Invalid {
        // "[flags S]" as the issue writes optional words: brackets around a word pair are decoration,
        // unlike the brackets of an IPv6 address, which hold a colon
        String plain = text.replaceAll("\\[([A-Za-z]+(?:\\s+[^\\]\\s:]+)?)\\]", "$1");
        List<String> w = new ArrayList<>(List.of(plain.trim().replace("->", " -> ").split("\\s+")));
        w.removeIf(String::isEmpty);
        if (w.size() < 4 || !w.get(2).equals("->")) {
            throw new Invalid("expected 'PROTO SRC[:PORT] -> DST[:PORT] ...', got '" + text.trim() + "'");
        }
        String protoWord = w.get(0).toLowerCase(Locale.ROOT);
        int protocol = switch (protoWord) {
            case "icmp6" -> Protocols.ICMPV6;
            case "ipv6-icmp" -> Protocols.ICMPV6;
            default -> {
                OptionalInt p = Protocols.parse(protoWord);
                if (p.isEmpty() || p.getAsInt() == 0) {
                    throw new Invalid("unknown protocol '" + w.get(0) + "'");
                }
                yield p.getAsInt();
            }
        };
        Endpoint src = endpoint(w.get(1), "source");
        Endpoint dst = endpoint(w.get(3), "destination");
        if (src.address.family() != dst.address.family()) {
            throw new Invalid("source " + w.get(1) + " and destination " + w.get(3) + " are of different families");
        }
        Family family = src.address.family();
        if (protocol == Protocols.ICMP && family == Family.IPV6) {
            protocol = Protocols.ICMPV6;
        } else if (protocol == Protocols.ICMPV6 && family == Family.IPV4) {
            throw new Invalid("icmpv6 needs IPv6 addresses");
        }
        boolean ported = hasPorts(protocol);
        if (!ported && (src.port >= 0 || dst.port >= 0)) {
            throw new Invalid(Protocols.name(protocol) + " has no ports");
        }
        if (ported && dst.port < 0) {
            throw new Invalid("a " + Protocols.name(protocol) + " packet needs a destination port (" + w.get(3) + ":PORT)");
        }
        String in = "";
        String out = "";
        int flags = protocol == Protocols.TCP ? SYN : 0;
        long mark = 0;
        int length = -1;
        int ttl = 64;
        int tos = 0;
        int type = family == Family.IPV4 ? 8 : 128;
        int code = 0;
        int id = 0;
        boolean df = protocol == Protocols.TCP;
        byte[] payload = new byte[0];
        for (int i = 4; i < w.size(); i++) {
            String key = w.get(i).toLowerCase(Locale.ROOT);
            if (key.equals("df")) {
                df = true;
                continue;
            }
            if (key.equals("!df") || key.equals("nodf")) {
                df = false;
                continue;
            }
            if (i + 1 >= w.size()) {
                throw new Invalid("'" + w.get(i) + "' needs a value");
            }
            String v = w.get(++i);
            switch (key) {
                case "in" -> in = v;
                case "out" -> out = v;
                case "flags" -> {
                    if (protocol != Protocols.TCP) {
                        throw new Invalid("flags are for tcp");
                    }
                    flags = tcpFlags(v);
                }
                case "mark" -> mark = number(v, "mark", 0xFFFFFFFFL);
                case "len", "length" -> length = (int) number(v, "len", 65535);
                case "ttl", "hl", "hoplimit" -> ttl = (int) number(v, "ttl", 255);
                case "tos", "tc" -> tos = (int) number(v, "tos", 255);
                case "type" -> type = (int) number(v, "type", 255);
                case "code" -> code = (int) number(v, "code", 255);
                case "id" -> id = (int) number(v, "id", 0xFFFF);
                case "payload" -> payload = v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                default -> throw new Invalid("unknown word '" + w.get(i - 1) + "' (expected in, out, flags, mark, len, ttl, tos, type, code, id, df, payload)");
            }
        }
        if ((type != 8 && type != 128 || code != 0) && protocol != Protocols.ICMP && protocol != Protocols.ICMPV6) {
            throw new Invalid("type and code are for icmp and icmpv6");
        }
        PacketSpec spec = new PacketSpec(family, protocol, src.address, src.port, dst.address, dst.port, in, out, flags,
                mark, length, ttl, tos, type, code, id, df, payload);
        int minimum = spec.headerBytes() + payload.length;
        if (length >= 0 && length < minimum) {
            throw new Invalid("len " + length + " is shorter than the headers and payload (" + minimum + " bytes)");
        }
        return spec;
    }

    private record Endpoint(IpAddress address, int port) {
    }

    private static Endpoint endpoint(String word, String what) throws Invalid {
        String addr = word;
        int port = -1;
        if (word.startsWith("[")) {
            int close = word.indexOf(']');
            if (close < 0) {
                throw new Invalid("missing ']' in " + what + " " + word);
            }
            addr = word.substring(1, close);
            String rest = word.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw new Invalid("bad " + what + " " + word);
                }
                port = port(rest.substring(1), what);
            }
        } else if (word.indexOf(':') >= 0 && word.indexOf(':') == word.lastIndexOf(':')) {
            addr = word.substring(0, word.indexOf(':'));
            port = port(word.substring(word.indexOf(':') + 1), what);
        }
        try {
            return new Endpoint(IpAddress.parse(addr), port);
        } catch (IllegalArgumentException e) {
            throw new Invalid("bad " + what + " address '" + addr + "'");
        }
    }

    private static int port(String s, String what) throws Invalid {
        return (int) number(s, what + " port", 65535);
    }

    private static long number(String s, String what, long max) throws Invalid {
        try {
            long v = s.startsWith("0x") || s.startsWith("0X") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
            if (v < 0 || v > max) {
                throw new Invalid(what + " " + s + " out of range (0-" + max + ")");
            }
            return v;
        } catch (NumberFormatException e) {
            throw new Invalid("bad " + what + " '" + s + "'");
        }
    }

    static int tcpFlags(String v) throws Invalid {
        int flags = 0;
        String[] names = v.toUpperCase(Locale.ROOT).split(",");
        if (names.length == 1 && names[0].length() <= 8 && !names[0].equals("NONE") && names[0].chars().allMatch(c -> "SAFRPUEC".indexOf(c) >= 0)) {
            for (char c : names[0].toCharArray()) {
                flags |= switch (c) {
                    case 'S' -> SYN;
                    case 'A' -> ACK;
                    case 'F' -> FIN;
                    case 'R' -> RST;
                    case 'P' -> PSH;
                    case 'U' -> URG;
                    case 'E' -> ECE;
                    default -> CWR;
                };
            }
            return flags;
        }
        for (String n : names) {
            flags |= switch (n) {
                case "SYN" -> SYN;
                case "ACK" -> ACK;
                case "FIN" -> FIN;
                case "RST" -> RST;
                case "PSH" -> PSH;
                case "URG" -> URG;
                case "ECE" -> ECE;
                case "CWR" -> CWR;
                case "NONE" -> 0;
                default -> throw new Invalid("unknown tcp flag '" + n + "' (S A F R P U E C or SYN,ACK,...)");
            };
        }
        return flags;
    }

    static boolean hasPorts(int protocol) {
        return protocol == Protocols.TCP || protocol == Protocols.UDP || protocol == Protocols.UDPLITE
                || protocol == Protocols.SCTP || protocol == Protocols.DCCP;
    }

    private int ipHeaderBytes() {
        return family == Family.IPV4 ? 20 : 40;
    }

    /** The TCP header of a default SYN carries Linux's 20 bytes of options. */
    private boolean linuxSynOptions() {
        return protocol == Protocols.TCP && tcpFlags == SYN && length < 0;
    }

    private int transportHeaderBytes() {
        return switch (protocol) {
            case Protocols.TCP -> linuxSynOptions() ? 40 : 20;
            case Protocols.UDP, Protocols.UDPLITE, Protocols.ICMP, Protocols.ICMPV6 -> 8;
            case Protocols.SCTP -> 12;
            case Protocols.DCCP -> 16;
            default -> 0;
        };
    }

    int headerBytes() {
        return ipHeaderBytes() + transportHeaderBytes();
    }

    /** The datagram's length: {@code len}, else headers and payload (an echo request: 84 / 104 bytes as ping). */
    public int totalLength() {
        if (length >= 0) {
            return length;
        }
        int n = headerBytes() + payload.length;
        boolean echo = (protocol == Protocols.ICMP && icmpType == 8) || (protocol == Protocols.ICMPV6 && icmpType == 128);
        return echo && payload.length == 0 ? n + 56 : n;
    }

    /** The IP datagram (no link-layer header), checksums computed. */
    public MemorySegment bytes() {
        int total = totalLength();
        byte[] b = new byte[total];
        ByteBuffer bb = ByteBuffer.wrap(b);
        int ip = ipHeaderBytes();
        if (family == Family.IPV4) {
            bb.put(0, (byte) 0x45).put(1, (byte) tos).putShort(2, (short) total).putShort(4, (short) ipId)
                    .putShort(6, (short) (dontFragment ? 0x4000 : 0)).put(8, (byte) ttl).put(9, (byte) protocol)
                    .putInt(12, (int) source.lo()).putInt(16, (int) destination.lo());
        } else {
            bb.putInt(0, 0x60000000 | (tos << 20)).putShort(4, (short) (total - 40)).put(6, (byte) protocol)
                    .put(7, (byte) ttl).putLong(8, source.hi()).putLong(16, source.lo()).putLong(24, destination.hi())
                    .putLong(32, destination.lo());
        }
        int l4 = ip;
        int l4len = total - ip;
        System.arraycopy(payload, 0, b, ip + transportHeaderBytes(), payload.length);
        MemorySegment s = MemorySegment.ofArray(b);
        switch (protocol) {
            case Protocols.TCP -> {
                int hdr = transportHeaderBytes();
                bb.putShort(l4, (short) sourcePort()).putShort(l4 + 2, (short) destinationPort)
                        .putInt(l4 + 4, (tcpFlags & SYN) != 0 ? 0x1000_0000 : 0x1000_0001)
                        .putInt(l4 + 8, (tcpFlags & ACK) != 0 ? 0x2000_0001 : 0)
                        .put(l4 + 12, (byte) ((hdr / 4) << 4)).put(l4 + 13, (byte) tcpFlags)
                        .putShort(l4 + 14, (short) 64240);
                if (linuxSynOptions()) {
                    // Linux: MSS 1460, SACK permitted, timestamps, NOP, window scale 7
                    byte[] opt = {2, 4, 0x05, (byte) 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
                    System.arraycopy(opt, 0, b, l4 + 20, opt.length);
                }
                int sum = family == Family.IPV4 ? Checksums.tcpV4(s, l4, l4len, (int) source.lo(), (int) destination.lo())
                        : Checksums.tcpV6(s, 0, l4, l4len);
                bb.putShort(l4 + 16, (short) sum);
            }
            case Protocols.UDP, Protocols.UDPLITE -> {
                bb.putShort(l4, (short) sourcePort()).putShort(l4 + 2, (short) destinationPort)
                        .putShort(l4 + 4, (short) (protocol == Protocols.UDP ? l4len : 0));
                int sum;
                if (protocol == Protocols.UDP) {
                    sum = family == Family.IPV4 ? Checksums.udpV4(s, l4, l4len, (int) source.lo(), (int) destination.lo())
                            : Checksums.udpV6(s, 0, l4, l4len);
                } else {
                    sum = family == Family.IPV4
                            ? Checksums.udpLiteV4(s, l4, l4len, 0, (int) source.lo(), (int) destination.lo())
                            : Checksums.udpLiteV6(s, 0, l4, l4len, 0);
                }
                bb.putShort(l4 + 6, (short) sum);
            }
            case Protocols.ICMP -> {
                bb.put(l4, (byte) icmpType).put(l4 + 1, (byte) icmpCode).putShort(l4 + 4, (short) 1).putShort(l4 + 6, (short) 1);
                bb.putShort(l4 + 2, (short) Checksums.icmp(s, l4, l4len));
            }
            case Protocols.ICMPV6 -> {
                bb.put(l4, (byte) icmpType).put(l4 + 1, (byte) icmpCode).putShort(l4 + 4, (short) 1).putShort(l4 + 6, (short) 1);
                bb.putShort(l4 + 2, (short) Checksums.icmpv6(s, 0, l4, l4len));
            }
            case Protocols.SCTP -> {
                bb.putShort(l4, (short) sourcePort()).putShort(l4 + 2, (short) destinationPort).putInt(l4 + 4, 0);
                bb.order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(l4 + 8, (int) Checksums.sctp(s, l4, l4len))
                        .order(java.nio.ByteOrder.BIG_ENDIAN);
            }
            case Protocols.DCCP -> bb.putShort(l4, (short) sourcePort()).putShort(l4 + 2, (short) destinationPort)
                    .put(l4 + 4, (byte) 4);
            default -> {
            }
        }
        if (family == Family.IPV4) {
            bb.putShort(10, (short) Checksums.ipv4Header(s, 0));
        }
        return s;
    }

    /** The source port; a client's ephemeral port when the spec names none. */
    public int sourcePort() {
        return sourcePort >= 0 ? sourcePort : 40000;
    }

    /** The spec as {@code jnf trace} echoes it, with the defaults filled in. */
    public String describe() {
        StringBuilder sb = new StringBuilder(Protocols.name(protocol));
        sb.append(' ').append(endpointText(source, hasPorts(protocol) ? sourcePort() : -1)).append(" -> ")
                .append(endpointText(destination, destinationPort));
        if (!in.isEmpty()) {
            sb.append(" in ").append(in);
        }
        if (!out.isEmpty()) {
            sb.append(" out ").append(out);
        }
        if (protocol == Protocols.TCP) {
            sb.append(" flags ").append(flagText(tcpFlags));
        }
        if (protocol == Protocols.ICMP || protocol == Protocols.ICMPV6) {
            sb.append(" type ").append(icmpType).append(" code ").append(icmpCode);
        }
        if (mark != 0) {
            sb.append(" mark 0x").append(Long.toHexString(mark));
        }
        sb.append(" len ").append(totalLength()).append(" ttl ").append(ttl);
        return sb.toString();
    }

    private static String endpointText(IpAddress a, int port) {
        if (port < 0) {
            return a.text();
        }
        return a.family() == Family.IPV6 ? "[" + a.text() + "]:" + port : a.text() + ":" + port;
    }

    static String flagText(int flags) {
        if (flags == 0) {
            return "none";
        }
        StringBuilder sb = new StringBuilder();
        String letters = "FSRPAUEC";
        for (int bit = 0; bit < 8; bit++) {
            if ((flags & (1 << bit)) != 0) {
                sb.append(letters.charAt(bit));
            }
        }
        return sb.toString();
    }
}
