package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.netfilter.PacketContext;

/**
 * The kernel's {@code fsm} textsearch (lib/ts_fsm.c) as {@code -m string --algo fsm} runs it: the pattern is not a
 * byte string but a program of 4-byte tokens (struct ts_fsm_token, in the machine's byte order, here x86's):
 *
 * <pre>
 *   0      2      3      4
 *   +------+------+------+
 *   | type | recur| value|   type: u16 little-endian, a character class (0 = the byte 'value')
 *   +------+------+------+   recur: 0 one, 1 zero or one, 2 zero or more, 3 one or more, 4 skip at the head
 * </pre>
 *
 * <p>Design note. fsm_init refuses (EINVAL at rule insertion) a pattern that is not whole tokens, a type above
 * 13 or a recurrence above 4, a head-skip token that is not the first or is the only one, and (since Linux
 * 4.x) any use with TS_IGNORECASE. The search is "strict" (the program must match from the first byte searched)
 * unless the first token is a head skip; a mismatch when not strict starts the program over one byte after the
 * byte that failed (not after where the attempt began: the kernel's naive restart). A program matches when its
 * tokens are used up at the end of the data, or when it ends with a zero-or-more / one-or-more token (which then
 * takes the rest). skb_find_text then keeps a match only if its start plus the pattern length in bytes (4 per
 * token) fits between --from and --to. The bytes searched run from the network header + from to min(to, the
 * packet's end). The character classes are ts_fsm's own table: ASCII ctype for 0-127, Latin-1 letters and
 * punctuation above 160, nothing but "wildcard" for 128-159.
 *
 * <p>Packet thread; allocates nothing; reads the pattern bytes token by token on each search.
 */
final class TsFsm {
    static final int TOKEN = 4;
    // Linux: TS_FSM_TYPE_MAX = TS_FSM_SPACE = 13, TS_FSM_RECUR_MAX = TS_FSM_HEAD_IGNORE = 4
    static final int TYPE_MAX = 13;
    static final int SINGLE = 0;
    static final int PERHAPS = 1;
    static final int ANY = 2;
    static final int MULTI = 3;
    static final int HEAD_IGNORE = 4;

    // Linux: include/linux/ctype.h _U _L _D _C _P _S _X _SP; ts_fsm.c _A (ascii) and _W (wildcard)
    private static final int U = 0x01;
    private static final int L = 0x02;
    private static final int D = 0x04;
    private static final int C = 0x08;
    private static final int P = 0x10;
    private static final int S = 0x20;
    private static final int X = 0x40;
    private static final int SP = 0x80;
    private static final int A = 0x100;
    private static final int W = 0x200;

    /** The classes of each token type, by textsearch_fsm.h's order: specific, wildcard, digit ... space. */
    private static final int[] CLASS_OF_TYPE = {
        0, W, D, D | X, P | U | L | D | SP, U | L, U | L | D, A, C, P | U | L | D, L, U, P, S,
    };

    /** The classes each byte belongs to (ts_fsm's token_lookup_tbl). */
    private static final short[] CLASSES = new short[256];

    static {
        for (int c = 0; c < 256; c++) {
            int f = W;
            if (c < 128) {
                f |= A;
            }
            if (c < 32 || c == 127) {
                f |= C;
            }
            if ((c >= 9 && c <= 13) || c == 32 || c == 160) {
                f |= S;
            }
            if (c == 32 || c == 160) {
                f |= SP;
            }
            if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)
                    || (c >= 161 && c <= 191) || c == 215 || c == 247) {
                f |= P;
            }
            if (c >= '0' && c <= '9') {
                f |= D;
            }
            if ((c >= 'A' && c <= 'Z') || (c >= 192 && c <= 222 && c != 215)) {
                f |= U;
            }
            if ((c >= 'a' && c <= 'z') || (c >= 223 && c != 247)) {
                f |= L;
            }
            if ((c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')) {
                f |= X;
            }
            CLASSES[c] = (short) f;
        }
    }

    private TsFsm() {
    }

    static int type(byte[] p, int token) {
        return (p[token * TOKEN] & 0xFF) | (p[token * TOKEN + 1] & 0xFF) << 8;
    }

    static int recur(byte[] p, int token) {
        return p[token * TOKEN + 2] & 0xFF;
    }

    /** fsm_init's checks; false where it returns EINVAL. */
    static boolean accepts(byte[] pattern, boolean icase) {
        int n = pattern.length / TOKEN;
        if (pattern.length % TOKEN != 0 || n < 1 || icase) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (type(pattern, i) > TYPE_MAX || recur(pattern, i) > HEAD_IGNORE) {
                return false;
            }
            if (recur(pattern, i) == HEAD_IGNORE && (i != 0 || i == n - 1)) {
                return false;
            }
        }
        return true;
    }

    /** match_token: a class token takes any byte of its classes, a specific one only its value. */
    private static boolean takes(byte[] p, int token, int b) {
        int cls = CLASS_OF_TYPE[type(p, token)];
        return cls != 0 ? (CLASSES[b] & cls) != 0 : (p[token * TOKEN + 3] & 0xFF) == b;
    }

    /** xt_string with fsm: skb_find_text over [from, min(to, length)) and its length check. */
    static boolean found(byte[] pattern, PacketContext pkt, int from, int to) {
        int end = Math.min(to, pkt.length());
        int start = find(pattern, pkt, from, end);
        return start >= 0 && (long) (start - from) + pattern.length <= to - from;
    }

    /** fsm_find: where the program's match starts, -1 for none. */
    static int find(byte[] p, PacketContext pkt, int from, int end) {
        int n = p.length / TOKEN;
        int pos = from;
        if (pos >= end) {
            return -1;
        }
        boolean strict = recur(p, 0) != HEAD_IGNORE;
        restart:
        while (true) {
            int start = pos;
            for (int t = 0; t < n; t++) {
                int next = t < n - 1 ? t + 1 : -1;
                switch (recur(p, t)) {
                    case PERHAPS -> {
                        if (pos < end && takes(p, t, pkt.networkU8(pos))) {
                            pos++;
                        }
                    }
                    case SINGLE, MULTI, ANY -> {
                        int recur = recur(p, t);
                        boolean mismatch = false;
                        if (recur != ANY) {
                            // one byte the token takes
                            if (pos >= end) {
                                return -1;
                            }
                            mismatch = !takes(p, t, pkt.networkU8(pos));
                            if (!mismatch) {
                                pos++;
                                if (recur == SINGLE) {
                                    continue;
                                }
                            }
                        }
                        if (!mismatch) {
                            // then as many as it takes, up to a byte the next token takes
                            if (next < 0) {
                                return start;
                            }
                            if (pos >= end) {
                                continue;
                            }
                            while (!takes(p, next, pkt.networkU8(pos))) {
                                if (!takes(p, t, pkt.networkU8(pos))) {
                                    mismatch = true;
                                    break;
                                }
                                pos++;
                                if (pos >= end) {
                                    return -1;
                                }
                            }
                        }
                        if (mismatch) {
                            // strict: no match; else start over a byte after the one that failed
                            if (strict) {
                                return -1;
                            }
                            pos++;
                            continue restart;
                        }
                    }
                    default -> { // HEAD_IGNORE, the first token only
                        if (pos >= end) {
                            continue;
                        }
                        while (!takes(p, next, pkt.networkU8(pos))) {
                            if (!takes(p, t, pkt.networkU8(pos))) {
                                return -1;
                            }
                            pos++;
                            if (pos >= end) {
                                return -1;
                            }
                        }
                        start = pos;
                    }
                }
            }
            return pos >= end ? start : -1;
        }
    }
}
