package org.jnetfilter.core.conntrack;

import java.util.Arrays;

/**
 * The aligned PER decoder of nf_conntrack_h323_asn1.c: reads the H.225.0 {@code H323-UserInformation} of a Q.931
 * message's User-user IE and the H.245 {@code MultimediaSystemControlMessage} as far as the kernel does, and reports
 * what the h323 helpers use (which message, which options are present, the TransportAddresses' positions) in a
 * reusable slot array, never as an object tree.
 *
 * <pre>
 *   kind    what is read                                          bounds checked as the kernel checks them
 *   SEQ     extension bit (EXT), bitmap of the optional root       a component past the end: BOUND (-1)
 *           components, the root components; with the bit set,     a root CHOICE index past its root: RANGE (-2)
 *           a 7-bit count, the extension bitmap, then each         a component marked STOP: the SEQ ends there,
 *           extension by its length (components the tables do      its parent goes on (not an error)
 *           not know, past ub, are skipped by length whatever
 *           their bit says)
 *   SEQOF   a count (bits, BYTE, WORD or a semi-constrained length), the items (only the first ub are recorded)
 *   CHOICE  extension bit, the index; an extension or OPEN alternative is read by its length, one past the known
 *           alternatives (ub) is skipped by its length
 * </pre>
 *
 * <p>A component with DECODE, reached through DECODE components only, records: a SEQ its option bitmap
 * (root optional components from bit 31 down, then the extensions), a CHOICE its index, a SEQOF its item count,
 * an IPv4/IPv6 address (fixed OCTET STRING of more than 2 bytes) its offset from the start of the decoded buffer
 * (the Q.931 message or the H.245 PDU). Each record lands at the parent's slot plus the component's slot, as the
 * kernel's structures do by offsetof. Slots are not cleared between messages; the helpers only read those the
 * options and choices of the present message say were written (the kernel's static structure is the same).
 *
 * <p>The ASN.1 types (H.225.0 version 4 and H.245 version 7 as the kernel's tables give them, truncated where the
 * kernel stops) are in {@link H323Types}. One decoder per thread ({@link #get}); nothing allocates per packet.
 */
final class H323Per {
    // Linux: H323_ERROR_NONE, H323_ERROR_STOP, H323_ERROR_BOUND, H323_ERROR_RANGE
    static final int OK = 0;
    static final int STOPPED = 1;
    static final int BOUND = -1;
    static final int RANGE = -2;
    /** The parent slot of a component that records nothing (slots of a SEQUENCE OF item may be negative bases). */
    private static final int UNRECORDED = Integer.MIN_VALUE;

    private static final ThreadLocal<H323Per> PER_THREAD = ThreadLocal.withInitial(H323Per::new);

    /** Linux: h323_buffer: the TCP or UDP payload, up to 64 KiB, copied before decoding. */
    final byte[] buffer = new byte[65536];
    /** The records of the last decoded message (see the class comment). */
    final int[] slots = new int[H323Types.SLOTS];
    /** DecodeQ931's message type of the last Q.931 message. */
    int messageType;

    private int buf;
    private int cur;
    private int bit;
    private int end;

    static H323Per get() {
        return PER_THREAD.get();
    }

    /** DecodeQ931 over {@code buffer[off, off+len)}: the message type, then the User-user IE's H323-UserInformation. */
    int decodeQ931(int off, int len) {
        int p = off;
        int sz = len;
        if (sz < 1) {
            return BOUND;
        }
        if (u8(p) != 0x08) {
            // Linux: Q.931 protocol discriminator
            return RANGE;
        }
        p++;
        sz--;
        if (sz < 1) {
            return BOUND;
        }
        int crvLength = u8(p++);
        sz--;
        if (sz < crvLength) {
            return BOUND;
        }
        p += crvLength;
        sz -= crvLength;
        if (sz < 2) {
            return BOUND;
        }
        messageType = u8(p++);
        sz--;
        if ((u8(p) & 0x80) != 0) {
            // a single-octet information element right after the message type is passed over
            p++;
            sz--;
        }
        while (sz > 0) {
            if (u8(p) == 0x7E) {
                // the User-user IE: identifier, 2-byte length, protocol discriminator, the PER data
                if (sz < 3) {
                    break;
                }
                int ieLength = u8(p + 1) << 8 | u8(p + 2);
                p += 3;
                sz -= 3;
                if (sz < ieLength) {
                    break;
                }
                p++;
                ieLength--;
                return start(off, p, ieLength).decode(H323Types.USER_INFORMATION, 0);
            }
            p++;
            sz--;
            if (sz < 1) {
                break;
            }
            int ieLength = u8(p++);
            sz--;
            if (sz < ieLength) {
                break;
            }
            p += ieLength;
            sz -= ieLength;
        }
        return BOUND;
    }

    /** DecodeMultimediaSystemControlMessage over {@code buffer[off, off+len)}. */
    int decodeH245(int off, int len) {
        return start(off, off, len).decode(H323Types.CONTROL_MESSAGE, 0);
    }

    /** DecodeRasMessage over {@code buffer[off, off+len)}. */
    int decodeRas(int off, int length) {
        return start(off, off, length).decode(H323Types.RAS_MESSAGE, 0);
    }

    private H323Per start(int bufferStart, int from, int length) {
        buf = bufferStart;
        cur = from;
        bit = 0;
        end = from + length;
        return this;
    }

    private int u8(int at) {
        return at >= 0 && at < buffer.length ? buffer[at] & 0xFF : 0;
    }

    /** nf_h323_error_boundary: whether {@code bytes} and {@code bits} more run past the end. */
    private boolean past(int bytes, int bits) {
        bits += bit;
        bytes += bits >> 3;
        if ((bits & 7) != 0) {
            bytes++;
        }
        return cur + bytes > end;
    }

    private void align() {
        if (bit != 0) {
            cur++;
            bit = 0;
        }
    }

    private void skipBits(int n) {
        bit += n;
        if (bit > 7) {
            cur += bit >> 3;
            bit &= 7;
        }
    }

    private int getBit() {
        int v = u8(cur) & (0x80 >>> bit);
        skipBits(1);
        return v;
    }

    /** get_bits (at most 8 bits, the kernel's way: two bytes at most are looked at). */
    private int getBits(int b) {
        int v = u8(cur) & (0xFF >>> bit);
        int l = b + bit;
        if (l < 8) {
            v >>>= 8 - l;
            bit = l;
        } else if (l == 8) {
            cur++;
            bit = 0;
        } else {
            v <<= 8;
            v += u8(++cur);
            v >>>= 16 - l;
            bit = l - 8;
        }
        return v;
    }

    /** get_bitmap: the next {@code b} bits, left-aligned in 32 (of a longer bitmap, its first 32 bits). */
    private int getBitmap(int b) {
        int v = 0;
        for (int i = 0; i < b; i++) {
            int one = u8(cur) >>> (7 - bit) & 1;
            if (i < 32) {
                v |= one << (31 - i);
            }
            skipBits(1);
        }
        return v;
    }

    /** get_len: a length determinant, aligned: one byte, or two with the top bit set (up to 16383). */
    private int getLen() {
        int v = u8(cur++);
        if ((v & 0x80) != 0) {
            v = (v & 0x3F) << 8 | u8(cur++);
        }
        return v;
    }

    private int decode(H323Types.Type t, int base) {
        return switch (t.kind()) {
            case H323Types.NUL -> OK;
            case H323Types.BOOL -> {
                skipBits(1);
                yield past(0, 0) ? BOUND : OK;
            }
            case H323Types.OID -> decodeOid();
            case H323Types.INT -> decodeInt(t, base);
            case H323Types.ENUM -> {
                if ((t.attr() & H323Types.EXT) != 0 && getBit() != 0) {
                    skipBits(7);
                } else {
                    skipBits(t.size());
                }
                yield past(0, 0) ? BOUND : OK;
            }
            case H323Types.BITSTR -> decodeBitString(t);
            case H323Types.NUMSTR -> {
                if (past(0, t.size())) {
                    yield BOUND;
                }
                int len = getBits(t.size()) + t.lb();
                align();
                skipBits(len << 2);
                yield past(0, 0) ? BOUND : OK;
            }
            case H323Types.OCTSTR -> decodeOctets(t, base);
            case H323Types.BMPSTR -> decodeBmp(t);
            case H323Types.SEQ -> decodeSequence(t, base);
            case H323Types.SEQOF -> decodeSequenceOf(t, base);
            case H323Types.CHOICE -> decodeChoice(t, base);
            default -> throw new IllegalStateException("unknown ASN.1 kind " + t);
        };
    }

    private int decodeOid() {
        align();
        if (past(1, 0)) {
            return BOUND;
        }
        int len = u8(cur++);
        cur += len;
        return past(0, 0) ? BOUND : OK;
    }

    private int decodeInt(H323Types.Type t, int base) {
        switch (t.size()) {
            case H323Types.BYTE -> {
                align();
                cur++;
            }
            case H323Types.WORD -> {
                align();
                cur += 2;
            }
            case H323Types.CONS -> {
                if (past(0, 2)) {
                    return BOUND;
                }
                int len = getBits(2) + 1;
                align();
                if (base != UNRECORDED && (t.attr() & H323Types.DECODE) != 0) {
                    // Linux: the value is read (timeToLive), and the cursor then moves by its length once more
                    int v = 0;
                    for (int i = 0; i < len; i++) {
                        v = v << 8 | u8(cur++);
                    }
                    slots[base + t.slot()] = v + t.lb();
                }
                cur += len;
            }
            case H323Types.UNCO -> {
                align();
                if (past(2, 0)) {
                    return BOUND;
                }
                int len = getLen();
                cur += len;
            }
            default -> skipBits(t.size());
        }
        return past(0, 0) ? BOUND : OK;
    }

    private int decodeBitString(H323Types.Type t) {
        align();
        int len;
        switch (t.size()) {
            case H323Types.FIXD -> len = t.lb();
            case H323Types.WORD -> {
                if (past(2, 0)) {
                    return BOUND;
                }
                len = u8(cur) << 8 | u8(cur + 1);
                cur += 2;
                len += t.lb();
            }
            case H323Types.SEMI -> {
                if (past(2, 0)) {
                    return BOUND;
                }
                len = getLen();
            }
            default -> len = 0;
        }
        cur += len >>> 3;
        bit = len & 7;
        return past(0, 0) ? BOUND : OK;
    }

    private int decodeOctets(H323Types.Type t, int base) {
        int len;
        switch (t.size()) {
            case H323Types.FIXD -> {
                if (t.lb() > 2) {
                    align();
                    if (base != UNRECORDED && (t.attr() & H323Types.DECODE) != 0) {
                        // the IP address of a TransportAddress: its offset from the start of the message
                        slots[base + t.slot()] = cur - buf;
                    }
                }
                len = t.lb();
            }
            case H323Types.BYTE -> {
                align();
                if (past(1, 0)) {
                    return BOUND;
                }
                len = u8(cur++) + t.lb();
            }
            case H323Types.SEMI -> {
                align();
                if (past(2, 0)) {
                    return BOUND;
                }
                len = getLen() + t.lb();
            }
            default -> {
                if (past(0, t.size())) {
                    return BOUND;
                }
                len = getBits(t.size()) + t.lb();
                align();
            }
        }
        cur += len;
        return past(0, 0) ? BOUND : OK;
    }

    private int decodeBmp(H323Types.Type t) {
        int len;
        if (t.size() == H323Types.BYTE) {
            align();
            if (past(1, 0)) {
                return BOUND;
            }
            len = u8(cur++) + t.lb();
        } else {
            if (past(0, t.size())) {
                return BOUND;
            }
            len = getBits(t.size()) + t.lb();
            align();
        }
        cur += len << 1;
        return past(0, 0) ? BOUND : OK;
    }

    /**
     * A component read by its length (open type or extension): decoded when {@code read}, recording at {@code base}
     * (a SEQUENCE OF item past ub is decoded without recording), else passed over.
     */
    private int decodeByLength(H323Types.Type son, boolean read, int base, boolean lengthChecked) {
        if (lengthChecked && past(2, 0)) {
            return BOUND;
        }
        int len = getLen();
        if (past(len, 0)) {
            return BOUND;
        }
        if (!read) {
            cur += len;
            return OK;
        }
        int beg = cur;
        int err = decode(son, base);
        if (err < OK) {
            return err;
        }
        cur = beg + len;
        bit = 0;
        return OK;
    }

    private static boolean reads(H323Types.Type son, int base) {
        return base != UNRECORDED && (son.attr() & H323Types.DECODE) != 0;
    }

    private int decodeSequence(H323Types.Type t, int base) {
        base = base != UNRECORDED && (t.attr() & H323Types.DECODE) != 0 ? base + t.slot() : UNRECORDED;
        if (past(0, 1)) {
            return BOUND;
        }
        boolean extended = (t.attr() & H323Types.EXT) != 0 && getBit() != 0;
        if (past(0, t.size())) {
            return BOUND;
        }
        int bmp = getBitmap(t.size());
        if (base != UNRECORDED) {
            slots[base] = bmp;
        }
        H323Types.Type[] parts = t.parts();
        int i = 0;
        for (int opt = 0; i < t.lb(); i++) {
            H323Types.Type son = parts[i];
            if ((son.attr() & H323Types.STOP) != 0) {
                return STOPPED;
            }
            if ((son.attr() & H323Types.OPT) != 0 && (bmp & 0x80000000 >>> opt++) == 0) {
                continue;
            }
            int err = (son.attr() & H323Types.OPEN) != 0 ? decodeByLength(son, reads(son, base), base, true) : decode(son, base);
            if (err < OK) {
                return err;
            }
        }
        if (!extended) {
            return OK;
        }
        if (past(0, 7)) {
            return BOUND;
        }
        int count = getBits(7) + 1;
        if (past(0, count)) {
            return BOUND;
        }
        int bmp2 = getBitmap(count);
        bmp |= bmp2 >>> t.size();
        if (base != UNRECORDED) {
            slots[base] = bmp;
        }
        align();
        for (int opt = 0; opt < count; opt++, i++) {
            if (i >= t.ub() || i >= parts.length) {
                // Linux: a newer version's extension: passed over by its length whether its bit is set or not
                if (decodeByLength(null, false, UNRECORDED, true) < OK) {
                    return BOUND;
                }
                continue;
            }
            H323Types.Type son = parts[i];
            if ((son.attr() & H323Types.STOP) != 0) {
                return STOPPED;
            }
            if ((bmp2 & 0x80000000 >>> opt) == 0) {
                continue;
            }
            int err = decodeByLength(son, reads(son, base), base, true);
            if (err < OK) {
                return err;
            }
        }
        return OK;
    }

    private int decodeSequenceOf(H323Types.Type t, int base) {
        base = base != UNRECORDED && (t.attr() & H323Types.DECODE) != 0 ? base + t.slot() : UNRECORDED;
        int count;
        switch (t.size()) {
            case H323Types.BYTE -> {
                align();
                if (past(1, 0)) {
                    return BOUND;
                }
                count = u8(cur++);
            }
            case H323Types.WORD -> {
                align();
                if (past(2, 0)) {
                    return BOUND;
                }
                count = u8(cur) << 8 | u8(cur + 1);
                cur += 2;
            }
            case H323Types.SEMI -> {
                align();
                if (past(2, 0)) {
                    return BOUND;
                }
                count = getLen();
            }
            default -> {
                if (past(0, t.size())) {
                    return BOUND;
                }
                count = getBits(t.size());
            }
        }
        count += t.lb();
        int recorded = 0;
        if (base != UNRECORDED) {
            recorded = Math.min(count, t.ub());
            slots[base] = recorded;
        }
        H323Types.Type son = t.parts()[0];
        for (int i = 0; i < count; i++) {
            // item i is recorded at base + 1 + i * stride (the item's slot is its stride, as sizeof in the kernel)
            int itemParent = base != UNRECORDED && i < recorded ? base + 1 + (i - 1) * son.slot() : UNRECORDED;
            int err;
            if ((son.attr() & H323Types.OPEN) != 0) {
                align();
                err = decodeByLength(son, reads(son, base), itemParent, true);
            } else {
                err = decode(son, itemParent);
            }
            if (err < OK) {
                return err;
            }
        }
        return OK;
    }

    private int decodeChoice(H323Types.Type t, int base) {
        base = base != UNRECORDED && (t.attr() & H323Types.DECODE) != 0 ? base + t.slot() : UNRECORDED;
        if (past(0, 1)) {
            return BOUND;
        }
        boolean extended;
        int type;
        if ((t.attr() & H323Types.EXT) != 0 && getBit() != 0) {
            extended = true;
            if (past(0, 7)) {
                return BOUND;
            }
            type = getBits(7) + t.lb();
        } else {
            extended = false;
            if (past(0, t.size())) {
                return BOUND;
            }
            type = getBits(t.size());
            if (type >= t.lb()) {
                return RANGE;
            }
        }
        if (base != UNRECORDED) {
            slots[base] = type;
        }
        if (type >= t.ub() || type >= t.parts().length) {
            // Linux: an alternative of a newer version, passed over by its length
            align();
            return decodeByLength(null, false, UNRECORDED, true);
        }
        H323Types.Type son = t.parts()[type];
        if ((son.attr() & H323Types.STOP) != 0) {
            return STOPPED;
        }
        if (extended || (son.attr() & H323Types.OPEN) != 0) {
            align();
            if (past(0, 0)) {
                return BOUND;
            }
            // Linux: decode_choice reads the length without checking that its two bytes are there
            return decodeByLength(son, reads(son, base), base, false);
        }
        int err = decode(son, base);
        return err < OK ? err : OK;
    }

    @Override
    public String toString() {
        return "H323Per" + Arrays.toString(Arrays.copyOf(slots, 8));
    }
}
