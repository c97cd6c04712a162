package org.jnetfilter.core.conntrack;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jnetfilter.core.nat.HelperNat;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Family;

/**
 * The ftp helper (nf_conntrack_ftp.c): finds the data connection an FTP control connection announces and
 * expects it.
 *
 * <pre>
 *   direction  command   looks for               after          ends with   gives
 *   original   PORT      "PORT" (any case)       ' '            '\r'        h1,h2,h3,h4,p1,p2
 *   original   EPRT      "EPRT"                  ' '            '\r'        |1|a.b.c.d|port| or |2|v6|port|
 *   reply      227       "227 "                  first digit    non-digit   h1,h2,h3,h4,p1,p2 (RFC 1123)
 *   reply      229       "229 "                  '('            -           |||port|
 * </pre>
 *
 * The command must start a segment that starts just after a newline of the same direction: the helper
 * remembers the two latest sequence numbers following a segment ending in '\n' (so the first segment of each
 * direction, the server's greeting and the client's first command, is never parsed). A segment that starts
 * like a command but is cut short or has bad numbers ("partial") is dropped; an address other than the
 * sender's own is not recorded (no {@code loose}); a match creates an expectation from the peer to the port
 * (any source port), or, on a NATed connection, has nf_nat_ftp rewrite the text ({@link HelperNat#ftp}).
 * Only ESTABLISHED packets in either direction are read. Numbers are read as the kernel reads them: no range
 * checks, larger values overflow into the neighbouring bytes.
 *
 * <p>Packet thread; allocates one small {@link Command} per segment that starts a command.
 */
final class FtpHelper extends ConntrackHelper {
    // Linux: enum nf_ct_ftp_type
    static final int PORT = HelperNat.FTP_PORT;
    static final int PASV = HelperNat.FTP_PASV;
    static final int EPRT = HelperNat.FTP_EPRT;
    static final int EPSV = HelperNat.FTP_EPSV;
    // Linux: NUM_SEQ_TO_REMEMBER
    private static final int SEQ_TO_REMEMBER = 2;

    FtpHelper() {
        // Linux: ftp_exp_policy: max_expected 1, timeout 5 * 60 s
        super("ftp", Protocol.TCP, true, 1, 5 * 60);
    }

    /** What a command said: the address (IPv4 in lo) and port, where its text is and its type. */
    static final class Command {
        final Family family;
        long addrHi;
        long addrLo;
        int port;
        int type;
        int matchOffset;
        int matchLength;

        Command(Family family, long addrHi, long addrLo) {
            this.family = family;
            this.addrHi = addrHi;
            this.addrLo = addrLo;
        }
    }

    /** The payload being read: bytes at {@code at} of {@code s}. */
    record Text(MemorySegment s, long at, int length) {
        int at(int i) {
            return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at + i));
        }

        Text from(int i) {
            return new Text(s, at + i, length - i);
        }
    }

    // ---- parsing ----

    /** 1: a command found (in {@code cmd}), 0: none, -1: partial (the kernel drops the packet). */
    static int find(Text data, int dir, Command cmd) {
        if (dir == 0) {
            int r = findPattern(data, "PORT", ' ', '\r', PORT, cmd);
            return r != 0 ? r : findPattern(data, "EPRT", ' ', '\r', EPRT, cmd);
        }
        int r = findPattern(data, "227 ", 0, 0, PASV, cmd);
        return r != 0 ? r : findPattern(data, "229 ", '(', ')', EPSV, cmd);
    }

    /** find_pattern. */
    static int findPattern(Text data, String pattern, int skip, int term, int type, Command cmd) {
        int dlen = data.length();
        int plen = pattern.length();
        if (dlen == 0) {
            return 0;
        }
        if (dlen <= plen) {
            // Linux: a short packet that starts like the pattern is partial
            return prefixIgnoringCase(data, pattern, dlen) ? -1 : 0;
        }
        if (!prefixIgnoringCase(data, pattern, plen)) {
            return 0;
        }
        int i = plen;
        if (skip != 0) {
            while (data.at(i) != skip) {
                if (i == dlen - 1) {
                    return -1;
                }
                i++;
            }
            i++;
        }
        cmd.matchOffset = i;
        cmd.type = type;
        int len = switch (type) {
            case PORT -> rfc959(data.from(i), term, cmd);
            case PASV -> rfc1123(data.from(i), cmd);
            case EPRT -> eprt(data.from(i), cmd);
            default -> epsvResponse(data.from(i), cmd);
        };
        cmd.matchLength = len;
        return len == 0 ? -1 : 1;
    }

    private static boolean prefixIgnoringCase(Text data, String pattern, int n) {
        for (int i = 0; i < n; i++) {
            if (Character.toLowerCase(data.at(i)) != Character.toLowerCase(pattern.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * try_number: {@code n} decimal numbers separated by {@code sep}, ended by {@code term} (any other character
     * when {@code term} is 0); the length read up to the terminator, or 0. Numbers overflow as u32.
     */
    static int number(Text data, int[] array, int n, int sep, int term) {
        java.util.Arrays.fill(array, 0, n, 0);
        int i = 0;
        for (int len = 0; len < data.length() && i < n; len++) {
            int c = data.at(len);
            if (c >= '0' && c <= '9') {
                array[i] = array[i] * 10 + c - '0';
            } else if (c == sep) {
                i++;
            } else {
                return (c == term || term == 0) && i == n - 1 ? len : 0;
            }
        }
        return 0;
    }

    /** try_rfc959: h1,h2,h3,h4,p1,p2. */
    static int rfc959(Text data, int term, Command cmd) {
        int[] a = new int[6];
        int length = number(data, a, 6, ',', term);
        if (length == 0) {
            return 0;
        }
        cmd.addrHi = 0;
        cmd.addrLo = Integer.toUnsignedLong(a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]);
        cmd.port = (a[4] << 8 | a[5]) & 0xFFFF;
        return length;
    }

    /** try_rfc1123: the 227 reply's numbers start at its first digit, parentheses or not. */
    static int rfc1123(Text data, Command cmd) {
        int i = 0;
        while (i < data.length() && !isDigit(data.at(i))) {
            i++;
        }
        if (i == data.length()) {
            return 0;
        }
        cmd.matchOffset += i;
        return rfc959(data.from(i), 0, cmd);
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    /** get_port: digits up to {@code delim} from {@code start}; the offset after the delimiter, or 0. */
    static int port(Text data, int start, int delim, Command cmd) {
        int port = 0;
        for (int i = start; i < data.length(); i++) {
            int c = data.at(i);
            if (c == delim) {
                if (port == 0) {
                    return 0;
                }
                cmd.port = port;
                return i + 1;
            } else if (isDigit(c)) {
                port = (port * 10 + c - '0') & 0xFFFF;
            } else {
                return 0;
            }
        }
        return 0;
    }

    private static boolean delimiter(int c) {
        return !isDigit(c) && c >= 33 && c <= 126;
    }

    /** try_eprt: |1|a.b.c.d|port| on IPv4, |2|ipv6|port| on IPv6 (any printable non-digit delimiter). */
    static int eprt(Text data, Command cmd) {
        if (data.length() <= 3) {
            return 0;
        }
        int delim = data.at(0);
        if (!delimiter(delim) || data.at(2) != delim) {
            return 0;
        }
        boolean v4 = cmd.family == Family.IPV4;
        if ((v4 && data.at(1) != '1') || (!v4 && data.at(1) != '2')) {
            return 0;
        }
        int length;
        if (data.at(1) == '1') {
            int[] a = new int[4];
            length = number(data.from(3), a, 4, '.', delim);
            if (length != 0) {
                cmd.addrHi = 0;
                cmd.addrLo = Integer.toUnsignedLong(a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]);
            }
        } else {
            length = ipv6(data.from(3), delim, cmd);
        }
        if (length == 0) {
            return 0;
        }
        return port(data, 3 + length + 1, delim, cmd);
    }

    /** try_epsv_response: |||port|. */
    static int epsvResponse(Text data, Command cmd) {
        if (data.length() <= 3) {
            return 0;
        }
        int delim = data.at(0);
        if (!delimiter(delim) || data.at(1) != delim || data.at(2) != delim) {
            return 0;
        }
        return port(data, 3, delim, cmd);
    }

    /**
     * in6_pton up to {@code delim}: eight hex groups, one "::" for a run of zeros, a dotted IPv4 address as the
     * last 32 bits; the length of the text before the delimiter, or 0.
     */
    static int ipv6(Text data, int delim, Command cmd) {
        int end = 0;
        while (end < data.length() && data.at(end) != delim) {
            end++;
        }
        if (end == data.length() || end == 0) {
            return 0;
        }
        StringBuilder sb = new StringBuilder(end);
        for (int i = 0; i < end; i++) {
            sb.append((char) data.at(i));
        }
        long[] out = new long[2];
        if (!parseIpv6(sb.toString(), out)) {
            return 0;
        }
        cmd.addrHi = out[0];
        cmd.addrLo = out[1];
        return end;
    }

    static boolean parseIpv6(String text, long[] out) {
        int[] words = new int[8];
        int n = 0;
        int gap = -1;
        int i = 0;
        int len = text.length();
        if (text.startsWith("::")) {
            gap = 0;
            i = 2;
        } else if (text.startsWith(":")) {
            return false;
        }
        while (i < len) {
            int j = i;
            while (j < len && Character.digit(text.charAt(j), 16) >= 0) {
                j++;
            }
            if (j < len && text.charAt(j) == '.') {
                // an embedded IPv4 address ends the text
                String[] q = text.substring(i).split("\\.", -1);
                if (q.length != 4 || n > 6) {
                    return false;
                }
                int v = 0;
                for (String part : q) {
                    if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(Character::isDigit)) {
                        return false;
                    }
                    int b = Integer.parseInt(part);
                    if (b > 255) {
                        return false;
                    }
                    v = v << 8 | b;
                }
                words[n++] = v >>> 16;
                words[n++] = v & 0xFFFF;
                i = len;
                break;
            }
            if (j == i || j - i > 4 || n == 8) {
                return false;
            }
            words[n++] = Integer.parseInt(text.substring(i, j), 16);
            if (j == len) {
                i = j;
                break;
            }
            if (text.charAt(j) != ':') {
                return false;
            }
            if (j + 1 < len && text.charAt(j + 1) == ':') {
                if (gap >= 0) {
                    return false;
                }
                gap = n;
                i = j + 2;
            } else if (j + 1 == len) {
                return false;
            } else {
                i = j + 1;
            }
        }
        if (gap >= 0) {
            if (n > 7) {
                return false;
            }
            int move = n - gap;
            System.arraycopy(words, gap, words, 8 - move, move);
            java.util.Arrays.fill(words, gap, 8 - move, 0);
        } else if (n != 8) {
            return false;
        }
        out[0] = (long) words[0] << 48 | (long) words[1] << 32 | (long) words[2] << 16 | words[3];
        out[1] = (long) words[4] << 48 | (long) words[5] << 32 | (long) words[6] << 16 | words[7];
        return true;
    }

    // ---- the helper ----

    @Override
    int help(PacketContext pkt, Connection ct, int ctinfo, int protoff, long now) {
        int dataoff = tcpPayload(pkt, ctinfo, protoff);
        if (dataoff < 0) {
            return Verdict.ACCEPT;
        }
        int len = pkt.length();
        int datalen = len - dataoff;
        int dir = CtInfo.direction(ctinfo);
        int segSeq = pkt.networkU16(protoff + 4) << 16 | pkt.networkU16(protoff + 6);
        boolean endsInNewline = pkt.networkU8(len - 1) == '\n';
        int seq = segSeq + datalen;
        int verdict = Verdict.ACCEPT;
        synchronized (ct) {
            if (afterNewline(ct, dir, segSeq)) {
                Tuple mine = ct.tuple(dir);
                Command cmd = new Command(ct.family(), mine.srcHi, mine.srcLo);
                Text data = new Text(pkt.segment(), pkt.networkOffset() + dataoff, datalen);
                int found = find(data, dir, cmd);
                if (found < 0) {
                    // Linux: "partial matching of `%s'": dropped, the newline position not updated
                    return Verdict.DROP;
                }
                if (found > 0) {
                    verdict = expect(pkt, ct, ctinfo, dir, protoff, cmd, now);
                }
            }
            if (endsInNewline) {
                updateNewline(ct, dir, seq);
            }
        }
        return verdict;
    }

    /** The expectation of a command found; the packet's verdict. */
    private int expect(PacketContext pkt, Connection ct, int ctinfo, int dir, int protoff, Command cmd, long now) {
        Tuple mine = ct.tuple(dir);
        Tuple other = ct.tuple(1 - dir);
        if (cmd.addrHi != mine.srcHi || cmd.addrLo != mine.srcLo) {
            // Linux: a command naming another address than its sender's is not recorded (loose = 0): it would
            // open holes toward other hosts
            return Verdict.ACCEPT;
        }
        Expectation exp = new Expectation(ct, ct.family(), Protocol.TCP, other.srcHi, other.srcLo, other.dstHi,
                other.dstLo, cmd.port);
        if ((ct.status & Connection.NAT_MASK) != 0) {
            return HelperNat.ftp(pkt, ct, ctinfo, cmd.type, protoff, cmd.matchOffset, cmd.matchLength, exp, now);
        }
        // Linux: "cannot add expectation": dropped
        return ct.owner.expectRelated(exp, now) == 0 ? Verdict.ACCEPT : Verdict.DROP;
    }

    private static boolean afterNewline(Connection ct, int dir, int seq) {
        for (int i = 0; i < ct.ftpSeqAfterNewlineCount[dir]; i++) {
            if (ct.ftpSeqAfterNewline[dir][i] == seq) {
                return true;
            }
        }
        return false;
    }

    /** update_nl_seq: remembers {@code seq}, replacing the older of two when it is newer. */
    private static void updateNewline(Connection ct, int dir, int seq) {
        int[] seen = ct.ftpSeqAfterNewline[dir];
        int count = ct.ftpSeqAfterNewlineCount[dir];
        for (int i = 0; i < count; i++) {
            if (seen[i] == seq) {
                return;
            }
        }
        if (count < SEQ_TO_REMEMBER) {
            seen[count] = seq;
            ct.ftpSeqAfterNewlineCount[dir] = count + 1;
        } else {
            int oldest = seen[0] - seen[1] < 0 ? 0 : 1;
            if (seq - seen[oldest] > 0) {
                seen[oldest] = seq;
            }
        }
    }
}
