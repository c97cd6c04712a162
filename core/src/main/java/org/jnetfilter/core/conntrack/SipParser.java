package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.rules.Family;

/**
 * The text parsing of the sip helper (the parsing half of nf_conntrack_sip.c): SIP headers in their long and
 * compact forms, URIs, header parameters and SDP lines, read as Linux 6.18 reads them.
 *
 * <pre>
 *   header           compact  value searched for  match
 *   CSeq             -        -                   digits
 *   From / To        f / t    "sip:"              address[:port], after any user@
 *   Contact          m        "sip:"              address[:port], after any user@
 *   Via (UDP / TCP)  v        "UDP " / "TCP "     address[:port]
 *   Expires          -        -                   digits
 *   Content-Length   l        -                   digits
 *   Call-Id          i        -                   word[@word]
 *
 *   SDP line  searched for          match
 *   v=        -                     digits (the session description starts here)
 *   o= / c=   "IN IP4 " / "IN IP6 "  the address (in4_pton / in6_pton, no brackets)
 *   m=        -                     "type port" (letters, a space, digits)
 * </pre>
 *
 * A header starts a line (CR, LF or CRLF); a line starting with a space or tab continues the previous one. The
 * header name compares without case, a compact name only when a non-letter follows it; spaces, tabs and
 * continuations may surround the colon. A SIP address in a URI is an IPv4 address, or an IPv6 address in brackets
 * (sip_parse_addr with delim); SDP addresses are bare. A header found whose value does not parse is -1 for
 * {@link #header}; the walks ({@link #headerUri}) then look further down the message.
 *
 * <p>Offsets are absolute indexes into the message bytes {@code b}; {@code limit} is the end of the message. Results
 * are left in a caller's {@link Match}. Packet thread; allocates nothing but the IPv6 text of an IPv6 address.
 */
final class SipParser {
    // Linux: enum sip_header_types
    static final int HDR_CSEQ = 0;
    static final int HDR_FROM = 1;
    static final int HDR_TO = 2;
    static final int HDR_CONTACT = 3;
    static final int HDR_VIA_UDP = 4;
    static final int HDR_VIA_TCP = 5;
    static final int HDR_EXPIRES = 6;
    static final int HDR_CONTENT_LENGTH = 7;
    static final int HDR_CALL_ID = 8;

    // Linux: enum sdp_header_types (SDP_HDR_UNSPEC = 0)
    static final int SDP_UNSPEC = 0;
    static final int SDP_VERSION = 1;
    static final int SDP_OWNER = 2;
    static final int SDP_CONNECTION = 3;
    static final int SDP_MEDIA = 4;

    // the value parsers of the header tables (match_len)
    private static final int LEN_DIGITS = 0;
    private static final int LEN_SKP_EPADDR = 1;
    private static final int LEN_EPADDR = 2;
    private static final int LEN_CALLID = 3;
    private static final int LEN_SDP_ADDR = 4;
    private static final int LEN_MEDIA = 5;

    /** A header's long name, compact name (or null), the text searched for in its value (or null), its matcher. */
    private record Header(String name, String compact, String search, int matcher) {
    }

    // Linux: ct_sip_hdrs
    private static final Header[] SIP_HEADERS = {
        new Header("CSeq", null, null, LEN_DIGITS),
        new Header("From", "f", "sip:", LEN_SKP_EPADDR),
        new Header("To", "t", "sip:", LEN_SKP_EPADDR),
        new Header("Contact", "m", "sip:", LEN_SKP_EPADDR),
        new Header("Via", "v", "UDP ", LEN_EPADDR),
        new Header("Via", "v", "TCP ", LEN_EPADDR),
        new Header("Expires", null, null, LEN_DIGITS),
        new Header("Content-Length", "l", null, LEN_DIGITS),
        new Header("Call-Id", "i", null, LEN_CALLID),
    };

    // Linux: ct_sdp_hdrs_v4 and ct_sdp_hdrs_v6
    private static final Header[] SDP_V4 = {
        null,
        new Header("v=", null, null, LEN_DIGITS),
        new Header("o=", null, "IN IP4 ", LEN_SDP_ADDR),
        new Header("c=", null, "IN IP4 ", LEN_SDP_ADDR),
        new Header("m=", null, null, LEN_MEDIA),
    };
    private static final Header[] SDP_V6 = {
        null,
        new Header("v=", null, null, LEN_DIGITS),
        new Header("o=", null, "IN IP6 ", LEN_SDP_ADDR),
        new Header("c=", null, "IN IP6 ", LEN_SDP_ADDR),
        new Header("m=", null, null, LEN_MEDIA),
    };

    /** What a parse found: the match's offset and length, an address (IPv4 in lo) and port, a number. */
    static final class Match {
        int off;
        int len;
        long hi;
        long lo;
        int port;
        long value;
        /** The end of a parsed address (sip_parse_addr's endp). */
        int end;
        /** The "@" skipped before an address (skp_epaddr_len's shift). */
        int shift;
    }

    private SipParser() {
    }

    static boolean isAlpha(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    private static int at(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    /** strncasecmp over {@code text.length()} bytes at {@code i} (the caller checked the room). */
    static boolean startsIgnoringCase(byte[] b, int i, int limit, String text) {
        if (limit - i < text.length()) {
            return false;
        }
        for (int k = 0; k < text.length(); k++) {
            if (Character.toLowerCase(at(b, i + k)) != Character.toLowerCase(text.charAt(k))) {
                return false;
            }
        }
        return true;
    }

    /** strncmp over {@code text.length()} bytes at {@code i}. */
    private static boolean startsWith(byte[] b, int i, int limit, String text) {
        if (limit - i < text.length()) {
            return false;
        }
        for (int k = 0; k < text.length(); k++) {
            if (at(b, i + k) != text.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** string_len: letters. */
    static int stringLen(byte[] b, int p, int limit) {
        int n = 0;
        while (p + n < limit && isAlpha(at(b, p + n))) {
            n++;
        }
        return n;
    }

    /** digits_len. */
    static int digitsLen(byte[] b, int p, int limit) {
        int n = 0;
        while (p + n < limit && isDigit(at(b, p + n))) {
            n++;
        }
        return n;
    }

    /** iswordc: the characters of a Call-ID word. */
    private static boolean wordChar(int c) {
        return isAlpha(c) || isDigit(c) || c == '!' || c == '"' || c == '%' || (c >= '(' && c <= '+') || c == ':'
                || c == '<' || c == '>' || c == '?' || (c >= '[' && c <= ']') || c == '_' || c == '`' || c == '{'
                || c == '}' || c == '~' || (c >= '-' && c <= '/') || c == '\'';
    }

    private static int wordLen(byte[] b, int p, int limit) {
        int n = 0;
        while (p + n < limit && wordChar(at(b, p + n))) {
            n++;
        }
        return n;
    }

    /** callid_len: word, or word@word (0 when the domain is empty). */
    static int callidLen(byte[] b, int p, int limit) {
        int len = wordLen(b, p, limit);
        int q = p + len;
        if (len == 0 || q == limit || at(b, q) != '@') {
            return len;
        }
        int domain = wordLen(b, q + 1, limit);
        return domain == 0 ? 0 : len + 1 + domain;
    }

    /** media_len: "type port": letters, one space, digits (0 without the space). */
    static int mediaLen(byte[] b, int p, int limit) {
        int len = stringLen(b, p, limit);
        int q = p + len;
        if (q >= limit || at(b, q) != ' ') {
            return 0;
        }
        return len + 1 + digitsLen(b, q + 1, limit);
    }

    /**
     * simple_strtoul(p, &end, base) with base 10 or 0 (0: "0x" hex, a leading 0 octal); the value in
     * {@code m.value} (wrapping as an unsigned 64-bit number), the end in {@code m.end}.
     */
    static void strtoul(byte[] b, int p, int limit, int base, Match m) {
        int i = p;
        if (base == 0) {
            // Linux: _parse_integer_fixup_radix
            if (i < limit && at(b, i) == '0') {
                if (i + 2 < limit && Character.toLowerCase(at(b, i + 1)) == 'x' && hexDigit(at(b, i + 2)) >= 0) {
                    base = 16;
                    i += 2;
                } else {
                    base = 8;
                }
            } else {
                base = 10;
            }
        }
        long v = 0;
        while (i < limit) {
            int d = hexDigit(at(b, i));
            if (d < 0 || d >= base) {
                break;
            }
            v = v * base + d;
            i++;
        }
        m.value = v;
        m.end = i;
    }

    private static int hexDigit(int c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }

    /** simple_strtoul base 10's value only. */
    static long number(byte[] b, int p, int limit, Match scratch) {
        strtoul(b, p, limit, 10, scratch);
        return scratch.value;
    }

    /**
     * in4_pton(cp, limit - cp, addr, -1, &end): four decimal octets up to 255, dotted; any character but a hex
     * digit and '.' ends the address (':' too); the end in {@code m.end}. False when malformed.
     */
    static boolean in4(byte[] b, int p, int limit, Match m) {
        int i = p;
        int octets = 0;
        int w = 0;
        boolean seen = false;
        long addr = 0;
        while (true) {
            int c = i < limit ? at(b, i) : 0;
            boolean digit = isDigit(c);
            boolean hexLetter = !digit && hexDigit(c) >= 0;
            if (hexLetter) {
                m.end = i;
                return false;
            }
            if (!digit) {
                // Linux: '.', ':', NUL, the end and any other character separate (delim -1)
                if (!seen) {
                    m.end = i;
                    return false;
                }
                addr = addr << 8 | w;
                octets++;
                w = 0;
                seen = false;
                if (c != '.') {
                    if (octets != 4) {
                        m.end = i;
                        return false;
                    }
                    break;
                }
            } else {
                w = w * 10 + c - '0';
                seen = true;
                if (w > 255) {
                    m.end = i;
                    return false;
                }
            }
            if (octets >= 4) {
                m.end = i;
                return false;
            }
            i++;
        }
        m.hi = 0;
        m.lo = addr;
        m.end = i;
        return true;
    }

    /**
     * in6_pton(cp, limit - cp, addr, -1, &end): the run of hex digits, ':' and '.' read as an IPv6 address (a
     * dotted IPv4 tail allowed); the end in {@code m.end}.
     */
    static boolean in6(byte[] b, int p, int limit, Match m) {
        int i = p;
        while (i < limit) {
            int c = at(b, i);
            if (hexDigit(c) >= 0 || c == ':' || c == '.') {
                i++;
            } else {
                break;
            }
        }
        m.end = i;
        if (i == p) {
            return false;
        }
        StringBuilder sb = new StringBuilder(i - p);
        for (int k = p; k < i; k++) {
            sb.append((char) at(b, k));
        }
        long[] out = new long[2];
        if (!FtpHelper.parseIpv6(sb.toString(), out)) {
            return false;
        }
        m.hi = out[0];
        m.lo = out[1];
        return true;
    }

    /**
     * sip_parse_addr: the family's address at {@code p}; on IPv6 in brackets ({@code delim}: required, else
     * optional). The end in {@code m.end}.
     */
    static boolean sipAddr(Family family, byte[] b, int p, int limit, boolean delim, Match m) {
        if (family == Family.IPV4) {
            return in4(b, p, limit, m);
        }
        int cp = p;
        if (cp < limit && at(b, cp) == '[') {
            cp++;
        } else if (delim) {
            return false;
        }
        if (!in6(b, cp, limit, m)) {
            return false;
        }
        if (m.end < limit && at(b, m.end) == ']') {
            m.end++;
        } else if (delim) {
            return false;
        }
        return true;
    }

    /** epaddr_len: an address and an optional ":digits"; its length, 0 when the address does not parse. */
    static int epaddrLen(Family family, byte[] b, int p, int limit, Match m) {
        if (!sipAddr(family, b, p, limit, true, m)) {
            return 0;
        }
        int q = m.end;
        if (q < limit && at(b, q) == ':') {
            q++;
            q += digitsLen(b, q, limit);
        }
        return q - p;
    }

    /** skp_epaddr_len: epaddr_len after a "user@" on the same line ({@code m.shift} counts what was skipped). */
    static int skpEpaddrLen(Family family, byte[] b, int p, int limit, Match m) {
        int q = p;
        int s = 0;
        while (q < limit && at(b, q) != '@' && at(b, q) != '\r' && at(b, q) != '\n') {
            q++;
            s++;
        }
        if (q < limit && at(b, q) == '@') {
            q++;
            s++;
        } else {
            q = p;
            s = 0;
        }
        m.shift += s;
        return epaddrLen(family, b, q, limit, m);
    }

    /**
     * ct_sip_parse_request: the address of the Request-URI ("METHOD sip:[user@]addr[:port] ..."): 1 with the
     * address's offset and length, the address and port (5060 when none) in {@code m}; 0 when there is none; -1
     * when it is malformed (a line end before "sip:", a port out of 1024-65535).
     */
    static int request(Family family, byte[] b, int start, int limit, Match m) {
        int mlen = stringLen(b, start, limit);
        if (mlen == 0) {
            return 0;
        }
        int p = start + mlen + 1;
        if (p >= limit) {
            return 0;
        }
        for (; p < limit - 4; p++) {
            if (at(b, p) == '\r' || at(b, p) == '\n') {
                return -1;
            }
            if (startsIgnoringCase(b, p, limit, "sip:")) {
                p += 4;
                break;
            }
        }
        m.shift = 0;
        if (skpEpaddrLen(family, b, p, limit, m) == 0) {
            return 0;
        }
        p += m.shift;
        if (!sipAddr(family, b, p, limit, true, m)) {
            return -1;
        }
        int end = m.end;
        if (end < limit && at(b, end) == ':') {
            strtoul(b, end + 1, limit, 10, m);
            long port = m.value;
            end = m.end;
            if (Long.compareUnsigned(port, 1024) < 0 || Long.compareUnsigned(port, 65535) > 0) {
                return -1;
            }
            m.port = (int) port;
        } else {
            m.port = SipHelper.SIP_PORT;
        }
        if (end == p) {
            return 0;
        }
        m.off = p;
        m.len = end - p;
        return 1;
    }

    /** The start of the line after the line end (CR, LF or CRLF) at {@code p}, or -1 when the message ends. */
    static int lineStart(byte[] b, int p, int limit) {
        if (++p >= limit) {
            return -1;
        }
        if (at(b, p - 1) == '\r' && at(b, p) == '\n' && ++p >= limit) {
            return -1;
        }
        return p;
    }

    /**
     * The loops of ct_sip_get_header and ct_sip_get_sdp_header: the start of the first line that begins after a line
     * end at or after {@code p}, or -1.
     */
    static int nextLine(byte[] b, int p, int limit) {
        for (; p < limit; p++) {
            int c = at(b, p);
            if (c == '\r' || c == '\n') {
                return lineStart(b, p, limit);
            }
        }
        return -1;
    }

    /** sip_follow_continuation: past the line end at {@code p}, the first non-blank of a continuation line, or -1. */
    static int followContinuation(byte[] b, int p, int limit) {
        p = lineStart(b, p, limit);
        if (p < 0) {
            return -1;
        }
        if (at(b, p) != ' ' && at(b, p) != '\t') {
            return -1;
        }
        for (; p < limit; p++) {
            if (at(b, p) != ' ' && at(b, p) != '\t') {
                break;
            }
        }
        return p;
    }

    /** sip_skip_whitespace: blanks, and one continuation; -1 when a line ends without one. */
    static int skipWhitespace(byte[] b, int p, int limit) {
        for (; p < limit; p++) {
            int c = at(b, p);
            if (c == ' ' || c == '\t') {
                continue;
            }
            if (c != '\r' && c != '\n') {
                break;
            }
            return followContinuation(b, p, limit);
        }
        return p;
    }

    /** ct_sip_header_search: {@code needle} (any case) in a header value and its continuations, or -1. */
    static int headerSearch(byte[] b, int p, int limit, String needle) {
        int last = limit - needle.length();
        for (; p < last; p++) {
            int c = at(b, p);
            if (c == '\r' || c == '\n') {
                p = followContinuation(b, p, last);
                if (p < 0) {
                    break;
                }
                // Linux: the loop's increment steps over the continuation's first character
                continue;
            }
            if (startsIgnoringCase(b, p, limit, needle)) {
                return p;
            }
        }
        return -1;
    }

    private static int matchLen(Family family, int matcher, byte[] b, int p, int limit, Match m) {
        return switch (matcher) {
            case LEN_DIGITS -> digitsLen(b, p, limit);
            case LEN_SKP_EPADDR -> skpEpaddrLen(family, b, p, limit, m);
            case LEN_EPADDR -> epaddrLen(family, b, p, limit, m);
            case LEN_CALLID -> callidLen(b, p, limit);
            case LEN_SDP_ADDR -> sdpAddr(family, b, p, limit, m) ? m.end - p : 0;
            default -> mediaLen(b, p, limit);
        };
    }

    /**
     * ct_sip_get_header: the first header of {@code type} on a line after {@code from}: 1 with its value's offset
     * and length in {@code m}, 0 when there is none, -1 when its value does not parse ({@code m.off} then where
     * the value starts).
     */
    static int header(Family family, byte[] b, int start, int from, int limit, int type, Match m) {
        Header h = SIP_HEADERS[type];
        for (int p = nextLine(b, from, limit); p >= 0; p = nextLine(b, p + 1, limit)) {
            if (at(b, p) == ' ' || at(b, p) == '\t') {
                continue;
            }
            if (startsIgnoringCase(b, p, limit, h.name)) {
                p += h.name.length();
            } else if (h.compact != null && limit - p >= h.compact.length() + 1
                    && startsIgnoringCase(b, p, limit, h.compact) && !isAlpha(at(b, p + h.compact.length()))) {
                p += h.compact.length();
            } else {
                continue;
            }
            p = skipWhitespace(b, p, limit);
            if (p < 0) {
                break;
            }
            if (p >= limit || at(b, p) != ':' || ++p >= limit) {
                break;
            }
            p = skipWhitespace(b, p, limit);
            if (p < 0) {
                break;
            }
            return value(family, h, false, b, p, limit, m);
        }
        return 0;
    }

    /**
     * The value of a header found at {@code p} (after its name and colon): the header's search text looked for on
     * its line ({@code sdp}: that line only, exact case; else with continuations, any case), then its matcher; 1
     * with the match in {@code m}, -1 when the text is missing or the value does not match.
     */
    private static int value(Family family, Header h, boolean sdp, byte[] b, int p, int limit, Match m) {
        m.off = p;
        if (h.search != null) {
            p = sdp ? sdpHeaderSearch(b, p, limit, h.search) : headerSearch(b, p, limit, h.search);
            if (p < 0) {
                return -1;
            }
            p += h.search.length();
        }
        m.shift = 0;
        m.len = matchLen(family, h.matcher, b, p, limit, m);
        if (m.len == 0) {
            return -1;
        }
        m.off = p + m.shift;
        return 1;
    }

    /** ct_sip_next_header: the next value of a comma-separated list after {@code from}: 1, 0 (none) or -1. */
    static int nextHeader(Family family, byte[] b, int from, int limit, int type, Match m) {
        Header h = SIP_HEADERS[type];
        int p = headerSearch(b, from, limit, ",");
        if (p < 0) {
            return 0;
        }
        p = headerSearch(b, p, limit, h.search);
        if (p < 0) {
            return 0;
        }
        p += h.search.length();
        m.off = p;
        m.shift = 0;
        m.len = matchLen(family, h.matcher, b, p, limit, m);
        if (m.len == 0) {
            return -1;
        }
        m.off += m.shift;
        return 1;
    }

    /** The state of a walk through the values of one header type (ct_sip_walk_headers' in_header, dataoff). */
    static final class Walk {
        int dataoff;
        boolean inHeader;

        Walk(int dataoff) {
            this.dataoff = dataoff;
        }
    }

    /** ct_sip_walk_headers: the next parsable value of {@code type}: 1 or 0 (none left). */
    static int walkHeaders(Family family, byte[] b, int start, int limit, int type, Walk walk, Match m) {
        int dataoff = walk == null ? start : walk.dataoff;
        if (walk != null && walk.inHeader) {
            while (true) {
                int r = nextHeader(family, b, dataoff, limit, type, m);
                if (r > 0) {
                    return r;
                }
                if (r == 0) {
                    break;
                }
                dataoff = m.off;
            }
            walk.inHeader = false;
        }
        while (true) {
            int r = header(family, b, start, dataoff, limit, type, m);
            if (r > 0) {
                break;
            }
            if (r == 0) {
                return 0;
            }
            dataoff = m.off;
        }
        if (walk != null) {
            walk.inHeader = true;
        }
        return 1;
    }

    /**
     * ct_sip_parse_header_uri: the next value of {@code type} as an address and port (5060 when none): 1 with the
     * match in {@code m.off}/{@code m.len} and the address in {@code m}; 0 when none is left; -1 when the address
     * does not parse or the port is out of 1024-65535. A {@code walk} continues where the last call ended.
     */
    static int headerUri(Family family, byte[] b, int start, int limit, int type, Walk walk, Match m) {
        int r = walkHeaders(family, b, start, limit, type, walk, m);
        if (r == 0) {
            return 0;
        }
        int off = m.off;
        int len = m.len;
        if (!sipAddr(family, b, off, limit, true, m)) {
            return -1;
        }
        int c = m.end;
        if (c < limit && at(b, c) == ':') {
            strtoul(b, c + 1, limit, 10, m);
            c = m.end;
            if (Long.compareUnsigned(m.value, 1024) < 0 || Long.compareUnsigned(m.value, 65535) > 0) {
                return -1;
            }
            m.port = (int) m.value;
        } else {
            m.port = SipHelper.SIP_PORT;
        }
        m.off = off;
        m.len = len;
        if (walk != null) {
            walk.dataoff = c;
        }
        return 1;
    }

    /** The end of a header value for parameters: the next comma in it (and its continuations), or the limit. */
    private static int paramLimit(byte[] b, int from, int limit) {
        int l = headerSearch(b, from, limit, ",");
        return l < 0 ? limit : l;
    }

    /**
     * ct_sip_parse_param: the value of parameter {@code name} (e.g. "transport=") in the header value from
     * {@code from} up to a comma; up to the next ';'. True with its offset and length in {@code m}.
     */
    static boolean param(byte[] b, int from, int limit, String name, Match m) {
        int l = paramLimit(b, from, limit);
        int s = headerSearch(b, from, l, name);
        if (s < 0) {
            return false;
        }
        s += name.length();
        int e = headerSearch(b, s, l, ";");
        if (e < 0) {
            e = l;
        }
        m.off = s;
        m.len = e - s;
        return true;
    }

    /**
     * ct_sip_parse_numerical_param: parameter {@code name}'s number (simple_strtoul base 0) in {@code m.value}:
     * 1 found, 0 absent, -1 present without a number.
     */
    static int numericalParam(byte[] b, int from, int limit, String name, Match m) {
        int l = paramLimit(b, from, limit);
        int s = headerSearch(b, from, l, name);
        if (s < 0) {
            return 0;
        }
        s += name.length();
        strtoul(b, s, limit, 0, m);
        return m.end == s ? -1 : 1;
    }

    /**
     * ct_sip_parse_transport: the URI's "transport=" (TCP or UDP, any case), which must be the connection's own
     * protocol; without one, the connection's. The protocol, or 0 when refused.
     */
    static int transport(byte[] b, int from, int limit, int ctProtocol, Match m) {
        if (param(b, from, limit, "transport=", m)) {
            int proto;
            if (startsIgnoringCase(b, m.off, limit, "TCP")) {
                proto = Protocol.TCP;
            } else if (startsIgnoringCase(b, m.off, limit, "UDP")) {
                proto = Protocol.UDP;
            } else {
                return 0;
            }
            return proto == ctProtocol ? proto : 0;
        }
        return ctProtocol;
    }

    // ---- SDP ----

    /** sdp_parse_addr: a bare address of the family; the end in {@code m.end}. */
    static boolean sdpAddr(Family family, byte[] b, int p, int limit, Match m) {
        return family == Family.IPV4 ? in4(b, p, limit, m) : in6(b, p, limit, m);
    }

    /** ct_sdp_header_search: {@code needle} (exact case) on the rest of the line, or -1. */
    static int sdpHeaderSearch(byte[] b, int p, int limit, String needle) {
        int last = limit - needle.length();
        for (; p < last; p++) {
            int c = at(b, p);
            if (c == '\r' || c == '\n') {
                break;
            }
            if (startsWith(b, p, limit, needle)) {
                return p;
            }
        }
        return -1;
    }

    /**
     * ct_sip_get_sdp_header: the first SDP line of {@code type} after {@code from}, stopping at a line of type
     * {@code term} (unless SDP_UNSPEC): 1 with the match in {@code m}, 0 none, -1 unparsable.
     */
    static int sdpHeader(Family family, byte[] b, int from, int limit, int type, int term, Match m) {
        Header[] table = family == Family.IPV4 ? SDP_V4 : SDP_V6;
        Header h = table[type];
        Header t = table[term];
        for (int p = nextLine(b, from, limit); p >= 0; p = nextLine(b, p + 1, limit)) {
            if (term != SDP_UNSPEC && startsIgnoringCase(b, p, limit, t.name)) {
                break;
            } else if (startsIgnoringCase(b, p, limit, h.name)) {
                p += h.name.length();
            } else {
                continue;
            }
            return value(family, h, true, b, p, limit, m);
        }
        return 0;
    }

    /** ct_sip_parse_sdp_addr: an o= or c= line's address (in {@code m}) and its match: 1, 0 or -1. */
    static int sdpAddrHeader(Family family, byte[] b, int from, int limit, int type, int term, Match m) {
        int r = sdpHeader(family, b, from, limit, type, term, m);
        if (r <= 0) {
            return r;
        }
        int off = m.off;
        int len = m.len;
        if (!sdpAddr(family, b, off, off + len, m)) {
            return -1;
        }
        m.off = off;
        m.len = len;
        return 1;
    }
}
