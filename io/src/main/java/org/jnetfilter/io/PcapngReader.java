package org.jnetfilter.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads pcapng (RFC draft-ietf-opsawg-pcapng), streaming, one block at a time.
 *
 * <pre>
 *  every block                     Section Header (0x0A0D0D0A)    Interface Description (1)
 *   0 block type                    8 byte-order magic 1A2B3C4D    8 link type | reserved
 *   4 block total length           12 major (1) | minor (0)       12 snaplen (0: unlimited)
 *   8 body ...                     16 section length (i64, -1)    16 options ...
 *     options (code u16, length u16, value padded to 4), ended by opt_endofopt (0)
 *  -4 block total length again
 *
 *  Enhanced Packet (6)             Simple Packet (3)              Obsolete Packet (2)
 *   8 interface id                  8 original length              8 interface id u16 | drops u16
 *  12 timestamp high               12 data (captured length =     12 timestamp high
 *  16 timestamp low                   min(original, snaplen of    16 timestamp low
 *  20 captured length                 interface 0, body size))    20 captured length
 *  24 original length                                             24 original length
 *  28 data, padded to 4, options                                  28 data, padded to 4, options
 * </pre>
 *
 * A Section Header Block sets the byte order and starts a new interface table; interface ids
 * of later packets index that table. Interface options read: if_name (2), if_tsresol (9,
 * default 10^-6 s), if_tsoffset (14). Other blocks (Name Resolution, Interface Statistics,
 * Decryption Secrets, custom, unknown) are skipped without being held in memory.
 */
public final class PcapngReader extends CaptureCursor {

    static final int SHB_TYPE = 0x0A0D0D0A;
    static final int IDB_TYPE = 1;
    static final int OPB_TYPE = 2;
    static final int SPB_TYPE = 3;
    static final int EPB_TYPE = 6;
    static final int BYTE_ORDER_MAGIC = 0x1A2B3C4D;

    static final int OPT_ENDOFOPT = 0;
    static final int IF_NAME = 2;
    static final int IF_TSRESOL = 9;
    static final int IF_TSOFFSET = 14;

    private static final int MIN_BLOCK = 12;
    private static final int MIN_SHB = 28;
    private static final int MIN_IDB = 20;
    private static final int MIN_SPB = 16;
    private static final int MIN_EPB = 32;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private int interfaceCount;
    private int[] linkTypes = new int[4];
    private long[] snapLengths = new long[4];
    private String[] names = new String[4];
    /** Timestamp unit to nanoseconds: multiply, or divide, or (for 2^-n resolutions) shift n. */
    private long[] multipliers = new long[4];
    private long[] divisors = new long[4];
    private int[] binaryShifts = new int[4];
    private long[] offsetNanos = new long[4];

    public PcapngReader(ReadableByteChannel channel, String defaultInterfaceName)
            throws IOException, CaptureFormatException {
        this(new CaptureInput(channel), defaultInterfaceName);
    }

    PcapngReader(CaptureInput input, String defaultInterfaceName) throws IOException, CaptureFormatException {
        super(input, defaultInterfaceName);
        int got = input.fill(8);
        if (got < 4 || input.i32(0, ByteOrder.BIG_ENDIAN) != SHB_TYPE) {
            throw new CaptureFormatException(0, "pcapng file does not start with a Section Header Block (0a0d0d0a)");
        }
        readSectionHeader();
    }

    /** The byte order of the current section. */
    public ByteOrder byteOrder() {
        return input.order();
    }

    /** Interfaces described so far in the current section. */
    public int interfaceCount() {
        return interfaceCount;
    }

    @Override
    public boolean next() throws IOException, CaptureFormatException {
        while (!input.atEnd()) {
            long offset = input.offset();
            int got = input.fill(8);
            if (got < 8) {
                throw truncated(offset, "block header", 8, got);
            }
            if (input.i32(0, ByteOrder.BIG_ENDIAN) == SHB_TYPE) {
                readSectionHeader();
                continue;
            }
            long type = input.u32(0);
            long length = input.u32(4);
            int minimum = type == IDB_TYPE ? MIN_IDB
                    : type == EPB_TYPE || type == OPB_TYPE ? MIN_EPB
                    : type == SPB_TYPE ? MIN_SPB
                    : MIN_BLOCK;
            checkLength(offset, length, minimum);
            int blockLength = (int) length;
            if (type != IDB_TYPE && type != EPB_TYPE && type != OPB_TYPE && type != SPB_TYPE) {
                long skipped = input.skip(blockLength);
                if (skipped < blockLength) {
                    throw truncated(offset, "block", blockLength, skipped);
                }
                continue;
            }
            fillBlock(offset, blockLength);
            if (type == IDB_TYPE) {
                readInterface(offset, blockLength);
                input.advance(blockLength);
                continue;
            }
            readPacket(offset, (int) type, blockLength);
            input.advance(blockLength);
            return true;
        }
        return false;
    }

    private static void checkLength(long offset, long length, int minimum) throws CaptureFormatException {
        if (length < minimum) {
            throw new CaptureFormatException(offset, "block length " + length + " at offset " + offset
                    + " is shorter than the minimum " + minimum);
        }
        if ((length & 3) != 0) {
            throw new CaptureFormatException(offset, "block length " + length + " at offset " + offset
                    + " is not a multiple of 4");
        }
        if (length > CaptureInput.MAX_RECORD) {
            throw new CaptureFormatException(offset, "block length " + length + " at offset " + offset
                    + " exceeds the maximum " + CaptureInput.MAX_RECORD);
        }
    }

    /** Brings the whole block into the window and checks its trailing length. */
    private void fillBlock(long offset, int length) throws IOException, CaptureFormatException {
        int got = input.fill(length);
        if (got < length) {
            throw truncated(offset, "block", length, got);
        }
        long trailing = input.u32(length - 4);
        if (trailing != length) {
            throw new CaptureFormatException(offset + length - 4, "trailing block length " + trailing
                    + " at offset " + (offset + length - 4) + " does not match the leading length " + length
                    + " of the block at offset " + offset);
        }
    }

    private void readSectionHeader() throws IOException, CaptureFormatException {
        long offset = input.offset();
        int got = input.fill(12);
        if (got < 12) {
            throw truncated(offset, "section header block", 12, got);
        }
        int magic = input.i32(8, ByteOrder.BIG_ENDIAN);
        if (magic == BYTE_ORDER_MAGIC) {
            input.order(ByteOrder.BIG_ENDIAN);
        } else if (magic == Integer.reverseBytes(BYTE_ORDER_MAGIC)) {
            input.order(ByteOrder.LITTLE_ENDIAN);
        } else {
            throw new CaptureFormatException(offset + 8, String.format(
                    "byte-order magic 0x%08x at offset %d is not 1a2b3c4d in either byte order", magic, offset + 8));
        }
        long length = input.u32(4);
        checkLength(offset, length, MIN_SHB);
        fillBlock(offset, (int) length);
        int major = input.u16(12);
        int minor = input.u16(14);
        if (major != 1) {
            throw new CaptureFormatException(offset + 12, "pcapng version " + major + "." + minor + " at offset "
                    + (offset + 12) + " is not supported (expected 1.x)");
        }
        interfaceCount = 0;
        input.advance((int) length);
    }

    private void readInterface(long offset, int length) throws CaptureFormatException {
        int linkType = input.u16(8);
        long snapLength = input.u32(12);
        String name = defaultInterfaceName;
        int resolution = 6;
        long tsOffsetSeconds = 0;
        int at = 16;
        int end = length - 4;
        while (at + 4 <= end) {
            int code = input.u16(at);
            int optionLength = input.u16(at + 2);
            if (code == OPT_ENDOFOPT) {
                break;
            }
            int padded = (optionLength + 3) & ~3;
            if (at + 4 + padded > end) {
                throw new CaptureFormatException(offset + at, "option " + code + " of length " + optionLength
                        + " at offset " + (offset + at) + " overruns its block, which ends at offset "
                        + (offset + end));
            }
            switch (code) {
                case IF_NAME -> {
                    byte[] utf8 = new byte[optionLength];
                    MemorySegment.copy(input.segment(), ValueLayout.JAVA_BYTE, input.absolute(at + 4), utf8, 0, optionLength);
                    int nul = 0;
                    while (nul < utf8.length && utf8[nul] != 0) {
                        nul++;
                    }
                    name = new String(utf8, 0, nul, StandardCharsets.UTF_8);
                }
                case IF_TSRESOL -> {
                    if (optionLength != 1) {
                        throw badOption(offset, at, "if_tsresol", optionLength, 1);
                    }
                    resolution = input.u8(at + 4);
                }
                case IF_TSOFFSET -> {
                    if (optionLength != 8) {
                        throw badOption(offset, at, "if_tsoffset", optionLength, 8);
                    }
                    tsOffsetSeconds = input.i64(at + 4);
                }
                default -> {
                    // Other options (if_description, if_speed, ...) say nothing the datapath needs.
                }
            }
            at += 4 + padded;
        }
        addInterface(offset, linkType, snapLength, name, resolution, tsOffsetSeconds);
    }

    private static CaptureFormatException badOption(long offset, int at, String name, int length, int expected) {
        return new CaptureFormatException(offset + at, name + " option at offset " + (offset + at) + " has length "
                + length + ", expected " + expected);
    }

    private void addInterface(long offset, int linkType, long snapLength, String name, int resolution,
            long tsOffsetSeconds) throws CaptureFormatException {
        int i = interfaceCount;
        if (i == linkTypes.length) {
            int n = i * 2;
            linkTypes = Arrays.copyOf(linkTypes, n);
            snapLengths = Arrays.copyOf(snapLengths, n);
            names = Arrays.copyOf(names, n);
            multipliers = Arrays.copyOf(multipliers, n);
            divisors = Arrays.copyOf(divisors, n);
            binaryShifts = Arrays.copyOf(binaryShifts, n);
            offsetNanos = Arrays.copyOf(offsetNanos, n);
        }
        int exponent = resolution & 0x7f;
        if ((resolution & 0x80) != 0) {
            // 2^-exponent seconds per unit.
            if (exponent > 63) {
                throw new CaptureFormatException(offset, String.format(
                        "if_tsresol 0x%02x of interface %d at offset %d is finer than 2^-63 s", resolution, i, offset));
            }
            binaryShifts[i] = exponent;
            multipliers[i] = 1;
            divisors[i] = 1;
        } else {
            // 10^-exponent seconds per unit.
            if (exponent > 18) {
                throw new CaptureFormatException(offset, String.format(
                        "if_tsresol 0x%02x of interface %d at offset %d is finer than 10^-18 s", resolution, i, offset));
            }
            binaryShifts[i] = -1;
            multipliers[i] = exponent <= 9 ? pow10(9 - exponent) : 1;
            divisors[i] = exponent > 9 ? pow10(exponent - 9) : 1;
        }
        if (Math.abs(tsOffsetSeconds) > Long.MAX_VALUE / NANOS_PER_SECOND) {
            throw new CaptureFormatException(offset, "if_tsoffset " + tsOffsetSeconds + " of interface " + i
                    + " at offset " + offset + " does not fit in 64-bit nanoseconds");
        }
        offsetNanos[i] = tsOffsetSeconds * NANOS_PER_SECOND;
        linkTypes[i] = linkType;
        snapLengths[i] = snapLength;
        names[i] = name;
        interfaceCount = i + 1;
    }

    private static long pow10(int n) {
        long v = 1;
        for (int k = 0; k < n; k++) {
            v *= 10;
        }
        return v;
    }

    /** Fills the cursor from an Enhanced, Obsolete or Simple Packet Block. */
    private void readPacket(long offset, int type, int length) throws CaptureFormatException {
        if (type == SPB_TYPE) {
            if (interfaceCount == 0) {
                throw new CaptureFormatException(offset, "Simple Packet Block at offset " + offset
                        + " comes before any Interface Description Block");
            }
            long original = input.u32(8);
            long captured = Math.min(original, length - MIN_SPB);
            if (snapLengths[0] != 0) {
                captured = Math.min(captured, snapLengths[0]);
            }
            current(offset, 0, names[0], linkTypes[0], 0, clampOriginal(offset, original), (int) captured, 12);
            return;
        }
        String kind = type == EPB_TYPE ? "Enhanced Packet Block" : "Packet Block";
        long id = type == EPB_TYPE ? input.u32(8) : input.u16(8);
        if (id >= interfaceCount) {
            throw new CaptureFormatException(offset, kind + " at offset " + offset + " names interface " + id
                    + " but its section describes " + interfaceCount);
        }
        int index = (int) id;
        long units = (input.u32(12) << 32) | input.u32(16);
        long captured = input.u32(20);
        long original = input.u32(24);
        if (28 + ((captured + 3) & ~3L) + 4 > length) {
            throw new CaptureFormatException(offset, "captured length " + captured + " of the " + kind
                    + " at offset " + offset + " overruns its block length " + length);
        }
        long nanos = toNanos(offset, index, units);
        current(offset, index, names[index], linkTypes[index], nanos, clampOriginal(offset, original),
                (int) captured, 28);
    }

    private static int clampOriginal(long offset, long original) throws CaptureFormatException {
        if (original > Integer.MAX_VALUE) {
            throw new CaptureFormatException(offset, "original length " + original + " of the block at offset "
                    + offset + " exceeds the maximum " + Integer.MAX_VALUE);
        }
        return (int) original;
    }

    /** Converts timestamp units, an unsigned 64-bit count, to nanoseconds since the epoch. */
    private long toNanos(long offset, int index, long units) throws CaptureFormatException {
        long nanos;
        int shift = binaryShifts[index];
        if (shift >= 0) {
            long seconds = shift == 0 ? units : units >>> shift;
            long fraction = shift == 0 ? 0 : units & ((1L << shift) - 1);
            // fraction * 10^9 / 2^shift, through the 128-bit product.
            long low = fraction * NANOS_PER_SECOND;
            long high = Math.unsignedMultiplyHigh(fraction, NANOS_PER_SECOND);
            long fractionNanos = shift == 0 ? 0 : (high << (64 - shift)) | (low >>> shift);
            if (seconds < 0 || seconds > (Long.MAX_VALUE - fractionNanos) / NANOS_PER_SECOND) {
                throw overflow(offset, units);
            }
            nanos = seconds * NANOS_PER_SECOND + fractionNanos;
        } else if (divisors[index] > 1) {
            nanos = Long.divideUnsigned(units, divisors[index]);
        } else {
            long multiplier = multipliers[index];
            if (units < 0 || Math.unsignedMultiplyHigh(units, multiplier) != 0 || units * multiplier < 0) {
                throw overflow(offset, units);
            }
            nanos = units * multiplier;
        }
        long shifted = nanos + offsetNanos[index];
        if (((nanos ^ shifted) & (offsetNanos[index] ^ shifted)) < 0) {
            throw overflow(offset, units);
        }
        return shifted;
    }

    private static CaptureFormatException overflow(long offset, long units) {
        return new CaptureFormatException(offset, "timestamp " + Long.toUnsignedString(units) + " of the block at offset "
                + offset + " does not fit in 64-bit nanoseconds");
    }
}
