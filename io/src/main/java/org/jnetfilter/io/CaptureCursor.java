package org.jnetfilter.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The current record, shared by both readers: plain fields overwritten by each {@code next()}. */
abstract sealed class CaptureCursor implements CaptureReader permits PcapReader, PcapngReader {

    final CaptureInput input;
    final String defaultInterfaceName;

    private int interfaceIndex;
    private String interfaceName;
    private int linkType;
    private long timestampNanos;
    private int originalLength;
    private int capturedLength;
    private long recordOffset = -1;
    private MemorySegment packetBuffer = MemorySegment.NULL;
    private long packetStart;

    CaptureCursor(CaptureInput input, String defaultInterfaceName) {
        this.input = input;
        this.defaultInterfaceName = defaultInterfaceName;
    }

    /** Records the packet whose bytes start at window offset {@code dataAt}; call before advancing. */
    final void current(long offset, int index, String name, int type, long nanos, int original, int captured,
            int dataAt) {
        recordOffset = offset;
        interfaceIndex = index;
        interfaceName = name;
        linkType = type;
        timestampNanos = nanos;
        originalLength = original;
        capturedLength = captured;
        packetBuffer = input.segment();
        packetStart = input.absolute(dataAt);
    }

    static CaptureFormatException truncated(long offset, String what, long needed, long present) {
        return new CaptureFormatException(offset, "truncated " + what + " at offset " + offset + ": "
                + needed + " bytes needed, " + present + " present");
    }

    @Override
    public final int interfaceIndex() {
        return interfaceIndex;
    }

    @Override
    public final String interfaceName() {
        return interfaceName;
    }

    @Override
    public final int linkType() {
        return linkType;
    }

    @Override
    public final long timestampNanos() {
        return timestampNanos;
    }

    @Override
    public final int originalLength() {
        return originalLength;
    }

    @Override
    public final int capturedLength() {
        return capturedLength;
    }

    @Override
    public final MemorySegment packet() {
        return packetBuffer.asSlice(packetStart, capturedLength);
    }

    @Override
    public final void copyPacket(byte[] dst, int offset) {
        MemorySegment.copy(packetBuffer, ValueLayout.JAVA_BYTE, packetStart, dst, offset, capturedLength);
    }

    @Override
    public final long recordOffset() {
        return recordOffset;
    }

    @Override
    public final void close() throws IOException {
        input.close();
    }
}
