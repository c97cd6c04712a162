package org.jnetfilter.io;

import java.io.Flushable;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes pcapng, the format {@link PcapngReader} documents: one Section Header Block
 * (shb_userappl "jnetfilter"), one Interface Description Block per named interface, with
 * if_name and if_tsresol = 9 (nanoseconds), and an Enhanced Packet Block per packet.
 *
 * <p>The replay contract: {@code jnf replay} describes one interface per egress interface name,
 * plus {@link #LOCAL} for packets delivered to the host itself; interfaces may be added at any
 * time before their first packet (pcapng allows an IDB anywhere in its section), so names can be
 * discovered while replaying. Single thread; buffered, no allocation per packet.
 */
public final class PcapngWriter implements AutoCloseable, Flushable {

    /** The interface name for packets delivered locally (the INPUT path's end), not sent out. */
    public static final String LOCAL = "@local";

    private static final byte[] USER_APPLICATION = "jnetfilter".getBytes(StandardCharsets.UTF_8);
    private static final int SHB_USERAPPL = 4;
    private static final int NANOSECONDS = 9;

    private final CaptureOutput out;
    private final Map<String, Integer> indexByName = new HashMap<>();
    private final List<String> names = new ArrayList<>();

    /** Writes the section header and, in order, one interface per name, all of one link type. */
    public PcapngWriter(WritableByteChannel channel, ByteOrder order, int linkType, List<String> interfaceNames)
            throws IOException {
        this.out = new CaptureOutput(channel, order);
        int optionsLength = 4 + pad(USER_APPLICATION.length) + 4;
        int length = 28 + optionsLength;
        out.u32(PcapngReader.SHB_TYPE).u32(length).u32(PcapngReader.BYTE_ORDER_MAGIC).u16(1).u16(0).u64(-1L);
        out.u16(SHB_USERAPPL).u16(USER_APPLICATION.length).bytes(MemorySegment.ofArray(USER_APPLICATION))
                .zeros(pad(USER_APPLICATION.length) - USER_APPLICATION.length);
        out.u16(PcapngReader.OPT_ENDOFOPT).u16(0).u32(length);
        for (String name : interfaceNames) {
            addInterface(name, linkType, 0);
        }
    }

    /** Creates (or truncates) a little-endian file with one interface per name. */
    public static PcapngWriter create(Path file, int linkType, List<String> interfaceNames) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        try {
            return new PcapngWriter(channel, ByteOrder.LITTLE_ENDIAN, linkType, interfaceNames);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Describes another interface and returns its index.
     *
     * @param snapLength 0 for unlimited
     * @throws IllegalArgumentException if the name is already used
     */
    public int addInterface(String name, int linkType, int snapLength) throws IOException {
        if (indexByName.containsKey(name)) {
            throw new IllegalArgumentException("interface " + name + " is already described as "
                    + indexByName.get(name));
        }
        if (linkType < 0 || linkType > 0xffff) {
            throw new IllegalArgumentException("link type " + linkType + " is not a 16-bit LINKTYPE_ value");
        }
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        if (utf8.length > 0xffff - 4) {
            throw new IllegalArgumentException("interface name of " + utf8.length + " bytes is too long");
        }
        int optionsLength = 4 + pad(utf8.length) + 4 + 4 + 4;
        int length = 20 + optionsLength;
        out.u32(PcapngReader.IDB_TYPE).u32(length).u16(linkType).u16(0).u32(Integer.toUnsignedLong(snapLength));
        out.u16(PcapngReader.IF_NAME).u16(utf8.length).bytes(MemorySegment.ofArray(utf8))
                .zeros(pad(utf8.length) - utf8.length);
        out.u16(PcapngReader.IF_TSRESOL).u16(1).u8(NANOSECONDS).zeros(3);
        out.u16(PcapngReader.OPT_ENDOFOPT).u16(0).u32(length);
        int index = names.size();
        names.add(name);
        indexByName.put(name, index);
        return index;
    }

    /** Index of a described interface, or -1. */
    public int interfaceIndex(String name) {
        Integer index = indexByName.get(name);
        return index == null ? -1 : index;
    }

    /** Names of the described interfaces, by index. */
    public List<String> interfaceNames() {
        return List.copyOf(names);
    }

    /** Writes a whole packet: original length equals the data's size. */
    public void write(int interfaceIndex, long timestampNanos, MemorySegment data) throws IOException {
        write(interfaceIndex, timestampNanos, Math.toIntExact(data.byteSize()), data);
    }

    /**
     * Writes one Enhanced Packet Block.
     *
     * @param timestampNanos since the epoch (negative values are before 1970 and not allowed)
     * @param originalLength the packet's length on the wire, at least {@code data}'s size
     */
    public void write(int interfaceIndex, long timestampNanos, int originalLength, MemorySegment data)
            throws IOException {
        if (interfaceIndex < 0 || interfaceIndex >= names.size()) {
            throw new IllegalArgumentException("interface " + interfaceIndex + " is not described; "
                    + names.size() + " are");
        }
        if (timestampNanos < 0) {
            throw new IllegalArgumentException("timestamp " + timestampNanos + " ns is before 1970");
        }
        long captured = data.byteSize();
        if (originalLength < captured) {
            throw new IllegalArgumentException("original length " + originalLength + " is less than the "
                    + captured + " bytes given");
        }
        if (captured > CaptureInput.MAX_RECORD - 64) {
            throw new IllegalArgumentException("packet of " + captured + " bytes is larger than a block may be");
        }
        int padded = pad((int) captured);
        int length = 32 + padded;
        out.u32(PcapngReader.EPB_TYPE).u32(length).u32(interfaceIndex)
                .u32(timestampNanos >>> 32).u32(timestampNanos & 0xffff_ffffL)
                .u32(captured).u32(originalLength);
        out.bytes(data).zeros(padded - (int) captured).u32(length);
    }

    private static int pad(int n) {
        return (n + 3) & ~3;
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
