package org.jnetfilter.io;

/** Resolution of classic pcap timestamps, chosen by the file's magic number. */
public enum TimestampPrecision {
    /** Magic 0xa1b2c3d4: the fraction counts microseconds. */
    MICROSECONDS(1_000L, 0xa1b2c3d4),
    /** Magic 0xa1b23c4d: the fraction counts nanoseconds ({@code tcpdump --time-stamp-precision nano}). */
    NANOSECONDS(1L, 0xa1b23c4d);

    final long nanosPerUnit;
    final int magic;

    TimestampPrecision(long nanosPerUnit, int magic) {
        this.nanosPerUnit = nanosPerUnit;
        this.magic = magic;
    }
}
