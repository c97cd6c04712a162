package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;

/**
 * The irc helper (nf_conntrack_irc.c, IPv4 only): a client's DCC offer in a PRIVMSG announces a TCP port the other
 * party is to connect to; the helper expects that connection, from any address and port, to the client's address
 * as the server side sees it (the reply tuple's destination).
 *
 * <pre>
 *   PRIVMSG nick :\1DCC SEND name 167772418 5000 1024\1\n
 *   ^ after leading blanks   ^ the first " :"   ^ after the next blank: address (a decimal number), blanks, port
 *   DCC types: SEND, CHAT, MOVE, TSEND, SCHAT (RESUME and ACCEPT name no address: not read)
 * </pre>
 *
 * Only the client's packets (original direction) once the connection is ESTABLISHED are read, the first 4,095
 * bytes of their payload (MAX_SEARCH_SIZE). The text must start, after blanks and line ends, with "PRIVMSG "
 * (any case); only the first " :" is looked at, and it must be followed by "\1DCC ". A line end must follow the
 * type's first argument. The address must be the client's own or the address the server sees it as (after
 * SNAT), and the port not 0 ("Forged DCC command"); numbers are read as simple_strtoul reads them (wrapping, the
 * address cut to 32 bits, the port to 16). One expectation per packet at most (max_dcc_channels 8 per
 * connection, dcc_timeout 300 s). On a NATed connection nf_nat_irc rewrites the address and port ({@link
 * HelperNat#irc}).
 *
 * <p>Packet thread; allocates the expectation.
 */
final class IrcHelper extends ConntrackHelper {
    // Linux: MAX_SEARCH_SIZE
    private static final int MAX_SEARCH_SIZE = 4095;
    // Linux: MINMATCHLEN
    private static final int MIN_MATCH_LENGTH = 5;
    private static final String[] DCC_TYPES = {"SEND ", "CHAT ", "MOVE ", "TSEND ", "SCHAT "};

    IrcHelper() {
        // Linux: irc_exp_policy: max_expected = max_dcc_channels (8), timeout = dcc_timeout (300 s)
        super("irc", Protocol.TCP, false, 8, 300);
    }

    /** What {@link #parse} found: the address and port, and where the text naming them is. */
    static final class Dcc {
        long address;
        int port;
        /** Offsets in the payload: the address's first byte and the byte after the port. */
        int begin;
        int end;
    }

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        if (CtInfo.direction(ctinfo) != 0 || ctinfo != CtInfo.ESTABLISHED || ct.family() != Family.IPV4) {
            // Linux: only what the client sends, once there has been traffic both ways
            return Verdict.ACCEPT;
        }
        int dataoff = tcpPayload(pkt, protoff);
        if (dataoff < 0) {
            return Verdict.ACCEPT;
        }
        Dcc dcc = new Dcc();
        if (!find(pkt, dataoff, ct, dcc)) {
            return Verdict.ACCEPT;
        }
        Tuple reply = ct.reply;
        Expectation exp = new Expectation(ct, Family.IPV4, Protocol.TCP, 0, 0, 0, 0, 0, 0, reply.dstHi, reply.dstLo,
                dcc.port, 0, 0);
        if ((ct.status & Connection.NAT_MASK) != 0) {
            return HelperNat.irc(pkt, ct, ctinfo, protoff, dcc.begin, dcc.end - dcc.begin, exp, now);
        }
        // Linux: "cannot add expectation": dropped
        return ct.owner.expectRelated(exp, now) == 0 ? Verdict.ACCEPT : Verdict.DROP;
    }

    /**
     * The helper's scan of the payload at {@code dataoff} (network offset): true with {@code dcc} set when a DCC
     * offer the helper accepts was found.
     */
    static boolean find(PacketContext pkt, int dataoff, Connection ct, Dcc dcc) {
        int whole = pkt.length() - dataoff;
        int limit = Math.min(whole, MAX_SEARCH_SIZE);
        Payload p = new Payload(pkt, dataoff, whole);
        int d = 0;
        while (d < limit - 10 && (p.at(d) == ' ' || p.at(d) == '\r' || p.at(d) == '\n')) {
            d++;
        }
        if (d < limit - 10) {
            if (!p.startsIgnoringCase(d, "PRIVMSG ")) {
                return false;
            }
            d += 8;
        }
        // Linux: strlen(" :\1DCC SENT t AAAAAAAA P\1\n") = 26 = 21 + MINMATCHLEN
        while (d < limit - (21 + MIN_MATCH_LENGTH)) {
            if (p.at(d) != ' ' || p.at(d + 1) != ':') {
                d++;
                continue;
            }
            d += 2;
            if (!p.starts(d, "\u0001DCC ")) {
                return false;
            }
            d += 5;
            for (String type : DCC_TYPES) {
                if (!p.starts(d, type)) {
                    continue;
                }
                d += type.length();
                if (!parse(p, d, limit, dcc)) {
                    continue;
                }
                Tuple mine = ct.original;
                if ((mine.srcLo != dcc.address && ct.reply.dstLo != dcc.address) || dcc.port == 0) {
                    // Linux: "Forged DCC command": neither the client's address nor its NATed one
                    continue;
                }
                return true;
            }
        }
        return false;
    }

    /** parse_dcc from {@code d}: skips the type's first argument, then reads "address blanks port". */
    static boolean parse(Payload p, int d, int limit, Dcc dcc) {
        // Linux: at least 12 bytes "AAAAAAAA P\1\n" must follow the first blank
        while (true) {
            int c = p.at(d);
            d++;
            if (c == ' ') {
                break;
            }
            if (d > limit - 12) {
                return false;
            }
        }
        int nl = d;
        while (nl <= limit && p.at(nl) != '\n') {
            nl++;
        }
        if (nl > limit) {
            // Linux: simple_strtoul must meet a line end within the packet
            return false;
        }
        dcc.begin = d;
        long address = 0;
        while (isDigit(p.at(d))) {
            address = address * 10 + (p.at(d) - '0');
            d++;
        }
        dcc.address = address & 0xFFFFFFFFL;
        while (p.at(d) == ' ') {
            if (d >= limit) {
                return false;
            }
            d++;
        }
        long port = 0;
        while (isDigit(p.at(d))) {
            port = port * 10 + (p.at(d) - '0');
            d++;
        }
        dcc.port = (int) (port & 0xFFFF);
        dcc.end = d;
        return true;
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    /** The TCP payload as the helper reads it: bytes past the packet's end read as 0. */
    record Payload(PacketContext pkt, int dataoff, int length) {
        int at(int i) {
            return i < length ? pkt.networkU8(dataoff + i) : 0;
        }

        boolean starts(int at, String s) {
            for (int i = 0; i < s.length(); i++) {
                if (at(at + i) != s.charAt(i)) {
                    return false;
                }
            }
            return true;
        }

        boolean startsIgnoringCase(int at, String s) {
            for (int i = 0; i < s.length(); i++) {
                if (Character.toUpperCase(at(at + i)) != s.charAt(i)) {
                    return false;
                }
            }
            return true;
        }
    }
}
